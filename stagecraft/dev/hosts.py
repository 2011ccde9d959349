"""Hosts-file entries for the dev domains, between marker lines, written atomically."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from ..errors import UserError

HOSTS_ENV = "STAGECRAFT_HOSTS_FILE"  # tests point this at a file of their own


def hosts_path() -> Path:
    return Path(os.environ.get(HOSTS_ENV) or "/etc/hosts")


def markers(project: str) -> tuple[str, str]:
    return f"# >>> stagecraft dev {project} >>>", f"# <<< stagecraft dev {project} <<<"


def without_block(text: str, project: str) -> str:
    start, end = markers(project)
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == start:
            inside = True
        elif inside and line.rstrip("\n") == end:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def with_block(text: str, project: str, names: list[str], address: str = "127.0.0.1") -> str:
    start, end = markers(project)
    base = without_block(text, project)
    if base and not base.endswith("\n"):
        base += "\n"
    return f"{base}{start}\n{address}\t{' '.join(sorted(names))}\n{end}\n"


def check_writable(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"dev: hosts file not found: {path}", hint=f"set {HOSTS_ENV}, or pass --no-hosts")
    if not os.access(path, os.W_OK):
        _denied(path)


def add(project: str, names: list[str]) -> Path:
    path = hosts_path()
    _write(path, with_block(path.read_text(encoding="utf-8"), project, names))
    return path


def remove(project: str, path: Path | None = None) -> None:
    path = path or hosts_path()
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    cleaned = without_block(text, project)
    if cleaned != text:
        _write(path, cleaned)


def _denied(path: Path):
    raise UserError(f"dev: cannot write {path}: permission denied",
                    hint="run with sudo, or pass --no-hosts (browsers resolve *.localhost to 127.0.0.1 anyway)")


def _write(path: Path, text: str) -> None:
    """Replace the file with a rename, so a reader never sees half a file. A bind-mounted file (as
    /etc/hosts is in a container) cannot be renamed over: then it is rewritten in place."""
    try:
        mode = path.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".stagecraft")
    except PermissionError:
        return _write_in_place(path, text)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.EXDEV, errno.EPERM, errno.EACCES):
                raise
            _write_in_place(path, text)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_in_place(path: Path, text: str) -> None:
    try:
        with open(path, "r+", encoding="utf-8") as f:
            f.write(text)
            f.truncate()
    except PermissionError:
        _denied(path)
