"""Stoplight Prism (`prism proxy --errors`) between Stagecraft and the DigitalOcean emulator: an
independent validator of every request and response against the official spec, beside the emulator's
own checks. plan / up / prune / down run through it with injected faults; Prism must report nothing.

Skipped only when ../shared/digitalocean-openapi is absent; Prism itself is installed by scripts/setup.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stagecraft.testing import do_spec
from stagecraft.testing.do_emulator import Emulator
from tests.integration.test_do_emulated import TOKEN, _config

ROOT = Path(__file__).resolve().parents[2]


def _prism() -> str:
    local = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"
    found = str(local) if local.exists() else shutil.which("prism")
    assert found, "prism is missing: run scripts/setup (npm install --prefix .tools/prism @stoplight/prism-cli@5)"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prism(tmp_path):
    spec = do_spec.spec_dir()
    if spec is None:
        pytest.skip("../shared/digitalocean-openapi is not present")
    emu = Emulator(token=TOKEN, active_after=0.2)
    port = _free_port()
    log = (tmp_path / "prism.log").open("w")
    proc = subprocess.Popen([_prism(), "proxy", str(spec / do_spec.ENTRY), emu.url, "--errors",
                             "-h", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        for _ in range(1200):  # the multi-file spec takes a while to load on a busy machine
            if proc.poll() is not None:
                pytest.fail("prism exited:\n" + (tmp_path / "prism.log").read_text()[-3000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("prism did not start:\n" + (tmp_path / "prism.log").read_text()[-3000:])
        yield emu, f"http://127.0.0.1:{port}", tmp_path / "prism.log"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()
        emu.close()


def test_plan_up_prune_down_through_prism_with_faults(prism, tmp_path, monkeypatch, run_cli):
    emu, url, log = prism
    monkeypatch.setenv("SC_TEST_DO_TOKEN", TOKEN)
    monkeypatch.setenv("STAGECRAFT_DO_API_URL", url)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.POLL_SECONDS", 0.1)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.ACTIVE_TIMEOUT", 60)
    monkeypatch.setattr("stagecraft.providers.digitalocean.executor.SSH_TIMEOUT", 20)
    monkeypatch.setattr("stagecraft.providers.digitalocean.api.MAX_WAIT_SECONDS", 2)
    monkeypatch.setattr("stagecraft.providers.digitalocean.api.PER_PAGE", 2)
    config = tmp_path / "stagecraft.yml"
    vol = {"name": "data", "size_gb": 10, "mount": "/srv/data", "roles": ["app"]}

    def write(hosts):
        config.write_text(_config({h: (r, {}) for h, r in hosts.items()}, ssh_port=emu.ssh_port, volumes=[vol]))

    def cli(*args):
        code, out, err = run_cli(["-c", str(config), "-e", "prod", *args, "-o", "json"])
        assert code == 0, f"{args}: exit {code}\n{out}\n{err}"
        return json.loads(out)

    write({"app-1": ["app"], "app-2": ["app"], "gw-1": ["gateway"]})
    assert cli("infra", "plan")["summary"]["create"] == 3
    emu.inject("GET", r"^/v2/droplets$", 429, reset_in=0)
    emu.inject("GET", r"^/v2/account/keys$", 500)
    emu.inject("POST", r"^/v2/droplets$", 500, after=True)  # created, but answered 500
    emu.inject("POST", r"^/v2/volumes$", 500, after=True)
    emu.inject("POST", r"^/v2/firewalls$", 500, after=True)
    up = cli("infra", "up", "--no-roles")
    assert sorted(h["action"] for h in up["hosts"]) == ["created"] * 3
    emu.power_off("shop-prod-app-2")
    assert {h["host"]: h["action"] for h in cli("infra", "plan")["hosts"]}["app-2"] == "off"
    assert {h["action"] for h in cli("infra", "up", "--no-roles")["hosts"]} == {"unchanged", "started"}
    write({"app-1": ["app"], "gw-1": ["gateway"]})
    pruned = cli("infra", "up", "--no-roles", "--prune", "--yes")
    assert pruned["pruned"] == ["shop-prod-app-2"] and pruned["pruned_volumes"] == ["shop-prod-app-2-data"]
    cli("infra", "status")
    cli("infra", "down", "--yes")
    assert emu.droplets == {} and emu.volumes == {} and emu.firewalls == {}

    assert len(emu.requests) > 50, "the traffic did not go through Prism to the emulator"
    assert not emu.violations, "\n".join(emu.violations)

    # Last, a body the spec rejects: Prism answers 422 and logs an error. Once that line is in the log,
    # everything before it is too; it must be the only error.
    bad = urllib.request.Request(f"{url}/v2/droplets", data=b'{"name": "bad name!"}', method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=60)
    assert err.value.code == 422
    for _ in range(600):
        if any("post /v2/droplets" in line for line in _prism_errors(log)):
            break
        time.sleep(0.1)
    errors = _prism_errors(log)
    assert len(errors) == 1 and "post /v2/droplets" in errors[0], "\n".join(errors[:40])


def _prism_errors(log: Path) -> list[str]:
    """Prism's log lines for requests or responses that broke the spec (with --errors they are answered
    422 or 500 and logged as errors)."""
    return [line for line in log.read_text().splitlines() if "✖" in line or "VIOLATIONS" in line]
