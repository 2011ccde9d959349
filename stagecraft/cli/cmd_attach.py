"""stagecraft attach"""

from __future__ import annotations

import click

from . import output
from .settings import global_options, settings


@click.command(help="""Add Stagecraft to an existing repository.

Detects the compose file(s), Dockerfiles and the apps it recognises by their
manifests (Node package.json, Python pyproject.toml / requirements.txt /
Pipfile, Go go.mod), and proposes per compose service a role, rollout
strategy, routed port and, where the compose file has none, a healthcheck
(as comments in stagecraft.yml); detected dev servers become commented
`backend:`/`frontend:` blocks for `stagecraft dev`. Writes stagecraft.yml and
.stagecraft/ (.gitignore for the local state, README, hook samples that are not
executable, tests/health.sh and tests/smoke.sh that deploys run). Without a
compose file, the Dockerfiles become a proposed docker-compose.yml.

Never touches a file that exists: the app's own files are never changed, and
an existing stagecraft.yml or .stagecraft/ file that differs is kept unless
--force (which overwrites only these files of Stagecraft's). Shows what
changes as a diff; running it again changes nothing. With --dry-run, writes
nothing.

\b
Examples:
  stagecraft attach
  stagecraft attach --dry-run                # the proposal and the diff only
  stagecraft attach --project-name shop --non-interactive
  stagecraft attach --force                  # refresh stagecraft.yml and .stagecraft/ from the detection
""")
@click.option("--project-name", metavar="NAME", help="Project name (default: the existing config's, else the directory's).")
@click.option("--non-interactive", is_flag=True, help="Do not prompt for the project name.")
@click.option("--force", is_flag=True, help="Overwrite Stagecraft's files (stagecraft.yml, .stagecraft/) that differ.")
@global_options
def attach(project_name: str | None, non_interactive: bool, force: bool):
    from ..errors import UserError
    from ..scaffold import detect, files
    from .templating import interactive, render, show_changes

    s = settings()
    config_path = s.config_path
    base = config_path.resolve().parent
    if not base.is_dir():
        raise UserError(f"-c: {base} is not a directory; attach works in the repository that holds the compose "
                        "file (stagecraft.yml goes beside it)")
    default = _existing_name(config_path) or _slug(base.name)
    if not project_name and interactive(non_interactive):
        project_name = click.prompt("Project name", default=default)
    name = _slug(project_name or default)
    found = detect.detect(base, name)
    if found.compose_error:
        raise UserError(f"{found.compose_file}: {found.compose_error}", hint="fix the compose file, then run attach again")
    context = _context(found)
    with _template() as template:
        _, rendered = render(template, base, {"project_name": name}, prompt=False, context=context)
    if config_path.name != "stagecraft.yml":  # -c other.yml: the config goes where the user keeps it
        from dataclasses import replace

        rel = config_path.resolve().relative_to(base).as_posix()
        rendered[rel] = replace(rendered.pop("stagecraft.yml"), path=rel)
    compose_written = found.proposed_compose is not None
    changes = files.plan(base, rendered, lambda path: force and not (compose_written and path == found.compose_file))
    if not s.dry_run:
        files.write(base, changes)
    notes = _notes(base, found)
    result = {"path": str(base), "project": name, "detected": found.describe(),
              "files": [c.describe() for c in changes], "written": not s.dry_run, "notes": notes}
    _print_detection(found)
    output.info("files:" if not s.dry_run else "files (dry run, nothing written):")
    show_changes(changes, diffs=not s.quiet)
    kept = [c.file.path for c in changes if c.status == "keep"]
    if kept:
        output.warn(f"kept {len(kept)} existing file(s) that differ from the proposal (--force overwrites "
                    f"Stagecraft's): {', '.join(kept)}")
    for note in notes:
        output.warn(note)
    if not s.dry_run:
        result["valid"] = _validate(config_path)

    def describe(r):
        changed = sum(1 for f in r["files"] if f["status"] in ("create", "update"))
        verb = "would change" if not r["written"] else "changed"
        lines = [f"attach: {verb} {changed} file(s) for project {r['project']}"
                 + ("" if changed else " (already attached)")]
        if r.get("valid") is True:
            lines.append("stagecraft config validate: ok. Next: stagecraft infra up -e local && stagecraft deploy -e local")
        elif r.get("valid"):
            lines.append(f"stagecraft config validate: {r['valid']}")
        return "\n".join(lines)

    output.data(result, describe)


def _template():
    from ..scaffold.source import open_template

    return open_template("attach")


def _slug(text: str) -> str:
    from ..scaffold.engine import slug

    return slug(text)


def _existing_name(config_path) -> str | None:
    """The project name in an existing stagecraft.yml, so a second attach proposes the same file."""
    import yaml

    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        return str(data["project"]["name"])
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return None


def _context(found) -> dict:
    from ..commands.init_plan import config_context

    plans = [p.plan for p in found.services]
    context = config_context(found.compose_file, plans)
    context["healthchecks"] = {p.name: p.healthcheck for p in found.services}
    context["proposed_compose"] = found.proposed_compose
    context["dev_servers"] = _dev_servers(found)
    return context


def _dev_servers(found) -> dict:
    """frontend/backend dev server proposals from the detected apps with a framework, a dev command and a port;
    `service` is the compose service built from the app's directory."""
    by_dir = {p.app.path: p.name for p in found.services if p.app}
    out = {}
    for app in found.apps:
        if not (app.framework and app.dev_command and app.port):
            continue
        kind = "frontend" if app.is_frontend else "backend"
        out.setdefault(kind, {"path": app.path, "command": list(app.dev_command), "port": app.port,
                              "service": by_dir.get(app.path)})
    return out


def _notes(base, found) -> list[str]:
    notes = []
    ignore = base / ".gitignore"
    lines = {line.strip() for line in ignore.read_text(encoding="utf-8", errors="replace").splitlines()} \
        if ignore.is_file() else set()
    if lines & {".stagecraft", ".stagecraft/", "/.stagecraft", "/.stagecraft/"}:
        notes.append(".gitignore ignores .stagecraft/ entirely, so hooks/ and tests/ cannot be committed; remove "
                     "that line (.stagecraft/.gitignore keeps the state out)")
    if not lines & {".env.*", ".env*", "*.env", ".env.local"}:
        notes.append("add `.env.*` and `!.env.example` to .gitignore: environments' env files hold secrets")
    if found.other_compose_files:
        notes.append(f"deploys read {found.compose_file or 'no compose file'} only; also found: "
                     f"{', '.join(found.other_compose_files)} (use `include:` or project.compose_file)")
    if not found.services:
        notes.append("no compose service detected: add a docker-compose.yml (or Dockerfiles), then attach again")
    return notes


def _print_detection(found) -> None:
    if found.compose_file:
        state = "proposed from the Dockerfiles" if found.proposed_compose else "found"
        output.info(f"compose file: {found.compose_file} ({state})")
    if found.dockerfiles:
        output.info("Dockerfiles: " + ", ".join(sorted(found.dockerfiles)))
    for app in found.apps:
        output.info(f"app: {app.path} ({app.label}, {app.manifest})"
                    + (f", usual port {app.port}" if app.port else ""))
    if found.services:
        output.info("proposed services:")
        for p in found.services:
            output.info(f"  {p.name:<20} role {p.plan.role:<8} {p.plan.strategy:<9}"
                        + (f" port {p.plan.port}" if p.plan.port else "")
                        + (" healthcheck proposed" if p.healthcheck else ""))


def _validate(config_path) -> bool | str:
    from ..config import ConfigError, load_config
    from ..errors import StagecraftError

    try:
        load_config(config_path)
    except ConfigError as exc:
        return f"{len(exc.issues)} problem(s): " + "; ".join(str(i) for i in exc.issues[:3])
    except StagecraftError as exc:
        return exc.message
    return True
