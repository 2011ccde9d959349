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

Values are data: the user and host go after `-l` and `--` (never read as options), and file paths are
checked for what ssh would read as its own syntax (`%` tokens, `${VAR}`, quotes) and quoted when they hold
spaces (an -o value is split at spaces, as in ssh_config).
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


# What ssh (and Ansible's quoting of IdentityFile="...") would not take literally in a file path.
_NOT_IN_PATHS = ('"', "\\", "%", "${")


def checked_path(path, what: str) -> str:
    """path as a string ssh reads literally, or a UserError naming `what` (e.g. the config key)."""
    from ..errors import UserError

    text = str(path)
    bad = [c for c in _NOT_IN_PATHS if c in text] + (["a control character"] if not text.isprintable() else [])
    if bad:
        raise UserError(f"{what}: {text!r} contains {', '.join(repr(b) for b in bad)}, which ssh reads as its own "
                        "syntax; use a path without them (for the state directory: set STAGECRAFT_STATE_DIR)")
    return text


def option_value(path, what: str) -> str:
    """A file path as the value of an -o option: double-quoted when it holds spaces."""
    text = checked_path(path, what)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def options(known_hosts: Path, extra_args: str | None = None, *, what: str = "known_hosts",
            extra_what: str = "ssh.extra_args") -> list[str]:
    """ssh -o options: strict host key checking against `known_hosts` only, no agent forwarding, only the
    given identity. `extra_args` (ssh.extra_args, a user-written command line) comes last, so it cannot
    weaken these. what / extra_what: the config keys named in errors."""
    out = []
    known = option_value(known_hosts, what)
    for opt in (f"UserKnownHostsFile={known}", "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes",
                "CheckHostIP=no", "UpdateHostKeys=no", "ForwardAgent=no", "IdentitiesOnly=yes"):
        out += ["-o", opt]
    try:
        return out + (shlex.split(extra_args) if extra_args else [])
    except ValueError as exc:  # e.g. an unclosed quote
        from ..errors import UserError

        raise UserError(f"{extra_what}: cannot split {extra_args!r} into arguments as a shell would: {exc}") from None


def common_args(opts: list[str]) -> str:
    """options() as Ansible's ansible_ssh_common_args (Ansible splits it with shlex)."""
    return shlex.join(opts)


def argv(hostvars: dict) -> list[str]:
    """ssh to a host with the connection variables of the rendered inventory (add the remote command; options
    go right after argv[0]). The user and address end the options (`-l USER -- ADDRESS`), so neither can
    become one."""
    out = ["ssh", "-o", "BatchMode=yes", "-p", str(hostvars.get("ansible_port", 22))]
    if hostvars.get("ansible_ssh_private_key_file"):
        out += ["-i", hostvars["ansible_ssh_private_key_file"]]
    out += list(hostvars.get(OPTIONS_VAR) or shlex.split(hostvars.get("ansible_ssh_common_args", "")))
    return out + ["-l", str(hostvars.get("ansible_user", "root")), "--", str(hostvars["ansible_host"])]


def known_hosts_file(opts: list[str]) -> Path:
    """The UserKnownHostsFile of an options() list."""
    value = next(o.split("=", 1)[1] for o in opts if o.startswith("UserKnownHostsFile="))
    return Path(value[1:-1] if value.startswith('"') else value)


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
    return out[:1] + (["-t"] if tty else []) + out[1:] + ([as_root(hv, command)] if command is not None else [])


def login_argv(hostvars: dict, host: str, command: list[str], *, tty: bool, mesh: bool = True) -> list[str]:
    """`stagecraft ssh`: a shell (or `command`, quoted for the remote shell) as the ssh user. With a mesh,
    over the host's mesh address; its host key is still checked against the entry of its inventory
    address (HostKeyAlias), the only one `hosts trust` and `infra up` write."""
    out = host_argv(hostvars, host, tty=tty)
    hv = hostvars[host]
    if mesh and hv.get(MESH_ADDRESS_VAR):
        alias = known_hosts_name(hv["ansible_host"], int(hv.get("ansible_port") or 22))
        out[-1] = str(hv[MESH_ADDRESS_VAR])  # after `--`: the address stays an address
        out[1:1] = ["-o", f"HostKeyAlias={alias}"]
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
