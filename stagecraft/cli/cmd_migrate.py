"""stagecraft migrate plan | run"""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options, settings
from .types import Seconds

DATABASE = click.option("--database", "database", metavar="NAME", help="Only this database (databases.<NAME>).")


@click.group(help="""Show and apply raw SQL database migrations.

Each databases.<name>.migrations.path holds *.sql files, applied in file-name
order, each in its own transaction with its row in the tracking table
(raw.table, default stagecraft_migrations) and a sha256 checksum. An applied
file that was edited since is an error (exit 1): add a new migration instead.
With migrations.run_in, psql runs in a one-off container of that service's
image on the first host that runs it (joined to the project's network);
without, on this machine (psql must be installed). deploy runs pre_deploy
migrations before the rollout and post_deploy ones after it; manual ones
only run here. Migrations are never reverted.

\b
Examples:
  stagecraft migrate plan -e prod
  stagecraft migrate run -e prod --database main
""")
@global_options
def migrate():
    pass


@migrate.command("plan", help="""Show applied and pending migrations per database (read-only).

\b
Example:
  stagecraft migrate plan -e prod -o json
""")
@DATABASE
@global_options
def plan_cmd(database: str | None):
    from ..deploy import migrations as mig

    ctx = env_context()
    rows = []
    for psql in mig.runners(ctx, database):
        found = mig.status(psql)
        rows.append({**found.to_dict(), "strategy": psql.target.strategy, "runner": psql.where})
    output.data({"environment": ctx.environment.name, "databases": rows}, _describe_plan)
    if any(r["changed"] for r in rows):
        from ..errors import UserError

        raise UserError("applied migrations were edited: " + ", ".join(
            f"databases.{r['database']}: {', '.join(r['changed'])}" for r in rows if r["changed"]))


def _describe_plan(d: dict) -> str:
    lines = [f"Migrations in {d['environment']}:"]
    for r in d["databases"] or []:
        lines.append(f"  {r['database']} ({r['strategy']}, runs on {r['runner']}): "
                     f"{len(r['applied'])} applied, {len(r['pending'])} pending")
        lines += [f"    pending  {n}" for n in r["pending"]]
        lines += [f"    CHANGED  {n}  (applied, but the file differs)" for n in r["changed"]]
        lines += [f"    missing  {n}  (applied, but no file any more)" for n in r["missing"]]
    if not d["databases"]:
        lines.append("  no databases with migrations")
    return "\n".join(lines)


@migrate.command("run", help="""Apply pending migrations now (every strategy, manual included).

Holds the environment's deploy lock and records a release of kind 'migrate'.
With --dry-run, shows what would be applied.

\b
Example:
  stagecraft migrate run -e prod --database main
""")
@DATABASE
@click.option("--lock-wait", type=Seconds(min=0), default=0, metavar="SECONDS",
              help="Wait up to SECONDS for another run on this environment to finish.")
@global_options
def run_cmd(database: str | None, lock_wait: float):
    from ..deploy import migrations as mig
    from ..runner.recorder import recorded_release

    ctx = env_context()
    psqls = mig.runners(ctx, database)
    if settings().dry_run:
        rows = []
        for psql in psqls:
            found = mig.status(psql)
            mig.check_unchanged(psql.target, found)
            rows.append({"database": found.database, "runner": psql.where, "pending_before": found.pending,
                         "applied": []})
        output.data({"environment": ctx.environment.name, "databases": rows, "applied": False}, _describe_run)
        return
    with recorded_release(ctx, kind="migrate", phases=("migrate",), lock_wait=lock_wait) as rel:
        with rel.phase("migrate"):
            rows = [mig.apply(psql, output.info) for psql in psqls]
            rel.update_manifest({"migrations": rows})
    output.data({"environment": ctx.environment.name, "databases": rows, "applied": True,
                 "release": rel.id}, _describe_run)


def _describe_run(d: dict) -> str:
    verb = "applied" if d["applied"] else "would apply"
    lines = []
    for r in d["databases"]:
        names = r["applied"] if d["applied"] else r["pending_before"]
        lines.append(f"{r['database']}: {verb} {len(names)} migration(s) on {r['runner']}"
                     + (": " + ", ".join(names) if names else ""))
    return "\n".join(lines) or "no databases with migrations"
