"""`stagecraft infra up` of 3 local hosts: with the base image cached (target <= 30 s) and, with
--cold, including the base image build from nothing (target <= 3 min).

Run: .venv/bin/python benchmarks/infra_up_local.py [--cold]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stagecraft.commands import local_hosts  # noqa: E402

EXE = str(Path(sys.executable).parent / "stagecraft")
CONFIG = """project: {name: benchup}
environments:
  local:
    driver: local
    hosts: {app-1: {roles: [app]}, app-2: {roles: [app]}, gw-1: {roles: [gateway]}}
roles: {app: {}, gateway: {public: true}}
"""


def timed(argv, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    cold = "--cold" in sys.argv
    tag = local_hosts.base_image_tag(local_hosts.recipe())
    if cold:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "stagecraft.yml").write_text(CONFIG)
        try:
            first = timed([EXE, "infra", "up", "-e", "local"], tmp)
            second = timed([EXE, "infra", "up", "-e", "local"], tmp)
        finally:
            subprocess.run([EXE, "infra", "down", "-e", "local", "--yes"], cwd=tmp, capture_output=True)
    label = "with base image build" if cold else "base image cached"
    print(f"infra up, 3 hosts, {label}: {first:6.1f} s (target {'180' if cold else '30'} s)")
    print(f"infra up again (no changes):       {second:6.1f} s")


if __name__ == "__main__":
    main()
