"""stagecraft hosts trust"""

from __future__ import annotations

import sys

import click

from . import output
from .context import env_context
from .settings import global_options, settings


@click.group(help="""Manage the hosts' SSH host keys (what Stagecraft trusts each host to be).

Every SSH connection checks the host key strictly against the environment's
known_hosts (.stagecraft/known_hosts/<env>, or ssh.known_hosts). `local` hosts
are trusted when `infra up` creates them; `ssh` hosts only through `hosts trust`.

\b
Examples:
  stagecraft hosts trust -e prod
  stagecraft hosts trust -e prod --host app-1 --yes   # CI, or after a rebuild
""")
@global_options
def hosts():
    pass


@hosts.command(help="""Record the SSH host keys the hosts offer now, after you checked them.

Prints each host's SHA256 fingerprints (and the trusted ones when they
changed), asks, then writes them to the environment's known_hosts. Compare the
fingerprints with the server's console (ssh-keygen -lf
/etc/ssh/ssh_host_ed25519_key.pub) before you answer. Without a TTY, --yes is
required. With ssh.known_hosts set the file is yours: nothing is written.

\b
Examples:
  stagecraft hosts trust -e prod
  stagecraft hosts trust -e prod --host app-1 --yes -o json
""")
@click.option("--host", "host_names", metavar="HOST[,HOST]", help="Only these hosts (default: all).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (CI): trust what the hosts offer now.")
@global_options
def trust(host_names: str | None, yes: bool):
    from .. import hostkeys
    from ..commands.hosts import validate_limit
    from ..commands.inventory import to_list_json
    from ..errors import UserError

    ctx = env_context()
    env = ctx.environment
    try:
        wanted = validate_limit(env, host_names) or None
    except UserError as exc:  # the same check as --limit, named after this option
        raise UserError(exc.message.replace("--limit", "--host", 1)) from None
    hostvars = to_list_json(ctx.inventory())["_meta"]["hostvars"]
    missing = [h for h in (wanted or sorted(hostvars)) if not hostvars.get(h, {}).get("ansible_host")]
    if missing:
        raise UserError(f"host(s) without an address yet: {', '.join(missing)}",
                        hint=f"run 'stagecraft infra up -e {env.name}' first")
    checks = hostkeys.check(hostvars, wanted)
    hostkeys.require_reachable(checks)
    todo = [c for c in checks if c.status != "trusted"]
    data = {"environment": env.name, "hosts": [c.to_dict() for c in checks], "written": False}
    shown = False
    if todo:
        managed = [h.name for h in env.hosts if h.ssh.known_hosts and h.name in {c.host for c in todo}]
        if managed:
            click.echo(_describe(data), err=settings().json)
            raise UserError(f"ssh.known_hosts of {', '.join(managed)} points at a file you manage "
                            f"({todo[0].known_hosts}); add the keys there yourself")
        if not yes and not settings().dry_run:
            if not (sys.stdin is not None and sys.stdin.isatty()):
                with output.result_on_failure(data, _describe):  # what would be trusted, then the refusal
                    raise UserError("hosts trust needs confirmation: pass --yes to trust these keys non-interactively")
            # What is about to be trusted, before the question (on stderr when stdout carries JSON).
            click.echo(_describe(data), err=settings().json)
            click.confirm(f"Trust these keys for {len(todo)} host(s) of '{env.name}'?", abort=True, err=True)
            shown = True
        if not settings().dry_run:
            for path in sorted({c.known_hosts for c in todo}):
                hostkeys.record(path, [c for c in todo if c.known_hosts == path])
            data["written"] = True
    if shown and not settings().json:
        output.info(f"trusted; written to {', '.join(sorted({str(c.known_hosts) for c in todo}))}")
        return
    output.data(data, _describe)


def _describe(data: dict) -> str:
    lines = []
    for h in data["hosts"]:
        lines.append(f"{h['host']} ({h['address']}:{h['port']}): {h['status']}")
        for fp in h["offered"]:
            lines.append(f"  offered  {fp}")
        if h["status"] == "changed":
            for fp in h["expected"]:
                lines.append(f"  expected {fp}")
    if data["written"]:
        lines.append("trusted; written to " + ", ".join(sorted({h["known_hosts"] for h in data["hosts"]})))
    return "\n".join(lines)
