"""Changes made to the lab zone behind cstool's back, as an operator with the UI would: the
drift the plan, drift and --base tests read."""

from __future__ import annotations

from typing import Any

from cstool.cloud.api import Api

ADDED_RANGE = "public_range:lab1/203.0.113.220"


def drift_lab(api: Api, uuid: dict[str, Any], label: str = "cloudbr7", pod2: bool = True) -> str:
    """On the applied lab zone (`uuid`: live ids by key): trunk's Guest label set to `label`,
    a public range's end moved, pod2's storage ranges deleted and, unless `pod2` is False,
    pod2 itself; a public range added. Returns the added range's id."""
    api.call("updateTrafficType", id=uuid["traffic_type:lab1/trunk/Guest"], kvmnetworklabel=label)
    api.call("updateVlanIpRange", id=uuid["public_range:lab1/203.0.113.10"], endip="203.0.113.90")
    for r in api.list("listStorageNetworkIpRange", podid=uuid["pod:lab1/pod2"]):
        api.call("deleteStorageNetworkIpRange", id=r["id"])
    if pod2:
        api.call("deletePod", id=uuid["pod:lab1/pod2"])
    added = api.call(
        "createVlanIpRange",
        zoneid=uuid["zone:lab1"],
        vlan=100,
        gateway="203.0.113.1",
        netmask="255.255.255.0",
        startip="203.0.113.220",
        endip="203.0.113.230",
        forvirtualnetwork=True,
    )
    return str(added["vlan"]["id"])
