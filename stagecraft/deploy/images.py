"""Building the app's images and the edge proxy image on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import process
from ..commands import build as b
from ..commands.compose_render import backend_of, built_services, image_refs
from ..errors import ExternalError, UserError


def ensure_edge_image(say) -> str:
    """The edge proxy image (Caddy from Debian packages on the local base image), built once."""
    from ..drivers.docker_cli import image_exists, require_engine
    from ..drivers.local import ensure_base_image

    require_engine()
    base = ensure_base_image(say)
    tag = b.edge_image_tag(base)
    if not image_exists(tag):
        say(f"building edge proxy image {tag}")
        process.run(["docker", "build", "-t", tag, "-"], input=b.EDGE_DOCKERFILE.format(base=base),
                    what="building the edge image", check=True, tail=800)
    return tag


def build_images(config, compose: dict, compose_dir: Path, version: str, services: list[str] | None, say,
                 secrets: dict | None = None) -> dict:
    """Build the app's images; returns service -> {ref, id}. `secrets` (name -> value) feed the BuildKit
    secrets of services.<s>.build.secrets and catch secrets written as build args."""
    secrets = secrets or {}
    from ..drivers.docker_cli import require_engine

    require_engine()
    refs = image_refs(config, compose, version)
    wanted = [s for s in built_services(config, compose) if not services or s in services]
    out = {}
    backend = backend_of(config)
    for name in wanted:
        own = backend.build_command(config, name, refs[name]) if backend else None
        if own:
            argv, cwd, program = own
            if not shutil.which(program):
                raise ExternalError(f"backend.provider {config.backend.provider}: the '{program}' CLI is not installed "
                                    f"on this machine (needed for: {' '.join(argv)}); install it from its docs")
            tool = " ".join(argv[:3])
        else:
            override = config.service(name).build or (backend.build_override(config, name) if backend else None)
            b.check_build_args(name, compose["services"][name]["build"], override, secrets)
            argv = b.build_argv(refs[name], compose_dir, compose["services"][name]["build"], override)
            cwd, tool = None, "docker build"
        say(f"building {refs[name]}")
        env = _build_env(name, None if own else override, secrets)
        proc = process.run(argv, cwd=cwd, what=f"{tool} of {name}", env=env, inherit_env=True)
        if proc.returncode != 0:
            raise ExternalError(f"{tool} of {name} failed:\n{process.error_text(proc)}")
        image_id = local_image_id(refs[name])
        if not image_id:
            raise ExternalError(f"{tool} of {name} exited 0 but image {refs[name]} does not exist")
        out[name] = {"ref": refs[name], "id": image_id}
    return out


def _build_env(service: str, override, secrets: dict) -> dict | None:
    """docker build's extra environment: BuildKit on and the values of services.<s>.build.secrets
    (passed as --secret id=N,env=N: never in argv or the image)."""
    names = list(getattr(override, "secrets", None) or ())
    if not names:
        return None
    missing = [n for n in names if n not in secrets]
    if missing:
        raise UserError(f"services.{service}.build.secrets: {', '.join(missing)} not set (set them in the "
                        "environment or the env_file)")
    return {"DOCKER_BUILDKIT": "1", **{n: secrets[n] for n in names}}


def local_image_id(ref: str) -> str:
    proc = process.run(["docker", "image", "inspect", "--format", "{{.Id}}", "--", ref])
    return proc.stdout.strip() if proc.returncode == 0 else ""


def expected_edge_image() -> str:
    """The edge image tag a deploy would build, without building anything (for plan/render)."""
    import os

    from ..commands.local_hosts import base_image_tag, recipe

    return b.edge_image_tag(base_image_tag(recipe(mirror=os.environ.get("STAGECRAFT_DEBIAN_MIRROR"))))
