"""SSH connections (pure): where an environment's trusted host keys live, and the one set of ssh options
every connection uses — Ansible (through the inventory), image shipping, probes, psql migrations.

    known_hosts_path(state_dir, "prod")                 # .stagecraft/known_hosts/prod
    options(Path("/p/.stagecraft/known_hosts/prod"))    # ["-o", "UserKnownHostsFile=...", ...]
    argv(hostvars) + ["true"]                            # ssh to a host of the rendered inventory
    command_argv(hostvars, "docker load -q")             # ... running a command as root (sudo -n for
                                                         #     a non-root ssh.user)
    login_argv(hostvars, "app-1", [], tty=True)          # `stagecraft ssh`: over the mesh when there is one

OpenSSH takes the first value it sees for an option, so these come before anything a user adds
(ssh.extra_args) and Ansible is run with host key checking on (it would otherwise put
StrictHostKeyChecking=no in front).
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from pathlib import Path

from ..known_hosts import known_hosts_path  # noqa: F401  (re-exported: the one path function)

# Inventory host variable carrying options() as a list, so no caller re-parses a command line.
OPTIONS_VAR = "stagecraft_ssh_options"
# Inventory host variable of the mesh (network.provider tailscale): the host's name there.
MESH_ADDRESS_VAR = "stagecraft_mesh_address"


def options(known_hosts: Path, extra_args: str | None = None) -> list[str]:
    """ssh -o options: strict host key checking against `known_hosts` only, no agent forwarding, only the
    given identity. `extra_args` (ssh.extra_args, a user-written command line) comes last, so it cannot
    weaken these."""
    out = []
    for opt in (f"UserKnownHostsFile={known_hosts}", "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes",
                "CheckHostIP=no", "UpdateHostKeys=no", "ForwardAgent=no", "IdentitiesOnly=yes"):
        out += ["-o", opt]
    return out + (shlex.split(extra_args) if extra_args else [])


def common_args(opts: list[str]) -> str:
    """options() as Ansible's ansible_ssh_common_args (Ansible splits it with shlex)."""
    return shlex.join(opts)


def argv(hostvars: dict) -> list[str]:
    """ssh to a host with the connection variables of the rendered inventory (add the remote command)."""
    out = ["ssh", "-o", "BatchMode=yes", "-p", str(hostvars.get("ansible_port", 22))]
    if hostvars.get("ansible_ssh_private_key_file"):
        out += ["-i", hostvars["ansible_ssh_private_key_file"]]
    out += list(hostvars.get(OPTIONS_VAR) or shlex.split(hostvars.get("ansible_ssh_common_args", "")))
    return out + [f"{hostvars.get('ansible_user', 'root')}@{hostvars['ansible_host']}"]


def as_root(hostvars: dict, command: str) -> str:
    """A remote shell command run as root: as is for root, else through passwordless sudo (`-n`: fail
    at once instead of waiting for a password). Ansible's plays become root the same way."""
    if hostvars.get("ansible_user", "root") == "root":
        return command
    return f"sudo -n sh -c {shlex.quote(command)}"


def command_argv(hostvars: dict, command: str) -> list[str]:
    """ssh to a host running `command` (a shell command line) as root: docker, /srv/stagecraft."""
    return argv(hostvars) + [as_root(hostvars, command)]


def host_argv(hostvars: dict, host: str, command: str | None = None, *, tty: bool = False) -> list[str]:
    """argv() for a host named on the command line (-t when tty), running `command` as root if given;
    an unknown or unaddressed host is a user error."""
    from ..errors import UserError

    hv = hostvars.get(host)
    if hv is None:
        raise UserError(f"unknown host '{host}'; hosts: {', '.join(sorted(hostvars))}")
    if "ansible_host" not in hv:
        raise UserError(f"host {host} has no address yet: run 'stagecraft infra up' first")
    out = argv(hv)
    return out[:-1] + (["-t"] if tty else []) + out[-1:] + ([as_root(hv, command)] if command is not None else [])


def login_argv(hostvars: dict, host: str, command: list[str], *, tty: bool, mesh: bool = True) -> list[str]:
    """`stagecraft ssh`: a shell (or `command`, quoted for the remote shell) as the ssh user. With a mesh,
    over the host's mesh address; its host key is still checked against the entry of its inventory
    address (HostKeyAlias), the only one `hosts trust` and `infra up` write."""
    out = host_argv(hostvars, host, tty=tty)
    hv = hostvars[host]
    if mesh and hv.get(MESH_ADDRESS_VAR):
        alias = known_hosts_name(hv["ansible_host"], int(hv.get("ansible_port") or 22))
        out[-1] = f"{hv.get('ansible_user', 'root')}@{hv[MESH_ADDRESS_VAR]}"
        out[-1:-1] = ["-o", f"HostKeyAlias={alias}"]
    return out + ([shlex.join(command)] if command else [])


def known_hosts_name(address: str, port: int) -> str:
    """How known_hosts names a host: the address, or [address]:port off port 22."""
    return address if int(port) == 22 else f"[{address}]:{port}"


def fingerprint(key_b64: str) -> str:
    """OpenSSH's SHA256 fingerprint of a base64 public key blob."""
    digest = hashlib.sha256(base64.b64decode(key_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_keys(text: str) -> list[tuple[str, str, str]]:
    """(host name, key type, base64 key) from known_hosts or ssh-keyscan lines; comments and markers skipped."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or line.startswith("#") or parts[0].startswith("@"):
            continue
        out.append((parts[0], parts[1], parts[2]))
    return out


def keys_line(name: str, keys: list[tuple[str, str]]) -> str:
    """known_hosts lines for one host: (type, base64) pairs."""
    return "".join(f"{name} {kind} {blob}\n" for kind, blob in keys)
