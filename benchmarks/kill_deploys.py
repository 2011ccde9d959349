"""Kill harness: deploys killed at random moments under continuous HTTP load, each followed at once by
a normal deploy with no human step (issue: deploys that survive being killed).

2 app hosts (examples/shop's web service, batch 1) behind a gateway. N rounds; in each, a deploy of
a new version is started and, after a random delay, sent SIGKILL or SIGINT (alternating); then the
next deploy runs at once. Reported:

  requests        HTTP requests through the gateway during the whole run, and how many failed
  next_ok         next deploys that succeeded without a human step (target N/N)
  left_running    releases left `running` after the run (target 0)
  mixed_hosts     rounds after which the app hosts ran different web versions (target 0)

Writes benchmarks/results/kill-deploys.json. Hosts are created with the `local` driver and
removed afterwards.

Run: .venv/bin/python benchmarks/kill_deploys.py [N (default 20)] [--max-delay SECONDS (default 40)]
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.deploy import make_env  # noqa: E402
from tests.hosts import STAGECRAFT, HostFactory  # noqa: E402
from tests.load import Load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def web_versions(env) -> dict:
    out = {}
    for host in ("app-1", "app-2"):
        images = env.ssh(host, "docker ps --format '{{.Image}}' --filter label=com.docker.compose.service=web",
                         check=False).stdout.split()
        out[host] = sorted({i.rsplit(":", 1)[-1] for i in images})
    return out


def run(n: int, max_delay: float, seed: int) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="sc-kill-") as tmp:
        factory = HostFactory(Path(tmp), f"k{os.getpid() % 100000}")
        try:
            env, _ = make_env(factory, "kill", {"app-1": ["app"], "app-2": ["app"], "gw-1": ["gateway"]}, "app",
                              batch="1")
            env.cli("deploy", "-e", "local", "--version", "v0", "-q", "-o", "json")
            rounds = []
            with Load(f"http://{env.hosts['gw-1']}/") as load:
                for i in range(1, n + 1):
                    sig = signal.SIGKILL if i % 2 else signal.SIGINT
                    delay = rng.uniform(0.5, max_delay)
                    proc = subprocess.Popen([STAGECRAFT, "deploy", "-e", "local", "--version", f"v{i}", "-q",
                                             "-o", "json"], cwd=env.project_dir, env=env.environ(),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    try:
                        proc.wait(timeout=delay)
                        killed = False  # finished before the kill
                    except subprocess.TimeoutExpired:
                        proc.send_signal(sig)
                        killed = True
                        proc.wait()
                    start = time.perf_counter()
                    nxt = env.cli("deploy", "-e", "local", "--version", f"v{i}-next", "-q", "-o", "json",
                                  check=False)
                    versions = web_versions(env)
                    rounds.append({"round": i, "signal": sig.name, "delay_s": round(delay, 1), "killed": killed,
                                   "killed_rc": proc.returncode, "next_rc": nxt.returncode,
                                   "next_s": round(time.perf_counter() - start, 1),
                                   "next_error": nxt.stderr.strip()[-300:] if nxt.returncode else "",
                                   "versions": versions,
                                   "mixed": len({v for vs in versions.values() for v in vs}) != 1})
                    print(json.dumps(rounds[-1]), flush=True)
            releases = json.loads(env.cli("releases", "list", "--limit", "1000", "-o", "json").stdout)
            return {"rounds": rounds, "n": n, "seed": seed, "requests": load.ok + load.failed,
                    "failed_requests": load.failed, "errors": dict(load.errors),
                    "next_ok": sum(r["next_rc"] == 0 for r in rounds),
                    "left_running": sum(r["status"] == "running" for r in releases),
                    "interrupted": sum(r["status"] == "interrupted" for r in releases),
                    "mixed_hosts": sum(r["mixed"] for r in rounds)}
        finally:
            factory.cleanup()


def main(argv: list[str]) -> int:
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 20
    max_delay = float(argv[argv.index("--max-delay") + 1]) if "--max-delay" in argv else 40.0
    seed = int(os.environ.get("KILL_SEED", "13"))
    result = run(n, max_delay, seed)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kill-deploys.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"requests {result['requests']}, failed {result['failed_requests']}; next deploys ok "
          f"{result['next_ok']}/{n}; releases left running {result['left_running']}; rounds with mixed hosts "
          f"{result['mixed_hosts']}")
    return 0 if (result["next_ok"] == n and result["failed_requests"] == 0 and not result["mixed_hosts"]
                 and not result["left_running"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
