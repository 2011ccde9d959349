"""firewall: host firewall policy (default deny inbound; SSH always allowed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    port: int | str
    proto: str = "tcp"
    sources: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def applies_to(self, host_roles) -> bool:
        return not self.roles or bool(set(self.roles) & set(host_roles))


@dataclass(frozen=True)
class Firewall:
    enabled: bool = True
    ssh_from: tuple[str, ...] = ()
    allow: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, data: dict | None) -> "Firewall":
        data = data or {}
        return cls(
            enabled=data.get("enabled", True),
            ssh_from=tuple(data.get("ssh_from") or ()),
            allow=tuple(
                Rule(port=r["port"], proto=r.get("proto", "tcp"), sources=tuple(r.get("from") or ()),
                     roles=tuple(r.get("roles") or ()))
                for r in data.get("allow") or ()
            ),
        )
