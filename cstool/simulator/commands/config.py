"""Settings, and the networks and offerings a Basic zone needs.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    command,
    filtered,
    keyword,
    paged,
    setting,
)
from cstool.simulator.store import Store, public

# --- settings ------------------------------------------------------------------------------


def _config_view(store: Store, name: str, zoneid: str | None) -> dict[str, Any]:
    row = dict(store.get("globalconfig", name) or {})
    if zoneid:
        row["value"] = setting(store, name, zoneid)
        row["scope"] = "zone"
    row.pop("id", None)
    return public(row)


@command("listConfigurations", list_key="configuration")
def list_configurations(store: Store, p: P) -> dict[str, Any]:
    zone = p.row(store, "zone", "zoneid", required=False)
    rows = sorted(store.rows("globalconfig"), key=lambda r: r["name"])
    if zone is not None:
        rows = [r for r in rows if "zone" in r["_scopes"]]
    if p.get("name"):  # LIKE %name%
        rows = [r for r in rows if p.get("name") in r["name"]]
    rows = filtered(rows, p, "category")
    rows = keyword(rows, p)
    views = [_config_view(store, r["name"], zone["id"] if zone else None) for r in rows]
    return paged(store, p, views, "configuration")


@command("updateConfiguration")
def update_configuration(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    row = store.get("globalconfig", name)
    if row is None:
        raise ApiRefusal(431, f"Configuration {name} does not exist")
    scopes = [
        s
        for s in ("zoneid", "clusterid", "storageid", "accountid", "domainid", "imagestoreuuid")
        if p.get(s)
    ]
    if len(scopes) > 1:
        raise ApiRefusal(
            431, "cannot handle multiple IDs, provide only one ID corresponding to the scope"
        )
    zone = p.row(store, "zone", "zoneid", required=False)
    if scopes and (scopes[0] != "zoneid" or "zone" not in row["_scopes"]):
        raise ApiRefusal(431, f"Invalid scope id provided for the parameter {name}")
    if not p.has("value"):
        return {"configuration": _config_view(store, name, zone and zone["id"])}
    value = (p.get("value") or "").strip()
    if row["type"] == "Boolean" and value not in ("true", "false"):
        raise ApiRefusal(431, f"Please enter either 'true' or 'false' for {name}")
    if row["type"] in ("Integer", "Long") and value:
        try:
            int(value)
        except ValueError:
            raise ApiRefusal(431, f"Please enter a valid integer value for {name}") from None
    if zone is not None:
        store.add(
            "zoneconfig",
            {"id": f"{zone['id']}/{name}", "zoneid": zone["id"], "name": name, "value": value},
        )
    else:
        row["value"] = value
        store.touch()
    return {"configuration": dict(_config_view(store, name, zone and zone["id"]), value=value)}


# --- networks and offerings (what a Basic zone needs) ------------------------------------


@command("listNetworkOfferings", list_key="networkoffering")
def list_network_offerings(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(
        store.rows("networkoffering"), p, "id", "name", "guestiptype", "state", "traffictype"
    )
    return paged(store, p, keyword(rows, p), "networkoffering")


@command("createNetwork")
def create_network(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    offering = p.row(store, "networkoffering", "networkofferingid")
    zone = p.row(store, "zone", "zoneid")
    pn = p.row(store, "physicalnetwork", "physicalnetworkid", required=False)
    if pn is None:
        pn = next(
            (
                x
                for x in store.rows("physicalnetwork", zoneid=zone["id"])
                if store.rows("traffictype", physicalnetworkid=x["id"], traffictype="Guest")
            ),
            None,
        )
    if pn is None:
        raise ApiRefusal(
            431, f"Unable to find physical network with Guest traffic in zone {zone['name']}"
        )
    if pn["state"] != "Enabled":
        raise ApiRefusal(431, f"Specified physical network id is in incorrect state:{pn['state']}")
    if offering["state"] != "Enabled":
        raise ApiRefusal(431, f"Network offering {offering['name']} is not enabled")
    net = store.add(
        "network",
        {
            "name": name,
            "displaytext": p.get("displaytext") or name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "networkofferingid": offering["id"],
            "networkofferingname": offering["name"],
            "type": offering["guestiptype"],
            "traffictype": "Guest",
            "physicalnetworkid": pn["id"],
            "state": "Setup",
            "broadcastdomaintype": "Native" if zone["networktype"] == "Basic" else "Vlan",
            "acltype": "Domain",
            "specifyipranges": True,
            "canusefordeploy": True,
            "issystem": False,
            "isdefault": True,
            "tags": [],
            "account": "system",
            "domain": "ROOT",
        },
    )
    return {"network": public(net)}


@command("deleteNetwork", mode="async")
def delete_network(store: Store, p: P) -> dict[str, Any]:
    net = p.row(store, "network", "id")
    for r in store.rows("vlaniprange", networkid=net["id"]):
        store.remove("vlaniprange", r["id"])
    store.remove("network", net["id"])
    return {"success": True}


@command("listNetworks", list_key="network")
def list_networks(store: Store, p: P) -> dict[str, Any]:
    rows = [r for r in store.rows("network") if bool(r.get("_system")) == p.boolean("issystem")]
    rows = filtered(rows, p, "id", "zoneid", "type", "traffictype", "physicalnetworkid")
    return paged(store, p, keyword(rows, p), "network")


@command("listCapabilities")
def list_capabilities(store: Store, p: P) -> dict[str, Any]:
    return {
        "capability": {
            "cloudstackversion": "4.19.0.0-cstool-simulator",
            "securitygroupsenabled": True,
            "userpublictemplateenabled": True,
            "supportELB": "false",
            "projectinviterequired": False,
            "allowusercreateprojects": True,
            "customdiskofferingminsize": 1,
            "customdiskofferingmaxsize": 1024,
            "regionsecondaryenabled": False,
            "kvmsnapshotenabled": False,
            "apilimitinterval": 1,
            "apilimitmax": 0,
            "allowuserviewdestroyedvm": False,
            "dynamicrolesenabled": True,
            "allowuserexpungerecovervm": False,
            "allowuserexpungerecovervolume": True,
            "allowuserviewalldomainaccounts": False,
        }
    }
