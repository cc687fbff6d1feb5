"""Public and guest (VLAN) IP ranges, and storage network ranges.

The VLAN ranges follow ConfigurationManagerImpl.createVlanAndPublicIpRange (the command's
outer method and the inner one it calls through commitVlan) and updateVlanAndPublicIpRange;
the storage ranges follow StorageNetworkManagerImpl. A range has an IPv4 span and may have an
IPv6 one too (dual stack); IPv6-only ranges are not simulated.

The storage range commands catch every exception and fail their job with 530 and the
exception's message (Create/Update/DeleteStorageNetworkIpRangeCmd.execute), so every refusal
below them is a 530 job failure; only parameter problems are synchronous 431s.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: CM ConfigurationManagerImpl,
# NM NetworkModelImpl, NU NetUtils, ARH ApiResponseHelper, CMD CreateVlanIpRangeCmd.
import ipaddress
import re
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    command,
    filtered,
    paged,
    vlan_ids,
)
from cstool.simulator.commands.pods import (
    UNTAGGED,
    UriSyntax,
    broadcast_value,
    check_ip_range,
    cidr_netmask,
    cidr_size,
    db_id,
    ip2long,
    ip6_valid,
    ip_valid,
    java_int,
    java_split,
    netmask_valid,
    pod_text,
    ranges_overlap,
    split_ranges,
    subnet,
    uri_parts,
    vlan_to_uri,
)
from cstool.simulator.commands.tenancy import ROOT_DOMAIN_ID, owner_fields
from cstool.simulator.store import Store, public

BROADCAST_SCHEMES = {  # the schemes of Networks.BroadcastDomainType
    "vlan", "vs", "vnet", "storage", "lswitch", "mido", "pvlan", "vxlan", "vcs",
    "opendaylight", "tf", "nsx", "netris",
}  # fmt: skip

# --- helpers -----------------------------------------------------------------------------


def _cidr(gateway: str, netmask: str) -> str:
    """NetUtils.getCidrFromGatewayAndNetmask (no validation)."""
    size = cidr_size(netmask)
    return f"{subnet(gateway, size)}/{size}"


def _cidr_pair(cidr: str) -> tuple[int, int]:
    address, _, size = cidr.partition("/")
    return ip2long(address), int(size)


def _networks_overlap(a: str, b: str) -> bool:
    """NetUtils.isNetworksOverlap: equal at the shorter prefix."""
    (addr_a, size_a), (addr_b, size_b) = _cidr_pair(a), _cidr_pair(b)
    shift = 32 - min(size_a, size_b)
    return addr_a >> shift == addr_b >> shift


def _same_subnet(ip1: str | None, ip2: str | None, netmask: str) -> bool:
    """NetUtils.sameSubnet (true when either address is missing)."""
    if not ip1 or not ip2:
        return True
    mask = ip2long(netmask)
    return ip2long(ip1) & mask == ip2long(ip2) & mask


def _network_text(store: Store, net: dict[str, Any]) -> str:
    """NetworkVO.toString()."""
    offering = db_id(store.get("networkoffering", net.get("networkofferingid")) or {})
    return (
        f'Network {{"id": {db_id(net)}, "name": "{net.get("name")}", "uuid": "{net["id"]}", '
        f'"networkofferingid": {offering}}}'
    )


def _guest_type(net: dict[str, Any]) -> str | None:
    """Network.getGuestType(): system networks have none."""
    return None if net.get("_system") else net.get("type")


def _offering(store: Store, net: dict[str, Any]) -> dict[str, Any]:
    return store.get("networkoffering", net.get("networkofferingid")) or {}


def _offering_has(store: Store, net: dict[str, Any], service: str) -> bool:
    return any(s.get("name") == service for s in _offering(store, net).get("service") or [])


def _specify_ip_ranges(store: Store, net: dict[str, Any]) -> bool:
    """Network.getSpecifyIpRanges(); of the system offerings only System-Public-Network and
    System-Storage-Network have it (ConfigurationServerImpl.createDefaultNetworkOfferings)."""
    if net.get("_system"):
        return net.get("traffictype") in ("Public", "Storage")
    return bool(net.get("specifyipranges"))


def _shared_without_specify_vlan(store: Store, net: dict[str, Any]) -> bool:
    """NetworkOrchestrator.isSharedNetworkWithoutSpecifyVlan."""
    offering = _offering(store, net)
    return (
        not net.get("_system")
        and offering.get("traffictype") == "Guest"
        and offering.get("guestiptype") == "Shared"
        and not offering.get("specifyvlan")
    )


def _from_string_value(vlan: str) -> str | None:
    """BroadcastDomainType.getValue(BroadcastDomainType.fromString(vlan)); fromString's
    refusals are CloudRuntimeExceptions (530)."""
    if re.fullmatch(r"[+-]?[0-9]+", vlan) and -(2**63) <= int(vlan) < 2**63:  # Long.parseLong
        return vlan
    if not vlan.strip():
        raise ApiRefusal(530, "Expected VLAN or VXLAN but got a null isolation method")
    if vlan.lower() == UNTAGGED:
        return UNTAGGED
    try:
        scheme, _, _ = uri_parts(vlan)
    except UriSyntax:
        raise ApiRefusal(530, f"string is not a broadcast URI: {vlan}") from None
    if scheme not in BROADCAST_SCHEMES:  # matched exactly, lower case
        raise ApiRefusal(530, f"string '{vlan}' has an unknown BroadcastDomainType.")
    return broadcast_value(vlan)


def _expand_vlans(value: str | None) -> set[int]:
    """UriUtils.expandVlanUri: "a-b,c" as numbers; anything unreadable adds nothing."""

    def num(text: str) -> int:
        try:
            return java_int(text)
        except ApiRefusal:
            return -1

    out: set[int] = set()
    for part in java_split(value or "", ","):
        bounds = java_split(part, "-") if part else []
        if len(bounds) == 2:
            lo, hi = num(bounds[0]), num(bounds[1])
            if -1 < lo <= hi:
                out.update(range(lo, hi + 1))
        elif bounds and num(bounds[0]) > -1:
            out.add(num(bounds[0]))
    return out


def _same_isolation_id(one: str | None, other: str | None) -> bool:
    """NetUtils.isSameIsolationId."""
    if not one and not other:
        return True
    if one is None or other is None:
        return False
    if UNTAGGED in one and UNTAGGED in other:
        return True
    one = one[len("vlan://") :] if one.startswith("vlan://") else one
    other = other[len("vlan://") :] if other.startswith("vlan://") else other
    return one.lower() == other.lower()


# --- IPv6 -----------------------------------------------------------------------------------


def ip6_standard(value: str | None) -> str | None:
    """NU.standardizeIp6Address (CMD:180-199 and CreateNetworkCmd apply it to every IPv6
    parameter): the address in its canonical text; an unreadable one is an
    IllegalArgumentException (530)."""
    if value is None:
        return None
    try:
        return ipaddress.IPv6Address(value).compressed
    except ValueError:
        raise ApiRefusal(530, f"Invalid IPv6 address: {value}") from None


def ip6_cidr_standard(value: str | None) -> str | None:
    """NU.standardizeIp6Cidr (CMD:201-206): IPv6Network.fromString masks the address."""
    if value is None:
        return None
    try:
        return ipaddress.IPv6Network(value, strict=False).compressed
    except ValueError:
        raise ApiRefusal(530, f"Invalid IPv6 CIDR: {value}") from None


def _ip6_network(cidr: str | None) -> ipaddress.IPv6Network | None:
    try:
        return ipaddress.IPv6Network(cidr or "", strict=False)
    except ValueError:
        return None


def _ip6_in(address: str | None, cidr: str | None) -> bool:
    """NU.isIp6InNetwork: false for anything unreadable."""
    net = _ip6_network(cidr)
    return net is not None and ip6_valid(address) and ipaddress.IPv6Address(address) in net


def check_ip6_parameters(
    start: str | None, end: str | None, gateway: str | None, cidr: str | None
) -> None:
    """NM.checkIp6Parameters (NM:2396-2430), all 431."""
    if not (gateway or "").strip() or not (cidr or "").strip():
        raise ApiRefusal(
            431, "ip6Gateway and ip6Cidr should be defined for an IPv6 network work properly"
        )
    if not ip6_valid(gateway):
        raise ApiRefusal(431, "Invalid ip6Gateway")
    if _ip6_network(cidr) is None:
        raise ApiRefusal(431, "Invalid ip6cidr")
    if not _ip6_in(gateway, cidr):
        raise ApiRefusal(431, "ip6Gateway is not in ip6cidr indicated network!")
    for value, name in ((start, "startIPv6"), (end, "endIPv6")):
        if (value or "").strip():
            if not ip6_valid(value):
                raise ApiRefusal(431, f"Invalid format for the {name} parameter")
            if not _ip6_in(value, cidr):
                raise ApiRefusal(431, f"{name} is not in ip6cidr indicated network!")


def check_ip6_cidr_64(cidr: str | None) -> None:
    """NM.checkIp6CidrSizeEqualTo64 (NM:2432-2438); an unreadable CIDR counts as size 0."""
    net = _ip6_network(cidr)
    if (net.prefixlen if net is not None else 0) != 64:
        raise ApiRefusal(431, "The cidr size of IPv6 network must be 64 bits!")


def _ip6_span(start: str | None, end: str | None, cidr: str) -> tuple[int, int]:
    """A range's IPv6 span: start-end, else its whole prefix (NU.getIpv6RangeFromCidr)."""
    if start:
        return int(ipaddress.IPv6Address(start)), int(ipaddress.IPv6Address(end or start))
    net = ipaddress.IPv6Network(cidr, strict=False)
    return int(net.network_address), int(net.broadcast_address)


def _check_ip6_overlap(store: Store, zone: dict[str, Any], new: dict[str, Any]) -> None:
    """CM:5364-5390: the new IPv6 span against every range of the zone that has IPv6, public
    and guest alike; a range without start/end counts as its whole prefix."""
    mine = _ip6_span(new.get("startipv6"), new.get("endipv6"), new["ip6cidr"])
    for other in store.rows("vlaniprange", zoneid=zone["id"]):
        if other.get("ip6gateway") is None:
            continue
        theirs = _ip6_span(other.get("startipv6"), other.get("endipv6"), other["ip6cidr"])
        if mine[0] <= theirs[1] and theirs[0] <= mine[1]:
            raise ApiRefusal(
                431,
                f"The IPv6 range with tag: {other['vlan']} already has IPs that overlap with "
                "the new range.",
            )


# --- VLAN (public and guest) IP ranges ---------------------------------------------------


def _range_view(store: Store, r: dict[str, Any]) -> dict[str, Any]:
    """ARH.createVlanIpRangeResponse (ARH:980-998): the range's account owner (with its
    domain), else its domain owner, else for a guest network's range that network's owner
    (system in ROOT), else nothing."""
    view = public(r)
    for key in ("account", "domain", "domainid", "domainpath", "project", "projectid"):
        view.pop(key, None)
    net = store.get("network", r.get("networkid")) or {}
    if r.get("_owner_account") or r.get("_owner_domain"):
        view.update(owner_fields(store, r.get("_owner_account"), r.get("_owner_domain")))
    elif net.get("traffictype") == "Guest":
        # the keys recorded before the simulator kept domains (no domainpath)
        view.update(account="system", domain="ROOT", domainid=ROOT_DOMAIN_ID)
    if r.get("gateway") and r.get("netmask"):
        view["cidr"] = _cidr(r["gateway"], r["netmask"])
    return view


def _default_physical_network(store: Store, zone: dict[str, Any], traffic: str) -> str:
    """NetworkModelImpl.getDefaultPhysicalNetworkByZoneAndTrafficType."""
    found: list[str] = [
        pn["id"]
        for pn in store.rows("physicalnetwork", zoneid=zone["id"])
        if store.rows("traffictype", physicalnetworkid=pn["id"], traffictype=traffic)
    ]
    if not found:
        raise ApiRefusal(
            431,
            f"Unable to find the default physical network with traffic={traffic} in the "
            "specified zone id",
        )
    if len(found) > 1:
        raise ApiRefusal(
            431,
            f"More than one physical networks exist in zone id={db_id(zone)} with traffic "
            f"type={traffic}",
        )
    return found[0]


def _target_network(
    store: Store, zone: dict[str, Any], network: dict[str, Any] | None, public_range: bool
) -> dict[str, Any]:
    """The network the range is for (createVlanAndPublicIpRange(cmd))."""
    basic = zone["networktype"] == "Basic"
    system = [n for n in store.rows("network", zoneid=zone["id"]) if n.get("_system")]
    guests = [n for n in store.rows("network", zoneid=zone["id"]) if not n.get("_system")]
    if public_range:
        if network is None:  # NetworkModelImpl.getSystemNetworkByZoneAndTrafficType
            found = [n for n in system if n.get("traffictype") == "Public"]
            if not found:
                raise ApiRefusal(
                    431, f"Unable to find network with traffic type Public in zone {db_id(zone)}"
                )
            return found[0]
        if _guest_type(network) is not None or network.get("traffictype") != "Public":
            raise ApiRefusal(431, f"Can't find Public network {_network_text(store, network)}")
        return network
    if network is None:
        if basic:  # NetworkModelImpl.getExclusiveGuestNetwork
            shared = [n for n in guests if n.get("type") == "Shared"]
            if len(shared) != 1:
                raise ApiRefusal(
                    431,
                    ("Unable to find network" if not shared else "Found more than 1 network")
                    + f" with trafficType Guest and guestType Shared in zone {db_id(zone)}",
                )
            return shared[0]
        # NetworkModelImpl.getNetworkWithSecurityGroupEnabled
        with_sg = [n for n in guests if _offering_has(store, n, "SecurityGroup")]
        if not with_sg:
            raise ApiRefusal(431, "Network id is required for Direct vlan creation ")
        return with_sg[0]
    kind = _guest_type(network)
    if kind is None or kind == "Isolated" and _offering_has(store, network, "SourceNat"):
        raise ApiRefusal(
            431,
            f"Can't create direct vlan for network {_network_text(store, network)} with "
            f"type: {kind}",
        )
    return network


def _subset_or_superset(
    existing: tuple[str, str], new: tuple[str | None, str | None], ips: tuple[str, str]
) -> str:
    """ConfigurationManagerImpl.checkIfSubsetOrSuperset and NetUtils.
    isNetworkASubsetOrSupersetOfNetworkB: same, superset, subset or neither."""
    gateway, netmask = new
    start, end = ips
    if gateway is None and netmask is None:
        same = _same_subnet(start, existing[0], existing[1])
        return "same" if same and _same_subnet(end, existing[0], existing[1]) else "neither"
    if gateway is None or netmask is None:
        raise ApiRefusal(
            431, "either both netmask and gateway should be passed or both should me omited."
        )
    if not _same_subnet(start, gateway, netmask):
        raise ApiRefusal(431, "The start ip and gateway do not belong to the same subnet")
    if not _same_subnet(end, gateway, netmask):
        raise ApiRefusal(431, "The end ip and gateway do not belong to the same subnet")
    (a, size_a), (b, size_b) = _cidr_pair(_cidr(gateway, netmask)), _cidr_pair(_cidr(*existing))
    shift = 32 - min(size_a, size_b)
    if a >> shift != b >> shift:
        return "neither"
    return "superset" if size_a < size_b else "same" if size_a == size_b else "subset"


def _same_ip6_subnet(network: dict[str, Any], ip6: dict[str, Any]) -> bool:
    """hasSameSubnet's IPv6 part (CM:5212-5226): the range keeps the network's IPv6 gateway
    and CIDR, inside which its span lies; reached only when the IPv4 span is on another
    subnet, and then the range counts as on the same subnet."""
    gateway, cidr = ip6.get("ip6gateway"), ip6.get("ip6cidr")
    if gateway is not None and gateway != network.get("ip6gateway"):
        raise ApiRefusal(
            431,
            f"The input gateway {gateway} is not same as network gateway "
            f"{network.get('ip6gateway')}",
        )
    if cidr is not None and cidr != network.get("ip6cidr"):
        raise ApiRefusal(
            431, f"The input cidr {cidr} is not same as network cidr {network.get('ip6cidr')}"
        )
    gateway = gateway if gateway is not None else network.get("ip6gateway")
    cidr = cidr if cidr is not None else network.get("ip6cidr")
    check_ip6_parameters(ip6.get("startipv6"), ip6.get("endipv6"), gateway, cidr)
    if _guest_type(network) != "Shared":
        check_ip6_cidr_64(cidr)
    return True


def _validate_ip_range(
    network: dict[str, Any],
    vlans: list[dict[str, Any]],
    new: tuple[str | None, str | None],
    ips: tuple[str, str],
    ip6: dict[str, Any],
) -> tuple[bool, tuple[str | None, str | None]]:
    """ConfigurationManagerImpl.validateIpRange and hasSameSubnet (CM:5145-5226): a guest
    range either extends one of the network's subnets or adds a new, unrelated one; with no
    range left, the network's own gateway and CIDR are the subnet."""
    existing: tuple[str | None, str | None] = (None, None)
    same = False
    subnets = [(v["gateway"], v["netmask"]) for v in vlans]
    if not vlans and network.get("gateway") and network.get("cidr"):
        subnets = [(network["gateway"], cidr_netmask(int(network["cidr"].split("/")[1])))]
    for v_gateway, v_netmask in subnets:
        v = {"gateway": v_gateway, "netmask": v_netmask}
        existing = (v["gateway"], v["netmask"])
        found = _subset_or_superset((v["gateway"], v["netmask"]), new, ips)
        if found == "neither" and ip6.get("ip6cidr") is not None:
            same = _same_ip6_subnet(network, ip6)
            break
        if found in ("superset", "subset"):
            raise ApiRefusal(
                431,
                f"The subnet you are trying to add is a {found} of the existing subnet "
                f"having gateway {v['gateway']} and netmask {v['netmask']}",
            )
        if found == "same":
            if new[0] is not None and new[0] != v["gateway"]:
                raise ApiRefusal(
                    431,
                    "The gateway of the subnet should be unique. The subnet already has a "
                    f"gateway {v['gateway']}",
                )
            same = True
            break
    if new == (None, None) and not same:
        raise ApiRefusal(
            431,
            "The ip range dose not belong to any of the existing subnets, Provide the netmask "
            "and gateway if you want to add new subnet",
        )
    details = existing if same else new
    if details[0] is None:  # ip2Long(null)
        raise ApiRefusal(530, 'Cannot invoke "String.split(String)" because "ip" is null')
    if ranges_overlap(ips[0], ips[1], details[0], details[0]):
        raise ApiRefusal(431, "The gateway ip should not be the part of the ip range being added.")
    return same, details


def _check_overlap_private(store: Store, zone: dict[str, Any], start: str, end: str) -> None:
    """ConfigurationManagerImpl.checkOverlapPrivateIpRange: no pod management range of the
    zone may overlap."""
    for pod in store.rows("pod", zoneid=zone["id"]):
        for parts in split_ranges(pod):
            if len(parts) > 1 and ip_valid(parts[0]) and ip_valid(parts[1]):
                if ranges_overlap(start, end, parts[0], parts[1]):
                    raise ApiRefusal(
                        431,
                        "The Start IP and EndIP address range overlap with private IP :"
                        f"{parts[0]}:{parts[1]}",
                    )


def _check_zone_vlan_ip_overlap(
    store: Store, zone: dict[str, Any], network: dict[str, Any], new: dict[str, str]
) -> None:
    """ConfigurationManagerImpl.checkZoneVlanIpOverlap: against every range of the zone whose
    subnet overlaps. An untagged new range, or one on the same VLAN, must extend it (same
    gateway and netmask, no common address); on another VLAN it is refused when either side
    is a public network."""
    vlan, cidr = new["vlan"], new["cidr"]
    for other in store.rows("vlaniprange", zoneid=zone["id"]):
        if not (other.get("gateway") and other.get("netmask") and other.get("networkid")):
            continue
        if not _networks_overlap(cidr, _cidr(other["gateway"], other["netmask"])):
            continue
        if UNTAGGED in vlan.lower() or _expand_vlans(_from_string_value(vlan)) & _expand_vlans(
            _from_string_value(other["vlan"])
        ):
            if new["gateway"] != other["gateway"] or new["netmask"] != other["netmask"]:
                raise ApiRefusal(
                    431,
                    f"The IP range has already been added with gateway {other['gateway']} ,and "
                    f"netmask {other['netmask']}, Please specify the gateway/netmask if you "
                    "want to extend ip range",
                )
            if not cidr.endswith("/31") and ranges_overlap(
                new["startip"], new["endip"], other["startip"], other["endip"]
            ):
                raise ApiRefusal(
                    431,
                    "The IP range already has IPs that overlap with the new range. Please "
                    "specify a different start IP/end IP.",
                )
        else:
            onet = store.get("network", other["networkid"]) or {}
            if "Public" in (network.get("traffictype"), onet.get("traffictype")):
                raise ApiRefusal(
                    431,
                    f"The IP range with tag: {other['vlan']} in zone {zone['name']} has "
                    "overlapped with the subnet. Please specify a different gateway/netmask.",
                )


def _check_inner(
    store: Store,
    zone: dict[str, Any],
    network: dict[str, Any],
    pod: dict[str, Any] | None,
    new: dict[str, Any],
) -> None:
    """The inner CM.createVlanAndPublicIpRange(zoneId, networkId, ...) (CM:5235-5420), in its
    order; createNetwork runs it for the network's first range."""
    if pod is not None:
        if pod["zoneid"] != zone["id"]:
            raise ApiRefusal(431, f"Pod {pod_text(pod)} doesn't belong to zone id={db_id(zone)}")
        if zone["networktype"] != "Basic" or network.get("traffictype") != "Guest":
            raise ApiRefusal(
                431,
                "Pod id can be specified only for the networks of type Guest in zone of type Basic",
            )
    # CM:5288-5297: a guest network's range is on the network's own VLAN
    own = network.get("broadcasturi")
    if network.get("traffictype") == "Guest" and own and not _same_isolation_id(own, new["vlan"]):
        raise ApiRefusal(431, "Vlan doesn't match vlan of the network")
    if new.get("_owned") and zone["networktype"] != "Advanced":  # CM:5309-5311
        raise ApiRefusal(431, "Vlan owner can be defined only in the zone of type Advanced")
    gateway, netmask, start, end = new["gateway"], new["netmask"], new["startip"], new["endip"]
    if not ip_valid(gateway):
        raise ApiRefusal(431, "Please specify a valid gateway")
    if not netmask_valid(netmask):
        raise ApiRefusal(431, "Please specify a valid netmask")
    if new.get("ip6cidr") is not None:  # CM:5324-5331
        if not ip6_valid(new.get("ip6gateway")):
            raise ApiRefusal(431, "Please specify a valid IPv6 gateway")
        if _ip6_network(new["ip6cidr"]) is None:
            raise ApiRefusal(431, "Please specify a valid IPv6 CIDR")
    cidr = new["cidr"] = _cidr(gateway, netmask)
    size = cidr_size(netmask)
    if not all(ip_valid(x) and subnet(x, size) == subnet(gateway, size) for x in (start, end)):
        raise ApiRefusal(431, "Please specify a valid IP range or valid netmask or valid gateway")
    # The guest-CIDR overlap check runs only when DataCenterDao.findVnet finds the VLAN, which
    # it is given here in its vlan:// form and so never finds.
    # checkPublicIpRangeErrors (its subnet checks cannot fail after the one above)
    if ip2long(start) > ip2long(end):
        raise ApiRefusal(431, "Please specify a valid IP range.")
    if not cidr.endswith("/31") and ranges_overlap(start, end, gateway, gateway):
        raise ApiRefusal(431, "The gateway ip should not be the part of the ip range being added.")
    shared_free = _shared_without_specify_vlan(store, network)
    if not shared_free:
        _check_zone_vlan_ip_overlap(store, zone, network, new)
    if new.get("ip6cidr") is not None:
        _check_ip6_overlap(store, zone, new)
    if not shared_free:
        pn = store.get("physicalnetwork", new["physicalnetworkid"]) or {}
        value = _from_string_value(new["vlan"])
        if value in {str(v) for v in vlan_ids(pn.get("vlan"))}:
            raise ApiRefusal(
                431,
                f"The VLAN tag {new['vlan']} is already being used for dynamic vlan allocation "
                f"for the guest network in zone {zone['name']}",
            )


def commit_range(
    store: Store,
    zone: dict[str, Any],
    network: dict[str, Any],
    pod: dict[str, Any] | None,
    new: dict[str, Any],
    public_range: bool,
    system_vms: bool = False,
) -> dict[str, Any]:
    """Check (the inner method) and store a range: createVlanIpRange's, or the first range of
    a shared network, which createNetwork makes in the same transaction (NS:2333-2337)."""
    _check_inner(store, zone, network, pod, new)
    return store.add(
        "vlaniprange",
        {
            "forvirtualnetwork": public_range,
            "zoneid": zone["id"],
            "vlan": new["vlan"],
            "gateway": new["gateway"],
            "netmask": new["netmask"],
            "startip": new["startip"],
            "endip": new["endip"],
            "networkid": network["id"],
            "physicalnetworkid": new["physicalnetworkid"],
            # a pod mapping only when not dedicated (commitVlanAndIpRange)
            "podid": (pod or {}).get("id"),
            "podname": (pod or {}).get("name"),
            "forsystemvms": system_vms,
            "ip6gateway": new.get("ip6gateway"),
            "ip6cidr": new.get("ip6cidr"),
            "startipv6": new.get("startipv6"),
            "endipv6": new.get("endipv6"),
            # commitVlanAndIpRange (CM:5565-5585): an account map, else a domain map unless
            # the range is for system VMs
            "_owner_account": new.get("_owner_account"),
            "_owner_domain": None if system_vms else new.get("_owner_domain"),
        },
    )


def _owner(store: Store, p: P) -> dict[str, Any]:
    """The range's owner at creation (CM:4865-4892): a project's account, or an account found
    by name in a domain (the system account is no owner), or a domain; `account` without
    `domainid` is ignored."""
    account, project = p.get("account"), p.row(store, "project", "projectid", required=False)
    out: dict[str, Any] = {}
    if project is not None:
        if account is not None:
            raise ApiRefusal(431, "Account and projectId are mutually exclusive")
        if store.get("account", project.get("_account")) is None:
            raise ApiRefusal(431, "Please specify a valid projectId")
        out["_owner_account"] = project["_account"]
    domain = p.row(store, "domain", "domainid", required=False)
    if account is not None and domain is not None:
        found = store.rows("account", name=account, domainid=domain["id"])
        if not found:
            raise ApiRefusal(431, "Please specify a valid account.")
        if found[0]["name"] != "system" or domain["id"] != ROOT_DOMAIN_ID:
            out["_owner_account"] = found[0]["id"]  # "by default vlan is dedicated to system"
    elif domain is not None:
        out["_owner_domain"] = domain["id"]
    out["_owned"] = bool(out)
    return out


def _ip6_params(p: P) -> dict[str, Any]:
    """The IPv6 parameters as CMD:180-206 give them (standardized), end defaulting to start
    (CM:4849-4852), and the prefix limit (CM:4853-4859)."""
    cidr = ip6_cidr_standard(p.get("ip6cidr"))
    start = ip6_standard(p.get("startipv6"))
    out = {
        "ip6cidr": cidr,
        "ip6gateway": ip6_standard(p.get("ip6gateway")),
        "startipv6": start,
        "endipv6": ip6_standard(p.get("endipv6")) or start,
    }
    net = _ip6_network(cidr)
    if net is not None and net.prefixlen > 64:
        raise ApiRefusal(431, "For IPv6 range, prefix must be /64 or less")
    return out


@command("createVlanIpRange")
def create_vlan_ip_range(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.createVlanAndPublicIpRange(CreateVlanIpRangeCmd)."""
    network = p.row(store, "network", "networkid", required=False)
    zone_row = p.row(store, "zone", "zoneid", required=False)
    pod = p.row(store, "pod", "podid", required=False)
    pn_row = p.row(store, "physicalnetwork", "physicalnetworkid", required=False)
    zoneid = zone_row["id"] if zone_row else None
    pnid = pn_row["id"] if pn_row else None
    if network is not None:  # the network decides the zone and the physical network
        zoneid, pnid = network["zoneid"], network.get("physicalnetworkid")
    vlan: str | None = p.get("vlan") or UNTAGGED  # CreateVlanIpRangeCmd.getVlan
    if not (vlan or "").strip():  # verifyAndUpdateVlanId on a blank value
        guest = network is not None and network.get("traffictype") == "Guest"
        vlan = network.get("broadcasturi") if guest and network else UNTAGGED
    if vlan and not vlan.startswith("vlan"):
        vlan = vlan_to_uri(vlan)
    public_range = p.boolean("forvirtualnetwork", default=True)
    start, end = p.get("startip"), p.get("endip")
    if p.boolean("forsystemvms") and p.get("account") is not None:
        raise ApiRefusal(431, "Account name should not be provided when ForSystemVMs is enabled")
    if start is None and p.get("ip6cidr") is None:
        raise ApiRefusal(431, "StartIP or IPv6 CIDR is missing in the parameters!")
    ip6 = _ip6_params(p)
    if start is None:  # not a server rule: the simulator keeps ranges with IPv4 only
        raise ApiRefusal(530, "IPv6-only ranges are not simulated")
    end = start if end is None else end
    owner = _owner(store, p)
    zone = store.get("zone", zoneid)
    if zone is None:
        raise ApiRefusal(431, "Unable to find zone by id null")  # no zone id, no network id
    if pnid is None:
        if public_range:
            pnid = _default_physical_network(store, zone, "Public")
        elif zone["networktype"] == "Basic" or zone["securitygroupsenabled"]:
            pnid = _default_physical_network(store, zone, "Guest")
        else:
            raise ApiRefusal(
                431,
                "Physical Network Id is null, please provide the Network id for Direct vlan "
                "creation ",
            )
    advanced = zone["networktype"] == "Advanced"
    if zone["securitygroupsenabled"] and advanced and public_range:
        raise ApiRefusal(431, "Can't add virtual ip range into a zone with security group enabled")
    network = _target_network(store, zone, network, public_range)
    if not _specify_ip_ranges(store, network):
        raise ApiRefusal(
            431, f"Network {_network_text(store, network)} doesn't support adding ip ranges"
        )
    gateway, netmask = p.get("gateway"), p.get("netmask")
    same: tuple[bool, tuple[str | None, str | None]] | None = None
    vlans = store.rows("vlaniprange", networkid=network["id"])
    if advanced:
        if network.get("traffictype") == "Guest":
            if _guest_type(network) != "Shared":
                raise ApiRefusal(
                    431,
                    "Can execute createVLANIpRanges on shared guest network, but type of this "
                    f"guest network {_network_text(store, network)} is {_guest_type(network)}",
                )
            if vlans:
                if vlan is None or UNTAGGED in vlan:
                    vlan = vlans[0]["vlan"]
                elif not _same_isolation_id(vlans[0]["vlan"], vlan):
                    raise ApiRefusal(
                        431,
                        f"there is already one vlan {vlans[0]['vlan']} on network "
                        f":{_network_text(store, network)}, only one vlan is allowed on guest "
                        "network",
                    )
            same = _validate_ip_range(network, vlans, (gateway, netmask), (start, end), ip6)
    elif network.get("traffictype") == "Management":
        raise ApiRefusal(431, "Cannot execute createVLANIpRanges on management network")
    elif zone["networktype"] == "Basic":
        same = _validate_ip_range(network, vlans, (gateway, netmask), (start, end), ip6)
    if ip6["ip6cidr"] is not None and ip6["ip6gateway"] is None:  # CM:5025-5027
        raise ApiRefusal(
            431,
            "Gateway, netmask and zoneId have to be passed in for virtual and direct untagged "
            "networks",
        )
    _check_overlap_private(store, zone, start, end)
    # commitVlan: extending a subnet takes that subnet's gateway and netmask (a new subnet of
    # a shared network needs DHCP across subnets, which the VirtualRouter has)
    if same is not None and same[0]:
        gateway, netmask = same[1]
    new = {
        "vlan": UNTAGGED if vlan is None else vlan,
        "gateway": gateway or "",
        "netmask": netmask or "",
        "startip": start,
        "endip": end,
        "physicalnetworkid": pnid,
        **ip6,
        **owner,
    }
    system_vms = p.boolean("forsystemvms")
    row = commit_range(store, zone, network, pod, new, public_range, system_vms)
    return {"vlan": _range_view(store, row)}


@command("updateVlanIpRange")
def update_vlan_ip_range(store: Store, p: P) -> dict[str, Any]:
    """CM.updateVlanAndPublicIpRange (CM:5606-5668), updateVlanAndIpv4Range and
    updateVlanAndIpv6Range: the range is checked against its own subnet and prefix only, never
    against other ranges or pods."""
    row = p.row(store, "vlaniprange", "id")
    ip6 = {  # UpdateVlanIpRangeCmd standardizes each IPv6 parameter
        "startipv6": ip6_standard(p.get("startipv6")),
        "endipv6": ip6_standard(p.get("endipv6")),
        "ip6gateway": ip6_standard(p.get("ip6gateway")),
        "ip6cidr": ip6_cidr_standard(p.get("ip6cidr")),
    }
    # CM:5638-5642: a range without IPv6 takes no IPv6 parameter
    if row.get("ip6gateway") is None and any(v is not None for v in ip6.values()):
        raise ApiRefusal(431, "IPv6 is not support in this IP range.")
    system = p.get("forsystemvms")
    if system is not None and p.boolean("forsystemvms") != bool(row.get("forsystemvms")):
        if not row.get("forvirtualnetwork"):
            raise ApiRefusal(
                431, "forSystemVms is not available for this IP range with vlan type: "
                "DirectAttached",
            )  # fmt: skip
        # CM:5649-5657: a dedicated range changes its system-VM flag only once released
        dedicated = "Specified Public IP range has already been dedicated to a"
        if row.get("_owner_account"):
            raise ApiRefusal(431, f"{dedicated}n account")
        if row.get("_owner_domain"):
            raise ApiRefusal(431, f"{dedicated} domain")
    gateway = p.get("gateway") if p.get("gateway") is not None else row["gateway"]
    netmask = p.get("netmask") if p.get("netmask") is not None else row["netmask"]
    start = p.get("startip") if p.get("startip") is not None else row["startip"]
    end = p.get("endip") if p.get("endip") is not None else row["endip"]
    if not ip_valid(gateway) or not netmask_valid(netmask):  # ipAndNetMaskToCidr gave null
        raise ApiRefusal(431, f"Invalid gateway ({gateway}) or netmask ({netmask})")
    size = cidr_size(netmask)
    check_ip_range(start, end, subnet(gateway, size), size)
    if ranges_overlap(start, end, gateway, gateway):
        raise ApiRefusal(431, "The gateway shouldn't overlap the new start/end ip addresses")
    # the IPv4 part commits in its own transaction (commitUpdateVlanAndIpRange) before the
    # IPv6 part is checked: a refused IPv6 part leaves the IPv4 change made
    row.update(gateway=gateway, netmask=netmask, startip=start, endip=end)
    if system is not None:
        row["forsystemvms"] = p.boolean("forsystemvms")
    store.touch()
    if row.get("ip6gateway") is not None:
        _update_ip6(store, row, ip6)
    return {"vlan": _range_view(store, row)}


def _update_ip6(store: Store, row: dict[str, Any], ip6: dict[str, Any]) -> None:
    """CM.updateVlanAndIpv6Range (CM:5731-5790): run on every update of a range that has IPv6,
    whatever was sent; the gateway must lie in the prefix, and a range of a network that is
    not Shared (a public range) needs a /64."""
    gateway = ip6["ip6gateway"] if ip6["ip6gateway"] is not None else row["ip6gateway"]
    cidr = ip6["ip6cidr"] if ip6["ip6cidr"] is not None else row["ip6cidr"]
    start = ip6["startipv6"] if ip6["startipv6"] is not None else row.get("startipv6")
    end = ip6["endipv6"] if ip6["endipv6"] is not None else row.get("endipv6")
    check_ip6_parameters(start, end, gateway, cidr)
    network = store.get("network", row.get("networkid")) or {}
    if _guest_type(network) != "Shared":
        check_ip6_cidr_64(cidr)
    if (start is None) != (end is None):
        raise ApiRefusal(431, f"Invalid IPv6 range {start}-{end}")
    row.update(ip6gateway=gateway, ip6cidr=cidr, startipv6=start, endipv6=end)
    store.touch()


@command("listVlanIpRanges", list_key="vlaniprange")
def list_vlan_ip_ranges(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.searchForVlans: a keyword matches the VLAN tag or the "start-end"
    text (SQL LIKE) and disables every other filter."""
    rows = store.rows("vlaniprange")
    if p.get("keyword"):
        word = str(p.get("keyword")).lower()
        rows = [
            r
            for r in rows
            if word in str(r.get("vlan")).lower() or word in f"{r['startip']}-{r['endip']}"
        ]
    else:
        rows = filtered(rows, p, "id", "zoneid", "podid", "networkid", "vlan", "physicalnetworkid")
        if p.get("forvirtualnetwork") is not None:
            rows = [r for r in rows if r["forvirtualnetwork"] == p.boolean("forvirtualnetwork")]
    return paged(store, p, [_range_view(store, r) for r in rows], "vlaniprange")


# --- storage network ranges (StorageNetworkManagerImpl) ----------------------------------


def _storage_view(r: dict[str, Any]) -> dict[str, Any]:
    return public(r)


def _check_storage_overlaps(store: Store, pod: dict[str, Any], start: str, end: str) -> None:
    """StorageNetworkManagerImpl.checkOverlapPrivateIpRange and checkOverlapStorageIpRange.
    A pod without management ranges is fine, and the storage ranges compared include the
    one being updated (listByPodId): an update that keeps any of its own addresses fails."""
    for parts in split_ranges(pod):
        if len(parts) > 1 and ip_valid(parts[0]) and ip_valid(parts[1]):
            if ranges_overlap(start, end, parts[0], parts[1]):
                raise ApiRefusal(
                    530,
                    "The Storage network Start IP and endIP address range overlap with private "
                    f"IP :{parts[0]}:{parts[1]}",
                )
    for other in store.rows("storagenetworkiprange", podid=pod["id"]):
        if ranges_overlap(start, end, other["startip"], other["endip"]):
            raise ApiRefusal(
                530,
                "The Storage network Start IP and endIP address range overlap with private "
                f"IP :{other['startip']} - {other['endip']}",
            )


@command("createStorageNetworkIpRange", mode="async")
def create_storage_range(store: Store, p: P) -> dict[str, Any]:
    """StorageNetworkManagerImpl.createIpRange: only the netmask is validated; the gateway
    and the addresses are stored as given (no subnet check)."""
    pod = p.row(store, "pod", "podid")
    gateway, netmask, start = p.required("gateway"), p.required("netmask"), p.required("startip")
    vlan = p.integer("vlan")
    end = p.get("endip")
    end = start if end is None else end
    if not netmask_valid(netmask):
        raise ApiRefusal(530, f"Invalid netmask:{netmask}")
    networks = store.rows("network", zoneid=pod["zoneid"], traffictype="Storage")
    if not networks:
        zone = store.get("zone", pod["zoneid"]) or {}
        raise ApiRefusal(530, f"Cannot find storage network in zone {db_id(zone)}")
    _check_storage_overlaps(store, pod, start, end)
    ip2long(start), ip2long(end)  # createStorageIpEntires reads both
    row = store.add(
        "storagenetworkiprange",
        {
            "podid": pod["id"],
            "zoneid": pod["zoneid"],
            "networkid": networks[0]["id"],
            "startip": start,
            "endip": end,
            "gateway": gateway,
            "netmask": netmask,
            "vlan": vlan,
        },
    )
    return {"storagenetworkiprange": _storage_view(row)}


@command("updateStorageNetworkIpRange", mode="async")
def update_storage_range(store: Store, p: P) -> dict[str, Any]:
    """StorageNetworkManagerImpl.updateIpRange: each given value replaces the stored one; an
    absent or empty vlan leaves the stored VLAN (it can be set, never cleared)."""
    row = p.row(store, "storagenetworkiprange", "id")
    vlan = p.integer("vlan")  # blank INTEGER parameters are ignored (ParamProcessWorker)
    start, end, netmask = p.get("startip"), p.get("endip"), p.get("netmask")
    if netmask is not None and not netmask_valid(netmask):
        raise ApiRefusal(530, f"Invalid netmask:{netmask}")
    if start is not None or end is not None:
        pod = store.get("pod", row["podid"])
        if pod is None:  # its pod was deleted (the range stayed)
            raise ApiRefusal(530, f"Cannot find pod {row['podid']}")
        start = row["startip"] if start is None else start
        end = row["endip"] if end is None else end
        _check_storage_overlaps(store, pod, start, end)
    if vlan is not None:
        row["vlan"] = vlan
    if start is not None:
        row["startip"] = start
    if end is not None:
        row["endip"] = end
    if netmask is not None:
        row["netmask"] = netmask
    store.touch()
    return {"storagenetworkiprange": _storage_view(row)}


@command("listStorageNetworkIpRange", list_key="storagenetworkiprange")
def list_storage_ranges(store: Store, p: P) -> dict[str, Any]:
    """StorageNetworkManagerImpl.listIpRange: id, else podid, else zoneid."""
    rows = store.rows("storagenetworkiprange")
    for param in ("id", "podid", "zoneid"):
        if p.get(param):
            rows = [r for r in rows if r[param if param != "id" else "id"] == p.get(param)]
            break
    # paging is ignored and count is the number of rows returned
    return (
        {"count": len(rows), "storagenetworkiprange": [_storage_view(r) for r in rows]}
        if rows
        else {}
    )
