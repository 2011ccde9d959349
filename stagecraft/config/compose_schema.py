"""The shapes of the compose keys Stagecraft itself reads, as a JSON Schema: a compose file whose
`services` is a list, or whose `ports` is a number, is refused at its file:line:column instead of
failing somewhere in the renderer. Everything else is left to Compose (unknown keys are allowed)."""

from __future__ import annotations

_STR = {"type": "string"}
_STR_OR_NUM = {"type": ["string", "integer"]}
_STRINGS = {"type": "array", "items": _STR}
_MAP_OR_STRINGS = {"oneOf": [{"type": "object"}, _STRINGS]}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_NAMED = {"type": "array", "items": {"oneOf": [_STR, {"type": "object", "properties": {"source": _STR}}]}}
_TOP = {"type": ["object", "null"], "additionalProperties": {"type": ["object", "null"]}}

SERVICE = {
    "type": "object",
    "properties": {
        "image": _STR,
        "build": {"oneOf": [_STR, {"type": "object", "properties": {
            "context": _STR, "dockerfile": _STR, "target": _STR,
            "args": {"oneOf": [{"type": "object", "additionalProperties": _SCALAR}, _STRINGS]}}}]},
        "ports": {"type": "array", "items": {"oneOf": [_STR_OR_NUM, {"type": "object", "properties": {
            "target": _STR_OR_NUM, "published": _STR_OR_NUM, "protocol": _STR, "host_ip": _STR}}]}},
        "expose": {"type": "array", "items": _STR_OR_NUM},
        "environment": {"oneOf": [{"type": "object", "additionalProperties": _SCALAR}, _STRINGS]},
        "env_file": {"oneOf": [_STR, {"type": "array", "items": {"oneOf": [_STR, {
            "type": "object", "properties": {"path": _STR, "required": {"type": "boolean"}}, "required": ["path"]}]}}]},
        "volumes": {"type": "array", "items": {"oneOf": [_STR, {"type": "object", "properties": {
            "type": _STR, "source": _STR, "target": _STR}}]}},
        "volumes_from": _STRINGS,
        "depends_on": {"oneOf": [_STRINGS, {"type": "object", "additionalProperties": {"type": ["object", "null"]}}]},
        "links": _STRINGS,
        "extra_hosts": _MAP_OR_STRINGS,
        "labels": _MAP_OR_STRINGS,
        "healthcheck": {"type": "object"},
        "deploy": {"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 0}}},
        "profiles": _STRINGS,
        "container_name": _STR,
        "network_mode": _STR,
        "pid": _STR,
        "ipc": _STR,
        "networks": _MAP_OR_STRINGS,
        "secrets": _NAMED,
        "configs": _NAMED,
        "extends": {"oneOf": [_STR, {"type": "object", "properties": {"service": _STR, "file": _STR},
                                     "required": ["service"]}]},
    },
}

SCHEMA = {
    "type": "object",
    "properties": {
        "services": {"type": ["object", "null"], "additionalProperties": SERVICE},
        "volumes": _TOP,
        "networks": _TOP,
        "secrets": _TOP,
        "configs": _TOP,
        "include": {"type": "array", "items": {"oneOf": [_STR, {"type": "object", "properties": {
            "path": {"oneOf": [_STR, _STRINGS]}}, "required": ["path"]}]}},
    },
}
