"""stagecraft lock status | release"""

from __future__ import annotations

import click

from . import output
from .settings import global_options, settings


@click.group(help="""Inspect or clear an environment's deploy lock.

deploy, rollback, migrate run, infra up and infra down hold the lock of their
environment for the whole run. Two locks:

\b
  local  this machine's state directory; it ends with the process that holds it
         (a killed run never leaves it behind)
  hosts  kept on every host of the environment, so two machines exclude each
         other; renewed while the run lives, taken over after its lease
         (STAGECRAFT_HOST_LOCK_LEASE, default 120 s) when its holder vanished

\b
Examples:
  stagecraft lock status -e prod
  stagecraft lock release -e prod --force
""")
@global_options
def lock():
    pass


def _hosts(ctx):
    from ..commands.inventory import to_list_json
    from ..errors import StagecraftError
    from ..state import hostlock

    try:
        return hostlock.lockable_hosts(to_list_json(ctx.inventory())["_meta"]["hostvars"])
    except StagecraftError as exc:  # e.g. no hosts yet: nothing is locked on them
        output.warn(f"hosts not checked: {exc.message}")
        return {}


@lock.command(help="""Show who holds the lock of an environment, here and on its hosts.

\b
Example:
  stagecraft lock status -e prod -o json
""")
@global_options
def status():
    from ..state import hostlock
    from ..state import lock as locks
    from .context import env_context

    s = settings()
    ctx = env_context()
    env = ctx.environment.name
    info = locks.holder(s.state_dir, env)
    hosts = hostlock.status(ctx.config.project.name, env, _hosts(ctx))
    data = {"environment": env, "locked": info is not None or any(h.get("locked") for h in hosts.values()),
            "holder": info, "hosts": hosts}

    def describe(d):
        lines = [f"{env} (this machine): " + (f"locked by {locks.describe(d['holder'])}" if d["holder"]
                                               else "not locked")]
        for host, h in d["hosts"].items():
            if "error" in h:
                lines.append(f"{env} on {host}: unknown ({h['error']})")
            elif h["locked"]:
                state = "EXPIRED" if h["expired"] else "renewed"
                lines.append(f"{env} on {host}: locked by {hostlock.describe(h['holder'])} "
                             f"(lease {state} {h['lease_age']:.0f}s ago)")
            else:
                lines.append(f"{env} on {host}: not locked")
        return "\n".join(lines)

    output.data(data, describe)


@lock.command(help="""Clear the lock of an environment on its hosts (e.g. one whose holder vanished).

The lock on this machine cannot be stale: it ends with its process. A lock on
the hosts whose lease is still being renewed is refused unless --force.

\b
Example:
  stagecraft lock release -e prod --force
""")
@click.option("--force", is_flag=True, help="Clear even a lock whose holder still renews its lease.")
@global_options
def release(force: bool):
    from ..errors import UserError
    from ..state import hostlock
    from ..state import lock as locks
    from .context import env_context

    s = settings()
    ctx = env_context()
    env = ctx.environment.name
    local = locks.holder(s.state_dir, env)
    if local is not None:
        raise UserError(f"environment '{env}' is locked on this machine by a live process: {locks.describe(local)}",
                        hint="that lock ends with its process; stop it (Ctrl-C, or kill its pid) instead")
    hosts = _hosts(ctx)
    current = hostlock.status(ctx.config.project.name, env, hosts)
    live = {h: v for h, v in current.items() if v.get("locked") and not v.get("expired")}
    if live and not force:
        host, v = next(iter(live.items()))
        raise UserError(f"environment '{env}' is locked on {host} by {hostlock.describe(v['holder'])} "
                        f"(lease renewed {v['lease_age']:.0f}s ago)",
                        hint="pass --force if you are sure it is not deploying")
    locked = {h: v for h, v in current.items() if v.get("locked")}
    released = hostlock.force_release(ctx.config.project.name, env, {h: hosts[h] for h in locked})
    data = {"environment": env, "released": bool(locked),
            "hosts": {h: {"released": released[h] is True, "holder": locked[h]["holder"]} for h in locked}}
    output.data(data, lambda d: "\n".join(
        [f"{env}: lock on {h} of {hostlock.describe(v['holder'])} released" for h, v in d["hosts"].items()]
        or [f"{env}: not locked"]))
