"""Where secret values come from: providers behind one interface, chosen by `secrets.provider`.

    values = provider_for(config).values(names, variables)   # name -> value, only for `names`
    provider.source(name)                                    # where a value comes from (`secrets list`)

A provider that fronts a store of its own may also take values there (`secrets sync` calls this before it
touches the hosts): `push_target(environment)` says where, or None for an environment it leaves alone,
and `push(names, values)` sets them, returning the names set (`encore`).

Providers are plugins (`stagecraft.plugins`, entry point group `stagecraft.secrets`; the built-ins are
registered the same way), so a package can add one. A provider never prints or logs a value; errors
name the secret, never its value.
"""

from __future__ import annotations


def provider_for(config):
    from ..plugins import load

    return load("secrets", config.secrets.provider, key="secrets.provider")(config)
