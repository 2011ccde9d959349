"""Pure builders for the `local` driver: names, labels, the base-image recipe and `docker` argv."""

from __future__ import annotations

import hashlib
import json

LABEL = "stagecraft"
# Capabilities named one by one: --privileged fails on these machines (no CAP_SYS_RESOURCE in the
# bounding set), and Docker inside the host needs these to run its own containers.
CAPABILITIES = ("SYS_ADMIN", "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "MKNOD", "NET_RAW", "SYS_CHROOT",
                "AUDIT_WRITE", "SETFCAP", "DAC_READ_SEARCH", "IPC_LOCK", "SYSLOG")
BASE_ALIAS = "stagecraft/host-base:trixie"
BASE_PACKAGES = ("python3", "openssh-server", "sudo", "iproute2", "ca-certificates")

# The host's main process (under tini, which reaps orphans): installs the authorized key, makes host keys, runs sshd.
HOST_INIT = """#!/bin/sh
set -e
# A VM's /proc/sys is writable; Docker inside the host needs that to set up container interfaces.
mount -o remount,rw /proc/sys 2>/dev/null || true
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "$STAGECRAFT_AUTHORIZED_KEY" ]; then
  printf '%s\\n' "$STAGECRAFT_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
"""


def recipe(suite: str = "trixie", mirror: str | None = None) -> dict:
    return {"suite": suite, "variant": "minbase", "include": sorted(BASE_PACKAGES), "mirror": mirror or "",
            "format": 1}


def content_key(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def base_image_tag(spec: dict) -> str:
    return f"stagecraft/host-base:{spec['suite']}-{content_key(spec)}"


def debootstrap_argv(spec: dict, rootfs: str) -> list[str]:
    argv = ["debootstrap", f"--variant={spec['variant']}", f"--include={','.join(spec['include'])}",
            spec["suite"], rootfs]
    if spec["mirror"]:
        argv.append(spec["mirror"])  # else debootstrap's own default mirror for the suite
    return argv


def import_argv(tag: str) -> list[str]:
    return ["docker", "import", "--change", "ENV container=docker", "-", tag]


def resource_prefix(project: str, env: str) -> str:
    return f"{project}-{env}"


def container_name(project: str, env: str, host: str) -> str:
    return f"{resource_prefix(project, env)}-{host}"


def network_name(project: str, env: str) -> str:
    return resource_prefix(project, env)


def volume_names(project: str, env: str, host: str) -> dict[str, str]:
    """Mount point -> volume. /var/lib/docker on a volume lets the inner Docker use overlay2 instead of vfs."""
    base = container_name(project, env, host)
    return {"/srv": f"{base}-data", "/var/lib/docker": f"{base}-docker"}


def labels(project: str, env: str, host: str | None = None, roles=()) -> dict[str, str]:
    out = {f"{LABEL}.managed": "true", f"{LABEL}.project": project, f"{LABEL}.env": env}
    if host is not None:
        out[f"{LABEL}.host"] = host
        out[f"{LABEL}.roles"] = ",".join(roles)
    return out


def label_filters(project: str, env: str) -> list[str]:
    return [f"--filter=label={k}={v}" for k, v in labels(project, env).items()]


def network_create_argv(project: str, env: str, subnet: str | None = None) -> list[str]:
    argv = ["docker", "network", "create", "--driver", "bridge"]
    for k, v in labels(project, env).items():
        argv += ["--label", f"{k}={v}"]
    if subnet:
        argv += ["--subnet", subnet]
    return argv + [network_name(project, env)]


def volume_create_argv(project: str, env: str, host: str, volume: str) -> list[str]:
    argv = ["docker", "volume", "create"]
    for k, v in labels(project, env, host).items():
        argv += ["--label", f"{k}={v}"]
    return argv + [volume]


def run_argv(project: str, env: str, host: str, roles, image: str, public_key: str, *, tun: bool = True) -> list[str]:
    argv = ["docker", "run", "-d", "--init", "--name", container_name(project, env, host), "--hostname", host,
            "--network", network_name(project, env), "--restart", "unless-stopped"]
    for cap in CAPABILITIES:
        argv += ["--cap-add", cap]
    argv += ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
             "--device-cgroup-rule=a *:* rwm", *(["--device", "/dev/net/tun"] if tun else []),
             "--tmpfs", "/run", "--tmpfs", "/tmp",
             "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns=host",
             "-e", f"STAGECRAFT_AUTHORIZED_KEY={public_key}"]
    for mount, volume in volume_names(project, env, host).items():
        argv += ["-v", f"{volume}:{mount}"]
    for k, v in labels(project, env, host, roles).items():
        argv += ["--label", f"{k}={v}"]
    # The init script is passed as the command so that any Debian-based image with sshd works.
    return argv + [image, "/bin/sh", "-c", HOST_INIT]


def ssh_command(address: str, key_file: str, known_hosts: str, user: str = "root") -> str:
    """The ssh command line printed for people to paste (shell-quoted)."""
    import shlex

    from .ssh import option_value

    return shlex.join(["ssh", "-i", key_file, "-o", f"UserKnownHostsFile={option_value(known_hosts, 'known_hosts file')}",
                       f"{user}@{address}"])
