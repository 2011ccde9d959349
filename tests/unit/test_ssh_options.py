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
    assert "UserKnownHostsFile=/p/kh with space" in pairs
    assert "ForwardAgent=no" in pairs and "IdentitiesOnly=yes" in pairs
    assert opts[-2:] == ["-o", "ProxyJump=a b"]
    # What Ansible gets back after splitting ansible_ssh_common_args is the same list.
    assert shlex.split(ssh.common_args(opts)) == opts


def test_argv_uses_the_option_list_not_a_reparsed_string():
    hv = {"ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "deploy",
          "ansible_ssh_private_key_file": "/k", ssh.OPTIONS_VAR: ssh.options(Path("/kh"))}
    argv = ssh.argv(hv)
    assert argv[:5] == ["ssh", "-o", "BatchMode=yes", "-p", "2222"]
    assert argv[-1] == "deploy@10.0.0.5"
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
