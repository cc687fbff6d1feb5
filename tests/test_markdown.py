"""The Markdown plan as GitHub shows it: rendered by cmark-gfm (GitHub's own renderer) and
checked as HTML, short enough to post as a comment, with the names of what changes in the
open and the API calls collapsed per zone."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from typer.testing import CliRunner

from cstool.cli import app
from cstool.model.loader import load, load_text
from cstool.model.plan import Plan, checksum, make_plan, plan_from_dict
from cstool.model.resources import State
from cstool.render import markdown, render_plan
from tests.conftest import CONFIGS, DATA, ROOT

PLANS = DATA / "plans"
CASES = sorted(p.name for p in PLANS.iterdir() if p.is_dir())
LIMIT = 65_000
runner = CliRunner()

# --- HTML as a tree ----------------------------------------------------------------------

VOID = {"br", "hr", "img", "input", "meta", "link"}
# where a reader sees a break between pieces of text
BREAKS = {"p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "summary", "pre"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    @property
    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def all(self, tag: str) -> list[Node]:
        found = []
        for child in self.elements:
            if child.tag == tag:
                found.append(child)
            found += child.all(tag)
        return found

    def inside(self, tag: str) -> bool:
        node = self.parent
        while node is not None:
            if node.tag == tag:
                return True
            node = node.parent
        return False

    def content(self) -> str:
        return "".join(c if isinstance(c, str) else c.content() for c in self.children)


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("root", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.node.tag == tag, f"</{tag}> closes <{self.node.tag}>"
        assert self.node.parent is not None
        self.node = self.node.parent

    def handle_data(self, data: str) -> None:
        self.node.children.append(data)


def github_html(text: str) -> Node:
    """The Markdown as GitHub renders it (cmark-gfm with its extensions), as a tree; raw HTML
    (<details>) is kept, as GitHub keeps it."""
    rendered = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    tree = _Tree()
    tree.feed(rendered)
    tree.close()
    assert tree.node is tree.root, "unclosed elements"
    return tree.root


def outside_details(root: Node) -> str:
    """The text a reviewer sees without expanding anything."""

    def walk(node: Node | str) -> str:
        if isinstance(node, str):
            return node
        if node.tag == "details":
            summary = node.all("summary")
            return summary[0].content() + "\n" if summary else ""
        text = "".join(walk(c) for c in node.children)
        return text + ("\n" if node.tag in BREAKS else "\t" if node.tag in ("td", "th") else "")

    return walk(root)


def check_structure(text: str, p: Plan) -> Node:
    """One <ol> per collapsed section of steps, each step one <li> with its details as a
    <ul> inside it, the step lists together holding every step; every table a <table>."""
    root = github_html(text)
    lists = root.all("ol")
    for ol in lists:
        assert ol.attrs.get("start") in (None, "1"), "a list restarted mid-way"
        assert ol.inside("details"), "steps outside a collapsed section"
        assert all(c.tag == "li" for c in ol.elements)
    for details in root.all("details"):
        assert len(details.all("ol")) <= 1, "a section's steps split into several lists"
    for ul in root.all("ul"):
        if ul.inside("details"):
            assert ul.parent is not None and ul.parent.tag == "li", "a step's details left its item"
    if lists:
        assert sum(len(ol.elements) for ol in lists) == len(p.steps)
        zones = {s.key.zone or "" for s in p.steps}
        assert len(lists) == len(zones)
    assert len(root.all("details")) == text.count("<details>")
    tables = text.count("\n|---")
    assert len(root.all("table")) == tables
    for node in root.all("p"):
        assert "|---" not in node.content(), "a table not rendered as one"
    return root


# --- plans to render ---------------------------------------------------------------------


def case_plan(case: str) -> tuple[Plan, State, State]:
    """A golden case's plan, read from its directory (origins say `desired.yaml:L:C`)."""
    here = os.getcwd()
    os.chdir(PLANS / case)
    try:
        desired, problems = load(["desired.yaml"])
        live, _ = load(["live.yaml"])
    finally:
        os.chdir(here)
    assert [p for p in problems if not p.warning] == []
    args = PLANS / case / "args"
    return make_plan(desired, live, args.exists() and "prune" in args.read_text()), desired, live


def bring_up(tmp_path: Path, zones: int, pods: int) -> tuple[Plan, State]:
    """The plan that brings up a generated config (bench/generate.py) on an empty cloud."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_config

    desired, problems = load([write_config(tmp_path / f"c{zones}x{pods}", zones, pods)])
    assert [p for p in problems if not p.warning] == []
    return make_plan(desired, State()), desired


def lab() -> tuple[Plan, State]:
    desired, _ = load([CONFIGS / "lab"])
    return make_plan(desired, State()), desired


# --- the list structure ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_golden_markdown_plan_renders_as_one_list_per_section(case: str) -> None:
    p, _, _ = case_plan(case)
    text = (PLANS / case / "plan.md").read_text()
    assert text == render_plan("markdown", p, "golden")
    check_structure(text, p)


def test_markdown_plans_the_tests_make_render_right(tmp_path: Path) -> None:
    lab_plan, desired = lab()
    assert len(lab_plan.steps) >= 12
    made = [
        render_plan("markdown", lab_plan, "lab"),
        render_plan("markdown", lab_plan, "lab", desired=desired, live=State()),
    ]
    for zones, pods in ((3, 2), (10, 4), (10, 10)):
        p, want = bring_up(tmp_path, zones, pods)
        for limit in (0, LIMIT, 30_000, 8_000):
            made.append(markdown.plan(p, "t", desired=want, live=State(), max_chars=limit))
            check_structure(made[-1], p)
    for text in made[:2]:
        check_structure(text, lab_plan)
    for case in CASES:
        p, desired, live = case_plan(case)
        check_structure(markdown.plan(p, "golden", desired=desired, live=live), p)


def test_the_check_catches_a_list_cmark_gfm_breaks() -> None:
    """Sub-bullets indented 3 spaces under `10.` fall out of the list on GitHub: the list is
    closed and another one starts at 11. The check must see it."""
    p, _ = lab()
    good = render_plan("markdown", p, "lab", max_chars=0)
    assert re.search(r"^10\. .*\n    - ", good, re.M)  # indented by the marker's width
    broken = re.sub(r"^    - ", "   - ", good, flags=re.M)
    with pytest.raises(AssertionError):
        check_structure(broken, p)


# --- what is in the open -----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_names_of_changed_resources_are_visible_outside_details(case: str) -> None:
    p, desired, live = case_plan(case)
    seen = outside_details(github_html(markdown.plan(p, "golden", desired=desired, live=live)))
    for _action, key in p.changes():
        assert key.path[-1] in seen, key
        assert key.kind.replace("_", " ") in seen
    for zone in {k.zone for _, k in p.changes() if k.zone}:
        assert re.search(rf"^{re.escape(zone)}\s", seen, re.M) or f"zone {zone}" in seen


def test_zone_summary_and_change_table_say_what_changes_and_where() -> None:
    p, _, _ = case_plan("update-in-place")
    root = github_html(render_plan("markdown", p, "golden"))
    tables = root.all("table")
    heads = [[th.content() for th in t.all("th")] for t in tables]
    assert heads[0] == ["zone", "create", "update", "replace", "delete"]
    assert ["action", "kind", "resource", "what changes", "YAML"] in heads
    rows = [[td.content() for td in tr.all("td")] for t in tables[1:] for tr in t.all("tr")]
    guest = next(r for r in rows if r and r[2] == "pn1/Guest")
    assert guest[0] == "update" and guest[1] == "traffic type"
    assert "labels.kvm: cloudbr2 → cloudbr1" in guest[3]
    assert re.fullmatch(r"desired\.yaml:\d+:\d+", guest[4])
    # the API calls are collapsed, one section per zone
    summaries = [s.content() for s in root.all("summary")]
    assert summaries == ["API calls for settings (1 step)", "API calls in zone z1 (6 steps)"]


# --- fitting in a comment ----------------------------------------------------------------


def test_10_zone_10_pod_bring_up_fits_in_a_comment(tmp_path: Path) -> None:
    p, desired = bring_up(tmp_path, 10, 10)
    full = markdown.plan(p, "t", desired=desired, live=State(), max_chars=0)
    assert len(full) > LIMIT  # the case is worth testing
    text = render_plan("markdown", p, "t", desired=desired, live=State())
    assert len(text) <= LIMIT
    seen = outside_details(check_structure(text, p))
    for zone in sorted({k.zone for _, k in p.changes() if k.zone}):
        assert re.search(rf"^{zone}\s+\d+", seen, re.M), zone  # its name and its counts
    assert "The full plan is in the JSON plan (cstool plan --out plan.json)" in seen
    assert "left out the picture" in seen and "the API calls" in seen


def test_10_zone_4_pod_bring_up_fits_and_keeps_its_tables(tmp_path: Path) -> None:
    p, desired = bring_up(tmp_path, 10, 4)
    text = render_plan("markdown", p, "t", desired=desired, live=State())
    assert len(text) <= LIMIT
    seen = outside_details(check_structure(text, p))
    assert "#### Changes in zone `zone009`" in text and "pod003" in seen
    assert "per-zone tables" not in seen


def test_max_chars_leaves_out_parts_in_order_and_keeps_every_zone(tmp_path: Path) -> None:
    p, desired = bring_up(tmp_path, 3, 2)
    full = markdown.plan(p, "t", desired=desired, live=State(), max_chars=0)
    assert "```mermaid" in full and "<summary>API calls" in full and "NOTE" not in full
    assert "cloudbr1" in full.split("<details>")[0]  # field details in the open table
    steps = [
        (limit, markdown.plan(p, "t", desired=desired, live=State(), max_chars=limit))
        for limit in range(len(full) - 1, 1000, -500)
    ]
    parts = ["```mermaid", "<summary>API calls", "cloudbr1", "#### Changes in zone"]
    dropped = []
    for limit, text in steps:
        assert len(text) <= limit or "per-zone tables" in text
        for zone in ("zone000", "zone001", "zone002"):
            assert re.search(rf"^\| {zone} \|", text, re.M)
        gone = [part for part in parts if part not in text]
        assert gone == parts[: len(gone)], "left out in the wrong order"
        if gone and gone not in dropped:
            dropped.append(gone)
            assert "[!NOTE]" in text and "cstool plan --out plan.json" in text
    assert dropped[-1] == parts  # the smallest limits leave out all four


def test_text_and_json_plans_ignore_max_chars(tmp_path: Path) -> None:
    state, out = tmp_path / "sim.json", tmp_path / "plan.json"
    lab_dir = str(CONFIGS / "lab")
    base = ["plan", lab_dir, "--sim", "--sim-state", str(state)]
    md = runner.invoke(app, [*base, "-f", "markdown", "--max-chars", "6000", "--out", str(out)])
    assert md.exit_code == 3, md.output
    text = md.stdout
    assert len(text) <= 6000 and text.startswith("<!-- cstool-plan target=simulator")
    assert f"The full plan** is in `{out}`" in text
    whole = runner.invoke(app, [*base, "-f", "markdown", "--max-chars", "0"]).stdout
    assert len(whole) > 6000 and "[!NOTE]" not in whole and "```mermaid" in whole
    plain = runner.invoke(app, [*base, "--max-chars", "100"]).stdout
    assert len(plain) > 100 and plain.startswith("Target: ")
    data = json.loads(runner.invoke(app, [*base, "-f", "json", "--max-chars", "100"]).stdout)
    assert len(data["steps"]) == len(json.loads(out.read_text())["steps"])


# --- marker ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_marker_line_comes_first(case: str) -> None:
    assert (PLANS / case / "plan.md").read_text().startswith("<!-- cstool-plan target=golden -->\n")


def test_marker_line_on_an_empty_plan_and_a_hostile_target() -> None:
    empty = render_plan("markdown", make_plan(State(), State()), "prod")
    assert empty.splitlines()[0] == "<!-- cstool-plan target=prod -->"
    line = markdown.marker("x --> <b>evil</b> --- y\nz")
    assert line.count("-->") == 1 and line.endswith(" -->") and "\n" not in line
    root = github_html(line + "\n")
    assert outside_details(root).strip() == ""  # hidden: nothing of it shows


# --- replace reasons ---------------------------------------------------------------------


def test_replace_names_the_field_that_forces_it_in_every_format() -> None:
    p, _, _ = case_plan("replace-public-range-vlan")
    md = render_plan("markdown", p, "golden")
    seen = outside_details(github_html(md))
    assert "replace (vlan forces a new range)" in seen
    assert "replace (vlan forces a new range)" in render_plan("text", p, "golden")
    data = json.loads(render_plan("json", p, "golden"))
    replaced = [s for s in data["steps"] if s["action"] == "replace"]
    assert replaced and all(s["forced_by"] == ["vlan"] for s in replaced)
    assert all(s["replace_reason"] == "vlan forces a new range" for s in replaced)
    steps, _ = plan_from_dict(data)
    assert [s.replace_reason for s in steps] == [s.replace_reason for s in p.steps]


def test_a_plan_saved_before_replace_reasons_loads_with_its_checksum() -> None:
    p, _, _ = case_plan("replace-public-range-vlan")
    data = p.to_dict()
    for step in data["steps"]:
        del step["forced_by"], step["replace_reason"]
    assert checksum(data) == data["checksum"]
    steps, _ = plan_from_dict(data)
    assert all(s.replace_reason is None for s in steps)


POD = """
zones:
  - name: z1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    physical_networks:
      - name: pn1
        traffic:
          - {{type: Management, labels: {{kvm: cloudbr0}}}}
          - {{type: Guest, labels: {{kvm: cloudbr1}}}}
    pods:
      - name: p1
        gateway: 10.10.1.1
        netmask: 255.255.255.0
        management_ranges:
          - {{start: 10.10.1.10, end: {end}}}
          - {{start: 10.10.1.120, end: 10.10.1.130}}
"""


def test_replace_when_says_why_an_update_would_go_wrong() -> None:
    """The old end 10.10.1.12 is part of 10.10.1.120: the server's update would rewrite that
    one too (kinds._mgmt_update_unsafe), so the change is a replace, and it says why."""
    live, _ = load_text(POD.format(end="10.10.1.12"), "live.yaml")
    desired, _ = load_text(POD.format(end="10.10.1.15"), "desired.yaml")
    p = make_plan(desired, live)
    step = next(s for s in p.steps if s.action.value == "replace")
    assert step.forced_by == ("end",)
    assert step.replace_reason is not None
    assert "10.10.1.12 is part of another address of the pod" in step.replace_reason
    assert "the old end 10.10.1.12" in render_plan("markdown", p, "golden").split("<details>")[0]
    # an end the other addresses do not contain is an update, with no reason
    live, _ = load_text(POD.format(end="10.10.1.14"), "live.yaml")
    again = make_plan(desired, live)
    assert {s.action.value for s in again.steps} == {"update"}
    assert all(s.replace_reason is None for s in again.steps)


# --- the picture -------------------------------------------------------------------------


def test_picture_of_the_changed_zone_highlights_the_changes() -> None:
    p, desired, live = case_plan("absent-storage-range")
    text = markdown.plan(p, "golden", desired=desired, live=live)
    root = github_html(text)
    details = [d for d in root.all("details") if "Picture" in d.all("summary")[0].content()]
    assert len(details) == 1
    source = details[0].content()
    assert "flowchart TB" in source and "class " in source and " removed" in source
    assert "10.20.2.100" in source  # the deleted range is drawn, from the live state
    # dropped first when the plan must be shorter
    shorter = markdown.plan(p, "golden", desired=desired, live=live, max_chars=len(text) - 1)
    assert "```mermaid" not in shorter and "<summary>API calls" in shorter
    assert "left out the picture." in shorter
