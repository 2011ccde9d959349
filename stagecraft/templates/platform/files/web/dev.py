"""The frontend's dev server (run by `stagecraft dev`): serves web/public and forwards /api/ to the API's
dev server, so the page calls the API on its own origin exactly as it does behind the edge proxy."""

import os
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PORT = int(os.environ.get("PORT", "3000"))
API = os.environ.get("API_URL", "http://127.0.0.1:4000").rstrip("/")
PUBLIC = Path(__file__).resolve().parent / "public"


class DevServer(SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/api/"):
            return self.forward()
        if self.path == "/health":
            return self.reply(200, b"ok\n", "text/plain")
        return super().do_GET()

    def do_POST(self):
        if self.path.startswith("/api/"):
            return self.forward()
        self.send_error(405)

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = urllib.request.Request(API + self.path, data=self.rfile.read(length) if length else None,
                                         method=self.command,
                                         headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                self.reply(resp.status, resp.read(), resp.headers.get("Content-Type", "application/json"))
        except urllib.error.HTTPError as exc:
            self.reply(exc.code, exc.read(), exc.headers.get("Content-Type", "application/json"))
        except OSError as exc:
            self.reply(502, f'{{"error": "API unreachable at {API}: {exc}"}}'.encode(), "application/json")

    def reply(self, code, body, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), partial(DevServer, directory=str(PUBLIC)))
    print(f"web dev server on http://127.0.0.1:{PORT} (API: {API})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("web dev server stopped", flush=True)
