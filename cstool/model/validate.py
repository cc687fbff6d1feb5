"""Offline network rules over a desired State -> every problem at once.

The rules of CloudStack's networking model (management, guest, public and storage planes)
that can be checked before any API call. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cstool import apispec
from cstool.errors import Problem
from cstool.model import settings as catalog
from cstool.model import values as v
from cstool.model.kinds import KINDS, Field
from cstool.model.providers import KNOWN, NEEDS_DEVICE, REMOVED
from cstool.model.resources import Key, Resource, State

RANGE_KINDS = tuple(k.name for k in KINDS.values() if k.address_range)
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
    kind = res.key.kind.replace("_", " ")
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


def _network(res: Resource, state: State) -> ipaddress.IPv4Network:
    """The subnet a range lives in: its own gateway/netmask, or its pod's for management."""
    owner = state[res.key.parent()] if res.key.kind == "management_range" else res
    return v.network_of(owner.values["gateway"], owner.values["netmask"])


def _gateway(res: Resource, state: State) -> str:
    owner = state[res.key.parent()] if res.key.kind == "management_range" else res
    return str(owner.values["gateway"])


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
    """Public, management, storage and guest ranges of a zone never overlap each other."""
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

SETTING_KINDS = ("setting", "zone_setting")


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
    """A zone value needs Zone scope: ConfigurationManagerImpl.validateConfigurationValue
    answers 431 "Invalid scope id provided for the parameter" otherwise. Any setting has a
    global value (ConfigKey.value(), the fallback of every scope), so the top level takes all."""
    for res, setting in _settings(state):
        if res.key.kind != "zone_setting" or setting is None or "zone" in setting.scopes:
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
            f"{describe(res)}: cannot be set per zone (its scope: {setting.scope_names}); "
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
        scoped = res.key.kind == "zone_setting"
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
        scoped = res.key.kind == "zone_setting"
        value = str(res.values["value"])
        if scoped and "zone" not in setting.scopes:
            continue  # reported by setting_scopes
        if catalog.value_problem(setting, value, scoped) is not None:
            continue  # reported by setting_values
        shown = catalog.listed(setting, value, scoped)
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
    for kind in ("zone", "pod"):
        seen: dict[tuple[str, ...], Resource] = {}
        for res in sorted(state.of_kind(kind), key=lambda r: r.key.path):
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
)
