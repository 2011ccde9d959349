#!/usr/bin/python
# Copyright: Stagecraft developers
# Apache-2.0
"""Zero-downtime rollout of one Docker Compose service, the docker-rollout way."""

from __future__ import annotations

DOCUMENTATION = r"""
module: compose_rollout
short_description: Update Compose services without downtime
description:
  - C(recreate) services (databases, caches) are updated with C(docker compose up -d), one at a time.
  - C(rolling) services start new containers beside the old ones (scale to 2N without recreating),
    wait until Docker reports them healthy (and, with I(healthcheck), until they answer an HTTP request
    from the host), point the host's edge proxy at them, let the old ones drain, then stop and remove
    the old ones. If the new ones never become healthy they are removed and the old ones keep serving;
    the task fails.
  - Old containers get the service's compose C(stop_grace_period) (else I(stop_timeout)) to exit after
    their stop signal; those that had to be killed are reported (C(slow_stop)).
  - A service whose containers already run the expected image and configuration is left alone.
  - Before anything rolls, what an interrupted run left is cleaned up - containers that Compose
    renamed to C(<id>_<name>) while recreating (renamed back, or removed when the new one exists),
    stopped containers of the services, surplus containers of a rolling service (those the edge
    proxy does not route to), routes pointing at containers that no longer run, and the project's own
    nginx edge of earlier versions (the host's shared edge replaces it).
  - One rollout at a time per project on a host (C(flock) on C(<project_dir>/.rollout.lock)), so a run
    that outlived its controller (run detached with C(async)) finishes before the next one starts.
options:
  project:
    description: Compose project name.
    type: str
    required: true
  project_dir:
    description: Directory holding compose.yaml.
    type: path
    required: true
  services:
    description: Services in rollout order.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: Service name., type: str, required: true}
      strategy: {description: rolling or recreate., type: str, choices: [rolling, recreate], default: rolling}
      replicas: {description: Containers to run., type: int, default: 1}
      port: {description: Container port the edge proxy routes to., type: int}
      healthcheck_timeout: {description: Seconds to wait for healthy containers., type: int, default: 60}
      drain_seconds: {description: Seconds old containers keep serving after the switch., type: int, default: 1}
      pre_stop:
        description: Command run in each old container before it is stopped (after the drain); its result is returned, a failure is not fatal.
        type: list
        elements: str
      pre_stop_timeout: {description: Seconds the pre_stop command may take., type: int, default: 30}
      stop_timeout:
        description: Seconds C(docker stop) waits before killing an old container, unless the compose file gives the service a C(stop_grace_period).
        type: int
        default: 10
      healthcheck:
        description:
          - HTTP check of every new container (sent from the host to its address at I(port)) before the edge proxy routes to it, after the Docker healthcheck if the container has one.
          - Each must answer I(status) within I(healthcheck_timeout) seconds of its start (Docker healthcheck included), or the rollout fails like an unhealthy container.
        type: dict
        suboptions:
          path: {description: Path requested with GET., type: str, default: /}
          status: {description: Expected status code (redirects are not followed)., type: int, default: 200}
          interval: {description: Seconds between requests to a container that has not answered yet., type: int, default: 1}
          timeout: {description: Seconds one request may take., type: int, default: 5}
  edge_service:
    description:
      - Name under which the host's shared edge proxy (Caddy, container C(stagecraft-edge)) is reported;
        empty when this project routes nothing through this host (its routes there, if any, are removed).
    type: str
    default: ""
  edge_image:
    description: Image of the shared edge proxy; the container is (re)created only when it runs another image or lacks a port.
    type: str
    default: ""
  edge_config_file:
    description:
      - The project's routes on this host (JSON rendered by Stagecraft). Registered with the shared edge
        before the services roll, keeping the upstreams and the maintenance flag the edge already has for
        the project; the edge reloads (gracefully) only when the assembled configuration changed.
    type: path
  edge:
    description: Manage the project's routes on the host's edge in this run (false while only stateful services are updated).
    type: bool
    default: true
  edge_cert_timeout:
    description: Seconds to wait, at the end, for the certificates of the project's ACME names; an ACME error fails the task with its text.
    type: int
    default: 90
  record_file:
    description:
      - File written with I(record_content) once every service is rolled out (not when one fails,
        not in check mode). C(stagecraft deploy) keeps the host's compose hash there to tell later
        whether a host already runs a release.
    type: path
  record_content:
    description: Content of I(record_file).
    type: str
    default: ""
  lock_timeout:
    description: Seconds to wait for another rollout of this project on the host to finish.
    type: int
    default: 900
author: Stagecraft developers
"""

EXAMPLES = r"""
- name: Roll out the web service
  stagecraft.infra.compose_rollout:
    project: shop
    project_dir: /srv/stagecraft/shop
    services:
      - {name: db, strategy: recreate}
      - {name: web, strategy: rolling, port: 8080, healthcheck_timeout: 60, pre_stop: [/bin/sh, -c, sleep 2],
         healthcheck: {path: /up}}
    edge_service: stagecraft-edge
    edge_image: stagecraft/edge:4f75a63cefef
    edge_config_file: /srv/stagecraft/shop/edge/routes.json
"""

RETURN = r"""
services:
  description:
    - Outcome per service (unchanged, created, rolled, recreated, failed) with container ids.
    - The edge's entry (I(edge_service)) says whether its container was created or recreated, and has
      C(config=reloaded) when the project's routes changed the proxy's configuration.
    - C(slow_stop) (seconds, source, containers) names old containers that ignored the stop signal
      and were killed when the stop timeout ran out.
  returned: always
  type: dict
cleaned:
  description: What an interrupted earlier run had left and this run cleaned up first.
  returned: always
  type: list
  elements: str
"""

import fcntl
import http.client
import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stagecraft.infra.plugins.module_utils import edge

# Compose's service name characters, starting with a letter or digit (stagecraft.yml's schema has the same
# rule): names become file names under the edge directory and arguments of docker commands.
SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*\Z")


def refuse_bad_names(module, params):
    names = [s["name"] for s in params["services"]] + ([params["edge_service"]] if params["edge_service"] else [])
    for name in names:
        if not SERVICE_NAME.match(name):
            module.fail_json(msg=f"service name {json.dumps(name)} is not a Compose service name (letters, digits, "
                                 "'.', '_' or '-', starting with a letter or digit); nothing was changed")


class Compose:
    def __init__(self, module, project, project_dir):
        self.module = module
        self.project = project
        self.base = ["docker", "compose", "-p", project, "--project-directory", project_dir,
                     "-f", os.path.join(project_dir, "compose.yaml")]
        self._hashes = self._config = None

    def run(self, *args, check=True):
        rc, out, err = self.module.run_command(list(args))
        if check and rc != 0:
            self.module.fail_json(msg=f"{' '.join(args[:6])} failed: {err.strip() or out.strip()}")
        return rc, out, err

    def compose(self, *args, check=True):
        return self.run(*self.base, *args, check=check)

    def containers(self, service):
        _, out, _ = self.run("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
                             "--filter", f"label=com.docker.compose.service={service}")
        ids = out.split()
        if not ids:
            return []
        _, out, _ = self.run("docker", "inspect", *ids)
        return json.loads(out)

    def spec(self, service):
        """The service as Compose resolved it. The compose file does not change during a run: every
        service's hash and config are read once (each `docker compose config` parses the whole project,
        which costs the host CPU)."""
        if self._hashes is None:
            _, out, _ = self.compose("config", "--hash=*")
            self._hashes = dict(line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2)
            _, out, _ = self.compose("config", "--format", "json")
            self._config = json.loads(out)
        return self._config["services"][service]

    def expected(self, service):
        image = self.spec(service).get("image", "")
        config_hash = self._hashes.get(service, "")
        rc, image_id, _ = self.run("docker", "image", "inspect", "--format", "{{.Id}}", image, check=False)
        return config_hash, image_id.strip() if rc == 0 else ""


    def all_containers(self):
        """Every container of the project, running or not, inspected."""
        _, out, _ = self.run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}")
        ids = out.split()
        if not ids:
            return []
        _, out, _ = self.run("docker", "inspect", *ids)
        return json.loads(out)


RENAMED = re.compile(r"^[0-9a-f]{12}_(.+)$")  # how Compose renames a container it is replacing


def routed_addresses(params, service):
    """Addresses the host's edge proxy sends this service's traffic to now."""
    if not params["edge_service"] or not service.get("port"):
        return set()
    state = edge.load(params["project"]) or {}
    return set((state.get("upstreams") or {}).get(service["name"]) or [])


def clean_leftovers(module, compose, params):
    """Undo what an interrupted run left on this host, so the rollout starts from a clean state.
    Returns what was done (empty when nothing was left)."""
    done = []
    if module.check_mode:
        return done
    services = {s["name"]: s for s in params["services"]}
    containers = compose.all_containers()
    names = {c["Name"].lstrip("/") for c in containers}
    for c in containers:
        name = c["Name"].lstrip("/")
        match = RENAMED.match(name)
        if match:
            if match.group(1) in names:  # its replacement exists: the renamed one is left over
                compose.run("docker", "rm", "-f", c["Id"])
                done.append(f"removed {name} (left renamed by an interrupted recreate)")
            else:
                compose.run("docker", "rename", c["Id"], match.group(1))
                names.add(match.group(1))
                done.append(f"renamed {name} back to {match.group(1)}")
    for c in compose.all_containers():
        service = (c["Config"]["Labels"] or {}).get("com.docker.compose.service")
        if service == edge.CONTAINER and params["edge_service"]:
            compose.run("docker", "rm", "-f", c["Id"])
            done.append(f"removed the project's own edge proxy {c['Name'].lstrip('/')} (the host's shared edge replaces it)")
            continue
        if service in services and not c["State"].get("Running") and c["State"].get("Status") in ("created", "exited",
                                                                                                   "dead"):
            compose.run("docker", "rm", "-f", c["Id"])
            done.append(f"removed stopped container {c['Name'].lstrip('/')}")
    for service in params["services"]:
        if service["strategy"] != "rolling":
            continue
        running = compose.containers(service["name"])
        replicas = service.get("replicas") or 1
        routed = routed_addresses(params, service)
        if len(running) > replicas and routed:
            unrouted = [c for c in running if address(c, service["port"]) not in routed]
            if unrouted and len(unrouted) < len(running):
                compose.run("docker", "rm", "-f", *[c["Id"] for c in unrouted])
                done.append(f"removed {len(unrouted)} surplus {service['name']} container(s) no traffic reached")
                running = [c for c in running if c not in unrouted]
        if routed and running:
            live = {address(c, service["port"]) for c in running}
            if not routed <= live:  # the proxy points at containers that are gone
                write_upstream(module, compose, params, service, running)
                done.append(f"routed {service['name']} to its running containers again")
    return done


def hold_host_lock(module, project_dir, timeout):
    """One rollout of the project at a time on this host; the lock ends with this process."""
    os.makedirs(project_dir, exist_ok=True)
    handle = open(os.path.join(project_dir, ".rollout.lock"), "a")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                module.fail_json(msg=f"another rollout of this project is still running on the host after {timeout}s")
            time.sleep(0.5)


def is_current(container, config_hash, image_id):
    labels = container["Config"]["Labels"] or {}
    return labels.get("com.docker.compose.config-hash") == config_hash and (
        not image_id or container["Image"] == image_id)


def health(state):
    if not state.get("Running"):
        return "exited"
    if "Health" not in state:
        return "healthy"  # no healthcheck: running is all Docker can tell
    return state["Health"]["Status"]


def health_states(compose, ids):
    """container id -> health, with one `docker inspect` for all of them."""
    if not ids:
        return {}
    rc, out, _ = compose.run("docker", "inspect", *ids, check=False)
    found = {c["Id"]: health(c["State"]) for c in json.loads(out or "[]")}
    return {cid: found.get(cid, "exited") for cid in ids}  # a container already removed counts as exited


def wait_healthy(compose, ids, timeout):
    deadline = time.monotonic() + timeout
    while True:
        states = health_states(compose, ids)
        if all(s == "healthy" for s in states.values()):
            return True, states
        if any(s in ("unhealthy", "exited") for s in states.values()) or time.monotonic() > deadline:
            return False, states
        time.sleep(0.5)


def address(container, port):
    for net in (container["NetworkSettings"]["Networks"] or {}).values():
        if net.get("IPAddress"):
            return f"{net['IPAddress']}:{port}"
    return None


def networks(container):
    """The Docker network whose address address() uses: the edge must join it to reach the container."""
    for name, net in (container["NetworkSettings"]["Networks"] or {}).items():
        if net.get("IPAddress"):
            return {name}
    return set()


def write_upstream(module, compose, params, service, containers):
    """Point the edge at these containers (the switch); a graceful reload of the shared proxy."""
    if not params["edge_service"] or not service.get("port"):
        return
    servers = sorted(a for a in (address(c, service["port"]) for c in containers) if a)
    nets = set().union(*[networks(c) for c in containers]) if containers else set()
    if routed_addresses(params, service) == set(servers) or module.check_mode:
        return  # already routed to these containers

    def update(state):
        state = state or {"routes": {}, "upstreams": {}, "networks": [], "maintenance": False}
        state.setdefault("upstreams", {})[service["name"]] = servers
        state["networks"] = sorted(set(state.get("networks") or []) | nets)
        return state

    try:
        edge.apply(params["project"], update)
    except edge.EdgeError as exc:
        module.fail_json(msg=f"service {service['name']}: {exc}", services={service["name"]: "failed"})


def apply_edge_config(module, params):
    """Register the project's routes with the host's shared edge (created, or recreated with a new image
    or port, when needed); returns the edge's outcome. Without routes here, the project's old ones go."""
    project = params["project"]
    if not params["edge_service"]:
        if edge.load(project) is not None and not module.check_mode:
            edge.apply(project, lambda state: None)
            return {"result": "removed"}
        return None
    with open(params["edge_config_file"]) as handle:
        routes = json.load(handle)
    if module.check_mode:
        same = (edge.load(project) or {}).get("routes") == routes
        return {"result": "unchanged"} if same else {"result": "unchanged", "config": "would-reload"}
    names = {r["service"] for r in routes.get("routes") or []}

    def update(state):
        state = state or {"upstreams": {}, "networks": [], "maintenance": False}
        state["routes"] = routes
        state["upstreams"] = {k: v for k, v in (state.get("upstreams") or {}).items() if k in names}
        return state

    try:
        result, reloaded = edge.apply(project, update, image=params["edge_image"])
    except edge.EdgeError as exc:
        module.fail_json(msg=str(exc), services={params["edge_service"]: "failed"})
    return {"result": result, **({"config": "reloaded"} if reloaded else {})}


def rollout(module, compose, params, service):
    name = service["name"]
    replicas = service.get("replicas") or 1
    config_hash, image_id = compose.expected(name)
    old = compose.containers(name)
    if old and len(old) == replicas and all(is_current(c, config_hash, image_id) for c in old):
        write_upstream(module, compose, params, service, old)
        return {"result": "unchanged", "containers": [c["Id"][:12] for c in old]}
    if module.check_mode:
        return {"result": "would-update"}
    if service["strategy"] == "recreate":
        # Stopped here rather than by `up` (which would stop it the same way): the stop is timed and reported.
        stale = [c["Id"] for c in old if not is_current(c, config_hash, image_id)]
        slow = stop_old(compose, service, stale) if stale else None
        compose.compose("up", "-d", "--no-deps", "--remove-orphans", name)
        deadline = time.monotonic() + service["healthcheck_timeout"]  # for both checks together
        current = compose.containers(name)
        ok, states = wait_healthy(compose, [c["Id"] for c in current], service["healthcheck_timeout"])
        if not ok:
            module.fail_json(msg=f"service {name} did not become healthy: {states}", services={name: "failed"})
        ok, answers = wait_http(service, current, deadline)
        if not ok:
            module.fail_json(msg=f"service {name}: {http_failure(service, answers)}",
                             services={name: {"result": "failed", "http": answers}})
        write_upstream(module, compose, params, service, current)
        return with_slow_stop({"result": "recreated", "containers": [c["Id"][:12] for c in current]}, slow)
    old_ids = {c["Id"] for c in old}
    compose.compose("up", "-d", "--no-deps", "--no-recreate", "--scale", f"{name}={len(old) + replicas}", name)
    deadline = time.monotonic() + service["healthcheck_timeout"]
    new = [c for c in compose.containers(name) if c["Id"] not in old_ids]
    ok, states = wait_healthy(compose, [c["Id"] for c in new], service["healthcheck_timeout"])
    if ok:
        ok, answers = wait_http(service, new, deadline)
        if not ok:
            compose.run("docker", "rm", "-f", *[c["Id"] for c in new])
            module.fail_json(msg=f"service {name}: {http_failure(service, answers)}; they were removed and the "
                                 f"{len(old)} old container(s) keep serving",
                             services={name: {"result": "failed", "http": answers}})
    if not ok:
        if new:
            compose.run("docker", "rm", "-f", *[c["Id"] for c in new])
        module.fail_json(msg=f"service {name}: new containers did not become healthy within "
                             f"{service['healthcheck_timeout']}s ({', '.join(sorted(set(states.values())))}); "
                             f"they were removed and the {len(old)} old container(s) keep serving",
                         services={name: {"result": "failed", "states": states}})
    write_upstream(module, compose, params, service, new)
    hooks, slow = [], None
    if old:
        time.sleep(service["drain_seconds"])
        hooks = [pre_stop(compose, service, cid) for cid in sorted(old_ids)] if service.get("pre_stop") else []
        slow = stop_old(compose, service, sorted(old_ids))
        compose.run("docker", "rm", *old_ids)
    result = {"result": "rolled" if old else "created", "containers": [c["Id"][:12] for c in new],
              "removed": [i[:12] for i in old_ids]}
    if hooks:
        result["pre_stop"] = hooks
    return with_slow_stop(result, slow)


GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration_seconds(text):
    """Whole seconds (rounded up) of a Go duration as Compose prints stop_grace_period ("1m30s");
    None when it is not one."""
    text = str(text).strip()
    parts = GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    total = sum(float(n) * GO_UNITS[u] for n, u in parts)
    return int(total) + (1 if total > int(total) else 0)


def stop_timeout(compose, service):
    """(seconds, source): the compose stop_grace_period when the service has one, else stop_timeout."""
    grace = duration_seconds(compose.spec(service["name"]).get("stop_grace_period") or "")
    if grace is not None:
        return grace, "stop_grace_period"
    return service["stop_timeout"], "stop_timeout"


def stop_old(compose, service, ids):
    """`docker stop` with the service's timeout; returns what ran into it (containers that ignored the
    stop signal and were killed), or None."""
    seconds, source = stop_timeout(compose, service)
    compose.run("docker", "stop", "-t", str(seconds), *ids)
    _, out, _ = compose.run("docker", "inspect", *ids, check=False)
    # Exit code 137 = killed by SIGKILL: what `docker stop` does once the timeout ran out (not an OOM
    # kill, not a service whose stop signal is KILL itself).
    killed = [c["Id"][:12] for c in json.loads(out or "[]")
              if c["State"].get("ExitCode") == 137 and not c["State"].get("OOMKilled")
              and (c["Config"].get("StopSignal") or "SIGTERM") not in ("SIGKILL", "KILL", "9")]
    # A timeout of 0 asks for the kill: nothing to report.
    return {"seconds": seconds, "source": source, "containers": killed} if killed and seconds else None


def with_slow_stop(result, slow):
    if slow:
        result["slow_stop"] = slow
    return result


def http_answer(addr, check):
    """(as expected?, what answered) for one GET of the check's path at addr (ip:port)."""
    host, _, port = addr.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=check["timeout"])
    try:
        conn.request("GET", check["path"], headers={"User-Agent": "stagecraft-rollout"})
        status = conn.getresponse().status
        return status == check["status"], str(status)
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        conn.close()


def wait_http(service, containers, deadline):
    """Until every container answers the HTTP check as expected or the deadline passes: (ok, container id ->
    last answer of those that did not). True at once for a service without a check."""
    check = service.get("healthcheck")
    if not check or not service.get("port"):
        return True, {}
    targets = {c["Id"][:12]: address(c, service["port"]) for c in containers}
    unreachable = {cid: "no address on a network" for cid, addr in targets.items() if not addr}
    if unreachable:
        return False, unreachable
    pending, last = dict(targets), {}
    while pending:
        for cid, addr in list(pending.items()):
            ok, last[cid] = http_answer(addr, check)
            if ok:
                del pending[cid]
        if not pending or time.monotonic() + check["interval"] > deadline:
            break
        time.sleep(check["interval"])
    return not pending, {cid: last[cid] for cid in pending}


def http_failure(service, answers):
    check = service["healthcheck"]
    said = ", ".join(f"{cid}: {a}" for cid, a in sorted(answers.items()))
    return (f"new containers did not answer GET {check['path']} with {check['status']} within "
            f"{service['healthcheck_timeout']}s (last answers: {said})")


def pre_stop(compose, service, cid):
    """The pre-stop hook inside an old container (no traffic reaches it any more). Its failure or
    timeout is reported, not fatal: the new containers already serve."""
    argv = ["timeout", "--kill-after=5", str(service["pre_stop_timeout"]), "docker", "exec", cid,
            *service["pre_stop"]]
    rc, out, err = compose.run(*argv, check=False)
    return {"container": cid[:12], "rc": rc, "output": (out + err).strip()[-500:]}


def record(module, path, content):
    """Write a small file (atomically) when its content differs; True when it did (or would)."""
    if module.check_mode:
        try:
            with open(path) as handle:
                return handle.read() != content
        except FileNotFoundError:
            return True
    return edge.write_file(path, content, 0o644)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project=dict(type="str", required=True),
            project_dir=dict(type="path", required=True),
            services=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                strategy=dict(type="str", choices=["rolling", "recreate"], default="rolling"),
                replicas=dict(type="int", default=1),
                port=dict(type="int"),
                healthcheck_timeout=dict(type="int", default=60),
                drain_seconds=dict(type="int", default=1),
                pre_stop=dict(type="list", elements="str"),
                pre_stop_timeout=dict(type="int", default=30),
                stop_timeout=dict(type="int", default=10),
                healthcheck=dict(type="dict", options=dict(
                    path=dict(type="str", default="/"),
                    status=dict(type="int", default=200),
                    interval=dict(type="int", default=1),
                    timeout=dict(type="int", default=5),
                )),
            )),
            edge_service=dict(type="str", default=""),
            edge_image=dict(type="str", default=""),
            edge_config_file=dict(type="path"),
            edge=dict(type="bool", default=True),
            edge_cert_timeout=dict(type="int", default=90),
            record_file=dict(type="path"),
            record_content=dict(type="str", default=""),
            lock_timeout=dict(type="int", default=900),
        ),
        supports_check_mode=True,
    )
    params = module.params
    refuse_bad_names(module, params)
    compose = Compose(module, params["project"], params["project_dir"])
    lock = hold_host_lock(module, params["project_dir"], params["lock_timeout"])  # noqa: F841 - held until exit
    started = str(int(time.time()) - 1)  # for the edge's log of ACME errors
    cleaned = clean_leftovers(module, compose, params)
    results = {}
    # Before the services roll: a later failure must not leave the old routes.
    edge_outcome = apply_edge_config(module, params) if params["edge"] else None
    if edge_outcome and params["edge_service"]:
        results[params["edge_service"]] = edge_outcome
    for service in params["services"]:
        results[service["name"]] = rollout(module, compose, params, service)
    if params["edge"] and params["edge_service"] and not module.check_mode:
        try:
            edge.wait_certificates(edge.acme_names(edge.load(params["project"]) or {}), started,
                                   params["edge_cert_timeout"])
        except edge.EdgeError as exc:
            module.fail_json(msg=f"HTTPS: {exc}", services=results)
    changed = bool(edge_outcome and edge_outcome != {"result": "unchanged"}) or any(
        r["result"] not in ("unchanged",) for n, r in results.items() if n != params["edge_service"])
    if params["record_file"] and record(module, params["record_file"], params["record_content"]):
        changed = True
    module.exit_json(changed=changed or bool(cleaned), services=results, cleaned=cleaned)


if __name__ == "__main__":
    main()
