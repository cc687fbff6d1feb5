"""Intent versus drift (`plan --base`): which steps of a change's plan come from the change,
and which only put back what the cloud lost or gained outside cstool.

The cloud is read once; two plans are made from it: the change's (its config against the
cloud) and the base's (the config before the change, against the same cloud). A step of the
change's plan is marked:

- DRIFT ("reverts drift") when the base's plan has the very same step (same resource,
  action, title, field changes and API calls) and the two configs agree on the resource:
  it exists in both or in neither, is `absent:` in both or in neither, and has the same
  value for every field the step touches. The step would run without the change.
- CHANGE ("from this change") otherwise: the change wrote it, or it follows from what the
  change wrote (the children a replace of a changed resource deletes and creates again,
  the disable and enable of a zone around a physical network the change adds).

Mixed cases: when a resource drifted and the change also edits it, the change wins: the
step is marked CHANGE, since it does what the change says, and `drifted` names the step's
fields the base's plan also changes (the cloud's old value shown is the drifted one, not
the base config's). A delete follows the same rule: an unmanaged object pruned by both
plans (neither config has it) reverts drift; one the change removed from the config is
from this change.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import replace

from cstool.model.diff import is_absent
from cstool.model.plan import CHANGE, DRIFT, Plan, Step, _jsonable
from cstool.model.resources import Key, State

LABELS = {CHANGE: "From this change", DRIFT: "Reverts drift"}
NOTES = {
    CHANGE: "What the configuration change asks for.",
    DRIFT: "The cloud differs from the base configuration: these steps put it back, "
    "with or without this change.",
}


def mark(plan: Plan, base_plan: Plan, base: State, desired: State, name: str) -> Plan:
    """`plan` (desired against the cloud) with each step marked CHANGE or DRIFT, given the
    base config and its plan against the same cloud read; `name` says what the base is."""
    same = {signature(s) for s in base_plan.steps}
    touched: dict[Key, set[str]] = {}
    for step in base_plan.steps:
        touched.setdefault(step.key, set()).update(step.fields)
    marked = []
    for step in plan.steps:
        if signature(step) in same and agree(step, base, desired):
            marked.append(replace(step, intent=DRIFT, drifted=()))
        else:
            drifted = tuple(sorted(set(step.fields) & touched.get(step.key, set())))
            marked.append(replace(step, intent=CHANGE, drifted=drifted))
    return replace(plan, steps=tuple(marked), base=name)


def signature(step: Step) -> Hashable:
    """What a step does, without where it sits (its origin and order move when the change
    adds entries before it): resource, action, title, field changes and calls."""
    fields = {k: [_jsonable(o), _jsonable(n)] for k, (o, n) in step.fields.items()}
    calls = [c.to_dict() for c in step.calls]
    body = json.dumps([fields, calls], sort_keys=True, default=str)
    return (step.key, step.action, step.title, body)


def agree(step: Step, base: State, desired: State) -> bool:
    """Whether the two configs say the same about what the step touches."""
    before, after = base.get(step.key), desired.get(step.key)
    if before is None or after is None:
        return before is None and after is None
    if is_absent(before) != is_absent(after):
        return False
    return all(before.values.get(f) == after.values.get(f) for f in step.fields)
