"""Physical networks, traffic types, providers and their elements.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
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
)
from cstool.simulator.commands.zones import db_id, next_db_id, zone_text
from cstool.simulator.settings import ROUTER_SERVICES, VPC_ROUTER_SERVICES
from cstool.simulator.store import Store, public

# --- provider names, elements, services ----------------------------------------------------

# Every name Network.Provider.getProvider knows (it compares ignoring case): the constants of
# api/src/main/java/com/cloud/network/Network.java (Provider), the baremetal plugin's
# (BaremetalDhcpManager, BaremetalPxeManager) and SspElement's "StratosphereSsp".
PROVIDER_NAMES = (
    "VirtualRouter",
    "JuniperContrailRouter",
    "JuniperContrailVpcRouter",
    "JuniperSRX",
    "PaloAlto",
    "F5BigIp",
    "Netscaler",
    "ExternalDhcpServer",
    "ExternalGateWay",
    "ElasticLoadBalancerVm",
    "SecurityGroupProvider",
    "VpcVirtualRouter",
    "None",
    "NiciraNvp",
    "InternalLbVm",
    "CiscoVnmc",
    "Ovs",
    "Opendaylight",
    "BrocadeVcs",
    "GloboDns",
    "BigSwitchBcf",
    "ConfigDrive",
    "Tungsten",
    "Nsx",
    "Netris",
    "BaremetalDhcpProvider",
    "BaremetalPxeProvider",
    "BaremetalUserdataProvider",
    "StratosphereSsp",
)


@dataclass(frozen=True)
class Element:
    """A provider's NetworkElement: canEnableIndividualServices() and its getCapabilities()
    services."""

    individual: bool
    services: tuple[str, ...]


# The NetworkElement implementing each provider in a full 4.22 build (the default modules plus
# the noredist ones: cisco-vnmc, nsx, netris, juniper-contrail, tungsten), looked up by the
# exact name (NetworkModelImpl.getElementImplementingProvider: a HashMap). JuniperSRX, F5BigIp,
# ExternalDhcpServer, ExternalGateWay and None have none, nor has ElasticLoadBalancerVm
# (spring-core-registry-core-context.xml excludes ElasticLoadBalancerElement by default).
ELEMENTS = {
    "VirtualRouter": Element(True, ROUTER_SERVICES),  # VirtualRouterElement
    "VpcVirtualRouter": Element(True, VPC_ROUTER_SERVICES),  # VpcVirtualRouterElement
    "SecurityGroupProvider": Element(False, ("SecurityGroup",)),  # SecurityGroupElement
    "ConfigDrive": Element(True, ("UserData", "Dhcp", "Dns")),  # ConfigDriveNetworkElement
    "InternalLbVm": Element(True, ("Lb",)),  # InternalLoadBalancerElement
    "Ovs": Element(True, ("Connectivity", "PortForwarding", "StaticNat", "Lb")),  # OvsElement
    "BaremetalDhcpProvider": Element(False, ("Dhcp",)),  # BaremetalDhcpElement
    "BaremetalPxeProvider": Element(False, ("BaremetalPxeService",)),  # BaremetalPxeElement
    "BaremetalUserdataProvider": Element(True, ("UserData",)),  # BaremetalUserdataElement
    "Tungsten": Element(  # TungstenElement
        True,
        ("Dhcp", "SourceNat", "Connectivity", "SecurityGroup", "StaticNat", "Dns", "Firewall")
        + ("Lb", "PortForwarding"),
    ),
    "Nsx": Element(  # NsxElement
        True,
        ("Dhcp", "Dns", "StaticNat", "Lb", "PortForwarding", "NetworkACL", "Firewall")
        + ("SourceNat",),
    ),
    "Netris": Element(  # NetrisElement
        True,
        ("Dhcp", "Dns", "StaticNat", "Lb", "PortForwarding", "NetworkACL", "Firewall")
        + ("Gateway", "SourceNat"),
    ),
    "Netscaler": Element(True, ("Lb", "StaticNat", "Firewall")),  # NetscalerElement
    "PaloAlto": Element(  # PaloAltoExternalFirewallElement
        True, ("Firewall", "Gateway", "PortForwarding", "SourceNat", "StaticNat")
    ),
    "NiciraNvp": Element(  # NiciraNvpElement
        True, ("Connectivity", "Gateway", "PortForwarding", "SourceNat", "StaticNat")
    ),
    "BigSwitchBcf": Element(  # BigSwitchBcfElement
        True, ("Connectivity", "Firewall", "Gateway", "NetworkACL", "SourceNat", "StaticNat")
    ),
    "BrocadeVcs": Element(True, ("Connectivity",)),  # BrocadeVcsElement
    "CiscoVnmc": Element(  # CiscoVnmcElement
        True, ("Firewall", "Gateway", "PortForwarding", "SourceNat", "StaticNat")
    ),
    "GloboDns": Element(True, ("Dns",)),  # GloboDnsElement
    "Opendaylight": Element(False, ("Connectivity",)),  # OpendaylightElement
    "StratosphereSsp": Element(True, ("Connectivity",)),  # SspElement
    "JuniperContrailRouter": Element(  # ContrailElementImpl
        True, ("Connectivity", "Dhcp", "StaticNat", "SourceNat")
    ),
    "JuniperContrailVpcRouter": Element(  # ContrailVpcElementImpl extends ContrailElementImpl
        True, ("Connectivity", "Dhcp", "StaticNat", "SourceNat")
    ),
}
# Network.Service.getService (compared ignoring case): Network.Service's constants and the
# baremetal plugin's BaremetalPxeService
SERVICE_NAMES = (
    "Vpn",
    "Dhcp",
    "Dns",
    "Gateway",
    "Firewall",
    "Lb",
    "UserData",
    "SourceNat",
    "StaticNat",
    "PortForwarding",
    "SecurityGroup",
    "NetworkACL",
    "Connectivity",
    "BaremetalPxeService",
)
# PhysicalNetworkServiceProviderVO keeps one flag per service and getEnabledServices() reads
# them back in this order; NetworkACL is stored but never read back, Connectivity and
# BaremetalPxeService are not stored at all
SERVICE_LIST_ORDER = (
    "Vpn",
    "Dhcp",
    "Dns",
    "Gateway",
    "Firewall",
    "Lb",
    "SourceNat",
    "StaticNat",
    "PortForwarding",
    "UserData",
    "SecurityGroup",
)
# VR-type element rows each provider gets from createPhysicalNetwork
# (addDefaultVirtualRouterToPhysicalNetwork, ...VpcVirtualRouter..., ...InternalLbProvider...)
ELEMENT_TABLE = {
    "VirtualRouter": "virtualrouterelement",
    "VpcVirtualRouter": "virtualrouterelement",
    "InternalLbVm": "internalloadbalancerelement",
}


def service_list(services: Iterable[str]) -> list[str]:
    """The provider's `servicelist` as the server reads it back."""
    chosen = {s.lower() for s in services}
    return [s for s in SERVICE_LIST_ORDER if s.lower() in chosen]


def pn_text(store: Store, pn: dict[str, Any]) -> str:
    """PhysicalNetworkVO.toString(): ReflectionToStringBuilderUtils' JSON style of id, uuid,
    name."""
    dbid = db_id(store, "physicalnetwork", pn)
    return f'PhysicalNetwork {{"id":{dbid},"uuid":"{pn["id"]}","name":"{pn["name"]}"}}'


# --- guest VLAN / VNI ranges (NetworkServiceImpl.validateVlanRange, addOrRemoveVnets) ---------


def java_split(text: str, sep: str) -> list[str]:
    """String.split with a one-character separator: a text without it is returned whole,
    trailing empty strings are dropped (so "," gives no element at all)."""
    if sep not in text:
        return [text]
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def java_int(text: str) -> int | None:
    """Integer.parseInt, or None where it throws NumberFormatException."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


def vnet_spans(text: str | None) -> list[tuple[int, int]]:
    """A stored vnet string (`a-b[,c-d]`) as spans; anything else in it is skipped."""
    out = []
    for part in (text or "").split(","):
        lo, _, hi = part.partition("-")
        a, b = java_int(lo), java_int(hi)
        if a is not None and b is not None:
            out.append((a, b))
    return out


def _vnet_bounds(methods: list[str]) -> tuple[int, int, bool]:
    """validateVlanRange: MIN/MAX_VLAN_ID 0-4095; with "GRE" among the isolation methods
    MIN/MAX_GRE_KEY 0-4294967295; with "VXLAN" or "Netris" MIN/MAX_VXLAN_VNI 0-16777214 and
    VNIs unique in the zone. The methods are matched with List.contains: exact and
    case-sensitive ("vxlan" is not VXLAN)."""
    if "GRE" in methods:
        return 0, 4294967295, False
    if "VXLAN" in methods or "Netris" in methods:
        return 0, 16777214, True
    return 0, 4095, False


def _vni_taken(store: Store, zone: dict[str, Any], pn_id: str | None, piece: str) -> bool:
    """DataCenterVnetDao.findVnet(zone, piece): is that VNI a vnet of another physical
    network of the zone?"""
    vni = java_int(piece)
    if vni is None or vni < 0:
        return False
    return any(
        a <= vni <= b
        for other in store.rows("physicalnetwork", zoneid=zone["id"])
        if other["id"] != pn_id
        for a, b in vnet_spans(other.get("vlan"))
    )


def vnet_ranges(
    store: Store, zone: dict[str, Any], pn_id: str | None, methods: list[str], ranges: list[str]
) -> list[tuple[int, int]]:
    """NetworkServiceImpl.validateVlanRange, range by range (all 431). An empty element ends
    the list: the ranges after it are ignored ("", ",100-200" and "100-200,,300-400" stop
    there)."""
    low, high, unique = _vnet_bounds(methods)
    bounds = f" between {low} and {high}"
    spans: list[tuple[int, int]] = []
    for text in ranges:
        pieces = java_split(text, "-")
        if unique:
            # only the pieces as written are looked up (the ends of a range, not what lies
            # between them)
            for piece in pieces:
                if _vni_taken(store, zone, pn_id, piece):
                    raise ApiRefusal(
                        431,
                        f"VNI {piece} already exists on another network in zone "
                        f"({zone_text(store, zone)}), please specify a unique range",
                    )
        if pieces == [""]:
            return spans
        if len(pieces) < 2:
            raise ApiRefusal(
                431,
                "Please provide valid vnet range. vnet range should be a comma separated list "
                "of vlan ranges. example 500-500,600-601" + bounds,
            )
        start, end = java_int(pieces[0]), java_int(pieces[1])
        if start is None or end is None:
            raise ApiRefusal(
                431,
                "Please provide valid vnet range. The vnet range should be a comma separated "
                "list example 2001-2012,3000-3005." + bounds,
            )
        if start < low or end > high:
            raise ApiRefusal(431, "Vnet range has to be" + bounds)
        if start > end:
            raise ApiRefusal(
                431,
                "Vnet range has to be"
                + bounds
                + " and start range should be lesser than or equal to stop range",
            )
        spans.append((start, end))
    return spans


def vnet_string(spans: list[tuple[int, int]]) -> str | None:
    """NetworkServiceImpl.generateVnetString: the ids sorted, consecutive ones merged."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return ",".join(f"{a}-{b}" for a, b in merged) or None


# --- physical networks ---------------------------------------------------------------------


@command("createPhysicalNetwork", mode="async_create")
def create_physical_network(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    zone = p.row(store, "zone", "zoneid")
    # NetworkServiceImpl.createPhysicalNetwork, in its order; create() runs before the job,
    # so every refusal is synchronous
    if zone["allocationstate"] == "Enabled":  # PermissionDeniedException
        raise ApiRefusal(
            531,
            "Cannot create PhysicalNetwork since the Zone is currently enabled, zone: "
            + zone_text(store, zone),
        )
    basic = zone["networktype"] == "Basic"
    if basic and store.rows("physicalnetwork", zoneid=zone["id"]):
        raise ApiRefusal(
            530,
            f"Cannot add the physical network to basic zone: {zone_text(store, zone)}, there is "
            "a physical network already existing in this basic Zone",
        )
    tags, methods = p.items("tags"), p.items("isolationmethods")
    if len(tags) > 1:
        raise ApiRefusal(431, "Only one tag can be specified for a physical network at this time")
    if len(methods) > 1:
        raise ApiRefusal(
            431, "Only one isolationMethod can be specified for a physical network at this time"
        )
    vlan = p.get("vlan")
    if vlan is not None and basic:  # sent at all, even empty
        raise ApiRefusal(431, "Can't add vnet range to the physical network in the Basic zone")
    bdr = _broadcast_domain_range(p.get("broadcastdomainrange"), basic)
    # the vnets are added inside the creating transaction, whose every exception becomes
    # CloudRuntimeException "Fail to create a physical network"
    stored_vlan = vlan
    if vlan is not None:
        ranges = java_split(vlan, ",")
        if ranges:
            try:
                stored_vlan = vnet_string(vnet_ranges(store, zone, None, methods, ranges))
            except ApiRefusal:
                raise ApiRefusal(530, "Fail to create a physical network") from None
    pn = store.add(
        "physicalnetwork",
        {
            "_dbid": next_db_id(store, "physicalnetwork"),
            "name": name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "state": "Disabled",
            "vlan": stored_vlan,
            "isolationmethods": ",".join(methods) or None,
            "tags": ",".join(tags) or None,
            "broadcastdomainrange": bdr,
            "networkspeed": p.get("networkspeed"),
        },
    )
    _add_default_providers(store, zone, pn, methods)
    return {"physicalnetwork": public(pn)}


def _broadcast_domain_range(text: str | None, basic: bool) -> str:
    """createPhysicalNetwork: BroadcastDomainRange.valueOf(upper case); Basic zones POD only,
    Advanced zones ZONE only; the default is the allowed one (all 431)."""
    if not text:
        return "POD" if basic else "ZONE"
    value = text.upper()
    if value not in ("POD", "ZONE"):
        raise ApiRefusal(
            431,
            f"Unable to resolve broadcastDomainRange '{text}' to a supported value {{Pod or Zone}}",
        )
    if basic and value != "POD":
        raise ApiRefusal(431, "Basic zone can have broadcast domain type of value POD only")
    if not basic and value != "ZONE":
        raise ApiRefusal(431, "Advance zone can have broadcast domain type of value ZONE only")
    return value


def _add_default_providers(
    store: Store, zone: dict[str, Any], pn: dict[str, Any], methods: list[str]
) -> None:
    """The providers createPhysicalNetwork adds, in its order (all Disabled): VirtualRouter,
    Ovs (with "GRE" among the isolation methods), SecurityGroupProvider, VpcVirtualRouter,
    the baremetal ones (addDefaultBaremetalProvidersToPhysicalNetwork: Basic
    BaremetalDhcpProvider, BaremetalPxeProvider, BaremetalUserdataProvider; Advanced
    BaremetalPxeProvider), InternalLbVm, Tungsten, and in Advanced zones ConfigDrive, Nsx and
    Netris. BaremetalPxeProvider (Advanced), ConfigDrive and Netris are then enabled with
    enableProvider."""
    advanced = zone["networktype"] == "Advanced"
    baremetal = ["BaremetalPxeProvider"]
    if not advanced:
        baremetal = ["BaremetalDhcpProvider", "BaremetalPxeProvider", "BaremetalUserdataProvider"]
    names = [
        "VirtualRouter",
        *(["Ovs"] if "GRE" in methods else []),
        "SecurityGroupProvider",
        "VpcVirtualRouter",
        *baremetal,
        "InternalLbVm",
        "Tungsten",
        *(["ConfigDrive", "Nsx", "Netris"] if advanced else []),
    ]
    for name in names:
        nsp = _new_provider(store, pn, name, ELEMENTS[name].services)
        table = ELEMENT_TABLE.get(name)
        if table:  # the element row, disabled (VirtualRouterElement.addElement, ...)
            store.add(table, {"nspid": nsp["id"], "enabled": False, "_provider": name})
        if advanced and name in ("BaremetalPxeProvider", "ConfigDrive", "Netris"):
            _enable_first(store, name)


def _enable_first(store: Store, name: str) -> None:
    """NetworkServiceImpl.enableProvider: QueryBuilder.find() on the provider name alone, i.e.
    the first non-removed row of that name in the whole cloud (no ORDER BY: the table's
    primary-key order), not the new network's. So only the oldest such provider is Enabled,
    and creating another physical network re-enables it if someone had disabled it."""
    first = store.rows("networkserviceprovider", name=name)[0]
    first["state"] = "Enabled"
    store.touch()


def _new_provider(
    store: Store,
    pn: dict[str, Any],
    name: str,
    services: Iterable[str],
    destination: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new PhysicalNetworkServiceProviderVO (Disabled) as ProviderResponse shows it."""
    return store.add(
        "networkserviceprovider",
        {
            "name": name,
            "physicalnetworkid": pn["id"],
            # ApiResponseHelper.createNetworkServiceProviderResponse sets
            # destinationphysicalnetworkid only when that physical network exists (id 0 never
            # does) and Gson omits nulls (ProviderResponse, api-spec.json)
            "destinationphysicalnetworkid": destination["id"] if destination else None,
            "state": "Disabled",
            "canenableindividualservice": ELEMENTS[name].individual,
            "servicelist": service_list(services),
        },
    )


def _check_untagged(store: Store, pn: dict[str, Any], types: Iterable[str]) -> None:
    """NetworkServiceImpl.checkForPhysicalNetworksWithoutTag: when any physical network of
    the zone that carries one of these traffic types has no tag, refuse (530). Its count
    includes `pn` itself when it carries the type, and one untagged network is enough,
    whatever the message says."""
    for ttype in types:
        for other in store.rows("physicalnetwork", zoneid=pn["zoneid"]):
            if not other.get("tags") and store.rows(
                "traffictype", physicalnetworkid=other["id"], traffictype=ttype
            ):
                zone = store.get("zone", pn["zoneid"]) or {}
                raise ApiRefusal(
                    530,
                    "There are more than 1 physical network without tags in the zone: "
                    + zone_text(store, zone),
                )


@command("updatePhysicalNetwork", mode="async")
def update_physical_network(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "id")
    zone = store.get("zone", pn["zoneid"]) or {}
    # NetworkServiceImpl.updatePhysicalNetwork, in its order; nothing is stored unless every
    # check passes
    vlan = p.get("vlan")
    if vlan is not None and zone.get("networktype") == "Basic":
        raise ApiRefusal(431, "Can't add vnet range to the physical network in the Basic zone")
    tags = p.items("tags") if p.has("tags") else None  # `tags=` is an empty list
    if tags is not None and len(tags) > 1:
        raise ApiRefusal(431, "Unable to support more than one tag on network yet")
    if tags == []:  # clearing the tags
        types = [t["traffictype"] for t in store.rows("traffictype", physicalnetworkid=pn["id"])]
        _check_untagged(store, pn, types)
    state = p.get("state")
    if state and state not in ("Enabled", "Disabled"):  # PhysicalNetwork.State.valueOf
        raise ApiRefusal(
            431, f"Unable to resolve state '{state}' to a supported value {{Enabled or Disabled}}"
        )
    new_vlan = pn.get("vlan")
    if vlan is not None:
        ranges = java_split(vlan, ",")
        if ranges:  # addOrRemoveVnets does nothing for a list without elements (",")
            # the new list replaces the old; removing vnets would be refused while one is
            # allocated or dedicated to an account (getVnetsToremove), which the simulator's
            # networks never do
            new_vlan = vnet_string(vnet_ranges(store, zone, pn["id"], _methods(pn), ranges))
            check_vnet_removal(store, pn, new_vlan)  # NS:4645-4655: not over a dedicated range
    if state:
        pn["state"] = state
    if tags is not None:
        pn["tags"] = ",".join(tags) or None
    if p.get("networkspeed") is not None:
        pn["networkspeed"] = p.get("networkspeed")
    pn["vlan"] = new_vlan
    store.touch()
    return {"physicalnetwork": public(pn)}


def _methods(pn: dict[str, Any]) -> list[str]:
    return [m for m in (pn.get("isolationmethods") or "").split(",") if m]


@command("deletePhysicalNetwork", mode="async")
def delete_physical_network(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "id")
    # NetworkServiceImpl.checkIfPhysicalNetworkIsDeletable: allocated vnets (none here),
    # networks, then non-Free public IPs (none here); CloudRuntimeException: 530
    if [n for n in store.rows("network", physicalnetworkid=pn["id"]) if not n.get("_system")]:
        raise ApiRefusal(
            530,
            "The Physical Network is not deletable because there are networks associated to "
            "this physical network",
        )
    # deletePhysicalNetwork: VLAN (IP range) rows, vnets, providers with their elements
    # (deleteNetworkServiceProvider), traffic types, in one transaction
    for r in store.rows("vlaniprange", physicalnetworkid=pn["id"]):
        store.remove("vlaniprange", r["id"])
    for nsp in store.rows("networkserviceprovider", physicalnetworkid=pn["id"]):
        _remove_provider(store, nsp)
    for tt in store.rows("traffictype", physicalnetworkid=pn["id"]):
        store.remove("traffictype", tt["id"])
    store.remove("physicalnetwork", pn["id"])
    return {"success": True}


@command("listPhysicalNetworks", list_key="physicalnetwork")
def list_physical_networks(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(store.rows("physicalnetwork"), p, "id", "zoneid")
    if p.get("name"):  # a substring match on the server (LIKE %name%)
        rows = [r for r in rows if p.get("name").lower() in r["name"].lower()]
    return paged(store, p, keyword(rows, p), "physicalnetwork")


# --- traffic types -------------------------------------------------------------------------

TRAFFIC_TYPES = ("None", "Public", "Guest", "Storage", "Management", "Control", "Vpn")
LABELS = (
    "xennetworklabel",
    "kvmnetworklabel",
    "vmwarenetworklabel",
    "hypervnetworklabel",
    "ovm3networklabel",
)
# NetworkServiceImpl.getDefaultXenNetworkLabel
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
    # NetworkServiceImpl.addTrafficTypeToPhysicalNetwork, in its order; create() runs before
    # the job, so every refusal is synchronous
    if ttype not in TRAFFIC_TYPES:  # TrafficType.valueOf: case-sensitive
        raise ApiRefusal(431, f"Unable to resolve trafficType '{ttype}' to a supported value")
    if store.rows("traffictype", physicalnetworkid=pn["id"], traffictype=ttype):
        raise ApiRefusal(530, f"This physical network already supports the traffic type: {ttype}")
    if ttype in ("Storage", "Management", "Control", "Public"):  # isSystemNetwork or Public
        for other in store.rows("physicalnetwork", zoneid=pn["zoneid"]):
            if store.rows("traffictype", physicalnetworkid=other["id"], traffictype=ttype):
                raise ApiRefusal(
                    530,
                    "Fail to add the traffic type to physical network because Zone already has "
                    f"a physical network with this traffic type: {ttype}",
                )
    # (Storage is also refused while secondary storage VMs run; the simulator runs none)
    if not pn.get("tags"):
        _check_untagged(store, pn, [ttype])
    tt: dict[str, Any] = {"traffictype": ttype, "physicalnetworkid": pn["id"]}
    for label in LABELS:
        tt[label] = p.get(label)  # stored as sent, an empty string included
    if tt["xennetworklabel"] is None:  # not sent: the XenServer default for the type
        default = "cloud_link_local_network" if ttype == "Control" else None
        if ttype in XEN_DEFAULTS:
            default = setting(store, XEN_DEFAULTS[ttype]) or None
        tt["xennetworklabel"] = default
    return {"traffictype": public(store.add("traffictype", tt))}


@command("updateTrafficType", mode="async")
def update_traffic_type(store: Store, p: P) -> dict[str, Any]:
    tt = p.row(store, "traffictype", "id")
    # NetworkServiceImpl.updatePhysicalNetworkTrafficType: a label sent empty is cleared
    for label in LABELS:
        if p.has(label):
            tt[label] = p.get(label) or None
    store.touch()
    return {"traffictype": public(tt)}


@command("deleteTrafficType", mode="async")
def delete_traffic_type(store: Store, p: P) -> dict[str, Any]:
    tt = p.row(store, "traffictype", "id")
    # NetworkServiceImpl.deletePhysicalNetworkTrafficType: Guest while guest networks use the
    # physical network (530); Storage while storage network IPs are in use (none here)
    if tt["traffictype"] == "Guest" and [
        n
        for n in store.rows("network", physicalnetworkid=tt["physicalnetworkid"])
        if not n.get("_system") and n.get("traffictype") == "Guest"
    ]:
        raise ApiRefusal(
            530,
            "The Traffic Type is not deletable because there are existing networks with this "
            "traffic type:Guest",
        )
    store.remove("traffictype", tt["id"])
    return {"success": True}


@command("listTrafficTypes", list_key="traffictype")
def list_traffic_types(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")
    rows = store.rows("traffictype", physicalnetworkid=pn["id"])
    return paged(store, p, keyword(rows, p, "traffictype"), "traffictype")


# --- network service providers -------------------------------------------------------------


@command("listNetworkServiceProviders", list_key="networkserviceprovider")
def list_providers(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(store.rows("networkserviceprovider"), p, "physicalnetworkid", "name", "state")
    rows.reverse()  # ordered by internal id, descending
    return paged(store, p, keyword(rows, p), "networkserviceprovider")


def _check_services(name: str, element: Element, services: list[str]) -> list[str]:
    """addProviderToPhysicalNetwork's servicelist rules (all 431); with SourceNat (or, for Nsx
    and Netris, without it: routed mode) Gateway is added."""
    if not element.individual and len(services) != len(element.services):
        raise ApiRefusal(
            431,
            "Cannot enable subset of Services, Please specify the complete list of Services "
            f"for this Service Provider '{name}'",
        )
    lowered = [s.lower() for s in services]
    routed = "sourcenat" not in lowered and name.lower() in ("nsx", "netris")
    gateway = False
    for service in services:
        known = next((s for s in SERVICE_NAMES if s.lower() == service.lower()), None)
        if known is None or known == "Gateway":
            raise ApiRefusal(431, f"Invalid Network Service specified={service}")
        gateway = gateway or known == "SourceNat" or routed
        if known not in element.services:
            raise ApiRefusal(
                431, f"{name} Provider cannot provide this Service specified={service}"
            )
    return [*services, *(["Gateway"] if gateway else [])]


@command("addNetworkServiceProvider", mode="async_create")
def add_provider(store: Store, p: P) -> dict[str, Any]:
    name = p.required("name")
    pn = p.row(store, "physicalnetwork", "physicalnetworkid")
    destination = p.row(store, "physicalnetwork", "destinationphysicalnetworkid", required=False)
    # NetworkServiceImpl.addProviderToPhysicalNetwork, in its order; create() runs before the
    # job, so every refusal is synchronous
    if not any(n.lower() == name.lower() for n in PROVIDER_NAMES):  # Provider.getProvider
        raise ApiRefusal(431, f"Invalid Network Service Provider={name}")
    # PhysicalNetworkServiceProviderDao.findByServiceProvider: SQL equality on the name,
    # case-insensitive under the collation
    if any(
        nsp["name"].lower() == name.lower()
        for nsp in store.rows("networkserviceprovider", physicalnetworkid=pn["id"])
    ):
        raise ApiRefusal(
            530,
            f"The '{name}' provider already exists on physical network : {pn_text(store, pn)}",
        )
    element = ELEMENTS.get(name)  # looked up by the exact name
    if element is None:
        raise ApiRefusal(
            431, f"Unable to find the Network Element implementing the Service Provider '{name}'"
        )
    services = list(element.services)
    if p.has("servicelist"):
        services = _check_services(name, element, p.items("servicelist"))
    # no element row: only createPhysicalNetwork's defaults get one (a VirtualRouter added
    # here needs createVirtualRouterElement before it can be enabled)
    nsp = _new_provider(store, pn, name, services, destination)
    return {"networkserviceprovider": public(nsp)}


def _ready(store: Store, nsp: dict[str, Any]) -> bool:
    """The element's isReady(provider), which enabling needs."""
    name = nsp["name"]
    table = ELEMENT_TABLE.get(name)
    if table:  # VirtualRouterElement / InternalLoadBalancerElement: their element enabled
        return any(e["enabled"] for e in store.rows(table, nspid=nsp["id"]))
    if name in ("PaloAlto", "StratosphereSsp"):
        # PaloAltoExternalFirewallElement: an Enabled firewall device on the physical network;
        # SspElement: an SSP endpoint; the simulator has neither (no addPaloAltoFirewall,
        # addStratosphereSsp)
        return False
    if name == "Tungsten":  # TungstenElement: Management traffic on the physical network
        return bool(
            store.rows(
                "traffictype", physicalnetworkid=nsp["physicalnetworkid"], traffictype="Management"
            )
        )
    # every other element answers true, NetscalerElement included (in 4.22 it returns true
    # with or without a configured device)
    return True


@command("updateNetworkServiceProvider", mode="async")
def update_provider(store: Store, p: P) -> dict[str, Any]:
    nsp = p.row(store, "networkserviceprovider", "id")
    # NetworkServiceImpl.updateNetworkServiceProvider, in its order; nothing is stored unless
    # every check passes
    element = ELEMENTS.get(nsp["name"])
    if element is None:
        raise ApiRefusal(
            431,
            f"Unable to find the Network Element implementing the Service Provider '{nsp['name']}'",
        )
    state = p.get("state")
    if state:
        if state not in ("Enabled", "Disabled", "Shutdown"):  # State.valueOf
            raise ApiRefusal(
                431,
                f"Unable to resolve state '{state}' to a supported value {{Enabled or Disabled}}",
            )
        if state == "Enabled" and not _ready(store, nsp):
            raise ApiRefusal(
                530,
                "Provider is not ready, cannot Enable the provider, please configure the "
                "provider first",
            )
        if state == "Shutdown":
            raise ApiRefusal(431, "Updating the provider state to 'Shutdown' is not supported")
    services = None
    if p.has("servicelist"):
        if not element.individual:
            raise ApiRefusal(
                431, f"Cannot update set of Services for this Service Provider '{nsp['name']}'"
            )
        services = p.items("servicelist")
        for service in services:
            if not any(s.lower() == service.lower() for s in SERVICE_NAMES):
                raise ApiRefusal(431, f"Invalid Network Service specified={service}")
    if state:
        nsp["state"] = state
    if services is not None:
        nsp["servicelist"] = service_list(services)
    store.touch()
    return {"networkserviceprovider": public(nsp)}


def _remove_provider(store: Store, nsp: dict[str, Any]) -> None:
    """deleteNetworkServiceProvider: the element's shutdownProviderInstances removes its
    VirtualRouter / InternalLbVm element row, then the provider goes."""
    table = ELEMENT_TABLE.get(nsp["name"])
    if table:
        for el in store.rows(table, nspid=nsp["id"]):
            store.remove(table, el["id"])
    store.remove("networkserviceprovider", nsp["id"])


@command("deleteNetworkServiceProvider", mode="async")
def delete_provider(store: Store, p: P) -> dict[str, Any]:
    nsp = p.row(store, "networkserviceprovider", "id")
    # NetworkServiceImpl.deleteNetworkServiceProvider refuses (530) while networks use the
    # provider (NetworkDao.listByPhysicalNetworkAndProvider); the simulator's networks do not
    # record their providers, so that check is not made here
    _remove_provider(store, nsp)
    return {"success": True}


def _plain_delete(name: str, table: str, mode: str) -> None:
    """A delete command with no rule beyond the row existing."""

    def delete(store: Store, p: P) -> dict[str, Any]:
        store.remove(table, p.row(store, table, "id")["id"])
        return {"success": True}

    COMMANDS[name] = Command(delete, mode)


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


def check_vnet_removal(store: Store, pn: dict[str, Any], new_vlan: str | None) -> None:
    """NS.getVnetsToremove (NS:4606-4660), for updatePhysicalNetwork `vlan`: the vnets the
    new list drops, grouped into spans, are refused (431) when a span's first or last VLAN
    lies in a dedicated range (only the ends are compared, as the server does)."""
    old = {v for a, b in vnet_spans(pn.get("vlan")) for v in range(a, b + 1)}
    new = {v for a, b in vnet_spans(new_vlan) for v in range(a, b + 1)}
    removed = sorted(old - new)
    if not removed or not new:
        return
    spans: list[list[int]] = []
    for v in removed:
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    for start, end in spans:
        for m in store.rows("guestvlanmap", _pn=pn["id"]):
            ds, de = m["_start"], m["_end"]
            if ds <= start <= de or ds <= end <= de:
                raise ApiRefusal(
                    431,
                    f"Vnet range {ds}-{de} is dedicated to an account. The specified range "
                    f"{start}-{end} overlaps with the dedicated range  Please release the "
                    "overlapping dedicated range before deleting the range",
                )
