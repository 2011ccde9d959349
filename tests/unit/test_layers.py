"""The layer rule of spec/architecture.md: each package imports only from itself and the layers below.

Imports inside functions count too (they are how the CLI stays fast, not a way around the rule)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stagecraft"

BASE = {"errors", "files", "process", "plugins", "paths", "resources", "known_hosts", "__version__"}
ALLOWED = {
    "base": BASE,
    "config": BASE | {"config"},
    "commands": (BASE - {"process"}) | {"config", "commands"},
    "state": BASE | {"config", "commands", "state"},  # commands: the ssh argv of the hosts' lock and journal
    "secrets": BASE | {"config", "commands", "secrets"},  # commands: the argv of the tools they run
    "hostkeys": BASE | {"config", "commands", "hostkeys"},
    "providers": BASE | {"config", "providers"},
    "backends": BASE | {"config", "commands", "backends"},
    "drivers": BASE | {"hostkeys", "config", "commands", "providers", "drivers"},
    "runner": BASE | {"hostkeys", "config", "commands", "state", "runner"},
    "deploy": BASE | {"hostkeys", "secrets", "config", "commands", "state", "providers", "backends", "drivers", "runner", "deploy"},
    # Features on top of the deploy layer: the CI provider and local development.
    "ci": BASE | {"hostkeys", "secrets", "config", "commands", "state", "providers", "backends", "drivers", "runner", "deploy", "ci"},
    "dev": BASE | {"hostkeys", "secrets", "config", "commands", "state", "providers", "backends", "drivers", "runner", "deploy", "dev"},
    # Templates and what attach detects: reads files, clones git templates; the CLI writes the CI workflow.
    "scaffold": BASE | {"config", "commands", "scaffold"},
    "testing": BASE | {"hostkeys", "secrets", "config", "commands", "state", "providers", "drivers", "runner", "deploy", "testing"},
}


def layer_of(parts: tuple[str, ...]) -> str:
    top = parts[0] if parts else ""
    return "base" if top in BASE else top


def imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(line, imported stagecraft module path below 'stagecraft') for every import in the file."""
    rel = path.relative_to(PACKAGE).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                module = base + tuple((node.module or "").split(".")) if node.module else base
                targets = [module] if node.module else [module + (a.name,) for a in node.names]
            elif node.module and node.module.split(".")[0] == "stagecraft":
                targets = [tuple(node.module.split(".")[1:])]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "stagecraft"]
        else:
            continue
        out += [(node.lineno, t) for t in targets if t]
    return out


FILES = sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts and "templates" not in p.parts)  # templates: the apps `new` writes


def test_the_rule_covers_every_package():
    layers = {layer_of(p.relative_to(PACKAGE).with_suffix("").parts) for p in FILES}
    assert layers - {"cli", "__main__", "__init__"} <= set(ALLOWED), layers - set(ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    source = layer_of(path.relative_to(PACKAGE).with_suffix("").parts)
    if source not in ALLOWED:  # cli and the entry module may import anything
        return
    bad = [f"line {line}: stagecraft.{'.'.join(t)}" for line, t in imports(path)
           if layer_of(t) not in ALLOWED[source] and t[0] not in ALLOWED[source]]
    assert not bad, f"{path.relative_to(PACKAGE)} ({source}) imports above its layer: {bad}"


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """A pure builder importing a driver is caught (the test can fail)."""
    pkg = tmp_path / "stagecraft"
    (pkg / "commands").mkdir(parents=True)
    bad = pkg / "commands" / "x.py"
    bad.write_text("def f():\n    from ..drivers import local\n    from .. import process\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", pkg)
    with pytest.raises(AssertionError, match=r"stagecraft\.drivers.*stagecraft\.process"):
        test_imports_follow_the_layers(bad)


CLI_MAX_LINES = 250


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_modules_stay_thin(path):
    """CLI modules hold options, dry runs and output; the work lives in deploy/ and commands/."""
    lines = len(path.read_text().splitlines())
    assert lines <= CLI_MAX_LINES, f"stagecraft/cli/{path.name} has {lines} lines; move work out of the CLI"
