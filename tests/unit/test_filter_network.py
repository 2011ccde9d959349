"""The collection's ip_in_networks filter (the firewall role's lock-out check)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "collections" / "ansible_collections" / "stagecraft" / "infra" / "plugins" / "filter" / "network.py"


def _filters() -> dict:
    spec = importlib.util.spec_from_file_location("stagecraft_filter_network", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()


def test_ip_in_networks():
    inside = _filters()["ip_in_networks"]
    assert inside("10.1.2.3", ["198.51.100.0/24", "10.0.0.0/8"]) is True
    assert inside("10.1.2.3", ["198.51.100.0/24"]) is False
    assert inside("10.1.2.3", []) is False
    assert inside("172.18.0.1", ["172.18.0.1"]) is True  # a bare address is a /32
    assert inside("2001:db8::5", ["2001:db8::/32", "10.0.0.0/8"]) is True
    assert inside("::ffff:10.1.2.3", ["10.0.0.0/8"]) is True  # IPv4-mapped, as sshd may report it
    assert inside("10.1.2.3", ["::/0"]) is False
