"""Offline rules of shared networks, IPv6, dedicated VLAN ranges and dedication: a valid
config has none of them; each change below breaks exactly the rule it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cstool.errors import Problem
from cstool.model.diff import present
from cstool.model.loader import load_text
from cstool.model.validate import validate
from tests.conftest import CONFIGS


def _base() -> dict[str, Any]:
    """An Advanced zone with security groups and a dual-stack shared network, and an
    Advanced zone with dedicated public and VLAN ranges and an IPv6 prefix."""
    return {
        "zones": [
            {
                "name": "sg1",
                "network_type": "Advanced",
                "security_groups": True,
                "dns": ["8.8.8.8"],
                "internal_dns": ["10.0.0.2"],
                "ip6_dns": ["2001:db8::53"],
                "dedicated": {"domain": "ROOT/acme"},
                "physical_networks": [
                    {
                        "name": "pn1",
                        "vlan_ranges": ["500-599"],
                        "traffic": [{"type": "Management"}, {"type": "Guest"}],
                        "providers": {
                            "VirtualRouter": "enabled",
                            "SecurityGroupProvider": "enabled",
                        },
                    }
                ],
                "guest_networks": [
                    {
                        "name": "shared",
                        "vlan": 31,
                        "gateway": "10.1.31.1",
                        "netmask": "255.255.255.0",
                        "ip6_gateway": "2001:db8:31::1",
                        "ip6_cidr": "2001:db8:31::/64",
                        "start": "10.1.31.10",
                        "end": "10.1.31.20",
                        "start_v6": "2001:db8:31::10",
                        "end_v6": "2001:db8:31::20",
                        "ranges": [
                            {"start": "10.1.31.30", "end": "10.1.31.40"},
                            {
                                "start": "10.1.32.10",
                                "end": "10.1.32.20",
                                "gateway": "10.1.32.1",
                                "netmask": "255.255.255.0",
                            },
                        ],
                    }
                ],
                "pods": [
                    {
                        "name": "p1",
                        "gateway": "10.0.1.1",
                        "netmask": "255.255.255.0",
                        "dedicated": {"domain": "ROOT/acme/web", "account": "ops"},
                        "management_ranges": [{"start": "10.0.1.10", "end": "10.0.1.20"}],
                    }
                ],
            },
            {
                "name": "adv1",
                "network_type": "Advanced",
                "dns": ["8.8.8.8"],
                "internal_dns": ["10.0.0.2"],
                "ipv6_prefixes": [{"prefix": "fd00:1::/56"}],
                "physical_networks": [
                    {
                        "name": "pn1",
                        "vlan_ranges": ["700-799"],
                        "dedicated_vlan_ranges": [
                            {"start": 700, "end": 709, "domain": "ROOT", "account": "admin"},
                            {"start": 710, "domain": "ROOT", "project": "web"},
                        ],
                        "traffic": [{"type": "Management"}, {"type": "Guest"}, {"type": "Public"}],
                    }
                ],
                "public_ranges": [
                    {
                        "gateway": "203.0.113.1",
                        "netmask": "255.255.255.0",
                        "start": "203.0.113.10",
                        "end": "203.0.113.20",
                        "for_system_vms": True,
                    },
                    {
                        "gateway": "203.0.113.1",
                        "netmask": "255.255.255.0",
                        "start": "203.0.113.30",
                        "end": "203.0.113.40",
                        "ip6_gateway": "2001:db8:200::1",
                        "ip6_cidr": "2001:db8:200::/64",
                        "start_v6": "2001:db8:200::10",
                        "end_v6": "2001:db8:200::ff",
                        "dedicated": {"domain": "ROOT", "account": "admin"},
                    },
                ],
            },
        ]
    }


def _problems(config: dict[str, Any]) -> list[Problem]:
    state, problems = load_text(yaml.safe_dump(config, sort_keys=False), "c.yaml")
    return sorted(set(problems + validate(present(state))), key=Problem.sort_key)


def _errors(config: dict[str, Any]) -> list[str]:
    return [p.message for p in _problems(config) if not p.warning]


def _warnings(config: dict[str, Any]) -> list[str]:
    return [
        p.message for p in _problems(config) if p.warning and "storage network" not in p.message
    ]


def _sg(c: dict[str, Any]) -> dict[str, Any]:
    return c["zones"][0]  # type: ignore[no-any-return]


def _net(c: dict[str, Any]) -> dict[str, Any]:
    return _sg(c)["guest_networks"][0]  # type: ignore[no-any-return]


def _adv(c: dict[str, Any]) -> dict[str, Any]:
    return c["zones"][1]  # type: ignore[no-any-return]


def _pub(c: dict[str, Any], i: int = 1) -> dict[str, Any]:
    return _adv(c)["public_ranges"][i]  # type: ignore[no-any-return]


def _dvr(c: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return _adv(c)["physical_networks"][0]["dedicated_vlan_ranges"][i]  # type: ignore[no-any-return]


def test_the_base_config_is_valid() -> None:
    assert _errors(_base()) == []
    assert _warnings(_base()) == []


def test_the_example_config_is_valid_and_shows_each_capability() -> None:
    text = (CONFIGS / "network" / "network.yaml").read_text()
    state, problems = load_text(text, "network.yaml")
    assert [p for p in [*problems, *validate(present(state))] if not p.warning] == []
    kinds = {k.kind for k in state}
    assert {
        "shared_network",
        "shared_network_range",
        "ipv6_prefix",
        "dedicated_vlan_range",
        "public_range_dedication",
        "zone_dedication",
        "pod_dedication",
    } <= kinds
    ranges = [r for r in state.of_kind("public_range") if r.values.get("for_system_vms")]
    assert ranges and any(r.values.get("ip6_cidr") for r in state.of_kind("public_range"))


Change = Callable[[dict[str, Any]], object]


def _second_network() -> dict[str, Any]:
    """Another IPv4-only shared network of sg1 on the first one's VLAN."""
    return {
        "name": "other",
        "vlan": 31,
        "gateway": "10.1.50.1",
        "netmask": "255.255.255.0",
        "start": "10.1.50.10",
        "end": "10.1.50.20",
    }


CASES: list[tuple[str, Change, str]] = [
    # guest_networks only in Advanced zones with security groups
    ("non-SG zone", lambda c: _sg(c).update(security_groups=False), "guest_networks are for"),
    # NO:2858-2864
    ("dynamic VLAN", lambda c: _net(c).update(vlan=550), "is one of the guest VLANs"),
    # NO:2873-2882
    (
        "VLAN twice",
        lambda c: _sg(c)["guest_networks"].append(_second_network()),
        "a zone has one network per VLAN",
    ),
    # NS:1626-1631
    (
        "gateway is broadcast",
        lambda c: _net(c).update(gateway="10.1.31.255", start="10.1.31.10"),
        "network or broadcast address",
    ),
    # NS:1793-1799
    (
        "no range",
        lambda c: [_net(c).pop(k) for k in ("start", "end", "start_v6", "end_v6", "ranges")],
        "no IP range",
    ),
    # CM:5006-5013
    ("range on another VLAN", lambda c: _net(c)["ranges"][0].update(vlan=32), "one VLAN"),
    # CM:5152-5186
    ("range gateway alone", lambda c: _net(c)["ranges"][1].pop("netmask"), "needs both gateway"),
    # CM:5189-5212
    (
        "subset subnet",
        lambda c: _net(c)["ranges"][1].update(
            start="10.1.31.130", end="10.1.31.140", gateway="10.1.31.129", netmask="255.255.255.128"
        ),
        "is a subset of",
    ),
    # CM:2780-2791
    (
        "pod over the network",
        lambda c: _sg(c)["pods"][0]["management_ranges"][0].update(
            start="10.1.31.15", end="10.1.31.16"
        ),
        "overlaps shared network range",
    ),
    # NO:4400-4427
    (
        "SG provider off",
        lambda c: _sg(c)["physical_networks"][0]["providers"].update(
            SecurityGroupProvider="disabled"
        ),
        "needs SecurityGroupProvider enabled",
    ),
    (
        "unknown physical network",
        lambda c: _net(c).update(physical_network="nope"),
        "has no physical network 'nope'",
    ),
    # CM:4959-4961
    (
        "SG public range",
        lambda c: _sg(c).update(public_ranges=[_pub(_base(), 0)]),
        "has no public ranges",
    ),
    # CM:5025-5027
    ("lone ip6 gateway", lambda c: _pub(c).pop("ip6_cidr"), "go together"),
    # CM:4855-4863
    (
        "long IPv6 prefix",
        lambda c: _pub(c).update(
            ip6_cidr="2001:db8:200::/80", start_v6="2001:db8:200::10", end_v6="2001:db8:200::ff"
        ),
        "longer than /64",
    ),
    # NM:2396-2430
    (
        "ip6 gateway outside",
        lambda c: _pub(c).update(ip6_gateway="2001:db8:9::1"),
        "is outside ip6_cidr",
    ),
    (
        "end_v6 before start_v6",
        lambda c: _pub(c).update(end_v6="2001:db8:200::1"),
        "end_v6 is before start_v6",
    ),
    (
        "start_v6 without prefix",
        lambda c: [_pub(c).pop(k) for k in ("ip6_gateway", "ip6_cidr")],
        "start_v6 needs ip6_gateway and ip6_cidr",
    ),
    # CM:5364-5390
    (
        "IPv6 overlap",
        lambda c: _pub(c, 0).update(ip6_gateway="2001:db8:200::1", ip6_cidr="2001:db8:200::/64"),
        "IPv6 addresses overlap",
    ),
    # NS:1659-1661
    ("no ip6_dns", lambda c: _sg(c).pop("ip6_dns"), "needs the zone's ip6_dns"),
    # CM:6055-6060
    (
        "system VM range dedicated",
        lambda c: _pub(c, 0).update(dedicated={"domain": "ROOT"}),
        "a range for system VMs cannot be dedicated",
    ),
    # CM:6044-6046
    (
        "dedicated in Basic",
        lambda c: _adv(c).update(network_type="Basic"),
        "dedicated only in an Advanced zone",
    ),
    # CM:6011-6013
    (
        "system account",
        lambda c: _pub(c)["dedicated"].update(account="system"),
        "to the system account",
    ),
    (
        "account and project",
        lambda c: _pub(c)["dedicated"].update(project="web"),
        "account and project are exclusive",
    ),
    # NS:4840-4845
    ("VLAN range to a domain", lambda c: _dvr(c, 1).pop("project"), "never to a domain alone"),
    # NS:4870-4886
    ("VLAN range outside", lambda c: _dvr(c).update(end=800), "not inside one of the guest VLAN"),
    # NS:4890-4899
    ("VLAN ranges overlap", lambda c: _dvr(c).update(end=710), "overlaps dedicated VLAN range"),
    # NS:4911-4950
    (
        "VLAN ranges adjacent",
        lambda c: _adv(c)["physical_networks"][0]["dedicated_vlan_ranges"].__setitem__(
            1, {"start": 710, "domain": "ROOT", "account": "admin"}
        ),
        "CloudStack merges them into one range",
    ),
    # NS:4850-4856
    (
        "VLAN range on GRE",
        lambda c: _adv(c)["physical_networks"][0].update(isolation="GRE"),
        "only on VLAN or VXLAN",
    ),
    # CM:2356-2359
    (
        "prefix too long",
        lambda c: _adv(c).update(ipv6_prefixes=[{"prefix": "fd00:1::/80"}]),
        "/64 or shorter",
    ),
    # CM:2360-2365
    (
        "prefixes overlap",
        lambda c: _adv(c)["ipv6_prefixes"].append({"prefix": "fd00:1:0:10::/60"}),
        "overlaps IPv6 prefix",
    ),
    # DR:301-310, 717-729
    (
        "pod outside the zone's domain",
        lambda c: _sg(c)["pods"][0]["dedicated"].update(domain="ROOT/acmecorp"),
        "is not ROOT/acme or below it",
    ),
    (
        "under an account",
        lambda c: _sg(c).update(dedicated={"domain": "ROOT/acme", "account": "a"}),
        "nothing below it can be dedicated again",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_change_breaks_its_rule(change: Change, expected: str) -> None:
    config = _base()
    change(config)
    errors = _errors(config)
    assert any(expected in e for e in errors), errors


WARNINGS: list[tuple[str, Change, str]] = [
    (
        "wide prefix",
        lambda c: _adv(c).update(ipv6_prefixes=[{"prefix": "fd00::/40"}]),
        "holds 2^24 subnets",
    ),
    (
        "prefix over a range",
        lambda c: _adv(c)["ipv6_prefixes"].append({"prefix": "2001:db8:200::/56"}),
        "overlaps the IPv6 addresses of public range",
    ),
    # DR:150-230
    (
        "redundant dedication",
        lambda c: _sg(c)["pods"][0].update(dedicated={"domain": "ROOT/acme"}),
        "redundant with the dedication of zone",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_each_change_gives_its_warning(change: Change, expected: str) -> None:
    config = _base()
    change(config)
    assert _errors(config) == []
    assert any(expected in w for w in _warnings(config)), _warnings(config)
