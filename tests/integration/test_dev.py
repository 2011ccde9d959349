"""`stagecraft dev` for real: Docker Compose infra, dev processes, Traefik, mkcert, the hosts file and a
headless chromium that loads the frontend, which calls the backend through the proxy.

Every test runs the real CLI as a child process and stops it the way a user does (SIGINT = Ctrl-C, or
`stagecraft dev down`), then checks that no process, container, network or hosts line is left.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop"
READY = "ready; press Ctrl-C to stop everything"

pytestmark = pytest.mark.hosts  # needs the Docker engine and real binaries; slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevRun:
    """One `stagecraft dev` child process with its output in a file."""

    def __init__(self, cwd: Path, env: dict, args: list[str], log: Path):
        self.log = log
        self.out = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "stagecraft", "dev", *args], cwd=cwd, env=env,
                                     stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, limit: float = 600) -> None:
        deadline = time.monotonic() + limit  # a bound, not an assertion on speed
        while needle not in self.text():
            assert self.proc.poll() is None, f"dev exited ({self.proc.returncode}) before {needle!r}:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {needle!r} after {limit}s:\n{self.text()}"
            time.sleep(0.3)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=180)
        self.out.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose but the process table.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def docker_lines(*args) -> list[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture
def shop(tmp_path):
    """A copy of examples/shop under a unique project name, on free ports, with its own hosts file and CA."""
    name = f"shopdev{uuid.uuid4().hex[:6]}"
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns(".stagecraft", ".env*"))
    ports = {k: free_port() for k in ("api", "web", "db", "http", "https")}
    config = yaml.safe_load((project / "stagecraft.yml").read_text())
    config["project"]["name"] = name
    back = config["backend"]["generic"]["dev"]
    back["port"] = ports["api"]
    back["env"] = {"PORT": str(ports["api"]), "SHOP_DB_ADDR": f"127.0.0.1:{ports['db']}"}
    front = config["frontend"]["generic"]["dev"]
    front["port"] = ports["web"]
    front["command"][3] = str(ports["web"])
    config["dev"]["publish"] = {"db": [f"127.0.0.1:{ports['db']}:5432"]}
    config["dev"]["proxy"] = {"http_port": ports["http"], "https_port": ports["https"]}
    config["dev"]["routes"] = {f"files.{name}.localhost": ports["web"]}  # any local port, e.g. a container's
    (project / "stagecraft.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / ".env.dev").write_text("SHOP_DB_PASSWORD=dev-only-password\n")
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
    env = {**os.environ, "STAGECRAFT_HOSTS_FILE": str(hosts_file), "CAROOT": str(tmp_path / "ca"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NODE_EXTRA_CA_CERTS", None)  # a user's own setting wins; the test checks the one dev sets
    (tmp_path / "ca").mkdir()
    runs: list[DevRun] = []

    class Shop:
        pass

    s = Shop()
    s.name, s.dir, s.ports, s.env, s.hosts_file, s.tmp = name, project, ports, env, hosts_file, tmp_path
    s.hosts_before = hosts_file.read_text()

    def start(*args):
        run = DevRun(project, env, list(args), tmp_path / f"dev-{len(runs)}.log")
        runs.append(run)
        return run

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "stagecraft", *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)

    s.start, s.cli = start, cli
    yield s
    for run in runs:
        run.kill()
    subprocess.run([sys.executable, "-m", "stagecraft", "dev", "down"], cwd=project, env=env, capture_output=True)
    for cid in docker_lines("ps", "-aq", "--filter", f"label=stagecraft.dev={name}"):
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"{name}-dev_default"], capture_output=True)
    subprocess.run(["docker", "volume", "rm", f"{name}-dev_dbdata"], capture_output=True)


def assert_nothing_left(shop, pids: list[int]) -> None:
    assert [p for p in pids if alive(p)] == []
    assert docker_lines("ps", "-aq", "--filter", f"label=stagecraft.dev={shop.name}") == []
    assert docker_lines("network", "ls", "-q", "--filter", f"name={shop.name}-dev") == []
    assert shop.hosts_file.read_text() == shop.hosts_before
    assert not (shop.dir / ".stagecraft" / "dev" / "session.json").exists()


def spki_hash(cert: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def chromium(url: str, cert: Path, *extra: str) -> subprocess.CompletedProcess:
    # The mkcert certificate is trusted by its key (no trust store is touched); --virtual-time-budget lets
    # the page's fetch to the backend finish before the DOM is dumped or the screenshot taken.
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--ignore-certificate-errors-spki-list={spki_hash(cert)}", "--virtual-time-budget=8000",
            "--window-size=900,420", *extra, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_dev_serves_the_shop_over_https_and_ctrl_c_leaves_nothing_behind(shop):
    dry = shop.cli("dev", "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == json.loads(shop.cli("dev", "--dry-run", "-o", "json").stdout)  # deterministic

    run = shop.start()
    run.wait_for(READY)
    dev_dir = shop.dir / ".stagecraft" / "dev"
    for path, text in json.loads(dry.stdout)["files"].items():
        assert (shop.dir / path).read_text() == text  # what --dry-run showed is what was written
    assert f"127.0.0.1\tapi.{shop.name}.localhost app.{shop.name}.localhost" in shop.hosts_file.read_text()
    assert "created certificate" in run.text()
    assert docker_lines("ps", "-q", "--filter", f"label=stagecraft.dev={shop.name}") != []

    url = f"https://app.{shop.name}.localhost:{shop.ports['https']}/"
    cert = dev_dir / "certs" / "dev.pem"
    dom = chromium(url, cert, "--dump-dom")
    assert "backend says: shop dev; database reachable" in dom.stdout, dom.stdout + dom.stderr[-2000:]
    shot = Path(tempfile.gettempdir()) / f"stagecraft-dev-{shop.name}.png"
    chromium(url, cert, f"--screenshot={shot}")
    print(f"screenshot of {url}: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The plain-HTTP entry point routes by Host too, also a dev.routes domain.
    def get(host: str, path: str) -> str:
        with socket.create_connection(("127.0.0.1", shop.ports["http"])) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            return b"".join(iter(lambda: sock.recv(4096), b"")).decode()

    answer = get(f"api.{shop.name}.localhost", "/api/status")
    assert answer.startswith("HTTP/1.0 200") and '"app": "shop"' in answer
    answer = get(f"files.{shop.name}.localhost", "/index.html")
    assert answer.startswith("HTTP/1.0 200") and "<title>shop (dev)</title>" in answer
    assert f"files.{shop.name}.localhost" in shop.hosts_file.read_text()

    second = shop.cli("dev", "--no-hosts")
    assert second.returncode == 1 and "dev: already running for this project" in second.stderr

    session = json.loads((dev_dir / "session.json").read_text())
    pids = list(session["processes"].values())
    assert len(pids) == 3 and all(alive(p) for p in pids)
    environ = Path(f"/proc/{session['processes']['backend']}/environ").read_bytes().split(b"\0")
    assert f"NODE_EXTRA_CA_CERTS={shop.tmp / 'ca' / 'rootCA.pem'}".encode() in environ
    assert f"STAGECRAFT_DEV_FRONTEND_URL=https://app.{shop.name}.localhost:{shop.ports['https']}".encode() in environ
    assert run.interrupt() == 130
    assert_nothing_left(shop, pids)


def test_detach_then_dev_down_reuses_the_certificate(shop):
    first = shop.cli("dev", "--detach", "-o", "json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["urls"]["frontend"] == f"https://app.{shop.name}.localhost:{shop.ports['https']}"
    session = json.loads((shop.dir / ".stagecraft" / "dev" / "session.json").read_text())
    pids = [session["pid"], *session["processes"].values()]
    assert all(alive(p) for p in pids)
    again = shop.cli("dev", "--detach")
    assert again.returncode == 1 and "dev: already running" in again.stderr
    down = shop.cli("dev", "down")
    assert down.returncode == 0 and f"stopped the dev session (pid {session['pid']})" in down.stdout
    assert_nothing_left(shop, pids)
    assert shop.cli("dev", "down").stdout.strip() == "dev: not running"

    second = shop.cli("dev", "--detach")
    assert second.returncode == 0, second.stderr
    assert "reusing certificate" in (shop.dir / ".stagecraft" / "dev" / "dev.log").read_text()
    assert shop.cli("dev", "down").returncode == 0


def _tiny_project(tmp_path: Path, frontend_dev: dict, backend: dict | None = None) -> Path:
    config = {"version": 1, "project": {"name": f"tiny{uuid.uuid4().hex[:6]}"},
              "environments": {"local": {"driver": "local"}},
              "frontend": {"provider": "generic", "generic": {"dev": frontend_dev}}}
    if backend:
        config["backend"] = backend
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_a_dev_server_that_exits_before_it_is_ready_is_an_error(tmp_path):
    path = _tiny_project(tmp_path, {"command": ["sh", "-c", "echo booting; exit 3"], "port": free_port(),
                                    "ready_pattern": "ready"})
    proc = subprocess.run([sys.executable, "-m", "stagecraft", "dev", "--no-hosts", "--no-https", "--no-proxy"],
                          cwd=path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "frontend | booting" in proc.stdout
    assert "error: dev: frontend exited with code 3 before it was ready (waiting for 'ready')" in proc.stderr


def test_stop_sends_the_configured_signal_then_sigkill_to_the_whole_group(tmp_path):
    pidfile = tmp_path / "pids"
    # A server that ignores SIGINT, with a child of its own: both must be gone after the stop timeout.
    script = ("import os, signal, subprocess, time\n"
              "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
              "child = subprocess.Popen(['sleep', '300'])\n"
              f"open({str(pidfile)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
              "print('up and running', flush=True)\n"
              "time.sleep(300)\n")
    path = _tiny_project(tmp_path, {"command": [sys.executable, "-c", script], "port": free_port(),
                                    "ready_pattern": "up and running",
                                    "shutdown": {"signal": "SIGINT", "timeout_ms": 500}})
    run = DevRun(path, dict(os.environ), ["--no-hosts", "--no-https", "--no-proxy"], tmp_path / "dev.log")
    try:
        run.wait_for(READY, limit=120)
        pids = [int(p) for p in pidfile.read_text().split()]
        assert run.interrupt() == 130
    finally:
        run.kill()
    assert "frontend | did not stop within 0.5s; killing it" in run.text()
    assert [p for p in pids if alive(p)] == []


def test_a_dev_server_that_dies_later_stops_everything(tmp_path):
    marker = tmp_path / "die"
    script = ("import os, time\nprint('serving', flush=True)\n"
              f"while not os.path.exists({str(marker)!r}): time.sleep(0.1)\nraise SystemExit(7)\n")
    path = _tiny_project(tmp_path, {"command": [sys.executable, "-c", script], "port": free_port(),
                                    "ready_pattern": "serving"})
    run = DevRun(path, dict(os.environ), ["--no-hosts", "--no-https", "--no-proxy"], tmp_path / "dev.log")
    try:
        run.wait_for(READY, limit=120)
        marker.write_text("now")
        assert run.proc.wait(timeout=60) == 2
    finally:
        run.kill()
    assert "error: dev: frontend exited with code 7; stopped everything else" in run.text()


ENCORE_STANDIN = """#!/usr/bin/env python3
# Stand-in for the encore CLI: records each call (argv, cwd, stdin, chosen env) and, for `run`, serves HTTP.
import json, os, sys
record = {"argv": sys.argv[1:], "cwd": os.getcwd(),
          "telemetry": os.environ.get("DISABLE_ENCORE_TELEMETRY"), "from_file": os.environ.get("API_MODE")}
if sys.argv[1:3] == ["secret", "set"]:
    record["stdin"] = sys.stdin.read()
with open(os.environ["ENCORE_RECORD"], "a") as f:
    f.write(json.dumps(record) + "\\n")
if sys.argv[1] == "run":
    from http.server import HTTPServer, SimpleHTTPRequestHandler
    listen = [a for a in sys.argv if a.startswith("--listen=")][0].split("=", 1)[1]
    host, port = listen.rsplit(":", 1)
    print("Encore development server running!", flush=True)
    try:
        HTTPServer((host, int(port)), SimpleHTTPRequestHandler).serve_forever()
    except KeyboardInterrupt:
        pass
"""


def test_encore_backend_pipes_secrets_to_encore_then_runs_it(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    encore = bindir / "encore"
    encore.write_text(ENCORE_STANDIN)
    encore.chmod(encore.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / ".env.local").write_text("STRIPE_KEY=sk_test_from_file_123\nAPI_MODE=dev-file\n")
    port = free_port()
    backend = {"provider": "encore-ts", "encore-ts": {"dev": {
        "listen": f"127.0.0.1:{port}", "workdir": "api", "env_file": ".env.local", "disable_telemetry": True,
        "secrets": {"types": ["dev", "local"], "from_env": ["STRIPE_KEY", "NOT_SET_ANYWHERE"]}}}}
    path = _tiny_project(tmp_path, {"command": [sys.executable, "-m", "http.server", str(free_port()),
                                                "--bind", "127.0.0.1"], "ready_pattern": "Serving HTTP",
                                    "port": free_port()}, backend)
    record = tmp_path / "record.jsonl"
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "ENCORE_RECORD": str(record)}
    env.pop("NOT_SET_ANYWHERE", None)
    run = DevRun(path, env, ["--no-hosts", "--no-https", "--no-proxy"], tmp_path / "dev.log")
    try:
        run.wait_for(READY, limit=120)
        calls = [json.loads(line) for line in record.read_text().splitlines()]
        assert run.interrupt() == 130
    finally:
        run.kill()
    assert calls[0] == {"argv": ["secret", "set", "--type", "dev,local", "STRIPE_KEY"], "cwd": str(path / "api"),
                        "telemetry": "1", "from_file": "dev-file", "stdin": "sk_test_from_file_123"}
    assert calls[1]["argv"] == ["run", "--watch", f"--listen=127.0.0.1:{port}"] and calls[1]["cwd"] == str(path / "api")
    assert len(calls) == 2  # the unset secret is skipped with a warning
    out = run.text()
    assert "secret NOT_SET_ANYWHERE is not set" in out and "backend  | Encore development server running!" in out
    assert "sk_test_from_file_123" not in out


def test_missing_encore_cli_is_an_external_error(tmp_path):
    backend = {"provider": "encore-ts", "encore-ts": {"dev": {"listen": f"127.0.0.1:{free_port()}"}}}
    path = _tiny_project(tmp_path, {"command": ["true"], "port": free_port()}, backend)
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "stagecraft", "dev", "--no-hosts", "--no-https", "--no-proxy"],
                          cwd=path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error: dev: backend: command not found: encore" in proc.stderr


def test_hosts_file_permission_denied_says_sudo_or_no_hosts(tmp_path):
    # A real non-root user against a root-owned hosts file (root itself may write anything).
    project = Path(tempfile.mkdtemp(prefix="stagecraft-dev-perm-"))
    try:
        project.chmod(0o755)
        (project / "stagecraft.yml").write_text(yaml.safe_dump({
            "version": 1, "project": {"name": "perm"}, "environments": {"local": {"driver": "local"}},
            "frontend": {"provider": "generic", "generic": {"dev": {"command": ["true"], "port": free_port()}}}}))
        (project / "stagecraft.yml").chmod(0o644)
        hosts_file = project / "hosts"
        hosts_file.write_text("127.0.0.1 localhost\n")
        hosts_file.chmod(0o644)
        env = {**os.environ, "STAGECRAFT_HOSTS_FILE": str(hosts_file), "HOME": str(project)}
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                               "stagecraft", "dev", "--no-https", "--http-port", str(free_port())],
                              cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert f"error: dev: cannot write {hosts_file}: permission denied" in proc.stderr
        assert "sudo" in proc.stderr and "--no-hosts" in proc.stderr
        assert hosts_file.read_text() == "127.0.0.1 localhost\n"
    finally:
        shutil.rmtree(project, ignore_errors=True)


def test_dev_down_cleans_up_after_a_session_killed_with_sigkill(tmp_path):
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1 localhost\n")
    port = free_port()
    path = _tiny_project(tmp_path, {"command": [sys.executable, "-m", "http.server", str(port), "--bind",
                                                "127.0.0.1"], "port": port, "ready_pattern": "Serving HTTP"})
    env = {**os.environ, "STAGECRAFT_HOSTS_FILE": str(hosts_file)}
    run = DevRun(path, env, ["--no-https", "--http-port", str(free_port())], tmp_path / "dev.log")
    try:
        run.wait_for(READY, limit=120)
        session = json.loads((path / ".stagecraft" / "dev" / "session.json").read_text())
        run.proc.kill()  # no teardown can run
        run.proc.wait()
    finally:
        run.kill()
    pids = list(session["processes"].values())
    assert all(alive(p) for p in pids) and "stagecraft dev" in hosts_file.read_text()  # what a kill leaves
    down = subprocess.run([sys.executable, "-m", "stagecraft", "dev", "down"], cwd=path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert down.returncode == 0 and "cleaned up what a killed session left" in down.stdout, down.stderr
    assert [p for p in pids if alive(p)] == []
    assert hosts_file.read_text() == "127.0.0.1 localhost\n"
    assert not (path / ".stagecraft" / "dev" / "session.json").exists()


def test_an_infra_service_that_fails_shows_its_log_and_leaves_nothing(tmp_path):
    name = f"badinfra{uuid.uuid4().hex[:6]}"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "Dockerfile").write_text("FROM stagecraft/host-base:trixie\n")
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump({"services": {"broken": {
        "build": "./broken", "image": f"{name}-broken:dev",
        "command": ["sh", "-c", "echo 'cannot start: missing config'; exit 1"],
        "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "retries": 1}}}}))
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump({"version": 1, "project": {"name": name},
                                                             "environments": {"local": {"driver": "local"}}}))
    try:
        proc = subprocess.run([sys.executable, "-m", "stagecraft", "dev"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 2
        assert "cannot start: missing config" in proc.stdout
        assert "error: dev: `up -d --build --wait --remove-orphans` of the infra services failed (exit 1)" in proc.stderr
        assert docker_lines("ps", "-aq", "--filter", f"label=stagecraft.dev={name}") == []
        assert docker_lines("network", "ls", "-q", "--filter", f"name={name}-dev") == []
    finally:
        subprocess.run(["docker", "rmi", f"{name}-broken:dev"], capture_output=True)
