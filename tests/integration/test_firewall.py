"""The firewall role on real local hosts: what a neighbour on the same network can reach, that the rules
come back after `nft flush ruleset` (the guard, and `deploy`'s probe), and `firewall.ssh_from`.

gw-1 (gateway) runs two stray containers published on 0.0.0.0 (8080 and 8081, never allowed); app-1
is the neighbour that probes it.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.hosts import ROOT
from tests.integration.test_roles import busybox_image, probe

pytestmark = pytest.mark.hosts
SHOP = ROOT / "examples" / "shop"
COMPOSE = """services:
  web:
    build: ./web
    environment:
      APP_VERSION: ${IMAGE_TAG:-dev}
"""
TABLE = "nft list table inet stagecraft_filter >/dev/null 2>&1 && echo loaded || echo missing"


@pytest.fixture(scope="module")
def fw(local_hosts):
    files = {"docker-compose.yml": COMPOSE, "web/Dockerfile": (SHOP / "web" / "Dockerfile").read_text(),
             "web/start.sh": (SHOP / "web" / "start.sh").read_text()}
    env = local_hosts.create("firewall", {"app-1": ["app"], "gw-1": ["gateway"]}, files=files, up=False)
    text = env.config_path.read_text().replace("  app:\n    public: false\n",
                                               "  app:\n    public: false\n    services: [web]\n")
    env.config_path.write_text(text)
    env.up()
    busybox_image(env, "gw-1")
    env.ssh("gw-1", "docker rm -f stray8080 stray8081 >/dev/null 2>&1; "
                    "docker run -d --restart always --name stray8080 -p 0.0.0.0:8080:8000 bb httpd -f -p 8000 && "
                    "docker run -d --restart always --name stray8081 -p 0.0.0.0:8081:8000 bb httpd -f -p 8000")
    return env


def container_ip(env, host: str, name: str) -> str:
    return env.ssh(host, f"docker inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}}{{{{end}}}}' "
                         f"{name}").stdout.strip()


def tcp_open(env, source: str, address: str, port: int) -> bool:
    proc = env.ssh(source, f"timeout 3 bash -c '</dev/tcp/{address}/{port}' && echo open || echo closed", check=False)
    return proc.stdout.strip().endswith("open")


def controller_address(env, host: str) -> str:
    return env.ssh(host, "printenv SSH_CLIENT").stdout.split()[0]


def wait_for_table(env, host: str) -> str:
    """The guard reacts to nftables events; poll until the table is back (or give up after ~30 s)."""
    return env.ssh(host, f"for i in $(seq 1 60); do {{ {TABLE}; }} | grep -q loaded && break; sleep 0.5; done; "
                         f"{TABLE}").stdout.strip()


def test_neighbour_cannot_route_straight_to_a_container_address(fw):
    target = container_ip(fw, "gw-1", "stray8080")
    # The container answers on its bridge address from gw-1 itself: "closed" below is the firewall.
    assert tcp_open(fw, "gw-1", target, 8000) is True
    # A neighbour on the same network routes the container subnet through gw-1, as an attacker would.
    fw.ssh("app-1", f"ip route replace {target}/32 via {fw.hosts['gw-1']}")
    try:
        assert tcp_open(fw, "app-1", target, 8000) is False
        assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 8080) is False  # published, not allowed
    finally:
        fw.ssh("app-1", f"ip route del {target}/32", check=False)


def test_the_guard_restores_the_rules_after_a_flush(fw):
    fw.ssh("gw-1", "nft flush ruleset")
    assert wait_for_table(fw, "gw-1") == "loaded"
    # Docker's own NAT rules went with the flush; restarting it puts them back, ours stayed restored.
    fw.ssh("gw-1", "kill $(cat /run/docker.pid); sleep 2; /usr/local/sbin/stagecraft-dockerd-start; "
                   "docker start stray8080 stray8081 >/dev/null")
    assert fw.ssh("gw-1", TABLE).stdout.strip() == "loaded"
    assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 8080) is False
    assert tcp_open(fw, "gw-1", "127.0.0.1", 8080) is True


def test_deploy_restores_the_rules_that_a_flush_removed(fw):
    # Without the guard (e.g. a host that rebooted without an init system), a flush opens every
    # published port until something reloads the rules: the deploy's probe does.
    fw.ssh("gw-1", "start-stop-daemon --stop --oknodo --pidfile /run/stagecraft-firewall-guard.pid --remove-pidfile")
    fw.ssh("gw-1", "nft flush ruleset; kill $(cat /run/docker.pid); sleep 2; "
                   "/usr/local/sbin/stagecraft-dockerd-start; docker start stray8080 stray8081 >/dev/null")
    assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 8080) is True  # exposed: the test can fail
    proc = fw.cli("deploy", "--version", "v1", "-o", "json")
    assert "gw-1: the firewall rules were not loaded; restored them" in proc.stderr
    assert fw.ssh("gw-1", TABLE).stdout.strip() == "loaded"
    assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 8080) is False
    data = json.loads(proc.stdout)
    assert data["firewall"] == {"app-1": "loaded", "gw-1": "restored"}
    again = json.loads(fw.cli("deploy", "--version", "v1", "-o", "json").stdout)
    assert again["firewall"] == {"app-1": "loaded", "gw-1": "loaded"}


def _with_firewall(env, section: dict):
    config = yaml.safe_load(env.config_path.read_text())
    config["firewall"] = section
    env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_ssh_from_is_honoured_and_the_controller_exception_is_explicit(fw):
    original = fw.config_path.read_text()
    controller = controller_address(fw, "gw-1")
    try:
        # Only the controller may SSH: the neighbour is refused, the controller still gets in.
        _with_firewall(fw, {"ssh_from": [f"{controller}/32"]})
        fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1")
        assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 22) is False
        assert fw.ssh("gw-1", "echo in").stdout.strip() == "in"
        rules = fw.ssh("gw-1", "nft list chain inet stagecraft_filter input").stdout
        assert f"ip saddr {controller} tcp dport 22 accept" in rules

        # A list that leaves the controller out would lock Stagecraft out: refused before loading it.
        _with_firewall(fw, {"ssh_from": ["198.51.100.0/24"]})
        proc = fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1", check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr  # the only host targeted failed
        assert f"{controller} is not in firewall.ssh_from" in proc.stderr
        assert "firewall.ssh_allow_controller" in proc.stderr
        assert fw.ssh("gw-1", "echo in").stdout.strip() == "in"  # the previous rules are still loaded

        # Opt-in: the controller's address is allowed on top of ssh_from, and said so in the rules.
        _with_firewall(fw, {"ssh_from": ["198.51.100.0/24"], "ssh_allow_controller": True})
        fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1")
        assert fw.ssh("gw-1", "echo in").stdout.strip() == "in"
        assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 22) is False
        rules = fw.ssh("gw-1", "nft list chain inet stagecraft_filter input").stdout
        assert f'ip saddr {controller} tcp dport 22 accept comment "stagecraft controller' in rules
    finally:
        fw.config_path.write_text(original)
        fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1")
    assert tcp_open(fw, "app-1", fw.hosts["gw-1"], 22) is True


def test_disabling_the_firewall_stops_the_guard_and_removes_the_rules(fw):
    original = fw.config_path.read_text()
    try:
        _with_firewall(fw, {"enabled": False})
        fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1")
        assert fw.ssh("gw-1", TABLE).stdout.strip() == "missing"
        guard = fw.ssh("gw-1", "start-stop-daemon --status --pidfile /run/stagecraft-firewall-guard.pid; echo $?")
        assert guard.stdout.strip() != "0"
        assert fw.ssh("gw-1", "ls /usr/local/sbin/stagecraft-firewall-guard /etc/stagecraft/firewall.nft",
                      check=False).returncode != 0
        data = json.loads(fw.cli("deploy", "--version", "v1", "-o", "json").stdout)
        assert data["firewall"]["gw-1"] == "absent"  # and no warning: disabled on purpose
    finally:
        fw.config_path.write_text(original)
        fw.cli("infra", "up", "--skip-bootstrap", "--limit", "gw-1")
    assert fw.ssh("gw-1", TABLE).stdout.strip() == "loaded"
