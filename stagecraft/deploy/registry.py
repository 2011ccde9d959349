"""project.images.transport registry: docker login (if credentials are named) and push."""

from __future__ import annotations

from .. import process
from ..errors import ExternalError, UserError
from .envvars import registry_credentials


def push(ctx, images: dict, say) -> None:
    """Push the built images that belong in project.registry (others travel over SSH)."""
    project = ctx.config.project
    if not project.registry:
        raise UserError("--push / images.transport registry needs project.registry")
    creds = registry_credentials(ctx)
    if creds:
        cfg = project.images
        proc = process.run(["docker", "login", "--username", creds[cfg.registry_username_env], "--password-stdin",
                            project.registry_host], input=creds[cfg.registry_password_env],
                           what=f"docker login {project.registry_host}", secrets=creds.values())
        if proc.returncode != 0:
            raise ExternalError(f"docker login {project.registry_host} failed (credentials from "
                                f"{cfg.registry_username_env}/{cfg.registry_password_env}): "
                                f"{process.mask(process.error_text(proc), creds.values())}")
    for image in images.values():
        if not project.in_registry(image["ref"]):
            continue  # e.g. a fixed-tag image named outside the registry: it travels over SSH
        say(f"pushing {image['ref']}")
        process.run(["docker", "push", "--", image["ref"]], what=f"docker push {image['ref']}", check=True)
