"""`cstool drift --accept`: the cloud's values written into the YAML in place, with the
comments, key order and quoting kept; the edits are atomic and all-or-nothing."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.model import accept
from tests.conftest import CONFIGS

runner = CliRunner()
LAB = CONFIGS / "lab" / "lab.yaml"


@pytest.fixture(scope="module")
def brought_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab brought up once; each test works on a copy of the simulator's state."""
    state = tmp_path_factory.mktemp("lab") / "sim.json"
    api = Api(sim_target(state))
    plan, live = ops.plan(api, ops.desired_state([LAB]).state)
    assert ops.apply(api, plan, live).ok
    api.target.simulator.store.flush()
    return state


@pytest.fixture
def lab(brought_up: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(the simulator state, a copy of configs/lab/lab.yaml) for one test."""
    state = tmp_path / "sim.json"
    shutil.copy(brought_up, state)
    config = tmp_path / "lab" / "lab.yaml"
    config.parent.mkdir()
    shutil.copy(LAB, config)
    return state, config


def _api(state: Path) -> Api:
    return Api(sim_target(state))


def _ids(api: Api, config: Path) -> dict[str, Any]:
    live = ops.read_for(api, ops.desired_state([config]).state)
    return {k.to_str(): r.uuid for k, r in live.items()}


def _flush(api: Api) -> None:
    assert api.target.simulator is not None
    api.target.simulator.store.flush()


def _drift(state: Path, config: Path, *more: str) -> Any:
    args = ["drift", str(config.parent), "--sim", "--sim-state", str(state), *more]
    return runner.invoke(app, args)


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_one_field_of_drift_is_a_one_line_diff(lab: tuple[Path, Path]) -> None:
    state, config = lab
    api = _api(state)
    ids = _ids(api, config)
    api.call("updateTrafficType", id=ids["traffic_type:lab1/trunk/Guest"], kvmnetworklabel="br7")
    _flush(api)
    before = config.read_text()
    assert _drift(state, config).exit_code == 3
    done = _drift(state, config, "--accept")
    assert done.exit_code == 0, done.output
    after = config.read_text()
    assert _changed_lines(before, after) == [
        "-            labels: {kvm: cloudbr1, vmware: vSwitch1}",
        "+            labels: {kvm: br7, vmware: vSwitch1}",
    ]
    assert after.count("#") == before.count("#")  # every comment kept
    assert "traffic type lab1/trunk/Guest: labels.kvm br7 (was cloudbr1)" in done.output
    assert "no drift is left" in done.output
    assert _drift(state, config).exit_code == 0


def test_a_pod_range_end_keeps_the_line_comment_and_quoting(lab: tuple[Path, Path]) -> None:
    state, config = lab
    text = config.read_text().replace("vlan_ranges: [", "# a comment\n        vlan_ranges: [")
    config.write_text(text)
    api = _api(state)
    ids = _ids(api, config)
    pod = ids["pod:lab1/pod1"]
    api.call("updatePodManagementNetworkIpRange", podid=pod, currentstartip="10.10.1.10",
             currentendip="10.10.1.30", newendip="10.10.1.35")  # fmt: skip
    _flush(api)
    done = _drift(state, config, "--accept", "management_range", "lab1/pod1/10.10.1.10")
    assert done.exit_code == 0, done.output
    after = config.read_text()
    assert _changed_lines(text, after) == [
        "-          - {start: 10.10.1.10, end: 10.10.1.30}",
        "+          - {start: 10.10.1.10, end: 10.10.1.35}",
    ]
    assert '["500-899", "1000-1099"]' in after and "# a comment" in after


def test_deleted_added_and_changed_outside_cstool_all_accepted(lab: tuple[Path, Path]) -> None:
    state, config = lab
    api = _api(state)
    ids = _ids(api, config)
    api.call("updateVlanIpRange", id=ids["public_range:lab1/203.0.113.10"], endip="203.0.113.90")
    for r in api.list("listStorageNetworkIpRange", podid=ids["pod:lab1/pod2"]):
        api.call("deleteStorageNetworkIpRange", id=r["id"])
    api.call("deletePod", id=ids["pod:lab1/pod2"])
    api.call("createVlanIpRange", zoneid=ids["zone:lab1"], vlan=100, gateway="203.0.113.1",
             netmask="255.255.255.0", startip="203.0.113.220", endip="203.0.113.230",
             forvirtualnetwork=True)  # fmt: skip
    api.call("createPod", zoneid=ids["zone:lab1"], name="pod3", gateway="10.10.3.1",
             netmask="255.255.255.0", startip="10.10.3.10", endip="10.10.3.20")  # fmt: skip
    _flush(api)
    before = config.read_text()
    done = _drift(state, config, "--accept")
    assert done.exit_code == 0, done.output
    after = config.read_text()
    assert "name: pod2" not in after and "10.20.2.10" not in after
    assert "end: 203.0.113.90}" in after
    # appended in the style of its siblings: one flow line, keys in their order
    assert "      - {vlan: 100, gateway: 203.0.113.1, netmask: 255.255.255.0, start: " in after
    assert "start: 203.0.113.220, end: 203.0.113.230}" in after
    assert "      - name: pod3\n" in after and "{start: 10.10.3.10, end: 10.10.3.20}" in after
    assert after.count("#") == before.count("#")
    assert "pod lab1/pod2: removed (deleted outside cstool)" in done.output
    assert "pod lab1/pod3: added (added outside cstool)" in done.output
    assert _drift(state, config).exit_code == 0


def test_accept_only_what_is_named(lab: tuple[Path, Path]) -> None:
    state, config = lab
    api = _api(state)
    ids = _ids(api, config)
    api.call("updateVlanIpRange", id=ids["public_range:lab1/203.0.113.10"], endip="203.0.113.90")
    api.call("updateTrafficType", id=ids["traffic_type:lab1/trunk/Guest"], kvmnetworklabel="br7")
    _flush(api)
    done = _drift(state, config, "--accept", "lab1/203.0.113.10")
    assert done.exit_code == 3, done.output  # the label is still drift
    assert "1 drift item(s) not accepted remain" in done.output
    after = config.read_text()
    assert "end: 203.0.113.90}" in after and "kvm: cloudbr1" in after
    typo = _drift(state, config, "--accept", "pod", "lab1/nopod")
    assert typo.exit_code == 1 and "no drift matches it" in typo.output
    assert "traffic_type lab1/trunk/Guest" in typo.output  # what there is to accept
    assert config.read_text() == after


def test_nothing_is_written_when_one_item_cannot_be_placed(lab: tuple[Path, Path]) -> None:
    state, config = lab
    text = config.read_text()
    zones = text.index("zones:")
    (config.parent / "settings.yaml").write_text(text[:zones])
    config.write_text(text[zones:])
    other = config.parent / "zone2.yaml"
    other.write_text("zones: []\n")  # two files hold zones: a new zone has no obvious place
    api = _api(state)
    ids = _ids(api, config)
    api.call("updateVlanIpRange", id=ids["public_range:lab1/203.0.113.10"], endip="203.0.113.90")
    api.call("createZone", name="lab9", networktype="Advanced", dns1="192.0.2.1",
             internaldns1="10.0.0.1")  # fmt: skip
    _flush(api)
    done = _drift(state, config, "--accept")
    assert done.exit_code == 1
    assert "nothing was written" in done.output and "zone lab9" in done.output
    assert "several files hold zones" in done.output
    assert config.read_text() == text[zones:] and other.read_text() == "zones: []\n"
    named = _drift(state, config, "--accept", "lab1")
    assert named.exit_code == 3, named.output  # the new zone is left
    assert "end: 203.0.113.90}" in config.read_text()


def test_an_absent_entry_whose_object_exists_is_described() -> None:
    from cstool.model.loader import load_text
    from cstool.model.resources import State

    desired, _ = load_text(LAB.read_text(), "lab.yaml")
    live = State(dict(desired))
    text = LAB.read_text().replace(
        "- {vlan: 101, gateway: 198.51.100.1, netmask: 255.255.255.0, start: 198.51.100.10, "
        "end: 198.51.100.50}",
        "- {start: 198.51.100.10, absent: true}   # to go",
    )
    wanted, _ = load_text(text, "lab.yaml")
    found = ops.drift_of(wanted, live)
    chosen = accept.items(found.changed, found.missing, found.unmanaged)
    assert [str(i) for i in chosen] == ["public range lab1/198.51.100.10"]
    result = accept.accept(chosen, {"lab.yaml": text}, wanted, live)
    # the entry as the cloud has it, in its siblings' key order; the comment stays (one
    # space before it: the line is now longer than the column it was at)
    assert result.texts["lab.yaml"] == LAB.read_text().replace(
        "end: 198.51.100.50}", "end: 198.51.100.50} # to go"
    )


def test_selectors() -> None:
    words = ["pod", "lab1/pod1", "traffic_type:lab1/trunk/guest", "lab1"]
    pod, rng, path = accept.parse_selectors(words)
    from cstool.model.resources import Key

    assert pod.matches(Key("pod", ("lab1", "pod1")))
    assert not pod.matches(Key("pod", ("lab1", "pod2")))
    assert rng.matches(Key("traffic_type", ("lab1", "trunk", "Guest")))  # read as a type
    assert path.matches(Key("storage_range", ("lab1", "pod2", "10.20.2.10")))
    assert not path.matches(Key("zone", ("lab2",)))
    with pytest.raises(accept.AcceptError):
        accept.parse_selectors(["pod"])


def test_an_unusual_indentation_is_kept_outside_the_edit() -> None:
    from cstool.model.loader import load_text
    from cstool.model.resources import State

    text = (
        "zones:\n"
        "- name: z1   # zone\n"
        "  network_type: Advanced\n"
        "  dns: [192.0.2.1]\n"
        "  internal_dns: [10.0.0.1]\n"
        "  public_ranges:\n"
        "      -   {gateway: 203.0.113.1, netmask: 24, start: 203.0.113.10, end: 203.0.113.20}\n"
        "  pods:\n"
        "  - name: p1\n"
        "    gateway: 10.0.1.1\n"
        "    netmask: 255.255.255.0\n"
    )
    desired, problems = load_text(text, "z.yaml")
    assert not [p for p in problems if not p.warning]
    live = State(dict(desired))
    from dataclasses import replace

    from cstool.model.resources import Key

    pod = live[Key("pod", ("z1", "p1"))]
    live.add(replace(pod, values={**pod.values, "gateway": "10.0.1.254"}))
    found = ops.drift_of(desired, live)
    chosen = accept.items(found.changed, found.missing, found.unmanaged)
    result = accept.accept(chosen, {"z.yaml": text}, desired, live)
    assert _changed_lines(text, result.texts["z.yaml"]) == [
        "-    gateway: 10.0.1.1",
        "+    gateway: 10.0.1.254",
    ]


def test_write_all_is_all_or_nothing(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("a: 1\n")
    two.write_text("b: 2\n")
    one.chmod(0o640)
    accept.write_all({one: "a: 10\n", two: "b: 20\n"})
    assert (one.read_text(), two.read_text()) == ("a: 10\n", "b: 20\n")
    assert one.stat().st_mode & 0o777 == 0o640
    with pytest.raises(accept.AcceptError, match="nothing was written"):
        accept.write_all({one: "a: 100\n", tmp_path / "missing" / "x.yaml": "c: 3\n"})
    assert one.read_text() == "a: 10\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.yaml", "two.yaml"]


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("a: 1\n")
    two.write_text("b: 2\n")
    read = {one: "a: 1\n", two: "b: 2\n"}
    two.write_text("b: 2  # an edit made meanwhile\n")
    with pytest.raises(accept.AcceptError, match=r"two.yaml changed since it was read"):
        accept.write_all({one: "a: 10\n", two: "b: 20\n"}, read=read)
    assert (one.read_text(), two.read_text()) == ("a: 1\n", "b: 2  # an edit made meanwhile\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.yaml", "two.yaml"]


def test_two_paths_to_one_file_are_refused(tmp_path: Path) -> None:
    real = tmp_path / "zone.yaml"
    real.write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(real)
    with pytest.raises(accept.AcceptError, match="two config paths name the same file"):
        accept.write_all({real: "a: 2\n", tmp_path / "link.yaml": "a: 3\n"})
    assert real.read_text() == "a: 1\n"
