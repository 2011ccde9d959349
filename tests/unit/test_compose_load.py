"""Reading compose files as Compose does: `!reset`/`!override`, `include:`, `extends:`; and what the
per-host file keeps of them (top-level secrets and configs its services use)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from stagecraft.config import compose as compose_model
from stagecraft.config import load_config
from stagecraft.errors import UserError
from stagecraft.deploy.render import compose_of, render_all


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_reset_and_override_tags_are_compose_data(tmp_path):
    f = write(tmp_path / "compose.yaml", """
        x-base: &base
          image: app
          ports: ["80:80"]
          environment: {A: "1"}
        services:
          app:
            <<: *base
            ports: !reset []
            environment: !override {B: "2"}
    """)
    app = compose_model.load(f)["services"]["app"]
    assert app == {"image": "app", "environment": {"B": "2"}}


def test_include_joins_services_and_rebases_their_paths(tmp_path):
    write(tmp_path / "infra" / "compose.yaml", """
        services:
          cache:
            build: ./cache
            env_file: cache.env
            volumes: ["./data:/data", "named:/x"]
        volumes:
          named: {}
    """)
    f = write(tmp_path / "compose.yaml", """
        include:
          - infra/compose.yaml
        services:
          web: {image: web}
    """)
    data = compose_model.load(f)
    assert "include" not in data
    cache = data["services"]["cache"]
    assert cache["build"] == "./infra/cache" and cache["env_file"] == ["./infra/cache.env"]
    assert cache["volumes"] == ["./infra/data:/data", "named:/x"]
    assert data["volumes"] == {"named": {}}


def test_include_that_redefines_a_service_is_refused(tmp_path):
    write(tmp_path / "other.yaml", "services: {web: {image: x}}\n")
    f = write(tmp_path / "compose.yaml", "include: [other.yaml]\nservices: {web: {image: web}}\n")
    with pytest.raises(UserError, match="defines services web again"):
        compose_model.load(f)


def test_extends_merges_the_base_service(tmp_path):
    write(tmp_path / "common" / "base.yaml", """
        services:
          base:
            build: ./app
            environment: {LOG: info, MODE: base}
            depends_on: [db]
    """)
    f = write(tmp_path / "compose.yaml", """
        services:
          web:
            extends: {file: common/base.yaml, service: base}
            environment: {MODE: web}
          worker:
            extends: web
            command: work
    """)
    services = compose_model.load(f)["services"]
    assert services["web"] == {"build": "./common/app", "environment": {"LOG": "info", "MODE": "web"}}
    assert services["worker"]["build"] == "./common/app" and services["worker"]["command"] == "work"


def test_extends_loop_and_missing_base_are_user_errors(tmp_path):
    f = write(tmp_path / "compose.yaml", "services: {a: {extends: b}, b: {extends: a}}\n")
    with pytest.raises(UserError, match="extends loops"):
        compose_model.load(f)
    f = write(tmp_path / "compose.yaml", "services: {a: {extends: nope}}\n")
    with pytest.raises(UserError, match="does not define"):
        compose_model.load(f)


def test_host_file_keeps_the_secrets_and_configs_its_services_use(tmp_path):
    write(tmp_path / "docker-compose.yml", """
        services:
          web:
            image: web
            secrets: [token]
            configs: [{source: site, target: /etc/site.conf}]
          db:
            image: db
            secrets: [dbpass]
        secrets:
          token: {file: ./token.txt}
          dbpass: {environment: DB_PASSWORD}
        configs:
          site: {file: ./site.conf}
    """)
    write(tmp_path / "stagecraft.yml", """
        version: 1
        project: {name: p}
        environments:
          prod:
            driver: ssh
            hosts:
              a: {roles: [app], address: 10.0.0.1}
              b: {roles: [data], address: 10.0.0.2}
        roles:
          app: {services: [web]}
          data: {services: [db]}
    """)
    (tmp_path / "token.txt").write_text("t\n")
    (tmp_path / "site.conf").write_text("s\n")
    resolved = load_config(tmp_path / "stagecraft.yml").resolve("prod", environ={})
    compose, _ = compose_of(resolved.config)
    hostvars = {"a": "10.0.0.1", "b": "10.0.0.2"}
    plans = render_all(resolved.config, resolved.environment, hostvars, compose, "v1", "edge:x", [])
    a, b = (yaml.safe_load(plans[h].definition) for h in ("a", "b"))
    assert a["secrets"] == {"token": {"file": "./token.txt"}} and a["configs"] == {"site": {"file": "./site.conf"}}
    assert b["secrets"] == {"dbpass": {"environment": "DB_PASSWORD"}} and "configs" not in b
