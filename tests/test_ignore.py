"""The `ignore:` section: known unmanaged objects are listed as ignored, never as drift, and
never pruned; rules are checked with located errors and accepted by `cstool schema`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.model.diff import diff
from cstool.model.loader import json_schema, load, load_text
from cstool.model.plan import make_plan
from cstool.model.resources import IgnoreRule, Key, Resource, State
from cstool.render import render_drift, render_plan
from tests.conftest import CONFIGS

runner = CliRunner()
LAB = CONFIGS / "lab" / "lab.yaml"
EXTRA_RANGE = {
    "zoneid": "",
    "vlan": 100,
    "gateway": "203.0.113.1",
    "netmask": "255.255.255.0",
    "startip": "203.0.113.220",
    "endip": "203.0.113.230",
    "forvirtualnetwork": True,
}


def _problems(text: str) -> list[str]:
    _, problems = load_text(text, "c.yaml")
    return [str(p) for p in problems if not p.warning]


def test_rules_are_read_with_their_identity_normalised() -> None:
    state, problems = load_text(
        "ignore:\n"
        "  - {kind: public_range, path: lab1/203.0.113.200, reason: another team's}\n"
        "  - kind: traffic_type\n"
        "    path: 'lab1/*/storage'\n",
        "c.yaml",
    )
    assert [p for p in problems if not p.warning] == []
    assert state.ignore == (
        IgnoreRule("public_range", ("lab1", "203.0.113.200"), "another team's"),
        IgnoreRule("traffic_type", ("lab1", "*", "Storage")),
    )
    assert str(state.ignore[0].origin) == "c.yaml:2:5"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{kind: public_ip_range, path: 'lab/*'}",
            "c.yaml:2:12: kind: unknown kind 'public_ip_range' (did you mean 'public_range'?)",
        ),
        ("{kind: provider, path: 'lab/*/*/x'}", "'provider' objects are never unmanaged"),
        (
            "{kind: pod, path: 'lab1/pod1/x'}",
            "c.yaml:2:23: path: a pod path has 2 part(s) (zone/pod), 'lab1/pod1/x' has 3",
        ),
        ("{kind: pod, path: 'lab1//x'}", "path: a pod path has 2 part(s)"),
        ("{kind: zone, path: 'lab[12'}", "path: 'lab[12' is not a valid pattern"),
        (
            "{kind: storage_range, path: 'lab1/pod1/10.20.1.300'}",
            "path: '10.20.1.300' is not a valid IPv4 address",
        ),
        ("{kind: pod, path: 'lab1/*', why: x}", "unknown key 'why'"),
        ("{path: 'lab1/*'}", "missing required key 'kind'"),
    ],
)
def test_a_bad_rule_is_a_located_error(entry: str, message: str) -> None:
    problems = _problems(f"ignore:\n  - {entry}\n")
    assert len(problems) == 1 and message in problems[0], problems


def test_rules_of_all_files_add_up(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("ignore: [{kind: zone, path: old-*}]\n")
    (tmp_path / "b.yaml").write_text("ignore: [{kind: pod, path: '*/test-*'}]\n")
    state, problems = load([tmp_path])
    assert [p for p in problems if not p.warning] == []
    assert [str(r) for r in state.ignore] == ["zone old-*", "pod */test-*"]


def _res(kind: str, *path: str) -> Resource:
    return Resource(Key(kind, path), {})


def test_what_a_rule_names_and_what_lives_under_it_is_ignored() -> None:
    desired = State({r.key: r for r in [_res("zone", "z")]})
    desired.ignore = (
        IgnoreRule("pod", ("z", "test-*")),
        IgnoreRule("public_range", ("z", "203.0.113.2?")),
    )
    live = State(
        {
            r.key: r
            for r in [
                _res("zone", "z"),
                _res("pod", "z", "test-1"),
                _res("management_range", "z", "test-1", "10.0.0.1"),
                _res("pod", "z", "prod-1"),
                _res("public_range", "z", "203.0.113.20"),
                _res("public_range", "z", "203.0.113.200"),
            ]
        }
    )
    found = diff(desired, live)
    assert [str(r.key) for r in found.ignored] == [
        "pod z/test-1",
        "management_range z/test-1/10.0.0.1",
        "public_range z/203.0.113.20",
    ]
    assert [str(r.key) for r in found.unmanaged] == ["pod z/prod-1", "public_range z/203.0.113.200"]
    plan = make_plan(desired, live, prune=True)
    deleted = {s.key for s in plan.steps}
    assert Key("pod", ("z", "prod-1")) in deleted
    assert not deleted & {r.key for r in found.ignored}  # --prune never deletes the ignored
    body = plan.to_dict()
    assert [i["resource"] for i in body["ignored"]] == [r.key.to_str() for r in found.ignored]
    text = render_plan("text", plan, "t")
    assert "Ignored (3, named by ignore: in the config): pod z/test-1, " in text
    assert "Ignored (3," in render_plan("markdown", plan, "t")


def test_the_schema_accepts_rules_and_rejects_an_unknown_kind() -> None:
    cls = jsonschema.Draft202012Validator
    validator = cls(json_schema(), format_checker=cls.FORMAT_CHECKER)
    good = yaml.safe_load("ignore: [{kind: public_range, path: 'lab1/*', reason: known}]")
    assert list(validator.iter_errors(good)) == []
    bad = yaml.safe_load("ignore: [{kind: public_ip_range, path: 'lab1/*'}]")
    best = jsonschema.exceptions.best_match(validator.iter_errors(bad))
    assert list(best.absolute_path) == ["ignore", 0, "kind"]
    props = json_schema()["$defs"]["Ignore"]["properties"]
    assert all(p.get("description") for p in props.values())


@pytest.fixture
def lab(tmp_path: Path) -> tuple[Path, Path]:
    """The lab brought up, and a range added outside cstool: (simulator state, config)."""
    state = tmp_path / "sim.json"
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    zone = api.list("listZones")[0]["id"]
    api.call("createVlanIpRange", **{**EXTRA_RANGE, "zoneid": zone})
    assert api.target.simulator is not None
    api.target.simulator.store.flush()
    config = tmp_path / "lab.yaml"
    shutil.copy(LAB, config)
    return state, config


def test_drift_lists_the_ignored_and_is_in_sync(lab: tuple[Path, Path]) -> None:
    state, config = lab
    target = ["--sim", "--sim-state", str(state)]
    assert runner.invoke(app, ["drift", str(config), *target]).exit_code == 3
    with config.open("a") as out:
        out.write("ignore:\n  - {kind: public_range, path: lab1/203.0.113.220}   # known\n")
    text = runner.invoke(app, ["drift", str(config), *target])
    assert text.exit_code == 0, text.output
    assert "In sync" in text.output
    assert "Ignored (1, named by ignore: in the config): public range lab1/203.0.113.220" in (
        text.output
    )
    report = json.loads(runner.invoke(app, ["drift", str(config), *target, "-f", "json"]).output)
    assert report["in_sync"] is True and report["unmanaged"] == []
    assert [i["resource"] for i in report["ignored"]] == ["public_range:lab1/203.0.113.220"]
    found = ops.drift(Api(sim_target(state)), ops.desired_state([config]).state)
    assert "Ignored (1," in render_drift("markdown", found, "t")


def test_a_saved_plan_keeps_its_rules_and_prunes_only_the_rest(lab: tuple[Path, Path]) -> None:
    state, config = lab
    api = Api(sim_target(state))
    zone = api.list("listZones")[0]["id"]
    other = {**EXTRA_RANGE, "zoneid": zone, "startip": "203.0.113.240", "endip": "203.0.113.250"}
    api.call("createVlanIpRange", **other)
    assert api.target.simulator is not None
    api.target.simulator.store.flush()
    with config.open("a") as out:
        out.write("ignore: [{kind: public_range, path: lab1/203.0.113.22*}]\n")
    target = ["--sim", "--sim-state", str(state)]
    saved = config.parent / "plan.json"
    made = runner.invoke(app, ["plan", str(config), *target, "--prune", "--out", str(saved)])
    assert made.exit_code == 3, made.output
    plan = json.loads(saved.read_text())
    assert plan["ignore"] == [{"kind": "public_range", "path": "lab1/203.0.113.22*"}]
    assert [s["resource"] for s in plan["steps"]] == ["public_range:lab1/203.0.113.240"]
    applied = runner.invoke(app, ["apply", str(saved), *target, "--yes", "--prune"])
    assert applied.exit_code == 0, applied.output
    starts = sorted(r["startip"] for r in Api(sim_target(state)).list("listVlanIpRanges"))
    assert "203.0.113.220" in starts and "203.0.113.240" not in starts
