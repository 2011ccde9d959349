"""Where secret values come from: providers behind one interface, chosen by `secrets.provider`.

    values = provider_for(config).values(names, variables)   # name -> value, only for `names`

Providers are registered as entry points in the group `stagecraft.secrets` (built-ins included), so
a package can add one. A provider never prints or logs a value; errors name the secret, never its value.
"""

from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "stagecraft.secrets"


def provider_for(config):
    from ..errors import UserError

    name = config.secrets.provider
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()(config)
    known = sorted(ep.name for ep in entry_points(group=GROUP))
    raise UserError(f"secrets.provider: no provider '{name}' is installed (installed: {', '.join(known) or 'none'})")
