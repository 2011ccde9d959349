"""The worker: pops task ids from Redis, does the (small) work and records the result in PostgreSQL.
It touches a heartbeat file on every loop; the container healthcheck reads its age."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from . import pg
from .kv import Redis, RedisError
from .settings import QUEUE, Settings

HEARTBEAT = Path(os.environ.get("WORKER_HEARTBEAT", "/tmp/worker-heartbeat"))


def process(title: str) -> str:
    """The work itself: stands in for whatever your tasks really do."""
    return f"{len(title.split())} words, sha256 {hashlib.sha256(title.encode()).hexdigest()[:12]}"


def handle(settings: Settings, task_id: str) -> None:
    with pg.connect(settings.database_url) as db:
        rows = db.query("SELECT title FROM tasks WHERE id = $1", task_id)
        if not rows:
            return
        db.query("UPDATE tasks SET status = 'done', result = $2, worker = $3, done_at = now() WHERE id = $1",
                 task_id, process(rows[0]["title"]), settings.instance)
    print(f"worker: task {task_id} done", flush=True)


def run(settings: Settings, stop: threading.Event) -> None:
    print(f"worker {settings.version} waiting for tasks on {QUEUE}", flush=True)
    kv = None
    while not stop.is_set():
        HEARTBEAT.touch()
        try:
            kv = kv or Redis(settings.redis_url)
            popped = kv.brpop(QUEUE, 2)
            if popped:
                handle(settings, popped[1])
        except (OSError, RedisError, pg.DatabaseError) as exc:
            print(f"worker: {exc}; retrying", flush=True)
            if kv is not None:
                kv.close()
            kv = None
            stop.wait(1)
