"""`cstool schema` checked with a real JSON Schema validator (jsonschema, draft 2020-12).

Editors read config files through a YAML parser and validate the typed result against the
schema; `cstool validate` hands the text as written to each field's parser. The two must
agree at the schema level: every example config passes, every invalid case whose problem is
a value or a key is caught at that key, every case whose problem is a network rule passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from cstool.model import jsontypes as jt
from cstool.model import loader
from cstool.model import values as v
from cstool.model.loader import json_schema
from tests.conftest import CONFIGS, DATA

VALID = DATA / "configs" / "valid"
INVALID = DATA / "configs" / "invalid"

# invalid cases the schema catches -> the paths of the values or entries it flags
CAUGHT: dict[str, set[tuple[Any, ...]]] = {
    # a secret field takes only {env: NAME} or {file: PATH}; secrets inside details and URLs
    # are the network rules' (a details value or URL is text to the schema)
    "infra-secrets": {
        ("zones", 0, "pods", 0, "clusters", 0, "hosts", 0, "password"),
        ("zones", 0, "pods", 0, "clusters", 0, "hosts", 1, "password", "env"),
    },
    "bad-enum": {("zones", 0, "network_type")},
    "bad-ip": {("zones", 0, "pods", 0, "management_ranges", 0, "start")},
    "bad-netmask": {("zones", 0, "pods", 0, "netmask")},
    "bad-vlan-range-syntax": {("zones", 0, "physical_networks", 0, "vlan_ranges", 0)},
    "isolation-tag-netmask": {
        ("zones", 0, "physical_networks", 0, "isolation"),
        ("zones", 0, "physical_networks", 0, "tags", 0),
        ("zones", 0, "pods", 0, "netmask"),
    },
    "missing-key": {("zones", 0)},  # 'internal_dns' is a required property
    "not-a-mapping": {()},
    "unknown-key": {("zones", 0, "pods", 0)},  # additional property 'gatway'
    "vlan-id-out-of-range": {("zones", 0, "public_ranges", 0, "vlan")},
    "wrong-type": {("zones", 0)},  # 'extra_pods' ('pods' itself is reported under it)
    "net-dedication-domain-path": {("zones", 0, "dedicated", "domain")},
    "net-shared-network-vlan-missing": {("zones", 0, "guest_networks", 0)},  # 'vlan' required
    "net-shared-network-vlan-bounds": {("zones", 0, "guest_networks", 0, "vlan")},
}
# not a value problem a schema can see
NOT_SCHEMA = {
    "yaml-syntax": "not YAML",
    "duplicate-key": "a YAML parser keeps one of the two keys",
}


def _validator() -> Any:
    cls = jsonschema.Draft202012Validator
    schema = json_schema()
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


VALIDATOR = _validator()


def _leaves(errors: Any) -> Iterator[Any]:
    """The innermost errors (anyOf branches included): where the problem actually is."""
    for err in errors:
        if err.context:
            yield from _leaves(err.context)
        else:
            yield err


def _flagged(data: Any) -> set[tuple[Any, ...]]:
    return {tuple(e.absolute_path) for e in _leaves(VALIDATOR.iter_errors(data))}


def _yaml_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.yaml"))


@pytest.mark.parametrize(
    "path", _yaml_files(CONFIGS, VALID), ids=lambda p: str(p.relative_to(p.parents[1]))
)
def test_every_example_config_validates(path: Path) -> None:
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text())))
    assert [e.message for e in errors] == []


def test_the_examples_are_found() -> None:
    assert len(_yaml_files(CONFIGS)) >= 5 and len(_yaml_files(VALID)) >= 4


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_invalid_values_and_keys_are_caught_where_they_are(name: str) -> None:
    flagged = _flagged(yaml.safe_load((INVALID / f"{name}.yaml").read_text()))
    assert CAUGHT[name] <= flagged


def _rule_cases() -> list[Path]:
    names = set(CAUGHT) | set(NOT_SCHEMA)
    return [p for p in _yaml_files(INVALID) if p.stem not in names]


@pytest.mark.parametrize("path", _rule_cases(), ids=lambda p: p.stem)
def test_network_rule_cases_pass_the_schema(path: Path) -> None:
    """What only the network rules refuse (overlaps, missing traffic, settings the catalog
    refuses) is well-formed: an editor showing red there would be wrong."""
    assert _flagged(yaml.safe_load(path.read_text())) == set()


def test_every_invalid_case_is_classified() -> None:
    stems = {p.stem for p in INVALID.glob("*.yaml")}
    assert set(CAUGHT) | set(NOT_SCHEMA) <= stems


# --- each fragment accepts what its parser accepts -------------------------------------------


def _as_loaded(value: Any) -> Any:
    """The value as the loader hands it to a parser: the text as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_as_loaded(x) for x in value]
    if isinstance(value, dict):
        return {k: _as_loaded(x) for k, x in value.items()}
    return value if value is None else str(value)


def _parser_accepts(parse: Callable[[Any], Any], schema: dict[str, Any], value: Any) -> bool:
    check = loader._checked(parse, loader._single(schema))
    try:
        check(_as_loaded(value))
    except ValueError:  # pydantic's custom errors are ValueErrors
        return False
    return True


def _schema_accepts(schema: dict[str, Any], value: Any) -> bool:
    cls = jsonschema.Draft202012Validator
    return bool(cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(value))


def _range_vlan(value: Any) -> Any:
    """values.vlan plus the bound validate.vlan_ids puts on every range's VLAN."""
    tag = v.vlan(value)
    if isinstance(tag, int) and not 1 <= tag <= v.VLAN_MAX:
        raise ValueError("outside 1-4094")
    return tag


SAMPLES: list[tuple[str, Callable[[Any], Any], dict[str, Any], list[Any]]] = [
    (
        "boolean",
        v.boolean,
        jt.BOOL,
        [True, False, "yes", "No", "ENABLED", "disabled", 1, 0, 2, "maybe", "t", None, [True]],
    ),
    (
        "ipv4",
        v.ipv4,
        jt.IPV4,
        ["10.0.0.1", "255.255.255.255", "10.0.1.300", "010.0.0.1", "1.2.3", "a.b.c.d", 10, None],
    ),
    (
        "netmask",
        v.netmask,
        jt.NETMASK,
        ["255.255.255.0", "255.0.0.0", "255.255.255.252", "255.255.255.254", "255.0.255.0"]
        + [24, 8, 30, 7, 31, 0, "24", "/24", "/31", "0", "x", True],
    ),
    (
        "cidr",
        v.cidr,
        jt.CIDR,
        ["10.0.0.0/16", "10.0.0.0", "10.0.0.0/255.255.0.0", "10.0.0.0/33", "10.0.0/8", 10],
    ),
    (
        "range vlan",
        _range_vlan,
        jt.VLAN,
        [100, 1, 4094, "100", "untagged", "UNTAGGED", "vlan://100", "VLAN://untagged"]
        + [0, 4095, 5000, "0", "abc", "vlan://", "", "vlan://x", True, -1, [100]],
    ),
    (
        "vlan ranges",
        v.vlan_ranges,
        jt.VLAN_RANGES,
        ["100-200", "100-200,300-400", " 100 - 200 ", 500, ["100-200", 300], ["500"]]
        + [["100-abc"], "a", [], "100-", ["100-200,300-400"], {"a": 1}],
    ),
    (
        "network type",
        v.one_of(("Advanced", "Basic")),
        jt.enum(("Advanced", "Basic")),
        ["Advanced", "advanced", "BASIC", "bAsIc", "Hybrid", "", "Advanced2", 1],
    ),
    ("text", v.text, jt.TEXT, ["pod1", "010", 10, 1.5, True, "", "  ", None, ["a"], {"a": 1}]),
    ("tag", v.tag, jt.ONE_NAME, ["ssd", "a b", "a,b", ",", "", 10]),
    (
        "dns",
        v.str_list(2, v.ipv4, min_items=1),
        jt.some(jt.IPV4, 2, min_items=1),
        ["8.8.8.8", ["8.8.8.8"], ["8.8.8.8", "8.8.4.4"], [], ["8.8.8.8"] * 3, ["8.8.8.300"]],
    ),
    (
        "labels",
        v.labels,
        jt.LABELS,
        [{"kvm": "cloudbr0"}, {"KVM": "cloudbr0", "vmware": None}, {"xen": 7}, {}]
        + [{"esx": "a"}, {"kvm": ["a"]}, {"kvm": {"a": 1}}, "cloudbr0"],
    ),
    ("setting", v.setting_value, jt.SETTING, ["true", True, 0, 1.5, "", None, ["a"], {"a": 1}]),
]


@pytest.mark.parametrize(
    ("what", "parse", "schema", "samples"),
    SAMPLES,
    ids=[s[0] for s in SAMPLES],
)
def test_each_fragment_accepts_exactly_what_its_parser_accepts(
    what: str, parse: Callable[[Any], Any], schema: dict[str, Any], samples: list[Any]
) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    disagree = [
        (value, _parser_accepts(parse, schema, value))
        for value in samples
        if _parser_accepts(parse, schema, value) != _schema_accepts(schema, value)
    ]
    assert disagree == []  # (value, what the parser says)
    assert any(_schema_accepts(schema, s) for s in samples)
    assert not all(_schema_accepts(schema, s) for s in samples)


def test_case_insensitive_patterns_also_hold_in_ecma_regexes() -> None:
    """Editors run patterns as ECMA-262 regexes: no inline flags, no Python-only syntax."""
    text = repr(json_schema())
    assert "(?i" not in text and "(?P" not in text and r"\A" not in text and r"\Z" not in text


# --- keys, descriptions, extension keys -------------------------------------------------------


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    stack: list[tuple[str, Any]] = [("", schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                yield f"{where}.{name}", sub
            stack.extend((f"{where}.{k}", x) for k, x in node.items())
        elif isinstance(node, list):
            stack.extend((where, x) for x in node)


def test_every_key_has_a_description() -> None:
    found = list(_properties(json_schema()))
    undocumented = sorted(
        where
        for where, sub in found
        if not str(sub.get("description", "")).strip() and "properties." in where
    )
    assert len(found) > 40
    assert undocumented == []


def test_identity_keys_are_typed_like_their_parser() -> None:
    defs = json_schema()["$defs"]
    assert defs["PublicRange"]["properties"]["start"]["format"] == "ipv4"
    assert "anyOf" in defs["TrafficType"]["properties"]["type"]  # Management in any case
    assert "its identity" in defs["Zone"]["properties"]["name"]["description"]


ZONE_DOC = {
    "zones": [
        {
            "name": "z1",
            "network_type": "advanced",
            "dns": "8.8.8.8",
            "internal_dns": ["10.0.0.2"],
            "settings": {"use.external.dns": True, "network.throttling.rate": 200},
            "physical_networks": [
                {
                    "name": "pn1",
                    "isolation": "vlan",
                    "vlan_ranges": "100-199, 300",
                    "broadcast_domain_range": "zone",
                    "traffic": [
                        {"type": "management", "labels": {"KVM": "cloudbr0"}},
                        {"type": "GUEST"},
                        {"type": "Public"},
                    ],
                    "providers": {"VirtualRouter": "enabled", "InternalLbVm": False},
                    "enabled": "yes",
                }
            ],
            "public_ranges": [
                {"start": "203.0.113.10", "gateway": "203.0.113.1", "netmask": 24, "vlan": "100"}
            ],
        }
    ],
    "settings": {"check.pod.cidrs": True, "expunge.delay": 60},
}


def test_natural_spellings_validate_in_both() -> None:
    """Booleans and numbers for settings, enums in any case, netmask as a prefix length."""
    assert _flagged(ZONE_DOC) == set()
    text = yaml.safe_dump(ZONE_DOC)
    assert [p.message for p in loader.load_text(text, "t.yaml")[1]] == []


def test_top_level_x_keys_hold_templates_and_other_keys_are_refused() -> None:
    doc = {"x-range": {"gateway": "203.0.113.1"}, "zones": []}
    assert _flagged(doc) == set()
    assert _flagged({"y-range": {}, "zones": []}) == {()}
    assert re.fullmatch(r"\^x-", next(iter(json_schema()["patternProperties"])))
