"""Choosing an earlier release to roll back to."""

from __future__ import annotations

from ..errors import UserError


def rollback_target(store, env: str, *, to_previous: bool = False, to_release: str | None = None,
                    to_version: str | None = None):
    """The completed deploy/rollback release to return to (exactly one of the three criteria)."""
    chosen = [x for x in (to_previous, to_release, to_version) if x]
    if len(chosen) != 1:
        raise UserError("rollback target required: use exactly one of --to-previous, --to-release, --to-version")
    history = store.deployments(env)
    completed = [r for r in history if r["status"] == "completed"]
    if to_previous:
        if len(completed) < 2:
            raise UserError(f"no previous completed release to roll back to in '{env}'")
        row = completed[1]
    elif to_release:
        row = next((r for r in history if r["id"] == to_release), None)
        if row is None:
            other = store.get_release(to_release)
            if other is not None:
                raise UserError(f"--to-release: release '{to_release}' belongs to '{other.environment}', not '{env}'")
            raise UserError(f"--to-release: release not found: '{to_release}'")
    else:
        row = next((r for r in completed if r["version"] == to_version), None)
        if row is None:
            raise UserError(f"--to-version: no completed release of version '{to_version}' in '{env}'")
    if row["status"] != "completed":
        raise UserError(f"release '{row['id']}' is {row['status']}, not completed; pick another")
    target = store.get_release(row["id"])
    if not target.manifest.get("hosts"):
        raise UserError(f"release '{target.id}' has no recorded compose files (imported or infra release)")
    return target
