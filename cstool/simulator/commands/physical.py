"""Physical networks, traffic types, providers and their elements.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

from typing import Any

from cstool.simulator.commands.core import (
    COMMANDS,
    ApiRefusal,
    Command,
    P,
    command,
    filtered,
    keyword,
    paged,
    setting,
    state_value,
)
from cstool.simulator.settings import ROUTER_SERVICES, VPC_ROUTER_SERVICES
from cstool.simulator.store import Store, public

# --- physical networks, traffic types, providers ------------------------------------------

VLAN_LIMITS = {"VXLAN": 16777214, "GRE": 4294967295}
AUTO_PROVIDERS = (
    "VirtualRouter",
    "SecurityGroupProvider",
    "VpcVirtualRouter",
    "InternalLbVm",
    "ConfigDrive",
    "Tungsten",
)
KNOWN_PROVIDERS = (
    *AUTO_PROVIDERS,
    "Netscaler",
    "F5BigIp",
    "JuniperSRX",
    "PaloAlto",
    "NiciraNvp",
    "BigSwitchBcf",
    "Ovs",
    "BaremetalDhcpProvider",
    "BaremetalPxeProvider",
    "BaremetalUserdataProvider",
    "Opendaylight",
    "BrocadeVcs",
    "GloboDns",
    "CiscoVnmc",
    "Nsx",
    "Netris",
)


def normalise_vlans(text: str, isolation: str) -> str:
    """Parse `a-b[,c-d]` like the server, then sort and merge consecutive ids."""
    top = next((v for k, v in VLAN_LIMITS.items() if k in isolation.upper()), 4095)
    spans = []
    for part in filter(None, (x.strip() for x in text.split(","))):
        lo, sep, hi = part.partition("-")
        if not sep or not lo.strip().isdigit() or not hi.strip().isdigit():
            raise ApiRefusal(
                431,
                "Please provide valid vlan range: start and end of the range "
                f"are required, got {part}",
            )
        a, b = int(lo), int(hi)
        if a > b or a < 0 or b > top:
            raise ApiRefusal(
                431,
                f"Vnet range {part} should be between 0-{top} and start should be less than end",
            )
        spans.append((a, b))
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return ",".join(f"{a}-{b}" for a, b in merged)


@command("createPhysicalNetwork", mode="async_create")
def create_physical_network(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    zone = p.row(store, "zone", "zoneid")
    if zone["allocationstate"] == "Enabled":
        raise ApiRefusal(
            531,
            "The zone is currently enabled. Cannot add a physical network to "
            "an enabled zone; disable it first",
        )
    basic = zone["networktype"] == "Basic"
    if basic and store.rows("physicalnetwork", zoneid=zone["id"]):
        raise ApiRefusal(
            530,
            "Cannot add the physical network to basic zone id: "
            f"{zone['id']}, there is a physical network already existing in this "
            "basic Zone",
        )
    tags, methods = p.items("tags"), p.items("isolationmethods")
    if len(tags) > 1:
        raise ApiRefusal(431, "Only one tag can be specified for a physical network at this time")
    if len(methods) > 1:
        raise ApiRefusal(
            431, "Only one isolationMethod can be specified for a physical network at this time"
        )
    if p.get("vlan") and basic:
        raise ApiRefusal(
            431, "Can't specify vlan; corresponding vnet range is not supported for Basic zones"
        )
    bdr = (p.get("broadcastdomainrange") or ("POD" if basic else "ZONE")).upper()
    if bdr not in ("POD", "ZONE") or (basic and bdr != "POD") or (not basic and bdr != "ZONE"):
        raise ApiRefusal(
            431, f"Invalid broadcast domain range {bdr} for a {zone['networktype']} zone"
        )
    vlan = normalise_vlans(p.get("vlan") or "", ",".join(methods)) or None
    pn = store.add(
        "physicalnetwork",
        {
            "name": name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "state": "Disabled",
            "vlan": vlan,
            "isolationmethods": ",".join(methods) or None,
            "tags": ",".join(tags) or None,
            "broadcastdomainrange": bdr,
            "networkspeed": p.get("networkspeed") or None,
        },
    )
    providers = [*AUTO_PROVIDERS, *(["Ovs"] if "GRE" in (pn["isolationmethods"] or "") else [])]
    for provider in providers:
        state = "Enabled" if provider == "ConfigDrive" and not basic else "Disabled"
        _add_provider(store, pn, provider, state)
    return {"physicalnetwork": public(pn)}


ELEMENT_TABLE = {
    "VirtualRouter": "virtualrouterelement",
    "VpcVirtualRouter": "virtualrouterelement",
    "InternalLbVm": "internalloadbalancerelement",
}


def _add_provider(store: Store, pn: dict[str, Any], name: str, state: str) -> dict[str, Any]:
    nsp = store.add(
        "networkserviceprovider",
        {
            "name": name,
            "physicalnetworkid": pn["id"],
            "destinationphysicalnetworkid": "0",
            "state": state,
            "canenableindividualservice": name not in ELEMENT_TABLE,
            "servicelist": SERVICES.get(name, []),
        },
    )
    table = ELEMENT_TABLE.get(name)
    if table:
        store.add(table, {"nspid": nsp["id"], "enabled": False, "_provider": name})
    return nsp


SERVICES = {
    "VirtualRouter": list(ROUTER_SERVICES),
    "VpcVirtualRouter": list(VPC_ROUTER_SERVICES),
    "InternalLbVm": ["Lb"],
    "SecurityGroupProvider": ["SecurityGroup"],
    "ConfigDrive": ["UserData"],
}


@command("updatePhysicalNetwork", mode="async")
def update_physical_network(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "id")
    zone = store.get("zone", pn["zoneid"])
    state = state_value(p.get("state"), "state") if p.get("state") is not None else pn["state"]
    vlan = pn.get("vlan")
    if p.has("vlan"):
        if zone["networktype"] == "Basic" and p.get("vlan"):
            raise ApiRefusal(
                431, "Can't specify vlan; corresponding vnet range is not supported for Basic zones"
            )
        vlan = normalise_vlans(p.get("vlan") or "", pn.get("isolationmethods") or "") or None
    tags = p.items("tags") if p.has("tags") else None
    if tags is not None and len(tags) > 1:
        raise ApiRefusal(431, "Only one tag can be specified for a physical network at this time")
    pn.update(state=state, vlan=vlan)
    if tags is not None:
        pn["tags"] = ",".join(tags) or None
    if p.get("networkspeed"):
        pn["networkspeed"] = p.get("networkspeed")
    store.touch()
    return {"physicalnetwork": public(pn)}


@command("deletePhysicalNetwork", mode="async")
def delete_physical_network(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "id")
    if [n for n in store.rows("network", physicalnetworkid=pn["id"]) if not n.get("_system")]:
        raise ApiRefusal(
            530, "Unable to complete destroy of the physical network: there are networks using it"
        )
    for tt in store.rows("traffictype", physicalnetworkid=pn["id"]):
        store.remove("traffictype", tt["id"])
    for nsp in store.rows("networkserviceprovider", physicalnetworkid=pn["id"]):
        for table in set(ELEMENT_TABLE.values()):
            for el in store.rows(table, nspid=nsp["id"]):
                store.remove(table, el["id"])
        store.remove("networkserviceprovider", nsp["id"])
    for r in store.rows("vlaniprange", physicalnetworkid=pn["id"]):
        store.remove("vlaniprange", r["id"])
    store.remove("physicalnetwork", pn["id"])
    return {"success": True}


@command("listPhysicalNetworks", list_key="physicalnetwork")
def list_physical_networks(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(store.rows("physicalnetwork"), p, "id", "zoneid")
    if p.get("name"):  # a substring match on the server (LIKE %name%)
        rows = [r for r in rows if p.get("name").lower() in r["name"].lower()]
    return paged(store, p, keyword(rows, p), "physicalnetwork")


TRAFFIC_TYPES = ("Guest", "Management", "Public", "Storage", "Control", "Vpn", "None")
LABELS = (
    "xennetworklabel",
    "kvmnetworklabel",
    "vmwarenetworklabel",
    "hypervnetworklabel",
    "ovm3networklabel",
)
XEN_DEFAULTS = {
    "Public": "xenserver.public.network.device",
    "Guest": "xenserver.guest.network.device",
    "Storage": "xenserver.storage.network.device1",
    "Management": "xenserver.private.network.device",
}


@command("addTrafficType", mode="async_create")
def add_traffic_type(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")
    ttype = p.required("traffictype")
    if ttype not in TRAFFIC_TYPES:
        raise ApiRefusal(431, f"Unable to resolve trafficType '{ttype}' to a supported value")
    if store.rows("traffictype", physicalnetworkid=pn["id"], traffictype=ttype):
        raise ApiRefusal(530, f"This physical network already supports the traffic type: {ttype}")
    for other in store.rows("physicalnetwork", zoneid=pn["zoneid"]):
        if other["id"] == pn["id"]:
            continue
        has = store.rows("traffictype", physicalnetworkid=other["id"], traffictype=ttype)
        if has and ttype in ("Management", "Control", "Public", "Storage"):
            raise ApiRefusal(
                530,
                f"The zone already has a physical network with the traffic "
                f"type {ttype}: {other['name']}",
            )
        if has and not pn.get("tags") and not other.get("tags"):
            raise ApiRefusal(
                530,
                "Another untagged physical network in the zone already has the "
                f"traffic type {ttype}; multiple untagged physical networks cannot "
                "carry the same traffic type",
            )
    tt = {"traffictype": ttype, "physicalnetworkid": pn["id"]}
    for label in LABELS:
        tt[label] = p.get(label) or None
    if tt["xennetworklabel"] is None and ttype in XEN_DEFAULTS:
        tt["xennetworklabel"] = setting(store, XEN_DEFAULTS[ttype]) or None
    return {"traffictype": public(store.add("traffictype", tt))}


@command("updateTrafficType", mode="async")
def update_traffic_type(store: Store, p: P) -> dict[str, Any]:
    tt = p.row(store, "traffictype", "id")
    for label in LABELS:
        if p.has(label):
            tt[label] = p.get(label) or None  # an empty string clears the label
    store.touch()
    return {"traffictype": public(tt)}


@command("deleteTrafficType", mode="async")
def delete_traffic_type(store: Store, p: P) -> dict[str, Any]:
    tt = p.row(store, "traffictype", "id")
    if tt["traffictype"] == "Guest" and [
        n
        for n in store.rows("network", physicalnetworkid=tt["physicalnetworkid"])
        if not n.get("_system")
    ]:
        raise ApiRefusal(530, "The Guest traffic type cannot be deleted: guest networks use it")
    store.remove("traffictype", tt["id"])
    return {"success": True}


@command("listTrafficTypes", list_key="traffictype")
def list_traffic_types(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")
    rows = store.rows("traffictype", physicalnetworkid=pn["id"])
    return paged(store, p, keyword(rows, p, "traffictype"), "traffictype")


@command("listNetworkServiceProviders", list_key="networkserviceprovider")
def list_providers(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(store.rows("networkserviceprovider"), p, "physicalnetworkid", "name", "state")
    rows.reverse()  # ordered by internal id, descending
    return paged(store, p, keyword(rows, p), "networkserviceprovider")


@command("addNetworkServiceProvider", mode="async_create")
def add_provider(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")
    if name not in KNOWN_PROVIDERS:
        raise ApiRefusal(431, f"Invalid Network Service Provider={name}")
    if store.rows("networkserviceprovider", physicalnetworkid=pn["id"], name=name):
        raise ApiRefusal(
            530, f"The '{name}' provider already exists on physical network {pn['name']}"
        )
    return {"networkserviceprovider": public(_add_provider(store, pn, name, "Disabled"))}


@command("updateNetworkServiceProvider", mode="async")
def update_provider(store: Store, p: P) -> dict[str, Any]:
    nsp = p.row(store, "networkserviceprovider", "id")
    state = p.get("state")
    if state is not None:
        if state == "Shutdown" or state not in ("Enabled", "Disabled"):
            raise ApiRefusal(431, f"Invalid state {state}: only Enabled and Disabled can be set")
        table = ELEMENT_TABLE.get(nsp["name"])
        if (
            state == "Enabled"
            and table
            and not any(e["enabled"] for e in store.rows(table, nspid=nsp["id"]))
        ):
            raise ApiRefusal(
                530,
                "Provider is not ready, cannot Enable the provider, please "
                "configure the provider first",
            )
        nsp["state"] = state
    store.touch()
    return {"networkserviceprovider": public(nsp)}


def _plain_delete(name: str, table: str, mode: str) -> None:
    """A delete command with no rule beyond the row existing."""

    def delete(store: Store, p: P) -> dict[str, Any]:
        store.remove(table, p.row(store, table, "id")["id"])
        return {"success": True}

    COMMANDS[name] = Command(delete, mode)


_plain_delete("deleteNetworkServiceProvider", "networkserviceprovider", "async")
_plain_delete("deleteVlanIpRange", "vlaniprange", "sync")
_plain_delete("deleteStorageNetworkIpRange", "storagenetworkiprange", "async")


def _element_commands(table: str, object_name: str, list_name: str, configure: str) -> None:
    def list_elements(store: Store, p: P) -> dict[str, Any]:
        rows = filtered(store.rows(table), p, "id", "nspid")
        if p.get("enabled") is not None:
            rows = [r for r in rows if r["enabled"] == p.boolean("enabled")]
        return paged(store, p, rows, object_name)

    def configure_element(store: Store, p: P) -> dict[str, Any]:
        element = p.row(store, table, "id")
        element["enabled"] = p.boolean("enabled") if p.has("enabled") else p.required("enabled")
        store.touch()
        return {object_name: public(element)}

    COMMANDS[list_name] = Command(list_elements, "sync", object_name)
    COMMANDS[configure] = Command(configure_element, "async")


_element_commands(
    "virtualrouterelement",
    "virtualrouterelement",
    "listVirtualRouterElements",
    "configureVirtualRouterElement",
)
_element_commands(
    "internalloadbalancerelement",
    "internalloadbalancerelement",
    "listInternalLoadBalancerElements",
    "configureInternalLoadBalancerElement",
)
