"""Structural validation of stagecraft.yml against spec/stagecraft.schema.json."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache

from .. import resources
from .issues import ConfigIssue, format_path
from .yamlpos import LoadedYaml

_NAME_RULES = {
    "environments": "environment name",
    "hosts": "host name",
    "roles": "role name",
    "databases": "database name",
    "services": "service name",
    "publish": "service name",
    "vars": "variable name",
}


@cache
def load_schema() -> dict:
    return json.loads(resources.schema_path().read_text(encoding="utf-8"))


@cache
def _validator():
    return _validator_class()(load_schema())


@cache
def _validator_class():
    from jsonschema import Draft202012Validator, ValidationError, validators  # lazily: keeps --help fast

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and not _anchored(patrn).search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    # jsonschema matches with re.search, where `$` also matches before a final newline: "shop\n" would
    # pass ^[a-z]+$ and reach container names and .env lines. Every pattern of the schema ends at \Z.
    return validators.extend(Draft202012Validator, {"pattern": pattern})


@cache
def _anchored(pattern: str) -> re.Pattern:
    """pattern compiled with each `$` outside a character class meaning the very end of the text."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # a leading ] is a literal inside the class
                out.append("[]")
                i += 2
                continue
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return re.compile("".join(out))


def validate(doc: LoadedYaml, schema: dict | None = None, *, resolved: bool = False) -> list[ConfigIssue]:
    """Every violation of `schema` (default: stagecraft.yml's) in doc, each with its key path and file
    position. Before interpolation (resolved=False) a value holding a ${VAR} reference is not held to its
    pattern yet: the environment's interpolated value is (LoadedConfig.resolve validates again with
    resolved=True)."""
    if not isinstance(doc.data, dict):
        return [ConfigIssue(doc.position(()), "(top level)", "the file must contain a mapping (key: value pairs)")]
    validator = _validator() if schema is None else _validator_class()(schema)
    issues: list[ConfigIssue] = []
    for error in validator.iter_errors(doc.data):
        if resolved or not _deferred(error):
            issues.extend(_explain(error, doc))
    return sorted(set(issues))


def _deferred(error) -> bool:
    return (error.validator == "pattern" and "propertyNames" not in error.schema_path  # keys are never interpolated
            and isinstance(error.instance, str) and "${" in error.instance)


def _explain(error, doc: LoadedYaml) -> list[ConfigIssue]:
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed and not str(k).startswith("x-")]
        out = []
        for key in unknown:
            hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            msg = f"unknown key '{key}'"
            msg += f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(allowed)})"
            out.append(ConfigIssue(doc.position(path + (key,)), format_path(path + (key,)), msg))
        return out
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        key = missing[0] if missing else "?"
        return [ConfigIssue(doc.position(path), format_path(path), f"missing required key '{key}'")]
    if "propertyNames" in error.schema_path:
        name = error.instance
        what = _NAME_RULES.get(str(path[-1]) if path else "", "name")
        pattern = error.schema.get("pattern", "")
        rule = error.schema.get("patternErrorMessage") or (
            "lowercase letters, digits, '-' or '_', starting with a letter" if "a-z][" in pattern else f"must match {pattern}")
        return [ConfigIssue(doc.position(path + (name,)), format_path(path + (name,)),
                            f"invalid {what} '{name}': {rule}")]
    where = doc.position(path)
    key = format_path(path)
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [ConfigIssue(where, key, f"expected {expected}, got {_typename(error.instance)} ({error.instance!r})")]
    if kind == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return [ConfigIssue(where, key, f"invalid value {error.instance!r}; choose one of {choices}")]
    if kind == "const":
        return [ConfigIssue(where, key, f"must be {error.validator_value!r}")]
    if kind == "pattern":
        # patternErrorMessage: the rule in words (editors show it too); the regex otherwise.
        rule = error.schema.get("patternErrorMessage") or f"must match {error.validator_value}"
        return [ConfigIssue(where, key, f"invalid value {error.instance!r}: {rule}")]
    if kind in ("minItems", "minProperties"):
        return [ConfigIssue(where, key, "must not be empty")]
    if kind in ("minimum", "maximum"):
        return [ConfigIssue(where, key, f"value {error.instance!r} out of range ({kind} {error.validator_value})")]
    if kind == "uniqueItems":
        return [ConfigIssue(where, key, "items must be unique")]
    if kind in ("oneOf", "anyOf"):
        return [ConfigIssue(where, key, f"invalid value {error.instance!r}: {_describe_alternatives(error)}")]
    return [ConfigIssue(where, key, error.message)]


def _describe_alternatives(error) -> str:
    parts = []
    for sub in error.validator_value:
        if "pattern" in sub:
            parts.append(f"a string matching {sub['pattern']}")
        elif "type" in sub:
            parts.append(f"a{'n' if str(sub['type'])[0] in 'aeiou' else ''} {sub['type']}")
    return "expected " + " or ".join(parts) if parts else error.message


def _typename(value) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )
