"""What a host runs now, read in one SSH round trip, and whether a deploy can leave it alone (pure).

The probe prints the compose hash the compose role recorded after its last complete rollout, the
sha256 of the host's .env, the image ID behind each ref the release needs and each ref a container
runs, and every container of the project (service, image ID, state, health, ref). A host is skipped
only when all of it matches exactly what the deploy would produce; any doubt means the normal Ansible
rollout runs. A service whose new image is the very image its containers run keeps their ref
(`kept_refs`): a new tag alone is no reason to restart it.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field

PROJECT_ROOT = "/srv/stagecraft"  # the compose role's default compose_project_dir parent
EDGE_ROOT = "/srv/stagecraft-edge"  # the host's shared edge proxy (module_utils/edge.py)
EDGE_CONTAINER = "stagecraft-edge"
SEPARATOR = "--stagecraft--"
# Installed by the firewall role (its guard.sh.j2); `check` reloads the table if it is missing.
FIREWALL_GUARD = "/usr/local/sbin/stagecraft-firewall-guard"


@dataclass(frozen=True)
class Container:
    service: str
    image_id: str
    status: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting, none
    ref: str = ""  # the image ref it was created from (Config.Image)


@dataclass(frozen=True)
class HostState:
    compose_hash: str = ""
    env_digest: str = ""
    image_ids: dict = field(default_factory=dict)  # ref -> image ID on the host ("" if absent), containers' refs too
    containers: list = field(default_factory=list)
    firewall: str = ""  # loaded | restored | absent | failed: <why>
    edge_routes: dict | None = None  # the project's routes as the host's shared edge has them (None: none)


def probe_script(project: str, refs: list[str]) -> str:
    directory = f"{PROJECT_ROOT}/{project}"
    inspect = "{{.Id}}"
    container = ('{{index .Config.Labels "com.docker.compose.service"}} {{.Image}} {{.State.Status}} '
                 "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Config.Image}}")
    lines = [
        f"ids=$(docker ps -aq --filter label=com.docker.compose.project={shlex.quote(project)})",
        f"cat {shlex.quote(directory)}/compose.sha256 2>/dev/null || true",
        f"echo {SEPARATOR}",
        f"sha256sum {shlex.quote(directory)}/.env 2>/dev/null | cut -d' ' -f1 || true",
        f"echo {SEPARATOR}",
    ]
    for ref in refs:
        q = shlex.quote(ref)
        lines.append(f"printf '%s %s\\n' {q} \"$(docker image inspect --format '{inspect}' -- {q} 2>/dev/null)\"")
    # The refs the containers run: whether each still names the image the container runs.
    lines += [
        f"[ -z \"$ids\" ] || for ref in $(docker inspect --format '{{{{.Config.Image}}}}' $ids | sort -u); do "
        f"printf '%s %s\\n' \"$ref\" \"$(docker image inspect --format '{inspect}' -- \"$ref\" 2>/dev/null)\"; done",
        f"echo {SEPARATOR}",
        f"[ -z \"$ids\" ] || docker inspect --format '{container}' $ids",
        f"echo {SEPARATOR}",
        # nft needs root: the SSH user may be a sudoer (never prompts: -n).
        f"if [ ! -x {FIREWALL_GUARD} ]; then echo absent; "
        f"elif [ \"$(id -u)\" = 0 ]; then {FIREWALL_GUARD} check 2>&1; "
        f"else sudo -n {FIREWALL_GUARD} check 2>&1; fi",
        f"echo {SEPARATOR}",
        # The shared edge: its container (as one more line of the containers part) and this project's routes.
        f"docker inspect --format '{EDGE_CONTAINER} {{{{.Image}}}} {{{{.State.Status}}}} none' {EDGE_CONTAINER} 2>/dev/null || true",
        f"echo {SEPARATOR}",
        f"f={shlex.quote(EDGE_ROOT)}/projects/{shlex.quote(project)}.json; "
        "if [ \"$(id -u)\" = 0 ]; then cat \"$f\" 2>/dev/null; else sudo -n cat \"$f\" 2>/dev/null; fi; true",
    ]
    return "\n".join(lines) + "\n"


def parse_probe(stdout: str) -> HostState:
    import json

    parts = stdout.split(SEPARATOR + "\n")
    if len(parts) != 7:
        return HostState()
    images = {}
    for line in parts[2].splitlines():
        ref, _, image_id = line.partition(" ")
        images[ref] = image_id.strip()
    containers = []
    for line in parts[3].splitlines() + parts[5].splitlines():
        fields = line.split()
        if len(fields) in (4, 5):
            containers.append(Container(*fields))
    try:
        edge_routes = (json.loads(parts[6]) or {}).get("routes") if parts[6].strip() else None
    except ValueError:
        edge_routes = None
    return HostState(compose_hash=parts[0].strip(), env_digest=parts[1].strip(), image_ids=images,
                     containers=containers, firewall=_firewall_state(parts[4].rstrip("\n")), edge_routes=edge_routes)


def _firewall_state(text: str) -> str:
    """The guard's verdict is its last line; anything else (e.g. sudo refusing) is a failure."""
    last = (text.strip().splitlines() or ["no answer"])[-1].strip()
    return last if last in ("loaded", "restored", "absent") or last.startswith("failed: ") else f"failed: {last}"


def firewall_findings(states: dict, enabled: dict) -> tuple[list[str], list[str]]:
    """(warnings, errors) from the probe's firewall check. `enabled`: host -> firewall_enabled.
    A table the probe could not restore is an error: the host's published ports are open."""
    warnings, errors = [], []
    for host, st in sorted(states.items()):
        if not enabled.get(host, True):
            continue
        if st.firewall == "restored":
            warnings.append(f"{host}: the firewall rules were not loaded; restored them "
                            "(was nftables restarted or the ruleset flushed?)")
        elif st.firewall == "absent":
            warnings.append(f"{host}: the firewall role is not set up; run 'stagecraft infra up'")
        elif st.firewall != "loaded":
            errors.append(f"{host}: the firewall rules are not loaded and could not be restored "
                          f"({st.firewall.removeprefix('failed: ')}); its published ports may be reachable. "
                          "Fix the host, then run 'stagecraft infra up'")
    return warnings, errors


def env_file_digest(names: list[str], values: dict) -> str:
    """sha256 of the .env the compose role writes (commands.dotenv.render).
    Compared in memory only; never stored."""
    from .dotenv import render

    return hashlib.sha256(render(names, values).encode()).hexdigest()


def unchanged_reason(plan, state: HostState, local_ids: dict, env_digest: str) -> str | None:
    """None when the host already runs exactly this plan; otherwise why the rollout must run."""
    if not state.compose_hash or state.compose_hash != plan.hash:
        return "compose file differs from the last complete rollout"
    if state.env_digest != env_digest:
        return ".env differs"
    expected = {s["name"]: s.get("replicas") or 1 for s in plan.services}
    refs = dict(plan.images)
    if plan.edge_config:
        import json

        expected[EDGE_CONTAINER] = 1
        refs[EDGE_CONTAINER] = plan.edge_image
        if state.edge_routes != json.loads(plan.edge_config):
            return "the shared edge proxy does not have this release's routes"
    elif state.edge_routes is not None:
        return "the shared edge proxy still has routes of this project"
    running: dict[str, list[Container]] = {}
    for c in state.containers:
        if c.service == EDGE_CONTAINER and EDGE_CONTAINER not in expected:
            continue  # the shared edge of other projects on the host
        if c.service not in expected:
            return f"unexpected container of service '{c.service}'"
        running.setdefault(c.service, []).append(c)
    for service, count in expected.items():
        have = running.get(service, [])
        if len(have) != count:
            return f"{service}: {len(have)} container(s), {count} expected"
        if any(c.status != "running" or c.health not in ("healthy", "none") for c in have):
            return f"{service}: not all containers are running and healthy"
        ref = refs.get(service)
        want = local_ids.get(ref) or state.image_ids.get(ref) if ref else None
        if ref and (not want or any(c.image_id != want for c in have)):
            return f"{service}: containers do not run {ref}"
    return None


def kept_refs(plan, state: HostState, local_ids: dict) -> dict[str, str]:
    """service -> the ref its containers already run, for stateful (`recreate`) services whose new image
    (built here, same image ID) is the one they run under another tag: rendered with that ref, the host's
    compose file and Compose's config hash stay as they are, so the rollout leaves a database alone
    instead of restarting it for a new tag. Rolling services are replaced without downtime and show the
    release's tag. Empty when nothing qualifies."""
    running: dict[str, list[Container]] = {}
    for c in state.containers:
        running.setdefault(c.service, []).append(c)
    stateful = {s["name"] for s in plan.services if s.get("strategy") == "recreate"}
    out = {}
    for service, ref in sorted(plan.images.items()):
        if service not in stateful:
            continue
        have = running.get(service) or []
        image_id = local_ids.get(ref) if ref else ""
        refs = {c.ref for c in have}
        if not image_id or not have or len(refs) != 1 or any(c.image_id != image_id for c in have):
            continue
        (old,) = refs
        # The old tag must still name that image on the host (Compose resolves it again on `up`).
        if old and old != ref and state.image_ids.get(old) == image_id:
            out[service] = old
    return out
