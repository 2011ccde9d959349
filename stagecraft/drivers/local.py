"""Driver `local`: each host is a Debian 13 container on this machine that behaves like a small VM
(its own hostname and address on a project network, sshd, able to run Docker itself).

Hosts are bare: Docker inside them is installed later by the bootstrap role, as on a cloud VM.
Resources carry labels (stagecraft.project/env/host/roles) and are found by them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import process
from ..commands import local_hosts as cmd
from ..errors import ExternalError, UserError
from ..paths import ensure_private_dir
from . import DriverContext, HostFacts
from .docker_cli import docker, image_exists, inspect, require_engine

SSH_WAIT_SECONDS = 90
# Discovery runs on every inventory render: a hung engine must not hang `stagecraft inventory`.
DISCOVER_TIMEOUT_SECONDS = 20


def host_vars(ctx: DriverContext, host) -> dict:
    # Local hosts are Debian 13 containers: its own docker.io + docker-compose give Compose v2.
    return {"bootstrap_docker_source": "distro"}


def key_file(ctx: DriverContext) -> Path:
    return ctx.state_dir / "ssh" / "id_ed25519"


def known_hosts_file(ctx: DriverContext) -> Path:
    from ..commands.ssh import known_hosts_path

    return known_hosts_path(ctx.state_dir, ctx.environment.name)


def connection_defaults(ctx: DriverContext) -> dict:
    return {"key": str(key_file(ctx))}


def _names(ctx: DriverContext):
    return ctx.config.project.name, ctx.environment.name


def _containers(ctx: DriverContext, timeout: float = 600) -> list[dict]:
    project, env = _names(ctx)
    found = docker("ps", "-aq", *cmd.label_filters(project, env), check=False, timeout=timeout).stdout.split()
    return inspect(*found, timeout=timeout)


def _address(info: dict, network: str) -> str | None:
    nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
    return (nets.get(network) or {}).get("IPAddress") or None


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    """Running hosts of the environment and their addresses (empty when no engine answers)."""
    if shutil.which("docker") is None:
        return {}
    project, env = _names(ctx)
    network = cmd.network_name(project, env)
    try:
        containers = _containers(ctx, timeout=DISCOVER_TIMEOUT_SECONDS)
    except ExternalError:
        return {}
    out = {}
    for info in containers:
        host = info["Config"]["Labels"].get("stagecraft.host")
        address = _address(info, network)
        if host and address and info["State"].get("Running"):
            out[host] = HostFacts(address=address, port=22, state="running")
    return out


# ---- provisioning -------------------------------------------------------------------------------

@dataclass
class HostResult:
    name: str
    roles: list
    action: str  # created | started | unchanged | would-create | would-start | existing (driver ssh)
    address: str | None = None
    ssh: str | None = None


@dataclass
class ProvisionResult:
    hosts: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    image: str = ""

    @property
    def changed(self) -> bool:
        return any(h.action not in ("unchanged", "existing") for h in self.hosts)


def ensure_key(ctx: DriverContext) -> str:
    key = key_file(ctx)
    if not key.exists():
        ensure_private_dir(key.parent)
        process.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                     f"stagecraft-{ctx.config.project.name}-{ctx.environment.name}", "-f", str(key)],
                    what="ssh-keygen", check=True)
    key.chmod(0o600)
    return key.with_suffix(".pub").read_text().strip()


def ensure_image(ctx: DriverContext, say) -> str:
    """The host image: environments.<env>.local.image, else the debootstrap-built base (cached by content key)."""
    if ctx.environment.local_image:
        image = ctx.environment.local_image
        if not image_exists(image):
            say(f"pulling {image}")
            docker("pull", image)
        return image
    return ensure_base_image(say)


def ensure_base_image(say) -> str:
    """The debootstrap-built Debian 13 base image (also used to build the edge proxy image)."""
    spec = cmd.recipe(mirror=os.environ.get("STAGECRAFT_DEBIAN_MIRROR"))
    tag = cmd.base_image_tag(spec)
    if not image_exists(tag):
        build_base_image(spec, tag, say)
    # A stable alias so Dockerfiles can start FROM it (e.g. the example app's build stage).
    docker("tag", tag, cmd.BASE_ALIAS)
    return tag


def build_base_image(spec: dict, tag: str, say) -> None:
    if shutil.which("debootstrap") is None:
        raise ExternalError("building the local host image needs debootstrap",
                            hint="apt-get install debootstrap, or set environments.<env>.local.image")
    if os.geteuid() != 0:
        raise ExternalError("debootstrap must run as root to build the local host image",
                            hint="run as root once, or set environments.<env>.local.image to a prebuilt image")
    say(f"building base image {tag} with debootstrap ({spec['suite']}, takes about a minute)")
    with tempfile.TemporaryDirectory(prefix="stagecraft-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        proc = process.run(cmd.debootstrap_argv(spec, str(rootfs)), what="debootstrap")
        if proc.returncode != 0:
            raise ExternalError(f"debootstrap failed: {proc.stderr.strip()[-500:] or proc.stdout.strip()[-500:]}")
        # Keep the image small and free of this machine's identity.
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        for leftover in ("etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_rsa_key", "etc/ssh/ssh_host_ecdsa_key"):
            for suffix in ("", ".pub"):
                (rootfs / (leftover + suffix)).unlink(missing_ok=True)
        # A pipeline (tar streams the rootfs into docker import): the one Popen outside stagecraft.process.
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imp = process.run(cmd.import_argv(tag), stdin=tar.stdout, what="docker import")
        tar.stdout.close()
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise ExternalError(f"docker import failed: {imp.stderr.strip()}")


def _ensure_network(ctx: DriverContext, say) -> None:
    project, env = _names(ctx)
    name = cmd.network_name(project, env)
    if docker("network", "inspect", name, check=False).returncode != 0:
        say(f"creating network {name}")
        docker(*cmd.network_create_argv(project, env, ctx.environment.local_subnet)[1:])


def _wait_for_ssh(ctx: DriverContext, name: str, address: str, deadline: float) -> None:
    from ..commands.ssh import options

    argv = ["ssh", "-i", str(key_file(ctx)), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
            *options(known_hosts_file(ctx)), "-l", "root", "--", address, "true"]
    last = ""
    while time.monotonic() < deadline:
        proc = process.run(argv, what=f"ssh to {address}")
        if proc.returncode == 0:
            return
        last = proc.stderr.strip()
        if "Host key verification failed" in last:
            # Not the container whose key Docker showed us: stop now, with both fingerprints.
            from .. import hostkeys

            check = hostkeys.check_one(name, address, 22, known_hosts_file(ctx))
            raise hostkeys.problem(ctx.environment, check) or ExternalError(f"host {address}: {last}")
        time.sleep(0.5)
    raise ExternalError(f"host {address} did not accept SSH within {SSH_WAIT_SECONDS} s: {last}")


def _write_known_hosts(ctx: DriverContext, entries: dict[str, str]) -> None:
    """known_hosts from keys read through Docker (a trusted channel), so SSH can check strictly."""
    path = known_hosts_file(ctx)
    ensure_private_dir(path.parent)
    path.write_text("".join(f"{addr} {key}\n" for addr, key in sorted(entries.items())))
    path.chmod(0o600)


def provision(ctx: DriverContext, say, *, dry_run: bool = False) -> ProvisionResult:
    """Create the declared hosts that are missing, start stopped ones; never touch undeclared ones."""
    require_engine()
    project, env = _names(ctx)
    network = cmd.network_name(project, env)
    existing = {c["Config"]["Labels"].get("stagecraft.host"): c for c in _containers(ctx)}
    declared = {h.name: h for h in ctx.environment.hosts}
    result = ProvisionResult(orphans=sorted(n for n in existing if n not in declared))
    if dry_run:
        for name, host in declared.items():
            info = existing.get(name)
            action = "would-create" if info is None else ("unchanged" if info["State"]["Running"] else "would-start")
            result.hosts.append(HostResult(name, list(host.roles), action,
                                           _address(info, network) if info else None))
        return result
    public_key = ensure_key(ctx)
    result.image = ensure_image(ctx, say)
    _ensure_network(ctx, say)
    tun = os.path.exists("/dev/net/tun")
    actions = {}
    for name, host in declared.items():
        info = existing.get(name)
        container = cmd.container_name(project, env, name)
        if info is None:
            say(f"creating host {name}")
            for volume in cmd.volume_names(project, env, name).values():
                docker(*cmd.volume_create_argv(project, env, name, volume)[1:])
            docker(*cmd.run_argv(project, env, name, host.roles, result.image, public_key, tun=tun)[1:])
            actions[name] = "created"
        elif not info["State"]["Running"]:
            say(f"starting host {name}")
            docker("start", container)
            actions[name] = "started"
        else:
            actions[name] = "unchanged"
    infos = {c["Config"]["Labels"]["stagecraft.host"]: c for c in _containers(ctx)}
    keys = {}
    deadline = time.monotonic() + SSH_WAIT_SECONDS
    for name in declared:
        address = _address(infos[name], network)
        if not address:
            raise ExternalError(f"host {name} has no address on network {network}")
        container = cmd.container_name(project, env, name)
        while True:  # sshd writes host keys right after start
            proc = docker("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub", check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                keys[address] = proc.stdout.strip()
                break
            if time.monotonic() > deadline:
                raise ExternalError(f"host {name} did not start sshd: {proc.stderr.strip()}")
            time.sleep(0.3)
    _write_known_hosts(ctx, keys)
    for name, host in declared.items():
        address = _address(infos[name], network)
        _wait_for_ssh(ctx, name, address, deadline)
        result.hosts.append(HostResult(name, list(host.roles), actions[name], address,
                                       cmd.ssh_command(address, str(key_file(ctx)), str(known_hosts_file(ctx)))))
    return result


def destroy(ctx: DriverContext, say, *, keep_volumes: bool = False, dry_run: bool = False) -> dict:
    """Remove every container of the environment (declared or not), its network and, unless kept, volumes."""
    require_engine()
    project, env = _names(ctx)
    containers = _containers(ctx)
    hosts = sorted(c["Config"]["Labels"].get("stagecraft.host", c["Name"]) for c in containers)
    volumes = sorted(docker("volume", "ls", "-q", *cmd.label_filters(project, env), check=False).stdout.split())
    result = {"hosts": hosts, "volumes": [] if keep_volumes else volumes, "kept_volumes": volumes if keep_volumes else [],
              "network": cmd.network_name(project, env)}
    if dry_run:
        return result
    if containers:
        say(f"removing {len(containers)} host(s)")
        docker("rm", "-f", *[c["Id"] for c in containers])
    docker("network", "rm", cmd.network_name(project, env), check=False)
    if not keep_volumes and volumes:
        docker("volume", "rm", "-f", *volumes, check=False)
    known_hosts_file(ctx).unlink(missing_ok=True)
    return result


def status(ctx: DriverContext) -> list[dict]:
    require_engine()
    project, env = _names(ctx)
    network = cmd.network_name(project, env)
    existing = {c["Config"]["Labels"].get("stagecraft.host"): c for c in _containers(ctx)}
    rows = []
    for host in ctx.environment.hosts:
        info = existing.get(host.name)
        rows.append({"host": host.name, "roles": list(host.roles), "declared": True,
                     "state": info["State"]["Status"] if info else "absent",
                     "address": _address(info, network) if info else None})
    for name in sorted(set(existing) - {h.name for h in ctx.environment.hosts}):
        info = existing[name]
        rows.append({"host": name, "roles": info["Config"]["Labels"].get("stagecraft.roles", "").split(","),
                     "declared": False, "state": info["State"]["Status"], "address": _address(info, network)})
    return rows


def ensure_supported(ctx: DriverContext) -> None:
    if not ctx.environment.hosts:
        raise UserError(f"environments.{ctx.environment.name}.hosts: no hosts declared")
