"""Apply against the dependency-graph bound: one big zone, and many small ones.

Each case applies a generated config to an empty simulator with a fixed latency per API
request (default 50 ms), at parallelism 1 and 8, --runs times each (min/median/max). Jobs
finish at once (the job's first poll answers it), so an async call costs two requests.

The bound is the critical path of the apply graph: the longest chain of steps, each costing
the latency times its requests (one per call, two per async call). No schedule, at any
parallelism, can apply the plan faster. The width bound, all requests of the plan divided
among the parallel workers, is printed beside it: the best a schedule can do is the larger
of the two.

Targets: parallelism 8 at least 6x faster than parallelism 1 for one zone x 30 pods (4x for
ten zones x 4 pods, as bench/apply.py), and within 1.5x of the larger bound. Both ratios to
the critical path alone are printed too: for one zone x 30 pods at 50 ms the width bound
(about 180 requests / 8) is above 1.5x the critical path (14 requests), so no schedule can
come within 1.5x of the critical path alone at parallelism 8.

    python bench/apply_graph.py [--latency 0.05] [--runs 3] [--case big|many|both]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool import apispec, ops  # noqa: E402
from cstool.cloud.api import Api, sim_target  # noqa: E402
from cstool.model.order import critical_path  # noqa: E402
from cstool.model.plan import Plan, Step  # noqa: E402
from cstool.simulator.transport import Fault  # noqa: E402


@dataclass(frozen=True)
class Run:
    plan_s: float
    apply_s: float
    steps: int
    calls: int


def requests_of(step: Step) -> int:
    """HTTP requests one step makes: one per call, plus the poll that finds an async job
    done (the simulator here answers every job at its first poll)."""
    total = 0
    for call in step.calls:
        spec = apispec.command(call.command)
        total += 2 if spec is not None and spec.is_async else 1
    return total


def bounds(plan: Plan, latency: float, parallelism: int) -> tuple[float, float, int]:
    """(critical-path bound, width bound, steps on the critical path) in seconds."""
    deps = plan.dependencies()
    cost = [requests_of(s) * latency for s in plan.steps]
    path = critical_path(deps, lambda i: cost[i])
    return sum(cost[i] for i in path), sum(cost) / parallelism, len(path)


def run(config: Path, state: Path, parallelism: int, latency: float) -> tuple[Run, Plan]:
    api = Api(sim_target(state, [Fault("*", "latency", value=str(latency))], job_polls=0))
    desired = ops.desired_state([config]).state
    start = time.perf_counter()
    plan, live = ops.plan(api, desired)
    planned = time.perf_counter()
    report = ops.apply(api, plan, live, parallelism)
    done = time.perf_counter()
    assert report.ok, [r.error for r in report.failed]
    return Run(planned - start, done - planned, len(plan.steps), sum(api.calls.values())), plan


def spread(values: Sequence[float]) -> str:
    return f"{min(values):5.2f} / {statistics.median(values):5.2f} / {max(values):5.2f} s"


def case(name: str, zones: int, pods: int, latency: float, runs: int, target: float) -> list[str]:
    """Apply zones x pods `runs` times at parallelism 1 and 8; print figures and bounds;
    return what missed its target (speed-up, and 1.5x of the best bound at parallelism 8)."""
    print(f"\n{name}: {zones} zone(s) x {pods} pods, {latency * 1000:.0f} ms per request")
    results: dict[int, list[Run]] = {1: [], 8: []}
    plan: Plan | None = None
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "config", zones, pods)
        for n in range(runs):
            for parallelism in (1, 8):
                state = Path(tmp) / f"sim-{parallelism}-{n}.json"
                one, plan = run(config, state, parallelism, latency)
                results[parallelism].append(one)
    assert plan is not None
    first = results[1][0]
    print(f"  plan: {first.steps} steps, {first.calls} API calls")
    for parallelism, runs_at in results.items():
        apply_s = [r.apply_s for r in runs_at]
        plan_s = [r.plan_s for r in runs_at]
        print(
            f"  parallelism {parallelism}: apply {spread(apply_s)}   "
            f"(plan {spread(plan_s)})   min/median/max of {len(runs_at)}"
        )
    path_s, width_s, length = bounds(plan, latency, 8)
    best = max(path_s, width_s)
    fast = [r.apply_s for r in results[8]]
    slow = [r.apply_s for r in results[1]]
    speedups = [s / f for s, f in zip(slow, fast, strict=True)]
    print(f"  bound, critical path ({length} steps):  {path_s:5.2f} s")
    print(f"  width bound, all requests / 8:       {width_s:5.2f} s")
    print(f"  speed-up 1 -> 8:         {times(speedups)}   target >= {target:.0f}x")
    print(f"  parallelism 8 / bound:   {times([f / path_s for f in fast])}")
    print(f"  parallelism 8 / max(critical path, width): {times([f / best for f in fast])}")
    missed = []
    if min(speedups) < target:
        missed.append(f"{name}: speed-up {min(speedups):.1f}x < {target:.0f}x")
    if max(fast) > 1.5 * best:
        missed.append(f"{name}: parallelism 8 {max(fast):.2f} s > 1.5 x {best:.2f} s")
    return missed


def times(values: Sequence[float]) -> str:
    return f"{min(values):5.2f} / {statistics.median(values):5.2f} / {max(values):5.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", choices=("big", "many", "both"), default="both")
    args = parser.parse_args()
    missed = []
    if args.case in ("big", "both"):
        missed += case("one big zone", 1, 30, args.latency, args.runs, target=6)
    if args.case in ("many", "both"):
        missed += case("many zones", 10, 4, args.latency, args.runs, target=4)
    for line in missed:
        print("MISSED:", line)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
