"""Every field of every kind converges: set it, change it, remove it, apply, plan is empty.

Generated from the kinds table: a field added to a kind is covered without a new test, as
long as its parser has a value generator below (the coverage test fails otherwise). Each
edit starts from an example config applied to the simulator; an edit that `validate`
refuses, or that `plan` refuses with a located message before anything is applied (a pool
the server could not delete), is the config not allowing it (counted, not applied); any
other edit must apply cleanly and leave nothing to do.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import copy
import ipaddress
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cstool import ops
from cstool.cloud.api import Api, sim_target
from cstool.errors import ConfigInvalid
from cstool.model import details, secrets
from cstool.model import values as v
from cstool.model.kinds import KINDS, Field, Kind
from cstool.simulator.transport import _SHARED, Simulator
from tests.conftest import CONFIGS, DATA
from tests.secrets import EXAMPLE_NAMES, VALUES

BASES = {
    "lab": CONFIGS / "lab" / "lab.yaml",
    "basic": CONFIGS / "basic" / "basic.yaml",
    "compute": CONFIGS / "compute" / "zone.yaml",
    # S3 and Swift stores are region-wide, and a cloud's image stores share one provider
    # (StorageManagerImpl.discoverImageStore, SM:3938-3944): no example beside a zone's NFS
    # store can hold one, so region_image_store starts from this small valid config
    "region": DATA / "configs" / "valid" / "region-image-store.yaml",
    "network": CONFIGS / "network" / "network.yaml",
}
# the domains, accounts and projects the owner edits name, given to every base's simulator
# (cstool references owners, never makes them): ROOT and its admin are there already
OWNERS = {
    "ROOT": ("ops",),
    "ROOT/customers": ("admin", "ops"),
}
PROJECTS = {"ROOT": ("web", "web2"), "ROOT/customers": ("web", "web2")}
S3_SECRET = "CSTOOL_TEST_S3_SECRET"  # what region-image-store.yaml references


def _disabled(doc: Any) -> Any:
    """The zones disabled: the server runs no system VMs in them (SecondaryStorageManagerImpl
    .getScannablePools -> listEnabledNonEdgeZoneIds), so a pool can be replaced there, which
    plan refuses where system VM volumes may be on it (SM.deleteDataStoreInternal)."""
    out = copy.deepcopy(doc)
    for zone in out.get("zones", []):
        zone["enabled"] = False
    return out


def _dedication_alone(doc: Any) -> Any:
    """No pod or host dedication under a dedicated zone or cluster: the outer owner can then
    change (a dedication must stay inside its ancestors', DedicatedResourceManagerImpl
    .dedicatePod/dedicateHost)."""
    out = copy.deepcopy(doc)
    for zone in out.get("zones", []):
        for pod in zone.get("pods", []):
            pod.pop("dedicated", None)
            for cluster in pod.get("clusters", []):
                for host in cluster.get("hosts", []):
                    host.pop("dedicated", None)
    return out


def _to_projects(doc: Any) -> Any:
    """The public range and guest VLAN dedications to a project instead of an account (the
    two dedications whose commands take a projectid)."""
    out = copy.deepcopy(doc)
    for zone in out.get("zones", []):
        owned = [r.get("dedicated") for r in zone.get("public_ranges", [])]
        for pn in zone.get("physical_networks", []):
            owned += pn.get("dedicated_vlan_ranges", [])
        for owner in owned:
            if isinstance(owner, dict) and owner.pop("account", None):
                owner["project"] = "web"
    return out


# bases made from another one's document, tried after the bases above
DERIVED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "compute-disabled": ("compute", _disabled),
    "compute-dedication-alone": ("compute", _dedication_alone),
    "network-dedication-alone": ("network", _dedication_alone),
    "network-projects": ("network", _to_projects),
}


def _document(base: str) -> Any:
    if base in DERIVED:
        source, change = DERIVED[base]
        return change(_document(source))
    return yaml.safe_load(BASES[base].read_text())


REMOVE = object()  # the edit that drops the field from the config


# --- where a kind's first entry lives in a config document -----------------------------


def _chain(kind: Kind) -> list[Kind]:
    """The kinds from the top level down to `kind`."""
    out = [kind]
    while out[0].parent is not None:
        out.insert(0, KINDS[out[0].parent])
    return out


@dataclass
class Spot:
    """One entry of a kind in a document: its container and the key or index in it."""

    holder: Any  # a list of mappings (list style) or a mapping (map style)
    at: Any

    def entry(self) -> Any:
        return self.holder[self.at]


def _spots(doc: Any, chain: list[Kind]) -> Iterator[Spot]:
    head, rest = chain[0], chain[1:]
    holder = doc.get(head.container) if isinstance(doc, dict) else None
    if not holder:
        return
    if head.style == "one":  # a single mapping: the entry is the container's value
        if isinstance(holder, dict) and not rest:
            yield Spot(doc, head.container)
        return
    indexes = list(holder) if head.style == "map" else range(len(holder))
    for at in indexes:
        if not rest:
            yield Spot(holder, at)
        elif isinstance(holder[at], dict):
            yield from _spots(holder[at], rest)


def _all_spots(kind: Kind) -> Iterator[tuple[str, list[int | str]]]:
    """(base name, path of container keys/indexes) of every entry of `kind`."""
    for base in [*BASES, *DERIVED]:
        doc = _document(base)
        for spot in _spots(doc, _chain(kind)):
            yield base, _locate(doc, spot)


def _locate(doc: Any, spot: Spot) -> list[int | str]:
    """A path of keys/indexes from the document to the spot's holder, then its key."""

    def walk(node: Any, trail: list[int | str]) -> list[int | str] | None:
        if node is spot.holder:
            return [*trail, spot.at]
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, child in items:
            if isinstance(child, dict | list):
                found = walk(child, [*trail, k])
                if found is not None:
                    return found
        return None

    found = walk(doc, [])
    assert found is not None
    return found


# --- value generators, by parser --------------------------------------------------------


def _subnet(entry: dict[str, Any], parent: dict[str, Any]) -> ipaddress.IPv4Network:
    owner = entry if "gateway" in entry else parent
    return v.network_of(str(owner["gateway"]), v.netmask(owner["netmask"]))


def _ipv4(f: Field, entry: dict[str, Any], parent: dict[str, Any]) -> list[Any]:
    net = _subnet(entry, parent)
    if f.name == "end":
        start = ipaddress.IPv4Address(entry["start"])
        return [str(start + 2), str(start + 5)]
    if f.name == "gateway":
        return [str(net.broadcast_address - 1), str(net.broadcast_address - 2)]
    raise LookupError(f"no IPv4 generator for {f.name}")


def _ipv6(f: Field, entry: dict[str, Any], parent: dict[str, Any]) -> list[Any]:
    """Inside the prefix (the entry's, else its network's), in order with the other end;
    none where the entry has no IPv6 (another spot has)."""
    prefix = entry.get("ip6_cidr") or (parent.get("ip6_cidr") if isinstance(parent, dict) else None)
    if not prefix or (f.name != "ip6_gateway" and "start_v6" not in entry):
        return []
    net = ipaddress.IPv6Network(prefix)
    if f.name == "ip6_gateway":
        return [str(net[2]), str(net[3])]
    start = ipaddress.IPv6Address(entry["start_v6"])
    if f.name == "start_v6":
        return [str(start + 0x10), str(start + 0x20)]
    return [str(start + 0x80), str(start + 0x90)]  # end_v6


def _ipv6_prefix(f: Field, entry: dict[str, Any], _parent: Any) -> list[Any]:
    """The same prefix written in other forms: fully expanded, then in capitals (the server
    stores what it is sent; cstool compares canonical forms)."""
    if f.name not in entry:
        return []  # another spot has one
    net = ipaddress.IPv6Network(entry[f.name])
    return [f"{net.network_address.exploded}/{net.prefixlen}", str(net).upper()]


def _vlan(f: Field, entry: Any, parent: Any) -> list[Any]:
    """Another VLAN; a shared network's range may only repeat its network's."""
    own = [parent["vlan"]] if isinstance(parent, dict) and "ranges" in parent else []
    return [*own, 123, 124, "untagged"]


def _setting(f: Field, entry: Any, _parent: Any) -> list[Any]:
    current = entry[f.name]
    if isinstance(current, bool):
        return [not current, current]
    if isinstance(current, int) or str(current).isdigit():
        return [int(current) + 1, int(current) + 2]
    return [f"{current}-1", f"{current}-2"]


def _text(f: Field, entry: Any, _parent: Any) -> list[Any]:
    by_name = {
        "domain": ["a.example.org", "b.example.org"],
        "speed": ["1G", "40G"],
        "vcenter": ["vc2.example.com", "vc3.example.com"],
        "username": ["admin", "operator"],
        # a provider's names are case-sensitive (DataStoreProviderManagerImpl.providerMap)
        # and a zone has one of each kind: the same one, then a name no provider has
        "provider": [entry.get(f.name), "NoSuchProvider"],
        "account": ["ops", "admin"],
        "project": ["web2", "web"],
        # an SG zone's shared networks take the SG offering (NetworkOrchestrator
        # .createGuestNetwork:2814-2827): its name as listed, then one without SG
        "offering": [entry.get(f.name), "DefaultSharedNetworkOffering"],
        "physical_network": [entry.get(f.name), "no-such-network"],
    }
    return by_name[f.name]


def _url(f: Field, entry: Any, _parent: Any) -> list[Any]:
    """Another path on the same server (a host's, a store's or a pool's)."""
    current = str(entry.get(f.name) or "http://vc.example.com/dc1/c1")
    return [f"{current.rstrip('/')}-{n}" for n in (1, 2)]


def _count(f: Field, entry: Any, _parent: Any) -> list[Any]:
    current = int(entry.get(f.name) or 1024)
    return [current * 2, str(current * 4)]


def _secret(f: Field, entry: Any, _parent: Any) -> list[Any]:
    """References to the secrets every test run sets (tests/conftest.py)."""
    return [{"env": name} for name in EXAMPLE_NAMES if {"env": name} != entry.get(f.name)]


def _details(f: Field, entry: Any, _parent: Any) -> list[Any]:
    """The entry's plain details with changed values (references kept), then one more."""
    current = dict(entry.get(f.name) or {})
    changed = {k: w if isinstance(w, dict) else f"{w}1" for k, w in current.items()}
    changed = changed or {"cstool.note": "a"}
    return [changed, {**changed, "cstool.note": "b"}]


def _list(f: Field, _entry: Any, _parent: Any) -> list[Any]:
    by_name = {
        "dns": [["192.0.2.60"], ["192.0.2.60", "192.0.2.61"]],
        "internal_dns": [["10.0.0.60"], ["10.0.0.60", "10.0.0.61"]],
        "tags": [["t1"], ["t2"]],
        "ip6_dns": [["2001:db8::60"], ["2001:db8::60", "2001:db8::61"]],
    }
    return by_name[f.name]


GENERATORS: dict[Any, Callable[[Field, Any, Any], list[Any]]] = {
    v.ipv4: _ipv4,
    v.netmask: lambda f, e, p: ["255.255.255.128", "255.255.254.0"],
    v.boolean: lambda f, e, p: [e.get(f.name) is False, e.get(f.name) is not False],
    v.vlan: _vlan,
    v.vlan_id: lambda f, e, p: [int(e[f.name]) + 10, int(e[f.name]) - 10],
    v.ipv6: _ipv6,
    v.ipv6_cidr: _ipv6_prefix,
    v.domain_path: lambda f, e, p: ["ROOT/customers", "ROOT"],
    v.text: _text,
    v.isolation: lambda f, e, p: ["VXLAN", "GRE", "VLAN"],
    v.cidr: lambda f, e, p: ["10.2.0.0/16", "10.3.0.0/16"],
    v.vlan_ranges: lambda f, e, p: [["600-650"], ["600-650", "700-710"]],
    v.labels: lambda f, e, p: [{"kvm": "cloudbr9"}, {"kvm": "cloudbr9", "xen": "xenbr9"}],
    v.setting_value: _setting,
    v.url: _url,
    v.pool_url: _url,
    v.count: _count,
    v.host_tags: lambda f, e, p: [["t1"], ["t1", "t2"]],
    secrets.parse: _secret,
    details.parse: _details,
}


def _generator(f: Field) -> Callable[[Field, Any, Any], list[Any]]:
    if f.parse in GENERATORS:
        return GENERATORS[f.parse]
    if hasattr(f.parse, "choices"):  # one_of, then each choice in another case
        return lambda f, e, p: [*f.parse.choices, *(c.swapcase() for c in f.parse.choices)]
    if "str_list" in getattr(f.parse, "__qualname__", ""):
        return _list
    raise LookupError(f"no value generator for {f.parse!r}")


# --- the edits ---------------------------------------------------------------------------

FIELDS = [(kind, f) for kind in KINDS.values() if not kind.implicit for f in kind.fields]


def _edits(kind: Kind, f: Field, doc: Any, path: list[int | str]) -> list[Any]:
    """The values to set one after another, then the removal where the config allows it."""
    holder = _at(doc, path[:-1])
    parent = _at(doc, path[:-2]) if len(path) >= 2 else {}
    if kind.style == "map":
        current = holder[path[-1]]
        values = _generator(f)(f, {f.name: _plain(current)}, parent)
        return [x for x in values if x != _plain(current)][:2]
    entry = holder[path[-1]]
    values = _generator(f)(f, entry, parent)
    values = [x for x in values if x != entry.get(f.name)][:2]
    # blank values must round-trip or be refused by validate, never half-apply
    blank = [[]] if f.json_type.get("type") == "array" else [""] if _is_text(f) else []
    return [*values, *blank, REMOVE] if not f.required else [*values, *blank]


def _is_text(f: Field) -> bool:
    return f.json_type.get("type") == "string" or "string" in f.json_type.get("type", ())


def _plain(value: Any) -> Any:
    """A map-style value as the generators see it (providers write enabled/disabled)."""
    return (
        {"enabled": True, "disabled": False}.get(value, value) if isinstance(value, str) else value
    )


def _at(doc: Any, path: list[int | str]) -> Any:
    node = doc
    for k in path:
        node = node[k]
    return node


def _edit(doc: Any, kind: Kind, f: Field, path: list[int | str], value: Any) -> Any:
    out = copy.deepcopy(doc)
    holder = _at(out, path[:-1])
    if kind.style == "map":
        holder[path[-1]] = value
    elif value is REMOVE:
        holder[path[-1]].pop(f.name, None)
    else:
        holder[path[-1]][f.name] = value
    return out


@pytest.fixture(scope="module", autouse=True)
def _s3_secret() -> Iterator[None]:
    """The secret the region base references, set as an operator sets it (tests/secrets.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(S3_SECRET, VALUES[S3_SECRET])
        yield


def _give_owners(state: Path) -> None:
    sim = Simulator(state)
    try:
        for path, accounts in OWNERS.items():
            for account in accounts:
                sim.add_account(path, account)
        for path, projects in PROJECTS.items():
            for project in projects:
                sim.add_project(path, project)
    finally:
        sim.close()


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each base config applied once to a simulator; edits start from a copy of its state."""
    out = {}
    for name in [*BASES, *DERIVED]:
        folder = tmp_path_factory.mktemp(name)
        state, path = folder / "sim.json", folder / "base.yaml"
        path.write_text(yaml.safe_dump(_document(name), sort_keys=False))
        _give_owners(state)
        api = Api(sim_target(state))
        plan, live = ops.plan(api, ops.desired_state([path]).state)
        assert ops.apply(api, plan, live).ok
        _SHARED[state.resolve()].store.flush()
        out[name] = state
    return out


def _converge(api: Api, config: Path) -> str | None:
    """Apply the config; None when it applied and the next plan is empty, else why not."""
    checked = ops.check_config([config])
    if checked.errors:
        return "rejected"
    try:
        plan, live = ops.plan(api, checked.state)
    except ConfigInvalid as refused:  # refused against the live cloud, before any call
        assert refused.problems and all(p.origin for p in refused.problems), refused.problems
        return "rejected"
    report = ops.apply(api, plan, live, parallelism=1)
    if not report.ok:
        failed = [r for r in report.results if r.error]
        return f"apply failed: {[(r.step.key, r.error) for r in failed]}"
    again, _ = ops.plan(api, checked.state)
    if not again.empty:
        return f"does not converge: {[(s.title, str(s.key), s.fields) for s in again.steps]}"
    return None


# Fields that no example can change and stay valid: the shape of the zone depends on them.
FIXED_BY_SHAPE = {
    "zone.network_type": "Basic and Advanced zones differ in every part (traffic, ranges)",
    "zone.security_groups": "Basic zones always have them; Advanced-SG zones have no public side",
    "physical_network.broadcast_domain_range": "Advanced zones take only ZONE, Basic only POD",
    # RM.updateCluster would take another hypervisor without checks, but the cluster's hosts
    # (Simulator agent URLs, one address) and its pool's nfsmountopts (KVM and Simulator
    # only) are the Simulator's: validate refuses them under any other hypervisor
    "cluster.hypervisor": "its hosts and pools are made for the hypervisor they run",
    "shared_network.physical_network": "the example's SG zone has one physical network",
}


def _edit_chain(
    kind: Kind, f: Field, base: str, path: list[int | str], state: Path, tmp_path: Path
) -> list[tuple[str, str | None]]:
    """Apply each edit of the field at one spot in turn; (edit, None | "rejected")."""
    doc = _document(base)
    api = Api(sim_target(state))
    outcomes: list[tuple[str, str | None]] = []
    for value in _edits(kind, f, doc, path):
        edited = _edit(doc, kind, f, path, value)
        config = tmp_path / f"{base}.yaml"
        config.write_text(yaml.safe_dump(edited, sort_keys=False))
        result = _converge(api, config)
        shown = "remove" if value is REMOVE else repr(value)
        where = f"{kind.name}.{f.name} at {base}{path}"
        assert result is None or result == "rejected", f"{where} = {shown}: {result}"
        outcomes.append((shown, result))
        if result is None:
            doc = edited
    return outcomes


@pytest.mark.parametrize(("kind", "f"), FIELDS, ids=[f"{k.name}.{f.name}" for k, f in FIELDS])
def test_field_converges_when_set_changed_and_removed(
    kind: Kind, f: Field, applied: dict[str, Path], tmp_path: Path
) -> None:
    spots = list(_all_spots(kind))
    assert spots, f"no example config has a {kind.name}: add one to configs/"
    tried = []
    for i, (base, path) in enumerate(spots):
        state = tmp_path / f"sim{i}.json"
        shutil.copy(applied[base], state)
        outcomes = _edit_chain(kind, f, base, path, state, tmp_path)
        tried.append((base, path, outcomes))
        if any(r is None and shown != "remove" for shown, r in outcomes):
            return  # a value was set, changed (and removed where allowed) and converged
    name = f"{kind.name}.{f.name}"
    assert name in FIXED_BY_SHAPE, f"{name}: no generated value was accepted anywhere: {tried}"


def test_fields_fixed_by_shape_are_real_fields() -> None:
    names = {f"{k.name}.{f.name}" for k, f in FIELDS}
    assert set(FIXED_BY_SHAPE) <= names
