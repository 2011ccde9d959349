"""Services on different hosts: references become ordering and names, reachable services are published
and admitted by the firewall to the environment's hosts only, and what cannot span hosts is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stagecraft.commands.inventory import render_inventory
from stagecraft.config import compose as compose_model
from stagecraft.config import load_config
from stagecraft.errors import ConfigError
from stagecraft.deploy.render import compose_of, render_all

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"


def project(tmp_path, mutate=None, config_mutate=None):
    dest = tmp_path / "multi"
    shutil.copytree(FIXTURE, dest)
    compose = yaml.safe_load((dest / "docker-compose.yml").read_text())
    compose["services"]["db"]["expose"] = ["5432"]
    compose["services"]["api"]["depends_on"] = {"db": {"condition": "service_healthy"}, "web": {"condition": "service_started"}}
    compose["services"]["web"]["links"] = ["db:database", "api"]
    if mutate:
        mutate(compose)
    (dest / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    if config_mutate:
        cfg = yaml.safe_load((dest / "stagecraft.yml").read_text())
        config_mutate(cfg)
        (dest / "stagecraft.yml").write_text(yaml.safe_dump(cfg))
    return dest


def plans_for(dest):
    resolved = load_config(dest / "stagecraft.yml").resolve("staging", environ={})
    config, env = resolved.config, resolved.environment
    compose, _ = compose_of(config)
    hostvars = {h.name: h.address for h in env.hosts}
    plans = render_all(config, env, hostvars, compose, "v7", "stagecraft/edge:x", [])
    return {h: yaml.safe_load(p.definition)["services"] for h, p in plans.items()}


def test_cross_host_depends_on_and_links_become_ordering_and_names(tmp_path):
    web = plans_for(project(tmp_path))["web-1"]
    # db runs on data-1: the dependency is dropped from the file (role order runs data first) ...
    assert web["api"]["depends_on"] == {"web": {"condition": "service_started"}}
    assert web["web"]["links"] == ["api"]
    # ... and its name resolves to data-1's address on every service of the host.
    assert "db:10.0.0.20" in web["api"]["extra_hosts"]
    assert "db:10.0.0.20" in web["web"]["extra_hosts"]


def test_reachable_service_publishes_its_declared_ports(tmp_path):
    data = plans_for(project(tmp_path))["data-1"]
    assert data["db"]["ports"] == ["5432:5432/tcp"]
    assert "extra_hosts" not in data["db"]  # no other host runs a reachable service


def test_ports_already_published_are_kept_as_written(tmp_path):
    def mutate(c):
        c["services"]["db"]["ports"] = ["127.0.0.1:5432:5432"]
        c["services"]["db"]["expose"] = ["5432", "9187/udp"]
    data = plans_for(project(tmp_path, mutate))["data-1"]
    assert data["db"]["ports"] == ["127.0.0.1:5432:5432", "9187:9187/udp"]


def test_user_extra_hosts_win(tmp_path):
    def mutate(c):
        c["services"]["api"]["extra_hosts"] = ["db:192.0.2.9"]
    web = plans_for(project(tmp_path, mutate))["web-1"]
    assert web["api"]["extra_hosts"] == ["db:192.0.2.9"]


def test_rolling_and_undeclared_services_are_not_reachable(tmp_path):
    def mutate(c):
        del c["services"]["db"]["expose"]
    plans = plans_for(project(tmp_path, mutate))
    assert "extra_hosts" not in plans["web-1"]["api"]
    assert "ports" not in plans["data-1"]["db"]


def test_single_host_environment_publishes_nothing(tmp_path):
    dest = project(tmp_path)
    resolved = load_config(dest / "stagecraft.yml").resolve("local", environ={})
    compose, _ = compose_of(resolved.config)
    strategies = {n: resolved.config.service(n).strategy for n in compose["services"]}
    assert compose_model.reachable(resolved.environment, resolved.config.placement, strategies, compose) == {}


def test_firewall_admits_environment_hosts_to_reached_ports(tmp_path):
    dest = project(tmp_path)
    resolved = load_config(dest / "stagecraft.yml").resolve("staging", environ={})
    compose, _ = compose_of(resolved.config)
    inv = render_inventory(resolved.config, resolved.environment, {}, state_dir=tmp_path / "state", compose=compose)
    hosts = inv["all"]["children"]["env_staging"]["hosts"]
    rule = {"port": "5432", "proto": "tcp", "sources": ["10.0.0.11", "10.0.0.12", "10.0.0.20", "10.0.0.5"]}
    assert rule in hosts["data-1"]["firewall_rules"]
    assert all(r["port"] != "5432" for r in hosts["web-1"]["firewall_rules"])


@pytest.mark.parametrize("key,value", [("network_mode", "service:db"), ("pid", "service:db"), ("ipc", "service:db"),
                                       ("volumes_from", ["db:ro"])])
def test_constructs_that_need_one_engine_are_refused_across_hosts(tmp_path, key, value):
    def mutate(c):
        c["services"]["api"][key] = value
    dest = project(tmp_path, mutate)
    with pytest.raises(ConfigError) as exc:
        load_config(dest / "stagecraft.yml")
    text = str(exc.value.issues[0])
    assert f"{key} names service 'db'" in text and "services.api" in text and "same role" in text


def test_constructs_that_need_one_engine_pass_when_colocated(tmp_path):
    def mutate(c):
        c["services"]["web"]["network_mode"] = "service:api"
    load_config(project(tmp_path, mutate) / "stagecraft.yml")


def test_service_placed_on_no_role_is_an_error(tmp_path):
    def mutate(c):
        c["services"]["orphan"] = {"image": "busybox"}
        c["services"]["tool"] = {"image": "busybox", "profiles": ["tools"]}  # profiles keep it out: fine
    with pytest.raises(ConfigError) as exc:
        load_config(project(tmp_path, mutate) / "stagecraft.yml")
    assert len(exc.value.issues) == 1
    assert "compose service 'orphan' is placed on no role" in str(exc.value.issues[0])


def test_compose_yaml_is_found_when_compose_file_is_not_set(tmp_path):
    dest = project(tmp_path)
    (dest / "docker-compose.yml").rename(dest / "compose.yaml")
    assert plans_for(dest)["data-1"]["db"]["image"] == "postgres:15"


@pytest.mark.parametrize("entry,expected", [
    ("8080", "8080"), ("80:8080", "8080"), ("127.0.0.1:4000:4000", "4000"), ("53:53/udp", "53/udp"),
    ("9000-9002:9000-9002", "9000-9002"), ({"target": 80, "published": 8080, "protocol": "udp"}, "80/udp"),
    ("[::1]:80:8080", "8080"),
])
def test_container_port_of_every_ports_form(entry, expected):
    assert compose_model._container_port(entry) == expected


def test_validate_warns_about_what_a_deploy_changes(tmp_path, run_cli):
    def mutate(c):
        c["services"]["api"]["ports"] = ["8080:8080", "127.0.0.1:9090:9090", "5353:53/udp"]
        c["services"]["api"]["container_name"] = "api"
        c["services"]["tool"] = {"image": "busybox", "profiles": ["tools"]}
    dest = project(tmp_path, mutate)
    code, out, err = run_cli(["-c", str(dest / "stagecraft.yml"), "config", "validate", "-o", "json"])
    assert code == 0, err
    warnings = __import__("json").loads(out)["warnings"]
    text = "\n".join(warnings)
    assert "services.api: ports 127.0.0.1:9090:9090, 5353:53/udp are not published" in text
    assert "services.api: its published port 8080 is served by the edge proxy" in text
    assert "services.api: container_name is dropped" in text
    assert "services.api: no healthcheck" in text and "services.web: no healthcheck" in text
    assert "services.tool: has compose profiles and no role: not deployed" in text


def test_validate_warns_when_an_own_proxy_would_clash_with_the_edge(tmp_path, run_cli):
    def mutate(c):
        c["services"]["proxy"]["ports"] = ["80:80", "443:443"]
    dest = project(tmp_path, mutate, lambda cfg: cfg["services"].update({"proxy": {"rollout": {"strategy": "recreate"}}}))
    code, out, err = run_cli(["-c", str(dest / "stagecraft.yml"), "config", "validate"])
    assert code == 0
    assert "services.proxy: publishes port 80 on the public role 'gateway'" in err


def test_the_cli_inventory_carries_the_reached_ports(tmp_path, run_cli):
    """Through the real CLI (the path `infra up` uses): the firewall rule reaches the data host."""
    import json

    dest = project(tmp_path)
    code, out, err = run_cli(["-c", str(dest / "stagecraft.yml"), "inventory", "-e", "staging", "-o", "json"])
    assert code == 0, err
    from stagecraft.commands.ansible_data import plain

    rules = plain(json.loads(out))["_meta"]["hostvars"]["data-1"]["firewall_rules"]
    assert any(r["port"] == "5432" and "10.0.0.11" in r["sources"] for r in rules), rules
