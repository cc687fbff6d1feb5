"""The one table of resource kinds: identity, parent, fields, API calls and phase.

Loading, the JSON Schema, reading, diffing, ordering and lowering to API calls are generic
and read this table; a kind that needs something the table cannot say gets a named hook,
typed by a Protocol of kinds.base. The kinds are written one module per plane (settings,
network, compute, storage); KINDS is the one table, in CloudStack's bring-up order: by
phase, which reading, the order of a state and the plan's phases all follow. Pure: no HTTP,
no cs.
"""

from __future__ import annotations

from functools import cache

from cstool.model.kinds import compute, network, settings, storage, tenancy
from cstool.model.kinds.base import NO_DEFAULT, Field, Kind, Need, Read, default_of, noun

__all__ = [
    "KINDS",
    "NO_DEFAULT",
    "Field",
    "Kind",
    "Need",
    "Read",
    "children_of",
    "default_of",
    "noun",
    "written_gates",
]


def _table(*planes: tuple[Kind, ...]) -> dict[str, Kind]:
    """The kinds of every plane by name, ordered by phase. Two kinds of one phase would have
    no order between them, and two of one name would hide one: both are refused."""
    kinds = sorted((k for plane in planes for k in plane), key=lambda k: k.phase)
    for before, after in zip(kinds, kinds[1:], strict=False):
        if before.phase == after.phase:
            raise ValueError(f"kinds {before.name} and {after.name} share phase {before.phase}")
    table = {k.name: k for k in kinds}
    if len(table) != len(kinds):
        raise ValueError("two kinds share a name")
    return table


KINDS: dict[str, Kind] = _table(
    settings.KINDS, network.KINDS, compute.KINDS, storage.KINDS, tenancy.KINDS
)


@cache
def written_gates(kind: str) -> frozenset[str]:
    """The kinds managed only where written (Kind.written_opt_in) that decide whether `kind`
    is managed: itself and its ancestors of that sort (a shared network's range: the shared
    network). Empty for every other kind."""
    out: set[str] = set()
    at: str | None = kind
    while at is not None:
        if KINDS[at].written_opt_in:
            out.add(at)
        at = KINDS[at].parent
    return frozenset(out)


def children_of(kind: str | None) -> list[Kind]:
    """Kinds written inside `kind` in YAML (None: the top level)."""
    return [k for k in KINDS.values() if k.parent == kind and not k.implicit]
