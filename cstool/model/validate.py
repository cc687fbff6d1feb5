"""Offline network rules over a desired State -> every problem at once.

The rules of CloudStack's networking model (management, guest, public and storage planes)
that can be checked before any API call. Pure: no I/O.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py, NO NetworkOrchestrator, NS NetworkServiceImpl,
# NM NetworkModelImpl, DR DedicatedResourceManagerImpl (plugins/dedicated-resources).
import difflib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cstool import apispec
from cstool.errors import Problem
from cstool.model import secrets
from cstool.model import settings as catalog
from cstool.model import values as v
from cstool.model.kinds import KINDS, Field, noun
from cstool.model.providers import KNOWN, NEEDS_DEVICE, REMOVED
from cstool.model.resources import Key, Resource, State

RANGE_KINDS = tuple(k.name for k in KINDS.values() if k.address_range)
Rule = Callable[[State], Iterator[Problem]]  # one rule: every problem it finds
ONE_PER_ZONE = ("Management", "Public", "Storage")


@dataclass(frozen=True)
class Span:
    """An IP range as integers, with what it belongs to."""

    lo: int
    hi: int
    res: Resource

    @property
    def label(self) -> str:
        return describe(self.res)


def describe(res: Resource) -> str:
    kind = noun(res.key.kind)
    if res.key.kind in RANGE_KINDS:
        start = res.key.path[-1]
        where = "/".join(res.key.path[:-1])
        return f"{kind} {start}-{res.values.get('end') or start} ({where})"
    return f"{kind} '{'/'.join(res.key.path)}'"


def validate(state: State) -> list[Problem]:
    """All problems of a desired state, errors and warnings, sorted by position."""
    problems: list[Problem] = []
    for rule in RULES:
        problems.extend(rule(state))
    return sorted(set(problems), key=Problem.sort_key)


# --- helpers ---------------------------------------------------------------------------


def _subnet_owner(res: Resource, state: State) -> Resource:
    """Whose gateway/netmask a range uses: its pod's for a management range; its shared
    network's for a shared network range without its own (the server keeps the network's
    subnet then, ConfigurationManagerImpl.validateIpRange, CM:5152-5186); else its own."""
    if res.key.kind == "management_range":
        return state[res.key.parent()]
    if res.key.kind == "shared_network_range" and not (
        res.values.get("gateway") and res.values.get("netmask")
    ):
        return state[res.key.parent()]
    return res


def _network(res: Resource, state: State) -> ipaddress.IPv4Network:
    """The subnet a range lives in: its own gateway/netmask, or its pod's for management."""
    owner = _subnet_owner(res, state)
    return v.network_of(owner.values["gateway"], owner.values["netmask"])


def _gateway(res: Resource, state: State) -> str:
    return str(_subnet_owner(res, state).values["gateway"])


def _span(res: Resource) -> Span:
    start = res.key.path[-1]
    return Span(v.ip_int(start), v.ip_int(res.values.get("end") or start), res)


def overlaps(spans: Iterable[Span]) -> Iterator[tuple[Span, Span]]:
    """Pairs of overlapping spans, found by sorting (n log n plus the overlaps found)."""
    active: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.lo, s.hi)):
        active = [a for a in active if a.hi >= span.lo]
        for other in active:
            yield other, span
        active.append(span)


def _by_zone(state: State, kind: str) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = defaultdict(list)
    for res in state.of_kind(kind):
        out[res.key.path[0]].append(res)
    return out


def _traffic(state: State) -> dict[str, dict[str, list[Resource]]]:
    """zone -> traffic type -> the traffic type resources (one per physical network)."""
    out: dict[str, dict[str, list[Resource]]] = defaultdict(lambda: defaultdict(list))
    for res in state.of_kind("traffic_type"):
        out[res.key.path[0]][res.key.path[-1]].append(res)
    return out


def _check_pod_cidrs(state: State) -> bool:
    setting = state.get(Key("setting", ("check.pod.cidrs",)))
    return setting is None or str(setting.values["value"]).lower() != "false"


# --- the rules -------------------------------------------------------------------------


def range_geometry(state: State) -> Iterator[Problem]:
    """start <= end; start, end and gateway in the subnet; the gateway outside the range."""
    for kind in RANGE_KINDS:
        for res in state.of_kind(kind):
            span = _span(res)
            net = _network(res, state)
            end_origin = res.origin_of("end")
            if span.lo > span.hi:
                yield Problem(end_origin, f"{describe(res)}: end is before start")
            for name, addr in (("start", res.key.path[-1]), ("end", res.values.get("end"))):
                if addr and ipaddress.IPv4Address(addr) not in net:
                    yield Problem(
                        res.origin_of(name) if name == "end" else res.origin,
                        f"{describe(res)}: {name} {addr} is outside {net}",
                    )
            gateway = _gateway(res, state)
            if span.lo <= v.ip_int(gateway) <= span.hi:
                yield Problem(res.origin, f"{describe(res)}: contains the gateway {gateway}")


def first_management_range(state: State) -> Iterator[Problem]:
    """createPod makes the first range: it is untagged and not reserved for system VMs."""
    for pod in state.of_kind("pod"):
        ranges = sorted(state.children(pod.key, "management_range"), key=lambda r: r.order)
        if not ranges:
            # ConfigurationManagerImpl.createPod (non-edge zones): a missing startip is
            # refused with 431 "The start IP is invalid": a pod cannot exist without a range
            yield Problem(
                pod.origin,
                f"{describe(pod)} has no management range: CloudStack creates a pod only "
                "with its first management range (createPod startip/endip); add "
                "management_ranges with a start and end inside the pod's subnet",
            )
            continue
        first = ranges[0]
        if first.values.get("vlan") != v.UNTAGGED or first.values.get("for_system_vms"):
            yield Problem(
                first.origin,
                f"{describe(first)}: the first management range is "
                "created with the pod (createPod) and cannot have a vlan or "
                "for_system_vms; list an untagged range first",
            )


def management_ranges_unique(state: State) -> Iterator[Problem]:
    """Management ranges must be unique across the whole region (all zones of the config)."""
    spans = [_span(r) for r in state.of_kind("management_range")]
    for a, b in overlaps(spans):
        yield Problem(
            b.res.origin,
            f"{b.label} overlaps {a.label} at {a.res.origin} "
            "(management ranges must be unique in the region)",
        )


def pod_cidrs(state: State) -> Iterator[Problem]:
    """With check.pod.cidrs true, pod subnets of a zone and its guest CIDR may not overlap."""
    if not _check_pod_cidrs(state):
        return
    zones = {z.key.path[0]: z for z in state.of_kind("zone")}
    for zone, pods in _by_zone(state, "pod").items():
        spans = []
        for pod in pods:
            net = v.network_of(pod.values["gateway"], pod.values["netmask"])
            spans.append(Span(int(net.network_address), int(net.broadcast_address), pod))
        for a, b in overlaps(spans):
            yield Problem(
                b.res.origin,
                f"{describe(b.res)}: subnet overlaps {describe(a.res)} "
                f"at {a.res.origin} while check.pod.cidrs is true (set it to false "
                "to let pods share a subnet)",
            )
        guest = zones.get(zone) and zones[zone].values.get("guest_cidr")
        for span in spans if guest else []:
            net = ipaddress.IPv4Network(guest)
            if span.lo <= int(net.broadcast_address) and int(net.network_address) <= span.hi:
                yield Problem(
                    span.res.origin,
                    f"{describe(span.res)}: subnet overlaps the zone's guest_cidr {guest}",
                )


def public_ranges(state: State) -> Iterator[Problem]:
    """Zone-wide: same subnet needs the same gateway/netmask; another VLAN may not reuse it."""
    for _zone, ranges in _by_zone(state, "public_range").items():
        nets = []
        for res in ranges:
            net = _network(res, state)
            nets.append(Span(int(net.network_address), int(net.broadcast_address), res))
        for a, b in overlaps(nets):
            ra, rb = a.res, b.res
            same_vlan = ra.values["vlan"] == rb.values["vlan"] or v.UNTAGGED in (
                ra.values["vlan"],
                rb.values["vlan"],
            )
            if not same_vlan:
                yield Problem(
                    rb.origin,
                    f"{describe(rb)}: its subnet is already used by "
                    f"{describe(ra)} on VLAN {ra.values['vlan']}; a different VLAN "
                    "may not reuse a subnet",
                )
            elif (ra.values["gateway"], ra.values["netmask"]) != (
                rb.values["gateway"],
                rb.values["netmask"],
            ):
                yield Problem(
                    rb.origin,
                    f"{describe(rb)}: shares a subnet with {describe(ra)} "
                    "but not its gateway and netmask",
                )


def public_subnet_untagged_or_tagged(state: State) -> Iterator[Problem]:
    """A public subnet is untagged or on one VLAN, never both. ConfigurationManagerImpl
    .checkZoneVlanIpOverlap takes a new range on an overlapping subnet as an extension only
    when the new range is untagged or on the same VLAN; a tagged range after an untagged one
    is refused (431 "The IP range with tag: vlan://untagged in zone ... has overlapped with
    the subnet"). The server takes the other order, so whether an apply (or a later replace)
    fails would depend on the order of the steps: both orders are refused here."""
    for _zone, ranges in _by_zone(state, "public_range").items():
        nets = []
        for res in ranges:
            net = _network(res, state)
            nets.append(Span(int(net.network_address), int(net.broadcast_address), res))
        for a, b in overlaps(nets):
            tags = {a.res.values["vlan"], b.res.values["vlan"]}
            if v.UNTAGGED in tags and len(tags) == 2:
                tagged = a.res if a.res.values["vlan"] != v.UNTAGGED else b.res
                yield Problem(
                    b.res.origin,
                    f"{describe(b.res)}: shares its subnet with {describe(a.res)} at "
                    f"{a.res.origin}, but one is untagged and the other on VLAN "
                    f"{tagged.values['vlan']}; CloudStack refuses a tagged range on the subnet "
                    "of an untagged one: give both the same vlan",
                )


def zone_ranges_disjoint(state: State) -> Iterator[Problem]:
    """Public, management, storage and guest ranges of a zone never overlap each other. A
    pod's management range over a shared network's addresses is refused by createPod and
    createManagementNetworkIpRange (ConfigurationManagerImpl:1784, 2780-2791). Between two
    shared networks on different VLANs the server lets the addresses overlap
    (checkZoneVlanIpOverlap, CM:5519-5540): cstool does not."""
    by_zone: dict[str, list[Span]] = defaultdict(list)
    for kind in RANGE_KINDS:
        for res in state.of_kind(kind):
            by_zone[res.key.path[0]].append(_span(res))
    for spans in by_zone.values():
        for a, b in overlaps(spans):
            if a.res.key.kind == b.res.key.kind == "management_range":
                continue  # reported region-wide
            yield Problem(b.res.origin, f"{b.label} overlaps {a.label} at {a.res.origin}")


def vlan_ids(state: State) -> Iterator[Problem]:
    """VLAN ids 1-4094; VXLAN VNIs up to 16777214."""
    for kind in RANGE_KINDS:
        for res in state.of_kind(kind):
            tag = res.values.get("vlan")
            if isinstance(tag, int) and not 1 <= tag <= v.VLAN_MAX:
                yield Problem(
                    res.origin_of("vlan"), f"{describe(res)}: VLAN {tag} is outside 1-{v.VLAN_MAX}"
                )
    for pn in state.of_kind("physical_network"):
        ranges = pn.values.get("vlan_ranges")
        isolation = pn.values.get("isolation") or "VLAN"
        top = (
            v.VXLAN_MAX
            if "VXLAN" in isolation
            else 4294967295
            if "GRE" in isolation
            else v.VLAN_MAX
        )
        for lo, hi in v.span_list(ranges or ""):
            if lo < 1 or hi > top:
                yield Problem(
                    pn.origin_of("vlan_ranges"),
                    f"{describe(pn)}: {isolation} range {lo}-{hi} is outside 1-{top}",
                )


def guest_vlans_disjoint(state: State) -> Iterator[Problem]:
    """Guest VLAN ranges of a zone's physical networks do not overlap (the server lets them)."""
    for _zone, pns in _by_zone(state, "physical_network").items():
        spans = [
            Span(lo, hi, pn)
            for pn in pns
            for lo, hi in v.span_list(pn.values.get("vlan_ranges") or "")
        ]
        for a, b in overlaps(spans):
            if a.res is not b.res:
                yield Problem(
                    b.res.origin_of("vlan_ranges"),
                    f"{describe(b.res)}: guest VLANs "
                    f"{b.lo}-{b.hi} overlap {describe(a.res)} ({a.lo}-{a.hi})",
                )


def public_vlan_not_guest(state: State) -> Iterator[Problem]:
    """A public range's VLAN may not be one of the zone's guest VLANs."""
    guest = defaultdict(list)
    for pn in state.of_kind("physical_network"):
        guest[pn.key.path[0]].extend(v.span_list(pn.values.get("vlan_ranges") or ""))
    for res in state.of_kind("public_range"):
        tag = res.values.get("vlan")
        if isinstance(tag, int) and any(lo <= tag <= hi for lo, hi in guest[res.key.path[0]]):
            yield Problem(
                res.origin_of("vlan"),
                f"{describe(res)}: VLAN {tag} is also a guest VLAN of the zone's physical networks",
            )


def traffic_placement(state: State) -> Iterator[Problem]:
    """Management, Public and Storage on one physical network per zone; labels when several."""
    pns = _by_zone(state, "physical_network")
    for zone, by_type in _traffic(state).items():
        for ttype, found in by_type.items():
            if ttype in ONE_PER_ZONE and len(found) > 1:
                yield Problem(
                    found[1].origin,
                    f"zone '{zone}': {ttype} traffic is on more than "
                    f"one physical network ({', '.join(r.key.path[1] for r in found)})",
                )
        if len(pns.get(zone, [])) > 1:
            for found in by_type.values():
                for res in found:
                    if not any(res.values.get("labels", {}).values()):
                        yield Problem(
                            res.origin,
                            f"{describe(res)}: the zone has several "
                            "physical networks, so every traffic type needs a label",
                        )
        untagged_guest = [
            r for r in by_type.get("Guest", []) if not _pn(state, r).values.get("tags")
        ]
        if len(untagged_guest) > 1:
            yield Problem(
                untagged_guest[1].origin,
                f"zone '{zone}': Guest traffic on several "
                "physical networks needs a tag on each of them",
            )


def _pn(state: State, traffic: Resource) -> Resource:
    return state[traffic.key.parent()]


def zone_shape(state: State) -> Iterator[Problem]:
    """What each network type needs and forbids."""
    traffic = _traffic(state)
    pns = _by_zone(state, "physical_network")
    pubs = _by_zone(state, "public_range")
    guest_ranges = _by_zone(state, "guest_range")
    storage_ranges = _by_zone(state, "storage_range")
    for zone in state.of_kind("zone"):
        name, vals = zone.key.path[0], zone.values
        types = set(traffic.get(name, {}))
        basic = vals["network_type"] == "Basic"
        sg = vals.get("security_groups")
        need = {"Management", "Guest"} | ({"Public"} if not basic and not sg else set())
        for missing in sorted(need - types):
            yield Problem(
                zone.origin,
                f"zone '{name}': {vals['network_type']} zones need "
                f"{missing} traffic on a physical network",
            )
        if basic:
            yield from _basic_zone(zone, pns.get(name, []), types, pubs.get(name, []))
        else:
            for res in guest_ranges.get(name, []):
                yield Problem(res.origin, f"{describe(res)}: guest ranges are for Basic zones only")
            if sg and pubs.get(name):
                yield Problem(
                    pubs[name][0].origin,
                    f"zone '{name}': an Advanced zone with security groups has no public ranges",
                )
        if vals.get("guest_cidr") and (basic or sg):
            yield Problem(
                zone.origin_of("guest_cidr"),
                f"zone '{name}': guest_cidr is only for Advanced zones without security groups",
            )
        if "Storage" not in types:
            for res in storage_ranges.get(name, []):
                yield Problem(res.origin, f"{describe(res)}: the zone has no Storage traffic type")
        if not storage_ranges.get(name):
            yield Problem(
                zone.origin,
                f"zone '{name}': no storage network: storage traffic "
                "will use the management network",
                warning=True,
            )


def _basic_zone(
    zone: Resource, pns: list[Resource], types: set[str], pubs: list[Resource]
) -> Iterator[Problem]:
    name = zone.key.path[0]
    if zone.values.get("security_groups") is False:
        yield Problem(
            zone.origin_of("security_groups"),
            f"zone '{name}': Basic zones always have security groups",
        )
    if len(pns) > 1:
        yield Problem(
            pns[1].origin, f"zone '{name}': a Basic zone has exactly one physical network"
        )
    for pn in pns:
        if pn.values.get("vlan_ranges"):
            yield Problem(
                pn.origin_of("vlan_ranges"),
                f"{describe(pn)}: a Basic zone has no guest VLAN ranges",
            )
    if pubs and "Public" not in types:
        yield Problem(
            pubs[0].origin,
            f"zone '{name}': public ranges in a Basic zone need Public traffic (EIP/ELB)",
        )


def broadcast_domain(state: State) -> Iterator[Problem]:
    zones = {z.key.path[0]: z for z in state.of_kind("zone")}
    for pn in state.of_kind("physical_network"):
        zone = zones[pn.key.path[0]]
        want = "POD" if zone.values["network_type"] == "Basic" else "ZONE"
        if pn.values.get("broadcast_domain_range") not in (None, want):
            yield Problem(
                pn.origin_of("broadcast_domain_range"),
                f"{describe(pn)}: "
                f"{zone.values['network_type']} zones use broadcast_domain_range {want}",
            )


# --- settings: checked against the catalog of the server's settings ---------------------

SETTING_KINDS = ("setting", "zone_setting", "cluster_setting")
# the scope a setting needs to be set under a zone or a cluster (ConfigKey.Scope)
SCOPE_OF = {"zone_setting": "zone", "cluster_setting": "cluster"}


def _settings(state: State) -> Iterator[tuple[Resource, catalog.Setting | None]]:
    known = catalog.catalog()
    for kind in SETTING_KINDS:
        for res in state.of_kind(kind):
            yield res, known.get(res.key.path[-1])


def setting_names(state: State) -> Iterator[Problem]:
    """A setting the server does not have is refused by updateConfiguration with 431 "Config
    parameter with name ... doesn't exist" (ConfigurationManagerImpl.updateConfiguration)."""
    known = catalog.catalog()
    for res, setting in _settings(state):
        if setting is None:
            name = res.key.path[-1]
            close = known.suggest(name)
            hint = f" (did you mean '{close}'?)" if close else ""
            yield Problem(
                res.origin,
                f"{describe(res)}: not a setting of CloudStack {catalog.VERSION}{hint}",
            )


def setting_scopes(state: State) -> Iterator[Problem]:
    """A zone value needs Zone scope, a cluster value Cluster scope: ConfigurationManagerImpl
    .validateConfigurationValue answers 431 "Invalid scope id provided for the parameter"
    otherwise. Any setting has a global value (ConfigKey.value(), the fallback of every
    scope), so the top level takes all."""
    for res, setting in _settings(state):
        scope = SCOPE_OF.get(res.key.kind)
        if scope is None or setting is None or scope in setting.scopes:
            continue
        if "global" in setting.scopes:
            hint = "set it under the top-level settings: instead"
        else:
            hint = (
                "its global value, the default where no narrower value is set, goes under "
                "the top-level settings:"
            )
        yield Problem(
            res.origin,
            f"{describe(res)}: cannot be set per {scope} (its scope: {setting.scope_names}); "
            f'CloudStack answers 431 "Invalid scope id provided for the parameter '
            f'{setting.name}"; {hint}',
        )


def setting_categories(state: State) -> Iterator[Problem]:
    """Hidden settings are never listed (ManagementServerImpl.searchForConfigurations filters
    category != Hidden); Secure ones are listed encrypted (ApiResponseHelper
    .createConfigurationResponse): neither can be compared with a value in the config."""
    for res, setting in _settings(state):
        if setting is None or setting.comparable:
            continue
        if setting.hidden:
            why = "category Hidden: CloudStack never lists it"
        else:
            why = "category Secure: CloudStack lists only its encrypted value"
        yield Problem(
            res.origin,
            f"{describe(res)}: {why}, so cstool cannot compare it with the config; "
            "leave it out and set it on the server by hand",
        )


def setting_values(state: State) -> Iterator[Problem]:
    """Values updateConfiguration refuses (validateConfigurationValue: the type, a Config.java
    range). Values it keeps or lists in another form: setting_values_as_listed."""
    for res, setting in _settings(state):
        if setting is None:
            continue
        scoped = res.key.kind in SCOPE_OF
        value = str(res.values["value"])
        problem = catalog.value_problem(setting, value, scoped)
        if problem is not None:
            yield Problem(res.origin_of("value"), f"{describe(res)}: {problem}")


def setting_values_as_listed(state: State) -> Iterator[Problem]:
    """A value the server keeps or lists in another form never compares equal: every plan
    would set it again. ConfigurationManagerImpl.updateConfiguration trims the value
    (`value = value.trim()`; "" and "null" clear a global one) and lower-cases a Boolean
    (`value.toLowerCase()` in its inner updateConfiguration); a zone value is listed through
    ConfigKey.valueOf (ManagementServerImpl.searchForConfigurations: "90" of a Float is
    listed as "90.0"). So ' 60', 'TRUE' or a blank value is an error naming what to write."""
    for res, setting in _settings(state):
        if setting is None or not setting.comparable:
            continue
        scoped = res.key.kind in SCOPE_OF
        value = str(res.values["value"])
        if scoped and SCOPE_OF[res.key.kind] not in setting.scopes:
            continue  # reported by setting_scopes
        if catalog.value_problem(setting, value, scoped) is not None:
            continue  # reported by setting_values
        # a cluster's values are read back from listClusters resourcedetails, as stored
        # (trimmed, a Boolean lower-cased), not through ConfigKey.valueOf
        shown = catalog.listed(setting, value, res.key.kind == "zone_setting")
        if shown != value:
            yield Problem(
                res.origin_of("value"),
                f"{describe(res)}: CloudStack stores and lists {value!r} as {shown!r}, so "
                f"plans would never compare equal; write {shown!r}",
            )


def providers(state: State) -> Iterator[Problem]:
    """Provider names CloudStack 4.22 implements; providers cstool cannot enable alone."""
    traffic = _traffic(state)
    for res in state.of_kind("provider"):
        name = res.key.path[-1]
        where = res.origin
        if name in REMOVED:
            yield Problem(where, f"{describe(res)}: {REMOVED[name]} (not in CloudStack 4.22)")
            continue
        if name not in KNOWN:
            close = [k for k in KNOWN if k.lower() == name.lower()]
            close = close or difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            yield Problem(where, f"{describe(res)}: CloudStack has no provider {name!r}{hint}")
            continue
        if not res.values.get("enabled"):
            continue
        if name in NEEDS_DEVICE:
            yield Problem(
                where,
                f"{describe(res)}: {name} can be enabled only once a device is added "
                f"({NEEDS_DEVICE[name]}), which cstool does not manage; CloudStack answers "
                "'Provider is not ready'",
            )
        zone, network = res.key.path[0], res.key.path[1]
        mgmt = traffic.get(zone, {}).get("Management", [])
        if name == "Tungsten" and not any(t.key.path[1] == network for t in mgmt):
            yield Problem(
                where,
                f"{describe(res)}: Tungsten is ready only on the physical network that carries "
                "Management traffic (TungstenElement.isReady)",
            )


def names_without_case(state: State) -> Iterator[Problem]:
    """CloudStack compares zone names (cloud-wide) and pod names (per zone) without case
    (ConfigurationManagerImpl.checkZoneParameters / createPod, MySQL collation): `Lab1` and
    `lab1` are one name to it."""
    yield from _same_without_case(state, ("zone", "pod"))


def _config_order(res: Resource) -> tuple[str, int, int, tuple[str, ...]]:
    """Where a resource is written, so the later of two names is the one reported."""
    o = res.origin
    return (o.file, o.line, o.column, res.key.path) if o else ("", 0, 0, res.key.path)


def _same_without_case(state: State, kinds: Iterable[str]) -> Iterator[Problem]:
    """Names of one kind under one parent that differ only in case."""
    for kind in kinds:
        seen: dict[tuple[str, ...], Resource] = {}
        for res in sorted(state.of_kind(kind), key=_config_order):
            folded = (*res.key.path[:-1], res.key.path[-1].casefold())
            first = seen.setdefault(folded, res)
            if first is not res:
                yield Problem(
                    res.origin,
                    f"{describe(res)}: CloudStack compares names without case, so this is "
                    f"the same name as {describe(first)} at {first.origin}",
                )


# NetUtils.validateGuestCidr: private (RFC 1918) and shared address space (RFC 6598) only
GUEST_BLOCKS = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def zone_network_values(state: State) -> Iterator[Problem]:
    """createZone/editZone refuse a guest CIDR outside RFC 1918/6598 unless the global setting
    allow.non.rfc1918.compliant.ips is true (NetUtils.validateGuestCidr, 431 "Please enter a
    valid guest cidr"), and a network domain that NetUtils.verifyDomainName refuses (431)."""
    allowed = state.get(Key("setting", ("allow.non.rfc1918.compliant.ips",)))
    any_cidr = allowed is not None and str(allowed.values.get("value")).lower() == "true"
    for zone in state.of_kind("zone"):
        cidr = zone.values.get("guest_cidr")
        if cidr and not any_cidr:
            net = ipaddress.IPv4Network(cidr)
            if not any(net.subnet_of(block) for block in GUEST_BLOCKS):
                yield Problem(
                    zone.origin_of("guest_cidr"),
                    f"{describe(zone)}: guest_cidr {cidr} is not private (RFC 1918) or shared "
                    "(RFC 6598) address space; CloudStack refuses it unless the global setting "
                    "allow.non.rfc1918.compliant.ips is true",
                )
        domain = zone.values.get("domain")
        if domain and not _valid_domain(str(domain)):
            yield Problem(
                zone.origin_of("domain"),
                f"{describe(zone)}: domain {domain!r} is not a valid network domain (labels of "
                "1-63 letters, digits and '-', not starting or ending with '-', 190 characters "
                "at most)",
            )


def _valid_domain(name: str) -> bool:
    """NetUtils.verifyDomainName: at most 190 characters, no leading or trailing dot, every
    label 1-63 of [A-Za-z0-9-] not starting or ending with '-'."""
    if not name or len(name) > 190 or name.startswith(".") or name.endswith("."):
        return False
    return all(_DOMAIN_LABEL.match(label) for label in name.split("."))


def text_lengths(state: State) -> Iterator[Problem]:
    """A text longer than its API parameter takes is refused before the command runs:
    ParamProcessWorker.setFieldValue, case STRING: "Value greater than max allowed length <n>
    for param: <name>" (431). The limits are the @Parameter lengths of the kind's create and
    update commands (255 unless a command says otherwise; cstool/data/api-spec.json)."""
    for res in state.values():
        kind = KINDS[res.key.kind]
        specs = [apispec.command(c) for c in (kind.create, kind.update) if c]
        limits = _string_limits([c for c in specs if c is not None])
        if kind.implicit or not limits:
            continue
        sent: list[tuple[str | None, Mapping[str, Any]]] = [(None, {kind.key: res.key.path[-1]})]
        sent += [
            (f.name, _params(f, res.values[f.name])) for f in kind.fields if f.name in res.values
        ]
        for name, params in sent:
            for param, value in params.items():
                limit = limits.get(param)
                if isinstance(value, str) and limit is not None and len(value) > limit:
                    yield Problem(
                        res.origin_of(name) if name else res.origin,
                        f"{describe(res)}: {name or kind.key} is {len(value)} characters long; "
                        f'CloudStack takes at most {limit} for {param} (431 "Value greater '
                        'than max allowed length")',
                    )


def _string_limits(specs: list[apispec.CommandSpec]) -> dict[str, int]:
    """Parameter -> the smallest length any of the commands allows for it (STRING ones)."""
    out: dict[str, int] = {}
    for spec in specs:
        for p in spec.params.values():
            if p.type == "STRING":
                out[p.name] = min(out.get(p.name, p.length or 255), p.length or 255)
    return out


def _params(f: Field, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    return f.params(value)


# --- compute and storage ---------------------------------------------------------------------

# Advanced zones with security groups take only these (ResourceManagerImpl.discoverCluster,
# RM:517-522: "Only KVM, XenServer, LXC and Simulator hypervisors are supported ...")
SG_HYPERVISORS = ("KVM", "XenServer", "LXC", "Simulator")
# the primary storage URL schemes the server parses (StorageManagerImpl.createPool,
# CloudStackPrimaryDataStoreLifeCycleImpl.initialize:143-350)
POOL_SCHEMES = (
    "nfs",
    "sharedmountpoint",
    "rbd",
    "presetup",
    "clvm",
    "iscsi",
    "gluster",
    "cifs",
    "vmfs",
    "datastorecluster",
    "ocfs2",
)
NEEDS_HOST_AND_PATH = ("nfs", "gluster", "rbd")
# a zone-wide pool's hypervisor (StorageManagerImpl:443-444, 1016-1018): never XenServer
ZONE_POOL_HYPERVISORS = ("KVM", "VMware", "Hyperv", "LXC", "Any", "Simulator")
# what a region store's provider needs in its details (ImageStoreProviders S3/Swift)
REGION_DETAILS = {
    "S3": ("accesskey", "secretkey", "bucket", "endpoint"),
    "Swift": ("account", "username", "key"),
}


def _split(url: Any) -> SplitResult | None:
    try:
        return urlsplit(str(url))
    except ValueError:
        return None


def _zone_of(res: Resource, state: State) -> Resource | None:
    return state.get(Key("zone", res.key.path[:1]))


def _hypervisor_of(host: Resource, state: State) -> str:
    cluster = state.get(host.key.parent())
    return str(cluster.values.get("hypervisor") or "") if cluster else ""


def store_names(state: State) -> Iterator[Problem]:
    """Image store names are unique across the whole cloud: StorageManagerImpl
    .discoverImageStore (SM:3926-3929) looks the name up over every image store (431 "The
    image store with name <n> already exists")."""
    seen: dict[str, Resource] = {}
    for kind in ("region_image_store", "image_store"):
        for res in state.of_kind(kind):
            name = res.key.path[-1]
            first = seen.setdefault(name, res)
            if first is not res:
                yield Problem(
                    res.origin,
                    f"{describe(res)}: the name is already used by {describe(first)} at "
                    f"{first.origin}; image store names are unique in the cloud",
                )


def cluster_hypervisors(state: State) -> Iterator[Problem]:
    """An Advanced zone with security groups takes only KVM, XenServer, LXC and Simulator
    clusters (ResourceManagerImpl.discoverCluster, ResourceManagerImpl:517-522)."""
    for res in state.of_kind("cluster"):
        zone = _zone_of(res, state)
        if zone is None or zone.values.get("network_type") != "Advanced":
            continue
        hypervisor = res.values.get("hypervisor")
        if zone.values.get("security_groups") and hypervisor not in SG_HYPERVISORS:
            yield Problem(
                res.origin_of("hypervisor"),
                f"{describe(res)}: an Advanced zone with security groups takes only "
                f"{', '.join(SG_HYPERVISORS)} clusters, not {hypervisor}",
            )


def vmware_clusters(state: State) -> Iterator[Problem]:
    """A VMware cluster is found in the zone's vCenter datacenter (VmwareServerDiscoverer
    .find:436-446 refuses a zone without one; a zone has at most one, AddVmwareDcCmd), is
    ExternalManaged, and its url is http(s)://vcenter/datacenter/cluster (RM:626-636);
    its hosts are discovered, never added (Marvin's deployDataCenter skips addHost)."""
    dcs = _by_zone(state, "vmware_datacenter")
    for zone, found in dcs.items():
        for extra in found[1:]:
            yield Problem(
                extra.origin,
                f"{describe(extra)}: zone '{zone}' has one VMware datacenter at most "
                f"(the first at {found[0].origin})",
            )
    for res in state.of_kind("cluster"):
        if res.values.get("hypervisor") != "VMware":
            continue
        if not dcs.get(res.key.path[0]):
            yield Problem(
                res.origin,
                f"{describe(res)}: a VMware cluster needs the zone's vmware_datacenters entry",
            )
        if res.values.get("type") not in (None, "ExternalManaged"):
            yield Problem(
                res.origin_of("type"), f"{describe(res)}: a VMware cluster is ExternalManaged"
            )
        url = res.values.get("url")
        parts = _split(url) if url else None
        if url is not None and (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path.strip("/") == ""
        ):
            yield Problem(
                res.origin_of("url"),
                f"{describe(res)}: url must be http(s)://<vcenter>/<datacenter>/<cluster>",
            )
        for host in state.children(res.key, "host"):
            yield Problem(
                host.origin,
                f"{describe(host)}: the hosts of a VMware cluster are discovered from "
                "vCenter by addCluster; leave hosts out",
            )


def host_urls(state: State) -> Iterator[Problem]:
    """What the discoverers accept: KVM needs http (LibvirtServerDiscoverer.find); a
    Simulator host needs http and an authority starting with `sim` (SimulatorDiscoverer
    .find; anything else ends in the generic 530); a KVM host's GUID is derived from its
    address, so one address twice in a cluster is refused ("Skipping host ... already in
    the database")."""
    seen: dict[tuple[tuple[str, ...], str], Resource] = {}
    for res in state.of_kind("host"):
        url = res.values.get("url")
        if url is None:
            continue
        hypervisor = _hypervisor_of(res, state)
        parts = _split(url)
        scheme = parts.scheme.lower() if parts else ""
        if hypervisor in ("KVM", "Simulator") and scheme != "http":
            yield Problem(
                res.origin_of("url"),
                f"{describe(res)}: a {hypervisor} host's url starts with http://",
            )
        elif hypervisor == "Simulator" and not (parts and parts.netloc.startswith("sim")):
            yield Problem(
                res.origin_of("url"),
                f"{describe(res)}: a Simulator host's url is http://sim...; CloudStack's "
                "simulator finds no host at any other address",
            )
        if hypervisor == "KVM" and parts and parts.hostname:
            slot = (res.key.path[:-1], parts.hostname)
            first = seen.setdefault(slot, res)
            if first is not res:
                yield Problem(
                    res.origin_of("url"),
                    f"{describe(res)}: {parts.hostname} is also the address of "
                    f"{describe(first)} at {first.origin}",
                )
        if hypervisor == "BareMetal" and not res.values.get("tags"):
            yield Problem(res.origin, f"{describe(res)}: a BareMetal host needs tags")


def pool_urls(state: State) -> Iterator[Problem]:
    """The URL forms the server parses (SM.createPool, PL:143-350): a known
    scheme; nfs, gluster and rbd with a host and a path; iscsi with an integer LUN. One
    host+path twice is one pool to the server, whose id is derived from them (PL:318-345),
    except for SharedMountPoint."""
    seen: dict[tuple[str, str], Resource] = {}
    for kind in ("primary_storage", "zone_primary_storage"):
        for res in state.of_kind(kind):
            parts = _split(res.values.get("url") or "")
            if parts is None:
                continue
            where = res.origin_of("url")
            scheme = parts.scheme.lower()
            if scheme not in POOL_SCHEMES:
                yield Problem(
                    where,
                    f"{describe(res)}: CloudStack has no primary storage of scheme "
                    f"{scheme!r} (one of {', '.join(POOL_SCHEMES)})",
                )
                continue
            if scheme in NEEDS_HOST_AND_PATH and (not parts.hostname or not parts.path.strip("/")):
                yield Problem(where, f"{describe(res)}: a {scheme} url needs a host and a path")
                continue
            if scheme == "iscsi" and not parts.path.rstrip("/").rpartition("/")[2].isdigit():
                yield Problem(
                    where, f"{describe(res)}: an iscsi url ends with the LUN number (/iqn/0)"
                )
            if scheme != "sharedmountpoint" and parts.hostname:
                first = seen.setdefault((parts.hostname, parts.path), res)
                if first is not res:
                    yield Problem(
                        where,
                        f"{describe(res)}: the same host and path as {describe(first)} at "
                        f"{first.origin}: CloudStack refuses a second pool on them",
                    )


def pools_need_hosts(state: State) -> Iterator[Problem]:
    """A cluster-scope pool is attached through an Up host of its cluster: without one,
    createStoragePool fails ("No host up to associate a storage pool with in cluster",
    PL.attachCluster:434-441). VMware clusters bring their hosts with them."""
    for res in state.of_kind("primary_storage"):
        cluster = state.get(res.key.parent())
        if cluster is None or cluster.values.get("hypervisor") == "VMware":
            continue
        if not state.children(cluster.key, "host"):
            yield Problem(
                res.origin,
                f"{describe(res)}: its cluster has no host; CloudStack attaches a pool "
                "through an Up host of the cluster",
            )


def zone_pools(state: State) -> Iterator[Problem]:
    """A zone-wide pool names a hypervisor, never XenServer (StorageManagerImpl:443-444,
    1016-1018)."""
    for res in state.of_kind("zone_primary_storage"):
        hypervisor = res.values.get("hypervisor")
        if hypervisor not in ZONE_POOL_HYPERVISORS:
            yield Problem(
                res.origin_of("hypervisor"),
                f"{describe(res)}: a zone-wide pool is for one of "
                f"{', '.join(ZONE_POOL_HYPERVISORS)}, not {hypervisor}",
            )


def nfs_mount_options(state: State) -> Iterator[Problem]:
    """`nfsmountopts` is for NFS pools of KVM or Simulator (StorageManagerImpl:916-942)."""
    for kind in ("primary_storage", "zone_primary_storage"):
        for res in state.of_kind(kind):
            if "nfsmountopts" not in (res.values.get("details") or {}):
                continue
            if kind == "primary_storage":
                cluster = state.get(res.key.parent())
                hypervisor = cluster.values.get("hypervisor") if cluster else None
            else:
                hypervisor = res.values.get("hypervisor")
            parts = _split(res.values.get("url") or "")
            if hypervisor not in ("KVM", "Simulator") or not parts or parts.scheme != "nfs":
                yield Problem(
                    res.origin_of("details"),
                    f"{describe(res)}: nfsmountopts is only for nfs pools of KVM or Simulator",
                )


def image_stores(state: State) -> Iterator[Problem]:
    """A zone's image store is NFS on an nfs:// or cifs:// URL with host and path
    (CloudStackImageStoreLifeCycleImpl.initialize:104-107); region stores are S3 or Swift
    with their details; every image store of a cloud has one provider (SM:3938-3944: "You
    can only add new image stores from the same provider"); a staging store is nfs."""
    providers: dict[str, Resource] = {}
    for kind in ("region_image_store", "image_store", "staging_store"):
        for res in state.of_kind(kind):
            url = res.key.path[-1] if kind == "staging_store" else res.values.get("url")
            parts = _split(url) if url else None
            provider = str(res.values.get("provider") or "NFS")
            if kind != "region_image_store":
                schemes = ("nfs",) if kind == "staging_store" else ("nfs", "cifs")
                if (
                    not parts
                    or parts.scheme not in schemes
                    or not parts.hostname
                    or not (parts.path.strip("/"))
                ):
                    said = " or ".join(f"{s}://host/path" for s in schemes)
                    yield Problem(res.origin_of("url"), f"{describe(res)}: the url is {said}")
            else:
                missing = [
                    d
                    for d in REGION_DETAILS.get(provider, ())
                    if d not in (res.values.get("details") or {})
                ]
                if missing:
                    yield Problem(
                        res.origin_of("details"),
                        f"{describe(res)}: {provider} needs details {', '.join(missing)}",
                    )
            if kind == "staging_store":
                continue  # cache stores are outside the one-provider rule
            first = providers.setdefault(provider, res)
            if len(providers) > 1 and first is res:
                other = next(r for p, r in providers.items() if p != provider)
                yield Problem(
                    res.origin,
                    f"{describe(res)}: provider {provider} while {describe(other)} at "
                    f"{other.origin} is {res_provider(other)}; all image stores of a cloud "
                    "have one provider",
                )


def res_provider(res: Resource) -> str:
    return str(res.values.get("provider") or "NFS")


def zone_details(state: State) -> Iterator[Problem]:
    """Zone details and zone settings are one key space on the server (listZones
    resourcedetails holds both); `cstool.` keys are cstool's own (cloud/lock.py)."""
    known = catalog.catalog()
    for res in state.of_kind("zone_detail"):
        name = res.key.path[-1]
        if name.startswith("cstool."):
            yield Problem(res.origin, f"{describe(res)}: keys starting cstool. are reserved")
        elif known.get(name) is not None:
            yield Problem(
                res.origin,
                f"{describe(res)}: {name} is a setting; write it under the zone's settings:",
            )


def compute_needs_storage(state: State) -> Iterator[Problem]:
    """System VMs start only in a zone with primary storage (or local storage) and an image
    store (SecondaryStorageManagerImpl.isZoneReady): a zone with hosts and without them
    never runs a VM."""
    hosts = _by_zone(state, "host")
    for zone in state.of_kind("zone"):
        name = zone.key.path[0]
        if not hosts.get(name):
            continue
        pools = _by_zone(state, "primary_storage").get(name) or _by_zone(
            state, "zone_primary_storage"
        ).get(name)
        if not pools and not zone.values.get("local_storage"):
            yield Problem(
                zone.origin,
                f"zone '{name}': hosts but no primary storage: system VMs will not start",
                warning=True,
            )
        if not _by_zone(state, "image_store").get(name):
            yield Problem(
                zone.origin,
                f"zone '{name}': hosts but no secondary storage: system VMs will not start",
                warning=True,
            )


def infra_names_without_case(state: State) -> Iterator[Problem]:
    """Cluster names are unique per pod under the database's collation, which ignores case
    (setup/db/create-schema.sql: UNIQUE i_cluster__pod_id__name (pod_id, name) in a utf8
    table; ResourceManagerImpl.discoverCluster answers 530 "Unable to create cluster" when
    ClusterDaoImpl.persist fails, RM:585-592). Hosts and pools have no such index, but the
    `name` filters of listHosts and listStoragePools compare under the same collation, so
    two names that differ only in case are one to every lookup by name."""
    yield from _same_without_case(
        state, ("cluster", "host", "primary_storage", "zone_primary_storage")
    )


def detail_secrets(state: State) -> Iterator[Problem]:
    """A zone detail named like a credential (password, secretkey, Swift's key) would show
    its value in plans and recordings: updateZone takes only plain values, so it cannot be
    a reference. (Pool and store details take references: details.parse refuses a plain
    value there.) The message never holds the value."""
    for res in state.of_kind("zone_detail"):
        if secrets.is_credential_key(res.key.path[-1]):
            yield Problem(
                res.origin_of("value"),
                f"{describe(res)}: a credential in a zone detail would be shown in plans "
                "and recordings; cstool does not manage it: set it on the server by hand",
            )


def external_clusters(state: State) -> Iterator[Problem]:
    """An ExternalManaged cluster (VMware's default) is found through its url: without a
    scheme the server refuses it, "uri.scheme is null <url>, add http:// as a prefix", and an
    http url needs a host and a path (ResourceManagerImpl.discoverCluster, after the early
    return for CloudManaged clusters)."""
    for res in state.of_kind("cluster"):
        hypervisor = res.values.get("hypervisor")
        default = "ExternalManaged" if hypervisor == "VMware" else "CloudManaged"
        if (res.values.get("type") or default) != "ExternalManaged":
            continue
        url = res.values.get("url")
        parts = _split(url) if url else None
        if url is None or parts is None or not parts.scheme:
            yield Problem(
                res.origin_of("url") if url is not None else res.origin,
                f"{describe(res)}: an ExternalManaged cluster needs a url "
                "(http://<manager>/<path>): CloudStack finds the cluster through it",
            )
        elif parts.scheme == "http" and (not parts.hostname or not parts.path.strip("/")):
            yield Problem(
                res.origin_of("url"),
                f"{describe(res)}: url must be http://<host>/<path>",
            )


def cluster_credentials(state: State) -> Iterator[Problem]:
    """Warning: url, username and password are read only for ExternalManaged (VMware)
    clusters; a CloudManaged cluster's are ignored (ResourceManagerImpl.discoverCluster,
    ResourceManagerImpl:596-665)."""
    for res in state.of_kind("cluster"):
        hypervisor = res.values.get("hypervisor")
        default = "ExternalManaged" if hypervisor == "VMware" else "CloudManaged"
        if (res.values.get("type") or default) != "CloudManaged":
            continue
        for name in ("url", "username", "password"):
            if res.values.get(name) is not None:
                yield Problem(
                    res.origin_of(name),
                    f"{describe(res)}: {name} is ignored by CloudStack for a CloudManaged cluster",
                    warning=True,
                )


def _ipv4(text: Any) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(text))
    except ValueError:
        return None


def _host_ip(res: Resource) -> ipaddress.IPv4Address | None:
    """The address a host will have: its URL's host when an IPv4, else its name when one."""
    parts = _split(res.values.get("url") or "")
    return _ipv4(parts.hostname if parts else None) or _ipv4(res.key.path[-1])


def host_addresses(state: State) -> Iterator[Problem]:
    """Warnings about a host's name and address:
    - a non-Simulator host named neither by its URL's host nor by an IPv4: the server puts
      the agent's own name back at every reconnect (ResourceManagerImpl.createHostVO:3256),
      so the name cstool finds it by would be lost;
    - an IPv4 outside its pod's gateway/netmask: XenServer and Hyper-V refuse it
      (ResourceManagerImpl.checkCIDR via XcpServerDiscoverer:685, HypervServerDiscoverer:399);
    - an IPv4 inside one of its pod's management ranges: checkIPConflicts (fillRoutingHostVO
      :3698) takes it from the pod's private addresses, one fewer for system VMs."""
    for res in state.of_kind("host"):
        name = res.key.path[-1]
        parts = _split(res.values.get("url") or "")
        hypervisor = _hypervisor_of(res, state)
        if (
            hypervisor != "Simulator"
            and parts is not None
            and parts.hostname
            and name != parts.hostname
            and _ipv4(name) is None
        ):
            yield Problem(
                res.origin,
                f"{describe(res)}: the name is neither the url's host ({parts.hostname}) nor "
                "an address; CloudStack puts the agent's own name back when it reconnects",
                warning=True,
            )
        ip = _host_ip(res)
        pod = state.get(Key("pod", res.key.path[:2]))
        if ip is None or pod is None or not pod.values.get("gateway"):
            continue
        net = v.network_of(pod.values["gateway"], pod.values["netmask"])
        if ip not in net:
            yield Problem(
                res.origin,
                f"{describe(res)}: {ip} is outside its pod's subnet {net}; XenServer and "
                "Hyper-V refuse such a host",
                warning=True,
            )
        for span in map(_span, state.children(pod.key, "management_range")):
            if span.lo <= int(ip) <= span.hi:
                yield Problem(
                    res.origin,
                    f"{describe(res)}: {ip} is inside {span.label}; CloudStack takes it from "
                    "the addresses of system VMs",
                    warning=True,
                )


# --- shared networks of security-group zones, IPv6, dedication ---------------------------

SHARED_OFFERING = "DefaultSharedNetworkOfferingWithSGService"
# the providers of the default SG shared offering's services (ConfigurationServerImpl
# :988-1035): Dhcp, Dns, UserData on VirtualRouter, SecurityGroup on SecurityGroupProvider
SG_PROVIDERS = ("VirtualRouter", "SecurityGroupProvider")
# explicit dedication of a zone, pod, cluster or host, from the outermost in
DEDICATIONS = ("zone_dedication", "pod_dedication", "cluster_dedication", "host_dedication")
# the kinds that name an owner (domain, then account or project)
OWNED = (*DEDICATIONS, "public_range_dedication", "dedicated_vlan_range")
# the owners that may be a project: the commands that take a projectid
# (DedicatePublicIpRangeCmd, DedicateGuestVlanRangeCmd; DedicateZoneCmd etc. have none)
PROJECT_OWNED = ("public_range_dedication", "dedicated_vlan_range")
IPV6_SLAAC = 64  # Ipv6Service.IPV6_SLAAC_CIDR_NETMASK
WIDE_PREFIX = 48  # listGuestNetworkIpv6Prefixes counts every /64 of a prefix


def _shared_ranges(state: State, net: Resource) -> list[Resource]:
    return sorted(state.children(net.key, "shared_network_range"), key=lambda r: r.order)


def _zone_vals(state: State, res: Resource) -> Mapping[str, Any]:
    zone = state.get(Key("zone", res.key.path[:1]))
    return zone.values if zone is not None else {}


def _guest_network_of(state: State, net: Resource) -> Resource | None:
    """The physical network a shared network is made on: the one it names, else the zone's
    only one with Guest traffic (cstool always sends physicalnetworkid; the server's own
    choice, NM.findPhysicalNetworkId:1209-1247, depends on tags cstool need not know)."""
    zone = net.key.path[0]
    named_pn = net.values.get("physical_network")
    if named_pn:
        return state.get(Key("physical_network", (zone, str(named_pn))))
    guest = _traffic(state).get(zone, {}).get("Guest", [])
    return state.get(guest[0].key.parent()) if len(guest) == 1 else None


def shared_network_zones(state: State) -> Iterator[Problem]:
    """guest_networks are the shared networks of an Advanced zone with security groups. A
    Basic zone has its own guest network (cstool makes it); shared networks of an Advanced
    zone without security groups are tenant networking, which cstool does not manage."""
    for net in state.of_kind("shared_network"):
        zone = _zone_vals(state, net)
        if zone.get("network_type") != "Advanced" or not zone.get("security_groups"):
            yield Problem(
                net.origin,
                f"{describe(net)}: guest_networks are for Advanced zones with "
                "security_groups: true",
            )


def shared_network_values(state: State) -> Iterator[Problem]:
    """What createNetwork refuses for a shared network, checked offline:
    - a VLAN id 1-4094 (NetUtils.isValidVlan) or untagged;
    - not one of its physical network's guest VLANs (NO:2858-2864, "is already being used
      for dynamic vlan allocation");
    - not the VLAN of another network of the zone (NO:2873-2882, "Network with vlan ...
      already exists");
    - a gateway that is neither the network nor the broadcast address (NS:1626-1631);
    - an IPv4 range (NS:1793-1799, 530 "IPv4 address range needs to be provided")."""
    pn_vlans = {
        pn.key: v.span_list(pn.values.get("vlan_ranges") or "")
        for pn in state.of_kind("physical_network")
    }
    seen: dict[tuple[str, Any], Resource] = {}
    for net in sorted(state.of_kind("shared_network"), key=_config_order):
        tag = net.values.get("vlan")
        where = net.origin_of("vlan")
        if isinstance(tag, int) and not 1 <= tag <= v.VLAN_MAX:
            yield Problem(where, f"{describe(net)}: VLAN {tag} is outside 1-{v.VLAN_MAX}")
        on = _guest_network_of(state, net)
        if isinstance(tag, int) and on is not None:
            if any(lo <= tag <= hi for lo, hi in pn_vlans.get(on.key, [])):
                yield Problem(
                    where,
                    f"{describe(net)}: VLAN {tag} is one of the guest VLANs of "
                    f"{describe(on)} ({on.values.get('vlan_ranges')}), which CloudStack "
                    "allocates to isolated networks; pick a VLAN outside vlan_ranges",
                )
        if tag is not None:
            first = seen.setdefault((net.key.path[0], tag), net)
            if first is not net:
                yield Problem(
                    where,
                    f"{describe(net)}: VLAN {tag} is also the VLAN of {describe(first)} at "
                    f"{first.origin}; a zone has one network per VLAN",
                )
        gateway, netmask = net.values.get("gateway"), net.values.get("netmask")
        if gateway and netmask:
            subnet = v.network_of(gateway, netmask)
            if ipaddress.IPv4Address(gateway) in (subnet.network_address, subnet.broadcast_address):
                yield Problem(
                    net.origin_of("gateway"),
                    f"{describe(net)}: the gateway {gateway} is the network or broadcast "
                    f"address of {subnet}",
                )
        if not _shared_ranges(state, net):
            yield Problem(
                net.origin,
                f"{describe(net)}: no IP range; a shared network is created with its first "
                "range: write start and end",
            )


def shared_network_providers(state: State) -> Iterator[Problem]:
    """The physical network of a shared network is known, and with the default offering it
    has VirtualRouter and SecurityGroupProvider enabled: createNetwork refuses a network
    whose offering's providers are not enabled (NO.checkServicesProviders, NO:4400-4427:
    530 "Provider ... is either not enabled or doesn't support service"). The same holds for
    the guest network cstool makes in a Basic zone with that offering."""
    for net in (*state.of_kind("shared_network"), *state.of_kind("guest_network")):
        zone = net.key.path[0]
        named_pn = net.values.get("physical_network")
        pn = _guest_network_of(state, net)
        if pn is None and named_pn:
            yield Problem(
                net.origin_of("physical_network"),
                f"{describe(net)}: zone '{zone}' has no physical network '{named_pn}'",
            )
            continue
        if pn is None:
            yield Problem(
                net.origin,
                f"{describe(net)}: zone '{zone}' has no single physical network with Guest "
                "traffic; name one with physical_network",
            )
            continue
        if (net.values.get("offering") or SHARED_OFFERING) != SHARED_OFFERING:
            continue
        for name in SG_PROVIDERS:
            provider = state.get(Key("provider", (*pn.key.path, name)))
            if provider is None or not provider.values.get("enabled"):
                what = (
                    f"{describe(net)}: {SHARED_OFFERING}"
                    if net.key.kind == "shared_network"
                    else f"zone '{zone}': its guest network's offering {SHARED_OFFERING}"
                )
                yield Problem(
                    net.origin,
                    f"{what} needs {name} enabled on "
                    f"{describe(pn)}: write providers: {{{name}: enabled}} there",
                )


def shared_network_ranges(state: State) -> Iterator[Problem]:
    """The IP ranges of one shared network:
    - a range's vlan, when written, is its network's: one VLAN per guest network
      (ConfigurationManagerImpl:5006-5013 "only one vlan is allowed on guest network",
      CM:5290-5297 "Vlan doesn't match vlan of the network");
    - gateway and netmask together: a range without both stays on the network's subnet
      (CM.validateIpRange:5152-5186);
    - a subnet of its own is neither a subset nor a superset of another of the network's,
      and one subnet has one gateway (CM.hasSameSubnet:5189-5212), and it has no IPv6 span
      (CM.hasSameSubnet:5213-5229 treats every range with IPv6 as on an existing subnet)."""
    for net in state.of_kind("shared_network"):
        ranges = _shared_ranges(state, net)
        subnets = [(_network_of_vals(net.values), net, "the network")]
        for res in ranges:
            tag = res.values.get("vlan")
            if tag is not None and tag != net.values.get("vlan"):
                yield Problem(
                    res.origin_of("vlan"),
                    f"{describe(res)}: vlan {tag} is not its network's "
                    f"({net.values.get('vlan')}); a guest network has one VLAN",
                )
            has = [f for f in ("gateway", "netmask") if res.values.get(f)]
            if len(has) == 1:
                yield Problem(
                    res.origin_of(has[0]),
                    f"{describe(res)}: a range on a subnet of its own needs both gateway "
                    "and netmask",
                )
            elif has:
                own = _network_of_vals(res.values)
                subnets.append((own, res, describe(res)))
                if res.values.get("start_v6") and own != _network_of_vals(net.values):
                    # CM.hasSameSubnet:5213-5229 answers "same subnet" for any range with
                    # IPv6, so validateIpRange files a new IPv4 subnet under an existing one
                    yield Problem(
                        res.origin_of("start_v6"),
                        f"{describe(res)}: a range on a subnet of its own cannot have IPv6 "
                        "addresses: CloudStack would put it on the network's IPv4 subnet",
                    )
        yield from _subnets_nested(subnets)


def _network_of_vals(vals: Mapping[str, Any]) -> ipaddress.IPv4Network | None:
    if not (vals.get("gateway") and vals.get("netmask")):
        return None
    return v.network_of(vals["gateway"], vals["netmask"])


def _subnets_nested(
    subnets: list[tuple[ipaddress.IPv4Network | None, Resource, str]],
) -> Iterator[Problem]:
    for i, (net_b, res_b, _) in enumerate(subnets):
        for net_a, res_a, label_a in subnets[:i]:
            if net_a is None or net_b is None or res_b is res_a:
                continue
            if net_a == net_b:
                if res_a.values["gateway"] != res_b.values["gateway"]:
                    yield Problem(
                        res_b.origin_of("gateway"),
                        f"{describe(res_b)}: subnet {net_b} already has the gateway "
                        f"{res_a.values['gateway']} ({label_a}); a subnet has one gateway",
                    )
            elif net_b.subnet_of(net_a) or net_a.subnet_of(net_b):
                which = "subset" if net_b.subnet_of(net_a) else "superset"
                yield Problem(
                    res_b.origin_of("netmask"),
                    f"{describe(res_b)}: subnet {net_b} is a {which} of {net_a} "
                    f"({label_a}); CloudStack takes the same subnet or a separate one",
                )


def _v6_net(vals: Mapping[str, Any]) -> ipaddress.IPv6Network | None:
    cidr = vals.get("ip6_cidr")
    return ipaddress.IPv6Network(cidr, strict=False) if cidr else None


@dataclass(frozen=True)
class V6Span:
    """An IPv6 span of a range (its start_v6-end_v6, else its whole prefix)."""

    lo: int
    hi: int
    res: Resource


def _v6_spans(state: State) -> dict[str, list[V6Span]]:
    """zone -> the IPv6 spans of its public and shared network ranges (CM:5364-5390 compares
    each new range with every range of the zone that has IPv6; one without start/end counts
    as its whole prefix). A shared network's prefix comes with its first range."""
    out: dict[str, list[V6Span]] = defaultdict(list)
    for res in state.of_kind("public_range"):
        span = _v6_span(res.values, _v6_net(res.values), res, whole=True)
        if span is not None:
            out[res.key.path[0]].append(span)
    for net in state.of_kind("shared_network"):
        prefix = _v6_net(net.values)
        for i, res in enumerate(_shared_ranges(state, net)):
            span = _v6_span(res.values, prefix, res, whole=i == 0)
            if span is not None:
                out[res.key.path[0]].append(span)
    return out


def _v6_span(
    vals: Mapping[str, Any], prefix: ipaddress.IPv6Network | None, res: Resource, whole: bool
) -> V6Span | None:
    if prefix is None:
        return None
    start = vals.get("start_v6")
    if start:
        lo = int(ipaddress.IPv6Address(start))
        end = vals.get("end_v6") or start
        return V6Span(lo, int(ipaddress.IPv6Address(end)), res)
    if whole:
        return V6Span(int(prefix.network_address), int(prefix.broadcast_address), res)
    return None


def ipv6_values(state: State) -> Iterator[Problem]:
    """IPv6 of public ranges and shared networks:
    - ip6_gateway and ip6_cidr together (CM:5025-5027; a lone gateway the server would
      ignore: cstool refuses it too);
    - a prefix of /64 or shorter (CM:4855-4863 "For IPv6 range, prefix must be /64 or less");
    - the gateway, start_v6 and end_v6 inside the prefix, start_v6 <= end_v6
      (NM.checkIp6Parameters:2396-2430, run again by every updateVlanIpRange of the range);
    - start_v6/end_v6 only with a prefix;
    - a shared network with IPv6 needs the zone's ip6_dns (NS:1659-1661 "Can only create
      IPv6 network if the zone has IPv6 DNS!")."""
    for res in (*state.of_kind("public_range"), *state.of_kind("shared_network")):
        yield from _ipv6_pair(res)
        if res.key.kind == "shared_network" and res.values.get("ip6_cidr"):
            if not _zone_vals(state, res).get("ip6_dns"):
                yield Problem(
                    res.origin_of("ip6_cidr"),
                    f"{describe(res)}: IPv6 on a shared network needs the zone's ip6_dns "
                    '(CloudStack: "Can only create IPv6 network if the zone has IPv6 DNS")',
                )
    for res in state.of_kind("public_range"):
        yield from _ipv6_span_values(res, _v6_net(res.values))
    for net in state.of_kind("shared_network"):
        for res in _shared_ranges(state, net):
            yield from _ipv6_span_values(res, _v6_net(net.values))


def _ipv6_pair(res: Resource) -> Iterator[Problem]:
    gateway, cidr = res.values.get("ip6_gateway"), res.values.get("ip6_cidr")
    if bool(gateway) != bool(cidr):
        given = "ip6_gateway" if gateway else "ip6_cidr"
        yield Problem(
            res.origin_of(given),
            f"{describe(res)}: ip6_gateway and ip6_cidr go together",
        )
        return
    prefix = _v6_net(res.values)
    if prefix is None:
        return
    if prefix.prefixlen > IPV6_SLAAC:
        yield Problem(
            res.origin_of("ip6_cidr"),
            f"{describe(res)}: IPv6 prefix {prefix} is longer than /{IPV6_SLAAC}; CloudStack "
            f"takes /{IPV6_SLAAC} or shorter",
        )
    if ipaddress.IPv6Address(gateway) not in prefix:
        yield Problem(
            res.origin_of("ip6_gateway"),
            f"{describe(res)}: ip6_gateway {gateway} is outside ip6_cidr {prefix}",
        )


def _ipv6_span_values(res: Resource, prefix: ipaddress.IPv6Network | None) -> Iterator[Problem]:
    start, end = res.values.get("start_v6"), res.values.get("end_v6")
    if end == start and "end_v6" not in res.field_origins:
        end = None  # the default (start_v6): the problems of start_v6 are its own
    if prefix is None:
        for name, addr in (("start_v6", start), ("end_v6", end)):
            if addr:
                yield Problem(
                    res.origin_of(name),
                    f"{describe(res)}: {name} needs ip6_gateway and ip6_cidr"
                    + (" on its network" if res.key.kind == "shared_network_range" else ""),
                )
        return
    for name, addr in (("start_v6", start), ("end_v6", end)):
        if addr and ipaddress.IPv6Address(addr) not in prefix:
            yield Problem(
                res.origin_of(name), f"{describe(res)}: {name} {addr} is outside {prefix}"
            )
    if start and end and ipaddress.IPv6Address(end) < ipaddress.IPv6Address(start):
        yield Problem(res.origin_of("end_v6"), f"{describe(res)}: end_v6 is before start_v6")


def ipv6_ranges_disjoint(state: State) -> Iterator[Problem]:
    """The IPv6 spans of a zone's public and shared network ranges do not overlap
    (ConfigurationManagerImpl:5364-5390: "The IPv6 range with tag: ... already has IPs that
    overlap with the new range")."""
    for spans in _v6_spans(state).values():
        as_spans = [Span(s.lo, s.hi, s.res) for s in spans]
        for a, b in overlaps(as_spans):
            yield Problem(
                b.res.origin,
                f"{describe(b.res)}: its IPv6 addresses overlap those of {describe(a.res)} "
                f"at {a.res.origin}",
            )


def ipv6_prefixes(state: State) -> Iterator[Problem]:
    """Guest IPv6 prefixes of a zone (createGuestNetworkIpv6Prefix, CM:2356-2365): /64 or
    shorter ("IPv6 prefix must be /64 or less"), no two overlapping ("IPv6 prefix ...
    overlaps with the existing IPv6 prefix"). Warnings: a prefix shorter than /48 (the list
    command counts its /64 subnets one by one), and one overlapping the IPv6 of a public or
    shared network range (the server does not compare them)."""
    ranges = _v6_spans(state)
    for zone, found in _by_zone(state, "ipv6_prefix").items():
        nets = [(ipaddress.IPv6Network(r.key.path[-1], strict=False), r) for r in found]
        for i, (net, res) in enumerate(nets):
            if net.prefixlen > IPV6_SLAAC:
                yield Problem(
                    res.origin,
                    f"{describe(res)}: a guest IPv6 prefix is /{IPV6_SLAAC} or shorter",
                )
            elif net.prefixlen < WIDE_PREFIX:
                yield Problem(
                    res.origin,
                    f"{describe(res)}: /{net.prefixlen} holds 2^{IPV6_SLAAC - net.prefixlen} "
                    "subnets of /64, which CloudStack counts one by one when it lists the "
                    f"prefix; /{WIDE_PREFIX} or longer is usual",
                    warning=True,
                )
            for other, first in nets[:i]:
                if net.overlaps(other):
                    yield Problem(
                        res.origin,
                        f"{describe(res)}: overlaps {describe(first)} at {first.origin}",
                    )
            lo, hi = int(net.network_address), int(net.broadcast_address)
            for span in ranges.get(zone, []):
                if span.lo <= hi and lo <= span.hi:
                    yield Problem(
                        res.origin,
                        f"{describe(res)}: overlaps the IPv6 addresses of "
                        f"{describe(span.res)} at {span.res.origin}",
                        warning=True,
                    )


def _owned_label(res: Resource) -> str:
    if res.key.kind == "dedicated_vlan_range":
        start = int(res.key.path[-1])
        return _vlans(Span(start, int(res.values.get("end") or start), res))
    if res.key.kind in (*DEDICATIONS, "public_range_dedication"):
        parent = res.key.parent()
        return f"the dedication of {noun(parent.kind)} '{'/'.join(parent.path)}'"
    return describe(res)


def owners(state: State) -> Iterator[Problem]:
    """Who a dedication names: a domain (its path form is the loader's), then an account or
    a project, not both (ConfigurationManagerImpl.dedicatePublicIpRange: "Account and
    projectId are mutually exclusive"); a project only where the command takes a projectid
    (public ranges, guest VLAN ranges); a guest VLAN range needs an account or a project
    (NetworkServiceImpl.dedicateGuestVlanRange:4840-4845, 431 "Unable to find account by
    name null"); a public range is never dedicated to the system account (CM:6011-6013)."""
    for kind in OWNED:
        for res in state.of_kind(kind):
            label = _owned_label(res)
            account, project = res.values.get("account"), res.values.get("project")
            if account and project:
                yield Problem(
                    res.origin_of("project"),
                    f"{label}: account and project are exclusive; name one of them",
                )
            if project and kind not in PROJECT_OWNED:
                yield Problem(
                    res.origin_of("project"),
                    f"{label}: a {kind.split('_')[0]} is dedicated to a domain or an account, "
                    "not a project",
                )
            if kind == "dedicated_vlan_range" and not (account or project):
                yield Problem(
                    res.origin,
                    f"{label}: a guest VLAN range is dedicated to an account or a project "
                    "(with its domain), never to a domain alone",
                )
            if kind == "public_range_dedication" and str(account or "").lower() == "system":
                yield Problem(
                    res.origin_of("account"),
                    f"{label}: CloudStack never dedicates a public range to the system account",
                )


def public_range_dedications(state: State) -> Iterator[Problem]:
    """A dedicated public range is in an Advanced zone (CM:6044-6046, "Public IP range can be
    dedicated to an account only in the zone of type Advanced") and not reserved for system
    VMs (CM:6055-6060, "Public IP address in range is dedicated to system vms")."""
    for ded in state.of_kind("public_range_dedication"):
        rng = state.get(ded.key.parent())
        if rng is None:
            continue
        if _zone_vals(state, rng).get("network_type") == "Basic":
            yield Problem(
                ded.origin,
                f"{describe(rng)}: a public range is dedicated only in an Advanced zone",
            )
        if rng.values.get("for_system_vms"):
            yield Problem(
                ded.origin,
                f"{describe(rng)}: a range for system VMs cannot be dedicated; remove "
                "for_system_vms or dedicated",
            )


def _ancestor_dedications(state: State, res: Resource) -> Iterator[Resource]:
    """The dedications of the zone, pod and cluster above a dedicated pod, cluster or host."""
    depth = DEDICATIONS.index(res.key.kind)
    target = res.key.path[:-1]  # the dedicated object's own path
    for i in range(depth):
        found = state.get(Key(DEDICATIONS[i], (*target[: i + 1], "dedicated")))
        if found is not None:
            yield found


def _under(domain: str, parent: str) -> bool:
    return domain == parent or domain.startswith(parent + "/")


def nested_dedications(state: State) -> Iterator[Problem]:
    """A pod, cluster or host under a dedicated zone, pod or cluster (DR.dedicatePod:301-310,
    dedicateCluster:432-452, dedicateHost:549-578): never when the ancestor is dedicated to an
    account; under one dedicated to a domain, only to that domain or a domain below it
    (getDomainChildIds counts the domain itself, DR:717-729). Warning: a domain-only
    dedication to the same domain as a domain-only ancestor, which CloudStack releases when
    the ancestor is dedicated again (DR:150-230)."""
    for kind in DEDICATIONS[1:]:
        for res in state.of_kind(kind):
            for anc in _ancestor_dedications(state, res):
                yield from _nested(res, anc)


def _nested(res: Resource, anc: Resource) -> Iterator[Problem]:
    label, anc_label = _owned_label(res), _owned_label(anc)
    domain, anc_domain = str(res.values.get("domain")), str(anc.values.get("domain"))
    if anc.values.get("account"):
        yield Problem(
            res.origin,
            f"{label}: {anc_label} at {anc.origin} is to account "
            f"{anc.values['account']}; nothing below it can be dedicated again",
        )
    elif not _under(domain, anc_domain):
        yield Problem(
            res.origin_of("domain"),
            f"{label}: domain {domain} is not {anc_domain} or below it, the domain of "
            f"{anc_label} at {anc.origin}",
        )
    elif domain == anc_domain and not res.values.get("account"):
        yield Problem(
            res.origin,
            f"{label}: redundant with {anc_label} at {anc.origin}; CloudStack drops it "
            "when the ancestor is dedicated again",
            warning=True,
        )


def _owner_of(res: Resource) -> tuple[Any, Any, Any]:
    return (res.values.get("domain"), res.values.get("account"), res.values.get("project"))


def dedicated_vlan_ranges(state: State) -> Iterator[Problem]:
    """Guest VLAN ranges dedicated under a physical network (NetworkServiceImpl
    .dedicateGuestVlanRange): the network isolates by VLAN or VXLAN (or names no method,
    NS:4850-4856); a range lies inside one of its vnet ranges (NS:4870-4886, "Unable to find
    guest vlan by range"); ranges do not overlap (NS:4890-4899, "Vlan range is already
    dedicated"); adjacent ranges of one owner are one to CloudStack, which merges them into a
    single row (NS:4911-4950), so drift could never be clean: write them as one."""
    for pn in state.of_kind("physical_network"):
        ranges = state.children(pn.key, "dedicated_vlan_range")
        if not ranges:
            continue
        isolation = str(pn.values.get("isolation") or "")
        if isolation and isolation.upper() not in ("VLAN", "VXLAN"):
            yield Problem(
                ranges[0].origin,
                f"{describe(pn)}: isolation {isolation}: guest VLAN ranges are dedicated "
                "only on VLAN or VXLAN physical networks",
            )
        if not pn.values.get("vlan_ranges"):
            # every dedicated VLAN must be a vnet of the physical network (NS:4885 and
            # NS:448-451, "Guest vlan ... is not present in the system"); a network without
            # written vlan_ranges has none when cstool creates it
            yield Problem(
                ranges[0].origin,
                f"{describe(pn)}: guest VLAN ranges are dedicated out of the physical "
                "network's own VLANs: write its vlan_ranges",
            )
        vnets = v.span_list(pn.values.get("vlan_ranges") or "")
        spans = []
        for res in ranges:
            lo = int(res.key.path[-1])
            hi = int(res.values.get("end") or lo)
            spans.append(Span(lo, hi, res))
            if hi < lo:
                yield Problem(res.origin_of("end"), f"{_owned_label(res)}: end is before start")
            elif vnets and not any(a <= lo and hi <= b for a, b in vnets):
                yield Problem(
                    res.origin,
                    f"{_owned_label(res)}: not inside one of the guest VLAN ranges "
                    f"of {describe(pn)} ({pn.values.get('vlan_ranges')})",
                )
        for a, b in overlaps(spans):
            yield Problem(b.res.origin, f"{_vlans(b)} overlaps {_vlans(a)} at {a.res.origin}")
        for a, b in _adjacent(spans):
            if _owner_of(a.res) == _owner_of(b.res):
                yield Problem(
                    b.res.origin,
                    f"{_vlans(b)} follows {_vlans(a)} at {a.res.origin} with the same "
                    f"owner; CloudStack merges them into one range: write start {a.lo}, "
                    f"end {b.hi}",
                )


def _vlans(span: Span) -> str:
    return f"dedicated VLAN range {span.lo}-{span.hi} ({'/'.join(span.res.key.path[:-1])})"


def _adjacent(spans: list[Span]) -> Iterator[tuple[Span, Span]]:
    ordered = sorted(spans, key=lambda s: (s.lo, s.hi))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.hi + 1 == b.lo:
            yield a, b


NETWORK_DEPTH_RULES: tuple[Rule, ...] = (
    shared_network_zones,
    shared_network_values,
    shared_network_providers,
    shared_network_ranges,
    ipv6_values,
    ipv6_ranges_disjoint,
    ipv6_prefixes,
    owners,
    public_range_dedications,
    nested_dedications,
    dedicated_vlan_ranges,
)


INFRA_RULES: tuple[Rule, ...] = (
    infra_names_without_case,
    detail_secrets,
    cluster_credentials,
    external_clusters,
    host_addresses,
    store_names,
    cluster_hypervisors,
    vmware_clusters,
    host_urls,
    pool_urls,
    pools_need_hosts,
    zone_pools,
    nfs_mount_options,
    image_stores,
    zone_details,
    compute_needs_storage,
)


RULES = (
    range_geometry,
    first_management_range,
    management_ranges_unique,
    pod_cidrs,
    public_ranges,
    public_subnet_untagged_or_tagged,
    zone_ranges_disjoint,
    vlan_ids,
    guest_vlans_disjoint,
    public_vlan_not_guest,
    traffic_placement,
    zone_shape,
    broadcast_domain,
    providers,
    names_without_case,
    text_lengths,
    zone_network_values,
    setting_names,
    setting_scopes,
    setting_categories,
    setting_values,
    setting_values_as_listed,
    *NETWORK_DEPTH_RULES,
    *INFRA_RULES,
)
