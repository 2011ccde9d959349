"""What runs on each host, compared with the current release (`stagecraft status`): one SSH probe per
host, in parallel; the comparison itself is commands.remote.compare."""

from __future__ import annotations

import yaml

from .. import process
from ..commands import remote
from ..commands.ssh import command_argv
from ..errors import ExternalError
from .parallel import each


def expected(manifest_host: dict) -> dict:
    """service -> {image, replicas} from a release's compose file for one host."""
    doc = yaml.safe_load(manifest_host.get("compose") or "") or {}
    return {name: {"image": spec.get("image"), "replicas": int(((spec.get("deploy") or {}).get("replicas")) or 1)}
            for name, spec in (doc.get("services") or {}).items()}


def environment_status(session, release) -> dict:
    """{environment, release, version, ok, hosts: [{host, state, services, routes, detail?}]}; `ok` when a
    release is deployed and every host runs it."""
    hostvars = session.inventory().hostvars
    deployed = (release.manifest.get("hosts") if release else None) or {}
    script = remote.status_script(session.config.project.name)

    def probe(host: str) -> dict:
        unreachable = {"host": host, "state": "unreachable", "services": {}, "routes": {}}
        if "ansible_host" not in hostvars.get(host, {}):
            return {**unreachable, "detail": f"host {host} has no address yet: run 'stagecraft infra up' first"}
        try:
            proc = process.run(command_argv(hostvars[host], script), timeout=60, what=f"ssh to {host}")
        except ExternalError as exc:  # timed out: this host is reported, the others still are
            return {**unreachable, "detail": exc.message}
        if proc.returncode == 255:
            return {**unreachable, "detail": proc.stderr.strip()[-300:]}
        containers, routes = remote.parse_status(proc.stdout)
        services = remote.compare(expected(deployed.get(host) or {}), containers)
        state = "ok" if all(s["state"] == "ok" for s in services.values()) else "drifted"
        if host not in deployed:
            state = "ok" if not services else "drifted"
        return {"host": host, "state": state, "services": services, "routes": routes}

    results = list(each(probe, [h.name for h in session.environment.hosts]).values())
    return {"environment": session.environment.name, "release": release.id if release else None,
            "version": release.version if release else None,
            "ok": bool(release) and all(r["state"] == "ok" for r in results), "hosts": results}
