"""Driver `digitalocean`: droplets found by tags through the DigitalOcean API (pydo, imported lazily).

Same module interface as the local driver (discover/connection_defaults/provision/destroy/status) plus
`plan`. The pure planning lives in stagecraft.providers.digitalocean.plan, the API calls in .executor.
"""

from __future__ import annotations

from .. import known_hosts
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
    gpu = plan.gpu_sizes(ctx.config, ctx.environment)
    if gpu:
        raise UserError(f"{gpu[0]}: GPU sizes (gpu-*) are not supported: DigitalOcean does not return GPU "
                        "droplets in lists filtered by tag, so Stagecraft could not find them again",
                        hint="choose a non-GPU size")
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


def known_hosts_paths(ctx: DriverContext) -> dict:
    """host -> the known_hosts file its generated host key is recorded in."""
    return {h.name: known_hosts.known_hosts_path(ctx.state_dir, ctx.environment.name, h.ssh.known_hosts)
            for h in ctx.environment.hosts}


def provision(ctx: DriverContext, say, *, dry_run: bool = False, prune: bool = False, keep_volumes: bool = False):
    """Create missing droplets (each with a generated host key), power on stopped ones, create volumes and
    firewalls; wait for active, IPv4 and SSH.

    Never deletes unless prune=True (the CLI confirms first; the orphans' volumes go too unless
    keep_volumes); drift is reported, never changed.
    """
    plan_mod, executor, _ = _modules()
    from ..providers.digitalocean import cloud_init

    do = ctx.config.digitalocean
    project, env = ctx.config.project.name, ctx.environment.name
    user_file = cloud_init.read_user_file(ctx.config.base_dir, do.user_data)  # a bad file stops before any change
    api = _api(ctx, say)
    desired, actual, wanted_fw, planned = _read(ctx, api)
    key_ids = executor.resolve_ssh_keys(api, do.ssh_keys)
    outcomes = {}
    for item in planned.items:
        if item.action == "orphan":
            continue
        action = {"create": "would-create" if dry_run else "created", "keep": "unchanged",
                  "off": "would-start" if dry_run else "started"}.get(item.action, item.action)
        outcomes[item.host] = executor.HostOutcome(item.host, item.roles, action, item.address, item.name,
                                                   drift=item.drift)
    orphans = planned.by_action("orphan")
    result = executor.ProvisionResult(orphans=[i.name for i in orphans])
    if dry_run:
        result.hosts = list(outcomes.values())
        result.firewalls = planned.firewalls
        result.created_volumes = [v for i in planned.items for v in i.volumes]
        return result
    host_keys = executor.create_droplets(api, desired, planned.items, key_ids, do, user_file, project, env, say,
                                         outcomes)
    executor.power_on(api, planned.items, say, outcomes)
    waiting = {d.host: d.name for d in desired if outcomes[d.host].action != "failed"}
    ready = executor.wait_active(api, project, env, waiting, say, outcomes)
    for host, droplet in ready.items():
        outcomes[host].address = plan_mod.public_ipv4(droplet)
    ports = {h.name: h.ssh.port for h in ctx.environment.hosts}
    kh_paths = known_hosts_paths(ctx)
    executor.record_host_keys(host_keys, outcomes, kh_paths, ports)  # before the first contact
    result.created_volumes = executor.ensure_volumes(api, desired, ready, actual.volumes, project, env, say, outcomes)
    if wanted_fw:
        result.firewalls = executor.ensure_firewalls(api, wanted_fw, actual.firewalls, say)
    for host, outcome in outcomes.items():
        if outcome.action == "failed" or not outcome.address:
            continue
        say(f"waiting for SSH on {host} ({outcome.address})")
        recorded = known_hosts.lookup(kh_paths[host], outcome.address, ports[host])
        error = executor.wait_for_ssh(outcome.address, ports[host], recorded)
        if error:
            outcome.action, outcome.error = "failed", error
        else:
            outcome.ssh = f"ssh -p {ports[host]} {ctx.environment.host(host).ssh.user}@{outcome.address}"
    if prune and orphans:
        droplets = [d for d in actual.droplets if d["name"] in set(result.orphans)]
        errors = executor.destroy_droplets(api, droplets, say)
        result.pruned = [d["name"] for d in droplets if d["name"] not in errors]
        result.orphans = [n for n in result.orphans if n not in result.pruned]
        gone = [d for d in droplets if d["name"] in result.pruned]
        _forget_host_keys(ctx, gone)
        if not keep_volumes:
            volumes = [v for v in actual.volumes if any(plan_mod.volume_of(v, d) for d in gone)]
            errors = executor.delete_volumes(api, volumes, say)
            result.pruned_volumes = sorted(v["name"] for v in volumes if v["name"] not in errors)
    result.hosts = [outcomes[d.host] for d in desired]
    return result


def _forget_host_keys(ctx: DriverContext, droplets: list[dict]) -> None:
    """A deleted droplet's address may go to someone else's server: its recorded keys must not stay trusted."""
    plan_mod, _, _ = _modules()
    ports = {h.ssh.port for h in ctx.environment.hosts} | {22}
    for path in set(known_hosts_paths(ctx).values()):
        for address in filter(None, map(plan_mod.public_ipv4, droplets)):
            for port in ports:
                known_hosts.forget(path, address, port)


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
    known_hosts.known_hosts_path(ctx.state_dir, ctx.environment.name).unlink(missing_ok=True)  # never a user-managed file
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
