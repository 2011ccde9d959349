"""Pending raw SQL migrations applied to the dev database once its container is up, so the dev servers
find their schema: the same engine and tracking table as deploys (stagecraft.deploy.migrations), with
psql run by `docker compose exec` inside the database's own dev container.

The connection URL is the dev one (the dev servers' view, e.g. 127.0.0.1:5433 published by
dev.publish); inside the container the database listens on the container side of that mapping.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .. import process
from ..commands import migrations as m
from ..deploy import migrations as deploy_migrations
from ..errors import ExternalError
from . import infra

def container_port(publish: list, host_port: int) -> int:
    """The container port that `dev.publish` maps `host_port` to (the port itself when none does)."""
    for entry in publish or ():
        parts = str(entry).split("/", 1)[0].split(":")
        if len(parts) >= 2 and parts[-2].isdigit() and int(parts[-2]) == host_port and parts[-1].isdigit():
            return int(parts[-1])
    return host_port


class DevPsql:
    """deploy.migrations' runner interface (target, where, run, fail) for a dev container."""

    def __init__(self, plan, target, service: str, url: str, publish: list, env: dict):
        parts = urlsplit(url)
        port = container_port(publish, parts.port or 5432)
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        inside = urlunsplit((parts.scheme, f"{netloc}127.0.0.1:{port}", parts.path, parts.query, ""))
        info, _ = m.conninfo(inside, target.key)
        self.target = target
        self.service = service
        # -e PGPASSWORD without a value: compose passes it from its own environment, never on a command line.
        self.argv = [*infra.base_argv(plan), "exec", "-T", "-e", "PGPASSWORD", service, "psql", *m.PSQL_FLAGS,
                     "-d", info, "-f", "-"]
        self.env = {**infra.compose_env(env), "PGPASSWORD": target.password}

    @property
    def where(self) -> str:
        return f"the dev container of {self.service}"

    def run(self, script: str) -> process.Completed:
        return process.run(self.argv, input=script, env=self.env, what=f"psql ({self.where})",
                           secrets=[self.target.password])

    def fail(self, what: str, proc: process.Completed):
        detail = process.mask(process.error_text(proc), [self.target.password])
        raise ExternalError(f"{self.target.key}: {what} failed ({self.where}, exit {proc.returncode}): {detail}")


def apply_all(plan, config, variables: dict, say) -> list[dict]:
    """Apply the pending migrations of `plan.migrations`; returns deploy.migrations.apply's results."""
    wanted = set(plan.migrations)
    for name in sorted(wanted):
        env_name = config.databases[name].connection_env
        if not variables.get(env_name):  # e.g. a dev database nobody connects to by URL: nothing to apply
            say(f"migrations: {name}: skipped ({env_name} is not set for dev; set it in the dev env_file)")
            wanted.discard(name)
    results = []
    for name in sorted(wanted):
        (target,) = deploy_migrations.database_targets(config, variables, "dev's env_file", only=name)
        db = config.databases[name]
        psql = DevPsql(plan, target, db.service, variables[db.connection_env], config.dev.publish.get(db.service),
                       variables)
        result = deploy_migrations.apply(psql, lambda text: say(f"migrations: {text}"))
        if not result["applied"]:
            say(f"migrations: {target.name}: up to date")
        results.append(result)
    return results

