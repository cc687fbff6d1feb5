"""Clusters, hosts, VMware datacenters and system VMs, with ResourceManagerImpl's own rules.

Hosts are not real agents: a host "connects" when the simulator says so (at once, or after
`host_connect` seconds or an injected `connect-time`), and reaches Maintenance after a number
of listHosts reads (`maint-polls`), as a real host monitor does in the background. `tick` runs
at the start of every request and advances what is due: connecting hosts, and the system VMs
a real SecondaryStorageManagerImpl / ConsoleProxyManagerImpl start once a zone is ready.

Texts and codes are the server's (apache/cloudstack@3d6cafe1936e; `RM` ResourceManagerImpl,
`CM` ConfigurationManagerImpl). Where the server throws a CloudRuntimeException the answer is
530, an InvalidParameterValueException 431; async commands fail their job with those codes
(ApiAsyncJobDispatcher.runJob). Texts that embed VO toString() are matched by prefix.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import hashlib
import ipaddress
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    ParamError,
    command,
    filtered,
    keyword,
    paged,
    setting,
)
from cstool.simulator.commands.dedicated_rows import drop_dedication
from cstool.simulator.commands.zones import db_id, next_db_id
from cstool.simulator.store import Store, public

# Hypervisor.HypervisorType: the registered names, matched case-insensitively (getType);
# an unknown name is HypervisorType.None, for which no discoverer exists
HYPERVISORS = (
    "XenServer", "KVM", "VMware", "Hyperv", "VirtualBox", "Parralels", "BareMetal",
    "Simulator", "Ovm", "Ovm3", "LXC", "Custom", "External", "Any",
)  # fmt: skip
# hypervisors a management server has a Discoverer for (RM.getMatchingDiscover); the rest
# ("Any", "VirtualBox", ...) end in "Could not find corresponding resource manager"
DISCOVERABLE = frozenset(
    {"XenServer", "KVM", "VMware", "Hyperv", "BareMetal", "Simulator", "Ovm3", "LXC", "External"}
)
# ResourceManagerImpl.discoverCluster: the only hypervisors of an Advanced zone with security groups
SG_ADVANCED = frozenset({"KVM", "XenServer", "LXC", "Simulator"})
CLUSTER_TYPES = ("CloudManaged", "ExternalManaged")  # Cluster.ClusterType (Enum.valueOf)
MANAGED_STATES = ("Managed", "Unmanaged", "PrepareUnmanaged", "PrepareUnmanagedError")
# ResourceState.isMaintenanceState / canAttemptMaintenance
MAINTENANCE_STATES = (
    "PrepareForMaintenance", "ErrorInPrepareForMaintenance", "Maintenance", "ErrorInMaintenance",
)  # fmt: skip
DEFAULT_MAINT_POLLS = 2  # listHosts reads a host stays in PrepareForMaintenance
VERSION = "4.22.0.0"


def hypervisor_type(name: str | None) -> str | None:
    """Hypervisor.HypervisorType.getType: the display name, or None (HypervisorType.None)."""
    lowered = (name or "").lower()
    if lowered == "parallels":
        return "Parralels"
    return next((h for h in HYPERVISORS if h.lower() == lowered), None)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def digest(secret: str | None) -> str | None:
    """What the simulator keeps of a secret: a digest (the server encrypts it, DBEncryptionUtil);
    state files never hold the value."""
    if not secret:
        return None
    return hashlib.sha256(f"cstool-simulator:{secret}".encode()).hexdigest()


def faults(store: Store) -> dict[str, str | None]:
    """The compute faults injected on the request being handled (set by the transport)."""
    return store.call_faults


# --- toString() of the VOs, as error texts show them -----------------------------------


def cluster_text(store: Store, cluster: dict[str, Any]) -> str:
    """ClusterVO.toString (ReflectionToStringBuilderUtils, JSON style)."""
    dbid = db_id(store, "cluster", cluster)
    return f'Cluster {{"id": {dbid}, "name": "{cluster.get("name")}", "uuid": "{cluster["id"]}"}}'


def host_text(store: Store, host: dict[str, Any]) -> str:
    """HostVO.toString: id, name, type and uuid in JSON style."""
    dbid = db_id(store, "host", host)
    return (
        f'Host {{"id": {dbid}, "name": "{host["name"]}", "type": "{host["type"]}", '
        f'"uuid": "{host["id"]}"}}'
    )


# --- clusters ------------------------------------------------------------------------------


def _zone_pod(store: Store, p: P) -> tuple[dict[str, Any], dict[str, Any]]:
    """RM.discoverCluster:473-500: the zone, then the pod and that it is in the zone."""
    zone = p.row(store, "zone", "zoneid")
    pod = p.row(store, "pod", "podid")
    if pod["zoneid"] != zone["id"]:
        raise ApiRefusal(
            431,
            "Pod with specified id doesn't belong to the zone "
            f'Zone {{"id": "{db_id(store, "zone", zone)}", "name": "{zone["name"]}"}}',
        )
    return zone, pod


def cluster_view(store: Store, cluster: dict[str, Any]) -> dict[str, Any]:
    """ApiResponseHelper.createClusterResponse: the overcommit ratios come from the cluster's
    details (cpuOvercommitRatio / memoryOvercommitRatio), which resourcedetails also shows
    minus username and password (ClusterResponse.setResourceDetails)."""
    zone = store.get("zone", cluster["zoneid"]) or {}
    pod = store.get("pod", cluster["podid"]) or {}
    details = dict(cluster.get("_details") or {})
    view = public(cluster)
    view.update(
        zonename=zone.get("name"),
        podname=pod.get("name"),
        cpuovercommitratio=details.get("cpuOvercommitRatio", "1.0"),
        memoryovercommitratio=details.get("memoryOvercommitRatio", "1.0"),
    )
    shown = {k: v for k, v in details.items() if k not in ("username", "password")}
    if shown:
        view["resourcedetails"] = shown
    return view


def _ratio(value: str) -> str:
    """CapacityManager.Cpu/MemOverprovisioningFactor.value().toString(): a Float."""
    try:
        return str(float(value))
    except ValueError:
        return "1.0"


@command("addCluster", list_key="cluster")
def add_cluster(store: Store, p: P) -> dict[str, Any]:
    """RM.discoverCluster, in its order; the answer is a list of one (AddClusterCmd.execute
    builds a ListResponse)."""
    zone, pod = _zone_pod(store, p)
    name = p.required("clustername")
    raw_hypervisor = p.required("hypervisor")
    hypervisor = hypervisor_type(raw_hypervisor)
    if zone.get("securitygroupsenabled") and zone.get("networktype") == "Advanced":
        if hypervisor not in SG_ADVANCED:  # ResourceManagerImpl:517-522
            raise ApiRefusal(
                431,
                f"Don't support hypervisor type {hypervisor or 'None'} "
                "in advanced security enabled zone",
            )
    ctype = p.get("clustertype") or "CloudManaged"
    if (
        ctype not in CLUSTER_TYPES
    ):  # Enum.valueOf's IllegalArgumentException, ResourceManagerImpl:540-544
        raise ApiRefusal(431, f"No enum constant com.cloud.org.Cluster.ClusterType.{ctype}")
    allocation = p.get("allocationstate") or "Enabled"
    if allocation not in ("Enabled", "Disabled"):  # ResourceManagerImpl:549-556
        raise ApiRefusal(
            431, f"Unable to resolve Allocation State '{allocation}' to a supported state"
        )
    if (
        hypervisor not in DISCOVERABLE
    ):  # ResourceManagerImpl:560-564: getMatchingDiscover gives null
        raise ApiRefusal(431, f"Could not find corresponding resource manager for {raw_hypervisor}")
    if any(c["name"] == name for c in store.rows("cluster", podid=pod["id"])):
        # DB unique key (pod_id, name): persist fails, ResourceManagerImpl:585-592
        raise ApiRefusal(
            530, f"Unable to create cluster {name} in pod and data center with specified ids"
        )
    details = {
        # ResourceManagerImpl:606-607: the global overprovisioning factors, copied at creation
        "cpuOvercommitRatio": _ratio(setting(store, "cpu.overprovisioning.factor")),
        "memoryOvercommitRatio": _ratio(setting(store, "mem.overprovisioning.factor")),
    }
    if ctype == "ExternalManaged":
        _external_cluster(store, zone, hypervisor, p, details)
    cluster = store.add(
        "cluster",
        {
            "_dbid": next_db_id(store, "cluster"),
            "name": name,
            "podid": pod["id"],
            "zoneid": zone["id"],
            "hypervisortype": hypervisor,
            "clustertype": ctype,
            "allocationstate": allocation,
            "managedstate": "Managed",
            "arch": p.get("arch") or "x86_64",  # CPU.CPUArch.fromType(null)
            "hasannotations": False,
            "_details": details,
            "_guid": None,
        },
    )
    return {"count": 1, "cluster": [cluster_view(store, cluster)]}


def _external_cluster(
    store: Store, zone: dict[str, Any], hypervisor: str | None, p: P, details: dict[str, str]
) -> None:
    """RM.discoverCluster:614-665 for an ExternalManaged (vCenter) cluster: the url is checked,
    then the discoverer must find the hosts. The simulator has no vCenter: VMware clusters are
    found when the zone has a VMware DC (VmwareServerDiscoverer.find:436-446), with no hosts."""
    url = p.get("url") or ""
    parts = urlsplit(url)
    if not parts.scheme:
        raise ApiRefusal(431, f"uri.scheme is null {url}, add http:// as a prefix")
    if parts.scheme.lower() == "http" and (not parts.hostname or parts.path in ("", "/")):
        raise ApiRefusal(
            431,
            "Your host and/or path is wrong.  Make sure it's of the format http://hostname/path",
        )
    if hypervisor == "VMware" and not store.rows("vmwaredc", zoneid=zone["id"]):
        raise ApiRefusal(
            530,
            f"Zone {db_id(store, 'zone', zone)} is not associated with any VMware DC yet. "
            "Please add VMware DC to this zone first and then try to add clusters.",
        )
    if hypervisor != "VMware":  # no other discoverer finds anything at a vCenter URL
        raise ApiRefusal(530, "Unable to add the external cluster")
    details["url"] = url
    # kept as the server keeps them (cluster_details); never shown (ClusterResponse)
    details["username"] = p.get("username") or ""
    details["password"] = digest(p.get("password")) or ""


@command("updateCluster")
def update_cluster(store: Store, p: P) -> dict[str, Any]:
    """ResourceManagerImpl.updateCluster:1270-1412 (UpdateClusterCmd answers the cluster)."""
    cluster = p.row(store, "cluster", "id")
    name = p.get("clustername")
    if name is not None and name != cluster["name"]:
        if cluster["hypervisortype"] == "VMware":  # ResourceManagerImpl:1277-1281
            raise ApiRefusal(
                431,
                "Renaming VMware cluster is not supported as it could cause problems if the "
                "updated  cluster name is not mapped on VCenter.",
            )
        cluster["name"] = name
    if p.get("hypervisor"):  # ResourceManagerImpl:1286-1294: changed without any check on the hosts
        cluster["hypervisortype"] = (
            hypervisor_type(p.get("hypervisor")) or cluster["hypervisortype"]
        )
    if p.get("clustertype"):
        if p.get("clustertype") not in CLUSTER_TYPES:
            raise ApiRefusal(431, "Unable to resolve cluster type to a supported value")
        cluster["clustertype"] = p.get("clustertype")
    allocation = p.get("allocationstate")
    if allocation:
        if allocation not in ("Enabled", "Disabled"):
            raise ApiRefusal(
                431, f"Unable to resolve Allocation State '{allocation}' to a supported state"
            )
        cluster["allocationstate"] = allocation
    managed = p.get("managedstate")
    if managed:
        if managed not in MANAGED_STATES:
            raise ApiRefusal(
                431, f"Unable to resolve Managed State '{managed}' to a supported state"
            )
        # RM:1363-1412: Unmanaged passes PrepareUnmanaged inside the (blocking) call
        cluster["managedstate"] = managed
    if p.get("arch"):
        cluster["arch"] = p.get("arch")
    store.touch()
    return {"cluster": cluster_view(store, cluster)}


@command("deleteCluster")
def delete_cluster(store: Store, p: P) -> dict[str, Any]:
    """RM.deleteCluster:1190-1215. The id is resolved by the API layer (431 when unknown);
    hosts of any state, then pools, keep the cluster (530). The row goes, so the name is free
    again (ClusterDaoImpl.remove nulls it)."""
    cluster = p.row(store, "cluster", "id")
    dbid = db_id(store, "cluster", cluster)
    if store.rows("host", clusterid=cluster["id"]):
        raise ApiRefusal(530, f"Cluster: {dbid} cannot be removed. Cluster still has hosts")
    if store.rows("storagepool", clusterid=cluster["id"]):
        raise ApiRefusal(
            530,
            f"Cluster: {cluster_text(store, cluster)} cannot be removed. "
            "Cluster still has storage pools",
        )
    store.remove("cluster", cluster["id"])
    drop_dedication(store, "cluster", cluster["id"])  # RM:1125-1128
    return {"success": True}


@command("listClusters", list_key="cluster")
def list_clusters(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.searchForClusters:1284-1350: exact name, keyword on the name or
    the hypervisor, ordered by id."""
    rows = filtered(store.rows("cluster"), p, "id", "name", "podid", "zoneid", "allocationstate")
    rows = filtered(rows, p, "clustertype", "managedstate")
    if p.get("hypervisor"):
        rows = [r for r in rows if r["hypervisortype"].lower() == p.get("hypervisor").lower()]
    if p.get("keyword"):
        kw = p.get("keyword").lower()
        rows = [r for r in rows if kw in r["name"].lower() or kw in r["hypervisortype"].lower()]
    return paged(store, p, [cluster_view(store, r) for r in rows], "cluster")


# --- hosts ---------------------------------------------------------------------------------


def host_view(store: Store, host: dict[str, Any]) -> dict[str, Any]:
    """ApiDBUtils.newHostResponse (HostJoinDaoImpl): the fields of a Simulator agent's host.
    Tags are one comma-joined string (host_view GROUP_CONCAT); a system VM's host has no
    cluster fields."""
    zone = store.get("zone", host["zoneid"]) or {}
    pod = store.get("pod", host.get("podid")) or {}
    view = public(host)
    view.update(zonename=zone.get("name"), podname=pod.get("name"))
    cluster = store.get("cluster", host.get("clusterid"))
    if cluster is not None:
        view.update(clustername=cluster["name"], clustertype=cluster["clustertype"])
    tags = host.get("_tags") or []
    if tags:
        view["hosttags"] = view["explicithosttags"] = ",".join(sorted(set(tags)))
    return view


def _routing_fields() -> dict[str, Any]:
    """What MockAgentManagerImpl reports for a simulated agent (4 CPUs at 8000 MHz, 8 GiB):
    the capacity fields of the real capture (tests/data/real/infra/addHost--cloudstack-go)."""
    return {
        "capabilities": "hvm",
        "cpunumber": 4,
        "cpuspeed": 8000,
        "cpusockets": 1,
        "cpuallocated": "0%",
        "cpuallocatedpercentage": "0%",
        "cpuallocatedvalue": 0,
        "cpuallocatedwithoverprovisioning": "0%",
        "cpuused": "0%",
        "cpuloadaverage": 0,
        "cpuwithoverprovisioning": "32000",
        "memorytotal": 8589934592,
        "memorywithoverprovisioning": "8589934592",
        "memoryallocated": 0,
        "memoryallocatedbytes": 0,
        "memoryallocatedpercentage": "0%",
        "memoryused": 0,
        "networkkbsread": 32768,
        "networkkbswrite": 16384,
        "islocalstorageactive": False,
        "hahost": False,
        "hasannotations": False,
        "hostha": {"haenable": False, "hastate": "Disabled"},
        "outofbandmanagement": {"enabled": False, "powerstate": "Disabled"},
        "events": "AgentConnected; AgentDisconnected; HostDown; ManagementServerDown; Ping; "
        "PingTimeout; Remove; ShutdownRequested; StartAgentRebalance",
        "oscategoryid": "e4992bed-5fdf-11ea-9a56-1e006800018c",
        "oscategoryname": "CentOS",
        "managementserverid": "028003eb-4d1a-4d17-a2e3-0ec901c9ee5c",
        "version": VERSION,
        "hypervisorversion": VERSION,
        "arch": "x86_64",
    }


def _pod_network(pod: dict[str, Any]) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{pod['gateway']}/{pod['netmask']}", strict=False)


def _simulator_ip(store: Store, pod: dict[str, Any]) -> str:
    """MockAgentManagerImpl.createServerResources: the pod's network address plus
    random.nextInt(cidr prefix length) (getNextAgentId(cidrSize) with cidrSize the prefix
    length, from getCurrentPodCidrSubnets): two hosts may share an IP."""
    net = _pod_network(pod)
    rng = random.Random(f"{store.seed}-{store.seq}")
    return str(net.network_address + rng.randrange(max(net.prefixlen, 1)))


def _next_free_ip(store: Store, pod: dict[str, Any]) -> str:
    """The simulator's stand-in for a real agent named by a host name: the next address of the
    pod's network that no host has (a real agent reports its own)."""
    net = _pod_network(pod)
    taken = {h.get("ipaddress") for h in store.rows("host", podid=pod["id"])}
    return next(
        (str(a) for a in net.hosts() if str(a) != pod["gateway"] and str(a) not in taken),
        str(net.network_address),
    )


def _ipv4(text: str | None) -> bool:
    try:
        ipaddress.IPv4Address(text or "")
    except ValueError:
        return False
    return True


def _host_cluster(store: Store, p: P, zone: dict[str, Any], pod: dict[str, Any] | None) -> Any:
    """RM.discoverHosts:693-712 and discoverHostsFull:772-856: the cluster by id (with the
    first-host rule), by name (found or created), or the Standalone-<url> one."""
    clusterid, clustername = p.get("clusterid"), p.get("clustername")
    if clusterid is None and clustername is None:
        clustername = f"Standalone-{p.get('url')}"  # ResourceManagerImpl:693-696
    cluster = None
    if clusterid is not None:
        cluster = p.row(store, "cluster", "clusterid")
        if cluster.get("_guid") is None and store.rows("host", clusterid=cluster["id"]):
            raise ApiRefusal(  # ResourceManagerImpl:705-712
                530,
                "Guid is not updated for cluster with specified cluster id; need to wait for "
                "hosts in this cluster to come up",
            )
    return cluster, clustername


def _check_credentials(hypervisor: str, p: P) -> None:
    """RM.discoverHostsFull:780-793: KVM needs a username (keys may replace the password),
    every other hypervisor except VMware both."""
    if hypervisor.lower() == "vmware":
        return
    if hypervisor.lower() == "kvm":
        if not (p.get("username") or "").strip():
            raise ApiRefusal(431, "Username need to be provided.")
        return
    if not (p.get("username") or "").strip() or not (p.get("password") or "").strip():
        raise ApiRefusal(431, "Username and Password need to be provided.")


def _discover(
    store: Store, p: P, cluster: dict[str, Any], pod: dict[str, Any], hypervisor: str
) -> tuple[str, str]:
    """The discoverer's find(): the host's name and IP, or the generic 530 (RM:956-962) when
    none takes the URL. Simulator: SimulatorDiscoverer.find (http, authority starting "sim",
    a Simulator cluster). KVM, XenServer, LXC, Hyperv: the simulator's stand-in for a real
    agent, named by the URL's host."""
    url = p.required("url")
    parts = urlsplit(url)
    refused = ApiRefusal(530, f"Unable to add the host: Cannot find the server resources at {url}")
    if hypervisor_type(hypervisor) != cluster["hypervisortype"]:
        raise refused  # each discoverer skips a cluster of another hypervisor
    if cluster["hypervisortype"] == "Simulator":
        if parts.scheme != "http" or not (parts.netloc or "").startswith("sim"):
            raise refused
        return f"SimulatedAgent.{uuid.uuid4()}", _simulator_ip(store, pod)
    if cluster["hypervisortype"] not in ("KVM", "XenServer", "LXC", "Hyperv"):
        raise refused
    if cluster["hypervisortype"] in ("KVM", "LXC") and parts.scheme != "http":
        raise refused  # LibvirtServerDiscoverer.find: only http://
    host = parts.hostname or ""
    ip = host if _ipv4(host) else _next_free_ip(store, pod)
    if cluster["hypervisortype"] in ("KVM", "LXC"):
        _kvm_unique(store, p, cluster, pod, ip)
    outside = ipaddress.IPv4Address(ip) not in _pod_network(pod)
    if cluster["hypervisortype"] in ("XenServer", "Hyperv") and outside:
        # RM.checkCIDR, called by XcpServerDiscoverer:685 and HypervServerDiscoverer:399
        raise ApiRefusal(
            530,
            f"The private ip address of the server ({ip}) is not compatible with the CIDR of "
            f"pod: {pod['name']} and zone: {(store.get('zone', pod['zoneid']) or {}).get('name')}",
        )
    return host or ip, ip


def java_name_uuid(data: bytes) -> str:
    """java.util.UUID.nameUUIDFromBytes (UuidUtils): MD5, version 3, IETF variant."""
    raw = bytearray(hashlib.md5(data).digest())  # noqa: S324 - the server's own derivation
    raw[6] = (raw[6] & 0x0F) | 0x30
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def _kvm_unique(store: Store, p: P, cluster: dict[str, Any], pod: dict[str, Any], ip: str) -> None:
    """LibvirtServerDiscoverer.find:259-271: the agent's GUID is nameUUIDFromBytes(ip); a
    Routing host of the zone with that GUID refuses it (CloudRuntimeException, rethrown by
    find:388-394 as DiscoveredWithErrorException and by ResourceManagerImpl.discoverHostsFull as the
    DiscoveryException "Could not add host at [...]": 530)."""
    guid = java_name_uuid(ip.encode())
    for other in store.rows("host", zoneid=pod["zoneid"], type="Routing"):
        if str(other.get("_guid") or "").lower().startswith(guid):
            why = (
                f"Skipping host {ip} because {guid} is already in the database for resource "
                f"{other['_guid']} with ID {other['id']}"
            )
            zone = store.get("zone", pod["zoneid"]) or {}
            raise ApiRefusal(
                530,
                f"Could not add host at [{p.get('url')}] with zone [{zone.get('name')}], pod "
                f"[{pod['name']}] and cluster [{cluster_text(store, cluster)}] due to: [ can't "
                "setup agent, due to com.cloud.utils.exception.CloudRuntimeException: "
                f"{why} - {why}].",
            )


@command("addHost", list_key="host")
def add_host(store: Store, p: P) -> dict[str, Any]:
    """RM.discoverHosts / discoverHostsFull:680-962, then createHostAndAgent. The answer is a
    list (AddHostCmd.execute). New hosts are Routing and Enabled; `allocationstate` is never
    read (AddHostCmd.getAllocationState has no caller)."""
    zone = p.row(store, "zone", "zoneid")
    pod = p.row(store, "pod", "podid")
    hypervisor = p.required("hypervisor")
    url = p.required("url")
    cluster, clustername = _host_cluster(
        store, p, zone, pod
    )  # ResourceManagerImpl.discoverHosts first
    if pod["zoneid"] != zone["id"]:
        raise ApiRefusal(
            431, "Pod with specified pod doesn't belong to the zone with specified zone"
        )
    if p.get("clusterid") is not None and p.get("clustername") is not None:
        raise ApiRefusal(
            431, "Can't specify cluster by both id and name"
        )  # ResourceManagerImpl:772
    _check_credentials(hypervisor, p)
    if hypervisor.lower() == "baremetal" and not p.items("hosttags"):
        raise ApiRefusal(431, "hosttag is mandatory while adding host of type Baremetal")
    if cluster is None:  # ResourceManagerImpl:831-856: a cluster of that name is found or created
        cluster = next(
            (c for c in store.rows("cluster", podid=pod["id"]) if c["name"] == clustername), None
        )
        if cluster is None:
            cluster = store.add(
                "cluster",
                {
                    "_dbid": next_db_id(store, "cluster"),
                    "name": clustername,
                    "podid": pod["id"],
                    "zoneid": zone["id"],
                    "hypervisortype": hypervisor_type(hypervisor) or hypervisor,
                    "clustertype": "CloudManaged",
                    "allocationstate": "Enabled",
                    "managedstate": "Managed",
                    "arch": "x86_64",
                    "hasannotations": False,
                    "_details": {"cpuOvercommitRatio": "1", "memoryOvercommitRatio": "1"},
                    "_guid": None,
                },
            )
    if not urlsplit(url).scheme:  # ResourceManagerImpl.validatedHostUrl
        raise ApiRefusal(431, f"uri.scheme is null {url}, add nfs:// (or cifs://) as a prefix")
    if hypervisor_type(hypervisor) not in DISCOVERABLE:
        raise ApiRefusal(530, f"Do not support HypervisorType {hypervisor} for {url}")
    if cluster["hypervisortype"] == "KVM" and cluster.get("_guid") is None:
        # LibvirtServerDiscoverer.find:243-244 sets the cluster's GUID before connecting
        cluster["_guid"] = str(uuid.uuid4())
    name, ip = _discover(store, p, cluster, pod, hypervisor)
    host = store.add("host", _new_host(store, p, cluster, pod, name, ip))
    if cluster["hypervisortype"] in ("KVM", "LXC"):  # LibvirtComputingResource's GUID
        host["_guid"] = f"{java_name_uuid(ip.encode())}-LibvirtComputingResource"
    _connect(store, host, cluster)
    return {"count": 1, "host": [host_view(store, host)]}


def _new_host(
    store: Store, p: P, cluster: dict[str, Any], pod: dict[str, Any], name: str, ip: str
) -> dict[str, Any]:
    return {
        "_dbid": next_db_id(store, "host"),
        "name": name,
        "type": "Routing",
        "state": "Connecting",
        "resourcestate": "Enabled",
        "ipaddress": ip,
        "zoneid": pod["zoneid"],
        "podid": pod["id"],
        "clusterid": cluster["id"],
        "hypervisor": cluster["hypervisortype"],
        "created": _now(),
        "lastpinged": "1970-01-19T16:32:39+0000",
        **_routing_fields(),
        "_tags": [t.strip() for t in p.items("hosttags") if t.strip()],
        "_url": p.get("url"),
        "_username": p.get("username"),
        "_secret_digest": digest(p.get("password")),
        "_up_at": None,
        "_final_state": None,
        "_maint_reads": None,
    }


def _connect(store: Store, host: dict[str, Any], cluster: dict[str, Any]) -> None:
    """createHostAndAgent connects a direct agent within the call: Up at once, unless a
    connect delay is set (a slow agent: Connecting, then Up), or a host-state fault keeps the
    host Alert or Down."""
    opts = faults(store)
    stuck = opts.get("host-state")
    delay = float(opts.get("connect-time") or store.host_connect or 0.0)
    if stuck:
        host["state"] = stuck
    elif delay > 0:
        host["_up_at"] = time.time() + delay
    else:
        _host_up(store, host, cluster)


def _host_up(store: Store, host: dict[str, Any], cluster: dict[str, Any] | None) -> None:
    host["state"] = "Up"
    host["_up_at"] = None
    if cluster is not None and cluster.get("_guid") is None:
        # XcpServerDiscoverer:580-581 (and the others) set the GUID when a host connects
        cluster["_guid"] = str(uuid.uuid4())
    store.touch()


def _host_row(store: Store, p: P) -> dict[str, Any]:
    return p.row(store, "host", "id")  # type: ignore[no-any-return]


@command("updateHost")
def update_host(store: Store, p: P) -> dict[str, Any]:
    """RM.updateHost (UpdateHostCmd:148-151 turns every failure into 530 "Failed to update
    host: <Host> with id N, <message>")."""
    host = _host_row(store, p)
    try:
        _update_host(host, p)
    except ApiRefusal as exc:
        raise ApiRefusal(
            530,
            f"Failed to update host: {host_text(store, host)} with id "
            f"{db_id(store, 'host', host)}, {exc.text}",
        ) from None
    store.touch()
    return {"host": host_view(store, host)}


def _update_host(host: dict[str, Any], p: P) -> None:
    allocation = p.get("allocationstate")
    if allocation:
        if allocation not in ("Enable", "Disable"):  # ResourceManagerImpl:1977-1984
            raise ApiRefusal(
                431, f"Invalid allocation state: {allocation}, only Enable/Disable are allowed"
            )
        target = f"{allocation}d"
        current = host["resourcestate"]
        if current != target:  # the same state is a no-op (ResourceManagerImpl:2015-2019)
            if current not in ("Enabled", "Disabled"):  # ResourceState: no such transition
                raise ApiRefusal(
                    530,
                    f"No next resource state found for current state = {current} "
                    f"event = {allocation}",
                )
            host["resourcestate"] = target
    if p.has("hosttags"):  # ResourceManagerImpl:2811-2820, 2855: replaces the set; "" clears it
        host["_tags"] = [t.strip() for t in p.items("hosttags") if t.strip()]
    if p.get("name"):
        host["name"] = p.get("name")


@command("prepareHostForMaintenance", mode="async")
def prepare_host_for_maintenance(store: Store, p: P) -> dict[str, Any]:
    """RM.maintain(PrepareForHostMaintenanceCmd):1659-1719. The job ends with the host in
    PrepareForMaintenance; Maintenance comes later (here: after `maint-polls` listHosts
    reads), as the real host monitor does once the VMs are gone."""
    host = _host_row(store, p)
    state = host["resourcestate"]
    if state in ("PrepareForMaintenance", "ErrorInPrepareForMaintenance", "Maintenance"):
        raise ApiRefusal(  # ResourceState.canAttemptMaintenance
            530,
            f"Host is already in state {state}. Cannot recall for maintenance until resolved.",
        )
    others = [
        h
        for h in store.rows("host", clusterid=host.get("clusterid"))
        if h["id"] != host["id"]
        and h["resourcestate"] in ("PrepareForMaintenance", "ErrorInPrepareForMaintenance")
    ]
    if host.get("clusterid") and others:
        cluster = store.get("cluster", host["clusterid"]) or {"id": "", "name": None}
        raise ApiRefusal(
            530,
            "There are other servers attempting migrations for maintenance. Found hosts in "
            "PrepareForMaintenance OR ErrorInPrepareForMaintenance STATUS in cluster "
            f"{cluster_text(store, cluster)}",
        )
    if state not in (
        "Enabled",
        "ErrorInMaintenance",
    ):  # ResourceManagerImpl.resourceStateTransitTo:1467
        raise ApiRefusal(
            530,
            "Failed to prepare host for maintenance due to: Cannot transit resource state of "
            f"{host_text(store, host)} to MaintenanceNo next resource state found for current "
            f"state = {state} event = AdminAskMaintenance",
        )
    opts = faults(store)
    host["resourcestate"] = "PrepareForMaintenance"
    host["_maint_reads"] = int(opts.get("maint-polls") or DEFAULT_MAINT_POLLS)
    host["_final_state"] = (
        "ErrorInPrepareForMaintenance" if "maint-error" in opts else "Maintenance"
    )
    store.touch()
    return {"host": host_view(store, host)}


@command("cancelHostMaintenance", mode="async")
def cancel_host_maintenance(store: Store, p: P) -> dict[str, Any]:
    """RM.cancelMaintenance(CancelHostMaintenanceCmd):1426-1446: only from a maintenance
    state; the host ends Enabled."""
    host = _host_row(store, p)
    if host["resourcestate"] not in MAINTENANCE_STATES:
        raise ApiRefusal(
            530,
            f"Cannot perform cancelMaintenance when resource state is {host['resourcestate']}, "
            f"host: {host_text(store, host)}",
        )
    host.update(resourcestate="Enabled", _maint_reads=None, _final_state=None)
    store.touch()
    return {"host": host_view(store, host)}


@command("reconnectHost", mode="async")
def reconnect_host(store: Store, p: P) -> dict[str, Any]:
    """AgentManagerImpl.reconnect:1263-1291: only an Up, Alert or Rebalancing host."""
    host = _host_row(store, p)
    if host["state"] not in ("Up", "Alert", "Rebalancing", "Disconnected"):
        raise ApiRefusal(
            530,
            f"Unable to disconnect host because it is not in the correct state: host="
            f"{db_id(store, 'host', host)}; Status={host['state']}",
        )
    return {"host": host_view(store, host)}


@command("deleteHost")
def delete_host(store: Store, p: P) -> dict[str, Any]:
    """RM.doDeleteHost:1000-1015: neither Maintenance nor Degraded and not forced → 530. The
    simulator's hosts run no guest VMs; a system VM on it is the VM that refuses (RM:3779,
    swallowed into DeleteHostCmd's bare "Failed to delete host")."""
    host = _host_row(store, p)
    if host["resourcestate"] not in ("Maintenance", "Degraded") and not p.boolean("forced"):
        raise ApiRefusal(
            530,
            f"Host with UUID [{host['id']}] is not in maintenance mode and no forced deletion "
            "was requested.",
        )
    if store.rows("systemvm", hostid=host["id"]) and not p.boolean("forced"):
        raise ApiRefusal(530, "Failed to delete host")
    store.remove("host", host["id"])
    drop_dedication(store, "host", host["id"])  # RM:1235-1238
    cluster = store.get("cluster", host.get("clusterid"))
    if cluster is not None and not store.rows("host", clusterid=cluster["id"]):
        cluster["_guid"] = None  # the last host releases the cluster's GUID
    return {"success": True}


def _advance_maintenance(store: Store, host: dict[str, Any]) -> None:
    """One listHosts read of a host in PrepareForMaintenance: after `maint-polls` reads it
    reaches its final state (Maintenance, or ErrorInPrepareForMaintenance by a fault)."""
    if host["resourcestate"] != "PrepareForMaintenance" or host.get("_maint_reads") is None:
        return
    if host["_maint_reads"] > 0:
        host["_maint_reads"] -= 1
    else:
        host["resourcestate"] = host.get("_final_state") or "Maintenance"
        host["_maint_reads"] = None
    store.touch()


@command("listHosts", list_key="host")
def list_hosts(store: Store, p: P) -> dict[str, Any]:
    """QueryManagerImpl.searchForServersInternal:2396-2500: exact name, system VM hosts too
    unless `type` says otherwise; each read moves a preparing host on."""
    rows = filtered(store.rows("host"), p, "id", "name", "zoneid", "podid", "clusterid", "type")
    rows = filtered(rows, p, "state", "resourcestate")
    if p.get("hypervisor"):
        rows = [
            r for r in rows if (r.get("hypervisor") or "").lower() == p.get("hypervisor").lower()
        ]
    rows = keyword(rows, p)
    for row in rows:
        _advance_maintenance(store, row)
    if p.get("resourcestate"):  # the filter saw the state before the read moved it
        rows = [r for r in rows if r["resourcestate"] == p.get("resourcestate")]
    return paged(store, p, [host_view(store, r) for r in rows], "host")


@command("updateHostPassword")
def update_host_password(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.updateHostPassword:1149-1150, 5353-5390: KVM per host,
    XenServer per cluster; the username must stay. Only the stored copy changes
    (update_passwd_on_host defaults to false)."""
    username = p.required("username")
    password = p.required("password")
    hostid, clusterid = p.get("hostid"), p.get("clusterid")
    if hostid:
        host = p.row(store, "host", "hostid")
        if host["hypervisor"] == "XenServer":
            raise ApiRefusal(
                431,
                "Single host update is not supported by XenServer hypervisors. Please try "
                "again informing the Cluster ID.",
            )
        hosts = [host]
    elif clusterid:
        cluster = p.row(store, "cluster", "clusterid")
        if cluster["hypervisortype"] != "XenServer":
            raise ApiRefusal(431, "This operation is not supported for this hypervisor type")
        hosts = store.rows("host", clusterid=cluster["id"])
    else:
        raise ApiRefusal(431, "You should provide one of cluster id or a host id.")
    for host in hosts:
        if host["hypervisor"] not in ("KVM", "XenServer"):
            raise ApiRefusal(431, "This operation is not supported for this hypervisor type")
        if host.get("_username") != username:
            raise ApiRefusal(431, "The username is not same for the hosts..")
    for host in hosts:
        host["_secret_digest"] = digest(password)
    store.touch()
    return {"success": True}


# --- VMware datacenters (plugins/hypervisors/vmware VmwareManagerImpl) -------------------


def _vmwaredc_view(dc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in public(dc).items() if k in ("id", "name", "vcenter", "zoneid")}


def _zone_has_vmware_clusters(store: Store, zoneid: str, what: str) -> None:
    """VmwareManagerImpl.validateZoneWithResources:1426-1437 (ResourceInUseException, which
    the commands answer as 530)."""
    if any(c["hypervisortype"] == "VMware" for c in store.rows("cluster", zoneid=zoneid)):
        raise ApiRefusal(
            530, f"Zone has one or more clusters. Can't {what} which already has clusters."
        )


@command("addVmwareDc")
def add_vmware_dc(store: Store, p: P) -> dict[str, Any]:
    """VmwareManagerImpl.addVmwareDatacenter:1124-1200. The simulator has no vCenter: the DC
    is taken as found. The same DC twice is answered with the existing one; another DC for
    the zone is refused (one per zone)."""
    name, vcenter = p.required("name"), p.required("vcenter")
    zone = p.row(store, "zone", "zoneid")
    if p.get("username") is None or p.get("password") is None:
        raise ApiRefusal(431, "Missing or invalid parameter username.")
    current = store.rows("vmwaredc", zoneid=zone["id"])
    if current:
        dc = current[0]
        if dc["vcenter"].lower() == vcenter.lower() and dc["name"].lower() == name.lower():
            return {"vmwaredc": _vmwaredc_view(dc)}
        raise ApiRefusal(
            530,
            f"Zone {db_id(store, 'zone', zone)} is already associated with a VMware "
            "datacenter. Only 1 VMware DC can be associated with a zone.",
        )
    _zone_has_vmware_clusters(store, zone["id"], "add VMware datacenter to zone")
    dc = store.add(
        "vmwaredc",
        {
            "name": name,
            "vcenter": vcenter,
            "zoneid": zone["id"],
            "_username": p.get("username"),
            "_secret_digest": digest(p.get("password")),
        },
    )
    return {"vmwaredc": _vmwaredc_view(dc)}


@command("listVmwareDcs", list_key="VMwareDC")
def list_vmware_dcs(store: Store, p: P) -> dict[str, Any]:
    """VmwareManagerImpl.listVmwareDatacenters; the list key is "VMwareDC"
    (ListVmwareDcsCmd:97)."""
    zone = p.row(store, "zone", "zoneid")
    rows = store.rows("vmwaredc", zoneid=zone["id"])
    return paged(store, p, [_vmwaredc_view(r) for r in rows], "VMwareDC")


@command("removeVmwareDc")
def remove_vmware_dc(store: Store, p: P) -> dict[str, Any]:
    """VmwareManagerImpl.removeVmwareDatacenter:1344-1380."""
    zone = p.row(store, "zone", "zoneid")
    _zone_has_vmware_clusters(store, zone["id"], "remove VMware datacenter to zone")
    current = store.rows("vmwaredc", zoneid=zone["id"])
    if not current:
        raise ApiRefusal(
            530,
            f"Zone {db_id(store, 'zone', zone)} is not associated with any VMware datacenter.",
        )
    store.remove("vmwaredc", current[0]["id"])
    return {"success": True}


@command("updateVmwareDc")
def update_vmware_dc(store: Store, p: P) -> dict[str, Any]:
    """VmwareManagerImpl.updateVmwareDatacenter:1280-1340: the zone's DC gets the given name,
    vCenter and credentials."""
    zone = p.row(store, "zone", "zoneid")
    current = store.rows("vmwaredc", zoneid=zone["id"])
    if not current:
        raise ApiRefusal(
            431, f"Zone {db_id(store, 'zone', zone)} is not associated with any VMware datacenter."
        )
    dc = current[0]
    for key in ("name", "vcenter"):
        if p.get(key):
            dc[key] = p.get(key)
    if p.get("username"):
        dc["_username"] = p.get("username")
    if p.get("password"):
        dc["_secret_digest"] = digest(p.get("password"))
    store.touch()
    return {"vmwaredc": _vmwaredc_view(dc)}


# --- system VMs ------------------------------------------------------------------------------


def systemvm_view(store: Store, vm: dict[str, Any]) -> dict[str, Any]:
    zone = store.get("zone", vm["zoneid"]) or {}
    pod = store.get("pod", vm.get("podid")) or {}
    host = store.get("host", vm.get("hostid")) or {}
    view = public(vm)
    view.update(zonename=zone.get("name"), podname=pod.get("name"), hostname=host.get("name"))
    return view


@command("listSystemVms", list_key="systemvm")
def list_system_vms(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.searchForSystemVm: by id, name, zone, pod, host, type, state."""
    rows = filtered(store.rows("systemvm"), p, "id", "name", "zoneid", "podid", "hostid")
    rows = filtered(rows, p, "systemvmtype", "state")
    rows = keyword(rows, p)
    return paged(store, p, [systemvm_view(store, r) for r in rows], "systemvm")


@command("destroySystemVm", mode="async")
def destroy_system_vm(store: Store, p: P) -> dict[str, Any]:
    """ManagementServerImpl.destroySystemVM: the VM is expunged with its own host row (the
    SSVM / CPVM "host") and its ROOT volume, so nothing of it blocks a pool, host or pod
    delete afterwards."""
    vm = p.row(store, "systemvm", "id")
    view = systemvm_view(store, vm)
    view["state"] = "Destroyed"
    store.remove("systemvm", vm["id"])
    for host in store.rows("host", name=vm["name"]):
        if host["type"] != "Routing":
            store.remove("host", host["id"])
    for volume in store.rows("volume", vmid=vm["id"]):
        store.remove("volume", volume["id"])
    return {"systemvm": view}


def _zone_ready(store: Store, zone: dict[str, Any]) -> tuple[dict[str, Any], Any] | None:
    """SecondaryStorageManagerImpl.isZoneReady / getScannablePools:1420-1421: an Enabled,
    non-Edge zone with an Up and Enabled Routing host, an Up shared pool and an NFS image
    store. Answers the host and the pool the system VMs go to."""
    if zone.get("allocationstate") != "Enabled" or zone.get("type") == "Edge":
        return None
    hosts = [
        h
        for h in store.rows("host", zoneid=zone["id"])
        if h["type"] == "Routing" and h["state"] == "Up" and h["resourcestate"] == "Enabled"
    ]
    pools = [
        s
        for s in store.rows("storagepool", zoneid=zone["id"])
        if s.get("state") == "Up" and str(s.get("scope", "")).upper() in ("CLUSTER", "ZONE")
    ]
    stores = [
        s
        for s in store.rows("imagestore", zoneid=zone["id"])
        if s.get("_role", "Image") == "Image" and str(s.get("providername", "NFS")) == "NFS"
    ]
    if not (hosts and pools and stores):
        return None
    return hosts[0], pools[0]


def _start_system_vm(
    store: Store, zone: dict[str, Any], host: dict[str, Any], pool: dict[str, Any], kind: str
) -> None:
    """A system VM row, its own host row (type SecondaryStorageVM / ConsoleProxy, no cluster
    fields, as `s-1-QA` in listHosts--golang-cloudstack-library.json) and a ROOT volume on
    the pool (what keeps the pool from being deleted)."""
    number = next_db_id(store, "systemvm")  # the VM instance id names it
    prefix, vmtype, hosttype = (
        ("s", "secondarystoragevm", "SecondaryStorageVM")
        if kind == "ssvm"
        else ("v", "consoleproxy", "ConsoleProxy")
    )
    name = f"{prefix}-{number}-VM"
    vm = store.add(
        "systemvm",
        {
            "_dbid": number,
            "name": name,
            "systemvmtype": vmtype,
            "state": "Running",
            "agentstate": "Up",
            "zoneid": zone["id"],
            "podid": host["podid"],
            "hostid": host["id"],
            "hypervisor": host["hypervisor"],
            "dns1": zone.get("dns1"),
            "dns2": zone.get("dns2") or None,
            "created": _now(),
            "arch": "x86_64",
            "version": VERSION,
        },
    )
    store.add(
        "host",
        {
            "_dbid": next_db_id(store, "host"),
            "name": name,
            "type": hosttype,
            "state": "Up",
            "resourcestate": "Enabled",
            "zoneid": zone["id"],
            "podid": host["podid"],
            "ipaddress": host.get("ipaddress"),
            "created": _now(),
            "islocalstorageactive": False,
            "lastpinged": "1970-01-19T16:32:39+0000",
            "events": "AgentConnected; AgentDisconnected; HostDown; ManagementServerDown; "
            "Ping; PingTimeout; Remove; ShutdownRequested",
            "version": VERSION,
        },
    )
    store.add("volume", {"poolid": pool["id"], "vmid": vm["id"], "state": "Ready"})


def tick(store: Store) -> None:
    """What a management server does between requests: connecting hosts whose time has come
    are Up; each ready zone gets its secondary storage VM and console proxy (SecondaryStorage-
    ManagerImpl / ConsoleProxyManagerImpl scanners), never in a Disabled zone."""
    now = time.time()
    for host in store.rows("host", state="Connecting"):
        if host.get("_up_at") is not None and now >= float(host["_up_at"]):
            _host_up(store, host, store.get("cluster", host.get("clusterid")))
    if not store.tables["host"]:
        return
    for zone in store.rows("zone"):
        ready = _zone_ready(store, zone)
        if ready is None:
            continue
        types = {vm["systemvmtype"] for vm in store.rows("systemvm", zoneid=zone["id"])}
        for kind, vmtype in (("ssvm", "secondarystoragevm"), ("cpvm", "consoleproxy")):
            if vmtype not in types:
                _start_system_vm(store, zone, *ready, kind)


def pod_deletable(store: Store, pod: dict[str, Any]) -> None:
    """CM.checkIfPodIsDeletable:1734-1762, the checks the simulator can have, in order:
    volumes, hosts (system VM hosts too), VMs, clusters."""
    text = "The pod cannot be deleted because "
    vms = store.rows("systemvm", podid=pod["id"])
    pools = {s["id"] for s in store.rows("storagepool", podid=pod["id"])}
    if any(v.get("poolid") in pools for v in store.rows("volume")):
        raise ApiRefusal(530, text + "there are storage volumes in this pod.")
    if store.rows("host", podid=pod["id"]):
        raise ApiRefusal(530, text + "there are servers in this pod.")
    if vms:
        raise ApiRefusal(530, text + "there are virtual machines in this pod.")
    if store.rows("cluster", podid=pod["id"]):
        raise ApiRefusal(530, text + "there are clusters in this pod.")


__all__ = ["ParamError", "pod_deletable", "tick"]
