"""stagecraft build | deploy | rollback | plan | render

Options, dry runs and output only; the work is in stagecraft.deploy."""

from __future__ import annotations

from pathlib import Path

import click

from . import output
from .context import env_context
from .settings import global_options, settings

FORCE = click.option("--force", is_flag=True,
                     help="Run the Ansible rollout on every host, even those that already run this release.")
LOCK_WAIT = click.option("--lock-wait", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
                         help="Wait up to SECONDS for another run on this environment to finish.")


def _version(ctx, explicit: str | None) -> tuple[str, str]:
    from ..deploy.version import git_version

    version, commit = git_version(Path(ctx.config.base_dir))
    return (explicit or version), commit


def _session(ctx, **kwargs):
    from ..deploy.session import Session

    s = settings()
    return Session(ctx, verbosity=s.verbose, quiet=s.quiet, say=output.info, warn=output.warn, **kwargs)


def _services(compose: dict, services: str | None) -> list[str] | None:
    from ..errors import UserError

    wanted = [x.strip() for x in services.split(",")] if services else None
    for name in wanted or []:
        if name not in compose["services"]:
            raise UserError(f"--services: '{name}' is not a service of the compose file "
                            f"({', '.join(sorted(compose['services']))})")
    return wanted


def _pinned_refs(ctx, compose, wanted: list[str]) -> dict:
    """For `--services`: the image each other built service runs now (last completed deploy or rollback)."""
    from ..commands.compose_render import built_services, deployed_refs
    from ..errors import UserError
    from ..state import open_store

    others = [s for s in built_services(ctx.config, compose) if s not in wanted]
    if not others:
        return {}
    current = open_store(ctx.state_dir).current(ctx.environment.name)
    refs = deployed_refs(current.manifest if current else {})
    missing = [s for s in others if s not in refs]
    if missing:
        raise UserError(f"--services: {', '.join(missing)} never completed a deploy in '{ctx.environment.name}', "
                        "so there is no image to keep; deploy without --services first, or include them")
    return {s: refs[s] for s in others}


def _desired(session, version: str) -> dict:
    from ..deploy import images, render
    from ..deploy.envvars import deploy_env

    compose, _ = render.compose_of(session.config)
    names, _ = deploy_env(session.ctx, version, require_values=False)
    return render.render_all(session.config, session.environment, session.addresses, compose, version,
                             images.expected_edge_image(), names)


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
    version, _ = _version(ctx, version_)
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
one). Ctrl-C once finishes the step in flight on the current batch and stops;
twice aborts now.

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
@FORCE
@LOCK_WAIT
@global_options
def deploy(version_: str | None, services: str | None, limit: str | None, keep_partial: bool, force: bool,
           lock_wait: float):
    from ..commands.infra_vars import validate_limit
    from ..deploy import phases, probe, render
    from ..deploy.envvars import deploy_env

    ctx = env_context()
    dry_run = settings().dry_run
    hosts = validate_limit(ctx.environment, limit)
    version, commit = _version(ctx, version_)
    compose, compose_dir = render.compose_of(ctx.config)
    # Build only what runs somewhere in this environment.
    wanted = _services(compose, services) or sorted(
        {svc for h in ctx.environment.hosts for svc in ctx.config.services_for_roles(h.roles)})
    names, envvars = deploy_env(ctx, version, require_values=not dry_run)
    session = _session(ctx, envvars=envvars, env_names=names, limit=hosts or None, force=force, put_back=True,
                       keep_partial=keep_partial)
    if dry_run:
        return _show_plan(session, version)
    pinned = _pinned_refs(ctx, compose, wanted) if services else None
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
    session = _session(ctx, envvars=envvars, env_names=names, force=force)
    result = phases.execute(session, work, lock_wait=lock_wait)
    output.data({"release": result.release, "target": target.id, "version": target.version,
                 "hosts": {h: o.get("services") for h, o in sorted(result.rollout.items())},
                 "firewall": session.firewall},
                lambda d: f"Rolled back {env} to {d['target']} ({d['version']}) as release {d['release']}\n"
                          "Database migrations were not reverted.")


def _show_plan(session, version: str):
    from ..deploy import diff, render
    from ..deploy.migrations import pending_migrations
    from ..state import open_store

    from ..state import journal

    desired = _desired(session, version)
    store = open_store(session.ctx.state_dir)
    journal.sync(session.ctx, store, warn=output.warn)  # what other machines deployed (the hosts' journal)
    current = store.current(session.environment.name)
    deployed = render.desired_from_manifest(current.manifest) if current and current.manifest.get("hosts") else {}
    data = {"environment": session.environment.name, "version": version,
            "current_release": current.id if current else None, "current_version": current.version if current else None,
            "hosts": diff.host_changes(session.config, session.environment, desired, deployed),
            "migrations": pending_migrations(session.ctx, session.inventory().hostvars)}
    output.data(data, _describe_plan)


def _describe_plan(d: dict) -> str:
    lines = [f"Plan for {d['environment']}: {d['current_version'] or 'nothing deployed'} -> {d['version']}"]
    for h in d["hosts"]:
        state = "unchanged" if h["compose_hash"] == h["deployed_hash"] else "changes"
        lines.append(f"  {h['host']} ({state})")
        for name, change in h["services"].items():
            lines.append(f"    {name:<18} {change}")
    for m in d["migrations"]:
        state = (f"unknown ({m['error']})" if "error" in m else
                 f"{len(m['pending'])} pending" + (f": {', '.join(m['pending'])}" if m["pending"] else ""))
        lines.append(f"  migrations {m['database']} ({m['strategy']}): {state}")
    if not d["migrations"]:
        lines.append("  migrations: none configured")
    return "\n".join(lines)


@click.command(help="""Show what a deploy would change, per host, without touching anything.

Compares the compose files a deploy of VERSION would render with those of the
last completed release: which services are added, removed, get a new image or
new configuration, and which stay; hosts in rollout order. No build, no SSH,
no state written.

\b
Example:
  stagecraft plan -e prod --version v1.5.0 -o json
""")
@click.option("--version", "version_", metavar="V", help="Version to plan for (default: the git commit).")
@global_options
def plan(version_: str | None):
    ctx = env_context()
    version, _ = _version(ctx, version_)
    _show_plan(_session(ctx), version)


@click.command(help="""Print the compose file (and edge routes) a deploy renders for each host.

\b
Example:
  stagecraft render -e local --host app-1
""")
@click.option("--host", metavar="HOST", help="Only this host.")
@click.option("--version", "version_", metavar="V", help="Version to render (default: the git commit).")
@global_options
def render(host: str | None, version_: str | None):
    from ..commands.infra_vars import validate_limit

    ctx = env_context()
    version, _ = _version(ctx, version_)
    only = validate_limit(ctx.environment, host)
    desired = _desired(_session(ctx), version)
    data = ctx.resolved.redact({h: {"compose": p.definition, "sha256": p.hash, "edge_config": p.edge_config}
                                for h, p in sorted(desired.items()) if not only or h in only})

    def describe(d):
        parts = []
        for h, v in d.items():
            parts.append(f"# host {h}  sha256 {v['sha256']}\n{v['compose']}")
            if v["edge_config"]:
                parts.append(f"# host {h}: routes on the shared edge proxy (JSON)\n{v['edge_config']}")
        return "\n".join(parts)

    output.data(data, describe)
