"""A deploy's Ansible inventory and per-host variables, from one discovery (pure).

The compose role's variables (`compose_*`) are added per host from its HostDeploy; `hostvars`
are the flat per-host variables (connection included) the SSH steps use, so nothing has to
unwrap an `ansible-inventory --list` shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..commands.compose_render import EDGE_SERVICE
from ..commands.inventory import group_name, host_addresses, render_inventory

__all__ = ["DeployInventory", "deploy_inventory", "compose_vars", "host_addresses"]


@dataclass(frozen=True)
class DeployInventory:
    document: dict  # the YAML inventory ansible-runner reads
    hostvars: dict  # host -> every variable of the host (all.vars merged in)


def compose_vars(project, host_deploy, compose_project: str) -> dict:
    """Variables of the compose role for one host's HostDeploy."""
    out = {
        "compose_project": compose_project,
        "compose_definition": host_deploy.definition,
        "compose_hash": host_deploy.hash,
        "compose_services": host_deploy.services,
        "compose_edge_service": EDGE_SERVICE if host_deploy.edge_config else "",
        "compose_edge_config": host_deploy.edge_config,
        "compose_edge_image": host_deploy.edge_image,
        "compose_edge_tls_files": '"tls": "files"' in host_deploy.edge_config,
        "compose_secret_names": host_deploy.secret_names,
    }
    if project.images.via_registry:
        # Hosts pull the release's images from the registry (after logging in, if credentials are named).
        out.update({
            "compose_registry": project.registry_host,
            "compose_registry_username_env": project.images.registry_username_env or "",
            "compose_registry_password_env": project.images.registry_password_env or "",
            "compose_pull_images": sorted({r for r in host_deploy.images.values() if project.in_registry(r)}),
        })
    return out


def deploy_inventory(config, env, discovered: dict, *, state_dir: Path, connection_defaults: dict,
                     driver_vars: dict | None = None, desired: dict | None = None,
                     compose: dict | None = None) -> DeployInventory:
    """discovered, connection_defaults, driver_vars: from one driver discovery; desired: host ->
    HostDeploy (omitted: the inventory of infra runs and `stagecraft inventory`); compose: the app's
    compose file (the firewall admits the environment's hosts to services reached across hosts)."""
    document = render_inventory(config, env, discovered, state_dir=state_dir, connection_defaults=connection_defaults,
                                driver_vars=driver_vars, compose=compose)
    hosts = document["all"]["children"][group_name("env", env.name)]["hosts"] or {}
    for name, host_deploy in (desired or {}).items():
        hosts[name].update(compose_vars(config.project, host_deploy, config.project.name))
    all_vars = document["all"]["vars"]
    return DeployInventory(document=document, hostvars={h: {**all_vars, **v} for h, v in hosts.items()})
