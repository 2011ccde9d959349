"""The example app split over hosts: web on app-1 reads and writes PostgreSQL on db-1 by its compose name,
a cross-host `depends_on` does not break the host's compose file, and the database port answers only
the environment's hosts."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest
import yaml

from tests.hosts import EXAMPLE, example_files

pytestmark = pytest.mark.hosts
PASSWORD = "x-host-canary-7c2d"


@pytest.fixture(scope="module")
def shop(local_hosts):
    files = example_files("web", "db")
    compose = yaml.safe_load(files["docker-compose.yml"])
    compose["services"]["web"]["depends_on"] = {"db": {"condition": "service_healthy"}}  # across hosts
    # Files the compose file refers to: they must reach the hosts that run these services.
    compose["services"]["web"]["env_file"] = ["./web.env"]
    compose["services"]["db"]["secrets"] = ["dbpass"]
    compose["secrets"] = {"dbpass": {"file": "./db/password.txt"}}
    files["web.env"] = "SHOP_GREETING=hello from web.env\n"
    files["db/password.txt"] = PASSWORD + "\n"
    files["docker-compose.yml"] = yaml.safe_dump(compose, sort_keys=False)
    files["maintenance.html"] = (EXAMPLE / "maintenance.html").read_text()  # the example's edge.maintenance.page
    for path in sorted((EXAMPLE / "db" / "migrations").glob("*.sql")):
        files[f"db/migrations/{path.name}"] = path.read_text()
    files[".env.local"] = (f"SHOP_DB_PASSWORD={PASSWORD}\n"
                           "SHOP_DATABASE_URL=postgresql://shop:${SHOP_DB_PASSWORD}@db:5432/shop\n")
    env = local_hosts.create("xhost", {"db-1": ["data"], "app-1": ["app"], "gw-1": ["gateway"]},
                             files=files, up=False)
    config = yaml.safe_load((EXAMPLE / "stagecraft.yml").read_text())
    config["project"]["name"] = env.project
    config["environments"]["local"]["hosts"] = {h: {"roles": r} for h, r in env.roles.items()}
    env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env.up()
    return env


def http(url: str, data: bytes | None = None) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as resp:
        return resp.read().decode().strip()


def test_web_reads_and_writes_the_database_on_another_host(shop):
    out = json.loads(shop.cli("deploy", "-e", "local", "--version", "v1", "-o", "json").stdout)
    gateway = f"http://{shop.hosts['gw-1']}"
    assert list(out["urls"]) == [f"{gateway}/"]
    # What the page says: the database answered when the container started (written just after start).
    deadline = time.monotonic() + 20
    while "db:" not in (page := http(f"{gateway}/")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert page.endswith("db: 0 orders"), page
    assert http(f"{gateway}/cgi-bin/orders", data=b"") == "order 1 saved"
    assert http(f"{gateway}/cgi-bin/orders") == "1 orders"
    # The app host's file keeps no dependency on a service it does not run.
    rendered = yaml.safe_load(shop.ssh("app-1", f"cat /srv/stagecraft/{shop.project}/compose.yaml").stdout)
    assert "depends_on" not in rendered["services"]["web"]
    assert f"db:{shop.hosts['db-1']}" in rendered["services"]["web"]["extra_hosts"]


def test_the_database_port_answers_only_the_environment(shop):
    db = shop.hosts["db-1"]
    # From an environment host: open.
    probe = shop.ssh("app-1", f"timeout 3 bash -c 'echo > /dev/tcp/{db}/5432' && echo open", check=False)
    assert "open" in probe.stdout, probe.stderr
    # From this machine (on the project network, but not one of the environment's hosts): dropped.
    with pytest.raises(OSError):
        socket.create_connection((db, 5432), timeout=3).close()


def container(env, host: str, service: str) -> str:
    return env.ssh(host, f"docker ps -q --filter label=com.docker.compose.project={env.project} "
                         f"--filter label=com.docker.compose.service={service}").stdout.split()[0]


def test_files_the_compose_file_refers_to_reach_their_hosts(shop):
    root = f"/srv/stagecraft/{shop.project}"
    assert shop.ssh("app-1", f"stat -c %a {root}/web.env").stdout.strip() == "600"
    assert "SHOP_GREETING=hello from web.env" in shop.ssh(
        "app-1", f"docker exec {container(shop, 'app-1', 'web')} /bin/busybox env").stdout
    assert shop.ssh("db-1", f"stat -c %a {root}/db/password.txt").stdout.strip() == "600"
    assert shop.ssh("db-1", f"docker exec {container(shop, 'db-1', 'db')} cat /run/secrets/dbpass").stdout.strip() \
        == PASSWORD
    # Only the hosts whose services use a file get it.
    assert shop.ssh("app-1", f"test -e {root}/db/password.txt", check=False).returncode != 0
    # A changed file rolls its host (the plan's hash covers the files).
    (shop.project_dir / "web.env").write_text("SHOP_GREETING=changed\n")
    out = json.loads(shop.cli("deploy", "-e", "local", "--version", "v1", "-o", "json").stdout)
    assert out["hosts"]["app-1"]["web"]["result"] != "unchanged", out["hosts"]
    assert "SHOP_GREETING=changed" in shop.ssh(
        "app-1", f"docker exec {container(shop, 'app-1', 'web')} /bin/busybox env").stdout


def test_deploy_of_some_services_keeps_the_others_images(shop):
    before = shop.ssh("app-1", "docker ps --format '{{.Image}}'").stdout
    assert "/web:v1" in before
    out = json.loads(shop.cli("deploy", "-e", "local", "--version", "v2", "--services", "db", "-o", "json").stdout)
    assert out["version"] == "v2"
    running = shop.ssh("app-1", "docker ps --format '{{.Image}}'").stdout
    assert "/web:v1" in running and "/web:v2" not in running
    assert shop.ssh("app-1", "docker image ls -q '*/web:v2'").stdout.strip() == ""  # nothing pulled or shipped
