"""Contract check against DigitalOcean's official OpenAPI spec (read from disk, never copied into the repo).

The spec is multi-file YAML; schemas are inlined by following relative `$ref`s, OpenAPI 3.0's
`nullable` becomes a JSON-Schema null type, and bodies are checked with jsonschema.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import yaml

SPEC_ENV = "STAGECRAFT_DO_OPENAPI"
ENTRY = "DigitalOcean-public.v2.yaml"


def spec_dir() -> Path | None:
    """specification/ of ../shared/digitalocean-openapi beside the checkout, or $STAGECRAFT_DO_OPENAPI."""
    candidates = [os.environ.get(SPEC_ENV)] if os.environ.get(SPEC_ENV) else []
    candidates.append(str(Path(__file__).resolve().parents[2].parent / "shared" / "digitalocean-openapi"))
    for c in candidates:
        for d in (Path(c), Path(c) / "specification"):
            if (d / ENTRY).is_file():
                return d
    return None


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. PyYAML's 1.1 rules turn the droplet status enum's `off` (and
    yes/no/on) into booleans, which then rejects every valid response of a powered-off droplet."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))


@lru_cache(maxsize=None)
def _load(path: str):
    with open(path) as f:
        return yaml.load(f, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def _pointer(doc, fragment: str):
    for part in filter(None, fragment.split("/")):
        doc = doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


def _inline(node, base: Path, stack: tuple = ()):
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            file_part, _, fragment = ref.partition("#")
            target = (base.parent / file_part).resolve() if file_part else base
            key = (str(target), fragment)
            if key in stack:  # recursive schema: stop here, accept anything
                return {}
            return _inline(_pointer(_load(str(target)), fragment), target, stack + (key,))
        out = {k: _inline(v, base, stack) for k, v in node.items() if k not in ("example", "examples")}
        if out.pop("nullable", False) and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_inline(v, base, stack) for v in node]
    return node


class Spec:
    def __init__(self, directory: Path):
        self.dir = directory
        self.entry = directory / ENTRY
        self._paths = _load(str(self.entry))["paths"]
        self._templates = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", t) + "$"), t) for t in self._paths]

    def template(self, path: str) -> str | None:
        exact = [t for rx, t in self._templates if rx.match(path)]
        # Prefer the template with the fewest parameters (/v2/droplets/actions over /v2/droplets/{id}).
        return min(exact, key=lambda t: t.count("{")) if exact else None

    @lru_cache(maxsize=None)
    def operation(self, method: str, template: str) -> tuple[dict, str] | None:
        op = (self._paths.get(template) or {}).get(method.lower())
        if op is None:
            return None
        if "$ref" in op:
            target = (self.entry.parent / op["$ref"]).resolve()
            return _load(str(target)), str(target)
        return op, str(self.entry)

    def request_schema(self, method: str, path: str) -> dict | None:
        found = self.operation(method, self.template(path) or "")
        if not found or "requestBody" not in found[0]:
            return None
        op, base = found
        body = _inline(op["requestBody"], Path(base))
        return ((body.get("content") or {}).get("application/json") or {}).get("schema")

    def response_schema(self, method: str, path: str, status: int) -> dict | None:
        found = self.operation(method, self.template(path) or "")
        if not found:
            return None
        op, base = found
        responses = op.get("responses") or {}
        # `default` describes every status the operation does not list (the spec's error shape).
        resp = responses.get(str(status), responses.get("default"))
        if resp is None:
            return None
        resp = _inline(resp, Path(base))
        return ((resp.get("content") or {}).get("application/json") or {}).get("schema")

    def documented(self, method: str, path: str, status: int) -> bool:
        found = self.operation(method, self.template(path) or "")
        responses = (found[0].get("responses") or {}) if found else {}
        return str(status) in responses or "default" in responses


def errors(schema: dict | None, instance) -> list[str]:
    if schema is None:
        return []
    from jsonschema import Draft7Validator

    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                  for e in Draft7Validator(schema).iter_errors(instance))


def load() -> Spec | None:
    d = spec_dir()
    return Spec(d) if d else None
