"""Put back what a stopped apply took out of service for a while.

A plan may disable a zone (or a pod, or a physical network) for some of its steps and
enable it again later: a zone is disabled to add a physical network to it
(plan.Disruption with an end). When the apply fails or is interrupted in between, the
resource would stay out of service with nobody told. Before apply returns, each one is read
back and enabled again if it is still disabled; what cannot be enabled is reported with the
exact command that does it by hand.

Only the temporary disables of the plan are put back: a resource the config itself
disables (`enabled: false`) stays as the config says.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cstool.cloud.api import Api
from cstool.cloud.applier import ApplyReport, Event, Status, StepResult
from cstool.model.kinds import KINDS, noun
from cstool.model.plan import Disruption, Plan, Step
from cstool.model.resources import Key


class Outcome(StrEnum):
    RESTORED = "restored"  # it was disabled, it is enabled again
    IN_SERVICE = "in service"  # read back enabled: nothing to do
    FAILED = "failed"  # still out of service (or unknown): `command` puts it back


@dataclass(frozen=True)
class Restore:
    key: Key
    outcome: Outcome
    command: str  # what an operator runs to put it back by hand (CloudMonkey)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


class Watch:
    """The step results the applier reports, passed on to `on_event`: when an interrupt
    escapes the applier, they still make a report (and tell what to put back)."""

    def __init__(self, steps: Sequence[Step], on_event: Event | None = None) -> None:
        self.steps = steps
        self.on_event = on_event
        self.seen: dict[int, StepResult] = {}
        self._lock = threading.Lock()

    def event(self, kind: str, result: StepResult) -> None:
        with self._lock:
            self.seen[result.index] = result
        if self.on_event is not None:
            self.on_event(kind, result)

    def report(self) -> ApplyReport:
        """An interrupted report of what was seen; steps never seen were not started."""
        with self._lock:
            results = [self.seen.get(i) or StepResult(i, s) for i, s in enumerate(self.steps)]
        return ApplyReport(results, interrupted=True)


def pending(plan: Plan, results: Sequence[StepResult]) -> list[Disruption]:
    """The temporary disables of the plan that were sent (done, failed or with an unknown
    outcome: a lost reply may hide a disable that happened) and whose enable was not done."""
    status = {r.index: r.status for r in results}
    out = []
    for d in plan.disruptions():
        if d.end is None or not plan.steps[d.start].disabling:
            continue
        if status.get(d.start, Status.NOT_STARTED) is Status.NOT_STARTED:
            continue  # never sent: still in service
        if status.get(d.end) is Status.DONE:
            continue  # the plan put it back itself
        out.append(d)
    return out


def restore(
    api: Api,
    plan: Plan,
    results: Sequence[StepResult],
    resolve: Callable[[Key], str],
    announce: Callable[[Key, str], None] | None = None,
) -> list[Restore]:
    """Enable again what the stopped plan left disabled; never raises. `announce` hears of
    each attempt first, with the command that does it by hand (should the program be killed
    meanwhile). A second interrupt stops the restore: what is left is reported as failed."""
    out: list[Restore] = []
    interrupted = False
    for d in pending(plan, results):
        if interrupted:
            out.append(Restore(d.key, Outcome.FAILED, manual(d.key), "interrupted again"))
            continue
        uuid: str | None = None
        try:
            uuid = resolve(d.key)
            if announce is not None:
                announce(d.key, manual(d.key, uuid))
            out.append(_enable(api, d.key, uuid))
        except KeyboardInterrupt:
            interrupted = True
            out.append(Restore(d.key, Outcome.FAILED, manual(d.key, uuid), "interrupted"))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none raised
            error = str(exc) or type(exc).__name__
            out.append(Restore(d.key, Outcome.FAILED, manual(d.key, uuid), error))
    return out


def _enable(api: Api, key: Key, uuid: str) -> Restore:
    kind = KINDS[key.kind]
    field = kind.field_map["enabled"]
    if _read_enabled(api, key, uuid) is True:
        return Restore(key, Outcome.IN_SERVICE, manual(key, uuid))
    api.call(kind.update or "", id=uuid, **field.params(True))
    return Restore(key, Outcome.RESTORED, manual(key, uuid))


def _read_enabled(api: Api, key: Key, uuid: str) -> bool | None:
    """Whether the resource is enabled now; None when it cannot be read (then it is enabled
    anyway: sending Enabled to an enabled resource changes nothing)."""
    kind = KINDS[key.kind]
    try:
        items = api.list(kind.read.command, id=uuid, **dict(kind.read.params))
    except Exception:  # noqa: BLE001 - a failed read only means "not known"
        return None
    item: Mapping[str, Any] | None = next((i for i in items if str(i.get("id")) == uuid), None)
    return None if item is None else bool(kind.field_map["enabled"].read(item))


def manual(key: Key, uuid: str | None = None) -> str:
    """The CloudMonkey command that enables the resource again (cmk: verb, then noun)."""
    kind = KINDS[key.kind]
    command = kind.update or ""
    verb, obj = re.match(r"([a-z]+)(.*)", command).groups()  # type: ignore[union-attr]
    params = {"id": uuid or f"<id of {noun(key.kind)} {'/'.join(key.path)}>"}
    params.update({k: str(v) for k, v in kind.field_map["enabled"].params(True).items()})
    return f"cmk {verb} {obj.lower()} " + " ".join(f"{k}={v}" for k, v in params.items())
