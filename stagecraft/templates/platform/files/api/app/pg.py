"""A small PostgreSQL client (protocol 3, standard library only).

Enough for this app: password, MD5 and SCRAM-SHA-256 authentication, and queries with parameters sent
separately from the SQL (the extended protocol), so values are never pasted into SQL text. Replace it
with psycopg when the app grows; the call sites only use `connect()` and `Connection.query()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
from urllib.parse import unquote, urlsplit

INTEGER_TYPES = {20, 21, 23}  # int8, int2, int4
BOOL_TYPE = 16


class DatabaseError(Exception):
    """An error the server reported (with its SQLSTATE code), or a broken connection."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(f"{message} ({code})" if code else message)
        self.code = code


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


class Connection:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    # -- wire -----------------------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise DatabaseError("connection closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read(self) -> tuple[bytes, bytes]:
        kind = self._read_exact(1)
        (length,) = struct.unpack("!i", self._read_exact(4))
        return kind, self._read_exact(length - 4)

    @staticmethod
    def _error(payload: bytes) -> DatabaseError:
        fields = {}
        for part in payload.split(b"\0"):
            if part:
                fields[part[:1]] = part[1:].decode(errors="replace")
        return DatabaseError(fields.get(b"M", "database error"), fields.get(b"C", ""))

    # -- start-up -------------------------------------------------------------------------------
    def startup(self, user: str, password: str, database: str) -> None:
        params = _cstr("user") + _cstr(user) + _cstr("database") + _cstr(database) + b"\0"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        scram = None
        while True:
            kind, payload = self._read()
            if kind == b"E":
                raise self._error(payload)
            if kind == b"Z":
                return
            if kind != b"R":
                continue  # parameter status, backend key data, notices
            (code,) = struct.unpack("!i", payload[:4])
            if code == 3:  # clear-text password
                self.sock.sendall(_message(b"p", _cstr(password)))
            elif code == 5:  # md5(md5(password + user) + salt)
                inner = hashlib.md5((password + user).encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + payload[4:8]).hexdigest()
                self.sock.sendall(_message(b"p", _cstr("md5" + outer)))
            elif code == 10:  # SASL: SCRAM-SHA-256
                scram = Scram(password)
                first = scram.client_first().encode()
                self.sock.sendall(_message(b"p", _cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
            elif code == 11:
                self.sock.sendall(_message(b"p", scram.client_final(payload[4:].decode()).encode()))
            elif code == 12:
                scram.verify(payload[4:].decode())
            elif code != 0:
                raise DatabaseError(f"unsupported authentication method {code}")

    # -- queries --------------------------------------------------------------------------------
    def query(self, sql: str, *params) -> list[dict]:
        """Run one statement with $1, $2, ... parameters; returns the rows as dicts (text values,
        integers and booleans converted)."""
        encoded = b""
        for value in params:
            if value is None:
                encoded += struct.pack("!i", -1)
            else:
                raw = str(value).encode()
                encoded += struct.pack("!i", len(raw)) + raw
        self.sock.sendall(
            _message(b"P", b"\0" + _cstr(sql) + struct.pack("!h", 0))
            + _message(b"B", b"\0\0" + struct.pack("!hh", 0, len(params)) + encoded + struct.pack("!h", 0))
            + _message(b"D", b"P\0")
            + _message(b"E", b"\0" + struct.pack("!i", 0))
            + _message(b"S", b""))
        columns, rows, error = [], [], None
        while True:
            kind, payload = self._read()
            if kind == b"T":
                columns = self._columns(payload)
            elif kind == b"D":
                rows.append(self._row(payload, columns))
            elif kind == b"E":
                error = self._error(payload)
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    @staticmethod
    def _columns(payload: bytes) -> list[tuple[str, int]]:
        (count,) = struct.unpack("!h", payload[:2])
        out, pos = [], 2
        for _ in range(count):
            end = payload.index(b"\0", pos)
            name = payload[pos:end].decode()
            (type_oid,) = struct.unpack("!i", payload[end + 7:end + 11])
            out.append((name, type_oid))
            pos = end + 19
        return out

    @staticmethod
    def _row(payload: bytes, columns: list[tuple[str, int]]) -> dict:
        (count,) = struct.unpack("!h", payload[:2])
        row, pos = {}, 2
        for i in range(count):
            (length,) = struct.unpack("!i", payload[pos:pos + 4])
            pos += 4
            name, type_oid = columns[i]
            if length < 0:
                row[name] = None
                continue
            text = payload[pos:pos + length].decode()
            pos += length
            row[name] = int(text) if type_oid in INTEGER_TYPES else (text == "t" if type_oid == BOOL_TYPE else text)
        return row

    def close(self) -> None:
        try:
            self.sock.sendall(_message(b"X", b""))
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Scram:
    """SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it: no channel binding, user name sent empty."""

    def __init__(self, password: str, nonce: str | None = None):
        self.password = password.encode()
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.server_signature = b""

    def client_first(self) -> str:
        return "n,," + self.first_bare

    def client_final(self, server_first: str) -> str:
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise DatabaseError("SCRAM: the server's nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_signature = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}"

    def verify(self, server_final: str) -> None:
        attrs = dict(part.split("=", 1) for part in server_final.split(","))
        if base64.b64decode(attrs.get("v", "")) != self.server_signature:
            raise DatabaseError("SCRAM: the server could not prove it knows the password")


def connect(url: str, timeout: float = 5.0) -> Connection:
    """A connection from a postgresql://user:password@host:port/dbname URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise DatabaseError("DATABASE_URL must be a postgresql:// URL")
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=timeout)
    conn = Connection(sock)
    try:
        conn.startup(unquote(parts.username or ""), unquote(parts.password or ""), unquote(parts.path.lstrip("/")))
    except BaseException:
        sock.close()
        raise
    return conn
