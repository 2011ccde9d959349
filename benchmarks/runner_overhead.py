"""Recording cost of the runner layer: a playbook of 200 trivial tasks on 2 real local hosts, run through
stagecraft.runner.run_playbook (events stored in a release) vs plain ansible-playbook. Target ratio <= 1.2.

Run: .venv/bin/python benchmarks/runner_overhead.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stagecraft.commands.inventory import to_yaml  # noqa: E402
from stagecraft.runner import ansible_env, run_playbook  # noqa: E402
from stagecraft.runner.recorder import recorded_release  # noqa: E402

EXE = str(Path(sys.executable).parent / "stagecraft")
CONFIG = """project: {name: benchrun}
environments:
  local:
    driver: local
    hosts: {h1: {roles: [app]}, h2: {roles: [app]}}
roles: {app: {}}
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "stagecraft.yml").write_text(CONFIG)
        env = {**os.environ, "STAGECRAFT_STATE_DIR": str(tmp / "state")}
        subprocess.run([EXE, "infra", "up", "-e", "local"], cwd=tmp, env=env, check=True, capture_output=True)
        try:
            inv_text = subprocess.run([EXE, "inventory", "-e", "local"], cwd=tmp, env=env, check=True,
                                      capture_output=True, text=True).stdout
            (tmp / "inv.yml").write_text(inv_text)
            tasks = "\n".join(f"    - name: Task {i}\n      ansible.builtin.command: \"true\"\n      changed_when: false"
                              for i in range(200))
            play = tmp / "play.yml"
            play.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}\n")
            start = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp / "inv.yml"),
                            str(play)], check=True, capture_output=True, env={**os.environ, **ansible_env()})
            plain = time.perf_counter() - start

            from stagecraft.commands.ansible_data import from_yaml

            inventory = from_yaml(inv_text)
            ctx = types.SimpleNamespace(state_dir=tmp / "state", environment=types.SimpleNamespace(name="local"),
                                        inventory=lambda: inventory)
            start = time.perf_counter()
            with recorded_release(ctx, kind="infra", phases=("run",)) as rel:
                with rel.phase("run"):
                    result = run_playbook(ctx, str(play), release=rel, phase="run", display_mode="quiet")
            through = time.perf_counter() - start
            assert result.ok and to_yaml(inventory)
        finally:
            subprocess.run([EXE, "infra", "down", "-e", "local", "--yes"], cwd=tmp, env=env, capture_output=True)
    print(f"plain ansible-playbook:     {plain:6.1f} s")
    print(f"through stagecraft runner:  {through:6.1f} s (events recorded)")
    print(f"ratio:                      {through / plain:6.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
