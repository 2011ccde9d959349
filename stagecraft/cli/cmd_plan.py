"""stagecraft plan | render: what a deploy would put on the hosts, without touching them."""

from __future__ import annotations

from pathlib import Path

import click

from ..deploy.version import release_version
from . import output
from .context import deploy_session, env_context
from .settings import global_options


def _desired(session, version: str) -> dict:
    from ..deploy import images, render

    return render.desired_now(session, version, images.expected_edge_image())


def show_plan(session, version: str):
    """Print the per-host changes and pending migrations of a deploy of `version` (also `deploy --dry-run`)."""
    from ..deploy import diff, render
    from ..deploy.migrations import pending_migrations
    from ..state import journal, open_store
    desired = _desired(session, version)
    store = open_store(session.ctx.state_dir, read_only=True)  # plan writes no state, not even the merge
    journal.sync(session.ctx, store, warn=output.warn)  # what other machines deployed (the hosts' journal)
    current = store.current(session.environment.name)
    deployed = render.desired_from_manifest(current.manifest) if current and current.manifest.get("hosts") else {}
    data = {"environment": session.environment.name, "version": version,
            "current_release": current.id if current else None, "current_version": current.version if current else None,
            "hosts": diff.host_changes(session.config, session.environment, desired, deployed),
            "migrations": pending_migrations(session.ctx, session.inventory().hostvars)}
    output.data(data, _describe_plan)


def _describe_plan(d: dict) -> str:
    lines = [f"Plan for {d['environment']}: {d['current_version'] or 'nothing deployed'} -> {d['version']}"]
    for h in d["hosts"]:
        state = "unchanged" if h["compose_hash"] == h["deployed_hash"] else "changes"
        lines.append(f"  {h['host']} ({state})")
        for name, change in h["services"].items():
            lines.append(f"    {name:<18} {change}")
    for m in d["migrations"]:
        state = (f"unknown ({m['error']})" if "error" in m else
                 f"{len(m['pending'])} pending" + (f": {', '.join(m['pending'])}" if m["pending"] else ""))
        lines.append(f"  migrations {m['database']} ({m['strategy']}): {state}")
    if not d["migrations"]:
        lines.append("  migrations: none configured")
    return "\n".join(lines)


@click.command(help="""Show what a deploy would change, per host, without touching anything.

Compares the compose files a deploy of VERSION would render with those of the
last completed release: which services are added, removed, get a new image or
new configuration, and which stay; hosts in rollout order. No build, no SSH,
no state written.

\b
Example:
  stagecraft plan -e prod --version v1.5.0 -o json
""")
@click.option("--version", "version_", metavar="V", help="Version to plan for (default: the git commit).")
@global_options
def plan(version_: str | None):
    ctx = env_context()
    version, _ = release_version(Path(ctx.config.base_dir), version_)
    show_plan(deploy_session(ctx), version)


@click.command(help="""Print the compose file (and edge routes) a deploy renders for each host.

\b
Example:
  stagecraft render -e local --host app-1
""")
@click.option("--host", metavar="HOST", help="Only this host.")
@click.option("--version", "version_", metavar="V", help="Version to render (default: the git commit).")
@global_options
def render(host: str | None, version_: str | None):
    from ..commands.hosts import validate_limit

    ctx = env_context()
    version, _ = release_version(Path(ctx.config.base_dir), version_)
    only = validate_limit(ctx.environment, host)
    desired = _desired(deploy_session(ctx), version)
    data = ctx.resolved.redact({h: {"compose": p.definition, "sha256": p.hash, "edge_config": p.edge_config}
                                for h, p in sorted(desired.items()) if not only or h in only})

    def describe(d):
        parts = []
        for h, v in d.items():
            parts.append(f"# host {h}  sha256 {v['sha256']}\n{v['compose']}")
            if v["edge_config"]:
                parts.append(f"# host {h}: routes on the shared edge proxy (JSON)\n{v['edge_config']}")
        return "\n".join(parts)

    output.data(data, describe)
