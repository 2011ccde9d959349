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
    monkeypatch.setattr("stagecraft.cli.templating.interactive", lambda non_interactive: True)
    code, _, err = run_cli(["init"], cwd=tmp_path)
    assert code == 0, err
    assert load_config(tmp_path / "stagecraft.yml").config.project.name == "my-shop"


def test_init_slugs_project_name(tmp_path, run_cli):
    code, _, err = run_cli(["init", "--non-interactive", "--project-name", "9 Shop!"], cwd=tmp_path)
    assert code == 0, err
    assert load_config(tmp_path / "stagecraft.yml").config.project.name == "app-9-shop"


def test_init_without_a_terminal_uses_defaults_and_never_prompts(tmp_path, run_cli, monkeypatch):
    import click

    def no_prompt(*a, **k):
        raise AssertionError("prompted without a terminal")

    monkeypatch.setattr(click, "prompt", no_prompt)
    code, _, err = run_cli(["init"], cwd=tmp_path)
    assert code == 0, err
    from stagecraft.scaffold.engine import slug

    assert load_config(tmp_path / "stagecraft.yml").config.project.name == slug(tmp_path.name)


def test_init_routes_published_ports_and_keeps_volume_services_single(tmp_path, run_cli):
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  web: {build: ., ports: ['80:8080']}\n"
        "  uploads: {build: ./up, ports: ['127.0.0.1:9000:9000'], volumes: ['files:/srv']}\n"
        "volumes: {files: {}}\n")
    code, out, err = run_cli(["init", "--non-interactive", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    plans = {s["name"]: s for s in json.loads(out)["services"]}
    assert plans["web"] == {"name": "web", "role": "app", "strategy": "rolling", "port": 8080}
    assert plans["uploads"]["strategy"] == "recreate" and plans["uploads"]["port"] == 9000
    config = load_config(tmp_path / "stagecraft.yml").config
    assert config.service("web").port == 8080
    assert config.roles["app"].public is True  # no gateway: the app hosts answer on port 80


def test_init_ignores_env_files_once_and_keeps_the_state_out_of_git(tmp_path, run_cli):
    import subprocess

    (tmp_path / ".gitignore").write_text("node_modules/")
    assert run_cli(["init", "--non-interactive"], cwd=tmp_path)[0] == 0
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0] == "node_modules/" and ".env.*" in lines and "!.env.example" in lines
    assert ".stagecraft/" not in lines  # .stagecraft/.gitignore decides, so hooks/ and tests/ can be committed
    assert run_cli(["init", "--non-interactive", "--force"], cwd=tmp_path)[0] == 0
    assert (tmp_path / ".gitignore").read_text().splitlines() == lines
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for rel in ("state.db", "ssh/id_ed25519", "known_hosts/local", "dev/certs/dev.pem", "hooks/pre-build",
                "tests/smoke.sh"):
        (tmp_path / ".stagecraft" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / ".stagecraft" / rel).write_text("x")
    (tmp_path / ".env.prod").write_text("X=1")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout.split()
    assert ".stagecraft/hooks/pre-build" in status and ".stagecraft/tests/smoke.sh" in status
    assert ".stagecraft/.gitignore" in status
    assert not [f for f in status if "state.db" in f or "/ssh/" in f or "known_hosts" in f or "/dev/" in f
                or f == ".env.prod"]


def test_stagecraft_state_never_makes_the_version_dirty(tmp_path):
    import subprocess

    from stagecraft.deploy.version import git_version

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "app.py").write_text("x = 1\n")
    git("add", "."), git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    (tmp_path / ".stagecraft" / "ssh").mkdir(parents=True)
    (tmp_path / ".stagecraft" / "state.db").write_text("x")
    version, commit = git_version(tmp_path)
    assert version == commit[:12]
    (tmp_path / "app.py").write_text("x = 2\n")
    assert "-dirty-" in git_version(tmp_path)[0]
