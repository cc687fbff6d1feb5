"""The README's quick start works as written, and the simulator keeps state across runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cstool.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    install_run, install_test = (b.strip() for b in _blocks()[:2])
    assert "\n" not in install_run and "\n" not in install_test
    assert "pip install ." in install_run and "--sim" in install_run
    assert install_test in (ROOT / ".ci" / "run").read_text()


def test_readme_quick_start_runs_on_the_simulator(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    commands = [c.strip() for c in _blocks()[0].split("&&") if "/cstool " in c]
    assert len(commands) == 2
    for command in commands:
        args = shlex.split(command)[1:]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert "In sync" in result.output


def test_simulator_state_survives_between_processes(tmp_path: Path) -> None:
    state = str(tmp_path / "sim.json")

    def cstool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cstool", *args, "--sim", "--sim-state", state],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    assert cstool("apply", "configs/basic", "--yes").returncode == 0
    drift = cstool("drift", "configs/basic")
    assert drift.returncode == 0, drift.stdout + drift.stderr
