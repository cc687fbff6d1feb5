"""Two live objects with one identity are seen, reported with both ids, refused as a base
for a plan, and removable with --prune; a write with no answer is read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Status
from cstool.cloud.reader import read_live
from cstool.model.resources import Key
from cstool.simulator.transport import Fault
from tests.conftest import CONFIGS

runner = CliRunner()
LAB = CONFIGS / "lab"
TRUNK = Key("physical_network", ("lab1", "trunk"))


def _with_duplicate(state: Path) -> tuple[Api, str, str]:
    """The lab applied, plus a second physical network named trunk (as a create retried after
    a lost reply leaves it). Returns the api and the two ids (first the original)."""
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    (zone,) = api.list("listZones")
    api.call("updateZone", id=zone["id"], allocationstate="Disabled")
    api.call("createPhysicalNetwork", zoneid=zone["id"], name="trunk", isolationmethods="VLAN")
    api.call("updateZone", id=zone["id"], allocationstate="Enabled")
    api.target.simulator.store.flush()
    ids = [p["id"] for p in api.list("listPhysicalNetworks", zoneid=zone["id"])]
    trunks = [p["id"] for p in api.list("listPhysicalNetworks") if p["name"] == "trunk"]
    assert len(trunks) == 2 and len(ids) == 3
    return api, trunks[0], trunks[1]


def test_the_reader_keeps_both_and_names_both_ids(tmp_path: Path) -> None:
    api, first, second = _with_duplicate(tmp_path / "s.json")
    live = read_live(api)
    assert live.duplicates == {TRUNK: [first, second]}
    assert live[TRUNK].uuid == first  # the first listed keeps the identity
    extra = [r for r in live.of_kind("physical_network") if r.uuid == second]
    assert extra and "duplicate" in extra[0].key.path[-1] and first in extra[0].key.path[-1]


def test_plan_refuses_to_build_on_duplicates_and_says_which(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _api, first, second = _with_duplicate(state)
    result = runner.invoke(app, ["plan", str(LAB), "--sim", "--sim-state", str(state)])
    assert result.exit_code == 1
    assert "duplicates" in result.output and first in result.output and second in result.output
    assert "deletePhysicalNetwork" in result.output


def test_drift_reports_the_duplicate_with_both_ids(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _api, first, second = _with_duplicate(state)
    args = ["drift", str(LAB), "--sim", "--sim-state", str(state), "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert f"duplicate id {second} of {first}" in result.output


def test_prune_removes_the_extra_one_and_keeps_the_original(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _api, first, second = _with_duplicate(state)
    args = [str(LAB), "--sim", "--sim-state", str(state)]
    planned = runner.invoke(app, ["plan", *args, "--prune", "-f", "json"])
    assert planned.exit_code == 3, planned.output
    calls = [c for s in json.loads(planned.output)["steps"] for c in s["calls"]]
    deleted = [c for c in calls if c["command"] == "deletePhysicalNetwork"]
    assert len(deleted) == 1
    applied = runner.invoke(app, ["apply", *args, "--prune", "--yes"])
    assert applied.exit_code == 0, applied.output
    api = Api(sim_target(state))
    trunks = [p["id"] for p in api.list("listPhysicalNetworks") if p["name"] == "trunk"]
    assert trunks == [first]
    assert runner.invoke(app, ["drift", *args]).exit_code == 0


def test_export_refuses_to_pick_one_of_two(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _api, first, second = _with_duplicate(state)
    result = runner.invoke(app, ["export", "--sim", "--sim-state", str(state)])
    assert result.exit_code == 1 and second in result.output


def test_a_create_whose_reply_is_lost_is_read_back_and_counted_done(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json", [Fault.parse("createPhysicalNetwork#1:lose")]))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    report = ops.apply(api, plan, live)
    assert report.ok
    (lost,) = [r for r in report.results if r.note]
    assert lost.status is Status.DONE and "outcome unknown" in lost.note
    assert "read back" in lost.note and "exists (id " in lost.note
    assert not read_live(api).duplicates
    assert len(api.list("listPhysicalNetworks")) == 2


def test_a_create_that_never_arrived_is_reported_as_outcome_unknown(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    args = ["apply", str(LAB), "--sim", "--sim-state", str(state), "--yes"]
    result = runner.invoke(app, [*args, "--fault", "createPhysicalNetwork#1:drop"])
    assert result.exit_code == 1
    assert "outcome unknown" in result.output and "does not exist" in result.output
    assert runner.invoke(app, args).exit_code == 0  # the re-run creates it, once
    api = Api(sim_target(state))
    assert len(api.list("listPhysicalNetworks")) == 2 and not read_live(api).duplicates


@pytest.mark.parametrize("fault", ["deletePod#1:lose"])
def test_a_delete_whose_reply_is_lost_is_done_when_it_is_gone(fault: str, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    (zone,) = api.list("listZones")
    api.call(
        "createPod",
        zoneid=zone["id"],
        name="extra",
        gateway="10.10.9.1",
        netmask="255.255.255.0",
        startip="10.10.9.10",
        endip="10.10.9.20",
    )
    api.target.simulator.store.flush()
    lossy = Api(sim_target(state, [Fault.parse(fault)]))
    plan, live = ops.plan(lossy, ops.desired_state([LAB]).state, prune=True)
    report = ops.apply(lossy, plan, live)
    assert report.ok, [r.error for r in report.results]
    assert any("is gone, counted done" in (r.note or "") for r in report.results)
