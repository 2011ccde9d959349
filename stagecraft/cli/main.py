"""Entry point: the `stagecraft` group, lazy command loading, and exit-code mapping."""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import __version__
from .settings import global_options

# command name -> "module:attribute"; modules load only when their command runs (fast --help).
COMMANDS = {
    "version": "stagecraft.cli.cmd_version:version",
    "init": "stagecraft.cli.cmd_init:init",
    "new": "stagecraft.cli.cmd_new:new",
    "attach": "stagecraft.cli.cmd_attach:attach",
    "templates": "stagecraft.cli.cmd_templates:templates",
    "config": "stagecraft.cli.cmd_config:config",
    "inventory": "stagecraft.cli.cmd_inventory:inventory",
    "infra": "stagecraft.cli.cmd_infra:infra",
    "releases": "stagecraft.cli.cmd_releases:releases",
    "lock": "stagecraft.cli.cmd_lock:lock",
    "hosts": "stagecraft.cli.cmd_hosts:hosts",
    "build": "stagecraft.cli.cmd_deploy:build",
    "deploy": "stagecraft.cli.cmd_deploy:deploy",
    "rollback": "stagecraft.cli.cmd_deploy:rollback",
    "plan": "stagecraft.cli.cmd_plan:plan",
    "render": "stagecraft.cli.cmd_plan:render",
    "migrate": "stagecraft.cli.cmd_migrate:migrate",
    "ci": "stagecraft.cli.cmd_ci:ci",
    "dev": "stagecraft.cli.cmd_dev:dev",
    "status": "stagecraft.cli.cmd_status:status",
    "logs": "stagecraft.cli.cmd_logs:logs",
    "ssh": "stagecraft.cli.cmd_exec:ssh",
    "exec": "stagecraft.cli.cmd_exec:exec_",
    "audit": "stagecraft.cli.cmd_audit:audit",
    "prune": "stagecraft.cli.cmd_prune:prune",
    "secrets": "stagecraft.cli.cmd_secrets:secrets",
    "maintenance": "stagecraft.cli.cmd_edge:maintenance",
    "remove": "stagecraft.cli.cmd_edge:remove",
}

HELP = """Deploy a Docker Compose app to 1..N Linux hosts with bundled Ansible roles.

\b
Reads stagecraft.yml beside your docker-compose.yml, renders Ansible
inventories and variables, and runs the bundled roles through ansible-runner.

\b
Examples:
  stagecraft new shop                   # a new project from the platform template
  stagecraft attach                     # add Stagecraft to an existing repository
  stagecraft init                       # write a commented stagecraft.yml
  stagecraft config validate            # check it (exit 1 with file:line:col)
  stagecraft inventory -e local         # the Ansible inventory for 'local'

\b
Exit codes: 0 ok, 1 user/config error, 2 external/provider failure,
3 internal error, 10 partial infra failure.
"""


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        # Short help comes from a static table so `--help` does not import every command module.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


SHORT_HELP = {
    "version": "Print the Stagecraft version.",
    "init": "Write a commented stagecraft.yml for this project.",
    "new": "Create a new project from a template (platform: web, API, worker, PostgreSQL, Redis).",
    "attach": "Add Stagecraft to an existing repository (detects compose files, Dockerfiles, apps).",
    "templates": "List and inspect project templates.",
    "config": "Validate or show the configuration.",
    "inventory": "Print the Ansible inventory of an environment.",
    "infra": "Create, inspect and remove the hosts of an environment.",
    "releases": "List and show recorded releases; import the Go tool's history.",
    "lock": "Inspect or clear an environment's deploy lock.",
    "hosts": "Check and trust the hosts' SSH host keys.",
    "build": "Build the app's images.",
    "deploy": "Deploy the app to an environment without downtime.",
    "rollback": "Redeploy an earlier release without rebuilding.",
    "migrate": "Show or apply database migrations.",
    "plan": "Show what a deploy would change, per host.",
    "render": "Print the per-host compose files a deploy renders.",
    "ci": "Write the CI workflow, set its secrets, trigger and follow deploys.",
    "dev": "Run the app on this machine behind HTTPS dev domains.",
    "status": "What runs on every host, compared with the last release.",
    "logs": "A service's logs from every host, merged; -f follows.",
    "ssh": "A shell (or a command) on a host.",
    "exec": "Run a command in a service's container.",
    "audit": "Who deployed what, from where, when, with what result.",
    "prune": "Free disk space on the hosts, keeping what a rollback needs.",
    "secrets": "List secrets, compare them with the hosts, sync them (names only).",
    "maintenance": "Answer 503 with a maintenance page for the project's routes, or stop.",
    "remove": "Remove the project from the environment's hosts: routes, then containers.",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def cli():
    pass


def main(argv: list[str] | None = None) -> None:
    from ..errors import INTERNAL_ERROR, USER_ERROR, ConfigError, StagecraftError
    from .output import error

    args = sys.argv[1:] if argv is None else argv
    try:
        rv = cli.main(args=args, prog_name="stagecraft", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail(args, USER_ERROR, "aborted")
    except click.ClickException as exc:  # usage errors are user errors: exit 1, not click's 2
        if _wants_json(args):
            _json_error(USER_ERROR, [{"message": exc.format_message()}])
        exc.show()
        sys.exit(USER_ERROR)
    except StagecraftError as exc:
        if isinstance(exc, ConfigError):
            if _wants_json(args):
                _json_error(exc.exit_code, [i.as_dict() for i in exc.issues])
            error(f"invalid configuration ({len(exc.issues)} problem{'s' if len(exc.issues) != 1 else ''}):\n"
                  + "\n".join(f"  {i}" for i in exc.issues))
            sys.exit(exc.exit_code)
        _fail(args, exc.exit_code, exc.message, exc.hint, exc.data)
    except KeyboardInterrupt:
        _fail(args, 130, "interrupted")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if os.environ.get("STAGECRAFT_DEBUG"):
            import traceback

            traceback.print_exc()
        _fail(args, INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}",
              None if os.environ.get("STAGECRAFT_DEBUG") else
              "this is a bug in Stagecraft; re-run with STAGECRAFT_DEBUG=1 for a traceback")
    sys.exit(rv if isinstance(rv, int) else 0)


def _fail(args, code: int, message: str, hint: str | None = None, data: dict | None = None):
    """The error on stderr (and as a JSON object on stdout with --output json, the command's result in it
    when it has one: stdout always carries one document); exit `code`."""
    from .output import error

    if _wants_json(args):
        _json_error(code, [{"message": message, **({"hint": hint} if hint else {})}], data)
    error(message)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def _json_error(code: int, errors: list[dict], data: dict | None = None) -> None:
    from .output import emit_json

    try:
        emit_json({**(data or {}), "ok": False, "exit_code": code, "errors": errors})
    except Exception:  # noqa: BLE001 - a broken stdout must not hide the error on stderr
        pass


def _wants_json(args) -> bool:
    try:
        from .settings import settings

        return settings().json
    except RuntimeError:
        return any(a == "json" or a.endswith("=json") for a in args) or os.environ.get("STAGECRAFT_OUTPUT") == "json"


if __name__ == "__main__":  # pragma: no cover
    main()
