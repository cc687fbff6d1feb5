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
from typing import Any

from cstool.cloud.api import Api
from cstool.errors import CstoolError
from cstool.model.kinds import KINDS
from cstool.model.plan import Call, Ref, Step, Var
from cstool.model.resources import Key, State


class Status(StrEnum):
    DONE = "done"
    FAILED = "failed"
    NOT_STARTED = "not started"


@dataclass
class StepResult:
    index: int
    step: Step
    status: Status = Status.NOT_STARTED
    error: str | None = None
    call: str | None = None  # the API command running now


@dataclass
class ApplyReport:
    results: list[StepResult]
    interrupted: bool = False

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if r.status is Status.FAILED]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


Event = Callable[[str, StepResult], None]


class Unresolved(CstoolError):
    pass


@dataclass
class Applier:
    api: Api
    live: State
    parallelism: int = 4
    on_event: Event | None = None
    uuids: dict[Key, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        return ApplyReport(results, interrupted)

    def _emit(self, event: str, result: StepResult) -> None:
        if self.on_event is not None:
            self.on_event(event, result)

    def _run(self, result: StepResult) -> None:
        variables: dict[str, str] = {}
        try:
            for call in result.step.calls:
                result.call = call.command
                self._emit("call", result)
                self._call(call, variables)
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

    def _call(self, call: Call, variables: dict[str, str]) -> None:
        params = {k: self._value(v, variables) for k, v in call.params.items()}
        if call.command.startswith("list"):
            items = self.api.list(call.command, **params)
            if call.bind:
                if not items:
                    raise Unresolved(f"{call.command} found nothing for {_show(params)}")
                variables[call.bind] = str(items[0]["id"])
            return
        reply = self.api.call(call.command, **params)
        if call.creates is not None:
            created = next(
                (v["id"] for v in reply.values() if isinstance(v, dict) and "id" in v), None
            )
            if created is not None:
                with self._lock:
                    self.uuids[call.creates] = str(created)
                    # a replaced resource's children were read under its old id: forget them
                    for stale in [k for k in self.uuids if _descends(k, call.creates)]:
                        del self.uuids[stale]

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
        params = dict(read.params)
        if kind.parent is not None:
            param = read.per_parent or read.parent_id
            if param:
                params[param] = self.resolve(key.parent())
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
