"""The fuzzer of tests/fuzz.py at scale: thousands of mutated configs, compose and env files, special
files, damaged state and odd arguments through the read-only commands, in-process, with every Nth case
run as real processes (memory limit, peak RSS). Prints the figures and writes results/fuzz-<seed>.json.

    .venv/bin/python benchmarks/fuzz.py [--cases 3000] [--seed 1] [--subprocess-every 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subprocess-every", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one command may take")
    args = parser.parse_args()
    start = time.monotonic()

    def progress(case, results, figures):
        for r in results:
            for problem in r.problems:
                print(f"case {case.number} {case.seed}/{case.mutation}: {' '.join(r.argv)[:100]}: {problem[:200]}",
                      flush=True)
        if figures.tried % 250 == 0:
            print(f"... {figures.tried} cases, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="stagecraft-fuzz-") as tmp:
        figures = fuzz.run(args.seed, args.cases, Path(tmp), subprocess_every=args.subprocess_every,
                           timeout=args.timeout, progress=progress)
    data = {"seed": args.seed, "wall_seconds": round(time.monotonic() - start, 1), **figures.as_dict()}
    print(json.dumps(data, indent=2))
    out = ROOT / "benchmarks" / "results" / f"fuzz-{args.seed}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return 1 if figures.failures() - figures.accepted_dangerous else 0


if __name__ == "__main__":
    sys.exit(main())
