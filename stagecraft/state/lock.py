"""The per-environment deploy lock on this machine: held exactly as long as the run's processes live.

Two files per environment under `<state dir>/locks/`:

- `<env>.lock`: `flock(LOCK_EX)` by the Stagecraft process for the whole command; the file also
  names the holder (user, host, pid, command, start time). The kernel drops the lock when that
  process ends, however it ends (SIGKILL included): a lock never outlives its holder, so it is
  never "stale" and never needs a human.
- `<env>.run`: `flock(LOCK_SH)` by the guard between ansible-runner and ansible-playbook
  (`stagecraft/runner/guard.py`) on a descriptor that ansible-playbook and its workers inherit.
  The next command, once it holds `<env>.lock`, takes `<env>.run` exclusively for a moment: it
  proceeds only when no process of an earlier run is left (the guard kills them when Stagecraft
  dies), so an orphaned rollout never runs beside a new one.

A second run fails with the holder's details; `--lock-wait` polls. The lock kept on the hosts
(two machines) is `stagecraft/state/hostlock.py`.
"""

from __future__ import annotations

import fcntl
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

# Processes of an earlier run get this long to disappear before the next command gives up.
ORPHAN_WAIT = float(os.environ.get("STAGECRAFT_ORPHAN_WAIT", "30"))

_held: dict[tuple[str, str], int] = {}  # (state dir, env) -> descriptor holding the flock


def lock_path(state_dir: Path, env: str) -> Path:
    return Path(state_dir) / "locks" / f"{env}.lock"


def run_lock_path(state_dir: Path, env: str) -> Path:
    return Path(state_dir) / "locks" / f"{env}.run"


def _key(state_dir: Path, env: str) -> tuple[str, str]:
    return str(Path(state_dir).resolve()), env


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # close-on-exec: children never get it; O_NONBLOCK: a FIFO put there cannot make this wait
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise UserError(f"lock file {path}: {exc.strerror}",
                        hint="the state dir must be a writable folder (or set STAGECRAFT_STATE_DIR to one)") from None


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 65536, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}


def is_held(state_dir: Path, env: str) -> bool:
    """True while some process (this one included) holds the environment's lock."""
    if _key(state_dir, env) in _held:
        return True
    path = lock_path(state_dir, env)
    if not path.exists():
        return False
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock taken just to look


def holder(state_dir: Path, env: str) -> dict | None:
    """The live holder's details, or None when nobody holds the lock."""
    if not is_held(state_dir, env):
        return None
    fd = _open(lock_path(state_dir, env))
    try:
        return _read(fd) or {"pid": None}
    finally:
        os.close(fd)


def describe(info: dict) -> str:
    return (f"{info.get('user', '?')}@{info.get('host', '?')} pid {info.get('pid', '?')} "
            f"running '{info.get('command', '?')}' since {info.get('since', '?')}")


def holder_info(command: str | None = None) -> dict:
    return {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
            "command": command or " ".join(["stagecraft", *sys.argv[1:]]),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def acquire(state_dir: Path, env: str, *, command: str | None = None, wait: float = 0) -> Path:
    path = lock_path(state_dir, env)
    key = _key(state_dir, env)
    if key in _held:
        raise UserError(f"environment '{env}' is already locked by this process")
    fd = _open(path)
    deadline = time.monotonic() + max(wait, 0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                current = _read(fd)
                os.close(fd)
                raise UserError(f"environment '{env}' is locked by {describe(current)}",
                                hint="wait for it to finish, or pass --lock-wait SECONDS") from None
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
    try:
        _wait_for_orphans(state_dir, env)
    except BaseException:
        os.close(fd)
        raise
    data = json.dumps(holder_info(command)).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    _held[key] = fd
    return path


def _wait_for_orphans(state_dir: Path, env: str) -> None:
    """Proceed only when no process of an earlier run of this environment is left."""
    fd = _open(run_lock_path(state_dir, env))
    try:
        deadline = time.monotonic() + ORPHAN_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pids = holders_of(run_lock_path(state_dir, env))
                    raise UserError(f"environment '{env}': processes of an earlier run are still alive "
                                    f"(pids {', '.join(map(str, pids)) or '?'}) after {ORPHAN_WAIT:.0f}s",
                                    hint="they end by themselves; or stop them (kill PID) and run again") from None
                time.sleep(0.1)
    finally:
        os.close(fd)  # the exclusive moment ends here; this run's own guard takes it shared


def holders_of(path: Path) -> list[int]:
    """Pids with `path` open (from /proc): to name what keeps a run lock."""
    pids = []
    target = str(path.resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return sorted(pids)


def release(state_dir: Path, env: str) -> bool:
    """Release this process's lock of the environment (the lock of another process ends with it)."""
    fd = _held.pop(_key(state_dir, env), None)
    if fd is None:
        return False
    os.ftruncate(fd, 0)
    os.close(fd)  # drops the flock
    return True


@contextmanager
def env_lock(state_dir: Path, env: str, *, wait: float = 0, command: str | None = None):
    acquire(state_dir, env, wait=wait, command=command)
    try:
        yield
    finally:
        release(state_dir, env)
