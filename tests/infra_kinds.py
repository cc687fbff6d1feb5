"""Stand-ins for the compute and storage kinds (cstool/model/kinds/compute.py, storage.py),
for the order and plan tests of those kinds while the real ones are not in the table.

`installed()` puts each stand-in into KINDS only where the table has no kind of that name, so
once the real kinds are in, the tests run against them. The stand-ins carry the identity,
parent, phase and flags and the dependency edges (EDGES), which
test_order_infra also checks against the real table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cstool.model import values as v
from cstool.model.kinds import KINDS, Field, Kind, Need, Read
from cstool.model.kinds.base import anywhere, same_parent

# kind -> (needed kind, how the edge picks it): the table below, with the server's reason
EDGES: dict[str, tuple[tuple[str, str], ...]] = {
    "cluster": (("vmware_datacenter", "any"),),
    "host": (("cluster_setting", "same cluster"),),
    "primary_storage": (("host", "same cluster"),),
    "zone_primary_storage": (("host", "any"),),
    "image_store": (("cluster", "any"), ("staging_store", "any")),
    "system_vm": (
        ("primary_storage", "any"),
        ("zone_primary_storage", "any"),
        ("host", "any"),
        ("image_store", "any"),
        ("staging_store", "any"),
        ("shared_network", "any"),
    ),
}


def _needs(kind: str) -> tuple[Need, ...]:
    return tuple(
        Need(other, anywhere if how == "any" else same_parent) for other, how in EDGES[kind]
    )


def _kind(
    name: str, parent: str | None, container: str, phase: int, key: str = "name", **kw: Any
) -> Kind:
    fields = kw.pop("fields", ())
    return Kind(
        name,
        parent,
        container,
        key,
        v.text,
        tuple(fields),
        phase,
        Read(f"list{name}", name, key),
        **kw,
    )


def _text(name: str, **kw: Any) -> Field:
    return Field(name, v.text, api=name, **kw)


STATE = Field("state", v.text, api="state")

STAND_INS = (
    _kind("vmware_datacenter", "zone", "vmware_datacenters", 75, delete="removeVmwareDc"),
    _kind(
        "cluster",
        "pod",
        "clusters",
        121,
        fields=(_text("hypervisor"), _text("url"), _text("username"), Field("password", v.text)),
        delete="deleteCluster",
        needs=_needs("cluster"),
        opt_in=True,
    ),
    _kind(
        "cluster_setting",
        "cluster",
        "settings",
        122,
        fields=(_text("value"),),
        style="map",
        auto_created=True,
    ),
    _kind(
        "host",
        "cluster",
        "hosts",
        123,
        fields=(_text("url"), _text("username"), Field("password", v.text), STATE),
        delete="deleteHost",
        needs=_needs("host"),
        opt_in=True,
    ),
    _kind(
        "primary_storage",
        "cluster",
        "primary_storage",
        124,
        fields=(_text("url"), STATE),
        delete="deleteStoragePool",
        needs=_needs("primary_storage"),
        opt_in=True,
    ),
    _kind("staging_store", "zone", "staging_storage", 125, key="url", delete="x", opt_in=True),
    _kind(
        "image_store",
        "zone",
        "secondary_storage",
        126,
        delete="deleteImageStore",
        needs=_needs("image_store"),
        opt_in=True,
    ),
    _kind(
        "zone_primary_storage",
        "zone",
        "primary_storage",
        127,
        fields=(_text("url"), STATE),
        delete="deleteStoragePool",
        needs=_needs("zone_primary_storage"),
        opt_in=True,
    ),
    _kind(
        "system_vm",
        "zone",
        "",
        130,
        delete="destroySystemVm",
        needs=_needs("system_vm"),
        auto_created=True,
        implicit=True,
        torn_down_with_parent=True,
    ),
)


@contextmanager
def installed() -> Iterator[list[str]]:
    """The stand-ins in KINDS where the table lacks them (yields their names); removed after."""
    added = [k.name for k in STAND_INS if k.name not in KINDS]
    saved = dict(KINDS)
    for kind in STAND_INS:
        KINDS.setdefault(kind.name, kind)
    ordered = sorted(KINDS.values(), key=lambda k: k.phase)
    KINDS.clear()
    KINDS.update({k.name: k for k in ordered})
    try:
        yield added
    finally:
        KINDS.clear()
        KINDS.update(saved)
