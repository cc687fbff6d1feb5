"""Zones: create, update (enable checks), delete, list.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    command,
    keyword,
    paged,
    setting,
)
from cstool.simulator.commands.dedicated_rows import drop_dedication
from cstool.simulator.store import Store, public

# --- zones -------------------------------------------------------------------------------

# ConfigurationManagerImpl.createZone/editZone: NetUtils.verifyDomainName refusals
DOMAIN_RULES = (
    "Total length shouldn't exceed 190 chars. Each domain label must be between 1 and 63 "
    "characters long, can contain ASCII letters 'a' through 'z', the digits '0' through '9', "
    "and the hyphen ('-'); can't start or end with \"-\""
)
# NetUtils.validateGuestCidr: RFC 1918 and RFC 6598 blocks
GUEST_CIDR_BLOCKS = tuple(
    ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
) + (ipaddress.IPv4Network("100.64.0.0/10"),)
DNS_SEARCH_ORDER = "network.guestnetwork.dns.search.order"  # ZoneConfig.DnsSearchOrder
DNS_FIELDS = ("dns1", "dns2", "internaldns1", "internaldns2", "ip6dns1", "ip6dns2")


def db_id(store: Store, table: str, row: dict[str, Any]) -> int:
    """The row's internal database id, which the server's toString() texts show: given in
    creation order (`_dbid`); rows stored before it existed count by their place."""
    if "_dbid" in row:
        return int(row["_dbid"])
    return [r["id"] for r in store.rows(table)].index(row["id"]) + 1


def next_db_id(store: Store, table: str) -> int:
    """The id the next row of the table gets (AUTO_INCREMENT)."""
    return max((db_id(store, table, r) for r in store.rows(table)), default=0) + 1


def zone_text(store: Store, zone: dict[str, Any]) -> str:
    """DataCenterVO.toString(), as error texts that name a zone show it."""
    dbid = db_id(store, "zone", zone)
    return f'Zone {{"id": "{dbid}", "name": "{zone["name"]}", "uuid": "{zone["id"]}"}}'


def valid_domain_name(name: str) -> bool:
    """NetUtils.verifyDomainName: 1-190 chars, no leading or trailing dot, each label
    verifyDomainNameLabel (1-63 of [a-zA-Z0-9-], not starting or ending with '-')."""
    if not 1 <= len(name) <= 190 or name.startswith(".") or name.endswith("."):
        return False
    return all(
        1 <= len(label) <= 63
        and re.fullmatch(r"[a-zA-Z0-9-]+", label) is not None
        and not label.startswith("-")
        and not label.endswith("-")
        for label in name.split(".")
    )


def valid_guest_cidr(store: Store, cidr: str) -> bool:
    """NetUtils.validateGuestCidr(cidr, !allow.non.rfc1918.compliant.ips): an IPv4 CIDR
    (isValidIp4Cidr: address/size with size 0-32; host bits allowed), inside an RFC 1918 or
    RFC 6598 block unless the global setting allows any (ConfigurationManager
    .AllowNonRFC1918CompliantIPs)."""
    address, sep, size = cidr.partition("/")
    if not sep or "/" in size or not re.fullmatch(r"[+-]?[0-9]+", size):
        return False
    try:
        ipaddress.IPv4Address(address)
        net = ipaddress.IPv4Network(f"{address}/{int(size)}", strict=False)
    except ValueError:
        return False
    if setting(store, "allow.non.rfc1918.compliant.ips").lower() == "true":
        return True
    return any(net.subnet_of(block) for block in GUEST_CIDR_BLOCKS)


def _valid_ip(value: str, version: int) -> bool:
    """NetUtils.isValidIp4 / isValidIp6 (commons-validator InetAddressValidator)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == version


def _check_zone_parameters(
    store: Store, values: dict[str, str | None], check_name: bool, state: str | None
) -> None:
    """ConfigurationManagerImpl.checkZoneParameters, in its order (all 431).

    The name is looked up with ZoneDao.findByName: an SQL equality, case-insensitive under
    the database's collation, so "Z1" clashes with "z1".
    """
    name = values["name"] or ""
    if check_name and any(z["name"].lower() == name.lower() for z in store.rows("zone")):
        raise ApiRefusal(
            431, "A zone with that name already exists. Please specify a unique zone name."
        )
    for field, version, label in (
        ("dns1", 4, "IP address for DNS1"),
        ("dns2", 4, "IP address for DNS2"),
        ("internaldns1", 4, "IP address for internal DNS1"),
        ("internaldns2", 4, "IP address for internal DNS2"),
        ("ip6dns1", 6, "IPv6 address for IP6 DNS1"),
        ("ip6dns2", 6, "IPv6 address for IP6 DNS2"),
    ):
        value = values.get(field)
        if value and not _valid_ip(value, version):  # an empty string is accepted
            raise ApiRefusal(431, f"Please enter a valid {label}")
    if state and state not in ("Enabled", "Disabled"):  # Grouping.AllocationState.valueOf
        raise ApiRefusal(431, f"Unable to resolve Allocation State '{state}' to a supported state")


def _check_network_domain(domain: str | None) -> None:
    """createZone/editZone: the network domain must pass NetUtils.verifyDomainName (431)."""
    if domain is not None and not valid_domain_name(domain):
        raise ApiRefusal(431, "Invalid network domain. " + DOMAIN_RULES)


@command("createZone")
def create_zone(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    nettype = p.required("networktype")
    p.required("dns1")
    p.required("internaldns1")
    guest_cidr = p.get("guestcidraddress")
    # ConfigurationManagerImpl.createZone(CreateZoneCmd), then createZone(...), in their order
    if nettype.lower() not in ("basic", "advanced"):  # equalsIgnoreCase
        raise ApiRefusal(431, "Invalid zone type; only Advanced and Basic values are supported")
    nettype = nettype.capitalize()
    if nettype == "Basic" and guest_cidr is not None:  # sent at all, even empty
        raise ApiRefusal(431, "guestCidrAddress parameter is not supported for Basic zone")
    edge = p.boolean("isedge")
    if edge and nettype != "Advanced":
        raise ApiRefusal(431, "Only advanced network type zones can be edge zones")
    if guest_cidr is not None and not valid_guest_cidr(store, guest_cidr):
        raise ApiRefusal(431, "Please enter a valid guest cidr")
    _check_network_domain(p.get("domain"))
    values = {f: p.get(f) for f in ("name", *DNS_FIELDS)}
    state = p.get("allocationstate")
    _check_zone_parameters(store, values, True, state)
    zone = store.add(
        "zone",
        {
            "_dbid": next_db_id(store, "zone"),
            "name": name,
            # stored as sent: an empty string stays an empty string (DataCenterVO)
            **{f: p.get(f) for f in DNS_FIELDS},
            "guestcidraddress": guest_cidr,
            "networktype": nettype,
            # createZone(CreateZoneCmd): Basic zones always have security groups
            "securitygroupsenabled": True
            if nettype == "Basic"
            else p.boolean("securitygroupenabled"),
            "allocationstate": state or "Disabled",  # Disabled unless sent (non-empty)
            "zonetoken": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            "dhcpprovider": "VirtualRouter",
            "domain": p.get("domain"),
            "localstorageenabled": p.boolean("localstorageenabled"),
            "type": "Edge" if edge else "Core",
            "tags": [],
            "hasannotations": False,
            "allowuserspecifyvrmtu": False,
            "routerprivateinterfacemaxmtu": 1500,
            "routerpublicinterfacemaxmtu": 1500,
            "_sortkey": 0,
        },
    )
    system = ["Management", "Control", "Storage"]
    if nettype == "Basic" or not zone["securitygroupsenabled"]:
        system.append("Public")
    for traffic in system:
        store.add(
            "network",
            {
                "name": f"{traffic}-{zone['id']}",
                "zoneid": zone["id"],
                "traffictype": traffic,
                "issystem": True,
                "type": "Shared",
                "_system": True,
            },
        )
    return {"zone": public(zone)}


def _details(p: P) -> dict[str, str]:
    """editZone: the `details` map (details[i].key / details[i].value); 431 when an entry
    lacks either."""
    entries: dict[str, dict[str, str]] = {}
    for raw, value in p.raw.items():
        if raw.startswith("details[") and "]." in raw:
            index, _, field = raw[len("details[") :].partition("].")
            entries.setdefault(index, {})[field] = value
    out = {}
    for entry in entries.values():
        if entry.get("key") is None or entry.get("value") is None:
            raise ApiRefusal(
                431,
                "Invalid Zone Detail specified, fields 'key' and 'value' cannot be null, please "
                "specify details in the form:  details[0].key=XXX&details[0].value=YYY",
            )
        out[entry["key"]] = entry["value"]
    return out


@command("updateZone")
def update_zone(store: Store, p: P) -> dict[str, Any]:
    # ConfigurationManagerImpl.editZone, in its order; every check runs before anything is
    # stored (one transaction)
    zone = p.row(store, "zone", "id")  # the id is resolved with the parameters, first
    details = _details(p)
    if p.has("dnssearchorder"):
        order = p.items("dnssearchorder")
        if not all(valid_domain_name(d) for d in order):
            raise ApiRefusal(431, "Invalid network domain suffixes. " + DOMAIN_RULES)
        details[DNS_SEARCH_ORDER] = ",".join(order)
    guest_cidr = p.get("guestcidraddress")
    if guest_cidr is not None and not valid_guest_cidr(store, guest_cidr):
        raise ApiRefusal(431, "Please enter a valid guest cidr")
    domain = p.get("domain")
    _check_network_domain(domain or None)  # an empty domain clears it
    # a parameter not sent keeps the zone's value; one sent empty is stored empty, which is
    # the only way to clear dns2 / internaldns2 / ip6dns2
    values = {f: zone.get(f) if p.get(f) is None else p.get(f) for f in ("name", *DNS_FIELDS)}
    state = p.get("allocationstate")
    # the duplicate check runs when the name changes, compared case-sensitively, against every
    # zone including this one: renaming "z1" to "Z1" is refused
    _check_zone_parameters(store, values, values["name"] != zone["name"], state)
    sortkey = p.integer("sortkey")
    if state == "Enabled" and zone.get("type") != "Edge":
        _enable_zone_checks(store, zone)
    zone.update(values)
    if guest_cidr is not None:
        zone["guestcidraddress"] = guest_cidr
    if sortkey is not None:
        zone["_sortkey"] = sortkey
    if p.has("localstorageenabled"):
        zone["localstorageenabled"] = p.boolean("localstorageenabled")
    if domain is not None:
        zone["domain"] = domain or None
    if details:
        zone["resourcedetails"] = {**(zone.get("resourcedetails") or {}), **details}
    if state:
        zone["allocationstate"] = state
    if p.get("dhcpprovider") is not None:
        zone["dhcpprovider"] = p.get("dhcpprovider")
    if p.boolean("ispublic"):  # a dedicated zone made public: domain and domainid cleared
        zone["domain"] = zone["domainid"] = zone["domainname"] = None
    store.touch()
    return {"zone": public(zone)}


def _zone_traffic(store: Store, zoneid: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for pn in store.rows("physicalnetwork", zoneid=zoneid):
        for tt in store.rows("traffictype", physicalnetworkid=pn["id"]):
            out.setdefault(tt["traffictype"], []).append(tt)
    return out


def _enable_zone_checks(store: Store, zone: dict[str, Any]) -> None:
    """editZone when allocationstate=Enabled is sent (even to an enabled zone), except for Edge
    zones: NetworkModelImpl.getDefaultPhysicalNetworkByZoneAndTrafficType for Management, then
    Public (Advanced without security groups); its refusal is wrapped as 431 "Cannot enable
    this Zone since: ...". Without Storage traffic, Storage is added to the Management
    physical network with the Management traffic's labels."""
    traffic = _zone_traffic(store, zone["id"])
    needed = ["Management"]
    if zone["networktype"] == "Advanced" and not zone["securitygroupsenabled"]:
        needed.append("Public")
    for ttype in needed:
        # (its "More than one physical networks" refusal cannot happen: addTrafficType keeps
        # Management and Public on one physical network per zone)
        if not traffic.get(ttype):
            raise ApiRefusal(
                431,
                "Cannot enable this Zone since: Unable to find the default physical network "
                f"with traffic={ttype} in the specified zone id",
            )
    if not traffic.get("Storage"):
        # addTrafficTypeToPhysicalNetwork(mgmt, "Storage", "vlan", <Management labels>); a
        # missing XenServer label gets the xenserver.storage.network.device1 default
        (mgmt,) = traffic["Management"]
        labels = {k: v for k, v in mgmt.items() if k.endswith("networklabel")}
        if labels.get("xennetworklabel") is None:
            labels["xennetworklabel"] = setting(store, "xenserver.storage.network.device1") or None
        store.add(
            "traffictype",
            {"traffictype": "Storage", "physicalnetworkid": mgmt["physicalnetworkid"], **labels},
        )


def _zone_contents(store: Store, zoneid: str) -> list[tuple[str, bool]]:
    """What checkIfZoneIsDeletable looks for, in its order, with its texts.

    Hosts: HostDao.listEnabledIdsByDataCenterId, Routing hosts in the Enabled resource state
    (a host in maintenance or disabled does not count). Secondary storage: ImageStoreDao
    .findByZone(ZoneScope(zone)), Image-role stores of the zone **or of the region**, so a
    region (S3/Swift) store keeps every zone from being deleted."""
    pools = {p["id"] for p in store.rows("storagepool", zoneid=zoneid)}
    return [
        (
            "there are servers in this zone.",
            any(
                h.get("type") == "Routing" and h.get("resourcestate") == "Enabled"
                for h in store.rows("host", zoneid=zoneid)
            ),
        ),
        ("there are pods in this zone.", bool(store.rows("pod", zoneid=zoneid))),
        (
            "there are virtual machines in this zone.",
            any(v.get("state") != "Destroyed" for v in store.rows("systemvm", zoneid=zoneid)),
        ),
        (
            "there are storage volumes in this zone.",
            any(v.get("poolid") in pools for v in store.rows("volume")),
        ),
        (
            "there are physical networks in this zone.",
            bool(store.rows("physicalnetwork", zoneid=zoneid)),
        ),
        (
            "there are Secondary storages in this zone",
            any(
                s.get("_role") == "Image"
                and (s.get("zoneid") == zoneid or s.get("scope") == "REGION")
                for s in store.rows("imagestore")
            ),
        ),
    ]


@command("deleteZone")
def delete_zone(store: Store, p: P) -> dict[str, Any]:
    zone = p.row(store, "zone", "id")
    # ConfigurationManagerImpl.checkIfZoneIsDeletable (CloudRuntimeException: 530), in its
    # order: hosts, pods, allocated private IPs, allocated public IPs, VMs, volumes, physical
    # networks, secondary storage. The simulator allocates no addresses, so those two never
    # refuse here.
    for what, found in _zone_contents(store, zone["id"]):
        if found:
            raise ApiRefusal(530, f"The zone cannot be deleted because {what}")
    # deleteZone removes the zone's VLAN (IP range) rows with it
    for table in ("vlaniprange", "network"):
        for row in store.rows(table, zoneid=zone["id"]):
            store.remove(table, row["id"])
    for row in store.rows("zoneconfig", zoneid=zone["id"]):
        store.remove("zoneconfig", row["id"])
    store.remove("zone", zone["id"])
    drop_dedication(store, "zone", zone["id"])  # CM:2850-2860: the row and its emptied group
    return {"success": True}


@command("listZones", list_key="zone")
def list_zones(store: Store, p: P) -> dict[str, Any]:
    # QueryManagerImpl.listDataCentersInternal: networktype always; then id, else name (SQL
    # equality: case-insensitive under the collation), else keyword; ORDER BY sortKey, id
    rows = store.rows("zone")
    if p.get("networktype") is not None:
        rows = [r for r in rows if r["networktype"].lower() == p.get("networktype").lower()]
    if p.get("id"):
        rows = [r for r in rows if r["id"] == p.get("id")]
    elif p.get("name") is not None:
        rows = [r for r in rows if r["name"].lower() == p.get("name").lower()]
    else:
        rows = keyword(rows, p)
    rows.sort(key=lambda r: int(r.get("_sortkey") or 0))  # stable: id order within a key
    return paged(store, p, rows, "zone")
