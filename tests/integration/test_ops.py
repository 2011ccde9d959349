"""Day-2 commands on real hosts: status against the release, logs merged and followed across a rolling
deploy, exec (plain, through a pty, one-off), ssh, audit, prune, secrets diff and sync (one changed key
restarts only its service, no failed request); last, the same hosts as an `ssh` environment reached
as a non-root user through sudo (infra up + deploy)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
import urllib.request

import pytest
import yaml

from tests.hosts import ROOT, STAGECRAFT
from tests.load import Load

pytestmark = pytest.mark.hosts
EXAMPLE = ROOT / "examples" / "shop"
EXTRA = """
services:
  web:
    port: 8080
    secrets: [WEB_TOKEN]
    rollout: {strategy: rolling, healthcheck_timeout: 30, drain_seconds: 1}
  api:
    secrets: [API_TOKEN]
"""
ENV_LOCAL = "APP_HEALTHY=true\nWEB_TOKEN=web-token-1\nAPI_TOKEN=api-token-1\n"


@pytest.fixture(scope="module")
def shop(local_hosts):
    compose = yaml.safe_load((EXAMPLE / "docker-compose.yml").read_text())
    # api: a second service of the same image, so `secrets sync` has a service to leave alone.
    compose["services"] = {"web": compose["services"]["web"],
                           "api": {**compose["services"]["web"], "deploy": {"replicas": 1}}}
    compose.pop("volumes", None)
    files = {"docker-compose.yml": yaml.safe_dump(compose), ".env.local": ENV_LOCAL,
             "web/Dockerfile": (EXAMPLE / "web" / "Dockerfile").read_text(),
             "web/start.sh": (EXAMPLE / "web" / "start.sh").read_text()}
    env = local_hosts.create("ops", {"app-1": ["app"], "gw-1": ["gateway"]}, extra_config=EXTRA, files=files,
                             up=False)
    text = env.config_path.read_text()
    text = text.replace("    driver: local\n", "    driver: local\n    env_file: .env.local\n")
    text = text.replace("  app:\n    public: false\n", "  app:\n    public: false\n    services: [web, api]\n")
    env.config_path.write_text(text)
    env.up()
    env.cli("deploy", "-e", "local", "--version", "v1")
    return env


def test_status_matches_the_release_then_names_a_missing_service(shop):
    proc = shop.cli("status", "-e", "local", "-o", "json")
    data = json.loads(proc.stdout)
    assert data["ok"] and data["version"] == "v1"
    app = next(h for h in data["hosts"] if h["host"] == "app-1")
    assert app["services"]["web"]["state"] == "ok" and app["services"]["web"]["containers"] == 2
    assert any(servers for servers in app["routes"].values())  # the edge's live upstreams
    # Remove the web containers by hand: status says so and exits 1.
    shop.ssh("app-1", f"docker rm -f $(docker ps -q --filter label=com.docker.compose.service=web "
                      f"--filter label=com.docker.compose.project={shop.project})")
    proc = shop.cli("status", "-e", "local", check=False)
    assert proc.returncode == 1
    assert "missing" in proc.stdout and "web" in proc.stdout
    shop.cli("deploy", "-e", "local", "--version", "v1")  # repaired (drift is redeployed)
    assert shop.cli("status", "-e", "local", check=False).returncode == 0


def say(shop, name: str, text: str) -> None:
    """A line on a container's own stdout (what `docker logs` shows)."""
    shop.ssh("app-1", f"docker exec {name} /bin/busybox sh -c 'echo {text} > /proc/1/fd/1'")


def web_containers(shop) -> set[str]:
    return set(shop.ssh("app-1", f"docker ps --format '{{{{.Names}}}}' --filter "
                                 f"label=com.docker.compose.project={shop.project} "
                                 "--filter label=com.docker.compose.service=web").stdout.split())


def test_logs_are_merged_with_host_and_container(shop):
    names = sorted(web_containers(shop))
    for name in names:
        say(shop, name, f"marker-{name}")
    proc = shop.cli("logs", "-e", "local", "web", "--tail", "5", "-o", "json")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {(x["host"], x["container"], x["line"]) for x in lines} >= {("app-1", n, f"marker-{n}") for n in names}
    proc = shop.cli("logs", "-e", "local", "web", "--grep", f"marker-{names[0]}$")
    assert proc.stdout.count("marker-") == 1 and f"app-1 {names[0]} | marker-{names[0]}" in proc.stdout
    proc = shop.cli("logs", "-e", "local", "nope", check=False)
    assert proc.returncode == 1 and "unknown service 'nope'" in proc.stderr


def test_logs_follow_picks_up_the_containers_of_a_rolling_deploy(shop):
    follower = subprocess.Popen([STAGECRAFT, "logs", "-e", "local", "web", "-f", "-o", "json"], cwd=shop.project_dir,
                                env=shop.environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        shop.cli("deploy", "-e", "local", "--version", "v2")
        new = web_containers(shop)
        for name in new:
            say(shop, name, f"after-deploy-{name}")
        time.sleep(4)
    finally:
        follower.terminate()
        out, _ = follower.communicate(timeout=30)
    seen = {(x["container"], x["line"]) for x in map(json.loads, filter(str.strip, out.splitlines()))}
    assert {(n, f"after-deploy-{n}") for n in new} <= seen, f"new containers {new}; saw {seen}"


def test_exec_runs_in_the_container_and_through_a_pty(shop):
    proc = shop.cli("exec", "-e", "local", "web", "--", "/bin/busybox", "cat", "/www/health")
    assert proc.stdout.strip() == "ok"
    proc = shop.cli("exec", "-e", "local", "web", "--", "/bin/busybox", "sh", "-c", "exit 7", check=False)
    assert proc.returncode == 7
    proc = shop.cli("exec", "-e", "local", "--new", "web", "--", "/bin/busybox", "echo", "one-off", check=False)
    assert proc.stdout.strip() == "one-off", proc.stderr
    # Interactive: a real terminal on our side, a shell in the container reading what we type.
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(shop.project_dir)
        os.execve(STAGECRAFT, [STAGECRAFT, "exec", "-e", "local", "-it", "web", "--", "/bin/busybox", "sh"],
                  shop.environ())
    os.write(fd, b"echo pty-$((6*7)); exit\n")
    seen, deadline = b"", time.monotonic() + 60
    while time.monotonic() < deadline and b"pty-42" not in seen:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running after the deadline: never hang the suite
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert b"pty-42" in seen


def test_ssh_runs_a_command_on_the_host(shop):
    proc = shop.cli("ssh", "-e", "local", "app-1", "--", "hostname")
    assert proc.stdout.strip() == "app-1"


def test_audit_says_who_deployed_what(shop):
    rows = json.loads(shop.cli("audit", "-e", "local", "-o", "json").stdout)
    deploys = [r for r in rows if r["kind"] == "deploy"]
    assert deploys and deploys[0]["status"] == "completed"
    assert deploys[0]["user"] and deploys[0]["machine"] and "deploy -e local" in deploys[0]["command"]


def test_prune_removes_old_images_and_keeps_rollback_working(shop):
    shop.cli("deploy", "-e", "local", "--version", "v3")
    images = shop.ssh("app-1", "docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split()
    assert {f"{shop.project}/web:{v}" for v in ("v1", "v2", "v3")} <= set(images)
    data = json.loads(shop.cli("prune", "-e", "local", "--keep", "2", "-o", "json").stdout)
    assert f"{shop.project}/web:v1" in data["hosts"]["app-1"]["removed"]
    left = set(shop.ssh("app-1", "docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split())
    assert f"{shop.project}/web:v1" not in left
    assert {f"{shop.project}/web:v2", f"{shop.project}/web:v3"} <= left
    assert "stagecraft/edge" in " ".join(left)  # never a non-project image
    out = json.loads(shop.cli("rollback", "-e", "local", "--to-previous", "-o", "json").stdout)
    assert out["version"] == "v2"
    assert f"{shop.project}/web:v2" in shop.ssh("app-1", "docker ps --format '{{.Image}}'").stdout


def test_secrets_diff_names_what_changed_never_values(shop):
    proc = shop.cli("secrets", "diff", "-e", "local", "-o", "json", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["app-1"] == {"added": [], "changed": [], "removed": []}
    env_file = shop.project_dir / ".env.local"
    env_file.write_text(ENV_LOCAL + "NEW_SETTING=canary-value-77\n")
    try:
        proc = shop.cli("secrets", "diff", "-e", "local", check=False)
        assert proc.returncode == 1
        assert "added NEW_SETTING" in proc.stdout and "canary-value-77" not in proc.stdout + proc.stderr
    finally:
        env_file.write_text(ENV_LOCAL)


def containers(shop, host: str) -> dict[str, set[str]]:
    """service -> ids of its running containers on the host, plus the host's shared edge proxy."""
    out = shop.ssh(host, f"docker ps --filter label=com.docker.compose.project={shop.project} "
                         "--format '{{.Label \"com.docker.compose.service\"}} {{.ID}}'").stdout
    edge = shop.ssh(host, "docker ps --filter name=^stagecraft-edge$ --format '{{.ID}}'").stdout.strip()
    found: dict[str, set[str]] = {"stagecraft-edge": {edge}} if edge else {}
    for line in out.split("\n"):
        if line.strip():
            service, cid = line.split()
            found.setdefault(service, set()).add(cid)
    return found


def test_secrets_sync_restarts_only_the_services_of_the_changed_key(shop):
    before = {h: containers(shop, h) for h in ("app-1", "gw-1")}
    env_file = shop.project_dir / ".env.local"
    env_file.write_text(ENV_LOCAL.replace("web-token-1", "web-token-canary-2"))
    try:
        dry = json.loads(shop.cli("secrets", "sync", "-e", "local", "--dry-run", "-o", "json").stdout)
        assert dry["hosts"]["app-1"]["changed"] == ["WEB_TOKEN"] and dry["hosts"]["app-1"]["services"] == ["web"]
        assert dry["release"] is None and containers(shop, "app-1") == before["app-1"]
        with Load(f"http://{shop.hosts['gw-1']}/", workers=2) as load:
            time.sleep(1)
            proc = shop.cli("secrets", "sync", "-e", "local", "-o", "json")
            time.sleep(1)
        assert load.failed == 0 and load.ok > 0, load.errors
        assert "web-token-canary-2" not in proc.stdout + proc.stderr
        data = json.loads(proc.stdout)
        assert data["hosts"]["app-1"]["restarted"] == ["web"] and data["release"]
        assert "gw-1" not in data["hosts"] or not data["hosts"]["gw-1"].get("restarted")
        after = {h: containers(shop, h) for h in ("app-1", "gw-1")}
        assert after["app-1"]["web"].isdisjoint(before["app-1"]["web"])  # rolled
        assert after["app-1"]["api"] == before["app-1"]["api"]  # its key did not change
        assert after["app-1"]["stagecraft-edge"] == before["app-1"]["stagecraft-edge"]
        assert after["gw-1"] == before["gw-1"]
        web = sorted(after["app-1"]["web"])[0]
        assert shop.ssh("app-1", f"docker exec {web} /bin/busybox sh -c 'echo $WEB_TOKEN'").stdout.strip() == \
            "web-token-canary-2"
        kinds = json.loads(shop.cli("releases", "list", "-e", "local", "--kind", "secrets", "-o", "json").stdout)
        assert [r["id"] for r in kinds] == [data["release"]] and kinds[0]["status"] == "completed"
        assert shop.cli("secrets", "diff", "-e", "local", check=False).returncode == 0
        again = json.loads(shop.cli("secrets", "sync", "-e", "local", "-o", "json").stdout)
        assert again["release"] is None  # nothing differs: nothing rolled, nothing recorded
    finally:
        env_file.write_text(ENV_LOCAL)


SUDOER = """set -e
id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy
"""


def test_infra_up_and_deploy_as_a_non_root_user_through_sudo(shop):
    """The same hosts as existing servers (driver ssh) reached as `deploy`, a user with passwordless
    sudo and no docker group: the roles become root, Stagecraft's own SSH commands run through sudo."""
    for host in shop.hosts:
        shop.ssh(host, SUDOER)
    config = yaml.safe_load(shop.config_path.read_text())
    config["environments"]["remote"] = {
        "driver": "ssh", "env_file": ".env.local", "ssh": {"user": "deploy", "key": ".stagecraft/ssh/id_ed25519"},
        "vars": {"bootstrap_docker_source": "distro"},  # Docker's apt repository is not reachable from the tests
        "hosts": {h: {"roles": list(shop.roles[h]), "address": a} for h, a in shop.hosts.items()}}
    shop.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    shop.cli("hosts", "trust", "-e", "remote", "--yes")
    up = json.loads(shop.cli("infra", "up", "-e", "remote", "-o", "json").stdout)
    assert {h["name"]: h["action"] for h in up["hosts"]} == {"app-1": "existing", "gw-1": "existing"}
    assert all(h["configure"]["failed"] == 0 and h["configure"]["unreachable"] == 0 for h in up["hosts"])
    shop.cli("deploy", "-e", "remote", "--version", "v4")
    with urllib.request.urlopen(f"http://{shop.hosts['gw-1']}/", timeout=10) as resp:
        assert resp.read().decode().startswith("shop v4")
    app = shop.ssh("app-1", "id -nG deploy; ls -d /home/deploy/.ansible; "
                            f"stat -c %U /srv/stagecraft/{shop.project}/journal/remote; "
                            f"docker ps --filter label=stagecraft.env=remote --format '{{{{.Image}}}}'").stdout
    groups, ansible_home, journal_owner, *images = app.split("\n")
    assert "docker" not in groups.split() and ansible_home == "/home/deploy/.ansible"  # Ansible logged in as deploy
    assert journal_owner == "root" and f"{shop.project}/web:v4" in images  # SSH commands ran as root
    assert shop.cli("status", "-e", "remote", check=False).returncode == 0
