"""Hostile files: YAML that would crash, hang or blow up memory, files that are not regular files, other
encodings; each refused with exit 1, its file:line:column and key path."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from stagecraft.config import load_config
from stagecraft.config.yamlpos import MAX_NODES
from stagecraft.errors import ConfigError
from stagecraft.files import FileRefused, read_text
from tests.unit.test_config_errors import BASE, issues_of


def write(tmp_path, text, name="stagecraft.yml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("line, key, message", [
    ("roles: {x: {}}", "roles", "duplicate key 'roles' (first at line 9, column 1)"),
    ("on: true", "on", "key 'on' is a boolean in YAML, not a string"),
    ("no: 1", "no", "key 'no' is a boolean in YAML, not a string"),
    ("1: x", "1", "key '1' is a number in YAML, not a string"),
    ("~: x", "~", "key '~' is null in YAML"),
    ("[a]: x", "[...]", "key '[...]' is a list in YAML"),
])
def test_duplicate_and_non_string_keys_name_the_key_and_its_position(tmp_path, line, key, message):
    path = write(tmp_path, BASE + line + "\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:11:1: {key}: {message}")


def test_a_second_environments_section_is_refused_not_merged_away(tmp_path):
    path = write(tmp_path, BASE + "environments:\n  prod: {driver: local, hosts: {}}\n")
    assert issues_of(path)[0].startswith(f"{path}:11:1: environments: duplicate key 'environments'")


def test_duplicate_nested_key_and_merge_keys(tmp_path):
    text = BASE.replace("h1: {roles: [app]}", "h1: {roles: [app], roles: [app]}")
    path = write(tmp_path, text)
    assert issues_of(path) == [f"{path}:8:26: environments.local.hosts.h1.roles: duplicate key 'roles' (first at "
                               "line 8, column 12); YAML would keep only the last one: merge them into one"]
    # a key that overrides one brought in by a merge key is not a duplicate
    merged = BASE.replace("version: 1", "version: 1\nx-h: &h {roles: [app]}").replace(
        "h1: {roles: [app]}", "h1: {<<: *h, roles: [app]}")
    assert load_config(write(tmp_path, merged)).config.environments["local"].hosts[0].roles == ("app",)


def test_alias_bomb_under_an_x_key_is_refused_at_once(tmp_path):
    lines = ["x-a: &a [1,1,1,1,1,1,1,1,1,1]"]
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"x-{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    path = write(tmp_path, BASE + "\n".join(lines) + "\n")
    assert path.stat().st_size < 1200  # 10^9 nodes once expanded
    (issue,) = issues_of(path)
    assert f"aliases expand the document to more than {MAX_NODES} nodes" in issue and issue.startswith(f"{path}:")


def test_a_document_of_too_many_nodes_is_refused_before_it_is_built(tmp_path):
    path = write(tmp_path, BASE + "x-list: [" + ",".join(["1"] * MAX_NODES) + "]\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:11:") and f"more than {MAX_NODES} nodes" in issue


def test_recursive_alias_is_refused(tmp_path):
    path = write(tmp_path, BASE + "x-rec: &r [*r]\n")
    assert issues_of(path) == [f"{path}:11:12: (syntax): alias *r refers to the node that contains it (a recursive "
                               "alias); YAML for a config cannot be infinite"]


def test_deep_nesting_is_refused(tmp_path):
    path = write(tmp_path, BASE + "x-deep: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested more than 64 levels deep" in issues_of(path)[0]


def test_huge_integer_nan_and_infinity_are_refused_where_they_are(tmp_path):
    path = write(tmp_path, BASE.replace("version: 1", "version: " + "9" * 5000)
                 + "x-v:\n  vars: {a: .nan, b: -.inf, c: 1.0e+999}\n")
    assert [i.split(": ", 2)[:2] for i in issues_of(path)] == [
        [f"{path}:1:10", "version"], [f"{path}:12:13", "x-v.vars.a"], [f"{path}:12:22", "x-v.vars.b"],
        [f"{path}:12:32", "x-v.vars.c"]]


def test_control_character_position(tmp_path):
    path = write(tmp_path, BASE + 'x-c: "ab\x07"\n')
    assert issues_of(path) == [f"{path}:11:9: (syntax): invalid YAML: character U+0007 is not allowed (control "
                               "characters must be escaped in a double-quoted string)"]
    path = write(tmp_path, BASE + 'x-c: "é💥\x01"\n')  # columns count characters, not UTF-8 bytes
    assert issues_of(path)[0].startswith(f"{path}:11:9: (syntax): invalid YAML: character U+0001")


def test_other_encodings_name_the_file(tmp_path):
    path = write(tmp_path, BASE.encode("utf-16"))
    assert issues_of(path) == [f"{path}:1:1: (file): is UTF-16 text; save it as UTF-8"]
    path = write(tmp_path, BASE.replace("name: shop", "name: caf\xe9").encode("latin-1"))
    assert issues_of(path) == [f"{path}:3:12: (file): not UTF-8 text (byte 0xe9 at line 3, column 12); save it as "
                               "UTF-8"]
    path = write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())  # a UTF-8 byte order mark is fine
    assert load_config(path).config.project.name == "shop"


def test_a_config_over_one_megabyte_is_refused_unread(tmp_path):
    path = write(tmp_path, BASE + "x-pad: '" + "x" * (1 << 20) + "'\n")
    (issue,) = issues_of(path)
    assert "more than the 1048576 allowed" in issue


class _NeverOpened:
    """Opens the FIFO's write end as soon as something opens it for reading: proves nobody did (a
    blocking read would also be released by it, so the test cannot hang)."""

    def __init__(self, path):
        self.path, self.opened, self.done = path, False, False
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        while not self.done:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.01)
                continue
            self.opened = True
            os.close(fd)
            return

    def stop(self):
        time.sleep(0.05)
        self.done = True
        return self.opened


def test_special_files_are_refused_without_opening_them(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    watch = _NeverOpened(fifo)
    with pytest.raises(FileRefused, match="is a FIFO"):
        read_text(fifo, "x")
    assert issues_of(fifo) == [f"{fifo}:1:1: (file): is a FIFO (named pipe), not a regular file; name a file"]
    registry = BASE.replace("  name: shop", "  name: shop\n  registry: r.example.com/a\n  images: {registry_ca_file: fifo}")
    in_env = BASE.replace("    driver: local", "    driver: local\n    env_file: fifo\n    ssh: {known_hosts: fifo}")
    for text, keys in [(registry, ["project.images.registry_ca_file"]),
                       (in_env, ["environments.local.env_file", "environments.local.ssh.known_hosts"])]:
        found = issues_of(write(tmp_path, text))
        assert [i.split(": ")[1] for i in found] == keys
        assert all(i.endswith(": fifo: is a FIFO (named pipe), not a regular file; name a file") for i in found)
    assert not watch.stop(), "a FIFO was opened"


def test_devices_and_directories_are_refused(tmp_path):
    text = BASE.replace("    driver: local", "    driver: local\n    env_file: /dev/zero")
    (issue,) = issues_of(write(tmp_path, text))
    assert issue == (f"{tmp_path / 'stagecraft.yml'}:7:5: environments.local.env_file: /dev/zero: is a character "
                     "device, not a regular file; name a file")
    (tmp_path / "docker-compose.yml").mkdir()
    assert issues_of(write(tmp_path, BASE)) == [
        f"{tmp_path / 'docker-compose.yml'}:1:1: (file): is a directory, not a regular file; name a file"]


def test_compose_file_problems_are_config_errors(tmp_path):
    compose = write(tmp_path, "services:\n  web: {image: a}\n  web: {image: b}\n", "docker-compose.yml")
    assert issues_of(write(tmp_path, BASE)) == [
        f"{compose}:3:3: services.web: duplicate key 'web' (first at line 2, column 3); YAML would keep only the "
        "last one: merge them into one"]
    write(tmp_path, "services:\n  - web\n", "docker-compose.yml")
    assert issues_of(write(tmp_path, BASE)) == [
        f"{compose}:1:1: services: expected object or null, got array (['web'])"]
    write(tmp_path, "services:\n  web: {image: a, ports: 80, environment: 1}\n", "docker-compose.yml")
    assert [i.split(": ", 1)[1] for i in issues_of(write(tmp_path, BASE))] == [
        "services.web.ports: expected array, got integer (80)",
        "services.web.environment: invalid value 1: expected an object or an array"]


def test_compose_file_null_is_a_schema_error(tmp_path):
    (issue,) = issues_of(write(tmp_path, BASE.replace("  name: shop", "  name: shop\n  compose_file: null")))
    assert "project.compose_file: expected string, got null" in issue


def test_patterns_do_not_accept_a_trailing_newline(tmp_path):
    text = BASE.replace("name: shop", 'name: "shop\\n"') + "services:\n  web:\n    secrets: [\"X\\n\"]\n"
    assert issues_of(write(tmp_path, text)) == [
        f"{tmp_path / 'stagecraft.yml'}:3:3: project.name: invalid value 'shop\\n': must match "
        "^[a-z][a-z0-9_-]{0,62}$",
        f"{tmp_path / 'stagecraft.yml'}:13:15: services.web.secrets[0]: invalid value 'X\\n': must match "
        "^[A-Za-z_][A-Za-z0-9_]*$"]


def test_env_file_errors_name_the_key_file_and_line(tmp_path):
    (tmp_path / ".env").write_text("A=1\nB='open\n")
    loaded = load_config(write(tmp_path, BASE.replace("    driver: local", "    driver: local\n    env_file: .env")))
    with pytest.raises(ConfigError) as info:
        loaded.resolve("local")
    (issue,) = [str(i) for i in info.value.issues]
    assert issue.startswith(f"{tmp_path / 'stagecraft.yml'}:7:5: environments.local.env_file: {tmp_path / '.env'}:2: "
                            "line 2 is not KEY=value")


def test_json_errors_for_every_error_and_never_nan(tmp_path, run_cli):
    write(tmp_path, BASE + "x-c: 'ab\x07'\n")
    code, out, _ = run_cli(["-o", "json", "config", "validate"], cwd=tmp_path)
    assert code == 1 and json.loads(out)["errors"][0]["line"] == 11
    code, out, _ = run_cli(["releases", "list", "--limit", "9" * 30, "-o", "json"], cwd=tmp_path)
    assert code == 1 and json.loads(out) == {"ok": False, "exit_code": 1, "errors": [
        {"message": f"Invalid value for '--limit': {'9' * 30} is not in the range 1<=x<=1000000000."}]}
    write(tmp_path, BASE)
    code, out, err = run_cli(["releases", "show", "rel-nope", "-o", "json"], cwd=tmp_path)
    assert code == 1 and json.loads(out)["errors"][0]["message"] == "RELEASE_ID: release not found: 'rel-nope'"


def test_interpolation_cannot_blow_up_the_config(tmp_path):
    refs = "".join(f"      v{i}: ${{BIG}}\n" for i in range(20))
    loaded = load_config(write(tmp_path, BASE.replace("    driver: local", "    driver: local\n    vars:\n" + refs)))
    with pytest.raises(ConfigError) as info:
        loaded.resolve("local", environ={"BIG": "x" * 500_000})
    (issue,) = [str(i) for i in info.value.issues]
    assert issue.startswith(f"{tmp_path / 'stagecraft.yml'}:") and "environments.local.vars.v" in issue
    assert "add more than 8388608 characters" in issue
