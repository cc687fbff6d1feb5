"""export --split DIR: safe, unique file names, never a write outside DIR."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.model.export import safe_names

runner = CliRunner()
NAMES = ["../x", "/abs/x", "settings", "Settings", "a/b", "a_b", "ams1", "AMS1", "con", "..", ""]


def test_file_names_are_plain_unique_and_not_reserved() -> None:
    names = safe_names(NAMES)
    assert len(names) == len(NAMES)
    lowered = [n.lower() for n in names]
    assert len(set(lowered)) == len(lowered)  # unique even where case does not count
    for name in names:
        assert "/" not in name and "\\" not in name and ".." not in name
        assert name.endswith(".yaml") and not name.startswith(".")
        assert name.lower() not in ("settings.yaml", "con.yaml")
    assert safe_names(["ams1"]) == ["ams1.yaml"]  # a plain name stays as it is
    (long,) = safe_names(["z" * 300])
    assert len(long) < 100


def _cloud(state: Path, zones: list[str]) -> None:
    api = Api(sim_target(state))
    for name in zones:
        api.call(
            "createZone",
            name=name,
            dns1="8.8.8.8",
            internaldns1="10.0.0.1",
            networktype="Advanced",
            guestcidraddress="10.1.0.0/16",
        )
    api.call("updateConfiguration", name="check.pod.cidrs", value="false")
    api.target.simulator.store.flush()


def test_export_split_writes_every_zone_inside_dir_and_nothing_else(tmp_path: Path) -> None:
    zones = ["../x", "/abs/x", "settings", "a/b", "a_b", "lab"]
    state = tmp_path / "s.json"
    _cloud(state, zones)
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    outside.write_text("untouched\n")
    (out / "lab.yaml").symlink_to(outside)  # a planted link is replaced, never followed
    result = runner.invoke(app, ["export", "--sim", "--sim-state", str(state), "--split", str(out)])
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "untouched\n"
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["out"]
    assert not Path("/abs/x.yaml").exists()
    files = sorted(out.iterdir())
    assert all(not p.is_symlink() and p.parent == out for p in files)
    found = []
    for path in files:
        data = yaml.safe_load(path.read_text())
        found += [z["name"] for z in data.get("zones", [])]
        if path.name == "settings.yaml":
            assert data["settings"] == {"check.pod.cidrs": "false"} and "zones" not in data
    assert sorted(found) == sorted(zones)  # each zone once, none overwritten
