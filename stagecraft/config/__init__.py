"""Loading stagecraft.yml: parse with positions, validate (schema + cross-checks), resolve per environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UserError
from .issues import ConfigIssue
from .model import Config, check
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
        if env_file is not None and not env_file.is_file():
            raise ConfigError([ConfigIssue(self.doc.position(("environments", env_name, "env_file")),
                                           f"environments.{env_name}.env_file",
                                           f"file not found: {env.env_file}")])
        from ..plugins import load

        # The secrets provider: the built-in `env` reads the env_file and the process environment.
        variables = load("secrets", "env")(env_file, environ)
        data, issues = r.interpolate(self.doc.data, variables, self.doc)
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


def compose_service_names(path: Path) -> list[str] | None:
    """Service names of the compose file, or None when there is no such file."""
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML in compose file: {exc}") from None
    return sorted((data.get("services") or {}).keys()) if isinstance(data, dict) else []


def load_config(path: str | Path) -> LoadedConfig:
    """Load, validate and parse a config file; raise ConfigError listing every problem."""
    from . import schema

    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}", hint="run 'stagecraft init' to create one, or pass -c PATH")
    try:
        doc = load_yaml_file(path)
    except YamlSyntaxError as exc:
        raise ConfigError([ConfigIssue(exc.position, "(syntax)", exc.problem)], path=str(path)) from None
    issues = schema.validate(doc)
    if isinstance(doc.data, dict):
        project = doc.data.get("project") if isinstance(doc.data.get("project"), dict) else {}
        compose_file = project.get("compose_file", "docker-compose.yml")
        compose = compose_service_names(path.parent / compose_file)
        if compose is None and compose_file == "docker-compose.yml":
            compose = compose_service_names(path.parent / "compose.yaml")
        try:
            issues = sorted(set(issues) | set(check(doc, compose)))
        except (AttributeError, TypeError, KeyError):
            pass  # the cross-checks need the shapes the schema already reported as wrong
    if issues:
        raise ConfigError(issues, path=str(path))
    config = Config.parse(doc.data, base_dir=str(path.parent), path=str(path))
    return LoadedConfig(config=config, doc=doc, path=path)
