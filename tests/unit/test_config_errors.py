"""Schema and cross-check errors: key path, file:line:column, several at once, exit 1, no traceback."""

from __future__ import annotations

import json
import textwrap

import pytest

from stagecraft.config import load_config
from stagecraft.errors import ConfigError

BASE = """\
version: 1
project:
  name: shop
environments:
  local:
    driver: local
    hosts:
      h1: {roles: [app]}
roles:
  app: {services: []}
"""


def write(tmp_path, text):
    path = tmp_path / "stagecraft.yml"
    path.write_text(textwrap.dedent(text))
    return path


def issues_of(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(i) for i in info.value.issues]


def test_valid_base_config_loads(tmp_path):
    loaded = load_config(write(tmp_path, BASE))
    assert loaded.config.project.name == "shop"
    assert [h.name for h in loaded.config.environments["local"].hosts] == ["h1"]


def test_unknown_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, BASE.replace("  name: shop", "  name: shop\n  registy: r.example.com"))
    assert issues_of(path) == [f"{path}:4:3: project.registy: unknown key 'registy' (did you mean 'registry'?)"]


def test_unknown_key_without_close_match_lists_allowed(tmp_path):
    path = write(tmp_path, BASE + "zzz: 1\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:11:1: zzz: unknown key 'zzz' (allowed: backend, ci, cloud,")


def test_x_keys_and_anchors_are_allowed(tmp_path):
    text = BASE.replace("version: 1", "version: 1\nx-common: &c {roles: [app]}").replace(
        "h1: {roles: [app]}", "h1: *c\n      h2: {<<: *c}")
    loaded = load_config(write(tmp_path, text))
    assert [h.roles for h in loaded.config.environments["local"].hosts] == [("app",), ("app",)]


def test_wrong_type(tmp_path):
    path = write(tmp_path, BASE + "services:\n  web:\n    port: '80'\n")
    assert issues_of(path) == [f"{path}:13:5: services.web.port: expected integer, got string ('80')"]


def test_missing_required(tmp_path):
    path = write(tmp_path, BASE.replace("  name: shop\n", "  registry: r\n"))
    assert issues_of(path) == [f"{path}:2:1: project: missing required key 'name'"]


def test_bad_environment_name(tmp_path):
    path = write(tmp_path, BASE.replace("  local:\n", "  Prod!:\n"))
    assert issues_of(path) == [
        f"{path}:5:3: environments.Prod!: invalid environment name 'Prod!': "
        "lowercase letters, digits, '-' or '_', starting with a letter"]


def test_bad_enum_value(tmp_path):
    path = write(tmp_path, BASE.replace("driver: local", "driver: locl"))
    assert issues_of(path) == [
        f"{path}:6:5: environments.local.driver: invalid value 'locl'; choose one of 'local', 'digitalocean', 'ssh'"]


def test_several_errors_reported_at_once_in_file_order(tmp_path):
    text = BASE.replace("  name: shop", "  naem: shop").replace("[app]}", "[ap]}") + "services:\n  web: {port: x}\n"
    issues = issues_of(write(tmp_path, text))
    assert len(issues) == 4, issues
    assert [i.split(": ")[1] for i in issues] == [
        "project", "project.naem", "environments.local.hosts.h1.roles[0]", "services.web.port"]
    assert "unknown role 'ap' (did you mean 'app'?)" in issues[2]


def test_cross_references(tmp_path):
    text = BASE.replace("driver: local", "driver: ssh") + "firewall:\n  allow: [{port: 80, roles: [gw]}]\n"
    issues = issues_of(write(tmp_path, text))
    assert any("environments.local.hosts.h1: driver 'ssh' needs an address" in i for i in issues)
    assert any("firewall.allow[0].roles[0]: unknown role 'gw'" in i for i in issues)


def test_services_must_exist_in_compose_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  web: {image: x}\n")
    path = write(tmp_path, BASE.replace("services: []", "services: [wbe]"))
    (issue,) = issues_of(path)
    assert "roles.app.services[0]: unknown compose service 'wbe' (did you mean 'web'?)" in issue


def test_yaml_syntax_error_has_position(tmp_path):
    path = write(tmp_path, "project:\n  name: [unclosed\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:3:1: (syntax): invalid YAML")


def test_cli_exit_1_lists_all_errors_without_traceback(tmp_path, run_cli):
    path = write(tmp_path, BASE.replace("  name: shop", "  naem: shop") + "services:\n  web: {port: x}\n")
    code, out, err = run_cli(["-c", str(path), "config", "validate"])
    assert code == 1
    assert "invalid configuration (3 problems)" in err
    assert "project.naem: unknown key 'naem' (did you mean 'name'?)" in err
    assert "Traceback" not in err + out


def test_cli_json_errors(tmp_path, run_cli):
    path = write(tmp_path, BASE.replace("  name: shop", "  naem: shop"))
    code, out, _ = run_cli(["config", "validate", "-c", str(path), "-o", "json"])
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    naem = [e for e in payload["errors"] if e["key"] == "project.naem"]
    assert [(e["line"], e["column"]) for e in naem] == [(3, 3)]
    assert any(e["key"] == "project" and "missing required key 'name'" in e["message"] for e in payload["errors"])


def test_missing_config_file_is_a_user_error(tmp_path, run_cli):
    code, _, err = run_cli(["-c", str(tmp_path / "nope.yml"), "config", "validate"])
    assert code == 1
    assert "config file not found" in err and "stagecraft init" in err


def test_registry_settings_need_a_registry(tmp_path):
    text = BASE.replace("  name: shop\n", "  name: shop\n  images: {transport: registry, registry_password_env: P}\n")
    found = issues_of(write(tmp_path, text))
    assert any("project.images.transport" in i and "needs project.registry" in i for i in found)
    assert any("set both registry_username_env and registry_password_env" in i for i in found)


def test_registry_ca_file_reaches_the_hosts_as_bootstrap_trust(tmp_path):
    from stagecraft.commands.inventory import render_inventory

    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    text = BASE.replace("  name: shop\n", "  name: shop\n  registry: reg.internal:5000/shop\n"
                                          "  images: {transport: registry, registry_ca_file: ca.pem}\n")
    resolved = load_config(write(tmp_path, text)).resolve("local", environ={})
    inv = render_inventory(resolved.config, resolved.environment, {}, state_dir=tmp_path / ".stagecraft")
    hosts = next(iter(inv["all"]["children"].values()))["hosts"]
    assert hosts["h1"]["bootstrap_docker_registry_ca_certs"] == [
        {"registry": "reg.internal:5000", "cert": (tmp_path / "ca.pem").read_text()}]


def test_an_http_healthcheck_needs_the_port_it_is_sent_to(tmp_path):
    found = issues_of(write(tmp_path, BASE + "services:\n  web:\n    healthcheck: {path: health, status: 99}\n"
                                            "  api:\n    healthcheck: {}\n"))
    text = "\n".join(found)
    assert "services.web.healthcheck.path" in text and "services.web.healthcheck.status" in text
    assert "services.api.healthcheck: the HTTP healthcheck is sent to the container port services.api.port" in text
    ok = load_config(write(tmp_path, BASE + "services:\n  web:\n    port: 80\n    healthcheck: {path: /up}\n"))
    assert ok.config.service("web").healthcheck.path == "/up"
