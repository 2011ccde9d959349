"""What runs on each host (one SSH probe per host, in parallel) and sending the images a host lacks
(docker save here | ssh docker load there)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import process
from ..commands import host_state, project_files
from ..commands.ssh import command_argv
from ..errors import ExternalError, UserError
from .images import local_image_id
from .parallel import each as _parallel


def probe_hosts(hostvars: dict, desired: dict, project: str, hosts: list[str] | None = None) -> dict:
    """host -> HostState (see commands.host_state)."""
    def probe(host: str):
        hv = hostvars[host]
        if "ansible_host" not in hv:
            raise UserError(f"host {host} has no address yet: run 'stagecraft infra up' first")
        proc = process.run(command_argv(hv, "sh -s"), input=host_state.probe_script(project, desired[host].image_refs),
                           what=f"ssh to {host}")
        if proc.returncode == 255:
            raise ExternalError(f"ssh to {host} failed: {proc.stderr.strip()}")
        return host_state.parse_probe(proc.stdout)

    return _parallel(probe, hosts or sorted(desired))


def ship_over_ssh(hostvars: dict, desired: dict, states: dict, say, skip=None) -> dict:
    """docker save | ssh docker load for the hosts in `states`, skipping those that already have the
    image ID and refs for which skip(ref) is true (hosts pull those from the registry). host -> shipped.

    Each distinct set of images is saved once to a temporary archive and sent to every host that needs
    it in one SSH stream, instead of one `docker save` per image and host."""
    refs = sorted({r for h in states for r in desired[h].image_refs})
    local_ids = {ref: local_image_id(ref) for ref in refs if not (skip and skip(ref))}
    # Not built here (e.g. a public image): the host pulls it itself.
    wanted = {h: tuple(ref for ref in desired[h].image_refs
                       if local_ids.get(ref) and states[h].image_ids.get(ref) != local_ids[ref])
              for h in sorted(states)}

    with tempfile.TemporaryDirectory(prefix="stagecraft-ship-") as tmp:
        archives = {}
        for i, group in enumerate(sorted({g for g in wanted.values() if g})):
            archives[group] = Path(tmp) / f"images-{i}.tar"
            process.run(["docker", "save", "-o", str(archives[group]), "--", *group], what=f"docker save {' '.join(group)}",
                        check=True)

        def ship(host: str) -> list[str]:
            group = wanted[host]
            if not group:
                return []
            say(f"shipping {', '.join(group)} to {host}")
            with archives[group].open("rb") as archive:
                process.run(command_argv(hostvars[host], "docker load -q"), stdin=archive,
                            what=f"shipping {', '.join(group)} to {host}", check=True)
            return list(group)

        return _parallel(ship, sorted(states))


def _local_ids(desired: dict) -> dict[str, str]:
    """ref -> image ID on this machine ("" when not here), for every ref the plans name."""
    return {ref: local_image_id(ref) for p in desired.values() for ref in p.images.values() if ref}


def unchanged_hosts(desired: dict, states: dict, env_values: dict, local_ids: dict) -> dict[str, str | None]:
    """host -> None if it already runs exactly its desired state (the rollout can skip it), else the reason.
    local_ids: ref -> image ID here (_local_ids)."""
    return {h: host_state.unchanged_reason(desired[h], st, local_ids,
                                           host_state.env_file_digest(desired[h].secret_names, env_values))
            for h, st in states.items()}


def keep_running_images(desired: dict, states: dict, local_ids: dict) -> dict:
    """The plans, where a service's new image is the image its containers run under an older tag, with
    that tag (commands.host_state.kept_refs): an unchanged image and configuration leave the containers
    alone. Compared by image ID, so a rebuild that changed nothing restarts nothing."""
    return {h: plan.with_images(host_state.kept_refs(plan, states[h], local_ids)) if h in states else plan
            for h, plan in desired.items()}


def ship(session, desired: dict, hostvars: dict) -> tuple[dict, set[str]]:
    """Images to the hosts (SSH, or the registry). Returns the desired state, with the image refs hosts
    already run kept where the image is the same (keep_running_images), and the hosts that already run
    exactly it, which the rollout leaves alone (fast no-op deploys) unless --force. The probe also reloads a
    flushed firewall table (session.firewall: host -> state); one it cannot reload stops the deploy (exit 2)."""
    from ..errors import ExternalError

    from .. import hostkeys

    project = session.config.project
    pulled = project.in_registry if project.images.via_registry else None
    hostkeys.verify(session.environment, hostvars, session.limit or sorted(desired))  # before the first connection
    states = probe_hosts(hostvars, desired, project.name, session.limit)
    warnings, errors = host_state.firewall_findings(states, {h: hostvars[h].get("firewall_enabled", True)
                                                              for h in states})
    for warning in warnings:
        session.warn(warning)
    if errors:
        raise ExternalError("\n".join(errors))
    session.firewall = {h: st.firewall for h, st in sorted(states.items())}
    local_ids = _local_ids(desired)
    desired = keep_running_images(desired, states, local_ids)
    ship_over_ssh(hostvars, desired, states, session.say, skip=pulled)
    reasons = {} if session.force else unchanged_hosts(desired, states, session.envvars, local_ids)
    for host, reason in sorted(reasons.items()):
        if reason and session.verbosity:
            session.say(f"{host}: rollout needed ({reason})")
    unchanged = {h for h, reason in reasons.items() if reason is None}
    # The hosts that roll get the files their services refer to (a changed file changes the plan's hash).
    ship_files(session, desired, hostvars, set(states) - unchanged)
    return desired, unchanged


def ship_files(session, desired: dict, hostvars: dict, hosts) -> None:
    """The files each host's services refer to (commands.project_files), as one tar stream over SSH per
    host, in parallel: built in memory, so their contents never pass through Ansible's variables, a
    release or a file on this machine."""
    import io
    import tarfile

    from ..commands.host_state import PROJECT_ROOT

    compose_dir = session.config.project.compose_path(session.config.base_dir).parent
    project_dir = f"{PROJECT_ROOT}/{session.config.project.name}"

    def send(host: str) -> None:
        files = desired[host].files
        if not files or not files.paths:
            return
        session.say(f"sending {len(files.paths)} file(s) to {host}")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:
            for rel in files.paths:
                tar.add(str(compose_dir / rel), arcname=rel, recursive=False)
        proc = process.run(command_argv(hostvars[host], project_files.unpack_script(project_dir, files.secret)),
                           input=buffer.getvalue(), what=f"sending files to {host}")
        if proc.returncode != 0:
            raise ExternalError(f"sending files to {host} failed: {process.error_text(proc)}")

    _parallel(send, sorted(h for h in hosts if h in desired))
