"""Pods and their management ranges, with ConfigurationManagerImpl's own rules and quirks.

A pod keeps all its management ranges in one string, as HostPodVO.description does on the
server: "start-end-forsystemvms-vlan[,start-end-forsystemvms-vlan...]". The handlers read it
with Java's String.split and change it with the server's own string operations, so that the
server's quirks show here too: updatePodManagementNetworkIpRange's plain text replace, and the
reversed order deleteManagementNetworkIpRange leaves behind.

Where the server throws inside an async job, the code and text follow ApiAsyncJobDispatcher.
runJob: an InvalidParameterValueException escaping the command fails the job with 431, any
other exception with 530, and the commands that catch every exception (delete and update of a
management range) fail their job with 530 whatever the cause.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    ParamError,
    command,
    filtered,
    keyword,
    paged,
    setting,
)
from cstool.simulator.commands.dedicated_rows import drop_dedication
from cstool.simulator.store import Store, public

UNTAGGED = "untagged"  # com.cloud.dc.Vlan.UNTAGGED, HostPodVO's DefaultVlanForPodIpRange

# --- Java's String and NetUtils, as the server computes them ---------------------------


def java_split(text: str, sep: str) -> list[str]:
    """String.split(sep) for a one-character literal: trailing empty strings are dropped."""
    parts = text.split(sep)
    if len(parts) == 1:  # no separator at all: the whole text, even when empty
        return parts
    while parts and parts[-1] == "":
        parts.pop()
    return parts


_IPV4 = re.compile(r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$")


def ip_valid(text: str | None) -> bool:
    """NetUtils.isValidIp4 (commons-validator 1.6 InetAddressValidator.isValidInet4Address)."""
    m = _IPV4.match(text or "")
    if m is None:
        return False
    return all(int(g) <= 255 and not (len(g) > 1 and g[0] == "0") for g in m.groups())


def ip6_valid(text: str | None) -> bool:
    """NetUtils.isValidIp6."""
    try:
        ipaddress.IPv6Address(text or "")
    except ValueError:
        return False
    return True


def java_int(text: str) -> int:
    """Integer.parseInt: optional sign and ASCII digits in int range, else NumberFormatException
    (raised as the server's 530 text)."""
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**31) <= int(text) < 2**31:
        return int(text)
    raise ApiRefusal(530, f'For input string: "{text}"')


def ip2long(text: str) -> int:
    """NetUtils.ip2Long: no validation at all; a non-number part is RuntimeException
    "Incorrect number" (530 wherever it happens)."""
    result = 0
    for token in java_split(text, "."):
        try:
            value = java_int(token)
        except ApiRefusal:
            raise ApiRefusal(530, "Incorrect number") from None
        result = ((result << 8) | value) & 0xFFFFFFFFFFFFFFFF  # a Java long
    return result - (1 << 64) if result >= 1 << 63 else result


def long2ip(value: int) -> str:
    """NetUtils.long2Ip."""
    return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


def ranges_overlap(s1: str, e1: str | None, s2: str, e2: str | None) -> bool:
    """NetUtils.ipRangesOverlap, case by case (it also answers for a start after its end)."""
    a = ip2long(s1)
    b = ip2long(e1) if e1 is not None else a
    c = ip2long(s2)
    d = ip2long(e2) if e2 is not None else c
    return a in (c, d) or b in (c, d) or c < a < d or c < b < d or a < c < b or a < d < b


def netmask_valid(text: str | None) -> bool:
    """NetUtils.isValidIp4Netmask: contiguous ones, at least one."""
    if not ip_valid(text):
        return False
    mask = ip2long(text or "")
    bits = format(mask, "032b")
    return "1" in bits and "01" not in bits


def cidr_size(netmask: str) -> int:
    """NetUtils.getCidrSize(netmask): 32 minus the trailing zero bits."""
    mask, zeros = ip2long(netmask), 0
    while zeros < 32 and not (mask >> zeros) & 1:
        zeros += 1
    return 32 - zeros


def cidr_netmask(size: int) -> str:
    """NetUtils.getCidrNetmask(size)."""
    return long2ip((0xFFFFFFFF << (32 - size)) & 0xFFFFFFFF)


def subnet(ip: str, size: int) -> str:
    """NetUtils.getCidrSubNet(ip, size)."""
    return long2ip(ip2long(ip) & ip2long(cidr_netmask(size)))


def ip_and_netmask_to_cidr(ip: str | None, netmask: str | None) -> str | None:
    """NetUtils.ipAndNetMaskToCidr: None unless both are valid."""
    if not ip_valid(ip) or not netmask_valid(netmask):
        return None
    return f"{subnet(ip or '', cidr_size(netmask or ''))}/{cidr_size(netmask or '')}"


def cidr_valid(cidr: str | None) -> bool:
    """NetUtils.isValidIp4Cidr."""
    parts = java_split(cidr or "", "/")
    if not cidr or len(parts) != 2 or not ip_valid(parts[0]):
        return False
    try:
        return 0 <= java_int(parts[1]) <= 32
    except ApiRefusal:
        return False


def range_end_of_cidr(address: str, size: int) -> str:
    """NetUtils.getIpRangeEndIpFromCidr: the last usable address of the CIDR."""
    start = (ip2long(address) & ip2long(cidr_netmask(size))) + 1
    end = (start >> (32 - size)) + 1
    return long2ip((end << (32 - size)) - 2)


def range_start_of_cidr(address: str, size: int) -> str:
    """NetUtils.getIpRangeStartIpFromCidr: the first usable address of the CIDR."""
    return long2ip((ip2long(address) & ip2long(cidr_netmask(size))) + 1)


# --- java.net.URI, as far as BroadcastDomainType uses it ---------------------------------

_URI_ILLEGAL = set(' "<>\\^`{|}') | {chr(c) for c in range(0x20)} | {chr(0x7F)}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.S)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")


class UriSyntax(Exception):
    """java.net.URISyntaxException; its message is "<reason> at index <i>: <input>"."""


def _illegal(text: str, part: str, offset: int, where: str) -> None:
    for i, c in enumerate(part):
        bad_escape = c == "%" and not re.match(r"%[0-9A-Fa-f]{2}", part[i : i + 3])
        if c in _URI_ILLEGAL or bad_escape:
            raise UriSyntax(f"Illegal character in {where} at index {offset + i}: {text}")


def uri_parts(text: str) -> tuple[str | None, str | None, str | None]:
    """(scheme, authority, host) of new java.net.URI(text)."""
    if not text:
        raise UriSyntax("Expected scheme-specific part at index 0: ")
    m = _SCHEME.match(text)
    if not m:
        _illegal(text, text, 0, "path")
        return None, None, None
    scheme, rest = m.groups()
    if not rest.startswith("//"):
        _illegal(text, rest, len(scheme) + 1, "opaque part")
        return scheme, None, None  # opaque, e.g. vlan:11
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    _illegal(text, authority, len(scheme) + 3, "authority")
    _illegal(text, rest[2 + len(authority) :], len(scheme) + 3 + len(authority), "path")
    if not authority:
        if rest == "//":
            raise UriSyntax(f"Expected authority at index {len(scheme) + 3}: {text}")
        return scheme, None, None
    host, _, port = authority.rsplit("@", 1)[-1].partition(":")
    ok = _HOST.match(host) and (not port or port.isdigit())
    return scheme, authority, host if ok else None


def broadcast_value(text: str) -> str | None:
    """BroadcastDomainType.getValue(String): the authority for vlan:// (any case), the
    scheme-specific part for lswitch:, the host otherwise; so None for a bare "11" or
    "untagged"."""
    scheme, authority, host = uri_parts(text)
    kind = (scheme or "").lower()
    if kind == "vlan":
        return authority
    if kind == "lswitch":
        return text[len(kind) + 1 :]
    return host


def vlan_to_uri(value: str) -> str:
    """BroadcastDomainType.Vlan.toUri(value).toString()."""
    text = value if "://" in value else f"vlan://{value}"
    try:
        uri_parts(text)
    except UriSyntax:
        raise ApiRefusal(530, f"Unable to convert to broadcast URI: {value}") from None
    return text


# --- the pod's description string ---------------------------------------------------------


def db_id(row: dict[str, Any]) -> int:
    """The number the server prints for a row's database id (the simulator's row sequence)."""
    return int(row.get("_seq") or 0)


def pod_text(pod: dict[str, Any]) -> str:
    """HostPodVO.toString()."""
    return f'HostPod {{"id":{db_id(pod)},"name":"{pod["name"]}","uuid":"{pod["id"]}"}}'


def zone_text(zone: dict[str, Any]) -> str:
    """DataCenterVO.toString()."""
    return f'Zone {{"id": "{db_id(zone)}", "name": "{zone["name"]}", "uuid": "{zone["id"]}"}}'


def description(pod: dict[str, Any]) -> str | None:
    """HostPodVO.getDescription(); state files of older simulators kept a list of ranges."""
    if "_description" not in pod:
        old = pod.pop("_ranges", None) or []
        pod["_description"] = ",".join(
            f"{r['start']}-{r['end']}-{r['system']}-{r['vlan']}" for r in old
        )
    value = pod["_description"]
    return None if value is None else str(value)


def split_ranges(pod: dict[str, Any]) -> list[list[str]]:
    """pod.getDescription().split(",") and each range .split("-")."""
    text = description(pod)
    if text is None:
        raise ApiRefusal(
            530,
            'Cannot invoke "String.split(String)" because the return value of '
            '"com.cloud.dc.HostPodVO.getDescription()" is null',
        )
    return [java_split(r, "-") for r in java_split(text, ",")]


def pod_cidr(pod: dict[str, Any]) -> tuple[str, int]:
    """The pod's stored cidr_address and cidr_size."""
    size = cidr_size(pod["netmask"]) if ip_valid(pod.get("netmask")) else 0
    return (subnet(pod["gateway"], size) if ip_valid(pod.get("gateway")) else "", size)


def _pod_view(pod: dict[str, Any]) -> dict[str, Any]:
    """ApiResponseHelper.createPodResponse: the range lists are parsed from the description
    (empty lists, not absent, for a pod without ranges)."""
    ranges = []
    text = description(pod)
    if text:
        for parts in (java_split(r, "-") for r in java_split(text, ",")):
            tag = parts[3] if len(parts) > 3 and parts[3] != UNTAGGED else UNTAGGED
            ranges.append(
                {
                    "startip": parts[0] if parts else "",
                    "endip": parts[1] if len(parts) > 1 else "",
                    "forsystemvms": parts[2] if len(parts) > 2 else "0",
                    "vlanid": tag if "://" in tag else f"vlan://{tag}",
                }
            )
    view = public(pod)
    view.update(
        ipranges=ranges,
        startip=[r["startip"] for r in ranges],
        endip=[r["endip"] for r in ranges],
        forsystemvms=[r["forsystemvms"] for r in ranges],
        vlanid=[r["vlanid"] for r in ranges],
    )
    return view


# --- checks shared by pods and ranges (ConfigurationManagerImpl) --------------------------


def check_ip_range(start: str | None, end: str | None, address: str, size: int) -> None:
    """ConfigurationManagerImpl.checkIpRange (431 each)."""
    if start and not ip_valid(start):
        raise ApiRefusal(431, "The start address of the IP range is not a valid IP address.")
    if end and not ip_valid(end):
        raise ApiRefusal(431, "The end address of the IP range is not a valid IP address.")
    if start and subnet(start, size) != subnet(address, size):
        raise ApiRefusal(431, "The start address of the IP range is not in the CIDR subnet.")
    if end and subnet(end, size) != subnet(address, size):
        raise ApiRefusal(431, "The end address of the IP range is not in the CIDR subnet.")
    if end and ip2long(start or "") > ip2long(end):
        raise ApiRefusal(
            431, "The start IP address must have a lower value than the end IP address."
        )


def check_overlap_public(store: Store, zoneid: str, start: str, end: str) -> None:
    """ConfigurationManagerImpl.checkOverlapPublicIpRange: no public (user_ip_address) address
    of the zone inside start..end; the zone's addresses are those of its VLAN ranges, in the
    order they were added."""
    lo, hi = ip2long(start), ip2long(end)
    for r in store.rows("vlaniprange", zoneid=zoneid):
        if not (r.get("startip") and r.get("endip")):
            continue
        first = max(ip2long(r["startip"]), lo)
        if first <= min(ip2long(r["endip"]), hi):
            raise ApiRefusal(
                431,
                "The Start IP and endIP address range overlap with Public IP :" + long2ip(first),
            )


def _check_pod_cidr_subnets(
    store: Store, zone: dict[str, Any], skip: str | None, cidr: str
) -> None:
    """ConfigurationManagerImpl.checkPodCidrSubnets: the new (or edited) pod first, then every
    other pod of the zone, each against the zone's guest CIDR and against all the others,
    compared at the shorter of the two prefixes."""
    address, _, size = cidr.partition("/")
    entries: list[tuple[dict[str, Any] | None, str, int]] = [(None, address, int(size))]
    entries += [(x, *pod_cidr(x)) for x in store.rows("pod", zoneid=zone["id"]) if x["id"] != skip]
    guest = zone.get("guestcidraddress")
    gaddr, _, gsize_s = (guest or "").partition("/")
    for pod, addr, psize in entries:
        if guest:
            use = min(psize, int(gsize_s))
            if subnet(addr, use) == subnet(range_start_of_cidr(gaddr, int(gsize_s)), use):
                if pod is None:
                    raise ApiRefusal(
                        431,
                        "The subnet of the pod you are adding conflicts with the subnet of the "
                        "Guest IP Network. Please specify a different CIDR.",
                    )
                raise ApiRefusal(
                    431,
                    f"Warning: The subnet of pod {pod['name']} in zone {zone['name']} conflicts "
                    "with the subnet of the Guest IP Network. Please change either the pod's "
                    "CIDR or the Guest IP Network's subnet, and re-run install-vmops-management.",
                )
        for other, oaddr, osize in entries:
            if other is pod:
                continue
            use = min(psize, osize)
            if subnet(addr, use) == subnet(oaddr, use):
                oname = other["name"] if other else "newPod"
                if pod is None:
                    raise ApiRefusal(
                        431,
                        "The subnet of the pod you are adding conflicts with the subnet of pod "
                        f"{oname} in zone {zone['name']}. Please specify a different CIDR.",
                    )
                raise ApiRefusal(
                    431,
                    f"Warning: The pods {pod['name']} and {oname} in zone {zone['name']} have "
                    "conflicting CIDR subnets. Please change the CIDR of one of these pods.",
                )


def _pod_named(store: Store, zone: dict[str, Any], name: str) -> bool:
    """HostPodDao.findByName: SQL equality under MySQL's case-insensitive collation."""
    return any(x["name"].lower() == name.lower() for x in store.rows("pod", zoneid=zone["id"]))


def _check_pod_attributes(
    store: Store,
    zone: dict[str, Any],
    skip: str | None,
    name: str,
    gateway: str,
    cidr: str | None,
    ips: tuple[str | None, str | None],
    allocation: str | None,
    check_duplicates: bool,
    skip_gateway_overlap: bool,
) -> None:
    """ConfigurationManagerImpl.checkPodAttributes and checkPodAttributesForNonEdgeZone."""
    start, end = ips
    if check_duplicates and _pod_named(store, zone, name):
        raise ApiRefusal(
            431,
            f"A pod with name: {name} already exists in zone {zone_text(zone)}. "
            "Please specify a different pod name. ",
        )
    if zone.get("type") != "Edge":
        if not cidr_valid(cidr):
            raise ApiRefusal(431, f"Please enter a valid CIDR for pod: {name}")
        address, size_s = (cidr or "").split("/")
        size = int(size_s)
        check_ip_range(start, end, address, size)
        if start:
            check_overlap_public(store, zone["id"], start, end or start)
        if not ip_valid(gateway):
            raise ApiRefusal(431, "The gateway is not a valid IP address.")
        if subnet(gateway, size) != subnet(address, size):
            raise ApiRefusal(431, "The gateway is not in the CIDR subnet.")
        if not skip_gateway_overlap and ranges_overlap(start or "", end, gateway, gateway):
            raise ApiRefusal(431, "The gateway shouldn't overlap start/end ip addresses")
        check = setting(store, "check.pod.cidrs")  # null, blank or Boolean.parseBoolean
        if not check.strip() or check.lower() == "true":
            _check_pod_cidr_subnets(store, zone, skip, cidr or "")
    if allocation and allocation not in ("Enabled", "Disabled"):
        raise ApiRefusal(
            431, f"Unable to resolve Allocation State '{allocation}' to a supported state"
        )


# --- pods --------------------------------------------------------------------------------


@command("createPod")
def create_pod(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.createPod(zoneId, ...) then createPod(userId, ...)."""
    name = p.required("name")
    zone = p.row(store, "zone", "zoneid")
    start, end = p.get("startip"), p.get("endip")
    gateway, netmask = p.get("gateway"), p.get("netmask")
    cidr = None
    if zone.get("type") != "Edge":
        # checkPodRangeParametersBasicsForNonEdgeZone: a pod outside an edge zone cannot
        # exist without its first management range
        if not ip_valid(start):
            raise ApiRefusal(431, "The start IP is invalid")
        if end is not None and not ip_valid(end):
            raise ApiRefusal(431, "The end IP is invalid")
        if not ip_valid(gateway):
            raise ApiRefusal(431, "The gateway is invalid")
        if not netmask_valid(netmask):
            raise ApiRefusal(431, "The netmask is invalid")
        cidr = ip_and_netmask_to_cidr(gateway, netmask)
    elif any(x is not None for x in (start, end, gateway, netmask)):
        raise ApiRefusal(431, "IP range parameters can not be specified for a pod in an edge zone")
    address, _, size = (cidr or "/0").partition("/")
    if start and end is None:  # endIp defaults to the end of the pod's CIDR
        end = range_end_of_cidr(address, int(size))
    allocation = p.get("allocationstate")
    _check_pod_attributes(
        store, zone, None, name, gateway or "", cidr, (start, end), allocation, True, False
    )
    pod = store.add(
        "pod",
        {
            "name": name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "gateway": gateway or "",
            "netmask": cidr_netmask(int(size)),
            "hasannotations": False,
            # HostPodVO defaults to Enabled; an empty value leaves that default
            "allocationstate": allocation or "Enabled",
            # the first range: forsystemvms 0, untagged; an edge pod has no description
            "_description": f"{start}-{end}-0-{UNTAGGED}" if start else None,
        },
    )
    return {"pod": _pod_view(pod)}


@command("updatePod")
def update_pod(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.editPod (UpdatePodCmd passes startip/endip as null)."""
    pod = p.row(store, "pod", "id")
    zone = store.get("zone", pod["zoneid"]) or {}
    gateway = p.get("gateway", pod["gateway"])
    netmask = p.get("netmask", cidr_netmask(pod_cidr(pod)[1]))
    name = p.get("name", pod["name"])
    allocation = p.get("allocationstate", pod["allocationstate"])
    cidr = ip_and_netmask_to_cidr(gateway, netmask)
    # duplicates are looked for only when the name changes (Java equals: case-sensitive)
    _check_pod_attributes(
        store, zone, pod["id"], name, gateway, cidr, (None, None), allocation,
        pod["name"] != name, True,
    )  # fmt: skip
    if cidr is None:  # getCidrAddress(null): only reachable for an edge pod
        raise ApiRefusal(530, 'Cannot invoke "String.split(String)" because "cidr" is null')
    address, _, size_s = cidr.partition("/")
    size = int(size_s)
    for parts in split_ranges(pod):
        if len(parts) <= 1 or not (ip_valid(parts[0]) and ip_valid(parts[1])):
            continue
        if subnet(parts[0], size) != subnet(address, size):
            raise ApiRefusal(
                431, "The start address of the some IP range is not in the CIDR subnet."
            )
        if subnet(parts[1], size) != subnet(address, size):
            raise ApiRefusal(431, "The end address of the some IP range is not in the CIDR subnet.")
        if ranges_overlap(parts[0], parts[1], gateway, gateway):
            raise ApiRefusal(431, "The gateway shouldn't overlap some start/end ip addresses")
    pod.update(name=name, gateway=gateway, netmask=cidr_netmask(size))
    if allocation:
        pod["allocationstate"] = allocation
    store.touch()
    return {"pod": _pod_view(pod)}


@command("deletePod")
def delete_pod(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.deletePod. checkIfPodIsDeletable refuses (530) for allocated
    private IPs, volumes, hosts, VMs and clusters (compute.pod_deletable; the simulator keeps
    no private IP allocations). The pod's VLAN (Basic guest) ranges are deleted with it; its
    storage network ranges are not looked at: the pod row is only marked removed, so they stay
    and are still listed."""
    from cstool.simulator.commands.compute import pod_deletable

    pod = p.row(store, "pod", "id")
    pod_deletable(store, pod)
    for row in store.rows("vlaniprange", podid=pod["id"]):
        store.remove("vlaniprange", row["id"])
    store.remove("pod", pod["id"])
    drop_dedication(store, "pod", pod["id"])  # CM:1883-1886: its dedication row goes too
    return {"success": True}


@command("listPods", list_key="pod")
def list_pods(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.searchForPods: exact name, keyword on the name."""
    rows = filtered(store.rows("pod"), p, "id", "zoneid", "name", "allocationstate")
    rows = keyword(rows, p)
    return paged(store, p, [_pod_view(r) for r in rows], "pod")


# --- management ranges -------------------------------------------------------------------


def _vlan_number_from_uri(vlan: str) -> str:
    """ConfigurationManagerImpl.getVlanNumberFromUri (CloudRuntimeException: 530)."""
    try:
        scheme, _, _ = uri_parts(vlan)
        value = broadcast_value(vlan)
    except UriSyntax as exc:
        raise ApiRefusal(
            530, f"Invalid vlan parameter: {vlan} can't get vlan number from it due to: {exc}"
        ) from None
    if value is None or (scheme or "").lower() != "vlan":
        raise ApiRefusal(530, f"Vlan parameter : {vlan} is not in valid format")
    return value


@command("createManagementNetworkIpRange", mode="async")
def create_management_range(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.createPodIpRange. CreateManagementNetworkIpRangeCmd does not
    catch anything, so its refusals fail the job with 431 (runJob) and the rest with 530."""
    pod = p.row(store, "pod", "podid")
    gateway, netmask, start = p.required("gateway"), p.required("netmask"), p.required("startip")
    end = p.get("endip")
    vlan = p.get("vlan") or UNTAGGED  # CreateManagementNetworkIpRangeCmd.getVlan
    if not vlan.startswith("vlan"):
        vlan = vlan_to_uri(vlan)
    number = _vlan_number_from_uri(vlan)
    vlan_id = None if number == UNTAGGED else java_int(number)
    if not ip_valid(gateway) and not ip6_valid(gateway):
        raise ApiRefusal(431, "The gateway IP address is invalid.")
    if not netmask_valid(netmask):
        raise ApiRefusal(431, "The netmask IP address is invalid.")
    if end is None:
        end = start
    cidr = ip_and_netmask_to_cidr(gateway, netmask)
    if not cidr_valid(cidr):
        raise ApiRefusal(431, f"The CIDR is invalid {cidr}")
    address, size = pod_cidr(pod)
    if gateway != pod["gateway"]:  # one gateway and one netmask per pod, compared as text
        raise ApiRefusal(
            431,
            f"Multiple gateways for the POD: {pod_text(pod)} are not allowed. The Gateway "
            f"should be same as the existing Gateway {pod['gateway']}",
        )
    if netmask != cidr_netmask(size):
        raise ApiRefusal(
            431,
            f"Multiple subnets for the POD: {pod_text(pod)} are not allowed. The Netmask "
            f"should be same as the existing Netmask {cidr_netmask(size)}",
        )
    check_ip_range(start, end, address, size)
    check_overlap_public(store, pod["zoneid"], start, end)
    if subnet(gateway, size) != subnet(address, size):
        raise ApiRefusal(431, "The gateway is not in the CIDR subnet.")
    if ranges_overlap(start, end, gateway, gateway):
        raise ApiRefusal(431, "The gateway shouldn't overlap start/end ip addresses")
    for parts in split_ranges(pod):  # every existing range, wherever it is listed
        if len(parts) > 1 and ip_valid(parts[0]) and ip_valid(parts[1]):
            if ranges_overlap(start, end, parts[0], parts[1]):
                raise ApiRefusal(
                    431,
                    "The new range overlaps with existing range. "
                    "Please add a mutually exclusive range.",
                )
    tag = UNTAGGED if vlan_id is None else str(vlan_id)
    added = f"{start}-{end}-{'1' if p.boolean('forsystemvms') else '0'}-{tag}"
    current = description(pod)
    pod["_description"] = f"{current},{added}" if current else added
    store.touch()
    return {"pod": _pod_view(pod)}


@command("deleteManagementNetworkIpRange", mode="async")
def delete_management_range(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.deletePodIpRange; DeleteManagementNetworkIpRangeCmd turns every
    exception into a 530 job failure with its message."""
    pod = p.row(store, "pod", "podid")
    start, end, raw_vlan = p.required("startip"), p.required("endip"), p.required("vlan")
    try:  # BroadcastDomainType.getValue: null for a bare "11" or "untagged"
        vlan = broadcast_value(raw_vlan)
    except UriSyntax:
        raise ApiRefusal(530, f"Incorrect vlan {raw_vlan}") from None
    if not ip_valid(start):
        raise ApiRefusal(530, "The start address of the IP range is not a valid IP address.")
    if not ip_valid(end):
        raise ApiRefusal(530, "The end address of the IP range is not a valid IP address.")
    if ip2long(start) > ip2long(end):
        raise ApiRefusal(
            530, "The start IP address must have a lower value than the end IP address."
        )
    ranges = split_ranges(pod)
    if not ranges:
        raise ApiRefusal(530, "The IP range cannot be found. As the existing IP range is empty.")
    # the remaining ranges are written from the end of the array backwards: their order is
    # reversed, and a slot left unfilled is appended as "null"
    kept: list[str | None] = [None] * (len(ranges) - 1)
    index, found = len(ranges) - 2, False
    for parts in ranges:
        if len(parts) <= 1:
            continue
        if start == parts[0] and end == parts[1]:
            if vlan is None:  # vlan.equals(...) on the null getValue gave back
                raise ApiRefusal(
                    530, 'Cannot invoke "String.equals(Object)" because "vlan" is null'
                )
            if vlan == (parts[3] if len(parts) > 3 else UNTAGGED):
                found = True
                continue
        if index >= 0:
            system = parts[2] if len(parts) > 2 else "0"
            kept[index] = (
                f"{parts[0]}-{parts[1]}-{system}-{parts[3] if len(parts) > 3 else UNTAGGED}"
            )
            index -= 1
    if not found:
        raise ApiRefusal(
            530,
            f"The input IP range: {start}-{end} of pod: {pod_text(pod)}is not present. "
            "Please input an existing range.",
        )
    pod["_description"] = ",".join("null" if k is None else k for k in kept)
    store.touch()
    return {"success": True}


def _verify_ip_range_parameters(start: str, end: str) -> None:
    """ConfigurationManagerImpl.verifyIpRangeParameters (it says "current" for the new range
    too)."""
    if start and not ip_valid(start):
        raise ApiRefusal(
            530, f"The current start address of the IP range {start} is not a valid IP address."
        )
    if end and not ip_valid(end):
        raise ApiRefusal(
            530, f"The current end address of the IP range {end} is not a valid IP address."
        )
    if ip2long(start) > ip2long(end):
        raise ApiRefusal(
            530, "The start IP address must have a lower value than the end IP address."
        )


def _verify_pod_ip_range_exists(
    pod: dict[str, Any], ranges: list[str], current: tuple[str, str], new: tuple[str, str]
) -> str:
    """ConfigurationManagerImpl.verifyPodIpRangeExists: the new range is compared only with
    the ranges listed before the current one."""
    found, vlan = False, ""
    for text in ranges:
        parts = java_split(text, "-")
        if len(parts) <= 1 or not (ip_valid(parts[0]) and ip_valid(parts[1])):
            continue
        if (parts[0], parts[1]) == current:
            found = True
            if len(parts) <= 3:
                raise ApiRefusal(530, f"Index 3 out of bounds for length {len(parts)}")
            vlan = parts[3]
        if not found and ranges_overlap(new[0], new[1], parts[0], parts[1]):
            raise ApiRefusal(
                530,
                f"The Start and End IP address range: ({new[0]}-{new[1]}) overlap with the pod "
                f"IP range: {text}",
            )
    if not found:
        raise ApiRefusal(
            530,
            f"The input IP range: {current[0]}-{current[1]} of pod: {db_id(pod)} is not "
            "present. Please input an existing range.",
        )
    return vlan


@command("updatePodManagementNetworkIpRange", mode="async")
def update_management_range(store: Store, p: P) -> dict[str, Any]:
    """ConfigurationManagerImpl.updatePodIpRange. No CIDR or gateway check on the new range,
    and the pod's description is rewritten with a plain text replace of the current start
    ("start-") and end IPs: every other occurrence of those texts changes too."""
    pod = p.row(store, "pod", "podid")
    cur_start, cur_end = p.required("currentstartip"), p.required("currentendip")
    for name in ("newstartip", "newendip"):  # ApiArgValidator.NotNullOrEmpty
        if p.get(name) == "":
            raise ParamError(
                431,
                f"Unable to execute API command {p.command.lower()} due to invalid value. "
                f"Invalid value provided for API arg: {name}",
            )
    if p.get("newstartip") is None and p.get("newendip") is None:
        # thrown by UpdatePodManagementNetworkIpRangeCmd.execute before its try: runJob
        # fails the job with 431; everything below fails it with 530
        raise ApiRefusal(
            431, "Either new starting IP address or new ending IP address must be specified"
        )
    new_start = p.get("newstartip") or cur_start
    new_end = p.get("newendip") or cur_end
    if (new_start, new_end) == (cur_start, cur_end):
        raise ApiRefusal(
            530,
            "New starting and ending IP address are the same as current starting and "
            "ending IP address",
        )
    text = description(pod)
    if text is None:
        split_ranges(pod)  # the NullPointerException of getDescription().split
    ranges = java_split(text or "", ",")
    if not ranges:
        raise ApiRefusal(
            530,
            f"The IP range cannot be found in the pod: {pod_text(pod)} since the existing "
            "IP range is empty.",
        )
    _verify_ip_range_parameters(cur_start, cur_end)
    _verify_ip_range_parameters(new_start, new_end)
    vlan = _verify_pod_ip_range_exists(pod, ranges, (cur_start, cur_end), (new_start, new_end))
    try:
        if vlan != UNTAGGED:
            java_int(vlan)
    except ApiRefusal:
        raise ApiRefusal(
            530, f"Failed to update Pod {pod_text(pod)} IP range. Please contact Cloud Support."
        ) from None
    pod["_description"] = (
        (text or "").replace(f"{cur_start}-", f"{new_start}-").replace(cur_end, new_end)
    )
    store.touch()
    return {"success": True}
