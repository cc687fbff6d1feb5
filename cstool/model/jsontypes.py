"""JSON Schema fragments for the value types of values.py, used by the kinds table.

`cstool schema` is read by editors (yaml-language-server) on files a YAML parser has already
typed: `enabled: true` arrives as a boolean, `vlan: 100` as a number, `10.0.0.1` as a string.
The loader instead hands the text as written to the field's parser. Each fragment here says
in JSON Schema what that parser accepts, so that an editor shows red exactly where
`cstool validate` reports a value problem:

- enums are case-insensitive like values.one_of: the canonical spellings stay in an `enum`
  (editors complete them) beside a `pattern` that spells each letter as a class
  (`[Aa][Dd]...`: ECMA-262 regexes, used by editors, have no inline `(?i)`);
- booleans are those of values.boolean (true, yes, on, 1, enabled, ... in any case);
- IPv4 addresses, netmasks, CIDRs and VLAN ids carry a `format` where JSON Schema has one
  and a `pattern` in every case (formats are only annotations unless a validator opts in).

Where a rule needs more than one value (a CIDR's host bits, `start <= end`, a VLAN range
within the isolation method's bounds) it stays in validate.py. Pure data: imports values only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from cstool.model import values as v

Schema = dict[str, Any]

SCALAR_TYPES = ["string", "number", "boolean"]  # what the loader reads as text
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros (ipaddress)
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_PREFIX = r"(?:3[0-2]|[12]?[0-9])"
_DIGITS = r"[0-9]+"
# 1-4094: values.vlan reads any digits, validate.vlan_ids bounds every range's VLAN so
_VLAN_ID = r"(?:409[0-4]|40[0-8][0-9]|[1-3][0-9]{3}|[1-9][0-9]{0,2})"
_VLAN_SPAN = rf"\s*{_DIGITS}\s*(?:-\s*{_DIGITS}\s*)?"  # values.vlan_ranges: 500 or 500-899
_SPECIAL = set("\\^$.|?*+()[]{}")


def _literal(word: str) -> str:
    """A regex matching `word` in any case, valid in both Python and ECMA-262."""
    out = []
    for char in word:
        if char.isalpha():
            out.append(f"[{char.upper()}{char.lower()}]")
        else:
            out.append(f"\\{char}" if char in _SPECIAL else char)
    return "".join(out)


def _any_case(words: Iterable[str]) -> str:
    return "|".join(_literal(w) for w in words)


def enum(choices: Iterable[str]) -> Schema:
    """values.one_of: one of `choices`, in any case."""
    names = list(choices)
    return {
        "anyOf": [
            {"enum": names},
            {"type": "string", "pattern": rf"^\s*(?:{_any_case(names)})\s*$"},
        ]
    }


# values.text: any scalar that is not blank (the loader keeps the text as written)
TEXT: Schema = {"type": SCALAR_TYPES, "pattern": r"\S"}

# values.boolean; its word lists are the parser's own
_WORDS = sorted(v._TRUE | v._FALSE)
BOOL: Schema = {
    "anyOf": [
        {"type": "boolean"},
        {"enum": [0, 1]},
        {"type": "string", "pattern": rf"^\s*(?:{_any_case(_WORDS)})\s*$"},
    ]
}

# values.boolean's false words only: a single mapping written `false` (none, to release)
FALSE: Schema = {
    "anyOf": [
        {"const": False},
        {"enum": [0]},
        {"type": "string", "pattern": rf"^\s*(?:{_any_case(sorted(v._FALSE))})\s*$"},
    ]
}

# no surrounding blanks, so that `format` and `pattern` agree
IPV4: Schema = {"type": "string", "format": "ipv4", "pattern": rf"^{_IPV4}$"}

# values.netmask: contiguous ones between PREFIX_BOUNDS, dotted or as a prefix length
_LOW, _HIGH = v.PREFIX_BOUNDS
NETMASK: Schema = {
    "anyOf": [
        {"type": "integer", "minimum": _LOW, "maximum": _HIGH},
        {
            "type": "string",
            "enum": [
                str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask) for n in range(_LOW, _HIGH + 1)
            ],
        },
        {"type": "string", "pattern": r"^\s*/?(?:30|[12][0-9]|[89])\s*$"},
    ]
}

# values.cidr: an address with an optional prefix length or netmask (host bits: validate)
CIDR: Schema = {"type": "string", "pattern": rf"^\s*{_IPV4}(?:/(?:{_PREFIX}|{_IPV4}))?\s*$"}

# a range's VLAN (values.vlan): 1-4094, `untagged`, or CloudStack's vlan://100 URI; an
# empty text or URI is untagged too
VLAN: Schema = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": v.VLAN_MAX},
        {
            "type": "string",
            "pattern": rf"^\s*(?:{_literal('vlan://')})?(?:{_VLAN_ID}|{_literal(v.UNTAGGED)})?\s*$",
        },
    ]
}

# values.vlan_ranges: "500-899,1000-1099", a list of such spans, or one id; the bounds
# depend on the isolation method, so validate.vlan_ids checks them
VLAN_RANGES: Schema = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": rf"^(?:{_VLAN_SPAN})?(?:,(?:{_VLAN_SPAN})?)*$"},
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "anyOf": [
                    {"type": "integer", "minimum": 0},
                    {"type": "string", "pattern": rf"^(?:{_VLAN_SPAN})?$"},
                ]
            },
        },
    ]
}

# values.ipv6 and values.ipv6_cidr: hex groups and colons (ipaddress checks the rest: `::`
# once, eight groups at most); a pattern short of the full grammar, with the format
_IPV6 = r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*"
IPV6: Schema = {"type": "string", "format": "ipv6", "pattern": rf"^\s*{_IPV6}\s*$"}
IPV6_CIDR: Schema = {
    "type": "string",
    "pattern": rf"^\s*{_IPV6}/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])\s*$",
}

# values.vlan_id: one VLAN id as a number (its bounds depend on the isolation method)
VLAN_ID: Schema = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": rf"^\s*{_DIGITS}\s*$"},
    ]
}

# values.domain_path: ROOT, then names one `/` apart (ROOT/customers/acme)
DOMAIN_PATH: Schema = {
    "type": "string",
    "pattern": r"^\s*ROOT(?:/[^/\s](?:[^/]*[^/\s])?)*/?\s*$",
    "examples": ["ROOT", "ROOT/customers/acme"],
}

# values.tag and values.isolation: one name, so no comma
ONE_NAME: Schema = {"type": SCALAR_TYPES, "pattern": r"^[^,]*[^,\s][^,]*$"}
ISOLATION: Schema = dict(ONE_NAME, examples=["VLAN", "VXLAN", "GRE", "STT", "L3"])


def some(item: Schema, max_items: int, min_items: int = 0) -> Schema:
    """values.str_list: one value, or a list of min_items to max_items values."""
    return {
        "anyOf": [
            item,
            {"type": "array", "items": item, "minItems": min_items, "maxItems": max_items},
        ]
    }


# values.labels: hypervisor (any case) -> one label; empty or null means no label
LABELS: Schema = {
    "type": "object",
    "propertyNames": {"pattern": rf"^(?:{_any_case(v.HYPERVISORS)})$"},
    "properties": {
        hv: {"type": [*SCALAR_TYPES, "null"], "description": f"network label on {hv} hosts"}
        for hv in v.HYPERVISORS
    },
    "additionalProperties": {"type": [*SCALAR_TYPES, "null"]},
}

# values.setting_value: settings are compared as strings; catalog checks are validate's
SETTING: Schema = {"type": SCALAR_TYPES}

_BY_PARSER: dict[Callable[[Any], Any], Schema] = {
    v.ipv4: IPV4,
    v.text: TEXT,
    v.ipv6_prefix: IPV6_CIDR,
    v.vlan_key: VLAN_ID,
}


def of_key(parse: Callable[[Any], Any]) -> Schema:
    """The fragment for a kind's identity field, from its parser (name, start, type)."""
    choices = getattr(parse, "choices", None)
    if choices is not None:
        return enum(choices)
    return _BY_PARSER.get(parse, TEXT)


# model/secrets.parse: a reference to where the value is read at apply time, never a value
SECRET: Schema = {
    "type": "object",
    "description": "a reference, never the value: {env: NAME} or {file: /path}",
    "properties": {
        "env": {
            "type": "string",
            "pattern": r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$",
            "description": "the environment variable that holds the value at apply time",
        },
        "file": {
            "type": "string",
            "pattern": r"\S",
            "description": "the file that holds the value (one trailing newline is dropped)",
        },
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}
# values.url: a URL with a scheme
URL: Schema = {"type": "string", "pattern": r"^\s*[A-Za-z][A-Za-z0-9+.-]*://"}
STATE: Schema = enum(v.HOST_STATES)
# a count of bytes or IOPS (values.count)
COUNT: Schema = {
    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]
}
# details: name -> a plain value, or a reference for a credential
DETAILS: Schema = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": SCALAR_TYPES}, SECRET]},
}
TAGS: Schema = some(ONE_NAME, 100)
