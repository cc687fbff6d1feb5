"""Use cases: validate, plan, apply, drift. Returns values; never prints.

Composes model/ (pure) with cloud/ (the adapter); cli.py picks the target and renders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cstool.cloud.api import Api
from cstool.cloud.applier import Applier, ApplyReport, Event
from cstool.cloud.reader import read_live
from cstool.errors import ConfigInvalid, CstoolError, Origin, Problem, StalePlan
from cstool.model.diff import Action, diff
from cstool.model.kinds import KINDS
from cstool.model.loader import config_files, load
from cstool.model.plan import Plan, checksum, make_plan, plan_from_dict
from cstool.model.resources import Key, Resource, State
from cstool.model.validate import validate
from cstool.render.rows import Drift


@dataclass(frozen=True)
class Validated:
    state: State
    problems: tuple[Problem, ...]
    files: int

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]


def check_config(paths: Sequence[str | Path]) -> Validated:
    """Load and validate; every problem at once."""
    state, problems = load(paths)
    return _checked(state, problems, len(config_files(paths)[0]))


def check_text(text: str, name: str) -> Validated:
    """Validate one config document given as text (problems cite `name`)."""
    from cstool.model.loader import load_text

    state, problems = load_text(text, name)
    return _checked(state, problems, 1)


def _checked(state: State, problems: list[Problem], files: int) -> Validated:
    found = [*problems, *validate(state)]
    return Validated(state, tuple(sorted(set(found), key=Problem.sort_key)), files)


def desired_state(paths: Sequence[str | Path]) -> Validated:
    """The desired State, or ConfigInvalid with every problem."""
    checked = check_config(paths)
    if checked.errors:
        raise ConfigInvalid(checked.problems)
    return checked


def read_for(api: Api, desired: State) -> State:
    """The live cloud, reading scoped settings only of zones whose settings are managed."""
    zones = {r.key.path[0] for r in desired.of_kind("zone_setting")}
    return read_live(api, zone_settings=zones)


def plan(api: Api, desired: State, prune: bool = False) -> tuple[Plan, State]:
    live = read_for(api, desired)
    return make_plan(desired, live, prune), live


def drift(api: Api, desired: State) -> Drift:
    live = read_for(api, desired)
    found = diff(desired, live)
    # deletes are only ever the children a replace takes with it: part of that change
    changed = tuple(c for c in found.changes if c.action in (Action.UPDATE, Action.REPLACE))
    missing = tuple(
        c.desired for c in found.changes if c.action is Action.CREATE and c.desired is not None
    )
    return Drift(changed, missing, found.unmanaged)


def apply(
    api: Api, plan_: Plan, live: State, parallelism: int = 4, on_event: Event | None = None
) -> ApplyReport:
    applier = Applier(api, live, parallelism, on_event)
    return applier.apply(plan_.steps, plan_.dependencies())


def export(api: Api, zones: Sequence[str] = ()) -> dict[str, Any]:
    """The live cloud as a config (all zones, or those named)."""
    from cstool.model.export import to_config

    live = read_live(api, zone_settings=zones or None)
    known = {r.key.path[0] for r in live.of_kind("zone")}
    missing = [z for z in zones if z not in known]
    if missing:
        raise CstoolError(
            f"no zone named {', '.join(missing)} in the cloud "
            f"(it has: {', '.join(sorted(known)) or 'none'})"
        )
    return to_config(live, set(zones) if zones else None)


def import_marvin(path: Path) -> tuple[str, list[str]]:
    """A Marvin config as cstool YAML, and what could not be converted."""
    from cstool.model import marvin
    from cstool.model.export import dump

    try:
        text = path.read_text()
    except OSError as exc:
        raise CstoolError(f"{path}: {exc.strerror}") from None
    converted = marvin.convert(marvin.parse(text, str(path)))
    header = f"Converted from the Marvin config {path.name} by cstool import-marvin."
    return dump(converted.config, header), converted.warnings


# --- saved plans -------------------------------------------------------------------------


def saved_plan(plan_: Plan, desired: State, target: str) -> dict[str, Any]:
    """The plan as saved by `plan --out`: the plan, its checksum, and the desired state."""
    body = plan_.to_dict()
    body["target"] = target
    body["desired"] = [
        {
            "resource": r.key.to_str(),
            "values": _plain(dict(r.values)),
            "origin": str(r.origin) if r.origin else None,
            "order": r.order,
        }
        for r in desired.values()
    ]
    return body


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))


def is_saved_plan(paths: Sequence[Path]) -> bool:
    return len(paths) == 1 and paths[0].suffix == ".json" and paths[0].is_file()


def load_saved_plan(path: Path) -> tuple[dict[str, Any], State]:
    try:
        data = json.loads(path.read_text())
        plan_from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CstoolError(f"{path}: not a cstool plan file ({exc})") from None
    state = State()
    for item in data["desired"]:
        key = Key.from_str(item["resource"])
        fields = KINDS[key.kind].field_map
        values = {
            k: fields[k].parse(v) if v is not None else None for k, v in item["values"].items()
        }
        origin = _origin(item.get("origin"))
        state.add(Resource(key, values, origin, order=item.get("order", 0)))
    return data, state


def _origin(text: str | None) -> Origin | None:
    if not text:
        return None
    file, line, col = text.rsplit(":", 2)
    return Origin(file, int(line), int(col))


def check_saved(saved: Mapping[str, Any], fresh: Plan) -> None:
    """Refuse when the cloud changed since the plan was made (the checksum differs)."""
    now = fresh.to_dict()
    if now["checksum"] == saved["checksum"] and checksum(saved) == saved["checksum"]:
        return
    old = {(s["title"], s["resource"]) for s in saved["steps"]}
    new = {(s["title"], s["resource"]) for s in now["steps"]}
    lines = [f"  no longer needed: {t} {r}" for t, r in sorted(old - new)]
    lines += [f"  now also needed: {t} {r}" for t, r in sorted(new - old)]
    if not lines:
        lines = ["  the same steps, with different values or API calls"]
    raise StalePlan(
        "the cloud changed since the plan was made (checksum "
        f"{saved['checksum']} -> {now['checksum']}):\n" + "\n".join(lines)
    )
