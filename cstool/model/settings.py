"""The settings of CloudStack 4.22: scope, type, default and category of each, and the value
checks the management server makes, so that a config is checked before any API call.

The catalog is `cstool/data/settings-4.22.json` (970 settings extracted from the server's Java
source, apache/cloudstack@3d6cafe1936e: every `Config` enum entry and `new ConfigKey(...)`).
Pure: the only I/O is reading that packaged file once.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

VERSION = "4.22"

# ConfigKey.Scope names as the server spells them (ConfigKey.Scope enum)
SCOPE_NAMES = {
    "global": "Global",
    "zone": "Zone",
    "cluster": "Cluster",
    "storagepool": "StoragePool",
    "managementserver": "ManagementServer",
    "imagestore": "ImageStore",
    "domain": "Domain",
    "account": "Account",
}

# Hypervisor.HypervisorType: the names HypervisorType.getType knows (lower-cased), without
# None and Any, which validateRangeHypervisorList refuses. "custom" stands for the default of
# hypervisor.custom.display.name.
_HYPERVISORS = frozenset(
    (
        "xenserver kvm vmware hyperv virtualbox parallels baremetal simulator ovm ovm3 lxc "
        "custom external"
    ).split()
)
# ConfigurationManagerImpl.DOMAIN_NAME_PATTERN
_DOMAIN_NAME = re.compile(r"^((?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{1,63}$")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Float.parseFloat / Double.parseDouble (FloatingDecimal.readJavaFormatString): decimal or hex
_DECIMAL = re.compile(
    r"[+-]?(NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
)
_HEX = re.compile(
    r"([+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?"
)
_BITS = {"Integer": 32, "Long": 64, "Short": 16}
# UpdateCfgCmd.execute: "Restricted configuration update not allowed" (EnableDynamicApiChecker)
RESTRICTED = frozenset({"dynamic.apichecker.enabled"})
_KUBERNETES_PORT = "cloud.kubernetes.etcd.node.start.port"


@dataclass(frozen=True)
class Setting:
    """One setting as the server declares it."""

    name: str
    scopes: tuple[str, ...]  # lower-case ConfigKey.Scope names
    type: str  # the ConfigKey's Java type: what scoped values are parsed as (ConfigKey.valueOf)
    check_type: str  # the type updateConfiguration checks values against (Config.java first)
    default: str | None
    category: str
    description: str
    options: str | None = None  # a Config.java range: "true,false", "0-5", "hypervisorList", ...
    multiplier: int | float | None = None
    weight: bool = False  # listed with type Range: a Float of these must be within 0-1
    config_key: bool = True  # declared as a ConfigKey (not only in the Config enum)

    @property
    def hidden(self) -> bool:
        """Category Hidden: listConfigurations never returns it."""
        return self.category == "Hidden"

    @property
    def secure(self) -> bool:
        """Category Secure: listConfigurations returns it encrypted."""
        return self.category == "Secure"

    @property
    def comparable(self) -> bool:
        """Whether a value read from the cloud can be compared with a plain value."""
        return not (self.hidden or self.secure)

    @property
    def scope_names(self) -> str:
        return ", ".join(SCOPE_NAMES.get(s, s) for s in self.scopes) or "none"


class Catalog(Mapping[str, Setting]):
    """Every setting of the server by name."""

    def __init__(self, settings: Mapping[str, Setting]) -> None:
        self._settings = dict(settings)

    def __getitem__(self, name: str) -> Setting:
        return self._settings[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def suggest(self, name: str) -> str | None:
        """The closest known name, for "did you mean"."""
        close = difflib.get_close_matches(name, list(self._settings), n=1, cutoff=0.75)
        return close[0] if close else None


def _validation_type(raw: Mapping[str, Any]) -> str:
    """ConfigurationManagerImpl.getConfigurationTypeWrapperClass: the Config.java type first."""
    if raw.get("origin") == "Config.java":
        return str(raw["type"])
    for other in raw.get("also_declared_in") or ():
        if other.get("origin") == "Config.java":
            return str(other["type"])
    return str(raw["type"])


def _setting(name: str, raw: Mapping[str, Any]) -> Setting:
    return Setting(
        name=name,
        scopes=tuple(raw["scopes"]),
        type=str(raw["type"]),
        check_type=_validation_type(raw),
        default=raw.get("default"),
        category=str(raw["category"]),
        description=str(raw.get("description") or ""),
        options=raw.get("range"),
        multiplier=raw.get("multiplier"),
        weight=raw.get("api_type") == "Range",
        config_key=raw.get("origin") != "Config.java"
        or any(o.get("origin") != "Config.java" for o in raw.get("also_declared_in") or ()),
    )


@cache
def catalog() -> Catalog:
    """The packaged catalog, read once per process."""
    text = files("cstool").joinpath("data", f"settings-{VERSION}.json").read_text("utf-8")
    data = json.loads(text)
    return Catalog({name: _setting(name, raw) for name, raw in data["settings"].items()})


# --- the server's value checks -----------------------------------------------------------


def _java_integer(text: str, bits: int) -> int | None:
    """Integer.parseInt / Long.parseLong: optional sign, ASCII digits, no overflow."""
    if not _INTEGER.fullmatch(text) or len(text) > 24:  # longer is beyond any Long
        return None
    value = int(text)
    return value if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1) else None


def java_float(text: str, single: bool) -> float | None:
    """Float.parseFloat / Double.parseDouble; None when it fails or the result is infinite
    (validateValueType refuses infinity; a float out of float range is infinite)."""
    text = text.strip()  # FloatingDecimal trims whitespace itself
    hexadecimal = _HEX.fullmatch(text)
    if _DECIMAL.fullmatch(text):
        value = float(text.rstrip("fFdD"))
    elif hexadecimal:
        value = float.fromhex(hexadecimal.group(1))
    else:
        return None
    if single and not math.isnan(value):
        try:
            value = struct.unpack(">f", struct.pack(">f", value))[0]
        except OverflowError:
            return None
    return None if math.isinf(value) else value


def _type_ok(value: str, typ: str) -> bool:
    """ConfigurationManagerImpl.validateValueType (after updateConfiguration lower-cased a
    Boolean): String takes anything; Boolean "true"/"false"; whole numbers in range; finite
    floating point."""
    if typ in ("String", "Character"):
        return True
    if typ == "Boolean":
        return value in ("true", "false")
    if typ in _BITS:
        return _java_integer(value, _BITS[typ]) is not None
    if typ in ("Float", "Double"):
        return java_float(value, typ == "Float") is not None
    return False


def _range_problem(setting: Setting, value: str) -> str | None:
    """ConfigurationManagerImpl.validateValueRange: a Float weight within 0-1, the IP address
    checks, then a Config.java range: an integer min-max, or comma-separated options, each a
    value (compared ignoring case) or a named check."""
    if setting.check_type == "Float" and setting.weight:
        number = java_float(value, True)
        if number is not None and (number < 0 or number > 1):  # NaN passes, as in Java
            return f"{value} is not between 0 and 1"
    address = _address_problem(setting, value)
    if address or not setting.options:
        return address
    options = setting.options.split(",")
    if setting.check_type == "Integer":  # validateIfIntValueIsInRange
        low, _, high = options[0].partition("-")
        if not int(low) <= int(value) <= int(high):
            return f"{value} is outside {options[0]}"
        return None
    named = {o: _NAMED_CHECKS[o] for o in options if o in _NAMED_CHECKS}
    plain = [o.strip() for o in options if o not in named]
    if any(o.lower() == value.lower() for o in plain):  # validateRangeOther
        return None
    if any(check(value) for check, _ in named.values()):
        return None
    wanted = [f"one of: {', '.join(plain)}"] if plain else []
    wanted += [what for _, what in named.values()]
    return f"{value!r} is not {' nor '.join(wanted)}"


def _address_problem(setting: Setting, value: str) -> str | None:
    """validateIpAddressRelatedConfigValues: a String ConfigKey named *.ip or *.ipaddress
    takes an IPv4 address, *.iprange two joined by '-'."""
    name = setting.name
    if not name.endswith((".ip", ".ipaddress", ".iprange")) or not value:
        return None
    if not setting.config_key or setting.type != "String":
        return None
    ranged = name.endswith(".iprange")
    parts = value.split("-") if ranged else [value]
    if len(parts) == (2 if ranged else 1) and all(_ipv4(p) for p in parts):
        return None
    return f"{value!r} is not {'two IPv4 addresses joined by -' if ranged else 'an IPv4 address'}"


def _ipv4(text: str) -> bool:
    """NetUtils.isValidIp4 (InetAddressValidator): four decimal parts 0-255, no leading 0."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and p.isascii() and int(p) <= 255 and (p == "0" or not p.startswith("0"))
        for p in parts
    )


def _domain_name(value: str) -> bool:
    """validateRangeDomainName: "*." may lead; then a host name of labels."""
    name = value[2:] if value.startswith("*") else value
    return len(name) < 238 and bool(_DOMAIN_NAME.match(name))


def _hypervisor_list(value: str) -> bool:
    """validateRangeHypervisorList: every item a hypervisor type other than None and Any."""
    return all(h.lower() in _HYPERVISORS for h in value.split(","))


def _instance_name(value: str) -> bool:
    """validateRangeInstanceName (NetUtils.verifyInstanceName)."""
    return not any(c in value for c in "- +")


_NAMED_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "hypervisorList": (_hypervisor_list, "a list of valid hypervisor types"),
    "instanceName": (_instance_name, "a valid instance name (no hyphens, spaces or plus signs)"),
    "domainName": (_domain_name, "a valid domain name"),
}


def stored(setting: Setting, value: str) -> str:
    """What updateConfiguration keeps: the value trimmed ("" and "null" clear it), a Boolean
    lower-cased (ConfigurationManagerImpl.updateConfiguration)."""
    text = value.strip()
    if text in ("", "null"):
        return ""
    return text.lower() if setting.check_type == "Boolean" else text


def value_problem(setting: Setting, value: str, scoped: bool = False) -> str | None:
    """Why updateConfiguration would refuse value, or None (validateConfigurationValue).

    "" and "null" clear a global setting (stored as null): only a String setting takes that
    (validateValueType fails on null for the other types, and a Boolean's lower-casing throws).
    For a scope the empty value is checked like any other.
    """
    if setting.name in RESTRICTED:
        return "CloudStack refuses to change it through the API (UpdateCfgCmd)"
    if setting.name == _KUBERNETES_PORT and value == "2222":  # validateConflictingConfigValue
        return "port 2222 is reserved for Kubernetes cluster nodes"
    address = _address_problem(setting, value)  # checked on the value as sent, too
    if address:
        return address
    text = stored(setting, value)
    if not text and not scoped:
        if setting.check_type in ("String", "Character"):
            return None
        return f"an empty value is not a valid {setting.check_type}"
    if not _type_ok(text, setting.check_type):
        return f"{text!r} is not a valid {_TYPE_WORDS.get(setting.check_type, setting.check_type)}"
    return _range_problem(setting, text)


_TYPE_WORDS = {
    "Boolean": "Boolean (true or false)",
    "Integer": "Integer (a whole number from -2147483648 to 2147483647)",
    "Long": "Long (a whole number)",
    "Short": "Short (a whole number from -32768 to 32767)",
    "Float": "Float (a number)",
    "Double": "Double (a number)",
}


# --- how the server lists a value ----------------------------------------------------------


def _java_decimal(value: float, single: bool) -> str:
    """Double.toString / Float.toString: shortest digits, "1.0E7" outside [1e-3, 1e7)."""
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    digits = repr(value)
    if single:
        packed = struct.pack(">f", value)
        for precision in range(1, 10):
            digits = f"{value:.{precision}g}"
            if struct.pack(">f", float(digits)) == packed:
                break
    sign, numerals, exponent = Decimal(digits).normalize().as_tuple()
    text = "".join(map(str, numerals))
    point = len(text) + int(exponent)  # digits before the decimal point
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{text}"
        whole, frac = text[:point].ljust(point, "0"), text[point:]
        return f"{prefix}{whole}.{frac or '0'}"
    return f"{prefix}{text[0]}.{text[1:] or '0'}E{point - 1}"


def listed(setting: Setting, value: str, scoped: bool) -> str:
    """The value listConfigurations shows after updateConfiguration stored value.

    Globally the stored text is listed as it is. Listed for a scope (zoneid=...), the value
    goes through ConfigKey.valueOf and back to text (ManagementServerImpl
    .searchForConfigurations: key.valueInScope(scope, id).toString()): "2" of a Double is
    listed as "2.0", "007" of an Integer as "7".
    """
    text = stored(setting, value)
    if not scoped or not text or value_problem(setting, value, scoped) is not None:
        return text
    factor = setting.multiplier or 1
    if setting.type in ("Integer", "Long", "Short"):
        return str(int(text) * int(factor))
    if setting.type in ("Float", "Double"):
        single = setting.type == "Float"
        number = java_float(text, single)
        return text if number is None else _java_decimal(number * factor, single)
    return text


# --- export: which live values a config should carry ----------------------------------------


def export_global(name: str, value: str) -> bool:
    """Whether export writes a global setting: one the catalog knows (else the config would not
    validate), comparable (not Hidden or Secure), valid, and not its declared default."""
    setting = catalog().get(name)
    if setting is None or not setting.comparable or value_problem(setting, value) is not None:
        return False
    return stored(setting, value) != stored(setting, setting.default or "")


def export_zone(name: str, value: str, global_value: str | None) -> bool:
    """Whether export writes a zone setting: a comparable Zone-scoped one whose listed value is
    not what the zone shows without a value of its own (the global value through
    ConfigKey.valueOf, e.g. "100" of a Double is listed as "100.0")."""
    setting = catalog().get(name)
    if setting is None or not setting.comparable or "zone" not in setting.scopes:
        return False
    if value_problem(setting, value, scoped=True) is not None:
        return False
    fallback = setting.default if global_value is None else global_value
    return value != listed(setting, fallback or "", scoped=True)
