"""secrets: names of env vars that hold secrets, and how their values are kept out of output."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names that look secret are treated as secret even when not listed.
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|API_?KEY|AUTH_?KEY|CREDENTIAL)", re.I)
REDACTED = "<redacted>"


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


@dataclass(frozen=True)
class Secrets:
    keys: tuple[str, ...] = ()
    provider: str = "env"  # env: env_file + process environment; command: commands print the values
    command: str | None = None  # one command printing dotenv lines
    commands: tuple[tuple[str, str], ...] = ()  # (NAME, command printing the value)
    timeout: int = 30

    @classmethod
    def parse(cls, data: dict | None) -> "Secrets":
        data = data or {}
        return cls(keys=tuple(data.get("keys") or ()), provider=data.get("provider", "env"),
                   command=data.get("command"), commands=tuple(sorted((data.get("commands") or {}).items())),
                   timeout=data.get("timeout", 30))
