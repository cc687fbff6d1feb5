"""Plain text (with colour on a terminal) for plans and drift."""

from __future__ import annotations

from cstool.model.plan import Plan
from cstool.render.rows import (
    Drift,
    disruption,
    disruption_summary,
    field_changes,
    label,
    plan_rows,
    summary,
    unmanaged_note,
)

COLORS = {"+": "32", "~": "33", "±": "35", "-": "31", "!": "1;31", "dim": "2", "bold": "1"}


def _c(text: str, code: str, color: bool) -> str:
    return f"\033[{COLORS.get(code, code)}m{text}\033[0m" if color else text


def plan(p: Plan, target: str, color: bool = False) -> str:
    lines = [f"Target: {target}"]
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
    for n, row in enumerate(plan_rows(p), 1):
        head = f"{row.symbol} {row.title} {row.resource}"
        flag = "  " + _c("(destructive)", "!", color) if row.destructive else ""
        flag += "  " + _c("(disruptive)", "!", color) if row.disrupts else ""
        where = f"  {_c(row.origin, 'dim', color)}" if row.origin else ""
        lines.append("")
        lines.append(f"{n:>3}. {_c(head, row.symbol, color)}{flag}{where}")
        if row.disrupts:
            lines.append(_c(f"       ! {row.disrupts}", "!", color))
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
    return "\n".join(lines) + "\n"


def drift(d: Drift, target: str, color: bool = False) -> str:
    lines = [f"Target: {target}"]
    if d.in_sync:
        lines.append("In sync: the cloud matches the configuration.")
        return "\n".join(lines) + "\n"
    c = d.counts()
    lines.append(
        f"Drift: {c['changed']} changed, {c['missing']} missing, {c['unmanaged']} unmanaged."
    )
    for change in d.changed:
        origin = (
            f"  {_c(str(change.desired.origin), 'dim', color)}"
            if change.desired and change.desired.origin
            else ""
        )
        lines.append("")
        lines.append(
            _c(f"~ changed {label(change.key.kind, change.key.path)}", "~", color) + origin
        )
        for name, (old, new) in change.fields.items():
            for field, before, after in field_changes(name, old, new):
                lines.append(f"    {field}: cloud has {before}, config says {after}")
    for res in d.missing:
        origin = f"  {_c(str(res.origin), 'dim', color)}" if res.origin else ""
        lines.append("")
        lines.append(_c(f"+ missing {label(res.key.kind, res.key.path)}", "+", color) + origin)
    for res in d.unmanaged:
        lines.append("")
        lines.append(_c(f"- unmanaged {label(res.key.kind, res.key.path)}", "-", color))
    return "\n".join(lines) + "\n"
