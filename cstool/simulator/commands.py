"""One handler per CloudStack API command, with CloudStack's own rules and error codes.

Handlers read and change the Store and return the reply inside `<command>response`
(for async commands: the job result). ParamError is always synchronous (HTTP error);
ApiRefusal is an HTTP error for sync and async-create commands and a failed job otherwise.
Never imports cstool.model or cstool.cloud: this is a second description of the API.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cstool.simulator.settings import SETTINGS, seed
from cstool.simulator.store import Store, public

# --- errors and parameters ---------------------------------------------------------------

CS_ERROR = {431: 4350, 530: 4250, 531: 4365, 401: 9999, 432: 9999, 430: 9999}


class ApiRefusal(Exception):
    """CloudStack's refusal: code 431 invalid parameter, 530 runtime error, 531 permission."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.cserrorcode = CS_ERROR.get(code, 9999)


class ParamError(ApiRefusal):
    """A parameter problem: reported synchronously even for async commands."""


class P:
    """Request parameters; names are case-insensitive as on the server."""

    def __init__(self, command: str, raw: dict[str, str]) -> None:
        self.command = command
        self.raw = {k.lower(): v for k, v in raw.items()}

    def get(self, name: str, default: Any = None) -> Any:
        value = self.raw.get(name)
        return default if value is None else value

    def has(self, name: str) -> bool:
        return name in self.raw

    def required(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"missing parameter {name}",
            )
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        # Java Boolean.valueOf: "true" in any case is true, anything else false
        value = self.raw.get(name)
        return default if value is None else value.lower() == "true"

    def integer(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"invalid value {value} for parameter {name}",
            ) from None

    def row(self, store: Store, table: str, name: str, required: bool = True) -> Any:
        oid = self.required(name) if required else self.raw.get(name)
        if not oid:
            return None
        row = store.get(table, oid)
        if row is None:
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"invalid value. Invalid parameter {name} value={oid} due to "
                "incorrect long value format, or entity does not exist or due to "
                "incorrect parameter annotation for the field in api cmd class.",
            )
        return row

    def items(self, name: str) -> list[str]:
        return [x for x in str(self.raw.get(name) or "").split(",") if x]


Handler = Callable[[Store, P], dict[str, Any]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    mode: str = "sync"  # sync | async | async_create
    list_key: str | None = None


COMMANDS: dict[str, Command] = {}


def command(
    name: str, mode: str = "sync", list_key: str | None = None
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(fn, mode, list_key)
        return fn

    return register


# --- helpers -----------------------------------------------------------------------------


def ipv4(value: str, what: str) -> int:
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        raise ApiRefusal(431, f"Please specify a valid {what}: {value}") from None


def cidr_of(gateway: str, netmask: str) -> ipaddress.IPv4Network:
    ipv4(gateway, "gateway")
    try:
        return ipaddress.IPv4Network(f"{gateway}/{netmask}", strict=False)
    except ValueError:
        raise ApiRefusal(431, f"Please specify a valid netmask: {netmask}") from None


def _inside(net: ipaddress.IPv4Network, address: int) -> bool:
    return int(net.network_address) <= address <= int(net.broadcast_address)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def setting(store: Store, name: str, zoneid: str | None = None) -> str:
    if zoneid:
        row = store.get("zoneconfig", f"{zoneid}/{name}")
        if row is not None:
            return str(row["value"])
    row = store.get("globalconfig", name)
    return "" if row is None else str(row.get("value") or "")


def paged(store: Store, p: P, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """CloudStack's list envelope: page/pagesize rules, total count, no key when empty."""
    page, size = p.integer("page"), p.integer("pagesize")
    if size is not None and size != -1 and page is None:
        raise ParamError(431, '"page" parameter is required when "pagesize" is specified')
    if page is not None and size is None:
        raise ParamError(431, '"pagesize" parameter is required when "page" is specified')
    if size == -1 and page is not None:
        raise ParamError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)")
    limit = int(setting(store, "default.page.size") or 500)
    if size is not None and size > limit and limit != -1:
        raise ParamError(431, f"Page size can't exceed max allowed page size value: {limit}")
    total = len(items)
    if size is None:
        size = limit
    if size != -1:
        start = size * ((page or 1) - 1)
        items = items[start : start + size]
    out: dict[str, Any] = {"count": total} if total else {}
    if items:
        out[key] = [public(i) for i in items]
    return out


def filtered(rows: list[dict[str, Any]], p: P, *names: str) -> list[dict[str, Any]]:
    """Rows whose field equals each of these parameters (where given)."""
    for name in names:
        if p.get(name) is not None:
            rows = [r for r in rows if str(r.get(name)) == p.get(name)]
    return rows


def keyword(rows: list[dict[str, Any]], p: P, fieldname: str = "name") -> list[dict[str, Any]]:
    if p.get("keyword"):
        kw = p.get("keyword").lower()
        rows = [r for r in rows if kw in str(r.get(fieldname, "")).lower()]
    return rows


def _state(value: str | None, what: str = "state") -> str:
    if value not in ("Enabled", "Disabled"):
        raise ApiRefusal(431, f"Unable to resolve {what} '{value}' to a supported state")
    return value


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
    state = _state(p.get("allocationstate", "Disabled"), "allocation state")
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
        _state(state, "allocation state")
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
    if not (_inside(net, start) and _inside(net, end)):
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
    if not _inside(net, ipv4(gateway, "gateway")):
        raise ApiRefusal(431, "The gateway is not in the CIDR subnet")
    ranges = []
    if start is not None:
        _check_range(net, gateway, start, end)
        for lo, hi, _ in _zone_ip_spans(store, zone["id"]):
            if _overlap((start, end), (lo, hi)):
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
            "allocationstate": _state(p.get("allocationstate", "Enabled"), "allocation state"),
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
        if not (_inside(net, lo) and _inside(net, hi)):
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
        pod["allocationstate"] = _state(p.get("allocationstate"), "allocation state")
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


def _vlan_value(raw: str | None) -> str:
    text = (raw or "untagged").strip()
    if text.lower().startswith("vlan://"):
        text = text[7:]
    if text.lower() != "untagged" and not text.isdigit():
        raise ApiRefusal(431, f"Invalid vlan: {raw}")
    return text.lower() if not text.isdigit() else str(int(text))


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
        if _overlap((start, end), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(
                431,
                f"The new IP range {start_s}-{end_s} overlaps with the existing "
                f"range {r['start']}-{r['end']}",
            )
    for lo, hi, _ in _zone_ip_spans(store, pod["zoneid"]):
        if _overlap((start, end), (lo, hi)):
            raise ApiRefusal(431, "The IP range overlaps with the public IP range of the zone")
    pod["_ranges"].append(
        {
            "start": start_s,
            "end": end_s,
            "vlan": _vlan_value(p.get("vlan")),
            "system": "1" if p.boolean("forsystemvms") else "0",
        }
    )
    store.touch()
    return {"pod": _pod_view(pod)}


@command("deleteManagementNetworkIpRange", mode="async")
def delete_management_range(store: Store, p: P) -> dict[str, Any]:
    pod = p.row(store, "pod", "podid")
    start, end, vlan = p.required("startip"), p.required("endip"), p.required("vlan")
    wanted = (start, end, _vlan_value(vlan))
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
        if r is not found[0] and _overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(431, "The new IP range overlaps with an existing range of the pod")
    found[0].update(start=new[0], end=new[1])
    store.touch()
    return {"success": True}


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


def _vlan_ids(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (text or "").split(",")):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b) + 1))
    return out


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
    "VirtualRouter": [
        "Dhcp",
        "Dns",
        "UserData",
        "SourceNat",
        "StaticNat",
        "PortForwarding",
        "Lb",
        "Firewall",
        "Vpn",
        "Gateway",
    ],
    "VpcVirtualRouter": [
        "Dhcp",
        "Dns",
        "UserData",
        "SourceNat",
        "StaticNat",
        "PortForwarding",
        "Lb",
        "NetworkACL",
        "Vpn",
        "Gateway",
    ],
    "InternalLbVm": ["Lb"],
    "SecurityGroupProvider": ["SecurityGroup"],
    "ConfigDrive": ["UserData"],
}


@command("updatePhysicalNetwork", mode="async")
def update_physical_network(store: Store, p: P) -> dict[str, Any]:
    pn = p.row(store, "physicalnetwork", "id")
    zone = store.get("zone", pn["zoneid"])
    state = _state(p.get("state"), "state") if p.get("state") is not None else pn["state"]
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
            if _overlap((lo, hi), (ipv4(other["startip"], "ip"), ipv4(other["endip"], "ip"))):
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
            if _overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
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
    if not (_inside(net, lo) and _inside(net, hi)):
        raise ApiRefusal(431, "Please specify a valid IP range: it is not in the gateway's subnet")
    if lo > hi:
        raise ApiRefusal(431, "Please specify a valid IP range: start IP is after end IP")
    if lo <= ipv4(gateway, "gateway") <= hi:
        raise ApiRefusal(431, "The gateway shouldn't overlap start/end ip addresses")
    vlan = _vlan_value(p.get("vlan"))
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
        if vlan != "untagged" and int(vlan) in _vlan_ids(pn.get("vlan")):
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
    if not (_inside(net, lo) and _inside(net, hi)) or lo > hi:
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
        if _overlap((lo, hi), (ipv4(r["start"], "ip"), ipv4(r["end"], "ip"))):
            raise ApiRefusal(
                431,
                f"The storage IP range overlaps with the private IP range "
                f"{r['start']}-{r['end']} of pod {pod['name']}",
            )
    for other in store.rows("storagenetworkiprange", podid=pod["id"]):
        if other["id"] != but and _overlap(
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


__all__ = ["COMMANDS", "ApiRefusal", "ParamError", "P", "seed", "SETTINGS"]
