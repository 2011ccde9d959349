"""stagecraft dev / dev down"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import click

from . import output
from .settings import global_options, settings

DETACHED_ENV = "STAGECRAFT_DEV_DETACHED"  # set in the background session a --detach starts


@click.group(invoke_without_command=True, help="""Run the app on this machine behind HTTPS dev domains.

\b
One command brings up:
  - the compose services no dev process replaces (databases, caches), with
    `docker compose -p <project>-dev` from a generated .stagecraft/dev/compose.yaml;
  - the backend and frontend dev servers from their providers (generic: a
    command; encore-ts: `encore run --watch` after syncing its secrets),
    with live prefixed output;
  - Traefik routing app.<project>.localhost and api.<project>.localhost
    (dev.domains) to them, on ports 80/443 (dev.proxy, --http-port/--https-port),
    with mkcert certificates;
  - hosts-file entries between marker lines (needs write access: sudo, or --no-hosts).
Ctrl-C stops all of it and exits 130. Environment: -e NAME, else `dev` if the
config has one; its env_file and dev.env_file feed the processes and compose.

\b
Examples:
  stagecraft dev                           # foreground; Ctrl-C stops everything
  stagecraft dev --no-hosts --https-port 8443 --http-port 8080
  stagecraft dev --dry-run                 # the generated files and commands
  stagecraft dev --detach && stagecraft dev down
""")
@click.option("--https/--no-https", "https", default=True, help="Serve the dev domains over HTTPS (mkcert).")
@click.option("--hosts/--no-hosts", "hosts", default=True, help="Write hosts-file entries for the dev domains.")
@click.option("--proxy/--no-proxy", "proxy", default=True, help="Run the routing proxy (Traefik).")
@click.option("--http-port", type=click.IntRange(1, 65535), help="Proxy HTTP port [dev.proxy.http_port; 80].")
@click.option("--https-port", type=click.IntRange(1, 65535), help="Proxy HTTPS port [dev.proxy.https_port; 443].")
@click.option("--install-ca", is_flag=True, help="Run `mkcert -install` first (adds its CA to trust stores).")
@click.option("--detach", is_flag=True, help="Start in the background and return; stop with `stagecraft dev down`.")
@global_options
@click.pass_context
def dev(ctx, https, hosts, proxy, http_port, https_port, install_ca, detach):
    if ctx.invoked_subcommand is not None:
        return None
    from ..dev.plan import Options

    from ..dev.infra import engine_supports_start_interval

    options = Options(https=https, hosts=hosts, proxy=proxy, http_port=http_port, https_port=https_port,
                      start_interval=engine_supports_start_interval())
    plan, env, compose, config = _plan(options)
    if settings().dry_run:
        _show(plan)
        return 0
    if detach and not os.environ.get(DETACHED_ENV):
        return _detach(plan)
    from ..dev.processes import Printer
    from ..dev.session import Session

    printer = Printer(color=settings().color and sys.stdout.isatty())
    return Session(plan, env=env, printer=printer, install_ca=install_ca, compose=compose, config=config).run()


@dev.command(help="""Stop a `stagecraft dev` started with --detach (or running elsewhere).

\b
Examples:
  stagecraft dev down
""")
@global_options
def down():
    from ..dev.plan import DEV_DIR
    from ..dev.session import clean_stale, stop_running

    base = settings().config_path.resolve().parent
    pid = stop_running(base / DEV_DIR)
    if pid is None and clean_stale(base / DEV_DIR, output.info):
        output.data({"stopped": None, "cleaned": True}, "dev: not running; cleaned up what a killed session left")
    elif pid is None:
        output.data({"stopped": None}, "dev: not running")
    else:
        output.data({"stopped": pid}, f"stopped the dev session (pid {pid})")
    return 0


def _dev_env_name(loaded) -> str | None:
    name = settings().get("env")
    if name:
        loaded.config.environment(name)
        return name
    return "dev" if "dev" in loaded.config.environments else None


def _plan(options):
    """Load the config for dev; returns (plan, environment for processes and compose, compose data, config)."""
    from ..config import ConfigError
    from ..errors import UserError

    try:
        return _load_plan(options)
    except ConfigError as exc:  # every dev error starts with "dev:"
        raise UserError("dev: invalid configuration:\n" + "\n".join(f"  {i}" for i in exc.issues)) from None
    except UserError as exc:
        if exc.message.startswith("dev:"):
            raise
        raise UserError(f"dev: {exc.message}", hint=exc.hint) from None


def _load_plan(options):
    from ..commands.compose_render import load_compose
    from ..config import ConfigError
    from ..config import resolve as r
    from ..config.model import Config
    from ..dev.plan import build_plan
    from ..dev.session import traefik_bin
    from ..errors import UserError

    loaded = settings().load()
    env_name = _dev_env_name(loaded)
    if env_name:
        resolved = loaded.resolve(env_name)
        config, variables = resolved.config, dict(resolved.variables)
    else:
        variables = r.load_variables(None)
        data, issues = r.interpolate(loaded.doc.data, variables, loaded.doc)
        if issues:
            raise ConfigError(issues, path=str(loaded.path))
        config = Config.parse(data, base_dir=str(loaded.base_dir), path=str(loaded.path))
    base_dir = loaded.base_dir.resolve()
    if config.dev.env_file:
        path = base_dir / config.dev.env_file
        if path.exists():
            from ..config import envfile

            variables = {**envfile.read(path, "dev.env_file"), **variables}
        elif settings().dry_run:
            output.warn(f"dev: dev.env_file: file not found: {config.dev.env_file}")
        else:
            raise UserError(f"dev: dev.env_file: file not found: {path}",
                            hint="create it with the variables the app needs in dev (keep it out of git)")
    plan = build_plan(config, base_dir, variables, options, traefik_bin=traefik_bin())
    compose_path = base_dir / config.project.compose_file
    compose = load_compose(compose_path) if compose_path.is_file() else {}
    return plan, variables, compose, config


def _show(plan) -> None:
    def text(data):
        lines = [f"dev plan for {data['project']} (compose project {data['compose_project']})"]
        for name, url in sorted(data["urls"].items()):
            lines.append(f"  {name}: {url}")
        if data["infra_services"]:
            lines.append(f"  infra services: {', '.join(data['infra_services'])}")
        if data["migrations"]:
            lines.append(f"  migrations applied once infra is up: {', '.join(data['migrations'])}")
        for p in data["processes"]:
            lines.append(f"  process {p['name']}: {' '.join(p['argv'])}  (in {p['cwd']}"
                         + (f", port {p['port']}" if p["port"] else "") + ")")
            for s in p["secrets"]:
                lines.append(f"    secret {s['name']}: {' '.join(s['argv'])} < value")
        if data["hosts"]:
            lines.append(f"  hosts file: 127.0.0.1 {' '.join(data['hosts'])}")
        for path, content in data["files"].items():
            lines.append(f"--- {path}")
            lines.append(content.rstrip("\n"))
        return "\n".join(lines)

    output.data(plan.describe(), text)


def _detach(plan) -> int:
    """Run this same command in a new session with its output in .stagecraft/dev/dev.log; return once
    it is ready (or report why it stopped)."""
    from ..dev.session import LOG_FILE, already_running_error, running_pid

    pid = running_pid(plan.dev_dir)
    if pid is not None:
        raise already_running_error(pid)
    plan.dev_dir.mkdir(parents=True, exist_ok=True)
    log_path = plan.dev_dir / LOG_FILE
    args = [a for a in sys.argv[1:] if a != "--detach"]
    with open(log_path, "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", "stagecraft", *args], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**os.environ, DETACHED_ENV: "1", "STAGECRAFT_NO_COLOR": "1"})
    try:
        return _await_ready(plan, child, log_path)
    except KeyboardInterrupt:  # Ctrl-C while waiting: the half-started session goes too
        child.terminate()
        child.wait()
        raise


def _await_ready(plan, child, log_path) -> int:
    from ..dev.session import read_session
    from ..errors import ExternalError

    while child.poll() is None:
        info = read_session(plan.dev_dir) or {}
        if info.get("pid") == child.pid and info.get("status") == "ready":
            output.data({"pid": child.pid, "urls": info.get("urls", {}), "log": str(log_path)},
                        lambda d: "\n".join([f"dev: running in the background (pid {d['pid']}); log: {d['log']}",
                                             *(f"  {k}: {v}" for k, v in sorted(d["urls"].items())),
                                             "stop it with: stagecraft dev down"]))
            return 0
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
    click.echo("\n".join(tail), err=True)
    raise ExternalError(f"dev: the background session stopped (exit {child.returncode}); log: {log_path}")
