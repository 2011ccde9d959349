"""Who runs a command and from where, recorded with every release (for `stagecraft audit`)."""

from __future__ import annotations

import getpass
import os
import shlex
import socket
import sys


def actor() -> dict:
    out = {"user": _user(), "machine": socket.gethostname()}
    if os.environ.get("GITHUB_ACTIONS") == "true":
        out["ci"] = {"provider": "github", "actor": os.environ.get("GITHUB_ACTOR", ""),
                     "repository": os.environ.get("GITHUB_REPOSITORY", ""),
                     "run_id": os.environ.get("GITHUB_RUN_ID", ""), "ref": os.environ.get("GITHUB_REF", "")}
    elif os.environ.get("CI"):
        out["ci"] = {"provider": "unknown"}
    return out


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def command_line() -> str:
    """The command as typed (argv never holds a secret: config names env vars, never values)."""
    return "stagecraft " + " ".join(shlex.quote(a) for a in sys.argv[1:])
