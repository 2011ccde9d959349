"""volumes: data directories, Docker named volumes and block devices per role."""

from __future__ import annotations

from dataclasses import dataclass


def _for_roles(items, host_roles):
    return [i for i in items if not i.get("roles") or set(i["roles"]) & set(host_roles)]


@dataclass(frozen=True)
class Volumes:
    directories: tuple[dict, ...] = ()
    docker: tuple[dict, ...] = ()
    block: tuple[dict, ...] = ()

    @classmethod
    def parse(cls, data: dict | None) -> "Volumes":
        data = data or {}
        strip = lambda items: tuple({k: v for k, v in i.items() if not k.startswith("x-")} for i in items or ())  # noqa: E731
        return cls(strip(data.get("directories")), strip(data.get("docker")), strip(data.get("block")))

    def for_host(self, host_roles) -> dict:
        """The volumes a host with these roles needs, without the role filters."""
        drop = lambda items: [{k: v for k, v in i.items() if k != "roles"} for i in items]  # noqa: E731
        return {
            "directories": drop(_for_roles(self.directories, host_roles)),
            "docker": drop(_for_roles(self.docker, host_roles)),
            "block": drop(_for_roles(self.block, host_roles)),
        }
