"""The shop's backend in development: a small JSON API run by `stagecraft dev` (backend.generic.dev).

GET /api/status says which database it reaches (the dev database from docker-compose.yml, published
on 127.0.0.1 by dev.publish). The frontend calls it through the dev proxy, so it allows that origin.
"""

import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "4000"))
DB_HOST, DB_PORT = os.environ.get("SHOP_DB_ADDR", "127.0.0.1:5433").rsplit(":", 1)
FRONTEND = os.environ.get("STAGECRAFT_DEV_FRONTEND_URL", "*")


def database() -> str:
    try:
        with socket.create_connection((DB_HOST, int(DB_PORT)), timeout=1):
            return f"reachable at {DB_HOST}:{DB_PORT}"
    except OSError as exc:
        return f"unreachable ({exc.strerror or exc})"


class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") != "/api/status":
            self.send_error(404)
            return
        body = json.dumps({"app": "shop", "version": "dev", "database": database(),
                           "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", FRONTEND)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Api)
    print(f"shop api listening on http://127.0.0.1:{PORT}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # stagecraft dev stops it with SIGINT
        print("shop api stopped", flush=True)
