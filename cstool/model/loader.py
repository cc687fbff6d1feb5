"""YAML files -> State, every resource and field stamped with its Origin.

Reads files (the only I/O of the core) but never talks to a cloud. The config schema is a
set of pydantic models generated from the kinds table, so `cstool schema` and the loader
cannot disagree.

Config files come from anyone who can open a pull request, so reading them is strict:

- Values are read as written. A plain `null`, `~` or nothing is "no value" (YAML 1.2 core
  schema); every other scalar stays the text the operator wrote and the field's parser (the
  kinds table) reads it. So `enabled: true` and `vlan: 100` work, while a zone named `010`, a
  setting `off`, `yes`, `0x1F`, `12:30` or `1.10` is sent exactly so (YAML 1.1 made them 8,
  false, true, 31, 750 and 1.1). The server takes a setting's value as a string
  (UpdateCfgCmd `value`, STRING of up to 4096, api-spec.json), so the text is the value.
  No field reads 0o/0x numbers: a VLAN id is written in decimal.
- Anchors, aliases and merge keys (`<<`) work; positions point where a value is written.
  Top-level keys starting with `x-` hold templates for anchors and are not part of the schema.
- Only YAML's own tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq, !!merge); any
  other (`!!python/...`, `!!binary`, `!custom`) is a located error, never a constructor call.
- Limits, each a located error: MAX_FILE_BYTES per file, MAX_ALIAS_NODES nodes added by aliases
  (a "billion laughs" document fails after building a few hundred nodes: aliased values are
  shared, never copied), MAX_DEPTH nesting levels.
- A file must be a regular file (a FIFO or a device is refused, never read), in UTF-8 (BOM
  optional) or UTF-16/UTF-32 with a BOM.
- libyaml parses and composes the node tree when PyYAML has it (the pure-Python parser is the
  fallback); positions stay on that tree and become Origins only where a resource or a
  problem needs one.
"""

from __future__ import annotations

import codecs
import difflib
import gc
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from cstool.errors import ConfigNotFound, Origin, Problem
from cstool.model import ignore
from cstool.model import jsontypes as jt
from cstool.model import values as v
from cstool.model.kinds import KINDS, NO_DEFAULT, Kind, children_of, default_of, noun
from cstool.model.resources import (
    ABSENT,
    MANAGES_INFRA,
    WRITES,
    CloudSpec,
    IgnoreRule,
    Key,
    Resource,
    State,
)
from cstool.model.values import text as _text

YAML_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 50 * 1024 * 1024  # one config file (characters, for text given directly)
MAX_ALIAS_NODES = 100_000  # nodes that aliases and merge keys may add to one document
MAX_DEPTH = 100  # nesting levels of one document (the format needs fewer than ten)
EXTENSION_PREFIX = "x-"  # top-level keys for templates (anchors), ignored by the schema
Path_ = tuple[Any, ...]
Pairs = dict[str, tuple[Node, Node]]  # key -> (key node, value node), merged keys included

_MIB = 1024 * 1024
_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN = "!cstool/plain"  # the resolver's mark for an untagged plain scalar, read on build
_STR, _MAP, _SEQ, _MERGE, _NULL = (
    f"{_YAML_TAG}{name}" for name in ("str", "map", "seq", "merge", "null")
)
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
# what an explicitly tagged scalar may hold (YAML 1.2 core schema)
_CORE_FORMS = {
    _NULL: re.compile(r"~|null|Null|NULL|"),
    f"{_YAML_TAG}bool": re.compile(r"true|True|TRUE|false|False|FALSE"),
    f"{_YAML_TAG}int": re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
    f"{_YAML_TAG}float": re.compile(
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
    ),
}


# --- reading files -----------------------------------------------------------------------


class _Unreadable(Exception):
    """A file that is not read at all; the message says why."""


def read_config(path: Path) -> tuple[str | None, Problem | None]:
    """The text of one config file, or a problem naming it (never a hang, never a traceback)."""
    try:
        data = _read_bytes(path)
    except _Unreadable as exc:
        return None, Problem(Origin(str(path), 1, 1), str(exc))
    return decode(data, str(path))


def _read_bytes(path: Path) -> bytes:
    # stat before open: opening a FIFO for reading blocks until a writer comes
    try:
        _check_regular(os.stat(path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _Unreadable(f"cannot read: {_reason(exc)}") from None
    with os.fdopen(fd, "rb") as stream:
        try:
            info = os.fstat(fd)  # the path may have changed since the stat
            _check_regular(info)
            # a buffer of the file's size, not of the limit; a file that grew is read on
            # in steps, still bounded by the limit
            data = stream.read(min(info.st_size, MAX_FILE_BYTES) + 1)
            while len(data) <= MAX_FILE_BYTES and (more := stream.read(_MIB)):
                data += more
        except OSError as exc:
            raise _Unreadable(f"cannot read: {_reason(exc)}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Unreadable(_too_big(len(data)))
    return data


def _check_regular(st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _Unreadable(f"cannot read: {_file_type(st.st_mode)}, not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise _Unreadable(_too_big(st.st_size))


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _too_big(size: int) -> str:
    return (
        f"the file is {size / _MIB:.1f} MiB, over the limit of {MAX_FILE_BYTES / _MIB:g} MiB "
        "for one config file (split it into several files)"
    )


def _reason(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


# byte order marks, longest first (a UTF-32-LE BOM starts like a UTF-16-LE one)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """Text from bytes: UTF-8 with or without a BOM, UTF-16/UTF-32 with one; else a problem
    naming the byte offset, line and column of the first byte that does not decode."""
    bom, codec, name = b"", "utf-8", "UTF-8"
    for mark, mark_codec, mark_name in _BOMS:
        if data.startswith(mark):
            bom, codec, name = mark, mark_codec, mark_name
            break
    if codec == "utf-8" and (nul := data.find(b"\x00")) >= 0:
        # valid UTF-8 but never YAML: UTF-16/UTF-32 text saved without its BOM
        return None, _undecodable(data, bom, nul, codec, name, file)
    try:
        return data[len(bom) :].decode(codec), None
    except UnicodeDecodeError as exc:
        return None, _undecodable(data, bom, len(bom) + exc.start, codec, name, file)


def _undecodable(data: bytes, bom: bytes, offset: int, codec: str, name: str, file: str) -> Problem:
    before = data[len(bom) : offset].decode(codec, errors="replace")
    line = before.count("\n") + 1
    column = len(before) - before.rfind("\n")
    message = (
        f"not valid {name} text: byte 0x{data[offset]:02x} at byte offset {offset} "
        "cannot be decoded (config files are UTF-8, or UTF-16/UTF-32 with a byte order mark)"
    )
    return Problem(Origin(file, line, column), message)


# --- YAML -> node tree ---------------------------------------------------------------------


class _Resolver(BaseResolver):
    """Resolves nothing: untagged plain scalars are marked and read on build (YAML 1.2)."""

    def resolve(self, kind: type[Node], value: str | None, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP


class _PyComposer(Reader, Scanner, Parser, Composer, _Resolver):
    """The pure-Python parser with our resolver (when PyYAML lacks libyaml)."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)


_COMPOSERS: list[type[Any]] = [_PyComposer]
try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CComposer(CParser, _Resolver):
        """libyaml's parser and composer (C) with our resolver."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _Resolver.__init__(self)

    _COMPOSERS.insert(0, _CComposer)
except ImportError:  # PyYAML built without libyaml
    pass

_COMPOSER: type[Any] = _COMPOSERS[0]


def _origin(file: str, node: Node) -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _compose(text: str, file: str) -> tuple[Node | None, list[Problem]]:
    """The node tree of one document (None when empty), or the syntax problem."""
    composer: Any = None
    try:
        composer = _COMPOSER(text)  # the pure-Python reader checks characters here
        return composer.get_single_node(), []
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, file)]
    except ReaderError as exc:
        return None, [
            _reader_problem(
                exc, text, file, bytes_offset=not isinstance(composer, _PyComposer | None)
            )
        ]
    except RecursionError:  # the pure-Python parser nests by recursion (libyaml stops at 1000)
        return None, [Problem(Origin(file, 1, 1), f"nested deeper than {MAX_DEPTH} levels")]
    except yaml.YAMLError as exc:
        return None, [Problem(Origin(file, 1, 1), f"YAML error: {exc}")]
    finally:
        if composer is not None:
            composer.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    where = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context
    if exc.context and "duplicate anchor" in exc.context and exc.context_mark:
        message = f"an anchor is defined twice (first at line {exc.context_mark.line + 1})"
    elif exc.context and exc.problem and exc.problem.startswith("but "):
        message = f"{exc.context}, {exc.problem}"  # "expected a single document ..., but"
    origin = Origin(file, where.line + 1, where.column + 1) if where else Origin(file, 1, 1)
    return Problem(origin, f"YAML syntax error: {message}")


def _reader_problem(exc: ReaderError, text: str, file: str, bytes_offset: bool) -> Problem:
    """A character YAML forbids (a control character), located."""
    index = exc.position
    if bytes_offset:  # libyaml counts UTF-8 bytes, the pure-Python reader characters
        index = len(text.encode("utf-8")[:index].decode("utf-8", errors="ignore"))
    line = text.count("\n", 0, index) + 1
    column = index - text.rfind("\n", 0, index)
    char = exc.character
    what = f"#x{char:04x}" if isinstance(char, int) else repr(char)
    return Problem(Origin(file, line, column), f"unacceptable character {what}: {exc.reason}")


# --- node tree -> plain data -----------------------------------------------------------------


class _Rejected:
    """Stands for a value refused while building (its problem is reported): the schema
    errors it causes are not reported again."""

    def __repr__(self) -> str:
        return "<rejected>"


REJECTED: Any = _Rejected()


class _TooBig(Exception):
    """Aliases expand the document past MAX_ALIAS_NODES: it is refused as a whole."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Tree:
    """Plain data from a node tree: scalars as written, merges applied, limits kept.

    A node reached a second time (an alias, or a merge of an anchor) is not built again:
    its value is shared and only its expanded size is counted against the alias limit.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.index: dict[int, Pairs] = {}
        self.built: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.busy: set[int] = set()
        self.nodes = 0  # nodes of the expanded document so far
        self.aliased = 0  # of which aliases added

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(_origin(self.file, node), message))

    def value(self, node: Node, depth: int, where: Node) -> Any:
        """Plain data of node; `where` is the key or list that holds it (for the limit)."""
        if node.__class__ is ScalarNode:
            self.nodes += 1
            return self.scalar(node)
        ident = id(node)
        if ident in self.built:
            return self.alias(ident, where)
        if ident in self.busy:
            self.problem(where, "an alias refers to a node that contains it (recursive alias)")
            return REJECTED
        if node.tag != (_MAP if node.__class__ is MappingNode else _SEQ):
            return self.bad_tag(node)
        if depth > MAX_DEPTH:
            self.problem(node, f"nested deeper than {MAX_DEPTH} levels")
            return REJECTED
        self.busy.add(ident)
        before = self.nodes
        self.nodes += 1
        if node.__class__ is MappingNode:
            out: Any = self.mapping(node, depth + 1)
        else:
            out = [self.value(item, depth + 1, node) for item in node.value]
        self.busy.discard(ident)
        self.built[ident] = out
        self.sizes[ident] = self.nodes - before
        return out

    def alias(self, ident: int, where: Node) -> Any:
        size = self.sizes[ident]
        self.nodes += size
        self.aliased += size
        if self.aliased > MAX_ALIAS_NODES:
            raise _TooBig(
                Problem(
                    _origin(self.file, where),
                    f"aliases expand the document past {MAX_ALIAS_NODES:,} nodes "
                    "(the limit of what anchors and merge keys may add); refused",
                )
            )
        return self.built[ident]

    def scalar(self, node: Node) -> Any:
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            return None if text in _NULLS else text
        if tag == _STR:
            return text
        form = _CORE_FORMS.get(tag)
        if form is None:
            return self.bad_tag(node)
        if not form.fullmatch(text):
            self.problem(node, f"{text!r} is not a valid {_short(tag)} value (YAML 1.2)")
            return REJECTED
        return None if tag == _NULL else text

    def bad_tag(self, node: Node) -> Any:
        self.problem(
            node,
            f"tag '{_short(node.tag)}' is not allowed: a config holds only plain values, "
            "lists and mappings",
        )
        return REJECTED

    def mapping(self, node: Node, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pairs: Pairs = {}
        merges: list[tuple[Node, Node]] = []
        for knode, vnode in node.value:
            self.nodes += 1
            if self.is_merge(knode):
                if merges:
                    self.problem(knode, f"duplicate key '<<' (first at line {_line(merges[0][0])})")
                else:
                    merges.append((knode, vnode))
                continue
            key = self.key(knode)
            if key is None:
                continue
            if key in pairs:
                first = _line(pairs[key][0])
                self.problem(knode, f"duplicate key '{key}' (first at line {first})")
                continue
            pairs[key] = (knode, vnode)
            out[key] = self.value(vnode, depth, knode)
        for knode, vnode in merges:
            self.merge(knode, vnode, out, pairs, depth)
        self.index[id(node)] = pairs
        return out

    def is_merge(self, knode: Node) -> bool:
        return knode.__class__ is ScalarNode and (
            knode.tag == _MERGE or (knode.tag == _PLAIN and knode.value == "<<")
        )

    def key(self, knode: Node) -> str | None:
        """A mapping key: its text. Keys are names, so every scalar key is a string."""
        if knode.__class__ is not ScalarNode:
            self.problem(knode, "a key must be a plain value")
            return None
        if knode.tag in (_PLAIN, _STR):
            return str(knode.value)
        return None if self.scalar(knode) is REJECTED else str(knode.value)

    def merge(
        self, knode: Node, vnode: Node, out: dict[str, Any], pairs: Pairs, depth: int
    ) -> None:
        """`<<: *a` or `<<: [*a, *b]`: keys not written here come from the mappings, the
        first mapping named winning (YAML merge key)."""
        if vnode.__class__ is SequenceNode and vnode.tag != _SEQ:
            self.bad_tag(vnode)
            return
        sources = vnode.value if vnode.__class__ is SequenceNode else [vnode]
        for source in sources:
            data = self.value(source, depth, knode)
            if source.__class__ is not MappingNode:
                self.problem(source, "'<<' merges a mapping or a list of mappings")
                continue
            if data is REJECTED:
                continue  # its problem is reported already
            for key, pair in self.index[id(source)].items():
                if key not in pairs:
                    pairs[key] = pair
                    out[key] = data[key]


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _short(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


@dataclass
class Located:
    """A YAML document as plain data, with its node tree for positions."""

    data: Any
    file: str = "<config>"
    root: Node | None = None
    index: dict[int, Pairs] = field(default_factory=dict)

    def origin(self, node: Node) -> Origin:
        return _origin(self.file, node)

    def pairs(self, node: Node) -> Pairs:
        """The keys of a mapping node, merged keys included."""
        return self.index.get(id(node), {})

    def at(self, path: Path_, key: bool = False) -> Origin | None:
        """The position of path (its key, if asked), else of the nearest ancestor."""
        if self.root is None:
            return None
        knode, node, complete = None, self.root, True
        for part in path:
            if node.__class__ is MappingNode and isinstance(part, str) and part in self.pairs(node):
                knode, node = self.pairs(node)[part]
            elif node.__class__ is SequenceNode and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    complete = False
                    break
                knode, node = None, node.value[part]
            else:
                complete = False
                break
        if key and complete and knode is not None:
            return self.origin(knode)
        return self.origin(node)


def parse_yaml(text: str, file: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML document keeping positions; duplicate keys are problems, not overwrites."""
    if len(text) > MAX_FILE_BYTES:
        return None, [Problem(Origin(file, 1, 1), _too_big(len(text)))]
    node, problems = _compose(text, file)
    if node is None:
        return None, problems
    tree = _Tree(file)
    try:
        data = tree.value(node, 0, node)
    except _TooBig as exc:
        return None, [exc.problem]
    return Located(data, file, node, tree.index), tree.problems


# --- schema generated from the kinds table -----------------------------------------------


def _checked(parse: Callable[[Any], Any], single: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is REJECTED:
            raise PydanticCustomError("rejected", "rejected by the loader")
        if value is None:
            raise PydanticCustomError("no_value", "has no value")
        if single and isinstance(value, dict | list):
            what = "a list" if isinstance(value, list) else "a mapping"
            raise PydanticCustomError("single_value", f"must be a single value, not {what}")
        try:
            return parse(value)
        except ValueError as exc:
            raise PydanticCustomError("bad_value", str(exc)) from None

    return check


def _single(json_type: Mapping[str, Any]) -> bool:
    """Whether the schema wants one scalar (a list or mapping given there is an error)."""
    for either in ("anyOf", "oneOf"):
        if either in json_type:
            return all(_single(alternative) for alternative in json_type[either])
    types = json_type.get("type", "string")  # an enum of scalars has no type
    kinds = {types} if isinstance(types, str) else set(types)
    return not kinds & {"array", "object"}


def _typed(parse: Callable[[Any], Any], json_type: Mapping[str, Any], doc: str) -> Any:
    schema = dict(json_type, **({"description": doc} if doc else {}))
    check = _checked(parse, _single(json_type))
    return Annotated[Any, BeforeValidator(check), WithJsonSchema(schema)]


@cache
def model_for(kind_name: str | None) -> type[BaseModel]:
    """The pydantic model of one YAML mapping: a kind's entry, or the whole file (None)."""
    fields: dict[str, Any] = {}
    kind = KINDS[kind_name] if kind_name else None
    extra: dict[str, Any] = {}
    if kind is not None and kind.style == "one":  # its identity is its container's name
        for f in kind.fields:
            fields[f.name] = (_typed(f.parse, f.json_type, f.doc), None)
        extra = {"json_schema_extra": {"required": [f.name for f in kind.fields if f.required]}}
    if kind is not None and kind.style == "list":
        key_doc = f"the {_what(kind)}'s {KEY_DOCS.get(kind.key, kind.key)}: its identity"
        if kind.key_default is not None:  # e.g. a host is called by its URL's host
            key_doc += f" ({(kind.key_default.__doc__ or '').strip().splitlines()[0]})"
        required = ... if kind.key_default is None else None
        fields[kind.key] = (_typed(kind.key_parse, jt.of_key(kind.key_parse), key_doc), required)
        for f in kind.fields:
            # required unless the entry is `absent: true` (checked by _missing_required)
            fields[f.name] = (_typed(f.parse, f.json_type, f.doc), None)
        fields[ABSENT] = (_typed(v.boolean, {"type": "boolean"}, ABSENT_DOC), None)
        extra = _absent_schema([f.name for f in kind.fields if f.required])
        fields.update(_inline_first_fields(kind))
    for child in children_of(kind_name):
        if child.style == "map":
            (only,) = child.fields
            value = _typed(only.parse, only.json_type, only.doc)
            mapping = dict[str, value] | None  # type: ignore[valid-type]
            fields[child.container] = (Annotated[mapping, Field(description=child.doc)], None)
        elif child.style == "one":
            one = _one_or_false(child.name) | None
            fields[child.container] = (Annotated[one, Field(description=child.doc)], None)
        else:
            entries = list[model_for(child.name)] | None  # type: ignore[misc,valid-type]
            fields[child.container] = (Annotated[entries, Field(description=child.doc)], None)
    if kind_name is None:
        cloud = Annotated[_cloud_model() | None, Field(description=CLOUD_DOC)]  # type: ignore[valid-type]
        fields["cloud"] = (cloud, None)
        rules = Annotated[list[_ignore_model()] | None, Field(description=IGNORE_DOC)]  # type: ignore[misc,valid-type]
        fields["ignore"] = (rules, None)
    name = "".join(p.title() for p in (kind_name or "config").split("_"))
    config = ConfigDict(extra="forbid", title=name, **extra)  # type: ignore[typeddict-item]
    return create_model(name, __config__=config, **fields)


# the tag of each half of a single mapping's union (its loc part, dropped from messages)
ONE_TAG, FALSE_TAG = "<mapping>", "<false>"


def _not_true(value: Any) -> Any:
    """`false` (the single mapping is not wanted: released, with --allow-delete); `true` says
    nothing of whom a resource is for."""
    try:
        wanted = v.boolean(value)
    except ValueError:
        raise ValueError(f"{value!r}: write a mapping, or false to have none") from None
    if wanted:
        raise ValueError("write a mapping, or false to have none")
    return False


def _one_or_false(kind_name: str) -> Any:
    """A style-one container: the kind's mapping, or `false` (none)."""
    no = Annotated[Any, BeforeValidator(_checked(_not_true, True)), WithJsonSchema(jt.FALSE)]
    return Annotated[
        Annotated[model_for(kind_name), Tag(ONE_TAG)] | Annotated[no, Tag(FALSE_TAG)],
        Discriminator(lambda raw: ONE_TAG if isinstance(raw, dict) else FALSE_TAG),
    ]


def _inline_first_fields(kind: Kind) -> dict[str, Any]:
    """The first child's identity and fields that the entry may write on itself
    (Kind.inline_first: a shared network's start and end)."""
    child = _first_child_kind(kind)
    if child is None:
        return {}
    by_name = {f.name: f for f in child.fields}
    out: dict[str, Any] = {}
    for name in kind.inline_first:
        if name == child.key:
            doc = f"sugar for the first entry of {child.container}: its {KEY_DOCS[child.key]}"
            out[name] = (_typed(child.key_parse, jt.of_key(child.key_parse), doc), None)
        else:
            f = by_name[name]
            doc = f"sugar for the first entry of {child.container}: {f.doc}"
            out[name] = (_typed(f.parse, f.json_type, doc), None)
    return out


def _first_child_kind(kind: Kind) -> Kind | None:
    """The child kind an entry of `kind` writes inline (Kind.inline_first), if any."""
    if not kind.inline_first:
        return None
    return next(
        c for c in children_of(kind.name) if c.first_created_by_parent and c.style == "list"
    )


KEY_DOCS = {"name": "name", "start": "first address", "type": "traffic type"}
CLOUD_DOC = "the cloud this config describes: plan and apply refuse to act on another"


def _what(kind: Kind) -> str:
    return noun(kind.name)


ABSENT_DOC = (
    "true: this object must not exist; the plan deletes it (with --allow-delete). "
    "Only the identity is needed; it may not have children in the config"
)


def _absent_schema(required: list[str]) -> dict[str, Any]:
    """JSON Schema: the required fields are required unless `absent: true`."""
    if not required:
        return {}
    condition = {"properties": {ABSENT: {"const": True}}, "required": [ABSENT]}
    return {"json_schema_extra": {"if": condition, "else": {"required": required}}}


def _missing_required(data: Any, located: Located) -> list[Problem]:
    """`missing required key` for each entry without a required field, unless the entry is
    `absent: true` (it names an object to delete: its identity is enough). Reads the raw
    data, so these come with the schema's other problems; malformed parts are left to it."""
    problems: list[Problem] = []

    def walk(kind_name: str | None, mapping: Any, path: Path_) -> None:
        if not isinstance(mapping, dict):
            return
        for child in _children_of(kind_name):
            entries = mapping.get(child.container)
            if child.style == "one" and isinstance(entries, dict):
                for f in child.fields:
                    if f.required and f.name not in entries:
                        message = f"missing required key '{f.name}'"
                        problems.append(Problem(located.at((*path, child.container)), message))
                continue
            if child.style != "list" or not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                where = (*path, child.container, i)
                if not _absent_value(entry.get(ABSENT)):
                    for f in child.fields:
                        if f.required and f.name not in entry:
                            message = f"missing required key '{f.name}'"
                            problems.append(Problem(located.at(where), message))
                walk(child.name, entry, where)

    walk(None, data, ())
    return problems


def _absent_value(raw: Any) -> bool:
    try:
        return raw is not None and raw is not REJECTED and v.boolean(raw)
    except ValueError:
        return False  # the schema reports the value


@cache
def _cloud_model() -> type[BaseModel]:
    """The top-level `cloud:` entry: the cloud a config describes (plan and apply refuse
    another one; cloud/identity.py compares)."""
    fields: dict[str, Any] = {
        "name": (_typed(_text, jt.TEXT, "a name for the cloud, shown in errors"), ...),
        "endpoint": (
            _typed(_text, jt.TEXT, "its API endpoint (host and port are compared)"),
            None,
        ),
        "id": (
            _typed(_text, jt.TEXT, "its global setting custom.cs.identifier"),
            None,
        ),
    }
    config = ConfigDict(extra="forbid", title="Cloud")
    return create_model("Cloud", __config__=config, **fields)


IGNORE_DOC = (
    "unmanaged objects that are known and accepted: listed as ignored, never as drift, "
    "never deleted by --prune"
)


@cache
def _ignore_model() -> type[BaseModel]:
    """One `ignore:` entry: a kind and a path pattern (model/ignore.py matches them)."""
    kinds = ignore.ignorable()
    fields: dict[str, Any] = {
        "kind": (
            _typed(ignore.parse_kind, {"enum": kinds}, "the kind of object: " + ", ".join(kinds)),
            ...,
        ),
        "path": (
            _typed(
                _text,
                jt.TEXT,
                "its identity, one part per level (zone/pod/start for a management range), "
                "each part a pattern: * any text, ? one character, [ab] one of; e.g. lab1/*",
            ),
            ...,
        ),
        "reason": (_typed(_text, jt.TEXT, "why it is known (shown with the ignored)"), None),
    }
    config = ConfigDict(extra="forbid", title="Ignore")
    return create_model("Ignore", __config__=config, **fields)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors (yaml-language-server)."""
    schema = model_for(None).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cstool configuration"
    # top-level x-* keys hold templates (anchors) and are not part of the format
    schema["patternProperties"] = {f"^{EXTENSION_PREFIX}": {}}
    return schema


def _message(err: Mapping[str, Any], located: Located) -> tuple[Origin | None, str]:
    loc = tuple(p for p in err["loc"] if p not in (ONE_TAG, FALSE_TAG))
    names = [p for p in loc if isinstance(p, str)]
    name = names[-1] if names else "value"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = list(model_fields_at(loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
        return located.at(loc, key=True), f"unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return located.at(loc[:-1]), f"missing required key '{name}'"
    if kind in ("list_type", "tuple_type"):
        return located.at(loc), f"'{name}' must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return located.at(loc), f"'{name}' must be a mapping"
    return located.at(loc), f"{name}: {err['msg']}"


def model_fields_at(loc: Path_) -> list[str]:
    """The keys allowed in the mapping at loc (for 'did you mean')."""
    model = model_for(None)
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        inner = _model_in(info.annotation) if info else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# --- files -> State ----------------------------------------------------------------------


def config_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """The YAML files named or found (recursively, sorted) under the given paths.

    Nothing is skipped silently: symlinked directories are followed (a loop is reported),
    `.yaml`/`.yml` match in any case, and a dangling link or an unreadable directory is a
    problem. A named path that is not a directory is taken as a file whatever it is, so that
    reading it reports a FIFO or a device instead of skipping it. A file reached twice (the
    same directory named twice, or through a link) is read once.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        try:
            is_dir = stat.S_ISDIR(path.stat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            if path.is_symlink():
                problems.append(_dangling(path))
                continue
            raise ConfigNotFound(f"{path}: no such file or directory") from None
        except OSError as exc:
            problems.append(Problem(Origin(str(path), 1, 1), f"cannot read: {_reason(exc)}"))
            continue
        if not is_dir:
            files.append(path)
            continue
        found = _yaml_files(path, problems)
        if not found:
            problems.append(Problem(None, f"{path}: no .yaml or .yml files in this directory"))
        files.extend(found)
    return _once(files), problems


def _once(files: list[Path]) -> list[Path]:
    """Each file once, by what it really is (a path named twice, or reached by a link)."""
    seen: set[Path] = set()
    out = []
    for path in files:
        real = path.resolve()
        if not real.is_file():  # a FIFO or device: each naming of it is reported when read
            out.append(path)
        elif real not in seen:
            seen.add(real)
            out.append(path)
    return out


def _dangling(path: Path) -> Problem:
    return Problem(
        Origin(str(path), 1, 1),
        f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist",
    )


def _yaml_files(directory: Path, problems: list[Problem]) -> list[Path]:
    """Every *.yaml/*.yml under directory, in any case, following symlinked directories;
    a loop, a dangling link or a directory that cannot be read is a problem, never a
    silently smaller config (which `--prune` would take as objects to delete)."""
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()  # directories read (reached again: read once)

    def walk(folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            info = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(None, f"{folder}: cannot read the directory: {_reason(exc)}"))
            return
        ident = (info.st_dev, info.st_ino)
        if ident in ancestors:
            problems.append(
                Problem(None, f"{folder}: a symbolic link loops back to a directory above it")
            )
            return
        if ident in visited:
            return  # the same directory through another link: its files are read once
        visited.add(ident)
        ancestors = ancestors | {ident}
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink() and not path.exists():
                problems.append(_dangling(path))  # whatever it was meant to be
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError as exc:
                problems.append(Problem(Origin(str(path), 1, 1), f"cannot read: {_reason(exc)}"))
                continue
            if is_dir:
                walk(path, ancestors)
            elif path.suffix.lower() in YAML_SUFFIXES:
                found.append(path)  # a FIFO or device named *.yaml is reported when read

    walk(directory, frozenset())
    return sorted(found)


@dataclass
class _Builder:
    state: State = field(default_factory=State)
    problems: list[Problem] = field(default_factory=list)

    def add(self, res: Resource, what: str) -> bool:
        """Add res; False (with a problem) when its key is taken already."""
        old = self.state.get(res.key)
        if old is not None and KINDS[res.key.kind].style == "map" and old.values == res.values:
            return True  # the same setting with the same value in two files agrees
        if old is not None:
            self.problems.append(
                Problem(res.origin, f"{what} is defined twice (also at {old.origin})")
            )
            return False
        self.state.add(res)
        return True


def load(paths: Iterable[str | Path]) -> tuple[State, list[Problem]]:
    """Read config files into one State; problems are schema errors and merge conflicts."""
    files, problems = config_files(paths)
    builder = _Builder(problems=problems)
    with _gc_paused():
        for file in files:
            _load_file(file, builder)
        _derive(builder)
    return builder.state, builder.problems


def load_text(text: str, name: str) -> tuple[State, list[Problem]]:
    """One config document given as text; problems cite `name`."""
    builder = _Builder()
    with _gc_paused():
        _load_text(text, name, builder)
        _derive(builder)
    return builder.state, builder.problems


def load_texts(texts: Mapping[str, str]) -> tuple[State, list[Problem]]:
    """Config documents given as text (file name -> text) read as one config, as `load`
    reads files: `drift --accept` checks its edits this way before writing any."""
    builder = _Builder()
    with _gc_paused():
        for name, text in texts.items():
            _load_text(text, name, builder)
        _derive(builder)
    return builder.state, builder.problems


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading makes some ten objects per YAML node, none of them in a cycle worth
    collecting; CPython's cyclic collector would scan the growing heap again and again
    (three quarters of the load time of 10,000 resources), so it waits until the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_file(file: Path, builder: _Builder) -> None:
    text, problem = read_config(file)
    if text is None:
        builder.problems.append(problem or Problem(Origin(str(file), 1, 1), "cannot read"))
        return
    _load_text(text, str(file), builder)


def _load_text(text: str, file: str, builder: _Builder) -> None:
    located, problems = parse_yaml(text, file)
    builder.problems.extend(problems)
    if located is None:
        if not problems:
            builder.problems.append(Problem(Origin(file, 1, 1), "file is empty", warning=True))
        return
    if not isinstance(located.data, dict):
        builder.problems.append(
            Problem(
                located.at(()), "a config file must be a mapping with 'settings:' and/or 'zones:'"
            )
        )
        return
    data = {k: v for k, v in located.data.items() if not k.startswith(EXTENSION_PREFIX)}
    missing = _missing_required(data, located)
    builder.problems.extend(missing)
    try:
        model = model_for(None).model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            if err.get("input") is REJECTED:
                continue  # reported when it was refused
            origin, message = _message(err, located)
            builder.problems.append(Problem(origin, message))
        return
    if missing:
        return
    assert located.root is not None
    cloud = getattr(model, "cloud", None)
    if cloud is not None:
        _cloud(cloud, located, builder)
    if getattr(model, "ignore", None):
        _ignore(model.ignore, located, builder)  # type: ignore[attr-defined]
    _walk(None, (), model, located.root, located, builder, {})


def _cloud(entry: BaseModel, located: Located, builder: _Builder) -> None:
    """The `cloud:` entry; files that state one must state the same."""
    assert located.root is not None
    node = located.pairs(located.root)["cloud"][1]
    spec = CloudSpec(entry.name, entry.endpoint, entry.id, located.origin(node))  # type: ignore[attr-defined]
    for problem in cloud_problems(spec):
        builder.problems.append(Problem(spec.origin, problem))
    old = builder.state.cloud
    if old is not None and old != spec:
        builder.problems.append(
            Problem(spec.origin, f"cloud is defined twice (also at {old.origin})")
        )
    elif old is None:
        builder.state.cloud = spec


def _ignore(entries: list[BaseModel], located: Located, builder: _Builder) -> None:
    """The `ignore:` rules of one file (rules of all files add up); a path that does not fit
    its kind is a problem located at the path."""
    assert located.root is not None
    nodes = located.pairs(located.root)["ignore"][1].value
    rules = []
    for entry, node in zip(entries, nodes, strict=True):
        kind, path, reason = entry.kind, entry.path, entry.reason  # type: ignore[attr-defined]
        try:
            parts = ignore.parse_path(kind, path)
        except ValueError as exc:
            where = located.pairs(node).get("path", (node, node))[1]
            builder.problems.append(Problem(located.origin(where), f"path: {exc}"))
            continue
        rules.append(IgnoreRule(kind, parts, reason, located.origin(node)))
    builder.state.ignore += tuple(rules)


def cloud_problems(spec: CloudSpec) -> list[str]:
    """What is wrong with a `cloud:` entry on its own."""
    from urllib.parse import urlsplit

    out = []
    if spec.endpoint is None and spec.id is None:
        out.append("cloud needs 'endpoint' or 'id' (or both) to say which cloud it is")
    if spec.endpoint is not None:
        url = urlsplit(spec.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            out.append(f"cloud endpoint {spec.endpoint!r} is not an http(s) URL with a host")
        elif url.username or url.password:
            out.append("cloud endpoint must not carry a user name or password")
    return out


_children_of = cache(children_of)  # the kinds table does not change while loading


def _walk(
    kind_name: str | None,
    path: tuple[str, ...],
    model: BaseModel,
    node: Node,
    located: Located,
    builder: _Builder,
    zone: Mapping[str, Any],
) -> None:
    """The resources in one validated mapping (model) written at node."""
    pairs = located.pairs(node)
    for child in _children_of(kind_name):
        entries = getattr(model, child.container)
        if child.written_opt_in and entries is not None:
            builder.state.written |= {child.name}  # even as [] or false
        if child.style == "one" and entries is False:
            _walk_none(child, path, pairs[child.container], located, builder)
            continue
        if not entries:
            continue
        entries_node = pairs[child.container][1]
        if child.style == "map":
            _walk_map(child, path, entries, entries_node, located, builder)
            continue
        if child.style == "one":
            ident = child.container
            _walk_entry(child, path, entries, entries_node, located, builder, zone, 0, ident)
            continue
        # after the first one written on the entry itself (Kind.inline_first)
        base = int(kind_name is not None and bool(KINDS[kind_name].inline_first))
        for i, entry in enumerate(entries):
            item = entries_node.value[i]
            _walk_entry(child, path, entry, item, located, builder, zone, base + i)


def _walk_none(
    kind: Kind, path: tuple[str, ...], pair: tuple[Node, Node], located: Located, builder: _Builder
) -> None:
    """A single mapping written `false`: the one there is must go (an absent entry, deleted
    with --allow-delete like every absent one)."""
    key = Key(kind.name, (*path, kind.container))
    res = Resource(key, {}, located.origin(pair[1]), extra={ABSENT: True})
    builder.add(res, f"{noun(kind.name)} of '{'/'.join(path)}'")


def _walk_inline_first(
    kind: Kind, path: tuple[str, ...], entry: BaseModel, node: Node, located: Located
) -> Resource | None:
    """The first child written on the entry itself (Kind.inline_first: a shared network's
    start/end), with the child's defaults; None when the entry writes none of it."""
    child = _first_child_kind(kind)
    if child is None:
        return None
    written = {n: got for n in kind.inline_first if (got := getattr(entry, n)) is not None}
    if not written:
        return None
    pairs = located.pairs(node)
    ident = written.pop(child.key, None)
    if ident is None:
        where = located.origin(pairs[next(iter(written))][0])
        raise _Located(where, f"{', '.join(written)} without '{child.key}'")
    values = dict(written)
    for f in child.fields:
        if f.name not in values and f.default is not NO_DEFAULT:
            got = default_of(f, {**values, child.key: ident}, {})
            if got is not None:
                values[f.name] = got
    origins = {n: located.origin(pairs[n][1]) for n in kind.inline_first if n in pairs}
    origin = origins.pop(child.key)
    return Resource(Key(child.name, (*path, ident)), values, origin, origins, order=0)


class _Located(Exception):
    """A problem found while building one entry, at its origin."""

    def __init__(self, origin: Origin, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(origin, message)


def _walk_map(
    kind: Kind,
    path: tuple[str, ...],
    entries: Mapping[str, Any],
    node: Node,
    located: Located,
    builder: _Builder,
) -> None:
    (only,) = kind.fields
    pairs = located.pairs(node)
    for i, (name, value) in enumerate(entries.items()):
        knode, vnode = pairs[name]
        res = Resource(
            Key(kind.name, (*path, name)),
            {only.name: value},
            located.origin(knode),
            {only.name: located.origin(vnode)},
            order=i,
        )
        builder.add(res, f"{noun(kind.name)} '{name}'")


def _walk_entry(
    kind: Kind,
    path: tuple[str, ...],
    entry: BaseModel,
    node: Node,
    located: Located,
    builder: _Builder,
    zone: Mapping[str, Any],
    order: int,
    ident: Any = None,
) -> None:
    if kind.style != "one":
        ident = getattr(entry, kind.key)
    values = {f.name: got for f in kind.fields if (got := getattr(entry, f.name)) is not None}
    if ident is None and kind.key_default is not None:
        try:
            ident = kind.key_parse(kind.key_default(values))
        except ValueError as exc:
            builder.problems.append(Problem(located.origin(node), str(exc)))
            return
    if kind.style == "list" and getattr(entry, ABSENT):
        _walk_absent(kind, path, ident, values, node, located, builder, order)
        return
    zone_values = values if kind.parent is None else zone  # defaults may depend on the zone
    for f in kind.fields:
        if f.name not in values and f.default is not NO_DEFAULT:
            # a default may depend on the identity (a VLAN range's end is its start); none
            # (None) leaves the field unmanaged
            got = default_of(f, {**values, kind.key: ident}, zone_values)
            if got is not None:
                values[f.name] = got
    pairs = located.pairs(node)
    origins = {f.name: located.origin(pairs[f.name][1]) for f in kind.fields if f.name in pairs}
    extra: dict[str, Any] = {}
    if kind.name == "zone" and _opts_in(node, located):
        extra[MANAGES_INFRA] = True
    if extra or (kind.opt_in and not kind.in_zone):
        builder.state.infra = True
    writes = frozenset(
        c.container for c in _children_of(kind.name) if c.written_opt_in and c.container in pairs
    )
    if writes:
        extra[WRITES] = writes
    if any(f.owner and f.name in values for f in kind.fields):
        builder.state.owners = True
    try:
        first = _walk_inline_first(kind, (*path, ident), entry, node, located)
    except _Located as exc:
        builder.problems.append(exc.problem)
        return
    res = Resource(
        Key(kind.name, (*path, ident)),
        values,
        located.origin(node),
        origins,
        extra=extra,
        order=order,
    )
    if builder.add(res, f"{noun(kind.name)} '{'/'.join(res.key.path)}'"):
        if first is not None:
            builder.add(first, f"{_what(KINDS[first.key.kind])} '{'/'.join(first.key.path)}'")
        _walk(kind.name, res.key.path, entry, node, located, builder, zone_values)


# the keys of a zone, and of its pods, that opt it in, even as empty lists
INFRA_ZONE_KEYS = ("primary_storage", "secondary_storage", "staging_storage", "vmware_datacenters")
INFRA_POD_KEYS = ("clusters",)


def _opts_in(zone: Node, located: Located) -> bool:
    """Whether a zone entry manages compute and storage: it writes one of INFRA_ZONE_KEYS,
    or a pod of it writes `clusters`. Other zones' clusters, hosts and stores are neither
    drift nor unmanaged, so configs that do not model them see nothing new."""
    pairs = located.pairs(zone)
    if any(k in pairs for k in INFRA_ZONE_KEYS):
        return True
    pods = pairs.get("pods")
    if pods is None or not isinstance(pods[1], SequenceNode):
        return False
    return any(k in located.pairs(pod) for pod in pods[1].value for k in INFRA_POD_KEYS)


def _walk_absent(
    kind: Kind,
    path: tuple[str, ...],
    ident: Any,
    values: dict[str, Any],
    node: Node,
    located: Located,
    builder: _Builder,
    order: int,
) -> None:
    """An `absent: true` entry: the object to delete, as written (no defaults). Children
    would be both wanted and deleted with it: an error."""
    key = Key(kind.name, (*path, ident))
    pairs = located.pairs(node)
    nested = [c.container for c in _children_of(kind.name) if pairs.get(c.container)]
    where = f"{noun(kind.name)} '{'/'.join(key.path)}'"
    if nested:
        builder.problems.append(
            Problem(
                located.origin(pairs[ABSENT][0]),
                f"{where} is marked absent but has {', '.join(nested)} in the config: "
                "remove them, or remove 'absent: true'",
            )
        )
        return
    res = Resource(key, values, located.origin(node), extra={ABSENT: True}, order=order)
    builder.add(res, where)


def _guest_physical_networks(builder: _Builder) -> None:
    """A shared network that names no physical network is on the zone's only one with Guest
    traffic (NetworkModelImpl.findPhysicalNetworkId:1209-1226 takes that one); several, and
    validate asks for a name. cstool always sends the id, so the default is filled here."""
    state = builder.state
    filled: dict[Key, Resource] = {}
    for net in state.of_kind("shared_network"):
        if net.values.get("physical_network") is not None:
            continue
        zone = net.key.parent()
        guest = [
            pn.key.path[-1]
            for pn in state.children(zone, "physical_network")
            if Key("traffic_type", (*pn.key.path, "Guest")) in state
        ]
        if len(guest) == 1:
            filled[net.key] = replace(net, values={**net.values, "physical_network": guest[0]})
    if filled:  # in place: the state's order stays
        builder.state = state.like({k: filled.get(k, r) for k, r in state.items()})


def _derive(builder: _Builder) -> None:
    """Add the implicit resources (a Basic zone's guest network)."""
    _guest_physical_networks(builder)
    state = builder.state
    for kind in KINDS.values():
        if kind.derive is None:
            continue
        for parent in state.of_kind(kind.parent or ""):
            has_public = any(
                r.key.path[-1] == "Public" and r.key.path[0] == parent.key.path[0]
                for r in state.of_kind("traffic_type")
            )
            parent = replace(parent, extra={"has_public_traffic": has_public})

            def make(
                kind_name: str,
                path: tuple[str, ...],
                values: dict[str, Any],
                origin: Origin | None = parent.origin,
            ) -> Resource:
                return Resource(Key(kind_name, path), values, origin)

            for res in kind.derive(parent, make):
                state.add(res)
