"""ssh to a host of the rendered inventory (pure: argv only)."""

from __future__ import annotations

import shlex


def ssh_argv(hostvars: dict) -> list[str]:
    """ssh to a host with the connection variables of the rendered inventory."""
    argv = ["ssh", "-o", "BatchMode=yes", "-p", str(hostvars.get("ansible_port", 22))]
    if hostvars.get("ansible_ssh_private_key_file"):
        argv += ["-i", hostvars["ansible_ssh_private_key_file"]]
    argv += shlex.split(hostvars.get("ansible_ssh_common_args", ""))
    return argv + [f"{hostvars.get('ansible_user', 'root')}@{hostvars['ansible_host']}"]
