"""Marvin deployDataCenter configs (JSON after '#' lines) -> the cstool config format.

What cstool does not model yet (clusters, hosts, storage, external devices, Advanced-SG
shared networks) is reported as a warning naming each item, never dropped silently. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cstool.errors import CstoolError
from cstool.model import settings as catalog
from cstool.model import values as v

RUN_SETTINGS = ("dbSvr", "logger", "mgtSvr", "TestData", "ApiLoadCfg")
# what deployDataCenter enables itself: the rest needs devices cstool does not model
ENABLED_PROVIDERS = ("VirtualRouter", "VpcVirtualRouter", "InternalLbVm", "SecurityGroupProvider")


@dataclass
class Converted:
    config: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def parse(text: str, name: str) -> dict[str, Any]:
    """Marvin's reader: drop '#' comment lines, then JSON."""
    body = "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise CstoolError(
            f"{name}:{exc.lineno}:{exc.colno}: not a Marvin config: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("zones"), list):
        raise CstoolError(f"{name}: not a Marvin config (no 'zones' list)")
    return data


def convert(data: Mapping[str, Any]) -> Converted:
    out = Converted({})
    settings = _settings(data.get("globalConfig") or [], out.warnings)
    if settings:
        out.config["settings"] = settings
    out.config["zones"] = [_zone(z, out.warnings) for z in data["zones"]]
    run = [k for k in data if k in RUN_SETTINGS]
    if run:
        out.warnings.append(
            f"skipped Marvin test-run settings (not cloud infrastructure): {', '.join(run)}"
        )
    for key in data:
        if key not in (*RUN_SETTINGS, "zones", "globalConfig"):
            out.warnings.append(f"skipped top-level '{key}': not modelled by cstool")
    return out


def _settings(entries: list[Mapping[str, Any]], warn: list[str]) -> dict[str, str]:
    """globalConfig: deployDataCenter sends each as a global updateConfiguration. A name the
    server does not have, or a Hidden or Secure one (never listed / listed encrypted, so
    never comparable), is skipped with a warning; a bad value is kept for validate to show."""
    known = catalog.catalog()
    out = {}
    for entry in entries:
        name = str(entry["name"])
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
            out[name] = v.setting_value(entry.get("value"))
    return out


def _zone(z: Mapping[str, Any], warn: list[str]) -> dict[str, Any]:
    name = z["name"]
    kind = v.one_of(("Advanced", "Basic"))(z["networktype"])
    sg = v.boolean(z["securitygroupenabled"]) if "securitygroupenabled" in z else kind == "Basic"
    zone: dict[str, Any] = {"name": name, "network_type": kind}
    if "securitygroupenabled" in z:
        zone["security_groups"] = sg
    zone["dns"] = [d for d in (z.get("dns1"), z.get("dns2")) if d]
    zone["internal_dns"] = [d for d in (z.get("internaldns1"), z.get("internaldns2")) if d]
    if z.get("domain"):
        zone["domain"] = z["domain"]
    if z.get("guestcidraddress"):
        if kind == "Advanced" and not sg:
            zone["guest_cidr"] = z["guestcidraddress"]
        else:
            warn.append(
                f"zone {name}: skipped guestcidraddress (only Advanced zones without "
                "security groups have one)"
            )
    if "localstorageenabled" in z:
        zone["local_storage"] = v.boolean(z["localstorageenabled"])
    if "enabled" in z:
        zone["enabled"] = v.boolean(z["enabled"])
    zone["physical_networks"] = [
        _physical_network(name, kind, pn, warn) for pn in z.get("physical_networks") or []
    ]
    has_public = any(
        _type(t) == "Public"
        for pn in z.get("physical_networks") or []
        for t in pn.get("traffictypes") or []
    )
    ranges = z.get("ipranges") or []
    if ranges and kind == "Advanced" and sg:
        for r in ranges:
            warn.append(
                f"zone {name}: skipped ip range {r.get('startip')}-{r.get('endip')}: in "
                "an Advanced zone with security groups it belongs to the shared guest "
                "network, which cstool does not model yet"
            )
    elif ranges and (kind == "Advanced" or has_public):
        zone["public_ranges"] = [_range(r, with_vlan=True) for r in ranges]
    elif ranges:
        warn.append(
            f"zone {name}: skipped {len(ranges)} public range(s): a Basic zone without "
            "Public traffic has none"
        )
    zone["pods"] = [_pod(name, p, warn) for p in z.get("pods") or []]
    for key, what in (
        ("secondaryStorages", "secondary storage"),
        ("cacheStorages", "cache storage"),
        ("primaryStorages", "zone-wide primary storage"),
    ):
        for item in z.get(key) or []:
            warn.append(
                f"zone {name}: skipped {what} {item.get('url') or item.get('name')}: "
                "storage is not modelled yet"
            )
    if z.get("vmwaredc") and any(z["vmwaredc"].values()):
        warn.append(f"zone {name}: skipped vmwaredc {z['vmwaredc'].get('name')}: not modelled yet")
    for key in z.get("details") or []:
        warn.append(f"zone {name}: skipped zone detail {key}: not modelled yet")
    known = {
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
    warn.extend(
        f"zone {name}: skipped key '{k}': not modelled by cstool" for k in z if k not in known
    )
    return zone


def _type(traffic: Mapping[str, Any]) -> str:
    return v.one_of(v.TRAFFIC_TYPES)(traffic["typ"])


def _physical_network(
    zone: str, kind: str, pn: Mapping[str, Any], warn: list[str]
) -> dict[str, Any]:
    name = pn["name"]
    out: dict[str, Any] = {"name": name}
    methods = pn.get("isolationmethods") or []
    if methods:
        out["isolation"] = methods[0]
        if len(methods) > 1:
            warn.append(
                f"physical network {zone}/{name}: kept isolation method {methods[0]}, "
                f"skipped {', '.join(methods[1:])} (CloudStack takes one)"
            )
    if pn.get("vlan"):
        out["vlan_ranges"] = [r.strip() for r in str(pn["vlan"]).split(",")]
    if pn.get("tags"):
        out["tags"] = list(pn["tags"])[:1]
    given = str(pn.get("broadcastdomainrange") or "").upper()
    default = "POD" if kind == "Basic" else "ZONE"
    if given and given != default:
        warn.append(
            f"physical network {zone}/{name}: broadcastdomainrange {pn['broadcastdomainrange']}"
            f" ignored: deployDataCenter does not send it and CloudStack uses {default} "
            f"in {kind} zones"
        )
    out["traffic"] = [_traffic(zone, name, t, warn) for t in pn.get("traffictypes") or []]
    providers = {}
    for p in pn.get("providers") or []:
        if p["name"] in ENABLED_PROVIDERS:
            providers[p["name"]] = "enabled"
        else:
            warn.append(
                f"physical network {zone}/{name}: skipped provider {p['name']}"
                + (f" and its {len(p['devices'])} device(s)" if p.get("devices") else "")
                + ": external devices are not modelled yet"
            )
    if providers:
        out["providers"] = providers
    return out


def _traffic(zone: str, pn: str, t: Mapping[str, Any], warn: list[str]) -> dict[str, Any]:
    ttype = _type(t)
    labels = {}
    for key, label in t.items():
        if key == "typ":
            continue
        if key.lower() in v.HYPERVISORS:
            labels[key.lower()] = label
        else:
            warn.append(
                f"traffic type {zone}/{pn}/{ttype}: skipped label '{key}: {label}' "
                "(no addTrafficType parameter for it)"
            )
    return {"type": ttype, "labels": labels} if labels else {"type": ttype}


def _range(r: Mapping[str, Any], with_vlan: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if with_vlan and r.get("vlan") not in (None, ""):
        tag = v.vlan(r["vlan"])
        if tag != v.UNTAGGED:
            out["vlan"] = tag
    out.update(
        gateway=r["gateway"],
        netmask=r["netmask"],
        start=r["startip"],
        end=r.get("endip") or r["startip"],
    )
    return out


def _pod(zone: str, p: Mapping[str, Any], warn: list[str]) -> dict[str, Any]:
    name = p["name"]
    pod: dict[str, Any] = {"name": name, "gateway": p["gateway"], "netmask": p["netmask"]}
    if p.get("startip"):
        pod["management_ranges"] = [{"start": p["startip"], "end": p.get("endip") or p["startip"]}]
    if p.get("guestIpRanges"):
        pod["guest_ranges"] = [_range(r) for r in p["guestIpRanges"]]
    for c in p.get("clusters") or []:
        hosts = len(c.get("hosts") or [])
        pools = len(c.get("primaryStorages") or [])
        warn.append(
            f"pod {zone}/{name}: skipped cluster {c.get('clustername')} "
            f"({c.get('hypervisor')}, {hosts} host(s), {pools} primary storage(s)): "
            "clusters are not modelled yet"
        )
    known = {
        "name",
        "gateway",
        "netmask",
        "startip",
        "endip",
        "guestIpRanges",
        "clusters",
        "vmwaredc",
    }
    warn.extend(
        f"pod {zone}/{name}: skipped key '{k}': not modelled by cstool" for k in p if k not in known
    )
    return pod
