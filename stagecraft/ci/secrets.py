"""Which secrets a CI deploy needs, where a runner puts them, and where `--set-secrets` reads their values.

A runner starts empty: no .stagecraft/, no SSH key, no pinned host keys. Everything the deploy job needs
that is not in the checkout comes from a CI secret by name: the SSH private key, the pinned known_hosts
(never trust-on-first-use from a runner), and every env var the config names (registry credentials,
DIGITALOCEAN_TOKEN, the Tailscale auth key, database URLs, the app's secrets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import UserError
from ..files import read_text
from . import CiContext, Secret

SSH_KEY = "STAGECRAFT_SSH_KEY"
KNOWN_HOSTS = "STAGECRAFT_KNOWN_HOSTS"
STATE_DIR_VAR = "$STAGECRAFT_STATE_DIR"
# ${VAR} without a default must be set when the config is resolved (stagecraft.config.resolve).
_REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_names(ctx: CiContext) -> list[str]:
    """Env vars a deploy reads: secret names (secrets.keys, services' secrets, every *_env) and ${VAR}s.

    GitHub reserves the GITHUB_ prefix (runners set GITHUB_TOKEN themselves), so those are left out.
    """
    from ..config.resolve import secret_names

    data = ctx.loaded.doc.data
    config = ctx.config
    names = set(secret_names(data)) | set(_REQUIRED_VAR.findall(_strings(data)))
    # cloud.digitalocean.token_env has a default, so the name may not be in the file.
    if config.digitalocean and any(config.environment(e).driver == "digitalocean" for e in ctx.environments):
        names.add(config.digitalocean.token_env)
    names.discard(ctx.ci.token_env)
    return sorted(n for n in names if not n.upper().startswith("GITHUB_"))


def registry_names(ctx: CiContext) -> list[str]:
    images = ctx.config.project.images
    return [n for n in (images.registry_username_env, images.registry_password_env) if n]


def required(ctx: CiContext) -> list[Secret]:
    """Registry credentials at repository scope (the build job pushes); the rest per environment."""
    repository = registry_names(ctx)
    out = [Secret(n, "repository", f"env:{n}") for n in repository]
    for env in ctx.environments:
        out.append(Secret(SSH_KEY, env, f"file:{local_key_file(ctx, env)}"))
        out.append(Secret(KNOWN_HOSTS, env, f"file:{local_known_hosts(ctx, env)}"))
        # An environment's job also sees repository secrets, so those are not repeated per environment.
        out += [Secret(n, env, f"env:{n}") for n in env_names(ctx) if n not in repository]
    return out


def local_key_file(ctx: CiContext, env_name: str) -> Path:
    env = ctx.config.environment(env_name)
    if env.ssh.key:
        key = Path(env.ssh.key).expanduser()
        return key if key.is_absolute() else ctx.loaded.base_dir / key
    if env.driver == "local":
        return ctx.state_dir / "ssh" / "id_ed25519"
    raise UserError(f"environments.{env_name}.ssh.key: not set; CI needs the private key file to store as "
                    f"the {SSH_KEY} secret")


def local_known_hosts(ctx: CiContext, env_name: str) -> Path:
    from ..known_hosts import known_hosts_path

    env = ctx.config.environment(env_name)
    return known_hosts_path(ctx.state_dir, env_name, env.ssh.known_hosts, ctx.loaded.base_dir)


def runner_key_file(ctx: CiContext, env_name: str) -> str:
    """Where the deploy job writes the SSH key so the inventory finds it (a shell word; steps run in the checkout)."""
    env = ctx.config.environment(env_name)
    if env.ssh.key:
        return _runner_path(ctx, env.ssh.key)
    if env.driver == "local":
        return f"{STATE_DIR_VAR}/ssh/id_ed25519"
    return "$HOME/.ssh/id_ed25519"


def runner_known_hosts(ctx: CiContext, env_name: str) -> str:
    env = ctx.config.environment(env_name)
    if env.ssh.known_hosts:
        return _runner_path(ctx, env.ssh.known_hosts)
    return f"{STATE_DIR_VAR}/known_hosts/{env_name}"


def runner_env_file(ctx: CiContext, env_name: str) -> str | None:
    env = ctx.config.environment(env_name)
    return _runner_path(ctx, env.env_file) if env.env_file else None


def read_values(ctx: CiContext, secrets: list[Secret], environ: dict | None = None) -> dict[tuple[str, str], str]:
    """(scope, name) -> value, from the env (and each environment's env_file) or files; never from argv.

    Every missing value is named in one error before anything is sent.
    """
    environ = dict(os.environ if environ is None else environ)
    variables = {"repository": environ}
    for env in ctx.environments:
        variables[env] = ctx.loaded.resolve(env, environ).variables
    values, missing = {}, []
    for s in secrets:
        kind, _, ref = s.source.partition(":")
        if kind == "file":
            path = Path(ref)
            if not path.is_file():
                hint = " (run `stagecraft infra up -e " + s.scope + "` to create and pin the hosts)" \
                    if s.name == KNOWN_HOSTS else ""
                missing.append(f"{s.scope}/{s.name}: file {path} not found{hint}")
                continue
            values[(s.scope, s.name)] = read_text(path, f"{s.scope}/{s.name}")
        else:
            value = variables[s.scope].get(ref)
            if not value:
                where = "the environment" if s.scope == "repository" else f"the environment or {s.scope}'s env_file"
                missing.append(f"{s.scope}/{s.name}: env var {ref} is not set in {where}")
                continue
            values[(s.scope, s.name)] = value
    if missing:
        raise UserError("cannot set the CI secrets, values are missing:\n  " + "\n  ".join(missing))
    return values


def _runner_path(ctx: CiContext, path: str) -> str:
    if path.startswith("~/"):
        return "$HOME/" + path[2:]
    if Path(path).is_absolute():
        return path
    rel = (ctx.loaded.base_dir / path).resolve()
    try:
        return rel.relative_to(ctx.repo_root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{path}: outside the repository; a runner only has the checkout") from None


def _strings(node) -> str:
    if isinstance(node, str):
        return node + "\n"
    if isinstance(node, dict):
        return "".join(_strings(v) for v in node.values())
    if isinstance(node, list):
        return "".join(_strings(v) for v in node)
    return ""
