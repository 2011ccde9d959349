"""The per-environment deploy lock, held across processes on this machine.

A lock is a file `<state dir>/locks/<env>.lock` created with O_EXCL (atomic) that names its holder.
A second run fails with the holder's user, host, pid, command and start time; `--lock-wait` polls.
A lock whose pid is dead on this machine is reported as stale and never taken over silently:
`stagecraft lock release -e ENV` removes it. Limit: the lock guards one state directory on one
machine; two machines deploying the same environment do not see each other's lock.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UserError


def lock_path(state_dir: Path, env: str) -> Path:
    return Path(state_dir) / "locks" / f"{env}.lock"


def holder(state_dir: Path, env: str) -> dict | None:
    path = lock_path(state_dir, env)
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        info = {"pid": None, "corrupt": True}
    info["stale"] = _is_stale(info)
    return info


def _is_stale(info: dict) -> bool:
    if info.get("host") != socket.gethostname() or not info.get("pid"):
        return False  # another machine's pid cannot be checked from here
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe(info: dict) -> str:
    return (f"{info.get('user', '?')}@{info.get('host', '?')} pid {info.get('pid', '?')} "
            f"running '{info.get('command', '?')}' since {info.get('since', '?')}")


def acquire(state_dir: Path, env: str, *, command: str | None = None, wait: float = 0) -> Path:
    path = lock_path(state_dir, env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
            "command": command or " ".join(["stagecraft", *sys.argv[1:]]),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    deadline = time.monotonic() + max(wait, 0)
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            current = holder(state_dir, env)
            if current is None:
                continue  # released between our open and read
            if current["stale"]:
                raise UserError(f"environment '{env}' has a stale lock: {describe(current)} (that process is gone)",
                                hint=f"check nothing is running, then: stagecraft lock release -e {env}")
            if time.monotonic() >= deadline:
                raise UserError(f"environment '{env}' is locked by {describe(current)}",
                                hint="wait for it to finish, or pass --lock-wait SECONDS")
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle)
        return path


def release(state_dir: Path, env: str, *, only_if_mine: bool = True) -> bool:
    path = lock_path(state_dir, env)
    current = holder(state_dir, env)
    if current is None:
        return False
    if only_if_mine and current.get("pid") != os.getpid():
        return False
    path.unlink(missing_ok=True)
    return True


@contextmanager
def env_lock(state_dir: Path, env: str, *, wait: float = 0, command: str | None = None):
    acquire(state_dir, env, wait=wait, command=command)
    try:
        yield
    finally:
        release(state_dir, env)
