"""The simulator's cluster, host, VMware DC and system VM commands answer as the CloudStack 4.22
server does: the same code, in the same place (an HTTP error or a failed async job), with the
server's text (matched by prefix: texts embed internal ids), and with at least the keys of the
real captured answers. Each rule names the server method it copies in
cstool/simulator/commands/compute.py.

Storage pools and image stores are another module's; where a test needs one, it puts the row
into the store with the fields that module keeps (`state`, `scope`, `zoneid`, `_role`,
`providername`).
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import json
import time
from typing import Any

import pytest

from cstool.simulator.transport import Fault, Faults, Simulator, envelope, signature
from tests.conftest import realdata

# --- helpers -----------------------------------------------------------------------------


def _signed(params: dict[str, str]) -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, "secret")}


def answer(
    sim: Simulator, command: str, faults: Faults | None = None, **params: str
) -> tuple[str, int, str, dict[str, Any]]:
    """(where, code, text, body): "sync" for an HTTP answer, "job" for an async job's end."""
    reply = sim.handle(_signed({"command": command, **params}), faults)
    inner = reply.body[envelope(command)]
    if reply.status != 200:
        return "sync", reply.status, inner["errortext"], inner
    if "jobid" not in inner:
        return "sync", 200, "", inner
    while True:
        job = sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": inner["jobid"]}))
        body = job.body["queryasyncjobresultresponse"]
        if body["jobstatus"] != 0:
            result = body["jobresult"]
            return "job", body["jobresultcode"], result.get("errortext", ""), result


def refused(
    sim: Simulator, command: str, where: str, code: int, text: str, **params: str
) -> dict[str, Any]:
    got_where, got_code, got_text, body = answer(sim, command, **params)
    assert (got_where, got_code) == (where, code), got_text
    assert got_text.startswith(text), got_text
    return body


def ok(sim: Simulator, command: str, faults: Faults | None = None, **params: str) -> Any:
    where, code, text, body = answer(sim, command, faults, **params)
    assert code in (0, 200), text
    return body


def zone_and_pod(sim: Simulator, sg: bool = False) -> tuple[str, str]:
    zone = ok(
        sim,
        "createZone",
        name="z1",
        networktype="Advanced",
        dns1="8.8.8.8",
        internaldns1="8.8.8.8",
        **({"securitygroupenabled": "true"} if sg else {"guestcidraddress": "10.1.1.0/24"}),
    )["zone"]
    pod = ok(
        sim,
        "createPod",
        zoneid=zone["id"],
        name="p1",
        gateway="172.16.15.1",
        netmask="255.255.255.0",
        startip="172.16.15.2",
        endip="172.16.15.200",
    )["pod"]
    return zone["id"], pod["id"]


def cluster(
    sim: Simulator, zoneid: str, podid: str, name: str = "C0", hv: str = "Simulator"
) -> Any:
    body = ok(
        sim,
        "addCluster",
        zoneid=zoneid,
        podid=podid,
        clustername=name,
        clustertype="CloudManaged",
        hypervisor=hv,
    )
    return body["cluster"][0]


def host(
    sim: Simulator, c: dict[str, Any], url: str = "http://sim/c0/h0", faults: Faults | None = None
) -> Any:
    body = ok(
        sim,
        "addHost",
        faults,
        zoneid=c["zoneid"],
        podid=c["podid"],
        clusterid=c["id"],
        hypervisor=c["hypervisortype"],
        url=url,
        username="root",
        password="pw-for-the-simulator",
    )
    return body["host"][0]


@pytest.fixture
def sim() -> Simulator:
    return Simulator(keys={"key": "secret"})


@pytest.fixture
def lab(sim: Simulator) -> tuple[Simulator, dict[str, Any], dict[str, Any]]:
    zoneid, podid = zone_and_pod(sim)
    c = cluster(sim, zoneid, podid)
    return sim, c, host(sim, c)


def real(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((realdata() / "infra" / name).read_text())
    return data


def real_keys(name: str) -> set[str]:
    """The keys of every object in a real answer (a list's items, or a job's result object)."""
    inner: Any = next(iter(real(name).values()))
    if "jobresult" in inner:
        inner = inner["jobresult"]
    keys: set[str] = set()
    for value in inner.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                keys |= set(item)
    return keys


# --- envelopes and list answers ----------------------------------------------------------


def test_add_cluster_and_add_host_answer_lists_of_one(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim)
    body = ok(
        sim,
        "addCluster",
        zoneid=zoneid,
        podid=podid,
        clustername="C0",
        clustertype="CloudManaged",
        hypervisor="simulator",
    )
    assert body["count"] == 1 and isinstance(body["cluster"], list)
    assert body["cluster"][0]["hypervisortype"] == "Simulator"  # getType: case-insensitive
    added = ok(
        sim,
        "addHost",
        zoneid=zoneid,
        podid=podid,
        clusterid=body["cluster"][0]["id"],
        hypervisor="Simulator",
        url="http://sim/c0/h0",
        username="root",
        password="password",
    )
    assert added["count"] == 1 and isinstance(added["host"], list)


def test_overridden_envelopes_carry_answers_errors_and_the_missing_parameter_text(
    sim: Simulator,
) -> None:
    """BaseCmd.getCommandName overrides (PreparePrimaryStorageForMaintenanceCmd:61) name the
    envelope of errors too, and ParamProcessWorker:186-197 the missing-parameter text."""
    assert envelope("enableStorageMaintenance") == "prepareprimarystorageformaintenanceresponse"
    assert envelope("cancelStorageMaintenance") == "cancelprimarystoragemaintenanceresponse"
    assert envelope("listSecondaryStagingStores") == "listsecondarystagingstoreresponse"
    assert envelope("addHost") == "addhostresponse"
    reply = sim._error("enableStorageMaintenance", 431, "x")
    assert set(reply.body) == {"prepareprimarystorageformaintenanceresponse"}
    from cstool.simulator.commands import ParamError
    from cstool.simulator.transport import _params

    with pytest.raises(ParamError) as caught:
        _params("enableStorageMaintenance", {}).required("id")
    assert caught.value.text == (
        "Unable to execute API command prepareprimarystorageformaintenance due to missing "
        "parameter id"
    )
    with pytest.raises(ParamError) as plain:
        _params("addHost", {}).required("url")
    assert "command addhost due" in plain.value.text


def test_vmware_dc_list_key_is_mixed_case(sim: Simulator) -> None:
    zoneid, _ = zone_and_pod(sim)
    dc = ok(
        sim,
        "addVmwareDc",
        zoneid=zoneid,
        name="dc1",
        vcenter="vc.example",
        username="administrator",
        password="vc-password-x",
    )["vmwaredc"]
    assert set(dc) == {"id", "name", "vcenter", "zoneid"}
    listed = ok(sim, "listVmwareDcs", zoneid=zoneid)
    assert listed["count"] == 1 and listed["VMwareDC"][0]["name"] == "dc1"


# --- the real captures' keys are a subset of the simulator's ---------------------------

# keys the server adds only in situations the test does not create: `disconnected` once an
# agent has disconnected; `jobid`/`jobstatus` are set on a job result's object by the job
# framework, which the simulator's transport does for no command
NOT_HERE = {"disconnected", "jobid", "jobstatus"}


def test_host_answers_have_the_real_keys(lab: tuple[Simulator, Any, Any]) -> None:
    sim, c, h = lab
    tagged = ok(sim, "updateHost", id=h["id"], hosttags="TEST02,TEST03")["host"]
    assert tagged["hosttags"] == "TEST02,TEST03"
    for name in ("addHost--cloudstack-go.json", "listHosts--cloudstack-go.json"):
        assert real_keys(name) - NOT_HERE <= set(h) | {"hosttags"}, name
    listed = ok(sim, "listHosts", type="Routing")["host"][0]
    assert real_keys("listHosts--golang-cloudstack-library.json") - NOT_HERE <= set(listed)
    prepared = ok(sim, "prepareHostForMaintenance", id=h["id"])["host"]
    assert real_keys("prepareHostForMaintenance--cloudstack-go.json") - NOT_HERE <= set(prepared)
    assert prepared["resourcestate"] == "PrepareForMaintenance"  # the job ends there [D]
    cancelled = ok(sim, "cancelHostMaintenance", id=h["id"])["host"]
    assert real_keys("cancelHostMaintenance--cloudstack-go.json") - NOT_HERE <= set(cancelled)
    assert cancelled["resourcestate"] == "Enabled"


def test_cluster_answers_have_the_real_keys(lab: tuple[Simulator, Any, Any]) -> None:
    sim, c, _ = lab
    listed = ok(sim, "listClusters", id=c["id"])["cluster"][0]
    for name in (
        "listClusters--cloudstack-go.json",
        "listClusters--golang-cloudstack-library.json",
    ):
        assert real_keys(name) <= set(listed), name
    updated = ok(sim, "updateCluster", id=c["id"], allocationstate="Disabled")["cluster"]
    assert real_keys("updateCluster--cloudstack-go.json") <= set(updated)
    assert updated["allocationstate"] == "Disabled"
    # RM:606-607: the details hold the overcommit ratios copied from the global factors
    assert updated["resourcedetails"] == {
        "cpuOvercommitRatio": "1.0",
        "memoryOvercommitRatio": "1.0",
    }
    other = cluster(sim, c["zoneid"], c["podid"], "C1")
    deleted = ok(sim, "deleteCluster", id=other["id"])
    assert set(deleted) == set(next(iter(real("deleteCluster--cloudstack-go.json").values())))


def test_simulator_hosts_are_named_as_the_server_names_them(
    lab: tuple[Simulator, Any, Any],
) -> None:
    """MockAgentManagerImpl.createServerResources: SimulatedAgent.<uuid>, an IP of the pod's
    network below its prefix length; the same URL twice makes two hosts."""
    sim, c, h = lab
    assert h["name"].startswith("SimulatedAgent.") and h["state"] == "Up"
    assert h["ipaddress"].startswith("172.16.15.") and int(h["ipaddress"].rsplit(".")[-1]) < 24
    again = host(sim, c)
    assert again["id"] != h["id"]


# --- clusters: refusals ------------------------------------------------------------------


def test_add_cluster_refusals(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim)
    base = {"zoneid": zoneid, "podid": podid, "clustername": "C0"}
    refused(
        sim,
        "addCluster",
        "sync",
        431,
        "No enum constant com.cloud.org.Cluster.ClusterType.cloudmanaged",
        clustertype="cloudmanaged",
        hypervisor="KVM",
        **base,
    )
    refused(
        sim,
        "addCluster",
        "sync",
        431,
        "Unable to resolve Allocation State 'enabled'",
        clustertype="CloudManaged",
        hypervisor="KVM",
        allocationstate="enabled",
        **base,
    )
    refused(
        sim,
        "addCluster",
        "sync",
        431,
        "Could not find corresponding resource manager for Xen",
        clustertype="CloudManaged",
        hypervisor="Xen",
        **base,
    )
    cluster(sim, zoneid, podid, "C0", "KVM")
    refused(
        sim,
        "addCluster",
        "sync",
        530,
        "Unable to create cluster C0 in pod and data center",
        clustertype="CloudManaged",
        hypervisor="KVM",
        **base,
    )
    refused(
        sim,
        "addCluster",
        "sync",
        530,
        "Zone 1 is not associated with any VMware DC yet",
        zoneid=zoneid,
        podid=podid,
        clustername="vc/dc/c1",
        clustertype="ExternalManaged",
        hypervisor="VMware",
        url="http://vc/dc/c1",
        username="u",
        password="p",
    )


def test_vmware_cluster_after_its_dc(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim)
    ok(sim, "addVmwareDc", zoneid=zoneid, name="dc", vcenter="vc", username="u", password="p")
    refused(
        sim,
        "addVmwareDc",
        "sync",
        530,
        "Zone 1 is already associated with a VMware datacenter",
        zoneid=zoneid,
        name="dc2",
        vcenter="vc",
        username="u",
        password="p",
    )
    params = {"zoneid": zoneid, "podid": podid, "clustertype": "ExternalManaged"}
    refused(
        sim,
        "addCluster",
        "sync",
        431,
        "uri.scheme is null vc/dc/c1, add http:// as a prefix",
        clustername="vc/dc/c1",
        hypervisor="VMware",
        url="vc/dc/c1",
        **params,
    )
    made = ok(
        sim,
        "addCluster",
        clustername="vc/dc/c1",
        hypervisor="VMware",
        url="http://vc/dc/c1",
        username="u",
        password="vc-secret-value",
        **params,
    )["cluster"][0]
    # ClusterResponse.setResourceDetails: the url is shown, the credentials never
    assert made["resourcedetails"]["url"] == "http://vc/dc/c1"
    assert "password" not in made["resourcedetails"] and "username" not in made["resourcedetails"]
    assert "vc-secret-value" not in json.dumps(sim.store.to_dict())
    refused(
        sim,
        "updateCluster",
        "sync",
        431,
        "Renaming VMware cluster is not supported",
        id=made["id"],
        clustername="other",
    )
    refused(
        sim,
        "removeVmwareDc",
        "sync",
        530,
        "Zone has one or more clusters. Can't remove",
        zoneid=zoneid,
    )


def test_sg_advanced_zones_take_four_hypervisors(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim, sg=True)
    refused(
        sim,
        "addCluster",
        "sync",
        431,
        "Don't support hypervisor type VMware in advanced security",
        zoneid=zoneid,
        podid=podid,
        clustername="c",
        clustertype="CloudManaged",
        hypervisor="vmware",
    )
    cluster(sim, zoneid, podid, "c", "LXC")


def test_delete_cluster_refusals(lab: tuple[Simulator, Any, Any]) -> None:
    """ResourceManagerImpl.deleteCluster:1190-1215: hosts first, then pools."""
    sim, c, h = lab
    refused(
        sim,
        "deleteCluster",
        "sync",
        530,
        "Cluster: 1 cannot be removed. Cluster still has hosts",
        id=c["id"],
    )
    ok(sim, "prepareHostForMaintenance", id=h["id"])
    for _ in range(3):
        ok(sim, "listHosts", id=h["id"])
    ok(sim, "deleteHost", id=h["id"])
    sim.store.add("storagepool", {"clusterid": c["id"], "zoneid": c["zoneid"], "state": "Up"})
    refused(
        sim,
        "deleteCluster",
        "sync",
        530,
        'Cluster: Cluster {"id": 1, "name": "C0"',
        id=c["id"],
    )


# --- hosts: refusals and states -----------------------------------------------------------


def test_add_host_refusals(lab: tuple[Simulator, Any, Any]) -> None:
    sim, c, _ = lab
    where = {"zoneid": c["zoneid"], "podid": c["podid"], "clusterid": c["id"]}
    refused(
        sim,
        "addHost",
        "sync",
        431,
        "Can't specify cluster by both id and name",
        hypervisor="Simulator",
        url="http://sim/1",
        username="u",
        password="p",
        clustername="x",
        **where,
    )
    refused(
        sim,
        "addHost",
        "sync",
        431,
        "Username and Password need to be provided.",
        hypervisor="Simulator",
        url="http://sim/1",
        username="u",
        **where,
    )
    refused(
        sim,
        "addHost",
        "sync",
        431,
        "uri.scheme is null sim/1",
        hypervisor="Simulator",
        url="sim/1",
        username="u",
        password="p",
        **where,
    )
    # a discoverer that takes nothing: the generic DiscoveryException (ResourceManagerImpl:956-962)
    refused(
        sim,
        "addHost",
        "sync",
        530,
        "Unable to add the host: Cannot find the server resources at http://host1",
        hypervisor="Simulator",
        url="http://host1",
        username="u",
        password="p",
        **where,
    )
    refused(
        sim,
        "addHost",
        "sync",
        530,
        "Unable to add the host: Cannot find the server resources",
        hypervisor="KVM",
        url="http://10.0.0.5",
        username="u",
        password="p",
        **where,
    )


def test_kvm_hosts_need_a_username_and_are_unique_by_ip(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim)
    kvm = cluster(sim, zoneid, podid, "K", "KVM")
    where = {"zoneid": zoneid, "podid": podid, "clusterid": kvm["id"], "hypervisor": "KVM"}
    refused(
        sim,
        "addHost",
        "sync",
        431,
        "Username need to be provided.",
        url="http://172.16.15.9",
        **where,
    )
    made = ok(sim, "addHost", url="http://172.16.15.9", username="root", **where)["host"][0]
    assert (made["name"], made["ipaddress"]) == ("172.16.15.9", "172.16.15.9")
    refused(
        sim,
        "addHost",
        "sync",
        530,
        "Could not add host at [http://172.16.15.9] with zone [z1]",
        url="http://172.16.15.9",
        username="root",
        **where,
    )
    # the agent's GUID is Java's UUID.nameUUIDFromBytes of its IP (LibvirtServerDiscoverer)
    from cstool.simulator.commands.compute import java_name_uuid

    assert (
        java_name_uuid(b"172.16.15.9")
        in answer(sim, "addHost", url="http://172.16.15.9", username="root", **where)[2]
    )
    # Java's own answers: the real pool ids of listStoragePools--golang-cloudstack-library.json
    # are nameUUIDFromBytes of host+path
    pool = b"10.147.28.6/export/home/sandbox/primary1"
    assert java_name_uuid(pool).startswith("cd360613-e1cf-3a32-")


def test_xenserver_hosts_outside_the_pod_cidr_are_refused(sim: Simulator) -> None:
    """ResourceManagerImpl.checkCIDR via XcpServerDiscoverer:685."""
    zoneid, podid = zone_and_pod(sim)
    xen = cluster(sim, zoneid, podid, "X", "XenServer")
    refused(
        sim,
        "addHost",
        "sync",
        530,
        "The private ip address of the server (10.9.9.9) is not compatible",
        zoneid=zoneid,
        podid=podid,
        clusterid=xen["id"],
        hypervisor="XenServer",
        url="http://10.9.9.9",
        username="root",
        password="p",
    )


def test_update_host_refusals_are_wrapped_in_530(lab: tuple[Simulator, Any, Any]) -> None:
    """UpdateHostCmd:151 turns every failure into 530 "Failed to update host: ..."."""
    sim, _, h = lab
    refused(
        sim,
        "updateHost",
        "sync",
        530,
        'Failed to update host: Host {"id": 1',
        id=h["id"],
        allocationstate="Enabled",
    )
    assert (
        "only Enable/Disable are allowed"
        in answer(sim, "updateHost", id=h["id"], allocationstate="Enabled")[2]
    )
    assert (
        ok(sim, "updateHost", id=h["id"], allocationstate="Disable")["host"]["resourcestate"]
        == "Disabled"
    )
    assert (
        ok(sim, "updateHost", id=h["id"], allocationstate="Disable")["host"]["resourcestate"]
        == "Disabled"
    )
    tagged = ok(sim, "updateHost", id=h["id"], hosttags="a,b")["host"]
    assert tagged["hosttags"] == "a,b"
    cleared = ok(sim, "updateHost", id=h["id"], hosttags="")["host"]  # "" clears
    assert "hosttags" not in cleared


def test_maintenance_transitions_and_refusals(lab: tuple[Simulator, Any, Any]) -> None:
    sim, c, h = lab
    second = host(sim, c, "http://sim/c0/h1")
    refused(
        sim,
        "cancelHostMaintenance",
        "job",
        530,
        "Cannot perform cancelMaintenance when resource state is Enabled",
        id=h["id"],
    )
    refused(
        sim,
        "deleteHost",
        "sync",
        530,
        f"Host with UUID [{h['id']}] is not in maintenance mode",
        id=h["id"],
    )
    ok(sim, "prepareHostForMaintenance", id=h["id"])
    refused(
        sim,
        "prepareHostForMaintenance",
        "job",
        530,
        "Host is already in state PrepareForMaintenance. Cannot recall",
        id=h["id"],
    )
    refused(
        sim,
        "prepareHostForMaintenance",
        "job",
        530,
        "There are other servers attempting migrations for maintenance",
        id=second["id"],
    )
    ok(sim, "updateHost", id=second["id"], allocationstate="Disable")
    # the default: two listHosts reads in PrepareForMaintenance, Maintenance at the third
    states = [ok(sim, "listHosts", id=h["id"])["host"][0]["resourcestate"] for _ in range(3)]
    assert states == ["PrepareForMaintenance", "PrepareForMaintenance", "Maintenance"]
    refused(
        sim,
        "prepareHostForMaintenance",
        "job",
        530,
        "Failed to prepare host for maintenance due to: Cannot transit resource state",
        id=second["id"],
    )
    refused(
        sim,
        "updateHost",
        "sync",
        530,
        "Failed to update host:",
        id=h["id"],
        allocationstate="Disable",
    )
    assert ok(sim, "deleteHost", id=h["id"]) == {"success": True}


def test_maint_polls_and_maint_error_faults(lab: tuple[Simulator, Any, Any]) -> None:
    sim, c, h = lab
    faults = Faults([Fault.parse("prepareHostForMaintenance:maint-polls=4")])
    ok(sim, "prepareHostForMaintenance", faults, id=h["id"])
    states = [ok(sim, "listHosts", clusterid=c["id"])["host"][0]["resourcestate"] for _ in range(5)]
    assert states == ["PrepareForMaintenance"] * 4 + ["Maintenance"]
    ok(sim, "cancelHostMaintenance", id=h["id"])
    faults = Faults([Fault.parse("prepareHostForMaintenance:maint-error")])
    ok(sim, "prepareHostForMaintenance", faults, id=h["id"])
    states = [ok(sim, "listHosts", id=h["id"])["host"][0]["resourcestate"] for _ in range(3)]
    assert states[-1] == "ErrorInPrepareForMaintenance"
    assert ok(sim, "cancelHostMaintenance", id=h["id"])["host"]["resourcestate"] == "Enabled"


def test_hosts_connect_after_a_delay_and_stay_down_by_fault(sim: Simulator) -> None:
    zoneid, podid = zone_and_pod(sim)
    c = cluster(sim, zoneid, podid)
    slow = host(sim, c, faults=Faults([Fault.parse("addHost:connect-time=0.2")]))
    assert slow["state"] == "Connecting"
    assert ok(sim, "listHosts", id=slow["id"])["host"][0]["state"] == "Connecting"
    time.sleep(0.25)
    assert ok(sim, "listHosts", id=slow["id"])["host"][0]["state"] == "Up"
    down = host(sim, c, "http://sim/h2", faults=Faults([Fault.parse("addHost:host-state=Down")]))
    time.sleep(0.05)
    assert ok(sim, "listHosts", id=down["id"])["host"][0]["state"] == "Down"
    with pytest.raises(ValueError, match="Alert or Down"):
        Fault.parse("addHost:host-state=Up")


def test_simulator_wide_host_connect_delay() -> None:
    sim = Simulator(keys={"key": "secret"}, host_connect=0.1)
    zoneid, podid = zone_and_pod(sim)
    made = host(sim, cluster(sim, zoneid, podid))
    assert made["state"] == "Connecting"
    time.sleep(0.15)
    assert ok(sim, "listHosts", id=made["id"])["host"][0]["state"] == "Up"


def test_first_host_first_in_a_xenserver_cluster(sim: Simulator) -> None:
    """ResourceManagerImpl:705-712: hosts but no cluster GUID (set when the first XenServer host
    connects) refuse another addHost."""
    zoneid, podid = zone_and_pod(sim)
    xen = cluster(sim, zoneid, podid, "X", "XenServer")
    slow = Faults([Fault.parse("addHost:connect-time=0.2")])
    host(sim, xen, "http://172.16.15.20", faults=slow)
    refused(
        sim,
        "addHost",
        "sync",
        530,
        "Guid is not updated for cluster with specified cluster id",
        zoneid=zoneid,
        podid=podid,
        clusterid=xen["id"],
        hypervisor="XenServer",
        url="http://172.16.15.21",
        username="root",
        password="p",
    )
    time.sleep(0.25)
    host(sim, xen, "http://172.16.15.21")


def test_host_password_rotation_rules(sim: Simulator) -> None:
    """ManagementServerImpl.updateHostPassword."""
    zoneid, podid = zone_and_pod(sim)
    kvm = cluster(sim, zoneid, podid, "K", "KVM")
    made = ok(
        sim,
        "addHost",
        zoneid=zoneid,
        podid=podid,
        clusterid=kvm["id"],
        hypervisor="KVM",
        url="http://172.16.15.9",
        username="root",
        password="first-password",
    )["host"][0]
    refused(
        sim,
        "updateHostPassword",
        "sync",
        431,
        "The username is not same for the hosts",
        hostid=made["id"],
        username="admin",
        password="second-password",
    )
    refused(
        sim,
        "updateHostPassword",
        "sync",
        431,
        "This operation is not supported for this hypervisor type",
        clusterid=kvm["id"],
        username="root",
        password="second-password",
    )
    assert ok(
        sim, "updateHostPassword", hostid=made["id"], username="root", password="second-password"
    )
    text = json.dumps(sim.store.to_dict())
    assert "first-password" not in text and "second-password" not in text


# --- system VMs and pod deletes -----------------------------------------------------------


def _ready_storage(sim: Simulator, c: dict[str, Any]) -> dict[str, Any]:
    """A pool and an NFS image store as the storage module stores them."""
    pool = sim.store.add(
        "storagepool",
        {
            "name": "ps",
            "zoneid": c["zoneid"],
            "podid": c["podid"],
            "clusterid": c["id"],
            "scope": "CLUSTER",
            "state": "Up",
        },
    )
    sim.store.add(
        "imagestore",
        {
            "name": "sec",
            "zoneid": c["zoneid"],
            "providername": "NFS",
            "scope": "ZONE",
            "_role": "Image",
        },
    )
    return pool


def enable(sim: Simulator, zoneid: str, state: str = "Enabled") -> None:
    """The zone's allocation state as updateZone leaves it (its checks, on physical networks
    and traffic types, are zones.py's and tested there)."""
    with sim.store.transaction() as store:
        zone = store.get("zone", zoneid)
        assert zone is not None
        zone["allocationstate"] = state


def test_system_vms_start_once_the_zone_is_enabled_with_storage(
    lab: tuple[Simulator, Any, Any],
) -> None:
    sim, c, h = lab
    pool = _ready_storage(sim, c)
    assert ok(sim, "listSystemVms") == {}  # a Disabled zone runs none
    enable(sim, c["zoneid"])
    vms = ok(sim, "listSystemVms")["systemvm"]
    assert sorted(v["systemvmtype"] for v in vms) == ["consoleproxy", "secondarystoragevm"]
    assert all(v["hostid"] == h["id"] and v["state"] == "Running" for v in vms)
    everything = ok(sim, "listHosts")["host"]
    assert sorted(x["type"] for x in everything) == [
        "ConsoleProxy",
        "Routing",
        "SecondaryStorageVM",
    ]
    assert all("clusterid" not in x for x in everything if x["type"] != "Routing")
    assert [x["id"] for x in ok(sim, "listHosts", type="Routing")["host"]] == [h["id"]]
    assert len(sim.store.rows("volume", poolid=pool["id"])) == 2  # ROOT volumes on the pool
    # system VMs block the pod's delete; destroyed (the zone disabled first), they are gone
    refused(
        sim,
        "deletePod",
        "sync",
        530,
        "The pod cannot be deleted because there are storage volumes",
        id=c["podid"],
    )
    enable(sim, c["zoneid"], "Disabled")
    for vm in vms:
        assert ok(sim, "destroySystemVm", id=vm["id"])["systemvm"]["state"] == "Destroyed"
    assert ok(sim, "listSystemVms") == {}
    assert [x["type"] for x in ok(sim, "listHosts")["host"]] == ["Routing"]
    assert not sim.store.rows("volume")


def test_delete_pod_refuses_hosts_then_clusters(lab: tuple[Simulator, Any, Any]) -> None:
    """ConfigurationManagerImpl.checkIfPodIsDeletable:1734-1762."""
    sim, c, h = lab
    refused(
        sim,
        "deletePod",
        "sync",
        530,
        "The pod cannot be deleted because there are servers in this pod.",
        id=c["podid"],
    )
    ok(sim, "deleteHost", id=h["id"], forced="true")
    refused(
        sim,
        "deletePod",
        "sync",
        530,
        "The pod cannot be deleted because there are clusters in this pod.",
        id=c["podid"],
    )
    ok(sim, "deleteCluster", id=c["id"])
    ok(sim, "deletePod", id=c["podid"])


def test_no_compute_means_no_tick_work(sim: Simulator) -> None:
    """Clouds without hosts see nothing new: no system VMs, no host rows."""
    zoneid, _ = zone_and_pod(sim)
    enable(sim, zoneid)
    assert not sim.store.rows("systemvm") and not sim.store.rows("host")
