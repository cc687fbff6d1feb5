"""The Plan value: ordered steps that are the exact API calls, safety checks and a checksum.

make_plan lowers each change into calls using the kinds table (and the named hooks it
declares). Pure: no I/O; renderers and the applier read it.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cstool.errors import ConfigInvalid, Origin, Problem, UnsafePlan
from cstool.model import secrets
from cstool.model.diff import Action, Change, Diff, diff, is_empty, present
from cstool.model.kinds import KINDS, Kind, noun
from cstool.model.order import DELETES, After, dependencies, sort_key
from cstool.model.resources import Key, Resource, State

FORMAT = 1
# the values of a host's or a pool's `state` field (the kinds' state_values) that matter here
ENABLED = "enabled"
OUT_OF_SERVICE = ("disabled", "maintenance")
# the marks of `plan --base` (model/intent.py): a step from this change, or one that reverts
# drift (the base config's plan has it too)
CHANGE, DRIFT = "change", "drift"
INTENTS = (CHANGE, DRIFT)
DEFAULT_THRESHOLD = 0.3  # share of managed objects a plan may delete or replace
THRESHOLD_MIN = 10  # below this many managed objects the threshold does not apply


@dataclass(frozen=True)
class Ref:
    """The CloudStack id of a resource, known at apply time."""

    key: Key

    def to_json(self) -> dict[str, str]:
        return {"ref": self.key.to_str()}

    def __str__(self) -> str:
        return f"<{self.key}>"


@dataclass(frozen=True)
class Var:
    """A value an earlier call of the same step looked up (an element or offering id)."""

    name: str

    def to_json(self) -> dict[str, str]:
        return {"var": self.name}

    def __str__(self) -> str:
        return f"<{self.name} id>"


@dataclass(frozen=True)
class Until:
    """A state wait: the call is a list command (its parent filter and the resource's `id`)
    repeated until the listed item's `field` equals `equals`; a value in `fail` ends the
    wait as a failure (a host Up after addHost, in Maintenance before deleteHost). The
    applier's waiter runs it without holding a worker (cloud/applier.py)."""

    field: str
    equals: str
    fail: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "equals": self.equals, "fail": list(self.fail)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Until:
        return cls(str(data["field"]), str(data["equals"]), tuple(str(f) for f in data["fail"]))


@dataclass(frozen=True)
class Call:
    command: str
    params: Mapping[str, Any]
    bind: str | None = None  # store the first listed item's id under this name
    creates: Key | None = None  # the resource whose id the reply carries
    until: Until | None = None  # repeat (a list command) until the state is reached

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": self.command,
            "params": {k: _param_json(v) for k, v in self.params.items() if v is not None},
        }
        if self.bind:
            out["bind"] = self.bind
        if self.creates:
            out["creates"] = self.creates.to_str()
        if self.until is not None:  # only when set: plans without waits keep their checksum
            out["until"] = self.until.to_json()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Call:
        params = {k: _param_value(v) for k, v in data["params"].items()}
        creates = Key.from_str(data["creates"]) if data.get("creates") else None
        until = Until.from_json(data["until"]) if data.get("until") else None
        return cls(data["command"], params, data.get("bind"), creates, until)


def _param_json(value: Any) -> Any:
    """A parameter as a saved plan holds it: ids to fetch and secrets as their references
    (never a value: the applier reads it at call time)."""
    if isinstance(value, Ref | Var | secrets.SecretRef | secrets.SecretUrl):
        return value.to_json()
    if isinstance(value, tuple):
        return [_param_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _param_json(v) for k, v in value.items()}
    return value


def _param_value(value: Any) -> Any:
    if isinstance(value, dict) and "ref" in value:
        return Ref(Key.from_str(value["ref"]))
    if isinstance(value, dict) and "var" in value:
        return Var(value["var"])
    secret = secrets.from_json(value)
    if secret is not None:
        return secret
    if isinstance(value, dict):
        return {k: _param_value(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Step:
    action: Action
    key: Key
    title: str  # "create", "enable", "update", ...
    calls: tuple[Call, ...]
    phase: int
    stage: int
    order: int = 0
    origin: Origin | None = None
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    # what this step takes out of service (a disable, the delete half of a range replace)
    disrupts: str | None = None
    # extra steps this one waits for at apply time, beyond what order.dependencies derives
    after: tuple[After, ...] = ()
    # a replace: the fields that force it and why, for reviewers (not part of the checksum)
    forced_by: tuple[str, ...] = ()
    replace_reason: str | None = None
    # `plan --base` (model/intent.py): CHANGE or DRIFT, and for a step of this change the
    # fields the cloud had also drifted on. Shown and saved, never part of the checksum.
    intent: str | None = field(default=None, compare=False)
    drifted: tuple[str, ...] = field(default=(), compare=False)

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DELETE, Action.REPLACE)

    @property
    def disabling(self) -> bool:
        """Whether this step takes an enabled resource out of service (enabled: true ->
        false; a host's or a pool's state: enabled -> disabled or maintenance)."""
        old, new = self.fields.get("enabled", (None, None))
        if old is True and new is False:
            return True
        old, new = self.fields.get("state", (None, None))
        return old == ENABLED and new in OUT_OF_SERVICE

    @property
    def enabling(self) -> bool:
        if "enabled" in self.fields and self.fields["enabled"][1] is True:
            return True
        return "state" in self.fields and self.fields["state"][1] == ENABLED

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action.value,
            "title": self.title,
            "resource": self.key.to_str(),
            "kind": self.key.kind,
            "path": list(self.key.path),
            "origin": str(self.origin) if self.origin else None,
            "destructive": self.destructive,
            "disrupts": self.disrupts,
            "phase": self.phase,
            "stage": self.stage,
            "order": self.order,
            "changes": {
                k: {"old": _jsonable(o), "new": _jsonable(n)} for k, (o, n) in self.fields.items()
            },
            "calls": [c.to_dict() for c in self.calls],
        }
        if self.after:  # only when declared: plans without any keep their checksum
            out["after"] = [a.to_json() for a in self.after]
        if self.replace_reason:  # only on replaces; left out of the checksum (EXPLAINS)
            out["forced_by"] = list(self.forced_by)
            out["replace_reason"] = self.replace_reason
        if self.intent is not None:  # only with --base: plans without it are unchanged
            out["intent"] = self.intent
            if self.drifted:
                out["drifted"] = list(self.drifted)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        origin = None
        if data.get("origin"):
            file, line, col = data["origin"].rsplit(":", 2)
            origin = Origin(file, int(line), int(col))
        return cls(
            Action(data["action"]),
            Key.from_str(data["resource"]),
            data["title"],
            tuple(Call.from_dict(c) for c in data["calls"]),
            data["phase"],
            data["stage"],
            data["order"],
            origin,
            {k: (v["old"], v["new"]) for k, v in data["changes"].items()},
            data.get("disrupts"),
            tuple(After.from_json(a) for a in data.get("after", ())),
            tuple(data.get("forced_by", ())),  # plans saved before replace reasons have none
            data.get("replace_reason"),
            _intent_of(data.get("intent")),
            tuple(str(f) for f in data.get("drifted", ())),
        )


def _intent_of(value: Any) -> str | None:
    """A saved step's mark (model/intent.py), checked: the seal covers it, not the checksum."""
    if value is not None and value not in INTENTS:
        raise ValueError(f"unknown step intent {value!r}")
    return None if value is None else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, secrets.SecretRef | secrets.SecretUrl):
        return str(value)  # a change shows the reference ({env: NAME}), never a value
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Disruption:
    """A resource out of service while the plan runs: from the step that takes it out to
    the step that puts it back (`end` None: it stays out, as the config says)."""

    key: Key
    what: str  # "disabled", "deleted and created again"
    start: int  # index of the step that takes it out of service
    end: int | None  # index of the step that puts it back
    total: int  # steps in the plan
    origin: Origin | None = None

    @property
    def steps(self) -> int:
        """How many steps of the plan it is out of service for (both ends included)."""
        last = self.end if self.end is not None else self.total - 1
        return last - self.start + 1

    @property
    def temporary(self) -> bool:
        return self.end is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.key.to_str(),
            "kind": self.key.kind,
            "path": list(self.key.path),
            "what": self.what,
            "from_step": self.start + 1,
            "until_step": None if self.end is None else self.end + 1,
            "steps": self.steps,
            "restored_by_plan": self.temporary,
            "origin": str(self.origin) if self.origin else None,
        }


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    unmanaged: tuple[Resource, ...]
    managed: int
    prune: bool = False
    prune_scope: tuple[tuple[str, ...], ...] = ()  # prune only under these paths (all: ())
    zones: frozenset[str] = frozenset()  # the zones the config names: the only ones pruned
    base: str | None = None  # `plan --base`: what the steps were marked against
    ignored: tuple[Resource, ...] = ()  # unmanaged, named by `ignore:`: listed, never pruned
    # --rotate-secrets: the resources whose secrets the API cannot change (replace them)
    not_rotatable: tuple[Key, ...] = ()
    # --rotate-secrets was given: a re-plan (under the lock, or of a saved plan) rotates too
    rotate: bool = False

    @property
    def empty(self) -> bool:
        return not self.steps

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for change in self.changes():
            out[change[0].value] += 1
        return out

    def changes(self) -> list[tuple[Action, Key]]:
        """One (action, key) per changed resource, whatever the number of its steps. A
        resource only taken out of service and put back (a zone disabled to add a physical
        network) is not changed: it is a disruption (see disruptions)."""
        rank = (Action.UPDATE, Action.CREATE, Action.DELETE, Action.REPLACE)
        found: dict[Key, Action] = {}
        steps: dict[Key, list[Step]] = {}
        for step in self.steps:
            old = found.get(step.key, Action.UPDATE)
            found[step.key] = max(old, step.action, key=rank.index)
            steps.setdefault(step.key, []).append(step)
        return [(action, key) for key, action in found.items() if not _round_trip(steps[key])]

    def destructive(self) -> list[Step]:
        return [s for s in self.steps if s.destructive]

    def disruptions(self) -> list[Disruption]:
        """What the plan takes out of service, and for which steps."""
        out = []
        for i, step in enumerate(self.steps):
            if not step.disrupts:
                continue
            end = next(
                (j for j in range(i + 1, len(self.steps)) if _restores(step, self.steps[j])),
                None,
            )
            what = "disabled" if step.disabling else "deleted and created again"
            out.append(Disruption(step.key, what, i, end, len(self.steps), step.origin))
        return out

    def prunes(self, res: Resource) -> bool:
        """Whether this plan deletes an unmanaged resource (--prune, within --prune-scope)."""
        return self.prune and prunable(res.key, self.prune_scope, self.zones)

    def dependencies(self) -> dict[int, set[int]]:
        return dependencies(self.steps)

    def to_dict(self) -> dict[str, Any]:
        body = {
            "format": FORMAT,
            "prune": self.prune,
            "prune_scope": ["/".join(p) for p in self.prune_scope],
            "managed": self.managed,
            "summary": self.counts(),
            "steps": [s.to_dict() for s in self.steps],
            "disruptions": [d.to_dict() for d in self.disruptions()],
            "unmanaged": [
                {
                    "resource": r.key.to_str(),
                    "kind": r.key.kind,
                    "path": list(r.key.path),
                    "deleted": self.prunes(r),
                }
                for r in self.unmanaged
            ],
        }
        if self.base is not None:
            body["base"] = self.base
            body["intent"] = self.intent_counts()
        if self.ignored:  # only when some are: plans without any look as before
            body["ignored"] = [
                {"resource": r.key.to_str(), "kind": r.key.kind, "path": list(r.key.path)}
                for r in self.ignored
            ]
        if self.not_rotatable:  # only with --rotate-secrets; explains, not in the checksum
            body["not_rotatable"] = [k.to_str() for k in self.not_rotatable]
        if self.rotate:  # written only when set; the rotation steps are in the checksum
            body["rotate_secrets"] = True
        body["checksum"] = checksum(body)
        return body

    def group(self, intent: str) -> Plan:
        """The same plan with only the steps marked `intent` (for per-group counts)."""
        return replace(self, steps=tuple(s for s in self.steps if s.intent == intent))

    def intent_counts(self) -> dict[str, dict[str, int]]:
        """Per mark: its steps, and the resources per action as counts() gives them."""
        groups = {i: self.group(i) for i in INTENTS}
        return {i: {"steps": len(g.steps), **g.counts()} for i, g in groups.items()}


def prunable(key: Key, scope: Sequence[tuple[str, ...]], zones: frozenset[str]) -> bool:
    """Whether --prune deletes this unmanaged resource: within the scope, and inside a zone
    the config names. A zone the files read do not mention is never torn down by --prune (a
    skipped or forgotten file must not delete a zone); `absent: true` on the zone does it."""
    return in_scope(key, scope) and (key.zone is None or key.zone in zones)


def in_scope(key: Key, scope: Sequence[tuple[str, ...]]) -> bool:
    """Whether key lies under one of the paths (no paths: everywhere)."""
    return not scope or any(key.path[: len(p)] == p for p in scope)


def _restores(step: Step, later: Step) -> bool:
    """Whether `later` puts back what `step` took out of service."""
    if later.key != step.key:
        return False
    if step.disabling:
        return later.enabling
    return later.action is Action.REPLACE and later.title != "delete"


def _round_trip(steps: Sequence[Step]) -> bool:
    """Only disabled and enabled again: the resource ends as it was."""
    return (
        len(steps) == 2
        and steps[0].disabling
        and steps[1].enabling
        and all(set(s.fields) == {"enabled"} for s in steps)
    )


CHECKED = ("format", "prune", "prune_scope", "steps", "unmanaged")
# step keys that explain a step without changing what it does: a plan saved before they
# existed keeps its checksum
EXPLAINS = ("forced_by", "replace_reason", "intent", "drifted")  # the last two: --base


def checksum(body: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of what the plan does (steps, unmanaged, prune)."""
    # a plan saved before prune_scope existed has none: the same as an empty scope
    data = {k: body.get(k) for k in CHECKED}
    if not data["prune_scope"]:
        del data["prune_scope"]
    if isinstance(data["steps"], list):
        data["steps"] = [
            {k: v for k, v in s.items() if k not in EXPLAINS} if isinstance(s, Mapping) else s
            for s in data["steps"]
        ]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- lowering changes to steps -----------------------------------------------------------


class Builder:
    """What the kinds' lowering hooks use to build calls."""

    def __init__(self, desired: State, live: State) -> None:
        self.desired = desired
        self.live = live

    @staticmethod
    def ref(key: Key) -> Ref:
        return Ref(key)

    @staticmethod
    def var(name: str) -> Var:
        return Var(name)

    @staticmethod
    def key(kind: str, path: tuple[str, ...]) -> Key:
        return Key(kind, path)

    @staticmethod
    def call(
        command: str,
        params: Mapping[str, Any],
        bind: str | None = None,
        creates: Any = None,
        until: tuple[str, str, tuple[str, ...]] | None = None,
    ) -> Call:
        """One call; `until` (field, equals, fail values) makes it a state wait."""
        wait = Until(until[0], until[1], tuple(until[2])) if until is not None else None
        return Call(command, dict(params), bind, creates, wait)

    def desired_parent(self, res: Resource) -> Resource:
        key = res.key.parent()
        return self.desired.get(key) or self.live[key]

    def generic_params(self, res: Resource) -> dict[str, Any]:
        """Create parameters: parent id, identity, static ones and every non-deferred field."""
        kind = KINDS[res.key.kind]
        params: dict[str, Any] = dict(kind.create_params)
        if kind.parent_param:
            params[kind.parent_param] = Ref(res.key.parent())
        params[kind.read.key_api] = res.key.path[-1]
        for f in kind.fields:
            if not f.deferred and res.values.get(f.name) is not None:
                params.update(f.params(res.values[f.name]))
        return params

    def update_calls(
        self, kind: Kind, key: Key, values: Mapping[str, Any], names: Sequence[str]
    ) -> list[Call]:
        params: dict[str, Any] = {"id": Ref(key)}
        for f in kind.fields:
            if f.name in names:
                sent: dict[str, Any] = (
                    f.params(values[f.name]) if f.name in values else {f.api or f.name: None}
                )
                if f.clear is not None:  # what the config dropped is cleared, not skipped
                    sent = {k: f.clear if is_empty(p) else p for k, p in sent.items()}
                params.update(sent)
        return [self.call(kind.update or "", params)]


def make_plan(
    desired: State,
    live: State,
    prune: bool = False,
    prune_scope: Sequence[tuple[str, ...]] = (),
    rotate: bool = False,
) -> Plan:
    """The ordered steps that make the live cloud match the desired state. With prune, the
    unmanaged resources under prune_scope (everywhere when empty) are deleted too. With
    rotate, the secrets of existing resources are sent again where the API can change them.

    Raises ConfigInvalid when a create lacks what the server needs to make the resource (a
    host's credentials): a config exported from a cloud validates without them."""
    found = diff(desired, live)
    builder = Builder(present(desired), live)
    steps: list[Step] = []
    creating = {c.key for c in found.changes if c.action in (Action.CREATE, Action.REPLACE)}
    problems = [p for c in found.changes for p in _create_problems(c, builder)]
    if any(not p.warning for p in problems):
        raise ConfigInvalid(sorted(problems, key=Problem.sort_key))
    for change in found.changes:
        steps.extend(_lower(change, builder, creating))
    scope = tuple(tuple(p) for p in prune_scope)
    zones = frozenset(r.key.path[0] for r in desired.of_kind("zone"))
    if prune:
        for res in found.unmanaged:
            if prunable(res.key, scope, zones):
                steps.extend(_delete(res, builder))
    steps.extend(_zone_wraps(steps, desired, live))
    blocked = _pool_delete_problems(steps, desired, live)
    if blocked:
        raise ConfigInvalid(blocked)
    steps = _teardown_wraps(steps, live)
    not_rotatable: tuple[Key, ...] = ()
    if rotate:
        touched = {c.key for c in found.changes if c.action is not Action.UPDATE}
        rotation, not_rotatable = _rotation(builder, touched)
        steps.extend(rotation)
    steps.sort(key=sort_key)
    steps = [replace(s, disrupts=_disrupts(s)) for s in steps]
    return Plan(
        tuple(steps),
        found.unmanaged,
        found.managed,
        prune,
        scope,
        zones,
        ignored=found.ignored,
        not_rotatable=not_rotatable,
        rotate=rotate,
    )


def _disrupts(step: Step) -> str | None:
    """What the step takes out of service, said for a reviewer; None when nothing."""
    name = f"{noun(step.key.kind)} {'/'.join(step.key.path)}"
    kind = KINDS[step.key.kind]
    if step.disabling and kind.disabled_means:
        return f"disables {name}: {kind.disabled_means}"
    if step.action is Action.UPDATE and any(
        c.command in kind.out_of_service_calls for c in step.calls
    ):
        return f"takes {name} out of service for the change: {kind.disabled_means}"
    if step.action is Action.REPLACE and step.title == "delete" and kind.address_range:
        return f"deletes {name} to create it again: its addresses cannot be allocated in between"
    return None


def _step(
    action: Action,
    res: Resource,
    title: str,
    calls: list[Call],
    phase: int,
    fields: Mapping[str, tuple[Any, Any]] | None = None,
    origin: Origin | None = None,
) -> Step:
    stage = 0 if res.key.zone is None else 1 if title == "delete" else 2  # replace: both
    return Step(
        action,
        res.key,
        title,
        tuple(calls),
        phase,
        stage,
        res.order,
        origin or res.origin,
        dict(fields or {}),
    )


def _title(kind: Kind, res: Resource, plain: str) -> str:
    """What a create or update step says it does: the kind's own word, `set` for what
    CloudStack has already and cstool only sets with the one command it has (settings), else
    `plain` (a dedicated VLAN range is created, then grown, by one command)."""
    if kind.title_of is not None:
        return kind.title_of(res)
    return "set" if kind.auto_created and kind.create == kind.update else plain


def _lower(change: Change, b: Builder, creating: set[Key]) -> list[Step]:
    kind = KINDS[change.key.kind]
    if change.action is Action.DELETE:
        assert change.live is not None
        # an `absent: true` entry: the delete points at its YAML line
        return _delete(change.live, b, origin=change.desired.origin if change.desired else None)
    if change.action is Action.CREATE:
        assert change.desired is not None
        return _create(change.desired, b, creating)
    if change.action is Action.REPLACE:
        assert change.desired is not None and change.live is not None
        deleted = _delete(change.live, b, Action.REPLACE, change.desired.origin, change.fields)
        created = _create(change.desired, b, creating, Action.REPLACE)
        forced_by, reason = change.forced_by, change.reason or None
        return [replace(s, forced_by=forced_by, replace_reason=reason) for s in deleted] + [
            replace(s, fields=dict(change.fields), forced_by=forced_by, replace_reason=reason)
            for s in created
        ]
    assert change.desired is not None and change.live is not None
    return _update(kind, change, b)


def _create(
    res: Resource, b: Builder, creating: set[Key], action: Action = Action.CREATE
) -> list[Step]:
    kind = KINDS[res.key.kind]
    if kind.first_created_by_parent and res.key.parent() in creating and _is_first(res, b):
        return []  # its parent's create call carries it (createPod startip/endip)
    if kind.lower_create is not None:
        first = _first_child(res, b)
        calls = kind.lower_create(b, res, first)
        if not calls:
            return []  # CloudStack made it already, as wanted
    else:
        calls = [b.call(kind.create or "", b.generic_params(res), creates=res.key)]
    deferred_names = {f.name for f in kind.fields if f.deferred}
    fields = {k: (None, v) for k, v in res.values.items() if k not in deferred_names}
    title = _title(kind, res, "create")
    if kind.auto_created and action is Action.CREATE:
        action = Action.UPDATE  # CloudStack made it (a provider, a setting): we only set it
    steps = [_step(action, res, title, calls, kind.phase, fields)]
    deferred = [
        f for f in kind.fields if f.deferred and res.values.get(f.name) not in (None, False, "")
    ]
    if deferred:
        title = "enable" if any(f.name == "enabled" for f in deferred) else "configure"
        calls = b.update_calls(kind, res.key, res.values, [f.name for f in deferred])
        steps.append(
            _step(
                action,
                res,
                title,
                calls,
                kind.finish_phase or kind.phase,
                {f.name: (None, res.values[f.name]) for f in deferred},
            )
        )
    return steps


def _first_child(parent: Resource, b: Builder) -> Resource | None:
    """The child its parent's create call carries (a pod's first management range)."""
    for kind in KINDS.values():
        if kind.parent == parent.key.kind and kind.first_created_by_parent:
            items = b.desired.children(parent.key, kind.name)
            return min(items, key=lambda r: r.order) if items else None
    return None


def _is_first(res: Resource, b: Builder) -> bool:
    return _first_child(b.desired_parent(res), b) is res


def _update(kind: Kind, change: Change, b: Builder) -> list[Step]:
    assert change.desired is not None
    res = change.desired
    if kind.lower_update is not None:
        calls = kind.lower_update(b, res, change.live, change.fields)
        title = _title(kind, res, "update")
        return [_step(Action.UPDATE, res, title, calls, kind.phase, change.fields)]
    deferred = {f.name for f in kind.fields if f.deferred}
    steps = []
    now = {k: v for k, v in change.fields.items() if k not in deferred}
    later = {k: v for k, v in change.fields.items() if k in deferred}
    if now:
        calls = b.update_calls(kind, res.key, res.values, list(now))
        steps.append(_step(Action.UPDATE, res, "update", calls, kind.phase, now))
    if later:
        disabling = later.get("enabled", (None, True))[1] is False
        calls = b.update_calls(kind, res.key, res.values, list(later))
        title = "disable" if disabling else "enable" if "enabled" in later else "update"
        # disabling goes first (with the kind), enabling last (the kind's finish phase)
        phase = kind.phase if disabling else kind.finish_phase or kind.phase
        steps.append(_step(Action.UPDATE, res, title, calls, phase, later))
    return steps


def _delete(
    res: Resource,
    b: Builder,
    action: Action = Action.DELETE,
    origin: Origin | None = None,
    fields: Mapping[str, tuple[Any, Any]] | None = None,
) -> list[Step]:
    kind = KINDS[res.key.kind]
    if kind.delete is None:
        return []
    if kind.lower_delete is not None:
        calls = kind.lower_delete(b, res)
    else:
        calls = [b.call(kind.delete, {"id": Ref(res.key)})]
    gone = {k: (v, None) for k, v in res.values.items() if v is not None}
    return [_step(action, res, "delete", calls, kind.phase, fields or gone, origin)]


def _zone_wraps(steps: list[Step], desired: State, live: State) -> list[Step]:
    """createPhysicalNetwork is refused in an enabled zone: disable it around the change."""
    out = []
    zones = {
        s.key.zone
        for s in steps
        if s.title == "create" and s.stage == 2 and KINDS[s.key.kind].needs_disabled_zone
    }
    for zone in sorted(z for z in zones if z):
        key = Key("zone", (zone,))
        have = live.get(key)
        if have is None or not have.values.get("enabled"):
            continue
        res = desired.get(key) or have
        if res.values.get("enabled") is False:
            continue  # the config disables the zone: its own step does, before the networks
        disable = Builder.call("updateZone", {"id": Ref(key), "allocationstate": "Disabled"})
        out.append(
            _step(
                Action.UPDATE,
                res,
                "disable (to add a physical network)",
                [disable],
                KINDS["physical_network"].phase - 5,
                {"enabled": (True, False)},
            )
        )
        if res.values.get("enabled", True):
            enable = Builder.call("updateZone", {"id": Ref(key), "allocationstate": "Enabled"})
            out.append(
                _step(
                    Action.UPDATE,
                    res,
                    "enable",
                    [enable],
                    ZONE_BACK_PHASE,
                    {"enabled": (False, True)},
                )
            )
    return out


# --- compute and storage: what a create needs, tear-down, secret rotation ------------------


def _missing(res: Resource, names: Sequence[str]) -> list[str]:
    return [n for n in names if res.values.get(n) in (None, "")]


def _create_problems(change: Change, b: Builder) -> list[Problem]:
    """What the server needs to make the resource that the config does not give. These
    fields are write-only (never read back), so validate cannot ask for them: an export
    must validate. They are needed only when the resource is to be created."""
    if change.action not in (Action.CREATE, Action.REPLACE) or change.desired is None:
        return []
    res = change.desired
    kind = KINDS[res.key.kind]
    if kind.create_needs is None:
        return []
    parent = b.desired_parent(res) if kind.parent is not None else None
    missing = _missing(res, kind.create_needs(res, parent))
    if not missing:
        return []
    said = " and ".join(f"`{n}`" for n in missing)
    need = "is" if len(missing) == 1 else "are"
    return [
        Problem(
            res.origin,
            f"{noun(res.key.kind)} {'/'.join(res.key.path)}: {said} {need} needed "
            f"to {kind.create_verb} it",
        )
    ]


POOL_KINDS = ("primary_storage", "zone_primary_storage")


def _pool_delete_problems(steps: Sequence[Step], desired: State, live: State) -> list[Problem]:
    """A pool to delete (or replace) that may hold system VM volumes, outside a tear-down of
    its zone: refused before anything is applied.

    SM.deleteDataStoreInternal (SM:1755-1761) refuses to delete a pool with
    non-destroyed volumes, even forced; StoragePoolAutomationImpl.maintain only stops the
    system VMs, and they are destroyed only when their zone is torn down:
    destroying them in a live zone is the operator's decision. A system VM's ROOT volume is
    on a pool its host reaches: its cluster's pools or a zone-wide pool; a system VM with no
    host (Stopped) may have it on any pool of its zone."""
    torn = {
        s.key.path[0]
        for s in steps
        if s.key.kind == "zone" and s.action is Action.DELETE and s.title == "delete"
    }
    clusters = {r.uuid: r.key.path[:3] for r in live.of_kind("host") if r.uuid}
    problems = []
    for step in steps:
        key = step.key
        if (
            key.kind not in POOL_KINDS
            or step.title != "delete"
            or step.action not in (Action.DELETE, Action.REPLACE)
            or key.path[0] in torn
        ):
            continue
        vms = sorted(
            vm.key.path[-1]
            for vm in live.of_kind("system_vm")
            if vm.key.path[0] == key.path[0]
            and (
                key.kind == "zone_primary_storage"
                or clusters.get(str(vm.extra.get("hostid") or ""), key.path[:3]) == key.path[:3]
            )
        )
        if not vms:
            continue
        res = desired.get(key) or desired.get(Key("zone", key.path[:1]))
        verb = "replacing it deletes it" if step.action is Action.REPLACE else "it is to be deleted"
        problems.append(
            Problem(
                res.origin if res is not None else None,
                f"{noun(key.kind)} {'/'.join(key.path)}: {verb}, and the server "
                f"refuses to delete a pool that holds system VM volumes; the system VMs "
                f"{', '.join(vms)} of zone {key.path[0]} may have theirs on it. Keep the pool "
                "as it is, or destroy those system VMs (in a disabled zone) first",
            )
        )
    return problems


TEARDOWN_TITLE = "disable (to tear down)"
# the tear-down disable sorts before every delete of its zone (deletes sort by -phase)
TEARDOWN_PHASE = (KINDS["zone"].finish_phase or 130) + 1


def _teardown_wraps(steps: list[Step], live: State) -> list[Step]:
    """A zone torn down is disabled first, and its system VMs destroyed after that.

    System VMs run only in Enabled zones (SecondaryStorageManagerImpl.getScannablePools ->
    listEnabledNonEdgeZoneIds) and hold volumes on the zone's pools, which
    SM.deleteDataStoreInternal (SM:1755-1761) refuses to delete even forced;
    StoragePoolAutomationImpl.maintain only stops them. So the zone goes Disabled before its
    system VMs are destroyed (else the server starts new ones), and the pools after them
    (the system_vm kind's needs, order.py)."""
    zones = {
        s.key
        for s in steps
        if s.key.kind == "zone" and s.action is Action.DELETE and s.title == "delete"
    }
    out = list(steps)
    for key in sorted(zones):
        have = live.get(key)
        if have is None or not have.values.get("enabled") or not _holds_infra(key, live):
            continue
        disable = Builder.call("updateZone", {"id": Ref(key), "allocationstate": "Disabled"})
        out.append(
            Step(
                Action.UPDATE,
                key,
                TEARDOWN_TITLE,
                (disable,),
                TEARDOWN_PHASE,
                DELETES,
                have.order,
                None,
                {"enabled": (True, False)},
            )
        )
    if not any(s.title == TEARDOWN_TITLE for s in out):
        return out
    after = {s.key.path[0] for s in out if s.title == TEARDOWN_TITLE}
    return [
        replace(s, after=(*s.after, After(Key("zone", (s.key.path[0],)), TEARDOWN_TITLE)))
        if s.key.kind == "system_vm" and s.stage == DELETES and s.key.path[0] in after
        else s
        for s in out
    ]


def _holds_infra(zone: Key, live: State) -> bool:
    """Whether the live zone has compute and storage (opt-in kinds) or what CloudStack made
    that goes only with it (its system VMs)."""
    name = zone.path[0]
    return any(
        res.key.path[0] == name
        and KINDS[res.key.kind].in_zone
        and (KINDS[res.key.kind].opt_in or KINDS[res.key.kind].torn_down_with_parent)
        for res in live.values()
    )


ROTATE_TITLE = "rotate secret"


def _rotation(b: Builder, touched: set[Key]) -> tuple[list[Step], tuple[Key, ...]]:
    """--rotate-secrets: one step per secret the API can change on an existing, managed
    resource (each kind's `rotate`: a KVM host, a XenServer cluster once for its hosts, a
    VMware datacenter); the others are listed (replace the object to change them)."""
    steps: list[Step] = []
    skipped: list[Key] = []
    done: set[Key] = set()  # the resources a step is on: one per XenServer cluster
    for res in b.desired.values():
        if res.key in touched or res.key not in b.live or not _secret_refs(res):
            continue
        rotate = KINDS[res.key.kind].rotate
        how = rotate(b, res) if rotate is not None else None
        if how is None:
            skipped.append(res.key)
            continue
        on, calls = how
        if on in done:
            continue
        done.add(on)
        target = res if on == res.key else (b.desired.get(on) or b.live[on])
        steps.append(_rotate_step(target, calls, None if target is res else res))
    return steps, tuple(sorted(skipped))


def _secret_refs(res: Resource) -> list[secrets.SecretRef]:
    return secrets.refs_in(dict(res.values))


def _rotate_step(res: Resource, calls: list[Call], source: Resource | None = None) -> Step:
    """A rotation step: an update whose change names the references sent again."""
    refs = _secret_refs(source or res)
    shown = ", ".join(sorted({str(r) for r in refs}))
    return _step(
        Action.UPDATE,
        res,
        ROTATE_TITLE,
        calls,
        KINDS[res.key.kind].phase,
        {"secret": (shown, shown)},
    )


# A zone disabled to add a physical network is enabled again as soon as the physical
# networks, their traffic types, providers and the enable of the networks are done (phases
# up to the physical network's finish phase), before pods and ranges: the dependencies of
# the plan (order.dependencies) then run it as early as they allow.
ZONE_BACK_PHASE = (KINDS["physical_network"].finish_phase or 60) + 5


# --- safety ------------------------------------------------------------------------------


def check_safety(
    plan: Plan, allow_delete: bool, force: bool, threshold: float = DEFAULT_THRESHOLD
) -> None:
    """Refuse destructive steps without permission, and too many of them without --force."""
    destructive = plan.destructive()
    if not destructive:
        return
    if not (allow_delete or plan.prune):
        keys = sorted({str(s.key) for s in destructive})
        names = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
        raise UnsafePlan(
            f"the plan deletes or replaces {len(keys)} resource(s): {names}",
            hint="re-run with --allow-delete (or --prune) if this is intended",
        )
    # counted as the base is (diff.managed): what CloudStack makes itself (a zone's system
    # VMs, destroyed when it is torn down) is in neither
    touched = len({s.key for s in destructive if not KINDS[s.key.kind].auto_created})
    if force or plan.managed < THRESHOLD_MIN:
        return
    share = touched / max(plan.managed, 1)
    if share > threshold:
        raise UnsafePlan(
            f"the plan deletes or replaces {touched} of {plan.managed} managed "
            f"resources ({share:.0%}), above the {threshold:.0%} safety threshold",
            hint="re-run with --force if this is really intended",
        )


def plan_from_dict(data: Mapping[str, Any]) -> tuple[tuple[Step, ...], str]:
    """The steps and checksum of a saved plan."""
    if data.get("format") != FORMAT:
        raise ValueError("not a cstool plan (unknown format)")
    return tuple(Step.from_dict(s) for s in data["steps"]), str(data["checksum"])


__all__ = [
    "Action",
    "Call",
    "Diff",
    "Plan",
    "Ref",
    "Step",
    "Var",
    "check_safety",
    "make_plan",
    "plan_from_dict",
    "Change",
]
