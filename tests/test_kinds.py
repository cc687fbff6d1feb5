"""The kinds table: one ordered table built from the plane modules, in bring-up order, with
what each kind's steps wait for (needs, serial) written on the kind itself."""

from __future__ import annotations

import dataclasses

import pytest

import cstool.model.kinds as kinds_package
from cstool.model.kinds import (
    KINDS,
    NO_DEFAULT,
    Field,
    Kind,
    base,
    children_of,
    compute,
    default_of,
    network,
    settings,
    storage,
    tenancy,
)
from cstool.model.resources import Key

# the table as it is read, stored and planned: name, phase, plane
TABLE = [
    ("setting", 0, settings),
    ("domain", 1, tenancy),
    ("account", 2, tenancy),
    ("project", 3, tenancy),
    ("region_image_store", 5, storage),
    ("zone", 10, network),
    ("zone_setting", 20, settings),
    ("zone_detail", 25, network),
    ("ipv6_prefix", 27, network),
    ("zone_dedication", 28, tenancy),
    ("physical_network", 30, network),
    ("traffic_type", 40, network),
    ("provider", 50, network),
    ("dedicated_vlan_range", 62, network),
    ("guest_network", 70, network),
    ("shared_network", 72, network),
    ("shared_network_range", 73, network),
    ("vmware_datacenter", 75, compute),
    ("pod", 80, network),
    ("pod_dedication", 85, tenancy),
    ("management_range", 90, network),
    ("public_range", 100, network),
    ("public_range_dedication", 105, tenancy),
    ("storage_range", 110, network),
    ("guest_range", 120, network),
    ("cluster", 121, compute),
    ("cluster_setting", 122, compute),
    ("host", 123, compute),
    ("primary_storage", 124, storage),
    ("staging_store", 125, storage),
    ("image_store", 126, storage),
    ("zone_primary_storage", 127, storage),
    ("cluster_dedication", 128, tenancy),
    ("host_dedication", 129, tenancy),
    ("system_vm", 130, compute),
]


def test_the_table_has_every_kind_in_bring_up_order() -> None:
    assert [(k.name, k.phase) for k in KINDS.values()] == [(n, p) for n, p, _ in TABLE]
    assert all(name == kind.name for name, kind in KINDS.items())


@pytest.mark.parametrize(("name", "plane"), [(n, m) for n, _, m in TABLE])
def test_each_kind_is_described_in_its_plane(name: str, plane: object) -> None:
    planes = (settings, network, compute, storage, tenancy)
    owners = [m for m in planes if any(k.name == name for k in m.KINDS)]
    assert owners == [plane]
    assert KINDS[name] in plane.KINDS


def test_the_names_imported_from_the_kinds_package_stay() -> None:
    assert kinds_package.Field is base.Field and kinds_package.Kind is base.Kind
    assert kinds_package.NO_DEFAULT is base.NO_DEFAULT
    assert [k.name for k in children_of(None)] == ["setting", "region_image_store", "zone"]
    assert [k.name for k in children_of("pod")] == [
        "pod_dedication",
        "management_range",
        "storage_range",
        "guest_range",
        "cluster",
    ]
    zone = KINDS["zone"].field_map["security_groups"]
    assert default_of(zone, {}, {"network_type": "Basic"}) is True
    assert default_of(zone, {}, {"network_type": "Advanced"}) is False
    assert default_of(KINDS["pod"].field_map["enabled"], {}, {}) is True
    assert KINDS["pod"].field_map["gateway"].default is NO_DEFAULT


def _needs(kind: Kind) -> list[tuple[str, list[str]]]:
    """What a kind's step waits for, as the kinds it needs and which of their resources
    (among a sibling and two traffic types of a physical network) match."""
    key = Key(kind.name, ("z", "pn", "x"))
    candidates = ["pn/Public", "pn/Storage", "other/Public"]
    out = []
    for need in kind.needs:
        found = [c for c in candidates if need.match(key, Key(need.kind, ("z", *c.split("/"))))]
        out.append((need.kind, found))
    return out


def test_each_kind_says_what_its_steps_wait_for() -> None:
    everything = ["pn/Public", "pn/Storage", "other/Public"]
    # the network plane's kinds (tests/test_order_infra.py pins the compute and storage ones)
    assert {k.name: _needs(k) for k in network.KINDS if k.needs} == {
        "provider": [("traffic_type", ["pn/Public", "pn/Storage"])],
        "guest_network": [("physical_network", everything), ("provider", everything)],
        "public_range": [
            ("traffic_type", ["pn/Public", "other/Public"]),
            ("physical_network", everything),
        ],
        "storage_range": [("traffic_type", ["pn/Storage"])],
        "guest_range": [("guest_network", everything)],
        "shared_network": [("physical_network", everything), ("provider", everything)],
        "pod": [("shared_network", everything)],
    }
    assert [k.name for k in KINDS.values() if k.serial] == [
        "dedicated_vlan_range",
        "management_range",
    ]


def _kind(name: str, phase: int) -> Kind:
    return dataclasses.replace(KINDS["pod"], name=name, phase=phase)


def test_a_table_refuses_two_kinds_of_one_phase_or_one_name() -> None:
    table = kinds_package._table((_kind("b", 2), _kind("a", 1)))
    assert list(table) == ["a", "b"]
    with pytest.raises(ValueError, match="kinds a and b share phase 1"):
        kinds_package._table((_kind("a", 1),), (_kind("b", 1),))
    with pytest.raises(ValueError, match="two kinds share a name"):
        kinds_package._table((_kind("a", 1), _kind("a", 2)))


def test_a_field_reads_and_sends_through_its_hooks() -> None:
    dns = KINDS["zone"].field_map["dns"]
    assert dns.read({"dns1": "10.0.0.1", "dns2": ""}) == ("10.0.0.1",)
    assert dns.params(("10.0.0.1",)) == {"dns1": "10.0.0.1", "dns2": None}
    plain: Field = KINDS["pod"].field_map["gateway"]
    assert plain.read({"gateway": ""}) is None and plain.params("10.0.0.1") == {
        "gateway": "10.0.0.1"
    }
