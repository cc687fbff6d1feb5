"""The model of shared networks, dedicated and dual-stack ranges, guest IPv6 prefixes and
dedications: loading (the first range written on the network, single `dedicated:` mappings
and `false`, what an entry writes), diffing (kinds managed only where written, ranges in
the way), export round trips and the JSON Schema. Pure: no cloud."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from cstool.model import export, loader
from cstool.model import values as v
from cstool.model.diff import Action, change_for, diff, in_scope
from cstool.model.kinds import KINDS
from cstool.model.resources import Key, Resource, State

ZONE = """\
zones:
  - name: sg1
    network_type: Advanced
    security_groups: true
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    ip6_dns: ["2001:DB8:0::53"]
    dedicated: {domain: ROOT/customers/acme}
    ipv6_prefixes: [{prefix: "FD00:10::/56"}]
    physical_networks:
      - name: trunk
        vlan_ranges: ["500-899"]
        dedicated_vlan_ranges:
          - {start: 500, end: 549, domain: ROOT/customers/acme, account: acme-admin}
          - {start: 600, domain: ROOT/customers/acme, project: web}
        traffic: [{type: Management}, {type: Guest}]
        providers: {VirtualRouter: enabled, SecurityGroupProvider: enabled}
    guest_networks:
      - name: shared-sg
        vlan: 31
        gateway: 10.147.31.1
        netmask: 255.255.255.0
        ip6_gateway: "2001:db8:31::1"
        ip6_cidr: "2001:db8:31::/64"
        start: 10.147.31.150
        end: 10.147.31.159
        start_v6: "2001:db8:31::10"
        ranges:
          - {start: 10.147.31.170, end: 10.147.31.179, vlan: 31}
          - {start: 10.147.32.10, end: 10.147.32.50, gateway: 10.147.32.1, netmask: 24}
    pods:
      - name: pod1
        gateway: 10.1.1.1
        netmask: 255.255.255.0
        dedicated: false
  - name: adv1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    public_ranges:
      - {vlan: 100, gateway: 203.0.113.1, netmask: 24, start: 203.0.113.10,
         end: 203.0.113.20, for_system_vms: true}
      - {vlan: 100, gateway: 203.0.113.1, netmask: 24, start: 203.0.113.30,
         end: 203.0.113.60, ip6_gateway: "2001:db8:100::1", ip6_cidr: "2001:db8:100::/56",
         start_v6: "2001:db8:100::10",
         dedicated: {domain: ROOT/customers/acme, account: acme-admin}}
"""

PLAIN = """\
zones:
  - name: adv1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    physical_networks: [{name: pn, traffic: [{type: Guest}]}]
"""

OPT_IN = "    guest_networks: []\n    physical_networks:"


def _load(text: str) -> State:
    state, problems = loader.load_text(text, "c.yaml")
    assert problems == []
    return state


def _problems(text: str) -> list[str]:
    _, problems = loader.load_text(text, "c.yaml")
    return [f"{p.origin.line if p.origin else 0}: {p.message}" for p in problems]


def test_values_of_the_new_fields_are_canonical() -> None:
    assert v.ipv6("2001:DB8:0::1") == "2001:db8::1"
    assert v.ipv6_cidr(" FD00:10::/56 ") == "fd00:10::/56"
    assert v.vlan_id("0600") == 600 and v.vlan_key(600) == "600"
    assert v.domain_path("ROOT/customers/acme/") == "ROOT/customers/acme"
    for bad, parse in [
        ("fd00:10::1/56", v.ipv6_cidr),  # host bits
        ("fd00:10::", v.ipv6_cidr),  # no prefix length
        ("10.0.0.1", v.ipv6),
        ("root/acme", v.domain_path),
        ("ROOT//acme", v.domain_path),
        ("acme", v.domain_path),
        (True, v.vlan_id),
    ]:
        with pytest.raises(ValueError):
            parse(bad)


def test_the_first_range_written_on_the_network_is_its_first_range() -> None:
    state = _load(ZONE)
    net = state[Key("shared_network", ("sg1", "shared-sg"))]
    assert net.values == {
        "vlan": 31,
        "gateway": "10.147.31.1",
        "netmask": "255.255.255.0",
        "ip6_gateway": "2001:db8:31::1",
        "ip6_cidr": "2001:db8:31::/64",
        "offering": "DefaultSharedNetworkOfferingWithSGService",
        "physical_network": "trunk",  # the zone's only one with Guest traffic
    }
    ranges = sorted(state.children(net.key, "shared_network_range"), key=lambda r: r.order)
    assert [(r.key.path[-1], r.order) for r in ranges] == [
        ("10.147.31.150", 0),
        ("10.147.31.170", 1),
        ("10.147.32.10", 2),
    ]
    # the IPv6 end defaults to the start, as the server takes it
    assert ranges[0].values == {
        "end": "10.147.31.159",
        "start_v6": "2001:db8:31::10",
        "end_v6": "2001:db8:31::10",
    }
    assert ranges[0].origin is not None and ranges[0].origin.line == 25  # `start:` of the network
    assert ranges[2].values["netmask"] == "255.255.255.0"


def test_a_first_range_written_twice_or_without_its_start_is_an_error() -> None:
    twice = ZONE.replace("start: 10.147.31.170", "start: 10.147.31.150")
    assert any(
        "shared network range 'sg1/shared-sg/10.147.31.150' is defined twice" in p
        for p in _problems(twice)
    )
    headless = ZONE.replace("        start: 10.147.31.150\n", "")
    assert "25: end, start_v6 without 'start'" in _problems(headless)


def test_single_mappings_load_with_the_container_as_identity_and_false_as_absent() -> None:
    state = _load(ZONE)
    zone_ded = state[Key("zone_dedication", ("sg1", "dedicated"))]
    assert zone_ded.values == {"domain": "ROOT/customers/acme"}
    pod_ded = state[Key("pod_dedication", ("sg1", "pod1", "dedicated"))]
    assert pod_ded.values == {} and pod_ded.extra == {"absent": True}
    range_ded = state[Key("public_range_dedication", ("adv1", "203.0.113.30", "dedicated"))]
    assert range_ded.values == {"domain": "ROOT/customers/acme", "account": "acme-admin"}


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("dedicated: true", "write a mapping, or false to have none"),
        ("dedicated: {account: acme}", "missing required key 'domain'"),
        ("dedicated: {domain: ROOT, acount: a}", "unknown key 'acount' (did you mean 'account'?)"),
        ("dedicated: {domain: root}", "is not a domain path"),
        ("dedicated: [ROOT]", "dedicated"),
    ],
)
def test_a_single_mapping_is_checked_where_it_is_written(written: str, problem: str) -> None:
    text = ZONE.replace("dedicated: false", written)
    found = [p for p in _problems(text) if problem in p]
    assert found and all(p.startswith("35: ") for p in found), _problems(text)


def test_entries_record_what_they_write_and_the_state_what_is_written() -> None:
    state = _load(ZONE)
    assert state[Key("zone", ("sg1",))].extra["writes"] == frozenset(
        {"dedicated", "ipv6_prefixes", "guest_networks"}
    )
    assert state[Key("pod", ("sg1", "pod1"))].extra["writes"] == frozenset({"dedicated"})
    assert "writes" not in state[Key("zone", ("adv1",))].extra
    assert {"shared_network", "ipv6_prefix", "dedicated_vlan_range", "pod_dedication"} <= (
        state.written
    )
    assert state.owners is True
    # like() keeps both (a part or a re-keying of the state says the same)
    part = state.like({})
    assert part.written == state.written and part.owners is True
    # a config that writes none of them: nothing new is read or managed
    plain = _load(PLAIN)
    assert plain.written == frozenset() and plain.owners is False
    assert all("writes" not in r.extra for r in plain.values())
    # an empty list opts in too, without an owner
    empty = _load(PLAIN.replace("    physical_networks:", OPT_IN))
    assert empty.written == frozenset({"shared_network"}) and empty.owners is False


def _live(desired: State) -> State:
    """What the cloud lists after the desired state is applied: no write-only values, no
    absent entries."""
    out = State()
    for key, res in desired.items():
        if res.extra.get("absent"):
            continue
        fields = KINDS[key.kind].field_map
        values = {k: x for k, x in res.values.items() if not fields[k].write_only}
        out.add(Resource(key, values, order=res.order, extra={"id": f"id-{key}"}))
    return out


def _shared_network(zone: str, name: str = "other") -> list[Resource]:
    net = Key("shared_network", (zone, name))
    values = {"vlan": 40, "gateway": "10.9.0.1", "netmask": "255.255.255.0", "offering": "x"}
    return [
        Resource(net, values),
        Resource(Key("shared_network_range", (zone, name, "10.9.0.10")), {"end": "10.9.0.20"}),
    ]


def test_live_kinds_managed_only_where_written_are_out_of_scope_elsewhere() -> None:
    desired = _load(PLAIN)
    live = _live(desired)
    for res in _shared_network("adv1"):
        live.add(res)
    # the zone does not write guest_networks: the network and its range are not unmanaged
    assert Key("shared_network", ("adv1", "other")) not in in_scope(desired, live)
    assert Key("shared_network_range", ("adv1", "other", "10.9.0.10")) not in in_scope(
        desired, live
    )
    assert diff(desired, live).unmanaged == ()
    # `guest_networks: []` manages them: both are unmanaged (prunable)
    opted = _load(PLAIN.replace("    physical_networks:", OPT_IN))
    assert [str(r.key) for r in diff(opted, live).unmanaged] == [
        "shared_network adv1/other",
        "shared_network_range adv1/other/10.9.0.10",
    ]
    # a zone the config does not have: all of it is unmanaged, as before
    for res in _shared_network("elsewhere"):
        live.add(res)
    live.add(Resource(Key("zone", ("elsewhere",)), {"network_type": "Advanced"}))
    assert Key("shared_network", ("elsewhere", "other")) in in_scope(desired, live)


def test_a_live_dedicated_vlan_range_in_the_way_is_released_first() -> None:
    desired = _load(ZONE)
    live = _live(desired)
    key500 = Key("dedicated_vlan_range", ("sg1", "trunk", "500"))
    # by hand: 480-509 dedicated to someone else, where the config wants 500-549
    live = live.like({k: r for k, r in live.items() if k != key500})
    other = Key("dedicated_vlan_range", ("sg1", "trunk", "480"))
    live.add(Resource(other, {"end": 509, "domain": "ROOT", "account": "admin"}))
    # and 700-710, in nobody's way
    far = Key("dedicated_vlan_range", ("sg1", "trunk", "700"))
    live.add(Resource(far, {"end": 710, "domain": "ROOT", "account": "admin"}))
    changes = {(c.action, str(c.key)) for c in diff(desired, live).changes}
    assert changes == {
        (Action.DELETE, "dedicated_vlan_range sg1/trunk/480"),
        (Action.CREATE, "dedicated_vlan_range sg1/trunk/500"),
    }
    released = next(c for c in diff(desired, live).changes if c.key == other)
    assert released.desired is not None and released.desired.key == key500
    assert [r.key for r in diff(desired, live).unmanaged] == [far]


def test_a_dedicated_vlan_range_grows_in_place_and_shrinks_by_replace() -> None:
    desired = _load(ZONE)
    want = desired[Key("dedicated_vlan_range", ("sg1", "trunk", "500"))]
    grown = change_for(want, replace(want, values={**want.values, "end": 520}))
    assert grown is not None and grown.action is Action.UPDATE
    shrunk = change_for(want, replace(want, values={**want.values, "end": 560}))
    assert shrunk is not None and shrunk.action is Action.REPLACE
    moved = change_for(want, replace(want, values={**want.values, "account": "other"}))
    assert moved is not None and moved.action is Action.REPLACE


def test_a_public_range_takes_ipv6_by_replace_and_a_short_prefix_forbids_updates() -> None:
    desired = _load(ZONE)
    want = desired[Key("public_range", ("adv1", "203.0.113.30"))]
    v4_only = {k: x for k, x in want.values.items() if not k.endswith("_v6") and "ip6" not in k}
    added = change_for(want, replace(want, values=v4_only))
    assert added is not None and added.action is Action.REPLACE
    assert "ip6_gateway" in added.forced_by
    # the /56 range: even an IPv4 end change is a replace, with the server's reason
    moved = change_for(want, replace(want, values={**want.values, "end": "203.0.113.70"}))
    assert moved is not None and moved.action is Action.REPLACE
    assert "accepts only /64" in moved.reason
    # on a /64 the same change is an update
    cidr64 = {**want.values, "ip6_cidr": "2001:db8:100::/64"}
    want64 = replace(want, values=cidr64)
    edit = change_for(want64, replace(want64, values={**cidr64, "end": "203.0.113.70"}))
    assert edit is not None and edit.action is Action.UPDATE


def test_export_writes_what_was_loaded_and_reloads_to_the_same_state() -> None:
    desired = _load(ZONE)
    live = _live(desired)
    second = live[Key("public_range", ("adv1", "203.0.113.30"))]
    live.add(replace(second, values={**second.values, "for_system_vms": False}))  # as listed
    config = export.to_config(live)
    adv1, sg1 = config["zones"]  # by name
    net = sg1["guest_networks"][0]
    assert "start" not in net and "physical_network" not in net
    assert [r["start"] for r in net["ranges"]] == ["10.147.31.150", "10.147.31.170", "10.147.32.10"]
    assert sg1["dedicated"] == {"domain": "ROOT/customers/acme"}
    assert sg1["ipv6_prefixes"] == [{"prefix": "fd00:10::/56"}]
    assert [r["start"] for r in sg1["physical_networks"][0]["dedicated_vlan_ranges"]] == [
        "500",
        "600",
    ]
    assert "dedicated" not in sg1["pods"][0]  # none in the cloud
    first, second = adv1["public_ranges"]
    assert first["for_system_vms"] is True and "for_system_vms" not in second
    text = export.dump(config)
    assert "dedicated: {domain: ROOT/customers/acme}" in text
    again, problems = loader.load_text(text, "export.yaml")
    assert problems == []
    plan = diff(again, live)
    assert plan.changes == () and plan.unmanaged == ()


def test_the_schema_takes_the_new_keys_and_refuses_what_the_loader_refuses() -> None:
    schema = loader.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    data: Any = yaml.safe_load(ZONE)
    assert list(check.iter_errors(data)) == []

    def flagged(mutate: Any) -> list[tuple[Any, ...]]:
        doc: Any = yaml.safe_load(ZONE)
        mutate(doc)
        return [tuple(e.absolute_path) for e in check.iter_errors(doc)]

    assert flagged(lambda d: d["zones"][0].update(dedicated=True))
    assert flagged(lambda d: d["zones"][0]["dedicated"].update(domain="root/x"))
    assert flagged(lambda d: d["zones"][0]["ipv6_prefixes"][0].update(prefix="10.0.0.0/8"))
    assert flagged(lambda d: d["zones"][0]["guest_networks"][0].update(start_v6="x"))
    assert flagged(lambda d: d["zones"][0]["guest_networks"][0].pop("vlan"))
