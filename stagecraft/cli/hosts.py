"""What the day-2 commands share: the environment's hosts as the inventory sees them, and its current
release (what its hosts run)."""

from __future__ import annotations


def hostvars(ctx) -> dict:
    """host -> connection variables, from one driver discovery."""
    from ..deploy.session import Session

    return Session(ctx).inventory().hostvars


def current_release(ctx):
    from ..state import open_store

    return open_store(ctx.state_dir).current(ctx.environment.name)
