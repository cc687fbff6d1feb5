"""Markdown for pull-request comments: what is taken out of service in a warning at the top,
a summary table, destructive steps called out, unmanaged resources listed, details
collapsible."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, replace

from cstool.errors import Origin
from cstool.model.diff import present
from cstool.model.intent import LABELS, NOTES
from cstool.model.kinds import noun
from cstool.model.plan import CHANGE, DRIFT, INTENTS, Plan
from cstool.model.resources import Key, State
from cstool.render.graph import mermaid, with_removed
from cstool.render.rows import (
    DRIFT_WORDS,
    Drift,
    Row,
    disruption,
    disruption_summary,
    drift_summary,
    drift_ways_out,
    field_changes,
    group_header,
    ignored_line,
    label,
    plan_rows,
    summary,
    unhealthy_lines,
    unmanaged_note,
)
from cstool.render.text import not_rotatable_line

ACTIONS = ("create", "update", "replace", "delete")
# GitHub refuses a comment over 65,536 characters: the default limit of a Markdown plan
DEFAULT_MAX_CHARS = 65_000


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _cell(text: str) -> str:
    """Text in a table cell: one line, no `|` ending the cell, no HTML."""
    one_line = " ".join(text.split())
    return html.escape(one_line, quote=False).replace("|", "\\|")


def _code(text: str) -> str:
    """An inline code span that a backtick in `text` cannot end."""
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plan(
    p: Plan,
    target: str,
    color: bool = False,
    *,
    desired: State | None = None,
    live: State | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    full_plan: str | None = None,
) -> str:
    """The plan as a pull-request comment. Visible: the zones with their counts and a table
    of what changes per zone; collapsed: a picture of the changed zones (when `desired` and
    `live` are given) and the API calls per zone. Over `max_chars` (0 or None: no limit) it
    leaves out, in this order, the picture, the API calls, the field details and the per-zone
    tables, and says what it left out and where the full plan is (`full_plan`: the file
    `plan --out` wrote)."""
    head = [marker(target), f"### cstool plan for `{target}`", ""]
    # --rotate-secrets: what the API cannot rotate, said last whatever else is left out
    rotation = ["", *(_esc(x) for x in not_rotatable_line(p))] if p.not_rotatable else []
    if p.empty and not p.unmanaged:
        head.append("**No changes.** The cloud matches the configuration.")
        return "\n".join(head + rotation) + "\n"
    if p.empty:
        head.append(
            f"**No changes to apply**, but {len(p.unmanaged)} resource(s) in the cloud are "
            "not in the configuration (listed below)."
        )
        return "\n".join(head + _unmanaged(p) + rotation) + "\n"
    view = _View.of(p, desired, live)
    text = ""
    for level in range(len(LEFT_OUT) + 1):
        text = "\n".join(head + _body(p, view, level, max_chars, full_plan) + rotation) + "\n"
        if not max_chars or len(text) <= max_chars:
            break
    return text


def marker(target: str) -> str:
    """The hidden first line a CI job finds its earlier comment by (docs/review.md). The
    target is written so that it cannot end the HTML comment."""
    name = " ".join(re.sub("-{2,}", "-", target).replace(">", "").split())
    return f"<!-- cstool-plan target={name} -->"


# what a long plan leaves out, in this order, to fit in --max-chars
LEFT_OUT = (
    "the picture",
    "the API calls",
    "the field details",
    "the per-zone tables and the lists of resources",
)
DETAIL_CHARS = 200  # the longest "what changes" cell with field details


@dataclass(frozen=True)
class _Entry:
    """One changed resource in a zone's table: its action, name and what changes."""

    action: str
    kind: str
    name: str  # the path below the zone
    fields: tuple[tuple[str, str, str], ...]  # field, old, new (nested ones broken down)
    origin: str
    reason: str


@dataclass(frozen=True)
class _Group:
    """The changes and steps of one zone ("" for cloud-wide settings)."""

    zone: str
    entries: tuple[_Entry, ...]
    steps: tuple[tuple[int, Row], ...]  # (number in the plan, row)

    @property
    def title(self) -> str:
        return f"zone `{_esc(self.zone)}`" if self.zone else "cloud-wide settings"

    def counts(self) -> Counter[str]:
        return Counter(e.action for e in self.entries)


@dataclass(frozen=True)
class _View:
    """What the comment shows, computed once for every length it tries."""

    groups: tuple[_Group, ...]
    picture: str  # Mermaid source of the changed zones ("" without the states)

    @classmethod
    def of(cls, p: Plan, desired: State | None, live: State | None) -> _View:
        rows = plan_rows(p)
        by_key: dict[Key, list[Row]] = {}
        for step, row in zip(p.steps, rows, strict=True):
            by_key.setdefault(step.key, []).append(row)
        entries: dict[str, list[_Entry]] = {}
        for action, key in p.changes():
            entries.setdefault(key.zone or "", []).append(_entry(action.value, key, by_key[key]))
        steps: dict[str, list[tuple[int, Row]]] = {}
        for n, (step, row) in enumerate(zip(p.steps, rows, strict=True), 1):
            steps.setdefault(step.key.zone or "", []).append((n, row))
        groups = tuple(
            _Group(zone, tuple(entries.get(zone, ())), tuple(steps.get(zone, ())))
            for zone in sorted(set(entries) | set(steps))
        )
        return cls(groups, _picture(p, desired, live))


def _entry(action: str, key: Key, rows: list[Row]) -> _Entry:
    """A resource's steps (a create and its enable) as one table entry."""
    seen: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        for name, old, new in row.changes:
            seen.setdefault(name, (name, old, new))
    zone_part = 1 if key.zone is not None and key.kind != "zone" else 0
    return _Entry(
        action,
        noun(key.kind),
        "/".join(key.path[zone_part:]),
        tuple(seen.values()),
        next((r.origin for r in rows if r.origin), ""),
        next((r.reason for r in rows if r.reason), ""),
    )


def _picture(p: Plan, desired: State | None, live: State | None) -> str:
    """Mermaid of the zones the plan changes, the changed resources highlighted; what it
    deletes is drawn from the live state."""
    if desired is None or live is None:
        return ""
    changes = p.changes()
    zones = {key.zone for _, key in changes if key.zone is not None}
    if not zones:
        return ""
    deleted = [key for action, key in changes if action.value == "delete"]
    drawn = with_removed(present(desired), live, deleted)
    state = State({k: r for k, r in drawn.items() if k.zone in zones})
    marks: dict[Key | str, str] = {key: action.value for action, key in changes}
    for key in state:  # what comes with its parent's create (a pod's first range) is new too
        if key not in live:
            marks.setdefault(key, "create")
    return mermaid(state, marks)


def _body(
    p: Plan, view: _View, level: int, max_chars: int | None, full_plan: str | None
) -> list[str]:
    """The comment below its title, leaving out the first `level` parts of LEFT_OUT."""
    out = _disruptions(p, brief=level >= 4)
    out += [
        f"**{summary(p)}** ({len(p.steps)} API steps)"
        + (f"; **{disruption_summary(p)}**" if p.disruptions() else ""),
        "",
    ]
    out += _intent_counts(p)
    out += _zone_counts(view.groups)
    out += _destructive(p, brief=level >= 4)
    if level < 4:
        for heading, groups in _sections(p, view, "Changes"):
            out += heading
            for group in groups:
                out += _table(group, details=level < 3)
    if level < 1 and view.picture:
        out += _details(
            "Picture of the changed zones: green added, yellow changed, red dashed deleted",
            ["```mermaid", view.picture.rstrip("\n"), "```"],
        )
    if level < 2:
        numbered = len(view.groups) > 1 or p.base is not None  # --base: steps by group
        for heading, groups in _sections(p, view, "API calls"):
            out += heading
            for group in groups:
                out += _calls(group, numbered)
    out += _unmanaged(p, brief=level >= 4)
    parts = [part for n, part in enumerate(LEFT_OUT[:level]) if n or view.picture]
    if parts:
        out += _left_out(parts, max_chars, full_plan)
    return out


def _intent_counts(p: Plan) -> list[str]:
    """With --base: how many steps come from the change and how many revert drift (kept at
    every length)."""
    if p.base is None:
        return []
    out = [f"Against the base `{_cell(p.base)}`:", ""]
    out += [f"- **{_esc(group_header(p, i))}**" for i in INTENTS]
    return out + [""]


def _sections(p: Plan, view: _View, what: str) -> list[tuple[list[str], tuple[_Group, ...]]]:
    """The per-zone groups under a heading each for --base: from this change, then what
    reverts drift (steps keep their numbers in the whole plan). Without it: one section, no
    heading."""
    if p.base is None:
        return [([], view.groups)]
    out = []
    for intent in INTENTS:
        group = p.group(intent)
        numbers = [n for n, s in enumerate(p.steps, 1) if s.intent == intent]
        zones = tuple(
            replace(z, steps=tuple((numbers[n - 1], r) for n, r in z.steps))
            for z in _View.of(group, None, None).groups
        )
        steps = f"{len(group.steps)} step{'s' if len(group.steps) != 1 else ''}"
        if what == "Changes":
            heading = ["", f"#### {LABELS[intent]} ({steps})", "", f"_{_esc(NOTES[intent])}_"]
            heading += _also_drifted(group)
        else:
            heading = ["", f"#### API calls {SECTION_CALLS[intent]} ({steps})"]
        out.append((heading + ([] if group.steps else ["", "(none)"]), zones))
    return out


SECTION_CALLS = {CHANGE: "from this change", DRIFT: "that revert drift"}


def _also_drifted(group: Plan) -> list[str]:
    """The change's steps on resources that had also drifted (the old values shown are the
    cloud's, not the base config's)."""
    found = {label(s.key.kind, s.key.path): s.drifted for s in group.steps if s.drifted}
    if not found:
        return []
    return [
        "",
        "Also reverts drift on: "
        + "; ".join(f"{_esc(name)} ({', '.join(f)})" for name, f in found.items()),
    ]


def _zone_counts(groups: tuple[_Group, ...]) -> list[str]:
    """Every zone the plan changes, with its counts: kept at every length."""
    out = ["| zone | " + " | ".join(ACTIONS) + " |", "|---|" + "---:|" * len(ACTIONS)]
    for group in groups:
        counts = group.counts()
        out.append(
            f"| {group.zone and _cell(group.zone) or '(cloud-wide)'} | "
            + " | ".join(str(counts.get(a, 0) or "") for a in ACTIONS)
            + " |"
        )
    return out


def _destructive(p: Plan, brief: bool) -> list[str]:
    """Deletes and replaces called out (only their number when the plan is cut short)."""
    found = [key for action, key in p.changes() if action.value in ("delete", "replace")]
    if not found:
        return []
    out = [
        "",
        "> [!WARNING]",
        f"> **{len(found)} resource(s) deleted or replaced{'' if brief else ':'}**",
    ]
    if brief:
        return out
    origins = {s.key: str(s.origin) for s in p.steps if s.origin}
    actions = {key: action.value for action, key in p.changes()}
    for key in found:
        where = f" ({origins[key]})" if key in origins else ""
        out.append(f"> - `{actions[key]}` {_esc(label(key.kind, key.path))}{where}")
    return out


def _table(group: _Group, details: bool) -> list[str]:
    """The changed resources of one zone, octoDNS style: action, kind, name, what changes,
    YAML line."""
    if not group.entries:
        return []
    out = [
        "",
        f"#### Changes in {group.title}",
        "",
        "| action | kind | resource | what changes | YAML |",
        "|---|---|---|---|---|",
    ]
    for e in group.entries:
        action = f"**{e.action}**" if e.action in ("delete", "replace") else e.action
        if e.reason:
            action += f" ({_cell(e.reason)})"
        where = f"`{_cell(e.origin)}`" if e.origin else ""
        out.append(
            f"| {action} | {e.kind} | {_cell(e.name)} | {_cell(_what(e, details))} | {where} |"
        )
    return out


def _what(e: _Entry, details: bool) -> str:
    """What changes on one resource: old → new per field (or the names only)."""
    if e.action == "delete":
        return "deleted"
    if e.action == "create":
        if not details:
            return "new"
        text = ", ".join(f"{name}={new}" for name, _, new in e.fields if new != "(none)")
    elif details:
        text = "; ".join(f"{name}: {old} → {new}" for name, old, new in e.fields)
    else:
        text = ", ".join(name for name, _, _ in e.fields)
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def _calls(group: _Group, numbered: bool) -> list[str]:
    """One zone's steps and API calls, collapsed: an ordered list, each step one item with
    its details as a nested list indented by the width of the item's marker (cmark-gfm ends
    the list at a sub-list indented less)."""
    body = []
    for local, (n, r) in enumerate(group.steps, 1):
        where = f" — `{r.origin}`" if r.origin else ""
        mark = " **(destructive)**" if r.destructive else ""
        mark += " **(disruptive)**" if r.disrupts else ""
        step = f" (step {n})" if numbered else ""
        body.append(f"{local}. `{r.symbol}` **{r.title}** {_esc(r.resource)}{mark}{where}{step}")
        pad = " " * len(f"{local}. ")
        if r.disrupts:
            body.append(f"{pad}- ⚠ {_esc(r.disrupts)}")
        if r.reason:
            body.append(f"{pad}- replace ({_esc(r.reason)})")
        for name, old, new in r.changes:
            body.append(f"{pad}- `{name}`: {_esc(old)} → {_esc(new)}")
        for call in r.calls:
            body.append(f"{pad}- {_code(call)}")
    where = f"in zone <code>{html.escape(group.zone)}</code>" if group.zone else "for settings"
    count = len(group.steps)
    return _details(f"API calls {where} ({count} step{'s' if count != 1 else ''})", body)


def _details(summary_html: str, body: list[str]) -> list[str]:
    """A collapsed section; blank lines around its Markdown so that it is parsed as such."""
    return ["", f"<details><summary>{summary_html}</summary>", "", *body, "", "</details>"]


def _left_out(parts: list[str], max_chars: int | None, full_plan: str | None) -> list[str]:
    """What a plan cut short left out, and where the whole of it is."""
    where = (
        f"`{_esc(full_plan)}` (the JSON plan `cstool plan --out` saved)"
        if full_plan
        else "the JSON plan (`cstool plan --out plan.json`), or this CI job's summary"
    )
    return [
        "",
        "> [!NOTE]",
        f"> Shortened to fit in {max_chars:,} characters: left out "
        + ", ".join(parts[:-1])
        + (" and " if len(parts) > 1 else "")
        + parts[-1]
        + f". **The full plan** is in {where}; "
        "`cstool plan -f markdown --max-chars 0` prints it whole.",
    ]


def _disruptions(p: Plan, brief: bool = False) -> list[str]:
    """The warning block at the top: what the apply takes out of service, for how long (only
    how many when the plan is cut short to its zones' counts)."""
    found = p.disruptions()
    if not found:
        return []
    head = f"> **{len(found)} resource(s) out of service during the apply"
    if brief:
        return ["> [!CAUTION]", head + "**", ""]
    out = ["> [!CAUTION]", head + ":**"]
    for d in found:
        where = f" — `{d.origin}`" if d.origin else ""
        out.append(f"> - {_esc(disruption(d))}{where}")
    return out + [""]


def _unmanaged(p: Plan, brief: bool = False) -> list[str]:
    """Listed in the open: a reviewer sees what the config does not cover (only how many
    when the plan is cut short to its zones' counts), and the ignored (`ignore:`)."""
    ignored = ["", *(_esc(x) for x in ignored_line(p.ignored))] if p.ignored else []
    if not p.unmanaged:
        return ignored
    out = [
        "",
        f"**{len(p.unmanaged)} unmanaged resource(s)** (in the cloud, not in the "
        f"configuration: {unmanaged_note(p)})" + ("." if brief else ":"),
        "",
    ]
    if brief:
        return out[:-1] + ignored
    out += [
        f"- {_esc(label(r.key.kind, r.key.path))}" + (" **(deleted)**" if p.prunes(r) else "")
        for r in p.unmanaged
    ]
    return out + ignored


# the cloud's point of view (rows.DRIFT_WORDS), with the text report's colours as markers
DRIFT_MARKS = {"changed": "🔵", "missing": "🔴", "unmanaged": "🟡"}
# how the picture marks each kind of drift (graph.HIGHLIGHT_CLASS names the classes), and
# the colours of those classes in a drift report: the markers' (and the text report's)
# colours, so that added outside cstool is yellow here too, not a plan's green
DRIFT_HIGHLIGHT = {"changed": "update", "missing": "delete", "unmanaged": "create"}
DRIFT_STYLES = {
    "added": "fill:#fff8c5,stroke:#9a6700,stroke-width:3px,color:#0d1117",
    "changed": "fill:#ddf4ff,stroke:#0969da,stroke-width:3px,color:#0d1117",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 3,color:#0d1117",
}


def drift(d: Drift, target: str, color: bool = False) -> str:
    out = [f"### cstool drift for `{target}`", ""]
    notes = _unhealthy(d)
    if d.in_sync:
        out.append("**In sync.** The cloud matches the configuration.")
        return "\n".join(out + [_esc(x) for x in ignored_line(d.ignored)] + notes) + "\n"
    c = d.counts()
    out += [
        f"**Drift: {drift_summary(d)}.**",
        "",
        "| " + " | ".join(DRIFT_WORDS[w] for w in DRIFT_WORDS) + " |",
        "|---:|---:|---:|",
        "| " + " | ".join(str(c[w]) for w in DRIFT_WORDS) + " |",
        "",
    ]
    for change in d.changed:
        origin = change.desired.origin if change.desired else None
        out.append(_drift_item("changed", change.key, origin))
        for name, (old, new) in change.fields.items():
            for field, before, after in field_changes(name, old, new):
                out.append(f"  - `{field}`: cloud {_esc(before)}, config {_esc(after)}")
    for res in d.missing:
        out.append(_drift_item("missing", res.key, res.origin))
    for res in d.unmanaged:
        out.append(_drift_item("unmanaged", res.key, None))
    out += ["", *(_esc(x) for x in ignored_line(d.ignored))] if d.ignored else []
    out += notes
    out += _drift_picture(d)
    out += ["", "**Two ways out:**", ""]
    out += [f"- `{command}` {what}" for command, what in drift_ways_out(d)]
    return "\n".join(out) + "\n"


def _unhealthy(d: Drift) -> list[str]:
    """The resources CloudStack reports unwell, in a warning block (none: nothing)."""
    lines = unhealthy_lines(d)
    if not lines:
        return []
    return ["", "> [!WARNING]", *(f"> - {_esc(line)}" for line in lines)]


def _drift_item(what: str, key: Key, origin: Origin | None) -> str:
    where = f" — `{origin}`" if origin else ""
    name = _esc(label(key.kind, key.path))
    return f"- {DRIFT_MARKS[what]} **{DRIFT_WORDS[what]}**: {name}{where}"


def _drift_style(line: str) -> str:
    """A classDef line of the picture with the drift report's colour for its class."""
    words = line.split(maxsplit=2)
    if len(words) == 3 and words[0] == "classDef" and words[1] in DRIFT_STYLES:
        return f"  classDef {words[1]} {DRIFT_STYLES[words[1]]}\n"
    return line


def _drift_picture(d: Drift) -> list[str]:
    """A collapsed Mermaid picture of the drifted zones as the cloud has them now, what was
    deleted outside cstool drawn back in (dashed), each drifted part highlighted."""
    if d.desired is None or d.live is None:
        return []
    marks: dict[Key, str] = {c.key: DRIFT_HIGHLIGHT["changed"] for c in d.changed}
    marks.update({r.key: DRIFT_HIGHLIGHT["missing"] for r in d.missing})
    marks.update({r.key: DRIFT_HIGHLIGHT["unmanaged"] for r in d.unmanaged})
    zones = {key.zone for key in marks if key.zone is not None}
    if not zones:  # global settings only: nothing to draw
        return []
    both = with_removed(d.live, d.desired, [r.key for r in d.missing])
    drawn = State({k: r for k, r in both.items() if k.zone in zones})
    picture = mermaid(drawn, {k: a for k, a in marks.items() if k.zone in zones})
    picture = "".join(map(_drift_style, picture.splitlines(keepends=True)))
    names = html.escape(", ".join(sorted(str(z) for z in zones)))
    return [
        "",
        f"<details><summary>Picture of the drifted zone{'s' if len(zones) > 1 else ''} "
        f"({names}): yellow added, blue changed, red dashed deleted outside cstool"
        "</summary>",
        "",
        "```mermaid",
        picture.rstrip("\n"),
        "```",
        "",
        "</details>",
    ]
