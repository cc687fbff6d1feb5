"""Order of plan steps, and the apply graph: which steps each step waits for.

`sort_key` is the printed order, CloudStack's own bring-up: global settings first; then
deletes, child-first; then creates and updates parent-first by phase (zone, zone settings,
physical networks, traffic types, providers, physical networks enabled, guest network, pods,
ranges) and the zone enabled last.

`dependencies` is the apply graph. A step waits only for what it really needs: the steps of
its parent, the resources the server looks up when it runs the step (its kind's `needs` in
the kinds table), and the few rules that really are global, each an explicit edge below.
Every edge points at a step printed before, so running the graph one step at a time is
exactly the printed order; zones and sibling subtrees (the pods of a zone) proceed
independently. Pure.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# DR DedicatedResourceManagerImpl, AG AffinityGroupServiceImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any, Protocol

from cstool.model.diff import Action
from cstool.model.kinds import KINDS
from cstool.model.resources import Key

SETTINGS, DELETES, CHANGES = 0, 1, 2  # a step's stage


@dataclass(frozen=True)
class After:
    """An extra dependency a step declares: it also waits for the steps on `key` (only those
    titled `title`, when given). For rules the graph cannot derive from kinds and phases."""

    key: Key
    title: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"resource": self.key.to_str()}
        if self.title is not None:
            out["title"] = self.title
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> After:
        return cls(Key.from_str(data["resource"]), data.get("title"))


class Orderable(Protocol):
    @property
    def key(self) -> Key: ...
    @property
    def action(self) -> Action: ...
    @property
    def title(self) -> str: ...
    @property
    def phase(self) -> int: ...
    @property
    def stage(self) -> int: ...  # SETTINGS, DELETES or CHANGES
    @property
    def order(self) -> int: ...
    @property
    def fields(self) -> Mapping[str, tuple[Any, Any]]: ...
    @property
    def after(self) -> tuple[After, ...]: ...


def sort_key(step: Orderable) -> tuple[Any, ...]:
    phase = -step.phase if step.stage == DELETES else step.phase
    # outside zones a delete and a create share the SETTINGS stage: the deletes go first,
    # so a region-wide store's replace prints (and runs) its delete before its create
    late = not (step.stage == SETTINGS and step.title == "delete")
    return (
        step.stage,
        late,
        phase,
        step.key.zone or "",
        step.key.path[:-1],
        step.order,
        step.key.path,
    )


# What the server looks up when it runs a step on a kind is the kind's own `needs`, and
# whether the steps of a kind on one parent run one after another is its `serial`: both are
# in the kinds table.

# Kinds that hold addresses of the zone. The server checks a new or changed range against the
# ranges that exist when it runs (ConfigurationManagerImpl.checkOverlapPublicIpRange,
# checkPodCidrSubnets, StorageNetworkManagerImpl.checkOverlapPrivateIpRange): an update that
# shrinks one range may free the addresses another step takes, so updates of these kinds go
# first (they are rare; a bring-up has none). This is a rule among kinds (an update of one
# kind goes before the changes of the others), not a property of one, so it stays here.
ADDRESSES = frozenset({"pod", "management_range", "public_range", "storage_range", "guest_range"})


def to_maintenance(step: Orderable) -> bool:
    """Whether the step puts its resource into maintenance (a host's or a pool's `state`)."""
    old, new = step.fields.get("state", (None, None))
    return bool(new == "maintenance" and old != "maintenance")


def _host_serial(step: Orderable) -> bool:
    """Deletes of hosts and their moves into maintenance go one host at a time per cluster.
    RM.maintain(PrepareForHostMaintenanceCmd) (RM:1682-1685) refuses while
    another host of the cluster is in PrepareForMaintenance or ErrorInPrepareForMaintenance
    ("There are other servers attempting migrations for maintenance"); a host delete goes
    through maintenance (its kind's delete hook), so deletes count too."""
    return step.stage == DELETES or to_maintenance(step)


def _pool_serial(step: Orderable) -> bool:
    """Deletes of pools and their moves into maintenance go one pool at a time per cluster
    (per zone for zone-wide pools): StoragePoolAutomationImpl.maintain (:129-139) refuses
    while another pool of the cluster (zone) is in PrepareForMaintenance ("Only one storage
    pool in a cluster can be in PrepareForMaintenance mode"); a pool's delete goes through
    enableStorageMaintenance first (its kind's delete hook)."""
    return step.stage == DELETES or to_maintenance(step)


# Kinds whose steps of one parent run one after another only when the predicate holds (the
# kinds table's `serial` makes every step serial). The slot spans stages: a delete and a
# move into maintenance in one cluster never overlap either.
SERIAL_WHEN: Mapping[str, Callable[[Orderable], bool]] = {
    "host": _host_serial,
    "primary_storage": _pool_serial,
    "zone_primary_storage": _pool_serial,
}

# Kinds whose first create under one parent goes before the other creates there. addHost
# into a cluster that has hosts but no GUID yet is refused with 530 "Guid is not updated
# for cluster with specified cluster id; need to wait for hosts in this cluster to come up"
# (RM.discoverHostsFull, RM:705-712); XenServer sets the cluster's GUID
# only when its first host connects (XcpServerDiscoverer:580-581). So the other hosts of a
# cluster wait for the first one's create step, which ends once the host is Up.
FIRST_FIRST = frozenset({"host"})

# A change of a resource waits for the release of its dedication (parent kind -> the child
# kind released first). updateVlanIpRange forsystemvms refuses a dedicated public range
# ("Specified Public IP range has already been dedicated to an account" / "... to a
# domain", CM.updateVlanAndPublicIpRange:5649-5657). (A physical network's VLAN ranges shrink
# in its finishing step, which waits for every delete under it, the guest VLAN releases too:
# NetworkServiceImpl.updatePhysicalNetwork refuses to drop a dedicated VLAN, "Vnet range ...
# is dedicated to an account", :4645-4655.)
RELEASED_FIRST: Mapping[str, str] = {"public_range": "public_range_dedication"}

# Dedications that find or create their owner's ExplicitDedication affinity group
# (DR.findOrCreateDedicatedAffinityGroup, DR:616-650) with no lock: two at once for one owner
# both create it, and the second is refused ("Unable to create affinity group, a group with
# name ... already exists.", AG.verifyAffinityGroupNameInUse:233-235); a release deletes the
# group with its last dedication (DR.releaseDedicatedResource:967-970), under a dedication
# being made. So the steps of one owner (domain, account) run one at a time, in printed
# order, across zones.
ONE_OWNER_AT_A_TIME = frozenset(
    {"zone_dedication", "pod_dedication", "cluster_dedication", "host_dedication"}
)
_MAKES = (Action.CREATE, Action.REPLACE)  # in the CHANGES stage: a create (a replace's second half)


def finishing(step: Orderable) -> bool:
    """Whether the step completes its resource after the resource's children: the enable of
    a zone or a physical network, or any change at its kind's finish phase (a physical
    network's VLAN ranges). Children never wait for it; it waits for them."""
    kind = KINDS.get(step.key.kind)
    if step.stage != CHANGES or kind is None or kind.finish_phase is None:
        return False
    change = step.fields.get("enabled")
    return step.phase == kind.finish_phase or (change is not None and change[1] is True)


# --- the graph ----------------------------------------------------------------------------


def dependencies(steps: Sequence[Orderable]) -> dict[int, set[int]]:
    """step index -> the indexes it waits for. Steps must be sorted by sort_key already.

    Raises ValueError when declared extra dependencies (`after`) make a cycle."""
    deps: dict[int, set[int]] = {i: set() for i in range(len(steps))}
    zones: dict[str, list[int]] = {}
    settings: list[int] = []
    for i, step in enumerate(steps):
        if KINDS[step.key.kind].in_zone:
            zones.setdefault(step.key.path[0], []).append(i)
        else:
            settings.append(i)
    # Outside zones too, one resource's steps run in printed order: a region-wide image
    # store's replace creates a store of the name its delete frees (the name is unique:
    # StorageManagerImpl.discoverImageStore refuses "The image store with name ... already exists")
    _in_order(steps, settings, deps)
    for indexes in zones.values():
        _zone(steps, indexes, deps)
        # Global settings first: they change what the server accepts (check.pod.cidrs decides
        # ConfigurationManagerImpl.checkPodCidrSubnets). Every step of a zone reaches them:
        # those that wait for nothing else wait for them directly.
        for i in indexes:
            if not deps[i]:
                deps[i].update(settings)
    _one_owner_at_a_time(steps, deps)
    _declared(steps, deps)
    _acyclic(steps, deps)
    return deps


def _zone(steps: Sequence[Orderable], indexes: list[int], deps: dict[int, set[int]]) -> None:
    """The edges among the steps of one zone."""
    by_key: dict[Key, list[int]] = {}
    by_kind: dict[tuple[int, str], list[int]] = {}
    for i in indexes:
        step = steps[i]
        by_key.setdefault(step.key, []).append(i)
        by_kind.setdefault((step.stage, step.key.kind), []).append(i)
    _in_order(steps, indexes, deps)
    deletes = [i for i in indexes if steps[i].stage == DELETES]
    changes = [i for i in indexes if steps[i].stage == CHANGES]
    for i in deletes:
        _delete_edges(steps, i, by_key, by_kind, deps)
    updates = [  # address updates of the zone, in printed order
        i for i in changes if steps[i].key.kind in ADDRESSES and steps[i].title == "update"
    ]
    for i in changes:
        released = RELEASED_FIRST.get(steps[i].key.kind)
        if released is not None:
            deps[i].update(
                j
                for j in by_kind.get((DELETES, released), ())
                if steps[j].key.parent() == steps[i].key
            )
        if finishing(steps[i]):
            # a finishing step waits for its whole subtree printed before it: the zone's
            # enable (ConfigurationManagerImpl.editZone refuses it without Management and,
            # Advanced without SG, Public traffic) waits for every step of the zone, deletes
            # included; a physical network is enabled once its traffic types and providers
            # are done (the order of Marvin's deployDataCenter.py)
            deps[i].update(j for j in indexes if j < i and _within(steps[j].key, steps[i].key))
        else:
            _change_edges(steps, i, by_key, by_kind, deps)
            if steps[i].key.kind in ADDRESSES:
                deps[i].update(j for j in updates if j < i)
    # Deletes before creates and updates: the names, addresses, VLANs and one-per-zone
    # traffic types a delete frees are free only once it is done (a replace's delete before
    # its create is also a same-resource edge). Every change of the zone reaches the deletes
    # that no other delete waits for; deletes are rare, a bring-up has none.
    waited = set().union(*(deps[i] for i in deletes)) if deletes else set()
    last = [i for i in deletes if i not in waited]
    for i in changes:
        if not deps[i]:
            deps[i].update(last)


def _in_order(steps: Sequence[Orderable], indexes: list[int], deps: dict[int, set[int]]) -> None:
    """Steps on one resource run in printed order (a create before its enable, a replace's
    delete before its create); steps of a serial kind on one parent too, and those a
    SERIAL_WHEN predicate picks; the first create of a FIRST_FIRST kind on one parent goes
    before the others."""
    last_of: dict[Key, int] = {}
    last_serial: dict[tuple[int, str, tuple[str, ...]], int] = {}
    last_when: dict[tuple[str, tuple[str, ...]], int] = {}
    first: dict[tuple[str, tuple[str, ...]], int] = {}
    for i in indexes:
        step = steps[i]
        key = step.key
        if key in last_of:
            deps[i].add(last_of[key])
        last_of[key] = i
        if KINDS[key.kind].serial:
            slot = (step.stage, key.kind, key.path[:-1])
            if slot in last_serial:
                deps[i].add(last_serial[slot])
            last_serial[slot] = i
        when = SERIAL_WHEN.get(key.kind)
        if when is not None and when(step):
            group = (key.kind, key.path[:-1])
            if group in last_when:
                deps[i].add(last_when[group])
            last_when[group] = i
        if key.kind in FIRST_FIRST and step.stage == CHANGES and step.action in _MAKES:
            group = (key.kind, key.path[:-1])
            if group in first:
                deps[i].add(first[group])
            else:
                first[group] = i


def _needed(
    steps: Sequence[Orderable], key: Key, stage: int, by_kind: Mapping[tuple[int, str], list[int]]
) -> Iterable[int]:
    """The steps of `stage` on the resources the server looks up for `key` (its kind's
    needs)."""
    for need in KINDS[key.kind].needs:
        for j in by_kind.get((stage, need.kind), ()):
            if need.match(key, steps[j].key):
                yield j


def _delete_edges(
    steps: Sequence[Orderable],
    i: int,
    by_key: Mapping[Key, list[int]],
    by_kind: Mapping[tuple[int, str], list[int]],
    deps: dict[int, set[int]],
) -> None:
    """Deletes go child-first: the deletes of a resource's parent and of what it needs wait
    for its delete (ConfigurationManagerImpl.checkIfZoneIsDeletable refuses a zone with pods
    or physical networks; NetworkServiceImpl.deletePhysicalNetwork one still used by
    networks; and deleting a physical network removes its public ranges itself)."""
    key = steps[i].key
    above: list[int] = []
    if KINDS[key.kind].parent is not None:
        # the parent's delete, not its updates in the deletes stage (a zone disabled to be
        # torn down goes before its system VMs are destroyed: plan._teardown_wraps)
        above.extend(
            j
            for j in by_key.get(key.parent(), ())
            if steps[j].stage == DELETES and steps[j].action is not Action.UPDATE
        )
    above.extend(_needed(steps, key, DELETES, by_kind))
    for j in above:
        if j != i:
            deps[j].add(i)


def _change_edges(
    steps: Sequence[Orderable],
    i: int,
    by_key: Mapping[Key, list[int]],
    by_kind: Mapping[tuple[int, str], list[int]],
    deps: dict[int, set[int]],
) -> None:
    """What a create or update waits for: its parent, what the server looks up and the
    zone's settings."""
    step, found = steps[i], deps[i]
    key = step.key
    kind = KINDS[key.kind]
    if kind.parent is not None:
        # the parent exists, as it is to be, before its children: every create names its
        # parent's id, and an update of the parent (a pod's gateway and netmask, a zone's
        # guest CIDR) decides what the server accepts of the child; never its finishing step
        parent = key.parent()
        found.update(
            j
            for j in by_key.get(parent, ())
            if steps[j].stage == CHANGES
            and (not finishing(steps[j]) or (kind.after_parent_finish and j < i))
        )
    found.update(_needed(steps, key, CHANGES, by_kind))
    if key.kind not in ("zone", "zone_setting"):
        # zone-scoped settings are the zone's own global settings: like those, they are in
        # place before anything is made in the zone, so what the server reads of them while
        # making it applies (one call, at the start)
        found.update(by_kind.get((CHANGES, "zone_setting"), ()))
    found.discard(i)


def _one_owner_at_a_time(steps: Sequence[Orderable], deps: dict[int, set[int]]) -> None:
    """The steps of ONE_OWNER_AT_A_TIME kinds of one owner wait for each other in printed
    order; a step whose owner the plan does not show in full (a replace lists only the
    fields it changes) waits for all before it, and all after it wait for it. Every edge
    points back."""
    last: dict[tuple[Any, Any], int] = {}
    unknown: int | None = None
    for i, step in enumerate(steps):
        if step.key.kind not in ONE_OWNER_AT_A_TIME:
            continue
        owner = _owner(step)
        before = set(last.values()) if owner is None else {last[owner]} if owner in last else set()
        if unknown is not None:
            before.add(unknown)
        deps[i].update(before)
        if owner is None:
            unknown = i
        else:
            last[owner] = i


def _owner(step: Orderable) -> tuple[Any, Any] | None:
    """(domain, account) a dedication step makes or releases: the new values of a create,
    the old ones of a delete; None when a replace leaves one out (unchanged)."""
    side = 0 if step.stage == DELETES else 1
    out = []
    for name in ("domain", "account"):
        if name in step.fields:
            out.append(step.fields[name][side])
        elif step.action is Action.REPLACE:
            return None
        else:
            out.append(None)
    return (out[0], out[1])


def _within(key: Key, top: Key) -> bool:
    """Whether key is top or lies under it (by the kinds' parents, not by path prefix: a pod
    and a physical network may share a name)."""
    if top.kind == "zone":
        return KINDS[key.kind].in_zone and key.path[0] == top.path[0]
    while True:
        if key == top:
            return True
        if KINDS[key.kind].parent is None:
            return False
        key = key.parent()


def _declared(steps: Sequence[Orderable], deps: dict[int, set[int]]) -> None:
    """The extra dependencies steps declare (`after`)."""
    if not any(step.after for step in steps):
        return
    by_key: dict[Key, list[int]] = {}
    for i, step in enumerate(steps):
        by_key.setdefault(step.key, []).append(i)
    for i, step in enumerate(steps):
        for want in step.after:
            deps[i].update(
                j
                for j in by_key.get(want.key, ())
                if j != i and (want.title is None or steps[j].title == want.title)
            )


def _acyclic(steps: Sequence[Orderable], deps: Mapping[int, set[int]]) -> None:
    """Refuse a cycle. Edges that all point back (the derived ones do) cannot make one."""
    if all(j < i for i, before in deps.items() for j in before):
        return
    try:
        TopologicalSorter(deps).prepare()
    except CycleError as exc:
        cycle = " -> ".join(f"{steps[i].title} {steps[i].key}" for i in exc.args[1])
        raise ValueError(f"plan steps wait for each other in a cycle: {cycle}") from None


def critical_path(deps: Mapping[int, set[int]], cost: Callable[[int], float]) -> list[int]:
    """The longest chain of steps by cost (each step's own cost plus its longest
    prerequisite chain): the least time any apply of the graph can take, at any parallelism."""
    best: dict[int, tuple[float, int | None]] = {}
    for i in TopologicalSorter(deps).static_order():
        before = max(deps.get(i, ()), key=lambda j: best[j][0], default=None)
        best[i] = (cost(i) + (best[before][0] if before is not None else 0.0), before)
    if not best:
        return []
    end: int | None = max(best, key=lambda i: best[i][0])
    path = []
    while end is not None:
        path.append(end)
        end = best[end][1]
    return path[::-1]
