"""Global options: flag > STAGECRAFT_* env var > config `defaults:` > built-in default."""

from __future__ import annotations

import json

import pytest

from stagecraft.commands.ansible_data import plain

CONFIG = """\
version: 1
project: {name: shop}
defaults: {env: staging, output: json}
environments:
  local: {driver: local, hosts: {h1: {roles: [app]}}}
  staging: {driver: ssh, hosts: {h1: {roles: [app], address: 10.0.0.1}}}
  prod: {driver: ssh, hosts: {h1: {roles: [app], address: 10.0.0.9}}}
roles: {app: {}}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "stagecraft.yml").write_text(CONFIG)
    return tmp_path


def env_of(out: str) -> str:
    return plain(json.loads(out))["_meta"]["hostvars"]["h1"]["stagecraft_environment"] if out.startswith("{") else out


def test_config_defaults_apply(project, run_cli):
    code, out, _ = run_cli(["inventory"], cwd=project)
    assert code == 0
    assert env_of(out) == "staging"  # defaults.env, and defaults.output json


def test_env_var_beats_config(project, run_cli):
    code, out, _ = run_cli(["inventory"], cwd=project, env={"STAGECRAFT_ENV": "prod"})
    assert code == 0 and env_of(out) == "prod"


def test_flag_beats_env_var(project, run_cli):
    code, out, _ = run_cli(["inventory", "-e", "local"], cwd=project, env={"STAGECRAFT_ENV": "prod"})
    assert code == 0 and env_of(out) == "local"


def test_flag_before_command_works_and_later_flag_wins(project, run_cli):
    code, out, _ = run_cli(["-e", "prod", "inventory"], cwd=project)
    assert env_of(out) == "prod"
    code, out, _ = run_cli(["-e", "prod", "inventory", "--env", "local"], cwd=project)
    assert env_of(out) == "local"


def test_output_flag_beats_config(project, run_cli):
    code, out, _ = run_cli(["inventory", "-o", "text"], cwd=project)
    assert code == 0 and out.startswith("all:")
    code, out, _ = run_cli(["inventory"], cwd=project, env={"STAGECRAFT_OUTPUT": "text"})
    assert out.startswith("all:")


def test_config_path_from_env_var(project, tmp_path, run_cli, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    code, out, err = run_cli(["config", "validate", "-o", "text"], cwd=other,
                             env={"STAGECRAFT_CONFIG": str(project / "stagecraft.yml")})
    assert code == 0, err
    assert "valid" in out


def test_builtin_default_when_nothing_set(tmp_path, run_cli):
    (tmp_path / "stagecraft.yml").write_text(CONFIG.replace("defaults: {env: staging, output: json}\n", ""))
    code, _, err = run_cli(["inventory"], cwd=tmp_path)
    assert code == 1
    assert "-e/--env is required" in err and "local, prod, staging" in err


def test_unknown_env_names_the_argument(project, run_cli):
    code, _, err = run_cli(["inventory", "-e", "stagin"], cwd=project)
    assert code == 1
    assert "--env: unknown environment 'stagin' (did you mean 'staging'?)" in err


def test_every_command_accepts_global_options(run_cli):
    from stagecraft.cli.main import cli

    def walk(cmd, path):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, path + [name])
        for name in getattr(cmd, "lazy", {}):
            yield from walk(cmd.get_command(None, name), path + [name])

    for path, cmd in walk(cli, []):
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"-c", "-e", "-v", "-q", "--dry-run", "-o", "--no-color"} <= opts, path
        assert "Example" in (cmd.help or ""), f"stagecraft {' '.join(path)} --help has no example"


def test_verbose_and_flags_from_env_vars(project, run_cli, monkeypatch):
    from stagecraft.cli import cmd_version, settings as settings_mod

    seen = {}

    def capture(obj, text=None):
        s = settings_mod.settings()
        seen.update(verbose=s.verbose, dry_run=s.dry_run, quiet=s.quiet, color=s.color)

    monkeypatch.setattr(cmd_version.output, "data", capture)
    run_cli(["version"], cwd=project, env={"STAGECRAFT_VERBOSE": "2", "STAGECRAFT_DRY_RUN": "1",
                                           "STAGECRAFT_QUIET": "true", "NO_COLOR": "1"})
    assert seen == {"verbose": 2, "dry_run": True, "quiet": True, "color": False}
    run_cli(["version", "-vvv"], cwd=project, env={"STAGECRAFT_VERBOSE": "1"})
    assert seen["verbose"] == 3
