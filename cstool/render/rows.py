"""The one row model text and Markdown share, so they cannot disagree."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deepdiff import DeepDiff

from cstool.model.diff import Action, Change
from cstool.model.intent import LABELS
from cstool.model.kinds import noun
from cstool.model.plan import Disruption, Plan, Ref, Step, Var
from cstool.model.resources import Key, Resource, State

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
    return f"{noun(kind)} {'/'.join(path)}"


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
    reason: str = ""  # why a replace is one ("vlan forces a new range"; "" otherwise)


def field_changes(name: str, old: Any, new: Any) -> list[tuple[str, str, str]]:
    """(field, old, new) lines; a mapping or list that changed in part is broken down by key
    or position (deepdiff), so a reviewer sees `labels.kvm` rather than two whole mappings."""
    lines = field_values(name, old, new)
    return sorted((where, show(before), show(after)) for where, before, after in lines)


def field_values(name: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """field_changes with the values themselves (None where a key or item is not there), for
    JSON; ordered by field like field_changes."""
    nested = isinstance(old, Mapping | tuple | list) and isinstance(new, Mapping | tuple | list)
    if (
        not nested
        or type(old) is not type(new)
        and not (isinstance(old, tuple | list) and isinstance(new, tuple | list))
    ):
        return [(name, old, new)]
    lines = []
    for items in DeepDiff(old, new, view="tree").values():
        for item in items:
            where = "".join(
                f".{p}" if isinstance(p, str) else f"[{p}]" for p in item.path(output_format="list")
            )
            before = None if type(item.t1).__name__ == "NotPresent" else item.t1
            after = None if type(item.t2).__name__ == "NotPresent" else item.t2
            lines.append((f"{name}{where}", before, after))
    lines.sort(key=lambda line: (line[0], show(line[1]), show(line[2])))
    return lines or [(name, old, new)]


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
        step.replace_reason or "",
    )


def plan_rows(plan: Plan) -> list[Row]:
    return [step_row(s) for s in plan.steps]


def summary(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"{c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
        f"{c['delete']} to delete"
    )


def group_header(plan: Plan, intent: str) -> str:
    """`From this change: 4 steps (1 to create, ...)` for a group of a --base plan."""
    group = plan.group(intent)
    steps = len(group.steps)
    return f"{LABELS[intent]}: {steps} step{'s' if steps != 1 else ''} ({summary(group)})"


def drifted_note(step: Step) -> list[str]:
    """For a step of the change on a resource that had also drifted (model/intent.py): which
    of its fields the cloud had changed too, since the old values shown are the cloud's."""
    if not step.drifted:
        return []
    fields = ", ".join(step.drifted)
    return [f"also reverts drift: the cloud differed from the base config in {fields}"]


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
class RunInfo:
    """When and against what a drift report was made: the header of its JSON, so that a CI
    job's stored report says which cstool read which CloudStack, when and how long it took."""

    generated_at: str  # UTC, ISO-8601 (2026-11-26T13:00:00Z)
    duration: float  # seconds
    cstool_version: str
    cloudstack_version: str | None  # None: the server does not say (or a recording)
    configs: tuple[str, ...] = ()  # the config paths, as given (for the footer's commands)
    args: tuple[str, ...] = ()  # the target options, as given (--sim, --profile NAME)


@dataclass(frozen=True)
class Drift:
    """What differs between the config and the cloud. `missing` were deleted outside cstool,
    `unmanaged` added outside it (the cloud's point of view, as the reports word it).
    `desired` and `live` are the states compared (for the picture of the drifted zones);
    `info` says when and against what (set by the command, None in plain use)."""

    changed: tuple[Change, ...]
    missing: tuple[Resource, ...]
    unmanaged: tuple[Resource, ...]
    desired: State | None = field(default=None, compare=False, repr=False)
    live: State | None = field(default=None, compare=False, repr=False)
    info: RunInfo | None = field(default=None, compare=False)
    # unmanaged, but named by the config's `ignore:` rules: listed, never drift
    ignored: tuple[Resource, ...] = ()
    # managed resources the cloud reports unhealthy (Kind.health): (key, what it says).
    # Not drift (nothing to apply or accept): shown beside it, in sync or not
    unhealthy: tuple[tuple[Key, str], ...] = ()

    @property
    def in_sync(self) -> bool:
        return not (self.changed or self.missing or self.unmanaged)

    def counts(self) -> dict[str, int]:
        return {
            "changed": len(self.changed),
            "missing": len(self.missing),
            "unmanaged": len(self.unmanaged),
        }


# Drift in the cloud's point of view: what happened there, outside cstool. A resource of the
# config the cloud lacks was deleted there; one the config lacks was added there.
DRIFT_WORDS = {
    "changed": "changed outside cstool",
    "missing": "deleted outside cstool",
    "unmanaged": "added outside cstool",
}


def ignored_line(ignored: tuple[Resource, ...]) -> list[str]:
    """One line naming the unmanaged objects the config's `ignore:` rules name (known ones:
    never drift, never pruned), or none."""
    if not ignored:
        return []
    names = ", ".join(label(r.key.kind, r.key.path) for r in ignored)
    return [f"Ignored ({len(ignored)}, named by ignore: in the config): {names}"]


def unhealthy_lines(d: Drift) -> list[str]:
    """What the cloud says is unwell among the managed resources (Kind.health), one line
    each: not drift, nothing for apply or --accept to do, but what an operator must see."""
    return [
        f"{label(key.kind, key.path)}: CloudStack reports it {said} (nothing to apply: "
        "an operator brings it back)"
        for key, said in d.unhealthy
    ]


def drift_summary(d: Drift) -> str:
    """'1 changed, 3 deleted, 1 added outside cstool' (the kinds of drift found)."""
    c = d.counts()
    parts = [
        f"{c['changed']} changed" if c["changed"] else "",
        f"{c['missing']} deleted" if c["missing"] else "",
        f"{c['unmanaged']} added" if c["unmanaged"] else "",
    ]
    return ", ".join(p for p in parts if p) + " outside cstool"


def drift_ways_out(d: Drift) -> list[tuple[str, str]]:
    """The ways out of a drift, as (command, what it does): apply reverts the cloud to the
    config (with --prune it also deletes what was added outside cstool: apply alone keeps
    it); `drift --accept` keeps the cloud's values by writing them into the YAML."""
    info = d.info
    configs = shlex.join(info.configs) if info is not None and info.configs else "CONFIG"
    args = "".join(f" {shlex.quote(a)}" for a in (info.args if info is not None else ()))
    out = []
    if d.changed or d.missing:
        out.append((f"cstool apply {configs}{args}", "reverts the cloud to the config"))
    if d.unmanaged:
        out.append(
            (
                f"cstool apply {configs}{args} --prune",
                "reverts it and also deletes what was added outside cstool"
                if out
                else "reverts the cloud to the config: deletes what was added outside cstool",
            )
        )
    out.append(
        (
            f"cstool drift {configs}{args} --accept",
            "keeps the cloud's values: writes them into the YAML",
        )
    )
    return out
