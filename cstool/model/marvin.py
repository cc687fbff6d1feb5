"""Marvin deployDataCenter configs (JSON after '#' lines) -> the cstool config format.

Clusters, hosts, primary storage (cluster and zone-wide), image stores (NFS in the zone, S3
and Swift region-wide), cache (staging) stores, a VMware datacenter and zone details convert
as deployDataCenter sends them (tools/marvin/marvin/deployDataCenter.py). Credentials never
reach the YAML: each becomes an `{env: NAME}` reference, one name per distinct value, and
`Converted.notes` says which variables to set (never their values). An Advanced zone with
security groups gets deployDataCenter's shared guest network. What cstool does not model
(external devices) is reported as a warning naming each item, never dropped silently. Pure.

A Marvin file is anyone's hand-edited JSON, so every value is read through `Part`, which
knows where it is (a JSON path such as `zones[0].pods[1].gateway`): a missing name, a value
of the wrong type or a value the field's parser refuses is a CstoolError naming the file and
that path, never a KeyError or TypeError from deep inside the conversion.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cstool.errors import CstoolError
from cstool.model import secrets as secret_refs
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
    # what to do before apply (the environment variables the references name): not warnings,
    # as nothing was lost in the conversion
    notes: list[str] = field(default_factory=list)


@dataclass
class _Secrets:
    """Literal credentials of a Marvin config -> `{env: NAME}` references.

    The first distinct value of a kind of credential gets the base name (CSTOOL_HOST_PASSWORD),
    the next ones `_2`, `_3`, ... in the order they appear, so equal values share a variable.
    The notes name each variable and what uses it, never a value."""

    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (base, value) -> name
    used: dict[str, list[str]] = field(default_factory=dict)  # name -> the objects using it
    what: dict[str, str] = field(default_factory=dict)  # name -> "password of"

    def ref(self, base: str, value: str, what: str, where: str) -> dict[str, str]:
        """The reference for `value`, the `what` (e.g. "password of") `where` (host a/b/c/d)."""
        name = self.names.get((base, value))
        if name is None:
            taken = sum(1 for b, _ in self.names if b == base)
            name = base if taken == 0 else f"{base}_{taken + 1}"
            self.names[(base, value)] = name
        self.used.setdefault(name, []).append(where)
        self.what[name] = what
        return {"env": name}

    def notes(self) -> list[str]:
        out = []
        for name, users in self.used.items():
            holder = users[0] if len(users) == 1 else f"{len(users)} objects ({users[0]}, ...)"
            out.append(
                f"set {name} in the environment before apply: the {self.what[name]} "
                f"{holder} (read at apply time, never written to the config)"
            )
        return out


@dataclass
class _Infra:
    """What the compute and storage conversion adds beside a zone: the region-wide image
    stores (S3, Swift; no zone) and the secret references."""

    secrets: _Secrets = field(default_factory=_Secrets)
    region: list[dict[str, Any]] = field(default_factory=list)


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
    infra = _Infra()
    out.config["zones"] = [_zone(z, out.warnings, infra) for z in root.items("zones")]
    if infra.region:
        out.config = {"region_secondary_storage": infra.region, **out.config}
    out.notes = infra.secrets.notes()
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
        "networkofferingname",
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


def _zone(z: Part, warn: list[str], infra: _Infra) -> dict[str, Any]:
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
    zone_pools: list[dict[str, Any]] = []
    dcs: list[dict[str, Any]] = []
    sg_zone = kind == "Advanced" and sg
    zone["pods"] = [_pod(name, p, warn, infra, zone_pools, dcs, sg_zone) for p in z.items("pods")]
    _zone_infra(zone, z, warn, infra, zone_pools, dcs)
    warn.extend(
        f"zone {name}: skipped key '{k}': not modelled by cstool"
        for k in z.value
        if k not in ZONE_KEYS
    )
    return zone


def _zone_ranges(
    zone: dict[str, Any], z: Part, kind: str, sg: bool, has_public: bool, warn: list[str]
) -> None:
    name = zone["name"]
    ranges = z.items("ipranges")
    if kind == "Advanced" and sg:
        _shared_network(zone, z, ranges, warn)
    elif ranges and (kind == "Advanced" or has_public):
        zone["public_ranges"] = [_range(r, with_vlan=True) for r in ranges]
    elif ranges:
        warn.append(
            f"zone {name}: skipped {len(ranges)} public range(s): a Basic zone without "
            "Public traffic has none"
        )


SHARED_NETWORK_NAME = "Shared SG enabled network"  # deployDataCenter's name (MV:814-815)


def _shared_network(zone: dict[str, Any], z: Part, ranges: list[Part], warn: list[str]) -> None:
    """An Advanced zone with security groups: deployDataCenter creates one shared network
    named "Shared SG enabled network" on the offering `networkofferingname` (default
    DefaultSharedNetworkOfferingWithSGService, MV:804-809) with the *last* ipranges entry
    (`ipranges.pop()`, MV:819-828) and then the pods (MV:834); the other entries are never
    sent. An entry's account/domainid (createVlanIpRange, MV:333-334) are ids of the cloud
    Marvin ran on, not owners cstool can name: warned about."""
    name = zone["name"]
    if not ranges:
        return
    last = ranges[-1]
    for r in ranges[:-1]:
        warn.append(
            f"zone {name}: skipped ip range {_opt_text(r, 'startip')}-{_opt_text(r, 'endip')}: "
            "deployDataCenter uses only the last ipranges entry of a zone with security groups"
        )
    for key in ("account", "domainid"):
        if _opt_text(last, key):
            warn.append(
                f"zone {name}: skipped {key} of ip range {_opt_text(last, 'startip')}: an id of "
                "the cloud Marvin ran on; write the owner under the network's range as "
                "`dedicated:` by hand if it needs one"
            )
    rng = _range(last)
    vlan = last.get("vlan")
    net: dict[str, Any] = {"name": SHARED_NETWORK_NAME}
    offering = _opt_text(z, "networkofferingname")
    if offering:
        net["offering"] = offering
    net["vlan"] = vlan.parsed(v.vlan) if vlan is not None and vlan.value != "" else v.UNTAGGED
    net.update(gateway=rng["gateway"], netmask=rng["netmask"], start=rng["start"], end=rng["end"])
    zone["guest_networks"] = [net]


def _zone_infra(
    zone: dict[str, Any],
    z: Part,
    warn: list[str],
    infra: _Infra,
    pools: list[dict[str, Any]],
    dcs: list[dict[str, Any]],
) -> None:
    """A zone's storage, VMware datacenter and details (deployDataCenter.deploy: cache stores,
    then image stores, then zone-wide pools, then updateZone details, MV:833-849). Each key is
    written only when the Marvin zone has entries, so a zone without any does not opt in to
    compute and storage management."""
    name = zone["name"]
    details = z.get("details")
    if details is not None and _pairs(details):
        zone["details"] = dict(_pairs(details))
    vmwaredc = z.get("vmwaredc")
    if vmwaredc is not None:
        _vmware_dc(name, vmwaredc, infra, dcs)
    if dcs:
        zone["vmware_datacenters"] = dcs
    staging = [_staging(name, c, warn, infra) for c in z.items("cacheStorages")]
    if staging:
        zone["staging_storage"] = staging
    stores = [_image_store(name, s, warn, infra) for s in z.items("secondaryStorages")]
    in_zone = [store for store in stores if store is not None]
    if in_zone:
        zone["secondary_storage"] = in_zone
    pools.extend(
        _pool(f"{name}", p, warn, infra, zone_wide=True) for p in z.items("primaryStorages")
    )
    if pools:
        zone["primary_storage"] = pools


def _pairs(details: Part) -> list[tuple[str, Any]]:
    """Marvin's details: an object {name: value}, or a list of {key, value} objects (or of
    objects whose every member is a detail); [] and {} are none (MV:265-267, 370-375)."""
    if isinstance(details.value, dict):
        return [(str(k), _detail_value(details.child(k))) for k in details.value]
    if not isinstance(details.value, list):
        details.fail(f"expected an object or a list, not {_what(details.value)}")
    out: list[tuple[str, Any]] = []
    for item in (details.child(i).obj() for i in range(len(details.value))):
        if set(item.value) == {"key", "value"}:
            out.append((item.need("key").name(), _detail_value(item.child("value"))))
        else:
            out.extend((str(k), _detail_value(item.child(k))) for k in item.value)
    return out


def _detail_value(part: Part) -> str:
    """A detail's value as the API sends it: text; JSON true/false as "true"/"false"."""
    if isinstance(part.value, bool):
        return "true" if part.value else "false"
    if part.value is None:
        return ""
    return part.text()


def _secret_details(
    pairs: list[tuple[str, Any]], base: str, where: str, infra: _Infra
) -> dict[str, Any]:
    """Details with every credential-named value (secretkey, accesskey, password, Swift's
    key) replaced by a reference."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if secret_refs.is_credential_key(key) and value:
            env = f"{base}_{_env_part(key)}"
            out[key] = infra.secrets.ref(env, value, f"{key} of", where)
        else:
            out[key] = value
    return out


def _env_part(text: str) -> str:
    """A piece of an environment variable name: letters, digits and _, in upper case."""
    return "".join(c if c.isalnum() else "_" for c in text).upper()


def _vmware_dc(zone: str, dc: Part, infra: _Infra, dcs: list[dict[str, Any]]) -> None:
    """vmwaredc {name, vcenter, username, password}. The real configs carry one with every
    value empty (advanced.cfg, advdualzone.cfg): that is no datacenter and is dropped."""
    dc.obj()
    if not any(dc.value.values()):
        return
    name = dc.need("name").name()
    if any(d["name"] == name for d in dcs):
        return  # the same datacenter named again (pod and zone)
    out: dict[str, Any] = {"name": name, "vcenter": dc.need("vcenter").name()}
    username = _opt_text(dc, "username")
    if username:
        out["username"] = username
    password = _opt_text(dc, "password")
    if password:
        where = f"VMware datacenter {zone}/{name}"
        out["password"] = infra.secrets.ref(
            "CSTOOL_VCENTER_PASSWORD", password, "password of", where
        )
    dcs.append(out)


def _staging(zone: str, c: Part, warn: list[str], infra: _Infra) -> dict[str, Any]:
    """cacheStorages[] -> staging_storage (createSecondaryStagingStore url provider details,
    MV:391-411); the store's identity is its URL (the server names it so, SM:4345)."""
    url = c.need("url").name()
    out: dict[str, Any] = {"url": url}
    provider = _opt_text(c, "provider")
    if provider and provider.upper() != "NFS":
        out["provider"] = provider
    details = c.get("details")
    pairs = _pairs(details) if details is not None else []
    if pairs:
        out["details"] = _secret_details(pairs, "CSTOOL_STAGING", f"staging store {url}", infra)
    _skipped_keys(f"zone {zone}: staging store {url}", c, ("url", "provider", "details"), warn)
    return out


REGION_PROVIDERS = ("S3", "Swift")


def _image_store(zone: str, s: Part, warn: list[str], infra: _Infra) -> dict[str, Any] | None:
    """secondaryStorages[] (addImageStore, MV:362-387): NFS and SMB go into the zone (SMB is
    a cifs URL on the NFS provider: DataStoreProvider.SMB is "NFS", DataStoreProvider.java:30,
    and StorageManagerImpl.discoverImageStore takes an unknown name as NFS); S3 and Swift are
    region-wide
    (deployDataCenter sends no zoneid for them) and go to `region_secondary_storage`."""
    provider = _opt_text(s, "provider") or "NFS"
    details = s.get("details")
    pairs = _pairs(details) if details is not None else []
    region = next((p for p in REGION_PROVIDERS if p.lower() == provider.lower()), None)
    if region is not None:
        _region_store(region, s, pairs, infra)
        return None
    url = s.need("url").name()
    out: dict[str, Any] = {"name": url, "url": url}
    if pairs and provider.upper() == "SMB":
        where = f"image store {zone}/{url}"
        out["details"] = _secret_details(pairs, "CSTOOL_SMB", where, infra)
    elif pairs:
        warn.append(
            f"zone {zone}: image store {url}: skipped its details (deployDataCenter sends "
            "details only for S3, Swift and SMB stores)"
        )
    _skipped_keys(
        f"zone {zone}: image store {url}", s, ("url", "provider", "details", "name"), warn
    )
    return out


def _region_store(provider: str, s: Part, pairs: list[tuple[str, Any]], infra: _Infra) -> None:
    """An S3 or Swift store: named by its URL, else provider and bucket; the same store listed
    by several zones is one region-wide store."""
    url = _opt_text(s, "url")
    bucket = dict(pairs).get("bucket")
    name = _opt_text(s, "name") or url or f"{provider.lower()}-{bucket or 'store'}"
    if any(r["name"] == name for r in infra.region):
        return
    out: dict[str, Any] = {"name": name, "provider": provider}
    if url:
        out["url"] = url
    where = f"{provider} store {name}"
    out["details"] = _secret_details(pairs, f"CSTOOL_{provider.upper()}", where, infra)
    infra.region.append(out)


def _skipped_keys(where: str, part: Part, known: tuple[str, ...], warn: list[str]) -> None:
    warn.extend(
        f"{where}: skipped key '{k}': not modelled by cstool" for k in part.value if k not in known
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


def _pod(
    zone: str,
    p: Part,
    warn: list[str],
    infra: _Infra,
    zone_pools: list[dict[str, Any]],
    dcs: list[dict[str, Any]],
    sg: bool = False,
) -> dict[str, Any]:
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
    if guest and sg:
        # deployDataCenter sends them with the pod's id (MV:313-315, 340), which
        # createVlanIpRange takes only in a Basic zone (ConfigurationManagerImpl:5276-5279)
        warn.append(
            f"pod {zone}/{name}: skipped {len(guest)} guestIpRanges: pod guest ranges are for "
            "Basic zones; in a zone with security groups write them as ranges of the shared "
            "network (guest_networks)"
        )
    elif guest:
        pod["guest_ranges"] = [_range(r) for r in guest]
    vmwaredc = p.get("vmwaredc")
    if vmwaredc is not None and isinstance(vmwaredc.value, dict):
        _vmware_dc(zone, vmwaredc, infra, dcs)  # deployDataCenter reads the pod's (MV:317)
    clusters = [_cluster(f"{zone}/{name}", c, warn, infra, zone_pools) for c in p.items("clusters")]
    if clusters:
        pod["clusters"] = clusters
    warn.extend(
        f"pod {zone}/{name}: skipped key '{k}': not modelled by cstool"
        for k in p.value
        if k not in POD_KEYS
    )
    return pod


CLUSTER_KEYS = (
    "clustername",
    "hypervisor",
    "clustertype",
    "url",
    "username",
    "password",
    "hosts",
    "primaryStorages",
    "zoneid",
    "podid",
)


def _cluster(
    pod: str, c: Part, warn: list[str], infra: _Infra, zone_pools: list[dict[str, Any]]
) -> dict[str, Any]:
    """clusters[] (deployDataCenter.createClusters, MV:191-233): addCluster, its hosts (none
    for VMware: vCenter discovers them), then its pools; a pool with scope zone is zone-wide."""
    name = c.need("clustername").name()
    where = f"{pod}/{name}"
    hypervisor = c.need("hypervisor").parsed(v.hypervisor)
    out: dict[str, Any] = {"name": name, "hypervisor": hypervisor}
    ctype = _opt_text(c, "clustertype")
    if ctype:
        out["type"] = ctype
    _cluster_credentials(out, where, c, warn, infra)
    hosts = c.items("hosts")
    if hypervisor == "VMware" and hosts:
        warn.append(
            f"cluster {where}: skipped {len(hosts)} host(s): deployDataCenter adds no host to "
            "a VMware cluster (vCenter's hosts are discovered)"
        )
    elif hosts:
        out["hosts"] = [_host(where, hypervisor, h, warn, infra) for h in hosts]
    pools = []
    for p in c.items("primaryStorages"):
        scope = _opt_text(p, "scope") or ""
        if scope.lower() == "zone":
            zone_pools.append(
                _pool(pod.split("/")[0], p, warn, infra, zone_wide=True, hv=hypervisor)
            )
        else:
            pools.append(_pool(where, p, warn, infra))
    if pools:
        out["primary_storage"] = pools
    _skipped_keys(f"cluster {where}", c, CLUSTER_KEYS, warn)
    return out


def _cluster_credentials(
    out: dict[str, Any], where: str, c: Part, warn: list[str], infra: _Infra
) -> None:
    """url, username and password: read by addCluster for VMware (ExternalManaged) only;
    the server ignores them for other clusters (ResourceManagerImpl.discoverCluster)."""
    given = {k: _opt_text(c, k) for k in ("url", "username", "password")}
    if out["hypervisor"] != "VMware":
        if any(given.values()):
            shown = ", ".join(k for k, value in given.items() if value)
            warn.append(
                f"cluster {where}: skipped {shown}: CloudStack reads them only for VMware clusters"
            )
        return
    if given["url"]:
        out["url"] = given["url"]
    if given["username"]:
        out["username"] = given["username"]
    if given["password"]:
        out["password"] = infra.secrets.ref(
            "CSTOOL_VCENTER_PASSWORD", given["password"], "password of", f"cluster {where}"
        )


HOST_KEYS = (
    "url",
    "username",
    "password",
    "hosttags",
    "allocationstate",
    "hypervisor",  # deployDataCenter sends the cluster's (MV:137)
    "zoneid",
    "podid",
    "clusterid",
    "clustername",
)


def host_name(url: str, hypervisor: str) -> str:
    """A host's name from its addHost URL. The server names a Simulator host
    SimulatedAgent.<uuid> (MockAgentManagerImpl.createServerResources), so cstool renames it:
    the URL's authority and path joined by '-' (http://sim/c0/h0 -> sim-c0-h0), unique
    where the URL is. Other hosts keep the name their agent reports, the URL's host."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if hypervisor == "Simulator":
        pieces = [parts.netloc, *(s for s in parts.path.split("/") if s)]
        return "-".join(pieces)
    return parts.hostname or url


def _host(cluster: str, hypervisor: str, h: Part, warn: list[str], infra: _Infra) -> dict[str, Any]:
    """hosts[] (deployDataCenter.addHosts, MV:118-153)."""
    given = h.need("url")
    url = given.parsed(v.url)
    name = given.parsed(lambda _: host_name(url, hypervisor))  # urlsplit refuses some URLs
    where = f"{cluster}/{name}"
    out: dict[str, Any] = {"name": name, "url": url}
    username = _opt_text(h, "username")
    if username:
        out["username"] = username
    password = _opt_text(h, "password")
    if password:
        out["password"] = infra.secrets.ref(
            "CSTOOL_HOST_PASSWORD", password, "password of", f"host {where}"
        )
    tags = _tags(h.get("hosttags"))
    if tags:
        out["tags"] = tags
    if _opt_text(h, "allocationstate"):
        warn.append(
            f"host {where}: skipped allocationstate: addHost ignores it (a new host is "
            "Enabled); write `state: disabled` to disable it after the add"
        )
    _skipped_keys(f"host {where}", h, HOST_KEYS, warn)
    return out


def _tags(part: Part | None) -> list[str]:
    """Tags as Marvin writes them: a csv string or a list."""
    if part is None:
        return []
    items = part.texts() if isinstance(part.value, list) else part.text().split(",")
    return [t.strip() for t in items if t.strip()]


POOL_KEYS = ("name", "url", "tags", "details", "scope", "hypervisor")


def _pool(
    where: str,
    p: Part,
    warn: list[str],
    infra: _Infra,
    zone_wide: bool = False,
    hv: str | None = None,
) -> dict[str, Any]:
    """primaryStorages[] (deployDataCenter.createPrimaryStorages, MV:255-290): name, url,
    tags, details (name form), and for zone scope a hypervisor (the pool's, else its
    cluster's). The URL is kept as written (validate and diff read `nfs://h:/path`); a
    password in its user-info becomes the pool's `secret`."""
    name = p.need("name").name()
    place = f"{where}/{name}"
    url = p.need("url").name()
    out: dict[str, Any] = {"name": name, "url": url}
    _pool_secret(out, url, place, infra)
    tags = _tags(p.get("tags"))
    if tags:
        out["tags"] = tags
    details = p.get("details")
    pairs = _pairs(details) if details is not None else []
    if pairs:
        out["details"] = _secret_details(pairs, "CSTOOL_POOL", f"primary storage {place}", infra)
    if zone_wide:
        given = p.get("hypervisor")
        hypervisor = given.parsed(v.pool_hypervisor) if given is not None else hv
        if hypervisor:
            out["hypervisor"] = hypervisor
    _skipped_keys(f"primary storage {place}", p, POOL_KEYS, warn)
    return out


def _pool_secret(out: dict[str, Any], url: str, place: str, infra: _Infra) -> None:
    """rbd://admin:SECRET@mon/pool -> url rbd://admin@mon/pool and secret {env: ...}."""
    from urllib.parse import urlsplit, urlunsplit

    if not secret_refs.url_password(url):
        return
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    out["url"] = urlunsplit(parts._replace(netloc=f"{parts.username or ''}@{host}"))
    password = parts.password or ""
    out["secret"] = infra.secrets.ref(
        "CSTOOL_POOL_SECRET", password, "secret of", f"primary storage {place}"
    )
