"""stagecraft ssh | exec"""

from __future__ import annotations

import sys

import click

from .context import env_context
from .settings import global_options


@click.command(help="""Open a shell on a host (the host key is checked against the environment's known_hosts).

Anything after HOST runs instead of a shell. With a mesh (network.provider
tailscale), connects to the host's mesh name; --no-mesh uses its inventory
address.

\b
Examples:
  stagecraft ssh -e prod app-1
  stagecraft ssh -e prod db-1 -- df -h
""")
@click.argument("host")
@click.argument("command", nargs=-1)
@click.option("--no-mesh", is_flag=True, help="Connect to the inventory address even when a mesh is configured.")
@global_options
def ssh(host: str, command: tuple[str, ...], no_mesh: bool):
    import os

    from ..commands.ssh import login_argv

    ctx = env_context()
    argv = login_argv(ctx.hostvars(), host, list(command), tty=not command and sys.stdin.isatty(), mesh=not no_mesh)
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
    import subprocess

    from ..commands import remote
    from ..commands.compose_render import deployed_refs
    from ..commands.hosts import known_service, pick_hosts
    from ..commands.ssh import host_argv
    from ..errors import ExternalError, UserError

    ctx = env_context()
    known_service(ctx.config, service)
    hosts = pick_hosts(ctx.config, ctx.environment, host, None, service)
    if not hosts:
        raise UserError(f"no host of '{ctx.environment.name}' runs service '{service}'")
    image = None
    if new:
        release = ctx.current_release()
        image = deployed_refs(release.manifest if release else {}).get(service)
        if not image:
            raise UserError(f"--new: no completed release of '{ctx.environment.name}' runs '{service}' yet")
    script = remote.exec_script(ctx.config.project.name, service, list(command), interactive=interactive, new=image)
    # The terminal and the exit code are the command's own: a plain subprocess, not process.run.
    proc = subprocess.run(host_argv(ctx.hostvars(), hosts[0], script, tty=interactive))
    if proc.returncode == 255:
        raise ExternalError(f"ssh to {hosts[0]} failed")
    sys.exit(proc.returncode)
