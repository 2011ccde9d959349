"""Raw SQL migrations for PostgreSQL (pure): migration files, the plan against what a database has
applied, and the psql scripts and argv that query and apply them.

The engine: `*.sql` files in `databases.<name>.migrations.path`, applied in file-name order, each in
its own transaction together with its row in the tracking table (name, sha256 checksum, time).
An applied migration whose file has changed since is an error, never silently re-run. The scripts
run through `psql` (in a one-off container on a host, or on this machine), so no database driver
is needed here; the password travels in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

FILE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]*\.sql\Z")
TABLE_NAME = re.compile(r"\A[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?\Z")
MAX_SQL_BYTES = 64 << 20  # a migration may carry data; bounded all the same (it is held in memory)
APPLIED_MARK = "stagecraft-applied "
ABSENT_MARK = "stagecraft-no-table"


@dataclass(frozen=True)
class MigrationFile:
    name: str
    checksum: str
    sql: str


@dataclass(frozen=True)
class MigrationStatus:
    database: str
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # applied, but the file differs now: an error
    missing: list[str] = field(default_factory=list)  # applied, but no file any more: reported

    def to_dict(self) -> dict:
        return {"database": self.database, "applied": self.applied, "pending": self.pending,
                "changed": self.changed, "missing": self.missing}


def read_files(directory: Path, key_path: str) -> list[MigrationFile]:
    """The migration files of a directory in apply order. key_path names the config key in errors."""
    from ..errors import UserError
    from ..files import read_text

    if not directory.is_dir():
        raise UserError(f"{key_path}: directory not found: {directory}")
    files = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        if path.suffix != ".sql" or not path.is_file():
            continue
        if not FILE_NAME.match(path.name):
            raise UserError(f"{key_path}: migration file name '{path.name}' may only use letters, digits, '_', "
                            "'-' and '.'")
        sql = read_text(path, key_path, limit=MAX_SQL_BYTES)
        files.append(MigrationFile(path.name, hashlib.sha256(sql.encode()).hexdigest(), sql))
    return files


def check_table(table: str, key_path: str) -> str:
    from ..errors import UserError

    if not TABLE_NAME.match(table):
        raise UserError(f"{key_path}: '{table}' is not a plain table name (lower case, optionally schema.table)")
    return table


def status_script(table: str) -> str:
    """psql script printing `name<TAB>checksum` per applied migration, or the absent mark. Read-only."""
    return (f"SELECT to_regclass('{table}') IS NOT NULL AS stagecraft_present \\gset\n"
            "\\if :stagecraft_present\n"
            f"SELECT name, checksum FROM {table} ORDER BY name;\n"
            "\\else\n"
            f"\\echo {ABSENT_MARK}\n"
            "\\endif\n")


def parse_status(stdout: str) -> dict[str, str]:
    """name -> checksum from the output of status_script (psql -At with a tab separator)."""
    applied = {}
    for line in stdout.splitlines():
        if line == ABSENT_MARK or not line.strip():
            continue
        name, _, checksum = line.partition("\t")
        applied[name] = checksum
    return applied


def status_of(database: str, files: list[MigrationFile], applied: dict[str, str]) -> MigrationStatus:
    names = {f.name for f in files}
    return MigrationStatus(
        database=database,
        applied=[f.name for f in files if f.name in applied and applied[f.name] == f.checksum],
        pending=[f.name for f in files if f.name not in applied],
        changed=[f.name for f in files if f.name in applied and applied[f.name] != f.checksum],
        missing=sorted(n for n in applied if n not in names),
    )


def lock_key(table: str) -> int:
    """A stable advisory-lock key per tracking table, so two runners never apply at once."""
    return int.from_bytes(hashlib.sha256(f"stagecraft:{table}".encode()).digest()[:4], "big")


def apply_script(table: str, files: list[MigrationFile]) -> str:
    """psql script applying files in order: one transaction per file with its tracking row; a marker
    line is echoed after each commit so the caller knows what was applied if a later file fails."""
    parts = [
        "\\set ON_ERROR_STOP on",
        "SET client_min_messages = warning;",
        f"CREATE TABLE IF NOT EXISTS {table} (name text PRIMARY KEY, checksum text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now());",
        f"SELECT pg_advisory_lock({lock_key(table)}) \\g /dev/null",
    ]
    for f in files:
        parts += [
            "BEGIN;",
            f.sql.rstrip() + "\n;",  # the file may end in a comment or without a semicolon
            f"INSERT INTO {table} (name, checksum) VALUES ('{f.name}', '{f.checksum}');",
            "COMMIT;",
            f"\\echo {APPLIED_MARK}{f.name}",
        ]
    return "\n".join(parts) + "\n"


def parse_applied(stdout: str) -> list[str]:
    return [line[len(APPLIED_MARK):] for line in stdout.splitlines() if line.startswith(APPLIED_MARK)]


def conninfo(url: str, key_path: str) -> tuple[str, str]:
    """(libpq conninfo without the password, password) from a postgres:// URL."""
    from ..errors import UserError

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise UserError(f"{key_path}: expected a postgresql://user:password@host:port/dbname URL")
    try:
        port = parts.port or 5432
    except ValueError:
        raise UserError(f"{key_path}: the URL's port is not a number") from None
    fields = {"host": parts.hostname, "port": str(port), "user": unquote(parts.username or ""),
              "dbname": unquote(parts.path.lstrip("/"))}
    fields.update(dict(parse_qsl(parts.query)))
    return " ".join(f"{k}={_quote(v)}" for k, v in fields.items() if v), unquote(parts.password or "")


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


PSQL_FLAGS = ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]


def local_argv(info: str) -> list[str]:
    """psql on this machine; the script comes on stdin and PGPASSWORD from the environment."""
    return ["psql", *PSQL_FLAGS, "-d", info, "-f", "-"]


def container_command(image: str, network: str, info: str) -> str:
    """Shell command for a host: the first stdin line is the password (read by the shell, so it is on
    no command line), the rest is the script for psql in a one-off container of `image`."""
    psql = " ".join(shlex.quote(a) for a in [*PSQL_FLAGS, "-d", info, "-f", "-"])
    return (f"IFS= read -r PGPASSWORD; export PGPASSWORD; net={shlex.quote(network)}; "
            'docker network inspect "$net" >/dev/null 2>&1 || net=bridge; '
            f'exec docker run --rm -i --network "$net" -e PGPASSWORD --entrypoint psql {shlex.quote(image)} {psql}')
