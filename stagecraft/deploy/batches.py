"""Rollout order and batch size."""

from __future__ import annotations


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
    """environments.<e>.rollout.batch_size: a number of hosts or a percentage of `count`."""
    size = env.batch_size
    if isinstance(size, str) and size.endswith("%"):
        return max(1, count * int(size[:-1]) // 100)
    return int(size or 1)
