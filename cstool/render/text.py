"""Plain text (with colour on a terminal) for plans and drift."""

from __future__ import annotations

from collections.abc import Iterator

from cstool.errors import Origin
from cstool.model.intent import NOTES
from cstool.model.plan import INTENTS, Plan
from cstool.model.resources import Key, Resource
from cstool.render.rows import (
    DRIFT_WORDS,
    Drift,
    Row,
    disruption,
    disruption_summary,
    drift_summary,
    drift_ways_out,
    drifted_note,
    field_changes,
    group_header,
    ignored_line,
    label,
    plan_rows,
    summary,
    unhealthy_lines,
    unmanaged_note,
)

COLORS = {"+": "32", "~": "33", "±": "35", "-": "31", "!": "1;31", "dim": "2", "bold": "1"}


def _c(text: str, code: str, color: bool) -> str:
    return f"\033[{COLORS.get(code, code)}m{text}\033[0m" if color else text


def plan(p: Plan, target: str, color: bool = False) -> str:
    lines = [f"Target: {target}"] + ([f"Base: {p.base}"] if p.base is not None else [])
    if p.empty and p.unmanaged:
        lines.append(
            f"No changes to apply, but {len(p.unmanaged)} resource(s) in the cloud are not "
            "in the configuration (listed below)."
        )
    elif p.empty:
        lines.append("No changes: the cloud matches the configuration.")
    else:
        out = disruption_summary(p)
        lines.append(f"Plan: {summary(p)} ({len(p.steps)} steps)" + (f"; {out}." if out else "."))
    disruptions = p.disruptions()
    if disruptions:
        lines.append(_c("Out of service during the apply:", "!", color))
        lines.extend("  ! " + disruption(d) for d in disruptions)
    for n, row in _grouped(p, lines, color):
        head = f"{row.symbol} {row.title} {row.resource}"
        flag = "  " + _c("(destructive)", "!", color) if row.destructive else ""
        flag += "  " + _c("(disruptive)", "!", color) if row.disrupts else ""
        where = f"  {_c(row.origin, 'dim', color)}" if row.origin else ""
        lines.append("")
        lines.append(f"{n:>3}. {_c(head, row.symbol, color)}{flag}{where}")
        if row.disrupts:
            lines.append(_c(f"       ! {row.disrupts}", "!", color))
        lines.extend(f"       {note}" for note in drifted_note(p.steps[n - 1]))
        if row.reason:
            lines.append(f"       replace ({row.reason})")
        for name, old, new in row.changes:
            creating = row.title in ("create", "enable", "configure") and old == "(none)"
            lines.append(f"       {name}: {new}" if creating else f"       {name}: {old} -> {new}")
        for call in row.calls:
            lines.append(_c(f"       > {call}", "dim", color))
    if p.unmanaged:
        lines.append("")
        lines.append(
            f"Unmanaged: {len(p.unmanaged)} in the cloud, not in the config ({unmanaged_note(p)}):"
        )
        lines.extend(
            f"  {label(r.key.kind, r.key.path)}" + ("  (deleted)" if p.prunes(r) else "")
            for r in p.unmanaged
        )
    lines.extend(["", *ignored_line(p.ignored)] if p.ignored else [])
    lines.extend(["", *not_rotatable_line(p)] if p.not_rotatable else [])
    return "\n".join(lines) + "\n"


def not_rotatable_line(p: Plan) -> list[str]:
    """With --rotate-secrets: one line naming the objects whose secrets the API cannot change
    (Simulator and VMware hosts, pool secrets, store details), or none."""
    if not p.not_rotatable:
        return []
    names = ", ".join(label(k.kind, k.path) for k in p.not_rotatable)
    return [
        f"Not rotatable through the API ({len(p.not_rotatable)}; replace the object to change "
        f"its secret): {names}"
    ]


def _grouped(p: Plan, lines: list[str], color: bool) -> Iterator[tuple[int, Row]]:
    """The rows, numbered in apply order. With --base: from this change first, then what
    reverts drift, each group under a header (with its counts) appended to lines first."""
    rows = list(enumerate(plan_rows(p), 1))
    if p.base is None or p.empty:
        yield from rows
        return
    for intent in INTENTS:
        lines += ["", _c(group_header(p, intent), "bold", color), f"  {NOTES[intent]}"]
        if not p.group(intent).steps:
            lines.append("  (none)")
        yield from ((n, row) for n, row in rows if p.steps[n - 1].intent == intent)


# drift colours: the cloud's point of view (rows.DRIFT_WORDS); what was deleted outside
# cstool is red, what was added there yellow, a changed value cyan
DRIFT_COLORS = {"changed": "36", "missing": "31", "unmanaged": "33"}
DRIFT_SYMBOLS = {"changed": "~", "missing": "-", "unmanaged": "+"}


def drift(d: Drift, target: str, color: bool = False) -> str:
    lines = [f"Target: {target}"]
    notes = [_c(f"! {line}", "!", color) for line in unhealthy_lines(d)]
    if d.in_sync:
        lines.append("In sync: the cloud matches the configuration.")
        return "\n".join(lines + ignored_line(d.ignored) + notes) + "\n"
    lines.append(f"Drift: {drift_summary(d)}.")
    lines.extend(ignored_line(d.ignored))
    lines.extend(notes)
    for change in d.changed:
        origin = change.desired.origin if change.desired else None
        lines.append("")
        lines.append(_drift_head("changed", change.key, color, origin, _uuid(change.live)))
        for name, (old, new) in change.fields.items():
            for field, before, after in field_changes(name, old, new):
                lines.append(f"    {field}: cloud has {before}, config says {after}")
    for res in d.missing:
        lines.append("")
        lines.append(_drift_head("missing", res.key, color, res.origin, None))
    for res in d.unmanaged:
        lines.append("")
        lines.append(_drift_head("unmanaged", res.key, color, None, res.uuid))
    lines.append("")
    lines.append(_c("Two ways out:", "bold", color))
    ways = drift_ways_out(d)
    width = max(len(command) for command, _ in ways)
    lines.extend(f"  {command:<{width}}  {what}" for command, what in ways)
    return "\n".join(lines) + "\n"


def _drift_head(what: str, key: Key, color: bool, origin: Origin | None, uuid: str | None) -> str:
    """`- deleted outside cstool: pod lab1/pod2  lab.yaml:40:7`, coloured by what happened."""
    head = f"{DRIFT_SYMBOLS[what]} {DRIFT_WORDS[what]}: {label(key.kind, key.path)}"
    where = f"  {_c(str(origin), 'dim', color)}" if origin else ""
    ident = f"  {_c(f'(id {uuid})', 'dim', color)}" if uuid else ""
    return _c(head, DRIFT_COLORS[what], color) + where + ident


def _uuid(res: Resource | None) -> str | None:
    return res.uuid if res is not None else None
