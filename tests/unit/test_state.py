"""Release store: ids, phase semantics, derived status, schema migrations, Go import; the lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from stagecraft.errors import UserError
from stagecraft.state import lock as locks
from stagecraft.state.store import PHASES, Store, derive_status, new_release_id, open_store


def test_ids_are_time_sortable_and_unique_within_a_millisecond():
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    ids = {new_release_id(at) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("rel-20260102-030405678-") for i in ids)
    later = new_release_id(datetime(2026, 1, 2, 3, 4, 5, 679000, tzinfo=timezone.utc))
    assert later > max(ids)


def test_failed_phase_skips_later_pending_ones(tmp_path):
    store = open_store(tmp_path)
    rid = store.create_release("prod", version="v1")
    store.set_phase(rid, "build", "running")
    store.set_phase(rid, "build", "completed")
    store.set_phase(rid, "push", "running")
    store.set_phase(rid, "push", "failed", "registry said no")
    release = store.get_release(rid)
    assert [(p.name, p.status) for p in release.phases] == [
        ("build", "completed"), ("push", "failed"), ("migrate_pre", "skipped"), ("rollout", "skipped"),
        ("migrate_post", "skipped"), ("finalize", "skipped")]
    assert release.status == "failed" and release.finished_at
    assert release.phases[1].message == "registry said no"


def test_interrupt_marks_running_phase(tmp_path):
    store = open_store(tmp_path)
    rid = store.create_release("prod")
    store.set_phase(rid, "build", "completed")
    store.set_phase(rid, "push", "running")
    store.interrupt(rid)
    assert store.get_release(rid).status == "interrupted"
    assert [p.status for p in store.get_release(rid).phases][1:3] == ["interrupted", "skipped"]


@pytest.mark.parametrize("statuses, expected", [
    (["completed"] * 6, "completed"), (["completed", "skipped"], "completed"), (["skipped"], "pending"),
    (["completed", "running", "pending"], "running"), (["completed", "failed", "skipped"], "failed"),
    (["interrupted", "failed"], "interrupted"), (["pending"] * 6, "pending")])
def test_derived_status(statuses, expected):
    assert derive_status(statuses) == expected


def test_previous_id_manifest_and_listing(tmp_path):
    store = open_store(tmp_path)
    first = store.create_release("prod", version="v1")
    second = store.create_release("prod", version="v2", manifest={"images": {"web": "r/web:v2"}})
    other = store.create_release("staging", version="v9")
    store.update_manifest(second, {"compose_hash": {"app-1": "abc"}})
    assert store.get_release(second).previous_id == first
    assert store.get_release(second).manifest == {"images": {"web": "r/web:v2"}, "compose_hash": {"app-1": "abc"}}
    assert [r["id"] for r in store.list_releases("prod")] == [second, first]
    assert [r["id"] for r in store.list_releases(limit=2)] == [other, second]
    with pytest.raises(ValueError):
        store.set_phase(first, "nope", "running")


def test_schema_version_and_upgrade_from_older_file(tmp_path):
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="newer than this Stagecraft"):
        Store(path)


def test_import_go_releases_json(tmp_path, run_cli):
    legacy = {"releases": [
        {"id": "rel-20250101-120000123", "environment": "prod", "version": "v1.2.3", "commit_sha": "abc",
         "timestamp": "2025-01-01T12:00:00Z", "phases": {p: "completed" for p in PHASES}},
        {"id": "rel-20250102-120000", "environment": "prod", "version": "v1.2.4", "commit_sha": "",
         "timestamp": "2025-01-02T12:00:00Z", "phases": {"build": "completed", "push": "failed"},
         "previous_id": "rel-20250101-120000123"}]}
    (tmp_path / "releases.json").write_text(json.dumps(legacy))
    (tmp_path / "stagecraft.yml").write_text("project: {name: s}\nenvironments: {prod: {driver: local}}\n")
    code, out, err = run_cli(["releases", "import", str(tmp_path / "releases.json"), "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["imported"] == ["rel-20250101-120000123", "rel-20250102-120000"]
    code, out, _ = run_cli(["releases", "import", str(tmp_path / "releases.json"), "-o", "json"], cwd=tmp_path)
    assert json.loads(out)["imported"] == []
    code, out, _ = run_cli(["releases", "list", "-o", "json"], cwd=tmp_path)
    assert [(r["version"], r["status"]) for r in json.loads(out)] == [("v1.2.4", "failed"), ("v1.2.3", "completed")]
    code, out, _ = run_cli(["releases", "show", "rel-20250102-120000"], cwd=tmp_path)
    assert "Previous    rel-20250101-120000123" in out and "push           failed" in out
    code, _, err = run_cli(["releases", "show", "rel-nope"], cwd=tmp_path)
    assert code == 1 and "release not found" in err


def test_lock_held_by_live_process_names_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from stagecraft.state import lock; "
        f"lock.acquire(__import__('pathlib').Path({str(tmp_path)!r}), 'prod', command='stagecraft deploy -e prod'); "
        "print('held', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError) as info:
            locks.acquire(tmp_path, "prod")
        assert f"pid {holder.pid}" in info.value.message and "stagecraft deploy -e prod" in info.value.message
        assert "--lock-wait" in info.value.hint
        locks.acquire(tmp_path, "staging")  # other environments are independent
    finally:
        holder.kill()
        holder.wait()
    # The holder died without releasing (SIGKILL): the lock ended with it, no human step needed.
    assert locks.holder(tmp_path, "prod") is None
    locks.acquire(tmp_path, "prod")
    assert locks.holder(tmp_path, "prod")["pid"] == os.getpid()
    locks.release(tmp_path, "prod")
    locks.release(tmp_path, "staging")


def test_lock_wait_gets_the_lock_when_released(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time, pathlib; from stagecraft.state import lock; p = pathlib.Path(%r); "
        "lock.acquire(p, 'prod'); print('held', flush=True); time.sleep(1.5); lock.release(p, 'prod')"
        % str(tmp_path))], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    locks.acquire(tmp_path, "prod", wait=20)
    assert locks.holder(tmp_path, "prod")["pid"] == os.getpid()
    locks.release(tmp_path, "prod")
    holder.wait()


def test_lock_cli_status_and_release(tmp_path, run_cli):
    (tmp_path / "stagecraft.yml").write_text("project: {name: s}\nenvironments: {prod: {driver: local}}\n")
    state = tmp_path / "state"
    os.environ["STAGECRAFT_STATE_DIR"] = str(state)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time, pathlib; from stagecraft.state import lock; "
        f"lock.acquire(pathlib.Path({str(state)!r}), 'prod', command='stagecraft deploy -e prod'); "
        "print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, out, _ = run_cli(["lock", "status", "-o", "json"], cwd=tmp_path)
        assert code == 0 and json.loads(out)["holder"]["pid"] == holder.pid and json.loads(out)["locked"]
        code, _, err = run_cli(["lock", "release"], cwd=tmp_path)
        assert code == 1 and f"pid {holder.pid}" in err and "ends with its process" in err
    finally:
        holder.kill()
        holder.wait()
    code, out, _ = run_cli(["lock", "status", "-o", "json"], cwd=tmp_path)
    assert code == 0 and json.loads(out)["locked"] is False
    code, out, _ = run_cli(["lock", "release"], cwd=tmp_path)
    assert code == 0 and "not locked" in out
