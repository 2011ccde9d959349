"""The deploy pipeline on real local hosts: build, ship over SSH, zero-downtime rollout under load,
a failing healthcheck that keeps the old version serving, rollback without rebuilding, plan, secrets."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.load import Load

pytestmark = pytest.mark.hosts
CANARY = "shop-secret-canary-93e1b7"

EXTRA = """
services:
  web:
    port: 8080
    secrets: [SHOP_SECRET]
    rollout:
      strategy: rolling
      healthcheck_timeout: 20
      drain_seconds: 1
      pre_stop: [/bin/busybox, sh, -c, "echo drained $(/bin/busybox hostname)"]
"""


@pytest.fixture(scope="module")
def shop(local_hosts):
    env = local_hosts.web_env("deploy", {"app-1": ["app"], "app-2": ["app"], "gw-1": ["gateway"]},
                              extra_config=EXTRA)
    return env


def deploy(env, *args, check=True):
    return env.cli("deploy", *args, "-o", "json", env={"SHOP_SECRET": CANARY}, check=check)


def url_of(env) -> str:
    return f"http://{env.hosts['gw-1']}/"


def get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode().split(" from ")[0]


def test_first_deploy_answers_through_the_gateway(shop):
    data = json.loads(deploy(shop, "--version", "v1").stdout)
    assert data["urls"] == {url_of(shop): data["urls"][url_of(shop)]}
    assert data["urls"][url_of(shop)].startswith("200 shop v1")
    assert {h: s["web"]["result"] for h, s in data["hosts"].items() if "web" in s} == {
        "app-1": "created", "app-2": "created"}
    release = json.loads(shop.cli("releases", "show", data["release"], "-o", "json").stdout)
    assert release["status"] == "completed"
    assert {p["name"]: p["status"] for p in release["phases"]} == {
        "build": "completed", "push": "completed", "migrate_pre": "skipped", "rollout": "completed",
        "migrate_post": "skipped", "finalize": "completed"}
    assert release["manifest"]["images"]["web"]["ref"] == f"{shop.project}/web:v1"
    assert release["manifest"]["images"]["web"]["id"].startswith("sha256:")
    assert set(release["manifest"]["hosts"]) == {"app-1", "app-2", "gw-1"}
    assert len(release["manifest"]["config_digest"]) == 64
    assert all(len(h["compose_hash"]) == 64 for h in release["manifest"]["hosts"].values())
    # Two replicas on each app host, no host ports: only the edge proxy publishes.
    ps = shop.ssh("app-1", "docker ps --format '{{.Names}} {{.Ports}}'").stdout
    assert len([line for line in ps.splitlines() if "-web-" in line]) == 2
    assert "0.0.0.0:8000->8000/tcp" in ps  # the host's shared edge, for the gateway


def test_secrets_reach_the_host_in_a_private_file_only(shop):
    env_file = shop.ssh("app-1", f"stat -c %a /srv/stagecraft/{shop.project}/.env; "
                                 f"cat /srv/stagecraft/{shop.project}/.env").stdout.split("\n", 1)
    assert env_file[0] == "600"
    assert f'SHOP_SECRET="{CANARY}"' in env_file[1]  # quoted: see commands/dotenv.py
    for path in shop.state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_noop_redeploy_changes_nothing(shop):
    start = time.monotonic()
    data = json.loads(deploy(shop, "--version", "v1").stdout)
    elapsed = time.monotonic() - start
    assert {h: s["web"]["result"] for h, s in data["hosts"].items() if "web" in s} == {
        "app-1": "unchanged", "app-2": "unchanged"}
    assert {h: s["stagecraft-edge"]["result"] for h, s in data["hosts"].items()} == {
        "app-1": "unchanged", "app-2": "unchanged", "gw-1": "unchanged"}
    print(f"no-op redeploy of 3 hosts: {elapsed:.1f} s")
    rollout = json.loads(shop.cli("releases", "show", data["release"], "-o", "json").stdout)["manifest"]["rollout"]
    assert all(r["rollout"].startswith("skipped") for r in rollout.values())  # no Ansible run was needed


def test_redeploy_repairs_a_host_that_drifted(shop):
    web = "--filter label=com.docker.compose.service=web"
    victim = shop.ssh("app-2", f"docker ps -q {web}").stdout.split()[0]
    shop.ssh("app-2", f"docker rm -f {victim}")
    data = json.loads(deploy(shop, "--version", "v1").stdout)
    rollout = json.loads(shop.cli("releases", "show", data["release"], "-o", "json").stdout)["manifest"]["rollout"]
    assert rollout["app-1"]["rollout"].startswith("skipped") and "rollout" not in rollout["app-2"]
    assert data["hosts"]["app-2"]["web"]["result"] != "unchanged"
    assert len(shop.ssh("app-2", f"docker ps -q {web}").stdout.split()) == 2
    forced = json.loads(deploy(shop, "--version", "v1", "--force").stdout)
    shown = json.loads(shop.cli("releases", "show", forced["release"], "-o", "json").stdout)
    assert not any("rollout" in r for r in shown["manifest"]["rollout"].values())  # --force: Ansible on every host
    assert {h["host"]: h["changed"] for h in shown["hosts"]} == {"app-1": 0, "app-2": 0, "gw-1": 0}  # idempotent


def test_rollout_under_load_loses_no_request(shop):
    with Load(url_of(shop)) as load:
        time.sleep(1)
        data = json.loads(deploy(shop, "--version", "v2").stdout)
        time.sleep(1)
    assert data["urls"][url_of(shop)].startswith("200 shop v2")
    assert load.failed == 0, load.errors
    assert load.ok > 100 and set(load.bodies) == {"shop v1", "shop v2"}
    # The pre-stop hook ran inside each old container (its hostname is its id) before it was removed.
    for host in ("app-1", "app-2"):
        web = data["hosts"][host]["web"]
        assert web["result"] == "rolled" and len(web["removed"]) == 2
        assert sorted(h["output"] for h in web["pre_stop"]) == sorted(f"drained {c}" for c in web["removed"])
        assert all(h["rc"] == 0 for h in web["pre_stop"])


def test_failing_healthcheck_keeps_the_old_version_serving(shop):
    (shop.project_dir / ".env.local").write_text("APP_HEALTHY=false\n")
    try:
        with Load(url_of(shop)) as load:
            proc = deploy(shop, "--version", "v3", check=False)
    finally:
        (shop.project_dir / ".env.local").write_text("APP_HEALTHY=true\n")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "did not become healthy" in proc.stderr and "keep serving" in proc.stderr
    assert load.failed == 0, load.errors
    assert set(load.bodies) == {"shop v2"}
    assert get(url_of(shop)) == "shop v2"
    releases = json.loads(shop.cli("releases", "list", "--kind", "deploy", "-o", "json").stdout)
    failed = json.loads(shop.cli("releases", "show", releases[0]["id"], "-o", "json").stdout)
    assert failed["status"] == "failed"
    assert {p["name"]: p["status"] for p in failed["phases"]}["rollout"] == "failed"
    assert {p["name"]: p["status"] for p in failed["phases"]}["finalize"] == "skipped"
    assert any("did not become healthy" in f["message"] for f in failed["failed_tasks"])
    # The batch failed on app-1: app-2 was never touched.
    images = shop.ssh("app-2", "docker ps --format '{{.Image}}'").stdout.split()
    assert f"{shop.project}/web:v3" not in images and f"{shop.project}/web:v2" in images


def test_rollback_redeploys_recorded_images_without_building(shop):
    before = subprocess.run(["docker", "images", "-q", "--no-trunc"], capture_output=True, text=True).stdout.split()
    missing = shop.cli("rollback", "--to-version", "v1", check=False)
    assert missing.returncode == 1 and "secrets not set: SHOP_SECRET" in missing.stderr
    proc = shop.cli("rollback", "--to-version", "v1", "-o", "json", env={"SHOP_SECRET": CANARY})
    data = json.loads(proc.stdout)
    assert "building" not in proc.stderr
    after = subprocess.run(["docker", "images", "-q", "--no-trunc"], capture_output=True, text=True).stdout.split()
    assert set(after) <= set(before)  # nothing was built
    assert get(url_of(shop)) == "shop v1"
    release = json.loads(shop.cli("releases", "show", data["release"], "-o", "json").stdout)
    assert release["kind"] == "rollback" and release["status"] == "completed"
    assert {p["name"]: p["status"] for p in release["phases"]}["build"] == "skipped"
    bad = shop.cli("rollback", check=False)
    assert bad.returncode == 1 and "exactly one of" in bad.stderr


def test_plan_shows_exactly_what_changes(shop):
    data = json.loads(shop.cli("plan", "--version", "v9", "-o", "json").stdout)
    assert data["current_version"] == "v1"
    changes = {h["host"]: h["services"] for h in data["hosts"]}
    assert changes["app-1"]["web"] == f"image {shop.project}/web:v1 -> {shop.project}/web:v9"
    assert changes["app-1"]["stagecraft-edge"] == "unchanged"
    assert changes["gw-1"] == {"stagecraft-edge": "unchanged"}
    assert [h["host"] for h in data["hosts"]] == ["app-1", "app-2", "gw-1"]  # apps before the gateway
    same = json.loads(shop.cli("plan", "--version", "v1", "-o", "json").stdout)
    assert all(set(h["services"].values()) == {"unchanged"} for h in same["hosts"])


def test_a_changed_proxy_configuration_is_reloaded_without_restarting_the_proxy(shop):
    import urllib.error

    edge = "--filter name=^stagecraft-edge$"
    before = shop.ssh("gw-1", f"docker ps -q {edge}").stdout.split()
    original = shop.config_path.read_text()
    # Only the routes change; the proxy's container stays the same.
    shop.config_path.write_text(original.replace("  web:\n    port: 8080\n",
                                                 "  web:\n    port: 8080\n    public: {path: /moved/}\n"))
    try:
        data = json.loads(deploy(shop, "--version", "v1").stdout)
        assert data["hosts"]["gw-1"]["stagecraft-edge"] == {**data["hosts"]["gw-1"]["stagecraft-edge"],
                                                             "result": "unchanged", "config": "reloaded"}
        assert shop.ssh("gw-1", f"docker ps -q {edge}").stdout.split() == before
        assert data["urls"][url_of(shop)] == "404 Not Found"
        with pytest.raises(urllib.error.HTTPError) as err:  # "/" is no longer routed
            get(url_of(shop))
        assert err.value.code == 404
    finally:
        shop.config_path.write_text(original)
    data = json.loads(deploy(shop, "--version", "v1").stdout)
    assert data["hosts"]["gw-1"]["stagecraft-edge"]["config"] == "reloaded"
    assert get(url_of(shop)) == "shop v1"
