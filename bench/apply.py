"""Apply a generated 10-zone config to an empty simulator with 50 ms added latency per call,
at parallelism 1 and 8. Target: parallelism 8 at least 4x faster.

Then the lab zone (configs/lab) with every async job pending for --job-time seconds (0.3),
as on a real server, at 50 ms per call: the apply time beside the dependency-graph bound
(the longest chain of steps, each costing its calls' latency plus, for an async call, the
job's time and one poll). Target: within 1.5x of the bound.

    python bench/apply.py [--zones 10] [--pods 4] [--latency 0.05] [--job-time 0.3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from graphlib import TopologicalSorter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool import apispec, ops  # noqa: E402
from cstool.cloud.api import Api, sim_target  # noqa: E402
from cstool.model.plan import Plan  # noqa: E402
from cstool.simulator.transport import Fault  # noqa: E402

LAB = Path(__file__).resolve().parent.parent / "configs" / "lab"


def run(config: Path, state: Path, parallelism: int, latency: float) -> tuple[float, int, int]:
    api = Api(sim_target(state, [Fault("*", "latency", value=str(latency))], job_polls=0))
    desired = ops.desired_state([config]).state
    start = time.perf_counter()
    plan, live = ops.plan(api, desired)
    report = ops.apply(api, plan, live, parallelism)
    took = time.perf_counter() - start
    assert report.ok, [r.error for r in report.failed]
    return took, len(plan.steps), sum(api.calls.values())


def lab(state: Path, latency: float, job_time: float, parallelism: int = 8) -> None:
    """The lab zone with jobs that stay pending, as on a real server."""
    slow = Fault("*", "latency", value=str(latency))
    faults = [slow, Fault("*", "job-time", value=str(job_time))]
    target = sim_target(state, faults, job_polls=0)
    target.poll_interval = 1.0  # what a configured (real) target has: polls start at 0.1 s
    api = Api(target, parallelism=parallelism)
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    start = time.perf_counter()
    report = ops.apply(api, plan, live, parallelism)
    took = time.perf_counter() - start
    assert report.ok, [r.error for r in report.failed]
    bound = graph_bound(plan, latency, job_time)
    print(
        f"lab zone, jobs pending {job_time:g} s, {latency * 1000:.0f} ms per call, "
        f"parallelism {parallelism}: apply {took:5.2f} s, dependency-graph bound {bound:5.2f} s "
        f"({took / bound:.2f}x, target <= 1.5x; {len(plan.steps)} steps, "
        f"{sum(api.calls.values())} calls, {api.polls} job polls)"
    )


def graph_bound(plan: Plan, latency: float, job_time: float) -> float:
    """The longest chain of the plan's dependency graph: a step costs one round trip per
    call, and an async call also its job's time and the poll that finds it done."""

    def cost(i: int) -> float:
        total = 0.0
        for call in plan.steps[i].calls:
            spec = apispec.command(call.command)
            total += latency
            if spec is not None and spec.is_async:
                total += job_time + latency
        return total

    deps = plan.dependencies()
    finish: dict[int, float] = {}
    every = {i: deps.get(i, set()) for i in range(len(plan.steps))}
    for i in TopologicalSorter(every).static_order():
        finish[i] = cost(i) + max((finish[d] for d in deps.get(i, set())), default=0.0)
    return max(finish.values(), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=10)
    parser.add_argument("--pods", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--job-time", type=float, default=0.3)
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
        lab(Path(tmp) / "lab.json", args.latency, args.job_time)


if __name__ == "__main__":
    main()
