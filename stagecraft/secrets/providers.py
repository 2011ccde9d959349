"""The built-in secret providers: `env` (env_file + process environment) and `command`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .. import process
from ..errors import ExternalError


class EnvProvider:
    """Values from the environment's env_file and the process environment (already resolved)."""

    name = "env"

    def __init__(self, config):
        self.config = config

    def source(self, name: str) -> str:
        return "env_file or process environment"

    def values(self, names, variables: dict) -> dict:
        return {n: variables[n] for n in names if variables.get(n) is not None}


class CommandProvider(EnvProvider):
    """Values printed by commands (a password manager's or vault's CLI). `secrets.commands` maps a name
    to a command printing its value; `secrets.command` prints dotenv lines for many. A name neither
    gives falls back to the env_file and process environment."""

    name = "command"

    def source(self, name: str) -> str:
        per_key = dict(self.config.secrets.commands)
        if name in per_key:
            return "secrets.commands." + name
        return "secrets.command" if self.config.secrets.command else super().source(name)

    def _run(self, command: str, what: str) -> str:
        proc = process.run(["/bin/sh", "-c", command], timeout=self.config.secrets.timeout, what=what,
                           cwd=Path(self.config.base_dir), stdin=subprocess.DEVNULL,
                           hint="secrets.timeout sets how long the commands may take")
        if proc.returncode != 0:
            # stderr may echo a value on some tools: show only its first line, shortened.
            first = (proc.stderr.strip().splitlines() or [""])[0][:200]
            raise ExternalError(f"{what}: the command exited {proc.returncode}" + (f": {first}" if first else ""))
        return proc.stdout

    def values(self, names, variables: dict) -> dict:
        from ..config import envfile

        out = super().values(names, variables)
        wanted = set(names)
        if self.config.secrets.command:
            text = self._run(self.config.secrets.command, "secrets.command")
            try:
                parsed = envfile.values_of(text, interpolate=False)
            except envfile.EnvTextError as exc:  # never the line itself: it may hold a value
                raise ExternalError(f"secrets.command: its output {exc.reason}") from None
            out.update({k: v for k, v in parsed.items() if k in wanted})
        for name, command in self.config.secrets.commands:
            if name in wanted:
                out[name] = self._run(command, f"secrets.commands.{name}").rstrip("\n")
        return out
