"""firewall: host firewall policy (default deny inbound; SSH from `ssh_from`, or anywhere when empty).

`ssh_allow_controller` is the explicit exception: the address Stagecraft connects from is allowed SSH
as well, whatever `ssh_from` says (for a controller whose address changes, e.g. a laptop)."""

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
    ssh_allow_controller: bool = False
    allow: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, data: dict | None) -> "Firewall":
        data = data or {}
        return cls(
            enabled=data.get("enabled", True),
            ssh_from=tuple(data.get("ssh_from") or ()),
            ssh_allow_controller=data.get("ssh_allow_controller", False),
            allow=tuple(
                Rule(port=r["port"], proto=r.get("proto", "tcp"), sources=tuple(r.get("from") or ()),
                     roles=tuple(r.get("roles") or ()))
                for r in data.get("allow") or ()
            ),
        )
