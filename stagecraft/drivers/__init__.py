"""Infra drivers: where an environment's hosts come from (local containers, DigitalOcean, existing SSH hosts).

Each driver module exposes `discover(ctx) -> dict[host name, HostFacts]`,
`connection_defaults(ctx) -> dict` (SSH key, known_hosts) and `host_vars(ctx, host) -> dict`
(inventory variables only its hosts need, so the inventory has no branch per driver). Drivers
are plugins (entry point group `stagecraft.drivers`, see stagecraft.plugins), imported on first
use so the CLI starts fast.
"""

from __future__ import annotations

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


def get_driver(name: str):
    from ..plugins import load

    return load("driver", name, key="environments.<env>.driver")


def driver_host_vars(ctx: DriverContext) -> dict[str, dict]:
    """host -> the inventory variables the environment's driver adds for it."""
    driver = get_driver(ctx.environment.driver)
    return {h.name: driver.host_vars(ctx, h) for h in ctx.environment.hosts}
