"""The shared edge proxy's day-2 changes run over SSH (maintenance on/off, removing a project): the
collection's module_utils/edge.py itself, sent on stdin to the host's python3, so the host-side logic
exists once (the rollout module imports the same file). Pure: builds the command and its input."""

from __future__ import annotations

import json
import shlex

from .. import resources


def edge_library() -> str:
    path = (resources.collections_dir() / "ansible_collections" / "stagecraft" / "infra" / "plugins" /
            "module_utils" / "edge.py")
    return path.read_text(encoding="utf-8")


AS_ROOT = 'if [ "$(id -u)" = 0 ]; then S=; else S="sudo -n"; fi'


def edge_command(*args: str) -> str:
    """Shell command running the edge library (on stdin) with these arguments, as root (sudo -n for a sudoer)."""
    return f"{AS_ROOT}\n$S python3 - {' '.join(shlex.quote(a) for a in args)}\n"


def remove_command(project: str) -> str:
    """The project's routes off the edge, then its containers (volumes kept)."""
    q, compose = shlex.quote(project), shlex.quote(f"/srv/stagecraft/{project}/compose.yaml")
    return (edge_command("remove", project)
            + f"[ ! -f {compose} ] || $S docker compose -p {q} -f {compose} down --remove-orphans >&2\n")


def parse(stdout: str) -> dict:
    """The edge library's one JSON line (the last line of its output)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {"error": stdout.strip()[-300:]} if stdout.strip() else {}
