"""ci: the CI provider that tests, builds and deploys from a hosted runner (GitHub Actions)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WORKFLOW = ".github/workflows/stagecraft.yml"


@dataclass(frozen=True)
class Ci:
    provider: str
    branch: str = "main"
    environments: tuple[str, ...] = ()  # deployed by the workflow; empty: every environment that is not `local`
    stagecraft: str | None = None  # pip requirement installed on runners; None: this Stagecraft's version
    python_version: str = "3.11"
    test_command: str | None = None
    workflow_file: str = DEFAULT_WORKFLOW
    token_env: str = "GITHUB_TOKEN"
    repository: str | None = None  # owner/name; None: from the git remote

    @classmethod
    def parse(cls, data: dict | None) -> "Ci | None":
        if not data:
            return None
        gh = data.get("github") or {}
        return cls(provider=data["provider"], branch=data.get("branch", "main"),
                   environments=tuple(data.get("environments") or ()), stagecraft=data.get("stagecraft"),
                   python_version=str(data.get("python_version", "3.11")), test_command=data.get("test_command"),
                   workflow_file=gh.get("workflow_file", DEFAULT_WORKFLOW), token_env=gh.get("token_env", "GITHUB_TOKEN"),
                   repository=gh.get("repository"))
