"""Hostile strings in every string value of stagecraft.yml (the example shop plus every key that reaches a
host) and of its compose file: each is refused with its key path, or reaches the Ansible inventory, the
per-host compose files, the edge routes and the ssh argv as inert data (tests/hostile.py says how each is
checked). The full matrix (every hostile string, every key, also through ${VAR}) is
benchmarks/hostile_values.py; its figures are in benchmarks/README.md."""

from __future__ import annotations

import pytest

from tests.hostile import HOSTILE, KITCHEN_SINK, HostileProject, figures


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return HostileProject(tmp_path_factory.mktemp("hostile") / "shop")


def _report(outcomes) -> dict:
    numbers = figures(outcomes)
    print(f"\nhostile values: {numbers}")
    bad = [o for o in outcomes if o.dangerous or (o.refused and not o.named)]
    assert not bad, "\n".join(f"{o.path}: {o.value!r}: {o.problems or o.message}" for o in bad[:10])
    return numbers


def test_every_config_value_is_refused_by_key_path_or_stays_inert(project):
    outcomes = [project.try_value(path, value) for path in project.string_paths() for value in (KITCHEN_SINK, HOSTILE[0])]
    numbers = _report(outcomes)
    assert numbers["accepted_dangerous"] == 0 and numbers["refused"] > numbers["tried"] // 2


def test_interpolated_values_meet_the_same_rules(project):
    """${VAR} values are checked after interpolation (their patterns cannot be checked before)."""
    outcomes = [project.try_value(path, HOSTILE[9], through_variable=True) for path in project.string_paths()]
    numbers = _report(outcomes)
    assert numbers["refused"] > numbers["tried"] // 2


def test_every_compose_value_stays_data(project):
    outcomes = [project.try_value(path, KITCHEN_SINK) for path in project.string_paths(compose=True)]
    numbers = _report(outcomes)
    assert numbers["tried"] > 20
