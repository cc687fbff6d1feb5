"""cstool against a simulator that answers as the CloudStack 4.22 server does.

Each test is one way the first release failed on a real cloud while passing on the old
simulator: management-range deletes, providers CloudStack creates itself, and the text
replace inside updatePodManagementNetworkIpRange.
"""

from __future__ import annotations

from pathlib import Path

from cstool import ops
from cstool.cloud.api import Api, sim_target
from cstool.model.diff import Action

ZONE = """\
zones:
  - name: z1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.0.0.53]
    physical_networks:
      - name: pn1
        vlan_ranges: [100-199]
        traffic:
          - {{type: Management}}
          - {{type: Guest}}
          - {{type: Public}}
        providers: {{VirtualRouter: enabled{providers}}}
    public_ranges:
      - {{vlan: 50, gateway: 203.0.113.1, netmask: 255.255.255.0,
         start: 203.0.113.10, end: 203.0.113.20}}
    pods:
      - name: p1
        gateway: 10.10.1.1
        netmask: 255.255.255.0
        management_ranges:
{ranges}
"""


def _config(tmp_path: Path, ranges: list[str], providers: str = "") -> Path:
    body = "\n".join(f"          - {r}" for r in ranges)
    path = tmp_path / "zone.yaml"
    path.write_text(ZONE.format(ranges=body, providers=providers))
    return path


def _apply(api: Api, config: Path, prune: bool = False) -> list[str]:
    desired = ops.desired_state([config]).state
    plan, live = ops.plan(api, desired, prune)
    report = ops.apply(api, plan, live, parallelism=1)
    assert report.ok, [(r.step.key, r.error) for r in report.failed]
    again, _ = ops.plan(api, desired, prune)
    assert again.empty, [(s.title, str(s.key)) for s in again.steps]
    return [c.command for s in plan.steps for c in s.calls]


def _pod_ranges(api: Api) -> list[tuple[str, str, str]]:
    (pod,) = api.list("listPods")
    return [(r["startip"], r["endip"], r["vlanid"]) for r in pod["ipranges"]]


def test_management_range_delete_sends_the_vlan_uri(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    first = "{start: 10.10.1.10, end: 10.10.1.30}"
    tagged = "{start: 10.10.1.40, end: 10.10.1.60, vlan: 11, for_system_vms: true}"
    _apply(api, _config(tmp_path, [first, tagged]))
    calls = _apply(api, _config(tmp_path, [first]), prune=True)
    assert "deleteManagementNetworkIpRange" in calls
    assert _pod_ranges(api) == [("10.10.1.10", "10.10.1.30", "vlan://untagged")]


def test_providers_createphysicalnetwork_adds_are_enabled_not_added(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    providers = ", ConfigDrive: enabled, Nsx: disabled, BaremetalPxeProvider: enabled"
    calls = _apply(api, _config(tmp_path, ["{start: 10.10.1.10, end: 10.10.1.30}"], providers))
    assert "addNetworkServiceProvider" not in calls  # each already exists: 530 on a real cloud


def test_management_range_change_that_the_text_replace_would_spread_is_a_replace(
    tmp_path: Path,
) -> None:
    """The old end 10.10.1.3 is a textual prefix of 10.10.1.35: updatePodManagementNetwork
    IpRange would rewrite the other range too, so cstool deletes and creates the range."""
    api = Api(sim_target(tmp_path / "sim.json"))
    other = "{start: 10.10.1.35, end: 10.10.1.40}"
    _apply(api, _config(tmp_path, [other, "{start: 10.10.1.2, end: 10.10.1.3}"]))
    edited = _config(tmp_path, [other, "{start: 10.10.1.2, end: 10.10.1.12}"])
    plan, _ = ops.plan(api, ops.desired_state([edited]).state)
    steps = [s for s in plan.steps if s.key.kind == "management_range"]
    assert {s.action for s in steps} == {Action.REPLACE}
    assert "updatePodManagementNetworkIpRange" not in [c.command for s in steps for c in s.calls]
    _apply(api, edited)
    assert sorted(_pod_ranges(api)) == [
        ("10.10.1.2", "10.10.1.12", "vlan://untagged"),
        ("10.10.1.35", "10.10.1.40", "vlan://untagged"),
    ]


def test_the_simulator_spreads_the_text_replace_as_the_server_does(tmp_path: Path) -> None:
    """The danger cstool avoids is real in the simulator (ConfigurationManagerImpl
    .updatePodIpRange), so the test above would fail if cstool sent the update."""
    api = Api(sim_target(tmp_path / "sim.json"))
    other = "{start: 10.10.1.35, end: 10.10.1.40}"
    _apply(api, _config(tmp_path, [other, "{start: 10.10.1.2, end: 10.10.1.3}"]))
    (pod,) = api.list("listPods")
    api.call(
        "updatePodManagementNetworkIpRange",
        podid=pod["id"],
        currentstartip="10.10.1.2",
        currentendip="10.10.1.3",
        newendip="10.10.1.12",
    )
    assert ("10.10.1.35", "10.10.1.40", "vlan://untagged") not in _pod_ranges(api)


def test_a_safe_management_range_change_stays_an_update(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    other = "{start: 10.10.1.40, end: 10.10.1.50}"
    _apply(api, _config(tmp_path, [other, "{start: 10.10.1.10, end: 10.10.1.20}"]))
    edited = _config(tmp_path, [other, "{start: 10.10.1.10, end: 10.10.1.22}"])
    plan, _ = ops.plan(api, ops.desired_state([edited]).state)
    (step,) = [s for s in plan.steps if s.key.kind == "management_range"]
    assert step.action is Action.UPDATE
    assert [c.command for c in step.calls] == ["updatePodManagementNetworkIpRange"]
    _apply(api, edited)
