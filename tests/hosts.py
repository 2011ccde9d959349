"""Real hosts for integration tests, made by the product's own `local` driver.

Usage (fixtures are registered by tests/conftest.py):

    @pytest.mark.hosts
    def test_something(local_hosts):
        env = local_hosts.create("web", {"app-1": ["app"], "gw-1": ["gateway"]})
        env.cli("inventory", "-o", "json")          # runs the real `stagecraft` in env.project_dir
        env.ssh("app-1", "docker compose version")  # real SSH with the driver's key
        env.hosts                                   # {"app-1": "172.18.0.2", ...}
        env.inventory_path                          # YAML inventory rendered by `stagecraft inventory`

`local_hosts` is session-scoped: `create(name, ...)` with the same name returns the same hosts,
so several tests can share them (use distinct names when a test needs bare hosts). Every Docker
resource carries the project name `t<session tag><name>`; all of them are removed at session end,
at interpreter exit, and on SIGTERM/SIGINT. `SC_TEST_TAG` fixes the session tag (used by the leak test).
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from stagecraft.commands.ssh import option_value

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop"
_EXAMPLE_BUILD = {"web": ("web/Dockerfile", "web/start.sh"), "db": ("db/Dockerfile", "db/entrypoint.sh")}


def example_files(*services: str) -> dict[str, str]:
    """The example app's files for a test project: its compose file with only these services (a service
    in the compose file that no role places is a config error) and their build files."""
    compose = yaml.safe_load((EXAMPLE / "docker-compose.yml").read_text())
    compose["services"] = {k: v for k, v in compose["services"].items() if k in services}
    files = {"docker-compose.yml": yaml.safe_dump(compose, sort_keys=False)}
    for service in services:
        files.update({rel: (EXAMPLE / rel).read_text() for rel in _EXAMPLE_BUILD[service]})
    return files
STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")


@dataclass
class LocalEnv:
    name: str
    project: str
    project_dir: Path
    env: str = "local"
    hosts: dict = field(default_factory=dict)  # host name -> address
    roles: dict = field(default_factory=dict)  # host name -> roles
    last_up: dict = field(default_factory=dict)  # JSON of the last `infra up`

    @property
    def config_path(self) -> Path:
        return self.project_dir / "stagecraft.yml"

    @property
    def state_dir(self) -> Path:
        return self.project_dir / ".stagecraft"

    @property
    def inventory_path(self) -> Path:
        return self.project_dir / "inventory.yml"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "ssh" / "id_ed25519"

    def environ(self, extra: dict | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
        env.update({"STAGECRAFT_STATE_DIR": str(self.state_dir), "STAGECRAFT_NO_COLOR": "1"})
        env.update(extra or {})
        return env

    def cli(self, *args: str, check: bool = True, env: dict | None = None, timeout: float = 1800,
            input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([STAGECRAFT, *args], cwd=self.project_dir, env=self.environ(env), text=True,
                              capture_output=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"stagecraft {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def ssh(self, host: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = ["ssh", "-i", str(self.key_file), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={option_value(self.state_dir / 'known_hosts' / self.env, 'known_hosts')}",
                "-o", "StrictHostKeyChecking=yes", f"root@{self.hosts[host]}", command]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {host} {command!r} exited {proc.returncode}: {proc.stderr}")
        return proc

    def write_inventory(self) -> Path:
        self.inventory_path.write_text(self.cli("inventory", "-e", self.env).stdout)
        return self.inventory_path

    def up(self, roles: bool = True) -> dict:
        """`infra up`: hosts plus the host roles (bootstrap, firewall, ...), or bare hosts with roles=False."""
        args = ["infra", "up", "-e", self.env, "-o", "json"] + ([] if roles else ["--no-roles"])
        result = json.loads(self.cli(*args).stdout)
        self.last_up = result
        self.hosts = {h["name"]: h["address"] for h in result["hosts"]}
        self.write_inventory()
        return result


def render_config(project: str, hosts: dict[str, list[str]], extra: str = "") -> str:
    roles = sorted({r for rs in hosts.values() for r in rs})
    config = {
        "version": 1,
        "project": {"name": project},
        "environments": {"local": {"driver": "local",
                                   "hosts": {h: {"roles": list(rs)} for h, rs in hosts.items()}}},
        "roles": {r: {"public": r == "gateway"} for r in roles},
    }
    return yaml.safe_dump(config, sort_keys=False) + textwrap.dedent(extra)


class HostFactory:
    def __init__(self, base_dir: Path, tag: str):
        self.base_dir = base_dir
        self.tag = tag
        self.envs: dict[str, LocalEnv] = {}

    @property
    def prefix(self) -> str:
        return f"t{self.tag}"

    def create(self, name: str, hosts: dict[str, list[str]], *, extra_config: str = "",
               files: dict[str, str] | None = None, up: bool = True, roles: bool = True) -> LocalEnv:
        """A project with these hosts (name -> roles); `infra up` is run unless up=False, with the host
        roles unless roles=False (bare hosts)."""
        if name in self.envs:
            return self.envs[name]
        project = f"{self.prefix}{name}"
        project_dir = self.base_dir / name
        project_dir.mkdir(parents=True)
        (project_dir / "stagecraft.yml").write_text(render_config(project, hosts, extra_config))
        for rel, text in (files or {}).items():
            (project_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (project_dir / rel).write_text(text)
        env = LocalEnv(name=name, project=project, project_dir=project_dir, roles=hosts)
        self.envs[name] = env
        if up:
            env.up(roles=roles)
        return env

    def web_env(self, name: str, hosts: dict[str, list[str]], *, extra_config: str = "",
                env_file: str = "APP_HEALTHY=true\n") -> LocalEnv:
        """The example's web alone, placed on the `app` role, with `.env.local` as the env file; hosts up."""
        files = {**example_files("web"), ".env.local": env_file}
        env = self.create(name, hosts, extra_config=extra_config, files=files, up=False)
        text = env.config_path.read_text()
        text = text.replace("    driver: local\n", "    driver: local\n    env_file: .env.local\n")
        text = text.replace("  app:\n    public: false\n", "  app:\n    public: false\n    services: [web]\n")
        env.config_path.write_text(text)
        env.up()
        return env

    def destroy(self, name: str) -> None:
        env = self.envs.pop(name, None)
        if env is not None:
            env.cli("infra", "down", "-e", env.env, "--yes", check=False)

    def cleanup(self) -> None:
        remove_resources(self.prefix)


def _managed(kind: str) -> list[tuple[str, str]]:
    """(project label, id) of every Stagecraft-managed container / network / volume."""
    if shutil.which("docker") is None:
        return []
    fmt = '{{.ID}} {{.Label "stagecraft.project"}}' if kind == "container" else (
        '{{.ID}} {{.Label "stagecraft.project"}}' if kind == "network" else '{{.Name}} {{.Label "stagecraft.project"}}')
    argv = {"container": ["docker", "ps", "-a"], "network": ["docker", "network", "ls"],
            "volume": ["docker", "volume", "ls"]}[kind]
    proc = subprocess.run(argv + ["--filter", "label=stagecraft.managed=true", "--format", fmt],
                          capture_output=True, text=True, timeout=60)
    rows = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            rows.append((parts[1], parts[0]))
    return rows


def leftovers(prefix: str, exact: bool = False) -> dict[str, list[str]]:
    """Managed resources whose project starts with `prefix` (or is `prefix`, with exact)."""
    return {kind: [i for project, i in _managed(kind) if (project == prefix if exact else project.startswith(prefix))]
            for kind in ("container", "network", "volume")}


def remove_resources(prefix: str, exact: bool = False) -> None:
    """Remove the resources of every project starting with `prefix`, or of the project `prefix` alone (exact):
    a test that cleans up its own project must leave the session's shared hosts to the tests after it."""
    if shutil.which("docker") is not None:  # app images that deploy tests built on this machine
        proc = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                              text=True, timeout=60)
        images = [i for i in proc.stdout.split() if i.startswith(prefix + "/" if exact else prefix)]
        if images:
            subprocess.run(["docker", "rmi", "-f", *images], capture_output=True, timeout=300)
    left = leftovers(prefix, exact)
    if left["container"]:
        subprocess.run(["docker", "rm", "-f", *left["container"]], capture_output=True, timeout=300)
    if left["network"]:
        subprocess.run(["docker", "network", "rm", *left["network"]], capture_output=True, timeout=120)
    if left["volume"]:
        subprocess.run(["docker", "volume", "rm", "-f", *left["volume"]], capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def local_hosts(tmp_path_factory):
    tag = os.environ.get("SC_TEST_TAG") or secrets.token_hex(3)
    factory = HostFactory(tmp_path_factory.mktemp("hosts"), tag)
    atexit.register(factory.cleanup)
    previous = {}

    def on_signal(signum, frame):
        factory.cleanup()
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, frame)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield factory
    finally:
        factory.cleanup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
