"""The pure DigitalOcean planner, the API URL rule, and request bodies against the official spec."""

from __future__ import annotations

import pytest

from stagecraft.config import model
from stagecraft.providers.digitalocean import plan as p
from stagecraft.testing import do_spec


def _config(hosts: dict, network: dict | None = None, firewall: dict | None = None, **do):
    data = {"version": 1, "project": {"name": "shop"},
            "environments": {"prod": {"driver": "digitalocean", "hosts": hosts}},
            "roles": {"app": {}, "gateway": {"public": True}},
            "cloud": {"digitalocean": {"ssh_keys": ["deploy"], **do}}}
    if network:
        data["network"] = network
    if firewall:
        data["cloud"]["digitalocean"]["firewall"] = firewall
    config = model.Config.parse(data)
    return config, config.environments["prod"]


def _droplet(name, size="s-1vcpu-1gb", region="fra1", tags=("stagecraft", "stagecraft-project-shop",
                                                             "stagecraft-env-prod"), ip="203.0.113.5"):
    return {"id": hash(name) % 10**6, "name": name, "size_slug": size, "region": {"slug": region}, "status": "active",
            "tags": list(tags), "networks": {"v4": [{"type": "public", "ip_address": ip}]}}


def test_desired_tags_defaults_and_overrides():
    config, env = _config({"app-1": {"roles": ["app"], "size": "s-2vcpu-4gb"}, "gw-1": {"roles": ["gateway"]}},
                          region="ams3", tags=["team-a"])
    d = {x.host: x for x in p.desired_droplets(config, env)}
    assert d["app-1"].name == "shop-prod-app-1" and d["app-1"].size == "s-2vcpu-4gb" and d["app-1"].region == "ams3"
    assert d["gw-1"].size == "s-1vcpu-1gb" and d["gw-1"].public and not d["app-1"].public
    assert {"stagecraft", "stagecraft-project-shop", "stagecraft-env-prod", "stagecraft-role-gateway",
            "stagecraft-shop-prod-public", "team-a"} <= set(d["gw-1"].tags)
    assert "stagecraft-shop-prod-public" not in d["app-1"].tags


def test_plan_create_keep_drift_orphan():
    config, env = _config({"app-1": {"roles": ["app"]}, "app-2": {"roles": ["app"]}, "app-3": {"roles": ["app"]}})
    desired = p.desired_droplets(config, env)
    actual = [_droplet("shop-prod-app-1"), _droplet("shop-prod-app-2", size="s-2vcpu-4gb", region="ams3"),
              _droplet("shop-prod-old-1", tags=("stagecraft", "stagecraft-project-shop", "stagecraft-env-prod",
                                                "stagecraft-role-app"))]
    result = p.plan(desired, actual, [], [], [])
    actions = {i.host: i.action for i in result.items}
    assert actions == {"app-1": "keep", "app-2": "drift", "app-3": "create", "shop-prod-old-1": "orphan"}
    drifted = next(i for i in result.items if i.host == "app-2")
    assert drifted.drift == {"size": {"declared": "s-1vcpu-1gb", "actual": "s-2vcpu-4gb"},
                             "region": {"declared": "fra1", "actual": "ams3"}}
    assert result.to_dict()["summary"] == {"create": 1, "keep": 1, "off": 0, "drift": 1, "orphan": 1}
    assert next(i for i in result.items if i.action == "orphan").roles == ["app"]


def test_ownership_needs_project_and_env_tags():
    assert p.owned(_droplet("x"), "shop", "prod")
    assert not p.owned(_droplet("x", tags=("stagecraft", "stagecraft-env-prod")), "shop", "prod")
    assert not p.owned(_droplet("x"), "shop", "staging")


def test_create_body_one_droplet_with_its_user_data():
    config, env = _config({"app-1": {"roles": ["app"]}})
    body = p.create_body(p.desired_droplets(config, env)[0], [1], vpc_uuid="v", user_data="#cloud-config\n")
    assert body["name"] == "shop-prod-app-1" and "names" not in body and body["vpc_uuid"] == "v"
    assert body["user_data"] == "#cloud-config\n"


def test_off_and_archived_droplets_are_planned_off():
    config, env = _config({"app-1": {"roles": ["app"]}, "app-2": {"roles": ["app"]}})
    desired = p.desired_droplets(config, env)
    off, archived = _droplet("shop-prod-app-1"), _droplet("shop-prod-app-2")
    off["status"], archived["status"] = "off", "archive"
    result = p.plan(desired, [off, archived], [], [], [])
    assert [(i.action, i.status) for i in result.items] == [("off", "off"), ("off", "archive")]
    assert result.changes


def test_all_port_firewall_rules_compare_canonically():
    config, env = _config({"app-1": {"roles": ["app"]}})
    want = p.firewall_bodies(config, env)[0]
    # As the API answers: all-port rules read back as "0".
    have = {**want, "inbound_rules": [{**r, "ports": "0"} if r["ports"] == "1-65535" else r
                                      for r in want["inbound_rules"]],
            "outbound_rules": [{**r, "ports": "0"} for r in want["outbound_rules"]]}
    assert p.same_firewall(want, have)
    assert not p.same_firewall(want, {**have, "outbound_rules": [{**r, "ports": "80"} for r in want["outbound_rules"]]})


def test_gpu_sizes_are_named():
    config, env = _config({"app-1": {"roles": ["app"], "size": "gpu-h100x1-80gb"}, "app-2": {"roles": ["app"]}})
    assert p.gpu_sizes(config, env) == ["environments.prod.hosts.app-1.size"]
    config, env = _config({"app-1": {"roles": ["app"]}}, size="gpu-h100x1-80gb")
    assert p.gpu_sizes(config, env) == ["cloud.digitalocean.size"]


def test_firewall_mirrors_policy():
    config, env = _config({"app-1": {"roles": ["app"]}, "gw-1": {"roles": ["gateway"]}},
                          firewall={"ssh_from": ["198.51.100.0/24"]})
    base, public = p.firewall_bodies(config, env)
    assert base["tags"] == ["stagecraft-shop-prod"] and public["tags"] == ["stagecraft-shop-prod-public"]
    ssh = [r for r in base["inbound_rules"] if r["ports"] == "22"]
    assert ssh == [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["198.51.100.0/24"]}}]
    assert not [r for r in base["inbound_rules"] if r["ports"] == str(p.MESH_UDP_PORT)]
    assert {r["ports"] for r in public["inbound_rules"]} == {"80", "443"}
    assert p.same_firewall(base, {**base, "id": "x", "inbound_rules": list(reversed(base["inbound_rules"]))})
    assert not p.same_firewall(base, {**base, "inbound_rules": base["inbound_rules"][1:]})


@pytest.mark.parametrize("url,ok", [("https://api.digitalocean.com", True), ("http://127.0.0.1:4010", True),
                                    ("http://localhost:9", True), ("http://[::1]:9", True),
                                    ("http://10.0.0.5:4010", False), ("ftp://x", False)])
def test_api_url_rule(monkeypatch, url, ok):
    from stagecraft.errors import UserError
    from stagecraft.providers.digitalocean import api

    monkeypatch.setenv(api.URL_ENV, url)
    if ok:
        assert api.api_url() == url
    else:
        with pytest.raises(UserError, match="loopback"):
            api.api_url()


def test_bodies_validate_against_official_spec():
    spec = do_spec.load()
    if spec is None:
        pytest.skip("../shared/digitalocean-openapi is not present")
    config, env = _config({"app-1": {"roles": ["app"]}, "app-2": {"roles": ["app"]}, "gw-1": {"roles": ["gateway"]}},
                          network={"provider": "tailscale", "tailscale": {"auth_key_env": "TS_KEY"}},
                          user_data="#cloud-config\n", vpc_uuid="760e09ef-dc84-11e8-981e-3cfdfeaae000")
    for droplet in p.desired_droplets(config, env):
        body = p.create_body(droplet, [512190], vpc_uuid=config.digitalocean.vpc_uuid, user_data="#cloud-config\n")
        assert do_spec.errors(spec.request_schema("POST", "/v2/droplets"), body) == []
    for fw in p.firewall_bodies(config, env):
        assert do_spec.errors(spec.request_schema("POST", "/v2/firewalls"), fw) == []
        assert do_spec.errors(spec.request_schema("PUT", "/v2/firewalls/abc"), fw) == []
    # The check can fail: a name with a space and no size is rejected.
    assert do_spec.errors(spec.request_schema("POST", "/v2/droplets"), {"name": "bad name", "image": "x"})
