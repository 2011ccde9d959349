"""Per-environment resolution: env_file + process environment, ${VAR} interpolation, redaction."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..files import exists
from .issues import ConfigIssue, format_path
from .secrets import REDACTED, looks_secret
from .yamlpos import LoadedYaml

# ${VAR}, ${VAR:-default}, and $$ for a literal dollar sign.
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_variables(env_file: Path | None, environ: dict | None = None, what: str | None = None) -> dict[str, str]:
    """Values from the env file (if it exists; see envfile.read), overridden by the process environment."""
    values: dict[str, str] = {}
    if env_file is not None and exists(env_file, what):
        from . import envfile

        values.update(envfile.read(env_file, what))
    values.update(os.environ if environ is None else environ)
    return values


MAX_INTERPOLATED = 8 << 20  # characters ${VAR} may add in all (a 1 MiB value named a thousand times...)


def interpolate(data, variables: dict[str, str], doc: LoadedYaml | None = None, path=()):
    """Return (new data, issues). Only string values are interpolated; keys are left alone."""
    issues: list[ConfigIssue] = []
    added = [0]

    def sub(text: str, where) -> str:
        def replace(m: re.Match) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            value = variables.get(name)
            if default is not None:  # compose semantics: ${VAR:-d} also replaces an empty value
                value = value if value else default
            if value is not None:
                added[0] += len(value)
                if added[0] > MAX_INTERPOLATED:
                    if added[0] - len(value) <= MAX_INTERPOLATED:  # said once, where it happens
                        issues.append(ConfigIssue(doc.position(where) if doc else None, format_path(where),
                                                  f"${{...}} values add more than {MAX_INTERPOLATED} characters "
                                                  "to the config in all; refusing to build it"))
                    return ""
                return value
            pos = doc.position(where) if doc else None
            issues.append(ConfigIssue(pos, format_path(where),
                                      f"variable ${{{name}}} is not set (set it in the environment or env_file, "
                                      f"or write ${{{name}:-default}})"))
            return m.group(0)

        return _VAR.sub(replace, text)

    def walk(node, where):
        if isinstance(node, str):
            return sub(node, where) if "$" in node else node
        if isinstance(node, dict):
            return {k: walk(v, where + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, where + (i,)) for i, v in enumerate(node)]
        return node

    return walk(data, tuple(path)), issues


def secret_names(data: dict) -> set[str]:
    """Env var names whose values must never be shown: secrets.keys, every *_env reference, and
    names that look secret."""
    names = set((data.get("secrets") or {}).get("keys") or ())

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                    names.add(v)
                if k == "secrets" and isinstance(v, list):
                    names.update(x for x in v if isinstance(x, str))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return names


def secret_values(data: dict, variables: dict[str, str]) -> list[str]:
    names = secret_names(data) | {n for n in variables if looks_secret(n)}
    # Short values would redact half the output; they are not meaningful secrets either.
    values = {variables[n] for n in names if len(variables.get(n) or "") >= 4}
    return sorted(values, key=len, reverse=True)


def redact(node, secrets: list[str]):
    if isinstance(node, str):
        for value in secrets:
            if value in node:
                node = node.replace(value, REDACTED)
        return node
    if isinstance(node, dict):
        return {k: redact(v, secrets) for k, v in node.items()}
    if isinstance(node, list):
        return [redact(v, secrets) for v in node]
    return node


def fill_defaults(node, schema: dict):
    """Add the schema's documented defaults for keys that are absent (for `config show`)."""
    if not isinstance(node, dict) or schema.get("type") != "object":
        return node
    out = dict(node)
    props = schema.get("properties", {})
    for key, sub in props.items():
        if key not in out and "default" in sub:
            out[key] = sub["default"]
    for key, value in out.items():
        sub = props.get(key) or (schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None)
        if sub and isinstance(value, dict):
            out[key] = fill_defaults(value, sub)
        elif sub and isinstance(value, list) and isinstance(sub.get("items"), dict):
            out[key] = [fill_defaults(v, sub["items"]) for v in value]
    return out
