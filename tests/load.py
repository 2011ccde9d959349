"""A bounded HTTP load generator for rollout tests and benchmarks (loopback / test-host addresses only)."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter


class Load:
    """`get`: one request returning the body (default: urllib on `url`), e.g. HTTPS to a name pinned to an
    address with a test CA trusted."""

    def __init__(self, url: str, workers: int = 4, max_seconds: float = 900, get=None):
        self.url = url
        self.get = get or self._urlopen
        self.workers = workers
        self.max_seconds = max_seconds
        self.ok = 0
        self.failed = 0
        self.bodies: Counter = Counter()
        self.errors: Counter = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                body = self.get().split(" from ")[0].strip()
                with self._lock:
                    self.ok += 1
                    self.bodies[body] += 1
            except Exception as exc:  # noqa: BLE001 - every failure counts
                with self._lock:
                    self.failed += 1
                    self.errors[str(exc)[:100]] += 1

    def _urlopen(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as resp:
            return resp.read().decode(errors="replace")

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()
        return False
