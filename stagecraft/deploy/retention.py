"""Disk on the hosts: the project's old images go, what a rollback may need stays (`stagecraft prune`,
and after every deploy that rolled hosts)."""

from __future__ import annotations

from .. import process
from ..commands import remote
from ..commands.compose_render import built_services, manifest_refs
from ..commands.ssh import command_argv
from .parallel import each

RETAIN_RELEASES = 5  # a deploy keeps the images of this many completed releases on its hosts


def kept_refs(store, environment: str, keep: int) -> list[str]:
    """The images of the last `keep` completed deploys and rollbacks: what a rollback may need."""
    refs: set[str] = set()
    found = 0
    for row in store.list_releases(environment):
        if row["kind"] in ("deploy", "rollback") and row["status"] == "completed":
            refs |= manifest_refs(store.get_release(row["id"]).manifest)
            found += 1
            if found >= keep:
                break
    return sorted(refs)


def prune(session, keep: int, hosts: list[str] | None = None) -> dict:
    """{kept: [refs], hosts: host -> {removed, bytes, dangling_reclaimed} or {error}}."""
    from ..state import open_store
    from .render import compose_of

    config = session.config
    store = open_store(session.ctx.state_dir)
    keep_refs = kept_refs(store, session.environment.name, keep)
    compose, _ = compose_of(config)
    # Only the images Stagecraft tags for this project (never a public image the compose file names).
    repos = [config.project.image_ref(s, "x").rsplit(":", 1)[0] for s in built_services(config, compose)]
    hostvars = session.inventory().hostvars
    script = remote.prune_script(config.project.name, repos, keep_refs)

    def one(host: str) -> dict:
        if "ansible_host" not in hostvars.get(host, {}):
            return {"error": "no address yet: run 'stagecraft infra up' first"}
        proc = process.run(command_argv(hostvars[host], script), timeout=600, what=f"prune on {host}")
        if proc.returncode != 0:
            return {"error": process.error_text(proc, 300)}
        return remote.parse_prune(proc.stdout)

    return {"kept": keep_refs, "hosts": each(one, hosts or [h.name for h in session.environment.hosts])}


def retain(session, rollout: dict) -> None:
    """After a deploy: prune the hosts that rolled; a failure is a warning (the release is done)."""
    rolled = sorted(h for h, o in rollout.items()
                    if any((s or {}).get("result") != "unchanged" for s in (o.get("services") or {}).values()))
    if not rolled:
        return
    result = prune(session, RETAIN_RELEASES, rolled)
    for host, r in sorted(result["hosts"].items()):
        if "error" in r:
            session.warn(f"{host}: pruning old images failed: {r['error']}")
        elif r["removed"]:
            session.say(f"{host}: removed {len(r['removed'])} old image(s), {r['bytes'] / 1e6:.1f} MB")
