"""Every config that validates converges: random combinations of edits to the examples.

tests/test_convergence.py edits one field at a time; here hypothesis draws several edits at
once (values, removals, copied and dropped entries, renames) on the example configs. For
every result that `validate` accepts: plan does not crash, apply on the in-process simulator
succeeds (a refusal means validation missed a server rule: a failure to fix in
cstool/model/validate.py), and the next plan is empty. Results that do not validate are
simply not applied. Derandomized, so CI runs the same examples every time.

The edit machinery (`documents`) is also used by tests/test_fuzz.py with wilder values.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cstool import ops
from cstool.cloud.api import Api, sim_target
from cstool.errors import ConfigInvalid
from tests.conftest import CONFIGS, EXAMPLES

Doc = Any
Files = dict[str, Doc]  # file name -> document
Trail = tuple[Any, ...]  # keys and indexes from a document's top to a value

EXAMPLE_FILES: dict[str, Files] = {
    example.name: {p.name: yaml.safe_load(p.read_text()) for p in sorted(example.glob("*.yaml"))}
    for example in EXAMPLES
}
REMOVE = object()

# --- plausible values by key: what an operator might write (valid or nearly so) ----------

BOOLS = [True, False]
PLAUSIBLE: dict[str, list[Any]] = {
    "netmask": ["255.255.255.0", "255.255.255.128", "255.255.254.0", "/24", 25],
    "vlan": [11, 20, 30, 50, 100, 101, 123, 4094, "untagged"],
    "dns": [["192.0.2.60"], ["192.0.2.60", "192.0.2.61"]],
    "internal_dns": [["10.0.0.60"], ["10.0.0.60", "10.0.0.61"]],
    "tags": [["guest"], ["t1"], ["t2"], []],
    "isolation": ["VLAN", "VXLAN", "GRE", "L3", "STT", "vlan"],
    "vlan_ranges": [["500-899"], ["600-650"], ["600-650", "700-710"], ["1000-1099"], "2000-2010"],
    "labels": [{"kvm": "cloudbr9"}, {"kvm": "cloudbr0", "xen": "xenbr0"}, {}, {"kvm": ""}],
    "enabled": BOOLS,
    "security_groups": BOOLS,
    "local_storage": BOOLS,
    "for_system_vms": BOOLS,
    "network_type": ["Advanced", "Basic"],
    "broadcast_domain_range": ["ZONE", "POD"],
    "speed": ["1G", "10G", "40G"],
    "domain": ["a.example.org", "lab.cloud.example"],
    "guest_cidr": ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/24"],
    "type": ["Management", "Guest", "Public", "Storage"],
}
PROVIDER_STATES = ["enabled", "disabled"]
PROVIDERS = ["VirtualRouter", "VpcVirtualRouter", "InternalLbVm", "SecurityGroupProvider"]
SETTINGS = {  # global settings with values of their type
    "check.pod.cidrs": [True, False],
    "expunge.delay": [60, 61, 120],
    "network.throttling.rate": [200, 1000],
    "vm.network.throttling.rate": [200, 300],
}
ZONE_SETTINGS = {"network.throttling.rate": [200, 1000], "use.external.dns": [True, False]}

# --- wild values: what a careless or hostile edit writes ------------------------------------

WILD = [
    None,
    "",
    " ",
    ",",
    "a,b",
    [],
    [""],
    [","],
    ["a,b"],
    {},
    0,
    -1,
    4095,
    16777215,
    "010",
    "yes",
    "off",
    "12:30",
    "0x1F",
    "0.0.0.0",
    "255.255.255.255",
    "0",
    "/0",
    "/32",
    "VLAN,GRE",
    "vlan://5",
    "1-0",
    [1, 2],
    {"a": 1},
    "x" * 300,
    "Lab1",
    "LAB1",
    "\u00e9t\u00e9",
    "\t",
    1.5,
    True,
]


# --- walking a document ------------------------------------------------------------------


def spots(doc: Doc, trail: Trail = ()) -> Iterator[Trail]:
    """Every place of a document a value sits at (mapping members and list items)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*trail, key)
            yield from spots(value, (*trail, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield (*trail, i)
            yield from spots(value, (*trail, i))


def at(doc: Doc, trail: Trail) -> Any:
    for key in trail:
        doc = doc[key]
    return doc


def _near_ip(value: Any) -> list[str]:
    """Addresses an operator would write instead: neighbours, the subnet's edges."""
    try:
        addr = ipaddress.IPv4Address(str(value))
    except ValueError:
        return []
    net = ipaddress.IPv4Network(f"{addr}/24", strict=False)
    out = [addr + d for d in (1, 2, 5, 20, -1, -5) if int(addr) + d in range(2**32)]
    out += [net.network_address, net.broadcast_address - 1, net.network_address + 1]
    return [str(a) for a in out]


def plausible(trail: Trail, current: Any) -> list[Any]:
    """Values for the spot at trail: by its key, or by what holds it (settings, providers)."""
    key = trail[-1]
    parent = trail[-2] if len(trail) > 1 else None
    if parent == "settings" and isinstance(key, str):
        pool = SETTINGS.get(key) or ZONE_SETTINGS.get(key) or []
        return [x for x in pool if x != current]
    if parent == "providers":
        return PROVIDER_STATES
    if key in ("gateway", "start", "end"):
        return _near_ip(current)
    if key == "name" and isinstance(current, str):
        return [current.upper(), current.capitalize(), current + "x"]
    return [x for x in PLAUSIBLE.get(key, []) if x != current]


# --- edits -------------------------------------------------------------------------------


@st.composite
def edit(draw: st.DrawFn, files: Files, wild: bool) -> None:
    """One edit, in place: a value changed or removed, a list entry copied or dropped, or a
    setting or provider added."""
    name = draw(st.sampled_from(sorted(files)))
    doc = files[name]
    places = list(spots(doc))
    if not places:
        return
    trail = draw(st.sampled_from(places))
    holder, key = at(doc, trail[:-1]), trail[-1]
    action = draw(st.sampled_from(["value", "value", "value", "remove", "copy", "add"]))
    if action == "value":
        pool = plausible(trail, holder[key]) + (WILD if wild else [])
        if pool:
            holder[key] = copy.deepcopy(draw(st.sampled_from(pool)))
    elif action == "remove":
        del holder[key]
    elif action == "copy" and isinstance(holder, list):
        holder.insert(key + 1, copy.deepcopy(holder[key]))
    elif action == "add":
        _add(draw, doc, holder, key)


def _add(draw: st.DrawFn, doc: Doc, holder: Any, key: Any) -> None:
    """A setting (top level or zone), or a provider of a physical network."""
    value = holder[key]
    if isinstance(value, dict) and "physical_networks" in value:  # a zone
        name = draw(st.sampled_from(sorted(ZONE_SETTINGS)))
        _mapping(value, "settings")[name] = draw(st.sampled_from(ZONE_SETTINGS[name]))
    elif isinstance(value, dict) and "traffic" in value:  # a physical network
        provider = draw(st.sampled_from(PROVIDERS))
        _mapping(value, "providers")[provider] = draw(st.sampled_from(PROVIDER_STATES))
    elif isinstance(doc, dict):
        name = draw(st.sampled_from(sorted(SETTINGS)))
        _mapping(doc, "settings")[name] = draw(st.sampled_from(SETTINGS[name]))


def _mapping(holder: dict[str, Any], key: str) -> dict[str, Any]:
    """holder[key] as a mapping (made one if an earlier edit left something else there)."""
    if not isinstance(holder.get(key), dict):
        holder[key] = {}
    return holder[key]  # type: ignore[no-any-return]


@st.composite
def documents(draw: st.DrawFn, wild: bool = False, most: int = 4) -> tuple[str, Files]:
    """An example config (all its files) with 1 to `most` edits."""
    example = draw(st.sampled_from(sorted(EXAMPLE_FILES)))
    files = copy.deepcopy(EXAMPLE_FILES[example])
    for _ in range(draw(st.integers(1, most))):
        draw(edit(files, wild))
    return example, files


def write(files: Files, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for name, doc in files.items():
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return folder


# --- the property --------------------------------------------------------------------------

_COUNTER = itertools.count()
SEEN = {"valid": 0, "rejected": 0}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


def converge(config: Path, state: Path) -> str | None:
    """None when the config is rejected, or applies and then plans empty; else what failed."""
    checked = ops.check_config([config])
    if checked.errors:
        SEEN["rejected"] += 1
        return None
    SEEN["valid"] += 1
    api = Api(sim_target(state))
    try:
        plan, live = ops.plan(api, checked.state)
    except ConfigInvalid as exc:
        # the one check that needs the cloud: what creating a resource takes that the
        # server never returns (a host's credentials, plan._create_problems); an exported
        # config lacks them and must validate, so only the plan can say. Located, before
        # any change: a refusal, not a failure
        if all(p.origin is not None and "needed" in p.message for p in exc.problems):
            SEEN["rejected"] += 1
            return None
        raise
    report = ops.apply(api, plan, live, parallelism=1)
    if not report.ok:
        failed = [f"{r.step.title} {r.step.key}: {r.error}" for r in report.results if r.error]
        return "validated, then the server refused: " + "; ".join(failed)
    again, _ = ops.plan(api, checked.state)
    if not again.empty:
        return "does not converge: " + "; ".join(f"{s.title} {s.key}" for s in again.steps)
    return None


@settings(
    max_examples=200,  # about 10 s
    deadline=None,  # one example applies a whole zone: seconds on a slow runner
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=documents() | documents(wild=True, most=3))
def test_every_config_that_validates_applies_and_converges(
    drawn: tuple[str, Files], workdir: Path
) -> None:
    example, files = drawn
    n = next(_COUNTER)
    config = write(files, workdir / f"config{n}")
    problem = converge(config, workdir / f"sim{n}.json")
    assert problem is None, f"{example} edited to:\n{_shown(files)}\n{problem}"


def _shown(files: Files) -> str:
    return "\n".join(f"# {n}\n{yaml.safe_dump(d, sort_keys=False)}" for n, d in files.items())


def test_the_edits_leave_many_configs_valid(workdir: Path) -> None:
    """The property above is worth something only if edited configs often validate."""
    valid = 0
    for n, files in enumerate(_samples(30)):
        checked = ops.check_config([write(files, workdir / f"sample{n}")])
        valid += not checked.errors
    assert valid >= 8, f"only {valid} of 30 edited configs validate"


def _samples(count: int) -> list[Files]:
    out: list[Files] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(drawn=documents())
    def collect(drawn: tuple[str, Files]) -> None:
        out.append(drawn[1])

    collect()
    return out[:count]


def test_examples_are_where_the_edits_start() -> None:
    assert set(EXAMPLE_FILES) == {p.name for p in CONFIGS.iterdir() if p.is_dir()}


# --- what the property found: each a validation rule now ---------------------------------


def _converged_or_rejected(files: Files, folder: Path) -> list[str]:
    """The errors of an edited example; when there are none it must converge."""
    config = write(files, folder / "config")
    errors = [p.message for p in ops.check_config([config]).errors]
    if not errors:
        assert converge(config, folder / "sim.json") is None
    return errors


@pytest.mark.parametrize("which", [0, 1], ids=["untagged-first", "tagged-first"])
def test_untagged_and_tagged_public_ranges_in_one_subnet_are_refused(
    which: int, tmp_path: Path
) -> None:
    """createVlanIpRange refuses a tagged range on the subnet of an untagged one (431); the
    other order passes, so the rule refuses both."""
    files = copy.deepcopy(EXAMPLE_FILES["lab"])
    del files["lab.yaml"]["zones"][0]["public_ranges"][which]["vlan"]  # 203.0.113.0/24
    errors = _converged_or_rejected(files, tmp_path)
    assert any("one is untagged and the other on VLAN 100" in e for e in errors), errors


@pytest.mark.parametrize(
    ("where", "name", "value", "listed"),
    [
        ("global", "expunge.delay", " 60", "60"),
        ("global", "check.pod.cidrs", "\t", ""),
        ("zone", "use.external.dns", "TRUE", "true"),
        ("zone", "network.throttling.rate", "0200", "200"),
    ],
)
def test_setting_values_the_server_stores_otherwise_are_refused(
    where: str, name: str, value: str, listed: str, tmp_path: Path
) -> None:
    """Such a value validated (with a warning) and was set again by every plan."""
    files = copy.deepcopy(EXAMPLE_FILES["lab"])
    doc = files["lab.yaml"]
    holder = doc["settings"] if where == "global" else doc["zones"][0]["settings"]
    holder[name] = value
    errors = _converged_or_rejected(files, tmp_path)
    assert any(f"lists {value!r} as {listed!r}" in e for e in errors), errors


@pytest.mark.parametrize(
    ("edit_", "expected"),
    [
        (lambda d: d["zones"][0].update(name="z" * 256), "name is 256 characters long"),
        (
            lambda d: d["zones"][0]["physical_networks"][0]["traffic"][0].update(
                labels={"kvm": "b" * 300}
            ),
            "at most 255 for kvmnetworklabel",
        ),
    ],
    ids=["zone-name", "label"],
)
def test_text_longer_than_its_api_parameter_is_refused(
    edit_: Any, expected: str, tmp_path: Path
) -> None:
    """The simulator took them; the server refuses them (ParamProcessWorker, 431)."""
    files = copy.deepcopy(EXAMPLE_FILES["lab"])
    edit_(files["lab.yaml"])
    errors = _converged_or_rejected(files, tmp_path)
    assert any(expected in e for e in errors), errors
