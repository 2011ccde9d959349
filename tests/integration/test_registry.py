"""Image transport through a real private registry (Debian's docker-registry, TLS from a throwaway CA,
htpasswd auth): deploy pushes from this machine, hosts trust the CA (bootstrap role), log in under
no_log and pull; a redeploy pulls nothing; a wrong password fails clearly; no credential leaks."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from stagecraft.commands import local_hosts as names
from tests.hosts import example_files

pytestmark = pytest.mark.hosts
USER, PASSWORD = "deployer", "reg-canary-0b7d41e9"
PULL_TASK = "Pull the release's images that are not on the host yet"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Registry:
    """docker-registry on this machine, serving TLS for `ip` with a CA made here, behind htpasswd."""

    def __init__(self, workdir: Path, ip: str):
        self.dir, self.ip, self.port = workdir, ip, free_port()
        self.address = f"{ip}:{self.port}"
        workdir.mkdir(parents=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stagecraft test CA",
                "-keyout", "ca.key", "-out", "ca.crt", cwd=workdir)
        (workdir / "san.ext").write_text(f"subjectAltName=IP:{ip}\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={ip}", "-keyout", "server.key",
                "-out", "server.csr", cwd=workdir)
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=workdir)
        htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
        (workdir / "htpasswd").write_text(htpasswd.stdout)
        (workdir / "config.yml").write_text(yaml.safe_dump({
            "version": 0.1, "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
            "http": {"addr": f"0.0.0.0:{self.port}",
                     "tls": {"certificate": str(workdir / "server.crt"), "key": str(workdir / "server.key")}},
            "auth": {"htpasswd": {"realm": "stagecraft-test", "path": str(workdir / "htpasswd")}},
        }))
        self.log = open(workdir / "registry.log", "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(workdir / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # This machine's Docker trusts the CA for this registry only (no daemon restart needed).
        self.certs_d = Path("/etc/docker/certs.d") / self.address
        self.certs_d.mkdir(parents=True, exist_ok=True)
        shutil.copy(workdir / "ca.crt", self.certs_d / "ca.crt")
        for _ in range(50):
            try:
                self.get("/v2/")
                break
            except OSError:
                time.sleep(0.2)

    def get(self, path: str) -> dict:
        context = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req = urllib.request.Request(f"https://{self.address}{path}", headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(req, context=context, timeout=5) as resp:
            return json.loads(resp.read() or b"{}")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.certs_d, ignore_errors=True)


@pytest.fixture(scope="module")
def shop(local_hosts, tmp_path_factory):
    files = example_files("web")
    env = local_hosts.create("registry", {"web-1": ["gateway"]}, files=files, up=False)
    data = yaml.safe_load(env.config_path.read_text())
    data["roles"]["gateway"]["services"] = ["web"]  # placed from the start: an unplaced service is an error
    data["services"] = {"web": {"port": 8080, "rollout": {"strategy": "rolling", "healthcheck_timeout": 30}}}
    env.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    env.cli("infra", "up", "-e", "local", "--no-roles")  # the network first: its gateway is the registry's address
    network = json.loads(subprocess.run(["docker", "network", "inspect", names.network_name(env.project, "local")],
                                        capture_output=True, text=True, check=True).stdout)[0]
    registry = Registry(tmp_path_factory.mktemp("registry") / "r", network["IPAM"]["Config"][0]["Gateway"])
    try:
        shutil.copy(registry.dir / "ca.crt", env.project_dir / "registry-ca.crt")
        data = yaml.safe_load(env.config_path.read_text())
        data["project"].update({"registry": f"{registry.address}/{env.project}", "images": {
            "transport": "registry", "registry_username_env": "SC_REG_USER", "registry_password_env": "SC_REG_PASS",
            "registry_ca_file": "registry-ca.crt"}})
        env.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        env.up()  # the host roles now: bootstrap installs Docker and trusts the registry's CA
        env.registry = registry
        env.docker_config = tmp_path_factory.mktemp("docker-config")  # this machine's login stays in the test
        yield env
    finally:
        registry.close()


def deploy(env, version: str, *args: str, password: str = PASSWORD, check: bool = True):
    return env.cli("deploy", "-e", "local", "--version", version, "-o", "json", *args, check=check,
                   env={"SC_REG_USER": USER, "SC_REG_PASS": password, "DOCKER_CONFIG": str(env.docker_config)})


def pull_changes(env, release: str) -> list[int]:
    with sqlite3.connect(env.state_dir / "state.db") as db:
        return [row[0] for row in db.execute("SELECT changed FROM events WHERE release_id=? AND task=? "
                                             "AND event='runner_on_ok'", (release, PULL_TASK))]


def test_deploy_pushes_and_hosts_pull_from_the_registry(shop):
    data = json.loads(deploy(shop, "v1").stdout)
    url = f"http://{shop.hosts['web-1']}/"
    assert data["urls"][url].startswith("200 shop v1")
    assert f"{shop.project}/web" in shop.registry.get("/v2/_catalog")["repositories"]
    assert shop.registry.get(f"/v2/{shop.project}/web/tags/list")["tags"] == ["v1"]
    ref = f"{shop.registry.address}/{shop.project}/web:v1"
    digests = shop.ssh("web-1", f"docker image inspect --format '{{{{json .RepoDigests}}}}' {ref}").stdout
    assert f"{shop.registry.address}/{shop.project}/web@sha256:" in digests  # pulled, not loaded over SSH
    assert shop.ssh("web-1", f"test -f /etc/docker/certs.d/{shop.registry.address}/ca.crt", check=False).returncode == 0
    assert pull_changes(shop, data["release"]) == [1]


def test_redeploy_pulls_nothing(shop):
    data = json.loads(deploy(shop, "v1").stdout)
    assert pull_changes(shop, data["release"]) == []  # the host runs v1 already: no rollout at all
    forced = json.loads(deploy(shop, "v1", "--force").stdout)
    assert pull_changes(shop, forced["release"]) == [0]  # rolled anyway: the tag is there, nothing pulled


def test_wrong_password_fails_clearly_without_leaking(shop):
    proc = deploy(shop, "v2", password="wrong-" + PASSWORD[::-1], check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"docker login {shop.registry.address} failed" in proc.stderr and "Traceback" not in proc.stderr
    assert PASSWORD[::-1] not in proc.stdout + proc.stderr


def test_credentials_stay_out_of_output_state_and_artifacts(shop):
    proc = deploy(shop, "v3")
    assert PASSWORD not in proc.stdout + proc.stderr
    for path in shop.state_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert os.environ.get("SC_REG_PASS") is None
