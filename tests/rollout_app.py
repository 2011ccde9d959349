"""A small app for rollout tests and benchmarks on local hosts: `db` (recreate, built from the repo),
`web` (rolling, routed, no Docker healthcheck: services.web.healthcheck checks /health over HTTP) and
`worker` (rolling, its PID 1 ignores SIGTERM, compose stop_grace_period 2s). Scratch images with a static
busybox from the example web's build stage, so they share its build cache."""

from __future__ import annotations

import json

import yaml

from tests.hosts import EXAMPLE

_TOOLS = (EXAMPLE / "web" / "Dockerfile").read_text().split("FROM scratch")[0]
_LOOP = "while :; do /bin/busybox sleep 1; done"
COMPOSE = {"services": {
    "web": {"build": "./web", "environment": {"APP_VERSION": "${IMAGE_TAG:-dev}", "APP_HEALTHY": "${APP_HEALTHY:-true}"}},
    "db": {"build": "./db", "environment": {"DB_MODE": "a"}},
    "worker": {"build": "./worker", "environment": {"APP_VERSION": "${IMAGE_TAG:-dev}"}, "stop_grace_period": "2s"},
}}
# Appended to the generated stagecraft.yml: db on the `data` role, web and worker on `gateway` (public).
EXTRA_CONFIG = """
services:
  db:
    role: data
    rollout: {strategy: recreate}
  web:
    role: gateway
    port: 8080
    healthcheck: {path: /health, interval: 1, timeout: 2}
    rollout: {healthcheck_timeout: 10}
  worker:
    role: gateway
"""


def _busybox_image(script: str) -> str:
    entrypoint = json.dumps(["/bin/busybox", "sh", "-c", script])
    return f"{_TOOLS}FROM scratch\nCOPY --from=tools /bin/busybox /bin/busybox\nENTRYPOINT {entrypoint}\n"


def files() -> dict[str, str]:
    return {
        "docker-compose.yml": yaml.safe_dump(COMPOSE, sort_keys=False),
        "web/Dockerfile": (EXAMPLE / "web" / "Dockerfile").read_text(),
        "web/start.sh": (EXAMPLE / "web" / "start.sh").read_text(),
        # Exits on TERM (a trap: PID 1 has no default signal handler).
        "db/Dockerfile": _busybox_image(f"trap 'exit 0' TERM; {_LOOP}"),
        # PID 1 ignores TERM: every stop waits for the kill.
        "worker/Dockerfile": _busybox_image(f"trap '' TERM; {_LOOP}"),
        ".env.local": "APP_HEALTHY=true\n",
    }


def create(factory, name: str):
    """One host `app-1` (roles data + gateway) with this app, after `infra up`."""
    env = factory.create(name, {"app-1": ["data", "gateway"]}, extra_config=EXTRA_CONFIG, files=files(), up=False)
    env.config_path.write_text(env.config_path.read_text().replace(
        "    driver: local\n", "    driver: local\n    env_file: .env.local\n"))
    env.up()
    return env


def containers(env, service: str) -> list[dict]:
    """[{id, started, image}] of the service's running containers on app-1."""
    fmt = "{{.Id}} {{.State.StartedAt}} {{.Config.Image}}"
    out = env.ssh("app-1", f"docker inspect --format '{fmt}' $(docker ps -q --filter "
                           f"label=com.docker.compose.project={env.project} "
                           f"--filter label=com.docker.compose.service={service})").stdout
    return [dict(zip(("id", "started", "image"), line.split())) for line in out.splitlines()]


def change_web(env, version: str) -> None:
    """A real change of web's image (its start script)."""
    with (env.project_dir / "web" / "start.sh").open("a") as handle:
        handle.write(f"# {version}\n")
