"""project: name, image registry prefix, compose file and how images reach hosts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_COMPOSE_FILE = "docker-compose.yml"
# Compose's own search order, used when project.compose_file is not set.
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def compose_path(base_dir, compose_file: str | None) -> Path:
    """The compose file: project.compose_file when set, else the first of Compose's names that exists."""
    base = Path(base_dir)
    if compose_file and compose_file != DEFAULT_COMPOSE_FILE:
        return base / compose_file
    for name in COMPOSE_FILE_NAMES:
        if os.path.lexists(base / name):  # a FIFO or folder of that name is refused when it is read
            return base / name
    return base / DEFAULT_COMPOSE_FILE


@dataclass(frozen=True)
class Images:
    transport: str = "ssh"  # ssh: save/load over SSH; registry: push then pull
    registry_username_env: str | None = None
    registry_password_env: str | None = None
    registry_ca_file: str | None = None

    @property
    def via_registry(self) -> bool:
        """Images reach hosts through project.registry (push here, pull there), not over SSH."""
        return self.transport == "registry"


@dataclass(frozen=True)
class Project:
    name: str
    registry: str | None = None
    compose_file: str = "docker-compose.yml"
    images: Images = field(default_factory=Images)

    def compose_path(self, base_dir) -> Path:
        return compose_path(base_dir, self.compose_file)

    @property
    def registry_host(self) -> str:
        """The registry part of project.registry (host[:port]), for docker login and certs.d."""
        return (self.registry or "").split("/", 1)[0]

    def in_registry(self, ref: str) -> bool:
        return bool(self.registry) and ref.startswith(self.registry.rstrip("/") + "/")

    def image_ref(self, service: str, version: str) -> str:
        repo = f"{self.registry.rstrip('/')}/{service}" if self.registry else f"{self.name}/{service}"
        return f"{repo}:{version}"

    @classmethod
    def parse(cls, data: dict) -> "Project":
        return cls(
            name=data["name"],
            registry=data.get("registry"),
            compose_file=data.get("compose_file", "docker-compose.yml"),
            images=Images(**{k: v for k, v in (data.get("images") or {}).items() if not k.startswith("x-")}),
        )
