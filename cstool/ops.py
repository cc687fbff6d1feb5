"""Use cases: validate, plan, apply, drift. Returns values; never prints.

Composes model/ (pure) with cloud/ (the adapter); cli.py picks the target and renders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cstool.cloud import identity, restore, secrets
from cstool.cloud.api import Api
from cstool.cloud.applier import Applier, ApplyReport, Event, Guard
from cstool.cloud.lock import SETTLE, CloudLock
from cstool.cloud.reader import read_live
from cstool.cloud.wire import REPLAY_ENDPOINT
from cstool.errors import ConfigInvalid, CstoolError, Origin, Problem, StalePlan
from cstool.model import accept, intent, owners
from cstool.model.diff import Action, aliased, diff, is_absent, present
from cstool.model.kinds import KINDS
from cstool.model.loader import config_files, load, load_texts, read_config
from cstool.model.plan import Plan, checksum, make_plan, plan_from_dict
from cstool.model.resources import ABSENT, MANAGES_INFRA, WRITES, IgnoreRule, Key, Resource, State
from cstool.model.secrets import SecretRef
from cstool.model.validate import validate
from cstool.model.zones import only_zones
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
    # the network rules check what the config wants to exist: `absent: true` entries are not
    found = [*problems, *validate(present(state))]
    return Validated(state, tuple(sorted(set(found), key=Problem.sort_key)), files)


def desired_state(paths: Sequence[str | Path]) -> Validated:
    """The desired State, or ConfigInvalid with every problem."""
    checked = check_config(paths)
    if checked.errors:
        raise ConfigInvalid(checked.problems)
    return checked


def read_for(api: Api, desired: State) -> State:
    """The live cloud, reading scoped settings only of zones whose settings are managed, and
    compute and storage only when the config opts in (a zone with clusters or storage, or
    region image stores; VMware datacenters only of the zones that name one)."""
    zones = {r.key.path[0] for r in desired.of_kind("zone_setting")}
    vmware = {r.key.path[0] for r in desired.of_kind("vmware_datacenter")}
    # a zone marked absent is torn down whole: its clusters, hosts and stores first
    gone = [r.key.path[0] for r in desired.of_kind("zone") if is_absent(r)]
    infra = desired.infra or bool(gone)
    return read_live(
        api,
        zone_settings=zones,
        infra=infra,
        infra_zones={*vmware, *gone},
        written=desired.written,
        owners=desired.owners,
    )


def plan(
    api: Api,
    desired: State,
    prune: bool = False,
    other_cloud: bool = False,
    prune_scope: Sequence[str] = (),
    zones: Sequence[str] = (),
    base: Base | None = None,
    rotate: bool = False,
) -> tuple[Plan, State]:
    """The plan against the live cloud. Refused when the config names another cloud (unless
    other_cloud) and when live objects share an identity, unless prune removes the extras.
    `zones` (--zone) limits the plan to those zones (model/zones.py); the whole live state
    is returned all the same (the cloud's identity and the ids the applier resolves).
    With `base` (--base), each step is marked from this change or reverting drift
    (model/intent.py), from the same read of the cloud. With `rotate` (--rotate-secrets),
    the secrets of existing resources are sent again where the API can change them."""
    desired = only_zones(desired, zones)
    live = read_for(api, desired if base is None else _both(desired, base.state))
    identity.check(desired.cloud, identity_of(api, live), api.target.name, other_cloud)
    seen = only_zones(live, zones)
    scope = scope_paths(prune_scope, seen)
    kept = {k: ids for k, ids in seen.duplicates.items() if not _pruned(k, prune, scope)}
    if kept:
        raise Duplicates(kept)
    check_owners(desired, live)
    made = make_plan(desired, seen, prune or bool(scope), scope, rotate=rotate)
    if base is not None:
        before = only_zones(base.state, zones)
        planned = make_plan(before, seen, prune or bool(scope), scope)
        made = intent.mark(made, planned, before, desired, base.name)
    return made, live


@dataclass(frozen=True)
class Base:
    """The config before the change (`plan --base`) and what it was read from."""

    state: State
    name: str


class BaseInvalid(ConfigInvalid):
    """The base config has errors: its steps cannot be told from the change's."""

    hint = "fix the base, or plan without --base"

    def __init__(self, problems: Sequence[Problem], name: str) -> None:
        super().__init__(problems)
        errors = sum(1 for p in self.problems if not p.warning)
        CstoolError.__init__(self, f"{errors} problem(s) in the base configuration ({name})")


def base_config(base: str, configs: Sequence[Path]) -> Base:
    """The config before the change: `base` is a config path (file or directory), else a
    git ref at which the same config paths are read (gitref.py). A path that exists wins
    over a ref of the same name."""
    if Path(base).exists():
        checked = check_config([base])
        if checked.errors:
            raise BaseInvalid(checked.errors, base)
        return Base(checked.state, base)
    from cstool import gitref

    with gitref.checkout(base, configs) as found:
        checked = check_config(found.paths)
        if checked.errors:
            raise BaseInvalid([_renamed(p, found.rename) for p in checked.errors], base)
        return Base(checked.state, base)


def _renamed(problem: Problem, rename: Callable[[str], str]) -> Problem:
    """A base problem citing `REF:path` instead of the temporary directory it was read in."""
    origin = problem.origin
    if origin is not None:
        origin = Origin(rename(origin.file), origin.line, origin.column)
    return replace(problem, origin=origin, message=rename(problem.message))


def _both(desired: State, base: State) -> State:
    """The resources of both configs: what the read covers (managed zone settings, the
    kinds either writes, owners either names)."""
    both = State({**base, **desired})
    both.infra = desired.infra or base.infra
    both.written = desired.written | base.written
    both.owners = desired.owners or base.owners
    return both


def check_owners(desired: State, live: State) -> None:
    """Refuse, before any change, a config whose owners the cloud does not have (a domain
    path, an account or project name: each named at its line), and a dedicated guest VLAN
    range next to a live one of the same owner that the config does not have (the server
    would merge them into one range, which would then drift)."""
    problems = [*owners.missing(desired, live), *owners.adjacent_live(desired, live)]
    if problems:
        raise ConfigInvalid(problems)


def scope_paths(scope: Sequence[str], live: State) -> tuple[tuple[str, ...], ...]:
    """`--prune-scope lab1` or `lab1/pod2` as paths; a path nothing in the cloud lies under
    is an error (a typo would otherwise prune nothing, silently)."""
    paths = tuple(tuple(p for p in s.strip("/").split("/") if p) for s in scope)
    for text, path in zip(scope, paths, strict=True):
        if not path or not any(k.path[: len(path)] == path for k in live):
            zones = sorted(r.key.path[0] for r in live.of_kind("zone"))
            raise CstoolError(
                f"--prune-scope {text}: nothing in the cloud is under {text!r}",
                hint=f"give a zone or zone/pod path (zones: {', '.join(zones) or 'none'})",
            )
    return paths


def identity_of(api: Api, live: State) -> identity.Identity:
    """Which cloud `live` was read from (endpoint host and custom.cs.identifier)."""
    return identity.observe(api.target.endpoint, live)


class Duplicates(CstoolError):
    """Two or more live objects with one identity: a plan built on either could act on the
    wrong one, so none is built until the extras are gone."""

    def __init__(self, found: Mapping[Key, list[str]]) -> None:
        self.found = dict(found)
        super().__init__(
            "the cloud has duplicates (objects with the same identity):\n"
            + "\n".join(duplicate_lines(self.found)),
            hint="remove the extra ones (cstool apply --prune deletes them, with what is "
            "under them), then plan again",
        )


def duplicate_lines(found: Mapping[Key, list[str]]) -> list[str]:
    """One line per shared identity, naming every id (the one kept first)."""
    return [
        f"  {key}: ids {', '.join(ids)}"
        + (f" ({KINDS[key.kind].delete} id=<id> removes one)" if KINDS[key.kind].delete else "")
        for key, ids in sorted(found.items())
    ]


def _pruned(key: Key, prune: bool, scope: Sequence[tuple[str, ...]]) -> bool:
    """Whether the extras of a duplicated identity are in what this plan prunes."""
    parent = key.path[:-1]
    return (prune and not scope) or any(parent[: len(p)] == p for p in scope)


@contextmanager
def cloud_lock(api: Api) -> Iterator[CloudLock | None]:
    """The run's lock on the cloud (cloud/lock.py), released on the way out; none for a
    recording (it is no cloud). The in-process simulator answers in order, so the lock
    reads back at once; a real cloud waits lock.SETTLE seconds first."""
    if api.target.endpoint == REPLAY_ENDPOINT:
        yield None
        return
    lock = CloudLock(api, settle=0.0 if api.target.simulator is not None else SETTLE)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.problems = lock.release()


def recheck(
    api: Api,
    planned: Plan,
    desired: State,
    prune_scope: Sequence[str] = (),
    zones: Sequence[str] = (),
) -> tuple[Plan, State]:
    """Plan again once the lock is held: another apply may have run between the plan that
    was confirmed and the lock (it would be carried out twice: duplicates). The plan must
    be the same, else nothing is applied."""
    fresh, live = plan(api, desired, planned.prune, True, prune_scope, zones, rotate=planned.rotate)
    before, now = planned.to_dict()["checksum"], fresh.to_dict()["checksum"]
    if before != now:
        raise StalePlan(
            f"the cloud changed between the plan and taking the lock (checksum {before} -> "
            f"{now}): another apply may have run",
            hint="plan again and review the new plan",
        )
    return fresh, live


def drift(api: Api, desired: State, zones: Sequence[str] = ()) -> Drift:
    """The drift of the config's zones (or of those named: --zone, model/zones.py)."""
    desired = only_zones(desired, zones)
    live = only_zones(read_for(api, desired), zones)
    return drift_of(desired, live)


def drift_of(desired: State, live: State) -> Drift:
    """The drift between a config and a cloud already read."""
    found = diff(desired, live)
    # deletes are only ever the children a replace takes with it: part of that change
    changed = tuple(c for c in found.changes if c.action in (Action.UPDATE, Action.REPLACE))
    # an `absent: true` entry that exists: the config says it should not
    changed += tuple(
        replace(c, fields={ABSENT: (False, True)})
        for c in found.changes
        if c.action is Action.DELETE and c.desired is not None and is_absent(c.desired)
    )
    missing = tuple(
        c.desired for c in found.changes if c.action is Action.CREATE and c.desired is not None
    )
    return Drift(
        changed,
        missing,
        found.unmanaged,
        desired=desired,
        live=live,
        ignored=found.ignored,
        unhealthy=unhealthy(desired, live),
    )


def unhealthy(desired: State, live: State) -> tuple[tuple[Key, str], ...]:
    """The managed resources whose health the cloud reports as other than healthy
    (Kind.health), with what it says: a host the config names whose agent is Down."""
    seen = aliased(present(desired), live)  # hosts the config names by address, re-keyed
    out = []
    for key in present(desired):
        health = KINDS[key.kind].health
        res = seen.get(key)
        if health is None or res is None:
            continue
        said = res.extra.get(health[0])
        if said is not None and str(said) not in health[1]:
            out.append((key, str(said)))
    return tuple(out)


def accept_args(args: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """`drift CONFIG… --accept [RESOURCE…]`: the config paths come first (the leading
    arguments that exist), the resources after them (model/accept.py reads them)."""
    paths: list[Path] = []
    for i, arg in enumerate(args):
        if str(arg) in KINDS or not arg.exists():
            return paths, [str(a) for a in args[i:]]
        paths.append(arg)
    return paths, []


def accept_drift(
    found: Drift, paths: Sequence[Path], words: Sequence[str], zones: Sequence[str] = ()
) -> tuple[accept.Accepted, Drift]:
    """The config files with the chosen drift accepted (model/accept.py), and the drift
    left after it. Checked before anything is written: the edited config must be valid and
    in sync for what was accepted. Writes nothing (accept.write_all does)."""
    assert found.desired is not None and found.live is not None
    chosen = accept.select(
        accept.items(found.changed, found.missing, found.unmanaged),
        accept.parse_selectors(words),
    )
    texts: dict[str, str] = {}
    for file in config_files(paths)[0]:
        text, problem = read_config(file)
        if text is None:
            raise CstoolError(str(problem))
        texts[str(file)] = text
    result = accept.accept(chosen, texts, found.desired, found.live)
    state, problems = load_texts({**texts, **result.texts})
    errors = [p for p in [*problems, *validate(present(state))] if not p.warning]
    if errors:
        raise accept.AcceptError(
            "nothing was written: the edited config would not be valid:\n"
            + "\n".join(f"  {p}" for p in errors)
        )
    after = drift_of(only_zones(state, zones), found.live)
    left = {c.key for c in after.changed} | {r.key for r in (*after.missing, *after.unmanaged)}
    still = [i for i in chosen if i.key in left]
    if still:  # a bug: the edits do not say what the cloud has
        raise accept.AcceptError(
            "nothing was written: the edited config would still drift on "
            + ", ".join(str(i) for i in still)
        )
    return result, after


def apply(
    api: Api,
    plan_: Plan,
    live: State,
    parallelism: int = 4,
    on_event: Event | None = None,
    guard: Guard | None = None,
    on_restore: Callable[[Key, str], None] | None = None,
) -> ApplyReport:
    """Run the plan. When it fails or is interrupted, what it took out of service for a
    while (a zone disabled to add a physical network) is put back before it returns
    (cloud/restore.py); report.restores says what was put back and what could not be."""
    # every secret the plan references is read now: a missing one fails before any step
    secrets.preflight(c.params for step in plan_.steps for c in step.calls)
    watch = restore.Watch(plan_.steps, on_event)
    applier = Applier(api, live, parallelism, watch.event, guard=guard)
    try:
        report = applier.apply(plan_.steps, plan_.dependencies())
    except KeyboardInterrupt:  # outside the applier's own wait: the steps seen so far
        report = watch.report()
    if not report.ok:
        report.restores = restore.restore(api, plan_, report.results, applier.resolve, on_restore)
    return report


def export(api: Api, zones: Sequence[str] = ()) -> dict[str, Any]:
    """The live cloud as a config (all zones, or those named)."""
    from cstool.model.export import to_config

    # every kind, written or not, and the owners, so that dedications name paths and names
    live = read_live(api, zone_settings=zones or None, infra=True, written=None, owners=True)
    known = {r.key.path[0] for r in live.of_kind("zone")}
    missing = [z for z in zones if z not in known]
    if missing:
        raise CstoolError(
            f"no zone named {', '.join(missing)} in the cloud "
            f"(it has: {', '.join(sorted(known)) or 'none'})"
        )
    shown = {k: ids for k, ids in live.duplicates.items() if not zones or k.zone in zones}
    if shown:  # which copy to write would be a guess: none is
        raise Duplicates(shown)
    return to_config(live, set(zones) if zones else None)


def check_output(path: Path, what: str) -> None:
    """Refuse an output file whose directory is missing, or that is a directory, before any
    work is done: the operator learns it before the cloud is read, not after."""
    if path.is_dir():
        raise CstoolError(
            f"{path}: cannot write the {what} there: it is a directory",
            hint=f"give a file name inside it, e.g. {path / 'out'}",
        )
    if not path.parent.is_dir():
        raise CstoolError(
            f"{path}: cannot write the {what}: the directory {path.parent} does not exist",
            hint=f"create it first (mkdir -p {path.parent}) or choose another path",
        )


def write_output(path: Path, text: str, what: str) -> None:
    """Write an output file (a saved plan, a converted config); a failure names the file."""
    check_output(path, what)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CstoolError(f"{path}: cannot write the {what}: {exc.strerror or exc}") from None


def write_split(config: dict[str, Any], directory: Path, header: str) -> list[Path]:
    """Write one file per zone (and the settings) into directory, never outside it: the
    names are plain file names (model.export.safe_names), each file is written to a
    temporary file in the directory and renamed over the old one, so a symbolic link
    planted under that name is replaced, never followed."""
    import os
    import tempfile

    from cstool.model.export import dump, split

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CstoolError(f"{directory}: cannot create the directory: {exc.strerror}") from None
    written = []
    for name, part in split(config).items():
        target = directory / name
        if Path(name).name != name or name in (".", "..") or "\\" in name:
            raise CstoolError(f"refusing to write {name!r}: not a plain file name")  # a bug
        if target.is_dir() and not target.is_symlink():
            raise CstoolError(f"{target} is a directory; not overwriting it")
        fd, tmp = tempfile.mkstemp(prefix=".cstool-", suffix=".yaml", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(dump(part, header))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def import_marvin(path: Path) -> tuple[str, list[str], list[str]]:
    """A Marvin config as cstool YAML, what could not be converted, and notes (the
    environment variables its secret references name: set them before apply)."""
    from cstool.model import marvin
    from cstool.model.export import dump
    from cstool.model.loader import read_config

    # the config loader's reader: a regular file only (a FIFO never blocks), size-limited,
    # UTF-8 or UTF-16/32 with a BOM, and a located problem for bytes that do not decode
    text, problem = read_config(path)
    if text is None:
        raise CstoolError(str(problem))
    converted = marvin.convert(marvin.parse(text, str(path)), str(path))
    header = f"Converted from the Marvin config {path.name} by cstool import-marvin."
    header += "".join(f"\n{note[0].upper()}{note[1:]}." for note in converted.notes)
    return dump(converted.config, header), converted.warnings, converted.notes


# --- saved plans -------------------------------------------------------------------------


SEAL = "seal"


class PlanTampered(CstoolError):
    hint = "do not edit a saved plan: run `cstool plan ... --out PLAN.json` again"


def saved_plan(
    plan_: Plan,
    desired: State,
    target: str,
    cloud: identity.Identity | None = None,
    zones: Sequence[str] = (),
) -> dict[str, Any]:
    """The plan as saved by `plan --out`: the plan, its checksum, the desired state, the
    target and the identity of the cloud it was made for, sealed by a checksum of all that
    (so an edited file is told apart from a changed cloud). A plan limited by --zone keeps
    the zones (`zones`, read back by `apply PLAN.json`) and only their part of the config."""
    body = plan_.to_dict()
    body["target"] = target
    if zones:
        body["zones"] = sorted(set(zones))
        desired = only_zones(desired, zones)
    body["cloud"] = cloud.to_dict() if cloud is not None else None
    body["desired"] = [
        {
            "resource": r.key.to_str(),
            "values": _plain(dict(r.values)),
            "origin": str(r.origin) if r.origin else None,
            "order": r.order,
            **({ABSENT: True} if is_absent(r) else {}),
            **({MANAGES_INFRA: True} if r.extra.get(MANAGES_INFRA) else {}),
            **({WRITES: sorted(r.extra[WRITES])} if r.extra.get(WRITES) else {}),
        }
        for r in desired.values()
    ]
    if desired.infra:  # written only when set: saved plans without compute stay as they were
        body["infra"] = True
    if desired.written:  # the kinds managed where written: re-read by `apply PLAN.json`
        body["written"] = sorted(desired.written)
    if desired.owners:
        body["owners"] = True
    if desired.ignore:  # re-planned by `apply PLAN.json`: the same objects stay ignored
        body["ignore"] = [rule.to_dict() for rule in desired.ignore]
    body[SEAL] = seal(body)
    return body


def seal(body: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the whole saved plan but its seal."""
    data = {k: v for k, v in body.items() if k != SEAL}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_sealed(path: Path, saved: Mapping[str, Any]) -> None:
    """Refuse a saved plan whose content does not match its own checksums."""
    if SEAL not in saved:
        raise PlanTampered(f"{path}: the plan has no seal, so its content cannot be trusted")
    if saved[SEAL] != seal(saved) or checksum(saved) != saved.get("checksum"):
        raise PlanTampered(
            f"{path}: the plan was modified after it was saved (its content does not match "
            "its checksum)"
        )


def _plain(value: Any) -> Any:
    """Values as JSON: tuples as lists, secret references as written ({env: NAME})."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, SecretRef):
        return value.to_yaml()
    return list(value)


def is_saved_plan(paths: Sequence[Path]) -> bool:
    return len(paths) == 1 and paths[0].suffix == ".json" and paths[0].is_file()


def load_saved_plan(path: Path) -> tuple[dict[str, Any], State]:
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise CstoolError(f"{path}: not a cstool plan file ({exc})") from None
    check_sealed(path, data)
    try:
        plan_from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise CstoolError(f"{path}: not a cstool plan file ({exc})") from None
    state = State()
    for item in data["desired"]:
        key = Key.from_str(item["resource"])
        fields = KINDS[key.kind].field_map
        values = {
            k: fields[k].parse(v) if v is not None else None for k, v in item["values"].items()
        }
        origin = _origin(item.get("origin"))
        extra: dict[str, Any] = {flag: True for flag in (ABSENT, MANAGES_INFRA) if item.get(flag)}
        if item.get(WRITES):
            extra[WRITES] = frozenset(str(w) for w in item[WRITES])
        state.add(Resource(key, values, origin, extra=extra, order=item.get("order", 0)))
    state.infra = bool(data.get("infra"))
    state.written = frozenset(str(w) for w in data.get("written", ()))
    state.owners = bool(data.get("owners"))
    state.ignore = tuple(
        IgnoreRule(r["kind"], tuple(r["path"].split("/")), r.get("reason"))
        for r in data.get("ignore", ())
    )
    return data, state


def saved_rotate(saved: Mapping[str, Any], asked: bool) -> bool:
    """Whether a saved plan rotates secrets (`plan --rotate-secrets --out`): its rotation
    steps are part of what was reviewed, so `apply PLAN.json` plans them again. Asking for
    --rotate-secrets with a plan saved without it is refused: it applies exactly that plan."""
    rotate = bool(saved.get("rotate_secrets"))
    if asked and not rotate:
        raise CstoolError(
            "--rotate-secrets: the saved plan was made without it; it applies exactly that",
            hint="leave out --rotate-secrets, or run `cstool plan ... --rotate-secrets --out "
            "PLAN.json` again",
        )
    return rotate


def _origin(text: str | None) -> Origin | None:
    if not text:
        return None
    file, line, col = text.rsplit(":", 2)
    return Origin(file, int(line), int(col))


def check_saved(
    saved: Mapping[str, Any],
    fresh: Plan,
    cloud: identity.Identity | None = None,
    target: str = "",
    other_cloud: bool = False,
) -> None:
    """Refuse a plan saved for another cloud (its recorded identity), then one the cloud has
    moved away from (the checksum of a fresh plan differs). A tampered file is refused when
    loaded (check_sealed), before either."""
    if cloud is not None:
        identity.check_saved(saved.get("cloud"), cloud, target or cloud.host, other_cloud)
    now = fresh.to_dict()
    if now["checksum"] == saved["checksum"]:
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
