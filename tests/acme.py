"""Pebble (Let's Encrypt's ACME test server, Debian's `pebble` package) for the edge's HTTPS tests.

It runs in a container on the local hosts' project network and resolves names through the package's
mock DNS server (pebble-challtestsrv): the test names to the public host's address, every other name to
nothing (so "does not resolve" needs no real DNS). It issues certificates that live `validity` seconds, and is labelled like the hosts so the harness removes it with them. The image is
built once from the local host base image and kept (its tag is a hash of its recipe)."""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from stagecraft.commands.local_hosts import BASE_ALIAS
from stagecraft.deploy.probe import fetch
from tests.hosts import LocalEnv, example_files

DOCKERFILE = f"""\
FROM {BASE_ALIAS}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pebble \\
 && rm -rf /var/lib/apt/lists/*
"""
PAGE = "<!doctype html><title>Back soon</title><h1>blue is resting</h1>\n"
IMAGE = f"stagecraft-test/pebble:{hashlib.sha256(DOCKERFILE.encode()).hexdigest()[:12]}"


def docker(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=600, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} failed: {proc.stderr[-1000:]}")
    return proc


@dataclass
class Pebble:
    name: str
    address: str
    workdir: Path

    @property
    def directory(self) -> str:
        return f"https://{self.address}:14000/dir"

    @property
    def listener_ca(self) -> Path:
        """The CA of pebble's own HTTPS listener (edge.acme.ca_file of the test projects)."""
        return self.workdir / "listener.pem"

    def root(self) -> str:
        """The root that signs the certificates pebble issues (new at every start): what clients trust."""
        context = ssl.create_default_context(cafile=str(self.listener_ca))
        import urllib.request

        with urllib.request.urlopen(f"https://{self.address}:15000/roots/0", context=context, timeout=10) as resp:
            return resp.read().decode()

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.root())

    def stop(self) -> None:
        docker("rm", "-f", self.name, check=False)


def start(name: str, network: str, labels: dict, names: dict[str, str], workdir: Path, validity: int) -> Pebble:
    """names: host name -> address pebble resolves it to (the public host's address)."""
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        docker("build", "-t", IMAGE, "-", input=DOCKERFILE)
    workdir.mkdir(parents=True, exist_ok=True)
    argv = ["run", "-d", "--name", name, "--network", network, "-v", f"{workdir}:/x"]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    docker(*argv, IMAGE, "sleep", "infinity")
    docker("exec", "-d", name, "sh", "-c", "exec pebble-challtestsrv -defaultIPv4 '' -defaultIPv6 '' "
           "-dns01 127.0.0.1:8053 -http01 '' -https01 '' -doh '' -tlsalpn01 '' -management 127.0.0.1:8055 "
           "> /x/dns.log 2>&1")
    records = json.dumps(names)
    docker("exec", name, "python3", "-c", f"""
import json, time, urllib.request
for _ in range(100):
    try:
        for host, ip in json.loads({records!r}).items():
            body = json.dumps({{"host": host, "addresses": [ip]}}).encode()
            urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8055/add-a", data=body), timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("the mock DNS server did not start")
""")
    address = docker("inspect", "--format", f"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}",
                     name).stdout.strip()
    # Pebble's own HTTPS listener needs a certificate naming the address the edges reach it at.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pebble",
                    "-addext", f"subjectAltName=IP:{address}", "-keyout", str(workdir / "listener.key"),
                    "-out", str(workdir / "listener.pem")], check=True, capture_output=True, timeout=60)
    (workdir / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
        "certificate": "/x/listener.pem", "privateKey": "/x/listener.key", "httpPort": 80, "tlsPort": 443,
        "ocspResponderURL": "", "externalAccountBindingRequired": False,
        "certificateValidityPeriod": validity}}))
    docker("exec", "-d", "-e", "PEBBLE_VA_NOSLEEP=1", "-e", "PEBBLE_WFE_NONCEREJECT=0", name, "sh", "-c",
           "exec pebble -config /x/pebble.json -dnsserver 127.0.0.1:8053 > /x/pebble.log 2>&1")
    pebble = Pebble(name=name, address=address, workdir=workdir)
    deadline = time.monotonic() + 30
    while True:
        try:
            pebble.root()
            return pebble
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"pebble did not start: {(workdir / 'pebble.log').read_text()[-1000:]}")
            time.sleep(0.3)


class Project(LocalEnv):
    def https(self, name: str, path: str = "/", context: ssl.SSLContext | None = None):
        return fetch(f"https://{name}{path}", self.gw, context=context or self.context, timeout=10)

    def get(self, name: str) -> str:
        status, body, _ = self.https(name)
        if status != 200:
            raise AssertionError(f"{name}: HTTP {status}")
        return body.decode()


def shared_hosts(factory, name: str) -> LocalEnv:
    """app-1 and a public gw-1 set up by `infra up` of a project that routes a service on the app role,
    so the firewall admits the gateway to app-1's edge (port 8000); the test projects then deploy to
    these hosts with the ssh driver."""
    env = factory.create(name, {"app-1": ["app"], "gw-1": ["gateway"]}, files=example_files("web"), up=False,
                         extra_config="services:\n  web:\n    port: 8080\n")
    text = env.config_path.read_text()
    env.config_path.write_text(text.replace("  app:\n    public: false\n", "  app:\n    public: false\n    services: [web]\n"))
    env.up()
    return env


def make_project(local_hosts, base: LocalEnv, pebble: Pebble, name: str, names: list[str]) -> Project:
    """A project of the example's web service on `base`'s hosts app-1 and gw-1 (driver ssh, so several
    projects share the hosts), its names served over HTTPS with certificates from `pebble`."""
    project = f"{local_hosts.prefix}{name}"
    project_dir = local_hosts.base_dir / name
    project_dir.mkdir(parents=True)
    for rel, text in example_files("web").items():
        (project_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (project_dir / rel).write_text(text)
    (project_dir / "pebble-listener.pem").write_text(pebble.listener_ca.read_text())
    (project_dir / "maintenance.html").write_text(PAGE)
    ssh = {"key": str(base.key_file), "known_hosts": str(base.state_dir / "known_hosts" / base.env)}
    config = {
        "version": 1, "project": {"name": project},
        "environments": {"shared": {"driver": "ssh", "ssh": ssh, "hosts": {
            "app-1": {"roles": ["app"], "address": base.hosts["app-1"]},
            "gw-1": {"roles": ["gateway"], "address": base.hosts["gw-1"]}}}},
        "roles": {"app": {"services": ["web"]}, "gateway": {"public": True}},
        "services": {"web": {"port": 8080, "public": {"host": names, "hsts": True},
                             "rollout": {"strategy": "rolling", "healthcheck_timeout": 30, "drain_seconds": 1}}},
        "edge": {"acme": {"directory": pebble.directory, "ca_file": "pebble-listener.pem", "email": "ops@example.test",
                          "renew_interval": 1, "cert_timeout": 30},
                 "maintenance": {"page": "maintenance.html"}},
    }
    (project_dir / "stagecraft.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = Project(name=name, project=project, project_dir=project_dir, env="shared", hosts=dict(base.hosts),
                  roles={"app-1": ["app"], "gw-1": ["gateway"]})
    env.gw = base.hosts["gw-1"]
    return env
