# Copyright: Stagecraft developers
# Apache-2.0
"""The host's shared edge proxy: one Caddy container per host, serving the routes of every project
deployed to the host (spec/edge.md, ADR 0005).

Each project keeps one state file, <EDGE_DIR>/projects/<project>.json:

    {"routes": <the project's route fragment, rendered by Stagecraft>,
     "upstreams": {service: ["ip:port", ...]},   # the containers traffic goes to now
     "networks": [...],                            # Docker networks the edge joins to reach them
     "maintenance": false}

A change (a rollout's switch, new routes, maintenance on/off, a removed project) rewrites that one file,
assembles Caddy's whole configuration from all projects' files and loads it through Caddy's admin API
(`caddy reload`), under one host-wide lock. Caddy's reload is graceful: its listeners stay open and
in-flight requests finish on the old configuration. Certificates are Caddy's: obtained and renewed in
the background (ACME HTTP-01), swapped without any reload.

Used by the compose_rollout module (imported) and run as a script over SSH by `stagecraft maintenance`
(`python3 - maintenance <project> on|off`); only the standard library.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import subprocess
import sys
import time

EDGE_DIR = "/srv/stagecraft-edge"
CONTAINER = "stagecraft-edge"
CONFIG = EDGE_DIR + "/caddy.json"
PORTS = {"public": (80, 443), "internal": (8000,)}
PLACEHOLDER = "127.0.0.1:9"  # a service with no container yet: requests fail (502) instead of the config
ACME_ERRORS = ('"challenge failed"', '"could not get certificate from issuer"', '"validating authorization"')


class EdgeError(Exception):
    pass


def run(*argv, check=True):
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise EdgeError(f"{' '.join(argv[:5])} failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc


@contextlib.contextmanager
def locked(timeout=300):
    """One change of the edge at a time on this host (projects deploy independently)."""
    os.makedirs(EDGE_DIR + "/projects", mode=0o700, exist_ok=True)
    handle = open(EDGE_DIR + "/.lock", "a")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EdgeError(f"another change of the edge proxy is still running after {timeout}s")
                time.sleep(0.2)
        yield
    finally:
        handle.close()


def state_path(project):
    return f"{EDGE_DIR}/projects/{project}.json"


def load(project):
    try:
        with open(state_path(project)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def write_file(path, text, mode=0o600):
    """Atomically, and only when the content differs; True when it wrote."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def save(project, state):
    routes = state.get("routes") or {}
    ca_pem = (routes.get("acme") or {}).get("ca_pem")
    if ca_pem:  # the ACME server's CA (an internal ACME server, pebble in tests): a public certificate
        write_file(f"{EDGE_DIR}/projects/{project}.acme-ca.pem", ca_pem, 0o644)
    return write_file(state_path(project), json.dumps(state, indent=1, sort_keys=True) + "\n")


def states():
    out = {}
    for path in sorted(glob.glob(EDGE_DIR + "/projects/*.json")):
        name = os.path.basename(path)[:-5]
        with open(path) as handle:
            out[name] = json.load(handle)
    return out


# ---- the Caddy configuration (pure) ---------------------------------------------------------------

def _match(route):
    m = {}
    if route.get("hosts"):
        m["host"] = list(route["hosts"])
    path = route.get("path") or "/"
    if path != "/":
        m["path"] = [path + "*"]  # a prefix, as the path was matched before
    return [m] if m else []


def _proxy(servers, peers):
    handler = {"handler": "reverse_proxy",
               "upstreams": [{"dial": s} for s in servers] or [{"dial": PLACEHOLDER}],
               "load_balancing": {"selection_policy": {"policy": "round_robin"},
                                  # A container that just stopped accepting: retry another one.
                                  "try_duration": "5s", "try_interval": "100ms"}}
    if peers:  # other hosts' edges: skip one that fails for a moment
        handler["health_checks"] = {"passive": {"fail_duration": "2s", "max_fails": 1}}
    return handler


def _maintenance(page):
    return {"handler": "static_response", "status_code": 503, "body": page,
            "headers": {"Content-Type": ["text/html; charset=utf-8"], "Retry-After": ["60"],
                        "Cache-Control": ["no-store"]}}


NOT_FOUND = {"handle": [{"handler": "static_response", "status_code": 404, "body": "Not Found\n"}], "terminal": True}
REDIRECT = {"handler": "static_response", "status_code": 308,
            "headers": {"Location": ["https://{http.request.host}{http.request.uri}"]}}


def _route(match, handle):
    route = {"handle": handle, "terminal": True}
    if match:
        route["match"] = match
    return route


def _order(route):
    """Named hosts before the catch-all, longer paths first (the most specific route wins)."""
    return (0 if route.get("hosts") else 1, -len(route.get("path") or "/"), route.get("path") or "/")


def caddy_config(all_states, held=()):
    """The whole proxy's configuration from every project's state; names in `held` get no certificate
    yet (see first_account)."""
    https, http, internal = [], [], []
    automate, policies, load_files, claimed = [], [], [], set()
    renew = 600
    for project, st in sorted(all_states.items()):
        frag = st.get("routes") or {}
        acme = frag.get("acme") or {}
        page = frag.get("maintenance_page") or "Down for maintenance.\n"
        mine = []
        for r in frag.get("routes") or []:
            servers = r.get("peers") or (st.get("upstreams") or {}).get(r["service"]) or []
            handle = [_maintenance(page)] if st.get("maintenance") else [_proxy(servers, bool(r.get("peers")))]
            key, match = _order(r), _match(r)
            if frag.get("listen") == "internal":
                internal.append((key, _route(match, handle)))
                continue
            tls = r.get("tls") or "off"
            if tls == "off":
                http.append((key, _route(match, handle)))
                continue
            headers = [{"handler": "headers", "response": {"set": {
                "Strict-Transport-Security": [f"max-age={int(r['hsts'])}"]}}}] if r.get("hsts") else []
            https.append((key, _route(match, headers + handle)))
            http.append((key, _route(match, [REDIRECT] if r.get("redirect", True) else handle)))
            if tls == "acme":
                mine += [h for h in r.get("hosts") or [] if h not in claimed]
            elif tls == "files":
                load_files.append({"certificate": f"{EDGE_DIR}/projects/{project}.tls/{r['service']}.crt",
                                   "key": f"{EDGE_DIR}/projects/{project}.tls/{r['service']}.key"})
        mine = sorted(set(mine) - set(held))
        if mine:
            claimed.update(mine)
            automate += mine
            issuer = {"module": "acme", "challenges": {"tls-alpn": {"disabled": True}}}
            if acme.get("directory"):
                issuer["ca"] = acme["directory"]
            if acme.get("email"):
                issuer["email"] = acme["email"]
            if acme.get("ca_pem"):
                issuer["trusted_roots_pem_files"] = [f"{EDGE_DIR}/projects/{project}.acme-ca.pem"]
            policies.append({"subjects": mine, "issuers": [issuer]})
            renew = min(renew, int(acme.get("renew_interval") or 600))
    servers = {}
    plain = {"automatic_https": {"disable": True}}
    # What no route matches: 404 (Caddy's own default is an empty 200).
    https, http, internal = ([*routes, ((2, 0, ""), NOT_FOUND)] if routes else routes for routes in (https, http, internal))
    if https:
        servers["https"] = {"listen": [":443"], "routes": [r for _, r in sorted(https, key=lambda x: x[0])],
                            # No HTTP/3: the container publishes TCP only, advertising QUIC would send clients astray.
                            "tls_connection_policies": [{}], "protocols": ["h1", "h2"], **plain}
    if http or https:  # also where ACME's HTTP-01 challenges are answered
        servers["http"] = {"listen": [":80"], "routes": [r for _, r in sorted(http, key=lambda x: x[0])], **plain}
    if internal:
        servers["internal"] = {"listen": [":8000"], "routes": [r for _, r in sorted(internal, key=lambda x: x[0])],
                               **plain}
    apps = {"http": {"grace_period": "10s", "servers": servers}}
    tls = {}
    if automate:
        tls["certificates"] = {"automate": sorted(automate)}
        tls["automation"] = {"policies": policies, "renew_interval": f"{renew}s"}
    if load_files:
        tls.setdefault("certificates", {})["load_files"] = load_files
    if tls:
        apps["tls"] = tls
    return {"admin": {"listen": "localhost:2019"}, "apps": apps}


def acme_names(st):
    frag = st.get("routes") or {}
    if frag.get("listen") == "internal":
        return []
    return sorted({h for r in frag.get("routes") or [] if r.get("tls") == "acme" for h in r.get("hosts") or []})


def wanted_ports(all_states):
    return sorted({p for st in all_states.values() for p in PORTS[(st.get("routes") or {}).get("listen", "internal")]})


# ---- the container ---------------------------------------------------------------------------------

def container():
    proc = run("docker", "inspect", CONTAINER, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def _published(info):
    bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
    return {int(k.split("/")[0]) for k in bindings}


def _image_id(image):
    proc = run("docker", "image", "inspect", "--format", "{{.Id}}", image, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def write_config(all_states, held=()):
    return write_file(CONFIG, json.dumps(caddy_config(all_states, held), indent=1, sort_keys=True) + "\n")


ACCOUNTS = EDGE_DIR + "/data/caddy/acme/*/users/*/*.json"


def _account_stored():
    """An ACME account file that is whole (Caddy writes it in place: one being written does not parse)."""
    for path in glob.glob(ACCOUNTS):
        try:
            with open(path) as handle:
                json.load(handle)
            return True
        except (OSError, ValueError):
            continue
    return False


def held_names(all_states):
    """Caddy 2.6 registers the ACME account once per certificate it obtains at the same time and writes the
    account file in place: two names obtained at once on a fresh edge left a corrupt account ("invalid
    character '}' after top-level value") that every later certificate failed on. So while no account is
    stored, one name is obtained first (its registration writes the account): the others are held."""
    if _account_stored():
        return []
    return sorted({n for st in all_states.values() for n in acme_names(st)})[1:]


def release_held(all_states, held):
    """Once the first registration stored the account (or after 30 s), the configuration with every name."""
    deadline = time.monotonic() + 30
    while held and not _account_stored() and time.monotonic() < deadline:
        time.sleep(0.2)
    return write_config(all_states)


def reload(attempts=5):
    """Load the written configuration into the running proxy (graceful); a configuration Caddy refuses
    leaves the old one serving and raises with Caddy's reason. Caddy 2.6 writes a renewed certificate's
    files in place, so a reload that reads them at that moment fails: such a refusal is tried again."""
    for attempt in range(attempts):
        proc = run("docker", "exec", CONTAINER, "caddy", "reload", "--config", CONFIG, check=False)
        if proc.returncode == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    raise EdgeError("the edge proxy refused the new routes (the previous ones keep serving): "
                    + (proc.stderr or proc.stdout).strip()[-800:])


def connect(info, all_states):
    have = set(((info.get("NetworkSettings") or {}).get("Networks") or {}))
    for net in sorted({n for st in all_states.values() for n in st.get("networks") or []} - have):
        if run("docker", "network", "inspect", net, check=False).returncode == 0:
            run("docker", "network", "connect", net, CONTAINER)


def ensure(image, all_states):
    """The edge container runs `image` and publishes what the projects need; returns unchanged, created
    or recreated. Recreated (a short interruption for every project on the host) only when the image
    changes or a port is missing."""
    info = container()
    ports = set(wanted_ports(all_states))
    running = info and info["State"].get("Running")
    if running and info["Image"] == _image_id(image) and ports <= _published(info):
        connect(info, all_states)
        return "unchanged"
    held = held_names(all_states)
    write_config(all_states, held)
    if info:
        ports |= _published(info)
        run("docker", "rm", "-f", CONTAINER)
    argv = ["docker", "run", "-d", "--name", CONTAINER, "--restart", "unless-stopped",
            "--label", "stagecraft.role=edge", "-v", f"{EDGE_DIR}:{EDGE_DIR}",
            "-e", f"XDG_DATA_HOME={EDGE_DIR}/data", "-e", f"XDG_CONFIG_HOME={EDGE_DIR}/config"]
    for port in sorted(ports):
        argv += ["-p", f"{port}:{port}"]
    run(*argv, image, "caddy", "run", "--config", CONFIG)
    connect(container(), all_states)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # answering once its admin API is up
        if run("docker", "exec", CONTAINER, "caddy", "reload", "--config", CONFIG, check=False).returncode == 0:
            break
        time.sleep(0.2)
    if release_held(all_states, held):
        reload()
    return "recreated" if info else "created"


def apply(project, update, image=None):
    """Change one project's state with `update(state) -> state` (None removes the project), then
    reload the proxy when the assembled configuration changed. Returns (result, reloaded): result is the
    container's (unchanged / created / recreated) when `image` is given."""
    with locked():
        before = load(project)
        after = update(json.loads(json.dumps(before)) if before else None)
        if after is None:
            for path in glob.glob(f"{EDGE_DIR}/projects/{project}.*"):
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        else:
            save(project, after)
        everything = states()
        result = ensure(image, everything) if image else "unchanged"
        if result != "unchanged":
            return result, False
        info = container()
        if not info:
            return "absent", False
        connect(info, everything)  # before routing to containers on a network the edge has not joined yet
        held = held_names(everything)
        if held and write_config(everything, held):
            reload()
        if release_held(everything, held):
            reload()
            return result, True
        return result, False


def wait_certificates(names, since, timeout):
    """Wait until Caddy holds a certificate for every name; on an ACME failure for one of them, raise
    with the ACME server's own words."""
    start = time.monotonic()
    deadline = start + timeout
    pending = list(names)
    while pending:
        pending = [n for n in pending if not glob.glob(f"{EDGE_DIR}/data/caddy/certificates/*/{n}/{n}.crt")]
        if not pending:
            return
        problems = acme_problems(pending, since)
        if problems or time.monotonic() > deadline:
            failed = sorted(problems) or pending
            detail = "; ".join(f"{n}: {p}" for n, p in sorted(problems.items())) or "no answer from the ACME server"
            raise EdgeError(f"no certificate for {', '.join(failed)} after {time.monotonic() - start:.0f}s "
                            f"({detail}). Check that each name resolves to this host's public address and that port 80 "
                            "reaches it from the internet (the ACME server connects to http://<name>/.well-known/acme-challenge/)")
        time.sleep(0.5)


def acme_problems(names, since):
    """name -> the last ACME error Caddy logged for it since `since` (a docker logs --since value)."""
    proc = run("docker", "logs", "--since", since, CONTAINER, check=False)
    found = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        if not any(marker in line for marker in ACME_ERRORS):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        name = entry.get("identifier")
        # "context canceled": a reload (this project's or a neighbour's) stopped the attempt; the new
        # configuration starts it again, so it is no answer from the ACME server.
        if name in names and entry.get("error") and "context canceled" not in str(entry["error"]):
            found[name] = (f"{entry['problem_type']}: " if entry.get("problem_type") else "") + str(entry["error"])
    return found


# ---- run over SSH by the CLI ----------------------------------------------------------------------

def main(argv):
    """maintenance <project> on|off  |  remove <project>; prints one JSON line."""
    command, project = argv[0], argv[1]
    if command == "maintenance":
        on = argv[2] == "on"

        def update(st):
            if st is None:
                return None
            st["maintenance"] = on
            return st

        if load(project) is None:
            print(json.dumps({"project": project, "result": "not-deployed"}))
            return 0
        _, reloaded = apply(project, update)
        print(json.dumps({"project": project, "result": "on" if on else "off", "reloaded": reloaded}))
        return 0
    if command == "remove":
        if load(project) is None:
            print(json.dumps({"project": project, "result": "not-deployed"}))
            return 0
        _, reloaded = apply(project, lambda st: None)
        print(json.dumps({"project": project, "result": "removed", "reloaded": reloaded}))
        return 0
    raise EdgeError(f"unknown command {command}")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except EdgeError as exc:
        print(json.dumps({"error": str(exc)}))
        sys.exit(1)
