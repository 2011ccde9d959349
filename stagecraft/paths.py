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
    return path
