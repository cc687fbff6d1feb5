"""Dedication: zones, pods, clusters and hosts (explicit dedication), public IP ranges and
guest VLAN ranges dedicated to a domain, an account or a project.

Legend of the server code cited (apache/cloudstack at 3d6cafe1936e):
DR = plugins/dedicated-resources/.../DedicatedResourceManagerImpl,
CM = ConfigurationManagerImpl, NS = NetworkServiceImpl, AM = AccountManagerImpl,
AJD = ApiAsyncJobDispatcher, ARH = ApiResponseHelper.

Rows: `dedicated` (_kind zone/pod/cluster/host, _resource, domainid, accountid,
affinitygroupid, _dbid), `affinitygroup` (the ExplicitDedication group of an owner),
`guestvlanmap` (_pn, _start, _end, _account, _dbid); a dedicated public range keeps its
owner on the vlaniprange row (`_owner_account` for an account or a project's account,
`_owner_domain` for a domain-only dedication).

The dedicate/release commands of zones, pods, clusters and hosts are async: their
CloudRuntimeExceptions fail the job with 530, InvalidParameterValueExceptions with 431
(AJD:113-136).

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

from typing import Any

from cstool.simulator.commands.core import ApiRefusal, P, command, paged
from cstool.simulator.commands.dedicated_rows import drop_row, find_row
from cstool.simulator.commands.physical import java_int, java_split, pn_text, vnet_spans
from cstool.simulator.commands.ranges import _range_view
from cstool.simulator.commands.tenancy import (
    SYSTEM_ACCOUNT_ID,
    active_account,
    child_domain_ids,
    domain_text,
    owner_fields,
)
from cstool.simulator.commands.zones import db_id, next_db_id
from cstool.simulator.store import Store

KINDS = ("zone", "pod", "cluster", "host")
_TYPE = {"zone": "Zone", "pod": "Pod", "cluster": "Cluster", "host": "Host"}  # Type enum
# the JVM's message for DR's getAccountId().equals(...) on a domain-only dedication
# (helpful NullPointerException text, JEP 358); AJD:122-124 answers it as 530
_NPE = (
    'Cannot invoke "java.lang.Long.equals(Object)" because the return value of '
    '"com.cloud.dc.DedicatedResourceVO.getAccountId()" is null'
)


# --- owners ----------------------------------------------------------------------------


def _owner(store: Store, p: P) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The domain and the account of a zone/pod/cluster/host dedication: DR.dedicateZone
    etc. call AM.finalizeOwner(caller, account, domainId) when `account` is given
    (AM:2592-2604: 431 "Unable to find account <name> in domain <Domain toString>")."""
    domain = p.row(store, "domain", "domainid")
    name = p.get("account")
    if name is None:
        return domain, None
    account = active_account(store, name, domain["id"])
    if account is None:
        raise ApiRefusal(
            431,
            f"Unable to find account {name} in domain {domain_text(store, domain)}",
        )
    return domain, account


# --- affinity groups (DR.findOrCreateDedicatedAffinityGroup, DR:616-652) -----------------


def _group(store: Store, domain: dict[str, Any], account: dict[str, Any] | None, kind: str) -> str:
    """The owner's ExplicitDedication group, created on first use: "Dedicated<Type>Grp-
    <account>" or "Dedicated<Type>Grp-domain-<domain name>", Type the first resource
    dedicated. (AffinityGroupServiceImpl's "a group with name ... already exists" cannot
    happen: the simulator runs one command at a time, so the look-up always finds it.)"""
    accountid = account["id"] if account else None
    for group in store.rows("affinitygroup", domainid=domain["id"]):
        if group["accountid"] == accountid:
            return str(group["id"])
    owner = account["name"] if account else f"domain-{domain['name']}"
    row = {
        "name": f"Dedicated{_TYPE[kind]}Grp-{owner}",
        "type": "ExplicitDedication",
        "description": f"Dedicated {kind} group",
        "domainid": domain["id"],
        "accountid": accountid,
    }
    return str(store.add("affinitygroup", row)["id"])


# --- zone / pod / cluster / host ---------------------------------------------------------


def _children_to_release(
    store: Store,
    kind: str,
    rows: list[tuple[str, dict[str, Any]]],
    under: str,
    domain: dict[str, Any],
    account: dict[str, Any] | None,
    mismatch: str | None = None,
) -> None:
    """DR's scan of the dedicated resources below the one being dedicated (DR:149-232,
    312-370, 455-485): one of a domain outside the new owner's subtree refuses (530); under
    an account dedication, the same account's are released and another's refuse (a
    domain-only one throws NullPointerException: 530); under a domain-only dedication the
    domain-only ones of that very domain are released. Releases happen as found."""
    children = child_domain_ids(store, domain["id"])
    release = []
    for name, row in rows:
        text = f"{_TYPE[kind]} {name} under this {under} is dedicated to different account/domain"
        if row["domainid"] not in children:
            raise ApiRefusal(530, text)
        if account is not None:
            if row.get("accountid") is None:
                raise ApiRefusal(530, _NPE)
            if row["accountid"] != account["id"]:
                raise ApiRefusal(530, mismatch or text)
            release.append(row)
        elif row.get("accountid") is None and row["domainid"] == domain["id"]:
            release.append(row)
    for row in release:
        drop_row(store, row)


def _dedicated_below(
    store: Store, kind: str, objs: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for obj in objs:
        row = find_row(store, kind, obj["id"])
        if row is not None:
            out.append((obj["name"], row))
    return out


def _ancestor(
    store: Store,
    kind: str,
    resource: str | None,
    domain: dict[str, Any],
    text: str,
) -> None:
    """DR:301-310 (and 432-452, 548-579): under a dedicated ancestor the new owner's domain
    must be the ancestor's domain or below it (getDomainChildIds includes the domain
    itself), and the ancestor must have no account; else 530."""
    row = find_row(store, kind, resource)
    if row is None:
        return
    if row.get("accountid") is not None or domain["id"] not in child_domain_ids(
        store, row["domainid"]
    ):
        raise ApiRefusal(530, text)


def _dedicate(
    store: Store,
    kind: str,
    obj: dict[str, Any],
    domain: dict[str, Any],
    account: dict[str, Any] | None,
) -> dict[str, Any]:
    group = _group(store, domain, account, kind)
    row = {
        "_kind": kind,
        "_resource": obj["id"],
        "domainid": domain["id"],
        "accountid": account["id"] if account else None,
        "affinitygroupid": group,
        "_dbid": next_db_id(store, "dedicated"),
    }
    return store.add("dedicated", row)


def _view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """DR.createDedicateZoneResponse etc. (DR:729-805): id, <kind>id, <kind>name, domainid,
    affinitygroupid, and accountid only for an account dedication."""
    kind = row["_kind"]
    obj = store.get(kind, row["_resource"]) or {}
    view = {
        "id": row["id"],
        f"{kind}id": row["_resource"],
        f"{kind}name": obj.get("name"),
        "domainid": row["domainid"],
        "affinitygroupid": row["affinitygroupid"],
    }
    if row.get("accountid"):
        view["accountid"] = row["accountid"]
    return view


def _listed(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """A dedicateZone/Pod/Host job result: execute() sets a ListResponse without object name
    (DedicateZoneCmd.java:93-102), written {"null": {"responses": [...]}}."""
    return {"null": {"responses": [_view(store, row)]}}


@command("dedicateZone", mode="async")
def dedicate_zone(store: Store, p: P) -> dict[str, Any]:
    """DR.dedicateZone (DR:127-273)."""
    zone = p.row(store, "zone", "zoneid")
    domain, account = _owner(store, p)
    if find_row(store, "zone", zone["id"]) is not None:
        raise ApiRefusal(530, f"Zone  {zone['name']} is already dedicated")  # two spaces, DR:146
    under = f"Zone {zone['name']}"
    pods = store.rows("pod", zoneid=zone["id"])
    _children_to_release(store, "pod", _dedicated_below(store, "pod", pods), under, domain, account)
    clusters = store.rows("cluster", zoneid=zone["id"])
    _children_to_release(
        store, "cluster", _dedicated_below(store, "cluster", clusters), under, domain, account
    )
    hosts = [  # HostDao.listEnabledIdsByDataCenterId: Routing hosts in the Enabled state
        h
        for h in store.rows("host", zoneid=zone["id"])
        if h.get("type") == "Routing" and h.get("resourcestate") == "Enabled"
    ]
    _children_to_release(
        store, "host", _dedicated_below(store, "host", hosts), under, domain, account
    )
    row = _dedicate(store, "zone", zone, domain, account)
    # DR:256-260: the zone keeps the domain it is dedicated to (listZones domainid/domainname)
    zone.update(domainid=domain["id"], domainname=domain["name"])
    return _listed(store, row)


@command("dedicatePod", mode="async")
def dedicate_pod(store: Store, p: P) -> dict[str, Any]:
    """DR.dedicatePod (DR:275-400)."""
    pod = p.row(store, "pod", "podid")
    domain, account = _owner(store, p)
    if find_row(store, "pod", pod["id"]) is not None:
        raise ApiRefusal(530, f"Pod {pod['name']} is already dedicated")
    zone = store.get("zone", pod["zoneid"]) or {}
    _ancestor(
        store, "zone", zone.get("id"), domain, f"Pod's Zone {zone.get('name')} is already dedicated"
    )
    under = f"Pod {pod['name']}"
    clusters = store.rows("cluster", podid=pod["id"])
    _children_to_release(
        store, "cluster", _dedicated_below(store, "cluster", clusters), under, domain, account
    )
    hosts = store.rows("host", podid=pod["id"])  # HostDao.listIdsByPodId
    _children_to_release(
        store, "host", _dedicated_below(store, "host", hosts), under, domain, account
    )
    return _listed(store, _dedicate(store, "pod", pod, domain, account))


@command("dedicateCluster", mode="async")
def dedicate_cluster(store: Store, p: P) -> dict[str, Any]:
    """DR.dedicateCluster (DR:402-516); its job result is the single object
    (DedicateClusterCmd.java:96-109)."""
    cluster = p.row(store, "cluster", "clusterid")
    domain, account = _owner(store, p)
    if find_row(store, "cluster", cluster["id"]) is not None:
        raise ApiRefusal(530, f"Cluster {cluster['name']} is already dedicated")
    pod = store.get("pod", cluster.get("podid")) or {}
    _ancestor(
        store, "pod", pod.get("id"), domain, f"Cluster's Pod {pod.get('name')} is already dedicated"
    )
    zone = store.get("zone", cluster.get("zoneid")) or {}
    _ancestor(
        store,
        "zone",
        zone.get("id"),
        domain,
        f"Cluster's Zone {zone.get('name')} is already dedicated",
    )
    hosts = store.rows("host", clusterid=cluster["id"])  # HostDao.listIdsByClusterId
    mismatch = None
    if account is not None:  # DR:470-472, without a space before the account name
        mismatch = f"Cannot dedicate Cluster {cluster['name']} to account{account['name']}"
    _children_to_release(
        store,
        "host",
        _dedicated_below(store, "host", hosts),
        f"Cluster {cluster['name']}",
        domain,
        account,
        mismatch,
    )
    return {"dedicatedcluster": _view(store, _dedicate(store, "cluster", cluster, domain, account))}


@command("dedicateHost", mode="async")
def dedicate_host(store: Store, p: P) -> dict[str, Any]:
    """DR.dedicateHost (DR:518-614): a Routing host only (530), then its cluster, pod and
    zone dedications, in that order."""
    host = p.row(store, "host", "hostid")
    domain, account = _owner(store, p)
    if host.get("type") != "Routing":
        raise ApiRefusal(530, f"Invalid host type for host {host['name']}")
    if find_row(store, "host", host["id"]) is not None:
        raise ApiRefusal(530, f"Host {host['name']} is already dedicated")
    for kind, key, what in (
        ("cluster", "clusterid", "Cluster"),
        ("pod", "podid", "Pod"),
        ("zone", "zoneid", "Data Center"),
    ):
        parent = store.get(kind, host.get(key)) or {}
        text = f"Host's {what} {parent.get('name')} is already dedicated"
        _ancestor(store, kind, parent.get("id"), domain, text)
    return _listed(store, _dedicate(store, "host", host, domain, account))


def _release(kind: str, key: str) -> None:
    def release(store: Store, p: P) -> dict[str, Any]:
        """DR.releaseDedicatedResource (DR:930-973): 431 when nothing is dedicated; a zone's
        release also clears its domain and its network domain (DR:953-958)."""
        obj = p.row(store, kind, key)
        row = find_row(store, kind, obj["id"])
        if row is None:
            raise ApiRefusal(431, "No Dedicated Resource available to release")
        drop_row(store, row)
        if kind == "zone":
            obj.update(domainid=None, domainname=None, domain=None)
        return {"success": True}

    command(f"releaseDedicated{_TYPE[kind]}", mode="async")(release)


def _list(kind: str, key: str) -> None:
    def list_dedicated(store: Store, p: P) -> dict[str, Any]:
        """DR.listDedicatedZones etc. (DR:824-920): `account` needs `domainid` (431); an
        account not found in it filters nothing (accountId stays null); ordered by id."""
        rows = sorted(store.rows("dedicated", _kind=kind), key=lambda r: int(r["_dbid"]))
        name = p.get("account")
        if name is not None and p.get("domainid") is None:
            raise ApiRefusal(431, f"Please specify the domain id of the account: {name}")
        if p.get(key) is not None:
            obj = p.row(store, kind, key)
            rows = [r for r in rows if r["_resource"] == obj["id"]]
        if p.get("domainid") is not None:
            domain = p.row(store, "domain", "domainid")
            rows = [r for r in rows if r["domainid"] == domain["id"]]
            account = active_account(store, name, domain["id"]) if name else None
            if account is not None:
                rows = [r for r in rows if r.get("accountid") == account["id"]]
        if p.get("affinitygroupid") is not None:
            rows = [r for r in rows if r["affinitygroupid"] == p.get("affinitygroupid")]
        return paged(store, p, [_view(store, r) for r in rows], f"dedicated{kind}")

    command(f"listDedicated{_TYPE[kind]}s", list_key=f"dedicated{kind}")(list_dedicated)


for _kind, _key in (
    ("zone", "zoneid"),
    ("pod", "podid"),
    ("cluster", "clusterid"),
    ("host", "hostid"),
):
    _release(_kind, _key)
    _list(_kind, _key)


# --- public IP ranges (CM.dedicatePublicIpRange, CM.releasePublicIpRange) -----------------


def _range_owner(store: Store, p: P) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The owner of a public range or guest VLAN range dedication: a project's account, or
    `account` in `domainid`; (None, domain) for a domain-only dedication."""
    if p.get("projectid") is not None and p.get("account") is not None:
        raise ApiRefusal(431, "accountName and projectId are mutually exclusive")
    account = None
    if p.get("projectid") is not None:
        project = p.row(store, "project", "projectid")
        account = store.get("account", project["_account"])
    domain = p.row(store, "domain", "domainid", required=False)
    if p.get("account") is not None and domain is not None:
        account = active_account(store, p.get("account"), domain["id"])
        if account is None:
            raise ApiRefusal(431, f"Unable to find account by name {p.get('account')}")
    return account, domain


@command("dedicatePublicIpRange")
def dedicate_public_ip_range(store: Store, p: P) -> dict[str, Any]:
    """CM.dedicatePublicIpRange (CM:5984-6095), in its order: owner (CM:5990-6018), already
    dedicated (CM:6027-6036), Advanced zone (CM:6044-6046), no IP of the range for system
    VMs (CM:6055-6060: the first IP names it). Sync: every refusal is a 431. The simulator
    allocates no public IP, so "allocated to another account" cannot happen."""
    vlan = p.row(store, "vlaniprange", "id")  # ids are resolved by the API layer first
    account, domain = _range_owner(store, p)
    if account is not None and account["id"] == SYSTEM_ACCOUNT_ID:
        raise ApiRefusal(
            431, "Please specify a valid account. Cannot dedicate IP range to system account"
        )
    if vlan.get("_owner_account"):
        raise ApiRefusal(431, "Specified Public IP range has already been dedicated")
    if vlan.get("_owner_domain"):
        raise ApiRefusal(431, "Specified Public IP range has already been dedicated to a domain")
    zone = store.get("zone", vlan.get("zoneid")) or {}
    if zone.get("networktype") == "Basic":
        raise ApiRefusal(
            431, "Public IP range can be dedicated to an account only in the zone of type Advanced"
        )
    if vlan.get("forsystemvms"):
        raise ApiRefusal(
            431, f"{vlan['startip']} Public IP address in range is dedicated to system vms "
        )
    if account is not None:  # an AccountVlanMapVO (the view shows the account's domain)
        vlan["_owner_account"] = account["id"]
    elif domain is not None:  # a DomainVlanMapVO
        vlan["_owner_domain"] = domain["id"]
    store.touch()
    return {"vlan": _range_view(store, vlan)}


@command("releasePublicIpRange")
def release_public_ip_range(store: Store, p: P) -> dict[str, Any]:
    """CM.releasePublicIpRange (CM:6101-6190). An unknown id is refused by the API layer
    before CM's own "Please specify a valid IP range id." could be reached."""
    vlan = p.row(store, "vlaniprange", "id")
    if not vlan.get("_owner_account") and not vlan.get("_owner_domain"):
        raise ApiRefusal(
            431,
            f"Can't release Public IP range {db_id(store, 'vlaniprange', vlan)} as it not "
            "dedicated to any domain and any account",
        )
    vlan.pop("_owner_account", None)
    vlan.pop("_owner_domain", None)
    store.touch()
    return {"success": True}


# --- guest VLAN ranges (NS.dedicateGuestVlanRange and friends) ---------------------------


def _vlan_view(store: Store, m: dict[str, Any]) -> dict[str, Any]:
    """ARH.createDedicatedGuestVlanRangeResponse (ARH:3160-3176): the owner's fields, and
    physicalnetworkid / zoneid as the internal numbers (Long fields)."""
    pn = store.get("physicalnetwork", m["_pn"]) or {}
    account = store.get("account", m["_account"])
    view = {"id": m["id"], "guestvlanrange": f"{m['_start']}-{m['_end']}"}
    if account is not None:
        view.update(owner_fields(store, account["id"], None))
    zone = store.get("zone", pn.get("zoneid"))
    view["physicalnetworkid"] = db_id(store, "physicalnetwork", pn) if pn else None
    view["zoneid"] = db_id(store, "zone", zone) if zone else None
    return view


def _vlan_span(text: str) -> tuple[int, int]:
    """NS:4859-4870: "start-end" (String.split, so "100" and "100-" are one piece)."""
    pieces = java_split(text, "-")
    if len(pieces) != 2:
        raise ApiRefusal(
            431,
            f"Invalid format for parameter value vlan {text} .Vlan should be specified as "
            "'startvlan-endvlan'",
        )
    start, end = java_int(pieces[0]), java_int(pieces[1])
    if start is None or end is None:
        raise ApiRefusal(431, "Please provide valid guest vlan range")
    return start, end


def _merge(
    store: Store, maps: list[dict[str, Any]], owner: str, start: int, end: int
) -> dict[str, Any] | None:
    """NS:4906-4950: the sorted rows are scanned once. A row the new range touches on its
    left ends the scan (merged only when it is the same owner's); a same-owner row it
    touches on its right takes it, and the next row too when the range bridges the gap to
    it and that row is the same owner's (removed, its VLANs joined to the first row)."""
    maps = sorted(maps, key=lambda m: int(m["_start"]))
    for i, m in enumerate(maps):
        if end == m["_start"] - 1:
            if m["_account"] == owner:
                m["_start"] = start
                return m
            return None
        if start == m["_end"] + 1 and m["_account"] == owner:
            nxt = maps[i + 1] if i + 1 < len(maps) else None
            if nxt is not None and end == nxt["_start"] - 1 and nxt["_account"] == owner:
                store.remove("guestvlanmap", nxt["id"])
                m["_end"] = nxt["_end"]
                return m
            m["_end"] = end
            return m
    return None


@command("dedicateGuestVlanRange")
def dedicate_guest_vlan_range(store: Store, p: P) -> dict[str, Any]:
    """NS.dedicateGuestVlanRange (NS:4814-4970), sync, every refusal a 431: owner
    (NS:4830-4846), isolation VLAN or VXLAN or none (NS:4850-4856), the form "s-e"
    (NS:4859-4868), inside one vnet range (NS:4870-4886), every VLAN a vnet (NS:446-451),
    no overlap with any dedication (NS:4890-4899), then the merge."""
    text = p.required("vlanrange")
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")  # the API layer's 431 first
    if p.get("projectid") is not None and p.get("account") is not None:
        raise ApiRefusal(431, "accountName and projectId are mutually exclusive")
    owner = None
    if p.get("projectid") is not None:
        owner = store.get("account", p.row(store, "project", "projectid")["_account"])
    domain = p.row(store, "domain", "domainid", required=False)
    if p.get("account") is not None and domain is not None:
        owner = active_account(store, p.get("account"), domain["id"])
    if owner is None:  # Java's string concatenation writes a missing name as "null"
        raise ApiRefusal(431, f"Unable to find account by name {p.get('account', 'null')}")
    methods = [m for m in (pn.get("isolationmethods") or "").split(",") if m]
    if methods and "VLAN" not in methods and "VXLAN" not in methods:
        raise ApiRefusal(
            431,
            "Cannot dedicate guest vlan range. Physical isolation type of network "
            f"{pn_text(store, pn)} is not VLAN nor VXLAN",
        )
    start, end = _vlan_span(text)
    spans = vnet_spans(pn.get("vlan"))
    if spans and not any(start <= end and a <= start and end <= b for a, b in spans):
        raise ApiRefusal(431, f"Unable to find guest vlan by range {text}")
    for vid in range(start, end + 1):
        # (a vnet allocated to another account's network cannot happen: the simulator
        # allocates no vnets)
        if not any(a <= vid <= b for a, b in spans):
            raise ApiRefusal(
                431,
                f"Guest vlan {vid} from this range {start}-{end} is not present in the system "
                f"for physical network ID: {pn['id']}",
            )
    maps = store.rows("guestvlanmap", _pn=pn["id"])
    for m in maps:
        ds, de = m["_start"], m["_end"]
        if (start < ds and end >= ds) or (ds <= start <= de):
            raise ApiRefusal(
                431, f"Vlan range is already dedicated. Cannot dedicate guest vlan range {text}"
            )
    row = _merge(store, maps, owner["id"], start, end)
    if row is None:
        row = store.add(
            "guestvlanmap",
            {
                "_pn": pn["id"],
                "_start": start,
                "_end": end,
                "_account": owner["id"],
                "_dbid": next_db_id(store, "guestvlanmap"),
            },
        )
    store.touch()
    return {"dedicatedguestvlanrange": _vlan_view(store, row)}


@command("releaseDedicatedGuestVlanRange", mode="async")
def release_dedicated_guest_vlan_range(store: Store, p: P) -> dict[str, Any]:
    """NS.releaseDedicatedGuestVlanRange (NS:5057-5071). An unknown id is refused by the API
    layer (431, synchronous) before NS's own "doesn't exist" could be reached."""
    row = p.row(store, "guestvlanmap", "id")
    store.remove("guestvlanmap", row["id"])
    return {"success": True}


@command("listDedicatedGuestVlanRanges", list_key="dedicatedguestvlanrange")
def list_dedicated_guest_vlan_ranges(store: Store, p: P) -> dict[str, Any]:
    """NS.listDedicatedGuestVlanRanges (NS:4978-5053): `account`+`domainid` (an unknown
    account 431), `projectid` (not with account: 431), `guestvlanrange` (the exact string),
    `physicalnetworkid`, `zoneid`, `id`; ordered by id, paged."""
    rows = sorted(store.rows("guestvlanmap"), key=lambda r: int(r["_dbid"]))
    domain = p.row(store, "domain", "domainid", required=False)
    owner = None
    if p.get("account") is not None and domain is not None:
        if p.get("projectid") is not None:
            raise ApiRefusal(431, "Account and projectId can't be specified together")
        owner = active_account(store, p.get("account"), domain["id"])
        if owner is None:
            raise ApiRefusal(431, f"Unable to find account {p.get('account')}")
    if p.get("projectid") is not None:
        owner = store.get("account", p.row(store, "project", "projectid")["_account"])
    if owner is not None:
        rows = [r for r in rows if r["_account"] == owner["id"]]
    if p.get("id") is not None:
        rows = [r for r in rows if r["id"] == p.get("id")]
    if p.get("guestvlanrange") is not None:
        rows = [r for r in rows if f"{r['_start']}-{r['_end']}" == p.get("guestvlanrange")]
    if p.get("physicalnetworkid") is not None:
        rows = [
            r
            for r in rows
            if r["_pn"] == p.row(store, "physicalnetwork", "physicalnetworkid")["id"]
        ]
    if p.get("zoneid") is not None:
        zone = p.row(store, "zone", "zoneid")
        pns = {pn["id"] for pn in store.rows("physicalnetwork", zoneid=zone["id"])}
        rows = [r for r in rows if r["_pn"] in pns]
    return paged(store, p, [_vlan_view(store, r) for r in rows], "dedicatedguestvlanrange")
