"""A release around a command: lock held for the whole run, phases recorded, interruptions marked.

    with recorded_release(env_ctx, kind="infra", phases=("provision", "roles")) as rel:
        with rel.phase("provision"):
            ...
        result = run_playbook(env_ctx, "infra.yml", release=rel, phase="roles")
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from dataclasses import dataclass

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


@contextmanager
def recorded_release(env_ctx, *, kind: str = "deploy", phases=PHASES, version: str = "", commit_sha: str = "",
                     lock_wait: float = 0, manifest: dict | None = None, command: str | None = None):
    from ..state.actor import actor, command_line

    env = env_ctx.environment.name
    command = command or command_line()
    with locks.env_lock(env_ctx.state_dir, env, wait=lock_wait, command=command):
        store = open_store(env_ctx.state_dir)
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
            store.close()
