"""The edge's routes: services sharing a public host name are routed on the shared Caddy edge by path
(a frontend on / and an API on /api/: the longer path first, named hosts before the catch-all); a second
service on a taken host and path is warned about by `config validate` and does not break the
configuration. Caddy itself reads the result in tests/integration/test_platform.py and test_edge.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from stagecraft.commands.compose_render import render_edge
from stagecraft.config import load_config
from stagecraft.config.model import compose_warnings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.stagecraft.infra.plugins.module_utils import edge  # noqa: E402

UPSTREAMS = {"web": ["web:8080"], "api": ["api:8000"], "admin": ["admin:9000"], "blog": ["blog:2368"]}


def config_for(tmp_path, services: dict):
    compose = {"services": {name: {"image": "busybox"} for name in services}}
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump({
        "version": 1, "project": {"name": "p"}, "environments": {"local": {"driver": "local"}},
        "roles": {"app": {"services": sorted(services), "public": True}}, "services": services}))
    return load_config(tmp_path / "stagecraft.yml").config, compose


def http_routes(routes_json: str) -> list[tuple]:
    """(match, upstream) of the Caddy HTTP server's routes, in the order Caddy tries them."""
    conf = edge.caddy_config({"p": {"routes": json.loads(routes_json), "upstreams": UPSTREAMS}})
    out = []
    for r in conf["apps"]["http"]["servers"]["http"]["routes"]:
        handler = r["handle"][0]
        upstream = handler["upstreams"][0]["dial"] if handler["handler"] == "reverse_proxy" else handler["status_code"]
        out.append((r.get("match"), upstream))
    return out


def test_a_frontend_and_an_api_share_one_host_name(tmp_path):
    config, compose = config_for(tmp_path, {"web": {"port": 8080}, "api": {"port": 8000, "public": {"path": "/api/"}},
                                            "admin": {"port": 9000, "public": {"host": "admin.example.com",
                                                                                "tls": "off"}}})
    routes = render_edge(config, ["admin", "api", "web"], [], {}, public=True)
    assert http_routes(routes) == [
        ([{"host": ["admin.example.com"]}], "admin:9000"),  # a named host first
        ([{"path": ["/api/*"]}], "api:8000"),  # then the longer path of the catch-all
        (None, "web:8080"),
        (None, 404),  # what no route matches
    ]
    assert [w for w in compose_warnings(config, compose) if "routed like" in w] == []


def test_two_services_on_the_same_host_and_path_are_warned_about_and_kept_apart(tmp_path):
    config, compose = config_for(tmp_path, {"web": {"port": 8080}, "blog": {"port": 2368}})
    routes = render_edge(config, ["blog", "web"], [], {}, public=True)
    assert http_routes(routes) == [(None, "blog:2368"), (None, "web:8080"), (None, 404)]  # only blog answers
    assert [w for w in compose_warnings(config, compose) if "routed like" in w] == [
        "services.web: routed like services.blog (path / of any host name): only blog answers there; give web "
        "a public.path (e.g. /api/) or a public.host"]
