"""Peak memory of validate, plan and apply on the largest benchmark config (default 50 zones
x 48 pods = 10,101 resources, as bench/validate.py), each phase in a fresh process.

Each phase is measured step by step with tracemalloc (Python allocations): load, then
validate, or the plan (reading the cloud and making the steps), or the apply. For every step
the peak above what was held when it began, and what is held after it, beside the size of
one desired State: the figures then read as copies of the state. The process's peak RSS
(resource.getrusage) is printed too. plan reads an empty simulator; apply brings the whole
config up on one (in-process, no latency, parallelism 8), whose own objects are shown apart.
Each phase runs once on a tiny config first, so that imports and data read once per process
(the API spec, the settings catalog) are not counted.

    python bench/memory.py [--zones 50] [--pods 48] [--phase validate|plan|apply|all]

Target: no step holds more than a few copies of the state.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

PHASES = ("validate", "plan", "apply")
COPIES_TARGET = 5.0  # a step's peak, in copies of one desired State


def _held() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


class Meter:
    """Steps of one phase: each one's time, peak above its start, and what is held after."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.base = _held()

    def step(self, name: str, run: Callable[[], Any]) -> Any:
        start = _held()
        tracemalloc.reset_peak()
        began = time.perf_counter()
        result = run()
        took = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1]
        self.rows.append(
            {
                "step": name,
                "seconds": took,
                "peak": peak - start,
                "held": _held() - self.base,
            }
        )
        return result


def measure(phase: str, config: Path, work: Path) -> dict[str, Any]:
    """One phase, step by step; sizes in bytes."""
    _run(phase, write_config(work / "warm", 1, 1), work / "warm", None)
    tracemalloc.start(1)
    meter = Meter()
    found = _run(phase, config, work, meter)
    state = _state_size(config)
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"phase": phase, "steps": meter.rows, "state": state, "maxrss": maxrss, **found}


def _run(phase: str, config: Path, work: Path, meter: Meter | None) -> dict[str, Any]:
    from cstool import ops
    from cstool.model.loader import load
    from cstool.model.validate import validate

    def step(name: str, run: Callable[[], Any]) -> Any:
        return meter.step(name, run) if meter is not None else run()

    if phase == "validate":
        state, problems = step("load", lambda: load([config]))
        step("validate", lambda: validate(state))
        return {"resources": len(state)}
    from cstool.cloud.api import Api, sim_target
    from cstool.simulator.transport import Simulator

    state = step("load + validate", lambda: ops.desired_state([config]).state)
    api = Api(sim_target(work / "sim.json", job_polls=0))
    simulator = api.target.simulator
    assert simulator is not None
    # the simulator writes its whole state every half second (a copy of the cloud, and a
    # pause of every request while it writes): not the tool's memory, and not needed here
    simulator.store.save_interval = 1e9
    plan, live = step("plan (read + steps)", lambda: ops.plan(api, state))
    found: dict[str, Any] = {"resources": len(state), "plan_steps": len(plan.steps)}
    if phase == "apply":
        report = step("apply", lambda: ops.apply(api, plan, live, parallelism=8))
        assert report.ok, [r.error for r in report.failed][:3]
        if meter is not None:  # what letting the simulator go frees: the cloud's own copy
            with_simulator = _held()
            Simulator.release_shared(work / "sim.json")
            del api, simulator
            found["simulator"] = with_simulator - _held()
    return found


def _state_size(config: Path) -> int:
    """Bytes one desired State holds once loaded (what is left after the load's own work)."""
    from cstool import ops

    before = _held()
    state = ops.desired_state([config]).state
    size = _held() - before
    del state
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--pods", type=int, default=48)
    parser.add_argument("--phase", choices=(*PHASES, "all"), default="all")
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)  # a child's config
    args = parser.parse_args()
    if args.config is not None:  # a child process: one phase, one JSON line
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(args.phase, args.config, Path(tmp))))
        return
    phases = PHASES if args.phase == "all" else (args.phase,)
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "config", args.zones, args.pods)
        results = [_child(phase, config) for phase in phases]
    sys.exit(0 if _report(args, results) else 1)


def _report(args: argparse.Namespace, results: list[dict[str, Any]]) -> bool:
    mb, state = 1e6, results[0]["state"]
    print(f"{args.zones} zones x {args.pods} pods = {results[0]['resources']} resources; ", end="")
    print(f"one desired State holds {state / mb:.1f} MB")
    print(
        f"{'phase / step':<28} {'s':>6} {'peak MB':>8} {'copies':>6} {'held MB':>8} {'copies':>6}"
    )
    ok = True
    for result in results:
        print(f"{result['phase']} (peak RSS {result['maxrss'] / mb:.0f} MB)")
        for row in result["steps"]:
            held = row["held"]
            if row["step"] == "apply":
                held -= result.get("simulator", 0)  # the cloud's own copy, not the tool's
            copies = row["peak"] / state
            print(
                f"  {row['step']:<26} {row['seconds']:>6.1f} {row['peak'] / mb:>8.1f} "
                f"{copies:>6.1f} {held / mb:>8.1f} {held / state:>6.1f}"
            )
            if row["step"] not in ("load", "load + validate") and copies > COPIES_TARGET:
                ok = False
        if "simulator" in result:
            print(f"  (the simulator holds {result['simulator'] / mb:.1f} MB after the apply;")
            print("   the apply's peak includes what it built, its held figure does not)")
    print(f"copies: MB / one State; target: every step after the load under {COPIES_TARGET:.0f}")
    return ok


def _child(phase: str, config: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--config", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
