"""The fuzzer of tests/fuzz.py, a few hundred cases (benchmarks/fuzz.py runs thousands): mutated configs,
compose and env files, special files, damaged state and odd arguments through the read-only commands.
Nothing may crash (exit 3, traceback), hang or blow up memory; every config refusal has its file:line:
column and key; inputs that must be refused are."""

from __future__ import annotations

import pytest

from tests import fuzz

SEED = 20261207
CASES = 250
SUBPROCESS_EVERY = 125  # these cases run as real processes: memory limit and peak RSS measured


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    return fuzz.run(SEED, CASES, tmp_path_factory.mktemp("fuzz"), subprocess_every=SUBPROCESS_EVERY, timeout=60)


def test_no_input_crashes_hangs_or_blows_up_memory(figures):
    report = {k: v for k, v in figures.as_dict().items() if k != "examples"}
    print(report)
    assert figures.tried == CASES and figures.refused > CASES // 2 and figures.accepted > CASES // 10, report
    for kind in ("exit3", "tracebacks", "hangs", "memory", "unpositioned", "accepted_invalid"):
        assert getattr(figures, kind) == 0, (kind, figures.examples.get(kind.replace("_", "-")))


def test_accepted_hostile_values_come_out_inert(figures):
    assert figures.accepted_dangerous == 0, figures.examples.get("accepted-dangerous")


def test_cases_are_the_same_for_a_seed():
    first, again = fuzz.cases(7, 30), fuzz.cases(7, 30)
    assert [(c.mutation, c.commands, c.files) for c in first] == [(c.mutation, c.commands, c.files) for c in again]
