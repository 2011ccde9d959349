"""The runner against localhost (ansible_connection=local): results, events, stats, secrets, rotation."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from stagecraft.runner import RunFailed, run_playbook
from stagecraft.runner.recorder import recorded_release
from stagecraft.state import lock as locks
from stagecraft.state import open_store

PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"
CANARY = "canary-7f3a9c1e-never-print-me"


def ctx(tmp_path):
    inv = {"all": {"hosts": {"h1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}
    return types.SimpleNamespace(state_dir=tmp_path / "state", environment=types.SimpleNamespace(name="t"),
                                 inventory=lambda: inv)


def test_successful_run_is_recorded_with_host_results_and_stats(tmp_path, capfd):
    c = ctx(tmp_path)
    with recorded_release(c, kind="deploy", version="v1") as rel:
        with rel.phase("rollout"):
            result = run_playbook(c, str(PLAYBOOKS / "local_ok.yml"), release=rel, phase="rollout",
                                  envvars={"SC_CANARY": CANARY}, display_mode="plain")
    assert result.ok and result.hosts == {"h1": {"ok": 4, "changed": 1, "failed": 0, "unreachable": 0,
                                                 "skipped": 0}}
    assert result.artifact_data == {"image": "example/web:1"}
    store = open_store(c.state_dir)
    release = store.get_release(rel.id)
    assert release.status == "completed"
    assert [h["host"] for h in release.hosts] == ["h1"] and release.hosts[0]["changed"] == 1
    events = store.events(rel.id)
    assert [e["task"] for e in events if e["event"] == "runner_on_ok"] == [
        "First", "Change something", "Secret task", "Hand facts back"]
    assert [e["counter"] for e in events] == sorted(e["counter"] for e in events)
    # The canary secret went to a no_log task: it is nowhere on disk or on the terminal.
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    for path in c.state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_failing_task_recorded_with_message_and_later_phases_skipped(tmp_path):
    c = ctx(tmp_path)
    with pytest.raises(RunFailed) as info:
        with recorded_release(c, kind="deploy") as rel:
            with rel.phase("build"):
                pass
            with rel.phase("rollout"):
                run_playbook(c, str(PLAYBOOKS / "local_fail.yml"), release=rel, phase="rollout", display_mode="quiet")
    assert "disk is full on purpose" in info.value.message and info.value.exit_code == 2
    store = open_store(c.state_dir)
    release = store.get_release(rel.id)
    assert release.status == "failed"
    assert {p.name: p.status for p in release.phases} == {
        "build": "completed", "push": "skipped", "migrate_pre": "skipped", "rollout": "failed",
        "migrate_post": "skipped", "finalize": "skipped"}
    assert [(f["host"], f["task"], f["message"]) for f in store.failed_events(rel.id)] == [
        ("h1", "Breaks", "disk is full on purpose")]
    assert release.hosts[0]["failed"] == 1


def test_run_dirs_are_rotated(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGECRAFT_KEEP_RUNS", "2")
    c = ctx(tmp_path)
    for _ in range(4):
        run_playbook(c, str(PLAYBOOKS / "local_fail.yml"), display_mode="quiet", raise_on_failure=False)
    assert len(list((c.state_dir / "runs").iterdir())) == 2


def test_interrupted_run_is_marked_and_db_intact(tmp_path):
    script = f"""
import sys, types, pathlib
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from tests.unit.test_runner_local import ctx, PLAYBOOKS
from stagecraft.runner import run_playbook
from stagecraft.runner.recorder import recorded_release
c = ctx(pathlib.Path({str(tmp_path)!r}))
with recorded_release(c, kind="deploy") as rel:
    with rel.phase("rollout"):
        print("RUNNING", flush=True)
        run_playbook(c, str(PLAYBOOKS / "local_slow.yml"), release=rel, phase="rollout", display_mode="quiet")
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "RUNNING"
    import time

    time.sleep(3)
    proc.send_signal(__import__("signal").SIGINT)  # first: finish the step in flight
    time.sleep(1)
    proc.send_signal(__import__("signal").SIGINT)  # second: abort now
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    store = open_store(tmp_path / "state")
    (row,) = store.list_releases()
    assert row["status"] == "interrupted"
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert locks.holder(tmp_path / "state", "t") is None
