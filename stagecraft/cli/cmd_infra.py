"""stagecraft infra up | down | status"""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options, settings
from .types import Seconds


@click.group(help="""Create, inspect and remove the hosts of an environment.

\b
Drivers: local (Debian containers on this machine that behave like small VMs),
digitalocean (droplets), ssh (existing hosts: nothing to create).

\b
Examples:
  stagecraft infra up -e local
  stagecraft infra status -e local -o json
  stagecraft infra down -e local --yes
""")
@global_options
def infra():
    pass


def _subcommands() -> None:
    # One module per subcommand; they are small, so the group loads them all.
    from .cmd_infra_down import down
    from .cmd_infra_plan import plan_cmd, status

    for command in (down, status, plan_cmd):
        infra.add_command(command)


@infra.command(help="""Create the hosts that are missing, then prepare every host with the roles.

Idempotent: existing hosts are left alone (stopped ones are started), then the
bundled roles run on all hosts: bootstrap (Docker + Compose v2), firewall,
volumes and, when configured, the Tailscale mesh. Re-running is the retry; a
second run changes nothing and says so. The run is recorded as a release of
kind 'infra' (stagecraft releases list --kind infra).

\b
Exit codes: 0 all hosts ready; 10 some hosts failed (named, with the failed
step); 2 no host could be reached or the driver failed; 1 config errors.

\b
Examples:
  stagecraft infra up -e local
  stagecraft infra up -e prod --limit app-1 --skip-bootstrap
  stagecraft infra up -e local --dry-run      # Ansible check mode with diff
""")
@click.option("--limit", metavar="HOST[,HOST]", help="Run the roles on these hosts only.")
@click.option("--skip-bootstrap", is_flag=True, help="Skip the bootstrap role (Docker is already installed).")
@click.option("--no-roles", is_flag=True, help="Only create/start the hosts; do not run the host roles.")
@click.option("--lock-wait", type=Seconds(min=0), default=0, metavar="SECONDS",
              help="Wait up to SECONDS for another run on this environment to finish.")
@click.option("--prune", is_flag=True, help="Also delete orphans: hosts tagged for this environment but no "
              "longer declared, and their volumes (asks first unless --yes; digitalocean).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --prune deletes anything.")
@click.option("--keep-volumes", is_flag=True, help="With --prune: keep the pruned hosts' volumes.")
@global_options
def up(limit: str | None, skip_bootstrap: bool, no_roles: bool, lock_wait: float, prune: bool, yes: bool,
       keep_volumes: bool):
    from ..commands.hosts import validate_limit
    from ..deploy.infra import raise_for_host_failures, raise_provision_failures
    from ..runner.recorder import recorded_release

    ctx = env_context()
    s = settings()
    driver = ctx.driver("provision")
    hosts = validate_limit(ctx.environment, limit)
    extra = {}
    if prune:
        extra["prune"] = _confirm_prune(ctx, driver, yes) and not s.dry_run
        if keep_volumes:
            extra["keep_volumes"] = True
    if s.dry_run:
        result = driver.provision(ctx.driver_context(), output.info, dry_run=True)
        configure = None
        if all(h.action in ("unchanged", "drift", "existing") for h in result.hosts) and not no_roles:
            configure = _configure(ctx, hosts, skip_bootstrap, release=None, check=True)
        output.data(_up_data(ctx, s, result, configure), _describe_up)
        return
    with recorded_release(ctx, kind="infra", phases=("provision", "configure"), lock_wait=lock_wait,
                          version=ctx.environment.name) as rel:
        with rel.phase("provision"):
            result = driver.provision(ctx.driver_context(), output.info, **extra)
        failed = [h.name for h in getattr(result, "failed", [])]
        if failed:
            # Hosts that could not be created or reached are named; the others still get their roles.
            ready = [h.name for h in result.hosts if h.name not in failed and (not hosts or h.name in hosts)]
            if not ready:
                raise_provision_failures(result, total=len(result.hosts))
            hosts = ready
        if no_roles:
            rel.skip("configure", "--no-roles")
            data = {**_up_data(ctx, s, result, None), "release": rel.id}
        else:
            with rel.phase("configure"):
                configure = _configure(ctx, hosts, skip_bootstrap, release=rel, check=False)
                data = {**_up_data(ctx, s, result, configure), "release": rel.id}
                raise_for_host_failures(configure)
    if failed:
        with output.result_on_failure(data, _describe_up):
            raise_provision_failures(result, total=len(result.hosts))
    output.data(data, _describe_up)


def _confirm_prune(ctx, driver, yes: bool) -> bool:
    """Ask before deleting orphans; without a TTY --yes is required."""
    from ..errors import UserError

    if not hasattr(driver, "plan"):
        raise UserError(f"--prune: driver '{ctx.environment.driver}' has no orphans to prune")
    orphans = [h["name"] for h in driver.plan(ctx.driver_context())["hosts"] if h["action"] == "orphan"]
    if not orphans or yes or settings().dry_run:
        return True
    if not output.interactive():
        raise UserError("--prune needs confirmation: pass --yes to delete orphans non-interactively")
    click.confirm(f"Delete {len(orphans)} orphan host(s) of '{ctx.environment.name}' ({', '.join(orphans)})?",
                  abort=True)
    return True


def _configure(ctx, hosts, skip_bootstrap, *, release, check):
    from ..deploy.infra import configure

    s = settings()
    return configure(ctx, hosts, skip_bootstrap, release=release, check=check, verbosity=s.verbose, quiet=s.quiet)


def _up_data(ctx, s, result, configure) -> dict:
    return {
        "environment": ctx.environment.name,
        "driver": ctx.environment.driver,
        "dry_run": s.dry_run,
        "changed": result.changed or bool(configure and configure.changed),
        "hosts": [{**h.__dict__, "configure": (configure.hosts.get(h.name) if configure else None)}
                  for h in result.hosts],
        "orphans": result.orphans,
        "pruned": getattr(result, "pruned", []),
        "pruned_volumes": getattr(result, "pruned_volumes", []),
        "firewalls": getattr(result, "firewalls", []),
        "release": None,
    }


def _describe_up(d: dict) -> str:
    lines = []
    failed = sum(1 for h in d["hosts"] if h["action"] == "failed")
    verb = "dry run" if d["dry_run"] else ("changed" if d["changed"] else "no changes: every host is ready")
    if failed and not d["dry_run"]:
        verb = f"{'changed; ' if d['changed'] else ''}{failed} host{'s' if failed > 1 else ''} failed"
    lines.append(f"Environment {d['environment']} ({d['driver']}): {verb}")
    for h in d["hosts"]:
        c = h.get("configure")
        recap = (f"ok={c['ok']} changed={c['changed']} failed={c['failed']} unreachable={c['unreachable']}"
                 if c else "")
        lines.append(f"  {h['name']:<14} {h['action']:<12} {h['address'] or '-':<16} {recap}")
        if h.get("ssh"):
            lines.append(f"  {'':<14} {h['ssh']}")
        for key, diff in sorted((h.get("drift") or {}).items()):
            lines.append(f"  {'':<14} {key}: declared {diff['declared']}, actual {diff['actual']} (not changed)")
        if h.get("error"):
            lines.append(f"  {'':<14} failed: {h['error']}")
    for name in d["orphans"]:
        lines.append(f"  {name:<14} not in stagecraft.yml (left alone; 'infra down' removes every host)")
    for name in d.get("pruned") or ():
        lines.append(f"  {name:<14} pruned (was not in stagecraft.yml)")
    for name in d.get("pruned_volumes") or ():
        lines.append(f"  volume {name} deleted with its pruned host")
    return "\n".join(lines)


_subcommands()
