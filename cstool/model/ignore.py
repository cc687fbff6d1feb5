"""The `ignore:` section: unmanaged objects that are known and accepted.

A drift job that fails every night on the same harmless range (a public range another team
added by hand) teaches operators to stop reading it. An ignore rule names such objects by
kind and path; what it matches is listed as ignored (counted apart), never as drift, and
`--prune` never deletes it.

```yaml
ignore:
  - {kind: public_range, path: lab1/203.0.113.200}       # one object
  - {kind: pod, path: "lab1/test-*", reason: "QA pods"}   # a pattern: one glob per part
```

A path has one part per level of the kind's identity (zone/pod/start for a management
range), each part a shell-style pattern (`*`, `?`, `[...]`; fnmatch, case-sensitive); a
part without a wildcard is read like the identity it names (an address is normalised, a
traffic type spelled in any case). A rule also covers what lives under the object it
matches: ignoring an unmanaged zone ignores its pods and ranges.

Rules apply only to objects the config lacks: an object the config describes is managed
whatever the rules say. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from cstool.model.kinds import KINDS, Kind
from cstool.model.resources import IgnoreRule, Key, Resource

WILDCARD = re.compile(r"[*?\[]")


def ignorable() -> list[str]:
    """The kinds an ignore rule may name: those the cloud can hold unmanaged (CloudStack
    makes settings and providers itself, so those are never unmanaged; a Basic zone's
    guest network is derived from its zone)."""
    return [k.name for k in KINDS.values() if not k.auto_created and not k.implicit]


def chain(kind: str) -> list[Kind]:
    """The kinds from the top down to `kind` (zone, pod, management_range): one per part of
    its identity."""
    out = [KINDS[kind]]
    while out[0].parent is not None:
        out.insert(0, KINDS[out[0].parent])
    return out


def parse_kind(value: str) -> str:
    """An ignorable kind name; a ValueError says which ones exist."""
    allowed = ignorable()
    name = value.strip()
    if name in allowed:
        return name
    close = difflib.get_close_matches(name, allowed, n=1)
    if name in KINDS:
        raise ValueError(
            f"'{name}' objects are never unmanaged (CloudStack makes them itself), so there is "
            "nothing to ignore"
        )
    hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(allowed)}"
    raise ValueError(f"unknown kind '{name}' ({hint})")


def parse_path(kind: str, text: str) -> tuple[str, ...]:
    """The parts of a rule's path for `kind`; a ValueError says what is wrong."""
    kinds = chain(kind)
    shape = "/".join(k.key if k.key != "name" else k.name.split("_")[-1] for k in kinds)
    parts = tuple(text.strip().split("/"))
    if len(parts) != len(kinds):
        raise ValueError(
            f"a {kind} path has {len(kinds)} part(s) ({shape}), '{text}' has {len(parts)} "
            "(use * for any)"
        )
    return tuple(_part(k, p, text) for k, p in zip(kinds, parts, strict=True))


def _part(kind: Kind, part: str, text: str) -> str:
    part = part.strip()
    if not part:
        raise ValueError(f"'{text}' has an empty part (use * for any)")
    if not WILDCARD.search(part):
        return str(kind.key_parse(part))  # an address normalised, a traffic type spelled right
    if part.count("[") != part.count("]"):
        raise ValueError(f"'{part}' is not a valid pattern: a '[' without its ']'")
    return part


def rule_for(key: Key, rules: Sequence[IgnoreRule]) -> IgnoreRule | None:
    """The first rule that names key or one of its ancestors."""
    if not rules:
        return None
    while True:
        for rule in rules:
            if rule.matches(key):
                return rule
        if KINDS[key.kind].parent is None:
            return None
        key = key.parent()


def split(
    unmanaged: Iterable[Resource], rules: Sequence[IgnoreRule]
) -> tuple[tuple[Resource, ...], tuple[Resource, ...]]:
    """(still unmanaged, ignored) by the rules."""
    kept: list[Resource] = []
    ignored: list[Resource] = []
    for res in unmanaged:
        (ignored if rule_for(res.key, rules) else kept).append(res)
    return tuple(kept), tuple(ignored)
