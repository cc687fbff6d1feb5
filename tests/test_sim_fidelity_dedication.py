"""The simulator's owners (domains, accounts, projects), dedications and guest IPv6 prefixes
answer as the CloudStack 4.22 server does: the same code, in the same place (a synchronous
HTTP error or a failed async job) and with the server's text. Each rule names the server
method it copies in cstool/simulator/commands/tenancy.py, dedication.py and ipv6.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from cstool.simulator.settings import OFFERINGS
from cstool.simulator.transport import Simulator, signature

MASK = "255.255.255.0"
ACME = "ROOT/customers/acme"

# --- helpers -----------------------------------------------------------------------------


def _signed(params: dict[str, str]) -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, "secret")}


def answer(sim: Simulator, command: str, **params: Any) -> tuple[str, int, str, dict[str, Any]]:
    """(where, code, error text, body): "sync" for an HTTP answer, "job" for the outcome of
    the async job it started."""
    sent = {k: str(v) for k, v in params.items()}
    reply = sim.handle(_signed({"command": command, **sent}))
    inner = reply.body[f"{command.lower()}response"]
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


def ok(sim: Simulator, command: str, **params: Any) -> dict[str, Any]:
    where, code, text, body = answer(sim, command, **params)
    assert code in (0, 200), text
    return body


def refused(sim: Simulator, command: str, where: str, code: int, text: str, **params: Any) -> None:
    got_where, got_code, got_text, _ = answer(sim, command, **params)
    assert (got_where, got_code) == (where, code), got_text
    assert got_text.startswith(text), got_text


def listed(sim: Simulator, command: str, key: str, **params: Any) -> list[dict[str, Any]]:
    return list(ok(sim, command, **params).get(key, []))


@pytest.fixture
def sim() -> Simulator:
    sim = Simulator(keys={"key": "secret"}, job_polls=0)
    sim.add_account(ACME, "acme-admin")
    sim.add_account("ROOT/customers", "other")
    sim.add_account("ROOT/beta", "beta-admin")
    sim.add_project(ACME, "web")
    return sim


def _domain(sim: Simulator, path: str) -> str:
    (row,) = [d for d in listed(sim, "listDomains", "domain", listall="true") if d["path"] == path]
    return str(row["id"])


@pytest.fixture
def lab(sim: Simulator) -> dict[str, Any]:
    """An Advanced zone with a physical network (vnets 100-200) carrying Management, Guest
    and Public, a pod, a cluster and a host."""
    zone = ok(
        sim,
        "createZone",
        name="z1",
        networktype="Advanced",
        dns1="8.8.8.8",
        internaldns1="10.0.0.2",
        domain="example.org",
    )["zone"]
    pn = ok(
        sim,
        "createPhysicalNetwork",
        name="pn",
        zoneid=zone["id"],
        isolationmethods="VLAN",
        vlan="100-200",
    )["physicalnetwork"]
    for traffic in ("Management", "Guest", "Public"):
        ok(sim, "addTrafficType", physicalnetworkid=pn["id"], traffictype=traffic)
    pod = ok(
        sim,
        "createPod",
        zoneid=zone["id"],
        name="p1",
        gateway="10.10.1.254",
        netmask=MASK,
        startip="10.10.1.20",
        endip="10.10.1.25",
    )["pod"]
    cluster = ok(
        sim,
        "addCluster",
        zoneid=zone["id"],
        podid=pod["id"],
        clustername="c1",
        clustertype="CloudManaged",
        hypervisor="Simulator",
    )["cluster"][0]
    host = ok(
        sim,
        "addHost",
        zoneid=zone["id"],
        podid=pod["id"],
        clusterid=cluster["id"],
        hypervisor="Simulator",
        url="http://sim/c1/h1",
        username="root",
        password="pw-for-the-simulator",
    )["host"][0]
    root, acme = _domain(sim, "ROOT"), _domain(sim, ACME)
    customers = _domain(sim, "ROOT/customers")
    return {
        "zone": zone,
        "pn": pn,
        "pod": pod,
        "cluster": cluster,
        "host": host,
        "root": root,
        "acme": acme,
        "customers": customers,
    }


# --- owners ------------------------------------------------------------------------------


def test_seeds_and_given_owners_take_no_id_from_the_sequence() -> None:
    sim = Simulator(keys={"key": "secret"})
    assert sim.store.seq == len(OFFERINGS)  # only the offerings take ids at start
    sim.add_project(ACME, "web")
    sim.add_account("ROOT/x", "y")
    assert sim.store.seq == len(OFFERINGS)
    again = Simulator(keys={"key": "secret"})
    assert again.add_domain(ACME) == sim.add_domain(ACME)  # fixed ids
    with pytest.raises(ValueError, match="not a domain path"):
        sim.add_domain("customers/acme")


def test_list_domains_accounts_and_projects(sim: Simulator) -> None:
    domains = {d["path"]: d for d in listed(sim, "listDomains", "domain")}
    assert list(domains) == ["ROOT", "ROOT/customers", ACME, "ROOT/beta"]
    assert domains["ROOT"]["level"] == 0 and domains["ROOT"]["haschild"] is True
    assert "parentdomainid" not in domains["ROOT"]
    acme = domains[ACME]
    assert (acme["name"], acme["level"], acme["haschild"]) == ("acme", 2, False)
    assert acme["parentdomainid"] == domains["ROOT/customers"]["id"]
    # QM.searchForAccountIdsAndCount: without listall only the caller; never system nor a
    # project's account
    assert [a["name"] for a in listed(sim, "listAccounts", "account")] == ["admin"]
    everyone = listed(sim, "listAccounts", "account", listall="true")
    assert [a["name"] for a in everyone] == ["admin", "acme-admin", "other", "beta-admin"]
    only = listed(sim, "listAccounts", "account", domainid=acme["id"])
    assert [(a["name"], a["domainpath"]) for a in only] == [("acme-admin", ACME)]
    below = listed(
        sim, "listAccounts", "account", domainid=domains["ROOT/customers"]["id"], isrecursive="true"
    )
    assert {a["name"] for a in below} == {"acme-admin", "other"}
    (project,) = listed(sim, "listProjects", "project", listall="true", name="web")
    assert project["domainid"] == acme["id"]


# --- explicit dedication -----------------------------------------------------------------


def test_dedicate_zone_sets_its_domain_and_answers_without_object_name(
    sim: Simulator, lab: dict[str, Any]
) -> None:
    zoneid = lab["zone"]["id"]
    result = ok(sim, "dedicateZone", zoneid=zoneid, domainid=lab["acme"], account="acme-admin")
    (item,) = result["null"]["responses"]
    assert item["zoneid"] == zoneid and item["zonename"] == "z1" and item["accountid"]
    (zone,) = listed(sim, "listZones", "zone", id=zoneid)
    assert (zone["domainid"], zone["domainname"]) == (lab["acme"], "acme")
    (row,) = listed(sim, "listDedicatedZones", "dedicatedzone", zoneid=zoneid)
    assert row["id"] == item["id"] and row["affinitygroupid"] == item["affinitygroupid"]
    refused(
        sim,
        "dedicateZone",
        "job",
        530,
        "Zone  z1 is already dedicated",
        zoneid=zoneid,
        domainid=lab["acme"],
    )
    # DR:953-958: the release clears the zone's domain and its network domain too
    ok(sim, "releaseDedicatedZone", zoneid=zoneid)
    (zone,) = listed(sim, "listZones", "zone", id=zoneid)
    assert "domainid" not in zone and "domain" not in zone
    assert listed(sim, "listDedicatedZones", "dedicatedzone") == []
    refused(
        sim,
        "releaseDedicatedZone",
        "job",
        431,
        "No Dedicated Resource available to release",
        zoneid=zoneid,
    )


def test_owner_refusals(sim: Simulator, lab: dict[str, Any]) -> None:
    # AM.finalizeOwner: the account must be in that very domain (431 in the job)
    refused(
        sim,
        "dedicatePod",
        "job",
        431,
        "Unable to find account acme-admin in domain Domain {",
        podid=lab["pod"]["id"],
        domainid=lab["customers"],
        account="acme-admin",
    )
    refused(
        sim,
        "dedicatePod",
        "sync",
        431,
        "Unable to execute API command dedicatepod due to invalid value",
        podid=lab["pod"]["id"],
        domainid="nope",
    )
    refused(
        sim,
        "listDedicatedPods",
        "sync",
        431,
        "Please specify the domain id of the account: acme-admin",
        account="acme-admin",
    )


def test_children_under_a_dedicated_ancestor(sim: Simulator, lab: dict[str, Any]) -> None:
    zoneid, podid = lab["zone"]["id"], lab["pod"]["id"]
    ok(sim, "dedicateZone", zoneid=zoneid, domainid=lab["customers"])
    # DR:301-310: a domain-only zone of D takes a pod of D or below, with or without account
    refused(
        sim,
        "dedicatePod",
        "job",
        530,
        "Pod's Zone z1 is already dedicated",
        podid=podid,
        domainid=lab["root"],
    )
    ok(sim, "dedicatePod", podid=podid, domainid=lab["acme"], account="acme-admin")
    # DR:432-441: under an account pod, no cluster of anyone
    refused(
        sim,
        "dedicateCluster",
        "job",
        530,
        "Cluster's Pod p1 is already dedicated",
        clusterid=lab["cluster"]["id"],
        domainid=lab["acme"],
        account="acme-admin",
    )
    refused(
        sim,
        "dedicateHost",
        "job",
        530,
        "Host's Pod p1 is already dedicated",
        hostid=lab["host"]["id"],
        domainid=lab["acme"],
    )


def test_dedicating_a_parent_releases_the_same_owners_children(
    sim: Simulator, lab: dict[str, Any]
) -> None:
    clusterid = lab["cluster"]["id"]
    result = ok(
        sim, "dedicateCluster", clusterid=clusterid, domainid=lab["acme"], account="acme-admin"
    )
    group = result["dedicatedcluster"]["affinitygroupid"]
    ok(sim, "dedicatePod", podid=lab["pod"]["id"], domainid=lab["acme"], account="acme-admin")
    assert listed(sim, "listDedicatedClusters", "dedicatedcluster") == []
    (pod,) = listed(sim, "listDedicatedPods", "dedicatedpod")
    # DR:175-177 releases the cluster first, and its emptied group goes (DR:964-970); the pod
    # gets a new one, named after the pod (DR:635)
    assert pod["affinitygroupid"] != group
    groups = sim.store.rows("affinitygroup")
    assert [g["name"] for g in groups] == ["DedicatedPodGrp-acme-admin"]
    refused(
        sim,
        "dedicateCluster",
        "job",
        530,
        "Cluster's Pod p1 is already dedicated",
        clusterid=clusterid,
        domainid=lab["acme"],
    )
    pod2 = ok(
        sim,
        "createPod",
        zoneid=lab["zone"]["id"],
        name="p2",
        gateway="10.10.2.254",
        netmask=MASK,
        startip="10.10.2.20",
        endip="10.10.2.25",
    )["pod"]
    ok(sim, "dedicatePod", podid=pod2["id"], domainid=lab["acme"], account="acme-admin")
    rows = listed(sim, "listDedicatedPods", "dedicatedpod")
    assert {r["affinitygroupid"] for r in rows} == {pod["affinitygroupid"]}  # DR:629-632
    ok(sim, "deletePod", id=pod2["id"])  # CM:1883-1886: the row goes, the group stays
    assert len(listed(sim, "listDedicatedPods", "dedicatedpod")) == 1


def test_another_owners_child_blocks_and_a_domain_child_is_the_npe(
    sim: Simulator, lab: dict[str, Any]
) -> None:
    ok(sim, "dedicateCluster", clusterid=lab["cluster"]["id"], domainid=lab["acme"])
    # DR:183-184: a child outside the new owner's domain subtree
    refused(
        sim,
        "dedicateZone",
        "job",
        530,
        "Cluster c1 under this Zone z1 is dedicated to different account/domain",
        zoneid=lab["zone"]["id"],
        domainid=_domain(sim, "ROOT/beta"),
        account="beta-admin",
    )
    # DR:186-187: an account parent over a domain-only child: getAccountId() is null
    refused(
        sim,
        "dedicatePod",
        "job",
        530,
        'Cannot invoke "java.lang.Long.equals(Object)"',
        podid=lab["pod"]["id"],
        domainid=lab["acme"],
        account="acme-admin",
    )


def test_delete_drops_the_dedication(sim: Simulator, lab: dict[str, Any]) -> None:
    hostid = lab["host"]["id"]
    (item,) = ok(sim, "dedicateHost", hostid=hostid, domainid=lab["acme"])["null"]["responses"]
    assert "accountid" not in item and item["hostname"]
    ok(sim, "prepareHostForMaintenance", id=hostid)
    for _ in range(3):
        listed(sim, "listHosts", "host", id=hostid)
    ok(sim, "deleteHost", id=hostid, forced="true")
    assert listed(sim, "listDedicatedHosts", "dedicatedhost") == []


# --- public IP ranges --------------------------------------------------------------------


def _public(sim: Simulator, lab: dict[str, Any], start: str, end: str, **extra: Any) -> str:
    body = ok(
        sim,
        "createVlanIpRange",
        zoneid=lab["zone"]["id"],
        vlan="300",
        gateway="192.0.2.1",
        netmask=MASK,
        startip=start,
        endip=end,
        **extra,
    )
    return str(body["vlan"]["id"])


def test_dedicate_and_release_a_public_range(sim: Simulator, lab: dict[str, Any]) -> None:
    rid = _public(sim, lab, "192.0.2.10", "192.0.2.20")
    refused(
        sim,
        "dedicatePublicIpRange",
        "sync",
        431,
        "Please specify a valid account. Cannot dedicate IP range to system account",
        id=rid,
        domainid=lab["root"],
        account="system",
    )
    refused(
        sim,
        "dedicatePublicIpRange",
        "sync",
        431,
        "Unable to find account by name nobody",
        id=rid,
        domainid=lab["acme"],
        account="nobody",
    )
    refused(sim, "releasePublicIpRange", "sync", 431, "Can't release Public IP range ", id=rid)
    ok(sim, "dedicatePublicIpRange", id=rid, domainid=lab["acme"])
    refused(
        sim,
        "dedicatePublicIpRange",
        "sync",
        431,
        "Specified Public IP range has already been dedicated to a domain",
        id=rid,
        domainid=lab["acme"],
        account="acme-admin",
    )
    ok(sim, "releasePublicIpRange", id=rid)
    ok(sim, "dedicatePublicIpRange", id=rid, domainid=lab["acme"], account="acme-admin")
    refused(
        sim,
        "dedicatePublicIpRange",
        "sync",
        431,
        "Specified Public IP range has already been dedicated",
        id=rid,
        domainid=lab["acme"],
    )
    system = _public(sim, lab, "192.0.2.30", "192.0.2.40", forsystemvms="true")
    refused(
        sim,
        "dedicatePublicIpRange",
        "sync",
        431,
        "192.0.2.30 Public IP address in range is dedicated to system vms ",
        id=system,
        domainid=lab["acme"],
    )


# --- guest VLAN ranges -------------------------------------------------------------------


def _vlans(sim: Simulator, pnid: str) -> list[tuple[str, str]]:
    rows = listed(
        sim, "listDedicatedGuestVlanRanges", "dedicatedguestvlanrange", physicalnetworkid=pnid
    )
    return [(r["guestvlanrange"], r.get("project") or r["account"]) for r in rows]


def test_guest_vlan_range_refusals(sim: Simulator, lab: dict[str, Any]) -> None:
    pn = lab["pn"]["id"]
    base = {"physicalnetworkid": pn, "domainid": lab["acme"]}
    refused(
        sim,
        "dedicateGuestVlanRange",
        "sync",
        431,
        "Unable to find account by name null",
        vlanrange="100-110",
        **base,
    )
    refused(
        sim,
        "dedicateGuestVlanRange",
        "sync",
        431,
        "Invalid format for parameter value vlan "
        "100 .Vlan should be specified as 'startvlan-endvlan'",
        vlanrange="100",
        account="acme-admin",
        **base,
    )
    refused(
        sim,
        "dedicateGuestVlanRange",
        "sync",
        431,
        "Unable to find guest vlan by range 150-250",
        vlanrange="150-250",
        account="acme-admin",
        **base,
    )
    ok(sim, "dedicateGuestVlanRange", vlanrange="100-110", account="acme-admin", **base)
    refused(
        sim,
        "dedicateGuestVlanRange",
        "sync",
        431,
        "Vlan range is already dedicated. Cannot dedicate guest vlan range 105-120",
        vlanrange="105-120",
        account="acme-admin",
        **base,
    )
    # NS:4645-4655: the vnet range cannot shrink over a dedicated range
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Vnet range 100-110 is dedicated to an account. The specified range 100-104 overlaps",
        id=pn,
        vlan="105-200",
    )
    ok(sim, "updatePhysicalNetwork", id=pn, vlan="100-150")


def test_guest_vlan_ranges_merge_as_the_server_does(sim: Simulator, lab: dict[str, Any]) -> None:
    pn = lab["pn"]["id"]
    acme = {"physicalnetworkid": pn, "domainid": lab["acme"], "account": "acme-admin"}
    other = {"physicalnetworkid": pn, "domainid": lab["customers"], "account": "other"}
    first = ok(sim, "dedicateGuestVlanRange", vlanrange="100-110", **acme)
    view = first["dedicatedguestvlanrange"]
    assert isinstance(view["physicalnetworkid"], int) and isinstance(view["zoneid"], int)
    assert view["domainpath"] == ACME
    ok(sim, "dedicateGuestVlanRange", vlanrange="111-115", **acme)  # right: merged
    ok(sim, "dedicateGuestVlanRange", vlanrange="130-140", **acme)
    ok(sim, "dedicateGuestVlanRange", vlanrange="116-129", **acme)  # bridges two: one row
    assert _vlans(sim, pn) == [("100-140", "acme-admin")]
    (row,) = listed(sim, "listDedicatedGuestVlanRanges", "dedicatedguestvlanrange")
    assert row["id"] == view["id"]  # the left row keeps its id
    # NS:4917-4924: a left-adjacent row of another owner ends the scan: no merge
    ok(sim, "dedicateGuestVlanRange", vlanrange="150-160", **other)
    ok(sim, "dedicateGuestVlanRange", vlanrange="145-149", **acme)
    assert _vlans(sim, pn) == [
        ("100-140", "acme-admin"),
        ("150-160", "other"),
        ("145-149", "acme-admin"),
    ]
    # a same-owner row on the left merges even when another owner's row follows
    ok(sim, "dedicateGuestVlanRange", vlanrange="141-144", **acme)
    assert _vlans(sim, pn) == [("100-149", "acme-admin"), ("150-160", "other")]
    project = {"physicalnetworkid": pn, "projectid": _project(sim)}
    ok(sim, "dedicateGuestVlanRange", vlanrange="170-170", **project)
    assert ("170-170", "web") in _vlans(sim, pn)
    (gone,) = listed(
        sim, "listDedicatedGuestVlanRanges", "dedicatedguestvlanrange", guestvlanrange="150-160"
    )
    ok(sim, "releaseDedicatedGuestVlanRange", id=gone["id"])
    assert ("150-160", "other") not in _vlans(sim, pn)


def _project(sim: Simulator) -> str:
    (project,) = listed(sim, "listProjects", "project", listall="true", name="web")
    return str(project["id"])


# --- guest IPv6 prefixes -----------------------------------------------------------------


def test_ipv6_prefixes(sim: Simulator, lab: dict[str, Any]) -> None:
    zoneid = lab["zone"]["id"]
    made = ok(sim, "createGuestNetworkIpv6Prefix", zoneid=zoneid, prefix="fd00:10::/56")
    assert made["null"]["prefix"] == "fd00:10::/56"
    refused(
        sim,
        "createGuestNetworkIpv6Prefix",
        "job",
        431,
        "IPv6 prefix must be /64 or less",
        zoneid=zoneid,
        prefix="fd00:20::/65",
    )
    refused(
        sim,
        "createGuestNetworkIpv6Prefix",
        "job",
        431,
        "IPv6 prefix fd00:10:0:10::/60 overlaps with the existing IPv6 prefix fd00:10::/56",
        zoneid=zoneid,
        prefix="fd00:10:0:10::/60",
    )
    refused(sim, "createGuestNetworkIpv6Prefix", "job", 530, "", zoneid=zoneid, prefix="nonsense")
    body = ok(sim, "listGuestNetworkIpv6Prefixes", zoneid=zoneid, pagesize=1, page=2)
    (row,) = body["guestnetworkipv6prefix"]  # paging ignored
    assert (row["totalsubnets"], row["usedsubnets"], body["count"]) == (256, 0, 1)
    ok(sim, "deleteGuestNetworkIpv6Prefix", id=row["id"])
    assert listed(sim, "listGuestNetworkIpv6Prefixes", "guestnetworkipv6prefix") == []


def test_sim_serve_owner_options_give_the_simulator_its_owners() -> None:
    from cstool.cli import _sim_owners

    sim = Simulator(keys={"key": "secret"})
    _sim_owners(sim, ["ROOT/a/b"], ["ROOT/a:alice"], ["ROOT/a/b:site"])
    paths = [d["path"] for d in listed(sim, "listDomains", "domain")]
    assert paths == ["ROOT", "ROOT/a", "ROOT/a/b"]
    accounts = listed(sim, "listAccounts", "account", listall="true")
    assert [a["name"] for a in accounts] == ["admin", "alice"]
    assert [p["name"] for p in listed(sim, "listProjects", "project")] == ["site"]
    with pytest.raises(ValueError, match="--account 'alice': write PATH:NAME"):
        _sim_owners(sim, [], ["alice"], [])
