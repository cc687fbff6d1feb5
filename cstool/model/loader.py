"""YAML files -> State, every resource and field stamped with its Origin.

Reads files (the only I/O of the core) but never talks to a cloud. The config schema is a
set of pydantic models generated from the kinds table, so `cstool schema` and the loader
cannot disagree.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from cstool.errors import ConfigNotFound, Origin, Problem
from cstool.model.kinds import KINDS, NO_DEFAULT, Kind, children_of, default_of
from cstool.model.resources import Key, Resource, State

YAML_SUFFIXES = (".yaml", ".yml")
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml keeps marks too
Path_ = tuple[Any, ...]


@dataclass
class Located:
    """A YAML document as plain data plus the position of every node and mapping key."""

    data: Any
    values: dict[Path_, Origin] = field(default_factory=dict)
    keys: dict[Path_, Origin] = field(default_factory=dict)

    def at(self, path: Path_, key: bool = False) -> Origin | None:
        """The position of path (its key, if asked), else of the nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path)


# --- YAML with positions -----------------------------------------------------------------


def parse_yaml(text: str, file: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML document keeping positions; duplicate keys are problems, not overwrites."""

    def mark(m: Any) -> Origin:
        return Origin(file, m.line + 1, m.column + 1)

    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        return None, [
            Problem(
                mark(where) if where else Origin(file, 1, 1),
                f"YAML syntax error: {exc.problem or exc.context}",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(Origin(file, 1, 1), f"YAML error: {exc}")]
    if node is None:
        return None, []
    located = Located(None)
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")

    def build(n: yaml.Node, path: Path_) -> Any:
        located.values[path] = mark(n.start_mark)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in n.value:
                k = constructor.construct_object(knode, deep=True)
                if isinstance(k, list | dict):
                    problems.append(Problem(mark(knode.start_mark), "a key must be a plain value"))
                    continue
                if k in out:
                    first = located.keys[(*path, k)]
                    problems.append(
                        Problem(
                            mark(knode.start_mark),
                            f"duplicate key '{k}' (first at line {first.line})",
                        )
                    )
                    continue
                located.keys[(*path, k)] = mark(knode.start_mark)
                out[k] = build(vnode, (*path, k))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.YAMLError as exc:
            problems.append(Problem(mark(n.start_mark), f"bad value: {exc}"))
            return None

    located.data = build(node, ())
    return located, problems


# --- schema generated from the kinds table -----------------------------------------------


def _checked(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("no_value", "has no value")
        try:
            return parse(value)
        except ValueError as exc:
            raise PydanticCustomError("bad_value", str(exc)) from None

    return check


def _typed(parse: Callable[[Any], Any], json_type: Mapping[str, Any], doc: str) -> Any:
    schema = dict(json_type, **({"description": doc} if doc else {}))
    return Annotated[Any, BeforeValidator(_checked(parse)), WithJsonSchema(schema)]


@cache
def model_for(kind_name: str | None) -> type[BaseModel]:
    """The pydantic model of one YAML mapping: a kind's entry, or the whole file (None)."""
    fields: dict[str, Any] = {}
    kind = KINDS[kind_name] if kind_name else None
    if kind is not None and kind.style == "list":
        fields[kind.key] = (_typed(kind.key_parse, {"type": "string"}, ""), ...)
        for f in kind.fields:
            fields[f.name] = (_typed(f.parse, f.json_type, f.doc), ... if f.required else None)
    for child in children_of(kind_name):
        if child.style == "map":
            (only,) = child.fields
            value = _typed(only.parse, only.json_type, "")
            fields[child.container] = (dict[str, value] | None, None)  # type: ignore[valid-type]
        else:
            fields[child.container] = (list[model_for(child.name)] | None, None)  # type: ignore[misc]
    name = "".join(p.title() for p in (kind_name or "config").split("_"))
    config = ConfigDict(extra="forbid", title=name)
    return create_model(name, __config__=config, **fields)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors (yaml-language-server)."""
    schema = model_for(None).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cstool configuration"
    return schema


def _message(err: Mapping[str, Any], located: Located) -> tuple[Origin | None, str]:
    loc = tuple(err["loc"])
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
    """The YAML files named or found (recursively, sorted) under the given paths."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                problems.append(Problem(None, f"{path}: no .yaml or .yml files in this directory"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigNotFound(f"{path}: no such file or directory")
    return files, problems


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
    for file in files:
        _load_file(file, builder)
    _derive(builder)
    return builder.state, builder.problems


def load_text(text: str, name: str) -> tuple[State, list[Problem]]:
    """One config document given as text; problems cite `name`."""
    builder = _Builder()
    _load_text(text, name, builder)
    _derive(builder)
    return builder.state, builder.problems


def _load_file(file: Path, builder: _Builder) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        builder.problems.append(Problem(Origin(str(file), 1, 1), f"cannot read: {exc}"))
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
    try:
        model = model_for(None).model_validate(located.data)
    except ValidationError as exc:
        for err in exc.errors():
            origin, message = _message(err, located)
            builder.problems.append(Problem(origin, message))
        return
    data = model.model_dump(exclude_unset=True)
    _walk(None, (), data, (), located, builder, {})


def _walk(
    kind_name: str | None,
    path: tuple[str, ...],
    data: Mapping[str, Any],
    loc: Path_,
    located: Located,
    builder: _Builder,
    zone: Mapping[str, Any],
) -> None:
    for child in children_of(kind_name):
        entries = data.get(child.container)
        if not entries:
            continue
        cloc = (*loc, child.container)
        if child.style == "map":
            (only,) = child.fields
            for i, (name, value) in enumerate(entries.items()):
                origin = located.at((*cloc, name), key=True)
                res = Resource(
                    Key(child.name, (*path, name)),
                    {only.name: value},
                    origin,
                    {only.name: o} if (o := located.at((*cloc, name))) else {},
                    order=i,
                )
                builder.add(res, f"{child.name.replace('_', ' ')} '{name}'")
            continue
        for i, entry in enumerate(entries):
            _walk_entry(child, path, entry, (*cloc, i), located, builder, zone, i)


def _walk_entry(
    kind: Kind,
    path: tuple[str, ...],
    entry: Mapping[str, Any],
    loc: Path_,
    located: Located,
    builder: _Builder,
    zone: Mapping[str, Any],
    order: int,
) -> None:
    ident = entry[kind.key]
    values = {f.name: entry[f.name] for f in kind.fields if entry.get(f.name) is not None}
    zone_values = values if kind.parent is None else zone  # defaults may depend on the zone
    for f in kind.fields:
        if f.name not in values and f.default is not NO_DEFAULT:
            values[f.name] = default_of(f, values, zone_values)
    origins = {f.name: o for f in kind.fields if (o := located.at((*loc, f.name))) is not None}
    res = Resource(Key(kind.name, (*path, ident)), values, located.at(loc), origins, order=order)
    if builder.add(res, f"{kind.name.replace('_', ' ')} '{'/'.join(res.key.path)}'"):
        _walk(kind.name, res.key.path, entry, loc, located, builder, zone_values)


def _derive(builder: _Builder) -> None:
    """Add the implicit resources (a Basic zone's guest network)."""
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
