"""Markdown for pull-request comments: what is taken out of service in a warning at the top,
a summary table, destructive steps called out, unmanaged resources listed, details
collapsible."""

from __future__ import annotations

from cstool.model.plan import Plan
from cstool.render.rows import (
    Drift,
    by_kind,
    disruption,
    disruption_summary,
    field_changes,
    label,
    plan_rows,
    summary,
    unmanaged_note,
)

ACTIONS = ("create", "update", "replace", "delete")


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def plan(p: Plan, target: str, color: bool = False) -> str:
    out = [f"### cstool plan for `{target}`", ""]
    if p.empty and not p.unmanaged:
        out.append("**No changes.** The cloud matches the configuration.")
        return "\n".join(out) + "\n"
    if p.empty:
        out.append(
            f"**No changes to apply**, but {len(p.unmanaged)} resource(s) in the cloud are "
            "not in the configuration (listed below)."
        )
        return "\n".join(out + _unmanaged(p)) + "\n"
    out += _disruptions(p)
    out += [
        f"**{summary(p)}** ({len(p.steps)} API steps)"
        + (f"; **{disruption_summary(p)}**" if p.disruptions() else ""),
        "",
        "| kind | " + " | ".join(ACTIONS) + " |",
        "|---|" + "---:|" * len(ACTIONS),
    ]
    for kind, counts in by_kind(p).items():
        out.append(
            f"| {kind.replace('_', ' ')} | "
            + " | ".join(str(counts.get(a, 0) or "") for a in ACTIONS)
            + " |"
        )
    rows = plan_rows(p)
    destructive = list({r.resource: r for r in rows if r.destructive}.values())
    if destructive:
        out += ["", "> [!WARNING]", f"> **{len(destructive)} resource(s) deleted or replaced:**"]
        out += [
            f"> - `{r.action}` {r.resource}" + (f" ({r.origin})" if r.origin else "")
            for r in destructive
        ]
    out += ["", "<details><summary>Steps and API calls</summary>", ""]
    for n, r in enumerate(rows, 1):
        where = f" — `{r.origin}`" if r.origin else ""
        mark = " **(destructive)**" if r.destructive else ""
        mark += " **(disruptive)**" if r.disrupts else ""
        out.append(f"{n}. `{r.symbol}` **{r.title}** {_esc(r.resource)}{mark}{where}")
        if r.disrupts:
            out.append(f"   - ⚠ {_esc(r.disrupts)}")
        for name, old, new in r.changes:
            out.append(f"   - `{name}`: {_esc(old)} → {_esc(new)}")
        for call in r.calls:
            out.append(f"   - `{call}`")
    out += ["", "</details>"]
    return "\n".join(out + _unmanaged(p)) + "\n"


def _disruptions(p: Plan) -> list[str]:
    """The warning block at the top: what the apply takes out of service, for how long."""
    found = p.disruptions()
    if not found:
        return []
    out = ["> [!CAUTION]", f"> **{len(found)} resource(s) out of service during the apply:**"]
    for d in found:
        where = f" — `{d.origin}`" if d.origin else ""
        out.append(f"> - {_esc(disruption(d))}{where}")
    return out + [""]


def _unmanaged(p: Plan) -> list[str]:
    """Always listed, in the open: a reviewer sees what the config does not cover."""
    if not p.unmanaged:
        return []
    out = [
        "",
        f"**{len(p.unmanaged)} unmanaged resource(s)** (in the cloud, not in the "
        f"configuration: {unmanaged_note(p)}):",
        "",
    ]
    out += [
        f"- {_esc(label(r.key.kind, r.key.path))}" + (" **(deleted)**" if p.prunes(r) else "")
        for r in p.unmanaged
    ]
    return out


def drift(d: Drift, target: str, color: bool = False) -> str:
    out = [f"### cstool drift for `{target}`", ""]
    if d.in_sync:
        out.append("**In sync.** The cloud matches the configuration.")
        return "\n".join(out) + "\n"
    c = d.counts()
    out += [
        "| changed | missing | unmanaged |",
        "|---:|---:|---:|",
        f"| {c['changed']} | {c['missing']} | {c['unmanaged']} |",
        "",
    ]
    for change in d.changed:
        origin = f" — `{change.desired.origin}`" if change.desired and change.desired.origin else ""
        out.append(f"- **changed** {label(change.key.kind, change.key.path)}{origin}")
        for name, (old, new) in change.fields.items():
            for field, before, after in field_changes(name, old, new):
                out.append(f"  - `{field}`: cloud {_esc(before)}, config {_esc(after)}")
    for res in d.missing:
        origin = f" — `{res.origin}`" if res.origin else ""
        out.append(f"- **missing** {label(res.key.kind, res.key.path)}{origin}")
    for res in d.unmanaged:
        out.append(f"- **unmanaged** {label(res.key.kind, res.key.path)}")
    return "\n".join(out) + "\n"
