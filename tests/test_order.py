"""The apply graph: each step waits for its parents and what the server looks up, not for
whole phases; the global rules (settings first, the zone enabled last, deletes child-first
and before creates) are explicit edges. Edges only, never wall time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from cstool import ops
from cstool.model.loader import load
from cstool.model.order import After, critical_path
from cstool.model.plan import Plan, Step, make_plan, plan_from_dict
from cstool.model.resources import ABSENT, Key, Resource, State
from tests.conftest import CONFIGS, DATA

Deps = Mapping[int, set[int]]


def _fresh(config: Path) -> Plan:
    """The plan of a config against an empty cloud."""
    return make_plan(ops.desired_state([config]).state, State())


def _case(case: str) -> Plan:
    """The plan of a golden case (tests/data/plans)."""
    here = os.getcwd()
    os.chdir(DATA / "plans" / case)
    try:
        desired, _ = load(["desired.yaml"])
        live, _ = load(["live.yaml"])
    finally:
        os.chdir(here)
    return make_plan(desired, live, prune=case.startswith("prune"))


def _at(plan: Plan, title: str, resource: str) -> int:
    (index,) = [
        i for i, s in enumerate(plan.steps) if s.title == title and s.key.to_str() == resource
    ]
    return index


def _reaches(deps: Deps, step: int, before: int) -> bool:
    """Whether `step` waits for `before`, directly or through others."""
    seen, todo = set(), [step]
    while todo:
        for j in deps[todo.pop()]:
            if j == before:
                return True
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return False


@pytest.fixture(scope="module")
def lab() -> tuple[Plan, Deps]:
    plan = _fresh(CONFIGS / "lab")
    return plan, plan.dependencies()


def test_pods_of_a_zone_do_not_wait_for_each_other(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    pod1, pod2 = _at(plan, "create", "pod:lab1/pod1"), _at(plan, "create", "pod:lab1/pod2")
    assert not _reaches(deps, pod2, pod1) and not _reaches(deps, pod1, pod2)
    storage2 = _at(plan, "create", "storage_range:lab1/pod2/10.20.2.10")
    assert not _reaches(deps, storage2, pod1)  # pod2's subtree is independent of pod1


def test_a_pod_waits_for_its_zone_not_for_the_physical_networks(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    pod1 = _at(plan, "create", "pod:lab1/pod1")
    assert deps[pod1] == {
        _at(plan, "create", "zone:lab1"),
        _at(plan, "set", "zone_setting:lab1/network.throttling.rate"),
    }
    networks = [i for i, s in enumerate(plan.steps) if s.key.kind == "physical_network"]
    assert networks and not any(_reaches(deps, pod1, i) for i in networks)


def test_ranges_wait_for_their_parent_and_what_the_server_looks_up(
    lab: tuple[Plan, Deps],
) -> None:
    plan, deps = lab
    storage = _at(plan, "create", "storage_range:lab1/pod1/10.20.1.10")
    assert _at(plan, "create", "pod:lab1/pod1") in deps[storage]
    assert _at(plan, "create", "traffic_type:lab1/mgmt/Storage") in deps[storage]
    assert _at(plan, "create", "traffic_type:lab1/mgmt/Management") not in deps[storage]
    public = _at(plan, "create", "public_range:lab1/203.0.113.10")
    assert _at(plan, "create", "traffic_type:lab1/trunk/Public") in deps[public]
    assert _at(plan, "enable", "physical_network:lab1/trunk") in deps[public]
    assert not _reaches(deps, public, _at(plan, "create", "pod:lab1/pod1"))
    second = _at(plan, "create", "management_range:lab1/pod1/10.10.1.40")
    assert _at(plan, "create", "pod:lab1/pod1") in deps[second]


def test_providers_wait_for_their_own_network_only(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    provider = _at(plan, "enable", "provider:lab1/mgmt/VirtualRouter")
    assert deps[provider] >= {
        _at(plan, "create", "physical_network:lab1/mgmt"),
        _at(plan, "create", "traffic_type:lab1/mgmt/Management"),
        _at(plan, "create", "traffic_type:lab1/mgmt/Storage"),
    }
    assert not any(plan.steps[j].key.path[1] == "trunk" for j in deps[provider])
    enable = _at(plan, "enable", "physical_network:lab1/mgmt")
    assert provider in deps[enable]
    assert not _reaches(deps, enable, _at(plan, "create", "physical_network:lab1/trunk"))


def test_the_zone_enable_waits_for_every_step_of_the_zone(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    enable = _at(plan, "enable", "zone:lab1")
    assert enable == len(plan.steps) - 1
    zone_steps = {i for i, s in enumerate(plan.steps) if s.key.zone == "lab1" and i != enable}
    assert deps[enable] == zone_steps
    assert not any(enable in d for d in deps.values())


def test_global_settings_come_first(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    settings = {i for i, s in enumerate(plan.steps) if s.key.kind == "setting"}
    assert len(settings) == 2 and all(not deps[i] for i in settings)
    assert deps[_at(plan, "create", "zone:lab1")] == settings
    others = [i for i in range(len(plan.steps)) if i not in settings]
    assert all(_reaches(deps, i, s) for i in others for s in settings)


@pytest.mark.parametrize("config", ["lab", "basic", "region"])
def test_every_edge_points_back_so_one_at_a_time_is_the_printed_order(config: str) -> None:
    plan = _fresh(CONFIGS / config)
    deps = plan.dependencies()
    assert all(j < i for i, before in deps.items() for j in before)


def test_zones_never_wait_for_each_other() -> None:
    plan = _fresh(CONFIGS / "region")
    deps = plan.dependencies()
    for i, step in enumerate(plan.steps):
        zone = step.key.zone
        assert all(plan.steps[j].key.zone in (zone, None) for j in deps[i])


def test_basic_zone_guest_network_and_ranges() -> None:
    plan = _fresh(CONFIGS / "basic")
    deps = plan.dependencies()
    network = _at(plan, "create", "guest_network:basic1/defaultGuestNetwork")
    # NetworkOrchestrator.createGuestNetwork: the physical network Enabled, providers enabled
    assert deps[network] >= {
        _at(plan, "enable", "physical_network:basic1/physnet"),
        _at(plan, "enable", "provider:basic1/physnet/VirtualRouter"),
        _at(plan, "enable", "provider:basic1/physnet/SecurityGroupProvider"),
    }
    guest = _at(plan, "create", "guest_range:basic1/pod2/172.16.20.100")
    assert deps[guest] == {network, _at(plan, "create", "pod:basic1/pod2")}
    assert not _reaches(deps, _at(plan, "create", "pod:basic1/pod1"), network)


def test_management_ranges_of_one_pod_run_one_after_another(tmp_path: Path) -> None:
    """createPodIpRange rewrites the pod's range list whole: never two at once on one pod."""
    config = yaml.safe_load((CONFIGS / "lab" / "lab.yaml").read_text())
    pods = config["zones"][0]["pods"]
    pods[0]["management_ranges"].append({"start": "10.10.1.70", "end": "10.10.1.80"})
    pods[1]["management_ranges"].append({"start": "10.10.2.40", "end": "10.10.2.50"})
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(config))
    plan = _fresh(tmp_path)
    deps = plan.dependencies()
    second = _at(plan, "create", "management_range:lab1/pod1/10.10.1.40")
    third = _at(plan, "create", "management_range:lab1/pod1/10.10.1.70")
    other = _at(plan, "create", "management_range:lab1/pod2/10.10.2.40")
    assert second in deps[third]
    assert not _reaches(deps, other, second) and not _reaches(deps, third, other)


def test_deletes_go_child_first() -> None:
    plan = _case("prune-unmanaged-pod")
    deps = plan.dependencies()
    pod = _at(plan, "delete", "pod:z2/old-pod")
    ranges = {i for i, s in enumerate(plan.steps) if s.key.kind == "management_range"}
    assert len(ranges) == 2 and ranges <= deps[pod]
    lab = ops.desired_state([CONFIGS / "lab"]).state
    gone = State()
    gone.add(Resource(Key("zone", ("lab1",)), {}, extra={ABSENT: True}))
    teardown = make_plan(gone, lab)  # the zone marked absent: torn down child-first
    deps = teardown.dependencies()
    zone = _at(teardown, "delete", "zone:lab1")
    assert all(_reaches(deps, zone, i) for i in range(len(teardown.steps)) if i != zone)
    network = _at(teardown, "delete", "physical_network:lab1/trunk")
    public = _at(teardown, "delete", "traffic_type:lab1/trunk/Public")
    for i, step in enumerate(teardown.steps):
        if step.key.kind == "public_range":  # deletePhysicalNetwork would take them along
            assert i in deps[network] and i in deps[public]


def test_a_replace_deletes_before_it_creates_and_creates_wait_for_deletes() -> None:
    plan = _case("replace-public-range-vlan")
    deps = plan.dependencies()
    delete = _at(plan, "delete", "public_range:z1/203.0.113.10")
    create = _at(plan, "create", "public_range:z1/203.0.113.10")
    assert delete in deps[create]
    lab = ops.desired_state([CONFIGS / "lab"]).state
    live = State({k: r for k, r in lab.items() if k != Key("pod", ("lab1", "pod2"))})
    live.add(replace(lab[Key("pod", ("lab1", "pod1"))], key=Key("pod", ("lab1", "old"))))
    mixed = make_plan(lab, live, prune=True)
    deps = mixed.dependencies()
    gone = _at(mixed, "delete", "pod:lab1/old")
    made = _at(mixed, "create", "pod:lab1/pod2")  # may take the old pod's addresses
    assert gone in deps[made]


def test_a_physical_network_added_to_an_enabled_zone_waits_for_the_disable() -> None:
    plan = _case("add-physical-network-to-enabled-zone")
    deps = plan.dependencies()
    disable = _at(plan, "disable (to add a physical network)", "zone:z1")
    create = _at(plan, "create", "physical_network:z1/storage")
    back = _at(plan, "enable", "zone:z1")
    assert disable in deps[create]
    network_steps = {i for i, s in enumerate(plan.steps) if s.key.kind != "zone"}
    assert network_steps <= deps[back]


def test_an_address_update_goes_before_the_ranges_after_it() -> None:
    """A shrinking range frees addresses a later range may take: the server checks what
    exists when it runs."""
    plan = _case("update-in-place")
    deps = plan.dependencies()
    shrink = _at(plan, "update", "management_range:z1/p1/10.0.1.10")
    public = _at(plan, "update", "public_range:z1/203.0.113.10")
    assert shrink in deps[public]


def _with_after(plan: Plan, index: int, *after: After) -> Plan:
    steps = list(plan.steps)
    steps[index] = replace(steps[index], after=after)
    return replace(plan, steps=tuple(steps))


def test_steps_can_declare_extra_dependencies(lab: tuple[Plan, Deps]) -> None:
    plan, deps = lab
    pod2 = _at(plan, "create", "pod:lab1/pod2")
    pod1 = _at(plan, "create", "pod:lab1/pod1")
    zone = Key("zone", ("lab1",))
    ordered = _with_after(plan, pod2, After(Key("pod", ("lab1", "pod1"))))
    assert ordered.dependencies()[pod2] == deps[pod2] | {pod1}
    public = _at(plan, "create", "public_range:lab1/203.0.113.10")
    titled = _with_after(plan, public, After(Key("pod", ("lab1", "pod1")), "create"))
    assert titled.dependencies()[public] == deps[public] | {pod1}
    with pytest.raises(ValueError, match=r"cycle: .*create pod lab1/pod2"):
        _with_after(plan, pod2, After(zone, "enable")).dependencies()
    with pytest.raises(ValueError, match="cycle"):
        _with_after(plan, _at(plan, "create", "zone:lab1"), After(zone, "enable")).dependencies()


def test_declared_dependencies_survive_a_saved_plan(lab: tuple[Plan, Deps]) -> None:
    plan, _ = lab
    pod2 = _at(plan, "create", "pod:lab1/pod2")
    declared = _with_after(plan, pod2, After(Key("pod", ("lab1", "pod1")), "create"))
    steps, _checksum = plan_from_dict(declared.to_dict())
    assert [s.after for s in steps] == [s.after for s in declared.steps]
    assert steps[pod2].after == (After(Key("pod", ("lab1", "pod1")), "create"),)
    assert "after" not in plan.to_dict()["steps"][pod2]  # plans without any are unchanged
    again = Plan(steps, (), 0)
    assert again.dependencies() == declared.dependencies()


def _zone_config(directory: Path, pods: int) -> Path:
    """One Advanced zone with `pods` pods, each with two management ranges and a storage
    range (the shape of the apply benchmark)."""
    base: dict[str, Any] = yaml.safe_load((CONFIGS / "lab" / "lab.yaml").read_text())
    zone = base["zones"][0]
    zone["pods"] = [
        {
            "name": f"pod{p}",
            "gateway": f"10.10.{p}.1",
            "netmask": "255.255.255.0",
            "management_ranges": [
                {"start": f"10.10.{p}.10", "end": f"10.10.{p}.30"},
                {"start": f"10.10.{p}.40", "end": f"10.10.{p}.60"},
            ],
            "storage_ranges": [
                {
                    "gateway": f"10.20.{p}.1",
                    "netmask": "255.255.255.0",
                    "start": f"10.20.{p}.10",
                    "end": f"10.20.{p}.60",
                }
            ],
        }
        for p in range(1, pods + 1)
    ]
    directory.mkdir()
    (directory / "zone.yaml").write_text(yaml.safe_dump(base))
    return directory


def _path_calls(plan: Plan) -> int:
    steps: tuple[Step, ...] = plan.steps
    path = critical_path(plan.dependencies(), lambda i: len(steps[i].calls))
    return sum(len(steps[i].calls) for i in path)


def test_the_critical_path_does_not_grow_with_the_pods_of_a_zone(tmp_path: Path) -> None:
    small = _fresh(_zone_config(tmp_path / "two", 2))
    big = _fresh(_zone_config(tmp_path / "thirty", 30))
    assert len(big.steps) == len(small.steps) + 28 * 3
    assert _path_calls(big) == _path_calls(small)
    # the chain: settings, zone, zone setting, physical network, traffic type, provider
    # (list element, configure it, enable), network enabled, public range, zone enabled
    assert _path_calls(big) == 11
