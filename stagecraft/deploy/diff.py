"""What a deploy would change on each host, compared with the last completed release (pure)."""

from __future__ import annotations

from .batches import rollout_batches


def service_changes(old: dict, new: dict) -> dict[str, str]:
    """service -> add | remove | unchanged | config | 'image A -> B', from two compose `services` maps."""
    changes = {}
    for name in sorted(set(old) | set(new)):
        if name not in old:
            changes[name] = "add"
        elif name not in new:
            changes[name] = "remove"
        elif old[name] == new[name]:
            changes[name] = "unchanged"
        elif old[name].get("image") != new[name].get("image"):
            changes[name] = f"image {old[name].get('image')} -> {new[name].get('image')}"
        else:
            changes[name] = "config"
    return changes


def host_changes(config, env, desired: dict, deployed: dict) -> list[dict]:
    """Per host in rollout order: its new compose hash, the deployed one, and the service changes.
    deployed: host -> HostDeploy of the current release (missing: nothing deployed there)."""
    out = []
    for order, hosts in rollout_batches(config, env, list(desired)):
        for host in hosts:
            host_deploy, before = desired[host], deployed.get(host)
            out.append({"host": host, "order": order, "compose_hash": host_deploy.hash,
                        "deployed_hash": before.hash if before else None,
                        "services": service_changes(before.planned_services if before else {},
                                                    host_deploy.planned_services)})
    return out
