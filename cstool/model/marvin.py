"""Marvin deployDataCenter configs (JSON after '#' lines) -> the cstool config format.

What cstool does not model yet (clusters, hosts, storage, external devices, Advanced-SG
shared networks) is reported as a warning naming each item, never dropped silently. Pure.

A Marvin file is anyone's hand-edited JSON, so every value is read through `Part`, which
knows where it is (a JSON path such as `zones[0].pods[1].gateway`): a missing name, a value
of the wrong type or a value the field's parser refuses is a CstoolError naming the file and
that path, never a KeyError or TypeError from deep inside the conversion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cstool.errors import CstoolError
from cstool.model import settings as catalog
from cstool.model import values as v

RUN_SETTINGS = ("dbSvr", "logger", "mgtSvr", "TestData", "ApiLoadCfg")
# what deployDataCenter enables itself: the rest needs devices cstool does not model
ENABLED_PROVIDERS = ("VirtualRouter", "VpcVirtualRouter", "InternalLbVm", "SecurityGroupProvider")
MAX_DEPTH = 100  # nesting levels of a Marvin document (its format needs fewer than ten)
HINT = "fix that value in the Marvin config and run import-marvin again"


@dataclass
class Converted:
    config: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _what(value: Any) -> str:
    """A JSON value's type as a user reads it, for 'expected X, not Y'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    for types, name in ((dict, "an object"), (list, "a list"), (str, "a string")):
        if isinstance(value, types):
            return name
    return "a number"


@dataclass(frozen=True)
class Part:
    """One value of the Marvin document, with its JSON path and file for errors."""

    value: Any
    path: str
    file: str

    def fail(self, message: str) -> NoReturn:
        raise CstoolError(f"{self.file}: {self.path or 'top level'}: {message}", hint=HINT)

    def child(self, key: str | int) -> Part:
        value = self.value[key]
        path = f"{self.path}[{key}]" if isinstance(key, int) else _join(self.path, key)
        return Part(value, path, self.file)

    def get(self, key: str) -> Part | None:
        """The member `key`, or None when it is missing or null."""
        if self.value.get(key) is None:
            return None
        return self.child(key)

    def need(self, key: str) -> Part:
        found = self.get(key)
        if found is None:
            Part(None, _join(self.path, key), self.file).fail("missing (it is required)")
        return found

    def obj(self) -> Part:
        if not isinstance(self.value, dict):
            self.fail(f"expected an object {{...}}, not {_what(self.value)}")
        return self

    def items(self, key: str) -> list[Part]:
        """The entries of the list `key` (none when missing or null), each an object."""
        found = self.get(key)
        if found is None:
            return []
        if not isinstance(found.value, list):
            found.fail(f"expected a list [...], not {_what(found.value)}")
        return [found.child(i).obj() for i in range(len(found.value))]

    def text(self) -> str:
        """A single value as text: a string or a number, never an object, list or boolean."""
        if isinstance(self.value, bool) or not isinstance(self.value, str | int | float):
            self.fail(f"expected a string, not {_what(self.value)}")
        return str(self.value).strip()

    def name(self) -> str:
        out = self.text()
        if not out:
            self.fail("must not be empty")
        return out

    def parsed(self, parse: Callable[[Any], Any]) -> Any:
        if isinstance(self.value, dict | list):
            self.fail(f"expected a single value, not {_what(self.value)}")
        try:
            return parse(self.value)
        except ValueError as exc:
            self.fail(str(exc))

    def texts(self) -> list[str]:
        """A list of strings (isolationmethods, tags)."""
        if not isinstance(self.value, list):
            self.fail(f"expected a list of strings, not {_what(self.value)}")
        return [self.child(i).text() for i in range(len(self.value))]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _opt_text(part: Part, key: str) -> str | None:
    """An optional text member; missing, null and empty are all 'not given' (Marvin's way)."""
    found = part.get(key)
    return (found.text() or None) if found is not None else None


def parse(text: str, name: str) -> dict[str, Any]:
    """Marvin's reader: drop '#' comment lines, then JSON."""
    body = "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise CstoolError(
            f"{name}:{exc.lineno}:{exc.colno}: not a Marvin config: {exc.msg}"
        ) from None
    except RecursionError:  # the JSON parser nests by recursion
        raise CstoolError(
            f"{name}: not a Marvin config: nested deeper than {MAX_DEPTH} levels"
        ) from None
    _check_depth(data, name)
    if not isinstance(data, dict) or not isinstance(data.get("zones"), list):
        raise CstoolError(f"{name}: not a Marvin config (no 'zones' list)")
    return data


def _check_depth(data: Any, name: str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH (walked without recursion), so that no
    later step (conversion, YAML dump, messages) can hit Python's recursion limit."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CstoolError(f"{name}: not a Marvin config: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)


def convert(data: Mapping[str, Any], name: str = "<Marvin config>") -> Converted:
    """The cstool config of a parsed Marvin document; `name` (the file) is cited in errors."""
    root = Part(data, "", name).obj()
    out = Converted({})
    settings = _settings(root.items("globalConfig"), out.warnings)
    if settings:
        out.config["settings"] = settings
    out.config["zones"] = [_zone(z, out.warnings) for z in root.items("zones")]
    run = [k for k in data if k in RUN_SETTINGS]
    if run:
        out.warnings.append(
            f"skipped Marvin test-run settings (not cloud infrastructure): {', '.join(run)}"
        )
    for key in data:
        if key not in (*RUN_SETTINGS, "zones", "globalConfig"):
            out.warnings.append(f"skipped top-level '{key}': not modelled by cstool")
    return out


def _settings(entries: list[Part], warn: list[str]) -> dict[str, str]:
    """globalConfig: deployDataCenter sends each as a global updateConfiguration. A name the
    server does not have, or a Hidden or Secure one (never listed / listed encrypted, so
    never comparable), is skipped with a warning; a bad value is kept for validate to show."""
    known = catalog.catalog()
    out = {}
    for entry in entries:
        name = entry.need("name").name()
        setting = known.get(name)
        if setting is None:
            close = known.suggest(name)
            hint = f" (did you mean '{close}'?)" if close else ""
            warn.append(
                f"skipped globalConfig {name}: CloudStack {catalog.VERSION} has no such "
                f"setting{hint}"
            )
        elif not setting.comparable:
            warn.append(
                f"skipped globalConfig {name}: category {setting.category}, which cstool "
                "cannot compare (set it on the server by hand)"
            )
        else:
            value = entry.get("value")
            out[name] = value.parsed(v.setting_value) if value is not None else ""
    return out


ZONE_KEYS = frozenset(
    {
        "name",
        "networktype",
        "securitygroupenabled",
        "dns1",
        "dns2",
        "internaldns1",
        "internaldns2",
        "domain",
        "guestcidraddress",
        "localstorageenabled",
        "enabled",
        "physical_networks",
        "ipranges",
        "pods",
        "secondaryStorages",
        "cacheStorages",
        "primaryStorages",
        "vmwaredc",
        "details",
    }
)


def _zone(z: Part, warn: list[str]) -> dict[str, Any]:
    name = z.need("name").name()
    kind = z.need("networktype").parsed(v.one_of(("Advanced", "Basic")))
    given_sg = z.get("securitygroupenabled")
    sg = given_sg.parsed(v.boolean) if given_sg is not None else kind == "Basic"
    zone: dict[str, Any] = {"name": name, "network_type": kind}
    if given_sg is not None:
        zone["security_groups"] = sg
    zone["dns"] = [d for d in (_opt_text(z, "dns1"), _opt_text(z, "dns2")) if d]
    zone["internal_dns"] = [
        d for d in (_opt_text(z, "internaldns1"), _opt_text(z, "internaldns2")) if d
    ]
    domain = _opt_text(z, "domain")
    if domain:
        zone["domain"] = domain
    guest_cidr = _opt_text(z, "guestcidraddress")
    if guest_cidr:
        if kind == "Advanced" and not sg:
            zone["guest_cidr"] = guest_cidr
        else:
            warn.append(
                f"zone {name}: skipped guestcidraddress (only Advanced zones without "
                "security groups have one)"
            )
    for key, target in (("localstorageenabled", "local_storage"), ("enabled", "enabled")):
        found = z.get(key)
        if found is not None:
            zone[target] = found.parsed(v.boolean)
    networks = z.items("physical_networks")
    zone["physical_networks"] = [_physical_network(name, kind, pn, warn) for pn in networks]
    has_public = any(
        t["type"] == "Public" for pn in zone["physical_networks"] for t in pn["traffic"]
    )
    _zone_ranges(zone, z, kind, sg, has_public, warn)
    zone["pods"] = [_pod(name, p, warn) for p in z.items("pods")]
    _zone_skipped(name, z, warn)
    return zone


def _zone_ranges(
    zone: dict[str, Any], z: Part, kind: str, sg: bool, has_public: bool, warn: list[str]
) -> None:
    name = zone["name"]
    ranges = z.items("ipranges")
    if ranges and kind == "Advanced" and sg:
        for r in ranges:
            warn.append(
                f"zone {name}: skipped ip range {_opt_text(r, 'startip')}-"
                f"{_opt_text(r, 'endip')}: in an Advanced zone with security groups it "
                "belongs to the shared guest network, which cstool does not model yet"
            )
    elif ranges and (kind == "Advanced" or has_public):
        zone["public_ranges"] = [_range(r, with_vlan=True) for r in ranges]
    elif ranges:
        warn.append(
            f"zone {name}: skipped {len(ranges)} public range(s): a Basic zone without "
            "Public traffic has none"
        )


def _zone_skipped(name: str, z: Part, warn: list[str]) -> None:
    """Warnings for what a zone holds that cstool does not model."""
    for key, what in (
        ("secondaryStorages", "secondary storage"),
        ("cacheStorages", "cache storage"),
        ("primaryStorages", "zone-wide primary storage"),
    ):
        for item in z.items(key):
            shown = _opt_text(item, "url") or _opt_text(item, "name")
            warn.append(f"zone {name}: skipped {what} {shown}: storage is not modelled yet")
    vmwaredc = z.get("vmwaredc")
    if vmwaredc is not None and any(vmwaredc.obj().value.values()):
        warn.append(
            f"zone {name}: skipped vmwaredc {_opt_text(vmwaredc, 'name')}: not modelled yet"
        )
    details = z.get("details")
    if details is not None:
        if not isinstance(details.value, dict | list):
            details.fail(f"expected an object or a list, not {_what(details.value)}")
        for i, key in enumerate(details.value):
            shown = key if isinstance(details.value, dict) else details.child(i).value
            warn.append(f"zone {name}: skipped zone detail {_short(shown)}: not modelled yet")
    warn.extend(
        f"zone {name}: skipped key '{k}': not modelled by cstool"
        for k in z.value
        if k not in ZONE_KEYS
    )


def _short(value: Any) -> str:
    """A value in a warning: JSON, cut to a readable length."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _type(traffic: Part) -> str:
    return str(traffic.need("typ").parsed(v.one_of(v.TRAFFIC_TYPES)))


def _physical_network(zone: str, kind: str, pn: Part, warn: list[str]) -> dict[str, Any]:
    name = pn.need("name").name()
    out: dict[str, Any] = {"name": name}
    given = pn.get("isolationmethods")
    methods = given.texts() if given is not None else []
    if methods:
        out["isolation"] = methods[0]
        if len(methods) > 1:
            warn.append(
                f"physical network {zone}/{name}: kept isolation method {methods[0]}, "
                f"skipped {', '.join(methods[1:])} (CloudStack takes one)"
            )
    vlan = _opt_text(pn, "vlan")
    if vlan:
        out["vlan_ranges"] = [r.strip() for r in vlan.split(",")]
    given_tags = pn.get("tags")
    tags = given_tags.texts() if given_tags is not None else []
    if tags:
        out["tags"] = tags[:1]
    if len(tags) > 1:
        warn.append(
            f"physical network {zone}/{name}: kept tag {tags[0]}, skipped "
            f"{', '.join(tags[1:])} (a physical network has at most one tag)"
        )
    _broadcast_domain(zone, name, kind, pn, warn)
    out["traffic"] = [_traffic(zone, name, t, warn) for t in pn.items("traffictypes")]
    providers = {}
    for p in pn.items("providers"):
        provider = p.need("name").name()
        if provider in ENABLED_PROVIDERS:
            providers[provider] = "enabled"
        else:
            devices = p.get("devices")
            count = len(devices.value) if devices and isinstance(devices.value, list) else 0
            warn.append(
                f"physical network {zone}/{name}: skipped provider {provider}"
                + (f" and its {count} device(s)" if count else "")
                + ": external devices are not modelled yet"
            )
    if providers:
        out["providers"] = providers
    return out


def _broadcast_domain(zone: str, name: str, kind: str, pn: Part, warn: list[str]) -> None:
    given = _opt_text(pn, "broadcastdomainrange") or ""
    default = "POD" if kind == "Basic" else "ZONE"
    if given and given.upper() != default:
        warn.append(
            f"physical network {zone}/{name}: broadcastdomainrange {given}"
            f" ignored: deployDataCenter does not send it and CloudStack uses {default} "
            f"in {kind} zones"
        )


def _traffic(zone: str, pn: str, t: Part, warn: list[str]) -> dict[str, Any]:
    ttype = _type(t)
    labels = {}
    for key in t.value:
        if key == "typ":
            continue
        label = t.child(key)
        if key.lower() in v.HYPERVISORS:
            labels[key.lower()] = label.text() if label.value is not None else ""
        else:
            warn.append(
                f"traffic type {zone}/{pn}/{ttype}: skipped label '{key}: {_short(label.value)}' "
                "(no addTrafficType parameter for it)"
            )
    return {"type": ttype, "labels": labels} if labels else {"type": ttype}


def _range(r: Part, with_vlan: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    vlan = r.get("vlan")
    if with_vlan and vlan is not None and vlan.value != "":
        tag = vlan.parsed(v.vlan)
        if tag != v.UNTAGGED:
            out["vlan"] = tag
    start = r.need("startip").text()
    out.update(
        gateway=r.need("gateway").text(),
        netmask=r.need("netmask").text(),
        start=start,
        end=_opt_text(r, "endip") or start,
    )
    return out


POD_KEYS = frozenset(
    {"name", "gateway", "netmask", "startip", "endip", "guestIpRanges", "clusters", "vmwaredc"}
)


def _pod(zone: str, p: Part, warn: list[str]) -> dict[str, Any]:
    name = p.need("name").name()
    pod: dict[str, Any] = {
        "name": name,
        "gateway": p.need("gateway").text(),
        "netmask": p.need("netmask").text(),
    }
    start = _opt_text(p, "startip")
    if start:
        pod["management_ranges"] = [{"start": start, "end": _opt_text(p, "endip") or start}]
    guest = p.items("guestIpRanges")
    if guest:
        pod["guest_ranges"] = [_range(r) for r in guest]
    for c in p.items("clusters"):
        hosts = len(c.items("hosts"))
        pools = len(c.items("primaryStorages"))
        warn.append(
            f"pod {zone}/{name}: skipped cluster {_opt_text(c, 'clustername')} "
            f"({_opt_text(c, 'hypervisor')}, {hosts} host(s), {pools} primary storage(s)): "
            "clusters are not modelled yet"
        )
    warn.extend(
        f"pod {zone}/{name}: skipped key '{k}': not modelled by cstool"
        for k in p.value
        if k not in POD_KEYS
    )
    return pod
