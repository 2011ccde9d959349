"""Dev processes: started in their own process group, output prefixed live, readiness awaited,
stopped with their signal then SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import click

from ..errors import ExternalError
from .providers import ProcessSpec

COLORS = {"backend": "cyan", "frontend": "magenta", "proxy": "blue", "infra": "yellow", "dev": "green"}


class Printer:
    """One line at a time, `name | text`, padded and colored per process."""

    def __init__(self, color: bool, width: int = 8, stream=None):
        self.color = color
        self.width = width
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        prefix = f"{name:<{self.width}} |"
        if self.color:
            prefix = click.style(prefix, fg=COLORS.get(name, "white"), bold=True)
        with self.lock:
            click.echo(f"{prefix} {text}", file=self.stream)


@dataclass
class Running:
    spec: ProcessSpec
    proc: subprocess.Popen
    ready: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None


class Stopped(Exception):
    """The user asked to stop (Ctrl-C, SIGTERM) while something was starting."""


class ProcessManager:
    def __init__(self, printer: Printer, base_env: dict, stop_event: threading.Event, exited: threading.Event):
        self.printer = printer
        self.base_env = base_env
        self.stop_event = stop_event  # set by Ctrl-C / SIGTERM
        self.exited = exited  # set when any process ends on its own
        self.running: list[Running] = []

    def set_secrets(self, spec: ProcessSpec) -> None:
        """`encore secret set` for each configured secret; the value goes through stdin only."""
        for secret in spec.secrets:
            value = spec.secret_source.get(secret.name)
            if value is None:
                self.printer.line(spec.name, f"warning: secret {secret.name} is not set; not synced to encore")
                continue
            proc = subprocess.run(list(secret.argv), input=value, capture_output=True, text=True, cwd=spec.cwd,
                                  env={**self.base_env, **spec.env})
            if proc.returncode != 0:
                raise ExternalError(f"dev: {spec.name}: `{' '.join(secret.argv)}` failed (exit {proc.returncode})")
            self.printer.line(spec.name, f"secret {secret.name} set ({secret.argv[4]})")

    def start(self, spec: ProcessSpec) -> Running:
        env = {**self.base_env, **spec.env, "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(list(spec.argv), cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError:
            raise ExternalError(f"dev: {spec.name}: command not found: {spec.argv[0]}") from None
        except OSError as exc:
            raise ExternalError(f"dev: {spec.name}: cannot start {spec.argv[0]}: {exc.strerror}") from None
        run = Running(spec=spec, proc=proc)
        run.reader = threading.Thread(target=self._pump, args=(run,), daemon=True, name=f"dev-{spec.name}")
        run.reader.start()
        self.running.append(run)
        return run

    def _pump(self, run: Running) -> None:
        pattern = re.compile(run.spec.ready_pattern) if run.spec.ready_pattern else None
        for raw in iter(run.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.printer.line(run.spec.name, text)
            if pattern is not None and not run.ready.is_set() and pattern.search(text):
                run.ready.set()
        run.proc.wait()
        self.exited.set()

    def wait_ready(self, run: Running) -> None:
        """Until the ready pattern shows (or, without one, the port accepts connections)."""
        spec = run.spec
        while True:
            if self.stop_event.is_set():
                raise Stopped()
            if spec.ready_pattern is None and spec.port is not None and _port_open(spec.port):
                run.ready.set()
            if spec.ready_pattern is None and spec.port is None:
                run.ready.set()
            if run.ready.is_set():
                return
            if run.proc.poll() is not None:
                run.reader.join(timeout=2)
                raise ExternalError(f"dev: {spec.name} exited with code {run.proc.returncode} before it was ready "
                                    f"({'waiting for ' + repr(spec.ready_pattern) if spec.ready_pattern else 'port ' + str(spec.port)})")
            run.ready.wait(0.1)

    def exited_process(self) -> Running | None:
        for run in self.running:
            if run.proc.poll() is not None:
                return run
        return None

    def stop_all(self) -> list[str]:
        """Stop in reverse start order; returns problems (never raises: teardown must go on)."""
        problems = []
        for run in reversed(self.running):
            try:
                self._stop(run)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{run.spec.name}: {exc}")
        self.running.clear()
        return problems

    def _stop(self, run: Running) -> None:
        pgid = run.proc.pid  # start_new_session: the group id is the leader's pid
        if run.proc.poll() is None:
            _killpg(pgid, run.spec.stop_signal)
            try:
                run.proc.wait(timeout=run.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                self.printer.line(run.spec.name, f"did not stop within {run.spec.stop_timeout:g}s; killing it")
                _killpg(pgid, signal.SIGKILL)
                run.proc.wait()
        # Children the leader left behind in its group (a shell's server, npm's node) go too.
        deadline = time.monotonic() + run.spec.stop_timeout
        while _group_alive(pgid):
            if time.monotonic() > deadline:
                _killpg(pgid, signal.SIGKILL)
                break
            time.sleep(0.05)
        if run.reader:
            run.reader.join(timeout=2)


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0
