"""The cloud lock: a zone detail CloudStack holds, so two runs on two machines exclude each
other (cloud/lock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Applier, Status
from cstool.cloud.lock import KEY, CloudLock, LockHeld, Marker
from tests.conftest import CONFIGS

runner = CliRunner()
LAB = CONFIGS / "lab"


def _applied(state: Path) -> Api:
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    return api


def _marker(api: Api) -> str:
    (zone,) = api.list("listZones")
    return str((zone.get("resourcedetails") or {}).get(KEY, ""))


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    api = _applied(tmp_path / "s.json")
    first = CloudLock(api, settle=0, who="alice@ws1")
    first.acquire()
    assert _marker(api).startswith(f"held by alice@ws1 run {first.run} ")  # visible to all
    second = CloudLock(api, settle=0, who="bob@ws2")
    with pytest.raises(LockHeld) as info:
        second.acquire()
    assert "alice@ws1" in str(info.value) and first.run in str(info.value)
    assert info.value.hint and "details[0].value=released" in info.value.hint
    assert first.release() == []
    assert _marker(api).startswith("released by alice@ws1")
    second.acquire()  # free again
    assert Marker.parse(_marker(api)) is not None and second.run in _marker(api)


def test_an_expired_marker_is_taken_over(tmp_path: Path) -> None:
    api = _applied(tmp_path / "s.json")
    past = datetime.now(UTC) - timedelta(hours=2)
    CloudLock(api, settle=0, who="crashed@ws1", now=lambda: past).acquire()  # never released
    late = CloudLock(api, settle=0, who="bob@ws2")
    late.acquire()
    assert late.run in _marker(api)


def test_of_two_runs_writing_at_once_only_the_last_writer_holds_the_lock(tmp_path: Path) -> None:
    """Both read the zone free; A writes, then B writes while A waits before reading back:
    A sees B's marker and gives up, B keeps the lock."""
    api = _applied(tmp_path / "s.json")
    b = CloudLock(api, settle=0, who="bob@ws2")
    free = b.survey()  # B reads before A writes
    a = CloudLock(api, settle=1, who="alice@ws1", sleep=lambda _s: b.claim(free))
    with pytest.raises(LockHeld) as info:
        a.acquire()
    assert "bob@ws2" in str(info.value) and "took the lock" in str(info.value)
    b.confirm()
    assert b.run in _marker(api)


def test_apply_refuses_a_locked_cloud_and_releases_its_own_lock(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    api = _applied(state)
    args = ["apply", str(LAB), "--sim", "--sim-state", str(state), "--yes", "--prune"]
    other = CloudLock(api, settle=0, who="bob@ws2")
    other.acquire()
    api.target.simulator.store.flush()
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
    held = runner.invoke(app, args)
    assert held.exit_code == 1 and "bob@ws2" in held.output
    assert "another apply holds the lock" in held.output
    assert other.release() == []
    api.target.simulator.store.flush()
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    after = Api(sim_target(state))
    assert _marker(after).startswith("released by ")  # its own lock, given back


class _Lost:
    def __init__(self) -> None:
        self.adopted: list[str] = []

    def check(self) -> str | None:
        return "another apply took the lock"

    def adopt(self, zone_id: str, name: str) -> None:
        self.adopted.append(name)


def test_a_run_that_lost_the_lock_launches_no_more_steps(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json"))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    report = Applier(api, live, guard=_Lost()).apply(plan.steps, plan.dependencies())
    assert not report.ok and report.stopped_by == "another apply took the lock"
    assert all(r.status is Status.NOT_STARTED for r in report.results)


def test_a_zone_the_run_creates_joins_its_lock(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json"))
    with ops.cloud_lock(api) as lock:
        assert lock is not None and lock.zones == {}  # an empty cloud: nothing to mark yet
        plan, live = ops.plan(api, ops.desired_state([LAB]).state)
        assert ops.apply(api, plan, live, guard=lock).ok
        assert lock.run in _marker(api)
    assert _marker(api).startswith("released by ")
