"""roles and services: which compose services run on which hosts, and how each rolls out."""

from __future__ import annotations

from dataclasses import dataclass, field

# Rollout order when a role gives none: data first, then apps, then the edge.
DEFAULT_ROLE_ORDER = {"db": 10, "data": 10, "cache": 20, "app": 50, "worker": 60, "gateway": 90, "edge": 90}


@dataclass(frozen=True)
class Role:
    name: str
    services: tuple[str, ...] = ()
    public: bool = False
    order: int = 50

    @classmethod
    def parse(cls, name: str, data: dict) -> "Role":
        return cls(
            name=name,
            services=tuple(data.get("services") or ()),
            public=bool(data.get("public", False)),
            order=data.get("order", DEFAULT_ROLE_ORDER.get(name, 50)),
        )


@dataclass(frozen=True)
class Build:
    context: str | None = None
    dockerfile: str | None = None
    target: str | None = None
    args: dict = field(default_factory=dict)
    secrets: tuple = ()  # env var names handed to docker build as BuildKit secrets


@dataclass(frozen=True)
class Service:
    name: str
    role: str | None = None
    strategy: str = "rolling"
    healthcheck_timeout: int = 60
    drain_seconds: int = 0
    pre_stop: tuple[str, ...] = ()
    pre_stop_timeout: int = 30
    batch_size: int | str | None = None
    port: int | None = None
    public_host: str | None = None
    public_path: str = "/"
    build: Build | None = None
    secrets: tuple[str, ...] = ()

    @classmethod
    def parse(cls, name: str, data: dict) -> "Service":
        rollout = data.get("rollout") or {}
        public = data.get("public") or {}
        build = data.get("build")
        return cls(
            name=name,
            role=data.get("role"),
            strategy=rollout.get("strategy", "rolling"),
            healthcheck_timeout=rollout.get("healthcheck_timeout", 60),
            drain_seconds=rollout.get("drain_seconds", 0),
            pre_stop=tuple(rollout.get("pre_stop") or ()),
            pre_stop_timeout=rollout.get("pre_stop_timeout", 30),
            batch_size=rollout.get("batch_size"),
            port=data.get("port"),
            public_host=public.get("host"),
            public_path=public.get("path", "/"),
            build=Build(**{k: v for k, v in build.items() if not k.startswith("x-")}) if build else None,
            secrets=tuple(data.get("secrets") or ()),
        )


def placement(roles: dict[str, Role], services: dict[str, Service]) -> dict[str, str]:
    """service name -> role name. services.<s>.role wins over roles.<r>.services."""
    out: dict[str, str] = {}
    for role in roles.values():
        for svc in role.services:
            out.setdefault(svc, role.name)
    for svc in services.values():
        if svc.role:
            out[svc.name] = svc.role
    return dict(sorted(out.items()))
