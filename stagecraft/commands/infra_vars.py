"""Inputs of the infra playbook: which hosts, and which secret env vars the roles may read."""

from __future__ import annotations

import difflib

from ..config.resolve import secret_names
from ..errors import UserError


def validate_limit(environment, limit: str | None) -> list[str]:
    """Host names from --limit, each checked against the environment."""
    if not limit:
        return []
    names = [n.strip() for n in limit.split(",") if n.strip()]
    known = [h.name for h in environment.hosts]
    for name in names:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise UserError(f"--limit: unknown host '{name}'{extra}; hosts of {environment.name}: {', '.join(known)}")
    return names


def playbook_envvars(resolved) -> dict:
    """Secret variables the roles look up on the controller (e.g. the Tailscale auth key), taken from
    the env_file + process environment. They reach ansible-playbook's environment only, never a file."""
    names = secret_names(resolved.data)
    return {n: resolved.variables[n] for n in sorted(names) if resolved.variables.get(n)}
