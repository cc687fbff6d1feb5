"""Order of plan steps and the dependencies between them, following CloudStack's bring-up.

Global settings first; then deletes child-first; then creates and updates parent-first by
phase (zone, physical network, traffic types, providers, pods, ranges, zone enabled last).
A step waits for the previous phase of its own zone only, so zones proceed independently;
steps of one parent within a phase run one after another. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Orderable(Protocol):
    key: Any
    phase: int
    stage: int  # 0 settings, 1 deletes, 2 creates and updates
    order: int


def sort_key(step: Orderable) -> tuple[Any, ...]:
    phase = -step.phase if step.stage == 1 else step.phase
    return (step.stage, phase, step.key.zone or "", step.key.path[:-1], step.order, step.key.path)


def dependencies(steps: Sequence[Orderable]) -> dict[int, set[int]]:
    """step index -> indexes it waits for. Steps must be sorted by sort_key already."""
    deps: dict[int, set[int]] = {i: set() for i in range(len(steps))}
    global_steps: list[int] = []
    groups: dict[str, list[tuple[tuple[int, int], list[int]]]] = {}
    last_of_parent: dict[tuple[Any, ...], int] = {}
    for i, step in enumerate(steps):
        zone = step.key.zone
        if zone is None:
            global_steps.append(i)
            continue
        zone_groups = groups.setdefault(zone, [])
        group = (step.stage, step.phase)
        if not zone_groups or zone_groups[-1][0] != group:
            before = zone_groups[-1][1] if zone_groups else global_steps
            zone_groups.append((group, []))
            last_of_parent = {k: v for k, v in last_of_parent.items() if k[0] != zone}
        else:
            before = zone_groups[-2][1] if len(zone_groups) > 1 else global_steps
        deps[i].update(before)
        parent = (zone, step.key.path[:-1])
        if parent in last_of_parent:
            deps[i].add(last_of_parent[parent])
        last_of_parent[parent] = i
        zone_groups[-1][1].append(i)
    return deps
