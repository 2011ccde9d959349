"""Host keys on real hosts: Ansible's effective ssh command line is strict, `ssh` hosts are trusted only
through `hosts trust`, and an impostor sshd on a known host's address (different host key, accepts our
client, records every command and byte it is sent) makes deploy, infra up and migrate run stop with exit 2
before anything is sent — for the `local` and the `ssh` driver."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import stat
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.hosts import ROOT, STAGECRAFT

pytestmark = pytest.mark.hosts
CANARY = "trust-canary-4f19c2e8"
IMPOSTOR = "/root/impostor"


def config(project: str, address: str | None) -> dict:
    envs = {"local": {"driver": "local", "hosts": {"db-1": {"roles": ["app"]}}}}
    if address:
        envs["remote"] = {"driver": "ssh", "ssh": {"key": ".stagecraft/ssh/id_ed25519"},
                          "hosts": {"db-1": {"roles": ["app"], "address": address}}}
    return {
        "version": 1, "project": {"name": project},
        "environments": envs,
        "roles": {"app": {"services": ["web"]}},
        "firewall": {"enabled": False},  # the impostor listens on a redirected port
        "services": {"web": {"port": 8080, "secrets": ["SHOP_SECRET"],
                             "rollout": {"strategy": "rolling", "healthcheck_timeout": 30}}},
        "databases": {"main": {"connection_env": "TRUST_DATABASE_URL", "service": "web",
                               "migrations": {"engine": "raw", "path": "db/migrations", "strategy": "manual",
                                              "run_in": "web"}}},
    }


@pytest.fixture(scope="module")
def site(local_hosts):
    files = {rel: (ROOT / "examples" / "shop" / rel).read_text() for rel in ("web/Dockerfile", "web/start.sh")}
    files["docker-compose.yml"] = textwrap.dedent("""\
        services:
          web:
            build: ./web
            environment:
              APP_VERSION: ${IMAGE_TAG:-dev}
    """)
    files["db/migrations/001_t.sql"] = "CREATE TABLE t (id int);\n"
    env = local_hosts.create("trust", {"db-1": ["app"]}, files=files, up=False)
    env.config_path.write_text(yaml.safe_dump(config(env.project, None), sort_keys=False))
    env.up()
    env.config_path.write_text(yaml.safe_dump(config(env.project, env.hosts["db-1"]), sort_keys=False))
    return env


def secrets_env() -> dict:
    return {"SHOP_SECRET": CANARY, "TRUST_DATABASE_URL": f"postgresql://shop:{CANARY}@web:5432/shop"}


def host_exec(env, script: str, check: bool = True) -> subprocess.CompletedProcess:
    """A shell on the host container through Docker (not SSH: the impostor owns port 22)."""
    container = subprocess.run(["docker", "ps", "-q", "--filter", f"label=stagecraft.project={env.project}",
                                "--filter", "label=stagecraft.host=db-1"], capture_output=True, text=True,
                               check=True).stdout.split()[0]
    return subprocess.run(["docker", "exec", "-i", container, "sh", "-c", script], capture_output=True,
                          text=True, check=check)


def real_fingerprint(env) -> str:
    return host_exec(env, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]


@contextlib.contextmanager
def impostor(env):
    """An sshd with its own host key on port 2222 of the host, port 22 redirected to it. It accepts our
    client key and records every command and everything sent on stdin."""
    host_exec(env, textwrap.dedent(f"""\
        set -e
        mkdir -p {IMPOSTOR} && cd {IMPOSTOR} && rm -f received log
        [ -f host_key ] || ssh-keygen -q -t ed25519 -N '' -f host_key
        cp /root/.ssh/authorized_keys authorized_keys
        printf '#!/bin/sh\\n{{ echo "COMMAND: $SSH_ORIGINAL_COMMAND"; cat; }} >> {IMPOSTOR}/received\\n' > record
        chmod 755 record
        cat > sshd_config <<EOF
        Port 2222
        HostKey {IMPOSTOR}/host_key
        PidFile {IMPOSTOR}/pid
        LogLevel DEBUG3
        PermitRootLogin yes
        AuthorizedKeysFile {IMPOSTOR}/authorized_keys
        PasswordAuthentication yes
        PermitEmptyPasswords yes
        ForceCommand {IMPOSTOR}/record
        EOF
        /usr/sbin/sshd -f {IMPOSTOR}/sshd_config -E {IMPOSTOR}/log
        nft add table ip impostor
        nft add chain ip impostor pre '{{ type nat hook prerouting priority -100; }}'
        nft add rule ip impostor pre tcp dport 22 redirect to :2222
    """))
    try:
        yield
    finally:
        host_exec(env, f"nft delete table ip impostor; kill $(cat {IMPOSTOR}/pid)", check=False)


def impostor_saw(env) -> tuple[str, str]:
    """(what the impostor's sshd logged, what its sessions received)."""
    log = host_exec(env, f"cat {IMPOSTOR}/log").stdout
    received = host_exec(env, f"cat {IMPOSTOR}/received 2>/dev/null || true").stdout
    return log, received


def test_ansible_runs_ssh_with_strict_host_keys_and_no_agent(site):
    site.cli("infra", "up", "-e", "local", "-vvv", "--skip-bootstrap")
    runs = sorted((site.state_dir / "runs").iterdir())
    stdout = next((runs[-1] / "artifacts").iterdir()) / "stdout"
    execs = [line for line in stdout.read_text().splitlines() if "SSH: EXEC ssh" in line]
    assert execs, "no ssh command line in the -vvv output"
    for line in execs:
        assert "StrictHostKeyChecking=no" not in line
        assert "StrictHostKeyChecking=yes" in line and "ForwardAgent=no" in line
        assert f"UserKnownHostsFile={site.state_dir / 'known_hosts' / 'local'}" in line


def test_host_key_checks_never_get_this_machine_refused(site):
    """Debian 13's sshd refuses a source for a while once its connections that never log in add up
    (PerSourcePenalties; ssh-keyscan opens one per key type). Every command checks the host keys, so
    they must be checked by logging in: 25 checks in a row, then sshd still answers this machine."""
    from stagecraft import hostkeys, known_hosts

    from stagecraft.commands.ansible_data import plain

    hostvars = plain(json.loads(site.cli("inventory", "-e", "local", "-o", "json").stdout))["_meta"]["hostvars"]
    for _ in range(25):
        hostkeys._trusted.clear()  # as 25 separate commands would
        hostkeys.verify(None, hostvars)
    assert known_hosts.scan(site.hosts["db-1"], 22), "sshd refuses this machine after the host key checks"


def test_ssh_hosts_are_trusted_only_through_hosts_trust(site):
    proc = site.cli("deploy", "-e", "remote", check=False, env=secrets_env())
    assert proc.returncode == 1, proc.stderr
    assert "db-1" in proc.stderr and "not trusted yet" in proc.stderr and "hosts trust -e remote" in proc.stderr
    proc = site.cli("hosts", "trust", "-e", "remote", check=False)
    assert proc.returncode == 1 and "--yes" in proc.stderr
    assert real_fingerprint(site) in proc.stdout  # shown before asking
    data = json.loads(site.cli("hosts", "trust", "-e", "remote", "--yes", "-o", "json").stdout)
    assert data["written"] and data["hosts"][0]["status"] == "new"
    assert f"ssh-ed25519 {real_fingerprint(site)}" in data["hosts"][0]["offered"]
    kh = site.state_dir / "known_hosts" / "remote"
    assert stat.S_IMODE(kh.stat().st_mode) == 0o600 and stat.S_IMODE(kh.parent.stat().st_mode) == 0o700
    again = json.loads(site.cli("hosts", "trust", "-e", "remote", "-o", "json").stdout)
    assert again["hosts"][0]["status"] == "trusted" and not again["written"]


def test_the_impostor_records_what_a_careless_client_sends(site):
    """The control: without host key checking, the impostor gets the secret (so the tests below can fail)."""
    with impostor(site):
        subprocess.run(["ssh", "-i", str(site.key_file), "-o", "StrictHostKeyChecking=no", "-o",
                        "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"root@{site.hosts['db-1']}",
                        "cat > .env"], input=f"SHOP_SECRET={CANARY}\n", capture_output=True, text=True,
                       timeout=60)
        log, received = impostor_saw(site)
    assert CANARY in received and "Accepted publickey" in log


COMMANDS = {"deploy": ["deploy", "--version", "v1"], "infra up": ["infra", "up"], "migrate run": ["migrate", "run"]}


@pytest.mark.parametrize("env_name", ["local", "remote"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_impostor_gets_nothing(site, env_name, command):
    if not (site.state_dir / "known_hosts" / "remote").exists():
        site.cli("hosts", "trust", "-e", "remote", "--yes")
    with impostor(site):
        proc = site.cli(*COMMANDS[command], "-e", env_name, check=False, env=secrets_env())
        log, received = impostor_saw(site)
        offered = host_exec(site, f"ssh-keygen -lf {IMPOSTOR}/host_key.pub").stdout.split()[1]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "db-1" in proc.stderr and real_fingerprint(site) in proc.stderr and offered in proc.stderr
    assert ("infra up -e local" if env_name == "local" else "hosts trust -e remote --host db-1") in proc.stderr
    assert "Connection from" in log  # the impostor was asked (for its key) ...
    assert received == "" and "Accepted" not in log and "userauth" not in log.lower().replace("userauth-request", "")
    assert CANARY not in log  # ... and got nothing else


TRICKY = "multi\nINJECTED=1 #not a comment $HOME ${X} $$ \"dq\" 'sq' \\n back\\slash  spaced  ✓ pässwörd "


def test_containers_see_exactly_the_secret_bytes(site):
    """The hosts' .env quoting: newline, ` #`, `$`, quotes, backslashes, spaces and unicode arrive intact,
    nothing is injected, and the value is on this machine's disk nowhere."""
    site.cli("deploy", "-e", "local", "--version", "v2", "-o", "json", env={**secrets_env(), "SHOP_SECRET": TRICKY})
    cid = site.ssh("db-1", f"docker ps -q --filter label=com.docker.compose.project={site.project} "
                           "--filter label=com.docker.compose.service=web").stdout.split()[0]
    shell = f"docker exec {cid} /bin/busybox sh -c"
    assert site.ssh("db-1", f"""{shell} 'printf %s "$SHOP_SECRET"'""").stdout == TRICKY
    assert site.ssh("db-1", f"""{shell} 'echo "${{INJECTED-unset}}"'""").stdout == "unset\n"
    assert site.ssh("db-1", f"stat -c %a /srv/stagecraft/{site.project}/.env").stdout.strip() == "600"
    for path in site.state_dir.rglob("*"):
        if path.is_file():
            assert b"INJECTED=1 #not" not in path.read_bytes(), path


def test_retrust_after_a_rebuild_shows_both_fingerprints(site):
    """A legitimately rebuilt server (here: the impostor's key stands in for the new one): `hosts trust`
    shows expected and offered, records the new key on --yes, and the old one again afterwards."""
    site.cli("hosts", "trust", "-e", "remote", "--yes")
    with impostor(site):
        offered = host_exec(site, f"ssh-keygen -lf {IMPOSTOR}/host_key.pub").stdout.split()[1]
        shown = site.cli("hosts", "trust", "-e", "remote", check=False)
        assert shown.returncode == 1 and "changed" in shown.stdout
        assert offered in shown.stdout and real_fingerprint(site) in shown.stdout
        data = json.loads(site.cli("hosts", "trust", "-e", "remote", "--host", "db-1", "--yes", "-o", "json").stdout)
        assert data["written"] and data["hosts"][0]["status"] == "changed"
        kh = (site.state_dir / "known_hosts" / "remote").read_text()
        assert len([line for line in kh.splitlines() if line.startswith(site.hosts["db-1"] + " ")]) >= 1
        again = json.loads(site.cli("hosts", "trust", "-e", "remote", "-o", "json").stdout)
        assert again["hosts"][0]["status"] == "trusted"
    assert json.loads(site.cli("hosts", "trust", "-e", "remote", "-o", "json", check=False).stdout)["hosts"][0][
        "status"] == "changed"
    site.cli("hosts", "trust", "-e", "remote", "--yes")


def test_sigkill_during_deploy_leaves_the_secret_only_in_the_hosts_env(site):
    """kill -9 of the whole deploy (Stagecraft, ansible-playbook, ssh) at random points: the canary is on
    this machine's disk nowhere (state dir, run artifacts, temporary directories)."""
    rng = random.Random()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for i in range(3):
        before = set(tmp.glob("stagecraft-*"))
        proc = subprocess.Popen([STAGECRAFT, "deploy", "-e", "local", "--version", f"k{i}", "--force"],
                                cwd=site.project_dir, env=site.environ(secrets_env()), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=rng.uniform(2, 60))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        files = [p for p in site.state_dir.rglob("*") if p.is_file() and not p.is_symlink()]
        files += [p for d in set(tmp.glob("stagecraft-*")) - before for p in d.rglob("*") if p.is_file()]
        assert [str(p) for p in files if CANARY.encode() in p.read_bytes()] == []
        site.cli("lock", "release", "-e", "local", "--force", check=False)
