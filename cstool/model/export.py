"""Live State -> config YAML, written as a person would; its plan against the same cloud is
empty. Driven by the kinds table (export_when and to_yaml hooks). Pure.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Collection
from typing import Any

import yaml

from cstool.model.kinds import NO_DEFAULT, Field, Kind, children_of
from cstool.model.resources import Resource, State
from cstool.model.values import HYPERVISORS, vlan_key

OWNER_KEYS = ("domain", "account", "project")  # a `dedicated:` mapping, on one line

# settings whose value is one installation's own (its identity, cloud/identity.py): copied
# into another cloud's config they would make that cloud claim to be this one
PER_CLOUD_SETTINGS = frozenset({"custom.cs.identifier"})


def to_config(live: State, zones: Collection[str] | None = None) -> dict[str, Any]:
    """The config of the live cloud (all zones, or those named)."""
    config: dict[str, Any] = {}
    for kind in children_of(None):
        items = [
            r
            for r in live.of_kind(kind.name)
            if _exported(kind, r, live)
            and not (kind.name == "setting" and r.key.path[-1] in PER_CLOUD_SETTINGS)
            and (zones is None or kind.name != "zone" or r.key.path[0] in zones)
        ]
        if items:
            config[kind.container] = _container(kind, items, live)
    return config


SETTINGS_FILE = "settings.yaml"
CLOUD_KEYS = ("cloud",)  # top-level entries other than zones, kept with the settings
# names Windows will not open as files, whatever the extension (a config repo is shared)
RESERVED = frozenset(
    ["con", "prn", "aux", "nul", "settings"]
    + [f"{p}{n}" for p in ("com", "lpt") for n in "123456789"]
)
MAX_STEM = 80


def split(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One document per zone (file name -> config) plus the settings. File names are
    derived from zone names (safe_names): plain, unique (ignoring case) file names, never
    a path, so writing them into a directory stays in it."""
    zones = config.get("zones", [])
    names = safe_names([str(z["name"]) for z in zones])
    files = {name: {"zones": [z]} for name, z in zip(names, zones, strict=True)}
    rest = {k: config[k] for k in (*CLOUD_KEYS, "settings") if config.get(k)}
    if rest:
        files[SETTINGS_FILE] = rest
    return files


def safe_names(zones: list[str]) -> list[str]:
    """A `.yaml` file name per zone name: characters other than letters, digits, `-`, `_`
    and inner `.` become `_` (so no `/`, `\\`, `..` or absolute path), reserved names (the
    settings file, Windows device names) and names that differ only in case get a numbered
    suffix, long names are cut (with a digest of the full name, to stay unique)."""
    taken: set[str] = set()
    out = []
    for zone in zones:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", zone).strip(".") or "zone"
        stem = re.sub(r"\.{2,}", "_", stem)
        if len(stem) > MAX_STEM:
            digest = hashlib.sha256(zone.encode()).hexdigest()[:8]
            stem = f"{stem[:MAX_STEM]}-{digest}"
        name, n = stem, 1
        while name.lower() in RESERVED or name.lower() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        out.append(f"{name}.yaml")
    return out


def _exported(kind: Kind, res: Resource, live: State) -> bool:
    return kind.export_when is None or bool(kind.export_when(res, live))


def _container(kind: Kind, items: list[Resource], live: State) -> Any:
    if kind.style == "map":
        (only,) = kind.fields
        return {
            r.key.path[-1]: plain_value(only, r.values[only.name]) for r in _sorted(kind, items)
        }
    if kind.style == "one":  # a single mapping, its identity the container's name
        (res,) = items
        return fields_of(kind, res)
    return [entry_of(kind, r, live) for r in _sorted(kind, items)]


def _sorted(kind: Kind, items: list[Resource]) -> list[Resource]:
    if kind.first_created_by_parent:  # the pod's own range first, as CloudStack lists it
        return sorted(items, key=lambda r: r.order)

    def key(r: Resource) -> Any:
        last = r.key.path[-1]
        if kind.key_parse is vlan_key:  # VLAN ids by number (900 before 1000)
            return (0, int(last), "")
        try:
            return (0, int(ipaddress.IPv4Address(last)), "")
        except ValueError:
            return (1, 0, last)

    return sorted(items, key=key)


def entry_of(kind: Kind, res: Resource, live: State) -> dict[str, Any]:
    entry: dict[str, Any] = {kind.key: res.key.path[-1], **fields_of(kind, res)}
    for child in children_of(kind.name):
        items = [r for r in live.children(res.key, child.name) if _exported(child, r, live)]
        if items:
            entry[child.container] = _container(child, items, live)
    return entry


def fields_of(kind: Kind, res: Resource) -> dict[str, Any]:
    """The fields of one resource as YAML writes them (defaults and empty values left out)."""
    entry: dict[str, Any] = {}
    for f in kind.fields:
        if f.write_only or f.secret:
            continue  # never returned: a live state has none, and no value is ever written
        value = res.values.get(f.name)
        if (
            value is None
            or value in ("", (), {})
            or (f.default is not NO_DEFAULT and not callable(f.default) and value == f.default)
            or (f.server_default is not NO_DEFAULT and value == f.server_default)
        ):
            continue
        entry[f.name] = plain_value(f, value)
    return entry


def plain_value(f: Field, value: Any) -> Any:
    if f.to_yaml is not None:
        return f.to_yaml(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


class _Dumper(yaml.SafeDumper):
    """Ranges and labels on one line each, as the examples write them."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = (
        "start" in data
        or bool(data)
        and (all(k in HYPERVISORS for k in data) or all(k in OWNER_KEYS for k in data))
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=bool(flow))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump(config: dict[str, Any], header: str = "") -> str:
    body = yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body
