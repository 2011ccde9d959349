"""Shared fixtures. Host fixtures (real local hosts from the `local` driver) live in tests/hosts.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.hosts import local_hosts  # noqa: F401  (session fixture: real local hosts)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """Every test gets its own state dir and no STAGECRAFT_* settings leaking from the caller."""
    for name in list(os.environ):
        if name.startswith("STAGECRAFT_") and name != "STAGECRAFT_DO_OPENAPI":  # where the test spec lives
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGECRAFT_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def run_cli(monkeypatch):
    """Run the real CLI entry point in-process; returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from stagecraft.cli.main import main

    def run(args, cwd=None, env=None):
        runner = CliRunner()
        if cwd:
            monkeypatch.chdir(cwd)
        code = 0
        with runner.isolation(env=env) as (out, err, *_):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return code, stdout, stderr

    return run
