"""Dev processes from the `backend:` and `frontend:` provider blocks (generic, encore-ts)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from ..commands.encore import secret_set_argv
from ..errors import UserError

DEFAULT_SECRET_TYPES = ("dev", "preview", "local")


@dataclass(frozen=True)
class SecretSet:
    """One `encore secret set`: the value goes to stdin, never to argv or output."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # backend | frontend | proxy
    argv: tuple[str, ...]
    cwd: str
    env: dict = field(default_factory=dict)  # added to the process environment
    port: int | None = None  # routed to by the proxy; readiness falls back to it
    ready_pattern: str | None = None
    stop_signal: int = signal.SIGINT
    stop_timeout: float = 10.0
    secrets: tuple[SecretSet, ...] = ()
    secret_source: dict = field(default_factory=dict, compare=False, repr=False)  # name -> value (from env files)

    def describe(self) -> dict:
        return {"name": self.name, "argv": list(self.argv), "cwd": self.cwd, "port": self.port,
                "env": sorted(self.env), "ready_pattern": self.ready_pattern,
                "stop_signal": signal.Signals(self.stop_signal).name, "stop_timeout_s": self.stop_timeout,
                "secrets": [{"name": s.name, "argv": list(s.argv)} for s in self.secrets]}


def process_for(provider, base_dir: Path, variables: dict, extra_env: dict) -> ProcessSpec | None:
    """The dev process of one provider block, or None when the block has no `dev:`."""
    if provider is None:
        return None
    dev = provider.settings.get("dev")
    if not dev:
        return None
    where = f"{provider.kind}.{provider.provider}.dev"
    if provider.provider == "encore-ts":
        return _encore(provider.kind, dev, where, base_dir, variables, extra_env)
    return _generic(provider.kind, dev, where, base_dir, extra_env)


def _workdir(dev: dict, base_dir: Path) -> Path:
    return (base_dir / dev.get("workdir", ".")).resolve()


def _stop(dev: dict) -> tuple[int, float]:
    shutdown = dev.get("shutdown") or {}
    return getattr(signal, shutdown.get("signal", "SIGINT")), shutdown.get("timeout_ms", 10000) / 1000


def _generic(kind: str, dev: dict, where: str, base_dir: Path, extra_env: dict) -> ProcessSpec:
    if not dev.get("command"):
        raise UserError(f"dev: {where}.command is required to run the {kind} in dev")
    env = {**extra_env, **{k: str(v) for k, v in (dev.get("env") or {}).items()}}
    port = dev.get("port")
    if port is None and env.get("PORT", "").isdigit():
        port = int(env["PORT"])
    signum, timeout = _stop(dev)
    return ProcessSpec(name=kind, argv=tuple(dev["command"]), cwd=str(_workdir(dev, base_dir)), env=env, port=port,
                       ready_pattern=dev.get("ready_pattern"), stop_signal=signum, stop_timeout=timeout)


def _encore(kind: str, dev: dict, where: str, base_dir: Path, variables: dict, extra_env: dict) -> ProcessSpec:
    listen = dev.get("listen")
    if not listen or ":" not in listen or not listen.rsplit(":", 1)[1].isdigit():
        raise UserError(f"dev: {where}.listen must be host:port (e.g. 127.0.0.1:4000), got {listen!r}")
    workdir = _workdir(dev, base_dir)
    file_values = {}
    if dev.get("env_file"):
        env_file = workdir / dev["env_file"]
        if not env_file.exists():
            raise UserError(f"dev: {where}.env_file: file not found: {env_file}")
        from ..config import envfile

        file_values = envfile.read(env_file, f"{where}.env_file")
    env = {**extra_env, **file_values}
    if dev.get("disable_telemetry"):
        env["DISABLE_ENCORE_TELEMETRY"] = "1"
    if dev.get("node_extra_ca_certs"):
        env["NODE_EXTRA_CA_CERTS"] = str((base_dir / os.path.expanduser(dev["node_extra_ca_certs"])).resolve())
    secrets_block = dev.get("secrets") or {}
    types = secrets_block.get("types") or DEFAULT_SECRET_TYPES
    secrets = tuple(SecretSet(name=n, argv=tuple(secret_set_argv(n, types))) for n in secrets_block.get("from_env") or ())
    source = {n: (file_values.get(n) if n in file_values else variables.get(n))
              for n in secrets_block.get("from_env") or ()}
    argv = ("encore", "run", "--watch", f"--listen={listen}")
    return ProcessSpec(name=kind, argv=argv, cwd=str(workdir), env=env, port=int(listen.rsplit(":", 1)[1]),
                       ready_pattern=dev.get("ready_pattern"), stop_signal=signal.SIGINT, stop_timeout=10.0,
                       secrets=secrets, secret_source=source)
