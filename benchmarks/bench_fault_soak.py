"""A longer fault soak: the reliability suite's 30-job fault table, repeated over several rounds at once.

Every round adds the full fault table again and 30 more jobs on kie, replicate,
fal and kling, all driven by one runner against one emulator. The soak checks
the same invariants as tests/reliability/test_fault_soak.py (one accepted
create per job at most, `unknown` exactly where a create's answer was lost, no
partial clip recorded) and prints the figures.

    python benchmarks/bench_fault_soak.py [--rounds 5]

Exits non-zero when an invariant breaks (an AssertionError with the details).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulator import Emulator  # noqa: E402
from tests.reliability.test_fault_soak import run_soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="30 jobs and one full fault table per round")
    args = parser.parse_args()
    with Emulator(latency=0.3, seed=11) as emu:
        data = Path(tempfile.mkdtemp(prefix="kling-lab-soak-")) / "data"
        started = time.perf_counter()
        result = run_soak(emu, data, rounds=args.rounds)
        wall = time.perf_counter() - started
    print(f"rounds:            {args.rounds}")
    print(f"jobs:              {result.jobs}")
    print(f"faults injected:   {result.faults_injected}")
    print(f"accepted creates:  {result.accepted_creates}")
    print(f"final states:      {result.states}")
    print(f"wall time:         {wall:.1f} s ({wall / result.jobs:.2f} s per job, all at once)")
    print("invariants:        one create per job at most; unknown only for lost answers; no partial clips — OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
