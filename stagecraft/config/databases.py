"""databases.<name>: connection env var and migrations (engine, path, strategy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migrations:
    engine: str
    path: str
    strategy: str = "pre_deploy"
    run_in: str | None = None
    table: str = "stagecraft_migrations"


@dataclass(frozen=True)
class Database:
    name: str
    connection_env: str
    service: str | None = None
    migrations: Migrations | None = None

    @classmethod
    def parse(cls, name: str, data: dict) -> "Database":
        m = data.get("migrations")
        migrations = None
        if m:
            migrations = Migrations(
                engine=m["engine"], path=m["path"], strategy=m.get("strategy", "pre_deploy"),
                run_in=m.get("run_in"), table=(m.get("raw") or {}).get("table", "stagecraft_migrations"),
            )
        return cls(name=name, connection_env=data["connection_env"], service=data.get("service"), migrations=migrations)
