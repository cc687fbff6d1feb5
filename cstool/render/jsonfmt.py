"""JSON for machines: a stable, documented schema (see docs/json.md)."""

from __future__ import annotations

import json
from typing import Any

from cstool.model.plan import Plan, _jsonable
from cstool.model.resources import Key
from cstool.render.rows import DRIFT_WORDS, Drift, field_values


def plan(p: Plan, target: str, color: bool = False) -> str:
    return json.dumps(dict(p.to_dict(), target=target), indent=2, sort_keys=True) + "\n"


DRIFT_FORMAT = 1  # fields are only added within a format version (docs/json.md)


def drift_dict(d: Drift, target: str) -> dict[str, Any]:
    """The drift report for machines: the same items as the text, with the run's header
    (format, when, how long, which cstool and CloudStack, which zones) and CloudStack ids."""

    def where(res: Any) -> str | None:
        return str(res.origin) if res is not None and res.origin else None

    def item(what: str, key: Key) -> dict[str, Any]:
        return {
            "resource": key.to_str(),
            "kind": key.kind,
            "path": list(key.path),
            "zone": key.zone,
            "drift": DRIFT_WORDS[what],
        }

    info = d.info
    return {
        "format": DRIFT_FORMAT,
        "target": target,
        "generated_at": info.generated_at if info else None,
        "duration": info.duration if info else None,
        "cstool_version": info.cstool_version if info else None,
        "cloudstack_version": info.cloudstack_version if info else None,
        "zones": _drift_zones(d),
        "in_sync": d.in_sync,
        "summary": d.counts(),
        "changed": [
            dict(
                item("changed", c.key),
                id=c.live.uuid if c.live is not None else None,
                origin=where(c.desired),
                fields={
                    k: {"cloud": _jsonable(o), "config": _jsonable(n)}
                    for k, (o, n) in c.fields.items()
                },
                field_changes=[
                    {"field": f, "cloud": _jsonable(before), "config": _jsonable(after)}
                    for name, (o, n) in c.fields.items()
                    for f, before, after in field_values(name, o, n)
                ],
            )
            for c in d.changed
        ],
        "missing": [dict(item("missing", r.key), origin=where(r)) for r in d.missing],
        "unmanaged": [dict(item("unmanaged", r.key), id=r.uuid) for r in d.unmanaged],
        # known objects the config's `ignore:` rules name: never drift (not in the summary)
        "ignored": [
            {
                "resource": r.key.to_str(),
                "kind": r.key.kind,
                "path": list(r.key.path),
                "zone": r.key.zone,
                "id": r.uuid,
            }
            for r in d.ignored
        ],
        # managed resources CloudStack reports unwell (Kind.health): not drift (not in the
        # summary, in_sync unchanged), nothing to apply
        "unhealthy": [
            {
                "resource": key.to_str(),
                "kind": key.kind,
                "path": list(key.path),
                "zone": key.zone,
                "state": said,
            }
            for key, said in d.unhealthy
        ],
    }


def _drift_zones(d: Drift) -> list[str]:
    """The zones compared: those of the config, in its order (and any other a drift item
    names), so that a report of an in-sync cloud still says what was checked."""
    names = [r.key.path[0] for r in d.desired.of_kind("zone")] if d.desired is not None else []
    items = [*(c.key for c in d.changed), *(r.key for r in d.missing + d.unmanaged)]
    names += sorted({k.zone for k in items if k.zone is not None} - set(names))
    return names


def drift(d: Drift, target: str, color: bool = False) -> str:
    return json.dumps(drift_dict(d, target), indent=2, sort_keys=True) + "\n"
