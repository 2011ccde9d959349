"""ci: the CI provider that builds images and triggers deploys (GitHub Actions)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ci:
    provider: str
    workflow_file: str = ".github/workflows/stagecraft.yml"
    token_env: str = "GITHUB_TOKEN"

    @classmethod
    def parse(cls, data: dict | None) -> "Ci | None":
        if not data:
            return None
        gh = data.get("github") or {}
        return cls(provider=data["provider"], workflow_file=gh.get("workflow_file", ".github/workflows/stagecraft.yml"),
                   token_env=gh.get("token_env", "GITHUB_TOKEN"))
