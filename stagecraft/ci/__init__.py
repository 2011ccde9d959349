"""CI providers: write the workflow that tests, builds and deploys, set its secrets, trigger and follow runs.

A provider is a class registered under the `stagecraft.ci` entry point group (pyproject.toml), so another
one (GitLab, ...) can ship in its own package. The CLI (stagecraft/cli/cmd_ci.py) only talks to `CiProvider`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import UserError

GROUP = "stagecraft.ci"


@dataclass(frozen=True)
class CiContext:
    """What a provider needs: the loaded config, the environments the workflow deploys, this machine's state."""

    loaded: object  # stagecraft.config.LoadedConfig
    environments: tuple[str, ...]
    state_dir: Path
    repo_root: Path  # the git work tree holding stagecraft.yml (the runner's checkout)

    @property
    def config(self):
        return self.loaded.config

    @property
    def ci(self):
        return self.loaded.config.ci

    @property
    def config_path(self) -> str:
        """stagecraft.yml relative to the repository root, as the runner sees it."""
        return self.loaded.path.resolve().relative_to(self.repo_root.resolve()).as_posix()


@dataclass(frozen=True)
class Secret:
    """A secret the workflow reads by name; `scope` is "repository" or an environment name."""

    name: str
    scope: str
    source: str  # where `--set-secrets` reads the value: "env:NAME" or "file:PATH"


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    status: str
    conclusion: str | None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Run:
    id: int
    url: str
    status: str  # queued | in_progress | completed (provider states mapped onto these where they differ)
    conclusion: str | None  # success | failure | cancelled | skipped | ... once completed
    event: str = ""
    title: str = ""
    created_at: str = ""
    jobs: tuple[Job, ...] = field(default_factory=tuple)

    @property
    def done(self) -> bool:
        return self.status == "completed"

    def as_dict(self) -> dict:
        return {"id": self.id, "url": self.url, "status": self.status, "conclusion": self.conclusion,
                "event": self.event, "title": self.title, "created_at": self.created_at,
                "jobs": [{"name": j.name, "status": j.status, "conclusion": j.conclusion,
                          "steps": [{"number": s.number, "name": s.name, "status": s.status,
                                     "conclusion": s.conclusion} for s in j.steps]} for j in self.jobs]}


class CiProvider(ABC):
    """Init (write the workflow), secrets, Trigger (dispatch a deploy) and the run queries `ci run`/`ci status` need."""

    name: str = ""
    notice = staticmethod(print)  # progress messages (waiting for a rate limit, ...); the CLI sets its own

    @abstractmethod
    def workflow_path(self, ctx: CiContext) -> Path:
        """Where the workflow file lives (absolute)."""

    @abstractmethod
    def render_workflow(self, ctx: CiContext) -> str:
        """The workflow file's text (pure: same config, same text)."""

    @abstractmethod
    def secrets(self, ctx: CiContext) -> list[Secret]:
        """Every secret the workflow reads, with where its value comes from."""

    @abstractmethod
    def set_secrets(self, ctx: CiContext, values: dict[tuple[str, str], str]) -> list[dict]:
        """Store (scope, name) -> value in the CI system; returns one row per secret (never the value)."""

    @abstractmethod
    def trigger(self, ctx: CiContext, environment: str, version: str | None) -> Run:
        """Start a deploy of `environment` and return the run this call started."""

    @abstractmethod
    def run(self, ctx: CiContext, run_id: int) -> Run:
        """The run with its jobs and steps, as of now."""

    @abstractmethod
    def latest_runs(self, ctx: CiContext) -> dict[str, Run | None]:
        """environment -> the latest run that deployed it (None when there is none)."""


def provider_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def get_provider(name: str) -> CiProvider:
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = ", ".join(provider_names()) or "none installed"
        raise UserError(f"ci.provider: no CI provider '{name}' (registered: {known})",
                        hint="providers register under the 'stagecraft.ci' entry point group; reinstall Stagecraft "
                             "(pip install -e .) if 'github' is missing")
    return found[0].load()()
