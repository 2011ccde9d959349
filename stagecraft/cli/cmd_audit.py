"""stagecraft audit"""

from __future__ import annotations

import click

from . import output
from .settings import global_options, settings
from .types import COUNT


def _describe(rows: list[dict]) -> str:
    if not rows:
        return "No releases recorded"
    lines = []
    for r in rows:
        who = f"{r['user'] or '?'}@{r['machine'] or '?'}"
        if r["ci"]:
            who += f" (ci {r['ci'].get('provider')} {r['ci'].get('actor', '')} run {r['ci'].get('run_id', '')})"
        lines.append(f"{r['started'][:19].replace('T', ' ')}  {r['environment']:<10} {r['kind']:<8} "
                     f"{r['version'] or '-':<18} {r['status']:<11} {who}  {r['command'] or ''}"
                     + (f"\n    {r['failure']}" if r["failure"] else ""))
    return "\n".join(lines)


@click.command(help="""Who deployed what, from where, when, with what result.

From the release records: every deploy, rollback, secrets sync and infra run
with its version, the user and machine (and CI run) that ran it, the command,
and the outcome.

\b
Examples:
  stagecraft audit -e prod
  stagecraft audit -e prod --limit 200 -o json
""")
@click.option("--limit", type=COUNT, default=50, show_default=True, help="At most N entries.")
@global_options
def audit(limit: int):
    from ..state import open_store

    s = settings()
    store = open_store(s.state_dir, read_only=True)
    rows = []
    for r in store.list_releases(s.get("env"), limit=limit):
        rel = store.get_release(r["id"])
        actor = (rel.manifest or {}).get("actor") or {}
        failed = next((p for p in rel.phases if p.status in ("failed", "interrupted")), None)
        rows.append({"release": r["id"], "environment": r["environment"], "kind": r["kind"],
                     "version": r["version"], "started": r["created_at"], "finished": rel.finished_at,
                     "status": r["status"], "user": actor.get("user"), "machine": actor.get("machine"),
                     "ci": actor.get("ci"), "command": rel.command,
                     "failure": f"{failed.name}: {failed.message}" if failed else None})
    output.data(rows, _describe)
