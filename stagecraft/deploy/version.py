"""The version of a build: the git commit of the project directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import process
from ..errors import ExternalError


def git_version(workdir: Path) -> tuple[str, str]:
    """(version, commit): the short commit, with '-dirty-<hash of the diff>' for uncommitted changes;
    ('unversioned', '') outside a git checkout."""
    def git(*args):
        return process.run(["git", *args], cwd=workdir, what=f"git {args[0]}")

    try:
        head = git("rev-parse", "HEAD")
    except ExternalError:  # git not installed: same as no checkout
        return "unversioned", ""
    if head.returncode != 0:
        return "unversioned", ""
    commit = head.stdout.strip()
    version = commit[:12]
    # Stagecraft's own state (.stagecraft/) never makes a version dirty, even when not git-ignored.
    scope = ("--", ".", ":(exclude,glob)**/.stagecraft/**")
    status = git("status", "--porcelain", *scope)
    if status.stdout.strip():
        diff = git("diff", "HEAD", *scope).stdout + status.stdout
        version += "-dirty-" + hashlib.sha256(diff.encode()).hexdigest()[:8]
    return version, commit


def release_version(workdir: Path, explicit: str | None = None) -> tuple[str, str]:
    """(version, commit) of a build or deploy: `--version` when given, else git_version's."""
    version, commit = git_version(workdir)
    return (explicit or version), commit
