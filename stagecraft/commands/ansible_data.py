"""Data handed to Ansible stays data (pure).

Ansible templates every string it reads from an inventory, a vars file or `-e` JSON: a config value such as
`address: "{{ lookup('pipe', '...') }}"` would run on this machine. So every string Stagecraft writes for
Ansible is marked unsafe, the marking Ansible itself uses for data that must never be templated: the
`!unsafe` YAML tag, `{"__ansible_unsafe": ...}` in JSON (what `ansible-inventory --list` prints for such
values, and what `-e` JSON and script inventories read back). The only strings left templatable are the ones
Stagecraft writes itself as `Template` (the sealed secret lookups of runner.secrets).

    to_yaml(inventory)      # the inventory file: every string value tagged !unsafe
    to_json(extravars)      # -e JSON / `inventory -o json`: every string value wrapped
    plain(listing)          # back to plain strings (for readers of `inventory -o json`)
    from_yaml(text)         # to_yaml's text back to plain data

Mapping keys (host, group and variable names) are never marked: Ansible does not template them. Nor are
strings that YAML would read as another type when unquoted ("9100", "0700", "yes", ""): Ansible resolves the
type of a `!unsafe` scalar as if it were unquoted (a string "0700" would arrive as the integer 448), and such
strings hold no template anyway.
"""

from __future__ import annotations

import yaml

UNSAFE_TAG = "!unsafe"
UNSAFE_KEY = "__ansible_unsafe"


class Template(str):
    """A Jinja expression Stagecraft writes itself (a sealed secret lookup): the only string Ansible may
    template. Never build one from a user's value."""


class _Unsafe(str):
    """A string value on its way into YAML with the !unsafe tag."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter when present: much faster
    pass


def _represent_unsafe(dumper, value):
    # Block style keeps multi-line values (compose files, nginx.conf) readable; the emitter falls back to a
    # quoted form for values a block cannot carry (trailing spaces, control characters).
    return dumper.represent_scalar(UNSAFE_TAG, str(value), style="|" if "\n" in value else None)


_Dumper.add_representer(_Unsafe, _represent_unsafe)
_Dumper.add_representer(Template, lambda dumper, value: dumper.represent_str(str(value)))


_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


def could_template(value: str) -> bool:
    """False for strings YAML reads as numbers, booleans, null or dates when unquoted."""
    return _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR


def _mark(node, wrap):
    if isinstance(node, Template):
        return node
    if isinstance(node, str):
        return wrap(node) if could_template(node) else node
    if isinstance(node, dict):
        return {k: _mark(v, wrap) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_mark(v, wrap) for v in node]
    return node


def to_yaml(node) -> str:
    """YAML with every string value tagged !unsafe (Templates stay plain); keys sorted, one value a line."""
    return yaml.dump(_mark(node, _Unsafe), Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     width=2**20)


def to_json(node):
    """node with every string value as {"__ansible_unsafe": value} (Templates stay plain strings)."""
    return _mark(node, lambda s: {UNSAFE_KEY: s})


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


_Loader.add_constructor(UNSAFE_TAG, lambda loader, node: loader.construct_scalar(node))


def from_yaml(text: str):
    """to_yaml's text (or `stagecraft inventory`'s) back to plain data: !unsafe values as strings."""
    return yaml.load(text, Loader=_Loader)


def plain(node):
    """The inverse of to_json: wrapped values back to plain strings."""
    if isinstance(node, dict):
        if set(node) == {UNSAFE_KEY} and isinstance(node[UNSAFE_KEY], str):
            return node[UNSAFE_KEY]
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
