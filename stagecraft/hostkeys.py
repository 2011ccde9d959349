"""SSH host keys: what each host offers (ssh-keyscan, which sends nothing but the key exchange), compared
with the environment's known_hosts before any connection that carries commands or secrets.

    check(hostvars, ["app-1"])          # -> [HostKeyCheck]: trusted / new / changed / unreachable
    verify(env, hostvars, ["app-1"])    # a no-op login per host; raises unless every key is trusted
    record(path, checks)                # `stagecraft hosts trust`: write the offered keys

ssh itself also checks strictly (commands.ssh.options); this step exists so a changed key stops the run
with both fingerprints and what to do, instead of an "unreachable" in the middle of a rollout.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .commands import ssh
from .errors import ExternalError, StagecraftError, UserError
from .files import read_text
from .known_hosts import SCAN_TIMEOUT, SCAN_TYPES, scan, scan_type
from .paths import ensure_private_dir

# What ssh prints when it refuses a host key (unknown or changed) under StrictHostKeyChecking=yes.
REFUSED = "Host key verification failed"
# Hosts verified in this process: a deploy verifies at the lock, the probe and the migrations.
_trusted: set[tuple] = set()


@dataclass
class HostKeyCheck:
    host: str
    address: str
    port: int
    known_hosts: Path
    offered: list = field(default_factory=list)  # [(type, base64)]
    expected: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return ssh.known_hosts_name(self.address, self.port)

    @property
    def status(self) -> str:
        if not self.offered:
            return "unreachable"
        if not self.expected:
            return "new"
        return "trusted" if set(self.offered) & set(self.expected) else "changed"

    def to_dict(self) -> dict:
        return {"host": self.host, "address": self.address, "port": self.port, "status": self.status,
                "known_hosts": str(self.known_hosts),
                "offered": [f"{t} {ssh.fingerprint(k)}" for t, k in self.offered],
                "expected": [f"{t} {ssh.fingerprint(k)}" for t, k in self.expected]}


def known_hosts_of(hostvars: dict) -> Path:
    return ssh.known_hosts_file(hostvars.get(ssh.OPTIONS_VAR) or [])


def _known(path: Path, name: str) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    # ssh-keygen -F also finds hashed entries of a known_hosts file the user manages.
    proc = subprocess.run(["ssh-keygen", "-F", name, "-f", str(path)], capture_output=True, text=True)
    return sorted({(kind, blob) for _, kind, blob in ssh.parse_keys(proc.stdout)})


def check_one(host: str, address: str, port: int, known_hosts: Path) -> HostKeyCheck:
    c = HostKeyCheck(host, address, port, known_hosts)
    c.expected = _known(c.known_hosts, c.name)
    wanted = [t for t in SCAN_TYPES if t in {scan_type(kind) for kind, _ in c.expected}]
    c.offered = scan(c.address, c.port, [*wanted, *(t for t in SCAN_TYPES if t not in wanted)])
    return c


def check(hostvars: dict, hosts: list[str] | None = None) -> list[HostKeyCheck]:
    """A HostKeyCheck per host (with an address) of `hosts` (default all), scanned in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    targets = [h for h in (hosts or sorted(hostvars)) if hostvars.get(h, {}).get("ansible_host")]

    def one(host: str) -> HostKeyCheck:
        hv = hostvars[host]
        return check_one(host, hv["ansible_host"], int(hv.get("ansible_port") or 22), known_hosts_of(hv))

    with ThreadPoolExecutor(max_workers=min(16, len(targets) or 1)) as pool:
        return list(pool.map(one, targets))


def retrust_hint(env, host: str) -> str:
    if env.driver == "local":
        return f"run 'stagecraft infra up -e {env.name}' (it reads the key from the container)"
    return (f"compare the offered fingerprint with the server's console (ssh-keygen -lf "
            f"/etc/ssh/ssh_host_ed25519_key.pub), then run 'stagecraft hosts trust -e {env.name} --host {host}'")


def verify(env, hostvars: dict, hosts: list[str] | None = None) -> None:
    """Raise unless every host proves it holds a key its known_hosts trusts: one no-op login per host,
    once per process. ssh checks the key strictly before it authenticates, and a login, unlike
    ssh-keyscan, does not count against this machine in sshd's PerSourcePenalties; only a refused key is
    scanned, for both fingerprints. Unreachable hosts pass here: ssh fails on them anyway."""
    from concurrent.futures import ThreadPoolExecutor

    todo = [h for h in (hosts or sorted(hostvars)) if hostvars.get(h, {}).get("ansible_host")
            and _identity(hostvars[h]) not in _trusted]

    def one(host: str) -> StagecraftError | bool:
        hv = hostvars[host]
        base = ssh.argv(hv)
        try:
            proc = subprocess.run([*base[:1], "-o", "ConnectTimeout=10", *base[1:], "true"],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False
        if proc.returncode == 0:
            return True
        if REFUSED not in proc.stderr:
            return False
        c = check_one(host, hv["ansible_host"], int(hv.get("ansible_port") or 22), known_hosts_of(hv))
        return problem(env, c) or ExternalError(f"host {host} ({c.name}): {proc.stderr.strip()[-300:]}")

    with ThreadPoolExecutor(max_workers=min(16, len(todo) or 1)) as pool:
        results = list(pool.map(one, todo))
    for host, result in zip(todo, results):
        if isinstance(result, StagecraftError):
            raise result
        if result:
            _trusted.add(_identity(hostvars[host]))


def _identity(hv: dict) -> tuple:
    return hv.get("ansible_host"), int(hv.get("ansible_port") or 22), str(known_hosts_of(hv))


def problem(env, c: HostKeyCheck) -> StagecraftError | None:
    """The error that stops a run for this host's key (exit 1 not trusted yet, exit 2 changed), or None."""
    d = c.to_dict()
    if c.status == "new":
        return UserError(f"host {c.host} ({c.name}): its SSH host key is not trusted yet (no entry in "
                         f"{c.known_hosts}); nothing was sent to it",
                         hint=f"offered: {', '.join(d['offered'])}; " + retrust_hint(env, c.host))
    if c.status == "changed":
        return ExternalError(
            f"host {c.host} ({c.name}) offered a different SSH host key than the one trusted in "
            f"{c.known_hosts}; nothing was sent to it.\n  expected: {', '.join(d['expected'])}\n"
            f"  offered:  {', '.join(d['offered'])}\nThis is what an impostor on the host's address looks "
            f"like. If the server was rebuilt, {retrust_hint(env, c.host)}.")
    return None


def record(path: Path, checks: list[HostKeyCheck]) -> None:
    """Replace the entries of the checked hosts in `path` with the keys they offered (0600, atomic)."""
    ensure_private_dir(path.parent)
    names = {c.name for c in checks}
    kept = []
    if path.exists():  # a FIFO or device there is refused, never replaced
        kept = [line + "\n" for line in read_text(path, "known_hosts").splitlines()
                if not line.split() or not set(line.split()[0].split(",")) & names]
    text = "".join(kept) + "".join(ssh.keys_line(c.name, c.offered) for c in checks)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def require_reachable(checks: list[HostKeyCheck]) -> None:
    down = [f"{c.host} ({c.name})" for c in checks if c.status == "unreachable"]
    if down:
        raise ExternalError(f"no SSH host key from {', '.join(down)} within {SCAN_TIMEOUT} s (ssh-keyscan)")
