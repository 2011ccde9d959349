"""Plugins found by name through Python entry points, so a package can add one without touching
Stagecraft. The built-ins are registered the same way, in pyproject.toml:

    [project.entry-points."stagecraft.drivers"]
    local = "stagecraft.drivers.local"

| kind | entry point group | a plugin is | chosen by |
|---|---|---|---|
| driver | stagecraft.drivers | a module with discover, connection_defaults, host_vars (+ provision, destroy, status) | environments.<e>.driver |
| backend | stagecraft.backends | an object with image_service, tag_suffix, build_override, build_argv | backend.provider |
| migration_engine | stagecraft.migration_engines | a module with targets, runner, status, apply | databases.<d>.migrations.engine |
| ci | stagecraft.ci | a CI provider (workflow files) | ci.provider |
| secrets | stagecraft.secrets | a class (config) -> provider with `values(names, variables)` and `source(name)` (optional: `push_target(env)`, `push(names, values)`) | secrets.provider (`env`, `command`, `encore`) |

A third-party package declares e.g. `[project.entry-points."stagecraft.drivers"] hetzner =
"stagecraft_hetzner.driver"`; `stagecraft.plugins.load("driver", "hetzner")` then imports it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .errors import UserError

GROUPS = {
    "driver": "stagecraft.drivers",
    "backend": "stagecraft.backends",
    "migration_engine": "stagecraft.migration_engines",
    "ci": "stagecraft.ci",
    "secrets": "stagecraft.secrets",
}


@lru_cache(maxsize=None)
def _entry_points(group: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(kind: str) -> list[str]:
    """The installed plugins of a kind, sorted."""
    return sorted(_entry_points(GROUPS[kind]))


def load(kind: str, name: str, *, key: str | None = None):
    """The plugin `name` of `kind`; an unknown name is a user error naming the config key."""
    ep = _entry_points(GROUPS[kind]).get(name)
    if ep is None:
        where = f"{key}: " if key else ""
        raise UserError(f"{where}unknown {kind.replace('_', ' ')} '{name}' "
                        f"(installed: {', '.join(names(kind)) or 'none'})",
                        hint=f"a plugin package registers one under the entry point group '{GROUPS[kind]}'")
    return ep.load()


def refresh() -> None:
    """Forget the entry points read so far (after installing a plugin in the same process, e.g. tests)."""
    _entry_points.cache_clear()
