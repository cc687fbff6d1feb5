"""Pods and their management ranges.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    ParamError,
    cidr_of,
    command,
    filtered,
    inside,
    ipv4,
    keyword,
    overlap,
    paged,
    setting,
    state_value,
    vlan_value,
)
from cstool.simulator.store import Store, public

# --- pods and management ranges ----------------------------------------------------------


def _pod_view(pod: dict[str, Any]) -> dict[str, Any]:
    ranges = pod["_ranges"]
    pod["ipranges"] = [
        {
            "startip": r["start"],
            "endip": r["end"],
            "forsystemvms": r["system"],
            "vlanid": f"vlan://{r['vlan']}",
        }
        for r in ranges
    ] or None
    pod["startip"] = [r["start"] for r in ranges] or None
    pod["endip"] = [r["end"] for r in ranges] or None
    pod["forsystemvms"] = [r["system"] for r in ranges] or None
    pod["vlanid"] = [f"vlan://{r['vlan']}" for r in ranges] or None
    return public(pod)


def _zone_ip_spans(store: Store, zoneid: str, but: str | None = None) -> list[tuple[int, int, str]]:
    """The zone's VLAN (public and guest) ranges as (start, end, id)."""
    return [
        (int(ipaddress.IPv4Address(r["startip"])), int(ipaddress.IPv4Address(r["endip"])), r["id"])
        for r in store.rows("vlaniprange", zoneid=zoneid)
        if r["id"] != but
    ]


def _check_range(net: ipaddress.IPv4Network, gateway: str, start: int, end: int) -> None:
    if not (inside(net, start) and inside(net, end)):
        raise ApiRefusal(431, f"The start and end IPs must be in the CIDR subnet {net}")
    if start > end:
        raise ApiRefusal(431, "Start IP must be lower than end IP")
    if start <= int(ipaddress.IPv4Address(gateway)) <= end:
        raise ApiRefusal(431, f"The gateway {gateway} overlaps with the IP range")


def _check_pod_cidr(
    store: Store, zone: dict[str, Any], net: ipaddress.IPv4Network, but: str | None = None
) -> None:
    if setting(store, "check.pod.cidrs").lower() == "false":
        return
    for other in store.rows("pod", zoneid=zone["id"]):
        if other["id"] == but:
            continue
        onet = ipaddress.IPv4Network(f"{other['gateway']}/{other['netmask']}", strict=False)
        if net.overlaps(onet):
            raise ApiRefusal(
                431,
                f"Pod {other['name']} in zone {zone['name']} has the same CIDR "
                f"{onet} or overlaps with it, which is not allowed",
            )
    if zone.get("guestcidraddress") and net.overlaps(
        ipaddress.IPv4Network(zone["guestcidraddress"])
    ):
        raise ApiRefusal(
            431, f"The pod CIDR {net} conflicts with the guest network CIDR of zone {zone['name']}"
        )


@command("createPod")
def create_pod(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    zone = p.row(store, "zone", "zoneid")
    gateway, netmask = p.required("gateway"), p.required("netmask")
    net = cidr_of(gateway, netmask)
    start = ipv4(p.required("startip"), "start IP") if p.get("startip") else None
    end = ipv4(p.get("endip"), "end IP") if p.get("endip") else int(net.broadcast_address) - 1
    if any(x["name"].lower() == name.lower() for x in store.rows("pod", zoneid=zone["id"])):
        raise ApiRefusal(
            431,
            f"A pod with name: {name} already exists in zone {zone['name']}. "
            "Please specify a different pod name.",
        )
    if not inside(net, ipv4(gateway, "gateway")):
        raise ApiRefusal(431, "The gateway is not in the CIDR subnet")
    ranges = []
    if start is not None:
        _check_range(net, gateway, start, end)
        for lo, hi, _ in _zone_ip_spans(store, zone["id"]):
            if overlap((start, end), (lo, hi)):
                raise ApiRefusal(
                    431,
                    f"The pod's IP range contains the public IP "
                    f"{ipaddress.IPv4Address(max(lo, start))}",
                )
        ranges.append(
            {
                "start": str(ipaddress.IPv4Address(start)),
                "end": str(ipaddress.IPv4Address(end)),
                "system": "0",
                "vlan": "untagged",
            }
        )
    _check_pod_cidr(store, zone, net)
    pod = store.add(
        "pod",
        {
            "name": name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "gateway": gateway,
            "netmask": str(net.netmask),
            "hasannotations": False,
            "allocationstate": state_value(p.get("allocationstate", "Enabled"), "allocation state"),
            "_ranges": ranges,
        },
    )
    return {"pod": _pod_view(pod)}


@command("updatePod")
def update_pod(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "id")
    zone = store.get("zone", pod["zoneid"])
    gateway, netmask = p.get("gateway", pod["gateway"]), p.get("netmask", pod["netmask"])
    net = cidr_of(gateway, netmask)
    for r in pod["_ranges"]:
        lo, hi = ipv4(r["start"], "start IP"), ipv4(r["end"], "end IP")
        if not (inside(net, lo) and inside(net, hi)):
            raise ApiRefusal(431, f"The IP range {r['start']}-{r['end']} is not in the new CIDR")
        if lo <= ipv4(gateway, "gateway") <= hi:
            raise ApiRefusal(431, "The new gateway overlaps with an existing IP range")
    if p.get("name") and p.get("name") != pod["name"]:
        if any(
            x["name"].lower() == p.get("name").lower()
            for x in store.rows("pod", zoneid=pod["zoneid"])
        ):
            raise ApiRefusal(431, f"A pod with name: {p.get('name')} already exists")
    _check_pod_cidr(store, zone, net, but=pod["id"])
    if p.get("allocationstate"):
        pod["allocationstate"] = state_value(p.get("allocationstate"), "allocation state")
    pod.update(name=p.get("name", pod["name"]), gateway=gateway, netmask=str(net.netmask))
    store.touch()
    return {"pod": _pod_view(pod)}


@command("deletePod")
def delete_pod(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "id")
    for table in ("vlaniprange", "storagenetworkiprange"):
        for row in store.rows(table, podid=pod["id"]):
            store.remove(table, row["id"])
    store.remove("pod", pod["id"])
    return {"success": True}


@command("listPods", list_key="pod")
def list_pods(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(store.rows("pod"), p, "id", "zoneid", "name", "allocationstate")
    rows = keyword(rows, p)
    return paged(store, p, [dict(r, **_pod_view(dict(r))) for r in rows], "pod")


@command("createManagementNetworkIpRange", mode="async")
def create_management_range(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "podid")
    gateway, netmask, start_s = p.required("gateway"), p.required("netmask"), p.required("startip")
    end_s = p.get("endip") or start_s
    net = cidr_of(gateway, netmask)
    if gateway != pod["gateway"] or str(net.netmask) != pod["netmask"]:
        raise ApiRefusal(
            431,
            "Multiple subnets in a pod are not supported: the gateway and "
            "netmask must be the pod's",
        )
    start, end = ipv4(start_s, "start IP"), ipv4(end_s, "end IP")
    _check_range(net, gateway, start, end)
    for r in pod["_ranges"]:
        if overlap((start, end), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(
                431,
                f"The new IP range {start_s}-{end_s} overlaps with the existing "
                f"range {r['start']}-{r['end']}",
            )
    for lo, hi, _ in _zone_ip_spans(store, pod["zoneid"]):
        if overlap((start, end), (lo, hi)):
            raise ApiRefusal(431, "The IP range overlaps with the public IP range of the zone")
    pod["_ranges"].append(
        {
            "start": start_s,
            "end": end_s,
            "vlan": vlan_value(p.get("vlan")),
            "system": "1" if p.boolean("forsystemvms") else "0",
        }
    )
    store.touch()
    return {"pod": _pod_view(pod)}


@command("deleteManagementNetworkIpRange", mode="async")
def delete_management_range(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "podid")
    start, end, vlan = p.required("startip"), p.required("endip"), p.required("vlan")
    wanted = (start, end, vlan_value(vlan))
    kept = [r for r in pod["_ranges"] if (r["start"], r["end"], r["vlan"]) != wanted]
    if len(kept) == len(pod["_ranges"]):
        raise ApiRefusal(431, f"Unable to find the IP range {start}-{end} in pod {pod['name']}")
    pod["_ranges"] = kept
    store.touch()
    return {"success": True}


@command("updatePodManagementNetworkIpRange", mode="async")
def update_management_range(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "podid")
    cur = (p.required("currentstartip"), p.required("currentendip"))
    if not p.get("newstartip") and not p.get("newendip"):
        raise ParamError(431, "Either new start IP or new end IP must be specified")
    found = [r for r in pod["_ranges"] if (r["start"], r["end"]) == cur]
    if not found:
        raise ApiRefusal(431, f"Unable to find the IP range {cur[0]}-{cur[1]} in pod {pod['name']}")
    new = (p.get("newstartip") or cur[0], p.get("newendip") or cur[1])
    if new == cur:
        raise ApiRefusal(431, "The new IP range is the same as the current one")
    net = cidr_of(pod["gateway"], pod["netmask"])
    lo, hi = ipv4(new[0], "start IP"), ipv4(new[1], "end IP")
    _check_range(net, pod["gateway"], lo, hi)
    for r in pod["_ranges"]:
        if r is not found[0] and overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(431, "The new IP range overlaps with an existing range of the pod")
    found[0].update(start=new[0], end=new[1])
    store.touch()
    return {"success": True}
