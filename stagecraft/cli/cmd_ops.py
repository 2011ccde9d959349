"""Day-2 operations on a running environment: status, logs, ssh, exec, audit."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import click

from ..deploy.retention import RETAIN_RELEASES
from . import output
from .context import env_context
from .settings import global_options, settings
from .types import COUNT, Seconds


def _hostvars(ctx) -> dict:
    from ..deploy.session import Session

    return Session(ctx).inventory().hostvars


def _ssh(hostvars: dict, host: str, *, tty: bool = False) -> list[str]:
    from ..commands.ssh import argv as ssh_argv
    from ..errors import UserError

    hv = hostvars.get(host)
    if hv is None:
        raise UserError(f"unknown host '{host}'; hosts: {', '.join(sorted(hostvars))}")
    if "ansible_host" not in hv:
        raise UserError(f"host {host} has no address yet: run 'stagecraft infra up' first")
    argv = ssh_argv(hv)
    return argv[:-1] + (["-t"] if tty else []) + argv[-1:]


def _current_release(ctx):
    from ..state import open_store

    return open_store(ctx.state_dir, read_only=True).current(ctx.environment.name)


def _pick_hosts(ctx, host: str | None, role: str | None, service: str | None = None) -> list[str]:
    from ..errors import UserError

    env = ctx.environment
    names = [h.name for h in env.hosts]
    if host:
        if host not in names:
            raise UserError(f"--host: unknown host '{host}'; hosts: {', '.join(names)}")
        return [host]
    chosen = [h.name for h in env.hosts
              if (not role or role in h.roles)
              and (not service or service in ctx.config.services_for_roles(h.roles))]
    if role and role not in ctx.config.roles:
        raise UserError(f"--role: unknown role '{role}'; roles: {', '.join(sorted(ctx.config.roles))}")
    return chosen


# ---- status --------------------------------------------------------------------------------------

def _expected(manifest_host: dict) -> dict:
    import yaml

    doc = yaml.safe_load(manifest_host.get("compose") or "") or {}
    out = {}
    for name, spec in (doc.get("services") or {}).items():
        out[name] = {"image": spec.get("image"),
                     "replicas": int(((spec.get("deploy") or {}).get("replicas")) or 1)}
    return out


def _status(ctx) -> dict:
    from ..commands import remote

    hostvars = _hostvars(ctx)
    release = _current_release(ctx)
    deployed = (release.manifest.get("hosts") if release else None) or {}
    project = ctx.config.project.name

    def probe(host: str) -> dict:
        try:
            argv = _ssh(hostvars, host)
        except Exception as exc:  # no address yet
            return {"host": host, "state": "unreachable", "detail": str(exc), "services": {}, "routes": {}}
        proc = subprocess.run(argv + [remote.status_script(project)], capture_output=True, text=True, timeout=60)
        if proc.returncode == 255:
            return {"host": host, "state": "unreachable", "detail": proc.stderr.strip()[-300:], "services": {},
                    "routes": {}}
        containers, routes = remote.parse_status(proc.stdout)
        services = remote.compare(_expected(deployed.get(host) or {}), containers)
        state = "ok" if all(s["state"] == "ok" for s in services.values()) else "drifted"
        if host not in deployed:
            state = "ok" if not services else "drifted"
        return {"host": host, "state": state, "services": services, "routes": routes}

    hosts = [h.name for h in ctx.environment.hosts]
    with ThreadPoolExecutor(max_workers=min(16, len(hosts) or 1)) as pool:
        results = list(pool.map(probe, hosts))
    return {"environment": ctx.environment.name, "release": release.id if release else None,
            "version": release.version if release else None,
            "ok": bool(release) and all(r["state"] == "ok" for r in results), "hosts": results}


def _describe_status(d: dict) -> str:
    lines = [f"Environment {d['environment']}: release {d['release'] or '(none deployed)'}"
             + (f" version {d['version']}" if d["version"] else "")]
    for h in d["hosts"]:
        lines.append(f"  {h['host']:<14} {h['state']}" + (f"  {h['detail']}" if h.get("detail") else ""))
        for name, svc in sorted(h["services"].items()):
            health = ",".join(svc.get("health") or []) or "-"
            lines.append(f"      {name:<22} {svc['state']:<10} {svc.get('containers', 0)}/{svc.get('expected', '-')} "
                         f"{health:<10} restarts {svc.get('restarts', 0):<3} {svc.get('image') or ''}"
                         + (f"  ({svc['detail']})" if svc.get("detail") else ""))
        for route, servers in sorted(h["routes"].items()):
            lines.append(f"      route {route} -> {' '.join(servers) or '(none)'}")
    lines.append("All hosts run the release." if d["ok"] else "Not everything runs the release (exit 1).")
    return "\n".join(lines)


@click.command(help="""Show what runs on every host, compared with the last release.

Per host and service: image, running/expected containers, health, restarts,
and a state: ok, drifted (how), missing or unhealthy; plus the edge proxy's
live routes. Exit 0 when every host runs the last completed release, 1
otherwise (usable from monitoring); unreachable hosts count as not matching.

\b
Examples:
  stagecraft status -e prod
  stagecraft status -e prod -o json
  stagecraft status -e prod --watch 5
""")
@click.option("--watch", "watch", type=Seconds(min=1), metavar="SECONDS", default=None,
              help="Refresh every SECONDS until Ctrl-C.")
@global_options
def status(watch: float | None):
    ctx = env_context()
    while True:
        data = _status(ctx)
        if watch and not settings().json:
            click.clear()
        output.data(data, _describe_status)
        if not watch:
            break
        time.sleep(watch)
    if not data["ok"]:
        sys.exit(1)


# ---- logs ----------------------------------------------------------------------------------------

@click.command(help="""Print a service's logs from every host that runs it, merged.

Each line is prefixed with host and container. With -f, follows until
Ctrl-C and picks up the containers a rolling deploy starts.

\b
Examples:
  stagecraft logs -e prod web --tail 100
  stagecraft logs -e prod web -f --grep ERROR
  stagecraft logs -e prod worker --host app-2 --since 10m
""")
@click.argument("service")
@click.option("--host", metavar="HOST", help="Only this host.")
@click.option("--role", metavar="ROLE", help="Only hosts with this role.")
@click.option("-f", "--follow", is_flag=True, help="Keep following; new containers are picked up.")
@click.option("--since", metavar="WHEN", help="Since a time or duration (docker logs --since: 10m, 2026-12-01T10:00).")
@click.option("--tail", type=click.IntRange(min=0, max=COUNT.max), metavar="N", help="Last N lines per container.")
@click.option("--grep", "pattern", metavar="REGEX", help="Only lines matching this regular expression.")
@global_options
def logs(service: str, host: str | None, role: str | None, follow: bool, since: str | None, tail: int | None,
         pattern: str | None):
    import re
    import threading

    from ..commands import remote
    from ..errors import UserError

    ctx = env_context()
    if service not in ctx.config.placement:
        raise UserError(f"unknown service '{service}'; services: {', '.join(sorted(ctx.config.placement))}")
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise UserError(f"--grep: invalid regular expression: {exc}") from None
    hosts = _pick_hosts(ctx, host, role, service)
    if not hosts:
        raise UserError(f"no host of '{ctx.environment.name}' runs service '{service}'"
                        + (f" with role '{role}'" if role else ""))
    hostvars = _hostvars(ctx)
    script = remote.logs_script(ctx.config.project.name, service, follow=follow, since=since, tail=tail)
    colors = ["cyan", "magenta", "green", "yellow", "blue", "red"]
    lock = threading.Lock()
    json_out = settings().json
    color = settings().color  # read here: the pump threads have no click context
    procs = []

    def pump(i: int, h: str, proc):
        for line in proc.stdout:
            line = line.rstrip("\n")
            if regex and not regex.search(line):
                continue
            container, _, text = line.partition(" | ")
            with lock:
                if json_out:
                    output.emit_json_line({"host": h, "container": container, "line": text})
                else:
                    prefix = click.style(f"{h} {container} |", fg=colors[i % len(colors)]) \
                        if color else f"{h} {container} |"
                    click.echo(f"{prefix} {text}")

    threads = []
    try:
        for i, h in enumerate(hosts):
            proc = subprocess.Popen(_ssh(hostvars, h) + [script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True, errors="replace")
            procs.append(proc)
            t = threading.Thread(target=pump, args=(i, h, proc), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()


# ---- ssh / exec ----------------------------------------------------------------------------------

@click.command(help="""Open a shell on a host (the host key is checked against the environment's known_hosts).

Anything after HOST runs instead of a shell.

\b
Examples:
  stagecraft ssh -e prod app-1
  stagecraft ssh -e prod db-1 -- df -h
""")
@click.argument("host")
@click.argument("command", nargs=-1)
@global_options
def ssh(host: str, command: tuple[str, ...]):
    import os
    import shlex

    ctx = env_context()
    argv = _ssh(_hostvars(ctx), host, tty=not command and sys.stdin.isatty())
    if command:
        argv += [" ".join(shlex.quote(c) for c in command)]
    os.execvp(argv[0], argv)


@click.command("exec", help="""Run a command in a service's container.

By default in the first running container of SERVICE on the first host that
runs it (--host to choose). --new runs a one-off container of the image the
last release deployed, with the host's .env (like `kamal app exec`). -it
attaches a terminal.

\b
Examples:
  stagecraft exec -e prod web -- ls /app
  stagecraft exec -e prod -it db -- psql -U shop
  stagecraft exec -e prod --new web -- ./manage.py migrate --check
""")
@click.argument("service")
@click.argument("command", nargs=-1, required=True)
@click.option("--host", metavar="HOST", help="Run on this host.")
@click.option("-it", "interactive", is_flag=True, help="Interactive, with a terminal.")
@click.option("--new", "new", is_flag=True, help="A one-off container of the release's image.")
@global_options
def exec_(service: str, command: tuple[str, ...], host: str | None, interactive: bool, new: bool):
    from ..commands import remote
    from ..commands.compose_render import deployed_refs
    from ..errors import UserError

    ctx = env_context()
    if service not in ctx.config.placement:
        raise UserError(f"unknown service '{service}'; services: {', '.join(sorted(ctx.config.placement))}")
    hosts = _pick_hosts(ctx, host, None, service)
    if not hosts:
        raise UserError(f"no host of '{ctx.environment.name}' runs service '{service}'")
    image = None
    if new:
        release = _current_release(ctx)
        image = deployed_refs(release.manifest if release else {}).get(service)
        if not image:
            raise UserError(f"--new: no completed release of '{ctx.environment.name}' runs '{service}' yet")
    script = remote.exec_script(ctx.config.project.name, service, list(command), interactive=interactive, new=image)
    argv = _ssh(_hostvars(ctx), hosts[0], tty=interactive)
    proc = subprocess.run(argv + [script])
    if proc.returncode == 255:
        from ..errors import ExternalError

        raise ExternalError(f"ssh to {hosts[0]} failed")
    sys.exit(proc.returncode)


# ---- audit ---------------------------------------------------------------------------------------

@click.command(help="""Who deployed what, from where, when, with what result.

From the release records: every deploy, rollback and infra run with its
version, the user and machine (and CI run) that ran it, the command, and the
outcome.

\b
Examples:
  stagecraft audit -e prod
  stagecraft audit -e prod --limit 200 -o json
""")
@click.option("--limit", type=COUNT, default=50, show_default=True, help="At most N entries.")
@global_options
def audit(limit: int):
    from ..state import open_store

    s = settings()
    store = open_store(s.state_dir, read_only=True)
    rows = []
    for r in store.list_releases(s.get("env"), limit=limit):
        rel = store.get_release(r["id"])
        actor = (rel.manifest or {}).get("actor") or {}
        failed = next((p for p in rel.phases if p.status in ("failed", "interrupted")), None)
        rows.append({"release": r["id"], "environment": r["environment"], "kind": r["kind"],
                     "version": r["version"], "started": r["created_at"], "finished": rel.finished_at,
                     "status": r["status"], "user": actor.get("user"), "machine": actor.get("machine"),
                     "ci": actor.get("ci"), "command": rel.command,
                     "failure": f"{failed.name}: {failed.message}" if failed else None})

    def describe(rs):
        if not rs:
            return "No releases recorded"
        lines = []
        for r in rs:
            who = f"{r['user'] or '?'}@{r['machine'] or '?'}"
            if r["ci"]:
                who += f" (ci {r['ci'].get('provider')} {r['ci'].get('actor', '')} run {r['ci'].get('run_id', '')})"
            lines.append(f"{r['started'][:19].replace('T', ' ')}  {r['environment']:<10} {r['kind']:<8} "
                         f"{r['version'] or '-':<18} {r['status']:<11} {who}  {r['command'] or ''}"
                         + (f"\n    {r['failure']}" if r["failure"] else ""))
        return "\n".join(lines)

    output.data(rows, describe)


# ---- prune ---------------------------------------------------------------------------------------


@click.command(help="""Free disk space on the hosts, keeping what a rollback needs.

Removes the project's stopped containers, the project's images that none of
the last N completed releases (default 5) uses and no container runs, and
dangling images; reports what was removed and the space reclaimed. A deploy
prunes like this after it completes (services.<s> images of older releases).

\b
Examples:
  stagecraft prune -e prod
  stagecraft prune -e prod --keep 10 -o json
""")
@click.option("--keep", type=COUNT, default=RETAIN_RELEASES, show_default=True,
              help="Keep the images of the last N completed releases.")
@global_options
def prune(keep: int):
    from ..errors import PartialFailure

    from ..deploy.retention import prune as prune_hosts
    from ..deploy.session import Session

    ctx = env_context()
    data = prune_hosts(Session(ctx, say=output.info, warn=output.warn), keep)

    def describe(d):
        lines = [f"Kept {len(d['kept'])} image(s) of the last {keep} release(s)."]
        for host, r in sorted(d["hosts"].items()):
            if "error" in r:
                lines.append(f"  {host:<14} failed: {r['error']}")
            else:
                lines.append(f"  {host:<14} removed {len(r['removed'])} image(s), {r['bytes'] / 1e6:.1f} MB"
                             + (f"; dangling: {r['dangling_reclaimed']}" if r["dangling_reclaimed"] else ""))
        return "\n".join(lines)

    output.data(data, describe)
    failed = [h for h, r in data["hosts"].items() if "error" in r]
    if failed:
        raise PartialFailure(f"prune failed on {', '.join(sorted(failed))}")


# ---- secrets -------------------------------------------------------------------------------------

@click.group(help="""Secrets: which are declared, where their values come from, what the hosts hold.

Values are never printed: `list` says set or unset, `diff` compares digests
computed on each host with those of the values a deploy would write.

\b
Examples:
  stagecraft secrets list -e prod
  stagecraft secrets diff -e prod -o json
""")
@global_options
def secrets():
    pass


def _wanted(ctx) -> tuple[list[str], dict, dict]:
    from ..deploy.envvars import env_names

    names, values = env_names(ctx, require_values=False)
    names = sorted(set(names) | {"IMAGE_TAG"})
    return names, values, {n: s for s in ctx.config.services.values() for n in s.secrets}


@secrets.command("list", help="""The secrets of an environment: name, who uses it, where its value comes
from, and whether it is set here. Never the value.

\b
Example:
  stagecraft secrets list -e prod
""")
@global_options
def secrets_list():
    from ..secrets import provider_for

    ctx = env_context()
    provider = provider_for(ctx.config)
    names, values, _ = _wanted(ctx)
    users: dict[str, list[str]] = {}
    for svc in ctx.config.services.values():
        for n in svc.secrets:
            users.setdefault(n, []).append(svc.name)
    rows = [{"name": n, "set": n in values, "source": provider.source(n),
             "used_by": sorted(users.get(n, [])) or ["all services"] if n in ctx.config.secrets.keys else
             sorted(users.get(n, []))}
            for n in names if n != "IMAGE_TAG"]

    def describe(rs):
        if not rs:
            return "No secrets declared (secrets.keys, services.<s>.secrets, the env_file)."
        return "\n".join(f"{r['name']:<28} {'set' if r['set'] else 'UNSET':<6} {r['source']:<34} "
                         f"{', '.join(r['used_by'])}" for r in rs)

    output.data({"environment": ctx.environment.name, "provider": provider.name, "secrets": rows},
                lambda d: describe(d["secrets"]))
    if any(not r["set"] for r in rows if r["name"] in ctx.config.secrets.keys or r["used_by"]):
        sys.exit(1)


@secrets.command("diff", help="""Which secrets differ between here and each host's .env: names only.

Exit 0 when every host holds exactly what a deploy would write, 1 otherwise.

\b
Example:
  stagecraft secrets diff -e prod
""")
@global_options
def secrets_diff():
    import hashlib

    from ..commands import remote
    from ..commands.dotenv import quote

    ctx = env_context()
    names, values, _ = _wanted(ctx)
    release = _current_release(ctx)
    if release:
        values.setdefault("IMAGE_TAG", release.version)
    # The lines the compose role writes (commands.dotenv), hashed like the host hashes its own lines.
    wanted = {n: hashlib.sha256(f"{n}={quote(n, values.get(n) or '')}".encode()).hexdigest() for n in names}
    hostvars = _hostvars(ctx)
    script = remote.env_digests_script(ctx.config.project.name)

    def one(host: str) -> dict:
        proc = subprocess.run(_ssh(hostvars, host) + [script], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip() or f"exit {proc.returncode}")[-300:]}
        return remote.env_diff(remote.parse_env_digests(proc.stdout), wanted)

    hosts = [h.name for h in ctx.environment.hosts]
    with ThreadPoolExecutor(max_workers=min(16, len(hosts) or 1)) as pool:
        result = dict(zip(hosts, pool.map(one, hosts)))

    def describe(d):
        lines = []
        for host, r in sorted(d.items()):
            if "error" in r:
                lines.append(f"{host}: unreachable: {r['error']}")
                continue
            parts = [f"{k} {', '.join(v)}" for k, v in r.items() if v]
            lines.append(f"{host}: " + ("; ".join(parts) if parts else "in sync"))
        return "\n".join(lines)

    output.data(result, describe)
    if any("error" in r or any(r.values()) for r in result.values()):
        sys.exit(1)
