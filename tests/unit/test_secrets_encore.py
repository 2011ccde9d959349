"""secrets.provider encore: `secrets sync -e local` sets each value of the local environment as an Encore
secret with `encore secret set --type <types> NAME`, the value on stdin. A recording stand-in of the
`encore` CLI on PATH proves the exact argv, working directory and stdin (no encore binary is installable
on the test machines); it does not prove that Encore accepts the secret."""

from __future__ import annotations

import json
import os
import textwrap

CONFIG = """
version: 1
project: {name: shop}
environments:
  local:
    driver: ssh
    env_file: .env.local
    # Nothing deployed, nothing listening: the hosts' journal is skipped at once (connection refused).
    hosts: {app-1: {roles: [app], address: 127.0.0.1, ssh: {port: 9}}}
  prod:
    driver: ssh
    hosts: {app-1: {roles: [app], address: 127.0.0.1, ssh: {port: 9}}}
roles: {app: {services: [web]}}
services:
  web: {secrets: [STRIPE_KEY]}
secrets:
  provider: encore
  encore: {workdir: api, types: [local, dev]}
"""
TRICKY = "sk_test 'quoted' $HOME \\n back\\\\slash\nsecond line ✓"

STAND_IN = """#!/usr/bin/env python3
import json, os, sys
record = {"argv": sys.argv[1:], "cwd": os.getcwd(), "stdin": sys.stdin.read()}
with open(os.environ["ENCORE_RECORD"], "a") as f:
    f.write(json.dumps(record) + "\\n")
if os.environ.get("ENCORE_FAIL"):
    sys.stderr.write("error: cannot set secret " + record["stdin"] + "\\n")
    sys.exit(3)
"""


def project(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "stagecraft.yml").write_text(textwrap.dedent(CONFIG))
    (tmp_path / ".env.local").write_text("API_MODE=dev-file\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "encore").write_text(STAND_IN)
    (bin_dir / "encore").chmod(0o755)
    record = tmp_path / "encore.jsonl"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "ENCORE_RECORD": str(record),
           "STRIPE_KEY": TRICKY, "STAGECRAFT_STATE_DIR": str(tmp_path / ".stagecraft")}
    return tmp_path / "stagecraft.yml", env, record


def calls(record) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_sync_sets_each_value_through_stdin_never_argv(tmp_path, run_cli):
    path, env, record = project(tmp_path)
    code, out, err = run_cli(["-c", str(path), "secrets", "sync", "-e", "local", "-o", "json"], env=env)
    assert code == 0, err
    got = calls(record)
    assert [c["argv"] for c in got] == [["secret", "set", "--type", "local,dev", "API_MODE"],
                                        ["secret", "set", "--type", "local,dev", "STRIPE_KEY"]]
    assert [c["stdin"] for c in got] == ["dev-file", TRICKY]  # exact bytes, no newline added
    assert {c["cwd"] for c in got} == {str(tmp_path / "api")}
    data = json.loads(out)
    assert data["provider"] == {"name": "encore", "target": "Encore secrets (local, dev) of api",
                                "set": ["API_MODE", "STRIPE_KEY"]}
    assert data["release"] is None and data["of"] is None  # nothing deployed: only Encore
    assert "sk_test" not in out + err and "dev-file" not in out + err


def test_dry_run_sets_nothing(tmp_path, run_cli):
    path, env, record = project(tmp_path)
    code, out, err = run_cli(["-c", str(path), "secrets", "sync", "-e", "local", "--dry-run"], env=env)
    assert code == 0, err
    assert calls(record) == [] and "Would set 2 value(s) in Encore secrets" in out


def test_other_environments_leave_encore_alone(tmp_path, run_cli):
    path, env, record = project(tmp_path)
    code, _, err = run_cli(["-c", str(path), "secrets", "sync", "-e", "prod"], env=env)
    assert code == 1 and "nothing deployed to 'prod'" in err
    assert calls(record) == []


def test_a_failing_encore_names_the_secret_and_masks_the_value(tmp_path, run_cli):
    path, env, record = project(tmp_path)
    code, out, err = run_cli(["-c", str(path), "secrets", "sync", "-e", "local"], env={**env, "ENCORE_FAIL": "1"})
    assert code == 2
    assert "secrets.provider encore: `encore secret set --type local,dev API_MODE` exited 3" in err
    assert "dev-file" not in out + err and "***" in err


def test_missing_encore_cli_is_an_external_error(tmp_path, run_cli):
    path, env, _ = project(tmp_path)
    (tmp_path / "bin" / "encore").unlink()
    code, _, err = run_cli(["-c", str(path), "secrets", "sync", "-e", "local"], env=env)
    assert code == 2 and "'encore' is not installed" in err and "encore CLI" in err


def test_the_provider_is_a_plugin_and_its_keys_are_checked(tmp_path, run_cli):
    from stagecraft import plugins
    from stagecraft.secrets.encore import EncoreProvider

    assert plugins.load("secrets", "encore") is EncoreProvider
    path, env, _ = project(tmp_path)
    path.write_text(path.read_text().replace("  encore: {workdir: api, types: [local, dev]}",
                                             "  encore: {environment: staging}"))
    code, _, err = run_cli(["-c", str(path), "config", "validate"], env=env)
    assert code == 1 and "secrets.encore.environment" in err and "unknown environment 'staging'" in err
    path.write_text(path.read_text().replace("provider: encore", "provider: env"))
    code, _, err = run_cli(["-c", str(path), "config", "validate"], env=env)
    assert code == 1 and "secrets.encore is read only with secrets.provider: encore" in err
