"""Apply a generated 10-zone config to an empty simulator with 50 ms added latency per call,
at parallelism 1 and 8. Target: parallelism 8 at least 4x faster.

    python bench/apply.py [--zones 10] [--pods 4] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool import ops  # noqa: E402
from cstool.cloud.api import Api, sim_target  # noqa: E402
from cstool.simulator.transport import Fault  # noqa: E402


def run(config: Path, state: Path, parallelism: int, latency: float) -> tuple[float, int, int]:
    api = Api(sim_target(state, [Fault("*", "latency", value=str(latency))], job_polls=0))
    desired = ops.desired_state([config]).state
    start = time.perf_counter()
    plan, live = ops.plan(api, desired)
    report = ops.apply(api, plan, live, parallelism)
    took = time.perf_counter() - start
    assert report.ok, [r.error for r in report.failed]
    return took, len(plan.steps), sum(api.calls.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=10)
    parser.add_argument("--pods", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "config", args.zones, args.pods)
        print(f"{args.zones} zones x {args.pods} pods, {args.latency * 1000:.0f} ms per call")
        times = {}
        for parallelism in (1, 8):
            took, steps, calls = run(
                config, Path(tmp) / f"sim{parallelism}.json", parallelism, args.latency
            )
            times[parallelism] = took
            print(f"parallelism {parallelism}: {took:6.2f} s  ({steps} steps, {calls} API calls)")
        print(f"speed-up: {times[1] / times[8]:.1f}x (target >= 4x)")


if __name__ == "__main__":
    main()
