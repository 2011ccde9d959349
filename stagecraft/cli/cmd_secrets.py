"""stagecraft secrets list | diff | sync"""

from __future__ import annotations

import sys

import click

from . import output
from .cmd_deploy import LOCK_WAIT
from .context import deploy_session, env_context
from .settings import global_options, settings


@click.group(help="""Secrets: which are declared, where their values come from, what the hosts hold.

Values are never printed: `list` says set or unset, `diff` and `sync` name
what changed, from digests computed on each host.

\b
Examples:
  stagecraft secrets list -e prod
  stagecraft secrets diff -e prod -o json
  stagecraft secrets sync -e prod
""")
@global_options
def secrets():
    pass


@secrets.command("list", help="""The secrets of an environment: name, who uses it, where its value comes
from, and whether it is set here. Never the value.

\b
Example:
  stagecraft secrets list -e prod
""")
@global_options
def secrets_list():
    from ..deploy.envvars import env_names
    from ..secrets import provider_for

    ctx = env_context()
    provider = provider_for(ctx.config)
    names, values = env_names(ctx, require_values=False)
    users: dict[str, list[str]] = {}
    for svc in ctx.config.services.values():
        for n in svc.secrets:
            users.setdefault(n, []).append(svc.name)
    everyone = set(ctx.config.secrets.keys)
    rows = [{"name": n, "set": n in values, "source": provider.source(n),
             "used_by": sorted(users.get(n, [])) or ["all services"] if n in everyone else sorted(users.get(n, []))}
            for n in names]

    def describe(rs):
        if not rs:
            return "No secrets declared (secrets.keys, services.<s>.secrets, the env_file)."
        return "\n".join(f"{r['name']:<28} {'set' if r['set'] else 'UNSET':<6} {r['source']:<34} "
                         f"{', '.join(r['used_by'])}" for r in rs)

    output.data({"environment": ctx.environment.name, "provider": provider.name, "secrets": rows},
                lambda d: describe(d["secrets"]))
    if any(not r["set"] for r in rows if r["name"] in everyone or r["used_by"]):
        sys.exit(1)


def _describe_diff(d: dict) -> str:
    lines = []
    for host, r in sorted(d.items()):
        if "error" in r:
            lines.append(f"{host}: unreachable: {r['error']}")
            continue
        parts = [f"{k} {', '.join(v)}" for k, v in r.items() if v and k in ("added", "changed", "removed")]
        if "restarted" in r:  # after a sync: what the rollout replaced
            effect = f" -> restarted {', '.join(r['restarted']) or 'nothing'}"
        else:  # before: what uses the names
            effect = f" -> restarts {', '.join(r['services'])}" if r.get("services") else ""
        lines.append(f"{host}: " + ("; ".join(parts) if parts else "in sync") + effect)
    return "\n".join(lines)


@secrets.command("diff", help="""Which secrets differ between here and each host's .env: names only.

Exit 0 when every host holds exactly what a deploy would write, 1 otherwise.

\b
Example:
  stagecraft secrets diff -e prod
""")
@global_options
def secrets_diff():
    from ..deploy.envvars import IMAGE_TAG, env_names
    from ..deploy.hostenv import deploy_diffs
    
    ctx = env_context()
    names, values = env_names(ctx, require_values=False)
    release = ctx.current_release()
    result = deploy_diffs(deploy_session(ctx), sorted(set(names) | {IMAGE_TAG}), values,
                          release.version if release else None)
    output.data(result, _describe_diff)
    if any("error" in r or any(r.values()) for r in result.values()):
        sys.exit(1)


@secrets.command("sync", help="""Write the hosts' .env again with the current values; restart only the
services that use a changed one.

Compares each host's .env with the values here (names and digests only, like
`diff`), writes it on the hosts that differ and rolls them out like a deploy of
the current release: only services whose configuration changed restart, the
rolling ones without downtime. Recorded as a release of kind `secrets`.
With secrets.provider encore, the values of secrets.encore.environment are
also set as the Encore app's secrets (`encore secret set`, value on stdin).
A secret the deployed compose files do not use yet needs a deploy.

\b
Examples:
  stagecraft secrets sync -e prod
  stagecraft secrets sync -e prod --dry-run -o json
""")
@LOCK_WAIT
@global_options
def secrets_sync(lock_wait: float):
    from ..deploy import hostenv
    from ..deploy.envvars import deploy_env, env_names
    from ..errors import ExternalError, UserError
    from ..secrets import provider_for
    from ..state import journal, open_store

    ctx = env_context()
    env, dry_run = ctx.environment.name, settings().dry_run
    store = open_store(ctx.state_dir)
    journal.sync(ctx, store, warn=output.warn)  # what other machines deployed
    current = store.current(env)
    provider = provider_for(ctx.config)
    target = provider.push_target(env) if hasattr(provider, "push_target") else None
    if (current is None or not current.manifest.get("hosts")) and not target:
        raise UserError(f"nothing deployed to '{env}' yet: the first deploy writes the hosts' .env")
    data = {"environment": env, "dry_run": dry_run, "release": None, "of": None, "version": None, "hosts": {},
            "needs_deploy": [], "provider": None}
    plan = None
    if current is not None and current.manifest.get("hosts"):
        names, envvars = deploy_env(ctx, current.version)
        sync_session = deploy_session(ctx, envvars=envvars, env_names=names)
        plan = hostenv.plan_sync(sync_session, current, names)
        data.update({"of": current.id, "version": current.version, "hosts": plan.describe(),
                     "needs_deploy": plan.needs_deploy})
    if target:  # before the hosts: a failure there leaves the hosts as they were
        names, values = env_names(ctx, require_values=False)
        pushed = sorted(n for n in names if values.get(n) is not None)
        if not dry_run:
            pushed = provider.push(pushed, values)
        data["provider"] = {"name": provider.name, "target": target, "set": pushed}
    if plan is not None and plan.hosts and not dry_run:
        result = hostenv.sync(sync_session, plan, lock_wait=lock_wait)
        data["release"] = result.release
        for host in plan.hosts:
            services = (result.rollout.get(host) or {}).get("services") or {}
            data["hosts"][host]["restarted"] = sorted(n for n, o in services.items()
                                                      if (o or {}).get("result") not in (None, "unchanged"))
    if plan is not None and plan.unreachable:
        with output.result_on_failure(data, _describe_sync):
            raise ExternalError("secrets sync: not reached: "
                                + ", ".join(f"{h} ({e})" for h, e in plan.unreachable.items()))
    output.data(data, _describe_sync)


def _describe_sync(d: dict) -> str:
    lines = []
    if d["of"]:
        lines.append(f"{'Would sync' if d['dry_run'] else 'Synced'} the hosts' .env of {d['environment']} "
                     f"(current release {d['of']}, version {d['version']})")
        lines += ["  " + line for line in _describe_diff(d["hosts"]).splitlines()]
    else:
        lines.append(f"Nothing deployed to {d['environment']} yet: no host .env to sync")
    if d["provider"]:
        p = d["provider"]
        lines.append(f"{'Would set' if d['dry_run'] else 'Set'} {len(p['set'])} value(s) in {p['target']}"
                     + (f": {', '.join(p['set'])}" if p["set"] else ""))
    if d["needs_deploy"]:
        lines.append(f"Not used by the deployed compose files (a deploy adds them): {', '.join(d['needs_deploy'])}")
    if d["release"]:
        lines.append(f"Recorded as release {d['release']}")
    return "\n".join(lines)
