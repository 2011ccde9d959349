"""A template's manifest, `template.yml`, validated (every problem names the key path)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

MANIFEST = "template.yml"
FILES_DIR = "files"
NAME = r"^[a-z][a-z0-9_-]{0,62}$"
# Never part of a template: byte code that installing Stagecraft's wheel compiles next to a template's .py files.
IGNORED = re.compile(r"(^|/)__pycache__/|\.py[co]$")

SCHEMA = {
    "type": "object",
    "required": ["name", "description"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "description": {"type": "string", "minLength": 1},
        "include": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "variables": {
            "type": "object",
            "propertyNames": {"pattern": r"^[a-z_][a-z0-9_]{0,62}$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "type": {"enum": ["string", "integer", "boolean"]},
                    "default": {"type": ["string", "integer", "boolean"]},
                    "pattern": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1},
                    "minimum": {"type": "integer"},
                    "maximum": {"type": "integer"},
                },
            },
        },
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["match"],
                "additionalProperties": False,
                "properties": {
                    "match": {"type": "string", "minLength": 1},
                    "mode": {"type": "string", "pattern": "^0?[0-7]{3}$"},
                    "when": {"type": "string", "minLength": 1},
                    "secret": {"type": "boolean"},
                },
            },
        },
        "messages": {"type": "array", "items": {"type": "string"}},
        "ci_workflow": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "environments": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "variables": {"type": "object"},
            },
        },
    },
}

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


@dataclass(frozen=True)
class Variable:
    name: str
    description: str = ""
    type: str = "string"
    default: object = None  # None: required (a string default may use {{ }} with earlier variables)
    pattern: str | None = None
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None

    def convert(self, raw, where: str):
        """The value of `raw` (a string from --var or a prompt, or a default) as this variable's type,
        validated; UserError naming `where` otherwise."""
        value = raw
        if self.type == "integer":
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise UserError(f"{where}: '{raw}' is not an integer") from None
            if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
                raise UserError(f"{where}: {value} is out of range {self.minimum}..{self.maximum}")
        elif self.type == "boolean":
            if not isinstance(raw, bool):
                text = str(raw).strip().lower()
                if text not in _TRUE | _FALSE:
                    raise UserError(f"{where}: '{raw}' is not a boolean (true or false)")
                value = text in _TRUE
        else:
            value = str(raw)
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise UserError(f"{where}: '{value}' does not match {self.pattern}")
        if self.choices and value not in self.choices:
            raise UserError(f"{where}: '{value}' is not one of {', '.join(map(str, self.choices))}")
        return value

    def describe(self) -> dict:
        out = {"name": self.name, "description": self.description, "type": self.type, "default": self.default}
        for key in ("pattern", "minimum", "maximum"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices:
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class FileRule:
    match: str  # glob over the written path: * within a directory, ** across directories
    mode: int | None = None
    when: str | None = None  # Jinja expression over the variables: the file is written only when true
    secret: bool = False  # 0600, and its content is never shown (diffs, --dry-run)

    def matches(self, path: str) -> bool:
        return glob_regex(self.match).fullmatch(path) is not None


def glob_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    root: Path  # the template's directory (template.yml and files/)
    source: str  # "built-in", a directory, or the git URL it was cloned from
    variables: tuple[Variable, ...] = ()
    include: tuple[str, ...] = ()
    rules: tuple[FileRule, ...] = ()
    messages: tuple[str, ...] = ()
    ci_workflow: dict | None = None
    includes: tuple["Manifest", ...] = field(default=(), compare=False)  # resolved `include` entries

    @property
    def files_dir(self) -> Path:
        return self.root / FILES_DIR

    def all_variables(self) -> list[Variable]:
        """This template's variables, then those of its includes it does not declare itself."""
        seen, out = set(), []
        for var in list(self.variables) + [v for inc in self.includes for v in inc.all_variables()]:
            if var.name not in seen:
                seen.add(var.name)
                out.append(var)
        return out

    def describe(self) -> dict:
        return {"name": self.name, "description": self.description, "source": self.source,
                "include": list(self.include), "variables": [v.describe() for v in self.all_variables()],
                "files": sorted(rel for rel in (p.relative_to(self.files_dir).as_posix() for p in _files(self.files_dir))
                                if not IGNORED.search(rel)),
                "messages": list(self.messages),
                "ci_workflow": self.ci_workflow}


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()) if directory.is_dir() else []


def load(root: Path, source: str) -> Manifest:
    """The manifest of the template in `root`; UserError naming the file and key path when it is invalid."""
    import jsonschema
    import yaml

    path = root / MANIFEST
    where = f"template {source}: {MANIFEST}" if source != "built-in" else f"built-in template {root.name}: {MANIFEST}"
    if not path.is_file():
        raise UserError(f"template {source}: no {MANIFEST} in {root}",
                        hint="a template is a directory with template.yml (name, description, variables, "
                             "files, messages) and its files under files/")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: invalid YAML: {exc}") from None
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data if data is not None else {}),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]
        raise UserError(f"{where} is invalid:\n" + "\n".join(f"  {line}" for line in lines))
    variables = []
    for name, spec in (data.get("variables") or {}).items():
        var = Variable(name=name, description=spec.get("description", ""), type=spec.get("type", "string"),
                       default=spec.get("default"), pattern=spec.get("pattern"),
                       choices=tuple(spec.get("choices") or ()), minimum=spec.get("minimum"),
                       maximum=spec.get("maximum"))
        if var.pattern:
            try:
                re.compile(var.pattern)
            except re.error as exc:
                raise UserError(f"{where}: variables.{name}.pattern: not a regular expression: {exc}") from None
        variables.append(var)
    rules = tuple(FileRule(match=r["match"], mode=int(r["mode"], 8) if "mode" in r else None, when=r.get("when"),
                           secret=r.get("secret", False)) for r in data.get("files") or ())
    return Manifest(name=data["name"], description=data["description"], root=root, source=source,
                    variables=tuple(variables), include=tuple(data.get("include") or ()), rules=rules,
                    messages=tuple(data.get("messages") or ()), ci_workflow=data.get("ci_workflow"))
