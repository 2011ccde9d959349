"""The built wheel, installed in a fresh venv outside the checkout, runs and finds its bundled content."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (work / "dist").glob("stagecraft-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=900)
    return venv, work


def test_wheel_runs_inventory_outside_checkout(installed, tmp_path):
    venv, work = installed
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "fixtures" / "multi", project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    proc = subprocess.run(["stagecraft", "inventory", "-e", "staging", "-o", "json"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["role_app"]["hosts"] == ["web-1", "web-2"]


def test_wheel_bundles_playbooks_collection_and_schema(installed):
    venv, work = installed
    code = ("import stagecraft.resources as r, json; "
            "print(json.dumps([str(r.data_root()), str(r.schema_path()), str(r.playbooks_dir()), "
            "str(r.collections_dir()), r.schema_path().is_file(), r.playbooks_dir().is_dir(), "
            "(r.collections_dir() / 'ansible_collections' / 'stagecraft' / 'infra').is_dir()]))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    root, schema, playbooks, collections, *present = json.loads(proc.stdout)
    assert root.startswith(str(venv)) and "site-packages" in root
    assert all(present), present
    assert not root.startswith(str(ROOT))


def test_wheel_ships_the_templates_and_new_works_outside_checkout(installed, tmp_path):
    venv, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "STAGECRAFT_TEMPLATES_DIR")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    listed = subprocess.run(["stagecraft", "templates", "list", "-o", "json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert {"platform", "attach", "init", "stagecraft-dir"} <= {t["name"] for t in json.loads(listed.stdout)}
    made = subprocess.run(["stagecraft", "new", "shop", "--non-interactive", "--no-git"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    shop = tmp_path / "shop"
    for rel in (".gitignore", ".env.example", ".stagecraft/.gitignore", ".stagecraft/hooks/pre-build",
                ".github/workflows/stagecraft.yml", "api/tests/__init__.py", "db/migrations/001_tasks.sql"):
        assert (shop / rel).is_file(), rel
    assert os.access(shop / ".stagecraft" / "tests" / "smoke.sh", os.X_OK)
    assert not list(shop.rglob("__pycache__"))  # pip compiled the template's .py files in site-packages
    valid = subprocess.run(["stagecraft", "config", "validate"], cwd=shop, env=env, capture_output=True, text=True,
                           timeout=120)
    assert valid.returncode == 0, valid.stdout + valid.stderr
