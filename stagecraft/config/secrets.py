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
class Encore:
    """secrets.encore: which environment's values `secrets sync` copies into the Encore app's secrets."""
    environment: str = "local"  # the Stagecraft environment whose values go to Encore
    types: tuple[str, ...] = ("local",)  # `encore secret set --type` (local: what `encore run` reads)
    workdir: str = "."  # the Encore app (its encore.app), relative to stagecraft.yml

    @classmethod
    def parse(cls, data: dict | None) -> "Encore":
        data = data or {}
        return cls(environment=data.get("environment", cls.environment),
                   types=tuple(data.get("types") or cls.types), workdir=data.get("workdir", cls.workdir))


@dataclass(frozen=True)
class Secrets:
    keys: tuple[str, ...] = ()
    # env: env_file + process environment; command: commands print the values; encore: env, and
    # `secrets sync` also sets them in Encore
    provider: str = "env"
    command: str | None = None  # one command printing dotenv lines
    commands: tuple[tuple[str, str], ...] = ()  # (NAME, command printing the value)
    timeout: int = 30
    encore: Encore = Encore()

    @classmethod
    def parse(cls, data: dict | None) -> "Secrets":
        data = data or {}
        return cls(keys=tuple(data.get("keys") or ()), provider=data.get("provider", "env"),
                   command=data.get("command"), commands=tuple(sorted((data.get("commands") or {}).items())),
                   timeout=data.get("timeout", 30), encore=Encore.parse(data.get("encore")))
