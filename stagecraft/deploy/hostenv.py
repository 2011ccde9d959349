"""The hosts' .env: which names differ from what this machine would write (`secrets diff`), and writing
it again with the current values (`secrets sync`). Only names and digests are compared; a value never
leaves this machine except inside the .env the compose role writes (0600)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import process
from ..commands import dotenv, remote
from ..commands.ssh import command_argv
from ..errors import ExternalError, UserError
from .envvars import IMAGE_TAG
from .parallel import each


def host_diffs(session, wanted: dict[str, dict[str, str]]) -> dict[str, dict]:
    """host -> {added, changed, removed} (names) or {error}; wanted: host -> name -> line digest."""
    hostvars = session.inventory().hostvars
    script = remote.env_digests_script(session.config.project.name)

    def one(host: str) -> dict:
        if "ansible_host" not in hostvars.get(host, {}):
            return {"error": "no address yet: run 'stagecraft infra up' first"}
        try:
            proc = process.run(command_argv(hostvars[host], script), timeout=60, what=f"ssh to {host}")
        except ExternalError as exc:
            return {"error": exc.message}
        if proc.returncode != 0:
            return {"error": process.error_text(proc, 300)}
        return remote.env_diff(remote.parse_env_digests(proc.stdout), wanted[host])

    return each(one, sorted(wanted))


def deploy_diffs(session, names: list[str], values: dict, version: str | None) -> dict[str, dict]:
    """Every host against the .env a deploy would write now (`names`: the config's, IMAGE_TAG included)."""
    values = {**values, **({IMAGE_TAG: version} if version and IMAGE_TAG not in values else {})}
    digests = dotenv.line_digests(names, values)
    return host_diffs(session, {h.name: digests for h in session.environment.hosts})


@dataclass
class SyncPlan:
    """What `secrets sync` would do: per host the names that differ and the services they restart."""
    release: object  # the current release (its compose files stay; only .env changes)
    desired: dict  # host -> HostDeploy, from the release's manifest
    diffs: dict  # host -> {added, changed, removed} or {error}
    needs_deploy: list = field(default_factory=list)  # declared now, absent from the deployed compose files

    @property
    def hosts(self) -> list[str]:
        """The hosts whose .env differs."""
        return sorted(h for h, d in self.diffs.items() if "error" not in d and any(d.values()))

    @property
    def unreachable(self) -> dict:
        return {h: d["error"] for h, d in sorted(self.diffs.items()) if "error" in d}

    def services(self, host: str) -> list[str]:
        d = self.diffs[host]
        return self.desired[host].services_using(d["changed"] + d["added"] + d["removed"])

    def describe(self) -> dict:
        return {h: {**self.diffs[h], **({"services": self.services(h)} if h in self.hosts else {})}
                for h in sorted(self.diffs)}


def plan_sync(session, release, config_names: list[str]) -> SyncPlan:
    """Compare each host's .env with the lines the current release's hosts hold, with today's values
    (session.envvars). A name the release's .env holds and nothing here sets is an error: syncing would
    blank it."""
    from .render import desired_from_manifest

    desired = desired_from_manifest(release.manifest)
    deployed = sorted({n for p in desired.values() for n in p.secret_names})
    unset = [n for n in deployed if session.envvars.get(n) is None]
    if unset:
        raise UserError(f"secrets sync: {', '.join(unset)} is in the hosts' .env (release {release.id}) but has no "
                        "value here; set it, or deploy so the hosts stop using it")
    here = {h.name for h in session.environment.hosts}  # a host removed since the release is left alone
    wanted = {h: dotenv.line_digests(p.secret_names, session.envvars) for h, p in desired.items() if h in here}
    return SyncPlan(release=release, desired=desired, diffs=host_diffs(session, wanted),
                    needs_deploy=sorted(set(config_names) - set(deployed)))


def sync(session, plan: SyncPlan, *, lock_wait: float = 0):
    """Write the .env of the hosts that differ and roll them out, recorded as a release of kind `secrets`:
    the compose role writes the new .env and its rollout restarts only the services whose configuration
    (with the interpolated values) changed, rolling ones without downtime. Returns phases.Outcome."""
    from . import phases

    release = plan.release
    changed = sorted({n for h in plan.hosts for k in ("added", "changed", "removed") for n in plan.diffs[h][k]})
    work = phases.Work(kind="secrets", version=release.version, commit=release.commit_sha, desired=plan.desired,
                       manifest={"secrets_sync": {"of": release.id, "names": changed, "hosts": plan.hosts}},
                       skip_build="secrets sync reuses the images the hosts run",
                       skip_migrations="secrets sync runs no database migrations")
    session.limit, session.put_back = plan.hosts, False  # the same session: no second discovery
    return phases.execute(session, work, lock_wait=lock_wait)
