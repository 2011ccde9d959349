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


# .stagecraft/ itself is not ignored from here: its own .gitignore keeps the state out and lets the
# team commit hooks/ and tests/ (templates/stagecraft-dir).
GITIGNORE = (".env.*", "!.env.example")


def gitignore_lines(existing: str) -> list[str]:
    """The lines `init` adds to .gitignore: the environments' env files (they hold secrets)."""
    present = {line.strip() for line in existing.splitlines()}
    return [line for line in GITIGNORE if line not in present]


ROOT_NAMES = ("web", "frontend", "front", "ui", "app", "site", "www", "client", "nginx", "proxy")


def route_paths(services: list[ServicePlan]) -> dict[str, str]:
    """With several routed services, one answers on / (a frontend or proxy by its name, else the first) and
    each other one on /<name>/ (the edge passes the path unchanged); one routed service needs no path."""
    routed = [s.name for s in services if s.port]
    if len(routed) < 2:
        return {}
    root = next((n for key in ROOT_NAMES for n in routed if n == key or n.startswith(key + "-")), routed[0])
    return {n: f"/{n}/" for n in routed if n != root}


def config_context(compose_file: str | None, services: list[ServicePlan]) -> dict:
    """What the `init` template's stagecraft.yml needs besides the project name: services grouped by role
    in rollout order (data, app, gateway), which roles are public and the routed services' paths."""
    roles: dict[str, list[str]] = {}
    for s in services:
        roles.setdefault(s.role, []).append(s.name)
    if not roles:
        roles = {"app": []}
    order = {"db": 0, "app": 1, "gateway": 2}
    return {"compose_file": compose_file, "services": services, "roles": roles,
            "role_names": sorted(roles, key=lambda r: (order.get(r, 9), r)), "public": public_roles(services),
            "paths": route_paths(services)}
