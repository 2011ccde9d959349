"""The local files a host's services refer to (env files, bind-mount sources, secret and config files):
collected relative to the compose file's folder, bounded, and hashed into the host's plan so a changed
file rolls the host. Their contents never enter a plan, a release or Ansible's variables: they travel
to the host in one tar stream over SSH (see pipeline.ship_files)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..config.compose import referenced_files
from ..errors import UserError

MAX_FILES = 2000
MAX_BYTES = 20 << 20
SECRET_KINDS = ("secrets", "env_file")  # written 0600 on the host


@dataclass(frozen=True)
class HostFiles:
    paths: tuple[str, ...]  # relative to the compose folder, files only, sorted
    secret: tuple[str, ...]  # those written 0600
    digest: str  # sha256 over paths, modes and contents ("" when none)


def _inside(base: Path, rel: str, service: str) -> Path:
    path = (base / rel).resolve()
    if path != base and base not in path.parents:
        raise UserError(f"compose service '{service}': {rel} is outside the compose file's folder; "
                        "Stagecraft ships only files below it (bake others into the image)")
    return path


def collect(compose: dict, compose_dir: Path, services: list[str]) -> HostFiles:
    """The files the given services need on their host."""
    base = Path(compose_dir).resolve()
    found: dict[str, bool] = {}  # rel -> secret
    for name in services:
        spec = (compose.get("services") or {}).get(name)
        for rel, kind, required in referenced_files(spec, compose):
            path = _inside(base, rel, name)
            if not path.exists():
                if required:
                    raise UserError(f"compose service '{name}': {kind} {rel} not found in {base}")
                continue  # a bind source Compose creates on the host (e.g. a data folder)
            candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for p in candidates:
                r = p.relative_to(base).as_posix()
                _inside(base, r, name)  # a symlink below may point out; inside ones ship as files (tar -h)
                found[r] = found.get(r, False) or kind in SECRET_KINDS
    if len(found) > MAX_FILES:
        raise UserError(f"the services {', '.join(services)} refer to {len(found)} files (more than {MAX_FILES}); "
                        "bake source trees into the image instead of bind-mounting them")
    digest, size = hashlib.sha256(), 0
    for rel in sorted(found):
        p = base / rel
        info = p.stat()
        size += info.st_size
        if size > MAX_BYTES:
            raise UserError(f"the files the services refer to exceed {MAX_BYTES >> 20} MB (at {rel}); "
                            "bake large files into the image")
        mode = 0o600 if found[rel] else stat.S_IMODE(info.st_mode) & 0o755
        digest.update(f"{rel}\0{mode:o}\0".encode())
        digest.update(p.read_bytes())
    return HostFiles(paths=tuple(sorted(found)), secret=tuple(sorted(r for r, s in found.items() if s)),
                     digest=digest.hexdigest() if found else "")


def unpack_script(project_dir: str, secret: tuple[str, ...]) -> str:
    """The host side of the tar stream: unpack into the project folder, secrets 0600."""
    import shlex

    chmod = f" && chmod 600 -- {' '.join(shlex.quote(project_dir + '/' + r) for r in secret)}" if secret else ""
    return (f"mkdir -p {shlex.quote(project_dir)} && "
            f"tar -x --no-same-owner -C {shlex.quote(project_dir)} -f -{chmod}")


def tar_argv(compose_dir: Path, paths: tuple[str, ...]) -> list[str]:
    return ["tar", "-c", "-h", "-f", "-", "-C", os.fspath(compose_dir), "--", *paths]
