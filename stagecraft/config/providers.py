"""backend / frontend: which provider builds or runs the app code (generic, encore-ts)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provider:
    kind: str  # backend | frontend
    provider: str
    service: str | None = None
    settings: dict = field(default_factory=dict)  # the block under the provider's id

    @classmethod
    def parse(cls, kind: str, data: dict | None) -> "Provider | None":
        if not data:
            return None
        return cls(kind=kind, provider=data["provider"], service=data.get("service"),
                   settings=dict(data.get(data["provider"]) or {}))
