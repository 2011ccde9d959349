"""stagecraft inventory"""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options


@click.command(help="""Print the Ansible inventory of an environment.

YAML inventory by default; with -o json, the shape `ansible-inventory --list`
prints. Every value is marked unsafe, so Ansible never templates it: tagged
!unsafe in YAML, {"__ansible_unsafe": value} in JSON. Groups: env_<env> (every host) and role_<role> (hosts of each role).
Hosts the driver has not provisioned yet have no ansible_host.

\b
Examples:
  stagecraft inventory -e local
  stagecraft inventory -e local -o json > inventory.json
""")
@global_options
def inventory():
    from ..commands.inventory import to_list_json, to_yaml

    ctx = env_context()
    inv = ctx.resolved.redact(ctx.inventory())  # values that came from secrets are never printed
    missing = _missing(inv)
    if missing:
        output.warn(f"no address yet for: {', '.join(missing)} (run 'stagecraft infra up -e {ctx.environment.name}')")
    output.data(to_list_json(inv, unsafe=True), lambda _: to_yaml(inv))


def _missing(inv: dict) -> list[str]:
    hosts = {}
    for group in inv["all"]["children"].values():
        hosts.update({h: v for h, v in ((group or {}).get("hosts") or {}).items() if v})
    return sorted(h for h, v in hosts.items() if "ansible_host" not in v)
