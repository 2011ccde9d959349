"""A config problem: where (key path + file position) and what."""

from __future__ import annotations

from dataclasses import dataclass

from .yamlpos import Position


def format_path(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


@dataclass(frozen=True, order=True)
class ConfigIssue:
    position: Position
    key_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.key_path}: {self.message}"

    def as_dict(self) -> dict:
        p = self.position
        return {"file": p.file, "line": p.line, "column": p.column, "key": self.key_path, "message": self.message}


def refused_issue(exc) -> ConfigIssue:
    """A files.FileRefused about a whole file (config, compose) as an issue at its place in that file."""
    return ConfigIssue(Position(exc.path, exc.line, exc.column), "(file)", exc.reason)


def yaml_issues(exc) -> list[ConfigIssue]:
    """The problems of a yamlpos.YamlSyntaxError as issues ("(syntax)" when no key is involved)."""
    return [ConfigIssue(pos, format_path(key) if key else "(syntax)", msg) for pos, key, msg in exc.problems]
