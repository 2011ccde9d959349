"""The shared edge: config keys (public names, TLS, redirect, HSTS, edge.acme), the project's routes as
rendered for a host, and the Caddy configuration the host assembles from every project's state."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from stagecraft.commands.compose_render import edge_tls_payload
from stagecraft.config import load_config
from stagecraft.deploy.render import compose_of, render_all
from stagecraft.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "multi"
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.stagecraft.infra.plugins.module_utils import edge  # noqa: E402

KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"


def project(tmp_path, services: str, edge_section: str = ""):
    dest = tmp_path / "multi"
    shutil.copytree(FIXTURE, dest)
    text = (dest / "stagecraft.yml").read_text()
    text = text.replace("  api: {port: 8080, secrets: [API_TOKEN]}\n", textwrap.indent(textwrap.dedent(services), "  "))
    (dest / "stagecraft.yml").write_text(text + textwrap.dedent(edge_section))
    (dest / "acme-ca.pem").write_text(CERT)
    (dest / "shop.pem").write_text(CERT)
    (dest / "shop.key").write_text(KEY)
    resolved = load_config(dest / "stagecraft.yml").resolve("staging", environ={})
    config, env = resolved.config, resolved.environment
    compose, _ = compose_of(config)
    plans = render_all(config, env, {h.name: h.address for h in env.hosts}, compose, "v1", "stagecraft/edge:x", [])
    return config, plans


def test_names_get_acme_https_with_redirect_and_hsts_on_public_hosts_only(tmp_path):
    _, plans = project(tmp_path, """\
        api:
          port: 8080
          public: {host: [shop.example.com, www.shop.example.com], path: /api, hsts: true}
        """, """\
        edge:
          acme: {directory: "https://acme.internal/dir", email: ops@example.com, ca_file: acme-ca.pem, renew_interval: 30}
        """)
    public = json.loads(plans["edge-1"].edge_config)
    assert public["routes"] == [{"service": "api", "hosts": ["shop.example.com", "www.shop.example.com"],
                                 "path": "/api", "tls": "acme", "redirect": True, "hsts": 31536000,
                                 "peers": ["10.0.0.11:8000", "10.0.0.12:8000"]}]
    assert public["acme"] == {"directory": "https://acme.internal/dir", "email": "ops@example.com",
                              "renew_interval": 30, "ca_pem": CERT}
    internal = json.loads(plans["web-1"].edge_config)  # the gateways reach it over plain HTTP on 8000
    assert internal["routes"][0]["tls"] == "off" and "acme" not in internal and "maintenance_page" not in internal


def test_supplied_certificates_travel_as_a_secret_never_in_the_routes(tmp_path):
    config, plans = project(tmp_path, """\
        api:
          port: 8080
          public: {host: shop.internal, tls: {cert_file: shop.pem, key_file: shop.key}, redirect_http: false}
        """)
    route = json.loads(plans["edge-1"].edge_config)["routes"][0]
    assert route["tls"] == "files" and route["redirect"] is False and len(route["files_sha256"]) == 64
    assert "PRIVATE KEY" not in plans["edge-1"].edge_config
    files = edge_tls_payload(config, plans["edge-1"])
    assert [(f["path"], f["mode"]) for f in files] == [("/srv/stagecraft-edge/projects/shop.tls/api.crt", "0600"),
                                                     ("/srv/stagecraft-edge/projects/shop.tls/api.key", "0600")]
    assert files[1]["content"] == KEY
    assert edge_tls_payload(config, plans["web-1"]) == []  # internal hosts serve plain HTTP
    (tmp_path / "multi" / "shop.key").write_text("not a key")
    with pytest.raises(UserError, match="services.api.public.tls"):
        edge_tls_payload(config, plans["edge-1"])


@pytest.mark.parametrize("public, message", [
    ("{host: 'shop example.com'}", "services.api.public.host"),
    ("{host: []}", "services.api.public.host"),
    ("{host: a.example, tls: {cert_file: x.pem}}", "services.api.public.tls"),
    ("{host: a.example, tls: letsencrypt}", "services.api.public.tls"),
    ("{host: a.example, hsts: -1}", "services.api.public.hsts"),
])
def test_bad_public_values_name_the_key(tmp_path, public, message):
    base = yaml.safe_load((FIXTURE / "stagecraft.yml").read_text())
    base["services"]["api"]["public"] = yaml.safe_load(public)
    path = tmp_path / "stagecraft.yml"
    path.write_text(yaml.safe_dump(base))
    (tmp_path / "docker-compose.yml").write_text((FIXTURE / "docker-compose.yml").read_text())
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert any(message in str(i) for i in info.value.issues), info.value.issues


def state(routes, listen="public", upstreams=None, maintenance=False, acme=None):
    doc = {"listen": listen, "routes": routes, "maintenance_page": "<h1>later</h1>"}
    if acme:
        doc["acme"] = acme
    return {"routes": doc, "upstreams": upstreams or {}, "networks": [], "maintenance": maintenance}


def route(service, hosts=(), path="/", tls="off", **extra):
    return {"service": service, "hosts": list(hosts), "path": path, "tls": tls, "redirect": True, "hsts": 0, **extra}


def test_the_assembled_caddy_configuration_serves_every_project():
    states = {
        "blue": state([route("web", ["blue.test"], tls="acme")], upstreams={"web": ["10.1.0.2:8080"]},
                      acme={"directory": "https://pebble/dir", "ca_pem": CERT, "renew_interval": 5}),
        "green": state([route("web", ["green.test"], tls="acme", hsts=600), route("api", [], path="/api")],
                       upstreams={"web": ["10.2.0.2:8080", "10.2.0.3:8080"]}, maintenance=True),
        "gray": state([route("web", ["gray.test"])], listen="internal", upstreams={"web": ["10.3.0.2:80"]}),
    }
    config = edge.caddy_config(states)
    servers = config["apps"]["http"]["servers"]
    assert sorted(servers) == ["http", "https", "internal"]
    assert servers["https"]["listen"] == [":443"] and servers["https"]["tls_connection_policies"] == [{}]
    https = servers["https"]["routes"]
    assert https.pop() == edge.NOT_FOUND and servers["http"]["routes"][-1] == edge.NOT_FOUND  # not Caddy's empty 200
    assert [r["match"][0]["host"] for r in https] == [["blue.test"], ["green.test"]]
    assert https[0]["handle"][-1]["upstreams"] == [{"dial": "10.1.0.2:8080"}]
    assert https[1]["handle"][0]["response"]["set"]["Strict-Transport-Security"] == ["max-age=600"]
    assert https[1]["handle"][-1]["status_code"] == 503 and https[1]["handle"][-1]["body"] == "<h1>later</h1>"
    http = servers["http"]["routes"]
    # Named hosts first (redirected to HTTPS), then the catch-all path route (in maintenance too).
    assert [r["handle"][0].get("status_code") for r in http] == [308, 308, 503, 404]
    assert http[2]["match"] == [{"path": ["/api*"]}]
    assert servers["internal"]["routes"][0]["handle"][0]["upstreams"] == [{"dial": "10.3.0.2:80"}]
    tls = config["apps"]["tls"]
    assert tls["certificates"]["automate"] == ["blue.test", "green.test"]
    assert tls["automation"]["renew_interval"] == "5s"
    blue_policy = tls["automation"]["policies"][0]
    assert blue_policy["subjects"] == ["blue.test"]
    assert blue_policy["issuers"][0]["ca"] == "https://pebble/dir"
    assert blue_policy["issuers"][0]["trusted_roots_pem_files"] == ["/srv/stagecraft-edge/projects/blue.acme-ca.pem"]
    assert blue_policy["issuers"][0]["challenges"] == {"tls-alpn": {"disabled": True}}  # HTTP-01 only
    assert "ca" not in tls["automation"]["policies"][1]["issuers"][0]  # green: Let's Encrypt, Caddy's default
    assert edge.wanted_ports(states) == [80, 443, 8000]
    assert edge.acme_names(states["green"]) == ["green.test"] and edge.acme_names(states["gray"]) == []


def test_a_name_two_projects_claim_gets_one_policy_and_a_service_without_containers_a_placeholder():
    states = {"a": state([route("web", ["same.test"], tls="acme")]),
              "b": state([route("web", ["same.test"], path="/b", tls="acme")])}
    config = edge.caddy_config(states)
    assert [p["subjects"] for p in config["apps"]["tls"]["automation"]["policies"]] == [["same.test"]]
    https = config["apps"]["http"]["servers"]["https"]["routes"]
    assert [r["match"][0].get("path") for r in https[:-1]] == [["/b*"], None]  # the longer path first
    assert https[0]["handle"][0]["upstreams"] == [{"dial": edge.PLACEHOLDER}]


def test_supplied_files_are_loaded_not_automated():
    config = edge.caddy_config({"a": state([route("web", ["in.corp"], tls="files")])})
    assert config["apps"]["tls"] == {"certificates": {"load_files": [
        {"certificate": "/srv/stagecraft-edge/projects/a.tls/web.crt", "key": "/srv/stagecraft-edge/projects/a.tls/web.key"}]}}


def test_acme_errors_are_read_from_the_proxys_log(monkeypatch):
    line = json.dumps({"level": "error", "logger": "http.acme_client", "msg": "challenge failed",
                       "identifier": "nowhere.test", "problem_type": "urn:ietf:params:acme:error:dns",
                       "error": "no such host"})

    canceled = json.dumps({"level": "error", "logger": "tls.obtain", "msg": "could not get certificate from issuer",
                           "identifier": "green.test",
                           "error": "[green.test] solving challenges: [green.test] context canceled"})

    class Proc:  # a reload stopped green.test's attempt: not an answer of the ACME server
        stdout, stderr, returncode = "", line + "\nnot json\n" + canceled + "\n", 0

    monkeypatch.setattr(edge, "run", lambda *a, **k: Proc)
    assert edge.acme_problems(["nowhere.test"], "0") == {"nowhere.test": "urn:ietf:params:acme:error:dns: no such host"}
    assert edge.acme_problems(["other.test"], "0") == {}
    assert edge.acme_problems(["green.test"], "0") == {}


def test_a_fresh_edge_obtains_one_name_before_the_others(tmp_path, monkeypatch):
    """Caddy 2.6 corrupts the ACME account when two names register it at once: until an account is
    stored, every name but the first is held out of the certificates to obtain; then all are."""
    monkeypatch.setattr(edge, "ACCOUNTS", str(tmp_path / "acme" / "*" / "users" / "*" / "*.json"))
    states = {"a": {"routes": {"listen": "public", "routes": [
        {"service": "web", "hosts": ["a.test", "www.a.test"], "path": "/", "tls": "acme"}]}},
              "b": {"routes": {"listen": "public", "routes": [
                  {"service": "web", "hosts": ["b.test"], "path": "/", "tls": "acme"}]}}}
    held = edge.held_names(states)
    assert held == ["b.test", "www.a.test"]
    assert edge.caddy_config(states, held)["apps"]["tls"]["certificates"]["automate"] == ["a.test"]
    account = tmp_path / "acme" / "ca" / "users" / "default" / "default.json"
    account.parent.mkdir(parents=True)
    account.write_text('{"status": "valid"}\n}')  # half written: still no account
    assert edge.held_names(states) == held
    account.write_text('{"status": "valid"}\n')
    assert edge.held_names(states) == []


@pytest.mark.parametrize("args", [["maintenance", "on"], ["maintenance", "off"], ["remove", "--yes"]])
def test_edge_commands_say_where_they_would_run(tmp_path, run_cli, args):
    """--dry-run sends nothing and names every host (the command's imports and options are real)."""
    config = tmp_path / "stagecraft.yml"
    config.write_text("version: 1\nproject: {name: shop}\nenvironments:\n  prod:\n    driver: ssh\n"
                      "    hosts: {app-1: {address: 10.0.0.1, roles: [app]}}\nroles: {app: {public: true}}\n")
    code, out, err = run_cli(["-c", str(config), *args, "-e", "prod", "--dry-run", "-o", "json"],
                             env={"STAGECRAFT_STATE_DIR": str(tmp_path / ".stagecraft")})
    assert code == 0, err
    data = json.loads(out)
    assert data["dry_run"] and data["hosts"] == {"app-1": {"result": "would-run"}}
