"""cloud.digitalocean: account, defaults for droplets, volumes and the cloud firewall."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DoVolume:
    name: str
    size_gb: int
    mount: str
    roles: tuple[str, ...] = ()
    filesystem: str = "ext4"


@dataclass(frozen=True)
class DigitalOcean:
    ssh_keys: tuple[str, ...]
    token_env: str = "DIGITALOCEAN_TOKEN"
    region: str = "fra1"
    size: str = "s-1vcpu-1gb"
    image: str = "debian-13-x64"
    vpc_uuid: str | None = None
    user_data: str | None = None
    tags: tuple[str, ...] = ()
    volumes: tuple[DoVolume, ...] = ()
    firewall_enabled: bool = True
    firewall_ssh_from: tuple[str, ...] = ("0.0.0.0/0", "::/0")

    @classmethod
    def parse(cls, data: dict | None) -> "DigitalOcean | None":
        if not data:
            return None
        fw = data.get("firewall") or {}
        return cls(
            ssh_keys=tuple(data.get("ssh_keys") or ()),
            token_env=data.get("token_env", "DIGITALOCEAN_TOKEN"),
            region=data.get("region", "fra1"),
            size=data.get("size", "s-1vcpu-1gb"),
            image=data.get("image", "debian-13-x64"),
            vpc_uuid=data.get("vpc_uuid"),
            user_data=data.get("user_data"),
            tags=tuple(data.get("tags") or ()),
            volumes=tuple(
                DoVolume(name=v["name"], size_gb=v["size_gb"], mount=v["mount"],
                         roles=tuple(v.get("roles") or ()), filesystem=v.get("filesystem", "ext4"))
                for v in data.get("volumes") or ()
            ),
            firewall_enabled=fw.get("enabled", True),
            firewall_ssh_from=tuple(fw.get("ssh_from") or ("0.0.0.0/0", "::/0")),
        )
