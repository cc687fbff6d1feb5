"""Execute plan steps against the cloud: resolve ids, wait for async jobs, run independent
steps concurrently, and on a failure launch nothing new, let running steps finish and report.

Progress goes out through a callback; this module never prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from graphlib import TopologicalSorter
from typing import Any, Protocol

from cstool.cloud import secrets
from cstool.cloud.api import Api
from cstool.cloud.waits import IMMEDIATE_POLLS, Interrupted, jittered
from cstool.errors import CstoolError, JobTimeout, Unreachable
from cstool.model.kinds import KINDS
from cstool.model.plan import Call, Ref, Step, Until, Var
from cstool.model.resources import Key, State

# the waiter's rounds (one list per group of parked waits): soon at first, then less often;
# the cap decides how late a host that came Up is seen (the bench's 1.5x bound needs 1 s)
WAIT_FIRST = 0.1
WAIT_FACTOR = 1.5
WAIT_CAP = 1.0
# a lost addHost reply: a host created this long before the step started is not its host
ADOPT_SLACK = 5.0


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
    state: str | None = None  # the last state a wait saw (a host Connecting, Up)
    started: float | None = None  # wall clock when the step first ran (read-back adoption)


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
    _planned: set[Key] = field(default_factory=set)  # what the plan creates (read-back)
    # creates in flight per (kind, parent path) of kinds found by alias, and whether two of
    # one group ever ran at once in this apply: a lost reply there is not adopted (_read_back)
    _creating: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)
    _overlapped: dict[tuple[str, tuple[str, ...]], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.uuids.update({k: r.uuid for k, r in self.live.items() if r.uuid})

    def apply(self, steps: Sequence[Step], deps: Mapping[int, set[int]]) -> ApplyReport:
        """Run steps in dependency order, up to `parallelism` at once. A step that reaches a
        state wait (a host coming Up) is parked with the Waiter and frees its worker; when
        the state is reached, the rest of the step goes back into the pool, ahead of new
        steps."""
        results = [StepResult(i, s) for i, s in enumerate(steps)]
        self._planned = {c.creates for s in steps for c in s.calls if c.creates is not None}
        sorter = TopologicalSorter({i: deps.get(i, set()) for i in range(len(steps))})
        sorter.prepare()
        running: dict[Future[Any], StepResult] = {}
        parked: dict[Future[Any], _Park] = {}
        resume: list[_Park] = []
        ready: list[int] = []
        stopping = interrupted = False
        width = max(1, self.parallelism)
        waiter = Waiter(self.api, self._emit)
        with ThreadPoolExecutor(width) as pool:
            while True:
                if not stopping and self.guard is not None and self._lost is None:
                    self._lost = self.guard.check()
                if self._lost is not None:
                    stopping = True
                while resume and len(running) < width:  # a step already under way goes on
                    park = resume.pop(0)
                    future = pool.submit(self._run, park.result, park.index + 1, park.variables)
                    running[future] = park.result
                if not stopping:
                    ready.extend(sorter.get_ready())
                    ready.sort()  # in plan order, as the reviewer read it
                    while ready and len(running) < width:  # never queue beyond the width
                        i = ready.pop(0)
                        self._emit("start", results[i])
                        running[pool.submit(self._run, results[i])] = results[i]
                if not running and not parked and not resume:
                    break
                try:
                    finished, _ = wait(
                        [*running, *parked], return_when=FIRST_COMPLETED, timeout=None
                    )
                except KeyboardInterrupt:
                    stopping = interrupted = True
                    waiter.cancel()
                    continue
                for future in finished:
                    if future in parked:
                        park = parked.pop(future)
                        if self._waited(park, future):
                            resume.append(park)
                        else:
                            stopping = True
                        continue
                    result = running.pop(future)
                    wants = future.result()
                    if wants is not None:
                        parked[waiter.park(wants)] = wants
                    elif result.status is Status.DONE:
                        sorter.done(result.index)
                    else:
                        stopping = True
        waiter.stop()
        return ApplyReport(results, interrupted, stopped_by=self._lost)

    def _waited(self, park: _Park, future: Future[Any]) -> bool:
        """Whether a parked step's wait ended well; if not, the step failed."""
        error = future.exception()
        if error is None:
            return True
        result = park.result
        result.status, result.error = Status.FAILED, str(error)
        self._emit("failed", result)
        return False

    def _emit(self, event: str, result: StepResult) -> None:
        if self.on_event is not None:
            self.on_event(event, result)

    def _run(
        self, result: StepResult, start: int = 0, variables: dict[str, str] | None = None
    ) -> _Park | None:
        """Run the step's calls from `start`; a call with `until` parks the step (returned,
        for the Waiter) instead of holding this worker while the cloud gets there."""
        variables = {} if variables is None else variables
        if result.started is None:
            result.started = time.time()
        calls = result.step.calls
        try:
            for index in range(start, len(calls)):
                call = calls[index]
                result.call = call.command
                self._emit("call", result)
                if call.until is not None:
                    params = {k: self._value(v, variables) for k, v in call.params.items()}
                    return _Park(result, index, variables, call.command, params, call.until)
                self._call(call, variables, result)
        except OutcomeUnknown as exc:
            result.status, result.error = Status.UNKNOWN, str(exc)
            self._emit("failed", result)
            return None
        except CstoolError as exc:
            result.status, result.error = Status.FAILED, str(exc)
            self._emit("failed", result)
            return None
        except Exception as exc:  # a bug: report it on the step, do not lose the others
            result.status, result.error = Status.FAILED, f"{type(exc).__name__}: {exc}"
            self._emit("failed", result)
            return None
        result.status = Status.DONE
        self._emit("done", result)
        return None

    def _call(self, call: Call, variables: dict[str, str], result: StepResult) -> None:
        params = {k: self._value(v, variables) for k, v in call.params.items()}
        if call.command.startswith("list"):
            items = self.api.list(call.command, **params)
            if call.bind:
                if not items:
                    raise Unresolved(f"{call.command} found nothing for {_show(params)}")
                variables[call.bind] = str(items[0]["id"])
            return
        sent = secrets.resolve(params)  # values read now, and registered for redaction
        sibling = _sibling_group(call.creates)
        with self._lock:
            if sibling is not None:  # creates of one kind under one parent, for _read_back
                self._creating[sibling] = self._creating.get(sibling, 0) + 1
                self._overlapped[sibling] = self._creating[sibling] > 1 or self._overlapped.get(
                    sibling, False
                )
        try:
            reply = self.api.call(call.command, **sent)
        except (Unreachable, JobTimeout) as exc:
            reply = self._read_back(call, params, result, exc)
        finally:
            if sibling is not None:
                with self._lock:
                    self._creating[sibling] -= 1
        if call.creates is not None:
            created = created_id(reply)
            if created is None and _relisted(call.creates, reply):
                created = self._listed_after(call, result)
            if created is not None:
                self._adopt(call.creates, created)
                with self._lock:
                    replaced = self.uuids.get(call.creates) not in (None, created)
                    self.uuids[call.creates] = created
                    if replaced:  # its children were read under the old id: forget them
                        for stale in [k for k in self.uuids if _descends(k, call.creates)]:
                            del self.uuids[stale]

    def _listed_after(self, call: Call, result: StepResult) -> str:
        """The id of what a create made when its answer carries none: listed by identity.
        One found is recorded; none (or several) leaves the step "outcome unknown"."""
        key = call.creates
        assert key is not None
        what = f"{call.command}: its answer names no object, so it was listed again"
        try:
            found = self.lookup(key)
        except CstoolError as err:
            raise OutcomeUnknown(f"{what}; listing it failed: {err}") from None
        if len(found) == 1:
            return found[0]
        result.note = what
        if found:
            raise OutcomeUnknown(f"{what}: {len(found)} objects are {key} (ids {', '.join(found)})")
        raise OutcomeUnknown(f"{what}: {key} is not listed; outcome unknown")

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
            if not found and KINDS[key.kind].read.aliases:
                with self._lock:  # another create beside it: a new object may be the other's
                    overlapped = self._overlapped.get(_sibling_group(key) or ("", ()), False)
                if overlapped:
                    raise OutcomeUnknown(
                        f"{what}; read back: {key} is not found by its name, and another "
                        f"{key.kind} was being added to {'/'.join(key.path[:-1])} at the same "
                        "time, so a new one cannot be told apart"
                    )
                found = self._unclaimed(key, result)
                if len(found) == 1:
                    result.note = (
                        f"{what}; read back: a new unclaimed {key.kind} (id {found[0]}) is "
                        f"{key}, adopted"
                    )
                    return {"_read_back": {"id": found[0]}}
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

    def _unclaimed(self, key: Key, result: StepResult) -> list[str]:
        """After a lost addHost reply: the ids of the siblings no known or planned key
        claims (by name or alias) that were created since the step started (ADOPT_SLACK
        earlier, for clock skew). The server may name a new host after its agent
        (SimulatedAgent.<uuid>, MockAgentManagerImpl.createServerResources) before cstool
        renames it, so the host is not found by its key; one such host is the one the lost
        call added, and adopting it keeps a second addHost from making a duplicate (the
        Simulator discoverer has no duplicate check)."""
        read = KINDS[key.kind].read
        with self._lock:
            known = {k for k in (*self.uuids, *self._planned) if k.kind == key.kind}
            claimed_ids = set(self.uuids.values())
        names = {k.path[-1] for k in known if k.path[:-1] == key.path[:-1]}
        since = (result.started or time.time()) - ADOPT_SLACK
        out = []
        for item in self.api.list(read.command, **self._listing_params(key)):
            if read.accept is not None and not read.accept(item):
                continue
            uuid = str(item.get("id") or "")
            if not uuid or uuid in claimed_ids or names & set(_identities(key.kind, item)):
                continue
            created = _timestamp(item.get("created"))
            if created is not None and created >= since:
                out.append(uuid)
        return out

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
        read = KINDS[key.kind].read
        params = self._listing_params(key)
        ids = []
        for item in self.api.list(read.command, **params):
            if read.accept is not None and not read.accept(item):
                continue
            if key.path[-1] in _identities(key.kind, item) and item.get("id"):
                if uuid is None or str(item["id"]) == uuid:
                    ids.append(str(item["id"]))
        return ids

    def _value(self, value: Any, variables: Mapping[str, str]) -> Any:
        """Ids filled in (Ref, Var), also inside a mapping's values; secret references are
        left for secrets.resolve, right before the request."""
        if isinstance(value, Ref):
            return self.resolve(value.key)
        if isinstance(value, Var):
            return variables[value.name]
        if isinstance(value, dict):
            return {k: self._value(v, variables) for k, v in value.items()}
        return value

    def resolve(self, key: Key) -> str:
        """The CloudStack id of a resource: known, created by this apply, or looked up."""
        with self._lock:
            if key in self.uuids:
                return self.uuids[key]
        read = KINDS[key.kind].read
        params = self._listing_params(key)
        siblings: dict[Key, str] = {}  # one listing answers for every sibling
        aliased: dict[Key, str] = {}  # a host written by its IP: matched by name first
        for item in self.api.list(read.command, **params):
            if read.accept is not None and not read.accept(item) or not item.get("id"):
                continue
            for n, ident in enumerate(_identities(key.kind, item)):
                sibling = Key(key.kind, (*key.path[:-1], ident))
                (aliased if n else siblings).setdefault(sibling, str(item["id"]))
        for sibling, uuid in aliased.items():
            siblings.setdefault(sibling, uuid)
        with self._lock:
            for sibling, uuid in siblings.items():
                self.uuids.setdefault(sibling, uuid)
        if key not in siblings:
            raise Unresolved(f"{key} does not exist in the cloud (needed by this step)")
        return siblings[key]


def _relisted(key: Key, reply: Mapping[str, Any]) -> bool:
    """Whether a create whose answer carries no id is listed to find what it made: an answer
    without an object name (NAMELESS), or a create of a kind managed only where written
    (Kind.written_opt_in: a dedication, an IPv6 prefix), whatever shape its answer has. The
    other kinds' answers without an id (a setting's configuration, identified by name) are
    not, as before."""
    return NAMELESS in reply or KINDS[key.kind].written_opt_in


def _descends(key: Key, top: Key) -> bool:
    while KINDS[key.kind].parent is not None:
        key = key.parent()
        if key == top:
            return True
    return False


def _show(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def _identities(kind_name: str, item: Mapping[str, Any]) -> list[str]:
    """The names a listed item answers to: its identity, then its aliases (Read.aliases: a
    host's ipaddress, as the server names hosts after their agent)."""
    kind = KINDS[kind_name]
    read = kind.read
    out = []
    try:
        out.append(
            str(kind.key_parse(read.key_from(item) if read.key_from else item[read.key_api]))
        )
    except (KeyError, ValueError):
        pass
    for alias in read.aliases:
        if item.get(alias) not in (None, ""):
            out.append(str(item[alias]))
    return out


# the key of a job result whose response sets no object name: ApiSerializerHelper and
# ResponseObjectTypeAdapter write the name as the string "null" (dedicateZone, dedicatePod,
# dedicateHost and createGuestNetworkIpv6Prefix answer a ListResponse or a response without
# one). Never read: what it holds is not the created object's answer
NAMELESS = "null"


def created_id(reply: Mapping[str, Any]) -> str | None:
    """The id a create's answer carries: in its object ({"cluster": {...}}), or in the
    first element of its list (addCluster and addHost answer {"count": 1, "host": [...]},
    AddClusterCmd.execute and AddHostCmd.execute build a ListResponse). An answer without an
    object name (NAMELESS) carries none."""
    for name, value in reply.items():
        if name == NAMELESS:
            continue
        if isinstance(value, dict) and "id" in value:
            return str(value["id"])
        if isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0]:
            return str(value[0]["id"])
    return None


@dataclass
class _Park:
    """A step waiting for a state: the list call (`command`, `params` with the id) the
    Waiter repeats, and where the step goes on (the call after `index`)."""

    result: StepResult
    index: int
    variables: dict[str, str]
    command: str
    params: dict[str, Any]
    until: Until
    since: float = field(default_factory=time.monotonic)
    done: Future[None] = field(default_factory=Future)

    def group(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Waits one listing answers together: the same command and filter but the id."""
        rest = tuple(sorted((k, str(v)) for k, v in self.params.items() if k != "id"))
        return self.command, rest


class Waiter:
    """Runs the state waits of parked steps on one thread, outside --parallelism: each round
    lists each group of waits once (the hosts of one cluster: one listHosts), then sleeps
    WAIT_FIRST growing by WAIT_FACTOR up to WAIT_CAP, with jitter; a target that answers at
    once (the simulator, a replay) is first asked IMMEDIATE_POLLS times without a pause.
    A wait ends when the item's field equals the value asked for; a `fail` value, the item
    gone, the job timeout (--job-timeout) or Ctrl-C ends it as a failure naming the
    resource and its last state."""

    def __init__(self, api: Api, emit: Event) -> None:
        self.api = api
        self.emit = emit
        self.timeout = api.job_timeout
        self.immediate = api.target.poll_interval <= 0
        self._parks: list[_Park] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def park(self, park: _Park) -> Future[None]:
        with self._lock:
            self._parks.append(park)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="waiter")
                self._thread.start()
        self._wake.set()
        return park.done

    def cancel(self) -> None:
        """Ctrl-C: every wait ends now, as interrupted."""
        with self._lock:
            parks, self._parks = self._parks, []
        for park in parks:
            _settle(park, Interrupted())

    def stop(self) -> None:
        self.cancel()
        with self._lock:
            self._stop = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        """The waiter's thread: whatever ends it, no parked step is left waiting (an apply
        would block on it for ever); an unexpected error fails them as one, visibly."""
        try:
            self._rounds()
        except BaseException as exc:
            with self._lock:
                parks, self._parks = self._parks, []
                self._thread = None  # the next park starts a new thread
            failure = (
                exc
                if isinstance(exc, CstoolError)
                else CstoolError(f"internal error while waiting: {type(exc).__name__}: {exc}")
            )
            for park in parks:
                _settle(park, failure)

    def _rounds(self) -> None:
        rounds = 0
        delay = WAIT_FIRST
        while True:
            with self._lock:
                if self._stop:
                    return
                parks = list(self._parks)
            if not parks:
                self._wake.wait()
                self._wake.clear()
                rounds, delay = 0, WAIT_FIRST
                continue
            self._round(parks)
            rounds += 1
            if self.immediate and rounds < IMMEDIATE_POLLS:
                continue
            try:
                with self.api.waits.waker(self._wake):
                    self.api.waits.check()
                    self._wake.wait(jittered(delay))
                    self.api.waits.check()
            except CstoolError as exc:  # interrupted, or the run's deadline passed
                with self._lock:
                    parks, self._parks = self._parks, []
                for park in parks:
                    _settle(park, exc)
                continue
            if self._wake.is_set():
                self._wake.clear()
                rounds, delay = 0, WAIT_FIRST  # a new wait: look soon
            else:
                delay = min(WAIT_CAP, delay * WAIT_FACTOR)

    def _round(self, parks: Sequence[_Park]) -> None:
        groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[_Park]] = {}
        for park in parks:
            groups.setdefault(park.group(), []).append(park)
        for (command, params), members in groups.items():
            try:
                items = self.api.list(command, **dict(params))
            except CstoolError as exc:
                for park in members:
                    self._end(park, exc)
                continue
            by_id = {str(i.get("id")): i for i in items if isinstance(i, Mapping)}
            for park in members:
                self._check(park, by_id.get(str(park.params.get("id"))))

    def _check(self, park: _Park, item: Mapping[str, Any] | None) -> None:
        until, key = park.until, park.result.step.key
        if item is None:
            self._end(park, CstoolError(f"{key} is no longer listed (waited for {_want(until)})"))
            return
        state = str(item.get(until.field))
        if state != park.result.state:
            park.result.state = state
            self.emit("state", park.result)
        if state == until.equals:
            self._end(park, None)
        elif state in until.fail:
            self._end(park, CstoolError(f"{key} is {state} (waited for {_want(until)})"))
        elif time.monotonic() - park.since > self.timeout:
            self._end(
                park,
                CstoolError(
                    f"{key} is still {state} after {self.timeout:g} s (waited for {_want(until)})",
                    hint="raise --job-timeout if the cloud is slow; the next run reads the "
                    "cloud again and plans only what is left",
                ),
            )

    def _end(self, park: _Park, error: BaseException | None) -> None:
        with self._lock:
            if park not in self._parks:
                return
            self._parks.remove(park)
        _settle(park, error)


def _sibling_group(key: Key | None) -> tuple[str, tuple[str, ...]] | None:
    """The kind and parent path of a create whose object may be found by an alias only (a
    host named after its agent): the creates a lost reply's read-back must tell apart."""
    if key is None or not KINDS[key.kind].read.aliases:
        return None
    return key.kind, key.path[:-1]


def _settle(park: _Park, error: BaseException | None) -> None:
    if park.done.done():
        return
    if error is None:
        park.done.set_result(None)
    else:
        park.done.set_exception(error)


def _want(until: Until) -> str:
    return f"{until.field} {until.equals}"


def _timestamp(value: Any) -> float | None:
    """An API date (2024-05-01T10:00:00+0000, DateUtil's format) as epoch seconds."""
    if not isinstance(value, str):
        return None
    for shape in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, shape).timestamp()
        except ValueError:
            continue
    return None
