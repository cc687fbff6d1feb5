"""The apply graph of compute and storage: each edge with the server rule behind
it, the per-cluster rules among hosts and pools, and the tear-down of a zone that holds them.
Edges only, never wall time. The kinds are the real ones once they are in the table, else
the stand-ins of tests/infra_kinds.py (which carry the same edges, checked below)."""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cstool.model.diff import Action
from cstool.model.kinds import KINDS
from cstool.model.order import CHANGES, DELETES, After, sort_key
from cstool.model.plan import (
    TEARDOWN_PHASE,
    TEARDOWN_TITLE,
    Call,
    Plan,
    Step,
    _teardown_wraps,
    make_plan,
)
from cstool.model.resources import ABSENT, MANAGES_INFRA, Key, Resource, State
from tests.infra_kinds import EDGES, installed

Z, P = "z1", "pod1"


@pytest.fixture(autouse=True)
def kinds() -> Iterator[list[str]]:
    with installed() as added:
        yield added


def _step(
    kind: str,
    *path: str,
    action: Action = Action.CREATE,
    title: str = "create",
    fields: Mapping[str, tuple[Any, Any]] | None = None,
    order: int = 0,
) -> Step:
    stage = DELETES if action is Action.DELETE or title == "delete" else CHANGES
    return Step(
        action,
        Key(kind, (Z, *path)),
        title,
        (Call("x", {}),),
        KINDS[kind].phase,
        stage,
        order,
        fields=dict(fields or {}),
    )


def _delete(kind: str, *path: str) -> Step:
    return _step(kind, *path, action=Action.DELETE, title="delete")


def _maintenance(*path: str) -> Step:
    fields = {"state": ("enabled", "maintenance")}
    return _step("host", *path, action=Action.UPDATE, title="maintenance", fields=fields)


def _graph(*steps: Step) -> tuple[Plan, dict[int, set[int]]]:
    plan = Plan(tuple(sorted(steps, key=sort_key)), (), 0)
    deps = plan.dependencies()
    assert all(j < i for i, before in deps.items() for j in before), "an edge points forward"
    return plan, deps


def _at(plan: Plan, title: str, kind: str, *path: str) -> int:
    key = Key(kind, (Z, *path))
    (index,) = [i for i, s in enumerate(plan.steps) if s.key == key and s.title == title]
    return index


def _reaches(deps: Mapping[int, set[int]], step: int, before: int) -> bool:
    seen, todo = set(), [step]
    while todo:
        for j in deps[todo.pop()]:
            if j == before:
                return True
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return False


# --- the kinds' own edges --------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EDGES))
def test_the_kinds_table_has_the_edges_of_the_plan(kind: str, kinds: list[str]) -> None:
    """The stand-ins carry EDGES; the real kinds must carry the same needs."""
    if kind in kinds:
        pytest.skip(f"{kind} is not in the kinds table yet (stand-in used)")
    assert sorted(n.kind for n in KINDS[kind].needs) == sorted(k for k, _ in EDGES[kind])


def test_a_vmware_cluster_waits_for_the_datacenter() -> None:
    """VmwareServerDiscoverer.find (:436-446) refuses a zone with no VMware datacenter."""
    plan, deps = _graph(
        _step("vmware_datacenter", "dc1"), _step("cluster", P, "c1"), _step("pod", P)
    )
    assert (
        _at(plan, "create", "vmware_datacenter", "dc1")
        in deps[_at(plan, "create", "cluster", P, "c1")]
    )


def test_a_host_waits_for_its_cluster_settings_only() -> None:
    """Settings a host reads when it connects are in place first; another cluster's are not
    waited for."""
    plan, deps = _graph(
        _step("cluster_setting", P, "c1", "cpu.overprovisioning.factor", title="set"),
        _step("cluster_setting", P, "c2", "cpu.overprovisioning.factor", title="set"),
        _step("host", P, "c1", "h1"),
    )
    host = _at(plan, "create", "host", P, "c1", "h1")
    assert _at(plan, "set", "cluster_setting", P, "c1", "cpu.overprovisioning.factor") in deps[host]
    other = _at(plan, "set", "cluster_setting", P, "c2", "cpu.overprovisioning.factor")
    assert not _reaches(deps, host, other)


def test_a_cluster_pool_waits_for_the_hosts_of_its_cluster_only() -> None:
    """PL.attachCluster (:434-441) needs an Up host in the pool's cluster; the host's create
    step ends with its wait for Up."""
    plan, deps = _graph(
        _step("host", P, "c1", "h1"),
        _step("host", P, "c2", "h9"),
        _step("primary_storage", P, "c1", "ps1"),
    )
    pool = _at(plan, "create", "primary_storage", P, "c1", "ps1")
    assert _at(plan, "create", "host", P, "c1", "h1") in deps[pool]
    assert not _reaches(deps, pool, _at(plan, "create", "host", P, "c2", "h9"))


def test_a_zone_pool_waits_for_every_host_of_the_zone() -> None:
    """PL.attachZone attaches the Up hosts that exist when it runs."""
    plan, deps = _graph(
        _step("host", P, "c1", "h1"),
        _step("host", "pod2", "c2", "h9"),
        _step("zone_primary_storage", "ceph"),
    )
    pool = _at(plan, "create", "zone_primary_storage", "ceph")
    assert {
        _at(plan, "create", "host", P, "c1", "h1"),
        _at(plan, "create", "host", "pod2", "c2", "h9"),
    } <= deps[pool]


def test_an_image_store_waits_for_clusters_and_staging_stores() -> None:
    """The first NFS store registers the system VM templates of the existing clusters'
    hypervisors (StorageManagerImpl:4036-4075); the cache store goes before it (Marvin's order)."""
    plan, deps = _graph(
        _step("cluster", P, "c1"),
        _step("staging_store", "nfs:%2F%2Fs%2Fcache"),
        _step("image_store", "sec1"),
    )
    store = _at(plan, "create", "image_store", "sec1")
    assert {
        _at(plan, "create", "cluster", P, "c1"),
        _at(plan, "create", "staging_store", "nfs:%2F%2Fs%2Fcache"),
    } <= deps[store]


def test_system_vms_are_destroyed_before_pools_hosts_and_stores() -> None:
    """SM.deleteDataStoreInternal (SM:1755-1761) refuses a pool that holds
    volumes of system VMs that are not destroyed, even forced."""
    plan, deps = _graph(
        _delete("system_vm", "s-1-VM"),
        _delete("primary_storage", P, "c1", "ps1"),
        _delete("zone_primary_storage", "ceph"),
        _delete("host", P, "c1", "h1"),
        _delete("image_store", "sec1"),
        _delete("staging_store", "cache"),
    )
    svm = _at(plan, "delete", "system_vm", "s-1-VM")
    for kind, path in (
        ("primary_storage", (P, "c1", "ps1")),
        ("zone_primary_storage", ("ceph",)),
        ("host", (P, "c1", "h1")),
        ("image_store", ("sec1",)),
        ("staging_store", ("cache",)),
    ):
        assert svm in deps[_at(plan, "delete", kind, *path)], kind


def test_deletes_go_child_first_through_the_cluster() -> None:
    """deleteCluster is refused while hosts or pools remain (RM:1206/1214); a pool goes
    before the hosts it is attached to (the reverse of its create edge)."""
    plan, deps = _graph(
        _delete("cluster", P, "c1"),
        _delete("host", P, "c1", "h1"),
        _delete("primary_storage", P, "c1", "ps1"),
    )
    cluster = _at(plan, "delete", "cluster", P, "c1")
    host = _at(plan, "delete", "host", P, "c1", "h1")
    pool = _at(plan, "delete", "primary_storage", P, "c1", "ps1")
    assert {host, pool} <= deps[cluster]
    assert pool in deps[host]


# --- rules among the hosts and pools of one cluster ----------------------------------------


def test_the_first_host_of_a_cluster_goes_first_then_the_others_together() -> None:
    """RM.discoverHostsFull (RM:705-712) refuses addHost into a cluster with
    hosts but no GUID yet; XenServer sets it when its first host connects."""
    hosts = [_step("host", P, "c1", f"h{n}", order=n) for n in range(1, 4)]
    hosts += [_step("host", P, "c2", f"h{n}", order=n) for n in range(1, 3)]
    plan, deps = _graph(*hosts)
    first = _at(plan, "create", "host", P, "c1", "h1")
    h2, h3 = (_at(plan, "create", "host", P, "c1", h) for h in ("h2", "h3"))
    assert first in deps[h2] and first in deps[h3]
    assert not _reaches(deps, h3, h2) and not _reaches(deps, h2, h3)
    other_first = _at(plan, "create", "host", P, "c2", "h1")
    assert not deps[other_first] and not _reaches(deps, first, other_first)
    assert (
        _at(plan, "create", "host", P, "c2", "h1")
        in deps[_at(plan, "create", "host", P, "c2", "h2")]
    )


def test_host_updates_that_stay_in_service_run_together() -> None:
    tags = {"tags": (("a",), ("b",))}
    plan, deps = _graph(
        _step("host", P, "c1", "h1", action=Action.UPDATE, title="update", fields=tags),
        _step("host", P, "c1", "h2", action=Action.UPDATE, title="update", fields=tags),
    )
    assert not any(deps.values())


def test_hosts_enter_maintenance_and_are_deleted_one_at_a_time_per_cluster() -> None:
    """RM.maintain (RM:1682-1685) refuses while another host of the cluster
    is in PrepareForMaintenance; a delete goes through maintenance."""
    plan, deps = _graph(
        _delete("host", P, "c1", "h1"),
        _delete("host", P, "c1", "h2"),
        _maintenance(P, "c1", "h3"),
        _delete("host", P, "c2", "h1"),
    )
    d1, d2 = _at(plan, "delete", "host", P, "c1", "h1"), _at(plan, "delete", "host", P, "c1", "h2")
    m3 = _at(plan, "maintenance", "host", P, "c1", "h3")
    assert _reaches(deps, d2, d1) or _reaches(deps, d1, d2)
    assert _reaches(deps, m3, d1) and _reaches(deps, m3, d2)
    other = _at(plan, "delete", "host", P, "c2", "h1")
    assert not _reaches(deps, other, d1) and not _reaches(deps, other, d2)
    assert not _reaches(deps, d1, other) and not _reaches(deps, d2, other)


def test_pools_enter_maintenance_one_at_a_time_per_cluster() -> None:
    """StoragePoolAutomationImpl.maintain (:129-139): one pool of a cluster (zone) in
    PrepareForMaintenance at a time."""
    plan, deps = _graph(
        _delete("primary_storage", P, "c1", "ps1"),
        _delete("primary_storage", P, "c1", "ps2"),
        _delete("primary_storage", P, "c2", "ps1"),
        _delete("zone_primary_storage", "z-a"),
        _delete("zone_primary_storage", "z-b"),
    )
    a, b = (_at(plan, "delete", "primary_storage", P, "c1", n) for n in ("ps1", "ps2"))
    assert _reaches(deps, b, a) or _reaches(deps, a, b)
    other = _at(plan, "delete", "primary_storage", P, "c2", "ps1")
    assert not _reaches(deps, other, a) and not _reaches(deps, other, b)
    za, zb = (_at(plan, "delete", "zone_primary_storage", n) for n in ("z-a", "z-b"))
    assert _reaches(deps, zb, za) or _reaches(deps, za, zb)


# --- tear-down of a zone that holds compute and storage -------------------------------------


def _res(kind: str, *path: str, **values: Any) -> Resource:
    return Resource(Key(kind, path), values, uuid=f"id-{kind}-{'/'.join(path)}")


def _live(enabled: bool = True, infra: bool = True) -> State:
    live = State()
    live.add(_res("zone", Z, enabled=enabled))
    live.add(_res("pod", Z, P))
    if infra:
        live.add(_res("cluster", Z, P, "c1", hypervisor="KVM"))
        live.add(_res("host", Z, P, "c1", "h1", state="enabled"))
        live.add(_res("system_vm", Z, "s-1-VM"))
    return live


def _gone() -> State:
    desired = State()
    desired.add(Resource(Key("zone", (Z,)), {}, extra={ABSENT: True, MANAGES_INFRA: True}))
    return desired


def test_an_enabled_zone_with_compute_is_disabled_before_anything_is_deleted() -> None:
    plan = make_plan(_gone(), _live())
    first = plan.steps[0]
    assert (first.title, first.key, first.stage) == (TEARDOWN_TITLE, Key("zone", (Z,)), DELETES)
    assert first.phase == TEARDOWN_PHASE > max(k.phase for k in KINDS.values())
    assert first.calls[0].command == "updateZone"
    assert first.calls[0].params["allocationstate"] == "Disabled"
    deps = plan.dependencies()
    zone = _at(plan, "delete", "zone")
    assert _reaches(deps, zone, 0)
    assert all(s.stage == DELETES for s in plan.steps)
    svm = _at(plan, "delete", "system_vm", "s-1-VM")  # torn down with its zone
    assert 0 in deps[svm]
    assert svm in deps[_at(plan, "delete", "host", P, "c1", "h1")]


@pytest.mark.parametrize(("enabled", "infra"), [(False, True), (True, False)])
def test_no_tear_down_disable_for_a_disabled_zone_or_one_without_compute(
    enabled: bool, infra: bool
) -> None:
    plan = make_plan(_gone(), _live(enabled, infra))
    assert not [s for s in plan.steps if s.title == TEARDOWN_TITLE]
    assert [s.title for s in plan.steps if s.key.kind == "zone"] == ["delete"]


def test_system_vms_wait_for_the_tear_down_disable() -> None:
    """System VMs run only in Enabled zones (SecondaryStorageManagerImpl.getScannablePools):
    destroyed before the zone is disabled, the server would start them again."""
    steps = [_delete("system_vm", "s-1-VM"), _delete("zone"), _delete("pod", P)]
    wrapped = _teardown_wraps(steps, _live())
    svm = next(s for s in wrapped if s.key.kind == "system_vm")
    assert svm.after == (After(Key("zone", (Z,)), TEARDOWN_TITLE),)
    plan, deps = _graph(*wrapped)
    assert _at(plan, TEARDOWN_TITLE, "zone") in deps[_at(plan, "delete", "system_vm", "s-1-VM")]
    unwrapped = _teardown_wraps([_delete("system_vm", "s-1-VM")], _live())
    assert unwrapped[0].after == ()  # no zone torn down: nothing declared
