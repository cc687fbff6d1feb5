"""A config names its cloud; a saved plan records its cloud and refuses another one; a
tampered plan is reported as tampered."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.cloud.identity import host_of
from tests.conftest import CONFIGS

runner = CliRunner()
BASIC = CONFIGS / "basic"
SIM_HOST = "simulator.cstool.invalid:80"


def _sim(state: Path, ident: str | None) -> None:
    """A simulated cloud whose custom.cs.identifier is `ident`."""
    api = Api(sim_target(state))
    if ident is not None:
        api.call("updateConfiguration", name="custom.cs.identifier", value=ident)
    api.target.simulator.store.flush()


def _named(tmp_path: Path, cloud: str) -> Path:
    config = tmp_path / "config"
    config.mkdir(parents=True)
    (config / "basic.yaml").write_text((BASIC / "basic.yaml").read_text())
    (config / "cloud.yaml").write_text(f"cloud: {cloud}\n")
    return config


def test_a_config_for_another_cloud_is_refused_with_both_named(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _sim(state, "a1b2")
    config = _named(tmp_path, "{name: prod-eu, id: ffff}")
    args = [str(config), "--sim", "--sim-state", str(state)]
    for command in (["plan"], ["apply", "--yes"]):
        result = runner.invoke(app, [*command, *args])
        assert result.exit_code == 1, result.output
        assert "prod-eu" in result.output and "simulator" in result.output
        assert "ffff" in result.output and "a1b2" in result.output
        assert "--allow-other-cloud" in result.output
    assert runner.invoke(app, ["plan", *args, "--allow-other-cloud"]).exit_code == 3


def test_a_config_for_this_cloud_runs(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _sim(state, "a1b2")
    endpoint = "http://simulator.cstool.invalid/client/api"
    config = _named(tmp_path, f"{{name: lab, id: a1b2, endpoint: '{endpoint}'}}")
    result = runner.invoke(app, ["plan", str(config), "--sim", "--sim-state", str(state)])
    assert result.exit_code == 3, result.output


def test_the_endpoint_is_compared_by_host_and_port(tmp_path: Path) -> None:
    assert host_of("https://Cloud.Example/client/api") == "cloud.example:443"
    assert host_of("http://u:p@cloud.example:8080/client/api") == "cloud.example:8080"
    state = tmp_path / "s.json"
    _sim(state, None)
    config = _named(tmp_path, "{name: prod, endpoint: 'https://cloud.example/client/api'}")
    result = runner.invoke(app, ["plan", str(config), "--sim", "--sim-state", str(state)])
    assert result.exit_code == 1 and "cloud.example:443" in result.output
    assert SIM_HOST in result.output


def test_a_cloud_entry_without_endpoint_or_id_is_invalid(tmp_path: Path) -> None:
    config = _named(tmp_path, "{name: prod}")
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 1 and "cloud needs 'endpoint' or 'id'" in result.output
    leaked = _named(tmp_path / "x", "{name: p, endpoint: 'https://u:pw@h/client/api'}")
    assert runner.invoke(app, ["validate", str(leaked)]).exit_code == 1


def _saved(tmp_path: Path, state: Path) -> Path:
    out = tmp_path / "plan.json"
    args = ["plan", str(BASIC), "--sim", "--sim-state", str(state), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 3
    return out


def test_a_saved_plan_records_its_target_and_cloud(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _sim(state, "a1b2")
    saved = json.loads(_saved(tmp_path, state).read_text())
    assert saved["cloud"] == {
        "endpoint": "http://simulator.cstool.invalid/client/api",
        "host": SIM_HOST,
        "id": "a1b2",
    }
    assert saved["target"].startswith("simulator (") and saved["seal"]


def test_a_saved_plan_is_refused_by_another_cloud_in_the_same_state(tmp_path: Path) -> None:
    made_for, other = tmp_path / "a.json", tmp_path / "b.json"
    _sim(made_for, "a1b2")
    _sim(other, "c3d4")  # the same (empty) state: the plan's checksum would match
    plan = _saved(tmp_path, made_for)
    result = runner.invoke(app, ["apply", str(plan), "--sim", "--sim-state", str(other), "--yes"])
    assert result.exit_code == 1
    assert "made for another cloud" in result.output and "a1b2" in result.output
    assert "c3d4" in result.output and "changed since" not in result.output
    good = runner.invoke(app, ["apply", str(plan), "--sim", "--sim-state", str(made_for), "--yes"])
    assert good.exit_code == 0, good.output


def test_a_tampered_plan_is_reported_as_tampered(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    _sim(state, None)
    path = _saved(tmp_path, state)
    edits = {
        "a step's parameter": lambda d: d["steps"][1]["calls"][0]["params"].update(name="evil"),
        "the target cloud": lambda d: d["cloud"].update(host="other:443"),
        "the desired state": lambda d: d["desired"].pop(),
    }
    original = path.read_text()
    for what, edit in edits.items():
        data = json.loads(original)
        edit(data)
        path.write_text(json.dumps(data))
        args = ["apply", str(path), "--sim", "--sim-state", str(state), "--yes"]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, what
        assert "modified after it was saved" in result.output, what
        assert "cloud changed" not in result.output, what
    unsealed = json.loads(original)
    del unsealed["seal"]
    path.write_text(json.dumps(unsealed))
    result = runner.invoke(app, ["apply", str(path), "--sim", "--sim-state", str(state)])
    assert result.exit_code == 1 and "no seal" in result.output
