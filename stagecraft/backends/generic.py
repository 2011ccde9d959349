"""backend.provider generic: Compose's `build:`, with optional backend.generic.build settings."""

from __future__ import annotations


class Generic:
    name = "generic"

    def image_service(self, config) -> str | None:
        return None

    def tag_suffix(self, config) -> str:
        return ""

    def build_override(self, config, service: str):
        """backend.generic.build (context, dockerfile, target, args) for the backend service."""
        from ..config.services import Build

        backend = config.backend
        if backend.service != service:
            return None
        build = {k: v for k, v in (backend.settings.get("build") or {}).items() if not k.startswith("x-")}
        return Build(**build) if build else None

    def build_command(self, config, service: str, ref: str):
        return None


backend = Generic()
