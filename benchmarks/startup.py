"""Startup targets: `stagecraft --help` <= 150 ms, `stagecraft config validate` <= 300 ms on 20 services.

Run: .venv/bin/python benchmarks/startup.py   (prints medians over N runs; no assertions)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 15
EXE = str(Path(sys.executable).parent / "stagecraft")


def config_with(n: int) -> str:
    services = "\n".join(f"  svc{i}: {{image: 'example/svc{i}:1'}}" for i in range(n))
    placed = ", ".join(f"svc{i}" for i in range(n))
    return (f"project: {{name: bench}}\nenvironments:\n  local:\n    driver: local\n    hosts:\n"
            + "".join(f"      h{i}: {{roles: [app]}}\n" for i in range(3))
            + f"roles:\n  app: {{services: [{placed}]}}\nservices:\n"
            + "".join(f"  svc{i}: {{port: 8080, rollout: {{strategy: rolling}}}}\n" for i in range(n))), services


def median_ms(argv, cwd) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg, services = config_with(20)
        Path(tmp, "stagecraft.yml").write_text(cfg)
        Path(tmp, "docker-compose.yml").write_text("services:\n" + services + "\n")
        help_ms = median_ms([EXE, "--help"], tmp)
        validate_ms = median_ms([EXE, "config", "validate"], tmp)
    print(f"stagecraft --help:                     median {help_ms:6.1f} ms (target <= 150)")
    print(f"stagecraft config validate (20 svcs):  median {validate_ms:6.1f} ms (target <= 300)")


if __name__ == "__main__":
    main()
