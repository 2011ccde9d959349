"""The variables a deploy writes to the hosts' .env, and their values (from this machine's environment
or the env_file). Values travel to Ansible in its environment only, never through a file here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import UserError

IMAGE_TAG = "IMAGE_TAG"  # the release's version, for compose files that name `${IMAGE_TAG}`


def env_names(ctx, *, require_values: bool = False) -> tuple[list[str], dict]:
    """(names, name -> value): env_file entries + declared secrets; missing secrets are an error when
    require_values (a real deploy) and left out otherwise (dry runs)."""
    from ..config.resolve import load_variables

    env = ctx.environment
    declared = set(ctx.config.secrets.keys) | {n for s in ctx.config.services.values() for n in s.secrets}
    names = set(declared)
    if env.env_file:
        names |= set(load_variables(Path(ctx.config.base_dir) / env.env_file, environ={},
                                    what=f"environments.{env.name}.env_file"))
    from ..secrets import provider_for

    # secrets.provider: env (env_file + process environment) or command (a vault's CLI, ...).
    values = provider_for(ctx.config).values(sorted(names), ctx.resolved.variables)
    missing = sorted(declared - set(values))
    if require_values and missing:
        raise UserError(f"secrets not set: {', '.join(missing)} (set them in the environment or the env_file of "
                        f"'{env.name}'; they are listed in secrets.keys / services.<name>.secrets)")
    return sorted(names), values


def registry_credentials(ctx) -> dict:
    """name -> value of the registry username/password env vars (for docker login here and on hosts)."""
    images = ctx.config.project.images
    names = [n for n in (images.registry_username_env, images.registry_password_env) if n]
    missing = [n for n in names if not ctx.resolved.variables.get(n)]
    if missing:
        raise UserError(f"project.images: registry credential variable(s) not set: {', '.join(missing)}")
    return {n: ctx.resolved.variables[n] for n in names}


def deploy_env(ctx, version: str, *, require_values: bool = True) -> tuple[list[str], dict]:
    """(names the hosts' .env holds, values Ansible gets) for a deploy or rollback of `version`."""
    names, values = env_names(ctx, require_values=require_values)
    envvars = {**values, IMAGE_TAG: version}
    if ctx.config.project.images.via_registry and require_values:
        envvars.update(registry_credentials(ctx))
    return sorted(set(names) | {IMAGE_TAG}), envvars


def config_digest(loaded) -> str:
    """sha256 of stagecraft.yml as written (before interpolation, so no secret value is hashed in)."""
    return hashlib.sha256(json.dumps(loaded.doc.data, sort_keys=True, default=str).encode()).hexdigest()


def secret_variables(ctx) -> dict:
    """name -> value of every variable treated as secret (secrets.keys, services' and build secrets,
    *_env references, secret-looking names): BuildKit secrets, and what a build arg must not hold."""
    from ..config.resolve import secret_names
    from ..config.secrets import looks_secret

    names = secret_names(ctx.resolved.data)
    return {n: v for n, v in ctx.resolved.variables.items() if n in names or looks_secret(n)}
