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
app answers after the first deploy. Adds .stagecraft/ and .env.* to .gitignore.
Prompts for the project name only on a terminal. Refuses to overwrite an
existing file unless --force is given. With --dry-run, prints the file instead.

\b
Examples:
  stagecraft init
  stagecraft init --non-interactive --project-name shop
""")
@click.option("--non-interactive", is_flag=True, help="Do not prompt; use --project-name or the directory name.")
@click.option("--project-name", metavar="NAME", help="Project name (default: the directory name).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@global_options
def init(non_interactive: bool, project_name: str | None, force: bool):
    from ..commands.init_plan import gitignore_lines, plan_services, render
    from ..config.compose import load as load_compose
    from ..config.project import COMPOSE_FILE_NAMES
    from ..errors import UserError

    s = settings()
    target = s.config_path
    if target.exists() and not force and not s.dry_run:
        raise UserError(f"{target} already exists; use --force to overwrite it")
    base = target.resolve().parent
    compose_file = next((n for n in COMPOSE_FILE_NAMES if (base / n).exists()), None)
    compose = None
    if compose_file:  # read as every compose file is: limits, key checks, the shapes Stagecraft reads
        compose = load_compose(base / compose_file)
    default_name = _slug(base.name)
    if not project_name and not non_interactive and _interactive():
        project_name = click.prompt("Project name", default=default_name)
    name = _slug(project_name or default_name)
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", name):
        raise UserError(f"--project-name: '{project_name}' is not a valid name "
                        "(lowercase letters, digits, '-' or '_', starting with a letter)")
    services = plan_services(compose if isinstance(compose, dict) else None)
    text = render(name, compose_file, services)
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
        ignore.write_text(existing + sep + "# Stagecraft: local state and env files (secrets)\n"
                          + "\n".join(added) + "\n", encoding="utf-8")
    result["gitignore_added"] = added

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


def _interactive() -> bool:
    """Prompt only on a terminal: in CI or a pipe, the defaults apply (a prompt would abort)."""
    import sys

    return sys.stdin.isatty()


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    if slug and not slug[0].isalpha():
        slug = "app-" + slug
    return slug or "app"
