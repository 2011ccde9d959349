"""stagecraft config validate | show"""

from __future__ import annotations

import click

from . import output
from .settings import global_options, settings


@click.group(help="""Validate or show the configuration.

\b
Examples:
  stagecraft config validate
  stagecraft config show -e prod -o json
""")
@global_options
def config():
    pass


@config.command(help="""Check stagecraft.yml against the schema and cross-references.

Every problem is reported with its file:line:column and key path; exit 1 if
there are any. With -e/--env, also resolves that environment (env_file and
${VAR} interpolation). Warnings (exit 0) name what a deploy changes in the
compose file: ports a rolling service cannot hold, container_name dropped,
services without a healthcheck, services kept out by profiles.

\b
Example:
  stagecraft config validate -e prod
""")
@global_options
def validate():
    s = settings()
    loaded = s.load()
    envs = sorted(loaded.config.environments)
    _check_vars(loaded)
    checked = []
    if s.get("env"):
        name = s.env_name()
        loaded.resolve(name)
        checked.append(name)
    from ..config import compose_document
    from ..config.model import compose_warnings

    compose = compose_document(loaded.config.project.compose_path(loaded.config.base_dir))
    warnings = compose_warnings(loaded.config, compose) if compose else []
    if not s.json:
        for line in warnings:
            output.warn(line)
    summary = {"ok": True, "file": str(loaded.path), "project": loaded.config.project.name,
               "environments": envs, "resolved": checked, "warnings": warnings}
    output.data(summary, lambda d: f"{d['file']}: valid (project {d['project']}; environments: "
                                   f"{', '.join(d['environments'])})")


def _check_vars(loaded) -> None:
    """User vars that would override a variable Stagecraft sets (found by rendering each inventory; pure,
    nothing is written)."""
    from ..commands.inventory import VarOverride, render_inventory
    from ..config.issues import ConfigIssue, format_path
    from ..drivers import DriverContext, driver_host_vars
    from ..errors import ConfigError, UserError
    from ..paths import state_dir

    issues = []
    for env in loaded.config.environments.values():
        try:
            dctx = DriverContext(config=loaded.config, environment=env, state_dir=state_dir(loaded.path))
            render_inventory(loaded.config, env, {}, state_dir=dctx.state_dir, driver_vars=driver_host_vars(dctx))
        except VarOverride as exc:
            issues.append(ConfigIssue(loaded.doc.position(exc.path), format_path(exc.path), exc.message.split(": ", 1)[1]))
        except UserError:
            pass  # a value that needs the environment resolved (e.g. a ${VAR} file): checked by deploys
    if issues:
        raise ConfigError(issues, path=str(loaded.path))


@config.command(help="""Print the fully resolved configuration of one environment.

Interpolates ${VAR} and ${VAR:-default} from the env_file and the process
environment, fills in documented defaults, and redacts every secret value
(secrets.keys, every *_env reference, names that look secret).

\b
Example:
  stagecraft config show -e staging
""")
@global_options
def show():
    import yaml

    from ..config.resolve import fill_defaults
    from ..config.schema import load_schema

    s = settings()
    loaded = s.load()
    name = s.env_name()
    resolved = loaded.resolve(name)
    data = fill_defaults(resolved.data, load_schema())
    data["environments"] = {name: data["environments"][name]}
    data["placement"] = loaded.config.placement
    data = resolved.redact(data)
    output.data(data, lambda d: yaml.safe_dump(d, sort_keys=False, default_flow_style=False))


@config.command(help="""Print the JSON Schema of stagecraft.yml.

Editors with yaml-language-server (VS Code YAML, Neovim, ...) validate and
complete stagecraft.yml when the file starts with a schema modeline.

\b
Example:
  stagecraft config schema > stagecraft.schema.json
  # then, first line of stagecraft.yml:
  # yaml-language-server: $schema=./stagecraft.schema.json
""")
@global_options
def schema():
    from ..config.schema import load_schema

    output.emit_json(load_schema())
