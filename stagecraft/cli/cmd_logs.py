"""stagecraft logs"""

from __future__ import annotations

import subprocess
import sys

import click

from . import output
from .context import env_context
from .settings import global_options, settings
from .types import COUNT

COLORS = ["cyan", "magenta", "green", "yellow", "blue", "red"]


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
    from ..commands.hosts import known_service, pick_hosts
    from ..commands.ssh import host_argv
    from ..errors import UserError

    ctx = env_context()
    known_service(ctx.config, service)
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise UserError(f"--grep: invalid regular expression: {exc}") from None
    hosts = pick_hosts(ctx.config, ctx.environment, host, role, service)
    if not hosts:
        raise UserError(f"no host of '{ctx.environment.name}' runs service '{service}'"
                        + (f" with role '{role}'" if role else ""))
    hv = ctx.hostvars()
    script = remote.logs_script(ctx.config.project.name, service, follow=follow, since=since, tail=tail)
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
                    prefix = click.style(f"{h} {container} |", fg=COLORS[i % len(COLORS)]) \
                        if color else f"{h} {container} |"
                    click.echo(f"{prefix} {text}")

    threads = []
    try:
        for i, h in enumerate(hosts):
            # A stream that runs until Ctrl-C: Popen, not process.run (which waits for the end).
            proc = subprocess.Popen(host_argv(hv, h, script), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
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
