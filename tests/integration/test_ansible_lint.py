"""ansible-lint (production profile, offline: Galaxy is unreachable) on the roles and playbooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "ansible-lint"
COLLECTION = ROOT / "collections" / "ansible_collections" / "stagecraft" / "infra"

pytestmark = pytest.mark.slow


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"), "NO_COLOR": "1",
                "PATH": f"{LINT.parent}{os.pathsep}{env.get('PATH', '')}"})
    return subprocess.run([str(LINT), "--profile", "production", "--offline", "--nocolor", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def test_roles_and_playbooks_pass_the_production_profile():
    proc = lint(ROOT)  # .ansible-lint: roles, playbooks, molecule scenarios
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout


def test_collection_metadata_passes_the_production_profile():
    proc = lint(COLLECTION)  # from inside the collection: galaxy.yml, changelog, meta/runtime.yml rules
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
