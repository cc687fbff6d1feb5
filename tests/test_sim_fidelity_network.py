"""The simulator's zone, physical network, traffic type and provider commands answer as the
CloudStack 4.22 server does: the same code, in the same place (a synchronous HTTP error or a
failed async job) and with the server's text. Each rule names the server method it copies in
cstool/simulator/commands/zones.py and physical.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from cs import CloudStack

from cstool.simulator.transport import Simulator, signature
from tests.conftest import raw_sim

# --- helpers -----------------------------------------------------------------------------


def _signed(params: dict[str, str]) -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, "secret")}


def answer(sim: Simulator, command: str, **params: str) -> tuple[str, int, str, dict[str, Any]]:
    """(where, code, error text, body): where is "sync" for an HTTP answer and "job" for the
    outcome of the async job it started; code is the HTTP status or the job's result code."""
    reply = sim.handle(_signed({"command": command, **params}))
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


def refused(
    sim: Simulator, command: str, where: str, code: int, text: str, **params: str
) -> dict[str, Any]:
    """Assert the server's refusal: placement, code and the start of its text."""
    got_where, got_code, got_text, body = answer(sim, command, **params)
    assert (got_where, got_code) == (where, code), got_text
    assert got_text.startswith(text), got_text
    return body


def accepted(sim: Simulator, command: str, **params: str) -> dict[str, Any]:
    where, code, text, body = answer(sim, command, **params)
    assert code in (0, 200), text
    return body


def zone(cs: CloudStack, name: str = "z1", **extra: Any) -> dict[str, Any]:
    params = {
        "name": name,
        "networktype": "Advanced",
        "dns1": "8.8.8.8",
        "internaldns1": "10.0.0.1",
        **extra,
    }
    return dict(cs.createZone(**params)["zone"])


def physical(cs: CloudStack, zoneid: str, name: str = "pn", **extra: Any) -> dict[str, Any]:
    return dict(cs.createPhysicalNetwork(name=name, zoneid=zoneid, **extra)["physicalnetwork"])


def providers(cs: CloudStack, pnid: str) -> list[tuple[str, str]]:
    """(name, state) in creation order (the list answers newest first)."""
    rows = cs.listNetworkServiceProviders(physicalnetworkid=pnid, fetch_list=True)
    return [(r["name"], r["state"]) for r in reversed(rows)]


def provider(cs: CloudStack, pnid: str, name: str) -> dict[str, Any]:
    (row,) = cs.listNetworkServiceProviders(physicalnetworkid=pnid, name=name, fetch_list=True)
    return dict(row)


# --- zones -------------------------------------------------------------------------------


def test_create_zone_refusals_are_the_servers() -> None:
    sim, cs = raw_sim()
    zone(cs, "z1")
    base = {"name": "z2", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.1"}
    cases = [
        ({"networktype": "Hybrid"}, "Invalid zone type; only Advanced and Basic values"),
        (
            {"networktype": "basic", "guestcidraddress": ""},
            "guestCidrAddress parameter is not supported for Basic zone",
        ),
        ({"networktype": "Basic", "isedge": "true"}, "Only advanced network type zones can be"),
        ({"guestcidraddress": "8.8.0.0/16"}, "Please enter a valid guest cidr"),
        ({"guestcidraddress": "10.0.0.0/33"}, "Please enter a valid guest cidr"),
        ({"domain": "-lab.example"}, "Invalid network domain. Total length shouldn't exceed"),
        ({"domain": "lab..example"}, "Invalid network domain."),
        ({"name": "Z1"}, "A zone with that name already exists. Please specify a unique"),
        ({"dns2": "8.8.8"}, "Please enter a valid IP address for DNS2"),
        ({"internaldns2": "10.0.0.300"}, "Please enter a valid IP address for internal DNS2"),
        ({"ip6dns1": "2001:db8::zz"}, "Please enter a valid IPv6 address for IP6 DNS1"),
        ({"allocationstate": "enabled"}, "Unable to resolve Allocation State 'enabled' to a"),
    ]
    for extra, text in cases:
        refused(sim, "createZone", "sync", 431, text, **{**base, **extra})
    assert cs.listZones(fetch_list=True)[0]["name"] == "z1"  # nothing was created


def test_guest_cidr_must_be_private_unless_the_setting_allows_any() -> None:
    sim, cs = raw_sim()
    assert zone(cs, "rfc6598", guestcidraddress="100.64.0.0/16")["guestcidraddress"]
    assert zone(cs, "hostbits", guestcidraddress="10.1.2.3/16")["guestcidraddress"] == (
        "10.1.2.3/16"  # stored as sent
    )
    refused(
        sim,
        "updateZone",
        "sync",
        431,
        "Please enter a valid guest cidr",
        id=cs.listZones(name="rfc6598", fetch_list=True)[0]["id"],
        guestcidraddress="192.0.2.0/24",
    )
    cs.updateConfiguration(name="allow.non.rfc1918.compliant.ips", value="true")
    assert zone(cs, "public", guestcidraddress="192.0.2.0/24")["guestcidraddress"]


def test_update_zone_clears_second_dns_only_when_sent_empty() -> None:
    sim, cs = raw_sim()
    z = zone(cs, dns2="8.8.4.4", internaldns2="10.0.0.2", domain="lab.example")
    kept = accepted(sim, "updateZone", id=z["id"], dns1="1.1.1.1")["zone"]
    assert (kept["dns2"], kept["internaldns2"]) == ("8.8.4.4", "10.0.0.2")
    cleared = accepted(sim, "updateZone", id=z["id"], dns2="", internaldns2="", domain="")
    # stored as the empty string (DataCenterVO), shown as such; the network domain is null
    assert (cleared["zone"]["dns2"], cleared["zone"]["internaldns2"]) == ("", "")
    assert "domain" not in cleared["zone"]
    (listed,) = cs.listZones(id=z["id"], fetch_list=True)
    assert listed["dns2"] == "" and listed["dns1"] == "1.1.1.1"
    refused(
        sim,
        "updateZone",
        "sync",
        431,
        "Please enter a valid IP address for DNS2",
        id=z["id"],
        dns2="nameserver",
    )
    refused(
        sim,
        "updateZone",
        "sync",
        431,
        "Invalid network domain. Total length",
        id=z["id"],
        domain="bad_label.example",
    )


def test_zone_names_are_compared_without_case() -> None:
    sim, cs = raw_sim()
    z1, z2 = zone(cs, "ams1"), zone(cs, "ams2")
    dup = "A zone with that name already exists"
    refused(sim, "updateZone", "sync", 431, dup, id=z2["id"], name="AMS1")
    # the check runs whenever the name changes (a case-sensitive comparison), and it finds the
    # zone itself: editZone refuses a change of case only
    refused(sim, "updateZone", "sync", 431, dup, id=z1["id"], name="Ams1")
    assert accepted(sim, "updateZone", id=z1["id"], name="ams1")["zone"]["name"] == "ams1"
    assert [z["id"] for z in cs.listZones(name="AMS2", fetch_list=True)] == [z2["id"]]


def test_enabling_refusals_and_edge_zones() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    refused(
        sim,
        "updateZone",
        "sync",
        431,
        "Cannot enable this Zone since: Unable to find the default physical network with "
        "traffic=Management in the specified zone id",
        id=z["id"],
        allocationstate="Enabled",
    )
    pn = physical(cs, z["id"])
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Management")
    refused(
        sim,
        "updateZone",
        "sync",
        431,
        "Cannot enable this Zone since: Unable to find the default physical network with "
        "traffic=Public",
        id=z["id"],
        allocationstate="Enabled",
    )
    edge = zone(cs, "edge", isedge="true")
    assert edge["type"] == "Edge"
    enabled = accepted(sim, "updateZone", id=edge["id"], allocationstate="Enabled")
    assert enabled["zone"]["allocationstate"] == "Enabled"  # no traffic checks for Edge zones


def test_delete_zone_refusal_text() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    physical(cs, z["id"])
    refused(
        sim,
        "deleteZone",
        "sync",
        530,
        "The zone cannot be deleted because there are physical networks in this zone.",
        id=z["id"],
    )


# --- providers createPhysicalNetwork adds ------------------------------------------------

ADVANCED = [
    ("VirtualRouter", "Disabled"),
    ("SecurityGroupProvider", "Disabled"),
    ("VpcVirtualRouter", "Disabled"),
    ("BaremetalPxeProvider", "Enabled"),
    ("InternalLbVm", "Disabled"),
    ("Tungsten", "Disabled"),
    ("ConfigDrive", "Enabled"),
    ("Nsx", "Disabled"),
    ("Netris", "Enabled"),
]
BASIC = [
    ("VirtualRouter", "Disabled"),
    ("SecurityGroupProvider", "Disabled"),
    ("VpcVirtualRouter", "Disabled"),
    ("BaremetalDhcpProvider", "Disabled"),
    ("BaremetalPxeProvider", "Disabled"),
    ("BaremetalUserdataProvider", "Disabled"),
    ("InternalLbVm", "Disabled"),
    ("Tungsten", "Disabled"),
]


def _disabled(expected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, "Disabled") for name, _ in expected]


def test_default_providers_of_advanced_zones_and_the_first_row_quirk() -> None:
    _, cs = raw_sim()
    z1, z2 = zone(cs, "z1"), zone(cs, "z2")
    first = physical(cs, z1["id"], isolationmethods="VLAN")
    assert providers(cs, first["id"]) == ADVANCED
    # enableProvider enables the first row of that name in the whole cloud: the second
    # physical network's BaremetalPxeProvider, ConfigDrive and Netris stay Disabled
    second = physical(cs, z2["id"], isolationmethods="VXLAN")
    assert providers(cs, second["id"]) == _disabled(ADVANCED)
    # ... and creating one re-enables the first row if it had been disabled
    config_drive = provider(cs, first["id"], "ConfigDrive")
    cs.updateNetworkServiceProvider(id=config_drive["id"], state="Disabled")
    third = physical(cs, z2["id"], name="pn3", isolationmethods="GRE")
    assert provider(cs, first["id"], "ConfigDrive")["state"] == "Enabled"
    # GRE: Ovs right after VirtualRouter ("GRE" matched exactly)
    assert providers(cs, third["id"]) == [
        ("VirtualRouter", "Disabled"),
        ("Ovs", "Disabled"),
        *_disabled(ADVANCED)[1:],
    ]
    lower = physical(cs, z2["id"], name="pn4", isolationmethods="gre")
    assert "Ovs" not in dict(providers(cs, lower["id"]))


def test_default_providers_of_basic_zones() -> None:
    _, cs = raw_sim()
    basic = zone(cs, "b", networktype="Basic")
    pn = physical(cs, basic["id"])
    assert providers(cs, pn["id"]) == BASIC  # no ConfigDrive, Nsx, Netris; nothing enabled
    # a later Advanced physical network enables the oldest BaremetalPxeProvider: the Basic one
    adv = physical(cs, zone(cs, "a")["id"])
    assert provider(cs, pn["id"], "BaremetalPxeProvider")["state"] == "Enabled"
    assert provider(cs, adv["id"], "BaremetalPxeProvider")["state"] == "Disabled"
    assert provider(cs, adv["id"], "ConfigDrive")["state"] == "Enabled"


def test_default_provider_services_and_elements() -> None:
    _, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    vpc = provider(cs, pn["id"], "VpcVirtualRouter")
    # PhysicalNetworkServiceProviderVO.getEnabledServices: fixed order, never NetworkACL
    assert vpc["servicelist"] == [
        "Vpn",
        "Dhcp",
        "Dns",
        "Gateway",
        "Lb",
        "SourceNat",
        "StaticNat",
        "PortForwarding",
        "UserData",
    ]
    assert vpc["canenableindividualservice"] is True
    assert provider(cs, pn["id"], "ConfigDrive")["servicelist"] == ["Dhcp", "Dns", "UserData"]
    assert provider(cs, pn["id"], "BaremetalPxeProvider")["servicelist"] == []
    sg = provider(cs, pn["id"], "SecurityGroupProvider")
    assert sg["canenableindividualservice"] is False and "destinationphysicalnetworkid" not in sg
    elements = cs.listVirtualRouterElements(fetch_list=True)
    nsps = {provider(cs, pn["id"], n)["id"] for n in ("VirtualRouter", "VpcVirtualRouter")}
    assert {e["nspid"] for e in elements} == nsps
    assert len(cs.listInternalLoadBalancerElements(fetch_list=True)) == 1


# --- createPhysicalNetwork / updatePhysicalNetwork --------------------------------------


def test_create_physical_network_refusals_are_synchronous() -> None:
    sim, cs = raw_sim()
    adv, basic = zone(cs, "a"), zone(cs, "b", networktype="Basic")
    physical(cs, basic["id"])
    cases: list[tuple[dict[str, str], int, str]] = [
        (
            {"zoneid": basic["id"]},
            530,
            'Cannot add the physical network to basic zone: Zone {"id": "2", "name": "b"',
        ),
        ({"zoneid": adv["id"], "tags": "a,b"}, 431, "Only one tag can be specified"),
        ({"zoneid": adv["id"], "isolationmethods": "VLAN,GRE"}, 431, "Only one isolationMethod"),
        ({"zoneid": adv["id"], "broadcastdomainrange": "pod"}, 431, "Advance zone can have"),
        ({"zoneid": adv["id"], "broadcastdomainrange": "rack"}, 431, "Unable to resolve"),
        # vnet ranges are checked inside the creating transaction: any refusal becomes this
        ({"zoneid": adv["id"], "vlan": "500"}, 530, "Fail to create a physical network"),
        ({"zoneid": adv["id"], "vlan": "100-5000"}, 530, "Fail to create a physical network"),
    ]
    for params, code, text in cases:
        refused(sim, "createPhysicalNetwork", "sync", code, text, name="x", **params)
    b2 = zone(cs, "b2", networktype="Basic")
    refused(
        sim,
        "createPhysicalNetwork",
        "sync",
        431,
        "Can't add vnet range to the physical network in the Basic zone",
        name="x",
        zoneid=b2["id"],
        vlan="",
    )
    refused(
        sim,
        "createPhysicalNetwork",
        "sync",
        431,
        "Basic zone can have broadcast domain type of value POD only",
        name="x",
        zoneid=b2["id"],
        broadcastdomainrange="Zone",
    )
    assert physical(cs, b2["id"], broadcastdomainrange="pod")["broadcastdomainrange"] == "POD"


def test_create_in_an_enabled_zone_is_a_permission_refusal() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    pn = physical(cs, z["id"])
    for ttype in ("Management", "Guest", "Public"):
        cs.addTrafficType(physicalnetworkid=pn["id"], traffictype=ttype)
    cs.updateZone(id=z["id"], allocationstate="Enabled")
    refused(
        sim,
        "createPhysicalNetwork",
        "sync",
        531,
        f'Cannot create PhysicalNetwork since the Zone is currently enabled, zone: Zone {{"id": '
        f'"1", "name": "z1", "uuid": "{z["id"]}"}}',
        name="x",
        zoneid=z["id"],
    )


def test_vnet_range_rules_fail_the_update_job() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    pn = physical(cs, z["id"], vlan="100-200")
    cases = [
        ("500", "Please provide valid vnet range. vnet range should be a comma separated list"),
        ("a-b", "Please provide valid vnet range. The vnet range should be a comma separated"),
        ("10-5000", "Vnet range has to be between 0 and 4095"),
        ("300-200", "Vnet range has to be between 0 and 4095 and start range should be lesser"),
    ]
    for vlan, text in cases:
        refused(sim, "updatePhysicalNetwork", "job", 431, text, id=pn["id"], vlan=vlan)
    assert cs.listPhysicalNetworks(id=pn["id"], fetch_list=True)[0]["vlan"] == "100-200"
    # replaced, normalised; an empty element ends the list (Java's String.split)
    done = accepted(sim, "updatePhysicalNetwork", id=pn["id"], vlan="300-400,100-299,,5-6")
    assert done["physicalnetwork"]["vlan"] == "100-400"
    cleared = accepted(sim, "updatePhysicalNetwork", id=pn["id"], vlan="")
    assert "vlan" not in cleared["physicalnetwork"]
    # no overlap check across VLAN physical networks of a zone
    other = physical(cs, z["id"], name="pn2", vlan="100-200")
    assert accepted(sim, "updatePhysicalNetwork", id=other["id"], vlan="150-250")


def test_vxlan_vnis_are_unique_per_zone_at_the_range_ends() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    first = physical(cs, z["id"], isolationmethods="VXLAN", vlan="100-200")
    second = physical(cs, z["id"], name="pn2", isolationmethods="VXLAN")
    body = refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        'VNI 150 already exists on another network in zone (Zone {"id": "1", "name": "z1"',
        id=second["id"],
        vlan="150-300",
    )
    assert body["errortext"].endswith("please specify a unique range")
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Vnet range has to be between 0 and 16777214",
        id=second["id"],
        vlan="1000-16777215",
    )
    # the network's own VNIs do not count
    assert accepted(sim, "updatePhysicalNetwork", id=first["id"], vlan="100-300")
    # only the ends written are looked up: a range around the other network's VNIs passes
    assert accepted(sim, "updatePhysicalNetwork", id=second["id"], vlan="50-350")
    # other zones do not count
    elsewhere = physical(cs, zone(cs, "z2")["id"], isolationmethods="VXLAN")
    assert accepted(sim, "updatePhysicalNetwork", id=elsewhere["id"], vlan="100-200")
    refused(
        sim,
        "createPhysicalNetwork",
        "sync",
        530,
        "Fail to create a physical network",
        name="pn3",
        zoneid=z["id"],
        isolationmethods="VXLAN",
        vlan="250-260",
    )
    lower = physical(cs, z["id"], name="pn4", isolationmethods="vxlan")  # not "VXLAN": VLAN ids
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Vnet range has to be between 0 and 4095",
        id=lower["id"],
        vlan="100-5000",
    )


def test_update_physical_network_tags_state_and_basic_zones() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    pn = physical(cs, z["id"], tags="fast")
    other = physical(cs, z["id"], name="pn2")
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")
    cs.addTrafficType(physicalnetworkid=other["id"], traffictype="Guest")
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Unable to support more than one tag on network yet",
        id=pn["id"],
        tags="a,b",
    )
    untagged = "There are more than 1 physical network without tags in the zone: Zone {"
    refused(sim, "updatePhysicalNetwork", "job", 530, untagged, id=pn["id"], tags="")
    assert cs.listPhysicalNetworks(id=pn["id"], fetch_list=True)[0]["tags"] == "fast"
    # the count includes the network itself: an untagged one cannot be "cleared" either
    refused(sim, "updatePhysicalNetwork", "job", 530, untagged, id=other["id"], tags="")
    retagged = accepted(sim, "updatePhysicalNetwork", id=other["id"], tags="slow")
    assert retagged["physicalnetwork"]["tags"] == "slow"
    cleared = accepted(sim, "updatePhysicalNetwork", id=pn["id"], tags="")
    assert "tags" not in cleared["physicalnetwork"]
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Unable to resolve state 'enabled' to a supported value {Enabled or Disabled}",
        id=pn["id"],
        state="enabled",
    )
    basic = physical(cs, zone(cs, "b", networktype="Basic")["id"])
    refused(
        sim,
        "updatePhysicalNetwork",
        "job",
        431,
        "Can't add vnet range to the physical network in the Basic zone",
        id=basic["id"],
        vlan="",
    )


# --- traffic types -----------------------------------------------------------------------


def test_add_traffic_type_refusals_are_synchronous_and_in_the_servers_order() -> None:
    sim, cs = raw_sim()
    z = zone(cs)
    pn = physical(cs, z["id"])
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Management")
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")
    second = physical(cs, z["id"], name="pn2")
    tagged = physical(cs, z["id"], name="pn3", tags="t")
    cases: list[tuple[str, str, int, str]] = [
        (pn["id"], "guest", 431, "Unable to resolve trafficType 'guest' to a supported value"),
        (pn["id"], "Guest", 530, "This physical network already supports the traffic type: Gu"),
        (
            second["id"],
            "Management",
            530,
            "Fail to add the traffic type to physical network because Zone already has a "
            "physical network with this traffic type: Management",
        ),
        (
            second["id"],
            "Guest",
            530,
            'There are more than 1 physical network without tags in the zone: Zone {"id": "1"',
        ),
    ]
    for pnid, ttype, code, text in cases:
        refused(
            sim, "addTrafficType", "sync", code, text, physicalnetworkid=pnid, traffictype=ttype
        )
    guest = accepted(sim, "addTrafficType", physicalnetworkid=tagged["id"], traffictype="Guest")
    assert guest["traffictype"]["traffictype"] == "Guest"
    labels = accepted(
        sim,
        "addTrafficType",
        physicalnetworkid=pn["id"],
        traffictype="Public",
        kvmnetworklabel="",
        xennetworklabel="pub",
    )["traffictype"]
    assert (labels["kvmnetworklabel"], labels["xennetworklabel"]) == ("", "pub")  # as sent


def test_delete_guest_traffic_refused_while_guest_networks_use_it() -> None:
    sim, cs = raw_sim()
    z = zone(cs, "b", networktype="Basic")
    pn = physical(cs, z["id"])
    guest = cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")["traffictype"]
    cs.updatePhysicalNetwork(id=pn["id"], state="Enabled")
    # the offering's providers enabled (NetworkOrchestrator.finalizeServicesAndProviders...)
    vr = provider(cs, pn["id"], "VirtualRouter")
    (element,) = cs.listVirtualRouterElements(nspid=vr["id"], fetch_list=True)
    cs.configureVirtualRouterElement(id=element["id"], enabled="true")
    for name in ("VirtualRouter", "SecurityGroupProvider"):
        cs.updateNetworkServiceProvider(id=provider(cs, pn["id"], name)["id"], state="Enabled")
    offering = cs.listNetworkOfferings(
        name="DefaultSharedNetworkOfferingWithSGService", fetch_list=True
    )[0]
    cs.createNetwork(
        name="guest", displaytext="guest", zoneid=z["id"], networkofferingid=offering["id"]
    )
    refused(
        sim,
        "deleteTrafficType",
        "job",
        530,
        "The Traffic Type is not deletable because there are existing networks with this "
        "traffic type:Guest",
        id=guest["id"],
    )
    refused(
        sim,
        "deletePhysicalNetwork",
        "job",
        530,
        "The Physical Network is not deletable because there are networks associated to this "
        "physical network",
        id=pn["id"],
    )


# --- addNetworkServiceProvider -----------------------------------------------------------


def test_add_provider_names_existence_and_elements() -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    add = {"physicalnetworkid": pn["id"]}
    cases = [
        ("Bogus", 431, "Invalid Network Service Provider=Bogus"),
        # a name the server knows but no element implements in 4.22
        ("F5BigIp", 431, "Unable to find the Network Element implementing the Service Provider"),
        ("JuniperSRX", 431, "Unable to find the Network Element implementing the Service "),
        ("ElasticLoadBalancerVm", 431, "Unable to find the Network Element implementing"),
        # known ignoring case, but the element is looked up by the exact name
        ("netscaler", 431, "Unable to find the Network Element implementing the Service Pro"),
        # existence is checked first, ignoring case
        (
            "virtualrouter",
            530,
            "The 'virtualrouter' provider already exists on physical network : "
            f'PhysicalNetwork {{"id":1,"uuid":"{pn["id"]}","name":"pn"}}',
        ),
        ("ConfigDrive", 530, "The 'ConfigDrive' provider already exists on physical network"),
    ]
    for name, code, text in cases:
        refused(sim, "addNetworkServiceProvider", "sync", code, text, name=name, **add)
    added = accepted(sim, "addNetworkServiceProvider", name="Netscaler", **add)
    nsp = added["networkserviceprovider"]
    assert (nsp["state"], nsp["servicelist"]) == ("Disabled", ["Firewall", "Lb", "StaticNat"])


def test_add_provider_service_list_rules() -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    add = {"physicalnetworkid": pn["id"]}
    refused(
        sim,
        "addNetworkServiceProvider",
        "sync",
        431,
        "Cannot enable subset of Services, Please specify the complete list of Services for "
        "this Service Provider 'Opendaylight'",
        name="Opendaylight",
        servicelist="",
        **add,
    )
    refused(
        sim,
        "addNetworkServiceProvider",
        "sync",
        431,
        "PaloAlto Provider cannot provide this Service specified=Lb",
        name="PaloAlto",
        servicelist="Firewall,Lb",
        **add,
    )
    refused(
        sim,
        "addNetworkServiceProvider",
        "sync",
        431,
        "Invalid Network Service specified=Gateway",
        name="PaloAlto",
        servicelist="Gateway",
        **add,
    )
    palo = accepted(
        sim, "addNetworkServiceProvider", name="PaloAlto", servicelist="sourcenat", **add
    )["networkserviceprovider"]
    assert palo["servicelist"] == ["Gateway", "SourceNat"]  # Gateway comes with SourceNat


# --- updateNetworkServiceProvider / deleteNetworkServiceProvider ------------------------

NOT_READY = "Provider is not ready, cannot Enable the provider, please configure the provider"


def test_enabling_needs_a_ready_element() -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    for name in ("PaloAlto", "StratosphereSsp", "Netscaler"):
        cs.addNetworkServiceProvider(name=name, physicalnetworkid=pn["id"])
    for name in ("PaloAlto", "StratosphereSsp", "Tungsten", "VirtualRouter", "InternalLbVm"):
        nsp = provider(cs, pn["id"], name)
        refused(
            sim,
            "updateNetworkServiceProvider",
            "job",
            530,
            NOT_READY,
            id=nsp["id"],
            state="Enabled",
        )
    # NetscalerElement.isReady answers true with no device in 4.22
    netscaler = provider(cs, pn["id"], "Netscaler")
    assert accepted(sim, "updateNetworkServiceProvider", id=netscaler["id"], state="Enabled")
    # TungstenElement: Management traffic on the physical network
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Management")
    tungsten = provider(cs, pn["id"], "Tungsten")
    done = accepted(sim, "updateNetworkServiceProvider", id=tungsten["id"], state="Enabled")
    assert done["networkserviceprovider"]["state"] == "Enabled"
    vr = provider(cs, pn["id"], "VirtualRouter")
    (element,) = cs.listVirtualRouterElements(nspid=vr["id"], fetch_list=True)
    cs.configureVirtualRouterElement(id=element["id"], enabled="true")
    assert accepted(sim, "updateNetworkServiceProvider", id=vr["id"], state="Enabled")


def test_update_provider_state_and_service_list_rules() -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    vr = provider(cs, pn["id"], "VirtualRouter")
    refused(
        sim,
        "updateNetworkServiceProvider",
        "job",
        431,
        "Unable to resolve state 'enabled' to a supported value {Enabled or Disabled}",
        id=vr["id"],
        state="enabled",
    )
    refused(
        sim,
        "updateNetworkServiceProvider",
        "job",
        431,
        "Updating the provider state to 'Shutdown' is not supported",
        id=vr["id"],
        state="Shutdown",
    )
    sg = provider(cs, pn["id"], "SecurityGroupProvider")
    refused(
        sim,
        "updateNetworkServiceProvider",
        "job",
        431,
        "Cannot update set of Services for this Service Provider 'SecurityGroupProvider'",
        id=sg["id"],
        servicelist="SecurityGroup",
    )
    refused(
        sim,
        "updateNetworkServiceProvider",
        "job",
        431,
        "Invalid Network Service specified=Nat",
        id=vr["id"],
        servicelist="Dhcp,Nat",
    )
    updated = accepted(sim, "updateNetworkServiceProvider", id=vr["id"], servicelist="dns,Dhcp")
    assert updated["networkserviceprovider"]["servicelist"] == ["Dhcp", "Dns"]


def test_deleting_a_provider_removes_its_element() -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    vr = provider(cs, pn["id"], "VirtualRouter")
    accepted(sim, "deleteNetworkServiceProvider", id=vr["id"])
    assert not cs.listVirtualRouterElements(nspid=vr["id"], fetch_list=True)
    again = cs.addNetworkServiceProvider(name="VirtualRouter", physicalnetworkid=pn["id"])
    # a VirtualRouter added by hand has no element until one is created, so it is never ready
    nsp = again["networkserviceprovider"]
    refused(
        sim, "updateNetworkServiceProvider", "job", 530, NOT_READY, id=nsp["id"], state="Enabled"
    )


@pytest.mark.parametrize("name", ["F5BigIp", "JuniperSRX"])
def test_providers_without_element_cannot_be_added(name: str) -> None:
    sim, cs = raw_sim()
    pn = physical(cs, zone(cs)["id"])
    refused(
        sim,
        "addNetworkServiceProvider",
        "sync",
        431,
        f"Unable to find the Network Element implementing the Service Provider '{name}'",
        name=name,
        physicalnetworkid=pn["id"],
    )
