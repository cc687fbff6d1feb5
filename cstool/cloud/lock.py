"""A lock on the cloud for the run of an apply, held by CloudStack itself, so that two
operators on two machines exclude each other.

The marker is a zone detail, `cstool.lock`, on every zone of the cloud (and on each zone the
run creates, as soon as it exists). Why a zone detail (docs/targets.md has the options
weighed):

- updateZone takes `details[i].key/value` on every version cstool supports, with an admin
  key, and is in the API description cstool checks against (api-spec.json). The server
  merges them into the zone's details and keeps the others
  (ConfigurationManagerImpl.editZone: loadDetails, putAll, then DataCenterDaoImpl.update ->
  saveDetails), so nothing else of the zone changes.
- listZones shows them to every admin as `resourcedetails` (DataCenterJoinDaoImpl
  .newDataCenterResponse -> ApiDBUtils.getResourceDetails): operators see who holds the lock
  in the UI, cmk or `cs listZones`.
- createTags and addAnnotation would do as well but are not in api-spec.json; a global
  setting cannot be created by the API, and reusing one would change what it configures.

The server has no compare-and-set for details, so taking the lock is "write, wait, read
back": a run writes its run id with an expiry, waits `settle` seconds (longer than another
run's read-to-write gap), reads all zones again and holds the lock only if every marker is
still its own; otherwise the last writer won and the others give up. A holder re-reads the
markers while it runs (check) and renews them before they expire; a run that finds it lost
the lock stops launching steps. A marker past its expiry (a run that crashed) is taken over.
Details cannot be deleted through the API, so releasing writes a `released` marker.
"""

from __future__ import annotations

import getpass
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cstool.cloud.api import Api
from cstool.errors import CstoolError

KEY = "cstool.lock"
TTL = 1800.0  # seconds a marker is valid without renewal (a crashed run blocks this long)
SETTLE = 2.0  # seconds between writing the markers and reading them back
CHECK_EVERY = 60.0  # seconds between two checks (and renewals) while applying
_HELD = re.compile(
    r"^held by (?P<who>\S+) run (?P<run>\w+) since (?P<since>\S+) until (?P<until>\S+)$"
)


class LockHeld(CstoolError):
    """Another run holds (or just took) the lock."""


@dataclass(frozen=True)
class Marker:
    """One zone's `cstool.lock` detail."""

    who: str
    run: str
    since: datetime
    until: datetime

    def text(self) -> str:
        return (
            f"held by {self.who} run {self.run} since {_iso(self.since)} until {_iso(self.until)}"
        )

    @classmethod
    def parse(cls, value: Any) -> Marker | None:
        """The marker a detail holds, or None when it is free (released, empty, unknown)."""
        found = _HELD.match(str(value or "").strip())
        if found is None:
            return None
        try:
            since = datetime.fromisoformat(found["since"])
            until = datetime.fromisoformat(found["until"])
        except ValueError:
            return None
        return cls(found["who"], found["run"], since, until)

    def describe(self) -> str:
        return f"{self.who} (run {self.run}, since {_iso(self.since)}, until {_iso(self.until)})"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whoami() -> str:
    """user@host of this run: who to ask when the lock is held (not a secret)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = "unknown"
    return re.sub(r"\s", "_", f"{user}@{socket.gethostname()}")


@dataclass
class CloudLock:
    """The lock of one run on every zone of the cloud (see the module docstring)."""

    api: Api
    settle: float = SETTLE
    ttl: float = TTL
    check_every: float = CHECK_EVERY
    who: str = field(default_factory=whoami)
    run: str = field(default_factory=lambda: secrets.token_hex(8))
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    zones: dict[str, str] = field(default_factory=dict)  # id -> name, the zones held
    problems: list[str] = field(default_factory=list)  # what releasing could not do
    _marker: Marker | None = None
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- taking and giving back -----------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock on every zone, or raise LockHeld naming the holder."""
        self.claim(self.survey())
        self.confirm()

    def survey(self) -> dict[str, Mapping[str, Any]]:
        """The zones, read; LockHeld when another live run marks one."""
        zones = self._zones()
        self._refuse_held(zones, before=True)
        return zones

    def claim(self, zones: Mapping[str, Mapping[str, Any]]) -> None:
        """Write this run's marker on every zone, then wait `settle` seconds for the writes
        of a run that read the zones free at the same time."""
        self._marker = self._new_marker()
        for zone_id in zones:
            self._write(zone_id, self._marker.text())
        self.zones = {z: str(row.get("name")) for z, row in zones.items()}
        if zones and self.settle > 0:
            self.sleep(self.settle)

    def confirm(self) -> None:
        """Read back: hold the lock only if every marker is still this run's."""
        try:
            self._verify()
        except LockHeld:
            self.release()  # where the marker is still ours: the other run won
            raise
        self._checked = time.monotonic()

    def release(self) -> list[str]:
        """Write `released` on every zone still marked by this run; the problems, if any
        (a release that fails leaves a marker that expires by itself)."""
        problems: list[str] = []
        if self._marker is None:
            return problems
        try:
            zones = self._zones()
        except CstoolError as exc:
            return [f"could not read the zones to release the lock: {exc}"]
        released = f"released by {self.who} run {self.run} at {_iso(self.now())}"
        for zone_id in self.zones:
            row = zones.get(zone_id)
            if row is None:
                continue  # deleted by this run
            marker = Marker.parse(_detail(row))
            if marker is None or marker.run != self.run:
                continue  # not ours (any more)
            try:
                self._write(zone_id, released)
            except CstoolError as exc:
                problems.append(f"zone {self.zones[zone_id]}: {exc}")
        self._marker = None
        return problems

    def adopt(self, zone_id: str, name: str) -> None:
        """Mark a zone this run created (it did not exist when the lock was taken)."""
        if self._marker is None:
            return
        self._write(zone_id, self._marker.text())
        with self._lock:
            self.zones[zone_id] = name
            self._checked = 0.0  # read it back at the next check

    # --- while applying ---------------------------------------------------------------------

    def check(self) -> str | None:
        """Called between steps: at most every check_every seconds, read the markers back
        (renewing them when half their time is gone). A reason to stop if the lock was lost."""
        if self._marker is None or time.monotonic() - self._checked < self.check_every:
            return None
        try:
            if self._marker.until - self.now() < timedelta(seconds=self.ttl / 2):
                self._marker = self._new_marker()
                for zone_id in list(self.zones):
                    self._write(zone_id, self._marker.text())
            self._verify()
        except LockHeld as exc:
            return str(exc)
        except CstoolError as exc:
            return f"could not check the lock on the cloud: {exc}"
        finally:
            self._checked = time.monotonic()
        return None

    # --- helpers ----------------------------------------------------------------------------

    def _new_marker(self) -> Marker:
        now = self.now()
        return Marker(self.who, self.run, now, now + timedelta(seconds=self.ttl))

    def _zones(self) -> dict[str, Mapping[str, Any]]:
        return {str(z["id"]): z for z in self.api.list("listZones")}

    def _refuse_held(self, zones: Mapping[str, Mapping[str, Any]], before: bool) -> None:
        now = self.now()
        for row in zones.values():
            marker = Marker.parse(_detail(row))
            if marker is None or marker.run == self.run or marker.until <= now:
                continue  # free, ours, or expired (its run is gone)
            verb = "holds" if before else "took"
            raise LockHeld(
                f"another apply {verb} the lock on this cloud: {marker.describe()}, marked on "
                f"zone {row.get('name')}",
                hint="wait for it to finish and plan again; if that run is gone, the lock "
                f"expires at {_iso(marker.until)}, or release it by hand with `cmk update zone "
                f"id={row.get('id')} details[0].key={KEY} details[0].value=released`",
            )

    def _verify(self) -> None:
        """Every zone held still carries this run's marker (else another run wrote last)."""
        with self._lock:  # zones adopted while the listing runs are checked next time
            held = dict(self.zones)
        zones = self._zones()
        for zone_id, name in held.items():
            row = zones.get(zone_id)
            if row is None:
                continue  # deleted (by this run's plan)
            marker = Marker.parse(_detail(row))
            if marker is None or marker.run != self.run:
                self._refuse_held({zone_id: row}, before=False)
                raise LockHeld(f"the lock marker on zone {name} was removed by someone else")

    def _write(self, zone_id: str, value: str) -> None:
        self.api.call(
            "updateZone", id=zone_id, **{"details[0].key": KEY, "details[0].value": value}
        )


def _detail(row: Mapping[str, Any]) -> Any:
    details = row.get("resourcedetails") or {}
    return details.get(KEY) if isinstance(details, Mapping) else None
