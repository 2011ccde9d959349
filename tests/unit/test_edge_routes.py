"""The edge proxy's routes: services sharing a public host name share one nginx server, each on its own
path (a frontend on / and an API on /api/); a second service on a taken host and path is warned about by
`config validate` and does not break the configuration. nginx itself reads the result in
tests/integration/test_platform.py."""

from __future__ import annotations

import yaml

from stagecraft.commands.compose_render import render_edge
from stagecraft.config import load_config
from stagecraft.config.model import compose_warnings


def config_for(tmp_path, services: dict):
    compose = {"services": {name: {"image": "busybox"} for name in services}}
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump({
        "version": 1, "project": {"name": "p"}, "environments": {"local": {"driver": "local"}},
        "roles": {"app": {"services": sorted(services), "public": True}}, "services": services}))
    return load_config(tmp_path / "stagecraft.yml").config, compose


def servers(conf: str) -> list[list[str]]:
    blocks = conf.split("    server {")[1:]
    return [[line.strip() for line in b.splitlines() if line.strip().startswith(("server_name", "location", "listen"))]
            for b in blocks]


def test_a_frontend_and_an_api_share_one_server(tmp_path):
    config, compose = config_for(tmp_path, {"web": {"port": 8080}, "api": {"port": 8000, "public": {"path": "/api/"}},
                                            "admin": {"port": 9000, "public": {"host": "admin.example.com"}}})
    conf = render_edge(config, ["admin", "api", "web"], [], {})
    assert servers(conf) == [
        ["listen 80 default_server;", "server_name _;", "location / {", "location /api/ {"],  # the catch-all
        ["listen 80;", "server_name admin.example.com;", "location / {"],
    ]
    assert "location /api/ {\n            proxy_pass http://svc_api;" in conf
    assert "location / {\n            proxy_pass http://svc_web;" in conf
    assert [w for w in compose_warnings(config, compose) if "routed like" in w] == []


def test_two_services_on_the_same_host_and_path_are_warned_about_and_kept_apart(tmp_path):
    config, compose = config_for(tmp_path, {"web": {"port": 8080}, "blog": {"port": 2368}})
    conf = render_edge(config, ["blog", "web"], [], {})
    assert servers(conf) == [["listen 80 default_server;", "server_name _;", "location / {"],
                             ["listen 80;", "server_name _;", "location / {"]]  # nginx ignores the second
    assert [w for w in compose_warnings(config, compose) if "routed like" in w] == [
        "services.web: routed like services.blog (path / of any host name): only blog answers there; give web "
        "a public.path (e.g. /api/) or a public.host"]
