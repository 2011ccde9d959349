"""The architecture docs stay true: every package is placed in spec/architecture.md, every ADR has
its sections, the glossary gives each word one row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"


def test_architecture_places_every_package():
    text = (SPEC / "architecture.md").read_text()
    packages = sorted(p.name for p in (ROOT / "stagecraft").iterdir()
                      if p.is_dir() and (p / "__init__.py").exists() and p.name != "testing")
    missing = [p for p in packages if f"`{p}`" not in text and f"{p}/" not in text]
    assert not missing, f"spec/architecture.md does not place: {missing}"


@pytest.mark.parametrize("adr", sorted((SPEC / "adr").glob("*.md")), ids=lambda p: p.name)
def test_every_decision_record_has_its_sections(adr):
    text = adr.read_text()
    assert re.match(r"# ADR \d{4}: ", text), adr.name
    for section in ("Status:", "## Context", "## Decision", "## Consequences"):
        assert section in text, f"{adr.name}: no {section}"


def test_glossary_has_one_row_per_word():
    words = re.findall(r"^\| \*\*([^*]+)\*\* \|", (SPEC / "glossary.md").read_text(), flags=re.M)
    assert len(words) > 10 and len(words) == len(set(words)), sorted(w for w in words if words.count(w) > 1)
