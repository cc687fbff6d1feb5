"""JSON for machines: a stable, documented schema (see docs/json.md)."""

from __future__ import annotations

import json
from typing import Any

from cstool.model.plan import Plan, _jsonable
from cstool.render.rows import Drift


def plan(p: Plan, target: str, color: bool = False) -> str:
    return json.dumps(dict(p.to_dict(), target=target), indent=2, sort_keys=True) + "\n"


def drift_dict(d: Drift, target: str) -> dict[str, Any]:
    def where(res: Any) -> str | None:
        return str(res.origin) if res is not None and res.origin else None

    return {
        "target": target,
        "in_sync": d.in_sync,
        "summary": d.counts(),
        "changed": [
            {
                "resource": c.key.to_str(),
                "kind": c.key.kind,
                "path": list(c.key.path),
                "origin": where(c.desired),
                "fields": {
                    k: {"cloud": _jsonable(o), "config": _jsonable(n)}
                    for k, (o, n) in c.fields.items()
                },
            }
            for c in d.changed
        ],
        "missing": [
            {
                "resource": r.key.to_str(),
                "kind": r.key.kind,
                "path": list(r.key.path),
                "origin": where(r),
            }
            for r in d.missing
        ],
        "unmanaged": [
            {"resource": r.key.to_str(), "kind": r.key.kind, "path": list(r.key.path)}
            for r in d.unmanaged
        ],
    }


def drift(d: Drift, target: str, color: bool = False) -> str:
    return json.dumps(drift_dict(d, target), indent=2, sort_keys=True) + "\n"
