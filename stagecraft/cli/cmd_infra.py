"""stagecraft infra up | down | status"""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options, settings


@click.group(help="""Create, inspect and remove the hosts of an environment.

\b
Drivers: local (Debian containers on this machine that behave like small VMs),
digitalocean (droplets), ssh (existing hosts: nothing to create).

\b
Examples:
  stagecraft infra up -e local
  stagecraft infra status -e local -o json
  stagecraft infra down -e local --yes
""")
@global_options
def infra():
    pass


def _driver_or_fail(ctx, operation: str):
    from ..errors import UserError

    driver = ctx.driver()
    if not hasattr(driver, operation):
        raise UserError(f"environments.{ctx.environment.name}.driver: driver '{ctx.environment.driver}' "
                        f"does not support 'infra {operation}'")
    return driver


@infra.command(help="""Create the hosts that are missing and wait until they accept SSH.

Idempotent: hosts that exist are left alone (stopped ones are started), so a
second run changes nothing and says so. Prints each host with its address and
the ssh command to reach it. Hosts in the environment that are no longer in
stagecraft.yml are reported, never removed.

\b
Example:
  stagecraft infra up -e local
  stagecraft infra up -e local --dry-run
""")
@global_options
def up():
    ctx = env_context()
    s = settings()
    driver = _driver_or_fail(ctx, "provision")
    result = driver.provision(ctx.driver_context(), output.info, dry_run=s.dry_run)
    data = {
        "environment": ctx.environment.name,
        "driver": ctx.environment.driver,
        "dry_run": s.dry_run,
        "changed": result.changed,
        "hosts": [h.__dict__ for h in result.hosts],
        "orphans": result.orphans,
    }
    output.data(data, _describe_up)


def _describe_up(d: dict) -> str:
    lines = []
    verb = "would change" if d["dry_run"] else ("changed" if d["changed"] else "no changes: every host already exists")
    lines.append(f"Environment {d['environment']} ({d['driver']}): {verb}")
    for h in d["hosts"]:
        lines.append(f"  {h['name']:<14} {h['action']:<12} {h['address'] or '-':<16} roles: {', '.join(h['roles'])}")
        if h.get("ssh"):
            lines.append(f"  {'':<14} {h['ssh']}")
    for name in d["orphans"]:
        lines.append(f"  {name:<14} not in stagecraft.yml (left alone; 'infra down' removes every host)")
    return "\n".join(lines)


@infra.command(help="""Remove every host of the environment, its network and its volumes.

Asks for confirmation unless --yes is given. --keep-volumes keeps the hosts'
data volumes (/srv and the inner Docker's storage) so a later 'infra up'
finds the data again.

\b
Example:
  stagecraft infra down -e local --yes
""")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--keep-volumes", is_flag=True, help="Keep the hosts' data volumes.")
@global_options
def down(yes: bool, keep_volumes: bool):
    from ..errors import UserError

    ctx = env_context()
    s = settings()
    driver = _driver_or_fail(ctx, "destroy")
    plan = driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes, dry_run=True)
    if not plan["hosts"] and not plan["volumes"]:
        output.data({**plan, "environment": ctx.environment.name, "removed": False},
                    lambda d: f"Environment {d['environment']}: nothing to remove")
        return
    if not s.dry_run and not yes:
        if not click.get_text_stream("stdin").isatty():
            raise UserError("infra down needs confirmation: pass --yes to remove the hosts non-interactively")
        click.confirm(f"Remove {len(plan['hosts'])} host(s) of '{ctx.environment.name}' "
                      f"({', '.join(plan['hosts'])}){'' if keep_volumes else ' and their volumes'}?", abort=True)
    result = plan if s.dry_run else driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes)
    data = {**result, "environment": ctx.environment.name, "removed": not s.dry_run}

    def describe(d):
        head = "would remove" if not d["removed"] else "removed"
        out = [f"Environment {d['environment']}: {head} {len(d['hosts'])} host(s): {', '.join(d['hosts']) or '-'}"]
        if d["kept_volumes"]:
            out.append(f"  kept volumes: {', '.join(d['kept_volumes'])}")
        elif d["volumes"]:
            out.append(f"  {head} volumes: {', '.join(d['volumes'])}")
        return "\n".join(out)

    output.data(data, describe)


@infra.command(help="""List the environment's hosts with their state and address.

\b
Example:
  stagecraft infra status -e local -o json
""")
@global_options
def status():
    ctx = env_context()
    driver = _driver_or_fail(ctx, "status")
    rows = driver.status(ctx.driver_context())

    def describe(rs):
        lines = [f"{'HOST':<14} {'STATE':<10} {'ADDRESS':<16} ROLES"]
        for r in rs:
            note = "" if r["declared"] else "  (not in stagecraft.yml)"
            lines.append(f"{r['host']:<14} {r['state']:<10} {r['address'] or '-':<16} {', '.join(r['roles'])}{note}")
        return "\n".join(lines)

    output.data({"environment": ctx.environment.name, "hosts": rows}, lambda d: describe(d["hosts"]))
