"""Offline validation: every rule fails on its bad case and passes on the good configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cstool import ops
from cstool.errors import Origin, Problem
from cstool.model.validate import Span, overlaps
from tests.conftest import CONFIGS, DATA, EXAMPLES

INVALID = DATA / "configs" / "invalid"
VALID = DATA / "configs" / "valid"
CASES = sorted(p.name[: -len(".errors")] for p in INVALID.glob("*.errors"))


def _problems_in(base: Path, name: str) -> list[str]:
    here = os.getcwd()
    os.chdir(base)
    try:
        target = name if (base / name).is_dir() else f"{name}.yaml"
        return [str(p) for p in ops.check_config([target]).problems]
    finally:
        os.chdir(here)


@pytest.mark.parametrize("case", CASES)
def test_invalid_config_reports_the_expected_lines(case: str) -> None:
    expected = (INVALID / f"{case}.errors").read_text().splitlines()
    assert _problems_in(INVALID, case) == expected
    assert any("warning" not in line for line in expected), "a bad case must have an error"


@pytest.mark.parametrize("case", sorted(p.stem for p in VALID.glob("*.yaml")))
def test_valid_edge_case_has_no_error(case: str) -> None:
    problems = _problems_in(VALID, case)
    assert [p for p in problems if ": warning: " not in p] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_config_is_valid(example: Path) -> None:
    assert ops.check_config([example]).errors == []


def test_all_examples_together_form_a_valid_region() -> None:
    checked = ops.check_config([CONFIGS])
    assert checked.errors == []
    assert {r.key.path[0] for r in checked.state.of_kind("zone")} == {
        "lab1",
        "basic1",
        "fra1",
        "fra2",
        "compute1",
        "sg1",
        "adv1",
    }


def test_every_invalid_case_has_its_expected_file() -> None:
    stems = {p.stem for p in INVALID.glob("*.yaml")} | {
        p.name for p in INVALID.iterdir() if p.is_dir()
    }
    assert stems == set(CASES)


def test_empty_file_is_a_warning_and_empty_directory_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    (tmp_path / "none").mkdir()
    checked = ops.check_config([tmp_path / "empty.yaml", tmp_path / "none"])
    assert [p.message for p in checked.warnings] == ["file is empty"]
    assert [p.message for p in checked.errors] == [
        f"{tmp_path / 'none'}: no .yaml or .yml files in this directory"
    ]


def test_same_setting_with_the_same_value_in_two_files_is_not_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("settings: {check.pod.cidrs: true}\n")
    (tmp_path / "b.yaml").write_text("settings: {check.pod.cidrs: 'true'}\n")
    (tmp_path / "c.yaml").write_text("settings: {check.pod.cidrs: false}\n")
    errors = ops.check_config([tmp_path]).errors
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'c.yaml'}:1:12: setting 'check.pod.cidrs' is defined twice "
        f"(also at {tmp_path / 'a.yaml'}:1:12)"
    ]


def test_overlap_detection_sorts_instead_of_comparing_every_pair() -> None:
    spans = [Span(i * 10, i * 10 + 5, None) for i in range(10_000)]  # type: ignore[arg-type]
    spans.append(Span(12, 13, None))  # type: ignore[arg-type]
    found = list(overlaps(spans))
    assert [(a.lo, b.lo) for a, b in found] == [(10, 12)]


def test_problem_prints_compiler_style() -> None:
    assert str(Problem(Origin("a.yaml", 3, 5), "bad")) == "a.yaml:3:5: bad"
    assert str(Problem(None, "odd", warning=True)) == "<config>: warning: odd"
