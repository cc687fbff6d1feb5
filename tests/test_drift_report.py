"""Drift reports an operator can act on: the cloud's point of view in words and colours, a
footer with the two ways out, a JSON report with its header and CloudStack ids, `--out`,
and a picture of the drifted zone in Markdown."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import __version__, ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.render import render_drift
from cstool.render.rows import Drift, RunInfo
from tests.conftest import CONFIGS, DATA
from tests.outofband import ADDED_RANGE, drift_lab

LAB = CONFIGS / "lab"
runner = CliRunner()
RED, YELLOW, GREEN = "\033[31m", "\033[33m", "\033[32m"


def _drifted(state: Path) -> dict[str, str]:
    """The lab zone applied, then changed out of band: a traffic label and a public range's
    end changed, pod2 deleted, a public range added. Returns the live ids by key."""
    assert runner.invoke(app, ["apply", str(LAB), "--sim", "--sim-state", str(state), "--yes"])
    api = Api(sim_target(state))
    desired = ops.desired_state([LAB]).state
    uuid = {k.to_str(): str(r.uuid) for k, r in ops.read_for(api, desired).items()}
    uuid[ADDED_RANGE] = drift_lab(api, uuid, label="br7")
    return uuid


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One drifted simulator for the module (the tests only read it)."""
    state = tmp_path_factory.mktemp("drift") / "sim.json"
    return state, _drifted(state)


def _drift(state: Path) -> Drift:
    return ops.drift(Api(sim_target(state)), ops.desired_state([LAB]).state)


def _cli(state: Path, *args: str) -> Any:
    return runner.invoke(app, ["drift", str(LAB), "--sim", "--sim-state", str(state), *args])


# --- words and colours: the cloud's point of view ----------------------------------------


def test_a_pod_deleted_out_of_band_is_red_deleted_outside_cstool(drifted: Any) -> None:
    out = render_drift("text", _drift(drifted[0]), "t", color=True)
    assert f"{RED}- deleted outside cstool: pod lab1/pod2" in out
    assert re.search(r"deleted outside cstool: pod lab1/pod2\S*\s+\S*configs/lab/\S+:\d+:\d+", out)
    assert "missing" not in out and GREEN not in out  # was a green `+ missing`


def test_a_range_added_out_of_band_is_yellow_added_outside_cstool(drifted: Any) -> None:
    state, uuid = drifted
    out = render_drift("text", _drift(state), "t", color=True)
    line = next(x for x in out.splitlines() if "203.0.113.220" in x)
    assert line.startswith(f"{YELLOW}+ added outside cstool: public range lab1/203.0.113.220")
    assert uuid["public_range:lab1/203.0.113.220"] in line  # the id to find it by
    assert "unmanaged" not in out  # was a red `- unmanaged`
    assert not any(x.startswith(RED) and "203.0.113.220" in x for x in out.splitlines())


def test_a_changed_field_says_changed_outside_cstool_with_both_values(drifted: Any) -> None:
    out = render_drift("text", _drift(drifted[0]), "t")
    assert "~ changed outside cstool: traffic type lab1/trunk/Guest" in out
    assert "    labels.kvm: cloud has br7, config says cloudbr1" in out
    assert "    end: cloud has 203.0.113.90, config says 203.0.113.100" in out
    assert "Drift: 2 changed, 3 deleted, 1 added outside cstool." in out
    assert "\033[" not in out  # no colour unless asked


def test_the_cli_prints_no_colour_when_not_on_a_terminal(drifted: Any) -> None:
    result = _cli(drifted[0])
    assert result.exit_code == 3, result.output
    assert "deleted outside cstool: pod lab1/pod2" in result.output
    assert "\033[" not in result.output


# --- the footer: the two ways out --------------------------------------------------------


def test_the_footer_names_both_ways_out_with_the_command_as_run(drifted: Any) -> None:
    state = drifted[0]
    result = _cli(state)
    footer = result.output[result.output.index("Two ways out:") :]
    target = f"{LAB} --sim --sim-state {state}"
    assert f"cstool apply {target} " in footer and "reverts the cloud to the config" in footer
    assert f"cstool apply {target} --prune" in footer  # what was added is deleted only so
    assert f"cstool drift {target} --accept" in footer and "writes them into the YAML" in footer
    zoned = _cli(state, "--zone", "lab1").output
    assert f"cstool apply {LAB} --zone lab1 --sim --sim-state {state} " in zoned


def test_the_markdown_report_has_the_words_and_the_footer(drifted: Any) -> None:
    out = render_drift("markdown", _drift(drifted[0]), "t")
    assert "**deleted outside cstool**: pod lab1/pod2" in out
    assert "**added outside cstool**: public range lab1/203.0.113.220" in out
    assert "**changed outside cstool**: traffic type lab1/trunk/Guest" in out
    assert "| changed outside cstool | deleted outside cstool | added outside cstool |" in out
    assert "**Two ways out:**" in out and "`cstool apply CONFIG`" in out
    assert "`cstool drift CONFIG --accept`" in out
    assert "missing" not in out and "unmanaged" not in out


def test_only_added_resources_point_to_prune_and_in_sync_has_no_footer(drifted: Any) -> None:
    found = _drift(drifted[0])
    added_only = Drift((), (), found.unmanaged)
    out = render_drift("text", added_only, "t")
    commands = [x.split()[:4] for x in out.splitlines() if x.startswith("  cstool ")]
    assert commands == [
        ["cstool", "apply", "CONFIG", "--prune"],  # apply alone would change nothing
        ["cstool", "drift", "CONFIG", "--accept"],
    ]
    in_sync = render_drift("text", Drift((), (), ()), "t")
    assert "Two ways out" not in in_sync and "In sync" in in_sync


# --- JSON --------------------------------------------------------------------------------


def test_drift_json_has_its_header_ids_zones_and_field_breakdown(drifted: Any) -> None:
    state, uuid = drifted
    before = datetime.now(UTC).replace(microsecond=0)
    result = _cli(state, "-f", "json")
    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    assert report["format"] == 1
    when = datetime.strptime(report["generated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=1)
    assert isinstance(report["duration"], float) and 0 < report["duration"] < 120
    assert report["cstool_version"] == __version__
    assert report["cloudstack_version"] == "4.22.0.0"  # the simulator's default
    assert report["zones"] == ["lab1"]
    # the keys consumers relied on are all still there
    assert report["summary"] == {"changed": 2, "missing": 3, "unmanaged": 1}
    assert report["target"] == f"simulator ({state})" and report["in_sync"] is False
    changed = {c["resource"]: c for c in report["changed"]}
    guest = changed["traffic_type:lab1/trunk/Guest"]
    assert guest["id"] == uuid["traffic_type:lab1/trunk/Guest"]
    assert guest["zone"] == "lab1" and guest["drift"] == "changed outside cstool"
    assert guest["fields"]["labels"]["cloud"] == {"kvm": "br7", "vmware": "vSwitch1"}
    assert guest["field_changes"] == [{"field": "labels.kvm", "cloud": "br7", "config": "cloudbr1"}]
    assert re.fullmatch(r".*configs/lab/\S+\.yaml:\d+:\d+", guest["origin"])
    missing = {m["resource"]: m for m in report["missing"]}
    assert missing["pod:lab1/pod2"]["drift"] == "deleted outside cstool"
    assert "id" not in missing["pod:lab1/pod2"]  # it has none: it is not in the cloud
    [added] = report["unmanaged"]
    assert added["id"] == uuid["public_range:lab1/203.0.113.220"]
    assert added["drift"] == "added outside cstool" and added["zone"] == "lab1"


def test_a_replayed_drift_has_no_cloudstack_version_and_does_not_fail() -> None:
    args = [str(LAB), "--replay", str(DATA / "api" / "lab-read-applied.yaml"), "-f", "json"]
    result = runner.invoke(app, ["drift", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["cloudstack_version"] is None and report["in_sync"] is True
    assert report["zones"] == ["lab1"] and report["changed"] == []


def test_drift_json_without_a_run_still_has_every_key() -> None:
    report = json.loads(render_drift("json", Drift((), (), ()), "t"))
    assert report["format"] == 1 and report["generated_at"] is None and report["zones"] == []
    info = RunInfo("2026-11-26T13:00:00Z", 1.5, "9.9", "4.20.1.0")
    report = json.loads(render_drift("json", Drift((), (), (), info=info), "t"))
    assert (report["generated_at"], report["duration"]) == ("2026-11-26T13:00:00Z", 1.5)
    assert (report["cstool_version"], report["cloudstack_version"]) == ("9.9", "4.20.1.0")


# --- drift --out -------------------------------------------------------------------------


def test_out_writes_the_json_report_whatever_the_format_printed(
    drifted: Any, tmp_path: Path
) -> None:
    out = tmp_path / "drift.json"
    result = _cli(drifted[0], "--out", str(out))
    assert result.exit_code == 3, result.output
    assert "deleted outside cstool: pod lab1/pod2" in result.output  # text on stdout
    report = json.loads(out.read_text())
    assert report["format"] == 1 and report["summary"]["missing"] == 3
    assert f"drift report saved to {out}" in result.output


def test_out_into_a_missing_directory_is_refused_before_the_cloud_is_read(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "drift.json"
    # this recording has no answer for the reads: reading the cloud would fail differently
    replay = str(DATA / "api" / "pod-create-refused.yaml")
    result = runner.invoke(app, ["drift", str(LAB), "--replay", replay, "--out", str(out)])
    assert result.exit_code == 1
    assert f"the directory {out.parent} does not exist" in result.output
    assert "no answer" not in result.output and not out.parent.exists()


# --- the picture of the drifted zone -----------------------------------------------------


def test_markdown_drift_embeds_a_mermaid_picture_with_the_drift_highlighted(
    drifted: Any,
) -> None:
    from tests.test_graph import _labels, _parse

    out = render_drift("markdown", _drift(drifted[0]), "t")
    block = re.search(
        r"<details><summary>(.*?)</summary>\n\n```mermaid\n(.*?)```\n\n</details>", out, re.S
    )
    assert block is not None, out
    assert "lab1" in block.group(1)
    # added outside cstool is yellow in the picture too, as in the text report
    assert "classDef added fill:#fff8c5" in block.group(2)
    assert "stroke-dasharray:6 3" in block.group(2).split("classDef removed", 1)[1]
    [model] = _parse(block.group(2))
    assert model["ok"], model.get("error")
    labels = _labels(model)
    classes = {
        " ".join(labels[x["id"]]): x["classes"] for x in [*model["vertices"], *model["subgraphs"]]
    }
    by_title = {k.split(" ", 2)[0] + " " + k.split(" ", 2)[1]: v for k, v in classes.items()}
    assert by_title["Pod pod2"] == ["removed"]  # deleted outside cstool, drawn back in
    assert by_title["Guest traffic"] == ["changed"]
    added = [v for k, v in classes.items() if k.startswith("Public 203.0.113.220")]
    assert added == [["added"]]
    assert sorted(c for v in classes.values() for c in v) == [
        "added",
        "changed",
        "changed",
        "removed",
        "removed",
        "removed",
    ]


def test_markdown_drift_without_the_states_has_no_picture(drifted: Any) -> None:
    found = _drift(drifted[0])
    bare = Drift(found.changed, found.missing, found.unmanaged)
    assert "```mermaid" not in render_drift("markdown", bare, "t")
    assert "```mermaid" in render_drift("markdown", found, "t")


def test_every_key_of_the_drift_json_is_documented(drifted: Any) -> None:
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "json.md").read_text()
    section = doc[doc.index("## Drift") :]
    report = json.loads(_cli(drifted[0], "-f", "json").output)
    keys = set(report)
    for kind in ("changed", "missing", "unmanaged"):
        for item in report[kind]:
            keys |= set(item)
    keys |= {k for c in report["changed"] for f in c["field_changes"] for k in f}
    undocumented = sorted(k for k in keys if f"`{k}`" not in section)
    assert undocumented == []
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    assert set(json.loads(example.group(1))) == set(report)


def test_the_markdown_picture_renders_as_a_mermaid_block_in_a_details_on_github(
    drifted: Any,
) -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    text = render_drift("markdown", _drift(drifted[0]), "t")
    unsafe = cmarkgfm.Options.CMARK_OPT_UNSAFE  # GitHub keeps <details>
    page = cmarkgfm.github_flavored_markdown_to_html(text, options=unsafe)
    details = page[page.index("<details>") : page.index("</details>")]
    assert '<pre lang="mermaid"><code>flowchart TB' in details
    # one list of the six items (a nested one under each of the 2 changed), one of the ways out
    assert page.count("<ul>") == 1 + 2 + 1
    items = page[page.index("<ul>") : page.index("<details>")]
    assert items.count("outside cstool</strong>") == 6
