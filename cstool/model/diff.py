"""diff(desired, live) -> changes field by field, plus what the cloud has that the config lacks.

Pure: compares plain values with ==; the kinds table says which fields replace and which
kinds CloudStack creates by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cstool.model.ignore import split as split_ignored
from cstool.model.kinds import KINDS, Field, Kind, noun, written_gates
from cstool.model.resources import ABSENT, MANAGES_INFRA, WRITES, Key, Resource, State


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
    # a replace: the fields that force it, and why, for a reviewer ("vlan forces a new range")
    forced_by: tuple[str, ...] = ()
    reason: str = ""

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    unmanaged: tuple[Resource, ...]  # live, not in the config (deleted only with prune)
    managed: int  # live objects the config covers (the base of the safety threshold)
    ignored: tuple[Resource, ...] = ()  # unmanaged, but named by `ignore:`: never pruned


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == []


def compared(f: Field, want: Any, have: Any) -> tuple[Any, Any] | None:
    """(old, new) when the field differs, else None. Partial mappings compare named keys;
    an absent value is compared only when the API can clear the field. Write-only fields
    (a password, a host's URL) are never returned, so never compared; nor is a field a live
    server does not list (absent_unknown: a key older versions lack)."""
    if f.write_only or f.secret or (f.absent_unknown and have is None):
        return None
    if f.compare_as is not None and want is not None and have is not None:
        if f.compare_as(want) == f.compare_as(have):
            return None
    if f.partial and isinstance(want, Mapping):
        have_map = have if isinstance(have, Mapping) else {}
        old = {k: have_map.get(k, "") for k in want}
        new = {k: want[k] or "" for k in want}
        return (old, new) if old != new else None
    if is_empty(want) and is_empty(have):
        return None
    if want is None and f.clear is None:
        return None  # not in the config, and the API cannot clear it: unmanaged
    return (have, want) if have != want else None


def change_for(want: Resource, have: Resource, live: State | None = None) -> Change | None:
    """The update or replace that turns `have` into `want`, if any."""
    kind = KINDS[want.key.kind]
    changed = {}
    for f in kind.fields:
        diff = compared(f, want.values.get(f.name), have.values.get(f.name))
        if diff is not None:
            changed[f.name] = diff
    if not changed:
        return None
    fields = kind.field_map
    forcing = tuple(n for n, (old, new) in changed.items() if fields[n].forces_replace(old, new))
    when = kind.replace_when(want, have, live or State()) if kind.replace_when else ""
    if not (kind.update is None or forcing or when):
        return Change(Action.UPDATE, want.key, want, have, changed)
    forced_by = forcing or tuple(changed)
    reason = _reason(kind, forced_by, when if not forcing else "")
    return Change(Action.REPLACE, want.key, want, have, changed, forced_by, reason)


def _reason(kind: Kind, forced_by: tuple[str, ...], when: str) -> str:
    """Why a change is a replace, in a reviewer's words: the fields the API cannot change in
    place ("vlan forces a new range"), a kind with no update call, or what the kind's
    replace_when found."""
    names = " and ".join(forced_by)
    what = "range" if kind.address_range else noun(kind.name)
    if kind.update is None:
        return f"{names}: a {what} has no update call, so it is created again"
    if when:
        return f"{names}: {when}"
    return f"{names} {'forces' if len(forced_by) == 1 else 'force'} a new {what}"


def is_auto(res: Resource, live: State) -> bool:
    kind = KINDS[res.key.kind]
    return kind.auto_created or bool(kind.auto_created_when and kind.auto_created_when(res, live))


def is_absent(res: Resource) -> bool:
    """Whether the config asks for this resource not to exist (`absent: true`)."""
    return bool(res.extra.get(ABSENT))


def present(state: State) -> State:
    """The state without its absent entries: what the config wants to exist."""
    if not any(is_absent(r) for r in state.values()):
        return state
    return state.like({k: r for k, r in state.items() if not is_absent(r)})


def diff(desired: State, live: State) -> Diff:
    """Creates, updates and replaces for the config, deletes for its `absent: true` entries;
    unmanaged for the rest of the cloud, but what the config's `ignore:` rules name, which is
    ignored (and not in the base of the safety threshold: it is never deleted)."""
    wanted = present(desired)
    live = aliased(wanted, in_scope(desired, live))
    changes: list[Change] = []
    for key, want in wanted.items():
        have = live.get(key)
        if have is None:
            changes.append(Change(Action.CREATE, key, want, None))
        elif (change := change_for(want, have, live)) is not None:
            changes.append(change)
    changes = _cascade(changes, wanted, live)
    deletes = _displaced(wanted, live) + _absent(desired, wanted, live)
    deleted = {c.key for c in deletes}
    outside = [r for k, r in live.items() if k not in wanted and k not in deleted]
    unmanaged, ignored = split_ignored(
        (r for r in outside if not is_auto(r, live) or _orphaned(r, wanted)), desired.ignore
    )
    managed = sum(1 for k in wanted if k in live and not KINDS[k.kind].auto_created)
    # what absent entries delete (with what lives under them) is managed: it counts in the
    # base of the safety threshold, so deleting a whole zone this way still needs --force
    managed += sum(1 for k in deleted if not KINDS[k.kind].auto_created)
    return Diff(tuple(changes + deletes), unmanaged, managed + len(unmanaged), ignored)


def _absent(desired: State, wanted: State, live: State) -> list[Change]:
    """The delete of each `absent: true` entry that exists, after what lives under it
    (CloudStack refuses to delete a pod or zone that still has children). An absent entry
    that does not exist plans nothing."""
    out = []
    for res in desired.values():
        have = live.get(res.key)
        if not is_absent(res) or have is None:
            continue
        tops = {res.key}
        out += [
            Change(Action.DELETE, k, res, r)
            for k, r in live.items()
            if _under(k, tops)
            and k not in wanted
            and (not is_auto(r, live) or KINDS[k.kind].torn_down_with_parent)
        ]
        out.append(Change(Action.DELETE, res.key, res, have))
    return out


def _displaced(wanted: State, live: State) -> list[Change]:
    """A resource CloudStack made by itself, where the config wants one of the same name
    under another parent of the zone, is deleted first. Enabling a zone without Storage
    traffic adds it to the Management physical network (ConfigurationManagerImpl.editZone),
    and a zone takes Storage traffic on one physical network only
    (NetworkServiceImpl.addTrafficTypeToPhysicalNetwork refuses a second one): a config that
    puts Storage traffic on a physical network of its own could never be applied."""
    out = _displaced_by(wanted, live)
    for key, res in live.items():
        made = KINDS[key.kind].auto_created_when
        if key in wanted or made is None or not made(res, live):
            continue
        rival = next(
            (
                w
                for w in wanted.of_kind(key.kind)
                if w.key.zone == key.zone and w.key.path[-1] == key.path[-1]
            ),
            None,
        )
        if rival is not None:  # the delete points at the entry that moves it
            out.append(Change(Action.DELETE, key, rival, res))
    return out


def _displaced_by(wanted: State, live: State) -> list[Change]:
    """A live resource the config does not name that stands in the way of creating one it
    does (Kind.displaced_by: a dedicated VLAN range over VLANs a desired range of another
    start wants) is deleted first; the delete points at the entry that needs the room."""
    out = []
    for key, res in live.items():
        displaced_by = KINDS[key.kind].displaced_by
        if displaced_by is None or key in wanted:
            continue
        parent = key.parent()
        rival = next(
            (w for w in wanted.children(parent, key.kind) if displaced_by(res, w)),
            None,
        )
        if rival is not None:
            out.append(Change(Action.DELETE, key, rival, res))
    return out


def _under(key: Key, tops: set[Key]) -> bool:
    """Whether `key` is a descendant of one of `tops` (by the kinds' parents, not names)."""
    while KINDS[key.kind].parent is not None:
        key = key.parent()
        if key in tops:
            return True
    return False


def _cascade(changes: list[Change], desired: State, live: State) -> list[Change]:
    """A replaced resource takes its children with it: what lives under it is deleted
    first (child-first) and what the config has under it is created again."""
    replaced = {c.key for c in changes if c.action is Action.REPLACE}
    if not replaced:
        return changes
    kept = [c for c in changes if not _under(c.key, replaced)]
    gone = [
        Change(Action.DELETE, k, None, r)
        for k, r in live.items()
        if _under(k, replaced) and not KINDS[k.kind].auto_created
    ]
    again = [Change(Action.CREATE, k, r, None) for k, r in desired.items() if _under(k, replaced)]
    return kept + gone + again


# --- compute and storage: opt-in zones, hosts known by address, torn down with the zone ------


def manages_infra(desired: State, key: Key) -> bool:
    """Whether the config manages the opt-in kinds at `key`: in a zone whose YAML opts in
    (or that it does not have, or marks absent: a zone to delete is torn down whole), and,
    outside every zone
    (region image stores), when the config opts in anywhere."""
    zone = key.zone
    if zone is None:
        return desired.infra
    res = desired.get(Key("zone", (zone,)))
    return res is None or is_absent(res) or bool(res.extra.get(MANAGES_INFRA))


def in_scope(desired: State, live: State) -> State:
    """The live state without the opt-in kinds (clusters, hosts, storage) of the zones whose
    config does not manage them, nor the kinds managed only where written
    (Kind.written_opt_in) under config entries that do not write their container, nor what
    lives under those: there they are neither drift nor unmanaged."""
    if not any(_out_of_scope(desired, k) for k in live):
        return live
    return live.like({k: r for k, r in live.items() if not _out_of_scope(desired, k)})


def _out_of_scope(desired: State, key: Key) -> bool:
    kind = KINDS[key.kind]
    if kind.opt_in and not manages_infra(desired, key):
        return True
    if not written_gates(key.kind):
        return False
    while kind.parent is not None:
        if kind.written_opt_in and not writes(desired, key):
            return True
        key = key.parent()
        kind = KINDS[key.kind]
    return False


def writes(desired: State, key: Key) -> bool:
    """Whether the config manages the written-opt-in resource at `key`: its parent's entry
    writes the kind's container (even as [] or false), or the config does not have that
    parent, or marks it absent (torn down whole)."""
    parent = desired.get(key.parent())
    if parent is None or is_absent(parent):
        return True
    return KINDS[key.kind].container in parent.extra.get(WRITES, ())


def aliased(desired: State, live: State) -> State:
    """The live state with each object the config names by an alias re-keyed to the config's
    key: a host written by its IP address is the live host of that `ipaddress` in the same
    cluster (the server names hosts after their agent and never returns the URL). Only a
    live object no desired key names is taken, and each at most once."""
    moves: dict[Key, Key] = {}
    for key in desired:
        aliases = KINDS[key.kind].read.aliases
        if not aliases or key in live:
            continue
        for sibling in live.children(key.parent(), key.kind):
            if sibling.key in desired or sibling.key in moves:
                continue
            if any(str(sibling.extra.get(a)) == key.path[-1] for a in aliases):
                moves[sibling.key] = key
                break
    if not moves:
        return live
    out = live.like({})
    for key, res in live.items():
        new = moves.get(key)
        if new is not None:
            res = replace(res, key=new)
            res = replace(res, extra={**res.extra, ALIASED: key.path[-1]})
        out.add(res)
    return out


ALIASED = "aliased_from"  # a re-keyed live object's extra: the name the server gives it


def _orphaned(res: Resource, wanted: State) -> bool:
    """An object CloudStack made that goes with its parent (a system VM with its zone): it is
    unmanaged, so prunable, only when the config no longer has that parent."""
    kind = KINDS[res.key.kind]
    return kind.torn_down_with_parent and res.key.parent() not in wanted
