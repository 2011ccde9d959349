"""Runs that are killed: the lock ends with its process, children die with it, the release is marked
interrupted by the next command; Ctrl-C once finishes the batch in flight, twice aborts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stagecraft.errors import UserError
from stagecraft.state import lock as locks
from stagecraft.state import open_store

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "tests" / "playbooks"


def _run_script(tmp_path, playbook: str, hosts=("h1",), extravars=None) -> subprocess.Popen:
    script = f"""
import sys, types, pathlib
sys.path.insert(0, {str(ROOT)!r})
from stagecraft.runner import run_playbook
from stagecraft.runner.recorder import recorded_release
inv = {{"all": {{"hosts": {{h: {{"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
                           for h in {list(hosts)!r}}}}}}}
c = types.SimpleNamespace(state_dir=pathlib.Path({str(tmp_path / 'state')!r}),
                          environment=types.SimpleNamespace(name="t"), inventory=lambda: inv)
with recorded_release(c, kind="deploy", command="stagecraft deploy -e t") as rel:
    with rel.phase("rollout"):
        print("RUNNING", flush=True)
        run_playbook(c, {str(PLAYBOOKS / playbook)!r}, release=rel, phase="rollout", display_mode="quiet",
                     extravars={extravars or {}!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "RUNNING"
    return proc


def _live(pids) -> list[int]:
    """Those of `pids` that still run (zombies excluded), from /proc."""
    alive = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(pid)
        except OSError:
            pass
    return alive


def _running(command_line: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == \
                    command_line.encode():
                pids.append(int(proc.name))
        except OSError:
            pass
    return _live(pids)


def _wait_for(predicate, what: str, limit: float = 60):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.1)


def test_sigkill_frees_the_lock_kills_the_playbook_and_marks_the_release_interrupted(tmp_path):
    state = tmp_path / "state"
    seconds = f"{60 + os.getpid() % 1000 / 1000:.3f}"  # a command line no other test runs
    proc = _run_script(tmp_path, "local_sleep.yml", extravars={"sleep_seconds": seconds})
    run_lock = locks.run_lock_path(state, "t")
    _wait_for(lambda: _running(f"sleep {seconds}"), "the playbook's task runs")
    # The guard, ansible-playbook and its workers (which leave the process group) hold the run lock.
    children = locks.holders_of(run_lock)
    assert len(children) >= 3
    with pytest.raises(UserError, match=rf"locked by .*pid {proc.pid} running 'stagecraft deploy -e t'"):
        locks.acquire(state, "t")
    proc.kill()
    proc.wait()
    # The next command proceeds without a human: the lock died with its holder, and no process of
    # the killed run is left to go on beside it.
    locks.acquire(state, "t")
    try:
        assert _live(children) == []
        assert _running(f"sleep {seconds}") == []
        assert locks.holders_of(run_lock) == []
    finally:
        locks.release(state, "t")
    store = open_store(state)
    (row,) = store.list_releases("t")
    assert row["status"] == "interrupted"
    release = store.get_release(row["id"])
    assert "ended without an outcome" in next(p.message for p in release.phases if p.status == "interrupted")
    assert release.finished_at


def test_a_release_of_a_live_run_is_not_marked(tmp_path):
    proc = _run_script(tmp_path, "local_slow.yml")
    try:
        (row,) = open_store(tmp_path / "state").list_releases("t")
        assert row["status"] == "running"
    finally:
        proc.kill()
        proc.wait()
    (row,) = open_store(tmp_path / "state").list_releases("t")
    assert row["status"] == "interrupted"


def test_first_ctrl_c_finishes_the_batch_in_flight_then_stops(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    proc = _run_script(tmp_path, "local_batches.yml", hosts=("h1", "h2"), extravars={"marker_dir": str(markers)})
    _wait_for(lambda: (markers / "h1.started").exists(), "the first batch started")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "finishing the step in flight" in err
    assert (markers / "h1.done").exists()  # the batch in flight finished
    assert not (markers / "h2.started").exists()  # the next one never started
    (row,) = open_store(tmp_path / "state").list_releases("t")
    assert row["status"] == "interrupted"


def test_second_ctrl_c_aborts_now(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    proc = _run_script(tmp_path, "local_batches.yml", hosts=("h1", "h2"), extravars={"marker_dir": str(markers)})
    _wait_for(lambda: (markers / "h1.started").exists(), "the first batch started")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not (markers / "h1.done").exists()  # cut in the middle of the step
    assert locks.holders_of(locks.run_lock_path(tmp_path / "state", "t")) == []  # nothing of the run is left
    (row,) = open_store(tmp_path / "state").list_releases("t")
    assert row["status"] == "interrupted"
    assert locks.holder(tmp_path / "state", "t") is None


def _completed(store, version: str, hosts=("app-1", "app-2")) -> str:
    compose = f"services:\n  web:\n    image: shop/web:{version}\n"
    rid = store.create_release("prod", version=version, manifest={"hosts": {
        h: {"compose": compose, "compose_hash": f"h-{version}", "services": [{"name": "web"}]} for h in hosts}})
    for phase in ("build", "push", "migrate_pre", "rollout", "migrate_post", "finalize"):
        store.set_phase(rid, phase, "completed")
    return rid


def test_failed_batch_puts_every_host_back_on_the_previous_release(tmp_path):
    from stagecraft.deploy import revert

    store = open_store(tmp_path)
    old = _completed(store, "v1")
    new = store.create_release("prod", version="v2")
    calls = []
    done = revert.put_back(store, "prod", new, "v2", ["app-1", "app-2", "gw-1"], ["app-1"], False,
                           lambda plans, hosts, version: calls.append((sorted(plans), hosts, version)))
    # gw-1 has no compose file in v1: nothing to put back there.
    assert calls == [(["app-1", "app-2"], ["app-1", "app-2"], "v1")]
    assert plans_images(store, old) == {"app-1": {"web": "shop/web:v1"}, "app-2": {"web": "shop/web:v1"}}
    assert done.hosts == {"app-1": "v1", "app-2": "v1", "gw-1": "?"}
    assert f"previous release {old} (v1)" in done.describe("v2")


def plans_images(store, rid):
    from stagecraft.deploy.render import desired_from_manifest

    return {h: p.images for h, p in desired_from_manifest(store.get_release(rid).manifest).items()}


def test_keep_partial_leaves_completed_batches_on_the_new_version(tmp_path):
    from stagecraft.deploy import revert

    store = open_store(tmp_path)
    _completed(store, "v1")
    new = store.create_release("prod", version="v2")
    calls = []
    done = revert.put_back(store, "prod", new, "v2", ["app-1", "app-2"], ["app-1"], True,
                           lambda plans, hosts, version: calls.append(hosts))
    assert calls == [["app-2"]]
    assert done.hosts == {"app-1": "v2", "app-2": "v1"} and done.mixed
    assert "app-1: new version v2" in done.describe("v2")


def test_nothing_to_put_back_without_an_earlier_completed_release(tmp_path):
    from stagecraft.deploy import revert

    store = open_store(tmp_path)
    new = store.create_release("prod", version="v2")
    done = revert.put_back(store, "prod", new, "v2", ["app-1"], [], False, lambda *a: pytest.fail("rolled"))
    assert done.previous is None and "no earlier completed release" in done.describe("v2")


def test_journal_merges_into_an_empty_store_and_rollback_finds_the_previous(tmp_path):
    from stagecraft.deploy import revert
    from stagecraft.state import journal

    a = open_store(tmp_path / "a")
    v1 = _completed(a, "v1")
    time.sleep(0.002)  # ids of one millisecond order by their random suffix
    v2 = _completed(a, "v2")
    entries = {r: journal.entry(a.get_release(r)) for r in (v1, v2)}
    # What travels has no per-host Ansible counters and round-trips through JSON.
    entries = json.loads(json.dumps(entries))
    b = open_store(tmp_path / "b")
    assert journal.merge(b, entries) == [v1, v2]
    assert [(r["id"], r["status"]) for r in b.list_releases("prod")] == [(v2, "completed"), (v1, "completed")]
    assert revert.previous_release(b, "prod", v2).id == v1
    assert journal.merge(b, entries) == []  # finished releases never change: merging twice is a no-op
    # A release left open here but finished elsewhere takes the finished record.
    c = open_store(tmp_path / "c")
    c.conn.execute("INSERT INTO releases(id, environment, kind, created_at) VALUES (?, 'prod', 'deploy', 'x')", (v2,))
    assert journal.merge(c, {v2: entries[v2]}) == [v2]
    assert c.get_release(v2).status == "completed"

