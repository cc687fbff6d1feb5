"""`--zone NAME`: a plan, apply or drift limited to some of the config's zones.

What a zone filter keeps: the zones named, everything under them (physical networks, traffic
types, providers, pods, ranges) and their zone-scoped settings. Global settings are
cloud-wide, in no zone: a run limited to zones leaves them alone (they are planned and
reported only when no --zone is given). The filter is applied to the desired and the live
state alike, so the rest of the cloud is neither changed, pruned nor reported as unmanaged.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from cstool.errors import CstoolError, ExitCode
from cstool.model.resources import State


class ZoneError(CstoolError):
    """A --zone the config does not define, or one a saved plan was not made for: a usage
    error (exit 2), like a mistyped option."""

    exit_code = ExitCode.USAGE


def config_zones(desired: State) -> list[str]:
    """The names of the zones a config defines (`absent: true` ones included), sorted."""
    return sorted(r.key.path[0] for r in desired.of_kind("zone"))


def check_zones(zones: Sequence[str], desired: State) -> None:
    """Refuse a --zone the config does not define, naming the zones it does."""
    known = config_zones(desired)
    unknown = [z for z in dict.fromkeys(zones) if z not in known]
    if unknown:
        raise ZoneError(
            f"--zone {', '.join(unknown)}: the config has no zone of that name "
            f"(its zones: {', '.join(known) or 'none'})"
        )


def only_zones(state: State, zones: Collection[str]) -> State:
    """The part of `state` inside these zones (global settings left out); all of it when no
    zone is named. The cloud a config names and the duplicates of a live state go along (the
    duplicates only where they lie inside the zones)."""
    if not zones:
        return state
    kept = state.like({k: r for k, r in state.items() if k.zone is not None and k.zone in zones})
    kept.duplicates = {
        k: ids for k, ids in state.duplicates.items() if k.zone is not None and k.zone in zones
    }
    return kept


def saved_zones(saved: Mapping[str, Any], asked: Sequence[str]) -> list[str]:
    """The zones a saved plan was limited to (`plan --zone ... --out`); --zone given with
    it must name the same zones (the plan applies exactly what was reviewed)."""
    zones = [str(z) for z in saved.get("zones") or ()]
    if asked and sorted(set(asked)) != sorted(zones):
        raise ZoneError(
            f"--zone {', '.join(asked)}: the saved plan was made for "
            + (f"--zone {', '.join(zones)}" if zones else "every zone of its config")
            + "; it applies exactly that",
            hint="leave out --zone, or plan again with the zones to apply",
        )
    return zones
