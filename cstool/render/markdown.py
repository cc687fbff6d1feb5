"""Markdown for pull-request comments: a summary table, destructive steps called out,
details collapsible."""

from __future__ import annotations

from cstool.model.plan import Plan
from cstool.render.rows import Drift, by_kind, field_changes, label, plan_rows, summary

ACTIONS = ("create", "update", "replace", "delete")


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def plan(p: Plan, target: str, color: bool = False) -> str:
    out = [f"### cstool plan for `{target}`", ""]
    if p.empty:
        out.append("**No changes.** The cloud matches the configuration.")
        return "\n".join(out) + "\n"
    out += [
        f"**{summary(p)}** ({len(p.steps)} API steps)",
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
        out.append(f"{n}. `{r.symbol}` **{r.title}** {_esc(r.resource)}{mark}{where}")
        for name, old, new in r.changes:
            out.append(f"   - `{name}`: {_esc(old)} → {_esc(new)}")
        for call in r.calls:
            out.append(f"   - `{call}`")
    out += ["", "</details>"]
    if p.unmanaged:
        out += [
            "",
            f"<details><summary>{len(p.unmanaged)} unmanaged resource(s)"
            f"{' (deleted: --prune)' if p.prune else ''}</summary>",
            "",
        ]
        out += [f"- {label(r.key.kind, r.key.path)}" for r in p.unmanaged]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


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
