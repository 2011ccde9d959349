"""Secret providers: env (env_file + process), command (per key, or one dotenv command); values never printed."""

from __future__ import annotations

import json
import textwrap

from stagecraft.commands import remote

CONFIG = """
version: 1
project: {name: shop}
environments:
  prod:
    driver: ssh
    env_file: .env.prod
    hosts: {app-1: {roles: [app], address: 10.0.0.1}}
roles: {app: {services: [web]}}
services:
  web: {secrets: [DB_PASSWORD, API_TOKEN]}
secrets:
  keys: [SHARED_KEY]
"""


def write(tmp_path, extra=""):
    (tmp_path / "stagecraft.yml").write_text(textwrap.dedent(CONFIG) + textwrap.dedent(extra))
    (tmp_path / ".env.prod").write_text("SHARED_KEY=from-env-file\n")
    return tmp_path / "stagecraft.yml"


def test_list_says_set_or_unset_and_where_from_never_the_value(tmp_path, run_cli):
    path = write(tmp_path)
    text = path.read_text().replace("secrets:\n  keys: [SHARED_KEY]\n", (
        "secrets:\n  keys: [SHARED_KEY]\n  provider: command\n"
        "  command: \"printf 'DB_PASSWORD=pw-canary-1\\\\nIGNORED=x\\\\n'\"\n"
        "  commands: {API_TOKEN: \"echo tok-canary-2\"}\n"))
    path.write_text(text)
    code, out, err = run_cli(["-c", str(path), "secrets", "list", "-e", "prod", "-o", "json"])
    assert code == 0, err
    data = json.loads(out)
    rows = {r["name"]: r for r in data["secrets"]}
    assert data["provider"] == "command"
    assert rows["API_TOKEN"] == {"name": "API_TOKEN", "set": True, "source": "secrets.commands.API_TOKEN",
                                 "used_by": ["web"]}
    assert rows["DB_PASSWORD"]["set"] and rows["DB_PASSWORD"]["source"] == "secrets.command"
    assert rows["SHARED_KEY"]["set"] and "IGNORED" not in rows
    assert "canary" not in out + err and "from-env-file" not in out + err


def test_unset_secret_exits_1(tmp_path, run_cli):
    code, out, _ = run_cli(["-c", str(write(tmp_path)), "secrets", "list", "-e", "prod"])
    assert code == 1 and "UNSET" in out and "DB_PASSWORD" in out


def test_failing_command_names_the_secret_not_the_output(tmp_path, run_cli):
    path = write(tmp_path)
    path.write_text(path.read_text().replace("secrets:\n  keys: [SHARED_KEY]\n", (
        "secrets:\n  keys: [SHARED_KEY]\n  provider: command\n"
        "  commands: {API_TOKEN: \"echo leaked-canary; exit 4\"}\n")))
    code, out, err = run_cli(["-c", str(path), "secrets", "list", "-e", "prod"])
    assert code == 2 and "secrets.commands.API_TOKEN: the command exited 4" in err
    assert "leaked-canary" not in out + err


def test_command_keys_need_the_command_provider(tmp_path, run_cli):
    path = write(tmp_path)
    path.write_text(path.read_text() + "  commands: {API_TOKEN: echo x}\n")
    code, _, err = run_cli(["-c", str(path), "config", "validate"])
    assert code == 1 and "secrets.commands is read only with secrets.provider: command" in err


def test_env_diff_reports_names_only():
    assert remote.env_diff({"A": "1" * 64, "B": "2" * 64, "OLD": "3" * 64}, {"A": "1" * 64, "B": "9" * 64, "NEW": "4" * 64}) \
        == {"added": ["NEW"], "changed": ["B"], "removed": ["OLD"]}
