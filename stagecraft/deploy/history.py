"""Choosing from the release history: the release to roll back to, the images `--services` keeps."""

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


def pinned_refs(ctx, compose: dict, wanted: list[str]) -> dict:
    """For `deploy --services`: the image each other built service runs now (the current release)."""
    from ..commands.compose_render import built_services, deployed_refs
    from ..state import open_store

    others = [s for s in built_services(ctx.config, compose) if s not in wanted]
    if not others:
        return {}
    current = open_store(ctx.state_dir).current(ctx.environment.name)
    refs = deployed_refs(current.manifest if current else {})
    missing = [s for s in others if s not in refs]
    if missing:
        raise UserError(f"--services: {', '.join(missing)} never completed a deploy in '{ctx.environment.name}', "
                        "so there is no image to keep; deploy without --services first, or include them")
    return {s: refs[s] for s in others}
