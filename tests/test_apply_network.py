"""Apply of the network depth on the simulator: an Advanced zone with security groups and its
shared network, and an Advanced zone with a system-VM range, a dual-stack range, dedicated
public and guest VLAN ranges, a guest IPv6 prefix and zone and pod dedications. Every step
fails once in each way (an API error, a failed job, a dropped connection, a lost reply) and a
rerun converges without duplicates; owners the cloud lacks fail the plan before any write; a
dedication changed by hand is replaced; a zone's release keeps its network domain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cstool import ops
from cstool.cloud import reader
from cstool.cloud.api import Api, sim_target
from cstool.cloud.applier import Status, created_id
from cstool.errors import ApiError, ConfigInvalid, CstoolError
from cstool.model.diff import Action
from cstool.model.resources import Key
from cstool.simulator.transport import Fault

ACME = "ROOT/customers/acme"

NET_LAB = """\
zones:
  - name: sg1
    network_type: Advanced
    security_groups: true
    dns: [192.0.2.53]
    internal_dns: [10.50.0.53]
    physical_networks:
      - name: trunk
        isolation: VLAN
        traffic: [{type: Management}, {type: Guest}]
        providers: {VirtualRouter: enabled, SecurityGroupProvider: enabled}
    guest_networks:
      - name: shared-sg
        vlan: 31
        gateway: 10.50.31.1
        netmask: 255.255.255.0
        start: 10.50.31.150
        end: 10.50.31.159
        ranges:
          - {start: 10.50.31.170, end: 10.50.31.179}
    pods:
      - name: pod1
        gateway: 10.50.1.1
        netmask: 255.255.255.0
        management_ranges: [{start: 10.50.1.10, end: 10.50.1.30}]

  - name: adv1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.51.0.53]
    domain: adv1.example
    dedicated: {domain: ROOT/customers/acme}
    ipv6_prefixes: [{prefix: "fd00:51::/56"}]
    physical_networks:
      - name: trunk
        isolation: VLAN
        vlan_ranges: ["700-799"]
        dedicated_vlan_ranges:
          - {start: 700, end: 719, domain: ROOT/customers/acme, account: acme-admin}
        traffic: [{type: Management}, {type: Guest}, {type: Public}]
        providers: {VirtualRouter: enabled}
    public_ranges:
      - {vlan: 200, gateway: 203.0.113.1, netmask: 255.255.255.0,
         start: 203.0.113.10, end: 203.0.113.20, for_system_vms: true}
      - {vlan: 200, gateway: 203.0.113.1, netmask: 255.255.255.0,
         start: 203.0.113.30, end: 203.0.113.60,
         ip6_gateway: "2001:db8:200::1", ip6_cidr: "2001:db8:200::/64",
         start_v6: "2001:db8:200::10", end_v6: "2001:db8:200::ff"}
      - {vlan: 201, gateway: 198.51.100.1, netmask: 255.255.255.0,
         start: 198.51.100.10, end: 198.51.100.20,
         dedicated: {domain: ROOT/customers/acme, account: acme-admin}}
    pods:
      - name: pod1
        gateway: 10.51.1.1
        netmask: 255.255.255.0
        dedicated: {domain: ROOT/customers/acme, account: acme-admin}
        management_ranges: [{start: 10.51.1.10, end: 10.51.1.30}]
"""


def _seed(api: Api) -> Api:
    """The owners NET_LAB names, besides the ROOT domain and admin account every cloud has."""
    sim = api.target.simulator
    assert sim is not None
    sim.add_domain(ACME)
    sim.add_account(ACME, "acme-admin")
    return api


def _sim(state: Path, faults: list[Fault] | None = None) -> Api:
    return _seed(Api(sim_target(state, faults)))


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(NET_LAB)
    return path


def _apply(api: Api, config: Path, parallelism: int = 4) -> Any:
    desired = ops.desired_state([config]).state
    plan, live = ops.plan(api, desired)
    return plan, ops.apply(api, plan, live, parallelism)


def _rows(api: Api, table: str) -> list[dict[str, Any]]:
    assert api.target.simulator is not None
    return list(api.target.simulator.store.tables.get(table, {}).values())


def _objects(api: Api) -> dict[str, int]:
    assert api.target.simulator is not None
    tables = api.target.simulator.store.tables
    return {name: len(rows) for name, rows in tables.items() if name != "globalconfig"}


def test_the_lab_applies_drifts_clean_and_a_second_apply_is_empty(
    lab: Path, tmp_path: Path
) -> None:
    api = _sim(tmp_path / "sim.json")
    plan, report = _apply(api, lab)
    assert report.ok, [r.error for r in report.failed]
    kinds = {s.key.kind for s in plan.steps}
    assert {"shared_network", "zone_dedication", "pod_dedication", "ipv6_prefix"} <= kinds
    assert {"public_range_dedication", "dedicated_vlan_range"} <= kinds
    desired = ops.desired_state([lab]).state
    assert ops.drift(api, desired).in_sync
    again, report = _apply(api, lab)
    assert again.empty and report.results == []


def test_a_config_that_writes_none_of_it_reads_none_of_it(lab: Path, tmp_path: Path) -> None:
    """The new kinds are listed only where a config writes their container: a plain config
    makes no list call it did not make before, and a written one makes its own."""
    api = _sim(tmp_path / "sim.json")
    assert _apply(api, lab)[1].ok
    before = dict(api.calls)
    plain = tmp_path / "plain.yaml"
    plain.write_text("zones: []\n")
    ops.read_for(api, ops.desired_state([plain]).state)
    made = {c for c, n in api.calls.items() if n > before.get(c, 0)}
    new = {"listDomains", "listAccounts", "listProjects", "listDedicatedZones"}
    new |= {"listDedicatedPods", "listGuestNetworkIpv6Prefixes", "listDedicatedGuestVlanRanges"}
    assert not made & new and "listZones" in made
    before = dict(api.calls)
    ops.read_for(api, ops.desired_state([lab]).state)
    made = {c for c, n in api.calls.items() if n > before.get(c, 0)}
    assert new <= made


def test_a_missing_owner_fails_the_plan_naming_each_before_any_write(
    lab: Path, tmp_path: Path
) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))  # only ROOT and admin
    sim = api.target.simulator
    assert sim is not None
    with pytest.raises(ConfigInvalid) as caught:
        ops.plan(api, ops.desired_state([lab]).state)
    problems = caught.value.problems
    assert len(problems) == 4  # the zone, the pod, the VLAN range and the public range
    assert all(ACME in p.message and p.origin is not None for p in problems)
    sim.add_domain(ACME)  # the domain, but not its account
    with pytest.raises(ConfigInvalid) as caught:
        ops.plan(api, ops.desired_state([lab]).state)
    assert {"acme-admin" in p.message for p in caught.value.problems} == {True}
    assert len(caught.value.problems) == 3  # the zone is dedicated to the whole domain
    writes = [c for c in api.calls if not c.startswith("list") and c != "queryAsyncJobResult"]
    assert writes == [] and api.calls["listDomains"] == 2


def test_a_dedication_changed_by_hand_is_replaced(lab: Path, tmp_path: Path) -> None:
    api = _sim(tmp_path / "sim.json")
    assert _apply(api, lab)[1].ok
    pod = next(p for p in api.list("listPods", name="pod1") if p["zonename"] == "adv1")
    api.call("releaseDedicatedPod", podid=pod["id"])
    acme = next(d["id"] for d in api.list("listDomains", listall="true") if d["path"] == ACME)
    api.call("dedicatePod", podid=pod["id"], domainid=acme)  # to the domain, not its account
    desired = ops.desired_state([lab]).state
    plan, live = ops.plan(api, desired)
    steps = [s for s in plan.steps if s.key.kind == "pod_dedication"]
    assert {s.action for s in steps} == {Action.REPLACE}
    assert [c.command for s in steps for c in s.calls] == ["releaseDedicatedPod", "dedicatePod"]
    report = ops.apply(api, plan, live)
    assert report.ok and ops.drift(api, desired).in_sync


def test_a_dedication_to_an_account_written_as_to_its_whole_domain_is_replaced(
    lab: Path, tmp_path: Path
) -> None:
    """A dedication's owner is the whole mapping: no `account` means the whole domain, not
    an account left unmanaged, so the live account dedication is released and done again."""
    api = _sim(tmp_path / "sim.json")
    assert _apply(api, lab)[1].ok
    domain_only = tmp_path / "domain-only.yaml"
    domain_only.write_text(
        NET_LAB.replace(
            "start: 198.51.100.10, end: 198.51.100.20,\n"
            "         dedicated: {domain: ROOT/customers/acme, account: acme-admin}}",
            "start: 198.51.100.10, end: 198.51.100.20,\n"
            "         dedicated: {domain: ROOT/customers/acme}}",
        )
    )
    desired = ops.desired_state([domain_only]).state
    assert not ops.drift(api, desired).in_sync
    plan, live = ops.plan(api, desired)
    steps = [s for s in plan.steps if s.key.kind == "public_range_dedication"]
    assert {s.action for s in steps} == {Action.REPLACE}
    calls = [c.command for s in steps for c in s.calls]
    assert calls == ["releasePublicIpRange", "dedicatePublicIpRange"]
    assert ops.apply(api, plan, live).ok
    (item,) = [r for r in api.list("listVlanIpRanges") if r["startip"] == "198.51.100.10"]
    assert item.get("domainpath") == ACME and not item.get("account")
    assert ops.drift(api, desired).in_sync


def test_a_zone_release_keeps_its_network_domain(lab: Path, tmp_path: Path) -> None:
    api = _sim(tmp_path / "sim.json")
    assert _apply(api, lab)[1].ok
    released = tmp_path / "released.yaml"
    released.write_text(
        NET_LAB.replace("dedicated: {domain: ROOT/customers/acme}\n", "dedicated: false\n")
    )
    desired = ops.desired_state([released]).state
    plan, live = ops.plan(api, desired)
    (step,) = [s for s in plan.steps if s.key.kind == "zone_dedication"]
    assert [c.command for c in step.calls] == ["releaseDedicatedZone", "updateZone"]
    assert ops.apply(api, plan, live).ok
    (zone,) = api.list("listZones", name="adv1")
    assert zone.get("domain") == "adv1.example"
    assert not api.list("listDedicatedZones", zoneid=zone["id"])
    assert ops.drift(api, desired).in_sync


# --- the applier and the reader ----------------------------------------------------------------


def test_an_answer_without_an_object_name_carries_no_id() -> None:
    # dedicateZone's job result is a ListResponse with no object name: its items are the
    # dedications, listed again by the applier, never read from the answer
    nameless = {"null": {"responses": [{"id": "d-1", "zoneid": "z-1"}]}}
    assert created_id(nameless) is None
    assert created_id({"null": {"id": "p-1"}, "network": {"id": "n-1"}}) == "n-1"


def test_a_cloud_without_ipv6_prefixes_is_told_to_a_config_that_writes_them(
    lab: Path, tmp_path: Path
) -> None:
    api = _sim(tmp_path / "sim.json")
    inner = api.list

    def older(command: str, **params: Any) -> list[dict[str, Any]]:
        # a server without the command: ApiServer answers 432 (UNSUPPORTED_ACTION_ERROR)
        if command == "listGuestNetworkIpv6Prefixes":
            raise ApiError(command, 432, "The given command does not exist")
        return inner(command, **params)

    api.list = older  # type: ignore[method-assign]
    with pytest.raises(CstoolError, match=r"no guest IPv6 prefixes \(4\.17\+\)"):
        ops.plan(api, ops.desired_state([lab]).state)
    # export reads every kind, and a command the server does not know holds none
    config = ops.export(api)
    assert "ipv6_prefixes" not in str(config)


def test_a_dedication_with_no_id_in_its_answer_is_listed_once_and_recorded(
    lab: Path, tmp_path: Path
) -> None:
    api = _sim(tmp_path / "sim.json")
    plan, report = _apply(api, lab, parallelism=1)
    assert report.ok
    (index,) = [i for i, s in enumerate(plan.steps) if s.key.kind == "zone_dedication"]
    assert report.results[index].status is Status.DONE
    assert api.calls["listDedicatedZones"] == 2  # the plan's read, then the applier's
    assert api.calls["listDedicatedPods"] == 2


def test_the_reader_refuses_only_what_a_config_writes() -> None:
    """A kind managed only where written is read when its name is written (or for export)."""
    kind = reader.KINDS["zone_dedication"]
    assert not reader._written(kind, frozenset())
    assert reader._written(kind, frozenset({"zone_dedication"}))
    assert reader._written(kind, None)
    below = reader.KINDS["shared_network_range"]  # with its parent
    assert not reader._written(below, frozenset())
    assert reader._written(below, frozenset({"shared_network"}))


def test_a_saved_plan_keeps_what_the_config_writes_and_whether_it_names_owners(
    lab: Path, tmp_path: Path
) -> None:
    api = _sim(tmp_path / "sim.json")
    desired = ops.desired_state([lab]).state
    plan, _live = ops.plan(api, desired)
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(ops.saved_plan(plan, desired, "sim")))
    _data, again = ops.load_saved_plan(saved)
    assert again.written == desired.written and "zone_dedication" in again.written
    assert again.owners and desired.owners
    zone = Key("zone", ("adv1",))
    assert again[zone].extra["writes"] == desired[zone].extra["writes"]
    assert "dedicated" in again[zone].extra["writes"]
    fresh, _ = ops.plan(api, again)
    assert fresh.to_dict()["checksum"] == plan.to_dict()["checksum"]


# --- the fault matrix: every step of NET_LAB fails once, then a rerun converges -------------


def _baseline(config: Path, tmp_path: Path) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    """(step index, its first changing command, that command's call number) in a clean run,
    and the objects the clean run leaves."""
    api = _sim(tmp_path / "baseline.json")
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
    return targets, _objects(api)


NET_STEPS = 28


@pytest.fixture(scope="module")
def net_baseline(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    base = tmp_path_factory.mktemp("net-baseline")
    config = base / "net.yaml"
    config.write_text(NET_LAB)
    return _baseline(config, base)


@pytest.mark.parametrize("action", ["error=530", "job", "drop", "lose"])
@pytest.mark.parametrize("step", range(NET_STEPS))
def test_a_failed_network_step_stops_the_apply_and_a_rerun_converges_without_duplicates(
    step: int,
    action: str,
    net_baseline: tuple[list[tuple[int, str, int]], dict[str, int]],
    lab: Path,
    tmp_path: Path,
) -> None:
    steps, objects = net_baseline
    assert len(steps) == NET_STEPS
    index, command, nth = steps[step]
    state = tmp_path / "sim.json"
    fault = Fault.parse(f"{command}#{nth}:{action}")
    api = _sim(state, [fault])
    plan, report = _apply(api, lab, parallelism=1)
    if report.ok:  # a create whose reply was lost is read back: found, done
        assert action == "lose" and "read back" in (report.results[index].note or "")
    else:
        (failed,) = report.failed
        assert failed.index == index and failed.step.origin is not None
        assert failed.error and command in failed.error
        if action in ("drop", "lose"):  # no answer: never reported as a plain failure
            assert failed.status is Status.UNKNOWN and "outcome unknown" in failed.error
        deps = plan.dependencies()
        after = [r for r in report.results if index in deps.get(r.index, set())]
        assert all(r.status is Status.NOT_STARTED for r in after)
    clean = Api(sim_target(state))
    _plan, report = _apply(clean, lab)
    assert report.ok, [r.error for r in report.failed]
    assert ops.drift(clean, ops.desired_state([lab]).state).in_sync
    assert _objects(clean) == objects  # nothing created twice
