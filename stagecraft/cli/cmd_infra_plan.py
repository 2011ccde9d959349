"""stagecraft infra status | plan: the environment's hosts, and what `infra up` would do."""

from __future__ import annotations

import click

from . import output
from .context import env_context
from .settings import global_options


@click.command("status", help="""List the environment's hosts with their state and address.

\b
Example:
  stagecraft infra status -e local -o json
""")
@global_options
def status():
    ctx = env_context()
    driver = ctx.driver("status")
    rows = driver.status(ctx.driver_context())

    def describe(rs):
        lines = [f"{'HOST':<14} {'STATE':<10} {'ADDRESS':<16} ROLES"]
        for r in rs:
            note = "" if r["declared"] else "  (not in stagecraft.yml)"
            lines.append(f"{r['host']:<14} {r['state']:<10} {r['address'] or '-':<16} {', '.join(r['roles'])}{note}")
        return "\n".join(lines)

    output.data({"environment": ctx.environment.name, "hosts": rows}, lambda d: describe(d["hosts"]))


@click.command("plan", help="""Show what 'infra up' would do, without changing anything.

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
        data = _plan_from_dry_run(ctx.driver("provision").provision(ctx.driver_context(), output.info,
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
