"""Contract check against GitHub's official REST description (npm `@octokit/openapi`, read from disk, never
copied into the repo; scripts/setup installs it into a cache directory).

OpenAPI 3.0.3 in one JSON file: `#/components/...` refs are inlined, `nullable` becomes a JSON-Schema null
type, bodies are checked with jsonschema, query parameters against the operation's parameters.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

SPEC_ENV = "STAGECRAFT_GITHUB_OPENAPI"
RELATIVE = Path("node_modules/@octokit/openapi/generated/api.github.com.json")


def npm_cache() -> Path:
    """Where scripts/setup installs the npm test tools."""
    if os.environ.get("STAGECRAFT_NPM_CACHE"):
        return Path(os.environ["STAGECRAFT_NPM_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stagecraft" / "npm"


def spec_file() -> Path | None:
    candidates = [Path(os.environ[SPEC_ENV])] if os.environ.get(SPEC_ENV) else []
    candidates.append(npm_cache() / RELATIVE)
    return next((c for c in candidates if c.is_file()), None)


class Spec:
    def __init__(self, path: Path):
        with open(path) as f:
            self.doc = json.load(f)
        self._paths = self.doc["paths"]
        self._templates = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", t) + "$"), t) for t in self._paths]
        self._inlined: dict[str, object] = {}

    def template(self, path: str) -> str | None:
        matches = [t for rx, t in self._templates if rx.match(path)]
        # /actions/secrets/public-key over /actions/secrets/{secret_name}: fewest parameters wins.
        return min(matches, key=lambda t: t.count("{")) if matches else None

    def operation(self, method: str, path: str) -> dict | None:
        t = self.template(path)
        return (self._paths.get(t) or {}).get(method.lower()) if t else None

    def inline(self, node, stack: tuple = ()):
        if isinstance(node, dict):
            if "$ref" in node:
                ref = node["$ref"]
                if ref in stack:  # recursive schema: accept anything below this point
                    return {}
                if ref not in self._inlined or stack:
                    target = self.doc
                    for part in ref.lstrip("#/").split("/"):
                        target = target[part.replace("~1", "/").replace("~0", "~")]
                    resolved = self.inline(target, stack + (ref,))
                    if stack:
                        return resolved
                    self._inlined[ref] = resolved
                return self._inlined[ref]
            out = {k: self.inline(v, stack) for k, v in node.items() if k not in ("example", "examples")}
            if out.pop("nullable", False):
                if "enum" in out and None not in out["enum"]:
                    out["enum"] = [*out["enum"], None]
                if isinstance(out.get("type"), str):
                    out["type"] = [out["type"], "null"]
                elif "type" not in out:
                    out = {"anyOf": [out, {"type": "null"}]}
            return out
        if isinstance(node, list):
            return [self.inline(v, stack) for v in node]
        return node

    def request_errors(self, method: str, path: str, query: dict, body) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in GitHub's REST description"]
        problems = []
        params = {p["name"]: p for p in (self.inline(p) for p in op.get("parameters") or ()) if p.get("in") == "query"}
        for name, value in query.items():
            if name not in params:
                problems.append(f"query parameter {name!r} is not defined")
                continue
            schema = params[name].get("schema") or {}
            if schema.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                problems.append(f"query parameter {name!r}: {value!r} is not an integer")
            elif "enum" in schema and value not in schema["enum"]:
                problems.append(f"query parameter {name!r}: {value!r} not one of {schema['enum']}")
        if "requestBody" in op:
            schema = ((self.inline(op["requestBody"]).get("content") or {}).get("application/json") or {}).get("schema")
            if body is None and op["requestBody"].get("required"):
                problems.append("request body is required")
            elif body is not None:
                problems += errors(schema, body)
        elif body is not None:
            problems.append("this operation takes no request body")
        return problems

    def response_errors(self, method: str, path: str, status: int, body) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return []
        resp = (op.get("responses") or {}).get(str(status))
        if resp is None:
            return [f"status {status} is not documented for {method} {self.template(path)}"]
        schema = ((self.inline(resp).get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            return [] if body is None else [f"status {status} documents no body, got one"]
        return errors(schema, body)

    def error_schema(self, status: int) -> dict:
        name = "validation-error" if status == 422 else "basic-error"
        return self.inline({"$ref": f"#/components/schemas/{name}"})


def errors(schema: dict | None, instance) -> list[str]:
    if schema is None:
        return []
    from jsonschema import Draft7Validator

    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                  for e in Draft7Validator(schema).iter_errors(instance))


@lru_cache(maxsize=1)
def load() -> Spec | None:
    f = spec_file()
    return Spec(f) if f else None
