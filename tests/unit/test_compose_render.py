"""Per-host compose rendering: placement, pinned images, rolling services without ports, determinism."""

from __future__ import annotations

import json

import shutil
from pathlib import Path

import yaml

from stagecraft.commands.compose_render import EDGE_SERVICE, render_host
from stagecraft.config import load_config
from stagecraft.deploy.render import compose_of, render_all

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"


def setup(tmp_path):
    dest = tmp_path / "multi"
    shutil.copytree(FIXTURE, dest)
    compose = yaml.safe_load((dest / "docker-compose.yml").read_text())
    compose["services"]["api"]["ports"] = ["8080:8080"]
    compose["services"]["api"]["container_name"] = "api"
    compose["services"]["db"]["ports"] = ["5432:5432"]
    (dest / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    resolved = load_config(dest / "stagecraft.yml").resolve("staging", environ={})
    return resolved.config, resolved.environment


def hostvars(env):
    """host -> address, as the deploy session hands them to render_all."""
    return {h.name: h.address for h in env.hosts}


def test_each_host_gets_only_its_services(tmp_path):
    config, env = setup(tmp_path)
    compose, _ = compose_of(config)
    plans = render_all(config, env, hostvars(env), compose, "v7", "stagecraft/edge:x", ["API_TOKEN"])
    services = {h: sorted(yaml.safe_load(p.definition)["services"]) for h, p in plans.items()}
    # The edge proxy is the host's, shared by every project: not part of any project's compose file.
    assert services == {"data-1": ["db"], "edge-1": ["proxy"], "web-1": ["api", "web"], "web-2": ["api", "web"]}
    assert plans["web-1"].service_names == ["api", "web", EDGE_SERVICE] and plans["web-1"].edge_image == "stagecraft/edge:x"
    assert plans["data-1"].edge_image == "" and "stagecraft/edge:x" in plans["web-1"].image_refs
    web = yaml.safe_load(plans["web-1"].definition)["services"]
    assert web["api"]["image"] == "registry.example.com/acme/api:v7"
    assert "build" not in web["api"]
    assert "ports" not in web["api"] and "container_name" not in web["api"]  # rolling: two copies side by side
    assert web["api"]["environment"] == ["MODE=prod", "API_TOKEN=${API_TOKEN}"]  # list form kept
    assert web["api"]["labels"]["stagecraft.host"] == "web-1"
    db = yaml.safe_load(plans["data-1"].definition)
    assert db["services"]["db"]["ports"] == ["5432:5432"]  # recreate services keep their ports
    assert db["services"]["db"]["image"] == "postgres:15"
    assert db["volumes"] == {"pgdata": {}}
    assert "volumes" not in yaml.safe_load(plans["web-1"].definition)
    assert [s["name"] for s in plans["web-1"].services] == ["api", "web"]


def test_edge_routes_local_and_remote(tmp_path):
    config, env = setup(tmp_path)
    compose, _ = compose_of(config)
    plans = render_all(config, env, hostvars(env), compose, "v7", "stagecraft/edge:x", [])
    assert plans["web-1"].edge_port == 8000 and plans["edge-1"].edge_port == 80
    internal, public = json.loads(plans["web-1"].edge_config), json.loads(plans["edge-1"].edge_config)
    assert internal["listen"] == "internal" and public["listen"] == "public"
    assert [(r["service"], r.get("peers")) for r in internal["routes"]] == [("api", None)]  # its own containers
    assert [(r["service"], r["peers"]) for r in public["routes"]] == [("api", ["10.0.0.11:8000", "10.0.0.12:8000"])]
    assert public["maintenance_page"].startswith("<!doctype html>") and "acme" not in public  # no names: no TLS
    assert plans["data-1"].edge_config == ""


def test_render_is_deterministic_and_hash_tracks_content(tmp_path):
    config, env = setup(tmp_path)
    compose, _ = compose_of(config)
    a = render_all(config, env, hostvars(env), compose, "v7", "e", [])
    b = render_all(config, env, hostvars(env), compose, "v7", "e", [])
    c = render_all(config, env, hostvars(env), compose, "v8", "e", [])
    assert {h: p.definition for h, p in a.items()} == {h: p.definition for h, p in b.items()}
    assert a["web-1"].hash == b["web-1"].hash != c["web-1"].hash
    assert a["data-1"].hash == c["data-1"].hash  # the database's image does not follow the app version


def test_render_cli_prints_per_host(tmp_path, run_cli):
    setup(tmp_path)
    code, out, err = run_cli(["render", "-e", "staging", "--host", "data-1", "--version", "v1"], cwd=tmp_path / "multi")
    assert code == 0, err
    assert out.startswith("# host data-1  sha256 ") and "postgres:15" in out and "web-1" not in out


def test_rollout_order_carries_the_pre_stop_hook(tmp_path):
    config, env = setup(tmp_path)
    data = yaml.safe_load((tmp_path / "multi" / "stagecraft.yml").read_text())
    data["services"]["api"]["rollout"] = {"strategy": "rolling", "pre_stop": ["/bin/sh", "-c", "sleep 3"],
                                          "pre_stop_timeout": 9}
    (tmp_path / "multi" / "stagecraft.yml").write_text(yaml.safe_dump(data))
    config = load_config(tmp_path / "multi" / "stagecraft.yml").resolve("staging", environ={}).config
    compose, _ = compose_of(config)
    plans = render_all(config, env, hostvars(env), compose, "v7", "stagecraft/edge:x", [])
    order = {s["name"]: s for s in plans["web-1"].services}
    assert order["api"]["pre_stop"] == ["/bin/sh", "-c", "sleep 3"] and order["api"]["pre_stop_timeout"] == 9
    assert "pre_stop" not in order["web"]  # none configured: the module gets no hook


def test_encore_backend_is_built_by_encore_with_the_release_tag(tmp_path):
    from stagecraft.commands.build import encore_build_argv
    from stagecraft.commands.compose_render import backend_of
    from stagecraft.commands.compose_render import backend_service, built_services, image_refs

    config, _ = setup(tmp_path)
    data = yaml.safe_load((tmp_path / "multi" / "stagecraft.yml").read_text())
    data["backend"] = {"provider": "encore-ts", "service": "web",
                       "encore-ts": {"build": {"workdir": "backend", "arch": "arm64", "gateways": ["gw"]}}}
    (tmp_path / "multi" / "stagecraft.yml").write_text(yaml.safe_dump(data))
    config = load_config(tmp_path / "multi" / "stagecraft.yml").resolve("staging", environ={}).config
    compose, _ = compose_of(config)
    assert backend_service(config) == "web" and "web" in built_services(config, compose)
    assert image_refs(config, compose, "v7")["web"] == "registry.example.com/acme/web:v7"
    argv, cwd = encore_build_argv("r/web:v7", tmp_path, config.backend.settings)
    assert argv == ["encore", "build", "docker", "--arch=arm64", "--gateways=gw", "r/web:v7"]
    assert cwd == (tmp_path / "backend").resolve()
    # The backend plugin hands the deploy the same command, for its own service only.
    assert backend_of(config).build_command(config, "web", "r/web:v7")[0] == argv[:-1] + ["r/web:v7"]
    assert backend_of(config).build_command(config, "api", "r/api:v7") is None


def test_generic_backend_build_settings_apply_to_the_backend_service(tmp_path):
    from stagecraft.commands.build import build_argv
    from stagecraft.commands.compose_render import backend_of

    setup(tmp_path)
    data = yaml.safe_load((tmp_path / "multi" / "stagecraft.yml").read_text())
    data["backend"] = {"provider": "generic", "service": "web",
                       "generic": {"build": {"dockerfile": "Dockerfile.prod", "target": "runtime",
                                             "args": {"NODE_ENV": "production"}}}}
    (tmp_path / "multi" / "stagecraft.yml").write_text(yaml.safe_dump(data))
    config = load_config(tmp_path / "multi" / "stagecraft.yml").resolve("staging", environ={}).config
    backend = backend_of(config)
    assert backend.build_override(config, "api") is None
    argv = build_argv("r/web:v1", tmp_path / "multi", "./web", backend.build_override(config, "web"))
    assert argv == ["docker", "build", "-t", "r/web:v1", "-f", str((tmp_path / "multi" / "web" / "Dockerfile.prod")),
                    "--target", "runtime", "--build-arg", "NODE_ENV=production", str(tmp_path / "multi" / "web")]


def test_pinned_services_keep_the_image_their_hosts_run(tmp_path):
    from stagecraft.commands.compose_render import deployed_refs

    config, env = setup(tmp_path)
    compose, _ = compose_of(config)
    first = render_all(config, env, hostvars(env), compose, "v1", "stagecraft/edge:x", [])
    manifest = {"hosts": {h: p.manifest_entry() for h, p in first.items()}}
    refs = deployed_refs(manifest)
    assert refs["api"] == "registry.example.com/acme/api:v1" and refs["db"] == "postgres:15"
    # deploy --services api: web is not rebuilt and keeps v1; api gets v2.
    plans = render_all(config, env, hostvars(env), compose, "v2", "stagecraft/edge:x", [],
                       pinned={"web": refs["web"]})
    web = yaml.safe_load(plans["web-1"].definition)["services"]
    assert web["api"]["image"].endswith("api:v2") and web["web"]["image"].endswith("web:v1")


def test_services_using_a_name_are_those_that_interpolate_it():
    """What `secrets sync` predicts will restart: a changed value changes the Compose config hash of
    exactly the services whose definition interpolates it (the rollout compares those hashes)."""
    from stagecraft.commands.compose_render import HostDeploy

    compose = {"services": {
        "web": {"environment": {"WEB_TOKEN": "${WEB_TOKEN}", "MODE": "x"}},
        "api": {"environment": ["API_TOKEN=${API_TOKEN:-none}", "PLAIN=$WEB_TOKEN_OLD"]},
        "worker": {"command": "run --token $API_TOKEN"},
        EDGE_SERVICE: {"image": "stagecraft/edge:1"}}}
    plan = HostDeploy("app-1", yaml.safe_dump(compose), "h", [], {})
    assert plan.services_using(["WEB_TOKEN"]) == ["web"]  # not WEB_TOKEN_OLD's user
    assert plan.services_using(["API_TOKEN"]) == ["api", "worker"]
    assert plan.services_using(["MODE"]) == [] and plan.services_using([]) == []
