"""stagecraft init"""

from __future__ import annotations

import re
from pathlib import Path

import click

from . import output
from .settings import global_options, settings


@click.command(help="""Write a commented stagecraft.yml for this project.

If a compose file is present (compose.yaml, compose.yml, docker-compose.yaml,
docker-compose.yml), its services are listed and mapped to roles: databases and
caches -> db with recreate; proxies -> gateway; services with a named volume ->
recreate (one container at a time); everything else -> app with rolling updates.
A service's first published port (ports: ["80:8080"]) becomes its `port` (the
edge routes HTTP to 8080) and its role public when there is no gateway, so the
app answers after the first deploy. Adds .env.* to .gitignore and writes
.stagecraft/.gitignore (the local state stays out of git; hooks/ and tests/ may
be committed). Prompts for the project name only on a terminal. Refuses to
overwrite an existing file unless --force is given. With --dry-run, prints the
file instead. The file comes from the built-in template `init`.

With --template, renders that template (built-in name, directory or git URL,
see `stagecraft templates list`) into this directory instead, like
`stagecraft new` does into a new one; existing files are kept unless --force.

\b
Examples:
  stagecraft init
  stagecraft init --non-interactive --project-name shop
  stagecraft init --template platform --var project_name=shop
""")
@click.option("--non-interactive", is_flag=True, help="Do not prompt; use --project-name or the directory name.")
@click.option("--project-name", metavar="NAME", help="Project name (default: the directory name).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file (with --template: existing files).")
@click.option("--template", "template_ref", metavar="TEMPLATE", help="Render this template here instead.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A template variable (with --template).")
@global_options
def init(non_interactive: bool, project_name: str | None, force: bool, template_ref: str | None,
         variables: tuple[str, ...]):
    from ..errors import UserError

    if template_ref:
        return _init_template(template_ref, variables, non_interactive, project_name, force)
    if variables:
        raise UserError("--var: only with --template")
    from ..commands.init_plan import config_context, gitignore_lines, plan_services
    from ..config.compose import load as load_compose
    from ..config.project import COMPOSE_FILE_NAMES
    from ..scaffold import engine, source
    from .templating import interactive

    s = settings()
    target = s.config_path
    if target.exists() and not force and not s.dry_run:
        raise UserError(f"{target} already exists; use --force to overwrite it")
    base = target.resolve().parent
    compose_file = next((n for n in COMPOSE_FILE_NAMES if (base / n).exists()), None)
    compose = None
    if compose_file:  # read as every compose file is: limits, key checks, the shapes Stagecraft reads
        compose = load_compose(base / compose_file)
    default_name = engine.slug(base.name)
    if not project_name and interactive(non_interactive):
        project_name = click.prompt("Project name", default=default_name)
    name = engine.slug(project_name or default_name)
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", name):
        raise UserError(f"--project-name: '{project_name}' is not a valid name "
                        "(lowercase letters, digits, '-' or '_', starting with a letter)")
    services = plan_services(compose if isinstance(compose, dict) else None)
    context = {**engine.builtins(base), **config_context(compose_file, services)}
    text = engine.render(source.builtin("init"), {"project_name": name}, context)["stagecraft.yml"].content.decode()
    result = {"path": str(target), "project": name, "compose_file": compose_file,
              "services": [{"name": p.name, "role": p.role, "strategy": p.strategy, "port": p.port}
                           for p in services],
              "written": not s.dry_run}
    if s.dry_run:
        output.data({**result, "content": text}, lambda _: text)
        return
    target.write_text(text, encoding="utf-8")
    ignore = base / ".gitignore"
    existing = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    added = gitignore_lines(existing)
    if added:
        sep = "" if not existing or existing.endswith("\n") else "\n"
        ignore.write_text(existing + sep + "# Stagecraft: the environments' env files (secrets)\n"
                          + "\n".join(added) + "\n", encoding="utf-8")
    result["gitignore_added"] = added
    result["state_gitignore"] = _state_gitignore(base, name)

    def describe(r):
        lines = [f"Created {r['path']} for project {r['project']}."]
        if r["compose_file"]:
            lines.append(f"Services from {r['compose_file']}:")
            lines += [f"  {p['name']:<20} role {p['role']:<8} {p['strategy']:<9}"
                      + (f" port {p['port']}" if p["port"] else "") for p in r["services"]]
        else:
            lines.append("No compose file found: add services under roles.<role>.services later.")
        if r.get("gitignore_added"):
            lines.append(f"Added to .gitignore: {', '.join(r['gitignore_added'])}")
        lines.append("Next: stagecraft config validate && stagecraft infra up -e local")
        return "\n".join(lines)

    output.data(result, describe)


def _state_gitignore(base: Path, name: str) -> str | None:
    """.stagecraft/.gitignore (state out of git, hooks/ and tests/ in), when there is none yet."""
    from ..scaffold import engine, files, source

    rendered = engine.render(source.builtin("stagecraft-dir"), {"project_name": name}, engine.builtins(base))
    wanted = {k: v for k, v in rendered.items() if k == ".stagecraft/.gitignore"}
    changes = [c for c in files.plan(base, wanted, lambda _: False) if c.status == "create"]
    files.write(base, changes)
    return changes[0].file.path if changes else None


def _init_template(ref: str, variables: tuple[str, ...], non_interactive: bool, project_name: str | None,
                   force: bool):
    from ..scaffold import engine, files
    from ..scaffold.source import open_template
    from .templating import interactive, parse_vars, render, show_changes

    s = settings()
    base = s.config_path.resolve().parent
    given = parse_vars(variables)
    if project_name:
        given.setdefault("project_name", project_name)
    with open_template(ref) as template:
        values, rendered = render(template, base, given, prompt=interactive(non_interactive))
        messages = engine.messages(template, {**engine.builtins(base), **values})
        name = template.name
    changes = files.plan(base, rendered, lambda _: force)
    result = {"path": str(base), "template": name, "variables": values, "files": [c.describe() for c in changes],
              "written": not s.dry_run, "messages": messages}
    output.info(f"template {name} in {base}:")
    show_changes(changes, diffs=s.dry_run and not s.quiet)
    if not s.dry_run:
        files.write(base, changes)
    kept = [c.file.path for c in changes if c.status == "keep"]
    if kept:
        output.warn(f"kept {len(kept)} existing file(s) that differ (--force overwrites them): {', '.join(kept)}")
    output.data(result, lambda r: "\n".join(r["messages"]) if r["written"] else None)
