"""The desired state of each host: its compose file and edge proxy config (HostDeploy)."""

from __future__ import annotations

from pathlib import Path

from ..commands import project_files
from ..commands.compose_render import HostDeploy, host_edge_port, load_compose, render_host, routed_services
from ..config import compose as compose_model


def compose_of(config) -> tuple[dict, Path]:
    path = config.project.compose_path(config.base_dir)
    return load_compose(path), path.parent


def render_all(config, env, addresses: dict[str, str], compose: dict, version: str, edge_image: str,
               env_names: list[str], pinned: dict | None = None) -> dict[str, HostDeploy]:
    """host -> HostDeploy for every host of the environment; addresses: host -> address (for the
    gateways' upstreams and the names of services reached across hosts); pinned: service -> image ref
    for services this deploy does not build (`--services`)."""
    routed = routed_services(config, compose)
    peers: dict[str, list[str]] = {}
    for host in env.hosts:
        address = addresses.get(host.name)
        for svc in config.services_for_roles(host.roles):
            if svc in routed and address:
                peers.setdefault(svc, []).append(f"{address}:{host_edge_port(config, host)}")
    strategies = {name: config.service(name).strategy for name in compose.get("services") or {}}
    reach = compose_model.reachable(env, config.placement, strategies, compose)
    remote = {svc: addresses[h] for svc, h in reach.items() if addresses.get(h)}
    compose_dir = config.project.compose_path(config.base_dir).parent
    return {h.name: render_host(config, env, h, compose, version, edge_image=edge_image, peers=peers,
                                env_names=env_names, remote=remote,
                                reachable={s for s, rh in reach.items() if rh == h.name},
                                files=project_files.collect(compose, compose_dir, config.services_for_roles(h.roles)),
                                pinned=pinned)
            for h in env.hosts}


def desired_from_manifest(manifest: dict) -> dict[str, HostDeploy]:
    """The HostDeploys a release recorded (a rollback redeploys them)."""
    return {h: HostDeploy.from_manifest(h, entry) for h, entry in manifest["hosts"].items()}


def manifest_hosts(desired: dict[str, HostDeploy]) -> dict:
    return {h: p.manifest_entry() for h, p in desired.items()}


def desired_now(session, version: str, edge_image: str) -> dict[str, HostDeploy]:
    """What a deploy of `version` would put on each host (`plan`, `render`): no build, no value read."""
    from .envvars import deploy_env

    compose, _ = compose_of(session.config)
    names, _ = deploy_env(session.ctx, version, require_values=False)
    return render_all(session.config, session.environment, session.addresses, compose, version, edge_image, names)
