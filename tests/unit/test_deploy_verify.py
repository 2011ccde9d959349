"""The deploy's own tests (.stagecraft/tests/health.sh, smoke.sh): what they get, and that a failing one fails
the release and puts every rolled host back on the previous release (processes that would touch hosts are
replaced as in test_deploy_phases; the tests themselves are real scripts). On real hosts:
tests/integration/test_platform.py."""

from __future__ import annotations

import os

import pytest

from stagecraft.deploy import phases, revert
from stagecraft.deploy.render import compose_of, manifest_hosts, render_all
from stagecraft.deploy.session import Session
from stagecraft.errors import ExternalError
from tests.unit.test_deploy_phases import Ctx, Release, fake_processes  # noqa: F401 (fixture)


class Previous:
    id, version = "rel-old", "v0"

    def __init__(self, manifest):
        self.manifest = manifest


def deploy(tmp_path, tests: dict, monkeypatch, **session):
    ctx = Ctx(tmp_path)
    base = ctx.config.base_dir
    for name, (text, mode) in tests.items():
        path = os.path.join(base, ".stagecraft", "tests", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
    compose, compose_dir = compose_of(ctx.config)
    old = {"hosts": manifest_hosts(render_all(ctx.config, ctx.environment, {}, compose, "v0", "e", []))}
    monkeypatch.setattr(revert, "previous_release", lambda store, env, before: Previous(old))
    rel = Release()
    rel.store = None
    work = phases.Work(kind="deploy", version="v1", build=phases.Build(compose, compose_dir, []))
    return ctx, rel, lambda: phases.run_phases(Session(ctx, **session), rel, work)


def test_a_failing_smoke_test_fails_the_release_and_puts_every_host_back(tmp_path, fake_processes, monkeypatch):
    seen = tmp_path / "seen"
    health = f'#!/bin/sh\nenv | grep ^STAGECRAFT_ | sort > {seen}\necho all good\n'
    smoke = "echo 'POST /api/tasks answered 500' >&2\nexit 3\n"  # not executable: run with bash
    ctx, rel, run = deploy(tmp_path, {"health.sh": (health, 0o755), "smoke.sh": (smoke, 0o644)}, monkeypatch)
    with pytest.raises(ExternalError) as err:
        run()
    message = err.value.message
    assert err.value.exit_code == 2
    assert message.startswith(".stagecraft/tests/smoke.sh failed (exit 3); the release failed:")
    assert "| POST /api/tasks answered 500" in message
    assert "hosts put back on the previous release rel-old (v0):" in message
    assert all(f"  {h}: v0" in message for h in ("data-1", "edge-1", "web-1", "web-2"))
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines())
    assert env["STAGECRAFT_URL"] == "http://10.9.0.2" and env["STAGECRAFT_URLS"] == "http://10.9.0.2"  # edge-1: public
    assert env["STAGECRAFT_VERSION"] == "v1" and env["STAGECRAFT_RELEASE"] == "rel-test"
    assert env["STAGECRAFT_HOSTS"] == "data-1=10.9.0.1 edge-1=10.9.0.2 web-1=10.9.0.3 web-2=10.9.0.4"
    batches = [r[1] for r in fake_processes if isinstance(r, tuple) and r[0] == "batch"]
    assert batches[:3] == batches[3:] == [("data-1",), ("web-1", "web-2"), ("edge-1",)]  # rolled, then put back
    assert rel.manifest["tests"] == [{"test": ".stagecraft/tests/health.sh", "exit": 0, "passed": True},
                                     {"test": ".stagecraft/tests/smoke.sh", "exit": 3, "passed": False}]
    assert rel.manifest["put_back"]["to"] == "rel-old"
    assert ("hook", "post-deploy") not in fake_processes and "hosts" not in rel.manifest


def test_passing_tests_complete_the_release_and_no_tests_skips_them(tmp_path, fake_processes, monkeypatch):
    marker = tmp_path / "ran"
    script = f"#!/bin/sh\necho ran >> {marker}\n"
    ctx, rel, run = deploy(tmp_path, {"health.sh": (script, 0o755), "smoke.sh": (script, 0o755)}, monkeypatch)
    run()
    assert marker.read_text() == "ran\nran\n"
    assert [t["passed"] for t in rel.manifest["tests"]] == [True, True] and "put_back" not in rel.manifest
    assert ("hook", "post-deploy") in fake_processes

    marker.unlink()
    ctx, rel, run = deploy(tmp_path / "again", {"smoke.sh": (script, 0o755)}, monkeypatch, run_tests=False)
    run()
    assert not marker.exists() and "tests" not in rel.manifest
