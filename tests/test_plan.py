"""Reading the live cloud, planning and drift."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api
from cstool.model.loader import load
from cstool.model.plan import make_plan
from cstool.render import render_plan
from tests.conftest import DATA, EXAMPLES
from tests.outofband import drift_lab

PLANS = DATA / "plans"
CASES = sorted(p.name for p in PLANS.iterdir() if p.is_dir())
FORMATS = {"txt": "text", "md": "markdown", "json": "json"}
runner = CliRunner()


def _case_plan(case: str):  # type: ignore[no-untyped-def]
    here = os.getcwd()
    os.chdir(PLANS / case)
    try:
        desired, problems = load(["desired.yaml"])
        live, _ = load(["live.yaml"])
    finally:
        os.chdir(here)
    assert [p for p in problems if not p.warning] == []
    prune = (PLANS / case / "args").exists() and "prune" in (PLANS / case / "args").read_text()
    return make_plan(desired, live, prune)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES)
def test_plan_renders_as_recorded(case: str, fmt: str) -> None:
    got = render_plan(FORMATS[fmt], _case_plan(case), "golden")
    golden = PLANS / case / f"plan.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_golden_plans_show_what_each_case_is_about() -> None:
    titles = {c: [(s.title, s.key.to_str()) for s in _case_plan(c).steps] for c in CASES}
    assert ("delete", "public_range:z1/203.0.113.10") in titles["replace-public-range-vlan"]
    wrap = [t for t, _ in titles["add-physical-network-to-enabled-zone"]]
    assert wrap[0].startswith("disable") and wrap[-1] == "enable"
    pruned = [k for t, k in titles["prune-unmanaged-pod"] if t == "delete"]
    assert pruned == [
        "management_range:z2/old-pod/10.0.9.10",
        "management_range:z2/old-pod/10.0.9.30",
        "pod:z2/old-pod",
    ]
    assert titles["new-lab-zone"][-1] == ("enable", "zone:lab1")


def test_plan_json_has_a_stable_checksum() -> None:
    first = _case_plan("update-in-place").to_dict()
    again = _case_plan("update-in-place").to_dict()
    assert first["checksum"] == again["checksum"] and len(first["checksum"]) == 16
    step = next(s for s in first["steps"] if s["resource"] == "traffic_type:z1/pn1/Guest")
    assert step["changes"]["labels"] == {
        "old": {"kvm": "cloudbr2", "vmware": ""},
        "new": {"kvm": "cloudbr1", "vmware": "vSwitch1"},
    }
    assert step["calls"][0]["params"] == {
        "id": {"ref": "traffic_type:z1/pn1/Guest"},
        "kvmnetworklabel": "cloudbr1",
        "vmwarenetworklabel": "vSwitch1",
    }


# --- reader ------------------------------------------------------------------------------


def _bring_up(api: Api, paths: list[Any]) -> None:
    desired = ops.desired_state(paths).state
    result, live = ops.plan(api, desired)
    assert ops.apply(api, result, live, parallelism=4).ok


def test_reader_makes_one_call_per_command_plus_one_per_physical_network(
    sim_api: Api, tmp_path: Path
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from generate import write_config

    for pods in (2, 6):
        api = Api(type(sim_api.target)(**{**sim_api.target.__dict__}))
        config = write_config(tmp_path / f"c{pods}", zones=3, pods=pods)
        from cstool.cloud.api import sim_target

        api = Api(sim_target(tmp_path / f"s{pods}.json"))
        _bring_up(api, [config])
        api.calls.clear()
        live = ops.read_for(api, ops.desired_state([config]).state)
        assert len(live.of_kind("pod")) == 3 * pods
        assert api.calls["listTrafficTypes"] == 6  # 3 zones x 2 physical networks
        assert sum(api.calls.values()) == 8 + 6  # 8 list commands, no zone settings


def test_reader_reads_back_what_apply_made(sim_api: Api) -> None:
    _bring_up(sim_api, [EXAMPLES[0].parent / "lab"])
    live = ops.read_for(sim_api, ops.desired_state([EXAMPLES[0].parent / "lab"]).state)
    mr = {r.key.path[-1]: dict(r.values) for r in live.of_kind("management_range")}
    assert mr["10.10.1.40"] == {"end": "10.10.1.60", "vlan": 11, "for_system_vms": True}
    pn = next(r for r in live.of_kind("physical_network") if r.key.path[-1] == "trunk")
    assert pn.values["vlan_ranges"] == "500-899,1000-1099" and pn.values["tags"] == ("guest",)
    st = {r.key.path[-1]: r.values["vlan"] for r in live.of_kind("storage_range")}
    assert st == {"10.20.1.10": 20, "10.20.2.10": "untagged"}


# --- drift -------------------------------------------------------------------------------


def test_drift_reports_exactly_what_changed_behind_our_back(sim_api: Api) -> None:
    lab = EXAMPLES[0].parent / "lab"
    _bring_up(sim_api, [lab])
    desired = ops.desired_state([lab]).state
    assert ops.drift(sim_api, desired).in_sync
    live = ops.read_for(sim_api, desired)
    uuid = {k.to_str(): r.uuid for k, r in live.items()}
    drift_lab(sim_api, uuid)
    found = ops.drift(sim_api, desired)
    assert {c.key.to_str(): dict(c.fields) for c in found.changed} == {
        "traffic_type:lab1/trunk/Guest": {
            "labels": (
                {"kvm": "cloudbr7", "vmware": "vSwitch1"},
                {"kvm": "cloudbr1", "vmware": "vSwitch1"},
            )
        },
        "public_range:lab1/203.0.113.10": {"end": ("203.0.113.90", "203.0.113.100")},
    }
    assert sorted(r.key.to_str() for r in found.missing) == [
        "management_range:lab1/pod2/10.10.2.10",
        "pod:lab1/pod2",
        "storage_range:lab1/pod2/10.20.2.10",
    ]
    assert [r.key.to_str() for r in found.unmanaged] == ["public_range:lab1/203.0.113.220"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_fresh_plan_of_each_example_is_the_full_bring_up_in_order(
    example: Path, tmp_path: Path
) -> None:
    state = tmp_path / "sim.json"
    result = runner.invoke(
        app, ["plan", str(example), "--sim", "--sim-state", str(state), "--format", "json"]
    )
    assert result.exit_code == 3, result.output
    plan = json.loads(result.output)
    kinds = [s["kind"] for s in plan["steps"] if s["stage"] == 2]
    order = [
        "zone",
        "zone_setting",
        "physical_network",
        "traffic_type",
        "provider",
        "guest_network",
        "pod",
        "management_range",
        "public_range",
        "storage_range",
        "guest_range",
    ]
    firsts = [kinds.index(k) for k in order if k in kinds]
    assert firsts == sorted(firsts)
    assert plan["steps"][-1]["title"] == "enable" and plan["steps"][-1]["kind"] == "zone"
    assert plan["target"] == f"simulator ({state})"


def test_plan_and_drift_exit_codes_and_formats(tmp_path: Path) -> None:
    lab, state = str(EXAMPLES[0].parent / "lab"), str(tmp_path / "s.json")
    target = ["--sim", "--sim-state", state]
    md = runner.invoke(app, ["plan", lab, *target, "-f", "markdown"])
    assert md.exit_code == 3 and "| zone | create |" in md.output
    assert runner.invoke(app, ["drift", lab, *target]).exit_code == 3
    assert runner.invoke(app, ["apply", lab, *target, "--yes"]).exit_code == 0
    assert runner.invoke(app, ["plan", lab, *target]).exit_code == 0
    drift = runner.invoke(app, ["drift", lab, *target, "-f", "json"])
    assert drift.exit_code == 0 and json.loads(drift.output)["in_sync"] is True
    assert runner.invoke(app, ["plan", lab, *target, "-f", "yaml"]).exit_code == 2


def test_no_target_is_a_clear_error_never_the_simulator(monkeypatch: Any, tmp_path: Path) -> None:
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", str(EXAMPLES[0])])
    assert result.exit_code == 1
    assert "no CloudStack target is configured" in result.output
    assert "--sim" in result.output and "CLOUDSTACK_ENDPOINT" in result.output
    missing = runner.invoke(app, ["plan", str(EXAMPLES[0]), "--profile", "nope"])
    assert missing.exit_code == 1 and "profile 'nope' was not found" in missing.output


def test_target_from_cloudmonkey_profile_and_environment(monkeypatch: Any, tmp_path: Path) -> None:
    from cstool.cloud.api import configured_target

    (tmp_path / ".cmk").mkdir()
    (tmp_path / ".cmk" / "config").write_text(
        "[lab]\nurl = http://127.0.0.1:1/client/api\napikey = AK\nsecretkey = SK\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLOUDSTACK_CONFIG", raising=False)
    target = configured_target("lab")
    assert (target.endpoint, target.key, target.secret) == (
        "http://127.0.0.1:1/client/api",
        "AK",
        "SK",
    )
    assert "SK" not in target.name and "AK" not in target.name and "SK" not in repr(target)
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", "https://cloud.example/client/api")
    monkeypatch.setenv("CLOUDSTACK_KEY", "k")
    monkeypatch.setenv("CLOUDSTACK_SECRET", "s")
    assert configured_target(None).endpoint == "https://cloud.example/client/api"
