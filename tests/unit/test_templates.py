"""The template engine: manifests and their validation, variables (--var, defaults, prompts), rendering
(dotfiles, .j2, rules, secrets, the sandbox), sources (built-in, directory, user directory, git URL through a
real bare repository over file://) and `stagecraft templates list|show`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from stagecraft.errors import UserError
from stagecraft.scaffold import engine, files, source
from stagecraft.scaffold.manifest import load


def make_template(root: Path, manifest: str, tree: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "template.yml").write_text(manifest)
    for rel, text in tree.items():
        path = root / "files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


MANIFEST = """name: tiny
description: A tiny template
variables:
  name: {default: "{{ target_name | slug }}", pattern: "^[a-z][a-z0-9-]*$"}
  port: {type: integer, default: 8000, minimum: 1024, maximum: 65535}
  with_docs: {type: boolean, default: false}
  tier: {default: small, choices: [small, large]}
files:
  - {match: "docs/**", when: with_docs}
  - {match: "bin/*", mode: "0755"}
  - {match: ".env", secret: true}
messages: ["made {{ name }} on port {{ port }}"]
"""
TREE = {"app/__pycache__/x.cpython-311.pyc": "bytecode", "README.md.j2": "# {{ name }}\nport {{ port }}, tier {{ tier }}\n", "dot-gitignore": ".env\n",
        "dot-env.j2": "TOKEN={{ secret('token') }}\nAGAIN={{ secret('token') }}\n", "bin/run": "#!/bin/sh\n",
        "docs/{{ name }}.md.j2": "{{ name }} docs\n", "raw.txt": "{{ not rendered }}\n"}


def test_render_maps_dotfiles_renders_j2_and_applies_rules(tmp_path):
    t = source._with_includes(load(make_template(tmp_path / "t", MANIFEST, TREE), "t"), ())
    context = engine.builtins(tmp_path / "My App")
    values = engine.values(t, {"port": "9000"}, context)
    assert values == {"name": "my-app", "port": 9000, "with_docs": False, "tier": "small"}
    out = engine.render(t, values, context)
    assert sorted(out) == [".env", ".gitignore", "README.md", "bin/run", "raw.txt"]  # docs/ only with with_docs
    assert out["README.md"].content == b"# my-app\nport 9000, tier small\n"
    assert out["raw.txt"].content == b"{{ not rendered }}\n"  # only .j2 files are templates
    token = out[".env"].content.decode().splitlines()
    assert token[0][6:] == token[1][6:] and len(token[0]) == 6 + 32  # one random value per name and render
    assert out[".env"].mode == 0o600 and out[".env"].secret and out["bin/run"].mode == 0o755
    assert out["README.md"].mode == 0o644
    docs = engine.render(t, {**values, "with_docs": True}, context)
    assert docs["docs/my-app.md"].content == b"my-app docs\n"
    assert engine.messages(t, {**context, **values}) == ["made my-app on port 9000"]


@pytest.mark.parametrize("given, message", [
    ({"port": "80"}, "--var port: 80 is out of range 1024..65535"),
    ({"port": "eighty"}, "--var port: 'eighty' is not an integer"),
    ({"with_docs": "maybe"}, "--var with_docs: 'maybe' is not a boolean"),
    ({"name": "Bad Name"}, "--var name: 'Bad Name' does not match"),
    ({"tier": "huge"}, "--var tier: 'huge' is not one of small, large"),
    ({"colour": "red"}, "--var colour: template tiny has no variable 'colour' (variables: name, port, with_docs, tier)"),
])
def test_bad_variable_values_name_the_variable(tmp_path, given, message):
    t = load(make_template(tmp_path / "t", MANIFEST, TREE), "t")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        engine.values(t, given, engine.builtins(tmp_path / "proj"))


def test_a_default_that_fails_validation_says_to_pass_the_variable(tmp_path):
    t = load(make_template(tmp_path / "t", MANIFEST, TREE), "t")
    with pytest.raises(UserError, match="variables.name.default: 'my_app' does not match") as err:
        engine.values(t, {}, engine.builtins(tmp_path / "my_app"))
    assert err.value.hint == "pass --var name=VALUE"


@pytest.mark.parametrize("manifest, message", [
    ("name: Bad\ndescription: x\n", "name: 'Bad' does not match"),
    ("name: t\n", "(top level): 'description' is a required property"),
    ("name: t\ndescription: x\nvariables: {v: {type: float}}\n", "variables.v.type: 'float' is not one of"),
    ("name: t\ndescription: x\nfiles: [{match: a, mode: '999'}]\n", "files.0.mode: '999' does not match"),
    ("name: t\ndescription: x\nvariables: {v: {pattern: '('}}\n", "variables.v.pattern: not a regular expression"),
    ("name: t\ndescription: x\nextra: 1\n", "Additional properties are not allowed"),
])
def test_invalid_manifests_say_which_key(tmp_path, manifest, message):
    root = make_template(tmp_path / "t", manifest, {})
    with pytest.raises(UserError, match="template.yml") as err:
        load(root, str(root))
    assert message in err.value.message


def test_a_required_variable_without_value_is_an_error_and_prompts_are_validated(tmp_path):
    t = load(make_template(tmp_path / "t", "name: t\ndescription: x\nvariables:\n  region: {description: Where}\n",
                           {}), "t")
    with pytest.raises(UserError, match=r"--var region: required by template t \(Where\)"):
        engine.values(t, {}, {})
    assert engine.values(t, {}, {}, ask=lambda var, default: f"asked {var.name} {default}") == {"region": "asked region None"}


@pytest.mark.parametrize("tree, message", [
    ({"{{ '..' }}/escape.txt": "x"}, "which is not a path inside the project"),
    ({"a.j2": "{{ undefined_thing }}"}, "files/a.j2: 'undefined_thing' is undefined"),
    ({"a.j2": "{{ ''.__class__.__mro__ }}"}, "unsafe"),  # the sandbox
    ({"a.j2": "{% for %}"}, "files/a.j2: line 1"),
])
def test_templates_cannot_escape_the_project_or_the_sandbox(tmp_path, tree, message):
    t = load(make_template(tmp_path / "t", "name: t\ndescription: x\n", tree), "t")
    with pytest.raises(UserError, match=message):
        engine.render(t, {}, {})


def test_symbolic_links_in_a_template_are_refused(tmp_path):
    root = make_template(tmp_path / "t", "name: t\ndescription: x\n", {})
    (root / "files").mkdir(exist_ok=True)
    os.symlink("/etc/passwd", root / "files" / "passwd")
    with pytest.raises(UserError, match="files/passwd is a symbolic link"):
        engine.render(load(root, "t"), {}, {})


def test_include_merges_files_and_variables_and_refuses_cycles(tmp_path):
    root = make_template(tmp_path / "outer", "name: outer\ndescription: x\ninclude: [stagecraft-dir, ./inner]\n",
                         {"own.txt": "own", "shared.txt": "outer wins"})
    make_template(root / "inner", "name: inner\ndescription: x\nvariables: {color: {default: blue}}\n",
                  {"shared.txt": "inner", "inner.txt.j2": "{{ color }}"})
    t = source._with_includes(load(root, str(root)), ())
    out = engine.render(t, engine.values(t, {}, engine.builtins(tmp_path / "proj")), engine.builtins(tmp_path / "proj"))
    assert out["shared.txt"].content == b"outer wins" and out["inner.txt"].content == b"blue"
    assert ".stagecraft/tests/smoke.sh" in out and out[".stagecraft/hooks/pre-build"].mode == 0o644
    assert [v.name for v in t.all_variables()] == ["project_name", "color"]
    (root / "inner" / "template.yml").write_text("name: inner\ndescription: x\ninclude: [./..]\n")
    with pytest.raises(UserError, match="include"):
        source._with_includes(load(root, str(root)), ())


def test_file_changes_create_keep_update_and_hide_secrets(tmp_path):
    out = {"a.txt": engine.OutFile("a.txt", b"new\n", 0o644), ".env": engine.OutFile(".env", b"PW=s3cret\n", 0o600, True),
           ".stagecraft/x": engine.OutFile(".stagecraft/x", b"x\n", 0o644)}
    (tmp_path / "a.txt").write_text("old\n")
    changes = {c.file.path: c for c in files.plan(tmp_path, out, lambda p: False)}
    assert {p: c.status for p, c in changes.items()} == {".env": "create", ".stagecraft/x": "create", "a.txt": "keep"}
    assert "-old\n+new\n" in changes["a.txt"].diff
    assert "s3cret" not in changes[".env"].diff and "secret file" in changes[".env"].diff
    files.write(tmp_path, list(changes.values()))
    assert (tmp_path / "a.txt").read_text() == "old\n"  # kept
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / ".stagecraft").stat().st_mode & 0o777) == "0o700"
    again = files.plan(tmp_path, out, lambda p: True)
    assert {c.file.path: c.status for c in again} == {".env": "unchanged", ".stagecraft/x": "unchanged", "a.txt": "update"}


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True)


@pytest.fixture
def git_template(tmp_path):
    """A template in a real bare repository, reached as file://, with a tag v1 and a newer main."""
    work = make_template(tmp_path / "work", MANIFEST.replace("name: tiny", "name: remote"), TREE)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "v1")
    git(work, "tag", "v1")
    (work / "files" / "raw.txt").write_text("newer\n")
    git(work, "commit", "-qam", "v2")
    bare = tmp_path / "template.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return f"file://{bare}"


def test_new_from_a_git_url_at_a_tag(tmp_path, git_template, run_cli):
    code, out, err = run_cli(["new", str(tmp_path / "app"), "--template", f"{git_template}#v1", "--non-interactive",
                              "--no-git", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert data["template"] == "remote" and data["source"] == f"{git_template}#v1"
    assert (tmp_path / "app" / "raw.txt").read_text() == "{{ not rendered }}\n"  # v1, not main
    assert data["messages"] == ["made app on port 8000"]
    code, out, _ = run_cli(["templates", "show", git_template, "-o", "json"], cwd=tmp_path)
    assert code == 0 and json.loads(out)["name"] == "remote"
    code, _, err = run_cli(["new", str(tmp_path / "b"), "--template", f"{git_template}#nope", "--non-interactive"],
                           cwd=tmp_path)
    assert code == 2 and "cloning" in err and "#nope failed" in err


def test_templates_list_and_show(tmp_path, run_cli, monkeypatch):
    make_template(tmp_path / "mine" / "tiny", MANIFEST, TREE)
    monkeypatch.setenv("STAGECRAFT_TEMPLATES_DIR", str(tmp_path / "mine"))
    code, out, err = run_cli(["templates", "list", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["platform"]["source"] == "built-in" and not rows["platform"]["internal"]
    assert rows["attach"]["internal"] and rows["tiny"]["source"] == str(tmp_path / "mine" / "tiny")
    code, out, _ = run_cli(["templates", "show", "platform"], cwd=tmp_path)
    assert code == 0 and "api_dev_port (integer, default 4000): minimum 1024, maximum 65535" in out
    assert "CI workflow: deploys prod" in out
    code, out, _ = run_cli(["templates", "show", "tiny", "-o", "json"], cwd=tmp_path)  # by name, from the user dir
    assert json.loads(out)["files"] == sorted(k for k in TREE if "__pycache__" not in k)
    code, _, err = run_cli(["templates", "show", "nothing-like-it"], cwd=tmp_path)
    assert code == 1 and "--template: no template 'nothing-like-it'" in err and "platform" in err


def test_new_prompts_on_a_terminal_and_asks_again_after_an_invalid_answer(tmp_path, run_cli, monkeypatch):
    import click

    make_template(tmp_path / "t", MANIFEST, TREE)
    answers = iter(["my-app", "80", "8080", "no", "large"])  # 80 is below the minimum: asked again
    asked = []
    monkeypatch.setattr("stagecraft.cli.templating.interactive", lambda non_interactive: True)
    monkeypatch.setattr(click, "prompt", lambda text, default=None, show_default=True: asked.append(text)
                        or next(answers))
    code, out, err = run_cli(["new", str(tmp_path / "app"), "--template", str(tmp_path / "t"), "--no-git",
                              "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["variables"] == {"name": "my-app", "port": 8080, "with_docs": False, "tier": "large"}
    assert asked == ["name", "port (integer)", "port (integer)", "with_docs (boolean)", "tier"]
    assert "port: 80 is out of range 1024..65535" in err
