"""Apply: bring-up in CloudStack's order, convergence after failures, safety, saved plans."""

from __future__ import annotations

import _thread
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Status
from cstool.errors import JobTimeout, StalePlan, UnsafePlan
from cstool.model.diff import Action
from cstool.model.plan import check_safety
from cstool.model.resources import Key
from cstool.simulator.transport import Fault
from tests.conftest import CONFIGS, EXAMPLES

runner = CliRunner()
LAB = CONFIGS / "lab"


def _apply(api: Api, paths: list[Any], parallelism: int = 4, prune: bool = False):  # type: ignore[no-untyped-def]
    desired = ops.desired_state(paths).state
    plan, live = ops.plan(api, desired, prune)
    return plan, ops.apply(api, plan, live, parallelism)


def _objects(api: Api) -> Counter[str]:
    """How many objects of each table the simulated cloud holds."""
    tables = api.target.simulator.store.tables
    return Counter({name: len(rows) for name, rows in tables.items() if name != "globalconfig"})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_applies_to_an_empty_cloud_and_converges(example: Path, tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    plan, report = _apply(api, [example])
    assert report.ok and report.count(Status.DONE) == len(plan.steps)
    desired = ops.desired_state([example]).state
    again, _ = ops.plan(api, desired)
    assert again.empty
    assert ops.drift(api, desired).in_sync
    before = _objects(api)
    second, report = _apply(api, [example])
    assert second.empty and report.results == [] and _objects(api) == before


def _baseline(tmp_path: Path) -> list[tuple[int, str, int]]:
    """(step index, its first changing command, that command's call number) in a clean run."""
    api = Api(sim_target(tmp_path / "baseline.json"))
    desired = ops.desired_state([LAB]).state
    plan, live = ops.plan(api, desired)
    seen: Counter[str] = Counter()
    targets = []
    for i, step in enumerate(plan.steps):
        first = next(c.command for c in step.calls if not c.command.startswith("list"))
        for call in step.calls:
            seen[call.command] += 1
            if call.command == first and len(targets) == i:
                targets.append((i, first, seen[first]))
    assert ops.apply(api, plan, live, parallelism=1).ok
    return targets


@pytest.fixture(scope="module")
def lab_steps(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, str, int]]:
    return _baseline(tmp_path_factory.mktemp("baseline"))


@pytest.fixture(scope="module")
def lab_objects(tmp_path_factory: pytest.TempPathFactory) -> Counter[str]:
    api = Api(sim_target(tmp_path_factory.mktemp("clean") / "sim.json"))
    assert _apply(api, [LAB])[1].ok
    return _objects(api)


LAB_STEPS = 23


@pytest.mark.parametrize("action", ["error=530", "job", "drop", "lose"])
@pytest.mark.parametrize("step", range(LAB_STEPS))
def test_failed_step_stops_the_apply_and_a_rerun_converges_without_duplicates(
    step: int,
    action: str,
    lab_steps: list[tuple[int, str, int]],
    lab_objects: Counter[str],
    tmp_path: Path,
) -> None:
    assert len(lab_steps) == LAB_STEPS
    index, command, nth = lab_steps[step]
    fault = Fault.parse(f"{command}#{nth}:{action}")
    state = tmp_path / "sim.json"
    api = Api(sim_target(state, [fault]))
    _plan, report = _apply(api, [LAB], parallelism=1)
    if report.ok:  # a create whose reply was lost is read back by identity: found, done
        assert action == "lose" and "read back" in (report.results[index].note or "")
    else:
        (failed,) = report.failed
        assert failed.index == index and failed.step.origin is not None
        assert failed.error and (command in failed.error or "cannot reach" in failed.error)
        if action in ("drop", "lose"):  # no answer: never reported as a plain failure
            assert failed.status is Status.UNKNOWN and "outcome unknown" in failed.error
        assert all(r.status is Status.NOT_STARTED for r in report.results[index + 1 :])
        assert all(r.status is Status.DONE for r in report.results[:index])
    clean = Api(sim_target(state))
    _plan, report = _apply(clean, [LAB])
    assert report.ok
    assert ops.drift(clean, ops.desired_state([LAB]).state).in_sync
    assert _objects(clean) == lab_objects  # nothing created twice


def test_cli_reports_the_failure_with_the_yaml_origin_and_exits_1(tmp_path: Path) -> None:
    args = ["apply", str(LAB), "--sim", "--sim-state", str(tmp_path / "s.json"), "--yes"]
    result = runner.invoke(app, [*args, "--fault", "createPod#2:error=431"])
    assert result.exit_code == 1
    assert (
        "configs/lab/lab.yaml:58:9: create pod lab1/pod2 failed: createPod failed: (431)"
        in result.output
    )
    assert "Not started:" in result.output and "hint: fix the cause" in result.output
    assert runner.invoke(app, args).exit_code == 0


def test_independent_zones_run_concurrently(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json", [Fault.parse("*:latency=0.01")]))
    desired = ops.desired_state([CONFIGS / "region"]).state
    plan, live = ops.plan(api, desired)
    running: set[int] = set()
    peak = 0
    lock = threading.Lock()

    def event(kind: str, result: Any) -> None:
        nonlocal peak
        with lock:
            (running.add if kind == "start" else running.discard)(result.index)
            peak = max(peak, len(running))

    assert ops.apply(api, plan, live, parallelism=8, on_event=event).ok
    assert peak > 1
    assert ops.drift(api, desired).in_sync


def test_saved_plan_applies_when_the_cloud_is_unchanged(tmp_path: Path) -> None:
    state, saved = str(tmp_path / "s.json"), tmp_path / "plan.json"
    result = runner.invoke(
        app, ["plan", str(LAB), "--sim", "--sim-state", state, "--out", str(saved)]
    )
    assert result.exit_code == 3 and json.loads(saved.read_text())["checksum"]
    applied = runner.invoke(app, ["apply", str(saved), "--sim", "--sim-state", state, "--yes"])
    assert applied.exit_code == 0, applied.output
    assert "still matches the cloud" in applied.output


def test_saved_plan_is_refused_when_the_cloud_changed(tmp_path: Path) -> None:
    state, saved = tmp_path / "s.json", tmp_path / "plan.json"
    runner.invoke(app, ["plan", str(LAB), "--sim", "--sim-state", str(state), "--out", str(saved)])
    api = Api(sim_target(state))
    api.call(
        "createZone", name="lab1", networktype="Advanced", dns1="8.8.8.8", internaldns1="10.0.0.1"
    )
    result = runner.invoke(app, ["apply", str(saved), "--sim", "--sim-state", str(state), "--yes"])
    assert result.exit_code == 1
    assert "the cloud changed since the plan was made" in result.output
    assert "no longer needed: create zone:lab1" in result.output
    with pytest.raises(StalePlan):
        data, desired = ops.load_saved_plan(saved)
        ops.check_saved(data, ops.plan(api, desired)[0])


def test_deletes_need_permission_and_many_need_force(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json"))
    assert _apply(api, [LAB])[1].ok
    zone_absent = tmp_path / "absent.yaml"
    zone_absent.write_text("zones: [{name: lab1, absent: true}]\n")
    desired = ops.desired_state([zone_absent]).state
    plan, _ = ops.plan(api, desired)
    with pytest.raises(UnsafePlan, match=r"deletes or replaces \d+ of \d+ managed resources"):
        check_safety(plan, allow_delete=True, force=False)
    check_safety(plan, allow_delete=True, force=True)
    assert {s.key for s in plan.steps} >= {Key("zone", ("lab1",))}
    assert all(s.action is Action.DELETE for s in plan.steps)
    edited = tmp_path / "lab.yaml"
    edited.write_text((LAB / "lab.yaml").read_text().replace("{vlan: 100,", "{vlan: 101,"))
    replace, _ = ops.plan(api, ops.desired_state([edited]).state)
    assert {(s.title, s.key.to_str()) for s in replace.destructive()} == {
        ("delete", "public_range:lab1/203.0.113.10"),
        ("create", "public_range:lab1/203.0.113.10"),
        ("delete", "public_range:lab1/203.0.113.150"),
        ("create", "public_range:lab1/203.0.113.150"),
    }
    with pytest.raises(UnsafePlan, match="deletes or replaces 2 resource") as info:
        check_safety(replace, allow_delete=False, force=False)
    assert "--allow-delete" in (info.value.hint or "")
    check_safety(replace, allow_delete=True, force=False)  # 2 of 23: under the threshold
    assert ops.apply(
        api, replace, ops.read_for(api, replace and ops.desired_state([edited]).state), 4
    ).ok


def test_an_absent_zone_is_torn_down_child_first(tmp_path: Path) -> None:
    state = str(tmp_path / "s.json")
    for example in ("lab", "basic"):
        assert (
            runner.invoke(
                app, ["apply", str(CONFIGS / example), "--sim", "--sim-state", state, "--yes"]
            ).exit_code
            == 0
        )
    gone = tmp_path / "basic-absent.yaml"
    gone.write_text("zones: [{name: basic1, absent: true}]\n")
    result = runner.invoke(
        app,
        [
            "apply",
            str(CONFIGS / "lab"),
            str(gone),
            "--sim",
            "--sim-state",
            state,
            "--yes",
            "--allow-delete",
            "--force",
        ],
    )
    assert result.exit_code == 0, result.output
    api = Api(sim_target(Path(state)))
    assert [z["name"] for z in api.list("listZones")] == ["lab1"]
    assert ops.drift(api, ops.desired_state([LAB]).state).in_sync


def test_async_job_deadline_names_the_job(tmp_path: Path) -> None:
    target = sim_target(tmp_path / "s.json", job_polls=10**9)
    target.poll_interval = 0.05
    api = Api(target, job_timeout=1)
    zone = api.call(
        "createZone", name="z", networktype="Advanced", dns1="8.8.8.8", internaldns1="10.0.0.1"
    )["zone"]
    with pytest.raises(JobTimeout) as info:
        api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    assert "createPhysicalNetwork: async job" in str(info.value)
    assert "queryAsyncJobResult" in (info.value.hint or "")


def test_ctrl_c_lets_running_steps_finish_and_reports(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json", [Fault.parse("*:latency=0.02")]))
    desired = ops.desired_state([LAB]).state
    plan, live = ops.plan(api, desired)
    timer = threading.Timer(0.15, _thread.interrupt_main)
    timer.start()
    report = ops.apply(api, plan, live, parallelism=2)
    timer.cancel()
    assert report.interrupted and not report.ok
    assert report.count(Status.NOT_STARTED) > 0 and report.count(Status.DONE) > 0
    assert report.count(Status.FAILED) == 0
    _plan, again = _apply(Api(sim_target(tmp_path / "s.json")), [LAB])
    assert again.ok


def test_apply_without_a_terminal_and_without_yes_refuses(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["apply", str(LAB), "--sim", "--sim-state", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 1 and "pass --yes" in result.output
    api = Api(sim_target(tmp_path / "s.json"))
    assert api.list("listZones") == []
