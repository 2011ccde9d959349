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

    @classmethod
    def parse(cls, data: dict | None) -> "Secrets":
        return cls(keys=tuple((data or {}).get("keys") or ()))
