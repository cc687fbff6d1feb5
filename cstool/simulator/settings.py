"""What a fresh CloudStack has before anyone touches it: settings and default offerings.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

from typing import Any

from cstool.simulator.store import Store

# name: (default, type, category, scopes, description)
SETTINGS: dict[str, tuple[str, str, str, tuple[str, ...], str]] = {
    "check.pod.cidrs": (
        "true",
        "Boolean",
        "Advanced",
        ("global",),
        "If true, different pods must belong to different CIDR subnets.",
    ),
    "default.page.size": (
        "500",
        "Long",
        "Advanced",
        ("global",),
        "Default page size for API list* commands",
    ),
    "expunge.delay": (
        "86400",
        "Integer",
        "Advanced",
        ("global",),
        "Determines how long (in seconds) to wait before actually expunging destroyed vm.",
    ),
    "expunge.interval": (
        "86400",
        "Integer",
        "Advanced",
        ("global",),
        "The interval (in seconds) to wait before running the expunge thread.",
    ),
    "integration.api.port": (
        "0",
        "Integer",
        "Advanced",
        ("global",),
        "Integration (unauthenticated) API port",
    ),
    "enforce.post.requests.and.timestamps": (
        "false",
        "Boolean",
        "Advanced",
        ("global",),
        "Enforce POST and signature version 3",
    ),
    "json.content.type": (
        "application/json; charset=UTF-8",
        "String",
        "Advanced",
        ("global",),
        "Http response content type for .js files (default is text/javascript)",
    ),
    "network.gc.interval": (
        "600",
        "Integer",
        "Advanced",
        ("global",),
        "Seconds to wait before checking for networks to shutdown",
    ),
    "network.gc.wait": (
        "600",
        "Integer",
        "Advanced",
        ("global",),
        "Time (in seconds) to wait before shutting down a network",
    ),
    "router.aggregation.command.each.timeout": (
        "600",
        "Integer",
        "Advanced",
        ("global", "zone"),
        "timeout in seconds for each router command",
    ),
    "system.vm.use.local.storage": (
        "false",
        "Boolean",
        "Advanced",
        ("global", "zone"),
        "Indicates whether to use local storage pools or shared storage pools for system VMs.",
    ),
    "use.external.dns": (
        "false",
        "Boolean",
        "Advanced",
        ("global", "zone"),
        "Bypass internal dns, use external dns1 and dns2",
    ),
    "vm.network.throttling.rate": (
        "200",
        "Integer",
        "Network",
        ("global", "zone"),
        "Default data transfer rate in megabits per second",
    ),
    "storage.overprovisioning.factor": (
        "2",
        "Float",
        "Storage",
        ("global", "zone"),
        "Used for storage overprovisioning calculation",
    ),
    "secstorage.allowed.internal.sites": (
        "",
        "String",
        "Advanced",
        ("global",),
        "Comma separated list of cidrs internal to the "
        "datacenter that can host template download servers",
    ),
    "xenserver.public.network.device": (
        "",
        "String",
        "Network",
        ("global",),
        "Name of the XenServer public network label",
    ),
    "xenserver.guest.network.device": (
        "",
        "String",
        "Network",
        ("global",),
        "Name of the XenServer guest network label",
    ),
    "xenserver.private.network.device": (
        "",
        "String",
        "Network",
        ("global",),
        "Name of the XenServer management network label",
    ),
    "xenserver.storage.network.device1": (
        "",
        "String",
        "Network",
        ("global",),
        "Name of the XenServer storage network label",
    ),
    "outofbandmanagement.sync.interval": (
        "300",
        "Integer",
        "Advanced",
        ("global",),
        "Out-of-band management sync interval in seconds",
    ),
    "ping.interval": (
        "60",
        "Integer",
        "Advanced",
        ("global",),
        "Interval to send application level pings to make sure the connection is still working",
    ),
    "ping.timeout": (
        "2.5",
        "Float",
        "Advanced",
        ("global",),
        "Multiplier to ping.interval before announcing an agent has timed out",
    ),
    "account.cleanup.interval": (
        "86400",
        "Integer",
        "Advanced",
        ("global",),
        "The interval (in seconds) between cleanup for removed accounts",
    ),
    "direct.agent.load.size": (
        "16",
        "Integer",
        "Advanced",
        ("global",),
        "The number of direct agents to load each time",
    ),
    "enable.dynamic.scale.vm": (
        "false",
        "Boolean",
        "Advanced",
        ("global", "zone"),
        "Enables/Disables dynamically scaling a vm",
    ),
    "expunge.workers": (
        "1",
        "Integer",
        "Advanced",
        ("global",),
        "Number of workers performing expunge",
    ),
    "guest.domain.suffix": (
        "cloud.internal",
        "String",
        "Network",
        ("global",),
        "Default domain name for vms inside virtualized networks",
    ),
    "instance.name": ("VM", "String", "Advanced", ("global",), "Name of the deployment instance."),
    "storage.cleanup.interval": (
        "86400",
        "Integer",
        "Advanced",
        ("global",),
        "The interval (in seconds) to wait before running the storage cleanup thread.",
    ),
    "vm.allocation.algorithm": (
        "random",
        "String",
        "Advanced",
        ("global",),
        "Order in which hosts within a cluster will be considered for VM allocation.",
    ),
    "vm.op.wait.interval": (
        "120",
        "Integer",
        "Advanced",
        ("global",),
        "Time (in seconds) to wait before checking if a previous operation has succeeded",
    ),
    "workers": ("5", "Integer", "Advanced", ("global",), "Number of worker threads."),
}

# what the virtual router offers (the VPC router has network ACLs instead of a firewall)
ROUTER_SERVICES = (
    "Dhcp",
    "Dns",
    "UserData",
    "SourceNat",
    "StaticNat",
    "PortForwarding",
    "Lb",
    "Firewall",
    "Vpn",
    "Gateway",
)
VPC_ROUTER_SERVICES = tuple("NetworkACL" if x == "Firewall" else x for x in ROUTER_SERVICES)

OFFERINGS = (
    (
        "DefaultSharedNetworkOfferingWithSGService",
        "Shared",
        ["Dns", "Dhcp", "UserData", "SecurityGroup"],
    ),
    ("DefaultSharedNetworkOffering", "Shared", ["Dns", "Dhcp", "UserData"]),
    (
        "DefaultSharedNetscalerEIPandELBNetworkOffering",
        "Shared",
        ["Dns", "Dhcp", "UserData", "SecurityGroup", "StaticNat", "Lb"],
    ),
    ("DefaultIsolatedNetworkOfferingWithSourceNatService", "Isolated", list(ROUTER_SERVICES)),
)


def seed(store: Store) -> None:
    """Fill a new store with CloudStack's default settings and network offerings."""
    if store.tables["globalconfig"]:
        return
    for name, (default, typ, category, scopes, description) in SETTINGS.items():
        store.add(
            "globalconfig",
            {
                "id": name,
                "name": name,
                "value": default,
                "defaultvalue": default,
                "category": category,
                "description": description,
                "isdynamic": True,
                "type": typ,
                "component": "management-server",
                "_scopes": list(scopes),
            },
        )
    for name, guest_type, services in OFFERINGS:
        row: dict[str, Any] = {
            "name": name,
            "displaytext": name.replace("Default", "Default "),
            "state": "Enabled",
            "guestiptype": guest_type,
            "traffictype": "Guest",
            "isdefault": True,
            "specifyvlan": guest_type == "Shared",
            "specifyipranges": guest_type == "Shared",
            "service": [{"name": s} for s in services],
            "networkrate": -1,
            "availability": "Optional",
            "forvpc": False,
        }
        store.add("networkoffering", row)
