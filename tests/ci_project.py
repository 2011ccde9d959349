"""A project for `stagecraft ci` tests: a git checkout with an origin remote on GitHub, two environments."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

CONFIG = textwrap.dedent("""\
    version: 1
    project:
      name: shop
      registry: registry.example.com/acme
      images:
        transport: registry
        registry_username_env: REGISTRY_USER
        registry_password_env: REGISTRY_PASSWORD
    environments:
      prod:
        driver: ssh
        env_file: .env.prod
        ssh: {key: keys/prod_ed25519}
        hosts:
          app-1: {roles: [app], address: 10.0.0.5}
      staging:
        driver: digitalocean
        ssh: {key: keys/staging_ed25519}
        hosts:
          app-1: {roles: [app]}
    roles:
      app: {services: [web]}
    services:
      web:
        secrets: [WEB_SECRET]
    network:
      provider: tailscale
      tailscale: {auth_key_env: TAILSCALE_AUTH_KEY, tags: ["tag:shop"]}
    cloud:
      digitalocean:
        ssh_keys: [deploy]
    ci:
      provider: github
      test_command: pytest -q
    """)

# Values as a developer's shell and env file would hold them.
ENVIRON = {"REGISTRY_USER": "robot", "REGISTRY_PASSWORD": "registry-pass-1", "TAILSCALE_AUTH_KEY": "tskey-auth-123",
           "DIGITALOCEAN_TOKEN": "dop_v1_token", "WEB_SECRET": "web-secret-from-shell"}


def make_project(root: Path, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "git@github.com:acme/shop.git"], check=True)
    (root / "stagecraft.yml").write_text(config)
    (root / "docker-compose.yml").write_text("services:\n  web:\n    image: busybox\n")
    (root / ".env.prod").write_text("WEB_SECRET=web-secret-prod-envfile\n")
    (root / "keys").mkdir()
    for env in ("prod", "staging"):
        (root / "keys" / f"{env}_ed25519").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{env}-key\n-----END OPENSSH PRIVATE KEY-----\n")
        kh = root / ".stagecraft" / "known_hosts" / env
        kh.parent.mkdir(parents=True, exist_ok=True)
        kh.write_text(f"10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{env}\n")
    return root
