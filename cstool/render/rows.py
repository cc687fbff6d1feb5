"""The one row model text and Markdown share, so they cannot disagree."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from cstool.model.diff import Action, Change
from cstool.model.plan import Disruption, Plan, Ref, Step, Var
from cstool.model.resources import Resource

SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "±", Action.DELETE: "-"}


def show(value: Any) -> str:
    """A value as a reviewer reads it."""
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]" if value else "[]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def show_param(value: Any) -> str:
    if isinstance(value, Ref | Var):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return show(value)


def label(kind: str, path: tuple[str, ...]) -> str:
    return f"{kind.replace('_', ' ')} {'/'.join(path)}"


@dataclass(frozen=True)
class Row:
    symbol: str
    action: str
    title: str
    resource: str
    kind: str
    origin: str
    destructive: bool
    changes: tuple[tuple[str, str, str], ...]  # field, old, new
    calls: tuple[str, ...]
    disrupts: str = ""  # what the step takes out of service ("" when nothing)


def field_changes(name: str, old: Any, new: Any) -> list[tuple[str, str, str]]:
    """(field, old, new) lines; a mapping or list that changed in part is broken down by key
    or position (deepdiff), so a reviewer sees `labels.kvm` rather than two whole mappings."""
    nested = isinstance(old, Mapping | tuple | list) and isinstance(new, Mapping | tuple | list)
    if (
        not nested
        or type(old) is not type(new)
        and not (isinstance(old, tuple | list) and isinstance(new, tuple | list))
    ):
        return [(name, show(old), show(new))]
    lines = []
    for items in DeepDiff(old, new, view="tree").values():
        for item in items:
            where = "".join(
                f".{p}" if isinstance(p, str) else f"[{p}]" for p in item.path(output_format="list")
            )
            before = None if type(item.t1).__name__ == "NotPresent" else item.t1
            after = None if type(item.t2).__name__ == "NotPresent" else item.t2
            lines.append((f"{name}{where}", show(before), show(after)))
    return sorted(lines) or [(name, show(old), show(new))]


def step_row(step: Step) -> Row:
    changes = tuple(
        line
        for name, (old, new) in step.fields.items()
        for line in (
            field_changes(name, old, new) if old is not None else [(name, show(old), show(new))]
        )
    )
    calls = tuple(
        " ".join(
            [c.command, *(f"{k}={show_param(v)}" for k, v in c.params.items() if v is not None)]
        )
        for c in step.calls
    )
    return Row(
        SYMBOL[step.action],
        step.action.value,
        step.title,
        label(step.key.kind, step.key.path),
        step.key.kind,
        str(step.origin) if step.origin else "",
        step.destructive,
        changes,
        calls,
        step.disrupts or "",
    )


def plan_rows(plan: Plan) -> list[Row]:
    return [step_row(s) for s in plan.steps]


def summary(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"{c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
        f"{c['delete']} to delete"
    )


def disruption_summary(plan: Plan) -> str:
    """'1 resource out of service for up to 5 steps' ('' when none)."""
    found = plan.disruptions()
    if not found:
        return ""
    longest = max(d.steps for d in found)
    return (
        f"{len(found)} resource{'s' if len(found) != 1 else ''} out of service "
        f"for up to {longest} step{'s' if longest != 1 else ''}"
    )


def disruption(d: Disruption) -> str:
    """One disruption for a reviewer: what, for how many steps, which ones."""
    name = label(d.key.kind, d.key.path)
    if d.end is not None:
        span = f"steps {d.start + 1}-{d.end + 1}"
        after = ""
    else:
        span = f"step {d.start + 1} to the end"
        after = ", and after the apply (as the config says)"
    return f"{name} {d.what} for {d.steps} of {d.total} steps ({span}){after}"


def disruption_note(plan: Plan) -> str:
    """The disruptions in one sentence, for the confirmation prompt ('' when none)."""
    found = plan.disruptions()
    if not found:
        return ""
    return "Out of service during the apply: " + "; ".join(disruption(d) for d in found) + "."


def unmanaged_note(plan: Plan) -> str:
    """What the plan does with what is in the cloud and not in the config."""
    deleted = sum(1 for r in plan.unmanaged if plan.prunes(r))
    kept = len(plan.unmanaged) - deleted
    parts = []
    if deleted:
        parts.append(f"{deleted} deleted by this plan (--prune)")
    if kept and not plan.prune:
        parts.append(f"{kept} kept (--prune deletes them)")
    elif kept:
        other = [
            r for r in plan.unmanaged if r.key.zone is not None and r.key.zone not in plan.zones
        ]
        if len(other) < kept:
            parts.append(f"{kept - len(other)} kept (outside --prune-scope)")
        if other:
            zones = sorted({str(r.key.zone) for r in other})
            parts.append(
                f"{len(other)} kept in zones the config does not name ({', '.join(zones)}): "
                "--prune never deletes a whole zone; mark it `absent: true` to delete it"
            )
    return ", ".join(parts)


def by_kind(plan: Plan) -> dict[str, Counter[str]]:
    """kind -> action -> resources."""
    out: dict[str, Counter[str]] = {}
    for action, key in plan.changes():
        out.setdefault(key.kind, Counter())[action.value] += 1
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Drift:
    """What differs between the config and the cloud."""

    changed: tuple[Change, ...]
    missing: tuple[Resource, ...]
    unmanaged: tuple[Resource, ...]

    @property
    def in_sync(self) -> bool:
        return not (self.changed or self.missing or self.unmanaged)

    def counts(self) -> dict[str, int]:
        return {
            "changed": len(self.changed),
            "missing": len(self.missing),
            "unmanaged": len(self.unmanaged),
        }
