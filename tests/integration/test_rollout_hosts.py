"""Rollouts on a real local host (issue #14): a stateful service built from the repo is not restarted by
releases that do not change its image or configuration (compared by image ID, not tag); a web service
without a Docker healthcheck is checked over HTTP before the edge proxy routes to it; a container whose
PID 1 ignores SIGTERM is stopped after the compose stop_grace_period and reported.

The app: tests/rollout_app.py (one host; db, web without a Docker healthcheck, a worker ignoring TERM)."""

from __future__ import annotations

import json
import urllib.request

import pytest
import yaml

from tests import rollout_app
from tests.rollout_app import change_web
from tests.rollout_app import containers as inspect

pytestmark = pytest.mark.hosts
RESULTS: dict[str, dict] = {}  # version -> deploy output (JSON), stderr under "stderr"


@pytest.fixture(scope="module")
def app(local_hosts):
    return rollout_app.create(local_hosts, "rollout")


def deploy(env, version: str, check: bool = True):
    proc = env.cli("deploy", "--version", version, "-o", "json", check=check)
    if proc.returncode == 0:
        RESULTS[version] = {**json.loads(proc.stdout), "stderr": proc.stderr}
    return proc


def page(env) -> str:
    with urllib.request.urlopen(f"http://{env.hosts['app-1']}/", timeout=10) as resp:
        return resp.read().decode().split(" from ")[0]


def test_releases_that_only_change_web_leave_the_database_alone(app):
    first = json.loads(deploy(app, "v1").stdout)
    assert {s: r["result"] for s, r in first["hosts"]["app-1"].items()} == {
        "db": "recreated", "web": "created", "worker": "created", "stagecraft-edge": "created"}  # the shared edge, new on this host
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
