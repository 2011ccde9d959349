"""Deploy benchmarks on local hosts (examples/shop's web service), targets from the deploy issue.

  noop   no-op redeploy (same version) on 1 host                              target <= 5 s
  scale  deploy to 10 hosts vs 1 host (first deploy, then a new version)      target <= 2x
  load   10 consecutive deploys of new versions to 2 app hosts + gateway under continuous HTTP load,
         then one whose healthcheck fails (must exit non-zero, old version keeps answering)
                                                                              target 0 failed of >= 5000
  stateful  STAGECRAFT_BENCH_DEPLOYS (default 30) new versions where only web changes, on one host with
         a database built from the repo (tests/rollout_app.py): how often db restarted, deploy times,
         and the worker whose PID 1 ignores SIGTERM (stop_grace_period 2s) reported  target 0 restarts

Each prints its figures and writes them as JSON to benchmarks/results/deploy-<name>.json.
Hosts are created with the `local` driver and removed afterwards.

Run: .venv/bin/python benchmarks/deploy.py noop|scale|load|stateful|all
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hosts import HostFactory, example_files  # noqa: E402
from tests.load import Load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
IDLE_SAMPLE_S = 10


def shop_files(healthy: bool = True) -> dict:
    files = example_files("web")
    files[".env.bench"] = f"APP_HEALTHY={'true' if healthy else 'false'}\n"
    return files


def make_env(factory: HostFactory, name: str, hosts: dict, app_role: str, batch: str = "100%"):
    """Hosts with the shop's web service on `app_role`; a gateway (if any) serves port 80."""
    env = factory.create(name, hosts, files=shop_files(), up=False)
    text = env.config_path.read_text()
    size = batch if batch.isdigit() else f"'{batch}'"  # a count is an integer, a percentage a string
    text = text.replace("    driver: local\n", f"    driver: local\n    env_file: .env.bench\n"
                                                  f"    rollout: {{batch_size: {size}}}\n")
    text = text.replace(f"  {app_role}:\n    public: ", f"  {app_role}:\n    services: [web]\n    public: ")
    text += ("services:\n  web:\n    port: 8080\n"
             "    rollout: {strategy: rolling, healthcheck_timeout: 60, drain_seconds: 1}\n")
    env.config_path.write_text(text)
    start = time.perf_counter()
    env.up()
    return env, time.perf_counter() - start


def children_cpu_s() -> float:
    """CPU seconds used so far by finished child processes (stagecraft, ansible, ssh on this machine)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_deploy(env, version: str, check: bool = True) -> tuple[float, int]:
    start = time.perf_counter()
    proc = env.cli("deploy", "-e", "local", "--version", version, "-q", "-o", "json", check=check)
    return time.perf_counter() - start, proc.returncode


def machine_busy_s() -> float:
    """CPU seconds this whole machine has been busy (all CPUs, from /proc/stat). The hosts are
    containers here, and with cgroup v1 their nested containers are not accounted under them, so
    the machine total is what tells whether a deploy was CPU-bound (busy ~ CPUs x wall time)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def last_release_phases(env) -> dict:
    """Seconds per phase of the newest release, from its record (where a deploy's time goes)."""
    from datetime import datetime

    newest = json.loads(env.cli("releases", "list", "-e", "local", "--limit", "1", "-o", "json").stdout)
    rows = newest.get("releases", newest) if isinstance(newest, dict) else newest
    release = json.loads(env.cli("releases", "show", rows[0]["id"], "-o", "json").stdout)
    return {p["name"]: round((datetime.fromisoformat(p["finished_at"]) -
                              datetime.fromisoformat(p["started_at"])).total_seconds(), 1)
            for p in release["phases"] if p["started_at"] and p["finished_at"]}


def noop(factory: HostFactory) -> dict:
    env, up = make_env(factory, "bnoop", {"web-1": ["gateway"]}, "gateway")
    first, _ = timed_deploy(env, "v1")
    again = [timed_deploy(env, "v1")[0] for _ in range(3)]
    forced = timed_deploy_forced(env)
    return {"hosts": 1, "infra_up_s": round(up, 1), "first_deploy_s": round(first, 1),
            "noop_redeploy_s": [round(x, 2) for x in again], "noop_redeploy_median_s": round(statistics.median(again), 2),
            "forced_redeploy_s": round(forced, 1), "target_s": 5}


def timed_deploy_forced(env) -> float:
    start = time.perf_counter()
    env.cli("deploy", "-e", "local", "--version", "v1", "--force", "-q", "-o", "json")
    return time.perf_counter() - start


def scale(factory: HostFactory) -> dict:
    out = {}
    for count in (1, 10):
        hosts = {f"app-{i}": ["app"] for i in range(1, count + 1)}
        env, up = make_env(factory, f"bscale{count}", hosts, "app")
        host0, cpu0 = machine_busy_s(), children_cpu_s()
        first, _ = timed_deploy(env, "v1")
        cpu_first, host_first = children_cpu_s() - cpu0, machine_busy_s() - host0
        phases_first = last_release_phases(env)
        host0, cpu0 = machine_busy_s(), children_cpu_s()
        second, _ = timed_deploy(env, "v2")
        cpu_second, host_second = children_cpu_s() - cpu0, machine_busy_s() - host0
        # What the deployed hosts cost with no deploy running (sshd, dockerd, every replica's
        # healthcheck): on one machine this background competes with the deploy for the same CPUs.
        idle0 = machine_busy_s()
        time.sleep(IDLE_SAMPLE_S)
        idle_rate = (machine_busy_s() - idle0) / IDLE_SAMPLE_S
        out[count] = {"infra_up_s": round(up, 1), "first_deploy_s": round(first, 1), "new_version_s": round(second, 1),
                      "phases_first_s": phases_first, "phases_new_version_s": last_release_phases(env),
                      "controller_cpu_first_s": round(cpu_first, 1), "controller_cpu_new_version_s": round(cpu_second, 1),
                      "machine_cpu_busy_first_s": round(host_first, 1),
                      "machine_cpu_busy_new_version_s": round(host_second, 1),
                      "machine_cpu_idle_per_s": round(idle_rate, 2),
                      "machine_cpu_new_version_above_idle_s": round(host_second - idle_rate * second, 1),
                      "load_average_1m_after": round(os.getloadavg()[0], 1)}
        factory.destroy(f"bscale{count}")
    return {"per_hosts": out, "ratio_first": round(out[10]["first_deploy_s"] / out[1]["first_deploy_s"], 2),
            "ratio_new_version": round(out[10]["new_version_s"] / out[1]["new_version_s"], 2), "target_ratio": 2,
            "batch_size": "100%"}


def load(factory: HostFactory) -> dict:
    env, up = make_env(factory, "bload", {"app-1": ["app"], "app-2": ["app"], "gw-1": ["gateway"]}, "app",
                       batch="1")
    url = f"http://{env.hosts['gw-1']}/"
    timed_deploy(env, "v0")
    times = []
    with Load(url, workers=4) as traffic:
        for i in range(1, 11):
            times.append(round(timed_deploy(env, f"v{i}")[0], 1))
        (env.project_dir / ".env.bench").write_text("APP_HEALTHY=false\n")
        failing_s, failing_rc = timed_deploy(env, "v11-broken", check=False)
        (env.project_dir / ".env.bench").write_text("APP_HEALTHY=true\n")
        time.sleep(2)
        import urllib.request

        with urllib.request.urlopen(url, timeout=5) as resp:
            answer_after = resp.read().decode().split(" from ")[0]
    final = traffic.bodies.most_common()
    return {"deploys": 10, "deploy_s": times, "requests": traffic.ok + traffic.failed, "failed": traffic.failed,
            "errors": dict(traffic.errors), "failing_deploy_exit": failing_rc, "failing_deploy_s": round(failing_s, 1),
            "versions_served": sorted(b for b, _ in final), "target": ">= 5000 requests, 0 failed",
            "answer_after_failing_deploy": answer_after}


def stateful(factory: HostFactory) -> dict:
    from tests import rollout_app

    count = int(os.environ.get("STAGECRAFT_BENCH_DEPLOYS", "30"))
    env = rollout_app.create(factory, "bstateful")
    timed_deploy(env, "v0")
    db = rollout_app.containers(env, "db")
    times, restarts, slow = [], 0, 0
    for i in range(1, count + 1):
        rollout_app.change_web(env, f"v{i}")
        start = time.perf_counter()
        proc = env.cli("deploy", "-e", "local", "--version", f"v{i}", "-o", "json")
        times.append(round(time.perf_counter() - start, 1))
        now = rollout_app.containers(env, "db")
        restarts += now != db
        db = now
        slow += "slow_stop" in json.loads(proc.stdout)["hosts"]["app-1"]["worker"]
    return {"deploys": count, "db_restarts": restarts, "deploy_s": times,
            "deploy_median_s": statistics.median(times), "worker_slow_stop_reported": slow, "target_db_restarts": 0}


def main(argv: list[str]) -> int:
    which = argv[1] if len(argv) > 1 else "all"
    benches = {"noop": noop, "scale": scale, "load": load, "stateful": stateful}
    names = list(benches) if which == "all" else [which]
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sc-bench-") as tmp:
        factory = HostFactory(Path(tmp), f"b{os.getpid() % 100000}")
        try:
            for name in names:
                result = benches[name](factory)
                result.update({"machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                               "date": time.strftime("%Y-%m-%d %H:%M")})
                (RESULTS / f"deploy-{name}.json").write_text(json.dumps(result, indent=2) + "\n")
                print(f"{name}: {json.dumps(result)}")
        finally:
            factory.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
