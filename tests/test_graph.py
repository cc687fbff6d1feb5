"""`cstool graph`: the picture of a zone as Mermaid (checked by Mermaid's own parser from
npm), SVG (checked by an XML parser) and DOT, from the config or the live cloud.

The Mermaid check installs mermaid and jsdom (versions pinned in tests/data/mermaid/) into
.cache/ on first use, with npm; it is skipped only where node or npm is missing.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool.cli import app
from cstool.model.loader import load, load_text
from cstool.model.resources import Key, State
from cstool.render import graph
from tests.conftest import CONFIGS, DATA, ROOT

runner = CliRunner()
MERMAID_DIR = DATA / "mermaid"
SVG_NS = "{http://www.w3.org/2000/svg}"

HOSTILE = """\
zones:
  - name: 'z"1 <b>&amp; #35; end'
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    physical_networks:
      - name: "pn[1]{x}|`tick`;"
        vlan_ranges: [100-199]
        traffic:
          - {type: Management, labels: {kvm: 'br"0 --> x'}}
          - {type: Guest, labels: {kvm: "cloudbr1%%"}}
          - {type: Public, labels: {kvm: "é<script>"}}
        providers: {VirtualRouter: enabled}
    public_ranges:
      - {gateway: 203.0.113.1, netmask: 255.255.255.0, start: 203.0.113.10, end: 203.0.113.20}
    pods:
      - name: "end"
        gateway: 10.0.1.1
        netmask: 255.255.255.0
        management_ranges:
          - {start: 10.0.1.10, end: 10.0.1.20}
"""


def _state(path: Path) -> State:
    state, problems = load([path])
    assert [p for p in problems if "warning" not in p.message] == []
    return state


def _hostile() -> State:
    state, _problems = load_text(HOSTILE, "hostile.yaml")
    return state


# --- Mermaid, parsed by Mermaid ------------------------------------------------------------


@cache
def _mermaid_checker() -> Path:
    """The folder with mermaid + jsdom installed (once per package.json version)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run Mermaid's parser")
    manifest = (MERMAID_DIR / "package.json").read_bytes()
    script = (MERMAID_DIR / "parse.mjs").read_bytes()
    digest = hashlib.sha256(manifest + script).hexdigest()[:12]
    target = ROOT / ".cache" / f"mermaid-{digest}"
    if (target / "node_modules" / "mermaid").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mermaid-", dir=target.parent))
    shutil.copy(MERMAID_DIR / "package.json", work)
    shutil.copy(MERMAID_DIR / "parse.mjs", work)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"npm install failed: {done.stderr[-2000:]}"
    try:
        os.replace(work, target)  # whole or not at all; another run may have won the race
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _parse(*texts: str) -> list[dict[str, Any]]:
    """Mermaid's verdict and model of each diagram (one node process for all)."""
    checker = _mermaid_checker()
    done = subprocess.run(
        ["node", "parse.mjs"],
        cwd=checker,
        input=json.dumps(list(texts)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def _shown(text: str) -> list[str]:
    """The lines a Mermaid label shows: entity codes decoded (Mermaid keeps them as
    placeholders until it draws), split at <br>."""
    text = re.sub("ﬂ°°([0-9]+)¶ß", lambda m: chr(int(m.group(1))), text)
    text = re.sub("ﬂ°([A-Za-z]+)¶ß", lambda m: html.unescape(f"&{m.group(1)};"), text)
    return re.split(r"<br\s*/?>", text)


HIGHLIGHT: dict[Key | str, str] = {
    Key("pod", ("lab1", "pod2")): "create",
    "traffic_type:lab1/trunk/Public": "update",
    Key("provider", ("lab1", "trunk", "InternalLbVm")): "delete",
}


def _diagrams() -> dict[str, str]:
    """Every diagram the tests look at, parsed in one node process (it starts in seconds)."""
    out = {p.name: graph.mermaid(_state(p)) for p in EXAMPLES}
    out["hostile"] = graph.mermaid(_hostile())
    out["highlight"] = graph.mermaid(_state(CONFIGS / "lab"), HIGHLIGHT)
    broken = graph.mermaid(_state(CONFIGS / "basic")).replace("  end\n", "", 1) + "  n0 -->\n"
    out["broken"] = broken
    return out


@cache
def _parsed() -> dict[str, dict[str, Any]]:
    diagrams = _diagrams()
    return dict(zip(diagrams, _parse(*diagrams.values()), strict=True))


def _labels(model: dict[str, Any]) -> dict[str, list[str]]:
    out = {v["id"]: _shown(v["text"]) for v in model["vertices"]}
    out.update({s["id"]: _shown(s["title"]) for s in model["subgraphs"]})
    return out


def _expected_labels(state: State) -> list[list[str]]:
    """Every box the view has, as title + lines, in drawing order."""
    out = []
    for zone in graph.zones(state):
        out.append([zone.title, *zone.lines])
        for net in zone.networks:
            out.append([net.title, *net.lines])
            out += [[i.title, *i.lines] for i in net.traffic]
            if net.providers:
                out.append([net.providers.title, *net.providers.lines])
        out += [[i.title, *i.lines] for i in zone.public]
        for pod in zone.pods:
            out.append([pod.title, *pod.lines])
            out += [[i.title, *i.lines] for i in pod.ranges]
    return out


EXAMPLES = sorted(p for p in CONFIGS.iterdir() if p.is_dir())


def test_mermaid_of_every_example_and_of_hostile_names_parses_and_shows_the_names() -> None:
    states = [_state(p) for p in EXAMPLES] + [_hostile()]
    results = [_parsed()[p.name] for p in EXAMPLES] + [_parsed()["hostile"]]
    for state, result in zip(states, results, strict=True):
        assert result["ok"], result.get("error")
        shown = sorted(_labels(result).values())
        assert shown == sorted(_expected_labels(state))
    hostile = sorted(_labels(results[-1]).values())
    assert ["Pod end", "10.0.1.0/24 · gateway 10.0.1.1"] in hostile
    assert ['Zone z"1 <b>&amp; #35; end', "Advanced"] in hostile
    assert ["Management traffic", 'kvm: br"0 --> x'] in hostile


def test_mermaid_has_subgraphs_per_zone_network_and_pod_and_links_ranges_to_traffic() -> None:
    result = _parsed()["lab"]
    labels = _labels(result)
    titles = {s["id"]: labels[s["id"]][0] for s in result["subgraphs"]}
    assert sorted(titles.values()) == [
        "Physical network mgmt",
        "Physical network trunk",
        "Pod pod1",
        "Pod pod2",
        "Zone lab1",
    ]
    pod1 = next(s for s in result["subgraphs"] if titles[s["id"]] == "Pod pod1")
    assert sorted(labels[n][0] for n in pod1["nodes"]) == [
        "Management 10.10.1.10 – 10.10.1.30",
        "Management 10.10.1.40 – 10.10.1.60",
        "Storage 10.20.1.10 – 10.20.1.60",
    ]
    links = {(labels[e["start"]][0], labels[e["end"]][0]) for e in result["edges"]}
    assert ("Storage traffic", "Storage 10.20.2.10 – 10.20.2.60") in links
    assert ("Public traffic", "Public 198.51.100.10 – 198.51.100.50") in links
    assert all(e["stroke"] == "dotted" for e in result["edges"])


def test_mermaid_highlight_marks_the_changed_boxes() -> None:
    plain, marked = _parsed()["lab"], _parsed()["highlight"]
    assert plain["ok"] and marked["ok"], marked.get("error")
    labels = _labels(marked)
    classes = {
        labels[x["id"]][0]: x["classes"] for x in [*marked["vertices"], *marked["subgraphs"]]
    }
    assert classes["Pod pod2"] == ["added"]
    assert classes["Public traffic"] == ["changed"]
    providers = [x for x in marked["vertices"] if "InternalLbVm (disabled)" in labels[x["id"]]]
    assert [p["classes"] for p in providers] == [["removed"]]  # drawn though disabled
    assert sorted(c for v in classes.values() for c in v) == ["added", "changed", "removed"]
    assert {"added", "changed", "removed"} <= set(marked["classes"])
    plain_labels = _labels(plain)
    assert not any("InternalLbVm" in " ".join(v) for v in plain_labels.values())


def test_the_mermaid_check_can_fail() -> None:
    result = _parsed()["broken"]
    assert not result["ok"] and "Parse error" in result["error"]


def test_highlight_with_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        graph.mermaid(_state(CONFIGS / "lab"), {"pod:lab1/pod1": "rename"})


def test_with_removed_draws_what_a_plan_deletes() -> None:
    desired = _state(CONFIGS / "lab")
    gone = Key("pod", ("lab1", "pod2"))
    kept = State({k: r for k, r in desired.items() if k.path[:2] != ("lab1", "pod2")})
    assert gone not in kept
    both = graph.with_removed(kept, desired, [gone])
    assert gone in both and Key("pod", ("lab1", "pod1")) in both
    assert "Pod pod2" not in graph.mermaid(kept)
    assert "class n" in graph.mermaid(both, {gone: "delete"})


# --- SVG -----------------------------------------------------------------------------------


def _svg_texts(text: str) -> list[str]:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_svg_is_xml_with_every_box_and_line(example: Path) -> None:
    state = _state(example)
    text = graph.svg(state)
    texts = _svg_texts(text)
    for box in _expected_labels(state):
        title, *lines = box
        assert title in texts
        for line in lines:  # the zone's lines share one text element
            assert any(line in t for t in texts), line
    root = ET.fromstring(text)
    assert float(root.get("width") or 0) > 0 and float(root.get("height") or 0) > 0
    assert not list(root.iter(f"{SVG_NS}script")) and "href" not in text and "@import" not in text


def test_svg_escapes_every_name() -> None:
    texts = _svg_texts(graph.svg(_hostile()))
    assert 'Zone z"1 <b>&amp; #35; end' in texts
    assert "Physical network pn[1]{x}|`tick`;" in texts
    assert "kvm: é<script>" in texts


def test_svg_highlight_outlines_the_changed_boxes() -> None:
    state = _state(CONFIGS / "lab")
    text = graph.svg(state, {"pod:lab1/pod1": "update", "public_range:lab1/203.0.113.10": "create"})
    root = ET.fromstring(text)
    classes = sorted(r.get("class") or "" for r in root.iter(f"{SVG_NS}rect") if r.get("class"))
    assert classes == ["added", "changed"]
    assert "changed" not in graph.svg(state)


def test_dot_has_a_cluster_per_zone_network_and_pod_with_escaped_labels() -> None:
    text = graph.dot(_hostile())
    assert text.count("subgraph cluster_") == 3 and text.count("{") == text.count("}")
    assert 'label="Zone z\\"1 <b>&amp; #35; end\\nAdvanced"' in text


# --- the command ---------------------------------------------------------------------------


def test_graph_command_writes_each_format(tmp_path: Path) -> None:
    for fmt in graph.FORMATS:
        out = tmp_path / f"lab.{fmt}"
        result = runner.invoke(app, ["graph", str(CONFIGS / "lab"), "-f", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_text() == graph.render(fmt, _state(CONFIGS / "lab"))
    result = runner.invoke(app, ["graph", str(CONFIGS / "lab")])
    assert result.exit_code == 0 and result.output.startswith("flowchart TB\n")


def test_graph_command_refuses_an_unknown_format() -> None:
    result = runner.invoke(app, ["graph", str(CONFIGS / "lab"), "-f", "png"])
    assert result.exit_code == 1 and "mermaid, svg, dot" in result.output


def test_graph_live_draws_the_cloud_not_the_config(tmp_path: Path) -> None:
    sim = ["--sim", "--sim-state", str(tmp_path / "sim.json")]
    config = str(CONFIGS / "basic")
    applied = runner.invoke(app, ["apply", config, "--yes", *sim])
    assert applied.exit_code == 0, applied.output
    from_config = runner.invoke(app, ["graph", config, "-f", "svg"])
    live = runner.invoke(app, ["graph", config, "--live", "-f", "svg", *sim])
    assert live.exit_code == 0, live.output
    assert "Pod pod1" in _svg_texts(live.output)
    # the live cloud reads back what the config asked for, and what CloudStack added itself
    assert set(_svg_texts(from_config.output)) <= set(_svg_texts(live.output))
    empty = runner.invoke(app, ["graph", str(CONFIGS / "lab"), "--live", "-f", "svg", *sim])
    assert empty.exit_code == 0 and "Zone" not in "".join(_svg_texts(empty.output))
