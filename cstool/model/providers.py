"""Network service providers of CloudStack 4.22: which exist, which CloudStack adds itself,
which cannot be enabled by cstool alone. Pure data and one function.

Facts from the server (apache/cloudstack 4.22, NetworkServiceImpl and the network elements):
- addNetworkServiceProvider accepts only a name that Network.Provider knows and that some
  loaded NetworkElement implements (NetworkServiceImpl.addProviderToPhysicalNetwork, 431).
- createPhysicalNetwork adds several providers by itself; adding one again answers 530
  "... already exists" (see `auto_providers`).
- updateNetworkServiceProvider state=Enabled answers 530 "Provider is not ready" unless the
  element's isReady() holds: PaloAlto and StratosphereSsp need a configured device,
  Tungsten needs Management traffic on the same physical network.
"""

from __future__ import annotations

# Providers a 4.22 management server knows and implements (Network.Provider with a loaded
# NetworkElement; CiscoVnmc, JuniperContrail*, Nsx, Netris and Tungsten come with the
# noredist build)
KNOWN = (
    "BaremetalDhcpProvider",
    "BaremetalPxeProvider",
    "BaremetalUserdataProvider",
    "BigSwitchBcf",
    "BrocadeVcs",
    "CiscoVnmc",
    "ConfigDrive",
    "GloboDns",
    "InternalLbVm",
    "JuniperContrailRouter",
    "JuniperContrailVpcRouter",
    "Netris",
    "Netscaler",
    "NiciraNvp",
    "Nsx",
    "Opendaylight",
    "Ovs",
    "PaloAlto",
    "SecurityGroupProvider",
    "StratosphereSsp",
    "Tungsten",
    "VirtualRouter",
    "VpcVirtualRouter",
)
# Names Network.Provider knows without an element in 4.22: addNetworkServiceProvider answers
# 431 "Unable to find the Network Element implementing the Service Provider"
NO_ELEMENT = "CloudStack 4.22 has no network element for it"
REMOVED = {
    "F5BigIp": "the F5 BIG-IP plugin was removed from CloudStack",
    "JuniperSRX": "the Juniper SRX plugin was removed from CloudStack",
    "ElasticLoadBalancerVm": NO_ELEMENT,
    "ExternalDhcpServer": NO_ELEMENT,
    "ExternalGateWay": NO_ELEMENT,
}
# Enabling these needs a device registered first, which cstool does not manage: their
# element's isReady() is false until then (PaloAltoExternalFirewallElement, SspElement).
# NetscalerElement.isReady returns true on both branches, so Netscaler is not listed.
NEEDS_DEVICE = {
    "PaloAlto": "addPaloAltoFirewall",
    "StratosphereSsp": "addStratosphereSsp",
}


def auto_providers(network_type: str, isolation: str | None) -> dict[str, bool | None]:
    """The providers createPhysicalNetwork adds by itself, with their state (None: varies).

    NetworkServiceImpl.createPhysicalNetwork adds VirtualRouter, VpcVirtualRouter,
    InternalLbVm, SecurityGroupProvider and Tungsten (all Disabled), Ovs for GRE isolation,
    and the Baremetal providers; in Advanced zones also ConfigDrive, Nsx and Netris.
    enableProvider enables the first row of a name in the whole cloud, so whether
    BaremetalPxeProvider, ConfigDrive and Netris come up Enabled depends on the cloud.
    """
    found: dict[str, bool | None] = dict.fromkeys(
        ("VirtualRouter", "VpcVirtualRouter", "InternalLbVm", "SecurityGroupProvider", "Tungsten"),
        False,
    )
    if isolation == "GRE":  # createPhysicalNetwork compares the method list exactly
        found["Ovs"] = False
    if network_type == "Basic":
        found.update(
            BaremetalDhcpProvider=False, BaremetalPxeProvider=None, BaremetalUserdataProvider=False
        )
    else:
        found.update(BaremetalPxeProvider=None, ConfigDrive=None, Nsx=False, Netris=None)
    return found
