"""`stagecraft infra up` of 3 local hosts.

Figures (targets from the local-driver issue):
- hosts: creating 3 hosts with the base image cached, until each answers SSH — the `provision`
  phase of `infra up`, timed through the driver's own `provision()` (target <= 30 s);
- again: the same with the hosts already there (idempotent, nothing created);
- --cold: the base image built from nothing (debootstrap + docker import) into a throwaway tag,
  so the shared cached image stays untouched (target <= 3 min);
- --full: the whole `stagecraft infra up` CLI run, provision + host roles (bootstrap installs
  Docker inside every host), with its phase times from the release record (no target).

Run: .venv/bin/python benchmarks/infra_up_local.py [--cold] [--full]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stagecraft.commands import local_hosts  # noqa: E402
from stagecraft.config import load_config  # noqa: E402
from stagecraft.drivers import DriverContext  # noqa: E402
from stagecraft.drivers import local as driver  # noqa: E402

EXE = str(Path(sys.executable).parent / "stagecraft")
CONFIG = """project: {{name: {name}}}
environments:
  local:
    driver: local
    hosts: {{app-1: {{roles: [app]}}, app-2: {{roles: [app]}}, gw-1: {{roles: [gateway]}}}}
roles: {{app: {{}}, gateway: {{public: true}}}}
"""


def quiet(_msg: str) -> None:
    pass


def cold_build() -> float:
    spec = local_hosts.recipe(mirror=os.environ.get("STAGECRAFT_DEBIAN_MIRROR"))
    tag = f"stagecraft/host-base:bench-{os.getpid()}"
    start = time.perf_counter()
    try:
        driver.build_base_image(spec, tag, quiet)
        return time.perf_counter() - start
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def driver_context(project_dir: Path) -> DriverContext:
    resolved = load_config(project_dir / "stagecraft.yml").resolve("local", environ={})
    return DriverContext(resolved.config, resolved.environment, project_dir / ".stagecraft")


def timed_provision(ctx: DriverContext) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = driver.provision(ctx, quiet)
    return time.perf_counter() - start, [h.action for h in result.hosts]


def seconds_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def full_up(project_dir: Path) -> None:
    env = {**os.environ, "STAGECRAFT_STATE_DIR": str(project_dir / ".stagecraft")}
    start = time.perf_counter()
    proc = subprocess.run([EXE, "infra", "up", "-e", "local", "-q", "-o", "json"], cwd=project_dir, env=env,
                          capture_output=True, text=True)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"full infra up failed (exit {proc.returncode}): {proc.stderr[-800:]}")
        return
    release = json.loads(proc.stdout)["release"]
    shown = json.loads(subprocess.run([EXE, "releases", "show", release, "-o", "json"], cwd=project_dir, env=env,
                                      capture_output=True, text=True, check=True).stdout)
    phases = ", ".join(f"{p['name']} {seconds_between(p['started_at'], p['finished_at']):.1f} s"
                       for p in shown["phases"] if p["started_at"] and p["finished_at"])
    print(f"infra up CLI, 3 hosts + host roles:        {total:6.1f} s ({phases})")


def main() -> None:
    if "--cold" in sys.argv:
        print(f"base image build from nothing:             {cold_build():6.1f} s (target 180 s)")
    driver.ensure_base_image(quiet)  # the cached image the figures below assume
    with tempfile.TemporaryDirectory(prefix="sc-bench-") as tmp:
        project_dir = Path(tmp)
        (project_dir / "stagecraft.yml").write_text(CONFIG.format(name=f"scbench{os.getpid()}"))
        ctx = driver_context(project_dir)
        try:
            first, actions = timed_provision(ctx)
            assert actions == ["created"] * 3, actions
            print(f"infra up, 3 hosts, base image cached:      {first:6.1f} s (target 30 s; until SSH answers)")
            again, actions = timed_provision(ctx)
            assert actions == ["unchanged"] * 3, actions
            print(f"infra up again (nothing to create):        {again:6.1f} s")
            if "--full" in sys.argv:
                full_up(project_dir)
        finally:
            driver.destroy(ctx, quiet)


if __name__ == "__main__":
    main()
