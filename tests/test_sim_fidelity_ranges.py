"""The simulator's pods and IP ranges answer as the CloudStack 4.22 server does: code, placement
(an HTTP error or a failed async job) and the start of the text, including the server's own
quirks (ConfigurationManagerImpl and StorageNetworkManagerImpl at apache/cloudstack@3d6cafe1936e).
"""

from __future__ import annotations

from typing import Any

import pytest

from cstool.simulator.transport import Simulator, signature

MASK = "255.255.255.0"


def _signed(params: dict[str, str]) -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, "secret")}


class Answer:
    """How one call ended: `sync` (the HTTP answer itself) or `job` (the async job's end)."""

    def __init__(self, where: str, code: int, text: str, body: dict[str, Any]) -> None:
        self.where, self.code, self.text, self.body = where, code, text, body

    def __repr__(self) -> str:
        return f"Answer({self.where}, {self.code}, {self.text!r})"


def call(sim: Simulator, command: str, **params: Any) -> Answer:
    sent = {k: str(v) for k, v in params.items()}
    reply = sim.handle(_signed({"command": command, **sent}))
    body = reply.body[f"{command.lower()}response"]
    if reply.status != 200 or "jobid" not in body:
        return Answer("sync", reply.status, body.get("errortext", ""), body)
    query = _signed({"command": "queryAsyncJobResult", "jobid": body["jobid"]})
    job = sim.handle(query).body["queryasyncjobresultresponse"]
    assert job["jobstatus"] in (1, 2), job
    if job["jobstatus"] == 2:
        assert job["jobresultcode"] == job["jobresult"]["errorcode"]
        return Answer("job", job["jobresultcode"], job["jobresult"]["errortext"], job)
    return Answer("job", 200, "", job["jobresult"])


def ok(answer: Answer) -> dict[str, Any]:
    assert answer.code == 200, answer
    return answer.body


def refused(answer: Answer, where: str, code: int, text: str) -> None:
    assert (answer.where, answer.code) == (where, code), answer
    assert answer.text.startswith(text), answer


@pytest.fixture
def sim() -> Simulator:
    return Simulator(keys={"key": "secret"}, job_polls=0)


@pytest.fixture
def zone(sim: Simulator) -> dict[str, Any]:
    """An Advanced zone with one physical network carrying Management, Guest and Public."""
    made = ok(
        call(
            sim,
            "createZone",
            name="z1",
            networktype="Advanced",
            dns1="8.8.8.8",
            internaldns1="10.0.0.2",
        )
    )["zone"]
    pn = ok(
        call(
            sim,
            "createPhysicalNetwork",
            name="pn",
            zoneid=made["id"],
            isolationmethods="VLAN",
            vlan="100-200",
        )
    )["physicalnetwork"]
    for traffic in ("Management", "Guest", "Public"):
        ok(call(sim, "addTrafficType", physicalnetworkid=pn["id"], traffictype=traffic))
    return dict(made)


def _pod(
    sim: Simulator, zone: dict[str, Any], name: str = "p1", **ips: str | None
) -> dict[str, Any]:
    """A pod; an IP given as None is left out of the request."""
    params = {"startip": "10.10.1.20", "endip": "10.10.1.25", "gateway": "10.10.1.254", **ips}
    sent = {k: v for k, v in params.items() if v is not None}
    answer = call(sim, "createPod", name=name, zoneid=zone["id"], netmask=MASK, **sent)
    return dict(ok(answer)["pod"])


def _mgmt(sim: Simulator, pod: dict[str, Any], start: str, end: str, **extra: Any) -> Answer:
    return call(
        sim,
        "createManagementNetworkIpRange",
        podid=pod["id"],
        gateway=pod["gateway"],
        netmask=MASK,
        startip=start,
        endip=end,
        **extra,
    )


def _ranges(sim: Simulator, pod: dict[str, Any]) -> list[tuple[str, str]]:
    (listed,) = ok(call(sim, "listPods", id=pod["id"]))["pod"]
    return [(r["startip"], r["endip"]) for r in listed["ipranges"]]


# --- E3: createPod outside edge zones needs its first range -----------------------------


def test_create_pod_needs_start_gateway_and_netmask_checked_in_the_servers_order(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    z = zone["id"]
    refused(call(sim, "createPod", name="p", zoneid=z), "sync", 431, "The start IP is invalid")
    refused(  # the start IP is checked before the gateway and the netmask
        call(sim, "createPod", name="p", zoneid=z, gateway="10.1.1.1", netmask=MASK),
        "sync",
        431,
        "The start IP is invalid",
    )
    refused(
        call(sim, "createPod", name="p", zoneid=z, startip="10.1.1.5", endip="x", netmask=MASK),
        "sync",
        431,
        "The end IP is invalid",
    )
    refused(
        call(sim, "createPod", name="p", zoneid=z, startip="10.1.1.5", netmask=MASK),
        "sync",
        431,
        "The gateway is invalid",
    )
    refused(
        call(sim, "createPod", name="p", zoneid=z, startip="10.1.1.5", gateway="10.1.1.1"),
        "sync",
        431,
        "The netmask is invalid",
    )
    assert ok(call(sim, "listPods", zoneid=z)) == {}  # nothing was created
    pod = _pod(sim, zone, startip="10.1.1.5", endip=None, gateway="10.1.1.1")
    assert pod["ipranges"] == [  # endip defaults to the end of the pod's CIDR
        {
            "startip": "10.1.1.5",
            "endip": "10.1.1.254",
            "forsystemvms": "0",
            "vlanid": "vlan://untagged",
        }
    ]


def test_create_pod_duplicate_name_and_overlapping_cidr(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    _pod(sim, zone)
    refused(
        call(
            sim,
            "createPod",
            name="P1",  # names compare without case (MySQL collation)
            zoneid=zone["id"],
            startip="10.10.9.5",
            gateway="10.10.9.1",
            netmask=MASK,
        ),
        "sync",
        431,
        "A pod with name: P1 already exists in zone Zone {",
    )
    refused(
        call(
            sim,
            "createPod",
            name="p2",
            zoneid=zone["id"],
            startip="10.10.1.100",
            gateway="10.10.1.1",
            netmask="255.255.0.0",
        ),
        "sync",
        431,
        "The subnet of the pod you are adding conflicts with the subnet of pod p1 in zone z1",
    )


# --- E1: deleteManagementNetworkIpRange needs the vlan:// form --------------------------


@pytest.mark.parametrize("bare", ["untagged", "11"])
def test_delete_management_range_with_a_bare_vlan_fails_its_job_with_the_npe(
    sim: Simulator, zone: dict[str, Any], bare: str
) -> None:
    pod = _pod(sim, zone)
    ok(_mgmt(sim, pod, "10.10.1.40", "10.10.1.50", vlan="11"))
    start, end = (
        ("10.10.1.20", "10.10.1.25") if bare == "untagged" else ("10.10.1.40", "10.10.1.50")
    )
    answer = call(
        sim, "deleteManagementNetworkIpRange", podid=pod["id"], startip=start, endip=end, vlan=bare
    )
    refused(answer, "job", 530, 'Cannot invoke "String.equals(Object)" because "vlan" is null')
    assert _ranges(sim, pod) == [("10.10.1.20", "10.10.1.25"), ("10.10.1.40", "10.10.1.50")]


def test_delete_management_range_by_uri_and_its_refusals(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)
    ok(_mgmt(sim, pod, "10.10.1.40", "10.10.1.50", vlan="11"))
    ok(_mgmt(sim, pod, "10.10.1.60", "10.10.1.70"))
    delete = {"podid": pod["id"], "startip": "10.10.1.40", "endip": "10.10.1.50"}
    refused(  # a range that does not match start, end and vlan: never the NPE
        call(sim, "deleteManagementNetworkIpRange", **delete, vlan="vlan://12"),
        "job",
        530,
        "The input IP range: 10.10.1.40-10.10.1.50 of pod: HostPod {",
    )
    refused(  # a missing parameter is a synchronous 431, before any job
        call(sim, "deleteManagementNetworkIpRange", **delete),
        "sync",
        431,
        "Unable to execute API command deletemanagementnetworkiprange due to missing parameter",
    )
    ok(call(sim, "deleteManagementNetworkIpRange", **delete, vlan="vlan://11"))
    # deletePodIpRange writes the remaining ranges from the end of its array backwards
    assert _ranges(sim, pod) == [("10.10.1.60", "10.10.1.70"), ("10.10.1.20", "10.10.1.25")]


# --- E7: updatePodManagementNetworkIpRange rewrites the description by text ---------------


def test_update_management_range_rewrites_another_range_by_text(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)  # 10.10.1.20-10.10.1.25, gateway 10.10.1.254
    ok(_mgmt(sim, pod, "10.10.1.1", "10.10.1.2"))
    answer = call(
        sim,
        "updatePodManagementNetworkIpRange",
        podid=pod["id"],
        currentstartip="10.10.1.1",
        currentendip="10.10.1.2",
        newendip="10.10.1.3",
    )
    assert ok(answer) == {"success": True}
    # "10.10.1.2" is replaced everywhere: 10.10.1.20-10.10.1.25 became 10.10.1.30-10.10.1.35
    assert _ranges(sim, pod) == [("10.10.1.30", "10.10.1.35"), ("10.10.1.1", "10.10.1.3")]


def test_update_management_range_checks_overlaps_only_before_it_and_no_cidr(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)  # first: 10.10.1.20-10.10.1.25
    ok(_mgmt(sim, pod, "10.10.1.5", "10.10.1.9"))  # second
    update = {"podid": pod["id"]}
    refused(  # the second range against the first one, listed before it
        call(
            sim,
            "updatePodManagementNetworkIpRange",
            **update,
            currentstartip="10.10.1.5",
            currentendip="10.10.1.9",
            newendip="10.10.1.21",
        ),
        "job",
        530,
        "The Start and End IP address range: (10.10.1.5-10.10.1.21) overlap with the pod IP "
        "range: 10.10.1.20-10.10.1.25-0-untagged",
    )
    ok(  # the first range is not compared with the second one, listed after it
        call(
            sim,
            "updatePodManagementNetworkIpRange",
            **update,
            currentstartip="10.10.1.20",
            currentendip="10.10.1.25",
            newstartip="10.10.1.8",
        )
    )
    assert _ranges(sim, pod) == [("10.10.1.8", "10.10.1.25"), ("10.10.1.5", "10.10.1.9")]
    ok(  # no CIDR or gateway check on the new end: past the /24 and over the gateway
        call(
            sim,
            "updatePodManagementNetworkIpRange",
            **update,
            currentstartip="10.10.1.8",
            currentendip="10.10.1.25",
            newendip="10.10.2.7",
        )
    )
    assert _ranges(sim, pod)[0] == ("10.10.1.8", "10.10.2.7")


def test_update_management_range_refusals_and_their_placement(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)
    cur = {"podid": pod["id"], "currentstartip": "10.10.1.20", "currentendip": "10.10.1.25"}
    refused(  # thrown by the command before its try: runJob makes it a 431 job failure
        call(sim, "updatePodManagementNetworkIpRange", **cur),
        "job",
        431,
        "Either new starting IP address or new ending IP address must be specified",
    )
    refused(
        call(sim, "updatePodManagementNetworkIpRange", **cur, newendip="10.10.1.25"),
        "job",
        530,
        "New starting and ending IP address are the same as current",
    )
    refused(
        call(
            sim,
            "updatePodManagementNetworkIpRange",
            podid=pod["id"],
            currentstartip="10.10.1.40",
            currentendip="10.10.1.45",
            newendip="10.10.1.46",
        ),
        "job",
        530,
        "The input IP range: 10.10.1.40-10.10.1.45 of pod: ",
    )
    refused(  # NotNullOrEmpty is checked with the parameters: synchronous
        call(sim, "updatePodManagementNetworkIpRange", **cur, newendip=""),
        "sync",
        431,
        "Unable to execute API command updatepodmanagementnetworkiprange due to invalid value",
    )


def test_create_management_range_refusals_fail_the_job_with_431(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)
    refused(
        _mgmt(sim, pod, "10.10.1.22", "10.10.1.30"),
        "job",
        431,
        "The new range overlaps with existing range. Please add a mutually exclusive range.",
    )
    refused(
        call(
            sim,
            "createManagementNetworkIpRange",
            podid=pod["id"],
            gateway="10.10.1.1",
            netmask=MASK,
            startip="10.10.1.40",
        ),
        "job",
        431,
        "Multiple gateways for the POD: HostPod {",
    )
    refused(  # a CloudRuntimeException (not a parameter problem) is 530
        _mgmt(sim, pod, "10.10.1.40", "10.10.1.50", vlan="vlan:11"),
        "job",
        530,
        "Vlan parameter : vlan:11 is not in valid format",
    )
    made = ok(_mgmt(sim, pod, "10.10.1.40", "10.10.1.50", vlan="vlan://0", forsystemvms="true"))
    assert made["pod"]["vlanid"] == ["vlan://untagged", "vlan://0"]
    assert made["pod"]["forsystemvms"] == ["0", "1"]


# --- storage network ranges ----------------------------------------------------------------


def _storage(sim: Simulator, pod: dict[str, Any], start: str, end: str, **extra: Any) -> Answer:
    return call(
        sim,
        "createStorageNetworkIpRange",
        podid=pod["id"],
        gateway="10.20.1.1",
        netmask=MASK,
        startip=start,
        endip=end,
        **extra,
    )


def test_storage_range_refusals_are_530_job_failures(sim: Simulator, zone: dict[str, Any]) -> None:
    pod = _pod(sim, zone)
    refused(
        _storage(sim, pod, "10.10.1.21", "10.10.1.30"),
        "job",
        530,
        "The Storage network Start IP and endIP address range overlap with private IP "
        ":10.10.1.20:10.10.1.25",
    )
    refused(
        call(
            sim,
            "createStorageNetworkIpRange",
            podid=pod["id"],
            gateway="10.20.1.1",
            netmask="255.0.255.0",
            startip="10.20.1.5",
        ),
        "job",
        530,
        "Invalid netmask:255.0.255.0",
    )
    ok(_storage(sim, pod, "10.20.1.10", "10.20.1.20"))
    refused(
        _storage(sim, pod, "10.20.1.15", "10.20.1.30"),
        "job",
        530,
        "The Storage network Start IP and endIP address range overlap with private IP "
        ":10.20.1.10 - 10.20.1.20",
    )
    refused(  # an INTEGER parameter that does not parse is a synchronous 431
        _storage(sim, pod, "10.20.1.40", "10.20.1.50", vlan="x"),
        "sync",
        431,
        "Unable to execute API command createstoragenetworkiprange due to invalid value x",
    )


def test_storage_range_for_a_pod_without_management_range(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)
    ok(
        call(
            sim,
            "deleteManagementNetworkIpRange",
            podid=pod["id"],
            startip="10.10.1.20",
            endip="10.10.1.25",
            vlan="vlan://untagged",
        )
    )
    (listed,) = ok(call(sim, "listPods", id=pod["id"]))["pod"]
    assert listed["ipranges"] == [] and listed["startip"] == []  # empty lists, as Gson writes
    made = ok(_storage(sim, pod, "10.10.1.20", "10.10.1.25"))["storagenetworkiprange"]
    assert made["startip"] == "10.10.1.20"


def test_storage_range_vlan_can_be_set_never_cleared_and_update_overlaps_itself(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    pod = _pod(sim, zone)
    rng = ok(_storage(sim, pod, "10.20.1.10", "10.20.1.20"))["storagenetworkiprange"]
    assert "vlan" not in rng  # untagged: absent
    got = ok(call(sim, "updateStorageNetworkIpRange", id=rng["id"], vlan=30))
    assert got["storagenetworkiprange"]["vlan"] == 30
    got = ok(call(sim, "updateStorageNetworkIpRange", id=rng["id"], vlan=""))
    assert got["storagenetworkiprange"]["vlan"] == 30  # an empty vlan changes nothing
    # the range is compared with every storage range of the pod, itself included
    refused(
        call(sim, "updateStorageNetworkIpRange", id=rng["id"], endip="10.20.1.30"),
        "job",
        530,
        "The Storage network Start IP and endIP address range overlap with private IP "
        ":10.20.1.10 - 10.20.1.20",
    )
    moved = ok(
        call(
            sim,
            "updateStorageNetworkIpRange",
            id=rng["id"],
            startip="10.20.1.40",
            endip="10.20.1.50",
        )
    )["storagenetworkiprange"]
    assert (moved["startip"], moved["endip"], moved["vlan"]) == ("10.20.1.40", "10.20.1.50", 30)


def test_delete_pod_keeps_its_storage_ranges(sim: Simulator, zone: dict[str, Any]) -> None:
    pod = _pod(sim, zone)
    ok(_storage(sim, pod, "10.20.1.10", "10.20.1.20"))
    assert ok(call(sim, "deletePod", id=pod["id"])) == {"success": True}
    assert ok(call(sim, "listPods", zoneid=zone["id"])) == {}
    left = ok(call(sim, "listStorageNetworkIpRange", zoneid=zone["id"]))["storagenetworkiprange"]
    assert [(r["podid"], r["startip"]) for r in left] == [(pod["id"], "10.20.1.10")]


# --- VLAN (public) ranges ----------------------------------------------------------------


def _public(
    sim: Simulator, zone: dict[str, Any], vlan: Any, start: str, end: str, gw: str = "192.0.2.1"
) -> Answer:
    return call(
        sim,
        "createVlanIpRange",
        zoneid=zone["id"],
        vlan=vlan,
        gateway=gw,
        netmask=MASK,
        startip=start,
        endip=end,
    )


def test_update_vlan_range_has_no_overlap_check_with_other_ranges(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    first = ok(_public(sim, zone, 50, "192.0.2.10", "192.0.2.20"))["vlan"]
    ok(_public(sim, zone, 50, "192.0.2.30", "192.0.2.40"))
    grown = ok(call(sim, "updateVlanIpRange", id=first["id"], endip="192.0.2.35"))["vlan"]
    assert (grown["startip"], grown["endip"]) == ("192.0.2.10", "192.0.2.35")
    refused(
        call(sim, "updateVlanIpRange", id=first["id"], startip="192.0.2.1"),
        "sync",
        431,
        "The gateway shouldn't overlap the new start/end ip addresses",
    )
    refused(
        call(sim, "updateVlanIpRange", id=first["id"], endip="192.0.3.5"),
        "sync",
        431,
        "The end address of the IP range is not in the CIDR subnet.",
    )


def test_create_public_range_rules_and_texts(sim: Simulator, zone: dict[str, Any]) -> None:
    made = ok(_public(sim, zone, 50, "192.0.2.10", "192.0.2.20"))["vlan"]
    assert made["vlan"] == "vlan://50" and made["cidr"] == "192.0.2.0/24"
    assert "account" not in made  # an undedicated public range shows no owner
    refused(
        _public(sim, zone, 60, "192.0.2.30", "192.0.2.40"),
        "sync",
        431,
        "The IP range with tag: vlan://50 in zone z1 has overlapped with the subnet.",
    )
    refused(
        _public(sim, zone, 50, "192.0.2.15", "192.0.2.30"),
        "sync",
        431,
        "The IP range already has IPs that overlap with the new range.",
    )
    refused(
        _public(sim, zone, 150, "198.51.100.5", "198.51.100.9", gw="198.51.100.1"),
        "sync",
        431,
        "The VLAN tag vlan://150 is already being used for dynamic vlan allocation",
    )
    _pod(sim, zone)
    refused(
        call(
            sim,
            "createVlanIpRange",
            zoneid=zone["id"],
            gateway="10.10.1.254",
            netmask=MASK,
            startip="10.10.1.24",
            endip="10.10.1.30",
        ),
        "sync",
        431,
        "The Start IP and EndIP address range overlap with private IP :10.10.1.20:10.10.1.25",
    )
    refused(
        call(sim, "createVlanIpRange", zoneid=zone["id"], gateway="192.0.2.1", netmask=MASK),
        "sync",
        431,
        "StartIP or IPv6 CIDR is missing in the parameters!",
    )
    refused(  # a pod in an Advanced zone: checked once the range itself is acceptable
        call(
            sim,
            "createVlanIpRange",
            zoneid=zone["id"],
            podid=_pod(sim, zone, "p2", startip="10.10.2.20", endip=None, gateway="10.10.2.1")[
                "id"
            ],
            gateway="203.0.113.1",
            netmask=MASK,
            startip="203.0.113.10",
        ),
        "sync",
        431,
        "Pod id can be specified only for the networks of type Guest in zone of type Basic",
    )


def test_a_pod_range_may_not_contain_a_public_address(sim: Simulator, zone: dict[str, Any]) -> None:
    ok(
        call(
            sim,
            "createVlanIpRange",
            zoneid=zone["id"],
            gateway="10.10.1.254",
            netmask=MASK,
            startip="10.10.1.50",
            endip="10.10.1.60",
        )
    )
    refused(
        call(
            sim,
            "createPod",
            name="p1",
            zoneid=zone["id"],
            startip="10.10.1.55",
            endip="10.10.1.70",
            gateway="10.10.1.254",
            netmask=MASK,
        ),
        "sync",
        431,
        "The Start IP and endIP address range overlap with Public IP :10.10.1.55",
    )
    pod = _pod(sim, zone)
    refused(
        _mgmt(sim, pod, "10.10.1.40", "10.10.1.52"),
        "job",
        431,
        "The Start IP and endIP address range overlap with Public IP :10.10.1.50",
    )
