"""`cstool drift --accept`: keep what the cloud has by writing it into the YAML, in place.

`cstool export` writes whole files: every comment is lost and keys are reordered, so a
reviewer of "accept 4 drift items" reads 128 changed lines. Here each accepted item is
one edit of the file that holds it, made on a round-trip reading of that file (ruamel.yaml
keeps comments, key order, flow or block style and quoting), so a one-field drift is a
one-line diff:

- changed outside cstool: the cloud's value is written where the config writes the field
  (a partial mapping such as traffic labels only for the keys the config names);
- deleted outside cstool: the entry is removed (with what is written under it). An operator
  who accepts a deletion wants the config to stop asking for the object; `absent: true`
  would instead delete it again if someone re-created it, which is a decision of its own;
- added outside cstool: the object is appended, as `cstool export` would write it (with
  what lives under it), to the list of its parent, in the file that holds the parent; a new
  zone goes into the one file that holds zones, and when several do it is not placed;
- an `absent: true` entry whose object exists: the entry describes the object instead.

Values from the cloud are never secrets here (no kind reads one), and a Secure or Hidden
setting, which the cloud lists encrypted or not at all, is never written. Pure: texts in,
texts out; the caller reads and writes the files (write_all: atomic and all-or-nothing).
"""

from __future__ import annotations

import difflib
import io
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from cstool.errors import CstoolError
from cstool.model import settings as catalog
from cstool.model.diff import Change, is_empty
from cstool.model.export import entry_of, fields_of, plain_value
from cstool.model.kinds import KINDS, NO_DEFAULT, Kind, noun
from cstool.model.kinds import Field as KindField
from cstool.model.loader import decode
from cstool.model.resources import ABSENT, Key, Resource, State
from cstool.model.values import HYPERVISORS

CHANGED, MISSING, UNMANAGED = "changed", "missing", "unmanaged"
WORDS = {
    CHANGED: "changed outside cstool",
    MISSING: "deleted outside cstool",
    UNMANAGED: "added outside cstool",
}


class AcceptError(CstoolError):
    """Nothing was written: a selector matched nothing, an item cannot be placed, or an
    edit failed."""


@dataclass(frozen=True)
class Item:
    """One drift item: what happened, to which resource, and the objects compared."""

    what: str  # CHANGED, MISSING or UNMANAGED
    key: Key
    desired: Resource | None = None
    live: Resource | None = None
    change: Change | None = None

    def __str__(self) -> str:
        return f"{noun(self.key.kind)} {'/'.join(self.key.path)}"


def items(
    changed: Iterable[Change], missing: Iterable[Resource], unmanaged: Iterable[Resource]
) -> list[Item]:
    """The drift as items, in the report's order."""
    out = [Item(CHANGED, c.key, c.desired, c.live, c) for c in changed]
    out += [Item(MISSING, r.key, desired=r) for r in missing]
    out += [Item(UNMANAGED, r.key, live=r) for r in unmanaged]
    return out


# --- choosing what to accept ------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """`pod lab1/pod1`, `pod:lab1/pod1` (a kind and its path: that object) or `lab1/pod1`
    (a path: the objects at or under it, of any kind)."""

    text: str
    kind: str | None
    path: tuple[str, ...]

    def matches(self, key: Key) -> bool:
        if self.kind is not None:
            return key.kind == self.kind and _same_path(self.kind, key.path, self.path)
        return key.path[: len(self.path)] == self.path


def _same_path(kind: str, have: tuple[str, ...], want: tuple[str, ...]) -> bool:
    """Paths compared as identities: an address normalised, a traffic type in any case."""
    if len(have) != len(want):
        return False
    kinds = [KINDS[kind]]
    while kinds[0].parent is not None:
        kinds.insert(0, KINDS[kinds[0].parent])
    for k, a, b in zip(kinds, have, want, strict=True):
        try:
            if k.key_parse(b) != a:
                return False
        except ValueError:
            return False
    return True


def parse_selectors(words: Sequence[str]) -> list[Selector]:
    """Selectors from the words after `--accept`: a kind name takes the next word as its
    path; `kind:path` and a plain path stand alone."""
    out: list[Selector] = []
    i = 0
    while i < len(words):
        word = words[i].strip()
        head, colon, rest = word.partition(":")
        if word in KINDS and i + 1 < len(words):
            out.append(Selector(f"{word} {words[i + 1]}", word, _parts(words[i + 1])))
            i += 2
            continue
        if colon and head in KINDS:
            out.append(Selector(word, head, _parts(rest)))
        elif word in KINDS:
            raise AcceptError(f"--accept {word}: a kind needs a path after it (e.g. {word} ZONE/…)")
        else:
            out.append(Selector(word, None, _parts(word)))
        i += 1
    return out


def _parts(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.strip().strip("/").split("/") if p)


def select(found: Sequence[Item], selectors: Sequence[Selector]) -> list[Item]:
    """The items the selectors name (all of them when none is given). A selector that names
    no drift is an error: a typo must not pass for "nothing to accept"."""
    if not selectors:
        return list(found)
    unmatched = [s.text for s in selectors if not any(s.matches(i.key) for i in found)]
    if unmatched:
        listed = "\n".join(f"  {i.key.kind} {'/'.join(i.key.path)}" for i in found) or "  (none)"
        raise AcceptError(
            f"--accept {', '.join(unmatched)}: no drift matches "
            f"{'it' if len(unmatched) == 1 else 'them'}; the drift is:\n{listed}",
            hint="name an item as KIND ZONE/…/NAME (e.g. pod lab1/pod1) or a path (lab1/pod1)",
        )
    return [i for i in found if any(s.matches(i.key) for s in selectors)]


# --- editing ------------------------------------------------------------------------------


@dataclass
class Document:
    """One config file read for round-trip editing."""

    path: str
    text: str
    yaml: YAML
    data: Any
    newline: str = "\n"
    changes: list[str] = field(default_factory=list)

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        edited = out.getvalue()
        return _transplant(self.text, _dumped(self.yaml, self.text), edited)


# indentation styles tried, most common first: (mapping, sequence, offset)
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0), (4, 4, 2), (2, 4, 0), (4, 6, 2))


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 100_000  # never fold a long line the operator wrote on one
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _dumped(yaml: YAML, text: str) -> str:
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    return out.getvalue()


def read(path: str, text: str) -> Document:
    """A file as a round-trip document, with the indentation that writes it back as it is
    (when none does exactly, the closest; Document.dump keeps the other lines as written)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n")
    best: tuple[int, YAML] | None = None
    try:
        for indent in _INDENTS:
            yaml = _yaml(indent)
            again = _dumped(yaml, text)
            if again == text:
                best = (0, yaml)
                break
            lines = difflib.ndiff(text.splitlines(), again.splitlines())
            distance = sum(1 for line in lines if line[:1] in "+-")
            if best is None or distance < best[0]:
                best = (distance, yaml)
        assert best is not None
        data = best[1].load(text)
    except YAMLError as exc:
        raise AcceptError(f"{path}: cannot be read for editing: {exc}") from None
    return Document(path, text, best[1], data, newline)


def _transplant(original: str, noop: str, edited: str) -> str:
    """The edit (noop -> edited) applied to the original text: lines the round trip would
    have written differently (an unusual indentation) stay as the operator wrote them."""
    if noop == original:
        return edited
    old, base, new = original.splitlines(True), noop.splitlines(True), edited.splitlines(True)
    where: dict[int, int] = {}  # line of noop -> the same line of original
    for a, b, size in difflib.SequenceMatcher(
        None, old, base, autojunk=False
    ).get_matching_blocks():
        for k in range(size):
            where[b + k] = a + k
    out = list(old)
    shift = 0
    ops = difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        if i1 < i2 and not all(i in where for i in range(i1, i2)):
            return edited  # the edit falls on reformatted lines: the round trip's text
        start = where[i1] if i1 < i2 else (where[i1 - 1] + 1 if i1 > 0 and i1 - 1 in where else 0)
        end = where[i2 - 1] + 1 if i1 < i2 else start
        out[start + shift : end + shift] = new[j1:j2]
        shift += (j2 - j1) - (end - start)
    return "".join(out)


def _natural(value: Any) -> Any:
    """A value as an operator writes it: "100" as 100, "true" as true (the loader reads
    every scalar as the text written, so the value reads back the same)."""
    if isinstance(value, str):
        if value.isdigit() and str(int(value)) == value:
            return int(value)
        if value in ("true", "false"):
            return value == "true"
        return value
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_natural(v) for v in value)
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, Mapping):
        out = CommentedMap((k, _natural(v)) for k, v in value.items())
        if "start" in value or (value and all(k in HYPERVISORS for k in value)):
            out.fa.set_flow_style()  # ranges and labels on one line, as export writes them
        return out
    return value


def _styled(new: Any, old: Any) -> Any:
    """The new scalar in the old one's style: quoted stays quoted (single or double)."""
    if isinstance(old, str) and type(old) is not str and not isinstance(new, Mapping | list):
        return type(old)(str(new).lower() if isinstance(new, bool) else str(new))
    return new


def _set(entry: CommentedMap, name: str, value: Any) -> None:
    """entry[name] = value, edited in place where the config writes a list or mapping (its
    flow style, quoting and comments stay)."""
    old = entry.get(name)
    new = _natural(value)
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        for i, item in enumerate(new):
            styled = _styled(item, old[i] if i < len(old) else (old[0] if old else None))
            if i < len(old):
                if old[i] != styled:
                    old[i] = styled
            else:
                old.append(styled)
        del old[len(new) :]
        return
    if isinstance(old, CommentedMap) and isinstance(new, Mapping):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            if old.get(k) != v:
                old[k] = _styled(v, old.get(k))
        return
    entry[name] = _styled(new, old)


class _Unplaced(Exception):
    """An item that has no place in the files (the message says why)."""


class Editor:
    """Applies accepted items to round-trip documents."""

    def __init__(self, docs: Mapping[str, Document], live: State, desired: State) -> None:
        self.docs = docs
        self.live = live
        self.desired = desired

    # navigation

    def doc_of(self, res: Resource) -> Document:
        file = res.origin.file if res.origin is not None else None
        if file is None or file not in self.docs:
            raise _Unplaced(f"the config file that holds it ({file or 'unknown'}) is not read")
        return self.docs[file]

    def find(self, doc: Document, key: Key) -> tuple[Any, Any, CommentedMap | Any]:
        """(container, index or name, entry) of key in doc."""
        chain = [KINDS[key.kind]]
        while chain[0].parent is not None:
            chain.insert(0, KINDS[chain[0].parent])
        node: Any = doc.data
        container: Any = None
        at: Any = None
        for kind, part in zip(chain, key.path, strict=True):
            container = node.get(kind.container) if isinstance(node, Mapping) else None
            if kind.style == "one":  # the mapping under its parent, edited like an entry
                container, at = node, (kind.container if container is not None else None)
            else:
                at = _position(kind, container, part)
            if at is None:
                raise _Unplaced(f"it is not written in {doc.path}")
            node = container[at]
        return container, at, node

    # the three kinds of drift

    def changed(self, item: Item) -> None:
        assert item.change is not None and item.desired is not None and item.live is not None
        kind = KINDS[item.key.kind]
        doc = self.doc_of(item.desired)
        container, at, entry = self.find(doc, item.key)
        if ABSENT in item.change.fields:
            self._describe(doc, kind, container, at, item)
            return
        if kind.style == "map":
            self._setting_safe(item)
            (only,) = kind.fields
            value = plain_value(only, item.live.values.get(only.name))  # enabled, not true
            container[at] = _styled(_natural(value), container[at])
            was = plain_value(only, item.desired.values[only.name])
            doc.changes.append(f"{item}: {_show(value)} (was {_show(was)})")
            return
        for name in item.change.fields:
            f = kind.field_map[name]
            shown = self._field(entry, f, item.live.values.get(name), item.change.fields[name])
            doc.changes.append(f"{item}: {shown}")

    def _field(
        self, entry: CommentedMap, f: KindField, have: Any, compared: tuple[Any, Any]
    ) -> str:
        """Write the live value of one field; what changed, for the operator."""
        if f.partial and isinstance(compared[0], Mapping):
            written = entry.get(f.name)
            if not isinstance(written, CommentedMap):
                raise _Unplaced(f"{f.name} is not written as a mapping")
            parts = []
            for k, value in compared[0].items():
                if value in (None, ""):
                    del written[k]
                elif written.get(k) != value:
                    written[k] = _styled(_natural(value), written.get(k))
                was = compared[1].get(k)
                if was != value:  # only the keys that changed are named
                    parts.append(f"{f.name}.{k} {_show(value)} (was {_show(was)})")
            return ", ".join(parts)
        default = f.default if f.default is not NO_DEFAULT and not callable(f.default) else None
        if is_empty(have) or (default is not None and have == default and not f.required):
            if f.name in entry:
                try:
                    del entry[f.name]
                except KeyError:
                    raise _Unplaced(
                        f"{f.name} comes from a merge key (<<): edit it by hand"
                    ) from None
        else:
            _set(entry, f.name, plain_value(f, have))
        return f"{f.name} {_show(have)} (was {_show(compared[1])})"

    def _setting_safe(self, item: Item) -> None:
        if item.key.kind in ("setting", "zone_setting"):
            known = catalog.catalog().get(item.key.path[-1])
            if known is not None and not known.comparable:
                raise _Unplaced("a Secure or Hidden setting is never written from the cloud")

    def _describe(self, doc: Document, kind: Kind, container: Any, at: Any, item: Item) -> None:
        """An `absent: true` entry whose object exists: the entry describes the object."""
        assert item.live is not None
        if kind.style == "one":  # `false` whose object exists: the mapping it is
            container[at] = _one(kind, item.live)
            doc.changes.append(f"{item}: described as it is in the cloud (was false)")
            return
        new = _entry(kind, item.live, self.live, container, at)
        entry = container[at]
        if not isinstance(entry, CommentedMap):
            raise _Unplaced(f"it is not written as a mapping in {doc.path}")
        for name in [k for k in entry if k not in new]:
            del entry[name]
        for pos, (name, value) in enumerate(new.items()):  # in place: its comments stay
            if name in entry and list(entry).index(name) == pos:
                if entry[name] != value:
                    entry[name] = _styled(value, entry[name])
                continue
            if name in entry:
                del entry[name]
            entry.insert(pos, name, value)
        doc.changes.append(f"{item}: described as it is in the cloud (was absent: true)")

    def missing(self, item: Item) -> None:
        assert item.desired is not None
        kind = KINDS[item.key.kind]
        if kind.implicit:
            raise _Unplaced("cstool derives it from its zone: it is not written in the config")
        doc = self.doc_of(item.desired)
        container, at, _ = self.find(doc, item.key)
        del container[at]
        doc.changes.append(f"{item}: removed ({WORDS[MISSING]})")

    def unmanaged(self, item: Item) -> None:
        assert item.live is not None
        kind = KINDS[item.key.kind]
        if kind.parent is None:
            doc, parent = self._zones_file(), None
        else:
            parent = self.desired.get(item.key.parent())
            if parent is None or parent.extra.get(ABSENT):
                what = item.key.parent()
                raise _Unplaced(
                    f"its {noun(what.kind)} {'/'.join(what.path)} is not in the "
                    "config: accept that too (it brings what lives under it along)"
                )
            doc = self.doc_of(parent)
        node = doc.data if parent is None else self.find(doc, parent.key)[2]
        if not isinstance(node, CommentedMap):
            raise _Unplaced(f"{doc.path}: the place for it is not a mapping")
        container = node.get(kind.container)
        if kind.style == "one":
            if container is not None:
                raise _Unplaced(f"{kind.container} is written already: edit it by hand")
            node[kind.container] = _one(kind, item.live)
            doc.changes.append(f"{item}: added ({WORDS[UNMANAGED]})")
            return
        if container is None:
            container = node[kind.container] = CommentedSeq()
        if not isinstance(container, CommentedSeq):
            raise _Unplaced(f"{kind.container} is not written as a list in {doc.path}")
        container.append(_entry(kind, item.live, self.live, container, None))
        doc.changes.append(f"{item}: added ({WORDS[UNMANAGED]})")

    def _zones_file(self) -> Document:
        holding = [
            d for d in self.docs.values() if isinstance(d.data, Mapping) and "zones" in d.data
        ]
        if len(holding) == 1:
            return holding[0]
        raise _Unplaced(
            "several files hold zones, so where it belongs is yours to say: write it with "
            "`cstool export --zone NAME`"
            if holding
            else "no file holds zones"
        )


def _position(kind: Kind, container: Any, part: str) -> Any:
    """Where the entry named `part` is in a list or mapping of `kind` (None: not there)."""
    if isinstance(container, Mapping):
        for name in container:
            if _parsed(kind, name) == part:
                return name
        return None
    if isinstance(container, list):
        for i, entry in enumerate(container):
            if isinstance(entry, Mapping) and _parsed(kind, entry.get(kind.key)) == part:
                return i
    return None


def _parsed(kind: Kind, value: Any) -> Any:
    try:
        return None if value is None else kind.key_parse(str(value))
    except ValueError:
        return None


def _entry(kind: Kind, res: Resource, live: State, container: Any, at: Any) -> CommentedMap:
    """The object as export writes it, its keys in the order its siblings write theirs and in
    their flow or block style."""
    plain = entry_of(kind, res, live)
    sibling = next(
        (e for i, e in enumerate(container or ()) if isinstance(e, CommentedMap) and i != at),
        None,
    )
    if sibling is not None:
        order = {k: i for i, k in enumerate(sibling)}
        plain = dict(sorted(plain.items(), key=lambda kv: order.get(kv[0], len(order))))
    out = _natural(plain)
    assert isinstance(out, CommentedMap)
    if sibling is not None:
        if sibling.fa.flow_style():
            out.fa.set_flow_style()
        else:
            out.fa.set_block_style()
    return out


def _one(kind: Kind, res: Resource) -> CommentedMap:
    """A single mapping (Kind.style "one") as export writes it, on one line."""
    out = _natural(fields_of(kind, res))
    assert isinstance(out, CommentedMap)
    out.fa.set_flow_style()
    return out


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


# --- the whole accept -------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """What accepting the items does to each file: its new text and what changed in it."""

    texts: dict[str, str]  # file -> new text (only files that change)
    changes: dict[str, list[str]]  # file -> one line per edit
    covered: tuple[Item, ...] = ()  # accepted along with an ancestor's entry
    read: dict[str, str] = field(default_factory=dict)  # file -> its text as it was read


def accept(
    chosen: Sequence[Item], texts: Mapping[str, str], desired: State, live: State
) -> Accepted:
    """The new texts of the config files with the chosen items accepted. Every item is
    placed or nothing is: AcceptError lists each one that cannot be, and why."""
    docs = {path: read(path, text) for path, text in texts.items()}
    editor = Editor(docs, live, desired)
    keys = {(i.what, i.key) for i in chosen}
    covered = tuple(i for i in chosen if _under_accepted(i, keys))
    failed: list[str] = []
    # removals last and deepest first, so an index found is still the entry's index
    order = sorted(
        (i for i in chosen if i not in covered),
        key=lambda i: (i.what == MISSING, -len(i.key.path) if i.what == MISSING else 0),
    )
    for item in order:
        try:
            getattr(editor, item.what)(item)
        except _Unplaced as exc:
            failed.append(f"  {item} ({WORDS[item.what]}): {exc}")
    if failed:
        raise AcceptError(
            "nothing was written: some drift cannot be accepted into the files:\n"
            + "\n".join(failed),
            hint="accept the others by naming them (cstool drift CONFIG --accept KIND PATH …), "
            "and edit the config by hand for these",
        )
    out: dict[str, str] = {}
    changes: dict[str, list[str]] = {}
    for path, doc in docs.items():
        if not doc.changes:
            continue
        new = doc.dump().replace("\n", doc.newline)
        if new != texts[path]:
            out[path] = new
        changes[path] = doc.changes
    return Accepted(out, changes, covered, {path: texts[path] for path in out})


def _under_accepted(item: Item, keys: set[tuple[str, Key]]) -> bool:
    """Whether an ancestor of the item is accepted the same way (its entry is removed or
    added with what lies under it)."""
    if item.what == CHANGED:
        return False
    key = item.key
    while KINDS[key.kind].parent is not None:
        key = key.parent()
        if (item.what, key) in keys:
            return True
    return False


# --- writing ---------------------------------------------------------------------------


def write_all(texts: Mapping[Path, str], read: Mapping[Path, str] | None = None) -> None:
    """Write every file or none: each new text goes to a temporary file beside its file
    (same permissions, flushed to disk), and only when all are written are they renamed
    over the files; a failed rename puts back the files renamed before it, the same way.
    A symbolic link is followed: the file it points to is replaced, the link stays.

    `read`: each file's text as it was read; a file changed since (an editor, a git pull)
    is not overwritten: nothing is written. Two paths to one file are refused."""
    staged: list[tuple[Path, Path, bytes]] = []  # (real file, temporary file, old bytes)
    try:
        reals = [path.resolve() for path in texts]
        if len(set(reals)) != len(reals):
            raise AcceptError("nothing was written: two config paths name the same file")
        for (path, text), real in zip(texts.items(), reals, strict=True):
            old = real.read_bytes()
            if read is not None and path in read and decode(old, str(path))[0] != read[path]:
                raise AcceptError(
                    f"nothing was written: {path} changed since it was read",
                    hint="run the command again: it reads the files anew",
                )
            staged.append((real, _staged(real, _encoded(text, old)), old))
    except (OSError, AcceptError) as exc:
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, AcceptError):
            raise
        raise AcceptError(f"nothing was written: {exc.filename or ''}: {exc.strerror}") from None
    done: list[tuple[Path, bytes]] = []
    try:
        for real, tmp, old in staged:
            os.replace(tmp, real)
            done.append((real, old))
        _synced_dirs(real for real, _, _ in staged)
    except OSError as exc:
        for real, old in done:
            os.replace(_staged(real, old), real)
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise AcceptError(f"nothing was written: {exc.filename or ''}: {exc.strerror}") from None


def _staged(real: Path, data: bytes) -> Path:
    """`data` in a temporary file beside `real`, with its permissions, flushed to disk (a
    rename over `real` is then never of a file the disk has not got)."""
    fd, name = tempfile.mkstemp(prefix=".cstool-accept-", suffix=".yaml", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, stat.S_IMODE(real.stat().st_mode))
    except OSError:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _synced_dirs(files: Iterable[Path]) -> None:
    """The renames made durable: each directory's entry flushed (where the platform can)."""
    for directory in {f.parent for f in files}:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _encoded(text: str, old: bytes) -> bytes:
    """The text in the encoding the file had (its byte order mark kept)."""
    for bom, codec in _BOMS:
        if old.startswith(bom):
            return bom + text.encode(codec)
    return text.encode("utf-8")
