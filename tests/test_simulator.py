"""The simulator behaves like CloudStack on the wire and in its rules."""

from __future__ import annotations

import ast
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cs import CloudStack, CloudStackApiException

from cstool.simulator.store import Store
from cstool.simulator.transport import Fault, Simulator, make_server, signature
from tests.conftest import ROOT, raw_sim

# --- signatures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "params", "expected"),
    [
        (
            "bar",
            {
                "apiKey": "foo",
                "command": "listVirtualMachines",
                "listall": "true",
                "response": "json",
            },
            "B0d6hBsZTcFVCiioSxzwKA9Pke8=",
        ),
        (
            "testsecret",
            {
                "apiKey": "testkey",
                "command": "createZone",
                "name": "Zone A",
                "dns1": "8.8.8.8",
                "internaldns1": "10.0.0.2",
                "networktype": "Advanced",
                "response": "json",
                "signatureVersion": "3",
                "expires": "2030-01-01T00:00:00+0000",
            },
            "S+wsmCMWJTUsppEGJJ44KnmbR/U=",
        ),
        (
            "testsecret",
            {"apikey": "testkey", "command": "listZones", "name": "a~b*c/d+e", "response": "json"},
            "vUQNDorAR6fYs/GSUoKI9+UR+6I=",
        ),
    ],
)
def test_signature_matches_the_documented_vectors(
    secret: str, params: dict[str, str], expected: str
) -> None:
    assert signature(params, secret) == expected


def _signed(params: dict[str, str], secret: str = "secret") -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, secret)}


def test_bad_signature_unknown_key_unknown_command_and_expiry_are_401() -> None:
    sim = Simulator(keys={"key": "secret"})
    cases = [
        _signed({"command": "listZones"}, secret="wrong"),
        {**_signed({"command": "listZones"}), "apiKey": "other"},
        _signed({"command": "listzones"}),  # command names are case-sensitive
        _signed(
            {"command": "listZones", "signatureVersion": "3", "expires": "2001-01-01T00:00:00+0000"}
        ),
        {"command": "listZones", "apiKey": "key", "response": "json"},  # no signature
    ]
    for params in cases:
        reply = sim.handle(params)
        assert reply.status == 401
        (body,) = reply.body.values()
        assert body["errorcode"] == 401 and body["uuidList"] == []
    ok = sim.handle(
        _signed(
            {"command": "listZones", "signatureVersion": "3", "expires": "2099-01-01T00:00:00+0000"}
        )
    )
    assert ok.status == 200 and ok.body == {"listzonesresponse": {}}


def test_parameter_names_are_case_insensitive() -> None:
    sim = Simulator(keys={"key": "secret"})
    reply = sim.handle(
        _signed(
            {
                "command": "createZone",
                "NAME": "z",
                "networkType": "basic",
                "DNS1": "8.8.8.8",
                "internalDns1": "10.0.0.1",
            }
        )
    )
    assert reply.status == 200
    assert reply.body["createzoneresponse"]["zone"]["networktype"] == "Basic"


# --- envelopes, paging, async jobs -------------------------------------------------------


def _zone(cs: CloudStack, name: str = "z1", **extra: Any) -> dict[str, Any]:
    params = {
        "name": name,
        "networktype": "Advanced",
        "dns1": "8.8.8.8",
        "internaldns1": "10.0.0.1",
        **extra,
    }
    return cs.createZone(**params)["zone"]


def test_list_envelopes_count_pages_and_page_past_the_end() -> None:
    sim, cs = raw_sim()
    for i in range(5):
        _zone(cs, f"z{i}")
    page = sim.handle(_signed({"command": "listZones", "page": "2", "pagesize": "2"}))
    body = page.body["listzonesresponse"]
    assert body["count"] == 5 and [z["name"] for z in body["zone"]] == ["z2", "z3"]
    past = sim.handle(_signed({"command": "listZones", "page": "9", "pagesize": "2"}))
    assert past.body == {"listzonesresponse": {"count": 5}}
    assert len(cs.listZones(fetch_list=True)) == 5
    bad = sim.handle(_signed({"command": "listZones", "pagesize": "2"}))
    assert bad.status == 431


def test_async_job_is_pending_then_succeeds_and_async_create_returns_the_id() -> None:
    sim, cs = raw_sim()
    zone = _zone(cs)
    reply = sim.handle(
        _signed({"command": "createPhysicalNetwork", "name": "pn", "zoneid": zone["id"]})
    )
    submitted = reply.body["createphysicalnetworkresponse"]
    assert set(submitted) == {"id", "jobid"}
    first = sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": submitted["jobid"]}))
    assert first.body["queryasyncjobresultresponse"]["jobstatus"] == 0
    assert "jobresult" not in first.body["queryasyncjobresultresponse"]
    done = sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": submitted["jobid"]}))
    job = done.body["queryasyncjobresultresponse"]
    assert (job["jobstatus"], job["jobresultcode"], job["jobresulttype"]) == (1, 0, "object")
    assert job["jobresult"]["physicalnetwork"]["id"] == submitted["id"]
    assert job["jobresult"]["physicalnetwork"]["state"] == "Disabled"


def test_rule_failure_of_an_async_command_is_a_failed_job() -> None:
    sim, cs = raw_sim()
    zone = _zone(cs)
    pn = cs.createPhysicalNetwork(name="pn", zoneid=zone["id"])["physicalnetwork"]
    vr = cs.listNetworkServiceProviders(
        physicalnetworkid=pn["id"], name="VirtualRouter", fetch_list=True
    )[0]
    reply = sim.handle(
        _signed({"command": "updateNetworkServiceProvider", "id": vr["id"], "state": "Enabled"})
    )
    assert reply.status == 200  # accepted; the job fails
    jobid = reply.body["updatenetworkserviceproviderresponse"]["jobid"]
    sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": jobid}))
    job = sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": jobid})).body[
        "queryasyncjobresultresponse"
    ]
    assert (job["jobstatus"], job["jobresultcode"]) == (2, 530)
    assert set(job["jobresult"]) == {"errorcode", "errortext"}
    assert "configure the provider first" in job["jobresult"]["errortext"]


def test_missing_parameter_of_an_async_command_is_synchronous_431() -> None:
    sim, _ = raw_sim()
    reply = sim.handle(_signed({"command": "updatePhysicalNetwork"}))
    assert reply.status == 431
    body = reply.body["updatephysicalnetworkresponse"]
    assert body["cserrorcode"] == 4350 and "missing parameter id" in body["errortext"]
    assert reply.headers["X-Description"] == body["errortext"]


# --- server rules ------------------------------------------------------------------------


def _code(call: Any) -> int:
    with pytest.raises(CloudStackApiException) as info:
        call()
    return int(info.value.error["errorcode"])


def _advanced_zone(cs: CloudStack) -> tuple[dict[str, Any], dict[str, Any]]:
    zone = _zone(cs)
    pn = cs.createPhysicalNetwork(
        name="pn", zoneid=zone["id"], isolationmethods="VLAN", vlan="100-200"
    )["physicalnetwork"]
    for t in ("Management", "Guest", "Public"):
        cs.addTrafficType(physicalnetworkid=pn["id"], traffictype=t, kvmnetworklabel="cloudbr0")
    return zone, pn


def test_zone_rules() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    assert zone["allocationstate"] == "Disabled" and zone["securitygroupsenabled"] is False
    assert "dns2" not in zone  # omitted, never null
    assert _code(lambda: _zone(cs, "Z1")) == 431  # names are unique, case-insensitively
    assert _code(lambda: _zone(cs, "b", networktype="Basic", guestcidraddress="10.0.0.0/8")) == 431
    basic = _zone(cs, "b", networktype="Basic", securitygroupenabled=False)
    assert basic["securitygroupsenabled"] is True  # forced for Basic zones
    assert _code(lambda: cs.updateZone(id=zone["id"], allocationstate="Enabled")) == 431
    assert _code(lambda: cs.updateZone(id=zone["id"], allocationstate="enabled")) == 431


def test_enabling_a_zone_adds_storage_traffic_with_the_management_labels() -> None:
    _, cs = raw_sim()
    zone, pn = _advanced_zone(cs)
    cs.updateZone(id=zone["id"], allocationstate="Enabled")
    traffic = {
        t["traffictype"]: t
        for t in cs.listTrafficTypes(physicalnetworkid=pn["id"], fetch_list=True)
    }
    assert traffic["Storage"]["kvmnetworklabel"] == "cloudbr0"
    assert _code(lambda: cs.createPhysicalNetwork(name="x", zoneid=zone["id"])) == 531


def test_physical_network_and_traffic_type_rules() -> None:
    _, cs = raw_sim()
    zone, pn = _advanced_zone(cs)
    names = {
        p["name"]
        for p in cs.listNetworkServiceProviders(physicalnetworkid=pn["id"], fetch_list=True)
    }
    assert {"VirtualRouter", "VpcVirtualRouter", "InternalLbVm", "SecurityGroupProvider"} <= names
    assert _code(lambda: cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")) == 530
    assert _code(lambda: cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="guest")) == 431
    pn2 = cs.createPhysicalNetwork(name="pn2", zoneid=zone["id"])["physicalnetwork"]
    assert (
        _code(lambda: cs.addTrafficType(physicalnetworkid=pn2["id"], traffictype="Management"))
        == 530
    )
    assert _code(lambda: cs.addTrafficType(physicalnetworkid=pn2["id"], traffictype="Guest")) == 530
    assert _code(lambda: cs.createPhysicalNetwork(name="t", zoneid=zone["id"], tags="a,b")) == 431
    cs.updatePhysicalNetwork(id=pn["id"], vlan="300-400,100-200,201-299")
    (read,) = [p for p in cs.listPhysicalNetworks(fetch_list=True) if p["id"] == pn["id"]]
    assert read["vlan"] == "100-400"  # normalised like the server
    assert _code(lambda: cs.updatePhysicalNetwork(id=pn["id"], vlan="500")) == 431
    basic = _zone(cs, "b", networktype="Basic")
    cs.createPhysicalNetwork(name="only", zoneid=basic["id"])
    assert _code(lambda: cs.createPhysicalNetwork(name="two", zoneid=basic["id"])) == 530


def test_pod_rules_follow_check_pod_cidrs() -> None:
    _, cs = raw_sim()
    zone, _ = _advanced_zone(cs)
    pod = {"zoneid": zone["id"], "gateway": "10.0.0.1", "netmask": "255.255.255.0"}
    cs.createPod(name="p1", startip="10.0.0.10", endip="10.0.0.20", **pod)
    assert _code(lambda: cs.createPod(name="p1", startip="10.0.0.30", **pod)) == 431
    assert (
        _code(lambda: cs.createPod(name="p2", startip="10.0.0.30", endip="10.0.0.40", **pod)) == 431
    )  # same CIDR
    assert (
        _code(
            lambda: cs.createPod(
                name="p3",
                startip="10.0.1.1",
                endip="10.0.1.5",
                zoneid=zone["id"],
                gateway="10.0.1.1",
                netmask="255.255.255.0",
            )
        )
        == 431
    )  # gateway in range
    cs.updateConfiguration(name="check.pod.cidrs", value="false")
    p2 = cs.createPod(name="p2", startip="10.0.0.30", endip="10.0.0.40", **pod)["pod"]
    assert p2["ipranges"] == [
        {
            "startip": "10.0.0.30",
            "endip": "10.0.0.40",
            "forsystemvms": "0",
            "vlanid": "vlan://untagged",
        }
    ]
    assert _code(lambda: cs.deleteZone(id=zone["id"])) == 530


def test_management_and_storage_range_rules() -> None:
    _, cs = raw_sim()
    zone, _ = _advanced_zone(cs)
    pod = cs.createPod(
        name="p1",
        zoneid=zone["id"],
        gateway="10.0.0.1",
        netmask="255.255.255.0",
        startip="10.0.0.10",
        endip="10.0.0.20",
    )["pod"]
    rng = {"podid": pod["id"], "gateway": "10.0.0.1", "netmask": "255.255.255.0"}
    assert (
        _code(
            lambda: cs.createManagementNetworkIpRange(startip="10.0.0.15", endip="10.0.0.30", **rng)
        )
        == 431
    )
    result = cs.createManagementNetworkIpRange(
        startip="10.0.0.30", endip="10.0.0.40", vlan="11", forsystemvms=True, **rng
    )
    assert result["pod"]["vlanid"] == ["vlan://untagged", "vlan://11"]
    assert result["pod"]["forsystemvms"] == ["0", "1"]
    assert (
        _code(
            lambda: cs.createStorageNetworkIpRange(
                podid=pod["id"],
                gateway="10.0.0.1",
                netmask="255.255.255.0",
                startip="10.0.0.12",
                endip="10.0.0.14",
            )
        )
        == 530  # StorageNetworkManagerImpl.createIpRange: every refusal fails the job
    )
    st = cs.createStorageNetworkIpRange(
        podid=pod["id"],
        gateway="10.9.0.1",
        netmask="255.255.255.0",
        startip="10.9.0.10",
        endip="10.9.0.20",
        vlan=20,
    )["storagenetworkiprange"]
    assert st["vlan"] == 20  # a JSON number
    cs.deleteManagementNetworkIpRange(
        podid=pod["id"], startip="10.0.0.30", endip="10.0.0.40", vlan="vlan://11"
    )
    assert (
        _code(
            lambda: cs.deleteManagementNetworkIpRange(
                podid=pod["id"], startip="10.0.0.30", endip="10.0.0.40", vlan="11"
            )
        )
        == 530  # ConfigurationManagerImpl.deletePodIpRange fails inside the job
    )


def test_public_range_rules() -> None:
    _, cs = raw_sim()
    zone, _ = _advanced_zone(cs)
    base = {"zoneid": zone["id"], "netmask": "255.255.255.0", "forvirtualnetwork": True}
    made = cs.createVlanIpRange(
        vlan=50, gateway="192.0.2.1", startip="192.0.2.10", endip="192.0.2.20", **base
    )["vlan"]
    assert made["vlan"] == "vlan://50" and made["forvirtualnetwork"] is True
    assert (
        _code(
            lambda: cs.createVlanIpRange(
                vlan=50, gateway="192.0.2.1", startip="192.0.2.15", endip="192.0.2.30", **base
            )
        )
        == 431
    )  # overlap
    assert (
        _code(
            lambda: cs.createVlanIpRange(
                vlan=50, gateway="192.0.2.254", startip="192.0.2.40", endip="192.0.2.50", **base
            )
        )
        == 431
    )  # other gateway
    assert (
        _code(
            lambda: cs.createVlanIpRange(
                vlan=60, gateway="192.0.2.1", startip="192.0.2.40", endip="192.0.2.50", **base
            )
        )
        == 431
    )  # other VLAN
    assert (
        _code(
            lambda: cs.createVlanIpRange(
                vlan=150,
                gateway="198.51.100.1",
                startip="198.51.100.10",
                endip="198.51.100.20",
                **base,
            )
        )
        == 431
    )  # a guest VLAN
    cs.createVlanIpRange(
        vlan=50, gateway="192.0.2.1", startip="192.0.2.40", endip="192.0.2.50", **base
    )  # extending the subnet on the same VLAN
    listed = cs.listVlanIpRanges(zoneid=zone["id"], fetch_list=True)
    assert [r["startip"] for r in listed] == ["192.0.2.10", "192.0.2.40"]


def test_settings_scope_and_types() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    assert _code(lambda: cs.updateConfiguration(name="no.such.setting", value="1")) == 431
    assert _code(lambda: cs.updateConfiguration(name="check.pod.cidrs", value="yes")) == 431
    assert (
        _code(
            lambda: cs.updateConfiguration(name="check.pod.cidrs", value="false", zoneid=zone["id"])
        )
        == 431
    )
    cs.updateConfiguration(name="system.vm.use.local.storage", value="true", zoneid=zone["id"])
    scoped = cs.listConfigurations(zoneid=zone["id"], name="system.vm.use.local", fetch_list=True)
    assert [(c["name"], c["value"], c["scope"]) for c in scoped] == [
        ("system.vm.use.local.storage", "true", "zone")
    ]
    (default,) = cs.listConfigurations(name="check.pod.cidrs", fetch_list=True)
    assert default["value"] == "true"


# --- faults ------------------------------------------------------------------------------


def test_faults_error_job_drop_lose_and_latency() -> None:
    sim, cs = raw_sim(
        faults=[
            Fault.parse("createZone#2:error=431"),
            Fault.parse("createPhysicalNetwork#1:job"),
            Fault.parse("listPods:drop"),
            Fault.parse("createZone#3:lose"),
        ]
    )
    zone = _zone(cs)
    assert _code(lambda: _zone(cs, "second")) == 431
    with pytest.raises(CloudStackApiException) as info:
        cs.createPhysicalNetwork(name="pn", zoneid=zone["id"])
    assert info.value.error["errorcode"] == 530
    with pytest.raises(requests.ConnectionError):
        cs.listPods()
    assert cs.listPhysicalNetworks(fetch_list=True) == []  # the failed job changed nothing
    with pytest.raises(requests.ConnectionError):
        _zone(cs, "third")
    assert [z["name"] for z in cs.listZones(fetch_list=True)] == ["z1", "third"]  # it acted
    with pytest.raises(ValueError):
        Fault.parse("createZone:explode")


def test_job_fault_on_a_sync_command_fails_before_changing_anything() -> None:
    """A sync command has no job to fail: the call fails, and the server did nothing (no
    half-done sync command); the next call of the same command works."""
    sim, cs = raw_sim(faults=[Fault.parse("createZone#1:job")])
    before = sim.store.seq
    with pytest.raises(CloudStackApiException) as info:
        _zone(cs)
    assert info.value.error["errorcode"] == 530
    assert sim.store.seq == before  # not even an id was handed out
    assert cs.listZones(fetch_list=True) == []
    _zone(cs, "again")
    assert [z["name"] for z in cs.listZones(fetch_list=True)] == ["again"]


def test_fault_syntax_of_latency() -> None:
    fault = Fault.parse("*:latency=0.05")
    assert (fault.command, fault.action, fault.value, fault.nth) == ("*", "latency", "0.05", None)
    assert fault.matches("listZones", 7)


# --- state file and HTTP -----------------------------------------------------------------


def test_state_file_is_written_atomically_and_reloaded(tmp_path: Path) -> None:
    sim, cs = raw_sim(tmp_path)
    _zone(cs)
    sim.store.flush()  # writes are throttled; a flush (or exit) writes what is pending
    assert json.loads((tmp_path / "sim.json").read_text())["format"] == 1
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["sim.json", "sim.json.lock"]  # no temp file left; the lock's sidecar
    again = Simulator(tmp_path / "sim.json", keys={"key": "secret"})
    zones = again.handle(_signed({"command": "listZones"})).body["listzonesresponse"]["zone"]
    assert [z["name"] for z in zones] == ["z1"]


def test_store_saves_its_last_change_soon_after_even_when_nothing_follows(
    tmp_path: Path,
) -> None:
    """Writes are throttled to one per save_interval; the change that came too soon after a
    write is written by a timer, with no further command and no flush."""
    store = Store.load(tmp_path / "sim.json")
    for name in ("a", "b"):  # the second comes within the interval of the first write
        with store.transaction():
            store.add("zone", {"name": name})
    saved_at = time.monotonic()
    while time.monotonic() - saved_at < 1.0 and _names(tmp_path / "sim.json") != ["a", "b"]:
        time.sleep(0.02)
    assert _names(tmp_path / "sim.json") == ["a", "b"]
    store.close()


def _names(path: Path) -> list[str]:
    if not path.exists():
        return []
    return sorted(r["name"] for r in json.loads(path.read_text())["tables"]["zone"].values())


@pytest.fixture
def http_sim(tmp_path: Path):  # type: ignore[no-untyped-def]
    sim = Simulator(tmp_path / "sim.json", keys={"key": "secret"})
    server = make_server(sim, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield sim, f"http://127.0.0.1:{server.server_address[1]}/client/api"
    server.shutdown()
    server.server_close()


def test_cs_client_over_real_http_and_concurrent_clients(http_sim: Any) -> None:
    sim, endpoint = http_sim
    cs = CloudStack(endpoint, "key", "secret", poll_interval=0, fetch_result=True)
    zone = _zone(cs)
    pn = cs.createPhysicalNetwork(name="pn", zoneid=zone["id"])  # async job over HTTP
    assert pn["physicalnetwork"]["zoneid"] == zone["id"]
    errors: list[Exception] = []

    def create(i: int) -> None:
        try:
            CloudStack(endpoint, "key", "secret").createZone(
                name=f"c{i}", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.1"
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    zones = cs.listZones(fetch_list=True)
    assert len(zones) == 13 and len({z["id"] for z in zones}) == 13
    with pytest.raises(CloudStackApiException) as info:
        CloudStack(endpoint, "key", "wrong").listZones()
    assert info.value.response.status_code == 401
    post = CloudStack(endpoint, "key", "secret", method="post")
    assert len(post.listZones(fetch_list=True)) == 13


# --- independence and contract with real responses ---------------------------------------


def _imports(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("simulator", ("cstool.model", "cstool.cloud", "cstool.render", "cs")),
        ("model", ("cstool.cloud", "cstool.simulator", "cs", "requests", "typer")),
        ("render", ("cstool.cloud", "cstool.simulator", "cs", "requests", "typer")),
    ],
)
def test_package_boundaries(package: str, forbidden: tuple[str, ...]) -> None:
    imported = _imports(ROOT / "cstool" / package)
    bad = {m for m in imported for f in forbidden if m == f or m.startswith(f + ".")}
    assert bad == set()


# --- POST enforcement, page size and versions read like the server's -----------------------


def _v3(params: dict[str, str], ahead_minutes: float = 5) -> dict[str, str]:
    """Signed with signature version 3 and an `expires` this far ahead."""
    from datetime import UTC, datetime, timedelta

    expires = datetime.now(UTC) + timedelta(minutes=ahead_minutes)
    return _signed(
        {**params, "signatureVersion": "3", "expires": f"{expires:%Y-%m-%dT%H:%M:%S}+0000"}
    )


def _restart(state: Path, **settings: str) -> Simulator:
    """Change settings on a running simulator, then start a new one on its state: the
    settings below are read once, at start-up, as the server does."""
    sim = Simulator(state, keys={"key": "secret"})
    for name, value in settings.items():
        reply = sim.handle(
            _signed({"command": "updateConfiguration", "name": name, "value": value})
        )
        assert reply.status == 200, reply.body
    sim.store.flush()
    return Simulator(state, keys={"key": "secret"})


ENFORCE = "enforce.post.requests.and.timestamps"
ZONE = {"command": "createZone", "name": "z", "networktype": "Basic", "dns1": "8.8.8.8",
        "internaldns1": "10.0.0.1"}  # fmt: skip


def test_enforced_post_refuses_state_changing_gets_with_the_servers_text(tmp_path: Path) -> None:
    running = Simulator(tmp_path / "before.json", keys={"key": "secret"})
    running.handle(_signed({"command": "updateConfiguration", "name": ENFORCE, "value": "true"}))
    assert running.handle(_v3(ZONE), method="GET").status == 200  # not before a restart
    sim = _restart(tmp_path / "sim.json", **{ENFORCE: "true"})
    refused = sim.handle(_v3(ZONE), method="GET")
    assert refused.status == 400
    assert refused.body["createzoneresponse"]["errortext"] == (
        "State changing command createZone needs to be sent using POST request"
    )
    assert sim.handle(_v3(ZONE), method="POST").status == 200
    assert sim.handle(_v3({"command": "listZones"}), method="GET").status == 200
    setting = {"command": "updateConfiguration", "name": "expunge.delay", "value": "60"}
    config = sim.handle(_v3(setting), method="GET")
    assert (config.status, config.body["updateconfigurationresponse"]["errortext"]) == (
        400,
        "Changes for configuration expunge.delay needs to be sent using POST request",
    )
    unknown = sim.handle(_v3({"command": "frobZone"}), method="GET")
    assert unknown.status == 400 and "errorresponse" in unknown.body
    off = {"command": "updateConfiguration", "name": ENFORCE, "value": "false"}
    assert sim.handle(_v3(off), method="GET").status == 200  # the way back stays open


def test_enforced_timestamps_need_version_3_and_expires_within_15_minutes(tmp_path: Path) -> None:
    sim = _restart(tmp_path / "sim.json", **{ENFORCE: "true"})
    listing = {"command": "listZones"}
    assert sim.handle(_signed(listing)).status == 401  # no signatureVersion/expires
    assert sim.handle(_v3(listing, ahead_minutes=60)).status == 401  # too far ahead
    assert sim.handle(_v3(listing, ahead_minutes=14)).status == 200
    relaxed = Simulator(keys={"key": "secret"})
    assert relaxed.handle(_signed(listing)).status == 200
    assert relaxed.handle(_v3(listing, ahead_minutes=60)).status == 200


def test_post_forms_over_http_are_signed_and_merged_with_the_query(tmp_path: Path) -> None:
    sim = _restart(tmp_path / "sim.json", **{ENFORCE: "true"})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/client/api"
    try:
        post = CloudStack(endpoint, "key", "secret", method="post")
        assert post.createZone(**{k: v for k, v in ZONE.items() if k != "command"})["zone"]
        with pytest.raises(CloudStackApiException) as info:
            CloudStack(endpoint, "key", "secret").createZone(name="y", networktype="Basic")
        assert info.value.response.status_code == 400
        params = _v3({**ZONE, "name": "split"})
        query = {k: params.pop(k) for k in ("command", "apiKey", "signature")}
        split = requests.post(endpoint, params=query, data=params, timeout=5)
        assert split.status_code == 200, split.text
        assert split.json()["createzoneresponse"]["zone"]["name"] == "split"
    finally:
        server.shutdown()
        server.server_close()


def test_page_size_above_the_start_up_default_page_size_is_431(tmp_path: Path) -> None:
    sim = _restart(tmp_path / "sim.json", **{"default.page.size": "3"})
    for i in range(4):
        assert sim.handle(_signed({**ZONE, "name": f"z{i}"})).status == 200
    big = sim.handle(_signed({"command": "listZones", "page": "1", "pagesize": "4"}))
    assert (big.status, big.body["listzonesresponse"]["errortext"]) == (
        431,
        "Page size can't exceed max allowed page size value: 3",
    )
    fits = sim.handle(_signed({"command": "listZones", "page": "2", "pagesize": "3"}))
    assert fits.body == {"listzonesresponse": {"count": 4, "zone": [fits.body["listzonesresponse"]
                                                                   ["zone"][0]]}}  # fmt: skip
    raised = {"command": "updateConfiguration", "name": "default.page.size", "value": "500"}
    assert sim.handle(_signed(raised)).status == 200
    again = sim.handle(_signed({"command": "listZones", "page": "1", "pagesize": "4"}))
    assert again.status == 431  # read at start-up: the running server keeps 3


def test_the_simulator_pretends_to_be_a_chosen_version(traffic_matches_the_api_spec: Any) -> None:
    capabilities = {"command": "listCapabilities"}
    default = Simulator(keys={"key": "secret"}).handle(_signed(capabilities))
    assert default.body["listcapabilitiesresponse"]["capability"]["cloudstackversion"] == "4.22.0.0"
    old = Simulator(keys={"key": "secret"}, version="4.20.0.0")
    reported = old.handle(_signed(capabilities)).body["listcapabilitiesresponse"]["capability"]
    assert reported["cloudstackversion"] == "4.20.0.0"
    zone = {**ZONE, "storageaccessgroups": "ssd", "details[0].key": "k"}
    assert old._known_params("createZone", zone) == {
        k: v for k, v in zone.items() if k != "storageaccessgroups"
    }  # 4.21.0: unknown to 4.20, so ignored
    assert Simulator(version="4.21.0.0")._known_params("createZone", zone) == zone
    ancient = Simulator(keys={"key": "secret"}, version="4.10.0.0")  # before 4.11.0.0
    unknown = ancient.handle(_signed({"command": "createManagementNetworkIpRange", "podid": "x"}))
    assert unknown.status == 401 and "errorresponse" in unknown.body
    # the spec check knows 4.22, where the command exists; to 4.10 it is unknown, and
    # ApiServer.getSerializedApiError names no command class: errorresponse is right here
    problems = traffic_matches_the_api_spec.problems
    problems[:] = [
        p for p in problems if not p.startswith("createManagementNetworkIpRange: envelope")
    ]
    with pytest.raises(ValueError, match="not a CloudStack version"):
        Simulator(version="latest")
