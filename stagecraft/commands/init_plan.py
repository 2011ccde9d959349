"""What `stagecraft init` writes: compose services mapped to roles and rollout strategies (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Image name patterns -> (role, strategy). Data services are stateful: recreate, never two at once.
_KINDS = [
    (re.compile(r"(postgres|postgis|timescale|mysql|mariadb|mongo|cockroach|clickhouse|couchdb|elasticsearch|opensearch)"),
     "db", "recreate"),
    (re.compile(r"(redis|valkey|keydb|memcached|rabbitmq|nats|kafka)"), "db", "recreate"),
    (re.compile(r"(traefik|nginx|caddy|haproxy|envoy)"), "gateway", "recreate"),
]


@dataclass(frozen=True)
class ServicePlan:
    name: str
    role: str
    strategy: str
    reason: str
    port: int | None = None  # the container port the edge routes to (from a published port)


def _named_volumes(spec: dict) -> bool:
    for v in spec.get("volumes") or []:
        if isinstance(v, str):
            source = v.split(":", 1)[0] if ":" in v else ""
        elif isinstance(v, dict) and v.get("type", "volume") == "volume":
            source = v.get("source") or ""
        else:
            continue
        if source and not str(source).startswith((".", "/", "~", "$")):
            return True
    return False


def _http_port(spec: dict) -> int | None:
    """The container side of the first published TCP port: what users open in a browser."""
    from ..config.compose import _container_port

    for entry in spec.get("ports") or []:
        port = _container_port(entry)
        if port and port.isdigit():
            return int(port)
    return None


def classify(name: str, spec: dict) -> ServicePlan:
    spec = spec if isinstance(spec, dict) else {}
    image = str(spec.get("image") or "")
    haystack = f"{image} {name}".lower()
    for pattern, role, strategy in _KINDS:
        if pattern.search(haystack):
            return ServicePlan(name, role, strategy, f"image/name matches '{pattern.search(haystack).group(1)}'")
    if _named_volumes(spec):
        if not spec.get("build"):
            return ServicePlan(name, "db", "recreate", "has a named volume and no build: treated as stateful")
        # Two copies side by side would share the volume's data: one container at a time.
        return ServicePlan(name, "app", "recreate", "has a named volume: one container at a time",
                           port=_http_port(spec))
    port = _http_port(spec)
    reason = f"application service, routed to container port {port}" if port else "application service"
    return ServicePlan(name, "app", "rolling", reason, port=port)


def plan_services(compose: dict | None) -> list[ServicePlan]:
    services = (compose or {}).get("services") or {}
    return [classify(name, spec) for name, spec in sorted(services.items())]


def public_roles(services: list[ServicePlan]) -> set[str]:
    """Roles whose hosts answer on 80/443: the gateway, or, without one, the roles of routed services."""
    roles = {s.role for s in services}
    if "gateway" in roles:
        return {"gateway"}
    return {s.role for s in services if s.port}


GITIGNORE = (".stagecraft/", ".env.*", "!.env.example")


def gitignore_lines(existing: str) -> list[str]:
    """The lines `init` adds to .gitignore: Stagecraft's state and the environments' env files."""
    present = {line.strip() for line in existing.splitlines()}
    return [line for line in GITIGNORE if line not in present]


def render(project_name: str, compose_file: str | None, services: list[ServicePlan]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("stagecraft", "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    roles: dict[str, list[str]] = {}
    for s in services:
        roles.setdefault(s.role, []).append(s.name)
    if not roles:
        roles = {"app": []}
    order = {"db": 0, "app": 1, "gateway": 2}
    role_names = sorted(roles, key=lambda r: (order.get(r, 9), r))
    return env.get_template("stagecraft.yml.j2").render(
        project_name=project_name, compose_file=compose_file, services=services, roles=roles,
        role_names=role_names, public=public_roles(services),
    )
