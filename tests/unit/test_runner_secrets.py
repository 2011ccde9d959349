"""Secrets handed to a playbook run never touch the disk (outside the "host's" file) nor argv, even when
Stagecraft is killed with SIGKILL at a random point: served from memory, minimal environment, sealed
inventory."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

from stagecraft.runner import minimal_env, run_playbook
from stagecraft.runner.secrets import seal

PLAYBOOK = Path(__file__).resolve().parents[1] / "playbooks" / "local_secret.yml"
CANARY = "canary-secret-b7e2c94d"  # handed over as a secret value (envvars)
DERIVED = "canary-config-51af0e3c"  # a config value that came from a secret (resolved.secrets)


def ctx(state_dir: Path, out_file: Path, pause: float):
    inv = {"all": {"hosts": {"h1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                    "out_file": str(out_file), "pause": pause,
                                    "from_config": f"x-{DERIVED}-y"}}}}
    return types.SimpleNamespace(state_dir=state_dir, environment=types.SimpleNamespace(name="t"),
                                 inventory=lambda: inv, resolved=types.SimpleNamespace(secrets=[DERIVED]))


def on_disk(root: Path) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {c}" for c in (CANARY, DERIVED) if c.encode() in data]
    return hits


def test_values_arrive_exactly_and_stay_off_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_API_TOKEN", "inherited-token-0c1d")  # e.g. DIGITALOCEAN_TOKEN
    out = tmp_path / "host" / ".env"
    out.parent.mkdir()
    result = run_playbook(ctx(tmp_path / "state", out, 0), str(PLAYBOOK), envvars={"SC_CANARY": CANARY},
                          display_mode="quiet")
    assert result.ok
    assert out.read_text() == f"{CANARY}|x-{DERIVED}-y"
    assert on_disk(tmp_path / "state") == []
    command = next((tmp_path / "state" / "runs").rglob("command")).read_text()
    assert "inherited-token-0c1d" not in command and "SOME_API_TOKEN" not in command
    inventory = next((tmp_path / "state" / "runs").rglob("hosts.yml")).read_text()
    assert "stagecraft.infra.secret" in inventory


def test_minimal_env_drops_inherited_values_only(monkeypatch):
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_x")
    monkeypatch.setenv("HOME", "/root")
    env = {"DIGITALOCEAN_TOKEN": "dop_v1_x", "HOME": "/root", "ANSIBLE_STDOUT_CALLBACK": "awx_display",
           "ANSIBLE_HOST_KEY_CHECKING": "True"}
    assert minimal_env(env) == {"HOME": "/root", "ANSIBLE_STDOUT_CALLBACK": "awx_display",
                                "ANSIBLE_HOST_KEY_CHECKING": "True"}


def test_seal_replaces_every_string_holding_a_secret_with_a_lookup_of_it():
    from stagecraft.commands.ansible_data import Template

    node, served = seal({"a": ["pre-LONGSECRET-{{ x }}", {"b": "SECRET"}, "SECRET"], "c": 3, "d": "plain"},
                        ["LONGSECRET", "SECRET"])
    assert "SECRET" not in repr(node).replace("stagecraft.infra.secret", "")
    # The whole string is served (the text around the secret is data too, never a template).
    assert served == {"config/0": "pre-LONGSECRET-{{ x }}", "config/1": "SECRET"}
    assert node["a"][0] == "{{ lookup('stagecraft.infra.secret', 'config/0') }}"
    assert isinstance(node["a"][0], Template) and node["a"][2] == node["a"][1]["b"]
    assert node["d"] == "plain" and not isinstance(node["d"], Template)


RUN = textwrap.dedent("""\
    import sys, types
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from unit.test_runner_secrets import ctx, PLAYBOOK, CANARY
    from stagecraft.runner import run_playbook
    run_playbook(ctx(Path({state!r}), Path({out!r}), 3), str(PLAYBOOK), envvars={{"SC_CANARY": CANARY}},
                 display_mode="quiet")
""")


def argv_hits() -> list[str]:
    hits = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            data = cmdline.read_bytes()
        except OSError:
            continue
        hits += [str(cmdline) for c in (CANARY, DERIVED) if c.encode() in data]
    return hits


def test_sigkill_at_random_points_leaves_no_secret_on_disk(tmp_path):
    tests = str(Path(__file__).resolve().parents[1])
    rng = random.Random()
    for i in range(5):
        state, out = tmp_path / f"state{i}", tmp_path / f"host{i}" / ".env"
        out.parent.mkdir()
        before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("stagecraft-*"))
        proc = subprocess.Popen([sys.executable, "-c", RUN.format(tests=tests, state=str(state), out=str(out))],
                                start_new_session=True)
        deadline = time.monotonic() + rng.uniform(0.2, 5.0)
        seen_in_argv = []
        while time.monotonic() < deadline and proc.poll() is None:
            seen_in_argv += argv_hits()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert seen_in_argv == []
        assert on_disk(state) == [] if state.exists() else True
        left = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("stagecraft-*")) - before
        assert [p for d in left for p in on_disk(d)] == []
