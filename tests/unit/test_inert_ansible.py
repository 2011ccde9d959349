"""Values reach real Ansible (ansible-core, ansible-runner) as data: a config value, a ${VAR} from the env
file, compose content, extra vars and a sealed secret holding `{{ lookup('pipe', ...) }}` or `{% ... %}` are
never templated (the command never runs) and arrive as the literal string."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import yaml

from stagecraft.commands.ansible_data import plain, to_yaml
from stagecraft.commands.inventory import render_inventory

BIN = Path(sys.executable).parent
PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"


def pipe(marker: Path, echo: str = "x") -> str:
    return "{{ lookup('pipe', 'touch %s; echo %s') }}" % (marker, echo)


def block(marker: Path) -> str:
    return "{%% for i in [1] %%}{{ lookup('pipe', 'touch %s') }}{%% endfor %%}" % marker


def ansible(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(Path(__file__).resolve().parents[2] / "collections"),
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "ANSIBLE_DEPRECATION_WARNINGS": "false"}
    proc = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_rendered_inventories_are_data_to_ansible(tmp_path, run_cli):
    """`stagecraft inventory` (YAML and -o json) for values the schema accepts, and render_inventory for
    values it refuses (defence in depth: a discovered address, a config built without the schema)."""
    pwned = tmp_path / "pwned"
    values = {"note": pipe(pwned.with_suffix(".vars")), "block": block(pwned.with_suffix(".block")),
              "envfile": pipe(pwned.with_suffix(".envfile"))}
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump({
        "version": 1, "project": {"name": "shop"}, "roles": {"app": {}},
        "environments": {"prod": {"driver": "ssh", "env_file": ".env.prod",
                                  "vars": {"note": values["note"], "nested": [{"k": values["block"]}],
                                           "from_env_file": "${HOSTILE}"},
                                  "hosts": {"app-1": {"roles": ["app"], "address": "10.0.0.1"}}}}}))
    (tmp_path / ".env.prod").write_text(f'HOSTILE="{values["envfile"]}"\n')
    code, text, err = run_cli(["inventory", "-e", "prod"], cwd=tmp_path)
    assert code == 0, err
    (tmp_path / "cli.yml").write_text(text)
    code, listing, err = run_cli(["inventory", "-e", "prod", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    # What the schema refuses, built without it: the connection variables themselves.
    from stagecraft.config.model import Config

    raw = Config.parse({"project": {"name": "raw"}, "roles": {"app": {}}, "environments": {"x": {
        "driver": "ssh", "ssh": {"user": pipe(pwned.with_suffix(".user"), "root")},
        "hosts": {"raw-1": {"roles": ["app"], "address": pipe(pwned.with_suffix(".address"), "10.0.0.2")}}}}},
        base_dir=str(tmp_path))
    (tmp_path / "raw.yml").write_text(to_yaml(render_inventory(raw, raw.environments["x"], {},
                                                               state_dir=tmp_path / "state")))
    (tmp_path / "dump").mkdir()
    ansible("ansible-playbook", "-i", "cli.yml", "-i", "raw.yml", str(PLAYBOOKS / "dump_vars.yml"),
            "-e", json.dumps({"dump_dir": str(tmp_path / "dump")}), cwd=tmp_path)

    assert not list(tmp_path.glob("pwned*")), "a value was templated: its command ran"
    app = json.loads((tmp_path / "dump" / "app-1.json").read_text())
    assert app["note"] == values["note"] and app["nested"] == [{"k": values["block"]}]
    assert app["from_env_file"] == values["envfile"]
    rawvars = json.loads((tmp_path / "dump" / "raw-1.json").read_text())
    assert rawvars["ansible_host"] == pipe(pwned.with_suffix(".address"), "10.0.0.2")
    assert rawvars["ansible_user"] == pipe(pwned.with_suffix(".user"), "root")

    # -o json is what ansible-inventory prints for the YAML file, and reads back as a script inventory.
    script = tmp_path / "listing.sh"
    (tmp_path / "listing.json").write_text(listing)
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'listing.json'}\n")
    script.chmod(0o755)
    from_yaml = json.loads(ansible("ansible-inventory", "-i", "cli.yml", "--list", cwd=tmp_path).stdout)
    from_script = json.loads(ansible("ansible-inventory", "-i", str(script), "--list", cwd=tmp_path).stdout)
    assert from_script["_meta"]["hostvars"] == from_yaml["_meta"]["hostvars"] == json.loads(listing)["_meta"]["hostvars"]
    assert from_yaml["_meta"]["hostvars"]["app-1"]["note"] == {"__ansible_unsafe": values["note"]}
    assert plain(json.loads(listing))["_meta"]["hostvars"]["app-1"]["note"] == values["note"]
    assert not list(tmp_path.glob("pwned*"))


def test_runner_hands_extra_vars_and_sealed_secrets_as_data(tmp_path):
    """run_playbook: inventory values, -e extra vars and a value holding a secret (sealed into a lookup)."""
    from stagecraft.runner import run_playbook

    pwned = tmp_path / "pwned"
    secret = "s3cr3t-value-4d1f"
    values = {"note": pipe(pwned.with_suffix(".inv")), "nested": [{"k": block(pwned.with_suffix(".block"))}],
              "sealed": f"{secret}:{pipe(pwned.with_suffix('.sealed'))}",
              "extra": pipe(pwned.with_suffix(".extra"))}
    inv = {"all": {"hosts": {"h1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                    "note": values["note"], "nested": values["nested"],
                                    "sealed": values["sealed"]}}}}
    ctx = types.SimpleNamespace(state_dir=tmp_path / "state", environment=types.SimpleNamespace(name="t"),
                                inventory=lambda: inv, resolved=types.SimpleNamespace(secrets=[secret]))
    result = run_playbook(ctx, str(PLAYBOOKS / "local_inert.yml"), extravars={"hostile_extra": values["extra"]},
                          display_mode="quiet")
    assert not list(tmp_path.glob("pwned*")), "a value was templated: its command ran"
    assert result.artifact_data["seen"] == {"note": values["note"], "nested": values["nested"],
                                            "sealed": values["sealed"], "extra": values["extra"]}
    on_disk = [p for p in (tmp_path / "state").rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
               and "job_events" not in p.parts]
    assert not on_disk, on_disk
