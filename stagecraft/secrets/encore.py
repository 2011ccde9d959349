"""secrets.provider `encore`: values as `env` (the env_file and the process environment), and
`secrets sync -e <secrets.encore.environment>` also sets them as the Encore app's secrets, so
`encore run` sees what .env.local holds."""

from __future__ import annotations

from pathlib import Path

from .. import process
from ..commands.encore import secret_set_argv
from ..errors import ExternalError, UserError
from .providers import EnvProvider


class EncoreProvider(EnvProvider):
    name = "encore"

    def source(self, name: str) -> str:
        return super().source(name) + " (synced to Encore)"

    def push_target(self, environment: str) -> str | None:
        """Where `push` puts this environment's values, or None when it leaves them alone."""
        enc = self.config.secrets.encore
        if environment != enc.environment:
            return None
        return f"Encore secrets ({', '.join(enc.types)}) of {enc.workdir}"

    def push(self, names, values: dict) -> list[str]:
        """`encore secret set` per name that has a value, the value on stdin; returns the names set.
        A failure is exit 2 naming the secret; the tool's message never shows the value."""
        enc = self.config.secrets.encore
        workdir = (Path(self.config.base_dir) / enc.workdir).resolve()
        if not workdir.is_dir():
            raise UserError(f"secrets.encore.workdir: no such folder: {workdir}")
        done = []
        for name in names:
            if values.get(name) is None:
                continue
            argv = secret_set_argv(name, enc.types)
            proc = process.run(argv, input=values[name], cwd=workdir, timeout=self.config.secrets.timeout,
                               what=f"encore secret set {name}", secrets=[values[name]],
                               hint="secrets.provider encore needs the encore CLI (encore.dev) logged in")
            if proc.returncode != 0:
                first = process.mask((proc.stderr.strip().splitlines() or [""])[0][:200], [values[name]])
                raise ExternalError(f"secrets.provider encore: `{' '.join(argv)}` exited {proc.returncode}"
                                    + (f": {first}" if first else ""))
            done.append(name)
        return done
