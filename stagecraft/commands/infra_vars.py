"""Inputs of the infra playbook: which secret env vars the roles may read."""

from __future__ import annotations

from ..config.resolve import secret_names


def playbook_envvars(resolved) -> dict:
    """Secret variables the roles look up on the controller (e.g. the Tailscale auth key), taken from
    the env_file + process environment. They reach ansible-playbook's environment only, never a file."""
    names = secret_names(resolved.data)
    return {n: resolved.variables[n] for n in sorted(names) if resolved.variables.get(n)}
