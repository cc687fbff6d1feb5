"""The apply graph of shared networks, dedicated guest VLANs and dedications: each edge
with the server rule behind it. Edges only, never wall time; every edge points back."""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: CM ConfigurationManagerImpl,
# NS NetworkServiceImpl, NO NetworkOrchestrator, DR DedicatedResourceManagerImpl,
# AG AffinityGroupServiceImpl.
from collections.abc import Mapping
from typing import Any

from cstool.model.diff import Action
from cstool.model.kinds import KINDS
from cstool.model.order import CHANGES, DELETES, sort_key
from cstool.model.plan import Call, Plan, Step
from cstool.model.resources import Key

Z, PN = "z1", "trunk"
ACME = {"domain": (None, "ROOT/acme"), "account": (None, "admin")}
BETA = {"domain": (None, "ROOT/beta")}


def _domain(path: str) -> dict[str, tuple[Any, Any]]:
    """The fields of a dedication to a whole domain (a create)."""
    return {"domain": (None, path)}


def _step(
    kind: str,
    *path: str,
    zone: str = Z,
    action: Action = Action.CREATE,
    title: str = "create",
    fields: Mapping[str, tuple[Any, Any]] | None = None,
    phase: int | None = None,
) -> Step:
    stage = DELETES if title == "delete" else CHANGES
    return Step(
        action,
        Key(kind, (zone, *path)),
        title,
        (Call("x", {}),),
        KINDS[kind].phase if phase is None else phase,
        stage,
        fields=dict(fields or {}),
    )


def _delete(kind: str, *path: str, **kw: Any) -> Step:
    return _step(kind, *path, action=Action.DELETE, title="delete", **kw)


def _enable_pn() -> Step:
    """A physical network's finishing step: enabled last, with its VLAN ranges."""
    fields = {"enabled": (None, True)}
    return _step("physical_network", PN, title="enable", fields=fields, phase=60)


def _graph(*steps: Step) -> tuple[Plan, dict[int, set[int]]]:
    plan = Plan(tuple(sorted(steps, key=sort_key)), (), 0)
    deps = plan.dependencies()
    assert all(j < i for i, before in deps.items() for j in before), "an edge points forward"
    return plan, deps


def _at(plan: Plan, title: str, kind: str, *path: str, zone: str = Z) -> int:
    key = Key(kind, (zone, *path))
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


# --- shared networks ------------------------------------------------------------------------


def test_a_shared_network_waits_for_its_physical_network_enabled_and_providers() -> None:
    """NO:2765-2770 refuses a physical network that is not Enabled; the providers of the
    offering's services must be enabled (NO:4415-4426)."""
    plan, deps = _graph(
        _step("physical_network", PN),
        _enable_pn(),
        _step("provider", PN, "SecurityGroupProvider", title="enable"),
        _step("shared_network", "shared-sg"),
    )
    net = _at(plan, "create", "shared_network", "shared-sg")
    assert _at(plan, "enable", "physical_network", PN) in deps[net]
    assert _at(plan, "enable", "provider", PN, "SecurityGroupProvider") in deps[net]


def test_pods_wait_for_the_shared_networks_of_their_zone() -> None:
    """createPod refuses a management range over an IP of the zone (CM:1784,
    checkOverlapPrivateIpRange CM:2780-2791) only once the network's IPs exist."""
    plan, deps = _graph(
        _step("shared_network", "shared-sg"),
        _step("shared_network", "other", zone="z2"),
        _step("pod", "pod1"),
    )
    pod = _at(plan, "create", "pod", "pod1")
    assert _at(plan, "create", "shared_network", "shared-sg") in deps[pod]
    assert not _reaches(deps, pod, _at(plan, "create", "shared_network", "other", zone="z2"))


def test_system_vms_are_destroyed_before_a_shared_network_is_deleted() -> None:
    """deleteNetwork removes the network's ranges (NO.deleteVlansInNetwork, NO:3530-3545),
    which fails while a system VM holds one of their addresses (NO:3453-3456)."""
    plan, deps = _graph(_delete("system_vm", "s-1-VM"), _delete("shared_network", "shared-sg"))
    net = _at(plan, "delete", "shared_network", "shared-sg")
    assert _at(plan, "delete", "system_vm", "s-1-VM") in deps[net]


# --- dedicated guest VLAN ranges ------------------------------------------------------------


def test_a_dedicated_vlan_range_waits_for_the_vnets_its_physical_network_finishes() -> None:
    """dedicateGuestVlanRange needs the VLANs to be vnets of the physical network
    (NS:4870-4886), set by its finishing updatePhysicalNetwork; that step does not wait
    for the range (which would be a cycle)."""
    plan, deps = _graph(
        _step("physical_network", PN), _enable_pn(), _step("dedicated_vlan_range", PN, "500")
    )
    vlans = _at(plan, "create", "dedicated_vlan_range", PN, "500")
    finish = _at(plan, "enable", "physical_network", PN)
    assert finish in deps[vlans]
    assert not _reaches(deps, finish, vlans)


def test_dedicated_vlan_ranges_of_one_physical_network_run_one_at_a_time() -> None:
    """dedicateGuestVlanRange merges adjacent ranges without a lock (NS:4911-4950)."""
    plan, deps = _graph(
        _step("dedicated_vlan_range", PN, "500"),
        _step("dedicated_vlan_range", PN, "600"),
        _step("dedicated_vlan_range", "other", "700"),
    )
    second = _at(plan, "create", "dedicated_vlan_range", PN, "600")
    assert _at(plan, "create", "dedicated_vlan_range", PN, "500") in deps[second]
    assert not _reaches(deps, second, _at(plan, "create", "dedicated_vlan_range", "other", "700"))


def test_dedicated_vlans_are_released_before_the_physical_network_drops_them() -> None:
    """updatePhysicalNetwork refuses to remove a vnet range with dedicated VLANs
    (NS:4645-4655): the release goes before the finishing update that shrinks it."""
    shrink = {"vlan_ranges": (("500-899",), ("700-899",))}
    plan, deps = _graph(
        _delete("dedicated_vlan_range", PN, "500"),
        _step(
            "physical_network", PN, action=Action.UPDATE, title="update", phase=60, fields=shrink
        ),
    )
    update = _at(plan, "update", "physical_network", PN)
    assert _at(plan, "delete", "dedicated_vlan_range", PN, "500") in deps[update]


# --- dedications ------------------------------------------------------------------------------


def test_a_dedication_waits_for_those_of_its_ancestors_only() -> None:
    """DR.dedicatePod (DR:298-310), dedicateCluster (DR:429-452) and dedicateHost
    (DR:549-578) check the dedications of the zone, pod and cluster above."""
    plan, deps = _graph(
        _step("zone_dedication", "dedicated", fields=_domain("ROOT/a")),
        _step("pod_dedication", "pod1", "dedicated", fields=_domain("ROOT/a/b")),
        _step("pod_dedication", "pod2", "dedicated", fields=_domain("ROOT/x")),
        _step("cluster_dedication", "pod1", "c1", "dedicated", fields=_domain("ROOT/a/b/c")),
        _step("host_dedication", "pod1", "c1", "h1", "dedicated", fields=_domain("ROOT/a/b/d")),
    )
    zone = _at(plan, "create", "zone_dedication", "dedicated")
    pod = _at(plan, "create", "pod_dedication", "pod1", "dedicated")
    cluster = _at(plan, "create", "cluster_dedication", "pod1", "c1", "dedicated")
    host = _at(plan, "create", "host_dedication", "pod1", "c1", "h1", "dedicated")
    assert zone in deps[pod]
    assert {zone, pod} <= deps[cluster]
    assert {zone, pod, cluster} <= deps[host]
    other = _at(plan, "create", "pod_dedication", "pod2", "dedicated")
    assert not _reaches(deps, cluster, other) and not _reaches(deps, host, other)


def test_dedications_are_released_child_first_and_before_their_resource_goes() -> None:
    """deletePod and its siblings drop the dedication row but leave its affinity group
    (CM:1883-1886); only a release deletes an emptied group (DR:964-970)."""
    gone = {"domain": ("ROOT/beta", None)}
    plan, deps = _graph(
        _delete("zone_dedication", "dedicated", fields=gone),
        _delete("pod_dedication", "pod1", "dedicated", fields=gone),
        _delete("pod", "pod1"),
    )
    release = _at(plan, "delete", "pod_dedication", "pod1", "dedicated")
    assert release in deps[_at(plan, "delete", "zone_dedication", "dedicated")]
    assert release in deps[_at(plan, "delete", "pod", "pod1")]


def test_the_dedications_of_one_owner_run_one_at_a_time_across_zones() -> None:
    """Each dedication finds or creates its owner's affinity group with no lock
    (DR:616-650); a second creation is refused (AG:233-235)."""
    plan, deps = _graph(
        _step("zone_dedication", "dedicated", fields=ACME),
        _step("zone_dedication", "dedicated", zone="z2", fields=ACME),
        _step("pod_dedication", "pod9", "dedicated", zone="z3", fields=BETA),
    )
    first = _at(plan, "create", "zone_dedication", "dedicated")
    second = _at(plan, "create", "zone_dedication", "dedicated", zone="z2")
    other = _at(plan, "create", "pod_dedication", "pod9", "dedicated", zone="z3")
    assert first in deps[second]
    assert not _reaches(deps, other, first) and not _reaches(deps, other, second)
    assert not _reaches(deps, second, other)


def test_a_release_and_a_dedication_of_one_owner_do_not_overlap() -> None:
    """A release deletes the owner's group with its last dedication (DR:967-970), under a
    dedication that found it."""
    gone = {"domain": ("ROOT/acme", None), "account": ("admin", None)}
    plan, deps = _graph(
        _delete("pod_dedication", "pod1", "dedicated", fields=gone),
        _step("pod_dedication", "pod2", "dedicated", zone="z2", fields=ACME),
    )
    release = _at(plan, "delete", "pod_dedication", "pod1", "dedicated")
    assert release in deps[_at(plan, "create", "pod_dedication", "pod2", "dedicated", zone="z2")]


def test_a_replace_that_hides_its_owner_waits_for_every_dedication_before_it() -> None:
    """A replace lists only the fields it changes: its owner is not known in full, so it
    is kept apart from every other dedication."""
    swap = {"account": ("admin", "ops")}
    plan, deps = _graph(
        _step("zone_dedication", "dedicated", fields=ACME),
        _step("zone_dedication", "dedicated", zone="z2", fields=BETA),
        _step("pod_dedication", "p", "dedicated", zone="z3", action=Action.REPLACE, fields=swap),
        _step("pod_dedication", "q", "dedicated", zone="z4", fields=BETA),
    )
    replaced = _at(plan, "create", "pod_dedication", "p", "dedicated", zone="z3")
    assert {
        _at(plan, "create", "zone_dedication", "dedicated"),
        _at(plan, "create", "zone_dedication", "dedicated", zone="z2"),
    } <= deps[replaced]
    assert replaced in deps[_at(plan, "create", "pod_dedication", "q", "dedicated", zone="z4")]


def test_a_public_range_is_released_before_it_is_reserved_for_system_vms() -> None:
    """updateVlanIpRange forsystemvms refuses a dedicated range
    (CM.updateVlanAndPublicIpRange:5649-5657), whatever else the update waits for."""
    start = "203.0.113.10"
    plan, deps = _graph(
        _delete("public_range_dedication", start, "dedicated"),
        _step("traffic_type", PN, "Public", action=Action.UPDATE, title="update"),
        _step(
            "public_range",
            start,
            action=Action.UPDATE,
            title="update",
            fields={"for_system_vms": (False, True)},
        ),
    )
    update = _at(plan, "update", "public_range", start)
    assert _at(plan, "update", "traffic_type", PN, "Public") in deps[update]
    assert _at(plan, "delete", "public_range_dedication", start, "dedicated") in deps[update]


def test_a_public_range_is_dedicated_after_its_update() -> None:
    """dedicatePublicIpRange refuses a range for system VMs (CM:6055-6060): the range's
    update (for_system_vms: false) goes first."""
    start = "203.0.113.10"
    plan, deps = _graph(
        _step(
            "public_range",
            start,
            action=Action.UPDATE,
            title="update",
            fields={"for_system_vms": (True, False)},
        ),
        _step("public_range_dedication", start, "dedicated", fields=ACME),
    )
    dedicate = _at(plan, "create", "public_range_dedication", start, "dedicated")
    assert _at(plan, "update", "public_range", start) in deps[dedicate]
