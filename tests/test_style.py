"""The code base keeps its own rules: ruff clean and formatted, and only cli.py prints."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PATHS = ["cstool", "tests", "bench"]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_cli_prints() -> None:
    printing = re.compile(r"^\s*print\(|typer\.echo|console\.print|sys\.std(out|err)\.write", re.M)
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "cstool").rglob("*.py")
        if p.name != "cli.py" and printing.search(p.read_text())
    ]
    assert offenders == []
