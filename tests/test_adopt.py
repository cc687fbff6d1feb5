"""Adopting existing clouds: export round trips, Marvin configs convert, apply and converge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.errors import CstoolError
from cstool.model import marvin
from tests.conftest import CONFIGS, EXAMPLES

runner = CliRunner()


def _sim(state: Path) -> list[str]:
    return ["--sim", "--sim-state", str(state)]


def _round_trip(config: Path, tmp_path: Path) -> None:
    """apply to an empty simulator, export, then validate and plan the export."""
    sim = _sim(tmp_path / "sim.json")
    applied = runner.invoke(app, ["apply", str(config), *sim, "--yes"])
    assert applied.exit_code == 0, applied.output
    exported = runner.invoke(app, ["export", *sim])
    assert exported.exit_code == 0, exported.output
    out = tmp_path / "export.yaml"
    out.write_text(exported.output)
    checked = ops.check_config([out])
    assert checked.errors == [], checked.errors
    plan = runner.invoke(app, ["plan", str(out), *sim])
    assert plan.exit_code == 0, plan.output
    split = tmp_path / "split"
    assert runner.invoke(app, ["export", *sim, "--split", str(split)]).exit_code == 0
    zones = {z.key.path[0] for z in checked.state.of_kind("zone")}
    assert {p.stem for p in split.glob("*.yaml")} - {"settings"} == zones
    assert runner.invoke(app, ["plan", str(split), *sim]).exit_code == 0


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_export_of_an_applied_example_plans_no_changes(example: Path, tmp_path: Path) -> None:
    _round_trip(example, tmp_path)


def test_export_writes_values_as_a_person_would(tmp_path: Path) -> None:
    sim = _sim(tmp_path / "sim.json")
    runner.invoke(app, ["apply", str(CONFIGS / "lab"), *sim, "--yes"])
    doc = yaml.safe_load(runner.invoke(app, ["export", *sim, "--zone", "lab1"]).output)
    zone = doc["zones"][0]
    trunk = next(p for p in zone["physical_networks"] if p["name"] == "trunk")
    assert trunk["vlan_ranges"] == ["500-899", "1000-1099"]
    assert {t["type"]: t["labels"] for t in trunk["traffic"]}["Guest"] == {
        "kvm": "cloudbr1",
        "vmware": "vSwitch1",
    }
    first = next(r for r in zone["public_ranges"] if r["start"] == "203.0.113.10")
    assert first["vlan"] == 100  # not vlan://100
    pod1 = zone["pods"][0]
    assert pod1["management_ranges"][0] == {"start": "10.10.1.10", "end": "10.10.1.30"}
    assert pod1["management_ranges"][1]["vlan"] == 11
    assert doc["settings"] == {"expunge.delay": "60"}  # only what differs from the default
    assert zone["settings"] == {"network.throttling.rate": "1000"}
    missing = runner.invoke(app, ["export", *sim, "--zone", "nope"])
    assert missing.exit_code == 1 and "no zone named nope" in missing.output


# The 7 real Marvin configs, whole zones with clusters, hosts and storage, round trip in
# tests/test_marvin_roundtrip.py; what their conversion holds is in tests/test_marvin_infra.py.


def test_marvin_conversion_details() -> None:
    data = {
        "zones": [
            {
                "name": "z",
                "networktype": "advanced",
                "dns1": "8.8.8.8",
                "internaldns1": "8.8.4.4",
                "localstorageenabled": "True",
                "securitygroupenabled": "false",
                "unknownthing": 1,
                "physical_networks": [
                    {
                        "name": "pn",
                        "broadcastdomainrange": "Zone",
                        "vlan": "100-200,300-310",
                        "isolationmethods": ["VLAN", "GRE"],
                        "traffictypes": [
                            {"typ": "guest", "kvm": "cloudbr1", "simulator": "x"},
                            {"typ": "Management"},
                            {"typ": "Public"},
                        ],
                        "providers": [
                            {"name": "VirtualRouter"},
                            {"name": "Netscaler", "devices": [{"username": "u"}]},
                        ],
                    }
                ],
                "ipranges": [
                    {
                        "vlan": "untagged",
                        "gateway": "192.0.2.1",
                        "netmask": "255.255.255.0",
                        "startip": "192.0.2.10",
                        "endip": "192.0.2.20",
                    }
                ],
                "pods": [
                    {
                        "name": "p",
                        "gateway": "10.0.0.1",
                        "netmask": "255.255.255.0",
                        "startip": "10.0.0.10",
                        "endip": "10.0.0.20",
                    }
                ],
            }
        ],
        "globalConfig": [{"name": "check.pod.cidrs", "value": True}],
        "mgtSvr": [{}],
    }
    converted = marvin.convert(data)
    zone = converted.config["zones"][0]
    assert zone["network_type"] == "Advanced" and zone["local_storage"] is True
    assert zone["security_groups"] is False
    pn = zone["physical_networks"][0]
    assert pn["isolation"] == "VLAN" and pn["vlan_ranges"] == ["100-200", "300-310"]
    assert pn["traffic"][0] == {"type": "Guest", "labels": {"kvm": "cloudbr1"}}
    assert pn["providers"] == {"VirtualRouter": "enabled"}
    assert zone["public_ranges"] == [
        {
            "gateway": "192.0.2.1",
            "netmask": "255.255.255.0",
            "start": "192.0.2.10",
            "end": "192.0.2.20",
        }
    ]
    assert converted.config["settings"] == {"check.pod.cidrs": "true"}
    text = "\n".join(converted.warnings)
    for expected in (
        "skipped GRE",
        "skipped label 'simulator: x'",
        "skipped provider Netscaler and its 1 device(s)",
        "skipped key 'unknownthing'",
        "mgtSvr",
    ):
        assert expected in text


def test_marvin_config_with_a_real_problem_fails_validation_at_the_yaml_line(
    tmp_path: Path,
) -> None:
    """Two pods of one zone on the same subnet while check.pod.cidrs is true: CloudStack
    would refuse the second createPod, and validate says so before any API call."""
    pods = [
        {"name": n, "gateway": "10.0.0.1", "netmask": "255.255.255.0", "startip": s, "endip": e}
        for n, s, e in (("a", "10.0.0.10", "10.0.0.20"), ("b", "10.0.0.30", "10.0.0.40"))
    ]
    cfg = {
        "zones": [
            {
                "name": "z",
                "networktype": "Basic",
                "dns1": "8.8.8.8",
                "internaldns1": "8.8.4.4",
                "pods": pods,
                "physical_networks": [
                    {"name": "pn", "traffictypes": [{"typ": "Guest"}, {"typ": "Management"}]}
                ],
            }
        ]
    }
    path = tmp_path / "bad.cfg"
    path.write_text("# a Marvin config\n" + json.dumps(cfg))
    out = tmp_path / "bad.yaml"
    result = runner.invoke(app, ["import-marvin", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{out}:" in result.output and "subnet overlaps pod 'z/a'" in result.output


def test_not_a_marvin_config_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.cfg"
    path.write_text("# header\n{ not json")
    with pytest.raises(CstoolError, match=r"x.cfg:2:3: not a Marvin config"):
        marvin.parse(path.read_text(), "x.cfg")
    path.write_text("{}")
    assert runner.invoke(app, ["import-marvin", str(path)]).exit_code == 1
