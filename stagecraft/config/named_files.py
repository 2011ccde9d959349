"""The files stagecraft.yml names (CA bundle, env files, SSH keys, known_hosts, cloud-init data, dev
CA certificates), checked when the config loads with stat alone: one that exists but is a FIFO, a device, a
directory or larger than files.MAX_BYTES is an error at its key, before anything opens it (ssh given a
FIFO as its key file would wait forever; /dev/zero would be read until memory runs out). A missing file
is left to the command that needs it: a deploy key need not exist where the config is only validated."""

from __future__ import annotations

from pathlib import Path

from ..files import FileRefused, check_regular, exists
from .issues import ConfigIssue, format_path
from .yamlpos import LoadedYaml

# Key paths ("*": any name) of values that are file paths, relative to the config's folder (or ~).
FILE_KEYS = (
    ("project", "images", "registry_ca_file"),
    ("environments", "*", "env_file"),
    ("environments", "*", "ssh", "key"),
    ("environments", "*", "ssh", "known_hosts"),
    ("environments", "*", "hosts", "*", "ssh", "key"),
    ("environments", "*", "hosts", "*", "ssh", "known_hosts"),
    ("cloud", "digitalocean", "user_data"),
    ("dev", "env_file"),
    ("backend", "encore-ts", "dev", "node_extra_ca_certs"),
)


def _values(node, pattern: tuple, path: tuple = ()):
    """(key path, value) of every string found at pattern."""
    if not pattern:
        if isinstance(node, str) and node:
            yield path, node
        return
    if not isinstance(node, dict):
        return
    head, rest = pattern[0], pattern[1:]
    for key in (node if head == "*" else [head] if head in node else []):
        yield from _values(node[key], rest, path + (key,))


def issues(doc: LoadedYaml, base_dir: Path) -> list[ConfigIssue]:
    out = []
    for pattern in FILE_KEYS:
        for path, value in _values(doc.data, pattern):
            if "${" in value:
                continue  # interpolated per environment; checked where it is read
            full = Path(value).expanduser()
            full = full if full.is_absolute() else Path(base_dir) / full
            try:
                if not exists(full):
                    continue
                check_regular(full)
            except FileRefused as exc:
                out.append(ConfigIssue(doc.position(path), format_path(path), f"{value}: {exc.reason}"))
    return out
