"""The migrate_pre / migrate_post phases: apply the pending migrations of databases with that strategy."""

from __future__ import annotations

from .. import migrate as mig
from .rollout import roll

PHASES = {"pre_deploy": "migrate_pre", "post_deploy": "migrate_post"}


def not_configured_note(config, strategy: str) -> str:
    manual = sorted(d.name for d in config.databases.values() if d.migrations and d.migrations.strategy == "manual")
    note = f"no {strategy} migrations configured"
    return note + (f" (manual: {', '.join(manual)}; run 'stagecraft migrate run')" if manual else "")


def migrate(session, rel, strategy: str, plans: dict, inventory, unchanged: set[str] = frozenset()) -> None:
    ctx, limit = session.ctx, session.limit
    phase = PHASES[strategy]
    targets = mig.targets(ctx, strategies=(strategy,))
    if not targets:
        return rel.skip(phase, not_configured_note(ctx.config, strategy))
    left_out = sorted({mig.runner_host(ctx, t.run_in) for t in targets if t.run_in} - set(limit or plans))
    if left_out:
        session.warn(f"{phase}: not run, --limit leaves out {', '.join(left_out)} where migrations run; "
                     "run 'stagecraft migrate run' when ready")
        return rel.skip(phase, f"--limit leaves out {', '.join(left_out)}; run 'stagecraft migrate run'")
    with rel.phase(phase):
        if strategy == "pre_deploy":
            # Databases must run (new config, same data) before migrations can reach them.
            stateful = [h for h, p in plans.items() if any(x["strategy"] == "recreate" for x in p.services)]
            stateful = [h for h in stateful if (not limit or h in limit) and h not in unchanged]
            if stateful:
                roll(session, rel, plans, inventory, stateful, stage="data")
        results = []
        for target in targets:
            host = mig.runner_host(ctx, target.run_in) if target.run_in else None
            image = plans[host].images.get(target.run_in) if host else None
            results.append(mig.apply(mig.Psql(ctx, target, hostvars=inventory.hostvars, image=image), session.say))
        rel.update_manifest({phase: results})


def pending_migrations(ctx, hostvars: dict) -> list[dict]:
    """Per database: pending migrations (a read-only query), or why they could not be read."""
    from ..errors import StagecraftError

    rows = []
    for name, db in sorted(ctx.config.databases.items()):
        if not db.migrations:
            continue
        row = {"database": name, "strategy": db.migrations.strategy}
        try:
            row.update(mig.status(mig.runners(ctx, name, hostvars=hostvars)[0]).to_dict())
        except StagecraftError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows
