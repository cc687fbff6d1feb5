"""import-marvin of Advanced zones with security groups: deployDataCenter's shared network
(tools/marvin/marvin/deployDataCenter.py:804-834) comes out as the zone's guest_networks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cstool.errors import Problem
from cstool.model import marvin
from cstool.model.diff import present
from cstool.model.loader import load_text
from cstool.model.validate import validate
from tests.conftest import realdata

MARVIN = sorted((realdata() / "zone-configs").glob("*.cfg"))
SG = realdata() / "zone-configs" / "advancedsg.cfg"


def _source(path: Path = SG) -> dict[str, Any]:
    return marvin.parse(path.read_text(), path.name)


def _errors(config: dict[str, Any]) -> list[str]:
    state, problems = load_text(yaml.safe_dump(config, sort_keys=False), "c.yaml")
    found = sorted(set(problems + validate(present(state))), key=Problem.sort_key)
    return [str(p) for p in found if not p.warning]


def test_the_real_sg_config_gets_its_shared_network_without_a_warning() -> None:
    source = _source()
    converted = marvin.convert(source, SG.name)
    assert not [w for w in converted.warnings if "ip range" in w or "shared" in w]
    last = source["zones"][0]["ipranges"][-1]
    assert converted.config["zones"][0]["guest_networks"] == [
        {
            "name": "Shared SG enabled network",
            "vlan": int(last["vlan"]),
            "gateway": last["gateway"],
            "netmask": last["netmask"],
            "start": last["startip"],
            "end": last["endip"],
        }
    ]
    assert "public_ranges" not in converted.config["zones"][0]


@pytest.mark.parametrize("cfg", MARVIN, ids=lambda p: p.stem)
def test_every_real_config_converts_to_a_valid_config(cfg: Path) -> None:
    converted = marvin.convert(_source(cfg), cfg.name)
    assert _errors(converted.config) == []


def test_only_the_last_ip_range_is_used_and_the_others_are_named() -> None:
    source = _source()
    zone = source["zones"][0]
    first = {**zone["ipranges"][0], "startip": "10.147.30.150", "endip": "10.147.30.159"}
    zone["ipranges"].insert(0, first)
    converted = marvin.convert(source, SG.name)
    net = converted.config["zones"][0]["guest_networks"][0]
    assert net["start"] == zone["ipranges"][-1]["startip"]
    assert [w for w in converted.warnings if "uses only the last ipranges entry" in w] == [
        "zone Sandbox-Simulator: skipped ip range 10.147.30.150-10.147.30.159: deployDataCenter "
        "uses only the last ipranges entry of a zone with security groups"
    ]


def test_the_offering_name_account_and_pod_guest_ranges() -> None:
    source = copy.deepcopy(_source())
    zone = source["zones"][0]
    zone["networkofferingname"] = "MySharedOffering"
    zone["ipranges"][-1].update(account="acct", domainid="1")
    zone["pods"][0]["guestIpRanges"] = [
        {
            "startip": "10.147.31.200",
            "endip": "10.147.31.210",
            "gateway": "10.147.31.1",
            "netmask": "255.255.255.0",
        }
    ]
    converted = marvin.convert(source, SG.name)
    out = converted.config["zones"][0]
    assert out["guest_networks"][0]["offering"] == "MySharedOffering"
    assert "guest_ranges" not in out["pods"][0]
    text = "\n".join(converted.warnings)
    assert "skipped account of ip range 10.147.31.150" in text
    assert "skipped domainid of ip range 10.147.31.150" in text
    assert "pod Sandbox-Simulator/POD0: skipped 1 guestIpRanges" in text
    assert "networkofferingname" not in text  # read, not skipped


def test_an_untagged_ip_range_makes_an_untagged_network() -> None:
    source = _source()
    source["zones"][0]["ipranges"][-1].pop("vlan")
    converted = marvin.convert(source, SG.name)
    assert converted.config["zones"][0]["guest_networks"][0]["vlan"] == "untagged"
