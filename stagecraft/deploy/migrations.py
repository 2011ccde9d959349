"""Running raw SQL migrations: where psql runs (a one-off container on a host, or this machine), the
status query, the apply, and the migrate_pre / migrate_post phases of a deploy. The scripts themselves
are built in stagecraft.commands.migrations; `stagecraft migrate` is stagecraft.cli.cmd_migrate."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import process
from ..commands import migrations as m
from ..errors import ExternalError, UserError
from ..plugins import load
from .batches import rollout_batches
from .rollout import roll


@dataclass(frozen=True)
class Target:
    """One database with migrations, resolved for an environment."""
    name: str
    strategy: str
    table: str
    files: list
    info: str  # libpq conninfo without the password
    password: str
    run_in: str | None
    key: str  # config key path, for messages

    @property
    def runner_kind(self) -> str:
        return f"container ({self.run_in})" if self.run_in else "this machine"


def targets(ctx, only: str | None = None, strategies: tuple[str, ...] | None = None) -> list[Target]:
    """Databases of the config that have migrations (of these strategies, default all), in name order."""
    return database_targets(ctx.config, ctx.resolved.variables, f"the env_file of '{ctx.environment.name}'",
                            only, strategies)


def database_targets(config, variables: dict, where: str, only: str | None = None,
                     strategies: tuple[str, ...] | None = None) -> list[Target]:
    """targets() from a config and the variables its URLs come from (`where` names them in errors)."""
    dbs = {n: d for n, d in config.databases.items()
           if d.migrations and (strategies is None or d.migrations.strategy in strategies)}
    if only is not None and only not in dbs:
        known = ", ".join(sorted(dbs)) or "none"
        raise UserError(f"--database: '{only}' has no migrations configured (databases with migrations: {known})")
    out = []
    for name, db in sorted(dbs.items()):
        if only is not None and name != only:
            continue
        key = f"databases.{name}"
        if load("migration_engine", db.migrations.engine, key=f"{key}.migrations.engine") is not _this_engine():
            raise UserError(f"{key}.migrations.engine: '{db.migrations.engine}' is not run by deploys yet "
                            "(only the built-in raw engine is)")
        url = variables.get(db.connection_env)
        if not url:
            raise UserError(f"{key}.connection_env: environment variable {db.connection_env} is not set "
                            f"(set it in the environment or {where})")
        info, password = m.conninfo(url, f"{key}.connection_env ({db.connection_env})")
        mig = db.migrations
        out.append(Target(name=name, strategy=mig.strategy, table=m.check_table(mig.table, f"{key}.migrations.raw.table"),
                          files=m.read_files(Path(config.base_dir) / mig.path, f"{key}.migrations.path"),
                          info=info, password=password, run_in=mig.run_in, key=key))
    return out


def _this_engine():
    """The raw engine is this module, registered as entry point `raw` (stagecraft.migration_engines)."""
    import sys

    return sys.modules[__name__]


def runner_host(ctx, service: str) -> str:
    """The first host, in rollout order, that runs the service: its new image is there after the push."""
    env = ctx.environment
    for _, hosts in rollout_batches(ctx.config, env, [h.name for h in env.hosts]):
        for host in hosts:
            if service in ctx.config.services_for_roles(env.host(host).roles):
                return host
    raise UserError(f"migrations.run_in: service '{service}' runs on no host of environment '{env.name}'")


class Psql:
    """Runs psql scripts for one target, in a container on a host or on this machine."""

    def __init__(self, ctx, target: Target, *, hostvars: dict | None = None, image: str | None = None):
        self.target = target
        self.host = runner_host(ctx, target.run_in) if target.run_in else None
        if self.host:
            from ..commands.ssh import command_argv

            hv = (hostvars or {}).get(self.host) or {}
            if "ansible_host" not in hv:
                raise UserError(f"host {self.host} has no address yet: run 'stagecraft infra up' first")
            if not image:
                raise UserError(f"{target.key}: nothing deployed on {self.host} yet, so there is no image of "
                                f"'{target.run_in}' to run migrations in; run 'stagecraft deploy' first")
            network = f"{ctx.config.project.name}_default"
            self.argv = command_argv(hv, m.container_command(image, network, target.info))
            self.prefix, self.env = target.password + "\n", None
        else:
            if not shutil.which("psql"):
                raise ExternalError(f"{target.key}: psql not found on this machine (migrations without "
                                    "migrations.run_in run here); install the PostgreSQL client "
                                    "(Debian/Ubuntu: postgresql-client) or set migrations.run_in")
            self.argv = m.local_argv(target.info)
            self.prefix, self.env = "", {"PGPASSWORD": target.password}

    @property
    def where(self) -> str:
        return f"container of {self.target.run_in} on {self.host}" if self.host else "this machine"

    def run(self, script: str) -> process.Completed:
        return process.run(self.argv, input=self.prefix + script, env=self.env, what=f"psql ({self.where})",
                           secrets=[self.target.password])

    def fail(self, what: str, proc: process.Completed):
        detail = process.mask(process.error_text(proc), [self.target.password])
        raise ExternalError(f"{self.target.key}: {what} failed ({self.where}, exit {proc.returncode}): {detail}")


def status(psql: Psql) -> m.MigrationStatus:
    proc = psql.run(m.status_script(psql.target.table))
    if proc.returncode != 0:
        psql.fail("reading the applied migrations", proc)
    return m.status_of(psql.target.name, psql.target.files, m.parse_status(proc.stdout))


def check_unchanged(target: Target, found: m.MigrationStatus) -> None:
    if found.changed:
        raise UserError(f"{target.key}.migrations: applied migration(s) {', '.join(found.changed)} changed after "
                        "they were applied (checksum differs); restore the file(s) and put the change in a new "
                        "migration")


def apply(psql: Psql, say) -> dict:
    """Applies the pending migrations; returns {database, applied: [...], pending_before: [...]}."""
    target = psql.target
    found = status(psql)
    check_unchanged(target, found)
    result = {"database": target.name, "runner": psql.where, "pending_before": found.pending, "applied": []}
    if not found.pending:
        return result
    todo = [f for f in target.files if f.name in found.pending]
    say(f"{target.name}: applying {len(todo)} migration(s) on {psql.where}: {', '.join(f.name for f in todo)}")
    proc = psql.run(m.apply_script(target.table, todo))
    result["applied"] = m.parse_applied(proc.stdout)
    if proc.returncode != 0:
        failed = next((f.name for f in todo if f.name not in result["applied"]), "?")
        done = f"; applied before it: {', '.join(result['applied'])}" if result["applied"] else ""
        psql.fail(f"migration {failed} (rolled back{done})", proc)
    return result


def deployed_image(ctx, host: str, service: str) -> str | None:
    """The image of `service` on `host` in the environment's last completed deploy or rollback."""
    from ..commands.compose_render import HostDeploy
    from ..state import open_store

    current = open_store(ctx.state_dir, read_only=True).current(ctx.environment.name)
    entry = ((current.manifest.get("hosts") or {}).get(host) if current else None) or {}
    return (HostDeploy.from_manifest(host, entry).images.get(service) or None) if entry.get("compose") else None


def runners(ctx, database: str | None = None, hostvars: dict | None = None) -> list[Psql]:
    """A Psql per database with migrations, running in the image deployed now (for migrate and plan).
    hostvars: host -> connection variables (default: the environment's, discovered now)."""
    if hostvars is None:
        from .session import Session

        hostvars = Session(ctx).inventory().hostvars
    from .. import hostkeys

    hosts = sorted({runner_host(ctx, t.run_in) for t in targets(ctx, database) if t.run_in})
    if hosts:
        hostkeys.verify(ctx.environment, hostvars, hosts)
    out = []
    for target in targets(ctx, database):
        image = deployed_image(ctx, runner_host(ctx, target.run_in), target.run_in) if target.run_in else None
        out.append(Psql(ctx, target, hostvars=hostvars, image=image))
    return out


# ---- the deploy's migrate phases --------------------------------------------------------------
PHASES = {"pre_deploy": "migrate_pre", "post_deploy": "migrate_post"}


def not_configured_note(config, strategy: str) -> str:
    manual = sorted(d.name for d in config.databases.values() if d.migrations and d.migrations.strategy == "manual")
    note = f"no {strategy} migrations configured"
    return note + (f" (manual: {', '.join(manual)}; run 'stagecraft migrate run')" if manual else "")


def migrate(session, rel, strategy: str, desired: dict, inventory, unchanged: set[str] = frozenset()) -> None:
    ctx, limit = session.ctx, session.limit
    phase = PHASES[strategy]
    wanted = targets(ctx, strategies=(strategy,))
    if not wanted:
        return rel.skip(phase, not_configured_note(ctx.config, strategy))
    left_out = sorted({runner_host(ctx, t.run_in) for t in wanted if t.run_in} - set(limit or desired))
    if left_out:
        session.warn(f"{phase}: not run, --limit leaves out {', '.join(left_out)} where migrations run; "
                     "run 'stagecraft migrate run' when ready")
        return rel.skip(phase, f"--limit leaves out {', '.join(left_out)}; run 'stagecraft migrate run'")
    with rel.phase(phase):
        if strategy == "pre_deploy":
            # Databases must run (new config, same data) before migrations can reach them.
            stateful = [h for h, p in desired.items() if any(x["strategy"] == "recreate" for x in p.services)]
            stateful = [h for h in stateful if (not limit or h in limit) and h not in unchanged]
            if stateful:
                roll(session, rel, desired, inventory, stateful, stage="data")
        results = []
        for target in wanted:
            host = runner_host(ctx, target.run_in) if target.run_in else None
            image = desired[host].images.get(target.run_in) if host else None
            results.append(apply(Psql(ctx, target, hostvars=inventory.hostvars, image=image), session.say))
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
            row.update(status(runners(ctx, name, hostvars=hostvars)[0]).to_dict())
        except StagecraftError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows
