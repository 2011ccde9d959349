"""services.<s>.rollout and services.<s>.healthcheck have one default per key: the config schema, the
value objects (Rollout, HttpHealthcheck), the compose role's argument spec (compose_services[]) and the
compose_rollout module (its documentation and its argument spec) agree for every shared key, and render
passes the value objects through."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from stagecraft.config.services import HttpHealthcheck, Rollout

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "stagecraft" / "infra"
KEYS = [f.name for f in dataclasses.fields(Rollout)]
HEALTH_KEYS = [f.name for f in dataclasses.fields(HttpHealthcheck)]


def _norm(value):
    return None if value in ((), [], None) else value


def _defaults(options: dict) -> dict:
    return {k: v.get("default") for k, v in options.items()}


def schema_defaults(health: bool = False) -> dict:
    schema = json.loads((ROOT / "spec" / "stagecraft.schema.json").read_text())
    props = schema["properties"]["services"]["additionalProperties"]["properties"]
    return _defaults(props["healthcheck" if health else "rollout"]["properties"])


def role_defaults(health: bool = False) -> dict:
    specs = yaml.safe_load((COLLECTION / "roles" / "compose" / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]["compose_services"]["options"]
    return _defaults(options["healthcheck"]["options"] if health else options)


def _module():
    import sys

    # The module imports the collection's module_utils as Ansible packs them: from ansible_collections.
    if str(COLLECTION.parents[2]) not in sys.path:
        sys.path.insert(0, str(COLLECTION.parents[2]))
    spec = importlib.util.spec_from_file_location("compose_rollout", COLLECTION / "plugins" / "modules" /
                                                  "compose_rollout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def module_doc_defaults(health: bool = False) -> dict:
    options = yaml.safe_load(_module().DOCUMENTATION)["options"]["services"]["suboptions"]
    return _defaults(options["healthcheck"]["suboptions"] if health else options)


def module_argspec_defaults(health: bool = False) -> dict:
    module = _module()
    captured = {}

    class Stop(Exception):
        pass

    def fake(argument_spec, **_):
        captured.update(argument_spec)
        raise Stop

    module.AnsibleModule = fake
    with pytest.raises(Stop):
        module.main()
    options = captured["services"]["options"]
    return _defaults(options["healthcheck"]["options"] if health else options)


SOURCES = {"schema": schema_defaults, "role argument_specs": role_defaults,
           "module DOCUMENTATION": module_doc_defaults, "module argument_spec": module_argspec_defaults}


@pytest.mark.parametrize("source", SOURCES)
def test_every_rollout_key_has_the_value_objects_default(source):
    defaults = SOURCES[source]()
    expected = {k: _norm(getattr(Rollout(), k)) for k in KEYS}
    found = {k: _norm(defaults.get(k, "<missing>")) for k in KEYS}
    assert found == expected, f"{source} disagrees with stagecraft.config.services.Rollout"


@pytest.mark.parametrize("source", SOURCES)
def test_every_healthcheck_key_has_the_value_objects_default(source):
    defaults = SOURCES[source](health=True)
    assert defaults == {k: getattr(HttpHealthcheck(), k) for k in HEALTH_KEYS}, \
        f"{source} disagrees with stagecraft.config.services.HttpHealthcheck"


def test_schema_rollout_keys_are_the_value_objects_keys():
    """No key in the schema that nothing reads (services.<s>.rollout.batch_size was one)."""
    assert set(schema_defaults()) == set(KEYS)


def test_render_hands_the_module_the_value_object(tmp_path):
    from stagecraft.commands.compose_render import render_host
    from stagecraft.config.services import Service

    svc = Service.parse("api", {"rollout": {"drain_seconds": 3, "pre_stop": ["true"]}})
    assert svc.rollout == Rollout(drain_seconds=3, pre_stop=("true",))
    assert svc.rollout.module_vars() == {"strategy": "rolling", "healthcheck_timeout": 60, "drain_seconds": 3,
                                         "stop_timeout": 10, "pre_stop": ["true"], "pre_stop_timeout": 30}
    assert "pre_stop" not in Service.parse("web", {}).rollout.module_vars()
    assert Service.parse("web", {}).healthcheck is None
    assert Service.parse("web", {"healthcheck": {"path": "/up"}}).healthcheck.module_vars() == {
        "path": "/up", "status": 200, "interval": 1, "timeout": 5}
    assert render_host  # render_host builds compose_services from Service.rollout/healthcheck.module_vars()
