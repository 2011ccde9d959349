"""How one variable is written in the hosts' .env (the compose role writes the same line)."""

from __future__ import annotations


def env_line(name: str, value: str) -> str:
    return f"{name}={value}"
