"""Use cases: validate, plan, apply, drift, export. Returns values; never prints.

Composes model/ (pure) with cloud/ (the adapter); cli.py picks the target and renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cstool.errors import ConfigInvalid, Problem
from cstool.model.loader import config_files, load
from cstool.model.resources import State
from cstool.model.validate import validate


@dataclass(frozen=True)
class Validated:
    state: State
    problems: tuple[Problem, ...]
    files: int

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]


def check_config(paths: Sequence[str | Path]) -> Validated:
    """Load and validate; schema problems first stop the network rules of that file only."""
    state, problems = load(paths)
    problems = [*problems, *validate(state)]
    files = len(config_files(paths)[0])
    return Validated(state, tuple(sorted(set(problems), key=Problem.sort_key)), files)


def desired_state(paths: Sequence[str | Path]) -> Validated:
    """The desired State, or ConfigInvalid with every problem."""
    checked = check_config(paths)
    if checked.errors:
        raise ConfigInvalid(checked.problems)
    return checked
