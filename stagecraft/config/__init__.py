"""Loading stagecraft.yml: parse with positions, validate (schema + cross-checks), resolve per environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UserError
from ..files import FileRefused, exists
from .issues import ConfigIssue, format_path, refused_issue, yaml_issues
from .model import Config, check, compose_issues
from .project import compose_path
from .yamlpos import LoadedYaml, Position, YamlSyntaxError, load_yaml_file

__all__ = ["Config", "ConfigIssue", "LoadedConfig", "ResolvedEnvironment", "load_config"]


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    doc: LoadedYaml
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, env_name: str, environ: dict | None = None) -> "ResolvedEnvironment":
        from . import resolve as r

        env = self.config.environment(env_name)
        env_file = (self.base_dir / env.env_file) if env.env_file else None
        key = ("environments", env_name, "env_file")
        # The env_file and the process environment (secrets.provider `command` adds values at deploy time).
        try:
            if env_file is not None and not exists(env_file):
                raise ConfigError([ConfigIssue(self.doc.position(key), format_path(key),
                                               f"file not found: {env.env_file}")])
            variables = r.load_variables(env_file, environ)
        except FileRefused as exc:
            at = self.doc.position(key)
            raise ConfigError([ConfigIssue(at, format_path(key), f"{exc.path}:{exc.line}: {exc.reason}")]) from None
        data, issues = r.interpolate(self.doc.data, variables, self.doc)
        if not issues:
            # Interpolated values meet the same rules as written ones (their patterns were deferred).
            from .schema import validate

            from .model import extra_args_issues

            secrets = r.secret_values(data, variables)
            doc = LoadedYaml(data, self.doc.positions, self.doc.file)
            issues = [ConfigIssue(i.position, i.key_path, r.redact(i.message, secrets))
                      for i in validate(doc, resolved=True) + extra_args_issues(doc)]
        if issues:
            raise ConfigError(issues, path=str(self.path))
        config = Config.parse(data, base_dir=str(self.base_dir), path=str(self.path))
        return ResolvedEnvironment(
            config=config,
            environment=config.environments[env_name],
            data=data,
            variables=variables,
            secrets=r.secret_values(data, variables),
        )


@dataclass(frozen=True)
class ResolvedEnvironment:
    config: Config
    environment: "object"
    data: dict  # interpolated raw config
    variables: dict  # env_file + process environment
    secrets: list  # secret values, longest first, for redaction

    def redact(self, node):
        from .resolve import redact

        return redact(node, self.secrets)


def compose_document(path: Path) -> dict | None:
    """The compose file as data, or None when there is no such file."""
    if not exists(path, "compose file"):
        return None
    from .compose import load

    return load(path)


def compose_service_names(path: Path) -> list[str] | None:
    """Service names of the compose file, or None when there is no such file."""
    data = compose_document(path)
    if data is None:
        return None
    services = data.get("services")
    return sorted(services) if isinstance(services, dict) else []


def yaml_document(path: Path) -> LoadedYaml:
    """A YAML file with positions; raise ConfigError (file:line:col) for a refused file or bad YAML."""
    try:
        return load_yaml_file(path)
    except FileRefused as exc:
        raise ConfigError([refused_issue(exc)], path=str(path)) from None
    except YamlSyntaxError as exc:
        raise ConfigError(yaml_issues(exc), path=str(path)) from None


def load_config(path: str | Path) -> LoadedConfig:
    """Load, validate and parse a config file; raise ConfigError listing every problem."""
    from . import named_files, schema

    path = Path(path)
    if not exists(path, "config file"):
        raise UserError(f"config file not found: {path}", hint="run 'stagecraft init' to create one, or pass -c PATH")
    doc = yaml_document(path)
    issues = schema.validate(doc)
    compose = None
    if isinstance(doc.data, dict):
        issues = sorted(set(issues) | set(named_files.issues(doc, path.parent)))
        project = doc.data.get("project") if isinstance(doc.data.get("project"), dict) else {}
        compose_file = project.get("compose_file") if isinstance(project.get("compose_file"), str) else None
        try:
            compose = compose_document(compose_path(path.parent, compose_file))
        except FileRefused as exc:  # the path itself is unusable (too long, a symlink loop...)
            key = ("project", "compose_file")
            raise ConfigError([ConfigIssue(doc.position(key), format_path(key), exc.reason)], path=str(path)) from None
        services = compose.get("services") if compose is not None else None
        names = None if compose is None else sorted(services) if isinstance(services, dict) else []
        try:
            issues = sorted(set(issues) | set(check(doc, names)))
        except (AttributeError, TypeError, KeyError):
            pass  # the cross-checks need the shapes the schema already reported as wrong
    if issues:
        raise ConfigError(issues, path=str(path))
    config = Config.parse(doc.data, base_dir=str(path.parent), path=str(path))
    if compose is not None:
        issues = compose_issues(doc, config, compose)
        if issues:
            raise ConfigError(sorted(issues), path=str(path))
    return LoadedConfig(config=config, doc=doc, path=path)
