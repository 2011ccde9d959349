"""Driver `ssh`: existing hosts whose addresses are written in the config.

Nothing is created; `infra up` runs the roles on them. Their host keys are trusted only through
`stagecraft hosts trust` (or a known_hosts file the user manages): see spec/trust.md.
"""

from __future__ import annotations

from . import DriverContext, HostFacts


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    return {h.name: HostFacts(address=h.address) for h in ctx.environment.hosts if h.address}


def connection_defaults(ctx: DriverContext) -> dict:
    return {}


def host_vars(ctx: DriverContext, host) -> dict:
    return {}


def provision(ctx: DriverContext, say, *, dry_run: bool = False):
    """The declared hosts as they are ("existing"); makes the environment's known_hosts directory."""
    from ..commands.ssh import known_hosts_path
    from ..paths import ensure_private_dir
    from .local import HostResult, ProvisionResult

    if not dry_run:
        ensure_private_dir(known_hosts_path(ctx.state_dir, ctx.environment.name).parent)
    return ProvisionResult(hosts=[HostResult(h.name, list(h.roles), "existing", h.address)
                                  for h in ctx.environment.hosts])
