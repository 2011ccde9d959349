"""A small Redis client (RESP2, standard library only): the commands this app uses, AUTH and SELECT
from a redis://[:password@]host:port/db URL. Replace it with redis-py when the app grows."""

from __future__ import annotations

import socket
from urllib.parse import unquote, urlsplit


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, url: str, timeout: float = 5.0):
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise RedisError("REDIS_URL must be a redis:// URL")
        self.timeout = timeout
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout)
        self.file = self.sock.makefile("rb")
        try:
            if parts.password:
                user = unquote(parts.username or "")
                self.call("AUTH", *([user] if user else []), unquote(parts.password))
            db = parts.path.lstrip("/")
            if db and db != "0":
                self.call("SELECT", db)
        except BaseException:
            self.close()
            raise

    def call(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            raw = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _reply(self):
        line = self.file.readline()
        if not line:
            raise RedisError("connection closed by the server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)[:-2]
            return data.decode()
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise RedisError(f"unexpected reply {line[:20]!r}")

    def brpop(self, key: str, seconds: int):
        """(key, value) popped from the list, or None after `seconds` without one."""
        self.sock.settimeout(seconds + self.timeout)
        try:
            return self.call("BRPOP", key, seconds)
        finally:
            self.sock.settimeout(self.timeout)

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
