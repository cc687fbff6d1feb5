"""Public and guest (VLAN) IP ranges, and storage network ranges.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    cidr_of,
    command,
    filtered,
    inside,
    ipv4,
    keyword,
    overlap,
    paged,
    vlan_ids,
    vlan_value,
)
from cstool.simulator.store import Store, public

# --- VLAN (public and guest) IP ranges ---------------------------------------------------


def _range_view(r: dict[str, Any]) -> dict[str, Any]:
    return public(r)


def _public_physical_network(store: Store, zoneid: str) -> dict[str, Any] | None:
    for pn in store.rows("physicalnetwork", zoneid=zoneid):
        if store.rows("traffictype", physicalnetworkid=pn["id"], traffictype="Public"):
            return pn
    return None


def _check_zone_overlap(
    store: Store,
    zone: dict[str, Any],
    net: ipaddress.IPv4Network,
    gateway: str,
    vlan: str,
    lo: int,
    hi: int,
    public_range: bool,
    but: str | None = None,
) -> None:
    for other in store.rows("vlaniprange", zoneid=zone["id"]):
        if other["id"] == but:
            continue
        onet = ipaddress.IPv4Network(other["cidr"])
        if not net.overlaps(onet):
            continue
        ovlan = other["vlan"][len("vlan://") :]
        if vlan == "untagged" or ovlan == vlan:
            if other["gateway"] != gateway or onet != net:
                raise ApiRefusal(
                    431,
                    f"The IP range with tag: {other['vlan']} in zone "
                    f"{zone['name']} has already been added with gateway "
                    f"{other['gateway']} ,and netmask {other['netmask']}, Please "
                    "specify the gateway/netmask if you want to extend ip range",
                )
            if overlap((lo, hi), (ipv4(other["startip"], "ip"), ipv4(other["endip"], "ip"))):
                raise ApiRefusal(
                    431,
                    f"The IP range already has IPs that overlap with the new "
                    f"range {other['startip']}-{other['endip']}. Please specify a "
                    "different start IP/end IP.",
                )
        elif public_range or other["forvirtualnetwork"]:
            raise ApiRefusal(
                431,
                f"The IP range with tag: {vlan} has already been added for "
                f"another vlan {other['vlan']} in the same subnet {onet}",
            )
    for pod in store.rows("pod", zoneid=zone["id"]):
        for r in pod["_ranges"]:
            if overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
                raise ApiRefusal(
                    431,
                    f"The IP range overlaps with the private IP range "
                    f"{r['start']}-{r['end']} of pod {pod['name']}",
                )


@command("createVlanIpRange")
def create_vlan_ip_range(store: Store, p: P) -> dict[str, Any]:
    start_s = p.get("startip")
    if not start_s:
        raise ApiRefusal(431, "Please specify IPv4 or IPv6 address.")
    end_s = p.get("endip") or start_s
    is_public = p.boolean("forvirtualnetwork", default=True)
    pod = p.row(store, "pod", "podid", required=False)
    network = p.row(store, "network", "networkid", required=False)
    zoneid = p.get("zoneid") or (pod or {}).get("zoneid") or (network or {}).get("zoneid")
    zone = store.get("zone", zoneid)
    if zone is None:
        raise ApiRefusal(431, "Please specify a valid zone")
    basic = zone["networktype"] == "Basic"
    gateway, netmask = p.required("gateway"), p.required("netmask")
    net = cidr_of(gateway, netmask)
    lo, hi = ipv4(start_s, "start IP"), ipv4(end_s, "end IP")
    if not (inside(net, lo) and inside(net, hi)):
        raise ApiRefusal(431, "Please specify a valid IP range: it is not in the gateway's subnet")
    if lo > hi:
        raise ApiRefusal(431, "Please specify a valid IP range: start IP is after end IP")
    if lo <= ipv4(gateway, "gateway") <= hi:
        raise ApiRefusal(431, "The gateway shouldn't overlap start/end ip addresses")
    vlan = vlan_value(p.get("vlan"))
    if is_public:
        if zone["networktype"] == "Advanced" and zone["securitygroupsenabled"]:
            raise ApiRefusal(
                431, "Can't add virtual ip range into a zone with security group enabled"
            )
        pn = _public_physical_network(store, zone["id"])
        if pn is None:
            raise ApiRefusal(
                431,
                "Unable to find default physical network which supports "
                f"Public traffic in zone {zone['name']}",
            )
        if pod is not None:
            raise ApiRefusal(
                431, "Pod id can be specified only for the networks of type Guest in the Basic zone"
            )
        if vlan != "untagged" and int(vlan) in vlan_ids(pn.get("vlan")):
            raise ApiRefusal(
                431,
                f"The VLAN tag {vlan} is already being used for dynamic vlan "
                "allocation for the guest network in zone " + zone["name"],
            )
        network = next(n for n in store.rows("network", zoneid=zone["id"], traffictype="Public"))
    else:
        if network is None:
            shared = [
                n
                for n in store.rows("network", zoneid=zone["id"], traffictype="Guest")
                if not n.get("_system")
            ]
            if not basic or not shared:
                raise ApiRefusal(431, "Network id is required for Direct vlan creation")
            network = shared[0]
        if pod is not None and not basic:
            raise ApiRefusal(
                431, "Pod id can be specified only for the networks of type Guest in the Basic zone"
            )
        pn = store.get("physicalnetwork", network.get("physicalnetworkid"))
    _check_zone_overlap(store, zone, net, gateway, vlan, lo, hi, is_public)
    row = store.add(
        "vlaniprange",
        {
            "forvirtualnetwork": is_public,
            "zoneid": zone["id"],
            "vlan": f"vlan://{vlan}",
            "gateway": gateway,
            "netmask": str(net.netmask),
            "cidr": str(net),
            "startip": start_s,
            "endip": end_s,
            "networkid": network["id"],
            "physicalnetworkid": (pn or {}).get("id"),
            "podid": (pod or {}).get("id"),
            "podname": (pod or {}).get("name"),
            "forsystemvms": p.boolean("forsystemvms"),
            "account": "system",
            "domain": "ROOT",
            "domainid": "0b5ad0a8-0000-0000-0000-000000000001",
        },
    )
    return {"vlan": _range_view(row)}


@command("updateVlanIpRange")
def update_vlan_ip_range(store: Store, p: P) -> dict[str, Any]:
    row = p.row(store, "vlaniprange", "id")
    zone = store.get("zone", row["zoneid"])
    gateway, netmask = p.get("gateway") or row["gateway"], p.get("netmask") or row["netmask"]
    start_s, end_s = p.get("startip") or row["startip"], p.get("endip") or row["endip"]
    net = cidr_of(gateway, netmask)
    lo, hi = ipv4(start_s, "start IP"), ipv4(end_s, "end IP")
    if not (inside(net, lo) and inside(net, hi)) or lo > hi:
        raise ApiRefusal(431, "Please specify a valid IP range")
    if lo <= ipv4(gateway, "gateway") <= hi:
        raise ApiRefusal(431, "The gateway shouldn't overlap start/end ip addresses")
    vlan = row["vlan"][len("vlan://") :]
    _check_zone_overlap(
        store, zone, net, gateway, vlan, lo, hi, row["forvirtualnetwork"], but=row["id"]
    )
    row.update(
        gateway=gateway, netmask=str(net.netmask), cidr=str(net), startip=start_s, endip=end_s
    )
    store.touch()
    return {"vlan": _range_view(row)}


@command("listVlanIpRanges", list_key="vlaniprange")
def list_vlan_ip_ranges(store: Store, p: P) -> dict[str, Any]:
    rows = store.rows("vlaniprange")
    if p.get("keyword"):  # keyword disables every other filter
        rows = keyword(rows, p, "startip")
    else:
        rows = filtered(rows, p, "id", "zoneid", "podid", "networkid", "vlan", "physicalnetworkid")
        if p.get("forvirtualnetwork") is not None:
            rows = [r for r in rows if r["forvirtualnetwork"] == p.boolean("forvirtualnetwork")]
    return paged(store, p, rows, "vlaniprange")


# --- storage network ranges --------------------------------------------------------------


def _storage_view(r: dict[str, Any]) -> dict[str, Any]:
    return public(r)


def _check_storage_range(
    store: Store, pod: dict[str, Any], lo: int, hi: int, but: str | None = None
) -> None:
    if not pod["_ranges"]:
        raise ApiRefusal(530, f"Unable to find any private IP range of pod {pod['name']}")
    for r in pod["_ranges"]:
        if overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(
                431,
                f"The storage IP range overlaps with the private IP range "
                f"{r['start']}-{r['end']} of pod {pod['name']}",
            )
    for other in store.rows("storagenetworkiprange", podid=pod["id"]):
        if other["id"] != but and overlap(
            (lo, hi), (ipv4(other["startip"], "ip"), ipv4(other["endip"], "ip"))
        ):
            raise ApiRefusal(
                431,
                f"The storage IP range overlaps with the storage range "
                f"{other['startip']}-{other['endip']}",
            )


@command("createStorageNetworkIpRange", mode="async")
def create_storage_range(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "podid")
    gateway, netmask, start_s = p.required("gateway"), p.required("netmask"), p.required("startip")
    vlan = p.integer("vlan")
    end_s = p.get("endip") or start_s
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{netmask}")
    except ValueError:
        raise ApiRefusal(530, f"Invalid netmask {netmask}") from None
    lo, hi = ipv4(start_s, "start IP"), ipv4(end_s, "end IP")
    _check_storage_range(store, pod, lo, hi)
    network = next(n for n in store.rows("network", zoneid=pod["zoneid"], traffictype="Storage"))
    row = store.add(
        "storagenetworkiprange",
        {
            "podid": pod["id"],
            "zoneid": pod["zoneid"],
            "networkid": network["id"],
            "startip": start_s,
            "endip": end_s,
            "gateway": gateway,
            "netmask": netmask,
            "vlan": vlan,
        },
    )
    return {"storagenetworkiprange": _storage_view(row)}


@command("updateStorageNetworkIpRange", mode="async")
def update_storage_range(store: Store, p: P) -> dict[str, Any]:
    row = p.row(store, "storagenetworkiprange", "id")
    pod = store.get("pod", row["podid"])
    vlan = p.integer("vlan")
    start_s, end_s = p.get("startip") or row["startip"], p.get("endip") or row["endip"]
    _check_storage_range(
        store, pod, ipv4(start_s, "start IP"), ipv4(end_s, "end IP"), but=row["id"]
    )
    row.update(startip=start_s, endip=end_s, netmask=p.get("netmask") or row["netmask"])
    if p.has("vlan"):
        row["vlan"] = vlan
    store.touch()
    return {"storagenetworkiprange": _storage_view(row)}


@command("listStorageNetworkIpRange", list_key="storagenetworkiprange")
def list_storage_ranges(store: Store, p: P) -> dict[str, Any]:
    rows = store.rows("storagenetworkiprange")
    for param in ("id", "podid", "zoneid"):  # precedence id > podid > zoneid
        if p.get(param):
            rows = [r for r in rows if r[param if param != "id" else "id"] == p.get(param)]
            break
    # paging is ignored and count is the number of rows returned
    return (
        {"count": len(rows), "storagenetworkiprange": [_storage_view(r) for r in rows]}
        if rows
        else {}
    )
