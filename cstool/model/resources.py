"""Key, Resource and State: desired and live clouds are the same type.

Pure values; imports nothing but errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from cstool.errors import Origin

# Resource.extra flags the loader sets on config entries, read by the diff and saved plans:
ABSENT = "absent"  # written `absent: true`
MANAGES_INFRA = "manages_infra"  # a zone whose YAML manages its compute and storage
# the containers of written-opt-in kinds (Kind.written_opt_in) the entry's YAML writes,
# even as [] or false; set only when some
WRITES = "writes"


@dataclass(frozen=True, order=True)
class Key:
    """Identity by names: kind plus the path of names from the zone down."""

    kind: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind} {'/'.join(self.path)}"

    @property
    def zone(self) -> str | None:
        """The zone this resource belongs to (None for global settings)."""
        from cstool.model.kinds import KINDS

        return self.path[0] if KINDS[self.kind].in_zone else None

    def parent(self) -> Key:
        """The key of the parent resource (the kinds table says which kind it is)."""
        from cstool.model.kinds import KINDS

        parent = KINDS[self.kind].parent
        if parent is None:
            raise ValueError(f"{self} has no parent")
        return Key(parent, self.path[:-1])

    def to_str(self) -> str:
        """kind:a/b/c, with `%` and `/` inside a name percent-encoded (an image store named
        by its URL); names without them are written as they are, as before."""
        return f"{self.kind}:{'/'.join(_escape(p) for p in self.path)}"

    @classmethod
    def from_str(cls, text: str) -> Key:
        kind, _, path = text.partition(":")
        return cls(kind, tuple(_unescape(p) for p in path.split("/")))


_ESCAPED = re.compile(r"%(25|2[Ff])")


def _escape(part: str) -> str:
    if "%" not in part and "/" not in part:
        return part
    return part.replace("%", "%25").replace("/", "%2F")


def _unescape(part: str) -> str:
    if "%" not in part:
        return part
    return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else "/", part)


@dataclass(frozen=True)
class IgnoreRule:
    """One entry of a config's `ignore:` section (model/ignore.py reads and applies them): a
    kind and one pattern per part of its identity."""

    kind: str
    path: tuple[str, ...]
    reason: str | None = None
    origin: Origin | None = field(default=None, compare=False)

    def matches(self, key: Key) -> bool:
        """Whether key is what this rule names (not what lives under it)."""
        return (
            key.kind == self.kind
            and len(key.path) == len(self.path)
            and all(fnmatchcase(part, pat) for part, pat in zip(key.path, self.path, strict=True))
        )

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "path": "/".join(self.path)}
        if self.reason:
            out["reason"] = self.reason
        return out

    def __str__(self) -> str:
        return f"{self.kind} {'/'.join(self.path)}"


@dataclass(frozen=True)
class Resource:
    """One managed object; values are plain, normalised Python values."""

    key: Key
    values: Mapping[str, Any]
    origin: Origin | None = field(default=None, compare=False)
    field_origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)
    uuid: str | None = field(default=None, compare=False)  # live only
    # live-only ids, loader flags; "writes": the containers of written-opt-in kinds the
    # entry's YAML writes (set only when some)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    order: int = field(default=0, compare=False)  # position in its parent's list

    def origin_of(self, name: str) -> Origin | None:
        return self.field_origins.get(name, self.origin)


@dataclass(frozen=True)
class CloudSpec:
    """The `cloud:` entry of a config: which cloud it describes (cloud/identity.py checks it)."""

    name: str
    endpoint: str | None = None  # compared by host and port
    id: str | None = None  # the cloud's custom.cs.identifier
    origin: Origin | None = field(default=None, compare=False)


class State(Mapping[Key, Resource]):
    """An ordered mapping Key -> Resource.

    `cloud`: the cloud a desired state says it describes; `ignore`: its `ignore:` rules.
    `duplicates`: in a live state, each identity two or more live objects share -> their
    ids, the one kept under the identity first (the others are kept too, under keys of their
    own: reader.duplicate_name).
    """

    def like(self, resources: Mapping[Key, Resource]) -> State:
        """A State of `resources` that says what this one says of its cloud (cloud,
        duplicates, ignore rules, infra): a part or a re-keying of this state."""
        out = State(resources)
        out.cloud, out.duplicates, out.ignore, out.infra = (
            self.cloud,
            self.duplicates,
            self.ignore,
            self.infra,
        )
        out.written, out.owners = self.written, self.owners
        return out

    def __init__(self, resources: Mapping[Key, Resource] | None = None) -> None:
        self._items: dict[Key, Resource] = {}
        self._children: dict[tuple[str, tuple[str, ...]], list[Resource]] = {}
        self.cloud: CloudSpec | None = None
        self.duplicates: dict[Key, list[str]] = {}
        self.ignore: tuple[IgnoreRule, ...] = ()  # a desired state's `ignore:` rules
        # a desired state that manages compute and storage somewhere (a zone opts in, or
        # region image stores are written): the reader lists those kinds only then
        self.infra = False
        # the kinds managed only where written (Kind.written_opt_in) whose container some
        # entry of a desired state writes: the reader lists only those
        self.written: frozenset[str] = frozenset()
        # a desired state that names an owner (a domain, an account, a project): the reader
        # lists the reference kinds only then
        self.owners = False
        for res in (resources or {}).values():
            self.add(res)

    def __getitem__(self, key: Key) -> Resource:
        return self._items[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, resource: Resource) -> None:
        key = resource.key
        siblings = self._children.setdefault((key.kind, key.path[:-1]), [])
        if key in self._items:
            siblings[:] = [r for r in siblings if r.key != key]
        self._items[key] = resource
        siblings.append(resource)

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self._items.values() if r.key.kind == kind]

    def children(self, parent: Key, kind: str) -> list[Resource]:
        return list(self._children.get((kind, parent.path), ()))
