"""Address filters for the roles (Python's ipaddress, so the controller needs no netaddr).

    "{{ '10.0.0.5' | stagecraft.infra.ip_in_networks(['10.0.0.0/8']) }}"  -> true
"""

from __future__ import annotations

import ipaddress


def ip_in_networks(address: str, networks: list[str]) -> bool:
    """True when `address` (IPv4 or IPv6, an IPv4-mapped IPv6 counts as its IPv4) is in one of the CIDRs."""
    ip = ipaddress.ip_address(address)
    candidates = [ip] + ([ip.ipv4_mapped] if ip.version == 6 and ip.ipv4_mapped else [])
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    return any(c in n for c in candidates for n in nets if c.version == n.version)


class FilterModule:
    def filters(self):
        return {"ip_in_networks": ip_in_networks}
