"""Inventory rendering: golden files (byte-identical), and acceptance by the real ansible-inventory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stagecraft.commands.inventory import render_inventory, to_list_json, to_yaml
from stagecraft.config import load_config
from stagecraft.drivers import HostFacts

TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "golden"


@pytest.fixture
def multi(tmp_path):
    dest = tmp_path / "multi"
    shutil.copytree(TESTS / "fixtures" / "multi", dest)
    return dest


def render(project: Path, env: str, discovered=None, defaults=None):
    from stagecraft.drivers import DriverContext, driver_host_vars

    resolved = load_config(project / "stagecraft.yml").resolve(env, environ={})
    dctx = DriverContext(config=resolved.config, environment=resolved.environment, state_dir=project / ".stagecraft")
    return render_inventory(resolved.config, resolved.environment, discovered or {},
                            state_dir=project / ".stagecraft", connection_defaults=defaults,
                            driver_vars=driver_host_vars(dctx))


def render_as_cli(project: Path, env: str):
    from stagecraft.paths import state_dir

    resolved = load_config(project / "stagecraft.yml").resolve(env)
    return render_inventory(resolved.config, resolved.environment, {},
                            state_dir=state_dir(project / "stagecraft.yml"))


def normalized(text: str, project: Path) -> str:
    return text.replace(str(project.resolve()), "<PROJECT>")


CASES = {
    "staging": dict(env="staging"),
    "local": dict(env="local", discovered={"host-1": HostFacts(address="172.30.0.2")},
                  defaults={"key": "<STATE>/ssh/id_ed25519"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, multi):
    spec = CASES[case]
    inv = render(multi, spec["env"], spec.get("discovered"), spec.get("defaults"))
    text = normalized(to_yaml(inv), multi)
    golden = GOLDEN / f"inventory-{case}.yml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_deterministic_regardless_of_host_order(multi):
    first = to_yaml(render(multi, "staging"))
    cfg = multi / "stagecraft.yml"
    lines = cfg.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "web-2:" in line)
    lines[start:start + 4] = reversed(lines[start:start + 4])  # reorder the hosts block
    cfg.write_text("".join(lines))
    assert to_yaml(render(multi, "staging")) == first


def test_groups_and_role_vars(multi):
    listing = to_list_json(render(multi, "staging"))
    assert listing["role_app"]["hosts"] == ["web-1", "web-2"]
    assert listing["env_staging"]["hosts"] == ["data-1", "edge-1", "web-1", "web-2"]
    hv = listing["_meta"]["hostvars"]
    assert hv["edge-1"]["firewall_allow_http"] is True and hv["web-1"]["firewall_allow_http"] is False
    assert hv["web-1"]["firewall_rules"][:2] == [{"port": "9100", "proto": "tcp", "sources": ["10.0.0.0/8"]},
                                              {"port": "60000:60010", "proto": "udp", "sources": []}]
    # api has a port: the edge proxy of a non-public host is reachable from the environment's hosts only.
    addresses = ["10.0.0.11", "10.0.0.12", "10.0.0.20", "10.0.0.5"]
    assert hv["web-2"]["firewall_rules"][-1] == {"port": "8000", "proto": "tcp", "sources": addresses}
    assert hv["data-1"]["volumes_directories"] == [{"path": "/srv/shop/pg", "owner": "999", "mode": "0700"}]
    assert hv["web-1"]["volumes_directories"] == []
    assert hv["data-1"]["tailscale_tags"] == ["tag:data", "tag:shop"]
    assert hv["data-1"]["bootstrap_extra_packages"] == ["htop"]
    assert hv["edge-1"]["ansible_port"] == 22 and hv["web-1"]["ansible_port"] == 2222
    assert hv["web-1"]["ansible_user"] == "deploy"
    assert hv["web-1"]["stagecraft_services"] == ["api", "web"]
    assert "TS_KEY" == hv["web-1"]["tailscale_auth_key_env"]


@pytest.mark.parametrize("env", ["staging", "local"])
def test_ansible_inventory_accepts_it(env, multi, tmp_path):
    inv = render(multi, env, {"host-1": HostFacts(address="172.30.0.2")})
    path = tmp_path / "inventory.yml"
    path.write_text(to_yaml(inv))
    exe = Path(sys.executable).parent / "ansible-inventory"
    proc = subprocess.run([str(exe), "-i", str(path), "--list"], capture_output=True, text=True,
                          env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
                               "ANSIBLE_INVENTORY_ENABLED": "yaml"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    theirs = json.loads(proc.stdout)
    ours = to_list_json(inv, unsafe=True)  # every value read back as unsafe: {"__ansible_unsafe": ...}
    # Same groups, same members, same merged host variables as Ansible computes them.
    assert {k: v for k, v in theirs.items() if k != "_meta"} == {k: v for k, v in ours.items() if k != "_meta"}
    assert theirs["_meta"]["hostvars"] == ours["_meta"]["hostvars"]


def test_cli_inventory_json_matches_pure_render(multi, run_cli):
    code, out, err = run_cli(["inventory", "-e", "staging", "-o", "json"], cwd=multi)
    assert code == 0, err
    assert json.loads(out) == json.loads(json.dumps(to_list_json(render_as_cli(multi, "staging"), unsafe=True)))
