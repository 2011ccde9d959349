"""Talks to the DigitalOcean API: reads the tagged resources, creates droplets/volumes/firewalls, waits, destroys.

Each step reports per host; a host that fails is recorded and the others go on (the CLI exits 10).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

from ... import known_hosts
from ...errors import UserError
from . import cloud_init
from . import plan as p
from .api import Api, ApiError

ACTIVE_TIMEOUT = float(os.environ.get("STAGECRAFT_DO_ACTIVE_TIMEOUT", 300))
SSH_TIMEOUT = float(os.environ.get("STAGECRAFT_DO_SSH_TIMEOUT", 180))
POLL_SECONDS = float(os.environ.get("STAGECRAFT_DO_POLL_SECONDS", 3))


@dataclass
class Actual:
    droplets: list
    volumes: list
    firewalls: list


def read_actual(api: Api, project: str, env: str, firewall_names: set[str]) -> Actual:
    c = api.client
    droplets = [d for d in api.list_all("list droplets", c.droplets.list, "droplets", tag_name=p.tag_env(env))
                if p.owned(d, project, env)]
    volumes = [v for v in api.list_all("list volumes", c.volumes.list, "volumes") if p.owned(v, project, env)]
    firewalls = [f for f in api.list_all("list firewalls", c.firewalls.list, "firewalls") if f["name"] in firewall_names]
    return Actual(droplets, volumes, firewalls)


def resolve_ssh_keys(api: Api, wanted: tuple[str, ...]) -> list[int]:
    """SSH key ids for names or fingerprints in cloud.digitalocean.ssh_keys; a missing one is a config error."""
    keys = api.list_all("list ssh keys", api.client.ssh_keys.list, "ssh_keys")
    ids, missing = [], []
    for want in wanted:
        match = next((k for k in keys if want in (k.get("name"), k.get("fingerprint"))), None)
        if match is None:
            missing.append(want)
        else:
            ids.append(match["id"])
    if missing:
        known = ", ".join(sorted(k.get("name", "?") for k in keys)) or "none"
        raise UserError(f"cloud.digitalocean.ssh_keys: no SSH key named or with fingerprint {', '.join(missing)} "
                        f"in the DigitalOcean account (keys there: {known})",
                        hint="add the key in the DigitalOcean control panel or fix the name")
    return ids


@dataclass
class HostOutcome:
    name: str
    roles: list
    action: str  # created | started | unchanged | drift | would-create | would-start | failed
    address: str | None = None
    droplet: str | None = None
    error: str | None = None
    drift: dict = field(default_factory=dict)
    volumes: list = field(default_factory=list)
    ssh: str | None = None


@dataclass
class ProvisionResult:
    hosts: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    pruned: list = field(default_factory=list)
    pruned_volumes: list = field(default_factory=list)
    firewalls: list = field(default_factory=list)
    created_volumes: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (any(h.action in ("created", "would-create", "started", "would-start") for h in self.hosts)
                or bool(self.pruned) or bool(self.pruned_volumes)
                or bool(self.created_volumes) or any(f["action"] != "keep" for f in self.firewalls))

    @property
    def failed(self) -> list:
        return [h for h in self.hosts if h.action == "failed"]


def create_once(api: Api, what: str, create, find, say):
    """Create something unless it exists: a create whose answer was a 5xx or got lost (connection reset)
    may have taken effect, so before each retry `find()` looks for it; a 409 means it exists too."""
    for attempt in range(1, 4):
        try:
            return api.call(what, create, retry_5xx=False)
        except ApiError as exc:
            if not (exc.transient or exc.status == 409) or attempt == 3:
                raise
            say(f"{exc.message}; checking whether it exists before retrying")
            time.sleep(POLL_SECONDS)
            found = find()
            if found is not None:
                return found
    raise AssertionError("unreachable")


def create_droplets(api: Api, desired, items, key_ids, do, user_file, project: str, env: str, say,
                    outcomes: dict) -> dict[str, str]:
    """Create the missing droplets, each with its own SSH host key pair; returns host -> public host key.

    The private key only lives in this function's memory and the create request (see cloud_init).
    """
    c = api.client
    missing = {i.host for i in items if i.action == "create"}
    host_keys = {}
    for want in (d for d in desired if d.host in missing):
        private, public = cloud_init.host_key_pair(f"stagecraft-{want.name}")
        body = p.create_body(want, key_ids, vpc_uuid=do.vpc_uuid,
                             user_data=cloud_init.user_data(user_file, private, public))
        del private

        def find(name=want.name):
            return next((d for d in api.list_all("list droplets", c.droplets.list, "droplets",
                                                  tag_name=p.tag_env(env))
                         if d["name"] == name and p.owned(d, project, env)), None)
        say(f"creating droplet {want.name}")
        try:
            create_once(api, f"create droplet {want.name}", lambda b=body: c.droplets.create(body=b), find, say)
            host_keys[want.host] = public
        except ApiError as exc:
            outcomes[want.host].action, outcomes[want.host].error = "failed", exc.message
        finally:
            body.clear()
    return host_keys


def power_on(api: Api, items, say, outcomes: dict) -> None:
    """Power on the declared droplets found off (or archived); wait_active then waits for them."""
    for item in items:
        if item.action != "off":
            continue
        say(f"powering on droplet {item.name} (was {item.status})")
        try:
            api.call(f"power on {item.name}", api.client.droplet_actions.post, item.droplet_id,
                     body={"type": "power_on"})
        except ApiError as exc:
            outcomes[item.host].action, outcomes[item.host].error = "failed", exc.message


def record_host_keys(host_keys: dict[str, str], outcomes: dict, paths: dict, ports: dict) -> None:
    """Trust each new droplet's generated host key at its address, before the first connection."""
    for host, public in host_keys.items():
        if outcomes[host].address:
            known_hosts.record(paths[host], outcomes[host].address, ports[host], public)


def wait_active(api: Api, project: str, env: str, hosts: dict[str, str], say, outcomes: dict) -> dict[str, dict]:
    """Poll the env's droplets until each named one is active with a public IPv4 (or the timeout hits)."""
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    ready: dict[str, dict] = {}
    last = None
    while True:
        found = {d["name"]: d for d in api.list_all("list droplets", api.client.droplets.list, "droplets",
                                                    tag_name=p.tag_env(env)) if p.owned(d, project, env)}
        for host, name in hosts.items():
            d = found.get(name)
            if d and d.get("status") == "active" and p.public_ipv4(d):
                ready[host] = d
        if len(ready) == len(hosts):
            return ready
        progress = f"waiting for droplets: {len(ready)}/{len(hosts)} active"
        if progress != last:
            say(progress)
            last = progress
        if time.monotonic() > deadline:
            for host in set(hosts) - set(ready):
                outcomes[host].action = "failed"
                outcomes[host].error = f"droplet {hosts[host]} not active with a public IPv4 after {ACTIVE_TIMEOUT:.0f} s"
            return ready
        time.sleep(POLL_SECONDS)


def wait_action(api: Api, action_id: int, what: str) -> None:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while True:
        action = api.call(what, api.client.actions.get, action_id)["action"]
        if action["status"] == "completed":
            return
        if action["status"] == "errored":
            raise ApiError(f"{what}: action {action_id} errored")
        if time.monotonic() > deadline:
            raise ApiError(f"{what}: action {action_id} still {action['status']} after {ACTIVE_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)


def ensure_volumes(api: Api, desired, droplets: dict[str, dict], volumes: list[dict], project: str, env: str,
                   say, outcomes: dict) -> list[str]:
    """Create the declared volumes that are missing and attach each to its droplet."""
    c = api.client
    by_name = {v["name"]: v for v in volumes}
    created = []
    for want in desired:
        droplet = droplets.get(want.host)
        if droplet is None or outcomes[want.host].action == "failed":
            continue
        for vol in want.volumes:
            try:
                have = by_name.get(vol.name)
                if have is None:
                    say(f"creating volume {vol.name} ({vol.size_gb} GB)")
                    body = {"name": vol.name, "size_gigabytes": vol.size_gb, "region": want.region,
                            "description": p.volume_description(project, env, want.host),
                            "tags": [p.tag_base(), p.tag_project(project), p.tag_env(env)]}

                    def find(name=vol.name, region=want.region):
                        return next((v for v in api.list_all("list volumes", c.volumes.list, "volumes", name=name,
                                                             region=region) if p.owned(v, project, env)), None)
                    made = create_once(api, f"create volume {vol.name}", lambda b=body: c.volumes.create(body=b),
                                       find, say)
                    have = made.get("volume", made)
                    created.append(vol.name)
                if droplet["id"] not in (have.get("droplet_ids") or []):
                    say(f"attaching volume {vol.name} to {want.name}")
                    resp = api.call("attach volume", c.volume_actions.post_by_id, have["id"],
                                    body={"type": "attach", "droplet_id": droplet["id"], "region": want.region})
                    wait_action(api, resp["action"]["id"], f"attach volume {vol.name}")
                outcomes[want.host].volumes.append(vol.name)
            except ApiError as exc:
                outcomes[want.host].action, outcomes[want.host].error = "failed", exc.message
    return created


def ensure_firewalls(api: Api, wanted: list[dict], existing: list[dict], say) -> list[dict]:
    c = api.client
    have = {f["name"]: f for f in existing}
    changing = [fw for fw in wanted if fw["name"] not in have or not p.same_firewall(fw, have[fw["name"]])]
    # A firewall's target tags must exist before it can name them (creating an existing tag is a no-op).
    for tag in sorted({t for fw in changing for t in fw["tags"]}):
        api.call("create tag", c.tags.create, body={"name": tag})
    out = []
    for fw in wanted:
        current = have.get(fw["name"])
        if current is None:
            say(f"creating cloud firewall {fw['name']}")

            def find(name=fw["name"]):
                return next((f for f in api.list_all("list firewalls", c.firewalls.list, "firewalls")
                             if f["name"] == name), None)
            made = create_once(api, f"create firewall {fw['name']}", lambda b=fw: c.firewalls.create(body=b),
                               find, say)
            made = made.get("firewall", made)
            if not p.same_firewall(fw, made):  # found an older one by that name
                api.call("update firewall", c.firewalls.update, made["id"], body=fw)
            out.append({"name": fw["name"], "action": "create"})
        elif not p.same_firewall(fw, current):
            say(f"updating cloud firewall {fw['name']}")
            api.call("update firewall", c.firewalls.update, current["id"], body=fw)
            out.append({"name": fw["name"], "action": "update"})
        else:
            out.append({"name": fw["name"], "action": "keep"})
    return out


def wait_for_ssh(address: str, port: int, expected: list[str] = (), timeout: float = SSH_TIMEOUT) -> str | None:
    """None once sshd answers on address:port (and, when host keys are recorded for it, proves it holds
    one of them); else why not. Nothing is sent to the server: ssh-keyscan only runs the key exchange,
    in which the server signs with its host key, so an impostor cannot offer our key."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=3) as sock:
                sock.settimeout(5)
                banner = sock.recv(64)
            if not banner.startswith(b"SSH-"):
                last = f"unexpected banner {banner[:20]!r}"
            elif not expected:
                return None
            else:
                offered = [f"{t} {k}" for t, k in known_hosts.scan(address, port)]
                if set(offered) & set(expected):
                    return None
                if offered:
                    return (f"host key mismatch on {address}:{port}: expected {known_hosts.fingerprint(expected[0])}, "
                            f"offered {', '.join(known_hosts.fingerprint(k) for k in offered)}; nothing was sent to it. "
                            "If the droplet was rebuilt on purpose, remove its old key from the known_hosts file "
                            f"(ssh-keygen -R '{known_hosts.host_pattern(address, port)}' -f <file>) and re-run")
                last = "no host key offered yet"
        except OSError as exc:
            last = str(exc)
        time.sleep(min(POLL_SECONDS, 1.0))
    return f"SSH on {address}:{port} not ready after {timeout:.0f} s: {last}"


def destroy_droplets(api: Api, droplets: list[dict], say) -> dict[str, str]:
    errors = {}
    for d in droplets:
        say(f"destroying droplet {d['name']}")
        try:
            api.call(f"destroy droplet {d['name']}", api.client.droplets.destroy, d["id"])
        except ApiError as exc:
            if exc.status != 404:
                errors[d["name"]] = exc.message
    return errors


def delete_volumes(api: Api, volumes: list[dict], say) -> dict[str, str]:
    """Delete volumes; a volume still detaching from a destroyed droplet is retried for a while."""
    errors = {}
    for v in volumes:
        say(f"deleting volume {v['name']}")
        deadline = time.monotonic() + ACTIVE_TIMEOUT
        while True:
            try:
                api.call(f"delete volume {v['name']}", api.client.volumes.delete, v["id"])
                break
            except ApiError as exc:
                if exc.status == 404:
                    break
                if exc.status in (409, 422) and time.monotonic() < deadline:
                    time.sleep(POLL_SECONDS)
                    continue
                errors[v["name"]] = exc.message
                break
    return errors


def delete_firewalls(api: Api, firewalls: list[dict], say) -> None:
    for fw in firewalls:
        say(f"deleting cloud firewall {fw['name']}")
        try:
            api.call("delete firewall", api.client.firewalls.delete, fw["id"])
        except ApiError as exc:
            if exc.status != 404:
                raise
