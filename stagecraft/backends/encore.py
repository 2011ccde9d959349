"""backend.provider encore-ts: the app is compiled here by `encore build docker` into the image."""

from __future__ import annotations

from pathlib import Path


class EncoreTs:
    name = "encore-ts"

    def image_service(self, config) -> str | None:
        backend = config.backend
        return backend.service or (backend.settings.get("build") or {}).get("image_name") or "api"

    def tag_suffix(self, config) -> str:
        return (config.backend.settings.get("build") or {}).get("tag_suffix") or ""

    def build_override(self, config, service: str):
        return None

    def build_command(self, config, service: str, ref: str):
        if service != self.image_service(config):
            return None
        from ..commands.build import encore_build_argv

        argv, cwd = encore_build_argv(ref, Path(config.base_dir), config.backend.settings)
        return argv, cwd, "encore"


backend = EncoreTs()
