#!/usr/bin/env python3
"""Keeps the variables table in every role README in step with the role's meta/argument_specs.yml.

argument_specs.yml is the one place a role variable is documented (ansible-doc and Ansible's own
validation read it); the README table between the BEGIN/END markers is generated from it.

    scripts/role_docs.py           # rewrite the tables
    scripts/role_docs.py --check   # exit 1 and name the READMEs that are out of date (used by tests)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[1] / "collections" / "ansible_collections" / "stagecraft" / "infra" / "roles"
BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml by scripts/role_docs.py) -->"
END = "<!-- END VARIABLES -->"


def _cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _type(spec: dict) -> str:
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        kind = f"list of {spec['elements']}"
    if spec.get("choices"):
        kind += " (" + ", ".join(str(c) for c in spec["choices"]) + ")"
    return kind


def _default(spec: dict) -> str:
    if spec.get("required"):
        return "**required**"
    if "default" not in spec:
        return ""
    default = spec["default"]
    return f"`{_cell(default)}`" if default != "" else '`""`'


def _rows(options: dict, prefix: str = "") -> list[str]:
    rows = []
    for name, spec in options.items():
        description = spec.get("description", "")
        description = " ".join(description) if isinstance(description, list) else description
        rows.append(f"| `{prefix}{name}` | {_type(spec)} | {_default(spec)} | {_cell(description)} |")
        if spec.get("options"):
            sub = f"{prefix}{name}[]." if spec.get("type") == "list" else f"{prefix}{name}."
            rows.extend(_rows(spec["options"], sub))
    return rows


def table(role_dir: Path) -> str:
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    lines = ["| variable | type | default | description |", "|---|---|---|---|", *_rows(specs.get("options", {}))]
    return "\n".join(lines)


def render(readme: str, role_dir: Path) -> str:
    head, sep, rest = readme.partition(BEGIN)
    if not sep or END not in rest:
        raise SystemExit(f"{role_dir / 'README.md'}: missing the {BEGIN!r} ... {END!r} markers")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table(role_dir)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for role_dir in sorted(p for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists()):
        path = role_dir / "README.md"
        if not path.exists():
            stale.append(f"{path} is missing")
            continue
        current = path.read_text()
        wanted = render(current, role_dir)
        if wanted != current:
            if check:
                stale.append(f"{path} is out of date")
            else:
                path.write_text(wanted)
    for line in stale:
        print(f"role_docs: {line}; run scripts/role_docs.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
