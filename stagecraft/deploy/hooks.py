"""User hooks: executable .stagecraft/hooks/<name> (pre-build, pre-deploy, post-deploy)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import process
from ..errors import UserError


def run_hook(config, environment, name: str, extra: dict, say) -> None:
    """Runs the hook if it exists and is executable; a non-zero exit aborts the deploy (exit 1)."""
    hook = Path(config.base_dir) / ".stagecraft" / "hooks" / name
    if not hook.is_file() or not os.access(hook, os.X_OK):
        return
    say(f"running hook {name}")
    env = {"STAGECRAFT_PROJECT": config.project.name, "STAGECRAFT_ENV": environment.name, **extra}
    proc = process.run([str(hook)], cwd=config.base_dir, env=env, capture=False, what=f"hook {name}")
    if proc.returncode != 0:
        raise UserError(f"hook .stagecraft/hooks/{name} exited {proc.returncode}; aborting")
