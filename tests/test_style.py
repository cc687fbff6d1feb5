"""The code base keeps its own rules: ruff clean and formatted, mypy --strict clean, and only
cli.py prints."""

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


def test_mypy_strict() -> None:
    """The package type-checks with mypy --strict (tests and benches are not checked)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "cstool"],
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


def test_every_third_party_import_of_cstool_is_a_runtime_dependency() -> None:
    import ast
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    provided_by = {"yaml": "pyyaml", "pydantic_core": "pydantic", "ruamel": "ruamel.yaml"}
    imported = set()
    for path in (ROOT / "cstool").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"cstool"}
    missing = {m for m in third_party if provided_by.get(m, m).lower() not in declared}
    assert missing == set()
