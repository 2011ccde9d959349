"""Reading files the user names (config, compose and env files, CA bundles, known_hosts...) without
trusting them: only regular files, checked with stat before anything opens them (a FIFO or a tty never
blocks, /dev/zero is never read), at most MAX_BYTES, and text must be UTF-8."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UserError

MAX_BYTES = 1 << 20  # config, compose, env and key files are far smaller; more is a mistake or an attack

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_KERNEL = ("/proc/", "/sys/")
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


class FileRefused(UserError):
    """A named file that is missing, not a regular file, too large or not UTF-8. `line`/`column` point
    into the file when the problem is at a place in it (an undecodable byte)."""

    def __init__(self, what: str | None, path, reason: str, *, line: int = 1, column: int = 1):
        super().__init__(f"{what}: {path}: {reason}" if what else f"{path}: {reason}")
        self.what, self.path, self.reason = what, str(path), reason
        self.line, self.column = line, column


def exists(path: str | Path, what: str | None = None) -> bool:
    """Whether something is at `path` (a dangling symlink is nothing); FileRefused when the path cannot
    even be looked up (too long, a loop of symlinks, no permission), where Path.exists would raise OSError."""
    try:
        os.stat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError) as exc:
        raise FileRefused(what, path, f"cannot use this path ({getattr(exc, 'strerror', None) or exc})") from None


def check_regular(path: str | Path, what: str | None = None, *, limit: int = MAX_BYTES) -> os.stat_result:
    """stat (never open) `path`; raise FileRefused unless it is a regular file of at most `limit` bytes.
    Symlinks are followed: what counts is the file they lead to."""
    path = Path(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise FileRefused(what, path, "file not found") from None
    except OSError as exc:
        raise FileRefused(what, path, f"cannot read it: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise FileRefused(what, path, f"is {kind}, not a regular file; name a file")
    real = os.path.realpath(path)
    if real.startswith(_KERNEL):  # /proc and /sys files say "regular, 0 bytes" and may block or never end
        raise FileRefused(what, path, f"is a kernel file ({real}), not a regular file; name a file")
    if info.st_size > limit:
        raise FileRefused(what, path, f"{info.st_size} bytes, more than the {limit} allowed; is this "
                          "the right file?")
    return info


def read_bytes(path: str | Path, what: str | None = None, *, limit: int = MAX_BYTES) -> bytes:
    """The contents of a regular file of at most `limit` bytes (see check_regular). The file is opened
    non-blocking and checked again through its descriptor, so a file swapped for a FIFO or device after
    the stat cannot block or flood the read either."""
    path = Path(path)
    before = check_regular(path, what, limit=limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(what, path, f"cannot read it: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino):
            raise FileRefused(what, path, "changed while it was read; try again")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(what, path, f"more than the {limit} bytes allowed; is this the right file?")
    return data


def decode(data: bytes, path: str | Path, what: str | None = None) -> str:
    """UTF-8 text (a UTF-8 byte order mark is dropped); UTF-16/32 or invalid bytes raise FileRefused with
    the line and column of the first bad byte."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise FileRefused(what, path, f"is {name} text; save it as UTF-8")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8")) + 1  # characters
        raise FileRefused(what, path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, column "
                          f"{column}); save it as UTF-8", line=line, column=column) from None


def read_text(path: str | Path, what: str | None = None, *, limit: int = MAX_BYTES) -> str:
    """read_bytes + decode: the UTF-8 text of a regular file of at most `limit` bytes."""
    return decode(read_bytes(path, what, limit=limit), path, what)
