"""Zones: create, update (enable checks), delete, list.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    command,
    filtered,
    keyword,
    paged,
    state_value,
)
from cstool.simulator.store import Store, public

# --- zones -------------------------------------------------------------------------------


def _check_dns(p: P) -> None:
    for name in ("dns1", "dns2", "internaldns1", "internaldns2"):
        if p.get(name):
            try:
                ipaddress.IPv4Address(p.get(name))
            except ValueError:
                raise ApiRefusal(
                    431, f"Please enter a valid IP address for field: {name}"
                ) from None


def _zone_name_free(store: Store, name: str, but: str | None = None) -> None:
    for z in store.rows("zone"):
        if z["name"].lower() == name.lower() and z["id"] != but:
            raise ApiRefusal(431, f"A zone with name: {name} already exists")


@command("createZone")
def create_zone(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    nettype = p.required("networktype")
    p.required("dns1")
    p.required("internaldns1")
    if nettype.lower() not in ("basic", "advanced"):
        raise ApiRefusal(431, "Invalid network type: " + nettype)
    nettype = nettype.capitalize()
    _zone_name_free(store, name)
    _check_dns(p)
    if p.get("guestcidraddress"):
        if nettype == "Basic":
            raise ApiRefusal(431, "guestCidrAddress parameter is not supported for Basic zone")
        try:
            ipaddress.IPv4Network(p.get("guestcidraddress"))
        except ValueError:
            raise ApiRefusal(431, "Please enter a valid guest cidr") from None
    state = state_value(p.get("allocationstate", "Disabled"), "allocation state")
    zone = store.add(
        "zone",
        {
            "name": name,
            "dns1": p.get("dns1"),
            "dns2": p.get("dns2") or None,
            "internaldns1": p.get("internaldns1"),
            "internaldns2": p.get("internaldns2") or None,
            "guestcidraddress": p.get("guestcidraddress") or None,
            "networktype": nettype,
            "securitygroupsenabled": True
            if nettype == "Basic"
            else p.boolean("securitygroupenabled"),
            "allocationstate": state,
            "zonetoken": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            "dhcpprovider": "VirtualRouter",
            "domain": p.get("domain") or None,
            "localstorageenabled": p.boolean("localstorageenabled"),
            "type": "Core",
            "tags": [],
            "hasannotations": False,
            "allowuserspecifyvrmtu": False,
            "routerprivateinterfacemaxmtu": 1500,
            "routerpublicinterfacemaxmtu": 1500,
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


@command("updateZone")
def update_zone(store: Store, p: P) -> dict[str, Any]:
    zone = p.row(store, "zone", "id")
    if p.get("name"):
        _zone_name_free(store, p.get("name"), but=zone["id"])
    _check_dns(p)
    state = p.get("allocationstate")
    if state is not None:
        state_value(state, "allocation state")
        if state == "Enabled" and zone["allocationstate"] != "Enabled":
            _enable_zone_checks(store, zone)
    for param in (
        "name",
        "dns1",
        "dns2",
        "internaldns1",
        "internaldns2",
        "domain",
        "guestcidraddress",
        "dhcpprovider",
    ):
        if p.has(param):
            zone[param] = p.get(param) or None
    if p.has("localstorageenabled"):
        zone["localstorageenabled"] = p.boolean("localstorageenabled")
    if state is not None:
        zone["allocationstate"] = state
    store.touch()
    return {"zone": public(zone)}


def _zone_traffic(store: Store, zoneid: str) -> dict[str, dict[str, Any]]:
    out = {}
    for pn in store.rows("physicalnetwork", zoneid=zoneid):
        for tt in store.rows("traffictype", physicalnetworkid=pn["id"]):
            out[tt["traffictype"]] = tt
    return out


def _enable_zone_checks(store: Store, zone: dict[str, Any]) -> None:
    traffic = _zone_traffic(store, zone["id"])
    reasons = []
    if "Management" not in traffic:
        reasons.append("Please add a physical network with Management traffic type")
    if (
        zone["networktype"] == "Advanced"
        and not zone["securitygroupsenabled"]
        and "Public" not in traffic
    ):
        reasons.append("Please add a physical network with Public traffic type")
    if reasons:
        raise ApiRefusal(431, "Cannot enable this Zone since: " + "; ".join(reasons))
    if "Storage" not in traffic:
        # enabling a zone silently adds Storage traffic on the Management physical network
        mgmt = traffic["Management"]
        labels = {k: v for k, v in mgmt.items() if k.endswith("networklabel")}
        store.add(
            "traffictype",
            {"traffictype": "Storage", "physicalnetworkid": mgmt["physicalnetworkid"], **labels},
        )


@command("deleteZone")
def delete_zone(store: Store, p: P) -> dict[str, Any]:
    zone = p.row(store, "zone", "id")
    for table, what in (("pod", "pods"), ("physicalnetwork", "physical networks")):
        if store.rows(table, zoneid=zone["id"]):
            raise ApiRefusal(
                530, f"The zone is not deletable because there are {what} in this zone"
            )
    for table in ("vlaniprange", "network"):
        for row in store.rows(table, zoneid=zone["id"]):
            store.remove(table, row["id"])
    for row in store.rows("zoneconfig", zoneid=zone["id"]):
        store.remove("zoneconfig", row["id"])
    store.remove("zone", zone["id"])
    return {"success": True}


@command("listZones", list_key="zone")
def list_zones(store: Store, p: P) -> dict[str, Any]:
    rows = store.rows("zone")
    if p.get("id"):
        rows = [r for r in rows if r["id"] == p.get("id")]
    else:
        rows = filtered(rows, p, "name", "networktype")
        rows = keyword(rows, p)
    return paged(store, p, rows, "zone")
