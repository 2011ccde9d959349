"""Local state: release history in SQLite (WAL) at <state dir>/state.db, and the per-environment lock."""

from .store import PHASES, Store, open_store

__all__ = ["PHASES", "Store", "open_store"]
