"""Guest networks and network offerings: the Basic zone's network and the shared networks of
Advanced zones with security groups.

createNetwork follows NetworkServiceImpl.createGuestNetwork and NetworkOrchestrator
.createGuestNetwork in their order; a shared network's first IP range is made in the same
transaction by the inner ConfigurationManagerImpl.createVlanAndPublicIpRange (ranges.py).

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: NS NetworkServiceImpl,
# NO NetworkOrchestrator, NM NetworkModelImpl, CM ConfigurationManagerImpl, ARH
# ApiResponseHelper, CNC CreateNetworkCmd, DNC DeleteNetworkCmd.
from typing import Any

from cstool.simulator.commands.core import ApiRefusal, P, command, filtered, keyword, paged
from cstool.simulator.commands.physical import vnet_spans
from cstool.simulator.commands.pods import (
    UNTAGGED,
    cidr_size,
    ip2long,
    ip6_valid,
    ip_valid,
    netmask_valid,
    subnet,
    vlan_to_uri,
)
from cstool.simulator.commands.ranges import (
    check_ip6_cidr_64,
    check_ip6_parameters,
    commit_range,
    ip6_cidr_standard,
    ip6_standard,
)
from cstool.simulator.commands.tenancy import ROOT_DOMAIN_ID
from cstool.simulator.commands.zones import db_id, zone_text
from cstool.simulator.settings import global_value, offering_providers
from cstool.simulator.store import Store, public


@command("listNetworkOfferings", list_key="networkoffering")
def list_network_offerings(store: Store, p: P) -> dict[str, Any]:
    rows = filtered(
        store.rows("networkoffering"), p, "id", "name", "guestiptype", "state", "traffictype"
    )
    return paged(store, p, keyword(rows, p), "networkoffering")


# --- createNetwork -----------------------------------------------------------------------


def _services(offering: dict[str, Any]) -> set[str]:
    return {str(s.get("name")) for s in offering.get("service") or []}


def _physical_network(
    store: Store, p: P, offering: dict[str, Any], zone: dict[str, Any] | None
) -> dict[str, Any]:
    """CNC.getPhysicalNetworkId (CNC:307-345) and NM.findPhysicalNetworkId (NM:1209-1247):
    the one given (Shared or L2 offerings only), else the zone's only physical network with
    Guest traffic, else its one without tags (the default offerings have none)."""
    pn = p.row(store, "physicalnetwork", "physicalnetworkid", required=False)
    if pn is not None:
        if offering["guestiptype"] not in ("Shared", "L2"):
            raise ApiRefusal(
                431,
                "Physical network ID can be specified for networks of guest IP type Shared or "
                "L2 only.",
            )
        return dict(pn)
    if zone is None:
        raise ApiRefusal(431, "ZoneId is required as physicalNetworkId is null")
    found = [
        x
        for x in store.rows("physicalnetwork", zoneid=zone["id"])
        if store.rows("traffictype", physicalnetworkid=x["id"], traffictype="Guest")
    ]
    if not found:
        dbid = db_id(store, "zone", zone)
        raise ApiRefusal(431, f"Unable to find physical network in zone id={dbid}")
    if len(found) == 1:
        return found[0]
    untagged = [x for x in found if not x.get("tags")]
    if len(untagged) > 1:
        raise ApiRefusal(
            530,
            "There is more than 1 physical network with empty tag in the zone "
            + zone_text(store, zone),
        )
    if not untagged:
        raise ApiRefusal(431, "Unable to find physical network which match the tags null")
    return untagged[0]


def _ip_families(p: P) -> tuple[bool, bool]:
    """NS:1577-1598: IPv4 with gateway and netmask, IPv6 with ip6cidr and ip6gateway; a
    gateway alone counts for its own family."""
    gateway = p.get("gateway")
    ipv4 = bool((gateway or "").strip() and (p.get("netmask") or "").strip())
    ipv6 = bool((p.get("ip6cidr") or "").strip() and (p.get("ip6gateway") or "").strip())
    if gateway is not None:
        if ip_valid(gateway):
            ipv4 = True
        elif ip6_valid(gateway):
            ipv6 = True
        else:  # InetAddress.getByName: UnknownHostException
            raise ApiRefusal(431, "Gateway parameter is invalid")
    return ipv4, ipv6


def _network_or_broadcast(gateway: str, netmask: str) -> bool:
    """NetUtils.isNetworkorBroadcastIP."""
    size = cidr_size(netmask)
    low = ip2long(subnet(gateway, size))
    return ip2long(gateway) in (low, low + 2 ** (32 - size) - 1)


def _ipv4_params(p: P, ipv4: bool) -> dict[str, Any]:
    """NS:1609-1643: start/end format, gateway and netmask with a start, the gateway neither
    the network nor the broadcast address."""
    start, end = p.get("startip"), p.get("endip")
    gateway, netmask = p.get("gateway"), p.get("netmask")
    out: dict[str, Any] = {"startip": start, "endip": end, "cidr": None}
    if not ipv4:
        return out
    if start is not None:
        if not ip_valid(start):
            raise ApiRefusal(431, "Invalid format for the startIp parameter")
        if end is None:
            out["endip"] = start
        elif not ip_valid(end):
            raise ApiRefusal(431, "Invalid format for the endIp parameter")
        if gateway is None or netmask is None:
            raise ApiRefusal(
                431, "gateway and netmask should be defined when startIP/endIP are passed in"
            )
    if gateway is not None and netmask is not None:
        if not ip_valid(gateway):
            raise ApiRefusal(431, "Invalid gateway")
        if not netmask_valid(netmask):
            raise ApiRefusal(431, "Invalid netmask")
        if _network_or_broadcast(gateway, netmask):
            raise ApiRefusal(
                431, "Invalid gateway IP provided. Either the IP is broadcast or network IP."
            )
        size = cidr_size(netmask)
        out["cidr"] = f"{subnet(gateway, size)}/{size}"
    return out


def _ipv6_params(
    p: P, zone: dict[str, Any], offering: dict[str, Any], ipv4: bool, ipv6: bool
) -> dict[str, Any]:
    """NS:1645-1663 (CNC standardizes each IPv6 parameter): the IPv6 parameters checked,
    only in an Advanced zone on a Shared offering, with IPv6 DNS for the zone."""
    out = {
        "ip6gateway": ip6_standard(p.get("ip6gateway")),
        "ip6cidr": ip6_cidr_standard(p.get("ip6cidr")),
        "startipv6": ip6_standard(p.get("startipv6")),
        "endipv6": ip6_standard(p.get("endipv6")),
    }
    if not ipv6:
        return out
    out["endipv6"] = out["endipv6"] or out["startipv6"]
    check_ip6_parameters(out["startipv6"], out["endipv6"], out["ip6gateway"], out["ip6cidr"])
    if offering["guestiptype"] != "Shared":
        check_ip6_cidr_64(out["ip6cidr"])
    if zone["networktype"] != "Advanced" or offering["guestiptype"] != "Shared":
        raise ApiRefusal(431, "Can only support create IPv6 network with advance shared network!")
    dns = (p.get("ip6dns1"), p.get("ip6dns2"), zone.get("ip6dns1"), zone.get("ip6dns2"))
    if not any((x or "").strip() for x in dns):
        raise ApiRefusal(
            431,
            "Can only create IPv6 network if the zone has IPv6 DNS! Please configure the zone "
            "IPv6 DNS1 and/or IPv6 DNS2.",
        )
    if not ipv4 and "VirtualRouter" in offering_providers(offering).values():
        raise ApiRefusal(
            431,
            "Currently IPv6-only Shared network with Virtual Router provider is not supported.",
        )
    return out


def _check_providers(store: Store, offering: dict[str, Any], pn: dict[str, Any]) -> None:
    """NO.finalizeServicesAndProvidersForNetwork (NO:4400-4427, reached from NS:1751): each
    service's provider is Enabled on the physical network and has the service (an
    UnsupportedServiceException, 530)."""
    for service, provider in offering_providers(offering).items():
        rows = store.rows("networkserviceprovider", physicalnetworkid=pn["id"], name=provider)
        if not any(
            r.get("state") == "Enabled" and service in (r.get("servicelist") or []) for r in rows
        ):
            raise ApiRefusal(
                530,
                f"Provider {provider} is either not enabled or doesn't support service "
                f"{service} in physical network id={db_id(store, 'physicalnetwork', pn)}",
            )


def _check_zone_rules(
    store: Store, zone: dict[str, Any], offering: dict[str, Any], vlan: str | None
) -> str | None:
    """NO:2774-2831: a Basic zone has one guest network, of a Shared offering without
    SourceNat, on the untagged VLAN; a zone with security groups takes Shared (or L2)
    networks without SourceNat. Returns the VLAN (untagged by default in a Basic zone)."""
    if zone["networktype"] == "Basic":
        if store.rows("network", zoneid=zone["id"], traffictype="Guest"):
            raise ApiRefusal(
                431, "Can't have more than one Guest network in zone with network type Basic"
            )
        if offering["guestiptype"] != "Shared" or "SourceNat" in _services(offering):
            raise ApiRefusal(
                431,
                "For zone of type Basic only offerings of guestType Shared with disabled "
                "SourceNat service are allowed",
            )
        if vlan is None:
            return UNTAGGED
        if vlan.lower() != UNTAGGED:
            raise ApiRefusal(431, "Only vlan untagged can be created in the zone of type Basic")
    elif zone.get("securitygroupsenabled"):
        if offering["guestiptype"] not in ("Shared", "L2"):
            raise ApiRefusal(
                431, "Only shared or L2 guest network can be created in security group enabled zone"
            )
        if "SourceNat" in _services(offering):
            raise ApiRefusal(431, "Service SourceNat is not allowed in security group enabled zone")
    return vlan


def _check_vlan(
    store: Store,
    zone: dict[str, Any],
    offering: dict[str, Any],
    pn: dict[str, Any],
    vlan: str | None,
) -> str | None:
    """NO:2838-2899: a VLAN exactly when the offering says specifyVlan; not one the physical
    network allocates dynamically; not the VLAN of another network of the zone. Returns the
    network's broadcast URI."""
    if (vlan is not None) != bool(offering.get("specifyvlan")):
        if vlan is None:
            raise ApiRefusal(
                431, "Vlan has to be specified; corresponding offering says specifyVlan=true"
            )
        raise ApiRefusal(431, "Can't specify vlan; corresponding offering says specifyVlan=false")
    if vlan is None:
        return None
    uri = vlan if vlan.startswith("vlan://") else vlan_to_uri(vlan)
    value = uri[len("vlan://") :]
    vnets = {str(v) for lo, hi in vnet_spans(pn.get("vlan")) for v in range(lo, hi + 1)}
    if value in vnets:  # DataCenterDao.findVnet on the physical network
        raise ApiRefusal(
            431,
            f"The VLAN tag to use for new guest network, {vlan} is already being used for "
            f"dynamic vlan allocation for the guest network in zone {zone['name']}",
        )
    if any(n.get("broadcasturi") == uri for n in store.rows("network", zoneid=zone["id"])):
        raise ApiRefusal(
            431,
            f"Network with vlan {vlan} already exists or overlaps with other network vlans in "
            f"zone {zone_text(store, zone)}",
        )
    return uri


@command("createNetwork")
def create_network(store: Store, p: P) -> dict[str, Any]:
    """NS.createGuestNetwork (NS:1486-1860) then NO.createGuestNetwork (NO:2735-2970), as a
    root admin: Shared networks are Domain networks of the system account in ROOT."""
    name = p.required("name")
    offering = p.row(store, "networkoffering", "networkofferingid")
    zone_row = p.row(store, "zone", "zoneid", required=False)
    pn = _physical_network(store, p, offering, zone_row)
    zone = zone_row or store.get("zone", pn["zoneid"])
    if zone is None:
        raise ApiRefusal(431, "Specified zone id was not found")
    ipv4, ipv6 = _ip_families(p)
    if offering["guestiptype"] == "Shared":  # NS:1601-1607 (an account setting)
        allow = global_value(store, "allow.empty.start.end.ipaddress")
        no_span = all(p.get(x) is None for x in ("startip", "endip", "startipv6", "endipv6"))
        if str(allow).lower() != "true" and no_span:
            raise ApiRefusal(431, "Either IPv4 or IPv6 start and end address are mandatory")
    v4 = _ipv4_params(p, ipv4)
    v6 = _ipv6_params(p, zone, offering, ipv4, ipv6)
    vlan = p.get("vlan")
    if offering["guestiptype"] == "Shared" and not offering.get("specifyvlan") and vlan:
        raise ApiRefusal(  # NS:1717-1720
            431,
            "Cannot specify vlanId when create a network from network offering with "
            "specifyvlan=false",
        )
    _check_providers(store, offering, pn)
    if offering["guestiptype"] == "Shared" and ipv4 and v4["startip"] is None:
        raise ApiRefusal(530, "IPv4 address range needs to be provided")  # NS:1793-1799
    # NO.createGuestNetwork
    if offering["state"] != "Enabled":
        raise ApiRefusal(431, "Can't use specified network offering id as its state is not Enabled")
    if pn["state"] != "Enabled":
        raise ApiRefusal(431, f"Specified physical network id is in incorrect state:{pn['state']}")
    vlan = _check_zone_rules(store, zone, offering, vlan)
    basic = zone["networktype"] == "Basic"
    uri = None if basic else _check_vlan(store, zone, offering, pn, vlan)
    if not basic and offering["guestiptype"] == "Shared" and not v4["cidr"] and not v6["ip6cidr"]:
        raise ApiRefusal(431, "Gateway/netmask are required when creating Shared networks.")
    if basic and v4["cidr"]:
        raise ApiRefusal(
            431, "StartIp/endIp/gateway/netmask can't be specified for zone of type Basic"
        )
    net: dict[str, Any] = {
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
        "broadcastdomaintype": "Native" if basic else "Vlan",
        "acltype": "Domain",
        "specifyipranges": True,
        "canusefordeploy": True,
        "issystem": False,
        "isdefault": True,
        "tags": [],
        "account": "system",
        "domain": "ROOT",
    }
    if not basic:  # ARH:2539-2601: what a root admin sees of an Advanced shared network
        net.update(_advanced_view(p, offering, uri, v4, v6))
    if v4["startip"] is not None and not basic:  # NS:1776-1779 createVlan
        _first_range(store, zone, net, pn, p, v4, v6)
    else:
        store.add("network", net)
    return {"network": public(net)}


def _advanced_view(
    p: P, offering: dict[str, Any], uri: str | None, v4: dict[str, Any], v6: dict[str, Any]
) -> dict[str, Any]:
    gateway, netmask = p.get("gateway"), p.get("netmask")
    return {
        "domainid": ROOT_DOMAIN_ID,
        "subdomainaccess": True,
        "specifyvlan": bool(offering.get("specifyvlan")),
        "broadcasturi": uri,
        "vlan": uri[len("vlan://") :] if uri else None,
        "gateway": gateway if v4["cidr"] else None,
        "netmask": netmask if v4["cidr"] else None,
        "cidr": v4["cidr"],
        "ip6gateway": v6["ip6gateway"],
        "ip6cidr": v6["ip6cidr"],
    }


def _first_range(
    store: Store,
    zone: dict[str, Any],
    net: dict[str, Any],
    pn: dict[str, Any],
    p: P,
    v4: dict[str, Any],
    v6: dict[str, Any],
) -> None:
    """The network's first range (NS:2333-2337): the inner createVlanAndPublicIpRange in the
    same transaction as the network, so a refused range leaves no network behind."""
    net.setdefault("id", store.new_id())
    new = {
        "vlan": net.get("broadcasturi") or UNTAGGED,
        "gateway": p.get("gateway"),
        "netmask": p.get("netmask"),
        "startip": v4["startip"],
        "endip": v4["endip"],
        "physicalnetworkid": pn["id"],
        **v6,
    }
    if v6["ip6cidr"] is None:
        new.update(startipv6=None, endipv6=None)
    saved = dict(store.tables["network"])
    store.add("network", net)
    try:
        commit_range(store, zone, net, None, new, public_range=False)
    except ApiRefusal:
        store.tables["network"] = saved
        raise


# --- listNetworks, deleteNetwork -----------------------------------------------------------


@command("deleteNetwork", mode="async")
def delete_network(store: Store, p: P) -> dict[str, Any]:
    """NO.destroyNetwork; DNC.execute fails the job with 530 "Failed to delete network" when it
    returns false: in a Basic zone while the zone's system VMs exist (NO:3386-3395); in an
    Advanced zone with security groups while they hold addresses of its ranges, which
    deleteVlansInNetwork cannot then remove (NO:3453-3456, 3506-3508). The ranges go with the
    network."""
    net = p.row(store, "network", "id")
    zone = store.get("zone", net["zoneid"]) or {}
    with_sg = zone.get("securitygroupsenabled") and "SecurityGroup" in _services(
        store.get("networkoffering", net.get("networkofferingid")) or {}
    )
    if zone.get("networktype") == "Basic" or with_sg:
        vms = store.rows("systemvm", zoneid=zone.get("id"))
        if any(v.get("state") != "Destroyed" for v in vms):
            raise ApiRefusal(530, "Failed to delete network")
    for r in store.rows("vlaniprange", networkid=net["id"]):
        store.remove("vlaniprange", r["id"])
    store.remove("network", net["id"])
    return {"success": True}


@command("listNetworks", list_key="network")
def list_networks(store: Store, p: P) -> dict[str, Any]:
    rows = [r for r in store.rows("network") if bool(r.get("_system")) == p.boolean("issystem")]
    rows = filtered(rows, p, "id", "zoneid", "type", "traffictype", "physicalnetworkid")
    rows = filtered(rows, p, "acltype", "vlan")
    return paged(store, p, keyword(rows, p), "network")
