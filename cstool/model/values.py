"""Value types of the config and of API answers, normalised once at the edges.

Each parser takes what a user or CloudStack writes and returns one plain canonical value,
so that `==` is the whole comparison. Pure: imports nothing of cstool but errors.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

HYPERVISORS = ("kvm", "xen", "vmware", "hyperv", "ovm3")
TRAFFIC_TYPES = ("Management", "Guest", "Public", "Storage")
VLAN_MAX = 4094
VXLAN_MAX = 16777214
UNTAGGED = "untagged"
_TRUE = {"true", "yes", "on", "1", "enabled"}
_FALSE = {"false", "no", "off", "0", "disabled"}


def ipv4(value: Any) -> str:
    """A dotted IPv4 address."""
    text = str(value).strip()
    if _canonical_ipv4(text):  # the common case, without ipaddress's cost (plans read 1000s)
        return text
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid IPv4 address") from None


def _canonical_ipv4(text: str) -> bool:
    """Four ASCII decimal octets, 0-255, without leading zeros: as ipaddress writes them."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        0 < len(p) <= 3
        and p.isascii()
        and p.isdigit()
        and (p == "0" or p[0] != "0")
        and int(p) <= 255
        for p in parts
    )


PREFIX_BOUNDS = (8, 30)  # a pod or range subnet outside these is a typo, never a plan


def netmask(value: Any) -> str:
    """A dotted netmask with contiguous ones (255.255.255.0); '/24' or 24 also accepted."""
    return _netmask(str(value))


@functools.lru_cache(maxsize=256)  # a cloud has a handful of netmasks, read 1000s of times
def _netmask(value: str) -> str:
    text = value.strip().lstrip("/")
    try:
        network = ipaddress.IPv4Network(f"0.0.0.0/{text}")
    except ValueError:
        raise ValueError(f"{value!r} is not a valid netmask") from None
    if "." in text and str(network.netmask) != text:  # ipaddress also takes a hostmask
        raise ValueError(f"{value!r} is not a valid netmask (write 255.255.255.0 or /24)")
    low, high = PREFIX_BOUNDS
    if not low <= network.prefixlen <= high:
        raise ValueError(
            f"netmask {value!r} is a /{network.prefixlen}: a pod or range subnet must be "
            f"between /{low} and /{high} (CloudStack would take a /0 as given)"
        )
    return str(network.netmask)


def cidr(value: Any) -> str:
    """An IPv4 network in CIDR notation (host bits must be zero)."""
    try:
        return str(ipaddress.IPv4Network(str(value).strip()))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({exc})") from None


def ipv6(value: Any) -> str:
    """An IPv6 address in ipaddress's compressed form: the server stores the text as sent
    (VlanVO ip6Gateway), so 2001:DB8::1 and 2001:db8:0::1 are compared as one address."""
    try:
        return ipaddress.IPv6Address(str(value).strip()).compressed
    except ValueError:
        raise ValueError(f"{value!r} is not a valid IPv6 address") from None


def ipv6_cidr(value: Any) -> str:
    """An IPv6 network in CIDR notation, compressed; host bits must be zero."""
    text = str(value).strip()
    if "/" not in text:
        raise ValueError(f"{value!r} is not an IPv6 CIDR (write 2001:db8:1::/64)")
    try:
        return ipaddress.IPv6Network(text).compressed
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv6 CIDR ({exc})") from None


ipv6_prefix = ipv6_cidr  # a guest IPv6 prefix (createGuestNetworkIpv6Prefix prefix): same form


def vlan_id(value: Any) -> int:
    """One VLAN id, as a number (a dedicated guest VLAN range's start and end). The bounds
    depend on the physical network's isolation method: validate checks them."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a VLAN id")
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{value!r} is not a VLAN id (a number)")
    return int(text)


def vlan_key(value: Any) -> str:
    """A VLAN id as an identity (a dedicated guest VLAN range is known by its first VLAN)."""
    return str(vlan_id(value))


def domain_path(value: Any) -> str:
    """A domain by its path from ROOT, as CloudStack prints it (ROOT/customers/acme,
    ApiResponseHelper.getPrettyDomainPath): `ROOT` then non-empty names, one `/` apart.
    Written as the server spells ROOT (its name is stored as ROOT); a trailing `/` is dropped."""
    text = str(value).strip().rstrip("/") if not isinstance(value, dict | list) else ""
    parts = text.split("/")
    if parts[0] != "ROOT" or any(not p.strip() or p != p.strip() for p in parts[1:]):
        raise ValueError(f"{value!r} is not a domain path (write ROOT or ROOT/customers/acme)")
    return text


def boolean(value: Any) -> bool:
    """true/false as YAML, Marvin ("True", "true") and CloudStack write it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def one_of(choices: tuple[str, ...]) -> Any:
    """A case-insensitive enum returning the canonical spelling."""
    by_lower = {c.lower(): c for c in choices}

    def parse(value: Any) -> str:
        canonical = by_lower.get(str(value).strip().lower())
        if canonical is None:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
        return canonical

    parse.choices = choices  # type: ignore[attr-defined]
    return parse


def vlan(value: Any) -> str | int:
    """A range's VLAN: an integer id or 'untagged'. Absorbs CloudStack's `vlan://100` URIs."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a VLAN id")
    text = str(value).strip()
    if text.lower().startswith("vlan://"):
        text = text[len("vlan://") :]
    if text.lower() in (UNTAGGED, ""):
        return UNTAGGED
    if not text.isdigit():
        raise ValueError(f"{value!r} is not a VLAN id (a number or 'untagged')")
    return int(text)


def vlan_uri(value: Any) -> str:
    """A VLAN as a broadcast URI: vlan://untagged or vlan://11."""
    return f"vlan://{vlan(value)}"


def vlan_ranges(value: Any) -> str:
    """Guest VLAN/VNI ranges, normalised like the server: sorted, consecutive ids merged.

    `["100-200", "201-300"]` and `"100-200,201-300"` both become "100-300"; a single id
    `500` becomes "500-500" (updatePhysicalNetwork rejects a bare number).
    """
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    spans: list[tuple[int, int]] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        lo, sep, hi = text.partition("-")
        if not lo.strip().isdigit() or (sep and not hi.strip().isdigit()):
            raise ValueError(f"{item!r} is not a VLAN range (write 500-899)")
        start, end = int(lo), int(hi) if sep else int(lo)
        if start > end:
            raise ValueError(f"VLAN range {item!r} starts after it ends")
        spans.append((start, end))
    if not spans:
        raise ValueError("no VLAN range given (remove the key to leave the ranges unmanaged)")
    return ",".join(f"{a}-{b}" for a, b in merge_spans(spans))


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping and adjacent integer spans (by sorting, one pass)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def span_list(ranges: str) -> list[tuple[int, int]]:
    """'100-200,300-400' -> [(100, 200), (300, 400)]."""
    out = []
    for part in filter(None, ranges.split(",")):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def setting_value(value: Any) -> str:
    """Settings are compared as strings; YAML booleans become 'true'/'false'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("expected a single value")
    out = str(value).strip()
    if not out:
        raise ValueError("must not be empty")
    return out


def upper(value: Any) -> str:
    return text(value).upper()


def isolation(value: Any) -> str:
    """One isolation method (VLAN, VXLAN, GRE, STT, L3, ...): createPhysicalNetwork refuses
    more than one (NetworkServiceImpl.createPhysicalNetwork, 431)."""
    method = upper(value)
    if "," in method:
        raise ValueError(f"{value!r}: a physical network has one isolation method")
    return method


def tag(value: Any) -> str:
    """A physical network tag. CloudStack stores tags comma-joined, so a comma would split
    one tag into two on the way back."""
    out = text(value)
    if "," in out:
        raise ValueError(f"tag {value!r} contains a comma; write one tag")
    return out


def str_list(max_items: int, parse: Any = text, min_items: int = 0) -> Any:
    """A list of min_items to max_items values; a single value is a list of one."""

    def parse_list(value: Any) -> tuple[Any, ...]:
        items = value if isinstance(value, list | tuple) else [value]
        if len(items) < min_items:
            raise ValueError(f"at least {min_items} value(s) needed, got {len(items)}")
        if len(items) > max_items:
            raise ValueError(f"at most {max_items} value(s) allowed, got {len(items)}")
        return tuple(parse(v) for v in items)

    return parse_list


def labels(value: Any) -> dict[str, str]:
    """Hypervisor network labels; an empty or null label means 'no label'."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of hypervisor to label, e.g. {kvm: cloudbr0}")
    out = {}
    for hv, label in value.items():
        if str(hv).lower() not in HYPERVISORS:
            raise ValueError(f"unknown hypervisor {hv!r} (one of {', '.join(HYPERVISORS)})")
        if isinstance(label, dict | list):
            raise ValueError(f"the {hv} label must be one name, e.g. cloudbr0")
        out[str(hv).lower()] = "" if label is None else str(label)
    return out


def ip_int(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


def network_of(gateway: str, mask: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{gateway}/{mask}", strict=False)


# --- compute and storage (clusters, hosts, pools, image stores) ---------------------------

# Hypervisor.HypervisorType display names (Hypervisor.java); HypervisorType.getType reads
# them in any case. None and Any are not a cluster's hypervisor.
HYPERVISOR_TYPES = (
    "KVM",
    "XenServer",
    "VMware",
    "Hyperv",
    "Simulator",
    "LXC",
    "Ovm3",
    "Ovm",
    "BareMetal",
    "External",
    "Custom",
    "VirtualBox",
    "Parralels",
)
hypervisor = one_of(HYPERVISOR_TYPES)
# a zone-wide pool may also be for Any hypervisor (StorageManagerImpl:443-444)
pool_hypervisor = one_of((*HYPERVISOR_TYPES, "Any"))
HOST_STATES = ("enabled", "disabled", "maintenance")
POOL_STATES = HOST_STATES
state = one_of(HOST_STATES)


def url(value: Any) -> str:
    """A URL with a scheme (scheme://...): the server refuses one without
    (ResourceManagerImpl.addHost "uri.scheme is null")."""
    out = text(value)
    scheme, sep, _ = out.partition("://")
    if not sep or not scheme or not scheme[0].isalpha():
        raise ValueError("a URL needs a scheme, e.g. http://10.0.0.5 or nfs://host/path")
    return out


def url_host(value: Any) -> str:
    """The host of a URL (http://10.10.1.101 -> 10.10.1.101): a host's default name."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url(value)).hostname
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if not host:
        raise ValueError("the URL has no host")
    return host


def pool_url(value: Any) -> str:
    """A primary storage URL, as the server reads it (StorageManagerImpl.extractUriParamsAsMap):
    the scheme in lower case, an empty port (`nfs://10.1.1.5:/export`, Marvin's form) dropped,
    the path verbatim (the server keeps even a trailing space). A user name stays (rbd's
    user); a password in the URL is refused: it is written as the pool's `secret`."""
    from urllib.parse import urlsplit, urlunsplit

    raw = str(value).lstrip()  # the path's end is kept as written
    url(raw)
    parts = urlsplit(raw)
    if parts.password is not None:
        raise ValueError("a literal secret is not allowed here; write {env: NAME} or {file: /path}")
    netloc = parts.netloc[:-1] if parts.netloc.endswith(":") else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def pool_url_compared(value: Any) -> str:
    """What of a pool URL is compared with the live pool: without user-info, which the server
    never returns (StoragePoolJoinDaoImpl: ipaddress is the URL's host)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(str(value))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), host, parts.path, parts.query, parts.fragment))


def count(value: Any) -> int:
    """A non-negative integer (bytes, IOPS)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    out = text(value)
    if not out.isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    return int(out)


def host_tags(value: Any) -> tuple[str, ...]:
    """Host or pool tags: compared as a sorted set (the server joins them in no set order,
    host_view.sql GROUP_CONCAT(DISTINCT tag)); a comma would split a tag on the way back."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(sorted({tag(t) for t in items if str(t).strip()}))
