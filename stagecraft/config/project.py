"""project: name, image registry prefix, compose file and how images reach hosts."""

from __future__ import annotations

from dataclasses import dataclass, field


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
