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
COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml")


@dataclass(frozen=True)
class ServicePlan:
    name: str
    role: str
    strategy: str
    reason: str


def classify(name: str, spec: dict) -> ServicePlan:
    image = str((spec or {}).get("image") or "")
    haystack = f"{image} {name}".lower()
    for pattern, role, strategy in _KINDS:
        if pattern.search(haystack):
            return ServicePlan(name, role, strategy, f"image/name matches '{pattern.search(haystack).group(1)}'")
    if (spec or {}).get("volumes") and not (spec or {}).get("build"):
        return ServicePlan(name, "db", "recreate", "has volumes and no build: treated as stateful")
    return ServicePlan(name, "app", "rolling", "application service")


def plan_services(compose: dict | None) -> list[ServicePlan]:
    services = (compose or {}).get("services") or {}
    return [classify(name, spec) for name, spec in sorted(services.items())]


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
        role_names=role_names,
    )
