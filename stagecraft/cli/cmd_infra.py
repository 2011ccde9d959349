"""stagecraft infra up | down | status"""

from __future__ import annotations

import sys

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


def _interactive() -> bool:
    """A person can answer a prompt (scripts and CI must pass --yes instead)."""
    return sys.stdin is not None and sys.stdin.isatty()


def _driver_or_fail(ctx, operation: str):
    from ..errors import UserError

    driver = ctx.driver()
    if not hasattr(driver, operation):
        raise UserError(f"environments.{ctx.environment.name}.driver: driver '{ctx.environment.driver}' "
                        f"does not support 'infra {operation}'")
    return driver


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
    from ..commands.infra_vars import playbook_envvars, validate_limit
    from ..runner.recorder import recorded_release

    ctx = env_context()
    s = settings()
    driver = _driver_or_fail(ctx, "provision")
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
            configure = _configure(ctx, s, hosts, skip_bootstrap, release=None, check=True)
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
                _raise_provision_failures(result, total=len(result.hosts))
            hosts = ready
        if no_roles:
            rel.skip("configure", "--no-roles")
            data = {**_up_data(ctx, s, result, None), "release": rel.id}
        else:
            with rel.phase("configure"):
                configure = _configure(ctx, s, hosts, skip_bootstrap, release=rel, check=False)
                data = {**_up_data(ctx, s, result, configure), "release": rel.id}
                _raise_for_host_failures(configure, len(hosts or ctx.environment.hosts))
    if failed:
        output.data(data, _describe_up)
        _raise_provision_failures(result, total=len(result.hosts))
    output.data(data, _describe_up)


def _confirm_prune(ctx, driver, yes: bool) -> bool:
    """Ask before deleting orphans; without a TTY --yes is required."""
    from ..errors import UserError

    if not hasattr(driver, "plan"):
        raise UserError(f"--prune: driver '{ctx.environment.driver}' has no orphans to prune")
    orphans = [h["name"] for h in driver.plan(ctx.driver_context())["hosts"] if h["action"] == "orphan"]
    if not orphans or yes or settings().dry_run:
        return True
    if not _interactive():
        raise UserError("--prune needs confirmation: pass --yes to delete orphans non-interactively")
    click.confirm(f"Delete {len(orphans)} orphan host(s) of '{ctx.environment.name}' ({', '.join(orphans)})?",
                  abort=True)
    return True


def _raise_provision_failures(result, total: int) -> None:
    from ..errors import ExternalError, PartialFailure

    failed = result.failed
    detail = "\n".join(f"  {h.name}: {h.error}" for h in failed)
    if len(failed) == total:
        raise ExternalError(f"no host could be provisioned:\n{detail}")
    raise PartialFailure(f"{len(failed)} of {total} hosts failed; re-run 'infra up' to retry.\n{detail}")


def _configure(ctx, s, hosts, skip_bootstrap, *, release, check):
    from .. import hostkeys
    from ..commands.infra_vars import playbook_envvars
    from ..commands.inventory import to_list_json
    from ..runner import run_playbook

    hostkeys.verify(ctx.environment, to_list_json(ctx.inventory())["_meta"]["hostvars"], hosts)
    return run_playbook(ctx, "infra.yml", extravars={"stagecraft_skip_bootstrap": skip_bootstrap},
                        limit=",".join(hosts) if hosts else None, check=check, diff=check, release=release,
                        phase="configure", envvars=playbook_envvars(ctx.resolved), verbosity=s.verbose,
                        display_mode="quiet" if s.quiet else "auto", raise_on_failure=False,
                        title=f"infra up: {ctx.environment.name}")


def _raise_for_host_failures(run, expected: int) -> None:
    from ..errors import ExternalError, PartialFailure
    from ..runner import describe_failure

    if run.ok:
        return
    failed = run.failed_hosts
    if run.hosts and len(run.unreachable_hosts) == len(run.hosts) or not run.hosts:
        raise ExternalError("no host could be reached: " + describe_failure(run))
    if len(failed) < len(run.hosts):
        raise PartialFailure(f"{len(failed)} of {len(run.hosts)} hosts failed; re-run 'infra up' to retry.\n"
                             + describe_failure(run))
    raise ExternalError(describe_failure(run))


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


@infra.command(help="""Remove every host of the environment, its network and its volumes.

Asks for confirmation unless --yes is given. --keep-volumes keeps the hosts'
data volumes (/srv and the inner Docker's storage) so a later 'infra up'
finds the data again.

\b
Example:
  stagecraft infra down -e local --yes
""")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--keep-volumes", is_flag=True, help="Keep the hosts' data volumes.")
@global_options
def down(yes: bool, keep_volumes: bool):
    from ..errors import UserError

    ctx = env_context()
    s = settings()
    driver = _driver_or_fail(ctx, "destroy")
    plan = driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes, dry_run=True)
    if not plan["hosts"] and not plan["volumes"]:
        output.data({**plan, "environment": ctx.environment.name, "removed": False},
                    lambda d: f"Environment {d['environment']}: nothing to remove")
        return
    if not s.dry_run and not yes:
        if not _interactive():
            raise UserError("infra down needs confirmation: pass --yes to remove the hosts non-interactively")
        click.confirm(f"Remove {len(plan['hosts'])} host(s) of '{ctx.environment.name}' "
                      f"({', '.join(plan['hosts'])}){'' if keep_volumes else ' and their volumes'}?", abort=True)
    if s.dry_run:
        result = plan
    else:
        # Never remove hosts under a running deploy: the lock here and on the hosts (when they answer).
        from ..runner.recorder import host_lock_if_reachable
        from ..state import lock as locks

        with locks.env_lock(ctx.state_dir, ctx.environment.name), host_lock_if_reachable(ctx) as host_lock:
            result = driver.destroy(ctx.driver_context(), output.info, keep_volumes=keep_volumes)
            if host_lock is not None:
                host_lock.forget(result.get("hosts") or [])  # removed with their hosts: nothing to release
    data = {**result, "environment": ctx.environment.name, "removed": not s.dry_run}

    def describe(d):
        head = "would remove" if not d["removed"] else "removed"
        out = [f"Environment {d['environment']}: {head} {len(d['hosts'])} host(s): {', '.join(d['hosts']) or '-'}"]
        if d["kept_volumes"]:
            out.append(f"  kept volumes: {', '.join(d['kept_volumes'])}")
        elif d["volumes"]:
            out.append(f"  {head} volumes: {', '.join(d['volumes'])}")
        return "\n".join(out)

    output.data(data, describe)


@infra.command(help="""List the environment's hosts with their state and address.

\b
Example:
  stagecraft infra status -e local -o json
""")
@global_options
def status():
    ctx = env_context()
    driver = _driver_or_fail(ctx, "status")
    rows = driver.status(ctx.driver_context())

    def describe(rs):
        lines = [f"{'HOST':<14} {'STATE':<10} {'ADDRESS':<16} ROLES"]
        for r in rs:
            note = "" if r["declared"] else "  (not in stagecraft.yml)"
            lines.append(f"{r['host']:<14} {r['state']:<10} {r['address'] or '-':<16} {', '.join(r['roles'])}{note}")
        return "\n".join(lines)

    output.data({"environment": ctx.environment.name, "hosts": rows}, lambda d: describe(d["hosts"]))


@infra.command("plan", help="""Show what 'infra up' would do, without changing anything.

Per host: create (declared, missing), keep (exists as declared), drift (exists
with a different size or region: reported, never changed by 'infra up'), orphan
(tagged for this environment but no longer declared: 'infra up --prune'
deletes it). For digitalocean also the cloud firewalls and missing volumes.

\b
Examples:
  stagecraft infra plan -e prod
  stagecraft infra plan -e prod -o json
""")
@global_options
def plan_cmd():
    ctx = env_context()
    driver = ctx.driver()
    if hasattr(driver, "plan"):
        data = driver.plan(ctx.driver_context())
    else:
        data = _plan_from_dry_run(_driver_or_fail(ctx, "provision").provision(ctx.driver_context(), output.info,
                                                                             dry_run=True))
    data = {"environment": ctx.environment.name, "driver": ctx.environment.driver, **data}
    output.data(data, _describe_plan)


def _plan_from_dry_run(result) -> dict:
    actions = {"would-create": "create", "unchanged": "keep", "would-start": "start"}
    hosts = [{"host": h.name, "name": h.name, "action": actions.get(h.action, h.action), "roles": h.roles,
              "address": h.address, "drift": {}, "volumes": []} for h in result.hosts]
    hosts += [{"host": n, "name": n, "action": "orphan", "roles": [], "address": None, "drift": {}, "volumes": []}
              for n in result.orphans]
    summary = {a: sum(1 for h in hosts if h["action"] == a) for a in ("create", "keep", "drift", "orphan")}
    return {"hosts": hosts, "firewalls": [], "summary": summary}


def _describe_plan(d: dict) -> str:
    s = d["summary"]
    off = f"{s['off']} powered off, " if s.get("off") else ""
    lines = [f"Environment {d['environment']} ({d['driver']}): {s['create']} to create, {s['keep']} to keep, "
             f"{off}{s['drift']} drifted, {s['orphan']} orphaned"]
    for h in d["hosts"]:
        lines.append(f"  {h['action']:<7} {h['host']:<14} {h.get('address') or '-':<16} {', '.join(h['roles'])}")
        for key, diff in sorted(h["drift"].items()):
            lines.append(f"          {key}: declared {diff['declared']}, actual {diff['actual']} (not changed)")
        for vol in h.get("volumes") or ():
            lines.append(f"          volume {vol}: to create")
        if h["action"] == "orphan":
            lines.append("          not in stagecraft.yml ('infra up --prune' deletes it)")
        for vol in h.get("prune_volumes") or ():
            lines.append(f"          volume {vol}: deleted by --prune (unless --keep-volumes)")
        if h["action"] == "off":
            lines.append(f"          {h.get('status') or 'off'}: 'infra up' powers it on")
    for fw in d["firewalls"]:
        lines.append(f"  firewall {fw['name']}: {fw['action']}")
    return "\n".join(lines)
