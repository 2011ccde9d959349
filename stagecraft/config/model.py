"""The validated configuration as objects, and the cross-section checks the schema cannot express."""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field

from .ci import Ci
from .cloud import DigitalOcean
from .databases import Database
from .dev import DevSettings
from .edge import Edge
from .environment import Environment
from .firewall import Firewall
from .issues import ConfigIssue, format_path
from .network import Network
from .project import Project
from .providers import Provider
from .secrets import Secrets
from .services import Role, Service, placement
from .volumes import Volumes
from .yamlpos import LoadedYaml


@dataclass(frozen=True)
class Config:
    project: Project
    environments: dict[str, Environment]
    roles: dict[str, Role] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    network: Network = field(default_factory=Network)
    digitalocean: DigitalOcean | None = None
    firewall: Firewall = field(default_factory=Firewall)
    volumes: Volumes = field(default_factory=Volumes)
    databases: dict[str, Database] = field(default_factory=dict)
    backend: Provider | None = None
    frontend: Provider | None = None
    dev: DevSettings = field(default_factory=DevSettings)
    edge: Edge = field(default_factory=Edge)
    secrets: Secrets = field(default_factory=Secrets)
    ci: Ci | None = None
    defaults: dict = field(default_factory=dict)
    base_dir: str = "."
    path: str = "stagecraft.yml"

    @property
    def placement(self) -> dict[str, str]:
        """compose service -> role."""
        return placement(self.roles, self.services)

    def service(self, name: str) -> Service:
        return self.services.get(name) or Service(name=name)

    def services_for_roles(self, host_roles) -> list[str]:
        return sorted(s for s, r in self.placement.items() if r in host_roles)

    def environment(self, name: str) -> Environment:
        from ..errors import UserError

        if name not in self.environments:
            available = ", ".join(sorted(self.environments)) or "none"
            hint = difflib.get_close_matches(name, list(self.environments), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise UserError(f"--env: unknown environment '{name}'{extra}; available environments: {available}")
        return self.environments[name]

    @classmethod
    def parse(cls, data: dict, *, base_dir: str = ".", path: str = "stagecraft.yml") -> "Config":
        return cls(
            project=Project.parse(data["project"]),
            environments={n: Environment.parse(n, e) for n, e in sorted(data["environments"].items())},
            roles={n: Role.parse(n, r or {}) for n, r in sorted((data.get("roles") or {}).items())},
            services={n: Service.parse(n, s or {}) for n, s in sorted((data.get("services") or {}).items())},
            network=Network.parse(data.get("network")),
            digitalocean=DigitalOcean.parse((data.get("cloud") or {}).get("digitalocean")),
            firewall=Firewall.parse(data.get("firewall")),
            volumes=Volumes.parse(data.get("volumes")),
            databases={n: Database.parse(n, d) for n, d in sorted((data.get("databases") or {}).items())},
            backend=Provider.parse("backend", data.get("backend")),
            frontend=Provider.parse("frontend", data.get("frontend")),
            dev=DevSettings.parse(data.get("dev")),
            edge=Edge.parse(data.get("edge")),
            secrets=Secrets.parse(data.get("secrets")),
            ci=Ci.parse(data.get("ci")),
            defaults=dict(data.get("defaults") or {}),
            base_dir=base_dir,
            path=path,
        )


def service_name_rule() -> dict:
    """The schema's rule for service names: {pattern, patternErrorMessage}."""
    from .schema import load_schema

    return load_schema()["properties"]["services"]["propertyNames"]


def extra_args_issues(doc: LoadedYaml) -> list[ConfigIssue]:
    """ssh.extra_args must split into arguments as a shell would (ssh gets a list, never a line)."""
    issues = []
    for env_name, env in (doc.data.get("environments") or {}).items():
        hosts = (env or {}).get("hosts") or {}
        for where, node in [(("environments", env_name), env)] + [
                (("environments", env_name, "hosts", h), spec) for h, spec in hosts.items()]:
            extra = (((node or {}).get("ssh") or {}) if isinstance(node, dict) else {}).get("extra_args")
            try:
                shlex.split(extra) if isinstance(extra, str) else None
            except ValueError as exc:
                path = where + ("ssh", "extra_args")
                issues.append(ConfigIssue(doc.position(path), format_path(path),
                                          f"cannot split {extra!r} into arguments as a shell would: {exc}"))
    return issues


def check(doc: LoadedYaml, compose_services: list[str] | None) -> list[ConfigIssue]:
    """Cross-references between sections. doc.data has passed the schema."""
    data = doc.data
    issues: list[ConfigIssue] = []

    def issue(path, message):
        issues.append(ConfigIssue(doc.position(path), format_path(path), message))

    def known(kind, name, names, path):
        if name not in names:
            hint = difflib.get_close_matches(str(name), list(names), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            listing = ", ".join(sorted(names)) or "none defined"
            issue(path, f"unknown {kind} '{name}'{extra}; known: {listing}")

    roles = data.get("roles") or {}
    services = data.get("services") or {}
    envs = data.get("environments") or {}

    # The compose file's own service names follow the same rule as stagecraft.yml's (the schema's).
    rule = service_name_rule()
    for name in compose_services or ():
        if not re.fullmatch(rule["pattern"], str(name)):
            issue(("project", "compose_file"), f"compose service {str(name)!r}: invalid service name: "
                                               f"{rule['patternErrorMessage']}")

    issues += extra_args_issues(doc)
    for env_name, env in envs.items():
        for host_name, host in (env.get("hosts") or {}).items():
            for i, role in enumerate(host.get("roles") or ()):
                known("role", role, roles, ("environments", env_name, "hosts", host_name, "roles", i))
            if env.get("driver") == "ssh" and not host.get("address"):
                issue(("environments", env_name, "hosts", host_name),
                      "driver 'ssh' needs an address for every host (add 'address: <ip or name>')")
        if env.get("driver") == "digitalocean" and not (data.get("cloud") or {}).get("digitalocean"):
            issue(("environments", env_name, "driver"), "driver 'digitalocean' needs a cloud.digitalocean section")

    placed: dict[str, str] = {}
    for role_name, role in roles.items():
        for i, svc in enumerate((role or {}).get("services") or ()):
            if svc in placed and placed[svc] != role_name:
                issue(("roles", role_name, "services", i),
                      f"service '{svc}' is already placed on role '{placed[svc]}'; a service runs on one role")
            placed.setdefault(svc, role_name)
            if compose_services is not None:
                known("compose service", svc, compose_services, ("roles", role_name, "services", i))
    for svc_name, svc in services.items():
        if (svc or {}).get("role"):
            known("role", svc["role"], roles, ("services", svc_name, "role"))
        if compose_services is not None:
            known("compose service", svc_name, compose_services, ("services", svc_name))
        if (svc or {}).get("healthcheck") is not None and not (svc or {}).get("port"):
            issue(("services", svc_name, "healthcheck"), "the HTTP healthcheck is sent to the container port "
                                                         f"services.{svc_name}.port: set it")

    for section in ("firewall", "volumes"):
        block = data.get(section) or {}
        for list_name in ("allow", "directories", "docker", "block"):
            for i, item in enumerate(block.get(list_name) or ()):
                for j, role in enumerate(item.get("roles") or ()):
                    known("role", role, roles, (section, list_name, i, "roles", j))
    ts = (data.get("network") or {}).get("tailscale") or {}
    for role in ts.get("role_tags") or {}:
        known("role", role, roles, ("network", "tailscale", "role_tags", role))
    if (data.get("network") or {}).get("provider") == "tailscale" and not ts:
        issue(("network", "provider"), "provider 'tailscale' needs a network.tailscale section")

    for db_name, db in (data.get("databases") or {}).items():
        mig = db.get("migrations") or {}
        if mig.get("run_in") and compose_services is not None:
            known("compose service", mig["run_in"], compose_services, ("databases", db_name, "migrations", "run_in"))

    project = data.get("project") or {}
    images = project.get("images") or {}
    for key in ("transport", "registry_ca_file", "registry_username_env", "registry_password_env"):
        if key in images and not project.get("registry") and (key != "transport" or images[key] == "registry"):
            issue(("project", "images", key), f"project.images.{key} needs project.registry (the registry host and "
                                               "path images are pushed to, e.g. registry.example.com/acme)")
    if bool(images.get("registry_username_env")) != bool(images.get("registry_password_env")):
        issue(("project", "images"), "set both registry_username_env and registry_password_env, or neither")

    dev = data.get("dev") or {}
    if compose_services is not None:
        for svc in dev.get("publish") or {}:
            known("compose service", svc, compose_services, ("dev", "publish", svc))
        for i, svc in enumerate(dev.get("services") or ()):
            known("compose service", svc, compose_services, ("dev", "services", i))
        front = (data.get("frontend") or {}).get("service")
        if front:  # the backend's service may be one encore-ts builds without a compose entry of its own
            known("compose service", front, compose_services, ("frontend", "service"))
    sec = data.get("secrets") or {}
    if sec.get("provider") == "command" and not (sec.get("command") or sec.get("commands")):
        issue(("secrets", "provider"), "provider 'command' needs secrets.command (one command printing NAME=value "
                                       "lines) or secrets.commands (NAME: command printing the value)")
    for key in ("command", "commands"):
        if key in sec and sec.get("provider") != "command":
            issue(("secrets", key), f"secrets.{key} is read only with secrets.provider: command")
    if "encore" in sec and sec.get("provider") != "encore":
        issue(("secrets", "encore"), "secrets.encore is read only with secrets.provider: encore")
    if "environment" in (sec.get("encore") or {}):
        known("environment", sec["encore"]["environment"], envs, ("secrets", "encore", "environment"))

    default_env = (data.get("defaults") or {}).get("env")
    if default_env:
        known("environment", default_env, envs, ("defaults", "env"))
    for i, env_name in enumerate((data.get("ci") or {}).get("environments") or ()):
        known("environment", env_name, envs, ("ci", "environments", i))
    return issues


def compose_issues(doc: LoadedYaml, config: Config, compose: dict) -> list[ConfigIssue]:
    """Placement against the compose file: every service runs somewhere, and references that need one
    Docker engine (network_mode/volumes_from/pid/ipc: service:X) are not split over hosts."""
    from .compose import split_problems

    services = compose.get("services")
    if not isinstance(services, dict):
        return []
    placement = config.placement
    issues = []

    def where(name):
        if name in (doc.data.get("services") or {}):
            return ("services", name)
        for role_name, role in config.roles.items():
            if name in role.services:
                return ("roles", role_name, "services", role.services.index(name))
        return ("roles",)

    for name, spec in sorted(services.items()):
        # Without roles nothing is deployed (e.g. a config used only by `stagecraft dev`): nothing to place.
        if config.roles and name not in placement and not (isinstance(spec, dict) and spec.get("profiles")):
            roles = ", ".join(sorted(config.roles)) or "none defined"
            issues.append(ConfigIssue(doc.position(("roles",)), "roles",
                                      f"compose service '{name}' is placed on no role, so no host would run it "
                                      f"(and services that use it would break); add it to roles.<role>.services "
                                      f"(roles: {roles}), or give it a compose profile to keep it out of deploys"))
    for env in config.environments.values():
        for name, message in split_problems(env, placement, compose):
            path = where(name)
            issues.append(ConfigIssue(doc.position(path), format_path(path), message))
    return sorted(set(issues))


def docker_healthcheck(spec: dict) -> bool:
    """The compose service declares a Docker healthcheck that is not switched off."""
    check = spec.get("healthcheck")
    if not isinstance(check, dict) or check.get("disable"):
        return False
    test = check.get("test")
    return bool(test) and test != ["NONE"] and test != "NONE"


def compose_warnings(config: Config, compose: dict) -> list[str]:
    """What a deploy changes or leaves out of the compose file, service by service (for `config validate`)."""
    from .compose import _container_port

    services = compose.get("services") if isinstance(compose.get("services"), dict) else {}
    out = []
    placement = config.placement
    for name, spec in sorted(services.items()):
        spec = spec if isinstance(spec, dict) else {}
        svc = config.service(name)
        if name not in placement:
            out.append(f"services.{name}: has compose profiles and no role: not deployed")
            continue
        if svc.strategy == "rolling":
            ports = spec.get("ports") or []
            routed = str(svc.port) if svc.port else None
            dropped = [str(p) if not isinstance(p, dict) else f"{p.get('published', '')}:{p.get('target')}"
                       for p in ports if _container_port(p) != routed]
            if dropped:
                out.append(f"services.{name}: ports {', '.join(dropped)} are not published: a rolling service runs "
                           "two copies side by side, so it cannot hold fixed host ports (use rollout.strategy "
                           "recreate to keep them, or reach it through services.{name}.port and the edge)")
            if ports and routed and any(_container_port(p) == routed for p in ports):
                out.append(f"services.{name}: its published port {routed} is served by the edge proxy instead "
                           "(port 80 on public hosts, the environment's gateways otherwise)")
            if spec.get("container_name"):
                out.append(f"services.{name}: container_name is dropped (two copies run during a rollout)")
        if (svc.port or svc.strategy == "rolling") and not svc.healthcheck and not docker_healthcheck(spec):
            hint = (f"add services.{name}.healthcheck, e.g. {{path: /health}}: an HTTP check sent from the host "
                    "before the edge proxy switches, or a compose healthcheck") if svc.port else \
                "add a compose healthcheck"
            out.append(f"services.{name}: no healthcheck: a new container counts as healthy as soon as it runs, so a "
                       f"broken version can take traffic ({hint}; an image's own HEALTHCHECK works too)")
    routes: dict[tuple[str, str], str] = {}
    for name in sorted(n for n in services if config.service(n).port and n in placement):
        svc = config.service(name)
        route = (svc.public_host or "_", svc.public_path)
        if route in routes:
            out.append(f"services.{name}: routed like services.{routes[route]} (path {route[1]} of "
                       f"{svc.public_host or 'any host name'}): only {routes[route]} answers there; give "
                       f"{name} a public.path (e.g. /api/) or a public.host")
        routes.setdefault(route, name)
    routed_any = any(config.service(n).port for n in services)
    for role in sorted(config.roles.values(), key=lambda r: r.name):
        if not (role.public and routed_any):
            continue
        for name in role.services:
            for p in (services.get(name) or {}).get("ports") or []:
                text = str(p.get("published", "")) if isinstance(p, dict) else str(p)
                host_side = text.rsplit(":", 1)[0] if ":" in text else ""
                if host_side.split(":")[-1] in ("80", "443") and config.service(name).strategy == "recreate":
                    out.append(f"services.{name}: publishes port {host_side.split(':')[-1]} on the public role "
                               f"'{role.name}', where the edge proxy listens on port 80 too: the deploy would "
                               "fail to bind it; remove services.<s>.port from the routed services (your proxy "
                               "routes them) or this service's port 80/443")
    return out
