"""The network plane: zones, their physical networks, traffic types and providers, the
Basic zone's guest network, pods, and the IP ranges of zones and pods. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cstool.model import jsontypes as jt
from cstool.model import values as v
from cstool.model.kinds.base import (
    BOOL,
    CallT,
    DefaultOf,
    Field,
    FromApi,
    KeyLike,
    Kind,
    Lowering,
    Make,
    Need,
    Params,
    Parse,
    Read,
    ResourceLike,
    ResT,
    StateLike,
    ToApi,
    anywhere,
    enabled_field,
    named,
    same_parent,
)
from cstool.model.providers import auto_providers

# --- field helpers ---------------------------------------------------------------------


def _pair(first: str, second: str) -> ToApi:
    """A list of one or two values sent as two parameters (dns1, dns2)."""
    return lambda vals: {first: vals[0], second: vals[1] if len(vals) > 1 else None}


def _read_pair(first: str, second: str, parse: Parse = v.ipv4) -> FromApi:
    """The one or two values of two answer keys (dns1, dns2), each read by `parse`."""

    def read(obj: Mapping[str, Any]) -> Any:
        got = tuple(parse(obj[k]) for k in (first, second) if obj.get(k))
        return got or None

    return read


def _first_of(key: str, parse: Any) -> FromApi:
    """The first of a comma-joined answer: a shared network lists every subnet of its ranges
    joined (ApiResponseHelper.createNetworkResponse), its own one first."""

    def read(obj: Mapping[str, Any]) -> Any:
        raw = str(obj.get(key) or "").split(",")[0].strip()
        return parse(raw) if raw else None

    return read


def _label_params(labels: Mapping[str, str]) -> Params:
    # updateTrafficType clears a label when sent an empty string
    return {f"{hv}networklabel": label for hv, label in labels.items()}


def _read_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return {hv: obj[f"{hv}networklabel"] for hv in v.HYPERVISORS if obj.get(f"{hv}networklabel")}


def _read_tags(obj: Mapping[str, Any]) -> tuple[str, ...]:
    # listPhysicalNetworks returns tags comma-joined, absent when none
    return tuple(t for t in str(obj.get("tags") or "").split(",") if t)


def _read_storage_vlan(obj: Mapping[str, Any]) -> Any:
    # storage ranges carry vlan as a JSON number, absent when untagged
    return v.vlan(obj["vlan"]) if obj.get("vlan") not in (None, "") else v.UNTAGGED


def _storage_vlan_param(value: Any) -> Params:
    return {"vlan": None if value == v.UNTAGGED else value}


def _to_untagged(old: Any, new: Any) -> bool:
    """updateStorageNetworkIpRange sets a VLAN but never clears one
    (StorageNetworkManagerImpl.updateIpRange ignores a null vlan): untagging is a replace."""
    return new == v.UNTAGGED and old not in (None, v.UNTAGGED)


def _zone_default(name: str, basic: object, advanced: object) -> DefaultOf:
    def default(values: Mapping[str, Any], zone: Mapping[str, Any]) -> object:
        return basic if zone.get("network_type") == "Basic" else advanced

    return default


def _range_fields(gateway_replace: bool, end_replace: bool = False) -> tuple[Field, ...]:
    return (
        Field(
            "end",
            v.ipv4,
            api="endip",
            replace=end_replace,
            json_type=jt.IPV4,
            doc="last address (defaults to start)",
        ),
        Field(
            "gateway",
            v.ipv4,
            api="gateway",
            required=True,
            replace=gateway_replace,
            json_type=jt.IPV4,
            doc="gateway of the range's subnet (outside the range)",
        ),
        Field(
            "netmask",
            v.netmask,
            api="netmask",
            required=True,
            json_type=jt.NETMASK,
            doc="netmask of the range's subnet (255.255.255.0 or 24)",
        ),
    )


def _no_ipv6_yet(old: Any, new: Any) -> bool:
    """updateVlanIpRange refuses IPv6 values on a range created without IPv6 ("IPv6 is not
    support in this IP range.", ConfigurationManagerImpl.updateVlanAndPublicIpRange:5638-5642):
    adding IPv6 to a range is a replace."""
    return old is None and new is not None


def _end_v6_default(values: Mapping[str, Any], _zone: Mapping[str, Any]) -> Any:
    """The server takes a missing IPv6 end as the start (ConfigurationManagerImpl
    .createVlanAndPublicIpRange:4853-4856, NetworkServiceImpl.createGuestNetwork:1647-1648);
    None (no default) without a start."""
    return values.get("start_v6")


def _ipv6_fields(span_only: bool = False) -> tuple[Field, ...]:
    """The IPv6 half of a dual-stack range: its prefix (public ranges) and its span."""
    prefix = (
        Field(
            "ip6_gateway",
            v.ipv6,
            api="ip6gateway",
            replace_if=_no_ipv6_yet,
            json_type=jt.IPV6,
            doc="IPv6 gateway of the range (with ip6_cidr)",
        ),
        Field(
            "ip6_cidr",
            v.ipv6_cidr,
            api="ip6cidr",
            replace_if=_no_ipv6_yet,
            json_type=jt.IPV6_CIDR,
            doc="IPv6 prefix of the range, /64 or shorter (with ip6_gateway)",
        ),
    )
    span = (
        Field(
            "start_v6",
            v.ipv6,
            api="startipv6",
            json_type=jt.IPV6,
            doc="first IPv6 address of the range",
        ),
        Field(
            "end_v6",
            v.ipv6,
            api="endipv6",
            default=_end_v6_default,
            json_type=jt.IPV6,
            doc="last IPv6 address (defaults to start_v6)",
        ),
    )
    return span if span_only else prefix + span


def _public_ipv6_update_unsafe(want: ResourceLike, have: ResourceLike, live: StateLike) -> str:
    """Every updateVlanIpRange of a range with IPv6 re-checks its IPv6 half, whatever was
    sent, and for a public range accepts only a /64 prefix ("The cidr size of IPv6 network
    must be 64 bits!", ConfigurationManagerImpl.updateVlanAndPublicIpRange:5662-5665,
    updateVlanAndIpv6Range:5757-5760): a dual-stack range with a shorter prefix is replaced."""
    cidr = have.values.get("ip6_cidr")
    if cidr is None or str(cidr).endswith("/64"):
        return ""
    return (
        f"updateVlanIpRange re-checks a public range's IPv6 prefix on every update and "
        f"accepts only /64, and this range's is {cidr}"
    )


# --- lowering hooks (named, for the kinds whose calls are not the generic ones) ---------


def _pod_create(plan: Lowering[ResT, CallT], res: ResT, first_range: ResT | None) -> list[CallT]:
    """createPod carries the pod's first management range (startip/endip)."""
    params = plan.generic_params(res)
    if first_range is not None:
        params["startip"] = first_range.key.path[-1]
        params["endip"] = first_range.values.get("end") or first_range.key.path[-1]
    return [plan.call("createPod", params, creates=res.key)]


def _mgmt_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    pod = plan.desired_parent(res)
    vals = res.values
    params = {
        "podid": plan.ref(pod.key),
        "gateway": pod.values["gateway"],
        "netmask": pod.values["netmask"],
        "startip": res.key.path[-1],
        "endip": vals.get("end") or res.key.path[-1],
        "forsystemvms": vals.get("for_system_vms"),
        "vlan": vals.get("vlan"),
    }
    return [plan.call("createManagementNetworkIpRange", params)]  # no id of its own


def _mgmt_update(
    plan: Lowering[ResT, CallT],
    res: ResT,
    live: ResT | None,
    changed: Mapping[str, tuple[Any, Any]],
) -> list[CallT]:
    assert live is not None  # an update is of a live resource
    start = live.key.path[-1]
    params = {
        "podid": plan.ref(live.key.parent()),
        "currentstartip": start,
        "currentendip": live.values.get("end") or start,
        "newendip": res.values.get("end") or start,
    }
    return [plan.call("updatePodManagementNetworkIpRange", params)]


def _mgmt_delete(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    start = live.key.path[-1]
    params = {
        "podid": plan.ref(live.key.parent()),
        "startip": start,
        "endip": live.values.get("end") or start,
        # ConfigurationManagerImpl.deletePodIpRange reads the vlan as a URI
        # (BroadcastDomainType.getValue): a bare "untagged" or "11" fails the job with 530
        "vlan": v.vlan_uri(live.values.get("vlan", v.UNTAGGED)),
    }
    return [plan.call("deleteManagementNetworkIpRange", params)]


def _mgmt_update_unsafe(want: ResourceLike, have: ResourceLike, live: StateLike) -> str:
    """updatePodManagementNetworkIpRange rewrites the pod's stored ranges with a plain text
    replace of the old end IP by the new one (ConfigurationManagerImpl.updatePodIpRange):
    when the old end is also a textual part of another address of the pod (10.10.1.2 in
    10.10.1.25, or the start of a one-address range), that address would be rewritten too.
    Such a change is done as delete + create instead; the reason says so ("" when safe)."""
    end = str(have.values.get("end") or have.key.path[-1])
    addresses = [
        address
        for r in live.children(have.key.parent(), have.key.kind)
        for address in (r.key.path[-1], str(r.values.get("end") or r.key.path[-1]))
    ]
    if sum(a.count(end) for a in addresses) <= 1:
        return ""
    return (
        f"the old end {end} is part of another address of the pod, which the server's "
        "update would rewrite too"
    )


# VirtualRouter-like providers must have their element enabled before the provider
ELEMENTS = {
    "VirtualRouter": ("listVirtualRouterElements", "configureVirtualRouterElement"),
    "VpcVirtualRouter": ("listVirtualRouterElements", "configureVirtualRouterElement"),
    "InternalLbVm": ("listInternalLoadBalancerElements", "configureInternalLoadBalancerElement"),
}


def _provider_state_calls(plan: Lowering[ResT, CallT], key: KeyLike, enabled: bool) -> list[CallT]:
    calls = []
    element = ELEMENTS.get(key.path[-1])
    if enabled and element:
        calls.append(plan.call(element[0], {"nspid": plan.ref(key)}, bind="element"))
        calls.append(plan.call(element[1], {"id": plan.var("element"), "enabled": True}))
    state = "Enabled" if enabled else "Disabled"
    calls.append(plan.call("updateNetworkServiceProvider", {"id": plan.ref(key), "state": state}))
    return calls


def _provider_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """Auto-created providers only get their state set; others are added first."""
    name, enabled = res.key.path[-1], bool(res.values.get("enabled"))
    network = plan.desired_parent(res)
    zone = plan.desired_parent(network)
    auto = auto_providers(zone.values.get("network_type", ""), network.values.get("isolation"))
    if name in auto:
        if auto[name] is enabled:
            return []
        return _provider_state_calls(plan, res.key, enabled)
    params = {"name": name, "physicalnetworkid": plan.ref(res.key.parent())}
    calls = [plan.call("addNetworkServiceProvider", params, creates=res.key)]
    if enabled:
        calls += _provider_state_calls(plan, res.key, True)
    return calls


def _provider_update(
    plan: Lowering[ResT, CallT],
    res: ResT,
    live: ResT | None,
    changed: Mapping[str, tuple[Any, Any]],
) -> list[CallT]:
    return _provider_state_calls(plan, res.key, bool(res.values.get("enabled")))


def _guest_network_create(
    plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None
) -> list[CallT]:
    offering = res.values["offering"]
    return [
        plan.call("listNetworkOfferings", {"name": offering}, bind="offering"),
        plan.call(
            "createNetwork",
            {
                "zoneid": plan.ref(res.key.parent()),
                "name": res.key.path[-1],
                "displaytext": res.key.path[-1],
                "networkofferingid": plan.var("offering"),
            },
            creates=res.key,
        ),
    ]


def _guest_range_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    params = plan.generic_params(res)
    zone = res.key.path[0]
    params.update(
        networkid=plan.ref(plan.key("guest_network", (zone, GUEST_NETWORK_NAME))),
        forvirtualnetwork=False,
    )
    return [plan.call("createVlanIpRange", params, creates=res.key)]


# --- shared guest networks of Advanced zones with security groups, their ranges ------------

SHARED_OFFERING = "DefaultSharedNetworkOfferingWithSGService"


def _shared_network_create(
    plan: Lowering[ResT, CallT], res: ResT, first: ResT | None
) -> list[CallT]:
    """createNetwork makes the network and its first range in one transaction
    (NetworkServiceImpl.createGuestNetwork:2337-2341): the first range's addresses go with
    it. No acltype: a root admin's shared network is Domain-wide (NetworkServiceImpl
    :1983-1996). The physical network is always named (NetworkModelImpl
    .findPhysicalNetworkId:1209-1247 would pick one by tags)."""
    vals = res.values
    params: dict[str, Any] = {
        "zoneid": plan.ref(res.key.parent()),
        "name": res.key.path[-1],
        "displaytext": res.key.path[-1],
        "networkofferingid": plan.var("offering"),
        "vlan": vals.get("vlan"),
        "gateway": vals.get("gateway"),
        "netmask": vals.get("netmask"),
        "ip6gateway": vals.get("ip6_gateway"),
        "ip6cidr": vals.get("ip6_cidr"),
    }
    pn = vals.get("physical_network")
    if pn is not None:
        params["physicalnetworkid"] = plan.ref(
            plan.key("physical_network", (*res.key.path[:-1], pn))
        )
    if first is not None:
        fv = first.values
        params.update(
            startip=first.key.path[-1],
            endip=fv.get("end") or first.key.path[-1],
            startipv6=fv.get("start_v6"),
            endipv6=fv.get("end_v6"),
        )
    return [
        plan.call("listNetworkOfferings", {"name": vals.get("offering")}, bind="offering"),
        plan.call("createNetwork", params, creates=res.key),
    ]


def _shared_range_create(
    plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None
) -> list[CallT]:
    """createVlanIpRange on the network (ConfigurationManagerImpl.createVlanAndPublicIpRange
    :5001-5013): its VLAN is the network's (the written one is only checked), and without a
    gateway the range is on the network's subnet (CM:5152-5186). An IPv6 span is kept only
    with the network's ip6gateway and ip6cidr sent beside it (CM:4840, CM:5244; both or
    neither, CM:5025-5027, equal to the network's, CM:5212-5219)."""
    vals = res.values
    start = res.key.path[-1]
    network = plan.desired_parent(res).values
    with_v6 = vals.get("start_v6") is not None
    params = {
        "networkid": plan.ref(res.key.parent()),
        "forvirtualnetwork": False,
        "startip": start,
        "endip": vals.get("end") or start,
        "gateway": vals.get("gateway"),
        "netmask": vals.get("netmask"),
        "ip6gateway": network.get("ip6_gateway") if with_v6 else None,
        "ip6cidr": network.get("ip6_cidr") if with_v6 else None,
        "startipv6": vals.get("start_v6"),
        "endipv6": vals.get("end_v6"),
    }
    return [plan.call("createVlanIpRange", params, creates=res.key)]


def _network_vlan(obj: Mapping[str, Any]) -> Any:
    """A shared network's VLAN: `vlan` (listed to root admins only, ApiResponseHelper
    .createNetworkResponse:2590-2601), else the broadcast URI (vlan://31)."""
    raw = obj.get("vlan") or obj.get("broadcasturi")
    return v.vlan(raw) if raw else None


def _is_shared_sg(obj: Mapping[str, Any]) -> bool:
    """A zone-wide shared network: Domain ACL (a root admin's, NetworkServiceImpl:1983-1996);
    an account's shared network is tenant networking, not infrastructure."""
    return str(obj.get("acltype") or "").lower() == "domain"


def _advanced_sg(zone: ResourceLike) -> bool:
    return zone.values.get("network_type") == "Advanced" and bool(
        zone.values.get("security_groups")
    )


def _is_network_range(obj: Mapping[str, Any]) -> bool:
    """A range of a shared network: not public, not a Basic pod's guest range."""
    return not _is_public(obj) and not obj.get("podid") and bool(obj.get("networkid"))


# --- owners: a domain by its path, an account or project by name in it ----------------------


def owner_fields(project: bool) -> tuple[Field, ...]:
    """`domain` (a path), `account` and, where the API takes one, `project`: who a resource is
    dedicated to. Changing the owner is a replace: the server has no re-dedicate (release,
    then dedicate). Read: `domainpath` (4.19.2+) else the domain's id, resolved later."""
    out: tuple[Field, ...] = (
        Field(
            "domain",
            v.domain_path,
            from_api=lambda o: o.get("domainpath") or _id_of(o.get("domainid")),
            required=True,
            replace=True,
            owner="domain",
            json_type=jt.DOMAIN_PATH,
            doc="the owner's domain, by its path: ROOT or ROOT/customers/acme",
        ),
        Field(
            "account",
            v.text,
            from_api=lambda o: None if o.get("projectid") else o.get("account") or None,
            replace=True,
            # compared when the config leaves it out: a dedication's owner is the whole
            # mapping (none is the whole domain, not unmanaged); never sent (a replace)
            clear="",
            owner="account",
            json_type=jt.TEXT,
            doc="the owner account, in the domain (none: the whole domain)",
        ),
    )
    if project:
        out += (
            Field(
                "project",
                v.text,
                from_api=lambda o: o.get("project") or None,
                replace=True,
                clear="",  # compared when left out, as `account`
                owner="project",
                json_type=jt.TEXT,
                doc="the owner project, in the domain (instead of an account)",
            ),
        )
    return out


def _id_of(uuid: Any) -> str | None:
    """A live owner known only by its id until the reference kinds resolve it."""
    return f"id:{uuid}" if uuid else None


def owner_refs(plan: Lowering[ResT, CallT], values: Mapping[str, Any]) -> Params:
    """domainid, and account or projectid, of an owner: ids the applier resolves from the
    reference kinds (domain by path; account and project by domain path and name)."""
    domain = values["domain"]
    params: dict[str, Any] = {"domainid": plan.ref(plan.key("domain", (domain,)))}
    if values.get("project"):
        params["projectid"] = plan.ref(plan.key("project", (domain, values["project"])))
    elif values.get("account"):
        params["account"] = values["account"]
    return params


# --- guest VLAN ranges dedicated to an account or project ----------------------------------


def _vlan_end_default(values: Mapping[str, Any], _zone: Mapping[str, Any]) -> Any:
    """A single VLAN is the range start-start (the server's n-n form, NetworkServiceImpl
    .dedicateGuestVlanRange:4859-4862)."""
    return v.vlan_id(values["start"])


def _vlan_span(res: ResourceLike) -> tuple[int, int]:
    start = int(res.key.path[-1])
    return start, int(res.values.get("end") or start)


def _dedicated_vlan_create(
    plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None
) -> list[CallT]:
    start, end = _vlan_span(res)
    params = {
        "physicalnetworkid": plan.ref(res.key.parent()),
        "vlanrange": f"{start}-{end}",
        **owner_refs(plan, res.values),
    }
    return [plan.call("dedicateGuestVlanRange", params, creates=res.key)]


def _dedicated_vlan_grow(
    plan: Lowering[ResT, CallT],
    res: ResT,
    live: ResT | None,
    changed: Mapping[str, tuple[Any, Any]],
) -> list[CallT]:
    """A grown end dedicates the extra VLANs to the same owner: the server merges them into
    the range's row (NetworkServiceImpl.dedicateGuestVlanRange:4921-4945)."""
    assert live is not None  # an update is of a live resource
    _, old_end = _vlan_span(live)
    _, new_end = _vlan_span(res)
    params = {
        "physicalnetworkid": plan.ref(res.key.parent()),
        "vlanrange": f"{old_end + 1}-{new_end}",
        **owner_refs(plan, res.values),
    }
    return [plan.call("dedicateGuestVlanRange", params)]


def _vlan_overlaps(live: ResourceLike, desired: ResourceLike) -> bool:
    """A live dedicated range over VLANs a desired one of another start wants: the server
    refuses the dedication while it is there (NetworkServiceImpl.dedicateGuestVlanRange
    :4890-4899), so it is released first."""
    if live.key == desired.key:
        return False
    (a, b), (c, d) = _vlan_span(live), _vlan_span(desired)
    return a <= d and c <= b


def _vlan_start_of(obj: Mapping[str, Any]) -> str:
    """A listed dedicated range's identity: the start of its `guestvlanrange` (500-549)."""
    return str(int(str(obj["guestvlanrange"]).split("-")[0]))


def _vlan_end_of(obj: Mapping[str, Any]) -> Any:
    text = str(obj.get("guestvlanrange") or "")
    return int(text.partition("-")[2] or text) if text else None


# --- the management-range list inside a listPods answer --------------------------------


def explode_pod_ranges(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Management ranges from a listPods item: `ipranges` (4.16+) or the parallel lists."""
    if pod.get("ipranges"):
        rows = [dict(r) for r in pod["ipranges"]]
    else:
        cols: dict[str, list[Any]] = {}
        for k in ("startip", "endip", "forsystemvms", "vlanid"):
            c = pod.get(k)
            cols[k] = c if isinstance(c, list) else [c] if c else []
        rows = [
            {k: (cols[k][i] if i < len(cols[k]) else None) for k in cols}
            for i in range(len(cols["startip"]))
        ]
    for row in rows:
        row["podid"] = pod.get("id")
    return [r for r in rows if r.get("startip")]


GUEST_NETWORK_NAME = "defaultGuestNetwork"


def derive_guest_network(zone: ResourceLike, make: Make[ResT]) -> list[ResT]:
    """A Basic zone needs one shared guest network (a NetScaler EIP/ELB one with Public traffic)."""
    if zone.values.get("network_type") != "Basic":
        return []
    has_public = zone.extra.get("has_public_traffic", False)
    offering = (
        "DefaultSharedNetscalerEIPandELBNetworkOffering"
        if has_public
        else "DefaultSharedNetworkOfferingWithSGService"
    )
    return [make("guest_network", (zone.key.path[0], GUEST_NETWORK_NAME), {"offering": offering})]


def _is_public(obj: Mapping[str, Any]) -> bool:
    return v.boolean(obj.get("forvirtualnetwork", True))


def _is_pod_guest(obj: Mapping[str, Any]) -> bool:
    return not _is_public(obj) and bool(obj.get("podid"))


# --- the kinds --------------------------------------------------------------------------

# the last address of a range keyed by its first (a pod's management range, a shared network's)
RANGE_END = Field(
    "end", v.ipv4, api="endip", json_type=jt.IPV4, doc="last address (defaults to start)"
)

ZONE = Kind(
    name="zone",
    disabled_means="nothing new is deployed in it while it is disabled (running VMs keep running)",
    parent=None,
    container="zones",
    key="name",
    key_parse=v.text,
    phase=10,
    finish_phase=130,
    fields=(
        Field(
            "network_type",
            v.one_of(("Advanced", "Basic")),
            api="networktype",
            required=True,
            replace=True,
            json_type=jt.enum(("Advanced", "Basic")),
            doc="Advanced or Basic (any case); changing it replaces the zone",
        ),
        Field(
            "security_groups",
            v.boolean,
            api="securitygroupenabled",
            read_key="securitygroupsenabled",
            replace=True,
            json_type=BOOL,
            default=_zone_default("security_groups", True, False),
            doc="Basic zones always have security groups",
        ),
        Field(
            "dns",
            v.str_list(2, v.ipv4, min_items=1),
            to_api=_pair("dns1", "dns2"),
            from_api=_read_pair("dns1", "dns2"),
            required=True,
            clear="",  # ConfigurationManagerImpl.editZone stores dns2 "" as sent
            json_type=jt.some(jt.IPV4, 2, min_items=1),
            doc="1-2 IPv4 addresses (dns1, dns2)",
        ),
        Field(
            "internal_dns",
            v.str_list(2, v.ipv4, min_items=1),
            to_api=_pair("internaldns1", "internaldns2"),
            from_api=_read_pair("internaldns1", "internaldns2"),
            required=True,
            clear="",  # ConfigurationManagerImpl.editZone stores internaldns2 "" as sent
            json_type=jt.some(jt.IPV4, 2, min_items=1),
            doc="1-2 IPv4 addresses (internaldns1, internaldns2)",
        ),
        Field(
            "ip6_dns",
            v.str_list(2, v.ipv6, min_items=1),
            to_api=_pair("ip6dns1", "ip6dns2"),
            from_api=_read_pair("ip6dns1", "ip6dns2", v.ipv6),
            json_type=jt.some(jt.IPV6, 2, min_items=1),
            doc="1-2 IPv6 DNS servers (ip6dns1, ip6dns2): needed for IPv6 on shared networks",
        ),
        Field(
            "domain",
            v.text,
            api="domain",
            clear="",  # ConfigurationManagerImpl.editZone: an empty domain sets it to null
            json_type=jt.TEXT,
            doc="network domain of guest VMs",
        ),
        Field(
            "guest_cidr",
            v.cidr,
            api="guestcidraddress",
            json_type=jt.CIDR,
            doc="guest CIDR: Advanced zones without security groups only",
        ),
        Field(
            "local_storage",
            v.boolean,
            api="localstorageenabled",
            default=False,
            json_type=BOOL,
            doc="whether VMs may use the hosts' local storage",
        ),
        enabled_field("allocationstate", deferred=True, doc="a new zone is enabled last"),
    ),
    read=Read("listZones", "zone", key_api="name"),
    create="createZone",
    update="updateZone",
    delete="deleteZone",
    doc="a zone; created Disabled, enabled after everything in it exists",
)

PHYSICAL_NETWORK = Kind(
    name="physical_network",
    disabled_means="no new networks are implemented on it while it is disabled",
    parent="zone",
    container="physical_networks",
    key="name",
    key_parse=v.text,
    phase=30,
    finish_phase=60,
    needs_disabled_zone=True,
    fields=(
        Field(
            "isolation",
            v.isolation,
            api="isolationmethods",
            replace=True,
            json_type=jt.ISOLATION,
            doc="one isolation method: VLAN, VXLAN, GRE, STT, L3, ...",
        ),
        Field(
            "vlan_ranges",
            v.vlan_ranges,
            api="vlan",
            deferred=True,
            to_yaml=lambda ranges: ranges.split(","),
            json_type=jt.VLAN_RANGES,
            doc="guest VLANs/VNIs, normalised like the server (100-200,201-300 -> 100-300)",
        ),
        Field(
            "broadcast_domain_range",
            v.one_of(("ZONE", "POD")),
            api="broadcastdomainrange",
            replace=True,
            default=_zone_default("broadcast_domain_range", "POD", "ZONE"),
            json_type=jt.enum(("ZONE", "POD")),
            doc="ZONE (Advanced default) or POD (Basic default)",
        ),
        Field(
            "tags",
            v.str_list(1, v.tag),
            api="tags",
            from_api=_read_tags,
            clear="",  # NetworkServiceImpl.updatePhysicalNetwork: an empty tags list clears
            json_type=jt.some(jt.ONE_NAME, 1),
            doc="physical network tags: at most one",
        ),
        Field(
            "speed", v.text, api="networkspeed", json_type=jt.TEXT, doc="network speed, e.g. 10G"
        ),
        enabled_field("state", deferred=True),
    ),
    read=Read("listPhysicalNetworks", "physicalnetwork", key_api="name", parent_id="zoneid"),
    create="createPhysicalNetwork",
    update="updatePhysicalNetwork",
    delete="deletePhysicalNetwork",
    parent_param="zoneid",
    doc="physical networks of the zone: isolation, guest VLANs, traffic types, providers",
)


def _auto_storage_traffic(res: ResourceLike, live: StateLike) -> bool:
    """Enabling a zone adds Storage traffic on the Management network with its labels."""
    if res.key.path[-1] != "Storage":
        return False
    mgmt = live.get(type(res.key)("traffic_type", (*res.key.path[:-1], "Management")))
    return mgmt is not None and mgmt.values.get("labels") == res.values.get("labels")


TRAFFIC_TYPE = Kind(
    name="traffic_type",
    parent="physical_network",
    container="traffic",
    key="type",
    key_parse=v.one_of(v.TRAFFIC_TYPES),
    phase=40,
    fields=(
        Field(
            "labels",
            v.labels,
            to_api=_label_params,
            from_api=_read_labels,
            default={},
            partial=True,
            json_type=jt.LABELS,
            doc="hypervisor -> network label; only the hypervisors named are managed",
        ),
    ),
    read=Read(
        "listTrafficTypes", "traffictype", key_api="traffictype", per_parent="physicalnetworkid"
    ),
    create="addTrafficType",
    update="updateTrafficType",
    delete="deleteTrafficType",
    parent_param="physicalnetworkid",
    auto_created_when=_auto_storage_traffic,
    doc="traffic types on the physical network, with their labels per hypervisor",
)

PROVIDER = Kind(
    name="provider",
    parent="physical_network",
    container="providers",
    key="name",
    key_parse=v.text,
    style="map",
    phase=50,
    auto_created=True,
    fields=(
        Field(
            "enabled",
            v.boolean,
            api="state",
            from_api=lambda o: o.get("state") == "Enabled",
            required=True,
            json_type=BOOL,
            doc="enabled or disabled",
            to_yaml=lambda on: "enabled" if on else "disabled",
        ),
    ),
    read=Read(
        "listNetworkServiceProviders",
        "networkserviceprovider",
        key_api="name",
        parent_id="physicalnetworkid",
    ),
    create="addNetworkServiceProvider",
    update="updateNetworkServiceProvider",
    # Enabling a provider needs its element ready (NetworkServiceImpl
    # .updateNetworkServiceProvider -> NetworkElement.isReady); Tungsten's is ready only with
    # Management traffic on the same physical network. The traffic types of its own network
    # come first for every provider, as in the UI wizard and Marvin.
    needs=(Need("traffic_type", same_parent),),
    lower_create=_provider_create,
    lower_update=_provider_update,
    title_of=lambda res: "enable" if res.values.get("enabled") else "disable",
    export_when=lambda res, live: bool(res.values.get("enabled")),
    doc="network service providers: name -> enabled | disabled",
)

GUEST_NETWORK = Kind(
    name="guest_network",
    parent="zone",
    container="",
    key="name",
    key_parse=v.text,
    phase=70,
    implicit=True,
    fields=(Field("offering", v.text, api="networkofferingname", replace=True),),
    read=Read(
        "listNetworks",
        "network",
        key_api="name",
        parent_id="zoneid",
        params={"listall": True, "type": "Shared"},
        key_from=lambda o: GUEST_NETWORK_NAME,  # Marvin names it differently
        parent_accept=lambda zone: zone.values.get("network_type") == "Basic",
    ),
    create="createNetwork",
    delete="deleteNetwork",
    # NetworkOrchestrator.createGuestNetwork refuses a physical network that is not Enabled
    # ("in incorrect state"), and implementing the network needs the offering's providers
    # enabled ("Service provider ... is not enabled in physical network").
    needs=(Need("physical_network", anywhere), Need("provider", anywhere)),
    lower_create=_guest_network_create,
    derive=derive_guest_network,
    doc="the shared guest network of a Basic zone (created by cstool)",
)

POD = Kind(
    name="pod",
    disabled_means="no new VMs or system VMs are placed in it while it is disabled",
    parent="zone",
    container="pods",
    key="name",
    key_parse=v.text,
    phase=80,
    fields=(
        Field(
            "gateway",
            v.ipv4,
            api="gateway",
            required=True,
            json_type=jt.IPV4,
            doc="gateway of the pod's management subnet",
        ),
        Field(
            "netmask",
            v.netmask,
            api="netmask",
            required=True,
            json_type=jt.NETMASK,
            doc="netmask of the pod's management subnet (255.255.255.0 or 24)",
        ),
        enabled_field("allocationstate"),
    ),
    read=Read("listPods", "pod", key_api="name", parent_id="zoneid"),
    create="createPod",
    update="updatePod",
    delete="deletePod",
    parent_param="zoneid",
    # needs nothing else of its zone: ConfigurationManagerImpl.createPod looks only at the
    # zone (checkPodAttributes: the zone's other pods, its public ranges and
    # check.pod.cidrs), nothing of its physical networks, so pods are made while the
    # networks come up. But it refuses a management range over any IP of the zone
    # (ConfigurationManagerImpl.createPod:1784, checkOverlapPrivateIpRange:2780-2791), which
    # catches an overlap with a shared network only once the network's IPs exist: shared
    # networks come first, as in deployDataCenter.createZones:801-834
    needs=(Need("shared_network", anywhere),),
    lower_create=_pod_create,
    doc="pods of the zone, each with its management subnet",
)

MANAGEMENT_RANGE = Kind(
    name="management_range",
    address_range=True,
    parent="pod",
    container="management_ranges",
    key="start",
    key_parse=v.ipv4,
    phase=90,
    first_created_by_parent=True,
    fields=(
        RANGE_END,
        Field(
            "vlan",
            v.vlan,
            api="vlan",
            read_key="vlanid",
            default=v.UNTAGGED,
            replace=True,
            json_type=jt.VLAN,
            doc="VLAN id 1-4094 or untagged (the default)",
        ),
        Field(
            "for_system_vms",
            v.boolean,
            api="forsystemvms",
            default=False,
            replace=True,
            json_type=BOOL,
            doc="reserve the range for system VMs",
        ),
    ),
    read=Read("listPods", "pod", key_api="startip", parent_id="podid", explode=explode_pod_ranges),
    create="createManagementNetworkIpRange",
    update="updatePodManagementNetworkIpRange",
    delete="deleteManagementNetworkIpRange",
    # ConfigurationManagerImpl.createPodIpRange, deletePodIpRange and updatePodIpRange read
    # the pod's range list (HostPodVO.getDescription) before taking the pod's lock and write
    # it back whole: two at once on one pod lose one of the ranges
    serial=True,
    lower_create=_mgmt_create,
    lower_update=_mgmt_update,
    lower_delete=_mgmt_delete,
    replace_when=_mgmt_update_unsafe,
    doc="pod management (private) ranges; the first is the pod's own start/end",
)

PUBLIC_RANGE = Kind(
    name="public_range",
    address_range=True,
    parent="zone",
    container="public_ranges",
    key="start",
    key_parse=v.ipv4,
    phase=100,
    fields=(
        *_range_fields(gateway_replace=False),
        Field(
            "vlan",
            v.vlan,
            api="vlan",
            default=v.UNTAGGED,
            replace=True,
            json_type=jt.VLAN,
            doc="VLAN id 1-4094 or untagged (the default)",
        ),
        Field(
            "for_system_vms",
            v.boolean,
            api="forsystemvms",
            server_default=False,
            json_type=BOOL,
            doc="reserve the range for system VMs (updateVlanIpRange forsystemvms, 4.16+)",
        ),
        *_ipv6_fields(),
    ),
    read=Read(
        "listVlanIpRanges", "vlaniprange", key_api="startip", parent_id="zoneid", accept=_is_public
    ),
    replace_when=_public_ipv6_update_unsafe,
    create="createVlanIpRange",
    update="updateVlanIpRange",
    delete="deleteVlanIpRange",
    parent_param="zoneid",
    create_params={"forvirtualnetwork": True},
    # ConfigurationManagerImpl.createVlanAndPublicIpRange finds the physical network by its
    # Public traffic (NetworkModelImpl.getDefaultPhysicalNetworkByZoneAndTrafficType: 431
    # without it), and addTrafficType Public on VXLAN sets the Public network's broadcast
    # type (NetworkServiceImpl.addTrafficTypeToPhysicalNetwork). It also refuses a VLAN that
    # is a guest vnet of the physical network: the vnets (updatePhysicalNetwork vlan, a
    # physical network's finishing step) are in place first, so that check sees them.
    needs=(Need("traffic_type", named("Public")), Need("physical_network", anywhere)),
    doc="zone-wide public ranges (createVlanIpRange forvirtualnetwork=true)",
)

STORAGE_RANGE = Kind(
    name="storage_range",
    address_range=True,
    parent="pod",
    container="storage_ranges",
    key="start",
    key_parse=v.ipv4,
    phase=110,
    fields=(
        # updateStorageNetworkIpRange has no gateway, and it checks the new addresses against
        # every storage range of the pod including itself (StorageNetworkManagerImpl
        # .updateIpRange, checkOverlapStorageIpRange over listByPodId): a new end always
        # overlaps its own old range, so an end change is a replace
        *_range_fields(gateway_replace=True, end_replace=True),
        Field(
            "vlan",
            v.vlan,
            to_api=_storage_vlan_param,
            from_api=_read_storage_vlan,
            default=v.UNTAGGED,
            replace_if=_to_untagged,
            json_type=jt.VLAN,
            doc="VLAN id 1-4094 or untagged (the default)",
        ),
    ),
    read=Read(
        "listStorageNetworkIpRange", "storagenetworkiprange", key_api="startip", parent_id="podid"
    ),
    create="createStorageNetworkIpRange",
    update="updateStorageNetworkIpRange",
    delete="deleteStorageNetworkIpRange",
    parent_param="podid",
    # StorageNetworkManagerImpl.createIpRange needs only the pod and the zone's Storage system
    # network (made by createZone), not the Storage traffic type. The range serves only once
    # that traffic exists, and the config requires it (validate), so it is made first: a
    # failed traffic type leaves no range behind, and it costs no time (it is done long
    # before the pods).
    needs=(Need("traffic_type", named("Storage")),),
    doc="storage network ranges of a pod (needs Storage traffic in the zone)",
)

GUEST_RANGE = Kind(
    name="guest_range",
    address_range=True,
    parent="pod",
    container="guest_ranges",
    key="start",
    key_parse=v.ipv4,
    phase=120,
    fields=_range_fields(gateway_replace=False),
    read=Read(
        "listVlanIpRanges",
        "vlaniprange",
        key_api="startip",
        parent_id="podid",
        accept=_is_pod_guest,
    ),
    create="createVlanIpRange",
    update="updateVlanIpRange",
    delete="deleteVlanIpRange",
    parent_param="podid",
    # A Basic zone's guest range goes on the zone's shared guest network (createVlanIpRange
    # networkid): the network exists first.
    needs=(Need("guest_network", anywhere),),
    lower_create=_guest_range_create,
    doc="Basic zones only: per-pod guest ranges on the zone's shared guest network",
)

# --- zone details (updateZone details; listZones resourcedetails) ------------------------

LOCK_PREFIX = "cstool."  # cloud/lock.py keeps its lock among the zone's details


def explode_zone_details(zone: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A zone's details from its listZones item. Zone-scoped settings live in the same
    table (data_center_details), so catalog setting names are left to
    zone_setting, and cstool's own lock is no detail of the config's."""
    from cstool.model import settings as catalog

    details = zone.get("resourcedetails")
    if not isinstance(details, Mapping):
        return []
    known = catalog.catalog()
    return [
        {"name": str(k), "value": value, "zoneid": zone.get("id")}
        for k, value in details.items()
        if str(k) not in known and not str(k).startswith(LOCK_PREFIX)
    ]


def _zone_detail_set(plan: Lowering[ResT, CallT], res: ResT, *_: object) -> list[CallT]:
    """updateZone details in the key/value form (ConfigurationManagerImpl.editZone:2903-2915);
    the server merges them into the zone's details."""
    params = {
        "id": plan.ref(res.key.parent()),
        "details[0].key": res.key.path[-1],
        "details[0].value": res.values["value"],
    }
    return [plan.call("updateZone", params)]


ZONE_DETAIL = Kind(
    name="zone_detail",
    parent="zone",
    container="details",
    key="name",
    key_parse=v.text,
    style="map",
    phase=25,
    # the zone's other details (set by CloudStack or by hand) are never unmanaged, and
    # updateZone cannot remove one (ConfigurationManagerImpl.editZone:3016-3023): no delete
    auto_created=True,
    opt_in=True,
    fields=(
        Field(
            "value",
            v.setting_value,
            api="value",
            required=True,
            json_type=jt.SETTING,
            from_api=lambda o: v.setting_value(o.get("value")),
            doc="the detail's value (compared as a string)",
        ),
    ),
    read=Read(
        "listZones", "zone", key_api="name", parent_id="zoneid", explode=explode_zone_details
    ),
    create="updateZone",
    update="updateZone",
    lower_create=_zone_detail_set,
    lower_update=_zone_detail_set,
    doc="zone details: name -> value (updateZone details, merged; never removed)",
)

IPV6_PREFIX = Kind(
    name="ipv6_prefix",
    parent="zone",
    container="ipv6_prefixes",
    key="prefix",
    key_parse=v.ipv6_prefix,
    phase=27,
    written_opt_in=True,
    fields=(),
    read=Read(
        "listGuestNetworkIpv6Prefixes",
        "guestnetworkipv6prefix",
        key_api="prefix",
        parent_id="zoneid",
        missing="this cloud has no guest IPv6 prefixes (4.17+)",
    ),
    create="createGuestNetworkIpv6Prefix",
    delete="deleteGuestNetworkIpv6Prefix",
    parent_param="zoneid",
    doc="guest IPv6 prefixes of the zone (4.17+), /64 or shorter",
)

DEDICATED_VLAN_RANGE = Kind(
    name="dedicated_vlan_range",
    parent="physical_network",
    container="dedicated_vlan_ranges",
    key="start",
    key_parse=v.vlan_key,
    phase=62,
    written_opt_in=True,
    fields=(
        Field(
            "end",
            v.vlan_id,
            from_api=_vlan_end_of,
            default=_vlan_end_default,
            # growing dedicates the extra VLANs into the same row; the server cannot shrink one
            replace_if=lambda old, new: old is not None and new < old,
            json_type=jt.VLAN_ID,
            doc="last VLAN of the range (defaults to start)",
        ),
        *owner_fields(project=True),
    ),
    read=Read(
        "listDedicatedGuestVlanRanges",
        "dedicatedguestvlanrange",
        key_api="guestvlanrange",
        per_parent="physicalnetworkid",
        key_from=_vlan_start_of,
    ),
    create="dedicateGuestVlanRange",
    update="dedicateGuestVlanRange",
    delete="releaseDedicatedGuestVlanRange",
    # NetworkServiceImpl.dedicateGuestVlanRange reads the physical network's rows and merges
    # into them without a lock: two at once on one physical network can lose a merge
    serial=True,
    # the vnet range it must lie in (NetworkServiceImpl:4870-4886) is set by the physical
    # network's finishing updatePhysicalNetwork vlan
    after_parent_finish=True,
    displaced_by=_vlan_overlaps,
    lower_create=_dedicated_vlan_create,
    lower_update=_dedicated_vlan_grow,
    doc="guest VLAN ranges of the physical network dedicated to an account or project",
)

SHARED_NETWORK = Kind(
    name="shared_network",
    parent="zone",
    container="guest_networks",
    key="name",
    key_parse=v.text,
    phase=72,
    written_opt_in=True,
    fields=(
        Field(
            "offering",
            v.text,
            api="networkofferingname",
            default=SHARED_OFFERING,
            replace=True,
            json_type=jt.TEXT,
            doc=f"network offering name (default {SHARED_OFFERING})",
        ),
        Field(
            "physical_network",
            v.text,
            write_only=True,
            json_type=jt.TEXT,
            doc="its physical network (default: the zone's only one with Guest traffic)",
        ),
        Field(
            "vlan",
            v.vlan,
            from_api=_network_vlan,
            required=True,
            replace=True,
            json_type=jt.VLAN,
            doc="VLAN id 1-4094 or untagged, outside the physical network's guest VLANs",
        ),
        Field(
            "gateway",
            v.ipv4,
            from_api=_first_of("gateway", v.ipv4),
            required=True,
            replace=True,
            json_type=jt.IPV4,
            doc="gateway of the network's subnet",
        ),
        Field(
            "netmask",
            v.netmask,
            from_api=_first_of("netmask", v.netmask),
            required=True,
            replace=True,
            json_type=jt.NETMASK,
            doc="netmask of the network's subnet",
        ),
        Field(
            "ip6_gateway",
            v.ipv6,
            from_api=_first_of("ip6gateway", v.ipv6),
            replace=True,
            json_type=jt.IPV6,
            doc="IPv6 gateway (with ip6_cidr; the zone needs ip6_dns)",
        ),
        Field(
            "ip6_cidr",
            v.ipv6_cidr,
            from_api=_first_of("ip6cidr", v.ipv6_cidr),
            replace=True,
            json_type=jt.IPV6_CIDR,
            doc="IPv6 prefix of the network",
        ),
    ),
    read=Read(
        "listNetworks",
        "network",
        key_api="name",
        parent_id="zoneid",
        params={"listall": True, "type": "Shared"},
        accept=_is_shared_sg,
        parent_accept=_advanced_sg,
    ),
    create="createNetwork",
    delete="deleteNetwork",
    # NetworkOrchestrator.createGuestNetwork refuses a physical network that is not Enabled
    # (NO:2758-2770), and the offering's providers must be enabled on it
    # (NetworkOrchestrator.checkServicesProvidersEnabled via NetworkServiceImpl:1751,
    # NO:4400-4427)
    needs=(Need("physical_network", anywhere), Need("provider", anywhere)),
    lower_create=_shared_network_create,
    inline_first=("start", "end", "start_v6", "end_v6"),
    doc="zone-wide shared guest networks of an Advanced zone with security groups",
)

SHARED_NETWORK_RANGE = Kind(
    name="shared_network_range",
    address_range=True,
    parent="shared_network",
    container="ranges",
    key="start",
    key_parse=v.ipv4,
    phase=73,
    first_created_by_parent=True,
    fields=(
        RANGE_END,
        Field(
            "gateway",
            v.ipv4,
            api="gateway",
            replace=True,
            json_type=jt.IPV4,
            doc="gateway of another subnet (default: the network's)",
        ),
        Field(
            "netmask",
            v.netmask,
            api="netmask",
            replace=True,
            json_type=jt.NETMASK,
            doc="netmask of another subnet (default: the network's)",
        ),
        *_ipv6_fields(span_only=True),
        Field(
            "vlan",
            v.vlan,
            write_only=True,
            json_type=jt.VLAN,
            doc="the network's VLAN (checked, never sent: one VLAN per guest network)",
        ),
    ),
    read=Read(
        "listVlanIpRanges",
        "vlaniprange",
        key_api="startip",
        parent_id="networkid",
        accept=_is_network_range,
    ),
    create="createVlanIpRange",
    update="updateVlanIpRange",
    delete="deleteVlanIpRange",
    lower_create=_shared_range_create,
    doc="IP ranges of a shared network; the first comes with the network",
)

KINDS = (
    IPV6_PREFIX,
    DEDICATED_VLAN_RANGE,
    SHARED_NETWORK,
    SHARED_NETWORK_RANGE,
    ZONE_DETAIL,
    ZONE,
    PHYSICAL_NETWORK,
    TRAFFIC_TYPE,
    PROVIDER,
    GUEST_NETWORK,
    POD,
    MANAGEMENT_RANGE,
    PUBLIC_RANGE,
    STORAGE_RANGE,
    GUEST_RANGE,
)
