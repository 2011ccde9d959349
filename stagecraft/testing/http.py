"""The HTTP side the API emulators share: a request handler that hands every request to
`handle(method, path, headers, body) -> (status, payload, headers)` and answers JSON.

A status of "reset" closes the connection after reading the request (an injected fault: the answer
never comes).
"""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Callable


def json_handler(handle: Callable, base_headers: Callable[[], dict], content_type: str = "application/json"):
    """A BaseHTTPRequestHandler class; base_headers() gives the headers of every answer (rate limits)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            status, payload, extra = handle(self.command, self.path, self.headers,
                                            self.rfile.read(length) if length else b"")
            if status == "reset":
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                return
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in {**base_headers(), **extra}.items():
                self.send_header(k, v)
            if data:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def finish(self):
            try:
                super().finish()
            except OSError:  # a connection reset on purpose
                pass

        def log_message(self, *args):  # keep test output clean
            pass

    return Handler
