"""Recorded API scenarios: how each file under tests/data/api is made from the simulator.

Regenerate them all, with no hand editing:  python -m tests.recordings
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from cstool import ops
from cstool.cloud.api import Api, sim_target
from cstool.cloud.record import Recording, start_recording

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "tests" / "data" / "api"
CONFIGS = ROOT / "configs"


def _apply(api: Api, config: Path) -> None:
    desired = ops.desired_state([config]).state
    plan, live = ops.plan(api, desired)
    ops.apply(api, plan, live, parallelism=1)


def lab_read_empty_cloud(api: Api) -> Callable[[Api], object]:
    """plan of the lab zone against an empty cloud: the reads only."""
    return lambda a: ops.plan(a, ops.desired_state([CONFIGS / "lab"]).state)


def lab_read_applied(api: Api) -> Callable[[Api], object]:
    """drift of the lab zone after it was applied."""
    _apply(api, CONFIGS / "lab")
    return lambda a: ops.drift(a, ops.desired_state([CONFIGS / "lab"]).state)


def region_read_applied(api: Api) -> Callable[[Api], object]:
    """drift of the two-zone region after it was applied."""
    _apply(api, CONFIGS / "region")
    return lambda a: ops.drift(a, ops.desired_state([CONFIGS / "region"]).state)


def basic_apply(api: Api) -> Callable[[Api], object]:
    """the whole bring-up of the Basic zone: reads, creates and async jobs."""
    return lambda a: _apply(a, CONFIGS / "basic")


def pod_create_refused(api: Api) -> Callable[[Api], object]:
    """createPod refused with 431 (a pod of that name exists already)."""
    _apply(api, CONFIGS / "basic")
    zone = api.list("listZones")[0]["id"]
    return lambda a: a.call(
        "createPod",
        zoneid=zone,
        name="pod1",
        gateway="172.16.10.1",
        netmask="255.255.255.0",
        startip="172.16.10.50",
        endip="172.16.10.60",
    )


SCENARIOS: dict[str, Callable[[Api], Callable[[Api], object]]] = {
    "lab-read-empty-cloud": lab_read_empty_cloud,
    "lab-read-applied": lab_read_applied,
    "region-read-applied": region_read_applied,
    "basic-apply": basic_apply,
    "pod-create-refused": pod_create_refused,
}


def record(name: str, directory: Path) -> tuple[Recording, Path]:
    """Set up the scenario on a fresh simulator, then record its action."""
    state = directory / f"{name}.json"
    action = SCENARIOS[name](Api(sim_target(state)))  # the set-up is not recorded
    api = Api(sim_target(state))
    recording = start_recording(api)
    recording.header.pop("date")  # stable files: the scenario, not the day, is what matters
    recording.header["scenario"] = name
    try:
        action(api)
    except Exception as exc:  # a refused call is part of some scenarios
        recording.header["outcome"] = type(exc).__name__
    return recording, state


def main() -> None:
    API.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            recording, _ = record(name, Path(tmp))
            recording.save(API / f"{name}.yaml")
            print(f"{API / name}.yaml: {len(recording.exchanges)} exchanges", file=sys.stderr)


if __name__ == "__main__":
    main()
