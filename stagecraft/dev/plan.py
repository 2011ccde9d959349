"""What `stagecraft dev` will run and write (pure, deterministic): shown as-is by --dry-run."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..commands.compose_render import load_compose
from ..errors import UserError
from .providers import ProcessSpec, process_for

DEV_DIR = Path(".stagecraft") / "dev"
COMPOSE_FILE = "compose.yaml"
TRAEFIK_STATIC = "traefik/traefik.yaml"
TRAEFIK_DYNAMIC = "traefik/dynamic.yaml"
CERT_FILE = "certs/dev.pem"
KEY_FILE = "certs/dev-key.pem"
LABEL = "stagecraft.dev"
MIGRATION_STRATEGIES = ("pre_deploy", "post_deploy")  # dev applies these; manual ones stay manual


@dataclass(frozen=True)
class Options:
    https: bool = True
    hosts: bool = True
    proxy: bool = True
    http_port: int | None = None  # None: dev.proxy.http_port
    https_port: int | None = None
    start_interval: bool = True  # the engine knows healthcheck.start_interval (Docker 25+)


@dataclass(frozen=True)
class DevPlan:
    project: str
    base_dir: Path  # the directory of stagecraft.yml
    compose_project: str
    domains: dict  # frontend|backend (those with a dev process) or a dev.routes domain -> domain
    urls: dict  # frontend|backend -> URL through the proxy
    processes: tuple[ProcessSpec, ...]  # backend, frontend, then the proxy
    infra_services: tuple[str, ...]
    files: dict = field(default_factory=dict)  # path relative to .stagecraft/dev -> text
    migrations: tuple[str, ...] = ()  # databases whose pending migrations are applied once infra is up
    options: Options = field(default_factory=Options)
    http_port: int = 80
    https_port: int = 443
    proxy_address: str = "127.0.0.1"

    @property
    def dev_dir(self) -> Path:
        return self.base_dir / DEV_DIR

    @property
    def hosts_names(self) -> list[str]:
        """The domains the proxy serves (none without it): hosts-file entries and certificate names."""
        return sorted(set(self.domains.values())) if self.options.proxy else []

    def describe(self) -> dict:
        return {"project": self.project, "compose_project": self.compose_project, "domains": self.domains,
                "urls": self.urls, "infra_services": list(self.infra_services), "migrations": list(self.migrations),
                "processes": [p.describe() for p in self.processes],
                "hosts": self.hosts_names if self.options.hosts else [],
                "https": self.options.https, "proxy": self.options.proxy,
                "files": {str(DEV_DIR / k): v for k, v in sorted(self.files.items())}}


def build_plan(config, base_dir: Path, variables: dict, options: Options, *, traefik_bin: str = "traefik") -> DevPlan:
    project = config.project.name
    dev = config.dev
    http_port = options.http_port or dev.http_port
    https_port = options.https_port or dev.https_port
    domains_all = {"frontend": dev.frontend_domain or f"app.{project}.localhost",
                   "backend": dev.backend_domain or f"api.{project}.localhost"}
    scheme, port = ("https", https_port) if options.https else ("http", http_port)
    default_port = 443 if options.https else 80

    def url(domain: str) -> str:
        return f"{scheme}://{domain}" + ("" if port == default_port else f":{port}")

    # Each dev process learns every public URL, so a frontend can call the backend through the proxy.
    extra_env = {f"STAGECRAFT_DEV_{k.upper()}_URL": url(d) for k, d in sorted(domains_all.items())}
    processes = [p for p in (process_for(config.backend, base_dir, variables, extra_env),
                             process_for(config.frontend, base_dir, variables, extra_env)) if p]
    domains = {p.name: domains_all[p.name] for p in processes}
    ports = {p.name: p.port for p in processes}
    for domain, route_port in dev.routes.items():  # extra routes: an infra container's published port, ...
        domains[domain] = domain
        ports[domain] = route_port
    for p in processes:
        if options.proxy and p.port is None:
            raise UserError(f"dev: {p.name}: the proxy needs the port the dev server listens on; set "
                            f"{p.name}.generic.dev.port (or PORT in its env), or pass --no-proxy")

    compose_path = base_dir / config.project.compose_file
    compose = load_compose(compose_path) if compose_path.is_file() else {"services": {}}
    by_process = {getattr(config, p.name).service for p in processes} - {None}
    infra = _infra_services(compose, by_process, dev.services)
    # A database's migrations run in its own dev container (psql inside it), so it must be an infra service.
    migrations = tuple(sorted(n for n, d in config.databases.items() if d.migrations and d.service in infra
                              and d.migrations.strategy in MIGRATION_STRATEGIES))
    files = {}
    if infra:
        files[COMPOSE_FILE] = dev_compose(compose, infra, by_process, dev.publish, project,
                                          start_interval=options.start_interval)
    if options.proxy and domains:
        files[TRAEFIK_STATIC] = traefik_static(dev.address, http_port, https_port if options.https else None)
        files[TRAEFIK_DYNAMIC] = traefik_dynamic(domains, ports, options.https)
        processes.append(ProcessSpec(name="proxy", argv=(traefik_bin, f"--configFile={TRAEFIK_STATIC}"),
                                     cwd=str(base_dir / DEV_DIR), port=https_port if options.https else http_port,
                                     ready_pattern=None, stop_timeout=10.0))
    return DevPlan(project=project, base_dir=base_dir, compose_project=f"{project}-dev", domains=domains,
                   urls={k: url(d) for k, d in domains.items()} if options.proxy else
                   {p.name: f"http://127.0.0.1:{p.port}" for p in processes if p.port and p.name != "proxy"},
                   processes=tuple(processes), infra_services=tuple(infra), files=files, migrations=migrations,
                   options=options,
                   http_port=http_port, https_port=https_port, proxy_address=dev.address)


def _infra_services(compose: dict, by_process: set, wanted) -> list[str]:
    services = compose.get("services") or {}
    if wanted is not None:
        unknown = sorted(set(wanted) - set(services))
        if unknown:
            raise UserError(f"dev: dev.services: unknown compose service(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(services)) or 'none'}")
        return sorted(set(wanted) - by_process)
    return sorted(set(services) - by_process)


def dev_compose(compose: dict, infra: list[str], by_process: set, publish: dict, project: str, *,
                start_interval: bool = True) -> str:
    """The app's compose file with only the infra services: dev processes replace the others.

    Paths stay as written: compose runs with --project-directory set to the app's directory.
    `${VAR}` references stay too; their values come from the environment of `docker compose`.
    """
    out = {k: copy.deepcopy(v) for k, v in compose.items() if k not in ("services", "version", "name")}
    services = {}
    for name in infra:
        spec = copy.deepcopy((compose.get("services") or {}).get(name) or {})
        deps = spec.get("depends_on")
        if isinstance(deps, list):
            spec["depends_on"] = [d for d in deps if d in infra]
        elif isinstance(deps, dict):
            spec["depends_on"] = {d: v for d, v in deps.items() if d in infra}
        if not spec.get("depends_on"):
            spec.pop("depends_on", None)
        spec.pop("deploy", None)  # replicas and placement are deploy concerns; dev runs one of each
        health = spec.get("healthcheck")
        if not start_interval and isinstance(health, dict):
            # An older engine rejects start_interval; without it the start period is probed at `interval`.
            health.pop("start_interval", None)
        if name in publish:
            spec["ports"] = list(publish[name])
        labels = spec.get("labels") or {}
        if isinstance(labels, list):
            labels = labels + [f"{LABEL}={project}"]
        else:
            labels = {**labels, LABEL: project}
        spec["labels"] = labels
        services[name] = spec
    out = {"services": services, **{k: out[k] for k in sorted(out)}}
    return "# Generated by `stagecraft dev`; edit docker-compose.yml / stagecraft.yml instead.\n" + \
        yaml.safe_dump(out, sort_keys=False, default_flow_style=False)


def traefik_static(address: str, http_port: int, https_port: int | None) -> str:
    entry = {"web": {"address": f"{address}:{http_port}"}}
    if https_port:
        entry["websecure"] = {"address": f"{address}:{https_port}"}
    data = {"entryPoints": entry,
            "providers": {"file": {"filename": TRAEFIK_DYNAMIC, "watch": False}},
            "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            "log": {"level": "ERROR"},
            "accessLog": {}}
    return "# Generated by `stagecraft dev` (Traefik static configuration).\n" + yaml.safe_dump(data, sort_keys=True)


def traefik_dynamic(domains: dict, ports: dict, https: bool) -> str:
    routers, services = {}, {}
    for key in sorted(domains):
        rule = f"Host(`{domains[key]}`)"
        name = key.replace(".", "-")  # router and service names: a route's domain made a valid name
        routers[f"{name}-http"] = {"rule": rule, "entryPoints": ["web"], "service": name}
        if https:
            routers[name] = {"rule": rule, "entryPoints": ["websecure"], "service": name, "tls": {}}
        # passHostHeader keeps the dev domain visible to the dev server (cookies, absolute URLs).
        services[name] = {"loadBalancer": {"passHostHeader": True,
                                           "servers": [{"url": f"http://127.0.0.1:{ports[key]}"}]}}
    data: dict = {"http": {"routers": routers, "services": services}}
    if https:
        cert = {"certFile": CERT_FILE, "keyFile": KEY_FILE}  # relative to the proxy's cwd, .stagecraft/dev
        data["tls"] = {"certificates": [cert], "stores": {"default": {"defaultCertificate": dict(cert)}}}
    return "# Generated by `stagecraft dev` (Traefik routes).\n" + yaml.safe_dump(data, sort_keys=True)
