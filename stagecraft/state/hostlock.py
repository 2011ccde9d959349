"""The deploy lock kept on the environment's hosts, so two machines (a laptop, a CI runner) exclude
each other (Kamal keeps its lock on the hosts too).

On each host: the directory `/srv/stagecraft/<project>/locks/<env>.lock/` (mkdir is atomic) with
`holder.json` (user, machine, pid, command, version, start time, a random token) and `lease`, whose
mtime the holder renews every LEASE/4 seconds from a background thread. Acquisition goes host by
host in name order, so of two machines starting at once the one that wins the first host wins all;
the loser gives back what it took and exits 1 naming the holder.

A lock whose holder vanished is taken over:
- at once when the holder ran on this machine and its process is gone (a killed deploy: the next
  one proceeds without a human);
- after the lease expired otherwise (laptop closed, runner killed), with a warning naming it.
Takeover renames the old directory first (`mv` is atomic), so two takers never both win.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import ExternalError, UserError

LEASE = float(os.environ.get("STAGECRAFT_HOST_LOCK_LEASE", "120"))
ROOT = "/srv/stagecraft"  # on the hosts, beside each project's compose files


def lock_dir(project: str, env: str) -> str:
    return f"{ROOT}/{project}/locks/{env}.lock"


def acquire_script(project: str, env: str, info: dict, lease: float, takeover_token: str = "") -> str:
    """Prints ACQUIRED, or HELD <seconds since the lease was renewed> followed by holder.json.
    With takeover_token, the lock is taken over only if its holder still has that token."""
    d = shlex.quote(lock_dir(project, env))
    data = shlex.quote(json.dumps(info))
    take = ""
    if takeover_token:
        take = (f'if grep -qF {shlex.quote(takeover_token)} {d}/holder.json 2>/dev/null '
                f'&& mv {d} {d}.taken.$$ 2>/dev/null; then rm -rf {d}.taken.$$; fi\n')
    return f"""set -e
mkdir -p "$(dirname {d})"
{take}if mkdir {d} 2>/dev/null; then
  printf '%s' {data} > {d}/holder.json.tmp && mv {d}/holder.json.tmp {d}/holder.json
  touch {d}/lease
  echo ACQUIRED
  exit 0
fi
now=$(date +%s)
renewed=$(stat -c %Y {d}/lease 2>/dev/null || stat -c %Y {d} 2>/dev/null || echo "$now")
echo "HELD $((now - renewed))"
cat {d}/holder.json 2>/dev/null || echo '{{}}'
"""


def renew_script(project: str, env: str, token: str) -> str:
    d = shlex.quote(lock_dir(project, env))
    return f"grep -qF {shlex.quote(token)} {d}/holder.json && touch {d}/lease && echo RENEWED || echo LOST\n"


def release_script(project: str, env: str, token: str = "") -> str:
    """Remove the lock (only if it still carries `token`, when given)."""
    d = shlex.quote(lock_dir(project, env))
    check = f"grep -qF {shlex.quote(token)} {d}/holder.json 2>/dev/null && " if token else ""
    return f"{check}mv {d} {d}.released.$$ 2>/dev/null && rm -rf {d}.released.$$ && echo RELEASED || echo NONE\n"


def status_script(project: str, env: str) -> str:
    d = shlex.quote(lock_dir(project, env))
    return f"""if [ -d {d} ]; then
  now=$(date +%s); renewed=$(stat -c %Y {d}/lease 2>/dev/null || stat -c %Y {d})
  echo "HELD $((now - renewed))"; cat {d}/holder.json 2>/dev/null || echo '{{}}'
else echo FREE; fi
"""


def lockable_hosts(hostvars: dict) -> dict:
    """Hosts reached over SSH (a host with ansible_connection=local is this machine: nothing to lock)."""
    return {h: hv for h, hv in sorted(hostvars.items())
            if hv.get("ansible_host") and hv.get("ansible_connection", "ssh") == "ssh"}


def _ssh(hostvars: dict, script: str, what: str = "host lock") -> str:
    """Run a shell script on a host (stdin) for the lock and the journal; ExternalError naming `what`."""
    from ..commands.ssh import command_argv

    argv = command_argv(hostvars, "sh -s")
    try:
        # ConnectTimeout: a host that is gone (or unreachable) fails fast instead of hanging.
        proc = subprocess.run(argv[:1] + ["-o", "ConnectTimeout=10"] + argv[1:],
                              input=script, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ExternalError(f"{what}: ssh to {hostvars.get('ansible_host')} did not answer within 60 s") from None
    if proc.returncode != 0:
        raise ExternalError(f"{what}: ssh to {hostvars.get('ansible_host')} failed: "
                            f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc.stdout


def _parse_held(out: str) -> tuple[float, dict]:
    first, _, rest = out.partition("\n")
    age = float(first.split()[1])
    try:
        info = json.loads(rest.strip() or "{}")
    except ValueError:
        info = {}
    return age, info


def describe(info: dict) -> str:
    return (f"{info.get('user', '?')}@{info.get('machine', '?')} pid {info.get('pid', '?')} running "
            f"'{info.get('command', '?')}'{' version ' + info['version'] if info.get('version') else ''} "
            f"since {info.get('since', '?')}")


def _holder_gone_here(info: dict) -> bool:
    """The holder ran on this machine and its process no longer exists."""
    if info.get("machine") != socket.gethostname() or not info.get("pid"):
        return False
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


@dataclass
class HostLock:
    project: str
    env: str
    hosts: dict  # name -> hostvars
    info: dict
    warn: object = print
    lease: float = LEASE
    taken: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        return self.info["token"]

    def acquire(self) -> None:
        names = sorted(self.hosts)
        try:
            if names:
                self._take(names[0])  # the first host decides between two machines starting at once
            with ThreadPoolExecutor(max_workers=min(16, max(1, len(names) - 1))) as pool:
                list(pool.map(self._take, names[1:]))
        except BaseException:
            self.release()
            raise
        if self.taken:
            self._thread = threading.Thread(target=self._renew, name="host-lock-lease", daemon=True)
            self._thread.start()

    def _take(self, host: str) -> None:
        hv = self.hosts[host]
        out = _ssh(hv, acquire_script(self.project, self.env, self.info, self.lease))
        if not out.startswith("ACQUIRED"):
            age, holder = _parse_held(out)
            if _holder_gone_here(holder):
                reason = "its process on this machine is gone"
            elif age > self.lease:
                reason = f"its lease expired {age - self.lease:.0f}s ago"
            else:
                raise UserError(
                    f"environment '{self.env}' is locked on host {host} by {describe(holder)} "
                    f"(lease renewed {age:.0f}s ago)",
                    hint=f"wait for it to finish; a lock whose holder vanished can be taken over after "
                         f"{self.lease:.0f}s, or cleared with: stagecraft lock release -e {self.env} --force")
            out = _ssh(hv, acquire_script(self.project, self.env, self.info, self.lease,
                                          takeover_token=holder.get("token", "") or "{"))
            if not out.startswith("ACQUIRED"):
                raise UserError(f"environment '{self.env}': another run took over the lock on {host} first: "
                                f"{describe(_parse_held(out)[1])}")
            self.warn(f"took over the lock on {host} from {describe(holder)}: {reason}")
        self.taken.append(host)

    def _renew(self) -> None:
        while not self._stop.wait(max(1.0, self.lease / 4)):
            for host in list(self.taken):
                try:
                    if "LOST" in _ssh(self.hosts[host], renew_script(self.project, self.env, self.token)):
                        self.warn(f"the lock on {host} was taken over by another run")
                except Exception:  # noqa: BLE001 - a missed renewal is retried; the lease allows a few
                    pass

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for host in list(self.taken):
            try:
                _ssh(self.hosts[host], release_script(self.project, self.env, self.token))
            except ExternalError as exc:
                self.warn(f"could not release the lock on {host}: {exc.message} (it expires after the lease)")
        self.taken.clear()

    def forget(self, hosts) -> None:
        """These hosts are gone (infra down removed them): their lock went with them."""
        self.taken[:] = [h for h in self.taken if h not in set(hosts)]


def new_info(command: str, version: str = "") -> dict:
    from .lock import holder_info

    info = holder_info(command)
    info["machine"] = info.pop("host")
    return {**info, "version": version, "token": secrets.token_hex(8)}


def status(project: str, env: str, hosts: dict) -> dict:
    """host -> {locked, holder, lease_age} (or {error})."""

    def one(host):
        try:
            out = _ssh(hosts[host], status_script(project, env))
        except ExternalError as exc:
            return host, {"error": exc.message}
        if out.startswith("FREE"):
            return host, {"locked": False}
        age, info = _parse_held(out)
        return host, {"locked": True, "holder": info, "lease_age": age, "expired": age > LEASE}

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return dict(pool.map(one, sorted(hosts)))


def force_release(project: str, env: str, hosts: dict) -> dict:
    def one(host):
        try:
            return host, "RELEASED" in _ssh(hosts[host], release_script(project, env))
        except ExternalError as exc:
            return host, exc.message

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
        return dict(pool.map(one, sorted(hosts)))
