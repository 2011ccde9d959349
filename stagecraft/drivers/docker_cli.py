"""The few `docker` CLI calls the local driver needs (the Docker SDK is not a dependency)."""

from __future__ import annotations

import json
import shutil

from .. import process
from ..errors import ExternalError

ENGINE_HINT = ("install Docker (Debian/Ubuntu: apt-get install docker.io) and start it "
               "(systemctl start docker, or run dockerd in the background); scripts/setup does both")


def docker(*args: str, input: bytes | str | None = None, check: bool = True, timeout: float = 600):
    if shutil.which("docker") is None:
        raise ExternalError("the docker command is not installed", hint=ENGINE_HINT)
    proc = process.run(["docker", *args], input=input, timeout=timeout, what=f"docker {args[0]}", hint=ENGINE_HINT)
    if check and proc.returncode != 0:
        err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
        raise ExternalError(f"docker {args[0]} failed: {err.strip() or 'exit ' + str(proc.returncode)}")
    return proc


def require_engine() -> None:
    """Exit 2 with what to install or start when no Docker engine answers."""
    if shutil.which("docker") is None:
        raise ExternalError("the docker command is not installed", hint=ENGINE_HINT)
    try:
        proc = process.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20, what="docker info")
    except ExternalError:
        raise ExternalError("no Docker engine answered within 20 s", hint=ENGINE_HINT) from None
    if proc.returncode != 0 or not proc.stdout.strip():
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no answer"
        raise ExternalError(f"no Docker engine answers ({detail})", hint=ENGINE_HINT)


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def inspect(*names: str, timeout: float = 600) -> list[dict]:
    if not names:
        return []
    proc = docker("inspect", *names, check=False, timeout=timeout)
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return []


def ids(*args: str) -> list[str]:
    return [line for line in docker(*args).stdout.split() if line]
