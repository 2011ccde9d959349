"""dev: how `stagecraft dev` runs the app on this machine (domains, proxy ports, infra services)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DevSettings:
    env_file: str | None = None
    frontend_domain: str | None = None  # None: app.<project>.localhost
    backend_domain: str | None = None  # None: api.<project>.localhost
    routes: dict = field(default_factory=dict)  # extra domain -> port on 127.0.0.1
    http_port: int = 80
    https_port: int = 443
    address: str = "127.0.0.1"
    publish: dict = field(default_factory=dict)  # compose service -> ["127.0.0.1:5433:5432", ...]
    services: tuple[str, ...] | None = None  # None: every compose service not run by a dev process

    @classmethod
    def parse(cls, data: dict | None) -> "DevSettings":
        data = data or {}
        domains = data.get("domains") or {}
        proxy = data.get("proxy") or {}
        services = data.get("services")
        return cls(
            env_file=data.get("env_file"),
            frontend_domain=domains.get("frontend"),
            backend_domain=domains.get("backend"),
            routes=dict(sorted((data.get("routes") or {}).items())),
            http_port=proxy.get("http_port", 80),
            https_port=proxy.get("https_port", 443),
            address=proxy.get("address", "127.0.0.1"),
            publish={k: list(v) for k, v in sorted((data.get("publish") or {}).items()) if not k.startswith("x-")},
            services=tuple(services) if services is not None else None,
        )
