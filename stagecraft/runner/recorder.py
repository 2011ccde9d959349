"""A release around a command: lock held for the whole run, phases recorded, interruptions marked.

    with recorded_release(env_ctx, kind="infra", phases=("provision", "roles")) as rel:
        with rel.phase("provision"):
            ...
        result = run_playbook(env_ctx, "infra.yml", release=rel, phase="roles")
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from ..state import journal
from ..state import lock as locks
from ..state.store import PHASES, Store, open_store
from . import Interrupted


@dataclass
class ReleaseRun:
    store: Store
    id: str
    environment: str

    @contextmanager
    def phase(self, name: str):
        self.store.set_phase(self.id, name, "running")
        try:
            yield
        except (Interrupted, KeyboardInterrupt):
            self.store.set_phase(self.id, name, "interrupted", "interrupted by a signal")
            raise
        except BaseException as exc:
            self.store.set_phase(self.id, name, "failed", str(getattr(exc, "message", exc))[:1000])
            raise
        else:
            self.store.set_phase(self.id, name, "completed")

    def skip(self, name: str, reason: str = "") -> None:
        self.store.set_phase(self.id, name, "skipped", reason)

    def update_manifest(self, values: dict) -> None:
        self.store.update_manifest(self.id, values)


def _term_as_interrupt(signum, frame):
    raise KeyboardInterrupt


# Kinds of run that change what the hosts run: they also hold the lock kept on the hosts.
HOST_LOCKED = ("deploy", "rollback", "secrets", "migrate")


@contextmanager
def host_lock(env_ctx, *, command: str | None = None, version: str = ""):
    """Hold the environment's lock on its hosts (stagecraft/state/hostlock.py) for the block."""
    from ..commands.inventory import to_list_json
    from ..state import hostlock

    config = getattr(env_ctx, "config", None)
    hosts = hostlock.lockable_hosts(to_list_json(env_ctx.inventory())["_meta"]["hostvars"]) if config else {}
    if not hosts:
        yield None
        return
    from .. import hostkeys

    # The lock is the run's first SSH connection: the host keys are checked before it (spec/trust.md).
    hostkeys.verify(env_ctx.environment, hosts, sorted(hosts))
    lock = hostlock.HostLock(config.project.name, env_ctx.environment.name, hosts,
                             hostlock.new_info(command or " ".join(["stagecraft", *sys.argv[1:]]), version),
                             warn=_warn)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


@contextmanager
def host_lock_if_reachable(env_ctx):
    """The host lock, unless the hosts do not answer (infra down must still remove broken hosts)."""
    from ..errors import ExternalError

    try:
        cm = host_lock(env_ctx)
        lock = cm.__enter__()
    except ExternalError as exc:
        _warn(f"hosts not locked ({exc.message})")
        yield None
        return
    try:
        yield lock
    finally:
        cm.__exit__(None, None, None)


@contextmanager
def recorded_release(env_ctx, *, kind: str = "deploy", phases=PHASES, version: str = "", commit_sha: str = "",
                     lock_wait: float = 0, manifest: dict | None = None, command: str | None = None):
    from ..state.actor import actor, command_line

    env = env_ctx.environment.name
    command = command or command_line()
    with locks.env_lock(env_ctx.state_dir, env, wait=lock_wait, command=command), \
            (host_lock(env_ctx, command=command, version=version) if kind in HOST_LOCKED else nullcontext()) as hl:
        store = open_store(env_ctx.state_dir)
        journaled = hl is not None and kind in journal.KINDS
        if journaled:  # the history other machines wrote, before this release picks its previous one
            journal.sync(env_ctx, store, warn=_warn)
        # We hold this environment's lock now: any release of it still open belongs to a dead process.
        dead = store.mark_dead_runs(lambda e: e != env and locks.is_held(env_ctx.state_dir, e))
        # Who ran it and from where, for `stagecraft audit` (never a secret: argv carries none).
        rid = store.create_release(env, kind=kind, version=version, commit_sha=commit_sha, phases=phases,
                                   command=command, manifest={**(manifest or {}), "actor": actor()})
        previous = signal.signal(signal.SIGTERM, _term_as_interrupt)
        try:
            yield ReleaseRun(store, rid, env)
        except (Interrupted, KeyboardInterrupt):
            store.interrupt(rid)
            raise Interrupted(f"interrupted; release {rid} marked interrupted") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
            # Any phase never reached is skipped, so the release's status is final.
            for p in store.get_release(rid).phases:
                if p.status == "pending":
                    store.set_phase(rid, p.name, "skipped", "not reached")
            if journaled:  # this release (and those a killed run left) join the hosts' history
                for done in [r for r in dead if store.get_release(r).environment == env] + [rid]:
                    journal.publish(env_ctx.config.project.name, env, hl.hosts, store.get_release(done), warn=_warn)
            store.close()


def _warn(message: str) -> None:
    # The runner sits below the CLI: plain stderr, like the CLI's own warnings (never stdout, which may carry JSON).
    print(f"warning: {message}", file=sys.stderr, flush=True)
