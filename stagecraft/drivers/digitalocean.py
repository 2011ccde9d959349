"""Driver `digitalocean`: droplets found by tags through the DigitalOcean API."""

from __future__ import annotations

from . import DriverContext, HostFacts


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    # Droplet discovery arrives with the DigitalOcean provider.
    return {}


def connection_defaults(ctx: DriverContext) -> dict:
    return {}
