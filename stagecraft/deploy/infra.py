"""`infra up`'s steps after the driver's provision: the host roles through infra.yml, and what failed
hosts mean for the exit code (2: none could be provisioned or reached; 10: some failed)."""

from __future__ import annotations

from .. import hostkeys
from ..commands.infra_vars import playbook_envvars
from ..commands.inventory import to_list_json
from ..errors import ExternalError, PartialFailure
from ..runner import describe_failure, run_playbook


def configure(ctx, hosts: list[str], skip_bootstrap: bool, *, release, check: bool, verbosity: int = 0,
              quiet: bool = False):
    """Run the host roles (bootstrap, firewall, volumes, mesh) on `hosts` (all when empty); check: Ansible
    check mode with diff. Host keys are verified first. Returns the runner's result (never raises on
    failed hosts: raise_for_host_failures decides)."""
    hostkeys.verify(ctx.environment, to_list_json(ctx.inventory())["_meta"]["hostvars"], hosts)
    return run_playbook(ctx, "infra.yml", extravars={"stagecraft_skip_bootstrap": skip_bootstrap},
                        limit=",".join(hosts) if hosts else None, check=check, diff=check, release=release,
                        phase="configure", envvars=playbook_envvars(ctx.resolved), verbosity=verbosity,
                        display_mode="quiet" if quiet else "auto", raise_on_failure=False,
                        title=f"infra up: {ctx.environment.name}")


def raise_provision_failures(result, total: int) -> None:
    failed = result.failed
    detail = "\n".join(f"  {h.name}: {h.error}" for h in failed)
    if len(failed) == total:
        raise ExternalError(f"no host could be provisioned:\n{detail}")
    raise PartialFailure(f"{len(failed)} of {total} hosts failed; re-run 'infra up' to retry.\n{detail}")


def raise_for_host_failures(run) -> None:
    if run.ok:
        return
    failed = run.failed_hosts
    if run.hosts and len(run.unreachable_hosts) == len(run.hosts) or not run.hosts:
        raise ExternalError("no host could be reached: " + describe_failure(run))
    if len(failed) < len(run.hosts):
        raise PartialFailure(f"{len(failed)} of {len(run.hosts)} hosts failed; re-run 'infra up' to retry.\n"
                             + describe_failure(run))
    raise ExternalError(describe_failure(run))
