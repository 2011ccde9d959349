"""The shared edge under load (issue 15): failed requests during certificate renewals and during a
neighbour project's deploys, target 0 for both.

Two projects (blue, green: the example's web service) on the same two local hosts (app-1, gw-1), their
names served over HTTPS with certificates from Debian's pebble that live VALIDITY seconds (renewed by the
edge when a third of that is left, checked every second):

  renewal    HTTPS load on both names for --seconds (default 240): renewals counted from the edge's log
  neighbour  HTTPS load on green while blue is deployed --deploys times (default 5) with new versions

Prints the figures and writes them to benchmarks/results/edge.json.
Run: .venv/bin/python benchmarks/edge.py [--seconds S] [--deploys N]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stagecraft.commands.local_hosts import network_name  # noqa: E402
from tests import acme  # noqa: E402
from tests.hosts import HostFactory  # noqa: E402
from tests.load import Load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
VALIDITY = 30


def renewals(base, name: str) -> int:
    logs = base.ssh("gw-1", "docker logs stagecraft-edge 2>&1 | grep 'certificate renewed successfully' || true").stdout
    return sum(1 for line in logs.splitlines() if f'"identifier":"{name}"' in line)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=240)
    parser.add_argument("--deploys", type=int, default=5)
    args = parser.parse_args()
    factory = HostFactory(Path(tempfile.mkdtemp(prefix="stagecraft-bench-edge-")), f"be{int(time.time()) % 100000}")
    pebble = None
    try:
        base = acme.shared_hosts(factory, "hosts")
        names = {"blue.test": base.hosts["gw-1"], "green.test": base.hosts["gw-1"]}
        pebble = acme.start(f"{factory.prefix}pebble", network_name(base.project, base.env),
                            {"stagecraft.managed": "true", "stagecraft.project": base.project}, names,
                            factory.base_dir / "pebble", VALIDITY)
        blue = acme.make_project(factory, base, pebble, "blue", ["blue.test"])
        green = acme.make_project(factory, base, pebble, "green", ["green.test"])
        context = pebble.client_context()
        for p in (blue, green):
            p.context = context
        blue.cli("deploy", "-e", "shared", "--version", "b0")
        green.cli("deploy", "-e", "shared", "--version", "g0")

        before = {n: renewals(base, n) for n in names}
        start = time.monotonic()
        with Load("https://blue.test/", get=lambda: blue.get("blue.test")) as on_blue, \
                Load("https://green.test/", get=lambda: green.get("green.test")) as on_green:
            time.sleep(args.seconds)
        renewal = {"seconds": round(time.monotonic() - start, 1), "certificate_lifetime_s": VALIDITY,
                   "renewals": {n: renewals(base, n) - before[n] for n in names},
                   "requests": on_blue.ok + on_blue.failed + on_green.ok + on_green.failed,
                   "failed": on_blue.failed + on_green.failed,
                   "errors": dict(on_blue.errors + on_green.errors)}
        print(f"renewal: {renewal}")

        times = []
        with Load("https://green.test/", get=lambda: green.get("green.test")) as on_green, \
                Load("https://blue.test/", get=lambda: blue.get("blue.test")) as on_blue:
            for i in range(1, args.deploys + 1):
                t0 = time.monotonic()
                blue.cli("deploy", "-e", "shared", "--version", f"b{i}")
                times.append(round(time.monotonic() - t0, 1))
        neighbour = {"deploys_of_blue": args.deploys, "deploy_seconds": times,
                     "green_requests": on_green.ok + on_green.failed, "green_failed": on_green.failed,
                     "blue_requests": on_blue.ok + on_blue.failed, "blue_failed": on_blue.failed,
                     "green_bodies": dict(on_green.bodies), "errors": dict(on_green.errors + on_blue.errors)}
        print(f"neighbour: {neighbour}")
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "edge.json").write_text(json.dumps({
            "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
            "date": time.strftime("%Y-%m-%d"), "renewal": renewal, "neighbour": neighbour}, indent=2) + "\n")
        return 0 if renewal["failed"] == 0 and neighbour["green_failed"] == 0 else 1
    finally:
        if pebble:
            pebble.stop()
        factory.cleanup()


if __name__ == "__main__":
    sys.exit(main())
