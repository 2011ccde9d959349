"""Where the bundled playbooks, collections and schema live.

An installed wheel carries them under stagecraft/_data; a source checkout keeps
them at the repository root. Both layouts expose the same relative paths.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    bundled = _PACKAGE / "_data"
    if (bundled / "playbooks").is_dir():
        return bundled
    return _PACKAGE.parent


def schema_path() -> Path:
    root = data_root()
    bundled = root / "stagecraft.schema.json"
    return bundled if bundled.is_file() else root / "spec" / "stagecraft.schema.json"


def playbooks_dir() -> Path:
    return data_root() / "playbooks"


def collections_dir() -> Path:
    """The directory to put on ANSIBLE_COLLECTIONS_PATH (contains ansible_collections/)."""
    return data_root() / "collections"
