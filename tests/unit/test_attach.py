"""`stagecraft attach` on repositories nobody here wrote (the 32 compose apps of tests/corpus/awesome-compose) and on
small repositories with Node, Python and Go manifests: what it detects and proposes, that the config it writes
validates, that it never changes an existing file (only Stagecraft's own, and those only with --force), that it
shows a diff and that a second run changes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "awesome-compose"
APPS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".stagecraft" not in p.parts}


def attach(run_cli, cwd: Path, *args: str) -> dict:
    code, out, err = run_cli(["attach", "--non-interactive", "-o", "json", *args], cwd=cwd)
    assert code == 0, err
    return json.loads(out)


def test_attach_on_every_corpus_app_validates_touches_nothing_and_is_idempotent(tmp_path, run_cli):
    assert len(APPS) >= 5
    for app in APPS:
        work = tmp_path / app
        shutil.copytree(CORPUS / app, work)
        before = digest(work)
        first = attach(run_cli, work)
        assert first["valid"] is True, f"{app}: {first['valid']}"
        assert {f["status"] for f in first["files"]} == {"create"}, app
        after = digest(work)
        assert {k: v for k, v in after.items() if k in before} == before, f"{app}: changed an existing file"
        assert sorted(set(after) - set(before)) == ["stagecraft.yml"], app
        second = attach(run_cli, work)
        assert {f["status"] for f in second["files"]} == {"unchanged"}, app
        assert digest(work) == after


def services(result: dict) -> dict:
    return {s["name"]: s for s in result["detected"]["services"]}


@pytest.mark.parametrize("app, expected", [
    ("react-express-mysql", {"db": ("db", "recreate", None), "frontend": ("app", "rolling", 3000),
                             "backend": ("app", "recreate", 80)}),
    ("flask-redis", {"redis": ("db", "recreate", None), "web": ("app", "rolling", 8000)}),
    ("wordpress-mysql", {"db": ("db", "recreate", None), "wordpress": ("app", "rolling", 80)}),
    ("nginx-golang-postgres", {"proxy": ("gateway", "recreate", None), "backend": ("app", "rolling", None),
                               "db": ("db", "recreate", None)}),
    ("nextcloud-redis-mariadb", {"db": ("db", "recreate", None), "redis": ("db", "recreate", None)}),
    ("prometheus-grafana", {"grafana": ("app", "rolling", 3000)}),
])
def test_attach_proposes_roles_strategies_and_ports(tmp_path, run_cli, app, expected):
    shutil.copytree(CORPUS / app, tmp_path / app)
    found = services(attach(run_cli, tmp_path / app, "--dry-run"))
    for name, (role, strategy, port) in expected.items():
        assert (found[name]["role"], found[name]["strategy"], found[name]["port"]) == (role, strategy, port), name
    assert not (tmp_path / app / "stagecraft.yml").exists()  # --dry-run


def test_healthchecks_are_proposed_where_the_compose_file_has_none(tmp_path, run_cli):
    shutil.copytree(CORPUS / "react-express-mysql", tmp_path / "app")
    result = attach(run_cli, tmp_path / "app")
    found = services(result)
    assert found["db"]["healthcheck"] == ["CMD-SHELL", "mariadb-admin ping -h 127.0.0.1 || mysqladmin ping -h 127.0.0.1"]
    assert "http://127.0.0.1:3000/" in found["frontend"]["healthcheck"][1]
    config = (tmp_path / "app" / "stagecraft.yml").read_text()
    assert '#     test: ["CMD-SHELL", "mariadb-admin ping -h 127.0.0.1 || mysqladmin ping -h 127.0.0.1"]' in config
    # Two routed services: the frontend answers on /, the backend under /backend/ (not both on /).
    parsed = yaml.safe_load(config)
    assert parsed["services"]["backend"]["public"] == {"path": "/backend/"} and "public" not in parsed["services"]["frontend"]
    shutil.copytree(CORPUS / "nginx-golang-postgres", tmp_path / "pg")
    assert services(attach(run_cli, tmp_path / "pg"))["db"]["healthcheck"] is None  # it has one already


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


REPO = {
    "api/requirements.txt": "fastapi==0.110\nuvicorn[standard]\n",
    "api/Dockerfile": "FROM python:3.12-slim\nEXPOSE 8000\n",
    "web/package.json": json.dumps({"scripts": {"dev": "vite"}, "devDependencies": {"vite": "^5"}}),
    "web/Dockerfile": "FROM node:20\n",
    "jobs/go.mod": "module example.com/jobs\n\ngo 1.22\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n",
    "jobs/Dockerfile.prod": "FROM golang:1.22\n",
    "node_modules/x/package.json": "{}",  # never looked into
    ".gitignore": "node_modules/\n.env.*\n",
}


def test_without_a_compose_file_the_dockerfiles_become_one_and_dev_servers_are_proposed(tmp_path, run_cli):
    write(tmp_path, REPO)
    result = attach(run_cli, tmp_path)
    detected = result["detected"]
    assert detected["compose_proposed"] and detected["dockerfiles"] == ["api/Dockerfile", "jobs/Dockerfile.prod",
                                                                        "web/Dockerfile"]
    assert [(a["path"], a["kind"], a["framework"], a["port"]) for a in detected["apps"]] == [
        ("api", "python", "fastapi", 8000), ("jobs", "go", "chi", 8080), ("web", "node", "vite", 5173)]
    compose = yaml.safe_load((tmp_path / "docker-compose.yml").read_text())
    assert compose["services"]["jobs"]["build"] == {"context": "./jobs", "dockerfile": "Dockerfile.prod"}
    assert compose["services"]["api"]["expose"] == ["8000"] and "healthcheck" in compose["services"]["api"]
    assert result["valid"] is True
    config = (tmp_path / "stagecraft.yml").read_text()
    assert "# backend:\n#   provider: generic\n#   service: api\n" in config
    assert '#       command: ["npm", "run", "dev"]\n#       workdir: web\n#       port: 5173' in config
    assert yaml.safe_load(config)["services"]["api"]["public"] == {"path": "/api/"}  # web answers on /
    assert not any("gitignore" in n for n in result["notes"])
    # What attach writes passes its linters: Compose's own parser, bash -n.
    from stagecraft.dev.infra import compose_command

    proc = subprocess.run([*compose_command(), "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for script in sorted((tmp_path / ".stagecraft").glob("*/*")):
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"
    second = attach(run_cli, tmp_path, "--force")
    assert {f["status"] for f in second["files"]} == {"unchanged"}
    assert not second["detected"]["compose_proposed"]  # now it is the repository's own


def test_existing_files_are_kept_unless_force_overwrites_stagecraft_ones(tmp_path, run_cli):
    write(tmp_path, {"docker-compose.yml": "services:\n  web: {image: nginx, ports: ['8080:80']}\n",
                     "stagecraft.yml": "# mine\n", ".stagecraft/tests/smoke.sh": "exit 0\n",
                     ".gitignore": ".stagecraft/\n"})
    code, out, err = run_cli(["attach", "--non-interactive"], cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "stagecraft.yml").read_text() == "# mine\n"
    assert (tmp_path / ".stagecraft/tests/smoke.sh").read_text() == "exit 0\n"
    assert "kept 2 existing file(s)" in err and "-# mine\n" in out  # the diff of what --force would do
    assert ".gitignore ignores .stagecraft/ entirely" in err and "add `.env.*`" in err
    assert (tmp_path / ".gitignore").read_text() == ".stagecraft/\n"  # advice only: the app's file is untouched
    forced = attach(run_cli, tmp_path, "--force")
    assert {f["path"]: f["status"] for f in forced["files"]}["stagecraft.yml"] == "update"
    assert (tmp_path / "stagecraft.yml").read_text().startswith("# Stagecraft configuration")
    assert (tmp_path / "docker-compose.yml").read_text().startswith("services:\n  web: {image: nginx")
    (tmp_path / "stagecraft.yml").write_text((tmp_path / "stagecraft.yml").read_text().replace(
        f"name: {forced['project']}", "name: renamed"))
    assert attach(run_cli, tmp_path)["project"] == "renamed"  # the existing config's name is the default


def test_attach_writes_the_config_where_c_points(tmp_path, run_cli):
    write(tmp_path, {"compose.yaml": "services:\n  web: {image: nginx, ports: ['80']}\n"})
    result = attach(run_cli, tmp_path, "-c", "deploy.yml")
    assert "deploy.yml" in {f["path"] for f in result["files"]} and not (tmp_path / "stagecraft.yml").exists()
    assert result["valid"] is True and (tmp_path / "deploy.yml").read_text().startswith("# Stagecraft")
    code, _, err = run_cli(["attach", "--non-interactive", "-c", "missing/stagecraft.yml"], cwd=tmp_path)
    assert code == 1 and "is not a directory" in err
