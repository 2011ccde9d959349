"""Pure planning for DigitalOcean: what the config wants, what the account has, and the difference.

Actual state is found by tags, never by name prefix: every droplet, volume and firewall Stagecraft
creates carries `stagecraft`, `stagecraft-project-<project>` and `stagecraft-env-<env>`; droplets also
`stagecraft-role-<role>` per role. Within the tagged set a droplet is matched to its host by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MESH_UDP_PORT = 41641  # Tailscale's direct-connection port


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def tag_base() -> str:
    return "stagecraft"


def tag_project(project: str) -> str:
    return f"stagecraft-project-{_slug(project)}"


def tag_env(env: str) -> str:
    return f"stagecraft-env-{_slug(env)}"


def tag_role(role: str) -> str:
    return f"stagecraft-role-{_slug(role)}"


def tag_target(project: str, env: str, public: bool = False) -> str:
    """The tag a cloud firewall targets: scoped to project and env so other projects are never affected."""
    return f"stagecraft-{_slug(project)}-{_slug(env)}" + ("-public" if public else "")


def droplet_name(project: str, env: str, host: str) -> str:
    return f"{_slug(project)}-{_slug(env)}-{_slug(host)}"


def volume_name(project: str, env: str, host: str, volume: str) -> str:
    # Volume names: lowercase letters, digits and '-', at most 64 characters.
    return f"{_slug(project)}-{_slug(env)}-{_slug(host)}-{_slug(volume)}"[:64].rstrip("-")


def volume_device(name: str) -> str:
    """Where DigitalOcean exposes an attached volume inside the droplet."""
    return f"/dev/disk/by-id/scsi-0DO_Volume_{name}"


def firewall_name(project: str, env: str, public: bool = False) -> str:
    return tag_target(project, env, public)


@dataclass(frozen=True)
class DesiredVolume:
    name: str
    size_gb: int
    mount: str
    filesystem: str


@dataclass(frozen=True)
class DesiredDroplet:
    host: str
    name: str
    roles: tuple[str, ...]
    size: str
    region: str
    image: str
    tags: tuple[str, ...]
    public: bool
    volumes: tuple[DesiredVolume, ...] = ()


def desired_droplets(config, env) -> list[DesiredDroplet]:
    do = config.digitalocean
    project = config.project.name
    out = []
    for host in env.hosts:
        public = any(config.roles[r].public for r in host.roles if r in config.roles)
        tags = [tag_base(), tag_project(project), tag_env(env.name), tag_target(project, env.name)]
        if public:
            tags.append(tag_target(project, env.name, public=True))
        tags += [tag_role(r) for r in host.roles] + list(do.tags)
        volumes = tuple(
            DesiredVolume(volume_name(project, env.name, host.name, v.name), v.size_gb, v.mount, v.filesystem)
            for v in do.volumes if not v.roles or set(v.roles) & set(host.roles))
        out.append(DesiredDroplet(host=host.name, name=droplet_name(project, env.name, host.name),
                                  roles=tuple(host.roles), size=host.size or do.size,
                                  region=host.region or do.region, image=host.image or do.image,
                                  tags=tuple(dict.fromkeys(tags)), public=public, volumes=volumes))
    return out


def block_volumes(config, env, host) -> list[dict]:
    """volumes_block entries for a droplet's attached volumes (handed to the volumes role)."""
    if env.driver != "digitalocean" or config.digitalocean is None:
        return []
    for d in desired_droplets(config, env):
        if d.host == host.name:
            return [{"device": volume_device(v.name), "mount": v.mount, "filesystem": v.filesystem}
                    for v in d.volumes]
    return []


def owned(resource: dict, project: str, env: str) -> bool:
    tags = set(resource.get("tags") or ())
    return {tag_base(), tag_project(project), tag_env(env)} <= tags


def volume_of(volume: dict, droplet: dict) -> bool:
    """The volume was made for this droplet: attached to it, or described as made for it (if detached)."""
    if droplet["id"] in (volume.get("droplet_ids") or ()):
        return True
    made_for = (volume.get("description") or "").removeprefix("stagecraft ").split("/")
    return len(made_for) == 3 and droplet_name(*made_for) == droplet["name"]


def volume_description(project: str, env: str, host: str) -> str:
    return f"stagecraft {project}/{env}/{host}"


def public_ipv4(droplet: dict) -> str | None:
    for net in (droplet.get("networks") or {}).get("v4") or ():
        if net.get("type") == "public":
            return net.get("ip_address")
    return None


ACTIONS = ("create", "keep", "off", "drift", "orphan")
POWERED_OFF = ("off", "archive")  # droplet statuses `infra up` powers on


@dataclass
class PlanItem:
    host: str
    name: str
    action: str  # create | keep | off | drift | orphan
    roles: list
    size: str | None = None
    region: str | None = None
    droplet_id: int | None = None
    status: str | None = None
    address: str | None = None
    drift: dict = field(default_factory=dict)  # key -> {"declared": x, "actual": y}
    volumes: list = field(default_factory=list)  # names of volumes to create for this host
    prune_volumes: list = field(default_factory=list)  # an orphan's volumes: `up --prune` deletes them


@dataclass
class Plan:
    items: list = field(default_factory=list)
    firewalls: list = field(default_factory=list)  # [{"name", "action": create|update|keep}]

    def by_action(self, action: str) -> list[PlanItem]:
        return [i for i in self.items if i.action == action]

    @property
    def changes(self) -> bool:
        return bool(self.by_action("create") or self.by_action("off")) or any(i.volumes for i in self.items) or any(
            f["action"] != "keep" for f in self.firewalls)

    def to_dict(self) -> dict:
        return {"hosts": [i.__dict__ for i in self.items], "firewalls": self.firewalls,
                "summary": {a: len(self.by_action(a)) for a in ACTIONS}}


def plan(desired: list[DesiredDroplet], droplets: list[dict], volumes: list[dict], firewalls: list[dict],
         wanted_firewalls: list[dict]) -> Plan:
    """Compare desired droplets/volumes/firewalls with the tagged resources found in the account."""
    by_name = {d["name"]: d for d in droplets}
    volume_names = {v["name"] for v in volumes}
    result = Plan()
    for want in desired:
        have = by_name.get(want.name)
        missing_volumes = [v.name for v in want.volumes if v.name not in volume_names]
        if have is None:
            result.items.append(PlanItem(want.host, want.name, "create", list(want.roles), want.size, want.region,
                                         volumes=missing_volumes))
            continue
        actual_size = have.get("size_slug") or (have.get("size") or {}).get("slug")
        actual_region = (have.get("region") or {}).get("slug")
        drift = {k: {"declared": d, "actual": a} for k, d, a in
                 (("size", want.size, actual_size), ("region", want.region, actual_region)) if d != a}
        action = "drift" if drift else ("off" if have.get("status") in POWERED_OFF else "keep")
        result.items.append(PlanItem(want.host, want.name, action, list(want.roles),
                                     actual_size, actual_region, have["id"], have.get("status"),
                                     public_ipv4(have), drift, missing_volumes))
    declared = {d.name for d in desired}
    for have in sorted(droplets, key=lambda d: d["name"]):
        if have["name"] not in declared:
            roles = sorted(t[len("stagecraft-role-"):] for t in have.get("tags") or () if t.startswith("stagecraft-role-"))
            result.items.append(PlanItem(have["name"], have["name"], "orphan", roles,
                                         have.get("size_slug"), (have.get("region") or {}).get("slug"), have["id"],
                                         have.get("status"), public_ipv4(have),
                                         prune_volumes=sorted(v["name"] for v in volumes if volume_of(v, have))))
    existing = {f["name"]: f for f in firewalls}
    for want in wanted_firewalls:
        have = existing.get(want["name"])
        if have is None:
            action = "create"
        else:
            action = "keep" if same_firewall(want, have) else "update"
        result.firewalls.append({"name": want["name"], "action": action, "id": have and have.get("id")})
    return result


ALL_PORTS = ("0", "all", "1-65535", "")  # how an all-port rule is sent and read back (the API answers "0")


def _ports(rule: dict) -> str:
    ports = str(rule.get("ports", "")).strip().lower()
    return "all" if ports in ALL_PORTS or rule.get("protocol") == "icmp" else ports


def _rule_key(rule: dict, direction: str) -> tuple:
    where = rule.get("sources" if direction == "in" else "destinations") or {}
    return (rule["protocol"], _ports(rule),
            tuple(sorted(where.get("addresses") or ())), tuple(sorted(where.get("tags") or ())))


def same_firewall(want: dict, have: dict) -> bool:
    def keys(fw):
        return (sorted(_rule_key(r, "in") for r in fw.get("inbound_rules") or ()),
                sorted(_rule_key(r, "out") for r in fw.get("outbound_rules") or ()),
                sorted(fw.get("tags") or ()))
    return keys(want) == keys(have)


def create_body(droplet: DesiredDroplet, ssh_key_ids: list, *, vpc_uuid: str | None, user_data: str) -> dict:
    """One droplet per request: each gets its own SSH host key pair in its user data (no multi-create)."""
    body: dict = {"name": droplet.name, "size": droplet.size, "region": droplet.region, "image": droplet.image,
                  "ssh_keys": list(ssh_key_ids), "tags": list(droplet.tags), "monitoring": True,
                  "user_data": user_data}
    if vpc_uuid:
        body["vpc_uuid"] = vpc_uuid
    return body


def gpu_sizes(config, env) -> list[str]:
    """Config paths of hosts sized with a GPU slug: a list filtered by tag never returns GPU droplets (the
    API's `type=gpus` cannot be combined with `tag_name`), so Stagecraft could not find them again."""
    do = config.digitalocean
    out = [f"environments.{env.name}.hosts.{h.name}.size" for h in env.hosts if (h.size or "").startswith("gpu-")]
    if do.size.startswith("gpu-") and any(not h.size for h in env.hosts):
        out.insert(0, "cloud.digitalocean.size")
    return out


def firewall_bodies(config, env) -> list[dict]:
    """Cloud firewalls mirroring the host policy, attached by tag.

    Base (every droplet of the env): SSH from the configured CIDRs, everything between the env's own
    droplets (the internal edge port, the mesh), Tailscale's UDP port when the mesh is on, outbound open.
    Public (droplets with a public role): 80 and 443 from anywhere.
    """
    do = config.digitalocean
    project = config.project.name
    anywhere = {"addresses": ["0.0.0.0/0", "::/0"]}
    ssh_ports = sorted({str(h.ssh.port) for h in env.hosts} or {"22"})
    inbound = [{"protocol": "tcp", "ports": p, "sources": {"addresses": list(do.firewall_ssh_from)}}
               for p in ssh_ports]
    inside = {"tags": [tag_target(project, env.name)]}
    inbound += [{"protocol": "tcp", "ports": "1-65535", "sources": inside},
                {"protocol": "udp", "ports": "1-65535", "sources": inside}]
    if config.network.provider == "tailscale":
        inbound.append({"protocol": "udp", "ports": str(MESH_UDP_PORT), "sources": anywhere})
    outbound = [{"protocol": p, "ports": "1-65535", "destinations": anywhere} for p in ("tcp", "udp")]
    base = {"name": firewall_name(project, env.name), "inbound_rules": inbound, "outbound_rules": outbound,
            "tags": [tag_target(project, env.name)]}
    bodies = [base]
    if any(d.public for d in desired_droplets(config, env)):
        bodies.append({"name": firewall_name(project, env.name, public=True),
                       "inbound_rules": [{"protocol": "tcp", "ports": p, "sources": anywhere} for p in ("80", "443")],
                       "outbound_rules": [],
                       "tags": [tag_target(project, env.name, public=True)]})
    return bodies
