"""Choosing hosts and services from the CLI's --limit, --host, --role and SERVICE arguments (pure).
Every unknown name is a user error naming the option and the names it could have been."""

from __future__ import annotations

import difflib

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


def known_service(config, service: str) -> str:
    """SERVICE, checked against the services stagecraft.yml places."""
    if service not in config.placement:
        raise UserError(f"unknown service '{service}'; services: {', '.join(sorted(config.placement))}")
    return service


def pick_hosts(config, environment, host: str | None = None, role: str | None = None,
               service: str | None = None) -> list[str]:
    """--host (exactly that host), else the hosts with --role that run SERVICE (each filter optional)."""
    names = [h.name for h in environment.hosts]
    if host:
        if host not in names:
            raise UserError(f"--host: unknown host '{host}'; hosts: {', '.join(names)}")
        return [host]
    if role and role not in config.roles:
        raise UserError(f"--role: unknown role '{role}'; roles: {', '.join(sorted(config.roles))}")
    return [h.name for h in environment.hosts
            if (not role or role in h.roles) and (not service or service in config.services_for_roles(h.roles))]
