"""Per-host compose files and edge proxy configuration (pure, deterministic, hashed).

From the app's canonical compose file and the role placement in stagecraft.yml, each host gets a
compose file with only its services: images pinned to `<registry or project>/<service>:<version>`,
`build:` removed, Stagecraft labels, and for rolling services no `container_name` and no host
`ports` (two copies must run side by side during a rollout; the edge proxy publishes instead).
List- and map-form `environment` are kept as written. The host's edge proxy is not part of the
compose file: it is shared by every project on the host, and each project hands it its routes as
JSON (`render_edge`, read by the collection's module_utils/edge.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property

import yaml

from ..config import compose as compose_model

EDGE_SERVICE = "stagecraft-edge"  # the shared edge container, and the name its rollout outcome is reported under
EDGE_PUBLIC_PORT = 80
EDGE_INTERNAL_PORT = 8000  # where a non-public host's edge proxy listens for the gateways
DEFAULT_MAINTENANCE_PAGE = ("<!doctype html><meta charset=utf-8><title>Maintenance</title>"
                            "<h1>Down for maintenance</h1><p>We will be back shortly.</p>\n")


@dataclass(frozen=True)
class HostDeploy:
    host: str
    definition: str  # compose.yaml text
    hash: str
    services: list  # rollout order: [{name, replicas, port, **Rollout.module_vars()}]
    images: dict  # service -> image ref
    edge_config: str = ""  # the project's routes on the host's edge (JSON), "" when none
    edge_port: int | None = None
    edge_image: str = ""
    secret_names: list = field(default_factory=list)
    files: object = None  # commands.project_files.HostFiles: local files its services refer to

    @cached_property
    def compose_services(self) -> dict:
        """The rendered compose file's services (parsed once; the one place that reads `definition`)."""
        return yaml.safe_load(self.definition).get("services") or {}

    @property
    def planned_services(self) -> dict:
        """The compose services plus the host's shared edge (its image and this project's routes), as
        `stagecraft plan` compares them."""
        if not self.edge_config:
            return self.compose_services
        return {**self.compose_services, EDGE_SERVICE: {"image": self.edge_image, "routes": self.edge_config}}

    @property
    def image_refs(self) -> list[str]:
        """The image refs the host runs (its services' and its edge proxy's), sorted."""
        return sorted(r for r in set(self.images.values()) | {self.edge_image} if r)

    @property
    def service_names(self) -> list[str]:
        """The services the rollout handles, edge proxy included."""
        return [x["name"] for x in self.services] + ([EDGE_SERVICE] if self.edge_config else [])

    def with_images(self, refs: dict[str, str]) -> "HostDeploy":
        """This plan with these services' image refs replaced (the refs their containers already run,
        see commands.host_state.kept_refs), rendered and hashed as render_host does."""
        if not refs:
            return self
        doc = yaml.safe_load(self.definition)
        for name, ref in refs.items():
            doc["services"][name]["image"] = ref
        definition = _dump(doc)
        return replace(self, definition=definition, hash=_digest(definition, self.edge_config, self.files),
                       images={**self.images, **{n: r for n, r in refs.items() if n in self.images}})

    def services_using(self, names) -> list[str]:
        """The host's services whose rendered definition interpolates one of `names` (${NAME}, $NAME):
        those a changed value of them restarts (Compose's config hash covers interpolated values)."""
        import re

        if not names:
            return []
        pattern = re.compile(r"\$\{?(?:%s)(?![A-Za-z0-9_])" % "|".join(re.escape(n) for n in names))
        return sorted(n for n, spec in self.compose_services.items()
                      if pattern.search(yaml.safe_dump(spec, sort_keys=True)))

    def manifest_entry(self) -> dict:
        """What a release records of the host (read back by `from_manifest`)."""
        return {"compose": self.definition, "compose_hash": self.hash, "edge_config": self.edge_config,
                "edge_image": self.edge_image, "edge_port": self.edge_port, "services": self.services,
                "secret_names": self.secret_names}

    @classmethod
    def from_manifest(cls, host: str, entry: dict) -> "HostDeploy":
        plan = cls(host=host, definition=entry["compose"], hash=entry["compose_hash"], services=entry.get("services", []),
                   images={}, edge_config=entry.get("edge_config", ""), edge_image=entry.get("edge_image", ""),
                   edge_port=entry.get("edge_port"), secret_names=entry.get("secret_names", []))
        plan.images.update({n: sv.get("image", "") for n, sv in plan.compose_services.items()})
        return plan


def routed_services(config, compose: dict) -> list[str]:
    """Services the edge proxy routes to: those with a `port` in stagecraft.yml."""
    return sorted(s for s in (compose.get("services") or {}) if config.service(s).port)


def backend_of(config):
    """The configured backend plugin (stagecraft.backends), or None when there is no `backend`."""
    if config.backend is None:
        return None
    from ..plugins import load

    return load("backend", config.backend.provider, key="backend.provider")


def backend_service(config) -> str | None:
    """The compose service whose image the backend builds itself (e.g. encore-ts), if any."""
    backend = backend_of(config)
    return backend.image_service(config) if backend else None


def built_services(config, compose: dict) -> list[str]:
    """Services whose images Stagecraft builds: those with `build:`, and the backend's own."""
    names = {s for s, spec in (compose.get("services") or {}).items() if (spec or {}).get("build")}
    own = backend_service(config)
    if own in (compose.get("services") or {}):
        names.add(own)
    return sorted(names)


def _manifest_plans(manifest: dict) -> list[HostDeploy]:
    return [HostDeploy.from_manifest(h, e) for h, e in sorted(((manifest or {}).get("hosts") or {}).items())]


def deployed_refs(manifest: dict) -> dict[str, str]:
    """service -> image ref, from a release manifest's per-host compose files (what the hosts run; the first
    host's where hosts kept different tags of one image)."""
    out: dict[str, str] = {}
    for plan in _manifest_plans(manifest):
        for name, ref in plan.images.items():
            if ref:
                out.setdefault(name, ref)
    return out


def manifest_refs(manifest: dict) -> set[str]:
    """Every image ref some host of a release runs."""
    return {ref for plan in _manifest_plans(manifest) for ref in plan.images.values() if ref}


def image_refs(config, compose: dict, version: str, pinned: dict | None = None) -> dict[str, str]:
    """service -> image: services with only `build:` (and the backend's own) get the release tag; a
    service with `build:` and `image:` is tagged with its image, as Compose does (e.g. a database image that
    must not change, and so restart, with every release); others keep their image."""
    out = {}
    own = backend_service(config)
    for name, spec in sorted((compose.get("services") or {}).items()):
        spec = spec or {}
        if name == own:
            out[name] = config.project.image_ref(name, version + backend_of(config).tag_suffix(config))
        else:
            out[name] = spec.get("image") or (config.project.image_ref(name, version) if spec.get("build") else "")
    # `deploy --services a,b`: the other built services keep the image their hosts run.
    out.update({k: v for k, v in (pinned or {}).items() if k in out})
    return out


def _labels(spec: dict, extra: dict) -> dict | list:
    labels = spec.get("labels")
    if isinstance(labels, list):
        return sorted(set(labels) | {f"{k}={v}" for k, v in extra.items()})
    return {**(labels or {}), **extra}


def _with_env(environment, names: list[str]):
    if isinstance(environment, list):
        present = {e.split("=", 1)[0] for e in environment}
        return environment + [f"{n}=${{{n}}}" for n in names if n not in present]
    environment = dict(environment or {})
    for n in names:
        environment.setdefault(n, f"${{{n}}}")
    return environment


def _named_volumes(spec: dict) -> set[str]:
    names = set()
    for v in spec.get("volumes") or []:
        source = v.split(":", 1)[0] if isinstance(v, str) else (v or {}).get("source", "")
        if source and not source.startswith((".", "/", "~", "$")):
            names.add(source)
    return names


def _networks(spec: dict) -> set[str]:
    nets = spec.get("networks") or []
    return set(nets if isinstance(nets, list) else nets.keys())


def is_public(config, host) -> bool:
    """A host with a public role: its edge proxy answers the internet (port 80)."""
    return any(config.roles[r].public for r in host.roles if r in config.roles)


def host_edge_port(config, host) -> int:
    return EDGE_PUBLIC_PORT if is_public(config, host) else EDGE_INTERNAL_PORT


def _local_refs(spec: dict, local: set[str]) -> None:
    """Drop `depends_on` and `links` entries naming services on other hosts: across hosts, role order
    gives the ordering and `extra_hosts` the name (see config.compose)."""
    deps = spec.get("depends_on")
    if isinstance(deps, dict):
        spec["depends_on"] = {k: v for k, v in deps.items() if k in local}
    elif isinstance(deps, list):
        spec["depends_on"] = [d for d in deps if d in local]
    if isinstance(spec.get("links"), list):
        spec["links"] = [lk for lk in spec["links"] if str(lk).split(":", 1)[0] in local]
    for key in ("depends_on", "links"):
        if key in spec and not spec[key]:
            del spec[key]


def _publish_declared(spec: dict) -> None:
    """A reachable service's declared ports, published on its host (the firewall admits only the
    environment's hosts); entries already in `ports` stay as written."""
    taken = {p for p in (compose_model._container_port(e) for e in spec.get("ports") or []) if p}
    taken |= {p.split("/", 1)[0] for p in taken if p.endswith("/tcp")}
    extra = [f"{port}:{port}/{proto}" for port, proto in compose_model.declared_ports(spec)
             if f"{port}/{proto}" not in taken and (proto != "tcp" or port not in taken)]
    if extra:
        spec["ports"] = list(spec.get("ports") or []) + extra


def render_host(config, env, host, compose: dict, version: str, *, edge_image: str,
                peers: dict[str, list[str]], env_names: list[str] | None = None,
                remote: dict[str, str] | None = None, reachable: set[str] | frozenset = frozenset(),
                files=None, pinned: dict | None = None) -> HostDeploy:
    """peers: routed service -> ["address:edge_port", ...] of the hosts that run it.
    remote: service on another host -> its host's address (names this host's services resolve);
    reachable: this host's services that other hosts reach by name (their declared ports are published)."""
    services = config.services_for_roles(host.roles)
    remote = {k: v for k, v in (remote or {}).items() if k not in services}
    refs = image_refs(config, compose, version, pinned)
    routed = routed_services(config, compose)
    public = host_edge_port(config, host) == EDGE_PUBLIC_PORT
    out_services: dict = {}
    volumes, networks = set(), set()
    used: dict[str, set] = {"secrets": set(), "configs": set()}
    env_names = sorted(env_names or [])
    for name in services:
        spec = copy.deepcopy((compose.get("services") or {}).get(name) or {})
        svc = config.service(name)
        spec.pop("build", None)
        spec["image"] = refs[name]
        _local_refs(spec, set(services))
        if svc.strategy == "rolling":
            spec.pop("container_name", None)
            spec.pop("ports", None)
        elif name in reachable:
            _publish_declared(spec)
        if remote and not str(spec.get("network_mode", "")).startswith(("host", "service:", "container:")):
            hosts_entries = spec.get("extra_hosts")
            if isinstance(hosts_entries, dict):
                spec["extra_hosts"] = {**{k: v for k, v in sorted(remote.items())}, **hosts_entries}
            else:
                mine = list(hosts_entries or [])
                named = {str(e).split(":", 1)[0].split("=", 1)[0] for e in mine}
                spec["extra_hosts"] = mine + [f"{k}:{v}" for k, v in sorted(remote.items()) if k not in named]
        spec["labels"] = _labels(spec, {"stagecraft.project": config.project.name, "stagecraft.env": env.name,
                                        "stagecraft.host": host.name})
        wanted = [n for n in sorted(set(svc.secrets) | set(config.secrets.keys)) if n in env_names]
        if wanted:
            # Values come from the host's 0600 .env through interpolation (not env_file, whose
            # contents Compose leaves out of `config --hash`, which would hide changes).
            spec["environment"] = _with_env(spec.get("environment"), wanted)
        volumes |= _named_volumes(spec)
        networks |= _networks(spec)
        for section in ("secrets", "configs"):
            used[section] |= {e if isinstance(e, str) else (e or {}).get("source") for e in spec.get(section) or []}
        out_services[name] = spec
    local_routed = [s for s in routed if s in services]
    remote_routed = [s for s in routed if s not in services and peers.get(s)] if public else []
    edge_config, edge_port = "", None
    if local_routed or remote_routed:
        edge_port = host_edge_port(config, host)
        edge_config = render_edge(config, local_routed, remote_routed, peers, public=public)
    doc: dict = {"name": config.project.name, "services": out_services}
    used["volumes"], used["networks"] = volumes, networks
    for section in ("volumes", "networks", "secrets", "configs"):
        # Top-level definitions this host's services use (secrets and configs keep their `file:`).
        kept = {k: v for k, v in (compose.get(section) or {}).items() if k in used[section]}
        if kept:
            doc[section] = kept
    definition = _dump(doc)
    digest = _digest(definition, edge_config, files)
    order = [{"name": n, **config.service(n).rollout.module_vars(),
              "replicas": int(((compose["services"][n] or {}).get("deploy") or {}).get("replicas") or 1),
              "port": config.service(n).port,
              **({"healthcheck": config.service(n).healthcheck.module_vars()} if config.service(n).healthcheck else {})}
             for n in sorted(services, key=lambda s: (config.service(s).strategy != "recreate", s))]
    return HostDeploy(host=host.name, definition=definition, hash=digest, services=order,
                      images={n: refs[n] for n in services}, edge_config=edge_config, edge_port=edge_port,
                      edge_image=edge_image if edge_config else "", secret_names=env_names, files=files)


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, width=2**20)


def _digest(definition: str, edge_config: str, files) -> str:
    """A host plan's hash; the files' digest too: a changed env file or mounted config must roll the host."""
    return hashlib.sha256((definition + edge_config + (files.digest if files else "")).encode()).hexdigest()


def render_edge(config, local_routed: list[str], remote_routed: list[str], peers: dict, *, public: bool) -> str:
    """The project's routes on one host's shared edge proxy, as JSON (deterministic: part of the hash).
    A public host answers the names over HTTPS (80 and 443); others listen on 8000 for the gateways."""
    routes = []
    for name in sorted(local_routed + remote_routed):
        svc = config.service(name)
        route = {"service": name, "hosts": list(svc.public_hosts), "path": svc.public_path,
                 "tls": svc.tls_mode if public else "off", "redirect": svc.redirect_http, "hsts": svc.hsts}
        if name in remote_routed:
            route["peers"] = sorted(peers[name])
        if route["tls"] == "files":
            cert, key = tls_files(config, name)
            route["files_sha256"] = hashlib.sha256((cert + "\0" + key).encode()).hexdigest()
        routes.append(route)
    doc: dict = {"project": config.project.name, "listen": "public" if public else "internal", "routes": routes}
    if public and any(r["tls"] == "acme" for r in routes):
        edge = config.edge
        doc["acme"] = {"directory": edge.acme_directory, "email": edge.acme_email,
                       "renew_interval": edge.renew_interval}
        if edge.acme_ca_file:
            doc["acme"]["ca_pem"] = _read(config, edge.acme_ca_file, "edge.acme.ca_file")
    if public:
        page = config.edge.maintenance_page
        doc["maintenance_page"] = _read(config, page, "edge.maintenance.page") if page else DEFAULT_MAINTENANCE_PAGE
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def tls_files(config, service: str) -> tuple[str, str]:
    """(certificate chain, private key) of services.<s>.public.tls {cert_file, key_file}, as text."""
    tls = config.service(service).public_tls
    key = f"services.{service}.public.tls"
    cert_text = _read(config, tls["cert_file"], f"{key}.cert_file")
    key_text = _read(config, tls["key_file"], f"{key}.key_file")
    if "CERTIFICATE" not in cert_text or "PRIVATE KEY" not in key_text:
        from ..errors import UserError

        raise UserError(f"{key}: expected a PEM certificate in cert_file and a PEM private key in key_file")
    return cert_text, key_text


def edge_tls_payload(config, host_deploy) -> list[dict]:
    """The supplied certificates and keys a host's edge needs: files for the compose role (served as a
    secret, written 0600); empty when none."""
    routes = json.loads(host_deploy.edge_config or "{}").get("routes") or []
    out = []
    directory = f"/srv/stagecraft-edge/projects/{config.project.name}.tls"
    for name in sorted({r["service"] for r in routes if r.get("tls") == "files"}):
        cert, key = tls_files(config, name)
        out += [{"path": f"{directory}/{name}.crt", "content": cert, "mode": "0600"},
                {"path": f"{directory}/{name}.key", "content": key, "mode": "0600"}]
    return out


def _read(config, rel: str, key: str) -> str:
    from pathlib import Path

    from ..files import read_text

    return read_text(Path(config.base_dir) / rel, key, limit=256 << 10)


def load_compose(path) -> dict:
    from ..errors import UserError

    data = compose_model.load(path)
    if not isinstance(data.get("services"), dict) or not data["services"]:
        raise UserError(f"{path}: no services")
    return data
