"""stagecraft prune"""

from __future__ import annotations

import click

from ..deploy.retention import RETAIN_RELEASES
from . import output
from .context import env_context
from .settings import global_options
from .types import COUNT


@click.command(help="""Free disk space on the hosts, keeping what a rollback needs.

Removes the project's stopped containers, the project's images that none of
the last N completed releases (default 5) uses and no container runs, and
dangling images; reports what was removed and the space reclaimed. A deploy
prunes like this after it completes (services.<s> images of older releases).

\b
Examples:
  stagecraft prune -e prod
  stagecraft prune -e prod --keep 10 -o json
""")
@click.option("--keep", type=COUNT, default=RETAIN_RELEASES, show_default=True,
              help="Keep the images of the last N completed releases.")
@global_options
def prune(keep: int):
    from ..deploy.retention import prune as prune_hosts
    from ..deploy.session import Session
    from ..errors import host_failure

    ctx = env_context()
    data = prune_hosts(Session(ctx, say=output.info, warn=output.warn), keep)

    def describe(d):
        lines = [f"Kept {len(d['kept'])} image(s) of the last {keep} release(s)."]
        for host, r in sorted(d["hosts"].items()):
            if "error" in r:
                lines.append(f"  {host:<14} failed: {r['error']}")
            else:
                lines.append(f"  {host:<14} removed {len(r['removed'])} image(s), {r['bytes'] / 1e6:.1f} MB"
                             + (f"; dangling: {r['dangling_reclaimed']}" if r["dangling_reclaimed"] else ""))
        return "\n".join(lines)

    failed = [h for h, r in data["hosts"].items() if "error" in r]
    if failed:
        with output.result_on_failure(data, describe):
            raise host_failure(len(failed), len(data["hosts"]), f"prune failed on {', '.join(sorted(failed))}")
    output.data(data, describe)
