"""HTTPS certificates for the dev domains, made by mkcert and reused while they cover the domains."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ..errors import ExternalError

HINT = "install mkcert (apt-get install mkcert), or pass --no-https"


def mkcert_bin() -> str:
    found = shutil.which("mkcert")
    if not found:
        raise ExternalError("dev: mkcert is not installed; it makes the HTTPS certificates of the dev domains",
                            hint=HINT)
    return found


def install_ca(env: dict) -> None:
    """`mkcert -install`: only on the user's explicit request (it changes trust stores)."""
    proc = subprocess.run([mkcert_bin(), "-install"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise ExternalError(f"dev: mkcert -install failed: {proc.stderr.strip()[-400:]}")


def ensure(cert: Path, key: Path, domains: list[str], env: dict) -> bool:
    """Make the certificate unless one for exactly these domains exists. Returns True when it made one."""
    stamp = cert.with_suffix(".domains.json")
    wanted = sorted(set(domains))
    if cert.is_file() and key.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return False
    cert.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([mkcert_bin(), "-cert-file", str(cert), "-key-file", str(key), *wanted],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise ExternalError(f"dev: mkcert failed: {proc.stderr.strip()[-400:]}", hint=HINT)
    key.chmod(0o600)
    stamp.write_text(json.dumps(wanted) + "\n")
    return True


def ca_root(env: dict) -> Path | None:
    proc = subprocess.run([mkcert_bin(), "-CAROOT"], capture_output=True, text=True, env=env)
    return Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None
