"""Global options shared by every command, with precedence flag > STAGECRAFT_* env var > config > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import click
from click.core import ParameterSource

_EXPLICIT = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
_BUILTIN = {"config": "stagecraft.yml", "env": None, "verbose": 0, "quiet": False, "dry_run": False,
            "output": "text", "no_color": False}
# stagecraft.yml `defaults:` keys for the options a config may set.
_FROM_CONFIG = {"env": "env", "output": "output", "verbose": "verbose", "no_color": "color"}


@dataclass
class Settings:
    explicit: dict = field(default_factory=dict)  # name -> (value, source)
    _loaded: object = None

    def record(self, name: str, value, source) -> None:
        previous = self.explicit.get(name)
        if previous and previous[1] == ParameterSource.COMMANDLINE and source != ParameterSource.COMMANDLINE:
            return  # an env var never overrides a flag given earlier on the line
        self.explicit[name] = (value, source)

    def get(self, name: str):
        if name in self.explicit:
            return self.explicit[name][0]
        if name in _FROM_CONFIG and self._loaded is not None:
            defaults = self._loaded.config.defaults
            key = _FROM_CONFIG[name]
            if key in defaults:
                return (not defaults[key]) if name == "no_color" else defaults[key]
        if name == "no_color" and os.environ.get("NO_COLOR"):
            return True
        return _BUILTIN[name]

    def source(self, name: str) -> str:
        if name in self.explicit:
            return "flag" if self.explicit[name][1] == ParameterSource.COMMANDLINE else "env"
        if name in _FROM_CONFIG and self._loaded is not None and _FROM_CONFIG[name] in self._loaded.config.defaults:
            return "config"
        return "default"

    @property
    def config_path(self) -> Path:
        return Path(self.get("config"))

    @property
    def output(self) -> str:
        return self.get("output")

    @property
    def json(self) -> bool:
        return self.get("output") == "json"

    @property
    def verbose(self) -> int:
        return int(self.get("verbose") or 0)

    @property
    def quiet(self) -> bool:
        return bool(self.get("quiet"))

    @property
    def dry_run(self) -> bool:
        return bool(self.get("dry_run"))

    @property
    def color(self) -> bool:
        return not self.get("no_color")

    def load(self):
        """The validated config (loaded once per command)."""
        if self._loaded is None:
            from ..config import load_config

            self._loaded = load_config(self.config_path)
        return self._loaded

    def env_name(self) -> str:
        from ..errors import UserError

        loaded = self.load()
        name = self.get("env")
        if name:
            loaded.config.environment(name)  # raises with the list of environments
            return name
        envs = sorted(loaded.config.environments)
        if len(envs) == 1:
            return envs[0]
        raise UserError(f"-e/--env is required: this config has several environments ({', '.join(envs)})",
                        hint="pass -e NAME, set STAGECRAFT_ENV, or set defaults.env in stagecraft.yml")

    @cached_property
    def state_dir(self) -> Path:
        from ..paths import private_state, state_dir

        return private_state(state_dir(self.config_path))


def settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def _record(ctx: click.Context, param: click.Parameter, value):
    source = ctx.get_parameter_source(param.name)
    if source in _EXPLICIT:
        root = ctx.find_root()
        if not isinstance(root.obj, Settings):
            root.obj = Settings()
        root.obj.record(param.name, value, source)
    return value


def _complete_env(ctx, param, incomplete):
    try:
        from ..config import load_config

        path = ctx.find_root().params.get("config") or os.environ.get("STAGECRAFT_CONFIG") or "stagecraft.yml"
        names = load_config(path).config.environments
    except Exception:  # completion must never fail loudly
        return []
    return [n for n in sorted(names) if n.startswith(incomplete)]


def global_options(f):
    """Decorate a group or command with the global options (accepted before or after the command name)."""
    options = [
        click.option("-c", "--config", envvar="STAGECRAFT_CONFIG", metavar="PATH", callback=_record,
                     expose_value=False, is_eager=True, type=click.Path(dir_okay=False),
                     help="Config file [env STAGECRAFT_CONFIG; default stagecraft.yml]."),
        click.option("-e", "--env", envvar="STAGECRAFT_ENV", metavar="NAME", callback=_record, expose_value=False,
                     shell_complete=_complete_env,
                     help="Environment [env STAGECRAFT_ENV; config defaults.env; the only one if there is one]."),
        click.option("-v", "--verbose", envvar="STAGECRAFT_VERBOSE", count=True, callback=_record,
                     expose_value=False, help="More output; repeat for Ansible verbosity (-vvv) [env STAGECRAFT_VERBOSE]."),
        click.option("-q", "--quiet", envvar="STAGECRAFT_QUIET", is_flag=True, default=None, callback=_record,
                     expose_value=False, help="Only errors and results [env STAGECRAFT_QUIET]."),
        click.option("--dry-run", envvar="STAGECRAFT_DRY_RUN", is_flag=True, default=None, callback=_record,
                     expose_value=False, help="Show what would change; change nothing [env STAGECRAFT_DRY_RUN]."),
        click.option("-o", "--output", envvar="STAGECRAFT_OUTPUT", type=click.Choice(["text", "json"]),
                     callback=_record, expose_value=False,
                     help="Output format [env STAGECRAFT_OUTPUT; config defaults.output; default text]."),
        click.option("--no-color", envvar="STAGECRAFT_NO_COLOR", is_flag=True, default=None, callback=_record,
                     expose_value=False, help="Plain output without colors [env STAGECRAFT_NO_COLOR or NO_COLOR]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f
