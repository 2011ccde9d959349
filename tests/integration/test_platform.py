"""`stagecraft new --template platform` for real: the new project runs under `stagecraft dev` (PostgreSQL and
Redis in containers, migrations applied, the API with its worker and the frontend as dev servers behind
Traefik), then `infra up -e local` and `deploy -e local` put it on two Debian hosts, where the API on app-1
reads and writes PostgreSQL and Redis on data-1 and the deploy's own smoke test (.stagecraft/tests) passes.
Generated files against their linters: tests/unit/test_platform_template.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.hosts import LocalEnv
from tests.integration.test_dev import docker_lines, free_port

pytestmark = pytest.mark.hosts
STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")


def http(url: str, body: dict | None = None, host: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **({"Host": host} if host else {})})
    with urllib.request.urlopen(request, timeout=15) as resp:
        return json.loads(resp.read())


def task_done(base: str, host: str | None = None) -> dict:
    """POST a task through the API, then wait (a bound, not a timing assertion) for the worker to finish it."""
    task = http(f"{base}/api/tasks", {"title": "ship it across hosts"}, host)["task"]
    assert task["status"] == "queued"
    for _ in range(60):
        found = http(f"{base}/api/tasks/{task['id']}", host=host)["task"]
        if found["status"] == "done":
            return found
        time.sleep(0.5)
    raise AssertionError(f"task {task['id']} never done: {found}")


def stage(name: str, started=[time.monotonic()]) -> None:
    """Elapsed time per stage, printed for the record (never asserted: speed goes to benchmarks/)."""
    now = time.monotonic()
    print(f"{name}: {now - started[0]:.0f} s")
    started[0] = now


def test_new_platform_runs_under_dev_and_deploys_to_local_hosts(local_hosts, tmp_path):
    stage("start")
    project = f"{local_hosts.prefix}plat"
    directory = local_hosts.base_dir / "platform"
    ports = {k: free_port() for k in ("api_dev_port", "web_dev_port", "dev_db_port", "dev_redis_port",
                                      "dev_http_port", "dev_https_port")}
    env = LocalEnv(name="platform", project=project, project_dir=directory, roles={"data-1": ["data"], "app-1": ["app"]})
    created = subprocess.run([STAGECRAFT, "new", str(directory), "--non-interactive", "-o", "json",
                              "--var", f"project_name={project}", *[f"--var={k}={v}" for k, v in ports.items()]],
                             env=env.environ(), capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["git"] == "initialised and committed"

    stage("new")
    # stagecraft dev: the frontend's dev server forwards /api/ to the API, whose worker thread completes tasks.
    dev_env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"}
    try:
        up = env.cli("dev", "--detach", "--no-hosts", "--no-https", env=dev_env, timeout=900)
        assert "running in the background" in up.stdout
        log = (directory / ".stagecraft" / "dev" / "dev.log").read_text()
        assert "migrations: main: applying 2 migration(s)" in log
        proxy = f"http://127.0.0.1:{ports['dev_http_port']}"
        try:
            done = task_done(proxy, host=f"app.{project}.localhost")
        except Exception:
            print((directory / ".stagecraft" / "dev" / "dev.log").read_text()[-5000:])
            raise
        assert done["result"].startswith("4 words")
        status = http(f"{proxy}/api/status", host=f"api.{project}.localhost")
        assert status["database"]["ok"] and status["redis"]["ok"] and status["redis"]["created"] == 1
        assert env.cli("dev", "down", env=dev_env).returncode == 0
        assert docker_lines("ps", "-aq", "--filter", f"label=stagecraft.dev={project}") == []
        stage("dev")
    finally:
        env.cli("dev", "down", env=dev_env, check=False)
        subprocess.run(["docker", "volume", "rm", f"{project}-dev_dbdata", f"{project}-dev_redisdata"],
                       capture_output=True)

    # The local rehearsal: db and redis on data-1, web, api and worker on app-1.
    local_hosts.envs["platform"] = env
    env.up()
    stage("infra up")
    deployed = json.loads(env.cli("deploy", "-e", "local", "-o", "json", timeout=1800).stdout)
    base = f"http://{env.hosts['app-1']}"
    assert list(deployed["urls"]) == [f"{base}/"] and deployed["urls"][f"{base}/"].startswith("200 <!doctype html>")
    stage("deploy")
    release = json.loads(env.cli("releases", "show", deployed["release"], "-e", "local", "-o", "json").stdout)
    assert [t["test"] for t in release["manifest"]["tests"] if t["passed"]] == [
        ".stagecraft/tests/health.sh", ".stagecraft/tests/smoke.sh"]
    assert release["manifest"]["migrate_pre"][0]["applied"] == ["001_tasks.sql", "002_tasks_status.sql"]

    done = task_done(base)  # the API on app-1 writes PostgreSQL and Redis on data-1; the worker completes it
    status = http(f"{base}/api/status")
    assert status["version"] == deployed["version"] and status["database"]["ok"] and status["redis"]["ok"]
    assert status["database"]["done"] == 2 and status["redis"]["created"] == 2  # the smoke test's task and ours
    api_containers = env.ssh("app-1", "docker ps --format '{{.Names}}'").stdout
    assert done["worker"] != status["instance"] and "worker" in api_containers  # done by the worker container
    data = env.ssh("data-1", "docker ps --format '{{.Names}} {{.Status}}'").stdout
    assert "db" in data and "redis" in data and "api" not in data
