"""stagecraft build | deploy | rollback (plan and render: cmd_plan)

Options, dry runs and output only; the work is in stagecraft.deploy."""

from __future__ import annotations

from pathlib import Path

import click

from ..deploy.version import release_version
from . import output
from .context import deploy_session, env_context
from .settings import global_options, settings
from .types import Seconds

FORCE = click.option("--force", is_flag=True,
                     help="Run the Ansible rollout on every host, even those that already run this release.")
LOCK_WAIT = click.option("--lock-wait", type=Seconds(min=0), default=0, metavar="SECONDS",
                         help="Wait up to SECONDS for another run on this environment to finish.")


def _services(compose: dict, services: str | None) -> list[str] | None:
    from ..errors import UserError

    wanted = [x.strip() for x in services.split(",")] if services else None
    for name in wanted or []:
        if name not in compose["services"]:
            raise UserError(f"--services: '{name}' is not a service of the compose file "
                            f"({', '.join(sorted(compose['services']))})")
    return wanted


@click.command(help="""Build the app's images (services with a compose `build:`).

Images are tagged <project.registry or project.name>/<service>:<version>; the
version defaults to the git commit, with a -dirty-<hash> suffix for
uncommitted changes.

\b
Example:
  stagecraft build -e prod --version v1.4.0 --services api,web --push
""")
@click.option("--version", "version_", metavar="V", help="Image tag (default: the git commit).")
@click.option("--services", metavar="A,B", help="Only these services.")
@click.option("--push", is_flag=True, help="Push the images to project.registry.")
@global_options
def build(version_: str | None, services: str | None, push: bool):
    from ..commands.compose_render import built_services, image_refs
    from ..deploy import images, registry, render
    from ..deploy.hooks import run_hook

    ctx = env_context()
    version, _ = release_version(Path(ctx.config.base_dir), version_)
    compose, compose_dir = render.compose_of(ctx.config)
    wanted = _services(compose, services)
    if settings().dry_run:
        refs = image_refs(ctx.config, compose, version)
        output.data({"version": version, "images": {s: refs[s] for s in built_services(ctx.config, compose)
                                                      if not wanted or s in wanted}, "built": False},
                    lambda d: "Would build:\n" + "\n".join(f"  {s}: {r}" for s, r in d["images"].items()))
        return
    run_hook(ctx.config, ctx.environment, "pre-build", {"STAGECRAFT_VERSION": version}, output.info)
    from ..deploy.envvars import secret_variables

    built = images.build_images(ctx.config, compose, compose_dir, version, wanted, output.info, secret_variables(ctx))
    if push:
        registry.push(ctx, built, output.info)
    output.data({"version": version, "images": built, "built": True, "pushed": push},
                lambda d: "\n".join(f"built {i['ref']} ({i['id'][:19]})" for i in d["images"].values()))


@click.command(help="""Deploy the app to every host of an environment, without downtime.

Phases, recorded as a release: build (images), push (to the hosts over SSH, or
a registry), migrate_pre, rollout (per host, in role order data -> app ->
gateway, in batches; stateless services roll beside the old containers and
switch only when healthy), migrate_post, finalize. A failed batch stops the
deploy before further hosts are touched, and the hosts it reached are put back
on the previous release (--keep-partial keeps completed batches on the new
one). Then .stagecraft/tests/health.sh and smoke.sh run, when present, against
the public URLs (STAGECRAFT_URL): a failing test fails the release and puts the
hosts back on the previous release. Ctrl-C once finishes the step in flight on
the current batch and stops; twice aborts now.

\b
Examples:
  stagecraft deploy -e local
  stagecraft deploy -e prod --version v1.4.0 --limit app-1
""")
@click.option("--version", "version_", metavar="V", help="Version to deploy (default: the git commit).")
@click.option("--services", metavar="A,B", help="Only build these services; the others keep the image their hosts run "
              "(from the last completed release).")
@click.option("--limit", metavar="HOST[,HOST]", help="Roll out to these hosts only.")
@click.option("--keep-partial", is_flag=True,
              help="After a failed batch, leave the hosts of earlier completed batches on the new version "
                   "(default: every host is put back on the previous release).")
@click.option("--no-tests", is_flag=True, help="Do not run .stagecraft/tests/health.sh and smoke.sh after the rollout.")
@FORCE
@LOCK_WAIT
@global_options
def deploy(version_: str | None, services: str | None, limit: str | None, keep_partial: bool, no_tests: bool,
           force: bool, lock_wait: float):
    from ..commands.hosts import validate_limit
    from ..deploy import phases, probe, render
    from ..deploy.envvars import deploy_env
    from ..deploy.history import pinned_refs
    from .cmd_plan import show_plan

    ctx = env_context()
    dry_run = settings().dry_run
    hosts = validate_limit(ctx.environment, limit)
    version, commit = release_version(Path(ctx.config.base_dir), version_)
    compose, compose_dir = render.compose_of(ctx.config)
    # Build only what runs somewhere in this environment.
    wanted = _services(compose, services) or sorted(
        {svc for h in ctx.environment.hosts for svc in ctx.config.services_for_roles(h.roles)})
    names, envvars = deploy_env(ctx, version, require_values=not dry_run)
    session = deploy_session(ctx, envvars=envvars, env_names=names, limit=hosts or None, force=force, put_back=True,
                             keep_partial=keep_partial, run_tests=not no_tests)
    if dry_run:
        return show_plan(session, version)
    pinned = pinned_refs(ctx, compose, wanted) if services else None
    work = phases.Work(kind="deploy", version=version, commit=commit,
                       build=phases.Build(compose=compose, compose_dir=compose_dir, services=wanted, pinned=pinned))
    result = phases.execute(session, work, lock_wait=lock_wait)
    urls = probe.app_urls(result.desired, session.addresses)
    output.data({"release": result.release, "environment": ctx.environment.name, "version": version,
                 "hosts": {h: o.get("services") for h, o in sorted(result.rollout.items())},
                 "urls": {u: probe.probe(u, a) for u, a in urls.items()}, "firewall": session.firewall}, _describe_deploy)


def _describe_deploy(d: dict) -> str:
    lines = [f"Deployed {d['version']} to {d['environment']} (release {d['release']})"]
    for host, services in d["hosts"].items():
        summary = ", ".join(f"{n}: {v.get('result')}" for n, v in sorted((services or {}).items()))
        lines.append(f"  {host:<14} {summary}")
    for url, answer in d["urls"].items():
        lines.append(f"App answers at {url}  ->  {answer}")
    return "\n".join(lines)


@click.command(help="""Redeploy an earlier release's images and compose files, without rebuilding.

Exactly one of --to-previous, --to-release, --to-version. The target must be a
completed release of this environment. A new release (kind rollback) is
recorded. Database migrations are never reverted.

\b
Examples:
  stagecraft rollback -e prod --to-previous
  stagecraft rollback -e prod --to-release rel-20261125-101500123-a1b2c3
""")
@click.option("--to-previous", is_flag=True, help="The release before the current one.")
@click.option("--to-release", metavar="ID", help="A release id.")
@click.option("--to-version", metavar="V", help="The newest completed release of this version.")
@FORCE
@LOCK_WAIT
@global_options
def rollback(to_previous: bool, to_release: str | None, to_version: str | None, force: bool, lock_wait: float):
    from ..deploy import phases, render
    from ..deploy.envvars import deploy_env
    from ..deploy.history import rollback_target
    from ..state import open_store

    from ..state import journal

    ctx = env_context()
    env = ctx.environment.name
    store = open_store(ctx.state_dir)
    journal.sync(ctx, store, warn=output.warn)  # the history other machines wrote on the hosts
    target = rollback_target(store, env, to_previous=to_previous, to_release=to_release,
                             to_version=to_version)
    names, envvars = deploy_env(ctx, target.version)
    if settings().dry_run:
        output.data({"target": target.id, "version": target.version, "rolled_back": False},
                    lambda d: f"Would roll back {env} to {d['target']} ({d['version']})")
        return
    work = phases.Work(kind="rollback", version=target.version, commit=target.commit_sha,
                       desired=render.desired_from_manifest(target.manifest),
                       manifest={**target.manifest, "rollback_of": target.id},
                       skip_build=f"rollback reuses the images of {target.id}",
                       skip_migrations="rollback never runs or reverts database migrations")
    session = deploy_session(ctx, envvars=envvars, env_names=names, force=force)
    result = phases.execute(session, work, lock_wait=lock_wait)
    output.data({"release": result.release, "target": target.id, "version": target.version,
                 "hosts": {h: o.get("services") for h, o in sorted(result.rollout.items())},
                 "firewall": session.firewall},
                lambda d: f"Rolled back {env} to {d['target']} ({d['version']}) as release {d['release']}\n"
                          "Database migrations were not reverted.")
