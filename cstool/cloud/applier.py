"""Execute plan steps against the cloud: resolve ids, wait for async jobs, run independent
steps concurrently, and on a failure launch nothing new, let running steps finish and report.

Progress goes out through a callback; this module never prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from graphlib import TopologicalSorter
from typing import Any, Protocol

from cstool.cloud.api import Api
from cstool.errors import CstoolError, JobTimeout, Unreachable
from cstool.model.kinds import KINDS
from cstool.model.plan import Call, Ref, Step, Var
from cstool.model.resources import Key, State


class Status(StrEnum):
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "outcome unknown"  # no answer (timeout, lost reply) and not found read back
    NOT_STARTED = "not started"


@dataclass
class StepResult:
    index: int
    step: Step
    status: Status = Status.NOT_STARTED
    error: str | None = None
    call: str | None = None  # the API command running now
    note: str | None = None  # e.g. a lost reply, and what reading back found


@dataclass
class ApplyReport:
    results: list[StepResult]
    interrupted: bool = False
    restores: list[Any] = field(default_factory=list)  # restore.Restore: put back after a stop
    stopped_by: str | None = None  # why no new step was launched (the cloud lock was lost)

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if r.status in (Status.FAILED, Status.UNKNOWN)]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and not self.stopped_by


Event = Callable[[str, StepResult], None]


class Unresolved(CstoolError):
    pass


class Guard(Protocol):
    """What the applier asks of the cloud lock (cloud/lock.CloudLock)."""

    def check(self) -> str | None: ...  # a reason to stop launching steps, or None

    def adopt(self, zone_id: str, name: str) -> None: ...  # a zone this run created


class OutcomeUnknown(CstoolError):
    """A write got no answer (a timeout, a lost reply) and reading back did not settle it."""


@dataclass
class Applier:
    api: Api
    live: State
    parallelism: int = 4
    on_event: Event | None = None
    uuids: dict[Key, str] = field(default_factory=dict)
    guard: Guard | None = None  # the cloud lock (cloud/lock.py), checked between steps
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _lost: str | None = None

    def __post_init__(self) -> None:
        self.uuids.update({k: r.uuid for k, r in self.live.items() if r.uuid})

    def apply(self, steps: Sequence[Step], deps: Mapping[int, set[int]]) -> ApplyReport:
        """Run steps in dependency order, up to `parallelism` at once."""
        results = [StepResult(i, s) for i, s in enumerate(steps)]
        sorter = TopologicalSorter({i: deps.get(i, set()) for i in range(len(steps))})
        sorter.prepare()
        running: dict[Future[None], StepResult] = {}
        ready: list[int] = []
        stopping = interrupted = False
        width = max(1, self.parallelism)
        with ThreadPoolExecutor(width) as pool:
            while True:
                if not stopping and self.guard is not None and self._lost is None:
                    self._lost = self.guard.check()
                if self._lost is not None:
                    stopping = True
                if not stopping:
                    ready.extend(sorter.get_ready())
                    ready.sort()  # in plan order, as the reviewer read it
                    while ready and len(running) < width:  # never queue beyond the width
                        i = ready.pop(0)
                        self._emit("start", results[i])
                        running[pool.submit(self._run, results[i])] = results[i]
                if not running:
                    break
                try:
                    finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    stopping = interrupted = True
                    continue
                for future in finished:
                    result = running.pop(future)
                    if result.status is Status.DONE:
                        sorter.done(result.index)
                    else:
                        stopping = True
        return ApplyReport(results, interrupted, stopped_by=self._lost)

    def _emit(self, event: str, result: StepResult) -> None:
        if self.on_event is not None:
            self.on_event(event, result)

    def _run(self, result: StepResult) -> None:
        variables: dict[str, str] = {}
        try:
            for call in result.step.calls:
                result.call = call.command
                self._emit("call", result)
                self._call(call, variables, result)
        except OutcomeUnknown as exc:
            result.status, result.error = Status.UNKNOWN, str(exc)
            self._emit("failed", result)
            return
        except CstoolError as exc:
            result.status, result.error = Status.FAILED, str(exc)
            self._emit("failed", result)
            return
        except Exception as exc:  # a bug: report it on the step, do not lose the others
            result.status, result.error = Status.FAILED, f"{type(exc).__name__}: {exc}"
            self._emit("failed", result)
            return
        result.status = Status.DONE
        self._emit("done", result)

    def _call(self, call: Call, variables: dict[str, str], result: StepResult) -> None:
        params = {k: self._value(v, variables) for k, v in call.params.items()}
        if call.command.startswith("list"):
            items = self.api.list(call.command, **params)
            if call.bind:
                if not items:
                    raise Unresolved(f"{call.command} found nothing for {_show(params)}")
                variables[call.bind] = str(items[0]["id"])
            return
        try:
            reply = self.api.call(call.command, **params)
        except (Unreachable, JobTimeout) as exc:
            reply = self._read_back(call, params, result, exc)
        if call.creates is not None:
            created = next(
                (v["id"] for v in reply.values() if isinstance(v, dict) and "id" in v), None
            )
            if created is not None:
                self._adopt(call.creates, str(created))
                with self._lock:
                    replaced = self.uuids.get(call.creates) not in (None, str(created))
                    self.uuids[call.creates] = str(created)
                    if replaced:  # its children were read under the old id: forget them
                        for stale in [k for k in self.uuids if _descends(k, call.creates)]:
                            del self.uuids[stale]

    def _adopt(self, key: Key, uuid: str) -> None:
        """A zone this run created joins the run's lock at once."""
        if self.guard is None or key.kind != "zone":
            return
        try:
            self.guard.adopt(uuid, key.path[0])
        except CstoolError as exc:
            with self._lock:
                self._lost = self._lost or f"could not mark the new zone {key.path[0]}: {exc}"

    def _read_back(
        self, call: Call, params: Mapping[str, Any], result: StepResult, exc: CstoolError
    ) -> dict[str, Any]:
        """After a write with no answer, settle its outcome from the cloud before giving up:
        a create is looked up by its identity (found once: its id is recorded and the step
        goes on), a delete by its id (gone: done). Anything else stays "outcome unknown";
        the next plan reads the cloud and shows whether it happened."""
        what = f"{call.command}: outcome unknown ({exc})"
        result.note = what
        key = call.creates
        if key is not None and KINDS[key.kind].read.explode is None:
            try:
                found = self.lookup(key)
            except CstoolError as err:
                raise OutcomeUnknown(f"{what}; reading it back failed: {err}") from None
            if len(found) == 1:
                result.note = f"{what}; read back: {key} exists (id {found[0]}), counted done"
                return {"_read_back": {"id": found[0]}}
            if len(found) > 1:
                raise OutcomeUnknown(
                    f"{what}; read back: {len(found)} objects are {key} "
                    f"(ids {', '.join(found)}): a duplicate, remove one"
                )
            raise OutcomeUnknown(
                f"{what}; read back: {key} does not exist"
                + (" yet (its job may still run)" if isinstance(exc, JobTimeout) else "")
            )
        ref = call.params.get("id")
        if call.command.startswith("delete") and isinstance(ref, Ref):
            try:
                gone = not self.lookup(ref.key, uuid=str(params.get("id")))
            except CstoolError as err:
                raise OutcomeUnknown(f"{what}; reading it back failed: {err}") from None
            if gone:
                result.note = f"{what}; read back: {ref.key} is gone, counted done"
                return {}
        raise OutcomeUnknown(what)

    def _listing_params(self, key: Key) -> dict[str, Any]:
        """The parameters of the listing that holds `key` (its parent's id where needed)."""
        kind = KINDS[key.kind]
        params = dict(kind.read.params)
        if kind.parent is not None:
            param = kind.read.per_parent or kind.read.parent_id
            if param:
                params[param] = self.resolve(key.parent())
        return params

    def lookup(self, key: Key, uuid: str | None = None) -> list[str]:
        """The ids of the live objects that are `key` (a fresh listing, never the cache);
        with uuid, only that one."""
        kind = KINDS[key.kind]
        read = kind.read
        params = self._listing_params(key)
        ids = []
        for item in self.api.list(read.command, **params):
            if read.accept is not None and not read.accept(item):
                continue
            try:
                ident = kind.key_parse(read.key_from(item) if read.key_from else item[read.key_api])
            except (KeyError, ValueError):
                continue
            if str(ident) == key.path[-1] and item.get("id"):
                if uuid is None or str(item["id"]) == uuid:
                    ids.append(str(item["id"]))
        return ids

    def _value(self, value: Any, variables: Mapping[str, str]) -> Any:
        if isinstance(value, Ref):
            return self.resolve(value.key)
        if isinstance(value, Var):
            return variables[value.name]
        return value

    def resolve(self, key: Key) -> str:
        """The CloudStack id of a resource: known, created by this apply, or looked up."""
        with self._lock:
            if key in self.uuids:
                return self.uuids[key]
        kind = KINDS[key.kind]
        read = kind.read
        params = self._listing_params(key)
        siblings = {}  # one listing answers for every sibling, not only the one asked for
        for item in self.api.list(read.command, **params):
            if read.accept is not None and not read.accept(item):
                continue
            try:
                ident = kind.key_parse(read.key_from(item) if read.key_from else item[read.key_api])
            except (KeyError, ValueError):
                continue
            if item.get("id"):
                siblings[Key(key.kind, (*key.path[:-1], str(ident)))] = str(item["id"])
        with self._lock:
            for sibling, uuid in siblings.items():
                self.uuids.setdefault(sibling, uuid)
        if key not in siblings:
            raise Unresolved(f"{key} does not exist in the cloud (needed by this step)")
        return siblings[key]


def _descends(key: Key, top: Key) -> bool:
    while KINDS[key.kind].parent is not None:
        key = key.parent()
        if key == top:
            return True
    return False


def _show(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())
