"""stagecraft releases list | show | import"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..state.store import KINDS
from . import output
from .types import COUNT
from .settings import global_options, settings

GO_LOG_MAX_BYTES = 64 << 20


def _store(read_only: bool = True):
    """The local store, with the release journal of the environment's hosts merged in (when an
    environment is given and its hosts answer): a machine with an empty state dir sees the history.
    read_only: list and show change nothing on disk (the merge happens in a copy in memory)."""
    from ..errors import StagecraftError
    from ..state import journal, open_store

    store = open_store(settings().state_dir, read_only=read_only)
    if settings().get("env"):
        from .context import env_context

        try:
            ctx = env_context()
        except StagecraftError:
            return store  # no usable config here: local history only
        journal.sync(ctx, store, warn=output.warn)
    return store


@click.group(help="""Release history: every deploy, rollback and infra run, recorded from Ansible events.

\b
Examples:
  stagecraft releases list -e prod --limit 10
  stagecraft releases show rel-20261125-101500123-a1b2c3 -o json
""")
@global_options
def releases():
    pass


@releases.command("list", help="""List releases, newest first.

Without -e, lists every environment. Status is derived from the phases:
interrupted, failed, running, completed or pending.

\b
Example:
  stagecraft releases list -e prod --limit 5
""")
@click.option("--limit", type=COUNT, default=50, show_default=True, help="Show at most N releases.")
@click.option("--kind", type=click.Choice(KINDS), help="Only releases of this kind.")
@global_options
def list_(limit: int, kind: str | None):
    s = settings()
    env = s.get("env")
    rows = _store().list_releases(env, limit=limit, kind=kind)

    def describe(rs):
        if not rs:
            return "No releases found"
        lines = [f"{'RELEASE':<32} {'ENV':<10} {'KIND':<9} {'VERSION':<20} {'CREATED':<20} STATUS"]
        for r in rs:
            created = r["created_at"][:19].replace("T", " ")
            lines.append(f"{r['id']:<32} {r['environment']:<10} {r['kind']:<9} {r['version'] or '-':<20} "
                         f"{created:<20} {r['status']}")
        return "\n".join(lines)

    output.data(rows, describe)


@releases.command(help="""Show one release: phases, per-host recap, failed tasks, manifest.

\b
Example:
  stagecraft releases show rel-20261125-101500123-a1b2c3
""")
@click.argument("release_id")
@global_options
def show(release_id: str):
    from ..errors import UserError

    store = _store()
    release = store.get_release(release_id)
    if release is None:
        raise UserError(f"RELEASE_ID: release not found: '{release_id}'",
                        hint="stagecraft releases list shows the ids")
    data = release.as_dict()
    data["failed_tasks"] = store.failed_events(release_id)

    def describe(d):
        lines = [f"Release     {d['id']}", f"Environment {d['environment']}", f"Kind        {d['kind']}",
                 f"Version     {d['version'] or 'N/A'}", f"Commit      {d['commit_sha'] or 'N/A'}",
                 f"Created     {d['created_at']}", f"Finished    {d['finished_at'] or '-'}",
                 f"Previous    {d['previous_id'] or 'N/A'}", f"Status      {d['status']}", "Phases:"]
        for p in d["phases"]:
            msg = f"  ({p['message']})" if p["message"] else ""
            lines.append(f"  {p['name']:<14} {p['status']:<12}{msg}")
        if d["hosts"]:
            lines.append("Hosts:")
            for h in d["hosts"]:
                lines.append(f"  {h['phase']:<12} {h['host']:<14} ok={h['ok']} changed={h['changed']} "
                             f"failed={h['failed']} unreachable={h['unreachable']} skipped={h['skipped']}")
        if d["failed_tasks"]:
            lines.append("Failed tasks:")
            for f in d["failed_tasks"]:
                lines.append(f"  {f['host'] or '-'}: {f['task'] or f['event']}: {f['message']}")
        if d["manifest"]:
            lines.append("Manifest:")
            lines += ["  " + line for line in json.dumps(d["manifest"], indent=2, sort_keys=True).splitlines()]
        return "\n".join(lines)

    output.data(data, describe)


@releases.command("import", help="""Import the release log of the earlier Go tool (.stagecraft/releases.json).

Releases already present are skipped, so importing twice is harmless.

\b
Example:
  stagecraft releases import .stagecraft/releases.json
""")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@global_options
def import_(path: str | None):
    from ..errors import UserError

    from ..files import read_text

    source = Path(path) if path else settings().config_path.resolve().parent / ".stagecraft" / "releases.json"
    try:
        data = json.loads(read_text(source, "PATH", limit=GO_LOG_MAX_BYTES))
    except json.JSONDecodeError as exc:
        raise UserError(f"PATH: {source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise UserError(f"PATH: {source} has no 'releases' list")
    imported = _store(read_only=False).import_go_releases(data)
    output.data({"source": str(source), "imported": imported},
                lambda d: f"Imported {len(d['imported'])} release(s) from {d['source']}")
