"""Runs against real local hosts: a second concurrent run meets the lock; an interrupted run is marked
interrupted with the state DB intact."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.hosts import STAGECRAFT

pytestmark = pytest.mark.hosts


def test_concurrent_run_meets_the_lock_and_interrupt_is_recorded(local_hosts):
    env = local_hosts.create("runs", {"h-1": ["app"]}, roles=False)
    lock = env.state_dir / "locks" / "local.lock"
    first = subprocess.Popen([STAGECRAFT, "infra", "up", "-e", "local"], cwd=env.project_dir, env=env.environ(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.stat().st_size):  # the holder writes its name; release empties it
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        second = env.cli("infra", "up", check=False)
        assert second.returncode == 1
        assert "environment 'local' is locked by" in second.stderr and f"pid {first.pid}" in second.stderr
        assert "stagecraft infra up -e local" in second.stderr
        time.sleep(4)  # let the first run reach Ansible
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err
    assert json.loads(env.cli("lock", "status", "-e", "local", "-o", "json").stdout)["locked"] is False  # released
    releases = json.loads(env.cli("releases", "list", "--kind", "infra", "-o", "json").stdout)
    assert releases[0]["status"] == "interrupted"
    shown = json.loads(env.cli("releases", "show", releases[0]["id"], "-o", "json").stdout)
    assert "interrupted" in {p["status"] for p in shown["phases"]}
    conn = sqlite3.connect(env.state_dir / "state.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The next run is the retry and succeeds.
    env.cli("infra", "up")
