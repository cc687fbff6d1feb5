"""diff(desired, live) -> changes field by field, plus what the cloud has that the config lacks.

Pure: compares plain values with ==; the kinds table says which fields replace and which
kinds CloudStack creates by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cstool.model.kinds import KINDS, Field
from cstool.model.resources import Key, Resource, State


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    action: Action
    key: Key
    desired: Resource | None
    live: Resource | None
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)  # name: (old, new)

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    unmanaged: tuple[Resource, ...]  # live, not in the config (deleted only with prune)
    managed: int  # live objects the config covers (the base of the safety threshold)


def compared(f: Field, want: Any, have: Any) -> tuple[Any, Any] | None:
    """(old, new) when the field differs, else None. Partial mappings compare named keys."""
    if f.partial and isinstance(want, Mapping):
        have_map = have if isinstance(have, Mapping) else {}
        old = {k: have_map.get(k, "") for k in want}
        new = {k: want[k] or "" for k in want}
        return (old, new) if old != new else None
    return (have, want) if have != want else None


def change_for(want: Resource, have: Resource) -> Change | None:
    """The update or replace that turns `have` into `want`, if any."""
    kind = KINDS[want.key.kind]
    fields = kind.field_map
    changed = {}
    for name, value in want.values.items():
        diff = compared(fields[name], value, have.values.get(name))
        if diff is not None:
            changed[name] = diff
    if not changed:
        return None
    replace = any(fields[n].replace for n in changed) or kind.update is None
    return Change(Action.REPLACE if replace else Action.UPDATE, want.key, want, have, changed)


def is_auto(res: Resource, live: State) -> bool:
    kind = KINDS[res.key.kind]
    return kind.auto_created or bool(kind.auto_created_when and kind.auto_created_when(res, live))


def diff(desired: State, live: State) -> Diff:
    """Creates, updates and replaces for the config; unmanaged for the rest of the cloud."""
    changes: list[Change] = []
    for key, want in desired.items():
        have = live.get(key)
        if have is None:
            changes.append(Change(Action.CREATE, key, want, None))
        elif (change := change_for(want, have)) is not None:
            changes.append(change)
    unmanaged = tuple(r for k, r in live.items() if k not in desired and not is_auto(r, live))
    managed = sum(1 for k in desired if k in live and not KINDS[k.kind].auto_created)
    return Diff(tuple(changes), unmanaged, managed + len(unmanaged))
