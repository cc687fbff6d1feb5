"""Simulator state: tables of API objects, deterministic ids, atomic persistence.

Objects are kept as the API returns them (CloudStack's own field names); keys starting with
an underscore are internal and never sent. A state file belongs to one process at a time
(a lock on a sidecar file), and what changes reaches the file within save_interval, written
by a background timer: requests never wait for the disk. Never imports cstool.model or
cstool.cloud.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cstool.errors import CstoolError

FORMAT = 1
_NAMESPACE = uuid.UUID("5f0c4a8e-7d1b-4c39-9b7e-2f6a1d3c8e90")
TABLES = (
    "zone",
    "pod",
    "physicalnetwork",
    "traffictype",
    "networkserviceprovider",
    "virtualrouterelement",
    "internalloadbalancerelement",
    "vlaniprange",
    "storagenetworkiprange",
    "network",
    "networkoffering",
    "zoneconfig",
    "globalconfig",
    # compute and storage: rows as the API returns them, internal keys start "_"
    "cluster",  # _guid, _dbid
    "host",  # _url, _username, _secret_digest, _up_at, _final_state, _maint_reads, _dbid
    "vmwaredc",
    "systemvm",
    "storagepool",  # _host, _path
    "imagestore",  # _role: Image or ImageCache
    "volume",  # poolid, vmid, state
    # tenancy and dedication; seeded rows carry _seq 0 and take no id from seq
    "domain",  # _dbid
    "account",  # _dbid
    "project",  # _dbid, _account (the id of its project account)
    "dedicated",  # _kind (zone/pod/cluster/host), _resource, domainid, accountid, affinitygroupid
    "affinitygroup",  # ExplicitDedication groups of dedications: domainid, accountid
    "guestvlanmap",  # _pn, _start, _end, _account, _dbid
    "ipv6prefix",  # zoneid, prefix, created (as listed)
)


LOCK_WAIT = 3.0  # seconds a second process waits for a state file before refusing it


class StateError(ValueError):
    """A state file that cannot be read as a simulator state."""


class StateBusy(CstoolError):
    """Another process has the state file: two simulators on one file lose each other's work."""

    hint = "stop the other process or wait for it to finish, or use another state file"


class StateUnsaved(CstoolError):
    """The state could not be written (a full disk, a read-only directory)."""


class _FileLock:
    """An exclusive flock on `<state>.lock`, shared by every Store of this process on the same
    file (flock, not POSIX lockf: closing another descriptor of the file, as reading the
    holder's pid does, would silently drop a lockf lock)."""

    _held: dict[Path, tuple[int, int]] = {}  # lock file -> (descriptor, users in this process)
    _guard = threading.Lock()

    @classmethod
    def acquire(cls, state: Path, wait: float) -> Path:
        path = state.resolve().with_name(state.name + ".lock")
        with cls._guard:
            if path in cls._held:
                fd, users = cls._held[path]
                cls._held[path] = (fd, users + 1)
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StateError(f"{state}: cannot lock the simulator state ({exc})") from None
            if not cls._wait_for(fd, wait):
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                os.close(fd)
                who = f"process {holder}" if holder.isdigit() else "another process"
                raise StateBusy(
                    f"{state}: the simulator state is in use by {who} "
                    f"(waited {wait:g} s for {path.name})"
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            cls._held[path] = (fd, 1)
            return path

    @staticmethod
    def _wait_for(fd: int, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    @classmethod
    def release(cls, path: Path) -> None:
        with cls._guard:
            fd, users = cls._held.pop(path, (-1, 0))
            if users > 1:
                cls._held[path] = (fd, users - 1)
            elif fd >= 0:
                os.close(fd)  # closing the last descriptor releases the flock


class Store:
    """All simulated objects; one lock serialises every command."""

    def __init__(
        self, path: Path | None = None, seed: str = "cstool", save_interval: float = 0.5
    ) -> None:
        self.path = path
        self.save_interval = save_interval  # write at most this often; flush() forces it
        self._saved_at = 0.0
        self.seed = seed
        self.seq = 0
        self.tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TABLES}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.dirty = False
        self._timer: threading.Timer | None = None
        self._write_lock = threading.Lock()  # one writer of the file at a time
        self._file_lock: Path | None = None
        self._closed = False  # after close() nothing is written: the file may be another's
        self.save_error: OSError | None = None  # the last background write's failure
        # not saved: how the running simulator behaves (Simulator(host_connect=)), and the
        # faults injected on the request being handled (transport._dispatch sets them)
        self.host_connect = 0.0
        self.call_faults: dict[str, str | None] = {}

    # --- ids and rows -------------------------------------------------------------------

    def new_id(self) -> str:
        """A deterministic lower-case UUID (seed + counter), like CloudStack's uuids."""
        self.seq += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.seed}-{self.seq}"))

    def add(self, table: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert (or replace) a row; tables stay in creation (_seq) order, so that rows()
        never sorts."""
        obj.setdefault("id", self.new_id())
        obj["_seq"] = self.seq
        rows = self.tables[table]
        rows.pop(obj["id"], None)  # a replaced row moves to the end, with its new _seq
        rows[obj["id"]] = obj
        self.dirty = True
        return obj

    def get(self, table: str, oid: str | None) -> dict[str, Any] | None:
        return self.tables[table].get(oid or "")

    def remove(self, table: str, oid: str) -> None:
        self.tables[table].pop(oid, None)
        self.dirty = True

    def rows(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal every given value, in creation order (a scan: called for
        every command, so kept to the plainest loop)."""
        rows = self.tables[table].values()
        if len(match) == 1:
            ((key, value),) = match.items()
            return [r for r in rows if r.get(key) == value]
        pairs = tuple(match.items())
        return [r for r in rows if all(r.get(k) == v for k, v in pairs)]

    def touch(self) -> None:
        self.dirty = True

    # --- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        jobs = dict(list(self.jobs.items())[-200:])  # enough to answer recent job queries
        return {
            "format": FORMAT,
            "seed": self.seed,
            "seq": self.seq,
            "tables": self.tables,
            "jobs": jobs,
        }

    @classmethod
    def load(cls, path: Path | None, seed: str = "cstool", lock_wait: float | None = None) -> Store:
        """The store saved at path, or a new one (seeded with CloudStack's defaults).

        The file is locked first (StateBusy if another process keeps it past `lock_wait`
        seconds, LOCK_WAIT by default); close() lets it go, and so does the process's end."""
        store = cls(path, seed)
        if path is None:
            return store
        store._file_lock = _FileLock.acquire(path, LOCK_WAIT if lock_wait is None else lock_wait)
        try:
            store._read(path)
        except BaseException:
            store.close()
            raise
        return store

    def _read(self, path: Path) -> None:
        """Fill the store from the file; StateError names the file and what is wrong."""
        if not path.exists() or (path.is_file() and not path.stat().st_size):
            return
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError) as exc:
            raise StateError(f"{path}: cannot read the simulator state ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError(f"{path}: not a cstool simulator state file")
        seed, seq, jobs, tables = (data.get(k) for k in ("seed", "seq", "jobs", "tables"))
        problem = _shape_problem(seed, seq, jobs, tables)
        if problem:
            raise StateError(f"{path}: a damaged simulator state file ({problem})")
        assert isinstance(seed, str) and isinstance(seq, int)
        assert isinstance(jobs, dict) and isinstance(tables, dict)
        self.seed, self.seq, self.jobs = seed, seq, jobs
        for table in TABLES:  # the file keeps rows by id; the store by creation
            rows = sorted(tables.get(table, {}).values(), key=lambda r: int(r["_seq"]))
            self.tables[table] = {r["id"]: r for r in rows}

    def save(self, force: bool = False) -> None:
        """Write now when force; otherwise the background timer writes it within
        save_interval (a large cloud is megabytes of JSON: at most one write per interval)."""
        if force:
            self.flush()
        else:
            self._schedule()

    def flush(self) -> None:
        """Write what is pending, atomically (temp file + rename): never half-written.

        The JSON is made under the store's lock (a consistent picture), the file written
        outside it: commands do not wait for the disk."""
        if self.path is None:
            return
        with self._write_lock:
            with self.lock:
                if not self.dirty or self._closed:
                    return
                text = json.dumps(self.to_dict(), sort_keys=True)  # C encoder; dump() is not
                self.dirty = False
            try:
                self._write(self.path, text)
            except BaseException:
                self.dirty = True
                raise
            self._saved_at = time.monotonic()
            self.save_error = None

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sim-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _schedule(self) -> None:
        """A write within save_interval from now, by a daemon timer, unless one is due."""
        with self.lock:
            if self.path is None or self._timer is not None or self._closed:
                return
            delay = max(0.0, self.save_interval - (time.monotonic() - self._saved_at))
            self._timer = threading.Timer(delay, self._deferred)
            self._timer.daemon = True
            self._timer.start()

    def _deferred(self) -> None:
        with self.lock:
            self._timer = None
        try:
            self.flush()
        except OSError as exc:  # still dirty: the next change, flush() or close() tries again
            self.save_error = exc

    def close(self) -> None:
        """Write what is pending and let the state file go to another process; StateUnsaved
        when the last write fails."""
        with self.lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        try:
            self.flush()
        except OSError as exc:
            raise StateUnsaved(f"{self.path}: cannot save the simulator state ({exc})") from None
        finally:
            with self.lock:
                self._closed = True
            if self._file_lock is not None:
                _FileLock.release(self._file_lock)
                self._file_lock = None

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock for one command; what it changed is written soon after."""
        with self.lock:
            yield self
        if self.dirty:
            self._schedule()


_JOB_KEYS = frozenset({"jobid", "completed", "_polls", "_result", "_failure"})  # transport._job


def _shape_problem(seed: Any, seq: Any, jobs: Any, tables: Any) -> str | None:
    """What is wrong with the top of a state file, or None: enough for the store's own code
    (ids, ordering by _seq) never to fail on a file someone edited by hand."""
    if not isinstance(seed, str):
        return "'seed' is not a string"
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "'seq' is not a counter"
    if not isinstance(jobs, dict) or not all(
        isinstance(j, dict) and isinstance(j.get("_polls"), int) and _JOB_KEYS <= j.keys()
        for j in jobs.values()
    ):
        return "'jobs' is not a mapping of jobs"
    if not isinstance(tables, dict):
        return "'tables' is not a mapping"
    for name in TABLES:
        rows = tables.get(name, {})
        if not isinstance(rows, dict):
            return f"table {name!r} is not a mapping"
        for oid, row in rows.items():
            if not isinstance(row, dict) or row.get("id") != oid:
                return f"row {oid!r} of table {name!r} is not an object with that id"
            if not isinstance(row.get("_seq"), int):
                return f"row {oid!r} of table {name!r} has no '_seq' counter"
    return None


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: internal keys dropped, null fields omitted."""
    return {k: v for k, v in obj.items() if not k.startswith("_") and v is not None}
