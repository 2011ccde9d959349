"""The hosts' shared edge proxy (Caddy) on real hosts: HTTPS with certificates from pebble (Debian's ACME
test server), the redirect, HSTS, a name that does not resolve, two projects on the same hosts (deploying
one leaves the other's containers and routes alone, under load on both), maintenance mode, renewal of
short-lived certificates under load, removing a project, and what a browser shows."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time

import pytest
import yaml

from stagecraft.commands.local_hosts import network_name
from stagecraft.deploy.probe import fetch
from tests import acme
from tests.acme import PAGE, Project, make_project
from tests.hosts import LocalEnv
from tests.load import Load

pytestmark = pytest.mark.hosts
VALIDITY = 30  # seconds pebble's certificates live: the edges renew them while the module runs


def base_hosts(local_hosts) -> LocalEnv:
    """An app host and a public gateway: test_deploy's when the session has them (hosts are paid for once),
    otherwise this module's own."""
    env = local_hosts.envs.get("deploy")
    if env is not None and env.hosts:
        return env
    return acme.shared_hosts(local_hosts, "edge")


@pytest.fixture(scope="module")
def site(local_hosts, tmp_path_factory):
    base = base_hosts(local_hosts)
    names = {"blue.test": base.hosts["gw-1"], "green.test": base.hosts["gw-1"]}
    pebble = acme.start(f"{local_hosts.prefix}pebble", network_name(base.project, base.env),
                        {"stagecraft.managed": "true", "stagecraft.project": base.project}, names,
                        tmp_path_factory.mktemp("pebble"), VALIDITY)
    blue = make_project(local_hosts, base, pebble, "blue", ["blue.test"])
    green = make_project(local_hosts, base, pebble, "green", ["green.test", "nowhere.test"])
    context = pebble.client_context()
    for p in (blue, green):
        p.context = context
    yield {"base": base, "pebble": pebble, "blue": blue, "green": green}
    pebble.stop()


def deploy(project: Project, version: str, check: bool = True):
    return project.cli("deploy", "-e", "shared", "--version", version, "-o", "json", check=check)


def edge_state(base: LocalEnv, project: Project) -> dict:
    return json.loads(base.ssh("gw-1", f"cat /srv/stagecraft-edge/projects/{project.project}.json").stdout)


def web_ids(base: LocalEnv, project: Project) -> list[str]:
    return sorted(base.ssh("app-1", f"docker ps -q --no-trunc --filter label=com.docker.compose.project="
                                    f"{project.project}").stdout.split())


def test_a_name_that_does_not_resolve_fails_the_deploy_with_the_acme_error(site):
    green = site["green"]
    proc = deploy(green, "g1", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no certificate for nowhere.test" in proc.stderr, proc.stderr
    assert "urn:ietf:params:acme:error" in proc.stderr  # the ACME server's own words
    assert "resolves to this host's public address" in proc.stderr
    config = yaml.safe_load(green.config_path.read_text())
    config["services"]["web"]["public"]["host"] = ["green.test"]
    green.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_https_answers_with_a_certificate_from_the_acme_server(site):
    blue, green, base = site["blue"], site["green"], site["base"]
    data = json.loads(deploy(blue, "b1").stdout)
    assert data["urls"]["https://blue.test/"].startswith("200 shop b1")
    deploy(green, "g1")
    status, body, headers = blue.https("blue.test")
    assert status == 200 and body.decode().startswith("shop b1")
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert green.get("green.test").startswith("shop g1")
    # Keys on the host are private; the proxy's configuration carries no key material.
    modes = base.ssh("gw-1", "find /srv/stagecraft-edge/data -name '*.key' -printf '%m %p\\n'").stdout.split("\n")
    assert any("blue.test.key" in m for m in modes) and all(m.startswith("600 ") for m in modes if m)
    assert "PRIVATE KEY" not in base.ssh("gw-1", "cat /srv/stagecraft-edge/caddy.json").stdout


def test_plain_http_redirects_to_https(site):
    blue = site["blue"]
    status, _, headers = fetch("http://blue.test/cart?item=1", blue.gw)
    assert status == 308 and headers["Location"] == "https://blue.test/cart?item=1"


def test_deploying_one_project_leaves_the_other_alone_under_load(site):
    blue, green, base = site["blue"], site["green"], site["base"]
    before_ids, before_state = web_ids(base, green), edge_state(base, green)
    with Load("https://blue.test/", get=lambda: blue.get("blue.test")) as on_blue, \
            Load("https://green.test/", get=lambda: green.get("green.test")) as on_green:
        time.sleep(1)
        deploy(blue, "b2")
        time.sleep(1)
    assert on_blue.failed == 0 and on_green.failed == 0, (on_blue.errors, on_green.errors)
    assert set(on_blue.bodies) == {"shop b1", "shop b2"} and set(on_green.bodies) == {"shop g1"}
    assert on_green.ok > 20
    assert web_ids(base, green) == before_ids  # not one container of the neighbour was touched
    assert edge_state(base, green) == before_state  # nor its routes


def test_maintenance_mode_answers_503_while_the_containers_keep_running(site):
    blue, green, base = site["blue"], site["green"], site["base"]
    ids = web_ids(base, blue)
    on = json.loads(blue.cli("maintenance", "on", "-e", "shared", "-o", "json").stdout)
    assert on["hosts"]["gw-1"]["result"] == "on"
    status, body, headers = blue.https("blue.test")
    assert status == 503 and body.decode() == PAGE and headers["Retry-After"]
    assert green.get("green.test").startswith("shop g1")  # the neighbour is not in maintenance
    assert web_ids(base, blue) == ids
    blue.cli("maintenance", "off", "-e", "shared")
    assert blue.get("blue.test").startswith("shop b2")


def renewals(base: LocalEnv, name: str) -> int:
    logs = base.ssh("gw-1", "docker logs stagecraft-edge 2>&1 | grep 'certificate renewed successfully' || true").stdout
    return sum(1 for line in logs.splitlines() if f'"identifier":"{name}"' in line)


def serial(project: Project, name: str) -> int:
    import socket

    from cryptography import x509

    with socket.create_connection((project.gw, 443), timeout=10) as sock:
        with project.context.wrap_socket(sock, server_hostname=name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_short_lived_certificates_are_renewed_under_load_without_a_failed_request(site):
    blue, base = site["blue"], site["base"]
    before, first = renewals(base, "blue.test"), serial(blue, "blue.test")
    with Load("https://blue.test/", get=lambda: blue.get("blue.test")) as load:
        deadline = time.monotonic() + 2 * VALIDITY
        while renewals(base, "blue.test") == before and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(1)
    assert renewals(base, "blue.test") > before, "no renewal within two certificate lifetimes"
    assert serial(blue, "blue.test") != first
    assert load.failed == 0, load.errors
    assert load.ok > 20


def test_a_browser_shows_the_app_over_https_with_the_test_ca_trusted(site, tmp_path):
    """Headless chromium with pebble's root in its NSS database (nothing on this machine is changed);
    the screenshot stays in the test's tmp dir."""
    blue = site["blue"]
    home = tmp_path / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    (tmp_path / "root.pem").write_text(site["pebble"].root())
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, timeout=60)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "pebble", "-i",
                    str(tmp_path / "root.pem")], check=True, timeout=60)

    def chromium(*extra: str) -> subprocess.CompletedProcess:
        argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--host-resolver-rules=MAP blue.test {blue.gw}", "--window-size=900,420", *extra,
                "https://blue.test/"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": str(home)})

    dom = chromium("--dump-dom")
    assert "shop b2" in dom.stdout, dom.stdout + dom.stderr[-2000:]
    shot = tmp_path / "blue-over-https.png"
    chromium(f"--screenshot={shot}")
    print(f"screenshot of https://blue.test/: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_removing_a_project_takes_its_routes_off_the_shared_edge(site):
    blue, green, base = site["blue"], site["green"], site["base"]
    data = json.loads(green.cli("remove", "-e", "shared", "--yes", "-o", "json").stdout)
    assert data["hosts"]["gw-1"]["result"] == "removed"
    assert web_ids(base, green) == []
    assert base.ssh("gw-1", f"test -e /srv/stagecraft-edge/projects/{green.project}.json", check=False).returncode == 1
    with pytest.raises(ssl.SSLError):  # no route and no certificate for its name any more
        green.https("green.test")
    assert blue.get("blue.test").startswith("shop b2")
    again = json.loads(green.cli("remove", "-e", "shared", "--yes", "-o", "json").stdout)
    assert again["hosts"]["gw-1"]["result"] == "not-deployed"
