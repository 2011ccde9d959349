"""Driver `digitalocean`: droplets found by tags through the DigitalOcean API (pydo, imported lazily).

Same module interface as the local driver (discover/connection_defaults/provision/destroy/status) plus
`plan`. The pure planning lives in stagecraft.providers.digitalocean.plan, the API calls in .executor.
"""

from __future__ import annotations

from ..errors import PartialFailure, UserError
from . import DriverContext, HostFacts


def _modules():
    from ..providers.digitalocean import executor, plan
    from ..providers.digitalocean.api import Api

    return plan, executor, Api


def _api(ctx: DriverContext, say=lambda msg: None):
    do = ctx.config.digitalocean
    if do is None:
        raise UserError(f"environments.{ctx.environment.name}.driver: driver 'digitalocean' needs cloud.digitalocean")
    _, _, Api = _modules()
    return Api(do.token_env, say=say)


def _read(ctx: DriverContext, api):
    plan, executor, _ = _modules()
    wanted_fw = plan.firewall_bodies(ctx.config, ctx.environment) if ctx.config.digitalocean.firewall_enabled else []
    all_fw_names = {plan.firewall_name(ctx.config.project.name, ctx.environment.name, public=x) for x in (False, True)}
    actual = executor.read_actual(api, ctx.config.project.name, ctx.environment.name, all_fw_names)
    desired = plan.desired_droplets(ctx.config, ctx.environment)
    return desired, actual, wanted_fw, plan.plan(desired, actual.droplets, actual.volumes, actual.firewalls, wanted_fw)


def host_vars(ctx: DriverContext, host) -> dict:
    """Attached DigitalOcean volumes: the volumes role formats (if empty) and mounts them."""
    from ..providers.digitalocean.plan import block_volumes

    base = ctx.config.volumes.for_host(host.roles)["block"]
    return {"volumes_block": base + block_volumes(ctx.config, ctx.environment, host)}


def plan(ctx: DriverContext) -> dict:
    """create / keep / drift / orphan per host, plus firewalls: read-only."""
    _, _, _, result = _read(ctx, _api(ctx))
    return result.to_dict()


def discover(ctx: DriverContext) -> dict[str, HostFacts]:
    plan_mod, executor, _ = _modules()
    api = _api(ctx)
    project, env = ctx.config.project.name, ctx.environment.name
    by_name = {d["name"]: d for d in executor.read_actual(api, project, env, set()).droplets}
    out = {}
    for host in ctx.environment.hosts:
        d = by_name.get(plan_mod.droplet_name(project, env, host.name))
        if d and plan_mod.public_ipv4(d):
            out[host.name] = HostFacts(address=plan_mod.public_ipv4(d), state=d.get("status", "active"),
                                       extra={"droplet_id": d["id"]})
    return out


def connection_defaults(ctx: DriverContext) -> dict:
    # The key is the user's (environments.<env>.ssh.key); DigitalOcean installs its public half.
    return {}


def provision(ctx: DriverContext, say, *, dry_run: bool = False, prune: bool = False):
    """Create missing droplets (multi-create), volumes and firewalls; wait for active, IPv4 and SSH.

    Never deletes unless prune=True (the CLI confirms first); drift is reported, never changed.
    """
    plan_mod, executor, _ = _modules()
    do = ctx.config.digitalocean
    project, env = ctx.config.project.name, ctx.environment.name
    api = _api(ctx, say)
    desired, actual, wanted_fw, planned = _read(ctx, api)
    key_ids = executor.resolve_ssh_keys(api, do.ssh_keys)
    outcomes = {}
    for item in planned.items:
        if item.action == "orphan":
            continue
        action = {"create": "would-create" if dry_run else "created", "keep": "unchanged"}.get(item.action, item.action)
        outcomes[item.host] = executor.HostOutcome(item.host, item.roles, action, item.address, item.name,
                                                   drift=item.drift)
    result = executor.ProvisionResult(orphans=[i.name for i in planned.by_action("orphan")])
    if dry_run:
        result.hosts = list(outcomes.values())
        result.firewalls = planned.firewalls
        result.created_volumes = [v for i in planned.items for v in i.volumes]
        return result
    executor.create_droplets(api, plan_mod.create_batches(planned.items, desired), key_ids, do,
                            project, env, say, outcomes)
    waiting = {d.host: d.name for d in desired if outcomes[d.host].action != "failed"}
    ready = executor.wait_active(api, project, env, waiting, say, outcomes)
    for host, droplet in ready.items():
        outcomes[host].address = plan_mod.public_ipv4(droplet)
    result.created_volumes = executor.ensure_volumes(api, desired, ready, actual.volumes, project, env, say, outcomes)
    if wanted_fw:
        result.firewalls = executor.ensure_firewalls(api, wanted_fw, actual.firewalls, say)
    ports = {h.name: h.ssh.port for h in ctx.environment.hosts}
    for host, outcome in outcomes.items():
        if outcome.action == "failed" or not outcome.address:
            continue
        say(f"waiting for SSH on {host} ({outcome.address})")
        error = executor.wait_for_ssh(outcome.address, ports[host])
        if error:
            outcome.action, outcome.error = "failed", error
        else:
            outcome.ssh = f"ssh -p {ports[host]} {ctx.environment.host(host).ssh.user}@{outcome.address}"
    if prune and planned.by_action("orphan"):
        orphans = [d for d in actual.droplets if d["name"] in set(result.orphans)]
        errors = executor.destroy_droplets(api, orphans, say)
        result.pruned = [d["name"] for d in orphans if d["name"] not in errors]
    result.hosts = [outcomes[d.host] for d in desired]
    return result


def destroy(ctx: DriverContext, say, *, keep_volumes: bool = False, dry_run: bool = False) -> dict:
    """Destroy every tagged droplet of the environment, its firewalls and (unless kept) its volumes."""
    _, executor, _ = _modules()
    api = _api(ctx, say)
    _, actual, _, _ = _read(ctx, api)
    volumes = sorted(v["name"] for v in actual.volumes)
    result = {"hosts": sorted(d["name"] for d in actual.droplets), "volumes": [] if keep_volumes else volumes,
              "kept_volumes": volumes if keep_volumes else [], "firewalls": sorted(f["name"] for f in actual.firewalls)}
    if dry_run:
        return result
    errors = executor.destroy_droplets(api, actual.droplets, say)
    executor.delete_firewalls(api, actual.firewalls, say)
    if not keep_volumes:
        errors.update(executor.delete_volumes(api, actual.volumes, say))
    (ctx.state_dir / "known_hosts" / ctx.environment.name).unlink(missing_ok=True)
    if errors:
        raise PartialFailure("could not remove: " + "; ".join(f"{n}: {e}" for n, e in sorted(errors.items()))
                             + "\nre-run 'infra down' to retry")
    return result


def status(ctx: DriverContext) -> list[dict]:
    plan_mod, _, _ = _modules()
    _, _, _, planned = _read(ctx, _api(ctx))
    return [{"host": i.host, "roles": i.roles, "declared": i.action != "orphan",
             "state": "absent" if i.action == "create" else (i.status or "unknown"), "address": i.address,
             "droplet": i.name, "size": i.size, "region": i.region}
            for i in planned.items]
