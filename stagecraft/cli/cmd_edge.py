"""stagecraft maintenance on|off, stagecraft remove: the project's routes on the hosts' shared edge proxy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import click

from . import output
from .settings import global_options, settings


def _on_hosts(script: str, what: str) -> dict:
    """Run the edge library over SSH on every host of the environment (in parallel); host -> its answer.
    A host that fails is named and the command exits 2 (10 when others succeeded)."""
    from .. import process
    from ..commands import edge_remote
    from ..errors import host_failure
    from ..commands.ssh import command_argv
    from .context import env_context

    ctx = env_context()
    hosts = [h.name for h in ctx.environment.hosts]
    if settings().dry_run:  # nothing is sent: say where it would go
        return {"environment": ctx.environment.name, "project": ctx.config.project.name, "dry_run": True,
                "hosts": {h: {"result": "would-run"} for h in hosts}}
    hostvars = ctx.hostvars()
    library = edge_remote.edge_library()

    def one(host: str) -> dict:
        if "ansible_host" not in hostvars.get(host, {}):
            return {"error": "no address yet (run 'stagecraft infra up')"}
        proc = process.run(command_argv(hostvars[host], script), input=library, what=f"ssh {host}", timeout=180)
        answer = edge_remote.parse(proc.stdout)
        if proc.returncode != 0 and "error" not in answer:
            answer = {"error": process.error_text(proc)}
        return answer or {"error": "the edge library gave no answer"}

    with ThreadPoolExecutor(max_workers=min(16, len(hosts) or 1)) as pool:
        results = dict(zip(hosts, pool.map(one, hosts)))
    failed = {h: r["error"] for h, r in results.items() if "error" in r}
    data = {"environment": ctx.environment.name, "project": ctx.config.project.name, "hosts": results}
    if failed:
        error = host_failure(len(failed), len(results), "; ".join(f"{h}: {e}" for h, e in sorted(failed.items())))
        with output.result_on_failure(data, lambda d: _describe(d, what)):
            raise error
    return data


def _describe(d: dict, what: str) -> str:
    lines = []
    for host, r in sorted(d["hosts"].items()):
        if "error" in r:
            lines.append(f"  {host:<14} failed: {r['error']}")
        elif r.get("result") == "not-deployed":
            lines.append(f"  {host:<14} no routes of {d['project']} on this host")
        else:
            lines.append(f"  {host:<14} {what} {r['result']}")
    return "\n".join([f"{d['project']} in {d['environment']}:"] + lines)


@click.group(help="""Answer 503 with the maintenance page for the project's routes (containers keep running).

The hosts' shared edge proxy serves edge.maintenance.page (HTML, relative to
stagecraft.yml; a short built-in page otherwise) with status 503 and
Retry-After for every route of this project, on every host; other projects on
the same hosts are not touched. Deploys keep the mode; `off` routes traffic to
the containers again. Both reload the proxy gracefully.

\b
Examples:
  stagecraft maintenance on -e prod
  stagecraft maintenance off -e prod -o json
""")
@global_options
def maintenance():
    pass


def _switch(state: str) -> None:
    from ..commands import edge_remote

    output.data(_on_hosts(edge_remote.edge_command("maintenance", _project(), state), "maintenance"),
                lambda d: _describe(d, "maintenance"))


@maintenance.command("on", help="""Answer 503 with the maintenance page for the project's routes.

\b
Example:
  stagecraft maintenance on -e prod
""")
@global_options
def maintenance_on():
    _switch("on")


@maintenance.command("off", help="""Route the project's traffic to its containers again.

\b
Example:
  stagecraft maintenance off -e prod
""")
@global_options
def maintenance_off():
    _switch("off")


@click.command(help="""Remove the project from the environment's hosts: its routes, then its containers.

Its routes leave every host's shared edge proxy (other projects keep theirs,
the proxy reloads gracefully) and `docker compose down` removes its containers.
Volumes, images, files under /srv/stagecraft/<project> and the release history
are kept: a later deploy brings the project back. Asks first; --yes for scripts.

\b
Examples:
  stagecraft remove -e staging
  stagecraft remove -e staging --yes -o json
""")
@click.option("--yes", is_flag=True, help="Do not ask.")
@global_options
def remove(yes: bool):
    from ..commands import edge_remote
    from .context import env_context

    ctx = env_context()
    if not yes and not settings().dry_run:
        click.confirm(f"Remove {ctx.config.project.name}'s routes and containers from the hosts of "
                      f"{ctx.environment.name}?", abort=True, err=True)
    output.data(_on_hosts(edge_remote.remove_command(_project()), "routes"), lambda d: _describe(d, "routes"))


def _project() -> str:
    from .context import env_context

    return env_context().config.project.name
