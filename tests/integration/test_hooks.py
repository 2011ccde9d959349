"""Deploy hooks in .stagecraft/hooks/: pre-build, pre-deploy and post-deploy run in order with the
STAGECRAFT_* variables; a hook that exits non-zero aborts the deploy before the hosts change."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.hosts import example_files

pytestmark = pytest.mark.hosts
HOOK = """#!/bin/sh
echo "{name} $STAGECRAFT_PROJECT $STAGECRAFT_ENV $STAGECRAFT_VERSION $STAGECRAFT_RELEASE" >> hooks.log
exit {code}
"""


@pytest.fixture(scope="module")
def app(local_hosts):
    files = example_files("web")
    env = local_hosts.create("hooks", {"app-1": ["app"]}, files=files, up=False)
    data = yaml.safe_load(env.config_path.read_text())
    data["roles"]["app"]["services"] = ["web"]
    data["services"] = {"web": {"port": 8080, "rollout": {"strategy": "rolling", "healthcheck_timeout": 30}}}
    env.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    env.up()
    return env


def hook(env, name: str, code: int = 0) -> None:
    path = env.project_dir / ".stagecraft" / "hooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HOOK.format(name=name, code=code))
    path.chmod(0o755)


def test_hooks_run_in_order_with_the_release_variables(app):
    for name in ("pre-build", "pre-deploy", "post-deploy"):
        hook(app, name)
    data = json.loads(app.cli("deploy", "-e", "local", "--version", "v1", "-o", "json").stdout)
    lines = (app.project_dir / "hooks.log").read_text().splitlines()
    assert lines == [f"{name} {app.project} local v1 {data['release']}"
                     for name in ("pre-build", "pre-deploy", "post-deploy")]


def test_a_failing_pre_deploy_hook_aborts_before_the_hosts_change(app):
    hook(app, "pre-deploy", code=3)
    proc = app.cli("deploy", "-e", "local", "--version", "v2", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ".stagecraft/hooks/pre-deploy exited 3" in proc.stderr and "Traceback" not in proc.stderr
    rows = json.loads(app.cli("releases", "list", "-o", "json").stdout)
    rel = json.loads(app.cli("releases", "show", rows[0]["id"], "-o", "json").stdout)
    assert rel["status"] == "failed" and rel["version"] == "v2"
    assert {p["name"]: p["status"] for p in rel["phases"]}["rollout"] == "skipped"
    assert "web:v1" in app.ssh("app-1", "docker ps --format '{{.Image}}'").stdout
    assert "web:v2" not in app.ssh("app-1", "docker ps --format '{{.Image}}'").stdout
