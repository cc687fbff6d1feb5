"""The simulator's shared networks of Advanced zones with security groups, and the IPv6, owner
and system-VM rules of VLAN IP ranges: each refusal with the server's code, placement and
text (NetworkServiceImpl.createGuestNetwork, NetworkOrchestrator.createGuestNetwork,
ConfigurationManagerImpl.createVlanAndPublicIpRange / updateVlanAndPublicIpRange)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cs import CloudStack

from cstool.simulator.transport import Simulator
from tests.conftest import raw_sim, realdata
from tests.test_sim_fidelity_network import accepted, physical, provider, refused, zone

OFFERING = "DefaultSharedNetworkOfferingWithSGService"
NET = {
    "name": "shared",
    "displaytext": "shared",
    "vlan": "31",
    "gateway": "10.147.31.1",
    "netmask": "255.255.255.0",
    "startip": "10.147.31.150",
    "endip": "10.147.31.159",
}


def _enable(cs: CloudStack, pnid: str, *names: str) -> None:
    vr = provider(cs, pnid, "VirtualRouter")
    (element,) = cs.listVirtualRouterElements(nspid=vr["id"], fetch_list=True)
    cs.configureVirtualRouterElement(id=element["id"], enabled="true")
    for name in names:
        cs.updateNetworkServiceProvider(id=provider(cs, pnid, name)["id"], state="Enabled")


def sg_zone(
    providers: tuple[str, ...] = ("VirtualRouter", "SecurityGroupProvider"),
    enabled: bool = True,
    **extra: Any,
) -> tuple[Simulator, CloudStack, dict[str, Any], dict[str, Any], str]:
    """An Advanced zone with security groups: one physical network (Guest and Management,
    vnets 500-899), its providers enabled; and the SG offering's id."""
    sim, cs = raw_sim()
    z = zone(cs, "sg", securitygroupenabled="true", **extra)
    pn = physical(cs, z["id"], vlan="500-899")
    for traffic in ("Management", "Guest"):
        cs.addTrafficType(physicalnetworkid=pn["id"], traffictype=traffic)
    if enabled:
        cs.updatePhysicalNetwork(id=pn["id"], state="Enabled")
    _enable(cs, pn["id"], *providers)
    (offering,) = cs.listNetworkOfferings(name=OFFERING, fetch_list=True)
    return sim, cs, z, pn, offering["id"]


def _create(z: dict[str, Any], pn: dict[str, Any], off: str, **over: Any) -> Any:
    params = {**NET, "zoneid": z["id"], "physicalnetworkid": pn["id"], "networkofferingid": off}
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


def test_a_shared_network_is_created_with_its_first_range_and_answers_as_a_root_admin_sees_it() -> (
    None
):
    sim, cs, z, pn, off = sg_zone()
    net = accepted(sim, "createNetwork", **_create(z, pn, off))["network"]
    assert (net["vlan"], net["broadcasturi"], net["acltype"]) == ("31", "vlan://31", "Domain")
    assert (net["gateway"], net["cidr"], net["type"]) == ("10.147.31.1", "10.147.31.0/24", "Shared")
    (rng,) = cs.listVlanIpRanges(networkid=net["id"], fetch_list=True)
    assert rng["forvirtualnetwork"] is False and rng["vlan"] == "vlan://31"
    assert (rng["startip"], rng["endip"]) == ("10.147.31.150", "10.147.31.159")
    assert (rng["account"], rng["domain"]) == ("system", "ROOT")  # the network's owner
    (listed,) = cs.listNetworks(listall="true", type="Shared", fetch_list=True)
    assert listed["vlan"] == "31" and listed["acltype"] == "Domain"


def test_the_real_basic_zone_network_keys_are_a_subset_of_the_simulators() -> None:
    """The Basic path keeps the keys a real Basic zone's network has (libcloud capture)."""
    real = json.loads((realdata() / "responses/libcloud/listNetworks_default.json").read_text())
    (captured,) = [n for n in real["listnetworksresponse"]["network"] if n["type"] == "Shared"][
        :1
    ] or [real["listnetworksresponse"]["network"][0]]
    sim, cs = raw_sim()
    z = zone(cs, "b", networktype="Basic")
    pn = physical(cs, z["id"])
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")
    cs.updatePhysicalNetwork(id=pn["id"], state="Enabled")
    _enable(cs, pn["id"], "VirtualRouter", "SecurityGroupProvider")
    (offering,) = cs.listNetworkOfferings(name=OFFERING, fetch_list=True)
    net = cs.createNetwork(
        name="g", displaytext="g", zoneid=z["id"], networkofferingid=offering["id"]
    )
    mine = net["network"]
    shared = {"id", "name", "zoneid", "networkofferingid", "traffictype", "type", "state"}
    assert shared <= set(captured) & set(mine)
    assert "vlan" not in mine and "broadcasturi" not in mine  # Basic answers keep their keys


REFUSALS = [
    # (name, setup overrides, createNetwork overrides, where, code, text)
    ("no vlan (NO:2841-2850)", {}, {"vlan": None}, "sync", 431, "Vlan has to be specified"),
    (
        "a dynamic vlan (NO:2858-2864)",
        {},
        {"vlan": "600"},
        "sync",
        431,
        "The VLAN tag to use for new guest network, 600 is already being used for dynamic",
    ),
    (
        "gateway is the network address (NS:1626-1631)",
        {},
        {"gateway": "10.147.31.0"},
        "sync",
        431,
        "Invalid gateway IP provided. Either the IP is broadcast or network IP.",
    ),
    (
        "no start ip (NS:1793-1799)",
        {},
        {"startip": None, "endip": None},
        "sync",
        530,
        "IPv4 address range needs to be provided",
    ),
    (
        "no gateway/netmask (NO:2963-2970)",
        {},
        {"gateway": None, "netmask": None, "startip": None, "endip": None},
        "sync",
        431,
        "Gateway/netmask are required when creating Shared networks.",
    ),
    (
        "security groups not enabled (NO:4400-4427)",
        {"providers": ("VirtualRouter",)},
        {},
        "sync",
        530,
        "Provider SecurityGroupProvider is either not enabled or doesn't support service "
        "SecurityGroup in physical network id=",
    ),
    (
        "physical network disabled (NO:2765-2770)",
        {"enabled": False},
        {},
        "sync",
        431,
        "Specified physical network id is in incorrect state:Disabled",
    ),
    (
        "IPv6 without the zone's IPv6 DNS (NS:1659-1661)",
        {},
        {"ip6gateway": "2001:db8:31::1", "ip6cidr": "2001:db8:31::/64"},
        "sync",
        431,
        "Can only create IPv6 network if the zone has IPv6 DNS!",
    ),
    (
        "a range over its own gateway (CM:5338, the inner range check)",
        {},
        {"startip": "10.147.31.1"},
        "sync",
        431,
        "The gateway ip should not be the part of the ip range being added.",
    ),
]


@pytest.mark.parametrize(
    ("setup", "over", "where", "code", "text"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_create_network_refusals_are_the_servers(
    setup: dict[str, Any], over: dict[str, Any], where: str, code: int, text: str
) -> None:
    sim, cs, z, pn, off = sg_zone(**setup)
    refused(sim, "createNetwork", where, code, text, **_create(z, pn, off, **over))
    assert not cs.listNetworks(listall="true", fetch_list=True)  # one transaction, nothing left
    assert not cs.listVlanIpRanges(fetch_list=True)


def test_one_vlan_per_network_and_per_zone() -> None:
    sim, cs, z, pn, off = sg_zone()
    net = accepted(sim, "createNetwork", **_create(z, pn, off))["network"]
    refused(
        sim,
        "createNetwork",
        "sync",
        431,
        "Network with vlan 31 already exists or overlaps with other network vlans in zone",
        **_create(z, pn, off, name="again", gateway="10.9.0.1", startip="10.9.0.5",
                  endip="10.9.0.9"),
    )  # fmt: skip
    refused(
        sim,
        "createVlanIpRange",
        "sync",
        431,
        "there is already one vlan vlan://31 on network",
        networkid=net["id"],
        forvirtualnetwork="false",
        vlan="32",
        startip="10.147.31.170",
        endip="10.147.31.179",
    )
    extra = accepted(
        sim,
        "createVlanIpRange",
        networkid=net["id"],
        forvirtualnetwork="false",
        startip="10.147.31.170",
        endip="10.147.31.179",
    )["vlan"]
    assert extra["vlan"] == "vlan://31" and extra["gateway"] == "10.147.31.1"


def test_no_public_range_and_no_pod_over_the_networks_addresses_in_an_sg_zone() -> None:
    sim, cs, z, pn, off = sg_zone()
    accepted(sim, "createNetwork", **_create(z, pn, off))
    refused(
        sim,
        "createVlanIpRange",
        "sync",
        431,
        "Can't add virtual ip range into a zone with security group enabled",
        zoneid=z["id"],
        physicalnetworkid=pn["id"],  # the physical network is found first (CM:4926-4957)
        vlan="100",
        gateway="203.0.113.1",
        netmask="255.255.255.0",
        startip="203.0.113.10",
        endip="203.0.113.20",
    )
    refused(
        sim,
        "createPod",
        "sync",
        431,
        "The Start IP and endIP address range overlap with Public IP :10.147.31.150",
        zoneid=z["id"],
        name="p1",
        gateway="10.147.31.1",
        netmask="255.255.255.0",
        startip="10.147.31.100",
        endip="10.147.31.155",
    )


def test_delete_network_waits_for_the_system_vms_and_takes_its_ranges() -> None:
    sim, cs, z, pn, off = sg_zone()
    net = accepted(sim, "createNetwork", **_create(z, pn, off))["network"]
    with sim.store.transaction() as store:  # a system VM holding one of its addresses
        store.add("systemvm", {"name": "s-1-VM", "zoneid": z["id"], "state": "Running"})
    refused(sim, "deleteNetwork", "job", 530, "Failed to delete network", id=net["id"])
    with sim.store.transaction() as store:
        for vm in store.rows("systemvm"):
            store.remove("systemvm", vm["id"])
    accepted(sim, "deleteNetwork", id=net["id"])
    assert not cs.listVlanIpRanges(fetch_list=True)


# --- public ranges: IPv6, owners, system VMs ----------------------------------------------


def adv_zone() -> tuple[Simulator, CloudStack, dict[str, Any]]:
    sim, cs = raw_sim()
    z = zone(cs, "adv")
    pn = physical(cs, z["id"])
    for traffic in ("Management", "Guest", "Public"):
        cs.addTrafficType(physicalnetworkid=pn["id"], traffictype=traffic)
    return sim, cs, z


def public(z: dict[str, Any], n: int = 1, **extra: str) -> dict[str, str]:
    return {
        "zoneid": z["id"],
        "vlan": "100",
        "gateway": "203.0.113.1",
        "netmask": "255.255.255.0",
        "startip": f"203.0.113.{10 * n}",
        "endip": f"203.0.113.{10 * n + 5}",
        **extra,
    }


V6 = {"ip6gateway": "2001:db8:100::1", "ip6cidr": "2001:db8:100::/64"}

IPV6_REFUSALS = [
    ({**V6, "ip6cidr": "2001:db8:100::/65"}, 431, "For IPv6 range, prefix must be /64 or less"),
    ({"ip6cidr": "2001:db8:100::/64"}, 431, "Gateway, netmask and zoneId have to be passed in"),
    ({**V6, "ip6gateway": "not-an-address"}, 530, "Invalid IPv6 address: "),
]


@pytest.mark.parametrize(("extra", "code", "text"), IPV6_REFUSALS)
def test_ipv6_public_range_refusals(extra: dict[str, str], code: int, text: str) -> None:
    sim, cs, z = adv_zone()
    refused(sim, "createVlanIpRange", "sync", code, text, **public(z, **extra))


def test_ipv6_spans_may_not_overlap_in_the_zone_and_read_back_standardized() -> None:
    sim, cs, z = adv_zone()
    made = accepted(
        sim,
        "createVlanIpRange",
        **public(z, **V6, startipv6="2001:DB8:100:0::10", endipv6="2001:db8:100::ff"),
    )["vlan"]
    assert (made["startipv6"], made["ip6cidr"]) == ("2001:db8:100::10", "2001:db8:100::/64")
    refused(
        sim,
        "createVlanIpRange",
        "sync",
        431,
        "The IPv6 range with tag: vlan://100 already has IPs that overlap with the new range.",
        **public(z, 2, **V6),  # no start/end: the whole prefix
    )


def test_a_public_range_with_a_shorter_prefix_cannot_be_updated() -> None:
    """Created with a /56 (CM:4853-4859 allows it), refused on every update, whatever is sent
    (CM:5662-5665, CM:5757-5760)."""
    sim, cs, z = adv_zone()
    v6 = {"ip6gateway": "2001:db8:100::1", "ip6cidr": "2001:db8:100::/56"}
    made = accepted(sim, "createVlanIpRange", **public(z, **v6))["vlan"]
    refused(
        sim,
        "updateVlanIpRange",
        "sync",
        431,
        "The cidr size of IPv6 network must be 64 bits!",
        id=made["id"],
        endip="203.0.113.14",
    )
    plain = accepted(sim, "createVlanIpRange", **public(z, 3))["vlan"]
    refused(
        sim,
        "updateVlanIpRange",
        "sync",
        431,
        "IPv6 is not support in this IP range.",
        id=plain["id"],
        **V6,
    )


def test_owner_at_creation_and_the_system_vm_flag_of_a_dedicated_range() -> None:
    sim, cs, z = adv_zone()
    acme = sim.add_domain("ROOT/customers/acme")
    sim.add_account("ROOT/customers/acme", "acme-admin")
    refused(
        sim,
        "createVlanIpRange",
        "sync",
        431,
        "Please specify a valid account.",
        **public(z, account="nobody", domainid=acme),
    )
    made = accepted(sim, "createVlanIpRange", **public(z, account="acme-admin", domainid=acme))[
        "vlan"
    ]
    assert (made["account"], made["domainpath"]) == ("acme-admin", "ROOT/customers/acme")
    refused(
        sim,
        "updateVlanIpRange",
        "sync",
        431,
        "Specified Public IP range has already been dedicated to an account",
        id=made["id"],
        forsystemvms="true",
    )
    domain_only = accepted(sim, "createVlanIpRange", **public(z, 2, domainid=acme))["vlan"]
    assert domain_only["domainid"] == acme and "account" not in domain_only
    system = accepted(sim, "createVlanIpRange", **public(z, 3, domainid=acme, forsystemvms="true"))
    assert "domainid" not in system["vlan"]  # no domain map for a system-VM range


def test_an_owner_only_in_advanced_zones() -> None:
    sim, cs = raw_sim()
    z = zone(cs, "b", networktype="Basic")
    pn = physical(cs, z["id"])
    cs.addTrafficType(physicalnetworkid=pn["id"], traffictype="Guest")
    cs.updatePhysicalNetwork(id=pn["id"], state="Enabled")
    _enable(cs, pn["id"], "VirtualRouter", "SecurityGroupProvider")
    (offering,) = cs.listNetworkOfferings(name=OFFERING, fetch_list=True)
    cs.createNetwork(name="g", displaytext="g", zoneid=z["id"], networkofferingid=offering["id"])
    root = cs.listDomains(fetch_list=True)[0]["id"]
    refused(
        sim,
        "createVlanIpRange",
        "sync",
        431,
        "Vlan owner can be defined only in the zone of type Advanced",
        zoneid=z["id"],
        forvirtualnetwork="false",
        gateway="10.1.1.1",
        netmask="255.255.255.0",
        startip="10.1.1.10",
        endip="10.1.1.20",
        domainid=root,
    )
