"""Running raw SQL migrations: where psql runs (a one-off container on a host, or this machine), the
status query and the apply. The scripts themselves are built in stagecraft.commands.migrations."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .commands import migrations as m
from .errors import ExternalError, UserError


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
    dbs = {n: d for n, d in ctx.config.databases.items()
           if d.migrations and (strategies is None or d.migrations.strategy in strategies)}
    if only is not None and only not in dbs:
        known = ", ".join(sorted(dbs)) or "none"
        raise UserError(f"--database: '{only}' has no migrations configured (databases with migrations: {known})")
    out = []
    for name, db in sorted(dbs.items()):
        if only is not None and name != only:
            continue
        key = f"databases.{name}"
        url = ctx.resolved.variables.get(db.connection_env)
        if not url:
            raise UserError(f"{key}.connection_env: environment variable {db.connection_env} is not set "
                            f"(set it in the environment or the env_file of '{ctx.environment.name}')")
        info, password = m.conninfo(url, f"{key}.connection_env ({db.connection_env})")
        mig = db.migrations
        out.append(Target(name=name, strategy=mig.strategy, table=m.check_table(mig.table, f"{key}.migrations.raw.table"),
                          files=m.read_files(Path(ctx.config.base_dir) / mig.path, f"{key}.migrations.path"),
                          info=info, password=password, run_in=mig.run_in, key=key))
    return out


def runner_host(ctx, service: str) -> str:
    """The first host, in rollout order, that runs the service: its new image is there after the push."""
    from .pipeline import rollout_batches

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
            from .commands.ssh import argv as ssh_argv

            hv = (hostvars or {}).get(self.host) or {}
            if "ansible_host" not in hv:
                raise UserError(f"host {self.host} has no address yet: run 'stagecraft infra up' first")
            if not image:
                raise UserError(f"{target.key}: nothing deployed on {self.host} yet, so there is no image of "
                                f"'{target.run_in}' to run migrations in; run 'stagecraft deploy' first")
            network = f"{ctx.config.project.name}_default"
            self.argv = ssh_argv(hv) + [m.container_command(image, network, target.info)]
            self.prefix, self.env = target.password + "\n", None
        else:
            if not shutil.which("psql"):
                raise ExternalError(f"{target.key}: psql not found on this machine (migrations without "
                                    "migrations.run_in run here); install the PostgreSQL client "
                                    "(Debian/Ubuntu: postgresql-client) or set migrations.run_in")
            import os

            self.argv = m.local_argv(target.info)
            self.prefix, self.env = "", {**os.environ, "PGPASSWORD": target.password}

    @property
    def where(self) -> str:
        return f"container of {self.target.run_in} on {self.host}" if self.host else "this machine"

    def run(self, script: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv, input=self.prefix + script, capture_output=True, text=True, env=self.env)

    def fail(self, what: str, proc: subprocess.CompletedProcess):
        detail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        raise ExternalError(f"{self.target.key}: {what} failed ({self.where}, exit {proc.returncode}): {detail}")


def status(psql: Psql) -> m.MigrationPlan:
    proc = psql.run(m.status_script(psql.target.table))
    if proc.returncode != 0:
        psql.fail("reading the applied migrations", proc)
    return m.plan(psql.target.name, psql.target.files, m.parse_status(proc.stdout))


def check_unchanged(target: Target, found: m.MigrationPlan) -> None:
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
    import yaml

    from .state import open_store

    store = open_store(ctx.state_dir)
    for row in store.list_releases(ctx.environment.name):
        if row["kind"] in ("deploy", "rollback") and row["status"] == "completed":
            compose = ((store.get_release(row["id"]).manifest.get("hosts") or {}).get(host) or {}).get("compose")
            services = (yaml.safe_load(compose) or {}).get("services") or {} if compose else {}
            return (services.get(service) or {}).get("image")
    return None


def runners(ctx, database: str | None = None) -> list[Psql]:
    """A Psql per database with migrations, running in the image deployed now (for migrate and plan)."""
    from .commands.inventory import to_list_json

    from . import hostkeys

    hostvars = to_list_json(ctx.inventory())["_meta"]["hostvars"]
    hosts = sorted({runner_host(ctx, t.run_in) for t in targets(ctx, database) if t.run_in})
    if hosts:
        hostkeys.verify(ctx.environment, hostvars, hosts)
    out = []
    for target in targets(ctx, database):
        image = deployed_image(ctx, runner_host(ctx, target.run_in), target.run_in) if target.run_in else None
        out.append(Psql(ctx, target, hostvars=hostvars, image=image))
    return out
