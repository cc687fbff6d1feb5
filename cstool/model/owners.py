"""Owners: the domains, accounts and projects dedications name, which cstool refers to and
never manages (the reference kinds: domain, account, project).

A config names an owner by the domain's path and the account's or project's name; the cloud
lists some owners only by id (a dedicated zone's `domainid`, `accountid`). `resolve` names
those from the live reference kinds; `missing` finds each owner a config names that the
cloud does not have, so a plan fails before any call rather than halfway through it;
`adjacent_live` finds a dedicated guest VLAN range the server would merge with one the
config does not name. Pure: no HTTP, no cs.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: NS NetworkServiceImpl.
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cstool.errors import Problem
from cstool.model.diff import is_absent
from cstool.model.kinds import KINDS, Field, noun
from cstool.model.resources import Key, Resource, State

BY_ID = "id:"  # a live owner known only by its id (Field.owner)

# the reference kinds an owner field names (Field.owner), each read by its kind's list call
REFERENCE = ("domain", "account", "project")


def _owner_fields(kind: str) -> list[Field]:
    return [f for f in KINDS[kind].fields if f.owner is not None]


def owner_of(res: Resource) -> dict[str, Any]:
    """The owner a resource names: field owner role (domain, account, project) -> value,
    for the roles it sets."""
    return {
        str(f.owner): res.values[f.name]
        for f in _owner_fields(res.key.kind)
        if res.values.get(f.name) is not None
    }


def _names_by_id(live: State) -> dict[tuple[str, str], str]:
    """(reference kind, uuid) -> what a config writes for it: a domain's path, an account's
    or project's name."""
    out: dict[tuple[str, str], str] = {}
    for kind in REFERENCE:
        for res in live.of_kind(kind):
            if res.uuid is not None:
                out[(kind, res.uuid)] = res.key.path[-1]
    return out


def resolve(live: State) -> State:
    """The live state with every owner read by id (`id:<uuid>`) named by its domain path or
    account or project name; an id the cloud does not list stays as it is (drift shows it)."""
    names = _names_by_id(live)
    if not names:
        return live
    out: dict[Key, Resource] = {}
    changed = False
    for key, res in live.items():
        named = {}
        for f in _owner_fields(key.kind):
            value = res.values.get(f.name)
            if isinstance(value, str) and value.startswith(BY_ID):
                found = names.get((str(f.owner), value[len(BY_ID) :]))
                if found is not None:
                    named[f.name] = found
        if named:
            res = replace(res, values={**res.values, **named})
            changed = True
        out[key] = res
    return live.like(out) if changed else live


def missing(desired: State, live: State) -> list[Problem]:
    """Each owner a wanted resource names that the live cloud does not have, at the line
    that names it (a missing domain once: its accounts and projects cannot be there)."""
    problems = []
    for res in desired.values():
        owner = owner_of(res)
        if not owner or is_absent(res) or "domain" not in owner:
            continue
        fields = {str(f.owner): f.name for f in _owner_fields(res.key.kind)}
        domain = owner["domain"]
        if Key("domain", (domain,)) not in live:
            problems.append(_missing(res, fields["domain"], f"domain {domain}", "domain"))
            continue
        for role in ("account", "project"):
            if role in owner and Key(role, (domain, owner[role])) not in live:
                what = f"{role} {owner[role]} in {domain}"
                problems.append(_missing(res, fields[role], what, role))
    return sorted(problems, key=Problem.sort_key)


def _missing(res: Resource, field: str, what: str, role: str) -> Problem:
    return Problem(
        res.origin_of(field),
        f"{noun(res.key.kind)} {'/'.join(res.key.path)} is dedicated to {what}, "
        f"which the cloud does not have ({KINDS[role].read.command})",
    )


VLAN_RANGE = "dedicated_vlan_range"


def adjacent_live(desired: State, live: State) -> list[Problem]:
    """A guest VLAN range to dedicate that touches a live one of the same owner the config
    does not name. NS.dedicateGuestVlanRange (NS:4911-4950) merges a new range into an
    adjacent one of the same account (the row on its left, else the one on its right, or
    both into one): the live ranges would no longer be what the config says, and every plan
    after would try again. The owners of `live` must be resolved."""
    problems = []
    for res in desired.of_kind(VLAN_RANGE):
        if is_absent(res) or _unchanged(res, live):
            continue
        parent = res.key.parent()
        named = {r.key for r in desired.children(parent, VLAN_RANGE)}
        start, end = _span(res)
        for other in live.children(parent, VLAN_RANGE):
            if other.key in named or owner_of(other) != owner_of(res):
                continue
            lo, hi = _span(other)
            if hi + 1 == start or end + 1 == lo:
                problems.append(
                    Problem(
                        res.origin,
                        f"guest VLANs {start}-{end} touch the live range {lo}-{hi} of the same "
                        f"owner, which the config does not name: CloudStack would merge them "
                        f"into one range; write it as one entry ({min(lo, start)}-"
                        f"{max(hi, end)})",
                    )
                )
    return sorted(problems, key=Problem.sort_key)


def _span(res: Resource) -> tuple[int, int]:
    start = int(res.key.path[-1])
    end = res.values.get("end")
    return start, start if end is None else int(end)


def _unchanged(res: Resource, live: Mapping[Key, Resource]) -> bool:
    """Whether the live range is already as wanted: no dedicate call is made for it."""
    have = live.get(res.key)
    return have is not None and _span(have) == _span(res) and owner_of(have) == owner_of(res)
