"""What writing a template's files into a directory changes, shown before (or instead of) doing it.

Each file is `create` (absent), `unchanged` (same bytes and mode), `update` (ours to overwrite: `--force`,
or a file the caller owns) or `keep` (differs, and not ours to overwrite). Secret files' contents never
appear in a diff.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .engine import OutFile

PRIVATE_DIRS = (".stagecraft",)  # made 0700, like Stagecraft's state directory


@dataclass(frozen=True)
class Change:
    file: OutFile
    status: str  # create | update | unchanged | keep
    diff: str = ""

    def describe(self) -> dict:
        return {"path": self.file.path, "status": self.status, "mode": f"{self.file.mode:04o}",
                "secret": self.file.secret}


def plan(target: Path, files: dict[str, OutFile], overwrite) -> list[Change]:
    """`overwrite(path) -> bool`: whether an existing, different file may be replaced."""
    out = []
    for path, f in sorted(files.items()):
        dest = target / path
        if dest.is_symlink() or (dest.exists() and not dest.is_file()):
            out.append(Change(f, "keep", f"--- {path}: exists and is not a regular file; left alone\n"))
            continue
        old = dest.read_bytes() if dest.is_file() else None
        if old is None:
            out.append(Change(f, "create", _diff(path, None, f)))
        elif old == f.content and stat.S_IMODE(dest.stat().st_mode) == f.mode:
            out.append(Change(f, "unchanged"))
        else:
            out.append(Change(f, "update" if overwrite(path) else "keep", _diff(path, old, f)))
    return out


def _diff(path: str, old: bytes | None, new: OutFile) -> str:
    if new.secret:
        return f"--- {path}: secret file ({len(new.content)} bytes, mode {new.mode:04o}); content not shown\n"
    try:
        before = old.decode().splitlines(keepends=True) if old is not None else []
        after = new.content.decode().splitlines(keepends=True)
    except UnicodeDecodeError:
        return f"--- {path}: binary file ({len(new.content)} bytes)\n"
    lines = list(difflib.unified_diff(before, after, "/dev/null" if old is None else f"a/{path}", f"b/{path}"))
    if not lines and old is not None:
        return f"--- {path}: mode {new.mode:04o}\n"
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def write(target: Path, changes: list[Change]) -> None:
    """Write the `create` and `update` changes (each file replaced atomically, with its mode)."""
    for change in changes:
        if change.status not in ("create", "update"):
            continue
        f = change.file
        dest = target / f.path
        _make_dirs(target, dest.parent)
        tmp = dest.with_name(f".{dest.name}.stagecraft-tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, f.mode)
        with os.fdopen(fd, "wb") as out:
            out.write(f.content)
        os.chmod(tmp, f.mode)  # the umask does not decide: hooks stay 0644, tests 0755, secrets 0600
        os.replace(tmp, dest)


def _make_dirs(target: Path, directory: Path) -> None:
    rel = directory.relative_to(target)
    current = target
    current.mkdir(parents=True, exist_ok=True)
    for part in rel.parts:
        current = current / part
        if not current.is_dir():
            current.mkdir(mode=0o700 if part in PRIVATE_DIRS else 0o755)
            current.chmod(0o700 if part in PRIVATE_DIRS else 0o755)
