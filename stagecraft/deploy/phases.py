"""The one phase sequence of a deploy and a rollback, recorded as a release:

    build -> push -> migrate_pre -> rollout -> migrate_post -> finalize

finalize first runs the project's deploy tests (.stagecraft/tests/health.sh, smoke.sh; deploy.verify):
one that fails fails the release and puts the hosts back on the previous one.

A deploy (`Work.build` set) builds images, renders each host's compose file, pushes to the registry
if images travel that way, runs hooks and migrations. A rollback supplies `Work.desired` from an
earlier release's manifest: build and migrations are skipped (migrations are never reverted).
Extension points: rollout.roll_batch / rollout.on_failed_batch, and `after_finalize` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..runner.recorder import recorded_release
from . import images, registry, render, rollout, ship, verify
from .envvars import config_digest, secret_variables
from .hooks import run_hook
from .migrations import migrate


@dataclass(frozen=True)
class Build:
    """What a deploy builds: the app's compose file and the services to (re)build."""
    compose: dict
    compose_dir: Path
    services: list
    pinned: dict | None = None  # `--services`: service -> image the others keep (from the current release)


@dataclass
class Work:
    kind: str  # "deploy" or "rollback": the release's kind
    version: str
    commit: str = ""
    build: Build | None = None  # a deploy builds and renders...
    desired: dict | None = None  # ...a rollback redeploys recorded HostDeploys
    manifest: dict | None = None  # the release's manifest at creation
    skip_build: str = ""  # why there is no build (recorded on the skipped phases)
    skip_migrations: str = ""


@dataclass
class Outcome:
    release: str
    desired: dict
    rollout: dict  # host -> {services: {name: {result...}}, ...}
    hostvars: dict = field(default_factory=dict)


def execute(session, work: Work, *, lock_wait: float = 0) -> Outcome:
    """Runs the phases under the environment's lock, inside a recorded release."""
    with recorded_release(session.ctx, kind=work.kind, version=work.version, commit_sha=work.commit,
                          lock_wait=lock_wait, manifest=work.manifest) as rel:
        return run_phases(session, rel, work)


def run_phases(session, rel, work: Work) -> Outcome:
    config, env, say = session.config, session.environment, session.say
    hook_env = {"STAGECRAFT_VERSION": work.version, "STAGECRAFT_RELEASE": rel.id}

    def hook(name: str) -> None:
        if work.build:  # hooks belong to new releases; a rollback runs none
            run_hook(config, env, name, hook_env, say)

    built = {}
    desired = work.desired
    if work.build:
        with rel.phase("build"):
            hook("pre-build")
            # The edge image first: it also provides the local Debian base that app builds may start FROM.
            edge = images.ensure_edge_image(say)
            built = images.build_images(config, work.build.compose, work.build.compose_dir, work.version,
                                        work.build.services, say, secret_variables(session.ctx))
            rel.update_manifest({"version": work.version, "images": built, "edge_image": edge,
                                 "config_digest": config_digest(session.ctx.loaded)})
    else:
        rel.skip("build", work.skip_build)
    with rel.phase("push"):
        if work.build:
            desired = render.render_all(config, env, session.addresses, work.build.compose, work.version, edge,
                                        session.env_names, pinned=work.build.pinned)
        inventory = session.inventory(desired)
        if work.build and config.project.images.via_registry:
            registry.push(session.ctx, built, say)
        desired, unchanged = ship.ship(session, desired, inventory.hostvars)
        inventory = session.inventory(desired)  # with the image refs the hosts keep
        hook("pre-deploy")
    if work.build:
        migrate(session, rel, "pre_deploy", desired, inventory, unchanged)
    else:
        rel.skip("migrate_pre", work.skip_migrations)
    with rel.phase("rollout"):
        outcome = rollout.roll(session, rel, desired, inventory, session.limit, unchanged=unchanged)
    if work.build:
        migrate(session, rel, "post_deploy", desired, inventory)
    else:
        rel.skip("migrate_post", work.skip_migrations)
    with rel.phase("finalize"):
        if work.build and session.run_tests:  # a deploy's own tests; a rollback runs none
            verify.run_tests(session, rel, desired, sorted(outcome), work.version)
        # What the hosts now run (a later rollback reads it): the image refs they kept included.
        rel.update_manifest({"hosts": render.manifest_hosts(desired), "rollout": outcome})
        hook("post-deploy")
    result = Outcome(release=rel.id, desired=desired, rollout=outcome, hostvars=inventory.hostvars)
    after_finalize(session, rel, result)
    return result


def after_finalize(session, rel, result: Outcome) -> None:
    """Runs once the release is final, still under the lock: the hosts that rolled are pruned, keeping
    the images of the last releases (`stagecraft prune`)."""
    from .retention import retain

    retain(session, result.rollout)
