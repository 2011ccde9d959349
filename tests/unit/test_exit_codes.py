"""Documented exit codes (spec/exit-codes.md): 0 ok, 1 user/config, 2 external, 3 internal, 10 partial."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stagecraft import errors


def test_codes_are_the_documented_numbers():
    assert (errors.OK, errors.USER_ERROR, errors.EXTERNAL_ERROR, errors.INTERNAL_ERROR, errors.PARTIAL_FAILURE) == (
        0, 1, 2, 3, 10)
    assert errors.ExternalError("x").exit_code == 2 and errors.PartialFailure("x").exit_code == 10


def test_success_is_0(run_cli):
    code, out, _ = run_cli(["version", "-o", "json"])
    assert code == 0 and json.loads(out)["stagecraft"]


def test_usage_errors_are_1_not_clicks_2(run_cli):
    assert run_cli(["no-such-command"])[0] == 1
    assert run_cli(["version", "--no-such-flag"])[0] == 1
    assert run_cli(["version", "-o", "xml"])[0] == 1


@pytest.mark.parametrize("exc, code", [(errors.ExternalError("engine gone"), 2),
                                       (errors.PartialFailure("2 of 3 hosts failed"), 10),
                                       (RuntimeError("boom"), 3)])
def test_exceptions_map_to_codes_without_traceback(exc, code, run_cli, monkeypatch):
    from stagecraft.cli import cmd_version

    def explode(*a, **k):
        raise exc

    monkeypatch.setattr(cmd_version.output, "data", explode)
    got, out, err = run_cli(["version"])
    assert got == code
    assert "Traceback" not in out + err
    assert str(exc) in err


def test_real_process_exit_code_and_stderr(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stagecraft", "-c", str(tmp_path / "missing.yml"),
                           "config", "validate"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "config file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_help_does_not_import_ansible_or_rich():
    code = ("import sys; from stagecraft.cli.main import cli; "
            "sys.argv=['stagecraft','--help']\n"
            "try:\n    cli.main(standalone_mode=False)\nexcept SystemExit: pass\n"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('ansible','ansible_runner','rich','jsonschema','pydo')]\n"
            "print('IMPORTED:' + ','.join(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: stagecraft" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "IMPORTED:"


def test_shell_completion_lists_commands_and_envs(tmp_path):
    (tmp_path / "stagecraft.yml").write_text(
        "project: {name: s}\nenvironments:\n  local: {driver: local}\n  prod: {driver: local}\n")
    env = {"_STAGECRAFT_COMPLETE": "bash_complete", "COMP_WORDS": "stagecraft inv", "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-m", "stagecraft"], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, **env}, cwd=tmp_path)
    assert "plain,inventory" in proc.stdout
    env.update(COMP_WORDS="stagecraft inventory -e p", COMP_CWORD="3")
    proc = subprocess.run([sys.executable, "-m", "stagecraft"], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, **env}, cwd=tmp_path)
    assert "plain,prod" in proc.stdout


UNREACHABLE = """\
version: 1
project: {name: u}
environments:
  prod:
    driver: ssh
    ssh: {port: 1}   # nothing listens: ssh is refused at once
    hosts:
      app-1: {roles: [app], address: 127.0.0.1}
roles:
  app: {public: true, services: [web]}
"""


@pytest.mark.parametrize("command", [["maintenance", "on"], ["prune"]])
def test_a_failure_after_a_result_is_one_json_document(command, tmp_path):
    """The per-host result and the error it ends in: one document on stdout (a second one breaks every
    consumer), with the hosts' errors in it and ssh's own message, not a guess."""
    (tmp_path / "stagecraft.yml").write_text(UNREACHABLE)
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: busybox\n")
    proc = subprocess.run([sys.executable, "-m", "stagecraft", *command, "-e", "prod", "-o", "json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "STAGECRAFT_STATE_DIR": str(tmp_path / "state")})
    assert proc.returncode == 2, proc.stderr  # every host failed: external, not partial
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2 and doc["errors"]
    assert "Connection refused" in doc["hosts"]["app-1"]["error"]
    assert "Traceback" not in proc.stderr
