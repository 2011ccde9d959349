"""After the rollout: the project's own deploy tests, `.stagecraft/tests/health.sh` then `smoke.sh`, when
present, run on this machine against the environment's public URLs. A failing test (exit code not 0, or
no exit within TIMEOUT seconds) fails the release and puts the hosts back on the previous release, as a
failed rollout batch does (deploy.rollout.put_back).

A test runs directly when it is executable, else with bash; in the project directory, with
STAGECRAFT_URL (the first public URL, no trailing slash), STAGECRAFT_URLS (all, space-separated),
STAGECRAFT_HOSTS (`name=address` pairs), STAGECRAFT_PROJECT, STAGECRAFT_ENV, STAGECRAFT_VERSION and
STAGECRAFT_RELEASE added to the environment; Stagecraft adds no secret values (env_file values stay out).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import process
from ..errors import ExternalError
from .probe import app_urls

TESTS = ("health.sh", "smoke.sh")
TIMEOUT = 300


def present(base_dir) -> list[Path]:
    directory = Path(base_dir) / ".stagecraft" / "tests"
    return [directory / name for name in TESTS if (directory / name).is_file()]


def environment(session, desired: dict, version: str, release: str) -> dict:
    urls = [u.rstrip("/") for u in app_urls(desired, session.addresses)]
    return {"STAGECRAFT_PROJECT": session.config.project.name, "STAGECRAFT_ENV": session.environment.name,
            "STAGECRAFT_VERSION": version, "STAGECRAFT_RELEASE": release,
            "STAGECRAFT_URL": urls[0] if urls else "", "STAGECRAFT_URLS": " ".join(urls),
            "STAGECRAFT_HOSTS": " ".join(f"{h}={a}" for h, a in sorted(session.addresses.items()) if h in desired)}


def run_tests(session, rel, desired: dict, rolled: list[str], version: str) -> list[dict]:
    """Run the tests in order; on the first failure put `rolled` back and raise ExternalError (exit 2)."""
    from .rollout import put_back

    tests = present(session.config.base_dir)
    env = environment(session, desired, version, rel.id)
    results = []
    for path in tests:
        name = f".stagecraft/tests/{path.name}"
        argv = [str(path)] if os.access(path, os.X_OK) else ["bash", str(path)]
        session.say(f"running {name}")
        try:
            proc = process.run(argv, cwd=session.config.base_dir, env=env, timeout=TIMEOUT, what=name)
            code, text = proc.returncode, (proc.stdout or "") + (proc.stderr or "")
        except ExternalError as exc:  # did not finish in time, or bash is missing
            code, text = None, exc.message
        tail = "\n".join(text.strip().splitlines()[-15:])
        results.append({"test": name, "exit": code, "passed": code == 0})
        rel.update_manifest({"tests": results})
        if code == 0:
            for line in tail.splitlines():
                session.say(f"  {line}")
            continue
        done = put_back(session, rel, rolled, [], keep_partial=False)
        detail = f" (exit {code})" if code is not None else ""
        raise ExternalError(f"{name} failed{detail}; the release failed:\n"
                            + "".join(f"  | {line}\n" for line in tail.splitlines())
                            + done.describe(version))
    return results
