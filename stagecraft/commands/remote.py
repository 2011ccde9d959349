"""Shell scripts run on a host over SSH for the day-2 commands (status, logs, exec), and reading their
output (pure: no process runs here). Every value that reaches a script is quoted with shlex."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .host_state import EDGE_ROOT, PROJECT_ROOT

FIELD = "\t"
# One line per container of the project: what `status` compares with the last release.
_INSPECT = FIELD.join([
    '{{index .Config.Labels "com.docker.compose.service"}}', "{{.Name}}", "{{.Config.Image}}", "{{.Image}}",
    "{{.State.Status}}", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
    "{{.State.StartedAt}}", "{{.RestartCount}}",
])


@dataclass(frozen=True)
class RunningContainer:
    service: str
    name: str
    image: str  # the ref it was created from
    image_id: str
    state: str
    health: str
    started_at: str
    restarts: int


def status_script(project: str) -> str:
    q = shlex.quote(project)
    return "\n".join([
        f"ids=$(docker ps -aq --filter label=com.docker.compose.project={q})",
        f"[ -z \"$ids\" ] || docker inspect --format {shlex.quote(_INSPECT)} $ids",
        "echo --stagecraft-routes--",
        # The shared edge's live upstreams for this project: service -> container addresses it sends traffic to.
        f"f={shlex.quote(EDGE_ROOT + '/projects/' + project + '.json')}; "
        "{ if [ \"$(id -u)\" = 0 ]; then cat \"$f\"; else sudo -n cat \"$f\"; fi; } 2>/dev/null | python3 -c "
        + shlex.quote("import json,sys\ntry: d=json.load(sys.stdin)\nexcept ValueError: d={}\n"
                      "for k,v in sorted((d.get('upstreams') or {}).items()): print(k+'\\t'+' '.join(v))")
        + "; true",
    ]) + "\n"


def parse_status(stdout: str) -> tuple[list[RunningContainer], dict[str, list[str]]]:
    containers_part, _, routes_part = stdout.partition("--stagecraft-routes--\n")
    containers = []
    for line in containers_part.splitlines():
        f = line.split(FIELD)
        if len(f) == 8:
            containers.append(RunningContainer(f[0], f[1].lstrip("/"), f[2], f[3], f[4], f[5], f[6],
                                               int(f[7]) if f[7].isdigit() else 0))
    routes = {}
    for line in routes_part.splitlines():
        name, _, servers = line.partition(FIELD)
        if name:
            routes[name] = servers.split()
    return containers, routes


def compare(expected: dict, containers: list[RunningContainer]) -> dict[str, dict]:
    """service -> {state: ok|drifted|missing|unhealthy, detail, ...} against what the release deployed.
    expected: service -> {"image": ref, "replicas": n} (from the release's compose file for the host)."""
    out = {}
    by_service: dict[str, list[RunningContainer]] = {}
    for c in containers:
        by_service.setdefault(c.service, []).append(c)
    for service, want in sorted(expected.items()):
        have = [c for c in by_service.get(service, []) if c.state == "running"]
        info = {"image": want.get("image"), "containers": len(have), "expected": want.get("replicas", 1),
                "health": sorted({c.health for c in have}), "restarts": sum(c.restarts for c in have),
                "started_at": min((c.started_at for c in have), default=None)}
        if not have:
            out[service] = {**info, "state": "missing", "detail": "no running container"}
        elif any(c.health == "unhealthy" for c in have):
            out[service] = {**info, "state": "unhealthy", "detail": "a container reports unhealthy"}
        elif want.get("image") and any(c.image != want["image"] for c in have):
            images = sorted({c.image for c in have})
            out[service] = {**info, "state": "drifted", "detail": f"runs {', '.join(images)}"}
        elif len(have) != want.get("replicas", 1):
            out[service] = {**info, "state": "drifted", "detail": f"{len(have)} containers, "
                                                                 f"{want.get('replicas', 1)} expected"}
        else:
            out[service] = {**info, "state": "ok", "detail": ""}
    for service in sorted(set(by_service) - set(expected)):
        running = [c for c in by_service[service] if c.state == "running"]
        if running:
            out[service] = {"state": "drifted", "detail": "not in the release", "containers": len(running),
                            "image": running[0].image}
    return out


def logs_script(project: str, service: str, *, follow: bool, since: str | None, tail: int | None,
                poll: float = 1.0) -> str:
    """Every container of the service, each line prefixed with the container's name. Following keeps
    looking for new containers (a rolling deploy starts them beside the old ones) and attaches to
    them from their start."""
    filters = (f"--filter label=com.docker.compose.project={shlex.quote(project)} "
               f"--filter label=com.docker.compose.service={shlex.quote(service)}")
    opts = " ".join(x for x in (f"--since {shlex.quote(since)}" if since else "",
                                f"--tail {int(tail)}" if tail is not None else "") if x)
    attach = ('docker logs {follow} {opts} "$id" 2>&1 | while IFS= read -r line; do '
              'printf "%s | %s\\n" "$name" "$line"; done &')
    one = attach.format(follow="-f" if follow else "", opts=opts)
    later = attach.format(follow="-f", opts="")  # a new container: from its first line
    lines = [
        "set -u", "seen=' '",
        f"for id in $(docker ps -q {filters}); do",
        "  name=$(docker inspect --format '{{.Name}}' \"$id\" | cut -c2-)",
        f"  {one}", "  seen=\"$seen$id \"", "done",
    ]
    if follow:
        lines += [
            "while :; do", f"  sleep {poll}",
            f"  for id in $(docker ps -q {filters}); do",
            "    case \"$seen\" in *\" $id \"*) continue;; esac",
            "    name=$(docker inspect --format '{{.Name}}' \"$id\" | cut -c2-)",
            f"    {later}", "    seen=\"$seen$id \"", "  done", "done",
        ]
    lines.append("wait")
    return "\n".join(lines) + "\n"


def exec_script(project: str, service: str, command: list[str], *, interactive: bool, new: str | None,
                env_file: bool = True) -> str:
    """Run `command` in the first running container of the service, or with new=<image ref> in a
    one-off container of that image (with the host's .env, like the service's own containers)."""
    cmd = " ".join(shlex.quote(c) for c in command)
    flags = "-it" if interactive else "-i"
    if new:
        directory = f"{PROJECT_ROOT}/{project}"
        envf = f"--env-file {shlex.quote(directory + '/.env')} " if env_file else ""
        # COMMAND replaces the image's entrypoint: an entrypoint that starts the server would ignore it.
        args = " ".join(shlex.quote(c) for c in command[1:])
        return (f"exec docker run --rm {flags} {envf}--entrypoint {shlex.quote(command[0])} "
                f"{shlex.quote(new)} {args}\n")
    filters = (f"--filter label=com.docker.compose.project={shlex.quote(project)} "
               f"--filter label=com.docker.compose.service={shlex.quote(service)}")
    return (f"id=$(docker ps -q {filters} | head -n 1)\n"
            f"[ -n \"$id\" ] || {{ echo \"no running container of service {shlex.quote(service)}\" >&2; exit 3; }}\n"
            f"exec docker exec {flags} \"$id\" {cmd}\n")


def prune_script(project: str, repositories: list[str], keep: list[str]) -> str:
    """Remove the project's stopped containers, the project's images not in `keep` and not used by any
    container, and dangling images; print 'removed <ref> <bytes>' per image and the reclaimed total."""
    q = shlex.quote
    repos = " ".join(q(r) for r in sorted(set(repositories)))
    keep_list = " ".join(q(k) for k in sorted(set(keep)))
    return "\n".join([
        "set -u",
        f"docker container prune -f --filter label=com.docker.compose.project={q(project)} >/dev/null",
        f"keep=' {keep_list} '" if keep else "keep=' '",
        # A tag a container was created from stays; other tags go (`docker rmi` of a tag that shares its
        # image with a kept one only untags: same build, same image ID).
        "used=' '$(docker ps -a --format '{{.Image}}' | tr '\\n' ' ')' '",
        f"for repo in {repos}; do",
        "  docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' \"$repo\" | while read -r ref id; do",
        "    case \"$keep\" in *\" $ref \"*) continue;; esac",
        "    case \"$used\" in *\" $ref \"*) continue;; esac",
        "    size=$(docker image inspect --format '{{.Size}}' \"$ref\" 2>/dev/null || echo 0)",
        "    docker rmi \"$ref\" >/dev/null 2>&1 && echo \"removed $ref $size\"",
        "  done",
        "done",
        "docker image prune -f 2>/dev/null | sed -n 's/^Total reclaimed space: /dangling /p'",
    ]) + "\n"


def parse_prune(stdout: str) -> dict:
    removed, total, dangling = [], 0, ""
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "removed":
            removed.append(parts[1])
            total += int(parts[2]) if parts[2].isdigit() else 0
        elif parts[:1] == ["dangling"]:
            dangling = " ".join(parts[1:])
    return {"removed": removed, "bytes": total, "dangling_reclaimed": dangling}


def env_digests_script(project: str) -> str:
    """NAME and sha256 of each line of the host's .env: compared here with the lines a deploy would
    write, so `secrets diff` learns which names changed without any value leaving the host."""
    path = shlex.quote(f"{PROJECT_ROOT}/{project}/.env")
    return (f"[ -f {path} ] || exit 0\n"
            f"while IFS= read -r line || [ -n \"$line\" ]; do case \"$line\" in ''|'#'*) continue;; esac; "
            "printf '%s %s\\n' \"${line%%=*}\" \"$(printf '%s' \"$line\" | sha256sum | cut -c1-64)\"; "
            f"done < {path}\n")


def parse_env_digests(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        name, _, digest = line.partition(" ")
        if name and len(digest) == 64:
            out[name] = digest
    return out


def env_diff(on_host: dict[str, str], wanted: dict[str, str]) -> dict[str, list[str]]:
    """Names only: added (not on the host yet), changed, removed (on the host, no longer written)."""
    return {"added": sorted(set(wanted) - set(on_host)),
            "changed": sorted(n for n in set(wanted) & set(on_host) if wanted[n] != on_host[n]),
            "removed": sorted(set(on_host) - set(wanted))}
