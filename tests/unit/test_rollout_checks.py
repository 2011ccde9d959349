"""The compose_rollout module's HTTP healthcheck (against a real HTTP server on loopback), its stop
timeout (compose stop_grace_period, else rollout.stop_timeout) and the warnings `config validate` and
`deploy` give about health checks and slow stops."""

from __future__ import annotations

import importlib.util
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stagecraft.config.model import compose_warnings, docker_healthcheck
from stagecraft.deploy.rollout import slow_stops

MODULE = (Path(__file__).resolve().parents[2] / "collections" / "ansible_collections" / "stagecraft" / "infra" /
          "plugins" / "modules" / "compose_rollout.py")


@pytest.fixture(scope="module")
def mod():
    spec = importlib.util.spec_from_file_location("compose_rollout", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server():
    """An HTTP server on loopback: /health answers 503 for the first `fail` requests, then 200;
    /moved redirects (never followed)."""
    state = {"fail": 0, "seen": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state["seen"] += 1
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/health")
            else:
                self.send_response(503 if state["seen"] <= state["fail"] or self.path != "/health" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], state
    httpd.shutdown()


def container(cid: str, ip: str | None) -> dict:
    return {"Id": cid * 12, "NetworkSettings": {"Networks": {"default": {"IPAddress": ip or ""}}}}


def service(port: int, **check) -> dict:
    return {"name": "web", "port": port, "healthcheck_timeout": 5,
            "healthcheck": {"path": "/health", "status": 200, "interval": 1, "timeout": 2, **check}}


def test_http_check_waits_for_the_expected_status(mod, server):
    port, state = server
    state["fail"] = 2  # the app answers 503 while it warms up
    ok, answers = mod.wait_http(service(port), [container("a", "127.0.0.1")], time.monotonic() + 10)
    assert ok and answers == {} and state["seen"] == 3


def test_http_check_fails_with_the_last_answer_of_each_container(mod, server):
    port, _ = server
    web = service(port, path="/moved")
    ok, answers = mod.wait_http(web, [container("a", "127.0.0.1")], time.monotonic() + 1.5)
    assert not ok and answers == {"a" * 12: "301"}  # a redirect is an answer, not followed
    assert "GET /moved with 200 within 5s (last answers: aaaaaaaaaaaa: 301)" in mod.http_failure(web, answers)
    closed = service(1)  # nothing listens on port 1
    ok, answers = mod.wait_http(closed, [container("b", "127.0.0.1")], time.monotonic() + 0.5)
    assert not ok and "ConnectionRefusedError" in answers["b" * 12]
    ok, answers = mod.wait_http(service(port), [container("c", None)], time.monotonic() + 5)
    assert not ok and answers == {"c" * 12: "no address on a network"}


def test_no_http_check_without_a_healthcheck_or_port(mod):
    assert mod.wait_http({"name": "w", "port": 8080, "healthcheck": None}, [container("a", None)], 0) == (True, {})
    assert mod.wait_http({"name": "w", "port": None, "healthcheck": {"path": "/"}}, [], 0) == (True, {})


@pytest.mark.parametrize("text,seconds", [("2s", 2), ("1m30s", 90), ("1.5s", 2), ("500ms", 1), ("1h", 3600),
                                          ("0s", 0), ("", None), ("10", None), ("2 s", None)])
def test_stop_grace_period_as_compose_prints_it(mod, text, seconds):
    assert mod.duration_seconds(text) == seconds


def test_stop_timeout_prefers_the_compose_stop_grace_period(mod):
    class Compose:
        def __init__(self, spec):
            self._spec = spec

        def spec(self, name):
            return self._spec

    assert mod.stop_timeout(Compose({"stop_grace_period": "1m"}), {"name": "w", "stop_timeout": 10}) == (
        60, "stop_grace_period")
    assert mod.stop_timeout(Compose({}), {"name": "w", "stop_timeout": 3}) == (3, "stop_timeout")


def test_deploy_names_services_whose_stop_ran_into_the_timeout():
    outcome = {"app-1": {"services": {
        "worker": {"result": "rolled", "slow_stop": {"seconds": 2, "source": "stop_grace_period", "containers": ["a"]}},
        "db": {"result": "recreated", "slow_stop": {"seconds": 10, "source": "stop_timeout", "containers": ["b", "c"]}},
        "web": {"result": "rolled"}}}, "app-2": {"services": {"web": "failed"}}}
    lines = slow_stops(outcome)
    assert lines[0].startswith("app-1: db: 2 old container(s) ignored the stop signal and were killed after 10s "
                               "(services.db.rollout.stop_timeout)")
    assert "app-1: worker: 1 old container(s)" in lines[1] and "(its compose stop_grace_period)" in lines[1]
    assert len(lines) == 2


def test_validate_warns_about_routed_services_nobody_checks(tmp_path):
    from stagecraft.config.model import Config

    config = Config.parse({"project": {"name": "p"}, "environments": {}, "roles": {"app": {"services": [
        "web", "api", "site", "admin", "worker"]}}, "services": {
            "web": {"port": 80}, "api": {"port": 80, "healthcheck": {"path": "/up"}}, "site": {"port": 80},
            "admin": {"port": 80}, "worker": {}}})
    compose = {"services": {"web": {}, "api": {}, "site": {"healthcheck": {"test": ["CMD", "true"]}},
                            "admin": {"healthcheck": {"disable": True}}, "worker": {}}}
    text = "\n".join(compose_warnings(config, compose))
    assert "services.web: no healthcheck" in text and "add services.web.healthcheck" in text
    assert "services.admin: no healthcheck" in text  # switched off counts as none
    assert "services.api: no healthcheck" not in text and "services.site: no healthcheck" not in text
    assert "services.worker: no healthcheck" in text and "add services.worker.healthcheck" not in text
    assert not docker_healthcheck({"healthcheck": {"test": ["NONE"]}})
