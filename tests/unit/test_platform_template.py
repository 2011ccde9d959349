"""`stagecraft new --template platform`: every generated file passes its own linters (config validate,
Compose's `config -q` on the compose file and on every per-host file, actionlint on the workflow, bash/sh -n
on shell, py_compile and the app's own unit tests, node --check on the frontend's script), the CI workflow is
what `stagecraft ci init` writes once prod is enabled, secrets stay out of output and git.
The project running under `stagecraft dev` and on local hosts: tests/integration/test_platform.py."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stagecraft.dev.infra import compose_command
from tests.ci_tools import actionlint


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """One generated project for the module (rendering is deterministic but for the random passwords)."""
    from click.testing import CliRunner

    from stagecraft.cli.main import cli

    root = tmp_path_factory.mktemp("new")
    result = CliRunner().invoke(cli, ["new", str(root / "acme"), "--non-interactive", "--no-git", "-o", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "acme", json.loads(result.output)


def run(argv, cwd, env=None, **kw):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, **kw)


def test_the_layout(platform):
    root, data = platform
    paths = {f["path"] for f in data["files"]}
    for rel in ("stagecraft.yml", "docker-compose.yml", ".github/workflows/stagecraft.yml", ".gitignore", "README.md",
                ".env.example", ".env.dev", ".env.local", "web/Dockerfile", "web/dev.py", "api/Dockerfile",
                "api/app/server.py", "api/app/worker.py", "db/Dockerfile", "db/migrations/001_tasks.sql",
                "redis/Dockerfile", ".stagecraft/.gitignore", ".stagecraft/README.md", ".stagecraft/hooks/pre-build",
                ".stagecraft/hooks/pre-deploy", ".stagecraft/hooks/post-deploy", ".stagecraft/tests/health.sh",
                ".stagecraft/tests/smoke.sh"):
        assert rel in paths and (root / rel).is_file(), rel
    mode = {f["path"]: f["mode"] for f in data["files"]}
    assert mode[".stagecraft/tests/smoke.sh"] == "0755" and mode[".stagecraft/hooks/pre-build"] == "0644"
    assert mode[".env.dev"] == mode[".env.local"] == "0600"
    assert oct((root / ".stagecraft").stat().st_mode & 0o777) == "0o700"
    assert data["variables"]["project_name"] == "acme"


def test_config_validates_and_the_workflow_is_what_ci_init_writes_once_prod_is_enabled(platform, tmp_path, run_cli):
    root, _ = platform
    code, out, err = run_cli(["config", "validate"], cwd=root)
    assert code == 0, out + err
    assert "environments: dev, local" in out
    text = (root / "stagecraft.yml").read_text()
    assert "  # prod:\n  #   driver: digitalocean\n" in text and "# cloud:\n#   digitalocean:\n" in text
    prod = tmp_path / "prod"
    code, out, err = run_cli(["new", str(prod), "--non-interactive", "--no-git", "--var", "project_name=acme",
                              "--var", "prod=true"], cwd=tmp_path)
    assert code == 0, err
    code, out, err = run_cli(["config", "validate"], cwd=prod)
    assert code == 0 and "environments: dev, local, prod" in out, out + err
    # What `new` wrote for the commented prod is exactly what `ci init` writes once prod is uncommented.
    assert (prod / ".github/workflows/stagecraft.yml").read_bytes() == (root / ".github/workflows/stagecraft.yml").read_bytes()
    subprocess.run(["git", "init", "-q"], cwd=prod, check=True)
    code, out, err = run_cli(["ci", "init", "-o", "json"], cwd=prod)
    assert code == 0, err
    assert json.loads(out)["result"] == "unchanged" and json.loads(out)["environments"] == ["prod"]


def test_the_workflow_passes_actionlint(platform):
    root, _ = platform
    assert actionlint(root / ".github/workflows/stagecraft.yml") == []


def test_compose_config_accepts_the_compose_file_and_every_host_file(platform, run_cli, tmp_path):
    root, _ = platform
    env = {"APP_DB_PASSWORD": "x", "APP_REDIS_PASSWORD": "y"}
    proc = run([*compose_command(), "config", "-q"], root, env)
    assert proc.returncode == 0, proc.stderr
    code, out, err = run_cli(["render", "-e", "local", "--version", "v1", "-o", "json"], cwd=root)
    assert code == 0, err
    hosts = json.loads(out)
    assert sorted(hosts) == ["app-1", "data-1"]
    for host, plan in hosts.items():
        folder = tmp_path / host
        folder.mkdir()
        (folder / "compose.yaml").write_text(plan["compose"])
        (folder / ".env").write_text("DATABASE_URL=x\nREDIS_URL=y\nAPP_DB_PASSWORD=x\nAPP_REDIS_PASSWORD=y\nIMAGE_TAG=v1\n")
        proc = run([*compose_command(), "config", "-q"], folder)
        assert proc.returncode == 0, f"{host}: {proc.stderr}"
    routes = json.loads(hosts["app-1"]["edge_config"])["routes"]
    assert sorted(r["path"] for r in routes) == ["/", "/api/"]  # the frontend and the API share the name


def test_shell_python_and_javascript_parse_and_the_app_tests_pass(platform, tmp_path):
    root, _ = platform
    scripts = [*sorted((root / ".stagecraft").rglob("*")), *sorted(root.glob("*/*.sh"))]
    checked = 0
    for path in scripts:
        if not path.is_file() or path.name in (".gitignore", "README.md"):
            continue
        shell = "bash" if path.read_text().startswith("#!/usr/bin/env bash") else "sh"
        proc = run([shell, "-n", str(path)], root)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"
        checked += 1
    assert checked == 9  # 3 hooks, 2 tests, 2 db/redis entrypoints, redis healthcheck, web start
    for i, path in enumerate(sorted(root.rglob("*.py"))):
        py_compile.compile(str(path), doraise=True, cfile=str(tmp_path / f"{i}.pyc"))
    proc = run([sys.executable, "-m", "unittest", "discover", "-s", "api/tests", "-t", "api"], root)
    assert proc.returncode == 0 and "OK" in proc.stderr, proc.stderr
    if shutil.which("node"):
        proc = run(["node", "--check", str(root / "web/public/app.js")], root)
        assert proc.returncode == 0, proc.stderr


def test_secrets_stay_out_of_output_and_git(tmp_path, run_cli):
    code, out, err = run_cli(["new", str(tmp_path / "p"), "--non-interactive", "--dry-run"], cwd=tmp_path)
    assert code == 0 and not (tmp_path / "p").exists()
    assert out.count("secret file") == 2 and "APP_DB_PASSWORD=change-me" in out  # .env.example is shown...
    assert out.count("APP_DB_PASSWORD=") == 1  # ... .env.dev and .env.local are not
    code, out, err = run_cli(["new", str(tmp_path / "p"), "--non-interactive", "-o", "json"], cwd=tmp_path,
                             env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                                  "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})
    assert code == 0, err
    assert json.loads(out)["git"] == "initialised and committed"
    password = (tmp_path / "p" / ".env.local").read_text().split("APP_DB_PASSWORD=")[1].split()[0]
    assert len(password) == 32 and password not in out + err
    tracked = run(["git", "ls-files"], tmp_path / "p").stdout.split()
    assert ".env.example" in tracked and ".stagecraft/tests/smoke.sh" in tracked
    assert ".env.dev" not in tracked and ".env.local" not in tracked
    code, _, err = run_cli(["new", str(tmp_path / "p"), "--non-interactive"], cwd=tmp_path)
    assert code == 1 and "already exists and is not an empty directory" in err
