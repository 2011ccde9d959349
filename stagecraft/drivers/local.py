"""Driver `local`: hosts are Debian containers on this machine (see spec/commands/infra.md)."""

from __future__ import annotations

from . import DriverContext, HostFacts


def key_file(ctx: DriverContext):
    return ctx.state_dir / "ssh" / "id_ed25519"


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    # Filled in by the local driver implementation (issue: local driver).
    return {}


def connection_defaults(ctx: DriverContext) -> dict:
    return {"key": str(key_file(ctx)), "user": "root"}
