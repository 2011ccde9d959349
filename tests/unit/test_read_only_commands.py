"""Commands that only show things change nothing on disk: the project folder (state dir included) is
the same, byte for byte and timestamp for timestamp, before and after each of them."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from stagecraft.state.store import Store

ROOT = Path(__file__).resolve().parents[2]

SSH_CONFIG = """\
version: 1
project: {name: ro}
environments:
  prod:
    driver: ssh
    hosts: {app-1: {roles: [app], address: 127.0.0.1, ssh: {port: 1}}}
roles: {app: {services: [web]}}
"""

READ_ONLY = [
    ["config", "validate"], ["config", "show"], ["inventory"], ["render"], ["plan"], ["releases", "list"],
    ["releases", "list", "--env-from-config"], ["releases", "show", "rel-20260101-000000000-abcdef"], ["status"],
    ["lock", "status"], ["audit"], ["infra", "status"], ["infra", "plan"],
]


def snapshot(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        info = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        out[str(p.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return out


def _args(command, env):
    if command == ["releases", "list", "--env-from-config"]:
        return ["releases", "list", "-e", env]  # with -e, the hosts' journal is merged (in memory)
    if command[0] in ("config", "releases") and command[-1] in ("validate", "list") or command[-1].startswith("rel-"):
        return command
    return [*command, "-e", env]


@pytest.fixture
def projects(tmp_path, monkeypatch):
    monkeypatch.delenv("STAGECRAFT_STATE_DIR")  # the state dir is .stagecraft/ beside each config
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop)
    (shop / ".env.local").write_text("SHOP_DB_PASSWORD=pw-123456\nSHOP_DATABASE_URL=postgresql://shop:pw@db/shop\n")
    ssh = tmp_path / "ssh"
    ssh.mkdir()
    (ssh / "stagecraft.yml").write_text(SSH_CONFIG)
    (ssh / "docker-compose.yml").write_text("services:\n  web: {image: web:1}\n")
    return {"local": shop, "prod": ssh}


@pytest.mark.parametrize("with_history", [False, True], ids=["no-state", "with-state"])
def test_read_only_commands_create_and_change_nothing(projects, run_cli, with_history):
    for env, folder in projects.items():
        if with_history:
            store = Store(folder / ".stagecraft" / "state.db")
            rid = store.create_release(env, version="v1")  # left open: shown as interrupted, in memory only
            store.close()
        before = snapshot(folder)
        for command in READ_ONLY:
            args = _args(command, env)
            code, _, err = run_cli(args, cwd=folder)
            assert code in (0, 1, 2), (args, code, err)
            assert "internal error" not in err, (args, err)
            assert snapshot(folder) == before, f"{' '.join(args)} changed {folder.name}"
        if with_history:
            code, out, _ = run_cli(["releases", "show", rid], cwd=folder)
            assert code == 0 and "interrupted" in out


def test_releases_list_with_a_config_in_a_missing_folder_creates_nothing(tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("STAGECRAFT_STATE_DIR")
    code, out, _ = run_cli(["releases", "list", "-c", "missing/dir.yml"], cwd=tmp_path)
    assert (code, out.strip()) == (0, "No releases found")
    assert list(tmp_path.iterdir()) == []
