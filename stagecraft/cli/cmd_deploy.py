"""stagecraft build | deploy | rollback | plan | render"""

from __future__ import annotations

import json
import os
import subprocess
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
    from ..commands.build import git_version

    version, commit = git_version(Path(ctx.config.base_dir))
    return (explicit or version), commit


def _env_names(ctx, *, require_values: bool = False) -> tuple[list[str], dict]:
    """Variables written to the hosts' .env (env_file entries + secrets) and the values available here.
    Values travel to Ansible in its environment only, never through a file on this machine."""
    from ..config.resolve import load_variables
    from ..errors import UserError

    env = ctx.environment
    declared = set(ctx.config.secrets.keys) | {n for s in ctx.config.services.values() for n in s.secrets}
    names = set(declared)
    if env.env_file:
        names |= set(load_variables(Path(ctx.config.base_dir) / env.env_file, environ={}))
    values = {n: ctx.resolved.variables[n] for n in sorted(names) if ctx.resolved.variables.get(n) is not None}
    missing = sorted(declared - set(values))
    if require_values and missing:
        raise UserError(f"secrets not set: {', '.join(missing)} (set them in the environment or the env_file of "
                        f"'{env.name}'; they are listed in secrets.keys / services.<name>.secrets)")
    return sorted(names), values


def _config_digest(ctx) -> str:
    """sha256 of stagecraft.yml as written (before interpolation, so no secret value is hashed in)."""
    import hashlib

    return hashlib.sha256(json.dumps(ctx.loaded.doc.data, sort_keys=True, default=str).encode()).hexdigest()


def _run_hook(ctx, name: str, extra: dict) -> None:
    from ..errors import UserError

    hook = Path(ctx.config.base_dir) / ".stagecraft" / "hooks" / name
    if not hook.is_file() or not os.access(hook, os.X_OK):
        return
    output.info(f"running hook {name}")
    env = {**os.environ, "STAGECRAFT_PROJECT": ctx.config.project.name, "STAGECRAFT_ENV": ctx.environment.name,
           **extra}
    proc = subprocess.run([str(hook)], cwd=ctx.config.base_dir, env=env)
    if proc.returncode != 0:
        raise UserError(f"hook .stagecraft/hooks/{name} exited {proc.returncode}; aborting")


def _inventory_with(ctx, plans: dict, compose_project: str) -> tuple[dict, dict]:
    from ..commands.compose_render import EDGE_SERVICE
    from ..commands.inventory import to_list_json

    inv = ctx.inventory()
    hosts = next(iter(inv["all"]["children"].values()))["hosts"] or {}
    project = ctx.config.project
    for name, plan in plans.items():
        if project.images.transport == "registry":
            # Hosts pull the release's images from the registry (after logging in, if credentials are named).
            hosts[name].update({
                "compose_registry": project.registry_host,
                "compose_registry_username_env": project.images.registry_username_env or "",
                "compose_registry_password_env": project.images.registry_password_env or "",
                "compose_pull_images": sorted({r for r in plan.images.values() if project.in_registry(r)}),
            })
        hosts[name].update({
            "compose_project": compose_project,
            "compose_definition": plan.definition,
            "compose_hash": plan.hash,
            "compose_services": plan.services,
            "compose_edge_service": EDGE_SERVICE if plan.edge_config else "",
            "compose_edge_config": plan.edge_config,
            "compose_secret_names": plan.secret_names,
        })
    return inv, to_list_json(inv)["_meta"]["hostvars"]


def _ship(ctx, plans: dict, hostvars: dict, hosts: list[str] | None, envvars: dict, force: bool) -> set[str]:
    """Images to the hosts (SSH, or the registry); returns the hosts that already run exactly their plan,
    which the rollout leaves alone (fast no-op deploys) unless force."""
    from .. import pipeline

    project = ctx.config.project
    pulled = project.in_registry if project.images.transport == "registry" else None
    states = pipeline.probe_hosts(hostvars, plans, project.name, hosts)
    pipeline.ship_over_ssh(hostvars, plans, states, output.info, skip=pulled)
    if force:
        return set()
    reasons = pipeline.unchanged_hosts(plans, states, envvars)
    for host, reason in sorted(reasons.items()):
        if reason and settings().verbose:
            output.info(f"{host}: rollout needed ({reason})")
    return {h for h, reason in reasons.items() if reason is None}


def _service_names(plan) -> list[str]:
    from ..commands.compose_render import EDGE_SERVICE

    return [x["name"] for x in plan.services] + ([EDGE_SERVICE] if plan.edge_config else [])


def _rollout(ctx, s, rel, plans: dict, limit: list[str] | None, envvars: dict, stage: str = "all",
             unchanged: set[str] = frozenset()) -> dict:
    """stage 'all' rolls every service; 'data' only updates the stateful ones (before pre-deploy migrations).
    Hosts in `unchanged` already run their plan: no Ansible run, their outcome says so."""
    from .. import pipeline
    from ..runner import run_playbook

    inv, _ = _inventory_with(ctx, plans, ctx.config.project.name)
    targets = [h for h in (limit or [h.name for h in ctx.environment.hosts]) if h not in unchanged]
    phase = "rollout" if stage == "all" else "migrate_pre"
    outcome = {h: {"services": {n: {"result": "unchanged"} for n in _service_names(plans[h])},
                   "compose_hash": plans[h].hash, "rollout": "skipped: the host already runs this release"}
               for h in sorted(unchanged) if h in plans and (not limit or h in limit)}
    if unchanged and stage == "all":
        output.info(f"unchanged, not rolled: {', '.join(sorted(unchanged))}")
    if not targets:
        return outcome
    from ..errors import StagecraftError
    from ..runner import check_stop

    for order, hosts in pipeline.rollout_batches(ctx.config, ctx.environment, targets):
        try:
            check_stop()  # crash branch: Ctrl-C once stops before the next role's hosts
            result = run_playbook(ctx, "deploy.yml", inventory=inv, release=rel, phase=phase, envvars=envvars,
                                  extravars={"stagecraft_deploy_hosts": ",".join(hosts), "compose_stage": stage,
                                             "stagecraft_batch_size": pipeline.batch_size(ctx.environment,
                                                                                          len(hosts))},
                                  verbosity=s.verbose, display_mode="quiet" if s.quiet else "auto",
                                  title=f"{'rollout' if stage == 'all' else 'stateful services'}: {', '.join(hosts)}")
        except StagecraftError as exc:
            # crash branch: hosts whose rollout completed, for putting the others back (revert.put_back)
            failed_run = getattr(exc, "result", None)
            exc.completed = sorted(set(outcome) | set(((failed_run.artifact_data or {}).get("rollout") or {})
                                                      if failed_run else ()))
            exc.reached = sorted(set(exc.completed) | set(failed_run.hosts if failed_run else ()))
            raise
        outcome.update((result.artifact_data or {}).get("rollout") or {})
    return outcome


def _migrate(ctx, s, rel, strategy: str, plans: dict, hostvars: dict, limit: list[str] | None,
             envvars: dict, unchanged: set[str] = frozenset()) -> None:
    """The migrate_pre / migrate_post phase: apply the pending migrations of databases with this strategy."""
    from .. import migrate as mig

    phase = "migrate_pre" if strategy == "pre_deploy" else "migrate_post"
    targets = mig.targets(ctx, strategies=(strategy,))
    if not targets:
        return rel.skip(phase, _migrations_note(ctx, strategy))
    left_out = sorted({mig.runner_host(ctx, t.run_in) for t in targets if t.run_in} - set(limit or plans))
    if left_out:
        output.warn(f"{phase}: not run, --limit leaves out {', '.join(left_out)} where migrations run; "
                    "run 'stagecraft migrate run' when ready")
        return rel.skip(phase, f"--limit leaves out {', '.join(left_out)}; run 'stagecraft migrate run'")
    with rel.phase(phase):
        if strategy == "pre_deploy":
            # Databases must run (new config, same data) before migrations can reach them.
            stateful = [h for h, p in plans.items() if any(x["strategy"] == "recreate" for x in p.services)]
            stateful = [h for h in stateful if (not limit or h in limit) and h not in unchanged]
            if stateful:
                _rollout(ctx, s, rel, plans, stateful, envvars, stage="data")
        results = []
        for target in targets:
            host = mig.runner_host(ctx, target.run_in) if target.run_in else None
            image = plans[host].images.get(target.run_in) if host else None
            results.append(mig.apply(mig.Psql(ctx, target, hostvars=hostvars, image=image), output.info))
        rel.update_manifest({phase: results})


def _urls(ctx, plans: dict, hostvars: dict) -> list[str]:
    urls = []
    for name, plan in sorted(plans.items()):
        if plan.edge_port == 80 and hostvars.get(name, {}).get("ansible_host"):
            urls.append(f"http://{hostvars[name]['ansible_host']}/")
    return urls


def _probe(url: str, attempts: int = 20) -> str:
    import time
    import urllib.error
    import urllib.request

    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return f"{resp.status} {resp.read(200).decode(errors='replace').strip()}"
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # a definite answer (e.g. 404: nothing routed at this path)
                return f"{exc.code} {exc.reason}"
            last = str(exc)  # 502/503 while the proxy's upstreams come up: ask again
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    return f"no answer ({last})"


def _migrations_note(ctx, strategy: str) -> str:
    manual = sorted(d.name for d in ctx.config.databases.values() if d.migrations and d.migrations.strategy == "manual")
    note = f"no {strategy} migrations configured"
    return note + (f" (manual: {', '.join(manual)}; run 'stagecraft migrate run')" if manual else "")


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
    from .. import pipeline

    ctx = env_context()
    version, _ = _version(ctx, version_)
    compose, compose_dir = pipeline.compose_of(ctx.config)
    wanted = [x.strip() for x in services.split(",")] if services else None
    _check_services(compose, wanted)
    if settings().dry_run:
        refs = pipeline.image_refs(ctx.config, compose, version)
        output.data({"version": version, "images": {s: refs[s] for s in pipeline.built_services(ctx.config, compose)
                                                      if not wanted or s in wanted}, "built": False},
                    lambda d: "Would build:\n" + "\n".join(f"  {s}: {r}" for s, r in d["images"].items()))
        return
    _run_hook(ctx, "pre-build", {"STAGECRAFT_VERSION": version})
    images = pipeline.build_images(ctx.config, compose, compose_dir, version, wanted, output.info)
    if push:
        _push(ctx, images)
    output.data({"version": version, "images": images, "built": True, "pushed": push},
                lambda d: "\n".join(f"built {i['ref']} ({i['id'][:19]})" for i in d["images"].values()))


def _check_services(compose, wanted):
    from ..errors import UserError

    for name in wanted or []:
        if name not in compose["services"]:
            raise UserError(f"--services: '{name}' is not a service of the compose file "
                            f"({', '.join(sorted(compose['services']))})")


def _registry_credentials(ctx) -> dict:
    """name -> value of the registry username/password env vars (for docker login here and on hosts)."""
    from ..errors import UserError

    images = ctx.config.project.images
    names = [n for n in (images.registry_username_env, images.registry_password_env) if n]
    missing = [n for n in names if not ctx.resolved.variables.get(n)]
    if missing:
        raise UserError(f"project.images: registry credential variable(s) not set: {', '.join(missing)}")
    return {n: ctx.resolved.variables[n] for n in names}


def _push(ctx, images: dict) -> None:
    from ..errors import ExternalError, UserError

    project = ctx.config.project
    if not project.registry:
        raise UserError("--push / images.transport registry needs project.registry")
    creds = _registry_credentials(ctx)
    if creds:
        images_cfg = project.images
        proc = subprocess.run(["docker", "login", "--username", creds[images_cfg.registry_username_env],
                               "--password-stdin", project.registry_host],
                              input=creds[images_cfg.registry_password_env], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExternalError(f"docker login {project.registry_host} failed (credentials from "
                                f"{images_cfg.registry_username_env}/{images_cfg.registry_password_env}): "
                                f"{proc.stderr.strip()}")
    for image in images.values():
        if not project.in_registry(image["ref"]):
            continue  # e.g. a fixed-tag image named outside the registry: it travels over SSH
        output.info(f"pushing {image['ref']}")
        proc = subprocess.run(["docker", "push", image["ref"]], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ExternalError(f"docker push {image['ref']} failed: {proc.stderr.strip()}")


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
@click.option("--services", metavar="A,B", help="Only rebuild these services (others keep their image tag).")
@click.option("--limit", metavar="HOST[,HOST]", help="Roll out to these hosts only.")
@click.option("--keep-partial", is_flag=True,
              help="After a failed batch, leave the hosts of earlier completed batches on the new version "
                   "(default: every host is put back on the previous release).")
@FORCE
@LOCK_WAIT
@global_options
def deploy(version_: str | None, services: str | None, limit: str | None, force: bool, lock_wait: float,
           keep_partial: bool = False):
    from .. import pipeline
    from ..commands.infra_vars import validate_limit
    from ..runner import RunFailed
    from ..runner.recorder import recorded_release

    ctx = env_context()
    s = settings()
    hosts = validate_limit(ctx.environment, limit)
    version, commit = _version(ctx, version_)
    compose, compose_dir = pipeline.compose_of(ctx.config)
    wanted = [x.strip() for x in services.split(",")] if services else None
    _check_services(compose, wanted)
    # Build only what runs somewhere in this environment.
    wanted = wanted or sorted({svc for h in ctx.environment.hosts for svc in ctx.config.services_for_roles(h.roles)})
    names, values = _env_names(ctx, require_values=not settings().dry_run)
    names = sorted(set(names) | {"IMAGE_TAG"})
    envvars = {**values, "IMAGE_TAG": version}
    if ctx.config.project.images.transport == "registry" and not s.dry_run:
        envvars.update(_registry_credentials(ctx))
    if s.dry_run:
        return _show_plan(ctx, version)
    with recorded_release(ctx, kind="deploy", version=version, commit_sha=commit, lock_wait=lock_wait) as rel:
        with rel.phase("build"):
            _run_hook(ctx, "pre-build", {"STAGECRAFT_VERSION": version, "STAGECRAFT_RELEASE": rel.id})
            # The edge image first: it also provides the local Debian base that app builds may start FROM.
            edge = pipeline.ensure_edge_image(output.info)
            images = pipeline.build_images(ctx.config, compose, compose_dir, version, wanted, output.info)
            rel.update_manifest({"version": version, "images": images, "edge_image": edge,
                                 "config_digest": _config_digest(ctx)})
        with rel.phase("push"):
            _, hostvars = _inventory_with(ctx, {}, ctx.config.project.name)
            plans = pipeline.render_all(ctx.config, ctx.environment, {"_meta": {"hostvars": hostvars}}, compose,
                                        version, edge, names)
            if ctx.config.project.images.transport == "registry":
                _push(ctx, images)
            unchanged = _ship(ctx, plans, hostvars, hosts or None, envvars, force)
            _run_hook(ctx, "pre-deploy", {"STAGECRAFT_VERSION": version, "STAGECRAFT_RELEASE": rel.id})
        _migrate(ctx, s, rel, "pre_deploy", plans, hostvars, hosts, envvars, unchanged)
        with rel.phase("rollout"):
            try:
                outcome = _rollout(ctx, s, rel, plans, hosts, envvars, unchanged=unchanged)
            except RunFailed as exc:
                # crash branch: a failed batch leaves every host on one release (stagecraft/revert.py).
                _put_back(ctx, s, rel, exc, version, hosts, envvars, keep_partial)
                raise
        _migrate(ctx, s, rel, "post_deploy", plans, hostvars, hosts, envvars)
        with rel.phase("finalize"):
            rel.update_manifest({"hosts": {h: {"compose": p.definition, "compose_hash": p.hash,
                                               "edge_config": p.edge_config, "services": p.services,
                                               "secret_names": p.secret_names}
                                           for h, p in plans.items()}, "rollout": outcome})
            _run_hook(ctx, "post-deploy", {"STAGECRAFT_VERSION": version, "STAGECRAFT_RELEASE": rel.id})
        urls = _urls(ctx, plans, hostvars)
        data = {"release": rel.id, "environment": ctx.environment.name, "version": version,
                "hosts": {h: o.get("services") for h, o in sorted(outcome.items())},
                "urls": {u: _probe(u) for u in urls}}
    output.data(data, _describe_deploy)


def _put_back(ctx, s, rel, exc, version: str, limit, envvars: dict, keep_partial: bool) -> None:
    """crash branch: after a failed rollout, roll the hosts it reached back to the previous release's
    compose files and images; the failure's message then says which hosts run what (exit 2, or 10
    when --keep-partial leaves hosts on different releases)."""
    from .. import revert
    from ..errors import PARTIAL_FAILURE

    targets = limit or [h.name for h in ctx.environment.hosts]
    done = revert.put_back(
        rel.store, ctx.environment.name, rel.id, version, getattr(exc, "reached", targets),
        getattr(exc, "completed", []), keep_partial,
        lambda plans, hosts, old_version: _rollout(ctx, s, rel, plans, hosts, {**envvars, "IMAGE_TAG": old_version}))
    exc.message = f"{exc.message}\n{done.describe(version)}"
    exc.args = (exc.message,)
    rel.update_manifest({"put_back": {"to": done.previous.id if done.previous else None, "hosts": done.hosts,
                                      "error": done.error}})
    if done.mixed and not done.error:
        exc.exit_code = PARTIAL_FAILURE


def _sync_history(ctx, store) -> None:
    """crash branch: merge the release journal kept on the hosts (another machine's deploys)."""
    from ..state import journal

    journal.sync(ctx, store, warn=output.warn)


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
    from ..errors import UserError
    from ..revert import plans_from_manifest
    from ..runner.recorder import recorded_release
    from ..state import open_store

    ctx = env_context()
    s = settings()
    chosen = [x for x in (to_previous, to_release, to_version) if x]
    if len(chosen) != 1:
        raise UserError("rollback target required: use exactly one of --to-previous, --to-release, --to-version")
    store = open_store(ctx.state_dir)
    _sync_history(ctx, store)
    env = ctx.environment.name
    history = [r for r in store.list_releases(env) if r["kind"] in ("deploy", "rollback")]
    completed = [r for r in history if r["status"] == "completed"]
    if to_previous:
        if len(completed) < 2:
            raise UserError(f"no previous completed release to roll back to in '{env}'")
        target_row = completed[1]
    elif to_release:
        target_row = next((r for r in history if r["id"] == to_release), None)
        if target_row is None:
            other = store.get_release(to_release)
            if other is not None:
                raise UserError(f"--to-release: release '{to_release}' belongs to '{other.environment}', not '{env}'")
            raise UserError(f"--to-release: release not found: '{to_release}'")
    else:
        target_row = next((r for r in completed if r["version"] == to_version), None)
        if target_row is None:
            raise UserError(f"--to-version: no completed release of version '{to_version}' in '{env}'")
    if target_row["status"] != "completed":
        raise UserError(f"release '{target_row['id']}' is {target_row['status']}, not completed; pick another")
    target = store.get_release(target_row["id"])
    manifest = target.manifest
    if not manifest.get("hosts"):
        raise UserError(f"release '{target.id}' has no recorded compose files (imported or infra release)")
    plans = plans_from_manifest(manifest)
    names, values = _env_names(ctx, require_values=True)
    envvars = {**values, "IMAGE_TAG": target.version}
    if ctx.config.project.images.transport == "registry":
        envvars.update(_registry_credentials(ctx))
    if s.dry_run:
        output.data({"target": target.id, "version": target.version, "rolled_back": False},
                    lambda d: f"Would roll back {env} to {d['target']} ({d['version']})")
        return
    with recorded_release(ctx, kind="rollback", version=target.version, commit_sha=target.commit_sha,
                          lock_wait=lock_wait, manifest={**manifest, "rollback_of": target.id}) as rel:
        rel.skip("build", f"rollback reuses the images of {target.id}")
        with rel.phase("push"):
            _, hostvars = _inventory_with(ctx, {}, ctx.config.project.name)
            unchanged = _ship(ctx, plans, hostvars, None, envvars, force)
        rel.skip("migrate_pre", "rollback never runs or reverts database migrations")
        with rel.phase("rollout"):
            outcome = _rollout(ctx, s, rel, plans, None, envvars, unchanged=unchanged)
        rel.skip("migrate_post", "rollback never runs or reverts database migrations")
        with rel.phase("finalize"):
            rel.update_manifest({"rollout": outcome})
    output.data({"release": rel.id, "target": target.id, "version": target.version,
                 "hosts": {h: o.get("services") for h, o in sorted(outcome.items())}},
                lambda d: f"Rolled back {env} to {d['target']} ({d['version']}) as release {d['release']}\n"
                          "Database migrations were not reverted.")


def _desired(ctx, version: str):
    from .. import pipeline
    from ..commands.build import edge_image_tag
    from ..commands.local_hosts import base_image_tag, recipe

    compose, _ = pipeline.compose_of(ctx.config)
    names, _ = _env_names(ctx)
    _, hostvars = _inventory_with(ctx, {}, ctx.config.project.name)
    edge = edge_image_tag(base_image_tag(recipe(mirror=os.environ.get("STAGECRAFT_DEBIAN_MIRROR"))))
    plans = pipeline.render_all(ctx.config, ctx.environment, {"_meta": {"hostvars": hostvars}}, compose, version,
                                edge, sorted(set(names) | {"IMAGE_TAG"}))
    return plans


def _pending_migrations(ctx) -> list[dict]:
    """Per database: pending migrations (a read-only query), or why they could not be read."""
    from .. import migrate as mig
    from ..errors import StagecraftError

    rows = []
    for name, db in sorted(ctx.config.databases.items()):
        if not db.migrations:
            continue
        row = {"database": name, "strategy": db.migrations.strategy}
        try:
            psql = mig.runners(ctx, name)[0]
            row.update(mig.status(psql).to_dict())
        except StagecraftError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows


def _show_plan(ctx, version: str):
    import yaml

    from .. import pipeline
    from ..state import open_store

    plans = _desired(ctx, version)
    store = open_store(ctx.state_dir)
    _sync_history(ctx, store)
    current = next((store.get_release(r["id"]) for r in store.list_releases(ctx.environment.name)
                    if r["kind"] in ("deploy", "rollback") and r["status"] == "completed"), None)
    deployed = (current.manifest.get("hosts") if current else None) or {}
    hosts_out = []
    for order, hosts in pipeline.rollout_batches(ctx.config, ctx.environment, list(plans)):
        for host in hosts:
            plan = plans[host]
            before = deployed.get(host)
            old_services = (yaml.safe_load(before["compose"]).get("services") or {}) if before else {}
            new_services = yaml.safe_load(plan.definition).get("services") or {}
            changes = {}
            for name in sorted(set(old_services) | set(new_services)):
                if name not in old_services:
                    changes[name] = "add"
                elif name not in new_services:
                    changes[name] = "remove"
                elif old_services[name] != new_services[name]:
                    changes[name] = ("image " + str(old_services[name].get("image")) + " -> "
                                     + str(new_services[name].get("image"))
                                     if old_services[name].get("image") != new_services[name].get("image")
                                     else "config")
                else:
                    changes[name] = "unchanged"
            hosts_out.append({"host": host, "order": order, "compose_hash": plan.hash,
                              "deployed_hash": before.get("compose_hash") if before else None,
                              "services": changes})
    data = {"environment": ctx.environment.name, "version": version,
            "current_release": current.id if current else None, "current_version": current.version if current else None,
            "hosts": hosts_out, "migrations": _pending_migrations(ctx)}

    def describe(d):
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

    output.data(data, describe)


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
    _show_plan(ctx, version)


@click.command(help="""Print the compose file (and edge proxy config) a deploy renders for each host.

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
    plans = _desired(ctx, version)
    data = {h: {"compose": p.definition, "sha256": p.hash, "edge_config": p.edge_config}
            for h, p in sorted(plans.items()) if not only or h in only}

    def describe(d):
        parts = []
        for h, v in d.items():
            parts.append(f"# host {h}  sha256 {v['sha256']}\n{v['compose']}")
            if v["edge_config"]:
                parts.append(f"# host {h}: edge proxy (nginx.conf)\n{v['edge_config']}")
        return "\n".join(parts)

    output.data(data, describe)
