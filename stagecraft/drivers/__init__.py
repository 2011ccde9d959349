"""Infra drivers: where an environment's hosts come from (local containers, DigitalOcean, existing SSH hosts).

Each driver module exposes `discover(ctx) -> dict[host name, HostFacts]` and
`connection_defaults(ctx) -> dict` (SSH key, known_hosts). Modules are imported
on first use so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HostFacts:
    """What a driver knows about a live host."""

    address: str
    port: int | None = None
    state: str = "running"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DriverContext:
    config: "object"  # stagecraft.config.Config
    environment: "object"  # stagecraft.config.environment.Environment
    state_dir: Path


_MODULES = {"local": "stagecraft.drivers.local", "ssh": "stagecraft.drivers.ssh",
            "digitalocean": "stagecraft.drivers.digitalocean"}


def get_driver(name: str):
    return importlib.import_module(_MODULES[name])
