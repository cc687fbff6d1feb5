"""API calls and wall time of `plan` on generated clouds (1, 10, 50 zones x 20 pods) with
50 ms of added latency per call on the simulator.

    python bench/plan.py [--zones 1 10 50] [--pods 20] [--latency 0.05]

Targets: calls grow with kinds and physical networks, not with resources (50 zones: 108
calls); 10 zones < 2 s; 50 zones < 0.6 s. The bound is the read's round trips: every
whole-cloud list at once, then the per-physical-network and per-zone lists as soon as their
parents are known, at most reader.WORKERS in flight, plus the CPU of reading and diffing.
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
from cstool.cloud.reader import WORKERS  # noqa: E402
from cstool.simulator.transport import Fault  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'zones':>5} {'resources':>9} {'API calls':>9} {'plan s (runs)':>22} {'target':>8}"
        f"   (latency {args.latency * 1000:.0f} ms per call, {WORKERS} reads in flight)"
    )
    targets = {10: 2.0, 50: 0.6}
    for zones in args.zones:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp) / "config", zones, args.pods)
            desired = ops.desired_state([config]).state
            state = Path(tmp) / "sim.json"
            api = Api(sim_target(state))
            built, live = ops.plan(api, desired)
            assert ops.apply(api, built, live, parallelism=8).ok
            times = []
            for _ in range(args.runs):
                slow = Api(sim_target(state, [Fault("*", "latency", value=str(args.latency))]))
                start = time.perf_counter()
                result, _ = ops.plan(slow, desired)
                times.append(time.perf_counter() - start)
                assert result.empty
            shown = " ".join(f"{t:.2f}" for t in times)
            bound = targets.get(zones)
            verdict = (
                "" if bound is None else f"< {bound} ({'met' if max(times) < bound else 'NOT met'})"
            )
            print(
                f"{zones:>5} {len(desired):>9} {sum(slow.calls.values()):>9} {shown:>22} {verdict}"
            )


if __name__ == "__main__":
    main()
