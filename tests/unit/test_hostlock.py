"""The lock kept on the hosts and the release journal, with their real shell scripts run by `sh`
on this machine in place of SSH (the hosts' directory is a temporary one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from stagecraft.errors import UserError
from stagecraft.state import hostlock, journal, open_store

HOSTS = {"app-1": {"ansible_host": "a1"}, "app-2": {"ansible_host": "a2"}}


@pytest.fixture(autouse=True)
def local_hosts_dir(tmp_path, monkeypatch):
    """Each 'host' is a directory; its scripts run through sh with the lock root inside it."""
    def fake_ssh(hostvars, script):
        root = tmp_path / hostvars["ansible_host"]
        root.mkdir(exist_ok=True)
        proc = subprocess.run(["sh", "-s"], input=script.replace(hostlock.ROOT, str(root)), capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    monkeypatch.setattr(hostlock, "_ssh", fake_ssh)
    monkeypatch.setattr(journal, "_ssh", fake_ssh)
    monkeypatch.setattr(hostlock, "ROOT", "/srv/stagecraft-test-root")


def lock(command="stagecraft deploy -e prod", lease=120, warn=None, pid=None):
    info = hostlock.new_info(command, "v1")
    if pid:
        info["pid"] = pid
    return hostlock.HostLock("shop", "prod", HOSTS, info, warn=warn or (lambda m: None), lease=lease)


def test_second_holder_fails_naming_the_first_then_gets_it_after_release():
    first = lock(pid=os.getppid())  # a live process on this machine
    first.acquire()
    try:
        with pytest.raises(UserError) as info:
            lock(command="stagecraft deploy -e prod --version v9").acquire()
        assert "locked on host app-1 by" in info.value.message
        assert f"pid {os.getppid()}" in info.value.message and "version v1" in info.value.message
        status = hostlock.status("shop", "prod", HOSTS)
        assert all(s["locked"] and not s["expired"] for s in status.values())
    finally:
        first.release()
    assert not any(s["locked"] for s in hostlock.status("shop", "prod", HOSTS).values())
    second = lock()
    second.acquire()
    second.release()


def test_a_holder_whose_process_here_is_gone_is_taken_over_at_once():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock(pid=dead.pid).acquire()  # never released: its holder "was killed"
    warnings = []
    nxt = lock(warn=warnings.append)
    nxt.acquire()
    assert sorted(w.split(" from ")[0] for w in warnings) == ["took over the lock on app-1",
                                                              "took over the lock on app-2"]
    assert all(f"pid {dead.pid}" in w and w.endswith("its process on this machine is gone") for w in warnings)
    nxt.release()


def test_another_machines_lock_is_taken_over_only_after_its_lease():
    other = lock(pid=os.getppid(), lease=1)
    other.info["machine"] = "a-laptop"
    other.acquire()
    other._stop.set()  # the laptop was closed: no more renewals
    with pytest.raises(UserError, match="locked on host app-1 by .*@a-laptop"):
        lock(lease=30).acquire()
    time.sleep(2.5)
    warnings = []
    nxt = lock(lease=1, warn=warnings.append)
    nxt.acquire()
    assert len(warnings) == 2 and all("lease expired" in w and "a-laptop" in w for w in warnings)
    nxt.release()


def test_journal_published_on_the_hosts_is_read_back_by_an_empty_store(tmp_path):
    a = open_store(tmp_path / "a")
    rid = a.create_release("prod", version="v1", manifest={"hosts": {}})
    for phase in ("build", "push", "migrate_pre", "rollout", "migrate_post", "finalize"):
        a.set_phase(rid, phase, "completed")
    assert journal.publish("shop", "prod", HOSTS, a.get_release(rid)) == ["app-1", "app-2"]
    entries, current = journal.fetch("shop", "prod", HOSTS)
    assert list(entries) == [rid] and current == {"app-1": rid, "app-2": rid}
    b = open_store(tmp_path / "b")
    assert journal.merge(b, entries) == [rid]
    assert b.get_release(rid).status == "completed" and b.get_release(rid).version == "v1"
