"""Driver `ssh`: existing hosts whose addresses are written in the config."""

from __future__ import annotations

from . import DriverContext, HostFacts


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    return {h.name: HostFacts(address=h.address) for h in ctx.environment.hosts if h.address}


def connection_defaults(ctx: DriverContext) -> dict:
    return {}


def host_vars(ctx: DriverContext, host) -> dict:
    return {}
