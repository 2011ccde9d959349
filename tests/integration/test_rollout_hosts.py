"""Rollouts on a real local host (issue #14): a stateful service built from the repo is not restarted by
releases that do not change its image or configuration (compared by image ID, not tag); a web service
without a Docker healthcheck is checked over HTTP before the edge proxy routes to it; a container whose
PID 1 ignores SIGTERM is stopped after the compose stop_grace_period and reported.

One host, three services built from tiny scratch images: `db` (recreate), `web` (rolling, routed,
services.web.healthcheck), `worker` (rolling, ignores TERM, stop_grace_period: 2s)."""

from __future__ import annotations

import json
import urllib.request

import pytest
import yaml

from tests.hosts import EXAMPLE

pytestmark = pytest.mark.hosts

# The example web's build stage (busybox-static from Debian packages), so every image here shares its cache.
TOOLS = (EXAMPLE / "web" / "Dockerfile").read_text().split("FROM scratch")[0]
LOOP = "while :; do /bin/busybox sleep 1; done"
DOCKERFILE = TOOLS + "FROM scratch\nCOPY --from=tools /bin/busybox /bin/busybox\nENTRYPOINT "
COMPOSE = {"services": {
    "web": {"build": "./web", "environment": {"APP_VERSION": "${IMAGE_TAG:-dev}", "APP_HEALTHY": "${APP_HEALTHY:-true}"}},
    "db": {"build": "./db", "environment": {"DB_MODE": "a"}},
    "worker": {"build": "./worker", "environment": {"APP_VERSION": "${IMAGE_TAG:-dev}"}, "stop_grace_period": "2s"},
}}
EXTRA = """
services:
  db:
    role: data
    rollout: {strategy: recreate}
  web:
    role: gateway
    port: 8080
    healthcheck: {path: /health, interval: 1, timeout: 2}
    rollout: {healthcheck_timeout: 10}
  worker:
    role: gateway
"""
RESULTS: dict[str, dict] = {}  # version -> deploy output (JSON), stderr under "stderr"


def entrypoint(script: str) -> str:
    return json.dumps(["/bin/busybox", "sh", "-c", script]) + "\n"


@pytest.fixture(scope="module")
def app(local_hosts):
    files = {
        "docker-compose.yml": yaml.safe_dump(COMPOSE, sort_keys=False),
        "web/Dockerfile": (EXAMPLE / "web" / "Dockerfile").read_text(),
        "web/start.sh": (EXAMPLE / "web" / "start.sh").read_text(),
        # Exits on TERM (a trap: PID 1 has no default handler).
        "db/Dockerfile": DOCKERFILE + entrypoint(f"trap 'exit 0' TERM; {LOOP}"),
        # PID 1 ignores TERM: every stop waits for the kill.
        "worker/Dockerfile": DOCKERFILE + entrypoint(f"trap '' TERM; {LOOP}"),
        ".env.local": "APP_HEALTHY=true\n",
    }
    env = local_hosts.create("rollout", {"app-1": ["data", "gateway"]}, extra_config=EXTRA, files=files, up=False)
    env.config_path.write_text(env.config_path.read_text().replace(
        "    driver: local\n", "    driver: local\n    env_file: .env.local\n"))
    env.up()
    return env


def deploy(env, version: str, check: bool = True):
    proc = env.cli("deploy", "--version", version, "-o", "json", check=check)
    if proc.returncode == 0:
        RESULTS[version] = {**json.loads(proc.stdout), "stderr": proc.stderr}
    return proc


def inspect(env, service: str) -> list[dict]:
    """[{id, started, image}] of the service's running containers on app-1."""
    fmt = "{{.Id}} {{.State.StartedAt}} {{.Config.Image}}"
    out = env.ssh("app-1", f"docker inspect --format '{fmt}' $(docker ps -q --filter "
                           f"label=com.docker.compose.project={env.project} "
                           f"--filter label=com.docker.compose.service={service})").stdout
    return [dict(zip(("id", "started", "image"), line.split())) for line in out.splitlines()]


def page(env) -> str:
    with urllib.request.urlopen(f"http://{env.hosts['app-1']}/", timeout=10) as resp:
        return resp.read().decode().split(" from ")[0]


def change_web(env, version: str) -> None:
    """A real change of web's image (its start script)."""
    with (env.project_dir / "web" / "start.sh").open("a") as handle:
        handle.write(f"# {version}\n")


def test_releases_that_only_change_web_leave_the_database_alone(app):
    first = json.loads(deploy(app, "v1").stdout)
    assert {s: r["result"] for s, r in first["hosts"]["app-1"].items()} == {
        "db": "recreated", "web": "created", "worker": "created", "stagecraft-edge": "recreated"}
    db = inspect(app, "db")
    assert [c["image"] for c in db] == [f"{app.project}/db:v1"]
    for version in ("v2", "v3"):
        change_web(app, version)
        out = json.loads(deploy(app, version).stdout)["hosts"]["app-1"]
        assert out["db"]["result"] == "unchanged" and out["web"]["result"] == "rolled", out
        # Same container, never restarted: it still runs the tag it was created from (same image ID).
        assert inspect(app, "db") == db
        assert page(app) == f"shop {version}"
        assert {c["image"] for c in inspect(app, "web")} == {f"{app.project}/web:{version}"}
    release = json.loads(app.cli("releases", "show", RESULTS["v3"]["release"], "-o", "json").stdout)
    assert f"image: {app.project}/db:v1" in release["manifest"]["hosts"]["app-1"]["compose"]
    status = json.loads(app.cli("status", "-o", "json", check=False).stdout)
    assert status["hosts"][0]["services"]["db"]["state"] == "ok", status


def test_a_container_that_ignores_sigterm_is_reported(app):
    slow = RESULTS["v2"]["hosts"]["app-1"]["worker"]["slow_stop"]
    assert slow["seconds"] == 2 and slow["source"] == "stop_grace_period" and len(slow["containers"]) == 1
    assert "worker: 1 old container(s) ignored the stop signal and were killed after 2s (its compose " \
           "stop_grace_period)" in RESULTS["v2"]["stderr"]
    assert "slow_stop" not in RESULTS["v2"]["hosts"]["app-1"]["web"]  # web's shell forwards TERM and exits


def test_a_real_change_of_the_database_image_or_config_recreates_it(app):
    before = inspect(app, "db")
    with (app.project_dir / "db" / "Dockerfile").open("a") as handle:
        handle.write("LABEL revision=2\n")
    out = json.loads(deploy(app, "v4").stdout)["hosts"]["app-1"]
    after = inspect(app, "db")
    assert out["db"]["result"] == "recreated" and after[0]["id"] != before[0]["id"]
    assert after[0]["image"] == f"{app.project}/db:v4"
    compose = yaml.safe_load((app.project_dir / "docker-compose.yml").read_text())
    compose["services"]["db"]["environment"]["DB_MODE"] = "b"
    (app.project_dir / "docker-compose.yml").write_text(yaml.safe_dump(compose, sort_keys=False))
    out = json.loads(deploy(app, "v5").stdout)["hosts"]["app-1"]
    assert out["db"]["result"] == "recreated" and inspect(app, "db")[0]["id"] != after[0]["id"]
    assert inspect(app, "db")[0]["image"] == f"{app.project}/db:v4"  # same image: the tag it runs is kept


def test_a_web_failing_its_http_healthcheck_never_gets_traffic(app):
    serving = inspect(app, "web")
    (app.project_dir / ".env.local").write_text("APP_HEALTHY=false\n")  # no /health: 404
    try:
        proc = deploy(app, "v6", check=False)
    finally:
        (app.project_dir / ".env.local").write_text("APP_HEALTHY=true\n")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "did not answer GET /health with 200 within 10s" in proc.stderr and "404" in proc.stderr
    assert "keep serving" in proc.stderr
    assert page(app) == "shop v5"
    assert inspect(app, "web") == serving
