"""Disruption: steps that take something out of service are marked in every output, a zone
disabled for a physical network is enabled again as early as possible, and a stopped apply
puts back what it disabled (or says loudly how to)."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import cli, ops
from cstool.cli import app
from cstool.cloud import restore
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Status
from cstool.cloud.restore import Outcome, manual
from cstool.errors import CstoolError
from cstool.model.loader import load
from cstool.model.plan import Plan, make_plan, plan_from_dict
from cstool.model.resources import Key
from cstool.render import render_plan
from cstool.simulator.transport import Fault
from tests.conftest import DATA

CASE = DATA / "plans" / "add-physical-network-to-enabled-zone"
WITH_POD = DATA / "plans" / "add-physical-network-and-pod-to-enabled-zone"
runner = CliRunner()


def _golden(case: Path) -> Plan:
    desired, _ = load([case / "desired.yaml"])
    live, _ = load([case / "live.yaml"])
    return make_plan(desired, live)


def _zone_state(api: Api, name: str = "z1") -> str:
    (zone,) = [z for z in api.list("listZones") if z["name"] == name]
    return str(zone["allocationstate"])


# --- marking ---------------------------------------------------------------------------


def test_a_zone_disabled_for_a_physical_network_is_marked_in_every_format() -> None:
    plan = _golden(CASE)
    (d,) = plan.disruptions()
    assert (d.key, d.what, d.start, d.end, d.steps) == (Key("zone", ("z1",)), "disabled", 0, 4, 5)
    assert plan.steps[0].disrupts and "disables zone z1" in plan.steps[0].disrupts
    assert [s.disrupts for s in plan.steps[1:]] == [None] * 4
    # disabled and enabled again: a disruption, not an update of the zone
    assert plan.counts()["update"] == 0
    text = render_plan("text", plan, "t")
    assert "1 resource out of service for up to 5 steps" in text.splitlines()[1]
    assert "zone z1 disabled for 5 of 5 steps (steps 1-5)" in text
    md = render_plan("markdown", plan, "t")
    caution = md.index("> [!CAUTION]")
    assert caution < md.index("<details>") and caution < md.index("| zone |")
    assert "> - zone z1 disabled for 5 of 5 steps (steps 1-5)" in md
    body = json.loads(render_plan("json", plan, "t"))
    assert body["disruptions"] == [
        {
            "resource": "zone:z1",
            "kind": "zone",
            "path": ["z1"],
            "what": "disabled",
            "from_step": 1,
            "until_step": 5,
            "steps": 5,
            "restored_by_plan": True,
            "origin": f"{CASE / 'desired.yaml'}:2:5",
        }
    ]
    assert body["steps"][0]["disrupts"].startswith("disables zone z1")
    steps, _ = plan_from_dict(body)  # a saved plan keeps the marks
    assert steps[0].disrupts == plan.steps[0].disrupts


def test_a_replaced_range_is_disrupted_between_its_delete_and_its_create() -> None:
    plan = _golden(DATA / "plans" / "replace-public-range-vlan")
    (d,) = plan.disruptions()
    assert d.what == "deleted and created again" and (d.start, d.end) == (0, 1)
    assert plan.steps[0].disrupts and plan.steps[1].disrupts is None


def test_a_pod_disabled_by_the_config_is_disrupted_until_the_end(tmp_path: Path) -> None:
    live = (CASE / "live.yaml").read_text()
    (tmp_path / "live.yaml").write_text(live)
    (tmp_path / "desired.yaml").write_text(
        live.replace(
            "netmask: 255.255.255.0\n", "netmask: 255.255.255.0\n        enabled: false\n", 1
        )
    )
    plan = _golden(tmp_path)
    (d,) = plan.disruptions()
    assert d.key == Key("pod", ("z1", "p1")) and d.end is None and not d.temporary
    assert "and after the apply" in render_plan("text", plan, "t")


def test_the_zone_is_enabled_again_before_pods_and_ranges() -> None:
    plan = _golden(WITH_POD)
    titles = [(s.title, s.key.to_str()) for s in plan.steps]
    enable = titles.index(("enable", "zone:z1"))
    pod = titles.index(("create", "pod:z1/p2"))
    assert enable < pod and enable == titles.index(("enable", "physical_network:z1/storage")) + 1
    deps = plan.dependencies()

    def before(i: int) -> set[int]:
        seen, todo = set(), list(deps[i])
        while todo:
            j = todo.pop()
            if j not in seen:
                seen.add(j)
                todo += deps[j]
        return seen

    assert pod not in before(enable)  # the enable never waits for the pod
    assert before(enable) == set(range(enable))  # only for the network steps before it
    (d,) = plan.disruptions()
    assert d.steps == 5 and d.total == 6


# --- the fault matrix ------------------------------------------------------------------


@pytest.fixture(scope="module")
def enabled_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulator state with the live side of the case applied: zone z1 enabled."""
    state = tmp_path_factory.mktemp("base") / "sim.json"
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([CASE / "live.yaml"]).state)
    assert ops.apply(api, plan, live, 1).ok and _zone_state(api) == "Enabled"
    api.target.simulator.store.flush()
    return state


def _copy(base: Path, tmp_path: Path) -> Path:
    state = tmp_path / "sim.json"
    shutil.copy(base, state)
    return state


@pytest.fixture(scope="module")
def case_steps(enabled_zone: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """(step index, its first changing command, that command's call number) on a clean run."""
    api = Api(sim_target(_copy(enabled_zone, tmp_path_factory.mktemp("clean"))))
    plan, live = ops.plan(api, ops.desired_state([CASE / "desired.yaml"]).state)
    seen: Counter[str] = Counter()
    targets = []
    for i, step in enumerate(plan.steps):
        first = next(c.command for c in step.calls if not c.command.startswith("list"))
        for call in step.calls:
            seen[call.command] += 1
            if call.command == first and len(targets) == i:
                targets.append((i, first, seen[first]))
    assert ops.apply(api, plan, live, 1).ok
    return targets


# delete the Storage traffic CloudStack put on pn1, disable z1, create the network, add its
# Storage traffic, enable it, enable z1
CASE_STEPS = 6


def _converges(state: Path) -> None:
    """A run without faults finishes the job: the zone enabled, nothing left to do."""
    api = Api(sim_target(state))
    desired = ops.desired_state([CASE / "desired.yaml"]).state
    plan, live = ops.plan(api, desired)
    assert ops.apply(api, plan, live, 1).ok
    assert ops.plan(api, desired)[0].empty
    assert _zone_state(api) == "Enabled"
    pns = [p["name"] for p in api.list("listPhysicalNetworks")]
    assert sorted(pns) == ["pn1", "pn1", "storage"]  # z1: pn1 + storage; z2: pn1


@pytest.mark.parametrize("action", ["error=530", "job", "drop", "lose"])
@pytest.mark.parametrize("step", range(CASE_STEPS))
def test_a_failed_step_leaves_the_zone_as_found_and_a_rerun_converges(
    step: int, action: str, case_steps: list[Any], enabled_zone: Path, tmp_path: Path
) -> None:
    assert len(case_steps) == CASE_STEPS
    index, command, nth = case_steps[step]
    state = _copy(enabled_zone, tmp_path)
    api = Api(sim_target(state, [Fault.parse(f"{command}#{nth}:{action}")]))
    plan, live = ops.plan(api, ops.desired_state([CASE / "desired.yaml"]).state)
    report = ops.apply(api, plan, live, 1)
    if not (action == "lose" and report.ok):  # a lost reply the applier read back as done
        assert not report.ok and report.failed[0].index == index
    assert _zone_state(api) == "Enabled"
    disable = next(i for i, s in enumerate(plan.steps) if s.disrupts)
    if not report.ok and index >= disable:  # the disable was sent: checked, put back if needed
        (restored,) = report.restores
        assert restored.key == Key("zone", ("z1",)) and not restored.failed
    else:
        assert report.restores == []
    _converges(state)


def _interrupt_main() -> None:
    """Ctrl-C as the terminal sends it: SIGINT, to the main thread."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.mark.parametrize("when", ["start", "call"])
@pytest.mark.parametrize("step", range(CASE_STEPS))
def test_ctrl_c_at_any_step_leaves_the_zone_as_found_and_a_rerun_converges(
    step: int, when: str, enabled_zone: Path, tmp_path: Path
) -> None:
    """`start`: the interrupt comes as the applier launches the step (in its own loop);
    `call`: while the step runs (in the worker), so the step finishes first."""
    state = _copy(enabled_zone, tmp_path)
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([CASE / "desired.yaml"]).state)
    fired = threading.Event()

    def event(kind: str, result: Any) -> None:
        if kind == when and result.index == step and not fired.is_set():
            fired.set()
            _interrupt_main()

    report = ops.apply(api, plan, live, 1, event)
    assert fired.is_set() and report.interrupted and not report.ok
    assert report.results[-1].status is not Status.DONE or step == CASE_STEPS - 1
    assert _zone_state(api) == "Enabled"
    assert all(not r.failed for r in report.restores)
    _converges(state)


def _as_ctrl_c(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def test_sigterm_stops_like_ctrl_c_and_the_zone_is_enabled_again(
    enabled_zone: Path, tmp_path: Path
) -> None:
    state = _copy(enabled_zone, tmp_path)
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([CASE / "desired.yaml"]).state)
    old = signal.signal(signal.SIGTERM, _as_ctrl_c)  # as cstool/interrupts.py does
    try:

        def event(kind: str, result: Any) -> None:
            if kind == "call" and plan.steps[result.index].key.kind == "physical_network":
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)

        report = ops.apply(api, plan, live, 1, event)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert report.interrupted
    assert [r.outcome for r in report.restores] == [Outcome.RESTORED]
    assert _zone_state(api) == "Enabled"


# --- the CLI: loud failures, typed confirmation ---------------------------------------


def test_a_failed_restore_is_reported_loudly_with_the_command(
    enabled_zone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any) -> Any:
        raise CstoolError("updateZone failed: (530) the cloud is having a bad day")

    monkeypatch.setattr(restore, "_enable", refused)
    state = _copy(enabled_zone, tmp_path)
    zone_id = next(z["id"] for z in Api(sim_target(state)).list("listZones") if z["name"] == "z1")
    args = ["apply", str(CASE / "desired.yaml"), "--sim", "--sim-state", str(state), "--yes"]
    faults = ["--fault", "createPhysicalNetwork#1:error=530"]
    result = runner.invoke(app, [*args, "--allow-delete", *faults])
    assert result.exit_code == 1
    assert "the cloud is having a bad day" in result.output
    assert "!!! zone z1 IS STILL DISABLED" in result.output
    assert f"!!! enable it by hand: cmk update zone id={zone_id} allocationstate=Enabled" in (
        result.output
    )
    assert _zone_state(Api(sim_target(state))) == "Disabled"  # as reported


def test_a_restore_that_works_is_said(enabled_zone: Path, tmp_path: Path) -> None:
    state = _copy(enabled_zone, tmp_path)
    args = ["apply", str(CASE / "desired.yaml"), "--sim", "--sim-state", str(state), "--yes"]
    result = runner.invoke(app, [*args, "--allow-delete", "--fault", "addTrafficType#1:error=530"])
    assert result.exit_code == 1
    assert "restored: zone z1 is enabled again" in result.output


def test_manual_command_names_the_id_or_says_which_one() -> None:
    assert manual(Key("physical_network", ("z1", "pn")), "42") == (
        "cmk update physicalnetwork id=42 state=Enabled"
    )
    assert manual(Key("pod", ("z1", "p1"))) == (
        "cmk update pod id=<id of pod z1/p1> allocationstate=Enabled"
    )


def test_a_disruptive_plan_needs_the_target_name_typed(
    enabled_zone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    state = _copy(enabled_zone, tmp_path)
    args = ["apply", str(CASE / "desired.yaml"), "--sim", "--sim-state", str(state)]
    refused = runner.invoke(app, [*args, "--allow-delete"], input="y\n")
    assert refused.exit_code == 1
    assert "Out of service during the apply: zone z1 disabled for 5 of 6 steps" in refused.output
    assert "Type the target's name (simulator) to apply" in refused.output
    assert "the answer was not 'simulator'" in refused.output
    api = Api(sim_target(state))
    assert [p["name"] for p in api.list("listPhysicalNetworks")] == ["pn1", "pn1"]
    done = runner.invoke(app, [*args, "--allow-delete"], input="simulator\n")
    assert done.exit_code == 0, done.output
    assert _zone_state(Api(sim_target(state))) == "Enabled"


def test_a_plan_that_only_creates_still_takes_y(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    args = ["apply", str(CASE / "live.yaml"), "--sim", "--sim-state", str(tmp_path / "s.json")]
    result = runner.invoke(app, args, input="y\n")
    assert result.exit_code == 0, result.output
    assert "Apply these" in result.output and "Type the target" not in result.output
