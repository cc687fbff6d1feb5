"""The 7 real Marvin configs, whole zones (clusters, hosts, primary and secondary storage):
import -> validate -> apply to an empty simulator -> drift clean -> export -> the export plans
nothing -> a second apply does nothing. The host passwords come from the environment variable
the import names; their value never shows in any output.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from tests.conftest import realdata

runner = CliRunner()
MARVIN = sorted((realdata() / "zone-configs").glob("*.cfg"))
INFRA_WORDS = ("cluster", "host", "storage", "store", "vmwaredc")


def _sim(state: Path) -> list[str]:
    return ["--sim", "--sim-state", str(state)]


@pytest.mark.parametrize("cfg", MARVIN, ids=lambda p: p.stem)
def test_a_real_marvin_zone_applies_drifts_clean_and_round_trips(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"host-{uuid.uuid4().hex}"  # made at run time: any hit below is a leak
    monkeypatch.setenv("CSTOOL_HOST_PASSWORD", password)
    out = tmp_path / f"{cfg.stem}.yaml"
    imported = runner.invoke(app, ["import-marvin", str(cfg), "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    warnings = [w for w in imported.output.splitlines() if w.startswith(f"{cfg}: warning: ")]
    assert not [w for w in warnings if any(word in w.lower() for word in INFRA_WORDS)]
    assert ops.check_config([out]).errors == []

    sim = _sim(tmp_path / "sim.json")
    outputs = []
    applied = runner.invoke(app, ["apply", str(out), *sim, "--yes"])
    outputs.append(applied.output)
    assert applied.exit_code == 0, applied.output
    assert "create host" in applied.output and "create image store" in applied.output

    drift = runner.invoke(app, ["drift", str(out), *sim])
    outputs.append(drift.output)
    assert drift.exit_code == 0, drift.output

    exported = runner.invoke(app, ["export", *sim])
    outputs.append(exported.output)
    assert exported.exit_code == 0, exported.output
    export = tmp_path / "export.yaml"
    export.write_text(exported.output)
    assert ops.check_config([export]).errors == []
    assert "clusters:" in exported.output and "hosts:" in exported.output
    plan = runner.invoke(app, ["plan", str(export), *sim])
    outputs.append(plan.output)
    assert plan.exit_code == 0, plan.output  # 0: no changes (3 would be changes)

    again = runner.invoke(app, ["plan", str(out), *sim])
    outputs.append(again.output)
    assert again.exit_code == 0, again.output  # a second apply has nothing to do
    second = runner.invoke(app, ["apply", str(out), *sim, "--yes"])
    outputs.append(second.output)
    assert second.exit_code == 0 and "create" not in second.output, second.output

    for text in (*outputs, out.read_text(), (tmp_path / "sim.json").read_text()):
        assert password not in text
