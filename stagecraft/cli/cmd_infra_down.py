"""stagecraft infra down"""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options, settings


@click.command("down", help="""Remove every host of the environment, its network and its volumes.

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
    driver = ctx.driver("destroy")
    plan = driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes, dry_run=True)
    if not plan["hosts"] and not plan["volumes"]:
        output.data({**plan, "environment": ctx.environment.name, "removed": False},
                    lambda d: f"Environment {d['environment']}: nothing to remove")
        return
    if not s.dry_run and not yes:
        if not output.interactive():
            raise UserError("infra down needs confirmation: pass --yes to remove the hosts non-interactively")
        click.confirm(f"Remove {len(plan['hosts'])} host(s) of '{ctx.environment.name}' "
                      f"({', '.join(plan['hosts'])}){'' if keep_volumes else ' and their volumes'}?", abort=True)
    if s.dry_run:
        result = plan
    else:
        # Never remove hosts under a running deploy: the lock here and on the hosts (when they answer).
        from ..runner.recorder import host_lock_if_reachable
        from ..state import lock as locks

        with locks.env_lock(ctx.state_dir, ctx.environment.name), host_lock_if_reachable(ctx) as host_lock:
            result = driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes)
            if host_lock is not None:
                host_lock.forget(result.get("hosts") or [])  # removed with their hosts: nothing to release
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
