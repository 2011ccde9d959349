"""What a compose service refers to, and what that means once services are spread over hosts.

Compose resolves a service name on the project network of one Docker engine. Across hosts:
- `depends_on` becomes an ordering fact (roles roll in order), `links` a name to resolve;
- a `recreate` service that declares its ports (`expose:` or the container side of `ports:`) and
  runs on exactly one host of an environment is *reachable*: its host publishes those ports, the
  firewall opens them to the environment's hosts only, and every other host's services resolve
  its name to that host (`extra_hosts`);
- `volumes_from`, `network_mode`, `pid` and `ipc` naming another service need one engine: those
  services must share a host.
"""

from __future__ import annotations

import re

SPANNING = ("depends_on", "links")
LOCAL_ONLY = ("volumes_from", "network_mode", "pid", "ipc")


def _names(value) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int))]
    return []


def references(spec: dict) -> list[tuple[str, str]]:
    """(kind, service) pairs a compose service definition names."""
    spec = spec if isinstance(spec, dict) else {}
    out = [("depends_on", n) for n in _names(spec.get("depends_on"))]
    out += [("links", n.split(":", 1)[0]) for n in _names(spec.get("links"))]
    for entry in _names(spec.get("volumes_from")):
        if not entry.startswith("container:"):
            out.append(("volumes_from", entry.split(":", 1)[0]))
    for key in ("network_mode", "pid", "ipc"):
        value = spec.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            out.append((key, value.split(":", 1)[1]))
    return out


_PORT = re.compile(r"\A(?P<port>\d+)(?:-(?P<end>\d+))?(?:/(?P<proto>tcp|udp|sctp))?\Z")


def _container_port(entry) -> str | None:
    """The container side of a `ports:` entry ('8080', '127.0.0.1:80:8080/udp', {target: 80})."""
    if isinstance(entry, dict):
        target, proto = entry.get("target"), entry.get("protocol") or "tcp"
        return f"{target}/{proto}" if target is not None else None
    if isinstance(entry, int):
        return str(entry)
    if not isinstance(entry, str):
        return None
    text, _, proto = entry.partition("/")
    container = text.rsplit(":", 1)[-1]
    return f"{container}/{proto}" if proto else container


def declared_ports(spec: dict) -> list[tuple[str, str]]:
    """(port or 'a-b', proto) a service declares with `expose:` and the container side of `ports:`."""
    spec = spec if isinstance(spec, dict) else {}
    out = set()
    entries = [str(e) for e in (spec.get("expose") or []) if isinstance(e, (str, int))]
    entries += [p for p in (_container_port(e) for e in (spec.get("ports") or [])) if p]
    for entry in entries:
        m = _PORT.match(entry.strip())
        if m:
            port = m["port"] + (f"-{m['end']}" if m["end"] else "")
            out.add((port, m["proto"] or "tcp"))
    return sorted(out)


def host_services(env, placement: dict[str, str]) -> dict[str, list[str]]:
    """host name -> the services placed on its roles, for one environment."""
    return {h.name: sorted(s for s, r in placement.items() if r in h.roles) for h in env.hosts}


def reachable(env, placement: dict[str, str], strategies: dict[str, str], compose: dict) -> dict[str, str]:
    """service -> the one host that runs it, for services other hosts reach by name (see module doc)."""
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict):
        return {}
    by_host = host_services(env, placement)
    if sum(1 for names in by_host.values() if names) < 2:
        return {}  # one host: Compose's own network already resolves every name
    where: dict[str, list[str]] = {}
    for host, names in by_host.items():
        for name in names:
            where.setdefault(name, []).append(host)
    out = {}
    for name, hosts in where.items():
        if len(hosts) == 1 and strategies.get(name, "rolling") == "recreate" and declared_ports(services.get(name)):
            out[name] = hosts[0]
    return out


def split_problems(env, placement: dict[str, str], compose: dict) -> list[tuple[str, str]]:
    """(service, message) for references that cannot span hosts but would in this environment."""
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict):
        return []
    by_host = host_services(env, placement)
    out = []
    for name, spec in sorted(services.items()):
        for kind, target in references(spec):
            if kind not in LOCAL_ONLY or target not in services:
                continue
            apart = sorted(h for h, names in by_host.items() if name in names and target not in names)
            if apart:
                out.append((name, f"{kind} names service '{target}', but in environment '{env.name}' host "
                                  f"{apart[0]} runs '{name}' without '{target}'; {kind} needs both on one "
                                  f"Docker engine: place them on the same role"))
    return out
