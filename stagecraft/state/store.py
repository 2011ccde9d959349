"""Release history: releases made of phases, per-host results, compact events and a manifest.

Phase semantics (shared by deploy, rollback and infra runs): phases run in order; when one fails
or is interrupted, every later phase still pending becomes `skipped`. A release's status is derived
from its phases: interrupted > failed > running > completed (all completed or skipped, at least one
completed) > pending.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from ..errors import UserError
from ..files import check_regular
from .schema import migrate

MAX_STATE_BYTES = 1 << 40  # no real bound: the history is the user's; only special files are refused

PHASES = ("build", "push", "migrate_pre", "rollout", "migrate_post", "finalize")
STATUSES = ("pending", "running", "completed", "failed", "skipped", "interrupted")


KINDS = ("deploy", "rollback", "secrets", "migrate", "infra")  # secrets: `secrets sync` rewrote the hosts' .env
DEPLOYING_KINDS = ("deploy", "rollback")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_release_id(at: datetime | None = None) -> str:
    """rel-YYYYMMDD-HHMMSSmmm-<hex>: sorts by time; the random suffix makes same-millisecond ids distinct."""
    at = at or datetime.now(timezone.utc)
    return f"rel-{at:%Y%m%d-%H%M%S}{at.microsecond // 1000:03d}-{secrets.token_hex(6)}"


def derive_status(phase_statuses: list[str]) -> str:
    s = set(phase_statuses)
    if "interrupted" in s:
        return "interrupted"
    if "failed" in s:
        return "failed"
    if "running" in s:
        return "running"
    if s and s <= {"completed", "skipped"} and "completed" in s:
        return "completed"
    return "pending"


@dataclass
class Phase:
    name: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    message: str = ""


@dataclass
class Release:
    id: str
    environment: str
    kind: str
    version: str
    commit_sha: str
    created_at: str
    finished_at: str | None
    previous_id: str | None
    command: str
    manifest: dict
    phases: list = field(default_factory=list)
    hosts: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return derive_status([p.status for p in self.phases])

    def as_dict(self) -> dict:
        return {"id": self.id, "environment": self.environment, "kind": self.kind, "version": self.version,
                "commit_sha": self.commit_sha, "created_at": self.created_at, "finished_at": self.finished_at,
                "previous_id": self.previous_id, "command": self.command, "status": self.status,
                "manifest": self.manifest, "phases": [p.__dict__ for p in self.phases], "hosts": self.hosts}


class Store:
    """The release history in `path`. read_only: a copy in memory of what the file holds now (an empty
    history when there is no file): commands that only show history change nothing on disk, not even
    when they merge the hosts' journal or mark dead runs for display."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        try:
            self.conn = _open_copy(path) if read_only else _open_file(path)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise _unusable(path, str(exc)) from None
            raise UserError(f"state database {path} is damaged or not a Stagecraft state file ({exc})",
                            hint=f"move it away (mv '{path}' '{path}.broken') and re-run: a new one starts "
                                 "empty, and `stagecraft releases list -e ENV` brings back the deploys and "
                                 "rollbacks recorded on the hosts") from None
        except OSError as exc:
            raise _unusable(path, exc.strerror or str(exc)) from None

    def close(self) -> None:
        self.conn.close()

    def _tx(self):
        return _Tx(self.conn)

    # ---- writes ----------------------------------------------------------------------------
    def create_release(self, environment: str, *, kind: str = "deploy", version: str = "", commit_sha: str = "",
                       phases=PHASES, command: str = "", manifest: dict | None = None) -> str:
        rid = new_release_id()
        with self._tx() as c:
            prev = c.execute("SELECT id FROM releases WHERE environment=? AND kind=? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                             (environment, kind)).fetchone()
            c.execute("INSERT INTO releases(id, environment, kind, version, commit_sha, created_at, previous_id,"
                      " command, manifest) VALUES (?,?,?,?,?,?,?,?,?)",
                      (rid, environment, kind, version.strip(), commit_sha.strip(), now(), prev[0] if prev else None,
                       command, json.dumps(manifest or {}, sort_keys=True)))
            c.executemany("INSERT INTO phases(release_id, position, name, status) VALUES (?,?,?, 'pending')",
                          [(rid, i, p) for i, p in enumerate(phases)])
        return rid

    def set_phase(self, release_id: str, phase: str, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown phase status {status!r}")
        with self._tx() as c:
            row = c.execute("SELECT position FROM phases WHERE release_id=? AND name=?", (release_id, phase)).fetchone()
            if row is None:
                raise ValueError(f"release {release_id} has no phase {phase!r}")
            stamp = now()
            if status == "running":
                c.execute("UPDATE phases SET status=?, started_at=?, message=? WHERE release_id=? AND name=?",
                          (status, stamp, message, release_id, phase))
            else:
                c.execute("UPDATE phases SET status=?, finished_at=?, started_at=COALESCE(started_at, ?),"
                          " message=? WHERE release_id=? AND name=?",
                          (status, stamp, stamp if status != "skipped" else None, message, release_id, phase))
            if status in ("failed", "interrupted"):
                c.execute("UPDATE phases SET status='skipped' WHERE release_id=? AND position>? AND status='pending'",
                          (release_id, row[0]))
            if status in ("failed", "interrupted", "completed", "skipped"):
                open_ = c.execute("SELECT COUNT(*) FROM phases WHERE release_id=? AND status IN ('pending','running')",
                                  (release_id,)).fetchone()[0]
                if open_ == 0:
                    c.execute("UPDATE releases SET finished_at=? WHERE id=?", (stamp, release_id))

    def interrupt(self, release_id: str, message: str = "interrupted") -> None:
        """Mark the running phase (or the first pending one) interrupted; later ones become skipped."""
        rows = self.conn.execute("SELECT name, status FROM phases WHERE release_id=? ORDER BY position",
                                 (release_id,)).fetchall()
        target = next((r["name"] for r in rows if r["status"] == "running"), None) or next(
            (r["name"] for r in rows if r["status"] == "pending"), None)
        if target:
            self.set_phase(release_id, target, "interrupted", message)

    def mark_dead_runs(self, is_held) -> list[str]:
        """Releases still open (running or never started) whose environment's lock nobody holds:
        the process recording them is gone (killed, machine crashed). Mark them interrupted.
        `is_held(env)` tells whether a live process holds that environment's lock."""
        rows = self.conn.execute("SELECT id, environment FROM releases WHERE finished_at IS NULL").fetchall()
        held: dict[str, bool] = {}
        marked = []
        for row in rows:
            env = row["environment"]
            if env not in held:
                held[env] = is_held(env)
            if not held[env]:
                self.interrupt(row["id"], "interrupted: the process recording it ended without an outcome "
                                          "(killed or crashed); marked by the next command")
                for p in self.get_release(row["id"]).phases:
                    if p.status in ("pending", "running"):
                        self.set_phase(row["id"], p.name, "skipped", "not reached")
                marked.append(row["id"])
        return marked

    def update_manifest(self, release_id: str, values: dict) -> None:
        with self._tx() as c:
            row = c.execute("SELECT manifest FROM releases WHERE id=?", (release_id,)).fetchone()
            manifest = {**json.loads(row[0]), **values}
            c.execute("UPDATE releases SET manifest=? WHERE id=?", (json.dumps(manifest, sort_keys=True), release_id))

    def record_hosts(self, release_id: str, phase: str, stats: dict) -> None:
        """stats: the maps of Ansible's playbook_on_stats event (ok, changed, failures, dark, skipped, ...)."""
        keys = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
                "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
        hosts = sorted({h for k in keys for h in (stats.get(k) or {})} | set(stats.get("processed") or {}))
        with self._tx() as c:
            for host in hosts:
                values = {col: int((stats.get(k) or {}).get(host, 0)) for k, col in keys.items()}
                c.execute("INSERT OR REPLACE INTO host_results(release_id, phase, host, ok, changed, failed,"
                          " unreachable, skipped, rescued, ignored) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (release_id, phase, host, values["ok"], values["changed"], values["failed"],
                           values["unreachable"], values["skipped"], values["rescued"], values["ignored"]))

    def add_events(self, release_id: str, run_id: str, events: list[dict]) -> None:
        if not events:
            return
        with self._tx() as c:
            c.executemany(
                "INSERT OR REPLACE INTO events(release_id, run_id, counter, uuid, parent_uuid, event, host, task,"
                " role, changed, failed, created, message) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(release_id, run_id, e["counter"], e.get("uuid"), e.get("parent_uuid"), e["event"], e.get("host"),
                  e.get("task"), e.get("role"), int(bool(e.get("changed"))), int(bool(e.get("failed"))),
                  e.get("created"), e.get("message") or "") for e in events])

    # ---- reads -----------------------------------------------------------------------------
    def list_releases(self, environment: str | None = None, limit: int | None = None, kind: str | None = None):
        """Newest first, as light rows: id, environment, kind, version, created_at, status."""
        where, args = [], []
        if environment:
            where.append("r.environment=?")
            args.append(environment)
        if kind:
            where.append("r.kind=?")
            args.append(kind)
        sql = ("SELECT r.id, r.environment, r.kind, r.version, r.commit_sha, r.created_at, "
               "group_concat(p.status, ',') AS statuses FROM releases r JOIN phases p ON p.release_id = r.id "
               + (f"WHERE {' AND '.join(where)} " if where else "")
               + "GROUP BY r.id ORDER BY r.created_at DESC, r.rowid DESC" + (" LIMIT ?" if limit else ""))
        if limit:
            args.append(limit)
        return [{"id": r["id"], "environment": r["environment"], "kind": r["kind"], "version": r["version"],
                 "commit_sha": r["commit_sha"], "created_at": r["created_at"],
                 "status": derive_status(r["statuses"].split(","))} for r in self.conn.execute(sql, args)]

    def get_release(self, release_id: str) -> Release | None:
        row = self.conn.execute("SELECT * FROM releases WHERE id=?", (release_id,)).fetchone()
        if row is None:
            return None
        phases = [Phase(p["name"], p["status"], p["started_at"], p["finished_at"], p["message"]) for p in
                  self.conn.execute("SELECT * FROM phases WHERE release_id=? ORDER BY position", (release_id,))]
        hosts = [dict(h) for h in self.conn.execute(
            "SELECT phase, host, ok, changed, failed, unreachable, skipped, rescued, ignored FROM host_results"
            " WHERE release_id=? ORDER BY phase, host", (release_id,))]
        for h in hosts:
            h.pop("release_id", None)
        return Release(row["id"], row["environment"], row["kind"], row["version"], row["commit_sha"],
                       row["created_at"], row["finished_at"], row["previous_id"], row["command"],
                       json.loads(row["manifest"]), phases, hosts)

    def failed_events(self, release_id: str) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT event, host, task, role, message FROM events WHERE release_id=? AND failed=1 ORDER BY run_id,"
            " counter", (release_id,))]

    def events(self, release_id: str) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT * FROM events WHERE release_id=? ORDER BY run_id, counter", (release_id,))]

    def deployments(self, environment: str) -> list[dict]:
        """Deploys and rollbacks (the releases that put compose files on hosts), newest first."""
        return [r for r in self.list_releases(environment) if r["kind"] in DEPLOYING_KINDS]

    def current(self, environment: str) -> Release | None:
        """The last completed deploy or rollback: what the hosts run now."""
        row = next((r for r in self.deployments(environment) if r["status"] == "completed"), None)
        return self.get_release(row["id"]) if row else None

    def latest(self, environment: str, *, kind: str = "deploy", status: str | None = None) -> Release | None:
        for row in self.list_releases(environment, kind=kind):
            if status is None or row["status"] == status:
                return self.get_release(row["id"])
        return None

    # ---- import ----------------------------------------------------------------------------
    def import_go_releases(self, data: dict) -> list[str]:
        """Import `.stagecraft/releases.json` of the earlier Go tool; already imported ids are skipped."""
        imported = []
        with self._tx() as c:
            entries = [r for r in data.get("releases") or [] if isinstance(r, dict)]
            for rel in sorted(entries, key=lambda r: (str(r.get("timestamp", "")), str(r.get("id", "")))):
                rel = {k: v if isinstance(v, (str, dict)) or v is None else str(v) for k, v in rel.items()}
                rid = rel.get("id")
                if not isinstance(rid, str) or not rid or \
                        c.execute("SELECT 1 FROM releases WHERE id=?", (rid,)).fetchone():
                    continue
                c.execute("INSERT INTO releases(id, environment, kind, version, commit_sha, created_at, finished_at,"
                          " previous_id, command, manifest) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (rid, rel.get("environment", ""), "deploy", rel.get("version", ""),
                           rel.get("commit_sha", ""), rel.get("timestamp", ""), rel.get("timestamp"),
                           rel.get("previous_id") or None, "imported from releases.json", "{}"))
                phases = rel.get("phases") if isinstance(rel.get("phases"), dict) else {}
                c.executemany("INSERT INTO phases(release_id, position, name, status) VALUES (?,?,?,?)",
                              [(rid, i, p, phases.get(p, "pending") if phases.get(p) in STATUSES else "pending")
                               for i, p in enumerate(PHASES)])
                imported.append(rid)
        return imported


def _unusable(path: Path, reason: str) -> UserError:
    return UserError(f"state dir {path.parent}: cannot keep {path.name} there ({reason})",
                     hint="make it a writable folder (or remove the file in its place), or set "
                          "STAGECRAFT_STATE_DIR to one")


def _check_file(path: Path) -> None:
    """A regular file that is empty (a new database) or starts like one: SQLite itself takes a file of a
    few stray bytes for an empty database."""
    check_regular(path, "state database", limit=MAX_STATE_BYTES)
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != b"SQLite format 3\x00":
        raise sqlite3.DatabaseError("file is not a database")


def _check(conn) -> None:
    """Refuse a damaged file now rather than in the middle of a command (DatabaseError)."""
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise sqlite3.DatabaseError(result)


def _open_file(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        _check_file(path)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    try:
        _check(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        os.chmod(path, 0o600)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_copy(path: Path):
    """state.db copied into memory, read without creating anything: while a writer has a WAL open its
    -wal and -shm exist and are read; otherwise the file is read as immutable (read-only SQLite would
    create -wal and -shm beside it)."""
    if path.parent.exists() and not path.parent.is_dir():
        raise _unusable(path, "it is not a folder")
    memory = sqlite3.connect(":memory:", isolation_level=None)
    if not path.exists():
        return memory
    _check_file(path)
    wal = path.with_name(path.name + "-wal").exists()
    source = sqlite3.connect(f"file:{quote(str(path))}?{'mode=ro' if wal else 'immutable=1'}", uri=True,
                             timeout=30)
    try:
        _check(source)
        source.backup(memory)
    finally:
        source.close()
    return memory


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time across processes; rollback on error."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def open_store(state_dir: Path, *, read_only: bool = False) -> Store:
    """Open the state; releases left open by a process that no longer exists become interrupted (in the
    in-memory copy only, with read_only: see Store)."""
    from ..paths import private_state
    from . import lock

    store = Store(private_state(Path(state_dir)) / "state.db", read_only=read_only)
    store.mark_dead_runs(lambda env: lock.is_held(state_dir, env))
    return store
