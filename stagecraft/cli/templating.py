"""What `new`, `init --template` and `attach` share: --var parsing, prompts, rendering a template into a
directory (with the CI workflow its manifest asks for), and showing what that changes."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from ..errors import UserError
from . import output


def parse_vars(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var: expected NAME=VALUE, got '{item}'")
        out[name.strip()] = value
    return out


def interactive(non_interactive: bool) -> bool:
    """Prompt only on a terminal: in CI or a pipe the defaults apply (a prompt would abort)."""
    return not non_interactive and sys.stdin.isatty()


def ask(var, default):
    """Prompt for one variable until its value is valid."""
    from ..scaffold.engine import describe_variable

    while True:
        raw = click.prompt(describe_variable(var), default=default if default is not None else None,
                           show_default=default is not None)
        try:
            return var.convert(raw, var.name)
        except UserError as exc:
            click.echo(f"  {exc.message}", err=True)


def render(template, target: Path, given: dict, *, prompt: bool, context: dict | None = None):
    """(values, files): the template's files for `target`, plus its CI workflow when it names one."""
    from ..scaffold import engine

    ctx = {**engine.builtins(target), **(context or {})}
    values = engine.values(template, given, ctx, ask=ask if prompt else None)
    files = engine.render(template, values, ctx)
    if template.ci_workflow:
        workflow = ci_workflow(template, values, ctx)
        files[workflow.path] = workflow
    return values, files


def ci_workflow(template, values: dict, context: dict):
    """The workflow `stagecraft ci init` writes for the rendered project, rendered with the manifest's
    `ci_workflow.variables` (e.g. prod enabled) for its `ci_workflow.environments`."""
    from ..ci import CiContext, get_provider
    from ..config import ConfigError, load_config
    from ..scaffold import engine, files as scaffold_files

    spec = template.ci_workflow
    variables = {v.name: v for v in template.all_variables()}
    alt = dict(values)
    for name, raw in (spec.get("variables") or {}).items():
        if name not in variables:
            raise UserError(f"template {template.name}: ci_workflow.variables.{name}: no such variable")
        alt[name] = variables[name].convert(raw, f"template {template.name}: ci_workflow.variables.{name}")
    rendered = engine.render(template, alt, context)
    with tempfile.TemporaryDirectory(prefix="stagecraft-ci-") as tmp:
        root = Path(tmp)
        scaffold_files.write(root, scaffold_files.plan(root, rendered, lambda _: False))
        try:
            loaded = load_config(root / "stagecraft.yml")
        except ConfigError as exc:
            raise UserError(f"template {template.name}: its stagecraft.yml (with ci_workflow.variables) is "
                            "invalid:\n" + "\n".join(f"  {i}" for i in exc.issues)) from None
        if loaded.config.ci is None:
            raise UserError(f"template {template.name}: ci_workflow needs a `ci:` block in its stagecraft.yml")
        envs = tuple(spec.get("environments") or ())
        for name in envs:
            loaded.config.environment(name)
        provider = get_provider(loaded.config.ci.provider)
        ctx = CiContext(loaded=loaded, environments=envs, state_dir=root / ".stagecraft", repo_root=root)
        text = provider.render_workflow(ctx)
        rel = provider.workflow_path(ctx).relative_to(root).as_posix()
    return engine.OutFile(rel, text.encode(), 0o644)


def show_changes(changes, *, diffs: bool = True) -> None:
    """One line per file (on stderr with -o json), then the diffs of what differs."""
    for change in changes:
        output.info(f"  {change.status:<9} {change.file.path}")
    if diffs:
        for change in changes:
            if change.diff and change.status != "unchanged":
                output.info(change.diff.rstrip("\n"))
