"""The environment's known_hosts file: where host keys Stagecraft trusts are recorded.

One place decides the path (`.stagecraft/known_hosts/<env>`, or the host's `ssh.known_hosts` when set),
so the inventory, the drivers and every SSH command check against the same file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .paths import ensure_private_dir


def known_hosts_path(state_dir: Path, env_name: str, configured: str | None = None,
                     base_dir: Path | None = None) -> Path:
    """The environment's known_hosts: ssh.known_hosts when set (a file the user manages, relative to the
    config's directory), else <state dir>/known_hosts/<env>. Every driver reads and writes this path."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() or base_dir is None else Path(base_dir) / path
    return Path(state_dir) / "known_hosts" / env_name


SCAN_TIMEOUT = 5
# Debian 13's sshd (OpenSSH 10, PerSourcePenalties) refuses a source for a while once connections that
# never log in add up, and ssh-keyscan opens one per key type: so a scan asks for one type at a time
# and stops at the first the host offers.
SCAN_TYPES = ("ed25519", "ecdsa", "rsa")


def scan_type(kind: str) -> str | None:
    """ssh-keyscan's -t name for a known_hosts key type (None for types it cannot ask for alone)."""
    if kind.startswith("ecdsa-sha2-"):
        return "ecdsa"
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(kind)


def scan(address: str, port: int, types=SCAN_TYPES) -> list[tuple[str, str]]:
    """(type, base64) of the first of `types` the host offers; [] when sshd does not answer."""
    for kind in types:
        proc = subprocess.run(["ssh-keyscan", "-T", str(SCAN_TIMEOUT), "-t", kind, "-p", str(port), "--", address],
                              capture_output=True, text=True)
        keys = sorted({tuple(line.split()[1:3]) for line in proc.stdout.splitlines()
                       if len(line.split()) >= 3 and not line.startswith(("#", "@"))})
        if keys:
            return keys
        if "SSH-" not in proc.stdout + proc.stderr:  # no banner: nothing answers, other types would not either
            return []
    return []


def host_pattern(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def record(path: Path, address: str, port: int, public_key: str) -> None:
    """Trust `public_key` ("type base64 [comment]") for address:port, replacing what was there (0600)."""
    pattern = host_pattern(address, port)
    key = " ".join(public_key.split()[:2])
    lines = [line for line in _lines(path) if line.split(" ", 1)[0] != pattern]
    ensure_private_dir(path.parent)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"{line}\n" for line in [*lines, f"{pattern} {key}"]))


def forget(path: Path, address: str, port: int) -> None:
    """Drop the entries for address:port (the server is gone; a new one may get its address)."""
    if not path.is_file():
        return
    pattern = host_pattern(address, port)
    path.write_text("".join(f"{line}\n" for line in _lines(path) if line.split(" ", 1)[0] != pattern))


def _lines(path: Path) -> list[str]:
    from .files import exists, read_text

    if not exists(path, "known_hosts"):
        return []
    return [line for line in read_text(path, "known_hosts").splitlines() if line.strip()]


def lookup(path: Path, address: str, port: int) -> list[str]:
    """The keys ("type base64") recorded for address:port."""
    pattern = host_pattern(address, port)
    return [" ".join(line.split()[1:3]) for line in _lines(path) if line.split(" ", 1)[0] == pattern]


def fingerprint(public_key: str) -> str:
    """SHA256 fingerprint as OpenSSH prints it."""
    import base64
    import hashlib

    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
