"""stagecraft init: valid commented config, compose services mapped to roles, no silent overwrite."""

from __future__ import annotations

import json

from stagecraft.config import load_config

COMPOSE = """\
services:
  api: {build: ./api}
  worker: {build: ./api, command: worker}
  db: {image: postgres:16, volumes: [pg:/var/lib/postgresql/data]}
  cache: {image: redis:7}
  proxy: {image: traefik:v3}
volumes: {pg: {}}
"""


def test_init_without_compose_writes_valid_config(tmp_path, run_cli):
    code, out, err = run_cli(["init", "--non-interactive", "--project-name", "shop"], cwd=tmp_path)
    assert code == 0, err
    loaded = load_config(tmp_path / "stagecraft.yml")
    assert loaded.config.project.name == "shop"
    assert "local" in loaded.config.environments
    assert "# " in (tmp_path / "stagecraft.yml").read_text()  # commented


def test_init_maps_compose_services_to_roles(tmp_path, run_cli):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    code, out, err = run_cli(["init", "--non-interactive", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    roles = {s["name"]: (s["role"], s["strategy"]) for s in result["services"]}
    assert roles == {"api": ("app", "rolling"), "worker": ("app", "rolling"), "db": ("db", "recreate"),
                     "cache": ("db", "recreate"), "proxy": ("gateway", "recreate")}
    config = load_config(tmp_path / "stagecraft.yml").config  # validates against compose.yaml too
    assert config.project.compose_file == "compose.yaml"
    assert config.placement == {"api": "app", "cache": "db", "db": "db", "proxy": "gateway", "worker": "app"}
    assert config.roles["gateway"].public is True
    assert config.service("db").strategy == "recreate"


def test_init_refuses_to_overwrite_without_force(tmp_path, run_cli):
    (tmp_path / "stagecraft.yml").write_text("keep: me\n")
    code, _, err = run_cli(["init", "--non-interactive"], cwd=tmp_path)
    assert code == 1 and "--force" in err
    assert (tmp_path / "stagecraft.yml").read_text() == "keep: me\n"
    code, _, _ = run_cli(["init", "--non-interactive", "--force"], cwd=tmp_path)
    assert code == 0 and "keep: me" not in (tmp_path / "stagecraft.yml").read_text()


def test_init_dry_run_writes_nothing(tmp_path, run_cli):
    code, out, _ = run_cli(["init", "--non-interactive", "--dry-run"], cwd=tmp_path)
    assert code == 0 and "project:" in out
    assert not (tmp_path / "stagecraft.yml").exists()


def test_init_interactive_prompts_for_name(tmp_path, run_cli, monkeypatch):
    import click

    monkeypatch.setattr(click, "prompt", lambda text, default=None: "my-shop")
    code, _, err = run_cli(["init"], cwd=tmp_path)
    assert code == 0, err
    assert load_config(tmp_path / "stagecraft.yml").config.project.name == "my-shop"


def test_init_slugs_project_name(tmp_path, run_cli):
    code, _, err = run_cli(["init", "--non-interactive", "--project-name", "9 Shop!"], cwd=tmp_path)
    assert code == 0, err
    assert load_config(tmp_path / "stagecraft.yml").config.project.name == "app-9-shop"
