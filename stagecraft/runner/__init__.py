"""The one execution layer: every playbook Stagecraft runs goes through `run_playbook`.

    result = run_playbook(env_ctx, "infra.yml", extravars={...}, limit="app-1", check=False,
                          release=rel, phase="rollout", envvars={"SECRET_NAME": value})
    result.ok, result.rc, result.status, result.hosts, result.failed_tasks, result.artifact_data

- A private data dir per run under <state dir>/runs/<run-id>/ (inventory, artifacts). `envvars` are
  secret values: served from memory for the run (runner.secrets) and read by the roles with
  `lookup('stagecraft.infra.secret', NAME)`, never in the environment or a file. ansible-playbook runs
  with a minimal environment (`minimal_env`), so nothing inherited lands in artifacts/<run>/command. The
  newest STAGECRAFT_KEEP_RUNS (default 20) run dirs are kept.
- Playbooks come from the installed package (`stagecraft.resources.playbooks_dir()`); roles from the
  bundled collection (ANSIBLE_COLLECTIONS_PATH).
- Events drive the live display and are stored compactly in the release (when `release` is given),
  with per-host results from the stats event; `artifact_data` carries what roles `set_stats`.
- Process lifetime: ansible-playbook starts under `guard.py` (ansible-runner's `binary`), which
  kills the run's whole process group when Stagecraft dies and holds the environment's run lock
  on a descriptor its children inherit (stagecraft/state/lock.py).
- First SIGINT (Ctrl-C): the step in flight finishes on the current batch's hosts, no further
  batch starts (deploy.yml ends the play when `stagecraft_stop_file` exists), then `Interrupted`
  is raised. A second SIGINT, or SIGTERM, aborts now: the guard kills every process of the run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import resources
from ..errors import StagecraftError
from .display import Display
from .secrets import seal as seal_secrets
from .secrets import serve as serve_secrets
from .events import compact

FLUSH_EVERY = 500


class Interrupted(StagecraftError):
    exit_code = 130


class _Stop:
    """Set by the first Ctrl-C of the process: callers stop before their next batch or step."""

    requested = False


def stop_requested() -> bool:
    return _Stop.requested


def check_stop() -> None:
    """Raise Interrupted when a graceful stop was asked for (between batches and steps)."""
    if _Stop.requested:
        raise Interrupted("stopped after the step in flight (Ctrl-C)")


class RunFailed(StagecraftError):
    """A playbook failed on some host; carries the result (exit 2: the hosts are external systems)."""

    exit_code = 2

    def __init__(self, message: str, result: "RunResult"):
        super().__init__(message)
        self.result = result


@dataclass
class RunResult:
    run_id: str
    status: str
    rc: int
    hosts: dict = field(default_factory=dict)  # host -> {ok, changed, failed, unreachable, skipped}
    failed_tasks: list = field(default_factory=list)  # [{host, task, message, unreachable}]
    artifact_data: dict = field(default_factory=dict)
    private_data_dir: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s["failed"] or s["unreachable"])

    @property
    def unreachable_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s["unreachable"])

    @property
    def changed(self) -> int:
        return sum(s["changed"] for s in self.hosts.values())


def _host_table(stats: dict) -> dict:
    keys = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable", "skipped": "skipped"}
    hosts = {h for k in keys for h in (stats.get(k) or {})} | set(stats.get("processed") or {})
    return {h: {col: int((stats.get(k) or {}).get(h, 0)) for k, col in keys.items()} for h in sorted(hosts)}


def _rotate(runs_dir: Path, keep: int) -> None:
    dirs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    for old in dirs[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def ansible_env(extra: dict | None = None) -> dict:
    import sys

    env = {
        # ansible-playbook from the same environment as Stagecraft, even when it is not on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ANSIBLE_COLLECTIONS_PATH": str(resources.collections_dir()),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_SYSTEM_WARNINGS": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_FORKS": os.environ.get("ANSIBLE_FORKS", "10"),
        "ANSIBLE_TIMEOUT": "30",
        # ansible-runner defaults this to False, and Ansible then puts StrictHostKeyChecking=no first.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
    }
    env.update(extra or {})
    return env


# Inherited variables ansible-playbook and ssh need; everything else in this process's environment (API
# tokens, the user's secrets) stays out of the playbook's environment and so out of artifacts/<run>/command.
INHERITED = ("HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "TZ",
             "SSH_AUTH_SOCK")


def minimal_env(env: dict) -> dict:
    """ansible-runner's environment (os.environ + ours + its own) without the inherited values it does
    not need: a variable is kept if it is allow-listed or was set or changed for the run."""
    ours = ansible_env()
    return {k: v for k, v in env.items()
            if k in INHERITED or k.startswith("LC_") or os.environ.get(k) != v or k in ours}


def _forks(inventory: dict) -> int:
    """One fork per host (Ansible's default of 5 would serialise larger environments), capped;
    STAGECRAFT_FORKS overrides."""
    if os.environ.get("STAGECRAFT_FORKS"):
        return max(1, int(os.environ["STAGECRAFT_FORKS"]))
    hosts = set()
    for group in (inventory.get("all") or {}).get("children", {}).values():
        hosts |= set((group or {}).get("hosts") or {})
    return min(max(5, len(hosts)), 50)


def run_playbook(env_ctx, playbook: str, *, extravars: dict | None = None, limit: str | None = None,
                 check: bool = False, diff: bool = False, release=None, phase: str | None = None,
                 envvars: dict | None = None, verbosity: int = 0, display_mode: str = "auto",
                 title: str | None = None, inventory: dict | None = None,
                 raise_on_failure: bool = True) -> RunResult:
    import ansible_runner

    from ..commands import ansible_data
    from ..state.store import new_release_id

    run_id = new_release_id().replace("rel-", "run-")
    runs_dir = Path(env_ctx.state_dir) / "runs"
    run_dir = runs_dir / run_id
    (run_dir / "inventory").mkdir(parents=True, mode=0o700)
    inv_file = run_dir / "inventory" / "hosts.yml"
    if inventory is None:
        inventory = env_ctx.inventory()
    # Values that came from secrets are looked up from memory during the run, not stored in the file.
    sealed, served = seal_secrets(inventory, getattr(getattr(env_ctx, "resolved", None), "secrets", None) or [])
    # Every value is data (tagged !unsafe): only the sealed lookups are templates.
    inv_file.write_text(ansible_data.to_yaml(sealed))
    _rotate(runs_dir, int(os.environ.get("STAGECRAFT_KEEP_RUNS", "20")))

    path = Path(playbook)
    if not path.is_absolute():
        path = resources.playbooks_dir() / playbook
    # The playbook goes on the command line: with a `binary` (the guard) ansible-runner does not add it.
    cmdline = " ".join(x for x in ("--check" if check else "", "--diff" if diff else "",
                                   shlex.quote(str(path))) if x)
    check_stop()
    stop_file = run_dir / "stop"  # its existence ends the play before the next batch
    # `-e` JSON is templated by Ansible too: every string goes as {"__ansible_unsafe": ...}.
    extravars = ansible_data.to_json({**(extravars or {}), "stagecraft_stop_file": str(stop_file)})
    guard_env = _guard(env_ctx, run_dir)

    buffer: list[dict] = []
    failed_tasks: list[dict] = []
    cancelled = threading.Event()
    aborted = threading.Event()
    display = Display(display_mode, title or f"{path.stem} on {env_ctx.environment.name}")

    def flush():
        if release is not None and buffer:
            release.store.add_events(release.id, run_id, buffer)
        buffer.clear()

    def on_event(event: dict) -> bool:
        record = compact(event)
        if record is None:
            return False  # not written to the job_events dir either
        if record["failed"] and record.get("host"):
            failed_tasks.append({"host": record["host"], "task": record.get("task"), "message": record["message"],
                                 "unreachable": record["event"] == "runner_on_unreachable"})
        display.on_event(record)
        buffer.append(record)
        if len(buffer) >= FLUSH_EVERY:
            flush()
        return True

    previous = {}

    def on_signal(signum, frame):
        if signum == signal.SIGINT and not _Stop.requested:
            _Stop.requested = True
            stop_file.touch()
            os.write(2, b"\nCtrl-C: finishing the step in flight on this batch, then stopping "
                        b"(Ctrl-C again to abort now)\n")  # a plain write: safe inside a handler
            return
        # Abort now: the guard kills the whole run (Ansible's workers leave its process group, so
        # ansible-runner's own cancel, a killpg, would miss them).
        try:
            os.kill(int((run_dir / "guard.pid").read_text()), signal.SIGTERM)
            aborted.set()
        except (OSError, ValueError):
            cancelled.set()  # the guard is not running yet

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread
            pass
    try:
        with display:
            with serve_secrets({**served, **(envvars or {})}) as socket_env:
                runner = ansible_runner.interface.init_runner(
                    private_data_dir=str(run_dir), ident=run_id, playbook=str(path), inventory=str(inv_file),
                    extravars=extravars, envvars=ansible_env({**socket_env, **guard_env}), limit=limit,
                    binary=str(run_dir / "guard"), verbosity=verbosity or None, cmdline=cmdline, quiet=True,
                    suppress_env_files=True, event_handler=on_event, cancel_callback=cancelled.is_set,
                    settings={"suppress_ansible_output": True}, forks=_forks(inventory),
                )
                runner.config.env = minimal_env(runner.config.env)
                runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        flush()
        _scrub_command_artifact(run_dir / "artifacts" / run_id / "command")
    stats = runner.stats or {}
    result = RunResult(run_id=run_id, status=runner.status, rc=runner.rc if runner.rc is not None else -1,
                       hosts=_host_table(stats), failed_tasks=failed_tasks,
                       artifact_data=_artifact_data(runner), private_data_dir=str(run_dir))
    if release is not None and phase is not None:
        release.store.record_hosts(release.id, phase, stats)
    if cancelled.is_set() or aborted.is_set() or runner.status == "canceled":
        raise Interrupted(f"run {run_id} was interrupted")
    if _Stop.requested:
        raise Interrupted(f"stopped after the step in flight (Ctrl-C); run {run_id}")
    if raise_on_failure and not result.ok:
        raise RunFailed(describe_failure(result), result)
    return result


def _guard(env_ctx, run_dir: Path) -> dict:
    """Write the run's guard launcher (ansible-runner execs it in place of ansible-playbook);
    returns the environment variables it reads."""
    import sys

    from ..state.lock import run_lock_path

    launcher = run_dir / "guard"
    launcher.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                        f"{shlex.quote(str(Path(__file__).with_name('guard.py')))} \"$@\"\n")
    launcher.chmod(0o700)
    run_lock = run_lock_path(env_ctx.state_dir, env_ctx.environment.name)
    run_lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    playbook = shutil.which("ansible-playbook", path=ansible_env()["PATH"]) or "ansible-playbook"
    return {"STAGECRAFT_GUARD_PARENT": str(os.getpid()), "STAGECRAFT_RUN_LOCK": str(run_lock),
            "STAGECRAFT_GUARD_BINARY": playbook, "STAGECRAFT_GUARD_PIDFILE": str(run_dir / "guard.pid")}


def describe_failure(result: RunResult) -> str:
    if not result.failed_tasks:
        return f"ansible-playbook ended with status {result.status} (rc {result.rc}); see {result.private_data_dir}"
    lines = [f"{len(result.failed_hosts) or 1} host(s) failed:"]
    for f in result.failed_tasks:
        kind = "unreachable" if f["unreachable"] else "failed"
        lines.append(f"  {f['host']}: {kind} at task '{f['task']}': {f['message']}")
    return "\n".join(lines)


def _scrub_command_artifact(path: Path) -> None:
    """ansible-runner records the whole process environment there: keep the variable names only."""
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data.get("env"), dict):
        data["env"] = sorted(data["env"])
        path.write_text(json.dumps(data))


def _artifact_data(runner) -> dict:
    for event in reversed(list(runner.events)):
        if event.get("event") == "playbook_on_stats":
            return (event.get("event_data") or {}).get("artifact_data") or {}
    return {}
