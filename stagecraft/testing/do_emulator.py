"""A stateful stand-in for the DigitalOcean API (the endpoints Stagecraft uses), for tests.

Runs `http.server` in a thread on 127.0.0.1. Keeps droplets, actions, SSH keys, volumes, firewalls and
tags in memory; droplets move new -> active after `active_after` seconds and only then get a public
IPv4. Errors can be injected (422, 429 with ratelimit-reset, 500, or a connection reset), before the
request changes anything or after it did (`after=True`: "created, but answered 500"). When the official
OpenAPI spec is on disk every request body and every response body (injected faults included) is
validated against it; violations are collected in `violations` (and a bad request gets a 422, as Prism
does).

Honest about what DigitalOcean does asynchronously: droplets can be powered off (`power_off`) or
archived (`archive`) behind Stagecraft's back and come back only through a `power_on` action; a volume
attach shows in `droplet_ids` only once its action completed; a created or updated firewall reports
`pending_changes` until it is applied; all-port firewall rules read back as "0"; GPU droplets are left
out of lists filtered by `tag_name` (the spec's `type=gpus` cannot be combined with it); `user_data`
over 64 KiB is refused. Each droplet's `user_data` is kept (`user_data(name)`) so tests can act as
cloud-init.

Droplet addresses: by default each droplet gets its own loopback address (127.0.0.N) where a real SSH
server (asyncssh) answers once the droplet is active, with the host key its user data asked for
(`impostor(name)` swaps in one with another key, accepting any client, to test that Stagecraft refuses).
With `backing=(start, stop)` each droplet is backed by a real host instead: `start(droplet_name,
public_keys, user_data)` returns its address (e.g. a container from the local driver) with the public keys
of the requested `ssh_keys` authorized, as DigitalOcean would, and acts as cloud-init for what the test
needs (`cloud_config_host_keys(user_data)`: the SSH host keys); `stop(droplet_name)` removes it.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import do_spec
from .http import json_handler

USER_DATA_MAX = 64 * 1024
REGIONS = ("fra1", "ams3", "nyc1", "nyc3", "sfo3", "lon1", "sgp1", "tor1", "blr1", "syd1")
SIZES = {"s-1vcpu-1gb": (1024, 1, 25, 6.0), "s-1vcpu-2gb": (2048, 1, 50, 12.0), "s-2vcpu-2gb": (2048, 2, 60, 18.0),
         "s-2vcpu-4gb": (4096, 2, 80, 24.0), "s-4vcpu-8gb": (8192, 4, 160, 48.0)}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Sshd:
    """A real SSH server (asyncssh) on one loopback address, serving the droplet's host key from its user
    data as cloud-init would (or a fresh key without one). It completes the key exchange, so a client can
    verify the host key, and accepts any client key like an impostor would; every authentication attempt
    and session request is recorded in `events` (a real droplet's shell is not emulated)."""

    _loop = None

    def __init__(self, address: str, port: int, private_key: str | None):
        import asyncio

        import asyncssh

        if _Sshd._loop is None:
            _Sshd._loop = asyncio.new_event_loop()
            threading.Thread(target=_Sshd._loop.run_forever, daemon=True).start()
        key = asyncssh.import_private_key(private_key) if private_key else asyncssh.generate_private_key("ssh-ed25519")
        self.public_key = key.export_public_key().decode().strip()
        self.events: list[str] = []
        events = self.events

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username):
                events.append(f"auth {username}")
                return True

            def public_key_auth_supported(self):
                return True

            def validate_public_key(self, username, key):
                events.append(f"key {username}")
                return True

            def password_auth_supported(self):
                return True

            def validate_password(self, username, password):
                events.append(f"password {username}")
                return True

            def session_requested(self):
                events.append("session")
                return False

        async def start():
            return await asyncssh.create_server(Server, address, port, server_host_keys=[key], reuse_address=True)
        self._server = asyncio.run_coroutine_threadsafe(start(), _Sshd._loop).result(30)

    def close(self):
        import asyncio

        async def stop():
            self._server.close()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), _Sshd._loop).result(30)


class Emulator:
    def __init__(self, token: str = "test-token", *, active_after: float = 0.3, ssh_port: int | None = None,
                 backing=None, validate: bool = True,
                 ssh_keys=(("deploy", "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa", None),)):
        self.token = token
        self.active_after = active_after
        self.backing = backing
        self.spec = do_spec.load() if validate else None
        self.violations: list[str] = []
        self.requests: list[dict] = []
        self.droplets: dict[int, dict] = {}
        self.actions: dict[int, dict] = {}
        self.volumes: dict[str, dict] = {}
        self.firewalls: dict[str, dict] = {}
        self.tags: set[str] = set()
        self.ssh_keys = [{"id": 512190 + i, "name": n, "fingerprint": fp,
                          "public_key": pub or f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i:040d} {n}"}
                         for i, (n, fp, pub) in enumerate(ssh_keys)]
        self._ids = itertools.count(3164444)
        self._ips = itertools.count(2)
        self._faults: list[dict] = []
        self._sshd: dict[int, _Sshd] = {}
        self._lock = threading.RLock()
        self.ssh_port = ssh_port or _free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # ---- test controls ---------------------------------------------------------------------------
    def inject(self, method: str, path: str, status, *, times: int = 1, reset_in: float = 1.0,
               after: bool = False) -> None:
        """The next `times` requests matching METHOD and path regex answer `status` (429 sets ratelimit-reset;
        "reset" closes the connection without an answer). `after=True` applies the request first."""
        self._faults.append({"method": method.upper(), "path": re.compile(path), "status": status,
                             "times": times, "reset_in": reset_in, "after": after})

    def power_off(self, droplet_name: str) -> None:
        """A droplet shut down from the console (it keeps its addresses)."""
        self._droplet_named(droplet_name)["status"] = "off"

    def archive(self, droplet_name: str) -> None:
        self._droplet_named(droplet_name)["status"] = "archive"

    def impostor(self, droplet_name: str) -> "_Sshd":
        """Another SSH server, with another host key, takes over the droplet's address."""
        with self._lock:
            d = self._droplet_named(droplet_name)
            self._sshd.pop(d["id"]).close()
            self._sshd[d["id"]] = _Sshd(d["_meta"]["address"], self.ssh_port, None)
            return self._sshd[d["id"]]

    def sshd(self, droplet_name: str) -> "_Sshd":
        return self._sshd[self._droplet_named(droplet_name)["id"]]

    def user_data(self, droplet_name: str) -> str | None:
        return self._droplet_named(droplet_name)["_meta"]["user_data"]

    def _droplet_named(self, name: str) -> dict:
        with self._lock:
            return next(d for d in self.droplets.values() if d["name"] == name)

    def resize(self, droplet_name: str, size: str) -> None:
        """Change a droplet behind Stagecraft's back (to make drift)."""
        with self._lock:
            for d in self.droplets.values():
                if d["name"] == droplet_name:
                    d["size_slug"] = size
                    d["size"] = _size(size, d["region"]["slug"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for sshd in self._sshd.values():
            sshd.close()
        if self.backing:
            for d in list(self.droplets.values()):
                self.backing[1](d["name"])

    # ---- state ---------------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Time-driven transitions: droplets become active, actions complete."""
        now = time.monotonic()
        for d in self.droplets.values():
            meta = d["_meta"]
            if d["status"] == "new" and now >= meta["active_at"] and meta.get("address"):
                d["status"] = "active"
                d["networks"]["v4"] = [{"ip_address": meta["address"], "netmask": "255.255.240.0",
                                        "gateway": "127.0.0.1", "type": "public"},
                                       {"ip_address": f"10.110.0.{meta['n']}", "netmask": "255.255.240.0",
                                        "gateway": "10.110.0.1", "type": "private"}]
                if not self.backing:
                    host_key = cloud_config_host_keys(meta["user_data"]).get("ed25519_private")
                    self._sshd[d["id"]] = _Sshd(meta["address"], self.ssh_port, host_key)
        for a in self.actions.values():
            if a["status"] == "in-progress" and now >= a["_done_at"]:
                a["status"], a["completed_at"] = "completed", _now()
                if a.get("_then"):
                    a.pop("_then")()
        for fw in self.firewalls.values():
            if fw["status"] == "waiting" and now >= fw["_applied_at"]:
                fw["status"], fw["pending_changes"] = "succeeded", []

    def _new_action(self, kind: str, resource_id, resource_type: str, region: str, then=None) -> dict:
        """An in-progress action; `then` is what the action does, applied when it completes."""
        aid = next(self._ids)
        action = {"_then": then, "id": aid, "status": "in-progress", "type": kind, "started_at": _now(), "completed_at": None,
                  "resource_id": resource_id if isinstance(resource_id, int) else 0, "resource_type": resource_type,
                  "region": _region(region), "region_slug": region, "_done_at": time.monotonic() + self.active_after}
        self.actions[aid] = action
        return action

    def _create_droplet(self, name: str, body: dict) -> dict:
        did, n = next(self._ids), next(self._ips)
        region = body.get("region") or "nyc3"
        droplet = {
            "id": did, "name": name, "memory": SIZES.get(body["size"], (1024,))[0],
            "vcpus": SIZES.get(body["size"], (0, 1))[1], "disk": SIZES.get(body["size"], (0, 0, 25))[2],
            "locked": False, "status": "new", "created_at": _now(), "features": ["monitoring"] if body.get("monitoring") else [],
            "backup_ids": [], "next_backup_window": None, "snapshot_ids": [], "image": _image(body["image"]),
            "volume_ids": [], "size": _size(body["size"], region), "size_slug": body["size"],
            "networks": {"v4": [], "v6": []}, "region": _region(region), "tags": list(body.get("tags") or []),
            "vpc_uuid": body.get("vpc_uuid") or "760e09ef-dc84-11e8-981e-3cfdfeaae000",
            "_meta": {"n": n, "active_at": time.monotonic() + self.active_after, "address": None,
                      "user_data": body.get("user_data")},
        }
        self.tags.update(droplet["tags"])
        self.droplets[did] = droplet
        if self.backing:
            wanted = {str(k) for k in body.get("ssh_keys") or ()}
            keys = [k["public_key"] for k in self.ssh_keys if {str(k["id"]), k["fingerprint"]} & wanted]

            def back():
                address = self.backing[0](name, keys, body.get("user_data"))
                with self._lock:
                    droplet["_meta"]["address"] = address
            threading.Thread(target=back, daemon=True).start()
        else:
            droplet["_meta"]["address"] = f"127.0.0.{n}"
        return droplet

    def _delete_droplet(self, droplet: dict) -> None:
        del self.droplets[droplet["id"]]
        sshd = self._sshd.pop(droplet["id"], None)
        if sshd:
            sshd.close()
        for v in self.volumes.values():  # attached volumes detach when their droplet goes
            if droplet["id"] in v["droplet_ids"]:
                v["droplet_ids"].remove(droplet["id"])
        if self.backing:
            threading.Thread(target=self.backing[1], args=(droplet["name"],), daemon=True).start()

    # ---- request handling ----------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers, body_bytes: bytes):
        parts = urlsplit(raw_path)
        path, query = parts.path.rstrip("/") or "/", {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except ValueError:
                return 400, {"id": "bad_request", "message": "body is not JSON"}, {}
        self.requests.append({"method": method, "path": path, "query": query, "body": body})
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"id": "unauthorized", "message": "Unable to authenticate you."}, {}
        fault = next((f for f in self._faults if f["times"] > 0 and f["method"] == method
                      and f["path"].search(path)), None)
        if fault:
            fault["times"] -= 1
        if self.spec and body is not None:
            problems = do_spec.errors(self.spec.request_schema(method, path), body)
            if problems:
                self.violations += [f"request {method} {path}: {p}" for p in problems]
                return self._checked(method, path, 422, {"id": "unprocessable_entity",
                                                          "message": "; ".join(problems)[:500]}, {})
        if fault and not fault["after"]:
            return self._fault(method, path, fault)
        with self._lock:
            self._advance()
            status, payload = self._route(method, path, query, body or {})
        if fault:  # the request took effect, but the client is told otherwise
            return self._fault(method, path, fault)
        return self._checked(method, path, status, payload, {})

    def _fault(self, method: str, path: str, fault: dict):
        if fault["status"] == "reset":
            return "reset", None, {}
        extra = {"ratelimit-reset": str(int(time.time() + fault["reset_in"]))} if fault["status"] == 429 else {}
        ids = {422: "unprocessable_entity", 429: "too_many_requests", 500: "server_error"}
        return self._checked(method, path, fault["status"], {"id": ids.get(fault["status"], "error"),
                                                             "message": "injected"}, extra)

    def _checked(self, method: str, path: str, status: int, payload, extra: dict):
        """Every answer, injected ones included, is held against the spec."""
        if self.spec and payload is not None:
            if not self.spec.documented(method, path, status):
                self.violations.append(f"response {method} {path}: status {status} not in the spec")
            problems = do_spec.errors(self.spec.response_schema(method, path, status), _public(payload))
            self.violations += [f"response {method} {path} {status}: {p}" for p in problems]
        return status, payload, extra

    def _route(self, method, path, query, body):
        m = re.fullmatch
        if path == "/v2/account/keys" and method == "GET":
            return 200, self._page("ssh_keys", self.ssh_keys, query)
        if (g := m(r"/v2/account/keys/([^/]+)", path)) and method == "GET":
            key = next((k for k in self.ssh_keys if g[1] in (str(k["id"]), k["fingerprint"])), None)
            return (200, {"ssh_key": key}) if key else _not_found()
        if path == "/v2/droplets" and method == "POST":
            if len((body.get("user_data") or "").encode()) > USER_DATA_MAX:
                return 422, {"id": "unprocessable_entity", "message": "user_data may not exceed 64 KiB"}
            names = body.get("names") or [body.get("name")]
            created = [self._create_droplet(n, body) for n in names]
            actions = [self._new_action("create", d["id"], "droplet", d["region"]["slug"]) for d in created]
            links = {"actions": [{"id": a["id"], "rel": "create", "href": f"{self.url}/v2/actions/{a['id']}"}
                                 for a in actions]}
            if "names" in body:
                return 202, {"droplets": [_public(d) for d in created], "links": links}
            return 202, {"droplet": _public(created[0]), "links": links}
        if path == "/v2/droplets" and method == "GET":
            if "tag_name" in query and "type" in query:
                return 400, {"id": "bad_request", "message": "type can not be combined with tag_name"}
            gpus = query.get("type") == "gpus"  # by default only non-GPU droplets are listed
            found = [d for d in self.droplets.values()
                     if ("tag_name" not in query or query["tag_name"] in d["tags"])
                     and ("name" not in query or query["name"] == d["name"])
                     and d["size_slug"].startswith("gpu-") == gpus]
            return 200, self._page("droplets", [_public(d) for d in sorted(found, key=lambda d: d["id"])], query)
        if path == "/v2/droplets" and method == "DELETE":
            if "tag_name" not in query:
                return 400, {"id": "bad_request", "message": "tag_name is required"}
            for d in [d for d in self.droplets.values() if query["tag_name"] in d["tags"]]:
                self._delete_droplet(d)
            return 204, None
        if g := m(r"/v2/droplets/(\d+)", path):
            droplet = self.droplets.get(int(g[1]))
            if droplet is None:
                return _not_found()
            if method == "GET":
                return 200, {"droplet": _public(droplet)}
            if method == "DELETE":
                self._delete_droplet(droplet)
                return 204, None
        if (g := m(r"/v2/droplets/(\d+)/actions", path)) and method == "POST":
            droplet = self.droplets.get(int(g[1]))
            if droplet is None:
                return _not_found()
            then = None
            if body["type"] == "power_on" and droplet["status"] in ("off", "archive"):
                def then(d=droplet):
                    d["status"] = "active"
            elif body["type"] in ("power_off", "shutdown"):
                def then(d=droplet):
                    d["status"] = "off"
            action = self._new_action(body["type"], droplet["id"], "droplet", droplet["region"]["slug"], then)
            return 201, {"action": _public(action)}
        if (g := m(r"/v2/actions/(\d+)", path)) and method == "GET":
            action = self.actions.get(int(g[1]))
            return (200, {"action": _public(action)}) if action else _not_found()
        if path == "/v2/volumes" and method == "GET":
            found = [v for v in self.volumes.values() if query.get("name") in (None, v["name"])
                     and query.get("region") in (None, v["region"]["slug"])]
            return 200, self._page("volumes", found, query)
        if path == "/v2/volumes" and method == "POST":
            if any(v["name"] == body["name"] and v["region"]["slug"] == body.get("region") for v in self.volumes.values()):
                return 409, {"id": "conflict", "message": f"a volume named {body['name']} already exists"}
            vid = str(uuid.uuid4())
            volume = {"id": vid, "region": _region(body.get("region") or "nyc3"), "droplet_ids": [],
                      "name": body["name"], "description": body.get("description", ""),
                      "size_gigabytes": body["size_gigabytes"], "created_at": _now(),
                      "filesystem_type": body.get("filesystem_type", ""), "filesystem_label": "",
                      "tags": list(body.get("tags") or [])}
            self.volumes[vid] = volume
            self.tags.update(volume["tags"])
            return 201, {"volume": volume}
        if g := m(r"/v2/volumes/([0-9a-f-]+)", path):
            volume = self.volumes.get(g[1])
            if volume is None:
                return _not_found()
            if method == "GET":
                return 200, {"volume": volume}
            if method == "DELETE":
                if volume["droplet_ids"]:
                    return 409, {"id": "conflict", "message": "volume is attached to a droplet"}
                del self.volumes[g[1]]
                return 204, None
        if (g := m(r"/v2/volumes/([0-9a-f-]+)/actions", path)) and method == "POST":
            volume = self.volumes.get(g[1])
            droplet = self.droplets.get(body.get("droplet_id"))
            if volume is None or droplet is None:
                return _not_found()
            if body["type"] == "attach":
                if droplet["region"]["slug"] != volume["region"]["slug"]:
                    return 422, {"id": "unprocessable_entity", "message": "volume and droplet regions differ"}

                def then(v=volume, d=droplet):  # visible only once the action completed
                    v["droplet_ids"] = sorted(set(v["droplet_ids"]) | {d["id"]})
                    d["volume_ids"] = sorted(set(d["volume_ids"]) | {v["id"]})
            else:
                def then(v=volume, d=droplet):
                    v["droplet_ids"] = [i for i in v["droplet_ids"] if i != d["id"]]
                    d["volume_ids"] = [i for i in d["volume_ids"] if i != v["id"]]
            action = self._new_action(f"{body['type']}_volume", droplet["id"], "volume", volume["region"]["slug"],
                                      then)
            return 202, {"action": _public(action)}
        if path == "/v2/firewalls" and method == "GET":
            return 200, self._page("firewalls", [_public(f) for f in self.firewalls.values()], query)
        if path == "/v2/firewalls" and method in ("POST",):
            missing = [t for t in body.get("tags") or () if t not in self.tags]
            if missing:
                return 422, {"id": "unprocessable_entity", "message": f"tags do not exist: {missing}"}
            fid = str(uuid.uuid4())
            self.firewalls[fid] = self._firewall(fid, body)
            return 202, {"firewall": _public(self.firewalls[fid])}
        if g := m(r"/v2/firewalls/([0-9a-f-]+)", path):
            if g[1] not in self.firewalls:
                return _not_found()
            if method == "GET":
                return 200, {"firewall": _public(self.firewalls[g[1]])}
            if method == "PUT":
                self.firewalls[g[1]] = self._firewall(g[1], body, self.firewalls[g[1]]["created_at"])
                return 200, {"firewall": _public(self.firewalls[g[1]])}
            if method == "DELETE":
                del self.firewalls[g[1]]
                return 204, None
        if path == "/v2/tags" and method == "POST":
            self.tags.add(body["name"])  # creating an existing tag succeeds, as on DigitalOcean
            return 201, {"tag": self._tag(body["name"])}
        if path == "/v2/tags" and method == "GET":
            return 200, self._page("tags", [self._tag(t) for t in sorted(self.tags)], query)
        return 404, {"id": "not_found", "message": f"the emulator does not implement {method} {path}"}

    def _firewall(self, fid: str, body: dict, created: str | None = None) -> dict:
        tagged = [d["id"] for d in self.droplets.values() if set(body.get("tags") or ()) & set(d["tags"])]
        droplet_ids = sorted(set(body.get("droplet_ids") or ()) | set(tagged))
        # Applied to the droplets asynchronously: `waiting` with pending changes until then.
        return {"id": fid, "status": "waiting" if droplet_ids else "succeeded", "created_at": created or _now(),
                "pending_changes": [{"droplet_id": i, "removing": False, "status": "waiting"} for i in droplet_ids],
                "name": body["name"], "droplet_ids": droplet_ids,
                "tags": list(body.get("tags") or ()), "inbound_rules": _all_ports(body.get("inbound_rules")),
                "outbound_rules": _all_ports(body.get("outbound_rules")),
                "_applied_at": time.monotonic() + self.active_after}

    def _tag(self, name: str) -> dict:
        count = sum(1 for d in self.droplets.values() if name in d["tags"])
        return {"name": name, "resources": {"count": count, "last_tagged_uri": "",
                                            "droplets": {"count": count, "last_tagged_uri": ""}}}

    def _page(self, key: str, items: list, query: dict) -> dict:
        per_page = max(1, min(int(query.get("per_page", 20)), 200))
        page = max(1, int(query.get("page", 1)))
        chunk = items[(page - 1) * per_page: page * per_page]
        pages = {}
        last = max(1, -(-len(items) // per_page))
        base = f"{self.url}/v2/{key}?per_page={per_page}"
        if page < last:
            pages.update(next=f"{base}&page={page + 1}", last=f"{base}&page={last}")
        if page > 1:
            pages.update(first=f"{base}&page=1", prev=f"{base}&page={page - 1}")
        return {key: chunk, "links": {"pages": pages} if pages else {}, "meta": {"total": len(items)}}


def cloud_config_host_keys(user_data: str | None) -> dict:
    """The `ssh_keys` of every cloud-config part of (MIME multipart or plain) user data, as cloud-init
    merges them (later parts win)."""
    import email

    import yaml

    if not user_data:
        return {}
    message = email.message_from_string(user_data)
    parts = [p.get_payload(decode=True).decode() for p in message.walk()
             if not p.is_multipart() and p.get_content_type() == "text/cloud-config"] \
        if message.is_multipart() else [user_data]
    keys: dict = {}
    for text in parts:
        if text.startswith("#cloud-config"):
            keys.update((yaml.safe_load(text) or {}).get("ssh_keys") or {})
    return keys


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _all_ports(rules) -> list:
    """DigitalOcean answers an all-port rule as "0" whatever it was sent as."""
    return [{**r, "ports": "0"} if str(r.get("ports")) in ("1-65535", "all", "0") else dict(r) for r in rules or ()]


def _not_found():
    return 404, {"id": "not_found", "message": "The resource you were accessing could not be found."}


def _region(slug: str) -> dict:
    return {"name": slug, "slug": slug, "features": ["backups", "ipv6", "metadata", "install_agent"],
            "available": True, "sizes": sorted(SIZES)}


def _size(slug: str, region: str) -> dict:
    memory, vcpus, disk, price = SIZES.get(slug, (1024, 1, 25, 6.0))
    return {"slug": slug, "memory": memory, "vcpus": vcpus, "disk": disk, "transfer": 1.0,
            "price_monthly": price, "price_hourly": round(price / 672, 5), "regions": list(REGIONS),
            "available": True, "description": "Basic"}


def _image(slug: str) -> dict:
    return {"id": 7555620, "name": slug, "distribution": "Debian" if "debian" in slug else "Ubuntu", "slug": slug,
            "public": True, "regions": list(REGIONS), "created_at": "2025-08-10T00:00:00Z", "type": "base",
            "min_disk_size": 10, "size_gigabytes": 2.1, "description": slug, "tags": [], "status": "available",
            "error_message": ""}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def _handler(emulator: Emulator):
    return json_handler(emulator.handle, lambda: {"ratelimit-limit": "5000", "ratelimit-remaining": "4999",
                                        "ratelimit-reset": str(int(time.time()) + 60)})
