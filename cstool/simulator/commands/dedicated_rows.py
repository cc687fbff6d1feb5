"""The rows of explicit dedication (DedicatedResourceVO) as the deletes of the dedicated
resources see them: a small module below every command module, so deleteZone, deletePod,
deleteCluster and deleteHost can drop a dedication without importing the dedication commands.

Short names: CM ConfigurationManagerImpl, RM ResourceManagerImpl, DR
DedicatedResourceManagerImpl (plugins/dedicated-resources). Never imports cstool.model or
cstool.cloud.
"""

from __future__ import annotations

from typing import Any

from cstool.simulator.store import Store


def drop_row(store: Store, row: dict[str, Any]) -> None:
    """Remove a dedication; its group goes with the group's last dedication (DR:960-970,
    CM:2850-2860)."""
    store.remove("dedicated", row["id"])
    if not store.rows("dedicated", affinitygroupid=row["affinitygroupid"]):
        store.remove("affinitygroup", row["affinitygroupid"])


def find_row(store: Store, kind: str, resource: str | None) -> dict[str, Any] | None:
    """DedicatedResourceDao.findByZoneId / findByPodId / findByClusterId / findByHostId."""
    if resource is None:
        return None
    return next(iter(store.rows("dedicated", _kind=kind, _resource=resource)), None)


def drop_dedication(store: Store, kind: str, resource: str) -> None:
    """deleteZone (CM:2850-2860) removes the zone's dedication and its emptied group;
    deletePod (CM:1883-1886), deleteCluster (ResourceManagerImpl:1125-1128) and deleteHost
    (ResourceManagerImpl:1235-1238) remove the row only and leave the group behind."""
    row = find_row(store, kind, resource)
    if row is None:
        return
    if kind == "zone":
        drop_row(store, row)
    else:
        store.remove("dedicated", row["id"])
