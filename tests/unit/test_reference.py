"""The README's configuration reference matches the schema, and the schema is a valid JSON Schema."""

from __future__ import annotations

from pathlib import Path

from stagecraft.config.reference import END, START, markdown
from stagecraft.config.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]


def test_readme_reference_is_generated_from_schema():
    readme = (ROOT / "README.md").read_text()
    section = readme.split(START, 1)[1].split(END, 1)[0].lstrip("\n")
    assert section == markdown(load_schema()), (
        "README config reference is stale: run python -m stagecraft.config.reference --write README.md")


def test_schema_is_valid_and_every_leaf_is_in_the_reference():
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    table = markdown(schema)
    for key in ("environments.<env>.hosts.<host>.roles", "network.tailscale.auth_key_env",
                "cloud.digitalocean.token_env", "databases.<db>.migrations.strategy", "firewall.allow[].port"):
        assert f"`{key}`" in table


def test_features_yaml_is_consistent():
    import yaml

    features = yaml.safe_load((ROOT / "spec" / "features.yaml").read_text())["features"]
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)), "duplicate feature ids"
    for f in features:
        assert f["status"] in ("todo", "wip", "done"), f
        for path in [f.get("spec")] + list(f.get("tests") or []):
            if path:
                assert (ROOT / path).exists(), f"{f['id']}: {path} does not exist"
        if f["status"] == "done":
            assert f.get("spec") and f.get("tests"), f"{f['id']} is done but names no spec or tests"
