"""backend.provider encore-ts: `stagecraft build` runs `encore build docker` for the backend service.
No encore binary can be installed here, so a stub `encore` on PATH records the command it was given
and makes the image with docker; what is proven is the command and its use, not Encore's build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.hosts  # needs a Docker engine
STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")
STUB = """#!/bin/sh
# Records argv and working directory, then creates the image named by the last argument.
printf '%s\\n' "$PWD" "$@" > "{log}"
for ref; do :; done
printf 'FROM scratch\\nLABEL built-by=encore-stub\\n' | docker build -q -t "$ref" - >/dev/null
"""


@pytest.fixture
def project(tmp_path):
    project = f"sc-encore-{os.getpid()}"
    app = tmp_path / "app"
    (app / "backend").mkdir(parents=True)
    (app / "infra.json").write_text("{}")
    (app / "docker-compose.yml").write_text(yaml.safe_dump({"services": {
        "api": {"image": "api", "environment": {"PORT": "8080"}}}}))
    (app / "stagecraft.yml").write_text(yaml.safe_dump({
        "version": 1, "project": {"name": project},
        "environments": {"local": {"driver": "local", "hosts": {"app-1": {"roles": ["app"]}}}},
        "roles": {"app": {"services": ["api"]}},
        "backend": {"provider": "encore-ts", "service": "api",
                    "encore-ts": {"build": {"workdir": "backend", "base": "node:22-slim", "config": "infra.json",
                                            "services": ["orders", "users"], "tag_suffix": "-ts"}}},
    }, sort_keys=False))
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    (stub_dir / "encore").write_text(STUB.format(log=tmp_path / "encore.log"))
    (stub_dir / "encore").chmod(0o755)
    yield app, project, stub_dir, tmp_path / "encore.log"
    subprocess.run(["docker", "rmi", "-f", f"{project}/api:v9-ts"], capture_output=True)


def run(app, *args, path_prefix=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
    env["STAGECRAFT_STATE_DIR"] = str(app / ".stagecraft")
    if path_prefix:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    return subprocess.run([STAGECRAFT, *args], cwd=app, env=env, capture_output=True, text=True)


def test_build_runs_encore_build_docker_for_the_backend(project):
    app, name, stub_dir, log = project
    proc = run(app, "build", "-e", "local", "--version", "v9", "-o", "json", path_prefix=stub_dir)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["images"]["api"]["ref"] == f"{name}/api:v9-ts"
    assert data["images"]["api"]["id"].startswith("sha256:")
    cwd, *argv = log.read_text().splitlines()
    assert cwd == str(app / "backend")
    assert argv == ["build", "docker", "--base=node:22-slim", f"--config={app / 'infra.json'}",
                    "--services=orders,users", f"{name}/api:v9-ts"]
    labels = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}",
                             f"{name}/api:v9-ts"], capture_output=True, text=True).stdout
    assert json.loads(labels) == {"built-by": "encore-stub"}


def test_dry_run_names_the_image_without_building(project):
    app, name, stub_dir, log = project
    proc = run(app, "build", "-e", "local", "--version", "v9", "--dry-run", "-o", "json", path_prefix=stub_dir)
    assert proc.returncode == 0 and json.loads(proc.stdout)["images"] == {"api": f"{name}/api:v9-ts"}
    assert not log.exists()


def test_missing_encore_cli_is_a_clear_external_error(project):
    app, _, _, _ = project
    proc = run(app, "build", "-e", "local", "--version", "v9")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "backend.provider encore-ts" in proc.stderr and "'encore' CLI is not installed" in proc.stderr
    assert "Traceback" not in proc.stderr
