"""The generated workflow's deploy job really deploys, from an empty runner.

The deploy job's `run:` steps are run on this machine, in order, with the environment GitHub Actions would
give them (workflow, job and step `env:`, secrets and inputs substituted), in a copy of the checkout only:
no .stagecraft/, no SSH key, no known_hosts, no uncommitted env file. The hosts are real local hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml


pytestmark = pytest.mark.hosts
CANARY = "ci-secret-canary-5f2a71"
EXTRA = """
services:
  web:
    port: 8080
    secrets: [SHOP_SECRET]
    rollout: {strategy: rolling, healthcheck_timeout: 30}
ci:
  provider: github
"""
NOT_IN_CHECKOUT = {".stagecraft", "inventory.yml", ".env.local", ".git"}  # state and uncommitted files


def _expand(value: str, ctx: dict) -> str:
    """The expressions the workflow uses: secrets.X, runner.temp, `a || b` of inputs and github."""
    def one(m):
        for alternative in m[1].split("||"):
            got = ctx.get(alternative.strip(), "")
            if got:
                return got
        return ""
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, str(value))


@pytest.fixture(scope="module")
def shop(local_hosts):
    env = local_hosts.web_env("ci", {"app-1": ["app"], "gw-1": ["gateway"]}, extra_config=EXTRA)
    return env


def test_deploy_job_deploys_from_an_empty_runner(shop, tmp_path):
    shop.cli("ci", "init", "-e", "local")
    workflow = yaml.safe_load((shop.project_dir / ".github/workflows/stagecraft.yml").read_text())
    job = workflow["jobs"]["deploy-local"]

    workspace, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    shutil.copytree(shop.project_dir, workspace, ignore=lambda d, names: [n for n in names if n in NOT_IN_CHECKOUT])
    runner_temp.mkdir()
    secrets = {"STAGECRAFT_SSH_KEY": shop.key_file.read_text(),
               "STAGECRAFT_KNOWN_HOSTS": (shop.state_dir / "known_hosts" / "local").read_text(),
               "SHOP_SECRET": CANARY}
    ctx = {f"secrets.{k}": v for k, v in secrets.items()}
    ctx.update({"runner.temp": str(runner_temp), "inputs.version": "ci1", "github.sha": "0" * 40,
                "inputs.environment": "local", "github.event_name": "workflow_dispatch"})
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STAGECRAFT_", "GITHUB_"))}
    # Stagecraft is already installed here (the install step needs the package index): its venv goes first.
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}"
    base.update({"GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(runner_temp), "CI": "true"})

    ran = []
    for step in job["steps"]:
        if "run" not in step or step.get("id") == "install":
            continue
        env = {**base, **{k: _expand(v, ctx) for scope in (workflow.get("env"), job.get("env"), step.get("env"))
                          for k, v in (scope or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=workspace,
                              env=env, capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, f"step {step['name']!r} failed:\n{proc.stdout}\n{proc.stderr}"
        assert CANARY not in proc.stdout + proc.stderr and secrets["STAGECRAFT_SSH_KEY"] not in proc.stdout + proc.stderr
        ran.append(step["id"])
    assert ran == ["env-files", "runner-state", "deploy"]

    state = runner_temp / "stagecraft"
    assert oct((state / "ssh" / "id_ed25519").stat().st_mode & 0o777) == "0o600"
    with urllib.request.urlopen(f"http://{shop.hosts['gw-1']}/", timeout=10) as resp:
        assert "shop ci1" in resp.read().decode()
    # the secret came from the runner's environment (a CI secret) and reached the host's private .env
    env_file = shop.ssh("app-1", f"cat /srv/stagecraft/{shop.project}/.env").stdout
    assert f'SHOP_SECRET="{CANARY}"' in env_file  # double-quoted: commands.dotenv
    for path in state.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
