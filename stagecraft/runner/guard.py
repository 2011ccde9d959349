"""Runs between ansible-runner and ansible-playbook and ties the run's processes to Stagecraft's life.

ansible-runner starts this file (as its `binary`) in a new session on a pty, so this process leads
the process group of ansible-playbook, its workers and their ssh children. It

- asks the kernel for SIGTERM when its parent (Stagecraft) dies (PR_SET_PDEATHSIG), and then kills
  its whole process group: nothing of the run outlives Stagecraft, even after a SIGKILL;
- holds `flock(LOCK_SH)` on the environment's run lock on a descriptor that ansible-playbook and
  its forked workers inherit, so the next command can tell when every one of them has ended
  (stagecraft/state/lock.py).

Standalone on purpose (no stagecraft imports): it starts once per playbook run.
Environment: STAGECRAFT_GUARD_PARENT (pid expected as parent), STAGECRAFT_RUN_LOCK (path),
STAGECRAFT_GUARD_BINARY (ansible-playbook to run).
"""

import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _kill_group(*_):
    os.killpg(0, signal.SIGKILL)  # ourselves included


def main() -> None:
    parent = int(os.environ.pop("STAGECRAFT_GUARD_PARENT", "0") or 0)
    run_lock = os.environ.pop("STAGECRAFT_RUN_LOCK", "")
    binary = os.environ.pop("STAGECRAFT_GUARD_BINARY", "") or shutil.which("ansible-playbook") or "ansible-playbook"
    signal.signal(signal.SIGTERM, _kill_group)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent and os.getppid() != parent:
        _kill_group()  # the parent died before the death signal was armed
    fds = ()
    if run_lock:
        fd = os.open(run_lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.set_inheritable(fd, True)
        fds = (fd,)
    proc = subprocess.Popen([binary, *sys.argv[1:]], pass_fds=fds)
    rc = proc.wait()
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
