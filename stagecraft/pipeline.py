"""The deploy pipeline's steps that run processes: build images, ship them, roll out through Ansible.

Pure parts (argv, compose rendering) live in stagecraft.commands; the CLI (cmd_deploy) sequences
these steps inside a recorded release.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .commands import build as b
from .commands import ssh
from .commands.compose_render import (built_services, encore_service, image_refs, load_compose, render_host,
                                      routed_services)
from .commands.compose_render import host_edge_port
from .errors import ExternalError, UserError


def compose_of(config) -> tuple[dict, Path]:
    path = Path(config.base_dir) / config.project.compose_file
    return load_compose(path), path.parent


def ensure_edge_image(say) -> str:
    """The edge proxy image (nginx from Debian packages on the local base image), built once."""
    from .drivers.docker_cli import docker, image_exists, require_engine
    from .drivers.local import ensure_base_image

    require_engine()
    base = ensure_base_image(say)
    tag = b.edge_image_tag(base)
    if not image_exists(tag):
        say(f"building edge proxy image {tag}")
        proc = subprocess.run(["docker", "build", "-t", tag, "-"], input=b.EDGE_DOCKERFILE.format(base=base),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExternalError(f"building the edge image failed: {proc.stderr.strip()[-800:]}")
    return tag


def build_images(config, compose: dict, compose_dir: Path, version: str, services: list[str] | None, say,
                 secrets: dict | None = None) -> dict:
    """Build the app's images; returns service -> {ref, id}. `secrets` (name -> value) feed the BuildKit
    secrets of services.<s>.build.secrets and catch secrets written as build args."""
    secrets = secrets or {}
    from .drivers.docker_cli import require_engine

    require_engine()
    refs = image_refs(config, compose, version)
    wanted = [s for s in built_services(config, compose) if not services or s in services]
    out = {}
    for name in wanted:
        env = None
        if name == encore_service(config):
            argv, cwd = b.encore_build_argv(refs[name], Path(config.base_dir), config.backend.settings)
            if not shutil.which("encore"):
                raise ExternalError(f"backend.provider encore-ts: the 'encore' CLI is not installed on this machine "
                                    f"(needed for: {' '.join(argv)}); install it from Encore's docs")
            tool = "encore build docker"
        else:
            override = config.service(name).build or generic_backend_build(config, name)
            b.check_build_args(name, compose["services"][name]["build"], override, secrets)
            argv = b.build_argv(refs[name], compose_dir, compose["services"][name]["build"], override)
            cwd, tool = None, "docker build"
            env = _build_env(name, override, secrets)
        say(f"building {refs[name]}")
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env)
        if proc.returncode != 0:
            raise ExternalError(f"{tool} of {name} failed:\n{(proc.stderr or proc.stdout).strip()[-1500:]}")
        image_id = local_image_id(refs[name])
        if not image_id:
            raise ExternalError(f"{tool} of {name} exited 0 but image {refs[name]} does not exist")
        out[name] = {"ref": refs[name], "id": image_id}
    return out


def _build_env(service: str, override, secrets: dict) -> dict | None:
    import os

    names = list(getattr(override, "secrets", None) or ())
    if not names:
        return None
    missing = [n for n in names if n not in secrets]
    if missing:
        raise UserError(f"services.{service}.build.secrets: {', '.join(missing)} not set (set them in the "
                        "environment or the env_file)")
    return {**os.environ, "DOCKER_BUILDKIT": "1", **{n: secrets[n] for n in names}}


def generic_backend_build(config, service: str):
    """backend.generic.build (context, dockerfile, target, args) for the backend service."""
    from .config.services import Build

    backend = config.backend
    if backend is None or backend.provider != "generic" or backend.service != service:
        return None
    build = {k: v for k, v in (backend.settings.get("build") or {}).items() if not k.startswith("x-")}
    return Build(**build) if build else None


def local_image_id(ref: str) -> str:
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def render_all(config, env, inventory_listing: dict, compose: dict, version: str, edge_image: str,
               env_names: list[str]) -> dict:
    """host -> HostDeploy for every host of the environment."""
    hostvars = inventory_listing["_meta"]["hostvars"]
    peers: dict[str, list[str]] = {}
    for host in env.hosts:
        address = hostvars.get(host.name, {}).get("ansible_host")
        for svc in config.services_for_roles(host.roles):
            if svc in routed_services(config, compose) and address:
                peers.setdefault(svc, []).append(f"{address}:{host_edge_port(config, host)}")
    return {h.name: render_host(config, env, h, compose, version, edge_image=edge_image, peers=peers,
                                env_names=env_names) for h in env.hosts}


def probe_hosts(hostvars: dict, plans: dict, project: str, hosts: list[str] | None = None) -> dict:
    """host -> HostState, one SSH round trip per host, in parallel (see commands.host_state)."""
    from .commands import host_state

    def probe(host: str):
        hv = hostvars[host]
        if "ansible_host" not in hv:
            raise UserError(f"host {host} has no address yet: run 'stagecraft infra up' first")
        refs = _host_refs(plans[host])
        proc = subprocess.run(ssh.argv(hv) + ["sh -s"], input=host_state.probe_script(project, refs),
                              capture_output=True, text=True)
        if proc.returncode == 255:
            raise ExternalError(f"ssh to {host} failed: {proc.stderr.strip()}")
        return host_state.parse_probe(proc.stdout)

    targets = hosts or sorted(plans)
    with ThreadPoolExecutor(max_workers=min(16, len(targets) or 1)) as pool:
        return dict(zip(targets, pool.map(probe, targets)))


def ship_over_ssh(hostvars: dict, plans: dict, states: dict, say, skip=None) -> dict:
    """docker save | ssh docker load for the hosts in `states`, skipping those that already have the
    image ID and refs for which skip(ref) is true (hosts pull those from the registry). host -> shipped.

    Each distinct set of images is saved once to a temporary archive and sent to every host that needs
    it in one SSH stream, instead of one `docker save` per image and host."""
    import tempfile

    refs = sorted({r for h in states for r in _host_refs(plans[h])})
    local_ids = {ref: local_image_id(ref) for ref in refs if not (skip and skip(ref))}
    # Not built here (e.g. a public image): the host pulls it itself.
    wanted = {h: tuple(ref for ref in _host_refs(plans[h])
                       if local_ids.get(ref) and states[h].image_ids.get(ref) != local_ids[ref])
              for h in sorted(states)}

    with tempfile.TemporaryDirectory(prefix="stagecraft-ship-") as tmp:
        archives = {}
        for i, group in enumerate(sorted({g for g in wanted.values() if g})):
            archives[group] = Path(tmp) / f"images-{i}.tar"
            save = subprocess.run(["docker", "save", "-o", str(archives[group]), *group], capture_output=True,
                                  text=True)
            if save.returncode != 0:
                raise ExternalError(f"docker save {' '.join(group)} failed: {save.stderr.strip()}")

        def ship(host: str) -> list[str]:
            group = wanted[host]
            if not group:
                return []
            say(f"shipping {', '.join(group)} to {host}")
            with archives[group].open("rb") as archive:
                load = subprocess.run(ssh.argv(hostvars[host]) + ["docker load -q"], stdin=archive,
                                      capture_output=True, text=True)
            if load.returncode != 0:
                raise ExternalError(f"shipping {', '.join(group)} to {host} failed: {load.stderr.strip()}")
            return list(group)

        targets = sorted(states)
        with ThreadPoolExecutor(max_workers=min(16, len(targets) or 1)) as pool:
            return dict(zip(targets, pool.map(ship, targets)))


def unchanged_hosts(plans: dict, states: dict, env_values: dict) -> dict[str, str | None]:
    """host -> None if it already runs exactly its plan (the rollout can skip it), else the reason."""
    from .commands.host_state import env_file_digest, unchanged_reason

    local_ids = {ref: local_image_id(ref) for p in plans.values() for ref in p.images.values() if ref}
    return {h: unchanged_reason(plans[h], st, local_ids, env_file_digest(plans[h].secret_names, env_values))
            for h, st in states.items()}


def _host_refs(plan) -> list[str]:
    """The image refs a host runs (its services' and its edge proxy's), sorted."""
    return sorted(r for r in set(plan.images.values()) | {_edge_ref(plan)} if r)


def _edge_ref(plan) -> str:
    import yaml

    edge = (yaml.safe_load(plan.definition).get("services") or {}).get("stagecraft-edge")
    return edge["image"] if edge else ""


def rollout_batches(config, env, hosts: list[str]) -> list[tuple[int, list[str]]]:
    """Hosts grouped by rollout order of their roles (data, app, gateway), each group rolled in batches."""
    groups: dict[int, list[str]] = {}
    for host in env.hosts:
        if host.name not in hosts:
            continue
        order = min((config.roles[r].order for r in host.roles if r in config.roles), default=50)
        groups.setdefault(order, []).append(host.name)
    return sorted((k, sorted(v)) for k, v in groups.items())


def batch_size(env, count: int) -> int:
    size = env.batch_size
    if isinstance(size, str) and size.endswith("%"):
        return max(1, count * int(size[:-1]) // 100)
    return int(size or 1)
