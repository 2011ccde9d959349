"""The project_files module (one module run writes a project's directories and files), run the way
Ansible runs it on a host: as a Python program reading its arguments from a JSON file."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "collections" / "ansible_collections" / "stagecraft" / "infra" / "plugins" / "modules" / "project_files.py"


def run(tmp_path: Path, check_mode: bool = False, **args) -> dict:
    args.setdefault("owner", pwd.getpwuid(os.getuid()).pw_name)
    args.setdefault("group", grp.getgrgid(os.getgid()).gr_name)
    args["_ansible_check_mode"] = check_mode
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True, text=True)
    return json.loads(proc.stdout)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_writes_directories_and_files_then_changes_nothing(tmp_path):
    project = tmp_path / "srv" / "shop"
    args = dict(directories=[str(project), str(project / "edge")],
                files=[{"path": str(project / "compose.yaml"), "content": "services: {}\n", "mode": "0640"},
                       {"path": str(project / "edge" / "nginx.conf"), "content": "events {}\n"}])
    first = run(tmp_path, **args)
    assert first["changed"] is True, first
    assert set(first["changed_files"]) == {str(project), str(project / "edge"), str(project / "compose.yaml"),
                                           str(project / "edge" / "nginx.conf")}
    assert (project / "compose.yaml").read_text() == "services: {}\n"
    assert mode(project / "compose.yaml") == "0o640" and mode(project / "edge" / "nginx.conf") == "0o644"
    assert mode(project) == "0o750"
    assert not [p for p in project.iterdir() if p.name.startswith(".stagecraft-")]  # no temporary files left

    again = run(tmp_path, **args)
    assert again["changed"] is False and again["changed_files"] == [], again


def test_only_the_file_that_differs_is_rewritten_and_contents_are_not_returned(tmp_path):
    target, other = tmp_path / "a.env", tmp_path / "b.conf"
    files = [{"path": str(target), "content": "TOKEN=one\n", "mode": "0600"},
             {"path": str(other), "content": "same\n"}]
    run(tmp_path, files=files)
    files[0]["content"] = "TOKEN=two\n"
    result = run(tmp_path, files=files)
    assert result["changed_files"] == [str(target)]
    assert target.read_text() == "TOKEN=two\n" and mode(target) == "0o600"
    returned = json.dumps({k: v for k, v in result.items() if k != "invocation"})
    assert "TOKEN=two" not in returned


def test_a_wrong_mode_alone_is_repaired(tmp_path):
    target = tmp_path / "secret.env"
    run(tmp_path, files=[{"path": str(target), "content": "X=1\n", "mode": "0600"}])
    target.chmod(0o644)
    result = run(tmp_path, files=[{"path": str(target), "content": "X=1\n", "mode": "0600"}])
    assert result["changed"] is True and mode(target) == "0o600"


def test_create_only_leaves_an_existing_file_alone(tmp_path):
    target = tmp_path / "upstream.conf"
    target.write_text("managed elsewhere\n")
    result = run(tmp_path, files=[{"path": str(target), "content": "placeholder\n", "create_only": True}])
    assert result["changed"] is False and target.read_text() == "managed elsewhere\n"


def test_check_mode_reports_without_writing(tmp_path):
    project = tmp_path / "new"
    result = run(tmp_path, check_mode=True, directories=[str(project)],
                 files=[{"path": str(project / "compose.yaml"), "content": "x\n"}])
    assert result["changed"] is True and str(project / "compose.yaml") in result["changed_files"]
    assert not project.exists()


def test_a_directory_in_the_way_of_a_file_is_an_error(tmp_path):
    (tmp_path / "compose.yaml").mkdir()
    result = run(tmp_path, files=[{"path": str(tmp_path / "compose.yaml"), "content": "x\n"}])
    assert result.get("failed") is True and "is a directory" in result["msg"]
