"""Load YAML and remember where every key came from (file:line:column).

Hostile YAML is refused before it is built, each problem with its position and key path:
- a pass over the parser's events (linear, never recursive) bounds nesting depth and the number of
  nodes with aliases expanded (an alias bomb of a few lines would otherwise become billions of nodes in
  every walk over the data), and refuses an alias inside the node it names (`&r [*r]`);
- on the composed nodes, each node visited once: duplicate keys (YAML keeps only the last one, so a
  second `environments:` silently drops the first), keys that are not strings (`on:`, `no:` and `1:`
  are a boolean and a number in YAML 1.1), integers too long to convert, NaN and infinities, and NUL
  characters (no argv item, path or variable can hold one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: type = yaml.CSafeLoader
    _CParser: tuple = (yaml.cyaml.CParser,)
except AttributeError:  # pragma: no cover
    _Loader, _CParser = yaml.SafeLoader, ()

KeyPath = tuple  # tuple[str | int, ...]

MAX_DEPTH = 64  # real configs nest about 8 deep; the checks and the schema walk recurse per level
# Nodes of the document with every alias expanded: real configs have hundreds, big compose files a few
# thousand; past this, parsing alone takes seconds, and an alias bomb of a few lines would be billions.
MAX_NODES = 50_000
MAX_INT_DIGITS = 100

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_KEY_TYPES = {"tag:yaml.org,2002:bool": "a boolean", _INT: "a number", _FLOAT: "a number",
              "tag:yaml.org,2002:null": "null", "tag:yaml.org,2002:timestamp": "a date"}


@dataclass(frozen=True, order=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class LoadedYaml:
    data: Any
    positions: dict  # KeyPath -> Position
    file: str

    def position(self, path: KeyPath) -> Position:
        """The position of the deepest existing prefix of path (the key itself when present)."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Position(self.file, 1, 1))


class YamlSyntaxError(Exception):
    """The document is not usable YAML. `problems`: (position, key path, message) for every problem
    found; `position`/`problem` are the first."""

    def __init__(self, problems: list[tuple[Position, KeyPath, str]]):
        self.problems = sorted(problems, key=lambda p: p[0])
        self.position, _, self.problem = self.problems[0]
        super().__init__("\n".join(f"{pos}: {msg}" for pos, _, msg in self.problems))


def load_yaml(text: str, file: str, loader: type = _Loader) -> LoadedYaml:
    """Parse one YAML document with positions; raise YamlSyntaxError listing every problem."""
    try:
        _check_events(text, file, loader)
        parser = loader(text)
        try:
            node = parser.get_single_node()
            problems = _check_nodes(node, file, parser) if node is not None else []
            if problems:
                raise YamlSyntaxError(problems)
            positions: dict = {}
            if node is not None:
                positions[()] = _pos(file, node)
                _walk(node, (), positions, file)
            data = parser.construct_document(node) if node is not None else None
        finally:
            parser.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSyntaxError([(_mark(file, mark), (), f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: its offset in the text
        index = exc.position
        if issubclass(loader, _CParser):  # libyaml counts UTF-8 bytes, not characters
            index = len(text.encode("utf-8", "surrogatepass")[:index].decode("utf-8", "ignore"))
        where = _index_position(text, index, file)
        raise YamlSyntaxError([(where, (), f"invalid YAML: character {_char(exc.character)} is not allowed "
                                            "(control characters must be escaped in a double-quoted string)")]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every other error carries a mark
        raise YamlSyntaxError([(Position(file, 1, 1), (), f"invalid YAML: {exc}")]) from None
    return LoadedYaml(data=data, positions=positions, file=file)


def load_yaml_file(path: Path) -> LoadedYaml:
    """A regular UTF-8 file of at most files.MAX_BYTES (else FileRefused), loaded with load_yaml."""
    from ..files import read_text

    return load_yaml(read_text(path), str(path))


def _mark(file: str, mark) -> Position:
    return Position(file, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1)


def _pos(file: str, node) -> Position:
    return _mark(file, node.start_mark)


def _index_position(text: str, index: int, file: str) -> Position:
    line = text.count("\n", 0, index) + 1
    return Position(file, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _char(character) -> str:
    code = character if isinstance(character, int) else ord(character)
    return f"U+{code:04X}"


def _check_events(text: str, file: str, loader: type) -> None:
    """Depth and size (aliases expanded) from the event stream, before any node exists (raises on the first)."""
    sizes: dict[str, int] = {}  # anchor -> nodes its value stands for (aliases inside it expanded)
    stack: list[list] = []  # open collections: [anchor, nodes so far]
    open_anchors: set[str] = set()
    total = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            if anchor in open_anchors:
                raise YamlSyntaxError([(_mark(file, event.start_mark), (),
                                        f"alias *{anchor} refers to the node that contains it (a recursive "
                                        "alias); YAML for a config cannot be infinite")])
            size = sizes.get(anchor)
            if size is None:
                continue  # an undefined alias: the composer reports it with its position
            total += size
            if total > MAX_NODES:
                raise YamlSyntaxError([(_mark(file, event.start_mark), (),
                                        f"aliases expand the document to more than {MAX_NODES} nodes (at "
                                        f"*{anchor}); refusing what looks like an alias bomb: use fewer nested "
                                        "aliases")])
            if stack:
                stack[-1][1] += size
            continue
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.ScalarEvent)):
            total += 1
            if total > MAX_NODES:
                raise YamlSyntaxError([(_mark(file, event.start_mark), (),
                                        f"more than {MAX_NODES} nodes: far larger than a config or compose "
                                        "file; is this the right file?")])
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise YamlSyntaxError([(_mark(file, event.start_mark), (),
                                        f"nested more than {MAX_DEPTH} levels deep")])
            stack.append([event.anchor, 1])
            if event.anchor:
                open_anchors.add(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            if stack:
                stack[-1][1] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            if stack:
                stack[-1][1] += 1


def _key_text(node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else "{...}" if isinstance(node, yaml.MappingNode) else "[...]"


def _check_nodes(root, file: str, parser) -> list[tuple[Position, KeyPath, str]]:
    """Duplicate and non-string keys, oversized integers, NaN/infinity; each distinct node once."""
    problems = []
    seen: set[int] = set()
    todo = [(root, ())]
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, Any] = {}
            for key, value in node.value:
                text = _key_text(key)
                child = path + (text,)
                if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
                    todo.append((value, path))
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
                    kind = _KEY_TYPES.get(key.tag, "not a string") if isinstance(key, yaml.ScalarNode) else \
                        "a mapping" if isinstance(key, yaml.MappingNode) else "a list"
                    problems.append((_pos(file, key), child,
                                     f"key '{text}' is {kind} in YAML, not a string; quote it (\"{text}\") "
                                     "if a key of that name is meant"))
                elif text in first:
                    at = first[text].start_mark
                    problems.append((_pos(file, key), child,
                                     f"duplicate key '{text}' (first at line {at.line + 1}, column {at.column + 1}); "
                                     "YAML would keep only the last one: merge them into one"))
                else:
                    first[text] = key
                todo.append((key, child))
                todo.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, path + (i,)) for i, item in enumerate(node.value))
        elif "\x00" in node.value:
            problems.append((_pos(file, node), path, "contains a NUL character (\\0), which no file name, "
                                                     "command argument or variable can hold"))
        elif node.tag == _INT and len(node.value) > MAX_INT_DIGITS:
            problems.append((_pos(file, node), path, f"integer of {len(node.value)} characters is too large"))
        elif node.tag == _FLOAT and not math.isfinite(parser.construct_yaml_float(node)):
            problems.append((_pos(file, node), path, f"{node.value} is not a finite number; "
                                                     "quote it if a string is meant"))
    return problems


def _walk(node, path: KeyPath, out: dict, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.tag == _MERGE:
                continue  # merged keys keep the position of the mapping that merges them
            child = path + (key_node.value,)
            out.setdefault(child, _pos(file, key_node))
            _walk(value_node, child, out, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            out.setdefault(child, _pos(file, item))
            _walk(item, child, out, file)
