"""Runs between ansible-runner and ansible-playbook and ties the run's processes to Stagecraft's life.

ansible-runner starts this file (as its `binary`) in place of ansible-playbook. It

- asks the kernel for SIGTERM when its parent (Stagecraft) dies (PR_SET_PDEATHSIG), and on SIGTERM
  kills every process below it: nothing of the run outlives Stagecraft, even after a SIGKILL.
  A process group is not enough: Ansible's workers call setsid(). The guard is a child subreaper
  (PR_SET_CHILD_SUBREAPER), so descendants whose parent died stay below it and are found too;
- holds `flock(LOCK_SH)` on the environment's run lock on a descriptor that ansible-playbook and
  its forked workers inherit, so the next command can tell when every one of them has ended
  (stagecraft/state/lock.py).

Standalone on purpose (no stagecraft imports): it starts once per playbook run.
Environment: STAGECRAFT_GUARD_PARENT (pid expected as parent), STAGECRAFT_RUN_LOCK (path),
STAGECRAFT_GUARD_BINARY (ansible-playbook to run), STAGECRAFT_GUARD_PIDFILE (where it writes its
pid: Stagecraft sends SIGTERM there to abort a run now).
"""

import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _children() -> dict:
    """pid -> parent pid of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    table[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return table


def _descendants() -> set:
    me = os.getpid()
    table = _children()
    found, frontier = set(), {me}
    while frontier:
        frontier = {pid for pid, parent in table.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def _kill_tree(*_):
    """Freeze every descendant (no more forks), until no new one shows up; then kill them all."""
    stopped: set = set()
    while True:
        new = _descendants() - stopped
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped |= new
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(143)


def main() -> None:
    parent = int(os.environ.pop("STAGECRAFT_GUARD_PARENT", "0") or 0)
    run_lock = os.environ.pop("STAGECRAFT_RUN_LOCK", "")
    binary = os.environ.pop("STAGECRAFT_GUARD_BINARY", "") or shutil.which("ansible-playbook") or "ansible-playbook"
    pidfile = os.environ.pop("STAGECRAFT_GUARD_PIDFILE", "")
    signal.signal(signal.SIGTERM, _kill_tree)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent and os.getppid() != parent:
        _kill_tree()  # the parent died before the death signal was armed
    if pidfile:
        with open(pidfile, "w") as handle:
            handle.write(str(os.getpid()))
    fds = ()
    if run_lock:
        fd = os.open(run_lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.set_inheritable(fd, True)
        fds = (fd,)
    proc = subprocess.Popen([binary, *sys.argv[1:]], pass_fds=fds)
    rc = proc.wait()
    # As a subreaper we also inherit orphans (e.g. a worker whose parent died): reap what is left.
    _reap()
    sys.exit(rc if rc >= 0 else 128 - rc)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    main()
