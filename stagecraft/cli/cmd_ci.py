"""stagecraft ci init | run | status (the provider does the work: stagecraft/ci/)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import click

from ..errors import EXTERNAL_ERROR, UserError
from . import output
from .settings import global_options, settings
from .types import Seconds


def _repeatable_env(f):
    """The global options, but -e/--env may be given several times (ci init writes several deploy jobs)."""
    f = global_options(f)
    f.__click_params__ = [p for p in f.__click_params__ if p.name != "env"]
    return click.option("-e", "--env", "envs", multiple=True, metavar="NAME",
                        help="Environment the workflow deploys (repeatable; default ci.environments, else every "
                             "environment whose driver is not local).")(f)


def _context(envs: tuple[str, ...] = ()):
    from ..ci import CiContext, get_provider

    s = settings()
    loaded = s.load()
    ci = loaded.config.ci
    if ci is None:
        raise UserError("ci: not configured in stagecraft.yml", hint="add:\n  ci:\n    provider: github")
    for name in envs:
        loaded.config.environment(name)  # unknown names fail with the list of environments
    chosen = tuple(envs) or ci.environments or tuple(
        n for n, e in sorted(loaded.config.environments.items()) if e.driver != "local")
    if not chosen:
        raise UserError("no environment for CI: every environment uses the local driver",
                        hint="pass -e NAME or set ci.environments")
    ctx = CiContext(loaded=loaded, environments=chosen, state_dir=s.state_dir, repo_root=_repo_root(loaded.base_dir))
    return get_provider(ci.provider), ctx


def _repo_root(base_dir: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(base_dir), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else base_dir.resolve()


@click.group(help="""Run deploys from CI: write the workflow, set its secrets, trigger and follow runs.

\b
Examples:
  stagecraft ci init -e prod -e staging        # write .github/workflows/stagecraft.yml
  stagecraft ci init -e prod --set-secrets     # ... and store the secrets it reads in GitHub
  stagecraft ci run -e prod --version v1.2 --follow
  stagecraft ci status -o json
""")
@global_options
def ci():
    pass


@ci.command(help="""Write the CI workflow (test -> build -> deploy per environment).

A push to ci.branch deploys every listed environment; a manual dispatch
(`stagecraft ci run`) deploys one, at an optional version. With
--set-secrets the secrets the workflow reads are stored through the
provider's API: values come from the environment, the environment's
env_file, the SSH key and the pinned known_hosts files; never from the
command line, never printed. The token comes from ci.github.token_env
(GITHUB_TOKEN) or GH_TOKEN.

\b
Examples:
  stagecraft ci init -e prod
  GITHUB_TOKEN=... stagecraft ci init -e prod --set-secrets
  stagecraft ci init --dry-run          # print the workflow, write nothing
""")
@_repeatable_env
@click.option("--set-secrets", is_flag=True, help="Also store the secrets the workflow reads.")
@click.option("--force", is_flag=True, help="Overwrite a workflow file Stagecraft did not write.")
def init(envs: tuple[str, ...], set_secrets: bool, force: bool):
    s = settings()
    if not envs and s.source("env") == "flag":  # `stagecraft -e prod ci init`; not defaults.env
        envs = (s.get("env"),)
    provider, ctx = _context(envs)
    provider.notice = output.info
    text = provider.render_workflow(ctx)
    path = provider.workflow_path(ctx)
    result = _write(path, text, force=force, dry_run=s.dry_run)
    secrets = provider.secrets(ctx)
    rows = [{"scope": x.scope, "name": x.name, "source": x.source, "result": "needed"} for x in secrets]
    if set_secrets and not s.dry_run:
        from ..ci import secrets as ci_secrets

        values = ci_secrets.read_values(ctx, secrets)
        stored = {(r["scope"], r["name"]): r["result"] for r in provider.set_secrets(ctx, values)}
        for r in rows:
            r["result"] = stored.get((r["scope"], r["name"]), r["result"])
    data = {"provider": provider.name, "workflow": str(path), "result": result, "environments": list(ctx.environments),
            "secrets": rows}
    if s.dry_run and not s.json:
        click.echo(text, nl=False)

    def describe(d):
        lines = [f"{d['workflow']}: {d['result']} (deploys {', '.join(d['environments'])})",
                 "secrets the workflow reads (scope/name <- source: result):"]
        lines += [f"  {r['scope']}/{r['name']} <- {r['source']}: {r['result']}" for r in d["secrets"]]
        if not set_secrets:
            lines.append("set them with: stagecraft ci init --set-secrets (values from the environment and files)")
        return "\n".join(lines)

    output.data(data, describe)


def _write(path: Path, text: str, *, force: bool, dry_run: bool) -> str:
    if path.exists():
        from ..files import read_text

        current = read_text(path, "ci.github.workflow_file")
        if current == text:
            return "unchanged"
        if "stagecraft ci init" not in current.partition("\n")[0] and not force:
            raise UserError(f"{path} exists and was not written by stagecraft ci init",
                            hint="pass --force to overwrite it, or set ci.github.workflow_file to another file")
    if dry_run:
        return "would write"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return "written"


@ci.command(help="""Deploy an environment from CI: dispatch the workflow and find the run it started.

With --follow, prints each job and step as its status changes until the
run completes, then exits 0 when it succeeded and 2 otherwise. The
workflow must be committed and pushed to ci.branch.

\b
Examples:
  stagecraft ci run -e prod
  stagecraft ci run -e prod --version v1.2 --follow
  stagecraft ci run -e prod --follow -o json   # progress on stderr, the run as JSON
""")
@global_options
@click.option("--version", "version_", metavar="V", help="Version (image tag) to deploy; default: the commit.")
@click.option("--follow", is_flag=True, help="Follow the run until it completes; exit with its conclusion.")
@click.option("--interval", type=Seconds(min=0), default=5.0, show_default=True, metavar="SECONDS",
              help="Seconds between status polls.")
def run(version_: str | None, follow: bool, interval: float):
    s = settings()
    env = s.env_name()
    provider, ctx = _context()
    if env not in ctx.environments:
        raise UserError(f"--env: the workflow does not deploy '{env}' (it deploys {', '.join(ctx.environments)})",
                        hint="add it to ci.environments and re-run stagecraft ci init")
    provider.poll_interval, provider.notice = interval, output.info
    started = provider.trigger(ctx, env, version_)
    output.info(f"run {started.id} started: {started.url}")
    final = _follow(provider, ctx, started, interval) if follow else started
    output.data(final.as_dict(), lambda d: f"run {d['id']}: {d['status']}"
                + (f" {d['conclusion']}" if d["conclusion"] else "") + f"\n{d['url']}")
    if follow and final.conclusion != "success":
        output.error(f"run {final.id} concluded {final.conclusion}")
        return EXTERNAL_ERROR
    return 0


def _follow(provider, ctx, run, interval: float):
    seen: dict[str, tuple] = {}
    while True:
        for job in run.jobs:
            for step in job.steps:
                if step.status != "queued":  # a step is news once it starts
                    _show(seen, f"{job.name} / {step.name}", step.status, step.conclusion)
            _show(seen, job.name, job.status, job.conclusion)
        if run.done:
            return run
        time.sleep(interval)
        run = provider.run(ctx, run.id)


def _show(seen: dict, name: str, status: str, conclusion: str | None) -> None:
    state = (status, conclusion)
    if seen.get(name) != state:
        seen[name] = state
        output.info(f"  {name}: {status}" + (f" ({conclusion})" if conclusion else ""))


@ci.command(help="""Show the latest CI deploy of each environment.

\b
Example:
  stagecraft ci status -o json
""")
@_repeatable_env
def status(envs: tuple[str, ...]):
    provider, ctx = _context(envs)
    provider.notice = output.info
    latest = provider.latest_runs(ctx)
    data = {env: (r.as_dict() if r else None) for env, r in latest.items()}

    def describe(d):
        lines = []
        for env, r in d.items():
            if r is None:
                lines.append(f"{env}: no deploy yet")
                continue
            job = r["jobs"][0] if r["jobs"] else {}
            state = " ".join(x for x in (job.get("status", r["status"]), job.get("conclusion")) if x)
            lines.append(f"{env}: {state}, run {r['id']} ({r['event']}, {r['created_at']}): {r['title']}")
        return "\n".join(lines)

    output.data(data, describe)
