"""Load YAML and remember where every key came from (file:line:column)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

KeyPath = tuple  # tuple[str | int, ...]


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
    def __init__(self, file: str, mark, problem: str):
        self.position = Position(file, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1)
        self.problem = problem
        super().__init__(f"{self.position}: {problem}")


def load_yaml(text: str, file: str) -> LoadedYaml:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(file, exc.problem_mark, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise YamlSyntaxError(file, None, f"invalid YAML: {exc}") from None
    positions: dict = {}
    if node is not None:
        positions[()] = _pos(file, node)
        _walk(node, (), positions, file)
    return LoadedYaml(data=data, positions=positions, file=file)


def load_yaml_file(path: Path) -> LoadedYaml:
    return load_yaml(path.read_text(encoding="utf-8"), str(path))


def _pos(file: str, node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node, path: KeyPath, out: dict, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys keep the position of the mapping that merges them
            child = path + (key_node.value,)
            out.setdefault(child, _pos(file, key_node))
            _walk(value_node, child, out, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = path + (index,)
            out.setdefault(child, _pos(file, item))
            _walk(item, child, out, file)
