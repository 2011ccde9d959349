"""The one set of ssh options: strict host keys against the environment's known_hosts, no agent forwarding."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from stagecraft.commands import ssh


def test_known_hosts_path_default_and_configured(tmp_path):
    assert ssh.known_hosts_path(tmp_path / ".stagecraft", "prod") == tmp_path / ".stagecraft" / "known_hosts" / "prod"
    assert ssh.known_hosts_path(tmp_path, "prod", "keys/kh", base_dir=Path("/p")) == Path("/p/keys/kh")
    assert ssh.known_hosts_path(tmp_path, "prod", "/etc/kh", base_dir=Path("/p")) == Path("/etc/kh")


def test_options_are_strict_first_and_user_args_last():
    opts = ssh.options(Path("/p/kh with space"), "-o StrictHostKeyChecking=no -o ProxyJump='a b'")
    pairs = [opts[i + 1] for i in range(0, len(opts), 2) if opts[i] == "-o"]
    assert pairs.index("StrictHostKeyChecking=yes") < pairs.index("StrictHostKeyChecking=no")
    assert 'UserKnownHostsFile="/p/kh with space"' in pairs  # one file, as ssh_config reads quotes
    assert "ForwardAgent=no" in pairs and "IdentitiesOnly=yes" in pairs
    assert opts[-2:] == ["-o", "ProxyJump=a b"]
    # What Ansible gets back after splitting ansible_ssh_common_args is the same list.
    assert shlex.split(ssh.common_args(opts)) == opts


def test_argv_uses_the_option_list_not_a_reparsed_string():
    hv = {"ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "deploy",
          "ansible_ssh_private_key_file": "/k", ssh.OPTIONS_VAR: ssh.options(Path("/kh"))}
    argv = ssh.argv(hv)
    assert argv[:5] == ["ssh", "-o", "BatchMode=yes", "-p", "2222"]
    assert argv[-4:] == ["-l", "deploy", "--", "10.0.0.5"]
    assert "StrictHostKeyChecking=yes" in argv and "ForwardAgent=no" in argv


def test_openssh_takes_our_values(tmp_path):
    """ssh -G prints the effective configuration: ours win over a user's weaker extra_args."""
    opts = ssh.options(tmp_path / "kh", "-o StrictHostKeyChecking=no -o ForwardAgent=yes")
    out = subprocess.run(["ssh", "-G", *opts, "root@192.0.2.1"], capture_output=True, text=True, check=True).stdout
    assert "stricthostkeychecking true" in out
    assert "forwardagent no" in out
    assert f"userknownhostsfile {tmp_path / 'kh'}" in out


def test_fingerprint_matches_ssh_keygen(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    kind, blob = (tmp_path / "k.pub").read_text().split()[:2]
    expected = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True, text=True,
                              check=True).stdout.split()[1]
    assert ssh.fingerprint(blob) == expected


def test_known_hosts_name_brackets_other_ports():
    assert ssh.known_hosts_name("10.0.0.1", 22) == "10.0.0.1"
    assert ssh.known_hosts_name("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_dotenv_quotes_every_byte_and_refuses_nul():
    import pytest

    from stagecraft.commands import dotenv
    from stagecraft.errors import UserError

    text = dotenv.render(["A", "B", "C"], {"A": 'x "q" $HOME\\n\nend #c', "B": "", "C": "it's ✓"})
    assert text == 'A="x \\"q\\" \\$HOME\\\\n\\nend #c"\nB=""\nC="it\'s ✓"\n'
    with pytest.raises(UserError, match="secret A: contains a NUL byte"):
        dotenv.render(["A"], {"A": "a\x00b"})


def test_inventory_output_redacts_values_interpolated_from_secrets(tmp_path):
    import os
    import sys

    (tmp_path / "stagecraft.yml").write_text(
        "version: 1\nproject: {name: p}\nsecrets: {keys: [DB_PASS]}\nenvironments:\n  prod:\n    driver: ssh\n"
        "    vars: {db_url: 'postgres://u:${DB_PASS}@db/x'}\n"
        "    hosts: {app-1: {roles: [app], address: 192.0.2.10}}\nroles: {app: {}}\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}, "DB_PASS": "pw-9f8e7d6c"}
    for fmt in ("text", "json"):
        proc = subprocess.run([str(Path(sys.executable).parent / "stagecraft"), "inventory", "-e", "prod", "-o", fmt],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "pw-9f8e7d6c" not in proc.stdout and "postgres://u:<redacted>@db/x" in proc.stdout


def test_build_secrets_go_through_buildkit_and_secret_build_args_are_refused(tmp_path):
    import pytest

    from stagecraft.commands.build import build_argv, check_build_args
    from stagecraft.config.services import Build
    from stagecraft.errors import UserError

    override = Build(args={"MODE": "prod"}, secrets=("NPM_TOKEN",))
    argv = build_argv("r:1", tmp_path, "./web", override)
    assert argv[argv.index("--secret") + 1] == "id=NPM_TOKEN,env=NPM_TOKEN"
    assert not any("tok-" in a for a in argv)
    check_build_args("web", "./web", override, {"NPM_TOKEN": "tok-123456"})
    with pytest.raises(UserError, match=r"services.web.build.args.URL: is the secret NPM_TOKEN") as info:
        check_build_args("web", "./web", Build(args={"URL": "https://x:tok-123456@h"}), {"NPM_TOKEN": "tok-123456"})
    assert "build.secrets" in info.value.hint and "--mount=type=secret,id=NPM_TOKEN" in info.value.hint
    with pytest.raises(UserError, match="build.args.NPM_TOKEN"):
        check_build_args("web", {"args": {"NPM_TOKEN": "${NPM_TOKEN}"}}, None, {"NPM_TOKEN": "tok-123456"})


MESH_CONFIG = """
version: 1
project: {name: shop}
environments:
  prod:
    driver: ssh
    ssh: {port: 2222, user: deploy}
    hosts: {app-1: {roles: [app], address: 10.0.0.1}}
roles: {app: {services: [web]}}
network:
  provider: tailscale
  tailscale: {auth_key_env: TS_KEY, tailnet_domain: tail1234.ts.net}
"""


def _ssh_argv(tmp_path, run_cli, monkeypatch, config: str, *args: str) -> list[str]:
    """The argv `stagecraft ssh` hands to exec (captured, not run)."""
    import os

    (tmp_path / "stagecraft.yml").write_text(config)
    seen = []
    monkeypatch.setattr(os, "execvp", lambda prog, argv: seen.append(argv))
    code, _, err = run_cli(["-c", str(tmp_path / "stagecraft.yml"), "ssh", "-e", "prod", "app-1", *args],
                           env={"STAGECRAFT_STATE_DIR": str(tmp_path / ".stagecraft")})
    assert code == 0, err
    return seen[0]


def test_ssh_goes_over_the_mesh_name_and_checks_the_inventory_address_key(tmp_path, run_cli, monkeypatch):
    """No mesh runs in the tests: this proves the argv (and that OpenSSH reads it as meant), not a login."""
    argv = _ssh_argv(tmp_path, run_cli, monkeypatch, MESH_CONFIG, "--", "df", "-h", "/srv data")
    assert argv[-5:] == ["-l", "deploy", "--", "shop-prod-app-1.tail1234.ts.net", "df -h '/srv data'"]
    assert "HostKeyAlias=[10.0.0.1]:2222" in argv  # the key `hosts trust` recorded for the address
    effective = subprocess.run(argv[:1] + ["-G"] + argv[1:-1], capture_output=True, text=True,
                               check=True).stdout.splitlines()
    assert "hostname shop-prod-app-1.tail1234.ts.net" in effective and "port 2222" in effective
    assert "user deploy" in effective
    assert "hostkeyalias [10.0.0.1]:2222" in effective and "stricthostkeychecking true" in effective
    # --no-mesh, or no mesh at all: the inventory address.
    argv = _ssh_argv(tmp_path, run_cli, monkeypatch, MESH_CONFIG, "--no-mesh", "--", "true")
    assert argv[-4:] == ["deploy", "--", "10.0.0.1", "true"]
    assert not any(a.startswith("HostKeyAlias") for a in argv)
    plain = MESH_CONFIG.split("network:")[0]
    assert _ssh_argv(tmp_path, run_cli, monkeypatch, plain, "--", "true")[-4:] == ["deploy", "--", "10.0.0.1", "true"]


def test_commands_run_as_root_through_sudo_for_another_user(tmp_path):
    """What a remote login shell does with the command: a stand-in sudo (drops -n, runs the rest) shows
    the script arrives intact, quotes and all; root runs it as is."""
    script = "printf '%s|' \"a'b\" \"$0\" 'c  d'; echo"
    assert ssh.as_root({"ansible_user": "root"}, script) == script
    wrapped = ssh.as_root({"ansible_user": "deploy"}, script)
    assert wrapped.startswith("sudo -n sh -c ")
    (tmp_path / "sudo").write_text('#!/bin/sh\n[ "$1" = -n ] || exit 99\nshift\nexec "$@"\n')
    (tmp_path / "sudo").chmod(0o755)
    out = subprocess.run(["sh", "-c", wrapped], capture_output=True, text=True, check=True,
                         env={"PATH": f"{tmp_path}:/usr/bin:/bin"}).stdout
    assert out == "a'b|sh|c  d|\n"
    hv = {"ansible_host": "10.0.0.5", "ansible_user": "deploy"}
    assert ssh.command_argv(hv, "docker load -q")[-4:] == ["deploy", "--", "10.0.0.5", "sudo -n sh -c 'docker load -q'"]


def test_the_role_scenarios_check_host_keys_too():
    """Molecule turns host key checking off by default (its ansible.cfg and its ssh options): every
    scenario puts it back on, against the keys the local driver recorded, and nothing under molecule/
    turns it off again."""
    import yaml

    root = Path(__file__).resolve().parents[2] / "molecule"
    scenarios = sorted(root.glob("*/molecule.yml"))
    assert scenarios
    for path in scenarios:
        data = yaml.safe_load(path.read_text())
        assert data["ansible"]["env"]["ANSIBLE_HOST_KEY_CHECKING"] == "true", path
        options = data["driver"]["ssh_connection_options"]
        assert "-o StrictHostKeyChecking=yes" in options, path
        assert any(o.startswith("-o UserKnownHostsFile=${MOLECULE_EPHEMERAL_DIRECTORY}/") for o in options), path
    loose = [str(p) for p in root.rglob("*.yml") if "StrictHostKeyChecking=no" in p.read_text()
             or "UserKnownHostsFile=/dev/null" in p.read_text()]
    assert loose == []
