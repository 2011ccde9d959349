"""environments.<name>: driver, connection settings and the hosts with their roles."""

from __future__ import annotations

from dataclasses import dataclass, field

DRIVERS = ("local", "digitalocean", "ssh")


@dataclass(frozen=True)
class Ssh:
    user: str = "root"
    port: int = 22
    key: str | None = None
    known_hosts: str | None = None
    extra_args: str | None = None

    def merged(self, override: dict | None) -> "Ssh":
        if not override:
            return self
        values = {**self.__dict__, **{k: v for k, v in override.items() if not k.startswith("x-")}}
        return Ssh(**values)


@dataclass(frozen=True)
class Host:
    name: str
    roles: tuple[str, ...]
    ssh: Ssh
    address: str | None = None
    size: str | None = None
    region: str | None = None
    image: str | None = None
    vars: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    name: str
    driver: str
    hosts: tuple[Host, ...]
    ssh: Ssh = field(default_factory=Ssh)
    env_file: str | None = None
    local_image: str | None = None
    local_subnet: str | None = None
    network: bool = True
    batch_size: int | str | None = None
    vars: dict = field(default_factory=dict)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def hosts_with_role(self, role: str) -> list[Host]:
        return [h for h in self.hosts if role in h.roles]

    @classmethod
    def parse(cls, name: str, data: dict) -> "Environment":
        env_ssh = Ssh().merged(data.get("ssh"))
        hosts = tuple(
            Host(
                name=host_name,
                roles=tuple(spec.get("roles", ())),
                ssh=env_ssh.merged(spec.get("ssh")),
                address=spec.get("address"),
                size=spec.get("size"),
                region=spec.get("region"),
                image=spec.get("image"),
                vars=dict(spec.get("vars") or {}),
            )
            for host_name, spec in sorted((data.get("hosts") or {}).items())
        )
        local = data.get("local") or {}
        return cls(
            name=name,
            driver=data["driver"],
            hosts=hosts,
            ssh=env_ssh,
            env_file=data.get("env_file"),
            local_image=local.get("image"),
            local_subnet=local.get("subnet"),
            network=data.get("network", True),
            batch_size=(data.get("rollout") or {}).get("batch_size"),
            vars=dict(data.get("vars") or {}),
        )
