"""One function per host, at the same time (SSH round trips dominate; 16 at most)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def each(fn, targets: list[str]) -> dict:
    """target -> fn(target), run in parallel, in the order of `targets`."""
    with ThreadPoolExecutor(max_workers=min(16, len(targets) or 1)) as pool:
        return dict(zip(targets, pool.map(fn, targets)))
