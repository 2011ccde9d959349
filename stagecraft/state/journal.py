"""The release journal kept on the hosts, so history travels between machines.

Every deploy and rollback, when it ends (completed, failed or interrupted), writes one entry to
every host of its environment that answers:

    /srv/stagecraft/<project>/journal/<env>/<release id>.json

with the release's id, kind, version, commit, times, previous id, command, status, phases and
manifest (compose files, image refs, secret *names*; never a secret value: the manifest in the
local store holds none either). A completed one also becomes `current` there (what the hosts run).

Consistency with the local SQLite store (spec/state.md): releases are immutable once finished, so
merging is a union by release id. Commands that read history (`releases list|show`, `plan`,
`rollback`, and `deploy` before it records a new release) first merge the hosts' journal into the
local store: a release missing locally is inserted (without its Ansible events, which stay on the
machine that ran it); a release open locally but finished in the journal takes the journal's
phases. The local store stays the only record of events and of runs that never reached the hosts.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ..errors import ExternalError

KINDS = ("deploy", "rollback")


def journal_dir(project: str, env: str) -> str:
    from .hostlock import ROOT

    return f"{ROOT}/{project}/journal/{env}"


def entry(release) -> dict:
    """The journal entry of a release (a store.Release)."""
    data = release.as_dict()
    data.pop("hosts", None)  # per-host Ansible counters stay local
    return data


def write_script(project: str, env: str, data: dict) -> str:
    d = shlex.quote(journal_dir(project, env))
    name = shlex.quote(data["id"] + ".json")
    current = (f"printf '%s\\n' {shlex.quote(data['id'])} > {d}/current.tmp && mv {d}/current.tmp {d}/current\n"
               if data.get("status") == "completed" else "")
    return (f"set -e\nmkdir -p {d}\numask 077\n"
            f"printf '%s' {shlex.quote(json.dumps(data, sort_keys=True))} > {d}/{name}.tmp\n"
            f"mv {d}/{name}.tmp {d}/{name}\n{current}")


def read_script(project: str, env: str) -> str:
    d = shlex.quote(journal_dir(project, env))
    return (f"[ -d {d} ] || exit 0\n"
            f"for f in {d}/rel-*.json; do [ -f \"$f\" ] && cat \"$f\" && echo; done\n"
            f"[ -f {d}/current ] && echo \"CURRENT $(cat {d}/current)\" || true\n")


def _ssh(hostvars: dict, script: str) -> str:
    from . import hostlock

    return hostlock._ssh(hostvars, script, "journal")


def publish(project: str, env: str, hosts: dict, release, warn=print) -> list[str]:
    """Write the release's entry to every host; returns the hosts that have it."""
    script = write_script(project, env, entry(release))

    def one(host):
        try:
            _ssh(hosts[host], script)
            return host
        except (ExternalError, subprocess.TimeoutExpired) as exc:
            warn(f"release journal not written on {host}: {exc}")
            return None

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return [h for h in pool.map(one, sorted(hosts)) if h]


def fetch(project: str, env: str, hosts: dict, warn=print) -> tuple[dict, dict]:
    """(release id -> entry, host -> current release id) merged from every host that answers."""
    entries: dict = {}
    current: dict = {}

    def one(host):
        try:
            return host, _ssh(hosts[host], read_script(project, env))
        except (ExternalError, subprocess.TimeoutExpired) as exc:
            warn(f"release journal not read from {host}: {exc}")
            return host, ""

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        for host, out in pool.map(one, sorted(hosts)):
            for line in out.splitlines():
                if line.startswith("CURRENT "):
                    current[host] = line.split()[1]
                elif line.strip():
                    try:
                        data = json.loads(line)
                    except ValueError:
                        continue
                    known = entries.get(data.get("id"))
                    # The same release seen on several hosts: prefer a finished record.
                    if known is None or (not known.get("finished_at") and data.get("finished_at")):
                        entries[data["id"]] = data
    return entries, current


def merge(store, entries: dict) -> list[str]:
    """Union the journal into the local store; returns the ids inserted or completed."""
    changed = []
    for rid, data in sorted(entries.items(), key=lambda kv: (kv[1].get("created_at") or "", kv[0])):
        if not rid or data.get("kind") not in KINDS:
            continue
        local = store.get_release(rid)
        if local is not None and local.finished_at:
            continue  # finished releases never change
        with store._tx() as c:
            if local is None:
                c.execute("INSERT INTO releases(id, environment, kind, version, commit_sha, created_at, finished_at,"
                          " previous_id, command, manifest) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (rid, data["environment"], data["kind"], data.get("version", ""),
                           data.get("commit_sha", ""), data["created_at"], data.get("finished_at"),
                           data.get("previous_id"), data.get("command", ""),
                           json.dumps(data.get("manifest") or {}, sort_keys=True)))
            else:
                c.execute("UPDATE releases SET finished_at=? WHERE id=?", (data.get("finished_at"), rid))
                c.execute("DELETE FROM phases WHERE release_id=?", (rid,))
            c.executemany("INSERT INTO phases(release_id, position, name, status, started_at, finished_at, message)"
                          " VALUES (?,?,?,?,?,?,?)",
                          [(rid, i, p["name"], p["status"], p.get("started_at"), p.get("finished_at"),
                            p.get("message", "")) for i, p in enumerate(data.get("phases") or [])])
        changed.append(rid)
    return changed


def hosts_of(env_ctx) -> dict:
    from ..commands.inventory import to_list_json
    from .hostlock import lockable_hosts

    return lockable_hosts(to_list_json(env_ctx.inventory())["_meta"]["hostvars"])


def sync(env_ctx, store, warn=print) -> list[str]:
    """Merge the environment's journal from its hosts into `store` (hosts that do not answer are
    skipped with a warning: history then comes from this machine only)."""
    from ..errors import StagecraftError

    try:
        hosts = hosts_of(env_ctx)
    except StagecraftError:
        return []
    if not hosts:
        return []
    entries, _ = fetch(env_ctx.config.project.name, env_ctx.environment.name, hosts, warn)
    return merge(store, entries)
