"""Apply of a zone with compute and storage on the simulator: hosts come Up through state
waits that hold no worker, a host that goes Down fails its step by name, drift sees a host
in maintenance, a disabled pool and a missing image store, and a second apply does nothing."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Applier, Status, created_id
from cstool.cloud.waits import Waits
from cstool.errors import Unreachable, UnsafePlan
from cstool.model.diff import Action
from cstool.model.plan import Call, Step, Until, check_safety
from cstool.model.resources import Key, State
from cstool.render import render_drift
from cstool.simulator.transport import Fault
from tests import secrets as test_secrets
from tests.conftest import CONFIGS

runner = CliRunner()

# INFRA_LAB: one pod, one Simulator cluster with two hosts, a cluster pool, a zone pool, a
# staging store, an image store and a zone detail (the cluster setting is left out until the
# simulator resolves updateConfiguration clusterid=)
INFRA_LAB = """\
zones:
  - name: infra1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.30.0.53]
    details: {ops.owner: platform}
    physical_networks:
      - name: physnet
        isolation: VLAN
        vlan_ranges: [600-699]
        traffic: [{type: Management}, {type: Guest}, {type: Public}]
        providers: {VirtualRouter: enabled}
    public_ranges:
      - {start: 203.0.113.10, end: 203.0.113.40, gateway: 203.0.113.1, netmask: 255.255.255.0}
    staging_storage:
      - {url: "nfs://10.30.1.5/export/cache"}
    secondary_storage:
      - {name: sec1, url: "nfs://10.30.1.5/export/secondary"}
    primary_storage:
      - {name: zps1, url: "nfs://10.30.1.6/export/zone", hypervisor: Simulator}
    pods:
      - name: pod1
        gateway: 10.30.10.1
        netmask: 255.255.255.0
        management_ranges: [{start: 10.30.10.10, end: 10.30.10.40}]
        clusters:
          - name: c1
            hypervisor: Simulator
            hosts:
              - {name: sim-c1-h1, url: "http://sim/c1/h1", username: root,
                 password: {env: CSTOOL_TEST_HOST_PASSWORD}}
              - {name: sim-c1-h2, url: "http://sim/c1/h2", username: root,
                 password: {env: CSTOOL_TEST_HOST_PASSWORD}}
            primary_storage:
              - {name: ps1, url: "nfs://10.30.1.5/export/primary"}
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    test_secrets.set_all(monkeypatch)
    path = tmp_path / "infra.yaml"
    path.write_text(INFRA_LAB)
    return path


def _apply(api: Api, config: Path, parallelism: int = 4, prune: bool = False) -> Any:
    desired = ops.desired_state([config]).state
    plan, live = ops.plan(api, desired, prune)
    return plan, ops.apply(api, plan, live, parallelism)


def _rows(api: Api, table: str) -> list[dict[str, Any]]:
    return list(api.target.simulator.store.tables[table].values())


def test_a_whole_zone_comes_up_enabled_with_every_host_up_and_converges(
    lab: Path, tmp_path: Path
) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    api.target.simulator.store.host_connect = 0.3  # a slow agent: Connecting, then Up
    seen: list[tuple[str, str | None]] = []
    desired = ops.desired_state([lab]).state
    plan, live = ops.plan(api, desired)
    report = ops.apply(api, plan, live, 4, on_event=lambda e, r: seen.append((e, r.state)))
    assert report.ok, [r.error for r in report.failed]
    (zone,) = _rows(api, "zone")
    assert zone["allocationstate"] == "Enabled"
    hosts = {h["name"]: h for h in _rows(api, "host") if h.get("type") == "Routing"}
    assert sorted(hosts) == ["sim-c1-h1", "sim-c1-h2"]  # renamed after addHost
    assert {h["state"] for h in hosts.values()} == {"Up"}
    assert ("state", "Connecting") in seen and ("state", "Up") in seen  # progress saw both
    assert ops.drift(api, desired).in_sync
    again, report = _apply(api, lab)
    assert again.empty and report.results == []


def test_a_host_that_goes_down_fails_its_step_naming_it(lab: Path, tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json", [Fault.parse("addHost#1:host-state=Down")]))
    _plan, report = _apply(api, lab)
    (failed,) = report.failed
    assert failed.step.key == Key("host", ("infra1", "pod1", "c1", "sim-c1-h1"))
    assert failed.error == "host infra1/pod1/c1/sim-c1-h1 is Down (waited for state Up)"
    assert failed.state == "Down"


def test_drift_sees_a_host_in_maintenance_a_disabled_pool_and_a_missing_image_store(
    lab: Path, tmp_path: Path
) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    assert _apply(api, lab)[1].ok
    host = next(h for h in _rows(api, "host") if h.get("name") == "sim-c1-h1")
    pool = next(p for p in _rows(api, "storagepool") if p.get("name") == "ps1")
    store = next(s for s in _rows(api, "imagestore") if s.get("name") == "sec1")
    api.call("prepareHostForMaintenance", id=host["id"])
    api.call("updateStoragePool", id=pool["id"], enabled="false")
    api.call("deleteImageStore", id=store["id"])
    for _ in range(3):  # the host reaches Maintenance after a few reads
        api.list("listHosts", id=host["id"])
    drift = ops.drift(api, ops.desired_state([lab]).state)
    changed = {c.key.kind: c for c in drift.changed}
    assert set(changed) == {"host", "primary_storage"}
    assert changed["host"].fields["state"] == ("maintenance", "enabled")  # (live, config)
    assert changed["primary_storage"].fields["state"] == ("disabled", "enabled")
    assert [r.key for r in drift.missing] == [Key("image_store", ("infra1", "sec1"))]
    assert not drift.unmanaged


def test_an_absent_zone_is_torn_down_child_first_through_maintenance(
    lab: Path, tmp_path: Path
) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    assert _apply(api, lab)[1].ok
    assert api.list("listSystemVms")  # the enabled zone with storage started its system VMs
    gone = tmp_path / "gone.yaml"
    gone.write_text("zones:\n  - {name: infra1, absent: true}\n")
    seen: list[str] = []
    desired = ops.desired_state([gone]).state
    plan, live = ops.plan(api, desired)
    # the system VMs CloudStack made are in neither side of the safety threshold: the
    # teardown deletes every managed resource of the zone (100%), not more than exist
    with pytest.raises(UnsafePlan, match=rf"deletes or replaces {plan.managed} of {plan.managed} "):
        check_safety(plan, allow_delete=True, force=False)
    report = ops.apply(api, plan, live, 4, on_event=lambda e, r: seen.append(f"{e} {r.state}"))
    assert report.ok, [r.error for r in report.failed]
    titles = [f"{s.title} {s.key.kind}" for s in plan.steps]
    assert titles.index("delete host") > titles.index("delete primary_storage")
    assert titles.index("delete cluster") > titles.index("delete host")
    assert "state Maintenance" in seen  # each host was waited for in maintenance
    hosts = [h for h in _rows(api, "host") if h.get("type") == "Routing"]
    assert not hosts and not _rows(api, "zone") and not _rows(api, "storagepool")


# --- the waiter, against a fake cloud --------------------------------------------------------


class _Cloud:
    """A fake Api: listHosts answers Connecting until another step's call has run, then Up.
    A waiter that held the only worker would never let that call run."""

    job_timeout = 5.0

    def __init__(self) -> None:
        self.other_ran = threading.Event()
        self.lists = 0
        self.target = type("T", (), {"poll_interval": 0})()
        self.waits = Waits(10.0)

    def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        self.lists += 1
        state = "Up" if self.other_ran.is_set() else "Connecting"
        return [{"id": "h1", "state": state}, {"id": "h2", "state": "Up"}]

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        if command == "other":
            self.other_ran.set()
        return {}


def _step(key: str, *calls: Call) -> Step:
    return Step(Action.CREATE, Key("zone", (key,)), "create", calls, phase=10, stage=1)


def test_a_wait_holds_no_worker_and_the_step_goes_on_after_it() -> None:
    cloud = _Cloud()
    until = Until("state", "Up", ("Down",))
    waiting = _step(
        "a",
        Call("listHosts", {"clusterid": "c1", "id": "h1"}, until=until),
        Call("after", {}),
    )
    other = _step("b", Call("other", {}))
    applier = Applier(cloud, State(), parallelism=1)  # type: ignore[arg-type]
    started = time.monotonic()
    report = applier.apply([waiting, other], {})
    assert report.ok and time.monotonic() - started < 3
    assert [r.status for r in report.results] == [Status.DONE, Status.DONE]
    assert report.results[0].state == "Up"


def test_a_wait_that_never_ends_fails_at_the_job_timeout_naming_the_last_state() -> None:
    cloud = _Cloud()
    cloud.job_timeout = 0.3
    step = _step("a", Call("listHosts", {"id": "h1"}, until=Until("state", "Up", ())))
    report = Applier(cloud, State(), parallelism=1).apply([step], {})  # type: ignore[arg-type]
    (failed,) = report.failed
    assert "is still Connecting after 0.3 s (waited for state Up)" in (failed.error or "")


def test_an_unexpected_error_in_the_waiter_fails_the_waiting_step_instead_of_hanging() -> None:
    cloud = _Cloud()
    cloud.list = lambda command, **params: [{"id": "h1", "state": object()}]  # type: ignore[method-assign]

    def broken(event: str, result: Any) -> None:
        if event == "state":  # e.g. a progress display that cannot show the state
            raise RuntimeError("display broke")

    step = _step("a", Call("listHosts", {"id": "h1"}, until=Until("state", "Up", ())))
    applier = Applier(cloud, State(), parallelism=1, on_event=broken)  # type: ignore[arg-type]
    started = time.monotonic()
    report = applier.apply([step], {})
    (failed,) = report.failed
    assert "internal error while waiting: RuntimeError: display broke" in (failed.error or "")
    assert time.monotonic() - started < 3


def test_creates_take_the_id_from_an_object_or_the_first_element_of_a_list() -> None:
    assert created_id({"cluster": {"id": "c-1"}}) == "c-1"
    assert created_id({"count": 1, "host": [{"id": "h-1"}, {"id": "h-2"}]}) == "h-1"
    assert created_id({"success": True}) is None


# --- the fault matrix: every step of INFRA_LAB fails once, then a rerun converges ----------


def _objects(api: Api) -> dict[str, int]:
    tables = api.target.simulator.store.tables
    return {name: len(rows) for name, rows in tables.items() if name != "globalconfig"}


def _baseline(config: Path, tmp_path: Path) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    """(step index, its first changing command, that command's call number) in a clean run,
    and the objects the clean run leaves."""
    api = Api(sim_target(tmp_path / "baseline.json"))
    plan, live = ops.plan(api, ops.desired_state([config]).state)
    seen: dict[str, int] = {}
    targets = []
    for i, step in enumerate(plan.steps):
        first = next(c.command for c in step.calls if not c.command.startswith("list"))
        for call in step.calls:
            seen[call.command] = seen.get(call.command, 0) + 1
            if call.command == first and len(targets) == i:
                targets.append((i, first, seen[first]))
    assert ops.apply(api, plan, live, parallelism=1).ok
    api.list("listSystemVms")  # the next request starts the enabled zone's system VMs
    return targets, _objects(api)


INFRA_STEPS = 18


@pytest.fixture(scope="module")
def infra_baseline(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    base = tmp_path_factory.mktemp("infra-baseline")
    config = base / "infra.yaml"
    config.write_text(INFRA_LAB)
    with pytest.MonkeyPatch.context() as monkeypatch:
        test_secrets.set_all(monkeypatch)
        return _baseline(config, base)


@pytest.mark.parametrize("action", ["error=530", "job", "drop", "lose"])
@pytest.mark.parametrize("step", range(INFRA_STEPS))
def test_a_failed_infra_step_stops_the_apply_and_a_rerun_converges_without_duplicates(
    step: int,
    action: str,
    infra_baseline: tuple[list[tuple[int, str, int]], dict[str, int]],
    lab: Path,
    tmp_path: Path,
) -> None:
    steps, objects = infra_baseline
    assert len(steps) == INFRA_STEPS
    index, command, nth = steps[step]
    state = tmp_path / "sim.json"
    api = Api(sim_target(state, [Fault.parse(f"{command}#{nth}:{action}")]))
    plan, report = _apply(api, lab, parallelism=1)
    if report.ok:  # a create whose reply was lost is read back: found (or adopted), done
        assert action == "lose" and "read back" in (report.results[index].note or "")
    else:
        (failed,) = report.failed
        assert failed.index == index and failed.step.origin is not None
        assert failed.error and command in failed.error
        if action in ("drop", "lose"):  # no answer: never reported as a plain failure
            assert failed.status is Status.UNKNOWN and "outcome unknown" in failed.error
        # steps may run while a host wait holds no worker, so later steps may be done; but
        # none that waits for the failed step started
        deps = plan.dependencies()
        after = [r for r in report.results if index in deps.get(r.index, set())]
        assert all(r.status is Status.NOT_STARTED for r in after)
    clean = Api(sim_target(state))
    _plan, report = _apply(clean, lab)
    assert report.ok, [r.error for r in report.failed]
    assert ops.drift(clean, ops.desired_state([lab]).state).in_sync
    assert _objects(clean) == objects  # nothing created twice


# --- the two host faults: a slow agent, and a host that stays Down ---------------------------


def test_a_slow_agent_is_waited_for_and_the_apply_succeeds(lab: Path, tmp_path: Path) -> None:
    """addHost:connect-time: every added host answers Connecting and is Up later."""
    api = Api(sim_target(tmp_path / "sim.json", [Fault.parse("addHost:connect-time=0.3")]))
    seen: list[tuple[str, str | None]] = []
    desired = ops.desired_state([lab]).state
    plan, live = ops.plan(api, desired)
    report = ops.apply(api, plan, live, 4, on_event=lambda e, r: seen.append((e, r.state)))
    assert report.ok, [r.error for r in report.failed]
    assert ("state", "Connecting") in seen  # the step saw the host connecting, then waited
    hosts = [h for h in _rows(api, "host") if h.get("type") == "Routing"]
    assert [h["state"] for h in hosts] == ["Up", "Up"]
    assert ops.drift(api, desired).in_sync


def test_a_second_host_that_stays_down_fails_by_name_and_the_next_run_does_the_rest(
    lab: Path, tmp_path: Path
) -> None:
    """addHost#2:host-state=Down: the cluster's first host is Up, so the pool and the zone's
    enable can go on; the Down host is reported with its state, and is not added again."""
    state = tmp_path / "sim.json"
    api = Api(sim_target(state, [Fault.parse("addHost#2:host-state=Down")]))
    _plan, report = _apply(api, lab)
    (failed,) = report.failed
    assert failed.step.key == Key("host", ("infra1", "pod1", "c1", "sim-c1-h2"))
    assert failed.error == "host infra1/pod1/c1/sim-c1-h2 is Down (waited for state Up)"
    clean = Api(sim_target(state))
    plan, report = _apply(clean, lab)
    assert report.ok, [r.error for r in report.failed]
    assert "host" not in {s.key.kind for s in plan.steps}  # never added twice
    (zone,) = _rows(clean, "zone")
    assert zone["allocationstate"] == "Enabled"
    assert len([h for h in _rows(clean, "host") if h.get("type") == "Routing"]) == 2
    found = ops.drift(clean, ops.desired_state([lab]).state)
    # in sync with the config (nothing to apply or accept), and the Down agent is reported
    assert found.in_sync
    down = Key("host", ("infra1", "pod1", "c1", "sim-c1-h2"))
    assert found.unhealthy == ((down, "Down"),)
    text = render_drift("text", found, "sim")
    assert "host infra1/pod1/c1/sim-c1-h2: CloudStack reports it Down" in text
    assert "> [!WARNING]" in render_drift("markdown", found, "sim")
    shown = json.loads(render_drift("json", found, "sim"))
    assert shown["in_sync"] and [u["state"] for u in shown["unhealthy"]] == ["Down"]


def test_a_first_host_down_blocks_its_cluster_until_it_connects_then_a_rerun_converges(
    lab: Path, tmp_path: Path
) -> None:
    """addHost#1:host-state=Down: the cluster gets no GUID, so the server refuses its other
    hosts (ResourceManagerImpl:705-712) until the first one connects; once it has, the next run
    converges."""
    from cstool.simulator.commands.compute import _host_up

    state = tmp_path / "sim.json"
    api = Api(sim_target(state, [Fault.parse("addHost#1:host-state=Down")]))
    _plan, report = _apply(api, lab)
    (failed,) = report.failed
    assert failed.error == "host infra1/pod1/c1/sim-c1-h1 is Down (waited for state Up)"
    clean = Api(sim_target(state))
    _plan, report = _apply(clean, lab)
    (failed,) = report.failed  # still Down: the server's refusal, named
    assert "Guid is not updated for cluster" in (failed.error or "")
    store = clean.target.simulator.store
    (down,) = (h for h in _rows(clean, "host") if h["state"] == "Down")
    _host_up(store, down, store.get("cluster", down["clusterid"]))  # the agent comes back
    _plan, report = _apply(clean, lab)
    assert report.ok, [r.error for r in report.failed]
    assert ops.drift(clean, ops.desired_state([lab]).state).in_sync


# --- system VM hosts: listHosts returns them; they are neither drift nor prunable ------------


def test_system_vm_hosts_are_neither_drift_nor_pruned(tmp_path: Path) -> None:
    """configs/compute enables a zone with an Up host, pools and an image store, so the
    simulator starts its SSVM and console proxy, each with a host row (tick)."""
    config = CONFIGS / "compute"
    desired = ops.desired_state([config]).state
    api = Api(sim_target(tmp_path / "sim.json"))
    plan, live = ops.plan(api, desired)
    assert ops.apply(api, plan, live, 4).ok
    types = sorted(h["type"] for h in api.list("listHosts"))
    assert types == ["ConsoleProxy", "Routing", "Routing", "SecondaryStorageVM"]
    assert len(api.list("listSystemVms")) == 2
    drift = ops.drift(api, desired)
    assert drift.in_sync and not drift.unmanaged
    pruned, _live = ops.plan(api, desired, prune=True)
    assert pruned.empty and not pruned.unmanaged  # nothing of them is deleted


# --- --rotate-secrets, end to end on the simulator ------------------------------------------


def _vcenter_digest(state: Path) -> str:
    (dc,) = Api(sim_target(state)).target.simulator.store.tables["vmwaredc"].values()
    return str(dc["_secret_digest"])


def _digest_of(value: str) -> str:
    return hashlib.sha256(f"cstool-simulator:{value}".encode()).hexdigest()


NOT_ROTATABLE = (
    "Not rotatable through the API (3; replace the object to change its secret): "
    "host compute1/pod1/c1/sim-c1-h1, host compute1/pod1/c1/sim-c1-h2, "
    "zone primary storage compute1/ceph1"
)
ROTATION = (
    "> updateVmwareDc zoneid=<zone compute1> password={env: VCENTER_PASSWORD} isrecursive=true"
)


@pytest.fixture
def applied_compute(tmp_path: Path) -> tuple[list[str], Path]:
    """configs/compute applied to a fresh simulator: (the CLI's target options, its state)."""
    state = tmp_path / "sim.json"
    common = ["--sim", "--sim-state", str(state)]
    result = runner.invoke(app, ["apply", str(CONFIGS / "compute"), "--yes", *common])
    assert result.exit_code == 0, result.output
    return common, state


def test_rotate_secrets_shows_the_references_and_sends_the_new_value(
    applied_compute: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    common, state = applied_compute
    config = str(CONFIGS / "compute")
    before = _vcenter_digest(state)
    assert before == _digest_of(os.environ["VCENTER_PASSWORD"])
    assert runner.invoke(app, ["plan", config, *common]).exit_code == 0  # nothing compared
    planned = runner.invoke(app, ["plan", config, *common, "--rotate-secrets"])
    assert planned.exit_code == 3, planned.output
    assert "~ rotate secret vmware datacenter compute1/dc1" in planned.output
    assert ROTATION in planned.output and NOT_ROTATABLE in planned.output
    markdown = runner.invoke(app, ["plan", config, *common, "--rotate-secrets", "-f", "markdown"])
    assert markdown.exit_code == 3 and NOT_ROTATABLE in markdown.output
    new = test_secrets.VALUES["CSTOOL_TEST_VCENTER_PASSWORD"]  # another registered value
    monkeypatch.setenv("VCENTER_PASSWORD", new)
    plain = runner.invoke(app, ["apply", config, "--yes", *common])
    assert plain.exit_code == 0 and _vcenter_digest(state) == before  # not without the flag
    rotated = runner.invoke(app, ["apply", config, "--yes", "--rotate-secrets", *common])
    assert rotated.exit_code == 0, rotated.output
    assert "done: rotate secret vmware datacenter compute1/dc1" in rotated.output
    assert _vcenter_digest(state) == _digest_of(new)
    shown = planned.output + markdown.output + plain.output + rotated.output
    assert not test_secrets.found_in(shown)


def test_a_plan_saved_with_rotate_secrets_rotates_when_applied(
    applied_compute: tuple[list[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common, state = applied_compute
    config, saved = str(CONFIGS / "compute"), tmp_path / "plan.json"
    planned = runner.invoke(app, ["plan", config, *common, "--rotate-secrets", "--out", str(saved)])
    assert planned.exit_code == 3, planned.output
    assert json.loads(saved.read_text())["rotate_secrets"] is True
    new = test_secrets.VALUES["CSTOOL_TEST_VCENTER_PASSWORD"]
    monkeypatch.setenv("VCENTER_PASSWORD", new)  # the reference is saved, never the value
    applied = runner.invoke(app, ["apply", str(saved), "--yes", *common])
    assert applied.exit_code == 0, applied.output
    assert "still matches the cloud" in applied.output
    assert _vcenter_digest(state) == _digest_of(new)
    assert not test_secrets.found_in(saved.read_text() + planned.output + applied.output)


def test_rotate_secrets_with_a_plan_saved_without_it_is_refused(
    applied_compute: tuple[list[str], Path], tmp_path: Path
) -> None:
    common, state = applied_compute
    saved = tmp_path / "plan.json"
    runner.invoke(app, ["plan", str(CONFIGS / "compute"), *common, "--out", str(saved)])
    before = _vcenter_digest(state)
    refused = runner.invoke(app, ["apply", str(saved), "--yes", "--rotate-secrets", *common])
    assert refused.exit_code == 1
    assert "the saved plan was made without it" in refused.output
    assert _vcenter_digest(state) == before


class _TwoHosts:
    """A fake Api adding two hosts of one cluster at once: both addHost calls are in flight
    together (a barrier), the second's reply is lost, and the cloud then lists one new host
    named after its agent: it may be either call's, so it must not be adopted."""

    job_timeout = 5.0

    def __init__(self) -> None:
        self.target = type("T", (), {"poll_interval": 0})()
        self.waits = Waits(10.0)
        self.together = threading.Barrier(2, timeout=5)
        self.added: list[str] = []

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        self.together.wait()
        if params["url"].endswith("h2"):
            raise Unreachable("sim", "the reply was lost")
        self.added.append(params["url"])
        return {"host": [{"id": "new-1"}]}

    def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
        return [{"id": "new-x", "name": "SimulatedAgent.1", "created": stamp, "clusterid": "c"}]


def test_a_lost_add_beside_another_add_of_its_cluster_is_not_adopted() -> None:
    cloud = _TwoHosts()
    cluster = Key("cluster", ("z", "p", "c"))

    def add(name: str) -> Step:
        key = Key("host", ("z", "p", "c", name))
        call = Call("addHost", {"url": f"http://sim/c/{name}"}, creates=key)
        return Step(Action.CREATE, key, "create", (call,), phase=123, stage=1)

    applier = Applier(cloud, State(), parallelism=2, uuids={cluster: "c"})  # type: ignore[arg-type]
    report = applier.apply([add("h1"), add("h2")], {})
    (failed,) = report.failed
    assert failed.step.key.path[-1] == "h2"
    assert "cannot be told apart" in (failed.error or "")
    assert Key("host", ("z", "p", "c", "h2")) not in applier.uuids
