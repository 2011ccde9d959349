"""Deploys that are killed or race on real local hosts: two machines (two state dirs) exclude each
other through the lock kept on the hosts; a killed deploy never needs a human before the next one."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest

from tests.hosts import STAGECRAFT
from tests.load import Load

pytestmark = pytest.mark.hosts
EXTRA = """
services:
  web:
    port: 8080
    rollout:
      strategy: rolling
      healthcheck_timeout: 30
      drain_seconds: 1
"""


@pytest.fixture(scope="module")
def shop(local_hosts):
    env = local_hosts.web_env("crash", {"app-1": ["app"], "app-2": ["app"], "gw-1": ["gateway"]},
                              extra_config=EXTRA, env_file="APP_HEALTHY=true\nSHOP_SECRET=x\n")
    env.cli("deploy", "--version", "v1", "-o", "json")
    return env


def second_machine(env, name: str):
    """Another state dir with only what a second machine would be given: the SSH key and known hosts."""
    other = env.project_dir.parent / f"{env.name}-{name}-state"
    shutil.rmtree(other, ignore_errors=True)
    for sub in ("ssh", "known_hosts"):
        shutil.copytree(env.state_dir / sub, other / sub)
    return other


def start_deploy(env, version: str, state_dir=None) -> subprocess.Popen:
    environ = env.environ({"STAGECRAFT_STATE_DIR": str(state_dir)} if state_dir else None)
    return subprocess.Popen([STAGECRAFT, "deploy", "--version", version, "-o", "json"], cwd=env.project_dir,
                            env=environ, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def web_images(env) -> dict:
    return {h: sorted(set(env.ssh(h, "docker ps --format '{{.Image}}' --filter label=com.docker.compose.service=web"
                                  ).stdout.split())) for h in ("app-1", "app-2")}


def test_two_machines_deploying_at_once_exactly_one_proceeds(shop):
    other = second_machine(shop, "b")
    a = start_deploy(shop, "v2")
    b = start_deploy(shop, "v2", state_dir=other)
    results = [(p.pid, *p.communicate(timeout=900), p.returncode) for p in (a, b)]
    codes = sorted(r[3] for r in results)
    assert codes == [0, 1], results
    (winner,) = [r for r in results if r[3] == 0]
    (loser,) = [r for r in results if r[3] == 1]
    assert "locked on host app-1 by" in loser[2] and f"pid {winner[0]}" in loser[2], loser[2]
    assert "deploy --version v2" in loser[2]
    assert web_images(shop) == {"app-1": [f"{shop.project}/web:v2"], "app-2": [f"{shop.project}/web:v2"]}
    # The winner released the lock on every host.
    status = json.loads(shop.cli("lock", "status", "-o", "json").stdout)
    assert status["locked"] is False and set(status["hosts"]) == {"app-1", "app-2", "gw-1"}


def _kill_when(proc, env, marker: str, sig) -> None:
    """Send `sig` once the deploy reached `marker` on app-1 (a file or container state seen over SSH)."""
    deadline = time.monotonic() + 600
    while env.ssh("app-1", marker, check=False).returncode != 0:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"never reached: {marker}"
        time.sleep(0.2)
    proc.send_signal(sig)


KILL_POINTS = [
    # 1: right after the lock was taken on the hosts (before anything changed)
    ("lock", "test -d /srv/stagecraft/{p}/locks/local.lock", signal.SIGKILL),
    # 2: in the middle of the rolling switch of web on app-1 (new containers beside the old)
    ("mid-rollout", "test $(docker ps -q --filter label=com.docker.compose.service=web | wc -l) -gt 2",
     signal.SIGKILL),
    # 3: Ctrl-C in the middle of the rollout
    ("ctrl-c", "test $(docker ps -q --filter label=com.docker.compose.service=web | wc -l) -gt 2", signal.SIGINT),
]


@pytest.mark.parametrize("point, marker, sig", KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_a_killed_deploy_needs_no_human_before_the_next_one(shop, point, marker, sig):
    version = f"k{KILL_POINTS.index((point, marker, sig))}"
    with Load(f"http://{shop.hosts['gw-1']}/") as load:
        proc = start_deploy(shop, version)
        _kill_when(proc, shop, marker.format(p=shop.project), sig)
        proc.communicate(timeout=600)
        assert proc.returncode != 0
        # At once, no `lock release`, no cleanup by hand.
        nxt = shop.cli("deploy", "--version", f"{version}-next", "-o", "json", check=False)
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert load.failed == 0, load.errors
    assert web_images(shop) == {h: [f"{shop.project}/web:{version}-next"] for h in ("app-1", "app-2")}
    rows = json.loads(shop.cli("releases", "list", "--kind", "deploy", "-o", "json").stdout)
    assert rows[0]["status"] == "completed" and rows[0]["version"] == f"{version}-next"
    # The killed deploy's release (if it got as far as recording one) is interrupted, never running.
    killed = [r for r in rows if r["version"] == version]
    assert [r["status"] for r in killed] in ([], ["interrupted"]), killed
    assert point == "lock" or killed, "the deploy was killed after it recorded its release"
    assert not [r for r in rows if r["status"] == "running"]


def test_leftovers_of_an_interrupted_run_are_cleaned_before_the_rollout(shop):
    """What a run cut in the middle leaves: a container Compose renamed to <id>_<name> while recreating
    it, surplus scaled containers, one of them stopped (Compose would start it again, old image and all,
    as one of the 'new' containers). The host's shared edge is left alone."""
    compose = (f"docker compose -p {shop.project} --project-directory /srv/stagecraft/{shop.project} "
               f"-f /srv/stagecraft/{shop.project}/compose.yaml")
    edge_id = shop.ssh("gw-1", "docker ps -q --no-trunc --filter name=^stagecraft-edge$").stdout.split()
    shop.ssh("app-1", f"{compose} up -d --no-deps --no-recreate --scale web=4 web")
    surplus = shop.ssh("app-1", "docker ps -q --filter label=com.docker.compose.service=web").stdout.split()
    assert len(surplus) == 4
    shop.ssh("app-1", f"docker stop {surplus[0]}")
    name = shop.ssh("app-1", f"docker inspect --format '{{{{.Name}}}}' {surplus[1]}").stdout.strip().lstrip("/")
    shop.ssh("app-1", f"docker rename {surplus[1]} {surplus[1][:12]}_{name}")
    with Load(f"http://{shop.hosts['gw-1']}/") as load:
        shop.cli("deploy", "--version", "clean", "-o", "json")
    assert load.failed == 0, load.errors
    assert shop.ssh("gw-1", "docker ps -q --no-trunc --filter name=^stagecraft-edge$").stdout.split() == edge_id
    images = shop.ssh("app-1", "docker ps -a --format '{{.Image}}' --filter label=com.docker.compose.service=web"
                      ).stdout.split()
    assert images == [f"{shop.project}/web:clean"] * 2


def test_a_failed_batch_puts_every_host_back_on_the_previous_release(shop):
    rows = json.loads(shop.cli("releases", "list", "--kind", "deploy", "-o", "json").stdout)
    before = next(r["version"] for r in rows if r["status"] == "completed")
    # A release that is bad by itself (its compose file), not by the environment's values: putting
    # the previous release back must then give healthy hosts.
    compose = shop.project_dir / "docker-compose.yml"
    good = compose.read_text()
    compose.write_text(good.replace("APP_HEALTHY: ${APP_HEALTHY:-true}", 'APP_HEALTHY: "false"'))
    try:
        with Load(f"http://{shop.hosts['gw-1']}/") as load:
            proc = shop.cli("deploy", "--version", "bad", "-o", "json", check=False)
    finally:
        compose.write_text(good)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "hosts put back on the previous release" in proc.stderr
    # The batch failed on app-1 (the first app host): the run reached it only, and it is put back.
    assert f"  app-1: {before}" in proc.stderr, proc.stderr
    assert load.failed == 0, load.errors
    assert web_images(shop) == {h: [f"{shop.project}/web:{before}"] for h in ("app-1", "app-2")}


def test_an_empty_state_dir_sees_the_history_and_rolls_back(shop):
    """A second checkout (a CI runner) with an empty .stagecraft/: only the SSH key and known hosts."""
    other = second_machine(shop, "ci")
    mine = json.loads(shop.cli("releases", "list", "-e", "local", "--kind", "deploy", "-o", "json").stdout)
    theirs = json.loads(shop.cli("releases", "list", "-e", "local", "--kind", "deploy", "-o", "json",
                                 env={"STAGECRAFT_STATE_DIR": str(other)}).stdout)
    finished = [(r["id"], r["version"], r["status"]) for r in mine if r["status"] != "running"]
    assert [(r["id"], r["version"], r["status"]) for r in theirs] == finished
    completed = [r for r in mine if r["status"] == "completed"]
    plan = json.loads(shop.cli("plan", "--version", "next", "-o", "json",
                               env={"STAGECRAFT_STATE_DIR": str(other)}).stdout)
    assert plan["current_release"] == completed[0]["id"]
    back = json.loads(shop.cli("rollback", "--to-previous", "-o", "json",
                               env={"STAGECRAFT_STATE_DIR": str(other)}).stdout)
    assert back["target"] == completed[1]["id"]
    assert web_images(shop) == {h: [f"{shop.project}/web:{completed[1]['version']}"] for h in ("app-1", "app-2")}
    # The first machine sees the rollback the other one made.
    rows = json.loads(shop.cli("releases", "list", "-e", "local", "-o", "json").stdout)
    assert rows[0]["id"] == back["release"] and rows[0]["kind"] == "rollback" and rows[0]["status"] == "completed"
