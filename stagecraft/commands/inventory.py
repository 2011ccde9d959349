"""Render an environment into an Ansible inventory (pure and deterministic).

Groups: `env_<env>` holds every host of the environment, `role_<role>` the hosts
of each role. Host variables carry the connection and the merged, role-prefixed
variables that the bundled roles consume; `all.vars` carries environment-wide ones.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ..errors import UserError
from . import ansible_data
from .compose_render import EDGE_INTERNAL_PORT, is_public
from .ssh import MESH_ADDRESS_VAR, OPTIONS_VAR, checked_path, common_args, known_hosts_path
from .ssh import options as ssh_options


def group_name(prefix: str, name: str) -> str:
    # Ansible warns about '-' in group names; keep names valid identifiers.
    return f"{prefix}_{name.replace('-', '_')}"


def _connection_vars(host, facts, address: str | None, defaults: dict, base_dir: Path, state_dir: Path,
                     env_name: str) -> dict:
    ssh = host.ssh
    where = f"environments.{env_name}.hosts.{host.name}"
    out = {"ansible_user": ssh.user,
           "ansible_port": (facts.port if facts and facts.port else ssh.port),
           "ansible_python_interpreter": "/usr/bin/python3"}
    if address:
        out["ansible_host"] = address
    key = ssh.key or defaults.get("key")
    if key:
        key_path = Path(key).expanduser()
        out["ansible_ssh_private_key_file"] = checked_path(key_path if key_path.is_absolute() else (base_dir / key_path),
                                                           f"{where}.ssh.key" if ssh.key else "the SSH key")
    known = known_hosts_path(state_dir, env_name, ssh.known_hosts, base_dir)
    opts = ssh_options(known, ssh.extra_args, what=f"{where}.ssh.known_hosts" if ssh.known_hosts else "known_hosts",
                       extra_what=f"{where}.ssh.extra_args")
    out[OPTIONS_VAR] = opts
    out["ansible_ssh_common_args"] = common_args(opts)
    # Ansible (and ansible-runner's default) would otherwise put StrictHostKeyChecking=no first.
    out["ansible_host_key_checking"] = True
    return out


def _address(host, facts) -> str | None:
    """Discovered, else written in the config."""
    return (facts.address if facts else None) or host.address


def _firewall_vars(config, env, host, peer_addresses: list[str], reached: list[tuple[str, str]] = ()) -> dict:
    fw = config.firewall
    public = is_public(config, host)
    rules = [
        {"port": str(r.port), "proto": r.proto, "sources": list(r.sources)}
        for r in fw.allow if r.applies_to(host.roles)
    ]
    # Services that other hosts reach by name (config.compose.reachable): the environment's hosts only.
    rules += [{"port": port.replace("-", ":"), "proto": proto, "sources": list(peer_addresses)}
              for port, proto in reached if peer_addresses]
    routed = [s for s in config.services_for_roles(host.roles) if config.service(s).port]
    if routed and not public and peer_addresses:
        # The gateways reach this host's edge proxy; nobody else does.
        rules.append({"port": str(EDGE_INTERNAL_PORT), "proto": "tcp", "sources": peer_addresses})
    return {
        "firewall_enabled": fw.enabled,
        "firewall_ssh_port": host.ssh.port,
        "firewall_ssh_sources": list(fw.ssh_from),
        "firewall_ssh_allow_controller": fw.ssh_allow_controller,
        "firewall_allow_http": public,
        "firewall_rules": rules,
        "firewall_mesh_enabled": config.network.provider == "tailscale",
        # Hosts that several projects (or environments) share admit the union of their allowances.
        "firewall_project": f"{config.project.name}-{env.name}",
    }


def _tailscale_vars(config, env, host) -> dict:
    ts = config.network.tailscale
    if config.network.provider != "tailscale" or ts is None or not env.network:
        return {"tailscale_enabled": False}
    hostname = f"{config.project.name}-{env.name}-{host.name}"
    out = {
        "tailscale_enabled": True,
        "tailscale_auth_key_env": ts.auth_key_env,
        "tailscale_hostname": hostname,
        "tailscale_tags": ts.tags_for(host.roles),
        "tailscale_up_timeout": ts.up_timeout,
        "tailscale_ssh": ts.ssh,
        # Its MagicDNS name, fully qualified with tailnet_domain (`stagecraft ssh` connects there).
        MESH_ADDRESS_VAR: f"{hostname}.{ts.tailnet_domain}" if ts.tailnet_domain else hostname,
    }
    if ts.login_server:
        out["tailscale_login_server"] = ts.login_server
    return out


def _read_ca(path: Path) -> str:
    from ..files import read_text

    text = read_text(path, "project.images.registry_ca_file")
    if "BEGIN CERTIFICATE" not in text:
        raise UserError(f"project.images.registry_ca_file: {path} is not a PEM certificate")
    return text


# Ansible's own variables (the connection comes from ssh.* and the driver) and Stagecraft's.
RESERVED_PREFIXES = ("ansible_", "stagecraft_")
# The role a deploy drives (its variables come from the rendered compose files, never from `vars`).
DEPLOY_ROLE = "compose"


class VarOverride(UserError):
    """User `vars` name a variable Stagecraft sets; `path` is the key path of the first one."""

    def __init__(self, message: str, path: tuple):
        super().__init__(message)
        self.path = path


@cache
def role_variables(role: str) -> frozenset:
    """The variables a bundled role declares (meta/argument_specs.yml)."""
    import yaml

    from .. import resources

    spec = resources.collections_dir() / "ansible_collections" / "stagecraft" / "infra" / "roles" / role / "meta"
    data = yaml.safe_load((spec / "argument_specs.yml").read_text())
    return frozenset(name for entry in data["argument_specs"].values() for name in entry.get("options") or {})


def _refuse_overrides(env, host, own: dict) -> None:
    """User vars (environment and host) may add variables, never replace one Stagecraft sets: the ones
    it renders for this host, the deploy role's, and Ansible's and its own prefixes."""
    deploy = role_variables(DEPLOY_ROLE)
    for path, values in ((("environments", env.name, "vars"), env.vars),
                         (("environments", env.name, "hosts", host.name, "vars"), host.vars)):
        for name in sorted(values):
            if name.startswith(RESERVED_PREFIXES):
                why = "Ansible's connection comes from ssh.* and the driver" if name.startswith("ansible_") \
                    else "the stagecraft_ prefix is Stagecraft's own"
            elif name in deploy:
                why = f"the {DEPLOY_ROLE} role's variables come from the deploy's rendered compose files"
            elif name in own:
                why = "it is rendered from stagecraft.yml for this host"
            else:
                continue
            where = ".".join(path + (name,))
            raise VarOverride(f"{where}: would override '{name}', a variable Stagecraft sets ({why}); "
                              "remove it, or set the stagecraft.yml key it comes from", path + (name,))


def host_vars(config, env, host, facts, defaults: dict, state_dir: Path, peer_addresses: list[str] = (),
              driver_vars: dict | None = None, reached: list[tuple[str, str]] = ()) -> dict:
    """facts: the driver's HostFacts for the host (address, port) or None; driver_vars: variables only
    hosts of this environment's driver need (the driver's `host_vars`); reached: (port, proto) of this
    host's services other hosts reach by name (config.compose.reachable)."""
    base_dir = Path(config.base_dir).resolve()
    out = _connection_vars(host, facts, _address(host, facts), defaults, base_dir, state_dir, env.name)
    out["stagecraft_host"] = host.name
    out["stagecraft_roles"] = list(host.roles)
    out["stagecraft_services"] = config.services_for_roles(host.roles)
    out.update(_firewall_vars(config, env, host, list(peer_addresses), reached))
    vols = config.volumes.for_host(host.roles)
    out.update({"volumes_directories": vols["directories"], "volumes_docker": vols["docker"],
                "volumes_block": vols["block"]})
    out.update(driver_vars or {})
    out.update(_tailscale_vars(config, env, host))
    if config.project.images.registry_ca_file:
        ca = base_dir / config.project.images.registry_ca_file
        out["bootstrap_docker_registry_ca_certs"] = [{"registry": config.project.registry_host,
                                                      "cert": _read_ca(ca)}]
    _refuse_overrides(env, host, out)
    out.update(env.vars)
    out.update(host.vars)
    return out


def host_addresses(env, discovered: dict) -> dict[str, str]:
    """host -> address, for hosts that have one."""
    return {h.name: a for h in env.hosts if (a := _address(h, discovered.get(h.name)))}


def render_inventory(config, env, discovered: dict, *, state_dir: Path, connection_defaults: dict | None = None,
                     driver_vars: dict[str, dict] | None = None, compose: dict | None = None) -> dict:
    """The YAML-inventory structure for one environment. discovered: host -> HostFacts (one driver
    discovery); driver_vars: host -> variables from the driver's `host_vars`. With the compose file, the
    firewall also admits the environment's hosts to the ports of services reached across hosts."""
    from ..config import compose as compose_model

    reached: dict[str, list] = {}
    if compose:
        strategies = {n: config.service(n).strategy for n in compose.get("services") or {}}
        for svc, where in compose_model.reachable(env, config.placement, strategies, compose).items():
            reached.setdefault(where, []).extend(compose_model.declared_ports(compose["services"][svc]))
    defaults = connection_defaults or {}
    env_group = group_name("env", env.name)
    addresses = sorted(set(host_addresses(env, discovered).values()))
    hosts = {h.name: host_vars(config, env, h, discovered.get(h.name), defaults, state_dir, addresses,
                               (driver_vars or {}).get(h.name), sorted(set(reached.get(h.name, ()))))
             for h in env.hosts}
    children: dict = {env_group: {"hosts": {name: None for name in sorted(hosts)} or None}}
    for role in sorted(config.roles):
        members = [h.name for h in env.hosts if role in h.roles]
        children[group_name("role", role)] = {"hosts": {m: None for m in sorted(members)}} if members else {}
    # Full host vars live once, in the environment group.
    children[env_group]["hosts"] = {name: hosts[name] for name in sorted(hosts)} or None
    return {
        "all": {
            "vars": {
                "stagecraft_project": config.project.name,
                "stagecraft_environment": env.name,
                "stagecraft_driver": env.driver,
                "stagecraft_registry": config.project.registry or "",
            },
            "children": children,
        }
    }


def to_yaml(inventory: dict) -> str:
    """The inventory file: every value is data Ansible never templates (see ansible_data)."""
    return ansible_data.to_yaml(inventory)


def to_list_json(inventory: dict, *, unsafe: bool = False) -> dict:
    """The shape `ansible-inventory --list` prints: _meta.hostvars plus a hosts/children entry per group.
    unsafe: variable values as {"__ansible_unsafe": value}, as Ansible prints (and reads back) the values
    of the inventory file; without it, plain values for Stagecraft's own readers."""
    all_vars = inventory["all"].get("vars", {})
    hostvars: dict = {}
    out: dict = {}
    groups = inventory["all"].get("children", {})
    for name in sorted(groups):
        hosts = (groups[name] or {}).get("hosts") or {}
        for host, hvars in hosts.items():
            merged = hostvars.setdefault(host, dict(all_vars))
            if hvars:
                merged.update(hvars)
        if hosts:
            out[name] = {"hosts": sorted(hosts)}
    out["all"] = {"children": ["ungrouped"] + sorted(n for n in groups if (groups[n] or {}).get("hosts"))}
    hostvars = {h: dict(sorted(v.items())) for h, v in sorted(hostvars.items())}
    return {"_meta": {"hostvars": ansible_data.to_json(hostvars) if unsafe else hostvars}, **out}
