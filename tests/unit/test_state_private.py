"""The state dir is private whatever the umask: directories 0700, files 0600 (SQLite's -wal/-shm too)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")


def loose(root: Path) -> list[str]:
    out = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            out.append(f"{path.relative_to(root)} {oct(mode)}")
    return out


def test_store_files_are_private_under_umask_0(tmp_path):
    from stagecraft.state import open_store

    previous = os.umask(0)
    try:
        store = open_store(tmp_path / ".stagecraft")
        store.conn.execute("PRAGMA journal_mode=WAL")
        store.conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        store.conn.execute("INSERT INTO t VALUES (1)")
        names = {p.name for p in (tmp_path / ".stagecraft").iterdir()}
        assert {"state.db-wal", "state.db-shm"} <= names
        assert loose(tmp_path / ".stagecraft") == []
    finally:
        os.umask(previous)


def test_cli_state_is_private_under_umask_0(tmp_path):
    (tmp_path / "stagecraft.yml").write_text(
        "version: 1\nproject: {name: p}\nenvironments:\n  prod:\n    driver: ssh\n"
        "    hosts: {app-1: {roles: [app], address: 192.0.2.10}}\nroles: {app: {}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}

    def run(*args):
        return subprocess.run([STAGECRAFT, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              preexec_fn=lambda: os.umask(0))

    for args in (["releases", "list"], ["lock", "status", "-e", "prod"], ["inventory", "-e", "prod"]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / ".stagecraft").exists()  # read-only commands create nothing
    (tmp_path / ".stagecraft").mkdir(mode=0o755)  # an old, too open state dir is fixed on the next command
    (tmp_path / ".stagecraft").chmod(0o755)
    run("releases", "list")
    assert (tmp_path / ".stagecraft").is_dir()
    assert loose(tmp_path / ".stagecraft") == []



def test_ssh_env_infra_up_makes_the_private_known_hosts_dir(tmp_path):
    (tmp_path / "stagecraft.yml").write_text(
        "version: 1\nproject: {name: p}\nenvironments:\n  prod:\n    driver: ssh\n"
        "    hosts: {app-1: {roles: [app], address: 192.0.2.10}}\nroles: {app: {}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
    proc = subprocess.run([STAGECRAFT, "infra", "up", "-e", "prod", "--no-roles", "-o", "json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(0))
    assert proc.returncode == 0, proc.stderr
    assert '"action": "existing"' in proc.stdout and '"changed": false' in proc.stdout
    kh_dir = tmp_path / ".stagecraft" / "known_hosts"
    assert kh_dir.is_dir() and stat.S_IMODE(kh_dir.stat().st_mode) == 0o700
