"""stagecraft new"""

from __future__ import annotations

from pathlib import Path

import click

from . import output
from .settings import global_options, settings


@click.command(help="""Create a new project from a template.

Makes the directory NAME (it must not exist, or be empty), renders the
template into it and, unless --no-git, runs `git init` and commits the
files. Templates: built-in ones (`stagecraft templates list`), a directory
holding template.yml, or a git URL (https://, ssh://, git@host:path,
file://; `#REF` picks a branch or tag). Variables: --var NAME=VALUE, else a
prompt on a terminal, else the template's default; each is validated.
The built-in `platform` template is a web frontend, an API and a worker over
PostgreSQL and Redis with stagecraft.yml (dev, local, commented prod on
DigitalOcean), docker-compose.yml, a GitHub Actions workflow and
.stagecraft/ (hook samples, deploy tests).

\b
Examples:
  stagecraft new shop
  stagecraft new shop --template platform --var dev_http_port=8080 --non-interactive
  stagecraft new shop --template ./my-template
  stagecraft new shop --template https://git.example.com/acme/template.git#v2
  stagecraft new shop --dry-run              # the files it would write
""")
@click.argument("name", metavar="NAME")
@click.option("--template", "template_ref", default="platform", show_default=True, metavar="TEMPLATE",
              help="Built-in name, directory or git URL.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A template variable (repeatable).")
@click.option("--non-interactive", is_flag=True, help="Never prompt: --var values and defaults only.")
@click.option("--no-git", is_flag=True, help="Do not run git init / commit.")
@global_options
def new(name: str, template_ref: str, variables: tuple[str, ...], non_interactive: bool, no_git: bool):
    from ..errors import UserError
    from ..scaffold import files as scaffold_files
    from ..scaffold import engine
    from ..scaffold.source import open_template
    from .templating import interactive, parse_vars, render, show_changes

    s = settings()
    target = Path(name).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(f"NAME: {target} already exists and is not an empty directory",
                        hint="pick a new directory, or use `stagecraft attach` inside an existing repository")
    given = parse_vars(variables)
    with open_template(template_ref) as template:
        values, files = render(template, target, given, prompt=interactive(non_interactive))
        messages = engine.messages(template, {**engine.builtins(target), **values})
        source, template_name = template.source, template.name
    changes = scaffold_files.plan(target, files, lambda _: False)
    result = {"path": str(target), "template": template_name, "source": source, "variables": values,
              "files": [c.describe() for c in changes], "written": not s.dry_run, "messages": messages}
    if s.dry_run:
        output.info(f"would create {target} from template {template_name} ({source}):")
        show_changes(changes, diffs=not s.quiet)
        output.data(result, lambda _: None)
        return
    scaffold_files.write(target, changes)
    result["git"] = "skipped" if no_git else _git(target, template_name)

    def describe(r):
        lines = [f"created {r['path']} from template {r['template']} ({len(r['files'])} files)"]
        if r["git"] != "skipped":
            lines.append(f"git: {r['git']}")
        return "\n".join(lines + r["messages"])

    output.data(result, describe)


def _git(target: Path, template: str) -> str:
    """git init, add and commit; without a git identity the files stay staged (said so)."""
    from .. import process
    from ..errors import ExternalError

    def git(*args):
        return process.run(["git", *args], cwd=target, what=f"git {args[0]}")

    try:
        if git("init", "-q").returncode != 0:
            return "git init failed; run it yourself"
    except ExternalError:
        return "git is not installed; files not committed"
    git("add", "-A")
    commit = git("commit", "-q", "-m", f"New project from the Stagecraft template {template}")
    if commit.returncode != 0:
        return "initialised; files staged but not committed (no git identity?): git commit -m 'Initial commit'"
    return "initialised and committed"
