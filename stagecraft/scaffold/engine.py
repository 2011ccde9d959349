"""Variable values and rendering: a template's files, in memory, ready to be written.

Files come from the template's files/ directory, then its includes' (an own file wins over an included
one at the same path). In a path, a component starting with `dot-` becomes a dotfile (`dot-gitignore`
-> `.gitignore`: a template's own repository can commit them without Git or packaging ignoring them),
`{{ var }}` is rendered, and a `.j2` suffix means the content is rendered with Jinja2 (and the suffix
is dropped); other files are copied byte for byte. Rendering runs in Jinja2's sandbox with undefined
variables as errors. In templates: filters `slug`, `commented(enabled)` (prefix lines with `# `), `to_yaml`, `to_json`;
the function `secret(name)` (a random password, the same for the same name within one render), and
the names `target_name`, `target_dir` and `stagecraft_version`.
"""

from __future__ import annotations

import re
import secrets as random
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import UserError
from .manifest import IGNORED, Manifest, Variable

PLACEHOLDER = re.compile(r"{{|{%")


@dataclass(frozen=True)
class OutFile:
    path: str  # relative, POSIX
    content: bytes
    mode: int
    secret: bool = False


def slug(text: str) -> str:
    """A project name from any text: lower case letters, digits, '-' and '_', starting with a letter."""
    out = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-_")
    if out and not out[0].isalpha():
        out = "app-" + out
    return out or "app"


def commented(text: str, enabled: bool = True) -> str:
    """The block commented out, when enabled: `# ` at the block's least indentation, so removing it gives
    the block back (lines that already are comments stay as they are)."""
    if not enabled:
        return text
    lines = text.split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line if not line.strip() or line.lstrip().startswith("#") else line[:cut] + "# " + line[cut:]
                     for line in lines)


def to_yaml(value) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=120).rstrip("\n")


def to_json(value) -> str:
    """One-line JSON, which YAML reads as a flow collection (no HTML escaping, unlike Jinja's tojson)."""
    import json

    return json.dumps(value)


def builtins(target: Path) -> dict:
    from .. import __version__

    return {"target_name": target.resolve().name, "target_dir": str(target), "stagecraft_version": __version__}


def _environment(template: Manifest, store: dict):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def secret(name: str, length: int = 32) -> str:
        if name not in store:
            store[name] = random.token_urlsafe(length)[:length]
        return store[name]

    env = ImmutableSandboxedEnvironment(loader=FileSystemLoader(str(template.root)), undefined=StrictUndefined,
                                        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(slug=slug, commented=commented, to_yaml=to_yaml, to_json=to_json)
    env.globals.update(secret=secret)
    return env


def _render_text(env, text: str, context: dict, where: str) -> str:
    from jinja2 import TemplateError

    try:
        return env.from_string(text).render(context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise UserError(f"{where}{f': line {line}' if line else ''}: {exc.message or exc}") from None


def messages(template: Manifest, context: dict) -> list[str]:
    """The manifest's post-create messages, rendered with the builtins and variable values."""
    env = _environment(template, {})
    return [_render_text(env, text, context, f"template {template.name}: messages") for text in template.messages]


def values(template: Manifest, given: dict[str, str], context: dict, ask=None) -> dict:
    """Every variable's value: --var (`given`), else `ask(variable, default)` (a prompt), else its
    default (rendered with the builtins and the variables before it). Unknown or invalid: UserError."""
    variables = template.all_variables()
    names = [v.name for v in variables]
    for name in given:
        if name not in names:
            raise UserError(f"--var {name}: template {template.name} has no variable '{name}' "
                            f"(variables: {', '.join(names) or 'none'})")
    env = _environment(template, {})
    out: dict = {}
    for var in variables:
        if var.name in given:
            out[var.name] = var.convert(given[var.name], f"--var {var.name}")
            continue
        default = var.default
        if isinstance(default, str) and PLACEHOLDER.search(default):
            default = _render_text(env, default, {**context, **out},
                                   f"template {template.name}: variables.{var.name}.default")
        if ask is not None:
            out[var.name] = ask(var, default)
        elif default is None:
            raise UserError(f"--var {var.name}: required by template {template.name}"
                            + (f" ({var.description})" if var.description else ""))
        else:
            try:
                out[var.name] = var.convert(default, f"template {template.name}: variables.{var.name}.default")
            except UserError as exc:
                raise UserError(exc.message, hint=f"pass --var {var.name}=VALUE") from None
    return out


def render(template: Manifest, variables: dict, context: dict | None = None, *, _store: dict | None = None) -> dict:
    """path -> OutFile for every file the template (and its includes) writes with these values."""
    store = {} if _store is None else _store
    files: dict[str, OutFile] = {}
    for inc in template.includes:
        files.update(render(inc, variables, context, _store=store))
    env = _environment(template, store)
    ctx = {**(context or {}), **variables}
    where = f"template {template.name}"
    for src in sorted(template.files_dir.rglob("*")) if template.files_dir.is_dir() else []:
        rel = src.relative_to(template.files_dir).as_posix()
        if src.is_symlink():
            raise UserError(f"{where}: files/{rel} is a symbolic link; templates hold regular files only")
        if not src.is_file() or IGNORED.search(rel):
            continue
        path = _target_path(rel, env, ctx, f"{where}: files/{rel}")
        if path.endswith(".j2"):
            path = path[:-3]
        rules = [r for r in template.rules if r.matches(path)]
        when = next((r.when for r in reversed(rules) if r.when), None)
        if when is not None and not _condition(env, when, ctx, f"{where}: files: when '{when}'"):
            continue
        if rel.endswith(".j2"):
            content = _render_text(env, src.read_text(encoding="utf-8"), ctx, f"{where}: files/{rel}").encode()
        else:
            content = src.read_bytes()
        secret = any(r.secret for r in rules)
        mode = next((r.mode for r in reversed(rules) if r.mode is not None), None)
        if mode is None:
            mode = 0o600 if secret else (0o755 if src.stat().st_mode & 0o111 else 0o644)
        files[path] = OutFile(path, content, mode, secret)
    return dict(sorted(files.items()))


def _target_path(rel: str, env, ctx: dict, where: str) -> str:
    parts = []
    for part in PurePosixPath(rel).parts:
        if PLACEHOLDER.search(part):
            part = _render_text(env, part, ctx, where)
        if part.startswith("dot-"):
            part = "." + part[4:]
        parts.append(part)
    path = PurePosixPath(*parts)
    if path.is_absolute() or any(p in ("", ".", "..") or "/" in p for p in parts):
        raise UserError(f"{where}: renders to '{path}', which is not a path inside the project")
    return path.as_posix()


def _condition(env, expression: str, ctx: dict, where: str) -> bool:
    from jinja2 import TemplateError

    try:
        return bool(env.compile_expression(expression, undefined_to_none=False)(**ctx))
    except TemplateError as exc:
        raise UserError(f"{where}: {exc}") from None


def describe_variable(var: Variable) -> str:
    text = var.description or var.name
    if var.type != "string":
        text += f" ({var.type})"
    return text
