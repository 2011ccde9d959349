#!/usr/bin/env python3
"""Molecule's create/destroy for the role scenarios: real Debian 13 hosts from Stagecraft's `local`
driver (containers that behave like small VMs: sshd, their own network namespace, able to run Docker).

    hosts.py create   # hosts named by the scenario's platforms; writes molecule's instance config
    hosts.py destroy

Reads MOLECULE_SCENARIO_NAME, MOLECULE_EPHEMERAL_DIRECTORY, MOLECULE_INSTANCE_CONFIG and the platform
names from MOLECULE_PLATFORMS (comma-separated, passed by the create/destroy playbooks).
Project name: $SC_MOLECULE_PROJECT or "mol-<scenario>"; pytest sets it to its session prefix so its
leak-free cleanup also removes hosts a killed run left behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _context():
    from stagecraft.config import load_config
    from stagecraft.drivers import DriverContext

    scenario = os.environ["MOLECULE_SCENARIO_NAME"]
    work = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "stagecraft"
    work.mkdir(parents=True, exist_ok=True)
    project = os.environ.get("SC_MOLECULE_PROJECT") or f"mol-{scenario}"
    hosts = [h for h in os.environ["MOLECULE_PLATFORMS"].split(",") if h]
    config = {"version": 1, "project": {"name": project},
              "environments": {"molecule": {"driver": "local", "hosts": {h: {"roles": ["app"]} for h in hosts}}},
              "roles": {"app": {}}}
    (work / "stagecraft.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    loaded = load_config(work / "stagecraft.yml")
    resolved = loaded.resolve("molecule", environ={})
    return DriverContext(config=resolved.config, environment=resolved.environment, state_dir=work / ".stagecraft")


def create() -> None:
    from stagecraft.drivers import local

    ctx = _context()
    result = local.provision(ctx, lambda msg: print(msg, file=sys.stderr))
    instances = [{"instance": h.name, "address": h.address, "user": "root", "port": 22,
                  "identity_file": str(local.key_file(ctx)), "become_method": "sudo"} for h in result.hosts]
    Path(os.environ["MOLECULE_INSTANCE_CONFIG"]).write_text(yaml.safe_dump(instances, sort_keys=False))
    print(" ".join(f"{h.name}={h.address}" for h in result.hosts))


def destroy() -> None:
    from stagecraft.drivers import local

    result = local.destroy(_context(), lambda msg: print(msg, file=sys.stderr))
    Path(os.environ["MOLECULE_INSTANCE_CONFIG"]).unlink(missing_ok=True)
    print(f"removed {', '.join(result['hosts']) or 'nothing'}")


if __name__ == "__main__":
    {"create": create, "destroy": destroy}[sys.argv[1]]()
