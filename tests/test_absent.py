"""`absent: true` deletes exactly what it names, --prune-scope limits --prune, and the outputs
always show what is unmanaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.errors import CstoolError, UnsafePlan
from cstool.model.diff import is_absent
from cstool.model.loader import json_schema, load, load_text
from cstool.model.plan import check_safety, make_plan
from cstool.model.resources import Key, State
from cstool.render import render_plan
from tests.conftest import CONFIGS, DATA

LAB = CONFIGS / "lab" / "lab.yaml"
CASE = DATA / "plans" / "absent-storage-range"
RANGE = "- {vlan: 101, gateway: 198.51.100.1, netmask: 255.255.255.0, start: 198.51.100.10, end: 198.51.100.50}"  # noqa: E501
runner = CliRunner()


def _errors(text: str) -> list[str]:
    _state, problems = load_text(text, "t.yaml")
    return [str(p) for p in problems if not p.warning]


ZONE = """zones:
  - name: z1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
"""


# --- the loader and the schema ---------------------------------------------------------


def test_an_absent_entry_needs_only_its_identity() -> None:
    text = ZONE + "    pods:\n      - {name: p9, absent: true}\n"
    state, problems = load_text(text, "t.yaml")
    assert [p for p in problems if not p.warning] == []
    pod = state[Key("pod", ("z1", "p9"))]
    assert is_absent(pod) and dict(pod.values) == {}  # no defaults filled in


def test_without_absent_the_required_keys_are_still_required() -> None:
    for absent in ("", ", absent: false"):
        text = ZONE + f"    pods:\n      - {{name: p9{absent}}}\n"
        assert _errors(text) == [
            "t.yaml:7:9: missing required key 'gateway'",
            "t.yaml:7:9: missing required key 'netmask'",
        ]


def test_absent_must_be_a_boolean() -> None:
    errors = _errors(ZONE + "    pods:\n      - {name: p9, absent: maybe}\n")
    assert "t.yaml:7:28: absent: 'maybe' is not a boolean (true or false)" in errors


def test_an_absent_entry_with_children_in_the_config_is_an_error() -> None:
    text = ZONE + (
        "    pods:\n"
        "      - name: p9\n"
        "        absent: true\n"
        "        management_ranges:\n"
        "          - {start: 10.0.9.10}\n"
    )
    assert _errors(text) == [
        "t.yaml:8:9: pod 'z1/p9' is marked absent but has management_ranges in the config: "
        "remove them, or remove 'absent: true'"
    ]


def test_the_schema_accepts_absent_and_then_needs_no_required_key() -> None:
    schema = json_schema()
    pod = schema["$defs"]["Pod"]
    assert pod["properties"]["absent"]["type"] == "boolean"
    assert pod["required"] == ["name"]
    assert pod["if"] == {"properties": {"absent": {"const": True}}, "required": ["absent"]}
    assert pod["else"] == {"required": ["gateway", "netmask"]}
    assert "absent" in schema["$defs"]["PublicRange"]["properties"]
    assert "absent" not in json.dumps(schema["properties"]["settings"])  # map kinds: no


def test_validation_skips_absent_entries() -> None:
    """An absent storage range in a zone without Storage traffic, overlapping a management
    range, is not desired: the network rules do not look at it."""
    text = ZONE + (
        "    pods:\n"
        "      - name: p1\n"
        "        gateway: 10.0.1.1\n"
        "        netmask: 255.255.255.0\n"
        "        management_ranges:\n"
        "          - {start: 10.0.1.10, end: 10.0.1.20}\n"
        "        storage_ranges:\n"
        "          - {start: 10.0.1.15, end: 10.0.1.30, gateway: 10.0.1.1, netmask: 255.255.255.0,"
        " absent: true}\n"
    )
    path = Path("t.yaml")
    checked = ops.check_text(text, str(path))
    assert not any("storage" in p.message for p in checked.errors)
    present = checked.state.get(Key("storage_range", ("z1", "p1", "10.0.1.15")))
    assert present is not None and is_absent(present)


# --- plans -----------------------------------------------------------------------------


def _case():  # type: ignore[no-untyped-def]
    desired, problems = load([CASE / "desired.yaml"])
    live, _ = load([CASE / "live.yaml"])
    assert [p for p in problems if not p.warning] == []
    return desired, live


def test_absent_plans_the_delete_of_exactly_that_object_with_its_yaml_line() -> None:
    desired, live = _case()
    plan = make_plan(desired, live)
    ((step),) = plan.steps
    assert (step.title, step.key.to_str()) == ("delete", "storage_range:z1/p2/10.20.2.100")
    assert step.origin is not None and (step.origin.line, step.origin.column) == (33, 13)
    # the other unmanaged object is kept, and listed; the absent one that does not exist
    # plans nothing
    assert [r.key.to_str() for r in plan.unmanaged] == ["public_range:z1/203.0.113.50"]
    with pytest.raises(UnsafePlan, match="storage_range z1/p2/10.20.2.100") as info:
        check_safety(plan, allow_delete=False, force=False)
    assert "--allow-delete" in (info.value.hint or "")
    check_safety(plan, allow_delete=True, force=False)


def test_an_absent_pod_is_deleted_after_what_lives_under_it() -> None:
    desired, live = _case()
    text = (CASE / "desired.yaml").read_text()
    start = text.index("      - name: p2")
    cut = text[:start] + "      - {name: p2, absent: true}\n"
    desired, problems = load_text(cut, "d.yaml")
    assert [p for p in problems if not p.warning] == []
    plan = make_plan(desired, live)
    assert [(s.title, s.key.to_str()) for s in plan.steps] == [
        ("delete", "storage_range:z1/p2/10.20.2.10"),
        ("delete", "storage_range:z1/p2/10.20.2.100"),
        ("delete", "management_range:z1/p2/10.0.2.10"),
        ("delete", "pod:z1/p2"),
    ]
    line = cut.count("\n")  # the last line: the absent pod
    assert {str(s.origin) for s in plan.steps} == {f"d.yaml:{line}:9"}


def test_prune_scope_deletes_only_under_its_path() -> None:
    desired, _ = load([DATA / "plans" / "prune-unmanaged-pod" / "desired.yaml"])
    live, _ = load([DATA / "plans" / "prune-unmanaged-pod" / "live.yaml"])
    everywhere = make_plan(desired, live, prune=True)
    assert {s.key.zone for s in everywhere.steps} == {"z2"}
    elsewhere = make_plan(desired, live, prune=True, prune_scope=[("z1",)])
    assert elsewhere.steps == () and len(elsewhere.unmanaged) == 3
    assert not any(elsewhere.prunes(r) for r in elsewhere.unmanaged)
    assert "3 kept (outside --prune-scope)" in render_plan("text", elsewhere, "t")
    pod = make_plan(desired, live, prune=True, prune_scope=[("z2", "old-pod")])
    assert [s.key for s in pod.steps] == [s.key for s in everywhere.steps]
    body = json.loads(render_plan("json", pod, "t"))
    assert body["prune_scope"] == ["z2/old-pod"]
    assert all(u["deleted"] for u in body["unmanaged"])


def test_outputs_list_unmanaged_and_never_say_matches_while_there_are_some() -> None:
    desired, live = _case()
    text = (
        (CASE / "desired.yaml")
        .read_text()
        .replace("      - {start: 10.20.2.100, absent: true}\n", "")
    )
    desired, _ = load_text(text, "d.yaml")
    live_only = {k: r for k, r in live.items() if k.to_str() != "storage_range:z1/p2/10.20.2.100"}
    plan = make_plan(desired, State(live_only))
    assert plan.empty and len(plan.unmanaged) == 1
    for fmt in ("text", "markdown"):
        out = render_plan(fmt, plan, "t")
        assert "matches the configuration" not in out
        assert "public range z1/203.0.113.50" in out
        assert "<details>" not in out  # listed in the open
    body = json.loads(render_plan("json", plan, "t"))
    assert body["unmanaged"] == [
        {
            "resource": "public_range:z1/203.0.113.50",
            "kind": "public_range",
            "path": ["z1", "203.0.113.50"],
            "deleted": False,
        }
    ]


# --- end to end, against the simulator ---------------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    state = tmp_path / "sim.json"
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    api.target.simulator.store.flush()
    return state


def _public_ranges(state: Path) -> list[str]:
    api = Api(sim_target(state))
    return sorted(r["startip"] for r in api.list("listVlanIpRanges") if r.get("forvirtualnetwork"))


def test_apply_deletes_an_absent_range_with_allow_delete_and_converges(
    lab: Path, tmp_path: Path
) -> None:
    config = tmp_path / "lab.yaml"
    config.write_text(LAB.read_text().replace(RANGE, "- {start: 198.51.100.10, absent: true}"))
    args = ["apply", str(config), "--sim", "--sim-state", str(lab), "--yes"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--allow-delete" in refused.output
    assert "198.51.100.10" in _public_ranges(lab)
    done = runner.invoke(app, [*args, "--allow-delete"])
    assert done.exit_code == 0, done.output
    assert f"delete public range lab1/198.51.100.10  (destructive)  {config}:47:9" in done.output
    assert _public_ranges(lab) == ["203.0.113.10", "203.0.113.150"]
    again = runner.invoke(app, ["plan", str(config), "--sim", "--sim-state", str(lab)])
    assert again.exit_code == 0 and "No changes: the cloud matches" in again.output
    drift = runner.invoke(app, ["drift", str(config), "--sim", "--sim-state", str(lab)])
    assert drift.exit_code == 0


def test_drift_reports_an_absent_object_that_exists(lab: Path, tmp_path: Path) -> None:
    config = tmp_path / "lab.yaml"
    config.write_text(LAB.read_text().replace(RANGE, "- {start: 198.51.100.10, absent: true}"))
    found = ops.drift(Api(sim_target(lab)), ops.desired_state([config]).state)
    assert not found.in_sync
    ((change),) = found.changed
    assert change.key.to_str() == "public_range:lab1/198.51.100.10"
    assert dict(change.fields) == {"absent": (False, True)}


def test_a_saved_plan_keeps_its_absent_entries(lab: Path, tmp_path: Path) -> None:
    config, saved = tmp_path / "lab.yaml", tmp_path / "plan.json"
    config.write_text(LAB.read_text().replace(RANGE, "- {start: 198.51.100.10, absent: true}"))
    target = ["--sim", "--sim-state", str(lab)]
    made = runner.invoke(app, ["plan", str(config), *target, "--out", str(saved)])
    assert made.exit_code == 3, made.output
    applied = runner.invoke(app, ["apply", str(saved), *target, "--yes", "--allow-delete"])
    assert applied.exit_code == 0, applied.output
    assert _public_ranges(lab) == ["203.0.113.10", "203.0.113.150"]


def test_prune_scope_on_the_command_line(lab: Path, tmp_path: Path) -> None:
    target = ["--sim", "--sim-state", str(lab)]
    without_pod2 = tmp_path / "lab.yaml"
    text = LAB.read_text()
    without_pod2.write_text(text[: text.index("      - name: pod2")])
    only_lab = ["plan", str(without_pod2), *target, "-f", "json"]
    kept = json.loads(runner.invoke(app, only_lab).output)
    assert kept["steps"] == [] and kept["unmanaged"] and not kept["prune"]
    wrong = runner.invoke(app, [*only_lab, "--prune-scope", "nowhere"])
    assert wrong.exit_code == 1 and "nothing in the cloud is under 'nowhere'" in wrong.output
    scoped = runner.invoke(app, [*only_lab, "--prune-scope", "lab1/nopod"])
    assert scoped.exit_code == 1
    pruned = json.loads(runner.invoke(app, [*only_lab, "--prune-scope", "lab1/pod2"]).output)
    assert pruned["prune"] and pruned["prune_scope"] == ["lab1/pod2"]
    assert {tuple(s["path"][:2]) for s in pruned["steps"]} == {("lab1", "pod2")}


def test_prune_never_deletes_a_zone_the_config_does_not_name(lab: Path) -> None:
    """A zone missing from the files read (a skipped file, a forgotten one) is kept."""
    target = ["--sim", "--sim-state", str(lab)]
    basic = runner.invoke(app, ["apply", str(CONFIGS / "basic"), *target, "--yes"])
    assert basic.exit_code == 0, basic.output
    plan = runner.invoke(app, ["plan", str(LAB), *target, "--prune", "-f", "json"])
    pruned = json.loads(plan.output)
    assert pruned["steps"] == [] and pruned["unmanaged"]
    assert not any(u["deleted"] for u in pruned["unmanaged"])
    text = runner.invoke(app, ["plan", str(LAB), *target, "--prune"]).output
    assert "in zones the config does not name (basic1)" in text
    assert "absent: true" in text


def test_scope_paths_are_checked_against_the_cloud() -> None:
    live, _ = load([CASE / "live.yaml"])
    assert ops.scope_paths(["z1/p2/"], live) == (("z1", "p2"),)
    with pytest.raises(CstoolError, match="nothing in the cloud is under 'z9'") as info:
        ops.scope_paths(["z9"], live)
    assert "zones: z1" in (info.value.hint or "")
