"""Where Stagecraft keeps its local state (.stagecraft/ next to the config file)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(config_path: Path | str) -> Path:
    """STAGECRAFT_STATE_DIR, else .stagecraft/ beside the config file."""
    override = os.environ.get("STAGECRAFT_STATE_DIR")
    if override:
        return Path(override).resolve()
    return (Path(config_path).resolve().parent / ".stagecraft")


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)  # mkdir's mode is masked by the umask and does not apply to an existing directory
    return path


def private_state(path: Path) -> Path:
    """The state dir holds keys, known_hosts, releases and run artifacts: owner only, whatever the umask.
    The process umask becomes 077, so everything Stagecraft and its children (SQLite with its -wal/-shm,
    ansible-runner, ssh-keygen) create there is 0600/0700."""
    os.umask(0o077)
    if path.is_dir():
        try:
            path.chmod(0o700)
        except OSError as exc:
            from .errors import UserError

            raise UserError(f"state dir {path}: cannot make it private ({exc.strerror})",
                            hint="use a folder you own, or set STAGECRAFT_STATE_DIR to one") from None
    return path
