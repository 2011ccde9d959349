"""`stagecraft releases list` over 10,000 recorded releases (target <= 200 ms).

Run: .venv/bin/python benchmarks/releases_list.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stagecraft.state import open_store  # noqa: E402

EXE = str(Path(sys.executable).parent / "stagecraft")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "stagecraft.yml").write_text("project: {name: b}\nenvironments: {prod: {driver: local}}\n")
        store = open_store(Path(tmp, ".stagecraft"))
        for i in range(10_000):
            rid = store.create_release("prod", version=f"v{i}")
            for phase in ("build", "push", "migrate_pre", "rollout", "migrate_post", "finalize"):
                store.set_phase(rid, phase, "completed")
        store.close()
        times = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run([EXE, "releases", "list", "-e", "prod"], cwd=tmp, check=True, capture_output=True)
            times.append((time.perf_counter() - start) * 1000)
        full = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([EXE, "releases", "list", "--limit", "10000", "-o", "json"], cwd=tmp, check=True,
                           capture_output=True)
            full.append((time.perf_counter() - start) * 1000)
    print(f"releases list (default limit 50) over 10,000 releases: median {statistics.median(times):6.1f} ms "
          "(target <= 200)")
    print(f"releases list --limit 10000 -o json:                   median {statistics.median(full):6.1f} ms")


if __name__ == "__main__":
    main()
