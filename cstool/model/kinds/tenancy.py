"""The tenancy plane: the domains, accounts and projects a config refers to (never managed),
and the explicit dedication of zones, pods, clusters, hosts and public ranges to them. Pure.

A dedication is written as one mapping under its resource, `dedicated: {domain: ROOT/a,
account: NAME}` (or `false`); its identity is the word `dedicated`. The server has no call
that changes a dedication's owner: a new owner is a release, then a dedication again
(ConfigurationManagerImpl.dedicatePublicIpRange refuses a dedicated range; the
DedicatedResourceManagerImpl dedicate calls refuse a dedicated resource).
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: CM
# ConfigurationManagerImpl, DR DedicatedResourceManagerImpl, ARH ApiResponseHelper.
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cstool.model import values as v
from cstool.model.kinds.base import (
    CallT,
    Field,
    FromApi,
    KeyLike,
    Kind,
    LowerCreate,
    LowerDelete,
    Lowering,
    Need,
    Read,
    ResT,
)
from cstool.model.kinds.network import owner_fields, owner_refs

DEDICATED = "dedicated"  # the container of a dedication, and its identity


# --- owners ---------------------------------------------------------------------------------


def _by_id(api: str) -> FromApi:
    """An owner a dedication lists only by id (DR.createDedicateZoneResponse and its
    siblings set `domainid` and `accountid` to uuids): `id:<uuid>` until owners.resolve names
    it; None when absent (a dedication to a whole domain lists no account)."""

    def read(obj: Mapping[str, Any]) -> Any:
        raw = obj.get(api)
        return f"id:{raw}" if raw else None

    return read


def _resource_owner_fields() -> tuple[Field, ...]:
    """domain and account of a zone, pod, cluster or host dedication (DedicateZoneCmd and
    its siblings take no project); the account is listed by id only."""
    domain, account = owner_fields(project=False)
    return (domain, replace(account, from_api=_by_id("accountid")))


def _identity(_obj: Mapping[str, Any]) -> str:
    """A dedication's identity: one per resource, named by its container."""
    return DEDICATED


# --- lowering -----------------------------------------------------------------------------


def _dedicate(command: str, param: str) -> LowerCreate:
    """dedicateZone zoneid (dedicatePod podid, …) domainid [account]: async, and the job
    result names no object (DR.dedicateZone returns a list), so the applier finds the new
    dedication by listing it (`creates`)."""

    def lower(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
        params = {param: plan.ref(res.key.parent()), **owner_refs(plan, res.values)}
        return [plan.call(command, params, creates=res.key)]

    return lower


def _release(command: str, param: str) -> LowerDelete:
    """releaseDedicatedZone zoneid (Pod podid, …): by the resource, not the dedication."""

    def lower(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
        return [plan.call(command, {param: plan.ref(live.key.parent())})]

    return lower


def zone_domain_back(plan: Lowering[Any, Any], zone: KeyLike) -> Any:
    """The network domain a zone's release must set again, or None (nothing to restore).

    DR.releaseDedicatedResource (DR:951-958) clears the zone's network domain with its
    `domainid` (dc.setDomain(null)). The zone is given the desired value again, else the one
    it has; not when the zone itself goes (the config no longer wants it)."""
    want = plan.desired.get(zone)
    if want is None:
        return None
    have = plan.live.get(zone)
    value = want.values.get("domain")
    if value is None and have is not None:
        value = have.values.get("domain")
    return value


def _release_zone(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    """releaseDedicatedZone, then updateZone domain=… when the release would lose the zone's
    network domain (zone_domain_back)."""
    zone = live.key.parent()
    calls = _release("releaseDedicatedZone", "zoneid")(plan, live)
    domain = zone_domain_back(plan, zone)
    if domain is not None:
        calls.append(plan.call("updateZone", {"id": plan.ref(zone), "domain": domain}))
    return calls


def _dedicate_range(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """dedicatePublicIpRange id domainid account|projectid (sync; CM:5984-6095). The range
    is the object: the dedication has no id of its own (creates nothing)."""
    params = {"id": plan.ref(res.key.parent()), **owner_refs(plan, res.values)}
    return [plan.call("dedicatePublicIpRange", params)]


def _release_range(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    """releasePublicIpRange id (sync; CM:6101-6190)."""
    return [plan.call("releasePublicIpRange", {"id": plan.ref(live.key.parent())})]


def explode_range_owner(vlan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The dedication inside a listVlanIpRanges item: a public range listed with an owner
    (ARH.createVlanIpRangeResponse, ARH:980-998: the account's, else the domain's). A shared
    network's ranges list the network's owner (system, ROOT), which is no dedication: they
    are not public (forvirtualnetwork false)."""
    if not v.boolean(vlan.get("forvirtualnetwork", True)):
        return []
    if not (vlan.get("account") or vlan.get("domainid")):
        return []
    keep = ("domainid", "domainpath", "account", "projectid", "project")
    row = {k: vlan[k] for k in keep if k in vlan}
    row["_parent"] = vlan.get("id")
    return [row]


# --- the dedications: what each checks of its ancestors' dedications ------------------------


def _ancestor(key: KeyLike, other: KeyLike) -> bool:
    """A Need.match: the candidate is the dedication of an ancestor of the resource (a
    zone's, a pod's), which DR checks when it dedicates the resource."""
    above = other.path[:-1]
    return len(above) < len(key.path) - 1 and key.path[: len(above)] == above


# DR.dedicatePod (DR:298-310), dedicateCluster (DR:429-452) and dedicateHost (DR:549-578)
# read the dedications of the resource's zone, pod and cluster: under an account's one they
# refuse, under a domain's they accept the domain or its sub-domains. So the dedications of
# ancestors are in place first; releases go the other way (child first).
_IN_ZONE = Need("zone_dedication", _ancestor)
_IN_POD = Need("pod_dedication", _ancestor)
_IN_CLUSTER = Need("cluster_dedication", _ancestor)


def _dedication(
    resource: str,
    phase: int,
    list_key: str,
    needs: tuple[Need, ...],
    opt_in: bool = False,
    release: LowerDelete | None = None,
) -> Kind:
    """The dedication of a zone, pod, cluster or host (the dedicated-resources plugin),
    released by releaseDedicated<Resource> unless `release` says more."""
    title = resource.capitalize()
    return Kind(
        name=f"{resource}_dedication",
        parent=resource,
        container=DEDICATED,
        key=DEDICATED,
        key_parse=v.text,
        style="one",
        written_opt_in=True,
        opt_in=opt_in,
        phase=phase,
        fields=_resource_owner_fields(),
        read=Read(
            f"listDedicated{title}s",
            list_key,
            key_api=f"{resource}id",
            parent_id=f"{resource}id",
            key_from=_identity,
            missing="this cloud has no explicit dedication (the dedicated-resources plugin)",
        ),
        create=f"dedicate{title}",
        delete=f"releaseDedicated{title}",
        lower_create=_dedicate(f"dedicate{title}", f"{resource}id"),
        lower_delete=release or _release(f"releaseDedicated{title}", f"{resource}id"),
        needs=needs,
        doc=f"explicit dedication of the {resource} to a domain or an account",
    )


# Each after its resource and its ancestors' dedications (released in the reverse order),
# and before the zone's finishing enable (phase 130): no VM lands on a host of the zone before
# the host's dedication is in place
ZONE_DEDICATION = _dedication("zone", 28, "dedicatedzone", (), release=_release_zone)
POD_DEDICATION = _dedication("pod", 85, "dedicatedpod", (_IN_ZONE,))
CLUSTER_DEDICATION = _dedication(
    "cluster", 128, "dedicatedcluster", (_IN_ZONE, _IN_POD), opt_in=True
)
HOST_DEDICATION = _dedication(
    "host", 129, "dedicatedhost", (_IN_ZONE, _IN_POD, _IN_CLUSTER), opt_in=True
)

PUBLIC_RANGE_DEDICATION = Kind(
    name="public_range_dedication",
    parent="public_range",
    container=DEDICATED,
    key=DEDICATED,
    key_parse=v.text,
    style="one",
    written_opt_in=True,
    phase=105,
    fields=owner_fields(project=True),
    read=Read(
        "listVlanIpRanges",
        "vlaniprange",
        key_api="startip",
        parent_id="id",
        explode=explode_range_owner,
        key_from=_identity,
    ),
    create="dedicatePublicIpRange",
    delete="releasePublicIpRange",
    lower_create=_dedicate_range,
    lower_delete=_release_range,
    doc="a public range dedicated to a domain, an account or a project",
)


# --- what configs refer to: never managed, read only when a config names an owner ----------


def _reference(name: str, parent: str | None, phase: int, command: str, key_api: str) -> Kind:
    return Kind(
        name=name,
        parent=parent,
        container="",
        key=key_api,
        key_parse=v.domain_path if parent is None else v.text,
        phase=phase,
        fields=(),
        # listall: every domain, account and project the caller (a root admin) can see
        read=Read(
            command,
            name,
            key_api=key_api,
            parent_id=None if parent is None else "domainid",
            params={"listall": "true"},
            extra_fields=("id",),
        ),
        implicit=True,
        auto_created=True,
        reference=True,
        in_zone=False,
        doc=f"a {name} the config refers to by name (never managed)",
    )


# a domain by its path (ARH.getPrettyDomainPath: ROOT/customers/acme, DomainJoinDaoImpl:83);
# an account and a project by their name in their domain
DOMAIN = _reference("domain", None, 1, "listDomains", "path")
ACCOUNT = _reference("account", "domain", 2, "listAccounts", "name")
PROJECT = _reference("project", "domain", 3, "listProjects", "name")

KINDS = (
    DOMAIN,
    ACCOUNT,
    PROJECT,
    ZONE_DEDICATION,
    POD_DEDICATION,
    PUBLIC_RANGE_DEDICATION,
    CLUSTER_DEDICATION,
    HOST_DEDICATION,
)
