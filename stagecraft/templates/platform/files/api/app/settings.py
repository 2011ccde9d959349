"""Settings from the environment (docker-compose.yml and the hosts' .env in deploys, .env.dev in dev)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    app: str
    version: str
    database_url: str
    redis_url: str
    host: str
    port: int
    instance: str  # which container (or dev machine) answered: shows requests spreading over hosts

    @classmethod
    def from_env(cls, env=os.environ) -> "Settings":
        missing = [n for n in ("DATABASE_URL", "REDIS_URL") if not env.get(n)]
        if missing:
            raise SystemExit(f"missing environment variable(s): {', '.join(missing)}")
        return cls(app=env.get("APP_NAME", "app"), version=env.get("APP_VERSION", "dev"),
                   database_url=env["DATABASE_URL"], redis_url=env["REDIS_URL"],
                   host=env.get("HOST", "0.0.0.0"), port=int(env.get("PORT", "8000")),
                   instance=socket.gethostname())


QUEUE = "tasks:queue"  # Redis list the API pushes task ids onto and the worker pops
CREATED = "stats:tasks_created"  # Redis counter
