"""network: the mesh between hosts (Tailscale or headscale)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tailscale:
    auth_key_env: str = "TAILSCALE_AUTH_KEY"
    tags: tuple[str, ...] = ()
    role_tags: dict = field(default_factory=dict)
    login_server: str | None = None
    tailnet_domain: str | None = None
    min_version: str | None = None
    ssh: bool = False
    up_timeout: int = 120

    def tags_for(self, roles) -> list[str]:
        """Default tags plus each role's tags, sorted and unique."""
        tags = set(self.tags)
        for role in roles:
            tags.update(self.role_tags.get(role, ()))
        return sorted(tags)


@dataclass(frozen=True)
class Network:
    provider: str = "none"
    tailscale: Tailscale | None = None

    @classmethod
    def parse(cls, data: dict | None) -> "Network":
        data = data or {}
        ts = data.get("tailscale")
        tailscale = None
        if ts is not None:
            tailscale = Tailscale(
                auth_key_env=ts.get("auth_key_env", "TAILSCALE_AUTH_KEY"),
                tags=tuple(ts.get("tags") or ()),
                role_tags={k: tuple(v) for k, v in (ts.get("role_tags") or {}).items()},
                login_server=ts.get("login_server"),
                tailnet_domain=ts.get("tailnet_domain"),
                min_version=ts.get("min_version"),
                ssh=bool(ts.get("ssh", False)),
                up_timeout=ts.get("up_timeout", 120),
            )
        return cls(provider=data.get("provider", "none"), tailscale=tailscale)
