"""The HTTP API: tasks stored in PostgreSQL, queued in Redis for the worker.

    GET  /api/health        liveness (the container healthcheck): no database call
    GET  /api/status        version, instance, and whether PostgreSQL and Redis answer (503 if not)
    GET  /api/tasks         the 20 newest tasks
    POST /api/tasks         {"title": "..."} -> 201 with the task, queued for the worker
    GET  /api/tasks/<id>    one task (404 if unknown)
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import pg
from .kv import Redis, RedisError
from .settings import CREATED, QUEUE, Settings

MAX_BODY = 16 * 1024
TASK_COLUMNS = "id, title, status, result, worker, created_at::text AS created_at, done_at::text AS done_at"


def make_handler(settings: Settings):
    class Api(BaseHTTPRequestHandler):
        server_version = "api"

        def do_GET(self):
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/api/health":
                return self.send(200, {"ok": True})
            if path == "/api/status":
                return self.status()
            if path == "/api/tasks":
                with pg.connect(settings.database_url) as db:
                    rows = db.query(f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY id DESC LIMIT 20")
                return self.send(200, {"tasks": rows})
            if path.startswith("/api/tasks/") and path.rsplit("/", 1)[1].isdigit():
                with pg.connect(settings.database_url) as db:
                    rows = db.query(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1", path.rsplit("/", 1)[1])
                return self.send(200, {"task": rows[0]}) if rows else self.send(404, {"error": "no such task"})
            self.send(404, {"error": "not found"})

        def do_POST(self):
            if self.path.rstrip("/") != "/api/tasks":
                return self.send(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.send(413, {"error": "body too large"})
            try:
                title = str(json.loads(self.rfile.read(length) or b"{}").get("title", "")).strip()
            except (ValueError, AttributeError):
                return self.send(400, {"error": "expected a JSON object"})
            if not 1 <= len(title) <= 200:
                return self.send(400, {"error": "title: 1 to 200 characters"})
            with pg.connect(settings.database_url) as db:
                task = db.query(f"INSERT INTO tasks (title) VALUES ($1) RETURNING {TASK_COLUMNS}", title)[0]
            with Redis(settings.redis_url) as kv:
                kv.call("LPUSH", QUEUE, task["id"])
                kv.call("INCR", CREATED)
            self.send(201, {"task": task})

        def status(self):
            body = {"app": settings.app, "version": settings.version, "instance": settings.instance}
            try:
                with pg.connect(settings.database_url) as db:
                    counts = db.query("SELECT count(*) AS tasks, count(done_at) AS done FROM tasks")[0]
                body["database"] = {"ok": True, **counts}
            except (OSError, pg.DatabaseError) as exc:
                body["database"] = {"ok": False, "error": str(exc)}
            try:
                with Redis(settings.redis_url) as kv:
                    body["redis"] = {"ok": True, "queued": kv.call("LLEN", QUEUE),
                                     "created": int(kv.call("GET", CREATED) or 0)}
            except (OSError, RedisError) as exc:
                body["redis"] = {"ok": False, "error": str(exc)}
            self.send(200 if body["database"]["ok"] and body["redis"]["ok"] else 503, body)

        def send(self, code: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except (OSError, pg.DatabaseError, RedisError) as exc:  # a dependency is down: say so, keep serving
                self.log_message("error: %s", exc)
                try:
                    self.send(503, {"error": str(exc)})
                except OSError:
                    pass

        def log_message(self, fmt, *args):
            print(f"api {self.address_string()} {fmt % args}", flush=True)

    return Api


def serve(settings: Settings) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((settings.host, settings.port), make_handler(settings))
    server.daemon_threads = True
    print(f"api {settings.version} listening on http://{settings.host}:{settings.port}", flush=True)
    return server
