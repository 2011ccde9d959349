"""DigitalOcean driver against the stateful emulator: provision, idempotence, drift, faults, prune, down.

Every request body Stagecraft sends and every emulator response is validated against the official
OpenAPI spec when ../shared/digitalocean-openapi is present (emulator.violations must stay empty).
"""

from __future__ import annotations

import json

import pytest
import yaml

from stagecraft.commands.ansible_data import plain
from stagecraft.testing.do_emulator import Emulator

TOKEN = "dop_v1_canary-8f3a9c1e5b7d"


def _config(hosts: dict, **do) -> str:
    return yaml.safe_dump({
        "version": 1,
        "project": {"name": "shop"},
        "environments": {"prod": {"driver": "digitalocean", "ssh": {"port": do.pop("ssh_port")},
                                  "hosts": {h: {"roles": r, **extra} for h, (r, extra) in hosts.items()}}},
        "roles": {"app": {}, "gateway": {"public": True}},
        "cloud": {"digitalocean": {"ssh_keys": ["deploy"], "token_env": "SC_TEST_DO_TOKEN", "region": "fra1",
                                   "size": "s-1vcpu-1gb", **do}},
    }, sort_keys=False)


@pytest.fixture
def do(tmp_path, monkeypatch, run_cli):
    emu = Emulator(token=TOKEN, active_after=0.2)
    monkeypatch.setenv("SC_TEST_DO_TOKEN", TOKEN)
    monkeypatch.setenv("STAGECRAFT_DO_API_URL", emu.url)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.POLL_SECONDS", 0.1)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.ACTIVE_TIMEOUT", 20)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.SSH_TIMEOUT", 10)
    monkeypatch.setattr("stagecraft.providers.digitalocean.api.MAX_WAIT_SECONDS", 2)
    # Two per page: every list Stagecraft makes (droplets, volumes, firewalls, keys) must follow the pages.
    monkeypatch.setattr("stagecraft.providers.digitalocean.api.PER_PAGE", 2)

    class Ctx:
        emulator = emu
        state = tmp_path / "state"

        def address(self, droplet):
            return next(d["networks"]["v4"][0]["ip_address"] for d in emu.droplets.values() if d["name"] == droplet)

        def write(self, hosts, **extra):
            (tmp_path / "stagecraft.yml").write_text(_config(hosts, ssh_port=emu.ssh_port, **extra))

        def cli(self, *args, expect=0):
            code, out, err = run_cli(["-c", str(tmp_path / "stagecraft.yml"), "-e", "prod", *args])
            assert TOKEN not in out + err
            assert code == expect, f"exit {code}\n{out}\n{err}"
            return out, err

        def json(self, *args, expect=0):
            return json.loads(self.cli(*args, "-o", "json", expect=expect)[0])

    yield Ctx()
    emu.close()
    for f in (tmp_path / "state").rglob("*"):  # the token never reaches state, logs or runner artifacts
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes(), f
    assert not emu.violations, "\n".join(emu.violations)


THREE = {"app-1": (["app"], {}), "app-2": (["app"], {}), "gw-1": (["gateway"], {})}


def test_provision_idempotent_drift_down(do):
    do.write(THREE, volumes=[{"name": "data", "size_gb": 10, "mount": "/srv/data", "roles": ["app"]}])
    plan = do.json("infra", "plan")
    assert plan["summary"] == {"create": 3, "keep": 0, "off": 0, "drift": 0, "orphan": 0}
    assert do.emulator.droplets == {}  # plan is read-only

    up = do.json("infra", "up", "--no-roles")
    assert {h["name"]: h["action"] for h in up["hosts"]} == {"app-1": "created", "app-2": "created", "gw-1": "created"}
    assert all(h["address"].startswith("127.0.0.") for h in up["hosts"])
    creates = [r for r in do.emulator.requests if r["method"] == "POST" and r["path"] == "/v2/droplets"]
    # One request per droplet: each carries its own SSH host key pair in its user data.
    assert sorted(r["body"]["name"] for r in creates) == ["shop-prod-app-1", "shop-prod-app-2", "shop-prod-gw-1"]
    tags = {d["name"]: set(d["tags"]) for d in do.emulator.droplets.values()}
    assert {"stagecraft", "stagecraft-env-prod", "stagecraft-role-gateway"} <= tags["shop-prod-gw-1"]
    assert {"stagecraft-role-app"} <= tags["shop-prod-app-1"]
    vols = {v["name"]: v for v in do.emulator.volumes.values()}
    assert sorted(vols) == ["shop-prod-app-1-data", "shop-prod-app-2-data"]
    assert all(len(v["droplet_ids"]) == 1 for v in vols.values())
    fws = {f["name"]: f for f in do.emulator.firewalls.values()}
    assert sorted(fws) == ["stagecraft-shop-prod", "stagecraft-shop-prod-public"]
    assert {r["ports"] for r in fws["stagecraft-shop-prod-public"]["inbound_rules"]} == {"80", "443"}

    # The inventory hands the attached volume's device to the volumes role.
    inv = plain(do.json("inventory"))  # values come marked unsafe
    block = inv["_meta"]["hostvars"]["app-1"]["volumes_block"]
    assert block == [{"device": "/dev/disk/by-id/scsi-0DO_Volume_shop-prod-app-1-data", "mount": "/srv/data",
                      "filesystem": "ext4"}]

    status = do.json("infra", "status")["hosts"]
    assert {r["host"]: r["state"] for r in status} == {"app-1": "active", "app-2": "active", "gw-1": "active"}
    pages = [r for r in do.emulator.requests if r["path"] == "/v2/droplets" and r["query"].get("page") == "2"]
    assert pages, "the droplet list was not paginated"

    # Second up creates nothing.
    before = len(do.emulator.requests)
    again = do.json("infra", "up", "--no-roles")
    assert again["changed"] is False and {h["action"] for h in again["hosts"]} == {"unchanged"}
    assert not [r for r in do.emulator.requests[before:] if r["method"] != "GET"]

    # Drift: a droplet resized outside Stagecraft is reported by plan and left alone by up.
    do.emulator.resize("shop-prod-app-2", "s-2vcpu-4gb")
    text, _ = do.cli("infra", "plan")
    assert "drift" in text and "size: declared s-1vcpu-1gb, actual s-2vcpu-4gb" in text
    up = do.json("infra", "up", "--no-roles")
    assert {h["name"]: h["action"] for h in up["hosts"]}["app-2"] == "drift"
    assert {d["name"]: d["size_slug"] for d in do.emulator.droplets.values()}["shop-prod-app-2"] == "s-2vcpu-4gb"

    # Orphan: undeclared hosts are reported; up leaves them; --prune needs --yes without a TTY.
    do.write({"app-1": (["app"], {}), "gw-1": (["gateway"], {})},
             volumes=[{"name": "data", "size_gb": 10, "mount": "/srv/data", "roles": ["app"]}])
    assert do.json("infra", "plan")["summary"]["orphan"] == 1
    do.cli("infra", "up", "--no-roles")
    assert len(do.emulator.droplets) == 3
    _, err = do.cli("infra", "up", "--no-roles", "--prune", expect=1)
    assert "--yes" in err
    pruned = do.json("infra", "up", "--no-roles", "--prune", "--yes")
    assert pruned["pruned"] == ["shop-prod-app-2"] and len(do.emulator.droplets) == 2
    assert pruned["pruned_volumes"] == ["shop-prod-app-2-data"]

    # down: confirmation needed, then droplets, firewalls and volumes go (or volumes stay with --keep-volumes).
    _, err = do.cli("infra", "down", expect=1)
    assert "--yes" in err
    down = do.json("infra", "down", "--yes", "--keep-volumes")
    assert down["hosts"] == ["shop-prod-app-1", "shop-prod-gw-1"] and down["kept_volumes"] == ["shop-prod-app-1-data"]
    assert do.emulator.droplets == {} and do.emulator.firewalls == {} and len(do.emulator.volumes) == 1
    do.cli("infra", "down", "--yes")
    assert do.emulator.volumes == {}


def test_survives_429_and_500(do):
    do.write({"app-1": (["app"], {})})
    do.emulator.inject("GET", r"^/v2/droplets$", 429, times=2, reset_in=1)
    do.emulator.inject("POST", r"^/v2/droplets$", 500, times=1)
    do.emulator.inject("GET", r"^/v2/account/keys$", 500, times=1)
    out, _ = do.cli("infra", "up", "--no-roles")
    assert "rate limit" in out and "create droplet shop-prod-app-1: 500" in out and "checking whether it exists" in out
    assert [d["name"] for d in do.emulator.droplets.values()] == ["shop-prod-app-1"]


def test_partial_failure_exit_10(do):
    do.write({"app-1": (["app"], {}), "gw-1": (["gateway"], {})})
    do.emulator.inject("POST", r"^/v2/droplets$", 422, times=1)  # the first create request is rejected
    out, err = do.cli("infra", "up", "--no-roles", expect=10)
    assert "1 of 2 hosts failed" in err
    assert len(do.emulator.droplets) == 1
    data = do.json("infra", "up", "--no-roles")  # the retry creates the missing one only
    assert sorted(h["action"] for h in data["hosts"]) == ["created", "unchanged"]


def test_missing_ssh_key_and_token_and_url(do, monkeypatch):
    do.write({"app-1": (["app"], {})}, ssh_keys=["nope"])
    _, err = do.cli("infra", "up", "--no-roles", expect=1)
    assert "cloud.digitalocean.ssh_keys" in err and "nope" in err
    monkeypatch.setenv("STAGECRAFT_DO_API_URL", "http://api.example.com")
    _, err = do.cli("infra", "plan", expect=1)
    assert "loopback" in err
    monkeypatch.delenv("SC_TEST_DO_TOKEN")
    _, err = do.cli("infra", "plan", expect=1)
    assert "SC_TEST_DO_TOKEN" in err


def test_emulator_rejects_bodies_the_spec_rejects():
    import urllib.error
    import urllib.request

    from stagecraft.testing import do_spec

    if do_spec.load() is None:
        pytest.skip("../shared/digitalocean-openapi is not present")
    emu = Emulator(token=TOKEN)
    try:
        req = urllib.request.Request(f"{emu.url}/v2/droplets", data=json.dumps({"name": "bad name!"}).encode(),
                                     method="POST", headers={"Authorization": f"Bearer {TOKEN}",
                                                             "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 422
        assert emu.violations and emu.droplets == {}
    finally:
        emu.close()


def _requests(do, method, path):
    return [r for r in do.emulator.requests if r["method"] == method and r["path"] == path]


def test_user_data_file_is_sent_with_the_droplets_host_key(do, tmp_path):
    import email

    (tmp_path / "cloud-init.yml").write_text("#cloud-config\nruncmd:\n  - touch /etc/from-user-data\n")
    do.write({"app-1": (["app"], {}), "app-2": (["app"], {})}, user_data="cloud-init.yml")
    do.cli("infra", "up", "--no-roles")
    known = (tmp_path / "state" / "known_hosts" / "prod").read_text().splitlines()
    host_keys = {}
    for name in ("shop-prod-app-1", "shop-prod-app-2"):
        # The file's contents (not its path) reach cloud-init, beside the host key part.
        msg = email.message_from_string(do.emulator.user_data(name))
        user_parts = [t for t in msg.walk() if "from-user-data" in (t.get_payload(decode=True) or b"").decode()]
        assert len(user_parts) == 1
        ours = yaml.safe_load(next(p for p in msg.walk() if not p.is_multipart()
                                   and "ssh_keys" in p.get_payload(decode=True).decode()).get_payload(decode=True))
        assert ours["ssh_keys"]["ed25519_private"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        host_keys[name] = ours["ssh_keys"]["ed25519_public"].split()[1]
    assert host_keys["shop-prod-app-1"] != host_keys["shop-prod-app-2"]  # one key pair per droplet
    addresses = {d["name"]: d["networks"]["v4"][0]["ip_address"] for d in do.emulator.droplets.values()}
    for name, key in host_keys.items():
        assert f"[{addresses[name]}]:{do.emulator.ssh_port} ssh-ed25519 {key}" in known
    for f in (tmp_path / "state").rglob("*"):  # the private host keys never reach the state dir
        if f.is_file():
            assert b"PRIVATE KEY" not in f.read_bytes(), f


def test_user_data_file_missing_or_too_large(do, tmp_path):
    do.write({"app-1": (["app"], {})}, user_data="nope.yml")
    _, err = do.cli("infra", "up", "--no-roles", expect=1)
    assert "cloud.digitalocean.user_data" in err and "nope.yml" in err
    (tmp_path / "big.sh").write_text("#!/bin/sh\n" + "# padding\n" * 7000)
    do.write({"app-1": (["app"], {})}, user_data="big.sh")
    _, err = do.cli("infra", "up", "--no-roles", expect=1)
    assert "cloud.digitalocean.user_data" in err and "64 KiB" in err
    assert do.emulator.droplets == {}


def test_lost_answers_after_creates_are_retried_without_double_create(do):
    do.write({"app-1": (["app"], {}), "gw-1": (["gateway"], {})},
             volumes=[{"name": "data", "size_gb": 10, "mount": "/srv/data", "roles": ["app"]}])
    # Each create takes effect, then the connection drops or a 500 comes back.
    do.emulator.inject("POST", r"^/v2/droplets$", "reset", after=True)
    do.emulator.inject("POST", r"^/v2/droplets$", 500, after=True)
    do.emulator.inject("POST", r"^/v2/volumes$", "reset", after=True)
    do.emulator.inject("POST", r"^/v2/firewalls$", 500, after=True)
    do.emulator.inject("POST", r"^/v2/firewalls$", "reset", after=True)
    do.emulator.inject("GET", r"^/v2/firewalls$", "reset")
    do.cli("infra", "up", "--no-roles")
    assert sorted(d["name"] for d in do.emulator.droplets.values()) == ["shop-prod-app-1", "shop-prod-gw-1"]
    assert [v["name"] for v in do.emulator.volumes.values()] == ["shop-prod-app-1-data"]
    assert sorted(f["name"] for f in do.emulator.firewalls.values()) == ["stagecraft-shop-prod",
                                                                         "stagecraft-shop-prod-public"]
    assert all(v["droplet_ids"] for v in do.emulator.volumes.values())


def test_powered_off_droplet_is_shown_and_powered_on(do):
    do.write({"app-1": (["app"], {})})
    do.cli("infra", "up", "--no-roles")
    do.emulator.power_off("shop-prod-app-1")
    plan = do.json("infra", "plan")
    assert [(h["host"], h["action"]) for h in plan["hosts"]] == [("app-1", "off")]
    assert plan["summary"]["off"] == 1
    assert do.json("infra", "status")["hosts"][0]["state"] == "off"
    out, _ = do.cli("infra", "up", "--no-roles")
    assert "every host is ready" not in out and "powering on" in out
    assert [r["body"]["type"] for r in do.emulator.requests if r["path"].endswith("/actions")
            and r["method"] == "POST" and r["path"].startswith("/v2/droplets/")] == ["power_on"]
    assert [d["status"] for d in do.emulator.droplets.values()] == ["active"]
    assert do.json("infra", "plan")["hosts"][0]["action"] == "keep"


def test_prune_removes_the_pruned_hosts_volumes(do):
    vol = {"name": "data", "size_gb": 10, "mount": "/srv/data", "roles": ["app"]}
    do.write({"app-1": (["app"], {}), "app-2": (["app"], {}), "app-3": (["app"], {})}, volumes=[vol])
    do.cli("infra", "up", "--no-roles")
    do.write({"app-1": (["app"], {})}, volumes=[vol])
    plan = do.json("infra", "plan")
    assert {h["host"]: h["prune_volumes"] for h in plan["hosts"] if h["action"] == "orphan"} == {
        "shop-prod-app-2": ["shop-prod-app-2-data"], "shop-prod-app-3": ["shop-prod-app-3-data"]}
    text, _ = do.cli("infra", "plan")
    assert "volume shop-prod-app-2-data: deleted by --prune" in text
    do.write({"app-1": (["app"], {}), "app-3": (["app"], {})}, volumes=[vol])
    out, _ = do.cli("infra", "up", "--no-roles", "--prune", "--yes", "--keep-volumes")
    assert "shop-prod-app-2" in out and "left alone" not in out
    assert sorted(v["name"] for v in do.emulator.volumes.values()) == [
        "shop-prod-app-1-data", "shop-prod-app-2-data", "shop-prod-app-3-data"]
    do.write({"app-1": (["app"], {})}, volumes=[vol])
    pruned = do.json("infra", "up", "--no-roles", "--prune", "--yes")
    assert pruned["pruned"] == ["shop-prod-app-3"] and pruned["pruned_volumes"] == ["shop-prod-app-3-data"]
    # The pruned droplets' host keys are no longer trusted (their addresses may be reused).
    known = (do.state / "known_hosts" / "prod").read_text()
    assert len(known.splitlines()) == 1 and known.startswith(f"[{do.address('shop-prod-app-1')}]:")
    assert sorted(v["name"] for v in do.emulator.volumes.values()) == ["shop-prod-app-1-data", "shop-prod-app-2-data"]


def test_rate_limit_wait_is_printed_as_waited(do):
    do.write({"app-1": (["app"], {})})
    do.emulator.inject("GET", r"^/v2/account/keys$", 429, reset_in=0)
    out, _ = do.cli("infra", "up", "--no-roles")
    assert "waiting 0.5 s" in out and "waiting 0 s" not in out


def test_gpu_sizes_are_refused(do):
    do.write({"app-1": (["app"], {"size": "gpu-h100x1-80gb"})})
    _, err = do.cli("infra", "up", "--no-roles", expect=1)
    assert "environments.prod.hosts.app-1.size" in err and "GPU" in err
    assert do.emulator.droplets == {}


def test_impostor_on_a_droplets_address_is_refused_before_anything_is_sent(do, tmp_path):
    do.write({"app-1": (["app"], {}), "app-2": (["app"], {})})
    do.cli("infra", "up", "--no-roles")
    genuine = do.emulator.sshd("shop-prod-app-1").public_key
    impostor = do.emulator.impostor("shop-prod-app-1")  # another key, accepts any client
    out, err = do.cli("infra", "up", "--no-roles", expect=10)
    assert "every host is ready" not in out and "1 host failed" in out
    from stagecraft.known_hosts import fingerprint
    assert "app-1" in err and "host key mismatch" in err
    assert fingerprint(genuine) in err and fingerprint(impostor.public_key) in err
    assert "ssh-keygen -R" in err
    assert impostor.events == []  # no authentication, no session: nothing reached it
