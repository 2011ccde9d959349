"""Every hostile string in every string value of the example config (plus every key that reaches a host) and
of its compose file, written out and through ${VAR} (tests/hostile.py says what is checked where); prints
the figures: tried, refused (and refused without naming the key path), accepted inert, accepted commands
(keys that are commands by design), accepted dangerous (target 0), and any case that is not fine.

    .venv/bin/python benchmarks/hostile_values.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile import HOSTILE, KITCHEN_SINK, HostileProject, figures  # noqa: E402


def main() -> int:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        project = HostileProject(Path(tmp) / "shop")
        outcomes = []
        for compose in (False, True):
            for path in project.string_paths(compose=compose):
                for value in [KITCHEN_SINK, *HOSTILE]:
                    for through_variable in ((False,) if compose else (False, True)):
                        outcomes.append(project.try_value(path, value, through_variable=through_variable))
    for o in outcomes:
        if o.dangerous or (o.refused and not o.named):
            print(f"NOT FINE {o.path} {o.value!r}: {o.problems or o.message}")
    numbers = figures(outcomes)
    numbers["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(numbers))
    return 1 if numbers["accepted_dangerous"] or numbers["refused_without_key_path"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
