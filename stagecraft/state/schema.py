"""Versioned schema of state.db. Each migration runs once, in order; PRAGMA user_version records the
last one applied, so a newer Stagecraft upgrades an older state file in place (never the reverse)."""

from __future__ import annotations

MIGRATIONS = [
    # 1: releases, phases, per-host results, compact runner events.
    """
    CREATE TABLE releases (
        id TEXT PRIMARY KEY,
        environment TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'deploy',
        version TEXT NOT NULL DEFAULT '',
        commit_sha TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        finished_at TEXT,
        previous_id TEXT,
        command TEXT NOT NULL DEFAULT '',
        manifest TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX releases_env ON releases(environment, id);
    CREATE TABLE phases (
        release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (release_id, name)
    );
    CREATE TABLE host_results (
        release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        phase TEXT NOT NULL,
        host TEXT NOT NULL,
        ok INTEGER NOT NULL DEFAULT 0, changed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
        unreachable INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
        rescued INTEGER NOT NULL DEFAULT 0, ignored INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (release_id, phase, host)
    );
    CREATE TABLE events (
        release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        run_id TEXT NOT NULL,
        counter INTEGER NOT NULL,
        uuid TEXT, parent_uuid TEXT, event TEXT NOT NULL, host TEXT, task TEXT, role TEXT,
        changed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
        created TEXT, message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (release_id, run_id, counter)
    );
    """,
]


def migrate(conn) -> int:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        from ..errors import UserError

        raise UserError(f"state.db has schema version {current}, newer than this Stagecraft knows "
                        f"({len(MIGRATIONS)}); upgrade Stagecraft")
    for version in range(current, len(MIGRATIONS)):
        with conn:
            conn.executescript(MIGRATIONS[version])
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return len(MIGRATIONS)
