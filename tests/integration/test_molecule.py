"""Molecule scenarios of the collection's roles (molecule/<scenario>/), run the way CI runs them:
create (real hosts from the local driver) -> converge -> idempotence (second run changed=0) -> verify
(outcomes on the hosts, probed over the network) -> destroy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hosts import ROOT

pytestmark = pytest.mark.hosts
BIN = Path(sys.executable).parent
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def test_every_host_role_has_a_scenario():
    assert {"bootstrap", "firewall", "firewall-http", "firewall-shared", "volumes", "volumes-block", "tailscale", "compose"} <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, local_hosts):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # molecule runs ansible-playbook/ansible-config
        # Hosts named with the session prefix: the local_hosts cleanup removes what a killed run leaves.
        "SC_MOLECULE_PROJECT": f"{local_hosts.prefix}mol-{scenario}",
        "NO_COLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0",
    })
    proc = subprocess.run([str(BIN / "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in out, f"{step} did not run:\n{out[-3000:]}"
