"""stagecraft lock status | release"""

from __future__ import annotations

import click

from . import output
from .settings import global_options, settings


@click.group(help="""Inspect or clear an environment's deploy lock.

deploy, rollback and infra up hold the lock of their environment for the whole
run. The lock guards this machine's state directory only: two machines
deploying the same environment do not see each other's lock.

\b
Examples:
  stagecraft lock status -e prod
  stagecraft lock release -e prod
""")
@global_options
def lock():
    pass


@lock.command(help="""Show who holds the lock of an environment.

\b
Example:
  stagecraft lock status -e prod -o json
""")
@global_options
def status():
    from ..state import lock as locks

    s = settings()
    env = s.env_name()
    info = locks.holder(s.state_dir, env)
    data = {"environment": env, "locked": info is not None, "holder": info}

    def describe(d):
        if not d["locked"]:
            return f"{env}: not locked"
        stale = " (STALE: that process is gone)" if d["holder"].get("stale") else ""
        return f"{env}: locked by {locks.describe(d['holder'])}{stale}"

    output.data(data, describe)


@lock.command(help="""Remove the lock of an environment (e.g. a stale one left by a crashed run).

Refuses to remove a lock whose process is still alive on this machine unless
--force is given.

\b
Example:
  stagecraft lock release -e prod
""")
@click.option("--force", is_flag=True, help="Remove even if the holder is still running.")
@global_options
def release(force: bool):
    from ..errors import UserError
    from ..state import lock as locks

    s = settings()
    env = s.env_name()
    info = locks.holder(s.state_dir, env)
    if info is None:
        output.data({"environment": env, "released": False}, lambda d: f"{env}: not locked")
        return
    if not info.get("stale") and not force:
        raise UserError(f"environment '{env}' is locked by a live process: {locks.describe(info)}",
                        hint="pass --force if you are sure it is not deploying")
    locks.release(s.state_dir, env, only_if_mine=False)
    output.data({"environment": env, "released": True, "holder": info},
                lambda d: f"{env}: lock of {locks.describe(info)} released")
