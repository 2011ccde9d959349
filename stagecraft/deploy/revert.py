"""After a failed rollout: put the hosts back on the previous release, so a failed deploy leaves every
host on one release.

The hosts the failed run reached are rolled out again with the previous completed release's compose
files and images (recorded in its manifest; the images are still on the hosts, nothing is
rebuilt); hosts it never reached still run the previous release and are left alone. By default
every reached host is put back; with `--keep-partial` only those whose batch did not complete, and
hosts of earlier completed batches stay on the new version. Environment values (env_file,
secrets) are not part of a release: the current ones are written again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def previous_release(store, environment: str, before: str):
    """The newest completed deploy or rollback of the environment other than `before`."""
    for row in store.list_releases(environment):
        if row["id"] != before and row["kind"] in ("deploy", "rollback") and row["status"] == "completed":
            return store.get_release(row["id"])
    return None


@dataclass
class Reverted:
    previous: object  # Release or None
    hosts: dict = field(default_factory=dict)  # host -> version it runs now ("new" / previous version / "?")
    error: str = ""

    @property
    def mixed(self) -> bool:
        return len(set(self.hosts.values())) > 1

    def describe(self, new_version: str) -> str:
        if self.previous is None:
            return "no earlier completed release to put the hosts back on: they run what the failed deploy left"
        lines = [f"hosts put back on the previous release {self.previous.id} ({self.previous.version}):"
                 if not self.error else f"putting the hosts back on {self.previous.id} failed: {self.error}"]
        for host, version in sorted(self.hosts.items()):
            lines.append(f"  {host}: {'new version ' + new_version if version == new_version else version}")
        return "\n".join(lines)


def put_back(store, environment: str, release_id: str, new_version: str, targets: list[str],
             completed: list[str], keep_partial: bool, roll) -> Reverted:
    """Roll `targets` (the hosts the failed run reached) back to the previous release with
    `roll(plans, hosts, version)` (the deploy's own rollout); with keep_partial, hosts whose batch
    completed (`completed`) stay on the new version. Returns who runs what (hosts not in `targets`
    are not listed: they were never touched)."""
    from ..errors import StagecraftError
    from .render import desired_from_manifest

    previous = previous_release(store, environment, release_id)
    if previous is None:
        return Reverted(None, {h: "?" for h in targets})
    plans = desired_from_manifest(previous.manifest)
    kept = set(completed) & set(targets) if keep_partial else set()
    back = sorted(h for h in targets if h not in kept and h in plans)
    result = Reverted(previous, {h: new_version if h in kept else "?" for h in targets})
    if back:
        try:
            roll(plans, back, previous.version)
        except StagecraftError as exc:
            result.error = exc.message.splitlines()[0]
            return result
    result.hosts.update({h: previous.version for h in back})
    return result
