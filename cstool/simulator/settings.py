"""What a fresh CloudStack has before anyone touches it: its settings and default offerings.

Every setting of the 4.22 server is declared here from the packaged data file
`cstool/data/settings-4.22.json` (extracted from the server's Java source, 970 settings). The
store keeps only values someone changed (table `globalconfig` for global values, `zoneconfig`
for zone values); the declared default is the value of everything else, so neither memory nor
the state file grows with the catalog.

Never imports cstool.model or cstool.cloud: the data file is read directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from cstool.simulator.store import Store

DATA_FILE = "settings-4.22.json"

# ConfigKey.Scope: the scope name of each scope parameter of the configuration commands
SCOPE_PARAMS = {
    "zoneid": "zone",
    "clusterid": "cluster",
    "accountid": "account",
    "domainid": "domain",
    "storageid": "storagepool",
    "imagestoreuuid": "imagestore",
}
# UpdateCfgCmd.execute refuses this one (RoleService.EnableDynamicApiChecker)
RESTRICTED = frozenset({"dynamic.apichecker.enabled"})


@dataclass(frozen=True)
class Declared:
    """One setting as the server declares it (a Config enum entry or a ConfigKey)."""

    name: str
    scopes: tuple[str, ...]  # lower-case ConfigKey.Scope names
    type: str  # the ConfigKey's type: what ConfigKey.valueOf parses a scoped value as
    check_type: str  # what updateConfiguration checks values against (Config.java type first)
    api_type: str  # `type` in listConfigurations (getConfigurationType)
    default: str | None
    category: str
    description: str
    dynamic: bool
    config_key: bool  # declared as a ConfigKey (ConfigDepot knows it)
    component: str | None = None
    parent: str | None = None
    displaytext: str | None = None
    options: str | None = None  # ConfigKey options of Select/CSV kinds, as the API shows them
    range: str | None = None  # a Config.java range: "true,false", "0-5", "hypervisorList", ...
    multiplier: int | float | None = None

    @property
    def hidden(self) -> bool:
        return self.category == "Hidden"

    @property
    def encrypted(self) -> bool:
        """ConfigurationVO.isEncrypted: category Hidden or Secure."""
        return self.category in ("Hidden", "Secure")


def _check_type(raw: dict[str, Any]) -> str:
    """ConfigurationManagerImpl.getConfigurationTypeWrapperClass: Config.getConfig(name) first."""
    if raw["origin"] == "Config.java":
        return str(raw["type"])
    for other in raw.get("also_declared_in") or ():
        if other.get("origin") == "Config.java":
            return str(other["type"])
    return str(raw["type"])


def _declared(name: str, raw: dict[str, Any]) -> Declared:
    options = raw.get("options")
    return Declared(
        name=name,
        scopes=tuple(raw["scopes"]),
        type=str(raw["type"]),
        check_type=_check_type(raw),
        api_type=str(raw["api_type"]),
        default=raw.get("default"),
        category=str(raw["category"]),
        description=str(raw.get("description") or ""),
        dynamic=bool(raw.get("dynamic")),
        config_key=raw["origin"] != "Config.java"
        or any(o.get("origin") != "Config.java" for o in raw.get("also_declared_in") or ()),
        component=raw.get("component"),
        parent=raw.get("parent"),
        displaytext=raw.get("display_text"),
        options=",".join(options) if isinstance(options, list) else options,
        range=raw.get("range"),
        multiplier=raw.get("multiplier"),
    )


@cache
def declared() -> dict[str, Declared]:
    """Every setting by name, in the order listConfigurations sorts them (by name)."""
    text = files("cstool").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    raw = json.loads(text)["settings"]
    # Filter(ConfigurationVO.class, "name", true, ...): ORDER BY name under the utf8 table's
    # case-insensitive collation
    return {n: _declared(n, raw[n]) for n in sorted(raw, key=lambda n: (n.lower(), n))}


# --- values ------------------------------------------------------------------------------


def global_value(store: Store, name: str) -> str | None:
    """The global value: what updateConfiguration stored, else the declared default
    (ConfigDepotImpl.createOrupdateConfigObject inserts every setting with its default)."""
    row = store.get("globalconfig", name)
    if row is not None:
        value = row.get("value")
        return None if value is None else str(value)
    setting = declared().get(name)
    return None if setting is None else setting.default


def zone_value(store: Store, zoneid: str, name: str) -> str | None:
    """The value for a zone as stored (data_center_details), else the global value
    (ConfigKey.valueInScope falls back to ConfigKey.value())."""
    row = store.get("zoneconfig", f"{zoneid}/{name}")
    if row is not None:
        return None if row.get("value") is None else str(row["value"])
    return global_value(store, name)


def encrypted(value: str | None) -> str | None:
    """DBEncryptionUtil.encrypt: null and "" stay as they are; anything else becomes opaque
    text (the server's is PBE with a random salt; here a digest, so listings are stable)."""
    if not value:
        return value
    digest = hashlib.sha256(f"cstool-simulator:{value}".encode()).digest()
    return base64.b64encode(digest).decode()


def java_text(setting: Declared, value: str | None) -> str | None:
    """ConfigKey.valueOf(value).toString(): how a scoped value is listed (Boolean.valueOf,
    Integer.parseInt * multiplier, Double.parseDouble * multiplier, ...). A value the type
    cannot parse is shown as it is."""
    if value is None or setting.type in ("String", "Character"):
        return value
    factor = setting.multiplier or 1
    if setting.type == "Boolean":
        return "true" if value.lower() == "true" else "false"
    if setting.type in ("Integer", "Long", "Short"):
        number = _java_integer(value, _BITS[setting.type])
        return value if number is None else str(number * int(factor))
    if setting.type in ("Float", "Double"):
        single = setting.type == "Float"
        parsed = _java_float(value, single)
        return value if parsed is None else _java_decimal(parsed * factor, single)
    return value


# --- Java number parsing and printing ------------------------------------------------------

_BITS = {"Integer": 32, "Long": 64, "Short": 16}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(
    r"[+-]?(NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
)
_HEX = re.compile(
    r"([+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?"
)


def _java_integer(text: str, bits: int) -> int | None:
    """Integer.parseInt / Long.parseLong / Short.parseShort: sign, ASCII digits, no overflow."""
    if not _INTEGER.fullmatch(text) or len(text) > 24:  # longer is beyond any Long
        return None
    value = int(text)
    return value if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1) else None


def _java_float(text: str, single: bool) -> float | None:
    """Float.parseFloat / Double.parseDouble (whitespace trimmed, f/d suffix, hex), None when
    it fails; a float beyond the float range is infinite."""
    text = text.strip()
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
            value = math.copysign(math.inf, value)
    return value


def _java_decimal(value: float, single: bool) -> str:
    """Double.toString / Float.toString: shortest digits; "1.0E7" outside [1e-3, 1e7)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
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
    point = len(text) + int(exponent)
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{text}"
        return f"{prefix}{text[:point].ljust(point, '0')}.{text[point:] or '0'}"
    return f"{prefix}{text[0]}.{text[1:] or '0'}E{point - 1}"


# --- updateConfiguration's value checks ------------------------------------------------------

# Hypervisor.HypervisorType names (lower-cased, as hypervisorTypeMap keys them) but None and
# Any, which validateRangeHypervisorList refuses
_HYPERVISORS = frozenset(
    "xenserver kvm vmware hyperv virtualbox parallels baremetal simulator ovm ovm3 lxc "
    "custom external".split()
)
_DOMAIN_NAME = re.compile(r"^((?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{1,63}$")


def type_ok(value: str | None, java_type: str) -> bool:
    """ConfigurationManagerImpl.validateValueType: String takes anything (null too); a Boolean
    "true"/"false"; whole numbers in range; floating point but not infinite."""
    if java_type in ("String", "Character"):
        return True
    if value is None:  # parseInt(null) and parseFloat(null) throw: invalid
        return False
    if java_type == "Boolean":
        return value in ("true", "false")
    if java_type in _BITS:
        return _java_integer(value, _BITS[java_type]) is not None
    if java_type in ("Float", "Double"):
        number = _java_float(value, java_type == "Float")
        return number is not None and not math.isinf(number)
    return False


def range_refusal(store: Store, setting: Declared, value: str | None) -> str | None:
    """ConfigurationManagerImpl.validateValueRange: the 0-1 weights (type Float; listed with
    type Range), then a Config.java range (shouldValidateConfigRange: not for null)."""
    if value is None:
        return None
    if setting.check_type == "Float" and setting.api_type == "Range":
        number = _java_float(value, True)
        if number is not None and (number < 0 or number > 1):  # NaN passes, as in Java
            return (
                "Please enter a value between 0 and 1 for the configuration parameter: "
                f"[{setting.name}]."
            )
    if not setting.range:
        return None
    options = setting.range.split(",")
    if setting.check_type == "Integer":  # validateIfIntValueIsInRange
        low, _, high = options[0].partition("-")
        if not int(low) <= int(value) <= int(high):
            return (
                "The provided value is not valid for this configuration. Please enter an "
                f"integer in the range: [{options[0]}]"
            )
        return None
    messages = []
    for option in options:  # validateIfStringValueIsInRange
        message = _option_refusal(store, option, value)
        if message is None:
            return None
        messages.append(message)
    if len(messages) == 1:
        return f"The provided value is not {messages[0]}."
    return f"The provided value is neither {' NOR '.join(messages)}."


def _option_refusal(store: Store, option: str, value: str) -> str | None:
    if option == "hypervisorList":  # validateRangeHypervisorList (HypervisorType.getType)
        custom = (global_value(store, "hypervisor.custom.display.name") or "").lower()
        known = _HYPERVISORS | {custom}
        ok = all(h.lower() in known for h in value.split(","))
        return None if ok else "a valid hypervisor type"
    if option == "instanceName":  # validateRangeInstanceName (NetUtils.verifyInstanceName)
        if any(c in value for c in "- +"):
            return (
                "a valid instance name (instance names cannot contain hyphens, spaces or "
                "plus signs)"
            )
        return None
    if option == "domainName":  # validateRangeDomainName
        name = value[2:] if value.startswith("*") else value
        ok = len(name) < 238 and bool(_DOMAIN_NAME.match(name))
        return None if ok else "a valid domain name"
    # validateRangeOther: one of the comma-separated options, ignoring case
    if any(o.strip().lower() == value.lower() for o in option.split(",")):
        return None
    return f"a valid value for this configuration (Options are: [{option}])"


def ip_refusal(setting: Declared, value: str | None) -> str | None:
    """ConfigurationManagerImpl.validateIpAddressRelatedConfigValues: a String ConfigKey named
    *.ip or *.ipaddress takes an IPv4 address, *.iprange two joined by '-'."""
    name = setting.name
    if not name.endswith((".ip", ".ipaddress", ".iprange")) or not value:
        return None
    if not setting.config_key or setting.type != "String":
        return None
    parts = value.split("-") if name.endswith(".iprange") else [value]
    expected = 2 if name.endswith(".iprange") else 1
    if len(parts) == expected and all(_ipv4(p) for p in parts):
        return None
    return "Invalid IP address value(s) specified for the config value."


def _ipv4(text: str) -> bool:
    """NetUtils.isValidIp4 (InetAddressValidator): four decimal parts 0-255, no leading 0."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and p.isascii() and int(p) <= 255 and (p == "0" or not p.startswith("0"))
        for p in parts
    )


# --- what else a fresh cloud has -----------------------------------------------------------

# what the virtual router offers (the VPC router has network ACLs instead of a firewall)
ROUTER_SERVICES = (
    "Dhcp",
    "Dns",
    "UserData",
    "SourceNat",
    "StaticNat",
    "PortForwarding",
    "Lb",
    "Firewall",
    "Vpn",
    "Gateway",
)
VPC_ROUTER_SERVICES = tuple("NetworkACL" if x == "Firewall" else x for x in ROUTER_SERVICES)

OFFERINGS = (
    (
        "DefaultSharedNetworkOfferingWithSGService",
        "Shared",
        ["Dns", "Dhcp", "UserData", "SecurityGroup"],
    ),
    ("DefaultSharedNetworkOffering", "Shared", ["Dns", "Dhcp", "UserData"]),
    (
        "DefaultSharedNetscalerEIPandELBNetworkOffering",
        "Shared",
        ["Dns", "Dhcp", "UserData", "SecurityGroup", "StaticNat", "Lb"],
    ),
    ("DefaultIsolatedNetworkOfferingWithSourceNatService", "Isolated", list(ROUTER_SERVICES)),
)


# The provider of each service of the default offerings (ConfigurationServerImpl
# .createDefaultNetworkOfferings, CS:980-1035: Dhcp, Dns and UserData by the VirtualRouter,
# SecurityGroup by the SecurityGroupProvider, the rest of the EIP/ELB offering by Netscaler).
# Kept beside the rows, not in them: listNetworkOfferings answers as it always has.
_PROVIDER = {"SecurityGroup": "SecurityGroupProvider", "StaticNat": "Netscaler", "Lb": "Netscaler"}


def offering_providers(offering: dict[str, Any]) -> dict[str, str]:
    """Service -> provider of a seeded offering (NetworkOfferingServiceMapVO rows), in the
    offering's service order; the isolated offering's services are all the VirtualRouter's."""
    services = [str(s.get("name")) for s in offering.get("service") or []]
    netscaler = offering.get("name") == "DefaultSharedNetscalerEIPandELBNetworkOffering"
    return {
        s: _PROVIDER.get(s, "VirtualRouter")
        if s == "SecurityGroup" or netscaler
        else "VirtualRouter"
        for s in services
    }


def seed(store: Store) -> None:
    """Fill a new store with CloudStack's default network offerings (settings need no rows:
    their defaults are declared)."""
    if store.tables["networkoffering"]:
        return
    for name, guest_type, services in OFFERINGS:
        row: dict[str, Any] = {
            "name": name,
            "displaytext": name.replace("Default", "Default "),
            "state": "Enabled",
            "guestiptype": guest_type,
            "traffictype": "Guest",
            "isdefault": True,
            "specifyvlan": guest_type == "Shared",
            "specifyipranges": guest_type == "Shared",
            "service": [{"name": s} for s in services],
            "networkrate": -1,
            "availability": "Optional",
            "forvpc": False,
        }
        store.add("networkoffering", row)
