"""stagecraft status"""

from __future__ import annotations

import sys
import time

import click

from . import output
from .context import env_context
from .settings import global_options, settings
from .types import Seconds


def _describe(d: dict) -> str:
    lines = [f"Environment {d['environment']}: release {d['release'] or '(none deployed)'}"
             + (f" version {d['version']}" if d["version"] else "")]
    for h in d["hosts"]:
        lines.append(f"  {h['host']:<14} {h['state']}" + (f"  {h['detail']}" if h.get("detail") else ""))
        for name, svc in sorted(h["services"].items()):
            health = ",".join(svc.get("health") or []) or "-"
            lines.append(f"      {name:<22} {svc['state']:<10} {svc.get('containers', 0)}/{svc.get('expected', '-')} "
                         f"{health:<10} restarts {svc.get('restarts', 0):<3} {svc.get('image') or ''}"
                         + (f"  ({svc['detail']})" if svc.get("detail") else ""))
        for route, servers in sorted(h["routes"].items()):
            lines.append(f"      route {route} -> {' '.join(servers) or '(none)'}")
    lines.append("All hosts run the release." if d["ok"] else "Not everything runs the release (exit 1).")
    return "\n".join(lines)


@click.command(help="""Show what runs on every host, compared with the last release.

Per host and service: image, running/expected containers, health, restarts,
and a state: ok, drifted (how), missing or unhealthy; plus the edge proxy's
live routes. Exit 0 when every host runs the last completed release, 1
otherwise (usable from monitoring); unreachable hosts count as not matching.

\b
Examples:
  stagecraft status -e prod
  stagecraft status -e prod -o json
  stagecraft status -e prod --watch 5
""")
@click.option("--watch", "watch", type=Seconds(min=1), metavar="SECONDS", default=None,
              help="Refresh every SECONDS until Ctrl-C.")
@global_options
def status(watch: float | None):
    from ..deploy.session import Session
    from ..deploy.status import environment_status

    ctx = env_context()
    session = Session(ctx)
    while True:
        data = environment_status(session, ctx.current_release())
        if watch and not settings().json:
            click.clear()
        output.data(data, _describe)
        if not watch:
            break
        time.sleep(watch)
    if not data["ok"]:
        sys.exit(1)
