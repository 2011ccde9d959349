"""End to end on DigitalOcean's stand-in: `infra up -e do` creates droplets in the emulator, each backed by
a real Debian 13 host from the local driver's builders; Stagecraft waits for SSH, runs the host roles
(bootstrap, firewall, volumes) over real SSH, then `deploy` ships the example app to the droplets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from stagecraft.commands import local_hosts as cmd
from stagecraft.drivers import docker_cli
from stagecraft.testing.do_emulator import Emulator, cloud_config_host_keys
from tests.hosts import example_files, remove_resources

pytestmark = pytest.mark.hosts
STAGECRAFT = str(Path(sys.executable).parent / "stagecraft")
TOKEN = "dop_v1_e2e-canary-51c0ffee"


class Backing:
    """Starts one local host container per droplet, on a network of its own (labels make cleanup find it)."""

    def __init__(self, project: str):
        from stagecraft.drivers.local import ensure_base_image

        self.project, self.env = project, "dobacking"
        self.image = ensure_base_image(lambda msg: None)
        self.lock = threading.Lock()
        docker_cli.docker(*cmd.network_create_argv(project, self.env)[1:])

    def start(self, name: str, public_keys: list[str], user_data: str | None) -> str:
        container = cmd.container_name(self.project, self.env, name)
        with self.lock:
            for volume in cmd.volume_names(self.project, self.env, name).values():
                docker_cli.docker(*cmd.volume_create_argv(self.project, self.env, name, volume)[1:])
            docker_cli.docker(*cmd.run_argv(self.project, self.env, name, [], self.image, public_keys[0],
                                            tun=os.path.exists("/dev/net/tun"))[1:])
        host_keys = cloud_config_host_keys(user_data)
        if host_keys:  # as cloud-init does: the given host key only, then sshd reloads
            subprocess.run(["docker", "exec", "-i", "-e", f"PUB={host_keys['ed25519_public']}", container, "sh", "-c",
                            "while [ ! -s /run/sshd.pid ]; do sleep 0.1; done; umask 077; "
                            "cat > /etc/ssh/ssh_host_ed25519_key; echo \"$PUB\" > /etc/ssh/ssh_host_ed25519_key.pub; "
                            "rm -f /etc/ssh/ssh_host_rsa_key* /etc/ssh/ssh_host_ecdsa_key*; "
                            "kill -HUP \"$(cat /run/sshd.pid)\""],
                           input=host_keys["ed25519_private"], text=True, check=True, timeout=120)
        info = docker_cli.inspect(container)[0]
        return info["NetworkSettings"]["Networks"][cmd.network_name(self.project, self.env)]["IPAddress"]

    def stop(self, name: str) -> None:
        docker_cli.docker("rm", "-f", cmd.container_name(self.project, self.env, name), check=False)


def test_droplets_bootstrap_and_deploy(local_hosts, tmp_path):
    project = f"{local_hosts.prefix}do"
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    backing = Backing(project)
    emu = Emulator(token=TOKEN, active_after=1.0, backing=(backing.start, backing.stop),
                   ssh_keys=[("deploy", "aa:bb", key.with_suffix(".pub").read_text().strip())])
    try:
        work = tmp_path / "app"
        for rel, text in example_files("web").items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        (work / ".env.do").write_text("APP_HEALTHY=true\n")
        config = {
            "version": 1, "project": {"name": project},
            "environments": {"do": {"driver": "digitalocean", "env_file": ".env.do",
                                    "ssh": {"key": str(key)},
                                    # No internet: the droplets' Docker comes from Debian's packages.
                                    "vars": {"bootstrap_docker_source": "distro"},
                                    "hosts": {"app-1": {"roles": ["app"]}, "gw-1": {"roles": ["gateway"]}}}},
            "roles": {"app": {"services": ["web"]}, "gateway": {"public": True}},
            "services": {"web": {"port": 8080, "rollout": {"strategy": "rolling", "healthcheck_timeout": 30}}},
            "cloud": {"digitalocean": {"ssh_keys": ["deploy"], "token_env": "SC_E2E_DO_TOKEN"}},
        }
        (work / "stagecraft.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        environ = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
        environ.update({"SC_E2E_DO_TOKEN": TOKEN, "STAGECRAFT_DO_API_URL": emu.url, "STAGECRAFT_NO_COLOR": "1",
                        "STAGECRAFT_STATE_DIR": str(work / ".stagecraft"), "STAGECRAFT_DO_POLL_SECONDS": "0.5"})

        def cli(*args):
            proc = subprocess.run([STAGECRAFT, *args, "-e", "do"], cwd=work, env=environ, text=True,
                                  capture_output=True, timeout=1800)
            assert TOKEN not in proc.stdout + proc.stderr
            assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            return proc

        up = json.loads(cli("infra", "up", "-o", "json").stdout)
        assert {h["name"]: h["action"] for h in up["hosts"]} == {"app-1": "created", "gw-1": "created"}
        assert all(h["configure"]["failed"] == 0 and h["configure"]["unreachable"] == 0 for h in up["hosts"])
        addresses = {h["name"]: h["address"] for h in up["hosts"]}

        # Real SSH into the droplet's backing host, checked strictly against the host key Stagecraft generated
        # and recorded before the first contact: the bootstrap role installed Docker with Compose v2.
        known_hosts = work / ".stagecraft" / "known_hosts" / "do"
        assert len(known_hosts.read_text().splitlines()) == 2 and oct(known_hosts.stat().st_mode)[-3:] == "600"
        ssh = ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
               "-o", f"UserKnownHostsFile={known_hosts}", f"root@{addresses['app-1']}", "docker compose version"]
        assert "Docker Compose version" in subprocess.run(ssh, capture_output=True, text=True, timeout=120).stdout

        again = json.loads(cli("infra", "up", "-o", "json").stdout)
        assert {h["action"] for h in again["hosts"]} == {"unchanged"} and again["changed"] is False

        cli("deploy", "-o", "json")
        with urllib.request.urlopen(f"http://{addresses['gw-1']}/", timeout=10) as resp:
            assert resp.status == 200

        cli("infra", "down", "--yes")
        assert emu.droplets == {}
        assert not emu.violations, "\n".join(emu.violations)
    finally:
        emu.close()
        remove_resources(project, exact=True)  # its own backing hosts; the session's other hosts stay
