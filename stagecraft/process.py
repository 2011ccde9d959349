"""The one way Stagecraft runs a local process (docker, ssh, git, psql, hooks, encore).

    proc = process.run(["docker", "push", ref], what=f"docker push {ref}", check=True)

- argv is a list (never a shell string); `env` adds to (not replaces) the current environment unless
  `inherit_env=False`; `input` (text or bytes) or `stdin` (an open file) feeds standard input.
- `timeout` (seconds) ends the process and raises ExternalError (exit 2) naming `what`.
- A missing program raises ExternalError naming it, not a traceback (`hint`: what to install).
- `check=True` raises ExternalError with the tail of stderr when the exit code is not 0.
- Logging (logger "stagecraft.process", debug level) shows argv and the names of the added env
  variables, never their values, and never the standard input (passwords travel there); every value
  in `secrets` is masked in what is logged or raised.
"""

from __future__ import annotations

import logging
import os
import subprocess
from typing import IO, Iterable, Sequence

from .errors import ExternalError

log = logging.getLogger("stagecraft.process")

Completed = subprocess.CompletedProcess


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


def run(argv: Sequence[str], *, what: str | None = None, input: str | bytes | None = None,
        stdin: IO | None = None, env: dict | None = None, inherit_env: bool = True, cwd=None,
        timeout: float | None = None, capture: bool = True, check: bool = False,
        secrets: Iterable[str] = (), tail: int = 1500, hint: str | None = None) -> Completed:
    argv = [str(a) for a in argv]
    secrets = [s for s in secrets if s]
    what = what or argv[0]
    full_env = ({**os.environ, **env} if inherit_env else dict(env)) if env is not None else None
    log.debug("run %s%s", mask(" ".join(argv), secrets),
              f" (env: {', '.join(sorted(env))})" if env else "")
    text = not isinstance(input, bytes)
    try:
        proc = subprocess.run(argv, input=input, stdin=stdin, env=full_env, cwd=cwd, timeout=timeout,
                              capture_output=capture, text=text)
    except FileNotFoundError:
        raise ExternalError(f"{what}: the program '{argv[0]}' is not installed on this machine", hint=hint) from None
    except subprocess.TimeoutExpired:
        raise ExternalError(f"{what} did not finish within {timeout:g} s", hint=hint) from None
    if check and proc.returncode != 0:
        raise ExternalError(f"{what} failed: {mask(error_text(proc, tail), secrets)}")
    return proc


def error_text(proc: Completed, tail: int = 1500) -> str:
    """The end of stderr (or stdout), decoded, for an error message."""
    def text(out) -> str:
        return (out.decode(errors="replace") if isinstance(out, bytes) else out or "").strip()

    return (text(proc.stderr) or text(proc.stdout))[-tail:] or f"exit {proc.returncode}"
