"""Simulator state: tables of API objects, deterministic ids, atomic persistence.

Objects are kept as the API returns them (CloudStack's own field names); keys starting with
an underscore are internal and never sent. Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

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
)


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

    # --- ids and rows -------------------------------------------------------------------

    def new_id(self) -> str:
        """A deterministic lower-case UUID (seed + counter), like CloudStack's uuids."""
        self.seq += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.seed}-{self.seq}"))

    def add(self, table: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("id", self.new_id())
        obj["_seq"] = self.seq
        self.tables[table][obj["id"]] = obj
        self.dirty = True
        return obj

    def get(self, table: str, oid: str | None) -> dict[str, Any] | None:
        return self.tables[table].get(oid or "")

    def remove(self, table: str, oid: str) -> None:
        self.tables[table].pop(oid, None)
        self.dirty = True

    def rows(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal every given value, in creation order."""
        out = [
            r for r in self.tables[table].values() if all(r.get(k) == v for k, v in match.items())
        ]
        return sorted(out, key=lambda r: r["_seq"])

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
    def load(cls, path: Path | None, seed: str = "cstool") -> Store:
        """The store saved at path, or a new one (seeded with CloudStack's defaults)."""
        store = cls(path, seed)
        if path is not None and path.exists() and path.stat().st_size:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"{path}: cannot read the simulator state ({exc})") from None
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"{path}: not a cstool simulator state file")
            store.seed, store.seq, store.jobs = data["seed"], data["seq"], data["jobs"]
            for table in TABLES:
                store.tables[table] = data["tables"].get(table, {})
        return store

    def save(self, force: bool = False) -> None:
        """Write atomically (temp file + rename): the file is never half-written.

        Writes are throttled to one per save_interval (a large cloud is megabytes of JSON);
        flush() writes whatever is pending.
        """
        if self.path is None or not self.dirty:
            return
        if not force and time.monotonic() - self._saved_at < self.save_interval:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sim-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(self.to_dict(), out, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
        self.dirty = False
        self._saved_at = time.monotonic()

    def flush(self) -> None:
        with self.lock:
            self.save(force=True)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock for one command and save what it changed."""
        with self.lock:
            yield self
            self.save()


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: internal keys dropped, null fields omitted."""
    return {k: v for k, v in obj.items() if not k.startswith("_") and v is not None}
