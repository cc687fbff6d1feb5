"""The compute plane: clusters and their settings, hosts, a zone's vCenter datacenter, and the
system VMs CloudStack starts in a zone. All are opt-in per zone. Pure.

Server classes cited: ResourceManagerImpl (RM), ConfigurationManagerImpl (CM),
VmwareDatacenterServiceImpl and its commands (plugins/hypervisors/vmware).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cstool.model import jsontypes as jt
from cstool.model import secrets
from cstool.model import settings as catalog
from cstool.model import values as v
from cstool.model.kinds.base import (
    BOOL,
    CallT,
    Field,
    KeyLike,
    Kind,
    Lowering,
    Need,
    Params,
    Read,
    ResourceLike,
    ResT,
    StateLike,
    anywhere,
    enabled_field,
    same_parent,
)
from cstool.model.kinds.settings import SETTING_VALUE, _Set

SIMULATOR = "Simulator"
EXTERNAL = "ExternalManaged"
CLUSTER_SCOPE = "clusterid"  # the parameter naming the cluster of a cluster-scoped setting

# --- secret and write-only fields ------------------------------------------------------------


def username_field(api: str = "username", doc: str = "user name (never returned)") -> Field:
    return Field("username", v.text, api=api, write_only=True, json_type=jt.TEXT, doc=doc)


def password_field(
    api: str = "password", doc: str = "password: {env: NAME} or {file: PATH}"
) -> Field:
    return Field(
        "password",
        secrets.parse,
        api=api,
        write_only=True,
        secret=True,
        json_type=jt.SECRET,
        to_yaml=lambda ref: ref.to_yaml(),
        doc=doc,
    )


def _keys(plan: Lowering[ResT, CallT], key: KeyLike) -> tuple[Any, Any, Any]:
    """The zone, pod and cluster keys above a host or a cluster-scope pool (path z/p/c/x)."""
    path = key.path
    return (
        plan.key("zone", path[:1]),
        plan.key("pod", path[:2]),
        plan.key("cluster", path[:3]),
    )


# --- clusters ------------------------------------------------------------------------------


def _cluster_type(values: Mapping[str, Any], _zone: Mapping[str, Any]) -> str:
    """VMware clusters are vCenter-managed (the UI and Marvin send ExternalManaged)."""
    return EXTERNAL if values.get("hypervisor") == "VMware" else "CloudManaged"


def _cluster_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """addCluster names the cluster in `clustername` (the response's `name`); it has no
    managedstate parameter, so an unmanaged cluster is set so right after
    (RM.discoverCluster; UpdateClusterCmd managedstate)."""
    vals = res.values
    params: Params = {
        "zoneid": plan.ref(plan.key("zone", res.key.path[:1])),
        "podid": plan.ref(res.key.parent()),
        "clustername": res.key.path[-1],
        "clustertype": vals.get("type"),
        "hypervisor": vals.get("hypervisor"),
        "allocationstate": "Enabled" if vals.get("enabled", True) else "Disabled",
        "arch": vals.get("arch"),
        "url": vals.get("url"),
        "username": vals.get("username"),
        "password": vals.get("password"),
    }
    calls = [plan.call("addCluster", params, creates=res.key)]
    if vals.get("managed") is False:
        calls.append(
            plan.call("updateCluster", {"id": plan.ref(res.key), "managedstate": "Unmanaged"})
        )
    return calls


def _cluster_needs(res: ResourceLike, parent: ResourceLike | None) -> tuple[str, ...]:
    """VmwareServerDiscoverer.find logs into vCenter with a VMware cluster's url and
    credentials (ResourceManagerImpl:626-665 passes them); other clusters need none."""
    return ("url", "username", "password") if res.values.get("hypervisor") == "VMware" else ()


CLUSTER = Kind(
    name="cluster",
    parent="pod",
    container="clusters",
    key="name",
    key_parse=v.text,
    phase=121,
    opt_in=True,
    create_needs=_cluster_needs,
    disabled_means="no new VMs are placed on its hosts while it is disabled",
    fields=(
        Field(
            "hypervisor",
            v.hypervisor,
            api="hypervisor",
            read_key="hypervisortype",
            required=True,
            # never sent in an update: updateCluster changes it without looking at the
            # cluster's hosts (RM.updateCluster:1286-1294)
            replace=True,
            json_type=jt.enum(v.HYPERVISOR_TYPES),
            doc="KVM, XenServer, VMware, Hyperv, Simulator, LXC, Ovm3, ... (any case)",
        ),
        Field(
            "type",
            v.one_of(("CloudManaged", EXTERNAL)),
            api="clustertype",
            default=_cluster_type,
            replace=True,
            json_type=jt.enum(("CloudManaged", EXTERNAL)),
            doc="CloudManaged (default) or ExternalManaged (the default for VMware)",
        ),
        enabled_field("allocationstate"),
        Field(
            "managed",
            v.boolean,
            api="managedstate",
            to_api=lambda on: {"managedstate": "Managed" if on else "Unmanaged"},
            from_api=lambda o: (
                None if not o.get("managedstate") else o["managedstate"] == "Managed"
            ),
            default=True,
            json_type=BOOL,
            doc="whether CloudStack manages the cluster's hosts (managedstate)",
        ),
        Field(
            "arch",
            v.one_of(("x86_64", "aarch64")),
            api="arch",
            absent_unknown=True,  # 4.20 and later
            json_type=jt.enum(("x86_64", "aarch64")),
            doc="CPU architecture of its hosts, x86_64 or aarch64 (4.20)",
        ),
        Field(
            "url",
            v.url,
            api="url",
            # the vCenter URL is kept in cluster_details (ClusterResponse resourcedetails)
            from_api=lambda o: (o.get("resourcedetails") or {}).get("url") or None,
            # only an ExternalManaged cluster keeps it: RM.discoverCluster returns before
            # writing cluster_details' url for a CloudManaged one (RM:596-617), which lists
            # none. So a live None is not compared (validate warns that it is ignored);
            # an ExternalManaged cluster always lists the url it was added with
            absent_unknown=True,
            replace=True,
            json_type=jt.URL,
            doc="VMware only: http://<vcenter>/<datacenter>/<cluster>",
        ),
        username_field(doc="VMware only: the vCenter user (never returned)"),
        password_field(doc="VMware only: the vCenter password, {env: NAME} or {file: PATH}"),
    ),
    read=Read("listClusters", "cluster", key_api="name", parent_id="podid"),
    create="addCluster",
    update="updateCluster",
    delete="deleteCluster",
    parent_param="podid",
    # VmwareServerDiscoverer.find:436-446 refuses a zone without its vCenter datacenter
    needs=(Need("vmware_datacenter", anywhere),),
    lower_create=_cluster_create,
    doc="clusters of the pod: hypervisor, type, hosts and primary storage",
)


# cluster_details names of the two overprovisioning settings (CM.updateConfiguration:783-803)
RATIO_DETAILS = {
    "cpuOvercommitRatio": "cpu.overprovisioning.factor",
    "memoryOvercommitRatio": "mem.overprovisioning.factor",
}
RATIO_NAMES = {name: detail for detail, name in RATIO_DETAILS.items()}


def _is_cluster_setting(name: str) -> bool:
    setting = catalog.catalog().get(name)
    return setting is not None and setting.comparable and "cluster" in setting.scopes


def explode_cluster_settings(cluster: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cluster-scoped settings from a listClusters item's `resourcedetails` (the
    cluster_details table, which updateConfiguration clusterid= writes): the two
    overcommit ratios by their setting names, and the keys the catalog gives Cluster scope."""
    details = cluster.get("resourcedetails")
    if not isinstance(details, Mapping):
        return []
    rows = []
    for key, value in details.items():
        name = RATIO_DETAILS.get(str(key), str(key))
        if name in RATIO_NAMES or _is_cluster_setting(name):
            rows.append({"name": name, "value": value, "clusterid": cluster.get("id")})
    return rows


def _differs_from_global(res: ResourceLike, live: StateLike) -> bool:
    """A cluster setting worth exporting: it is not what the cluster shows from the global
    value (addCluster copies the global factors into the cluster's details)."""
    name = res.key.path[-1]
    setting = catalog.catalog().get(name)
    if setting is None or not setting.comparable or "cluster" not in setting.scopes:
        return False
    glob = live.get(type(res.key)("setting", (name,)))
    fallback = setting.default if glob is None else glob.values.get("value")
    value = str(res.values.get("value"))
    if catalog.value_problem(setting, value, scoped=True) is not None:
        return False
    return value != catalog.listed(setting, str(fallback or ""), scoped=True)


CLUSTER_SETTING = Kind(
    name="cluster_setting",
    parent="cluster",
    container="settings",
    key="name",
    key_parse=v.text,
    style="map",
    phase=122,
    auto_created=True,
    opt_in=True,
    fields=(SETTING_VALUE,),
    read=Read(
        "listClusters",
        "cluster",
        key_api="name",
        parent_id="clusterid",
        explode=explode_cluster_settings,
    ),
    create="updateConfiguration",
    update="updateConfiguration",
    parent_param=CLUSTER_SCOPE,
    lower_create=_Set(CLUSTER_SCOPE),
    lower_update=_Set(CLUSTER_SCOPE),
    export_when=_differs_from_global,
    doc="cluster-scoped settings: name -> value",
)


# --- hosts ---------------------------------------------------------------------------------

# resourcestate -> the host's `state` field (ResourceState); PrepareForMaintenance counts as
# maintenance (it is on its way)
HOST_RESOURCE_STATES = {
    "Enabled": "enabled",
    "Disabled": "disabled",
    "Maintenance": "maintenance",
    "PrepareForMaintenance": "maintenance",
    "ErrorInMaintenance": "maintenance-error",
    "ErrorInPrepareForMaintenance": "maintenance-error",
    "Degraded": "degraded",
    "Creating": "creating",
    "Error": "error",
}
UP_WAIT = ("state", "Up", ("Down", "Error", "Removed"))
MAINTENANCE_WAIT = (
    "resourcestate",
    "Maintenance",
    ("ErrorInPrepareForMaintenance", "ErrorInMaintenance"),
)


def _read_host_state(obj: Mapping[str, Any]) -> str | None:
    raw = obj.get("resourcestate")
    if not raw:
        return None
    return HOST_RESOURCE_STATES.get(str(raw), str(raw).lower())


def _read_host_tags(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The explicit tags (4.20+ `explicithosttags`; before, `hosttags` holds only those)."""
    raw = obj.get("explicithosttags") if "explicithosttags" in obj else obj.get("hosttags")
    return v.host_tags(raw) if raw else None


def _csv(tags: Any) -> str:
    return ",".join(tags or ())


def _host_wait(plan: Lowering[ResT, CallT], key: KeyLike, until: Any) -> CallT:
    """A state wait: the applier lists the host until `until` holds (plan.Until)."""
    params = {"clusterid": plan.ref(key.parent()), "id": plan.ref(key)}
    return plan.call("listHosts", params, until=until)


def _host_allocation(plan: Lowering[ResT, CallT], key: KeyLike, enable: bool) -> CallT:
    # updateHost takes Enable/Disable and lists Enabled/Disabled (RM.updateHost:1977-1984)
    state = "Enable" if enable else "Disable"
    return plan.call("updateHost", {"id": plan.ref(key), "allocationstate": state})


def host_transition(plan: Lowering[ResT, CallT], key: KeyLike, old: str, new: str) -> list[CallT]:
    """The calls from the live state `old` to the desired `new`. A Disabled host
    has no transition to maintenance (ResourceState: no AdminAskMaintenance from Disabled),
    so it is enabled first; leaving maintenance is cancelHostMaintenance (RM:1426-1446),
    allowed from every maintenance state, error ones included."""
    if old == new:
        return []
    ref = plan.ref(key)
    calls: list[CallT] = []
    if old in ("maintenance", "maintenance-error"):
        calls.append(plan.call("cancelHostMaintenance", {"id": ref}))
        old = "enabled"
        if new == "enabled":
            return calls
    if new == "maintenance":
        if old == "disabled":
            calls.append(_host_allocation(plan, key, True))
        calls.append(plan.call("prepareHostForMaintenance", {"id": ref}))
        calls.append(_host_wait(plan, key, MAINTENANCE_WAIT))
    elif new != old:
        calls.append(_host_allocation(plan, key, new == "enabled"))
    return calls


def _host_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """addHost (a list answer, RM.addHost), the Simulator rename, the wait for Up, then the
    wanted state. allocationstate is not sent: the server never reads it."""
    cluster = plan.desired_parent(res)
    zone, pod, cluster_key = _keys(plan, res.key)
    hypervisor = cluster.values.get("hypervisor")
    vals = res.values
    params: Params = {
        "zoneid": plan.ref(zone),
        "podid": plan.ref(pod),
        "clusterid": plan.ref(cluster_key),
        "hypervisor": hypervisor,
        "url": vals.get("url"),
        "username": vals.get("username"),
        "password": vals.get("password"),
        "hosttags": _csv(vals.get("tags")) or None,
    }
    calls = [plan.call("addHost", params, creates=res.key)]
    if hypervisor == SIMULATOR:
        # the server names a simulated host SimulatedAgent.<uuid> with a random address
        # (MockAgentManagerImpl.createServerResources); only these hosts keep a new name
        calls.append(plan.call("updateHost", {"id": plan.ref(res.key), "name": res.key.path[-1]}))
    calls.append(_host_wait(plan, res.key, UP_WAIT))
    calls += host_transition(plan, res.key, "enabled", str(vals.get("state") or "enabled"))
    return calls


def _host_update(
    plan: Lowering[ResT, CallT],
    res: ResT,
    live: ResT | None,
    changed: Mapping[str, tuple[Any, Any]],
) -> list[CallT]:
    calls: list[CallT] = []
    if "tags" in changed:
        # updateHost hosttags replaces the explicit tags; "" clears them (RM:2811-2855)
        tags = _csv(res.values.get("tags"))
        calls.append(plan.call("updateHost", {"id": plan.ref(res.key), "hosttags": tags}))
    if "state" in changed:
        old, new = changed["state"]
        calls += host_transition(plan, res.key, str(old or "enabled"), str(new or "enabled"))
    return calls


def _host_delete(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    """deleteHost needs the host in Maintenance (or Degraded) unless forced (RM:1011-1015):
    enable a disabled host, prepare it for maintenance, wait, delete."""
    state = live.values.get("state")
    resource = live.extra.get("resourcestate")
    ref = plan.ref(live.key)
    calls: list[CallT] = []
    if state == "disabled":
        calls.append(_host_allocation(plan, live.key, True))
    if state == "maintenance-error":
        calls.append(plan.call("cancelHostMaintenance", {"id": ref}))
    if state != "degraded" and not (state == "maintenance" and resource == "Maintenance"):
        if state != "maintenance":
            calls.append(plan.call("prepareHostForMaintenance", {"id": ref}))
        calls.append(_host_wait(plan, live.key, MAINTENANCE_WAIT))
    calls.append(plan.call("deleteHost", {"id": ref}))
    return calls


def _under_external_cluster(res: ResourceLike, live: StateLike) -> bool:
    """Hosts of a vCenter-managed cluster are found by addCluster, never added (MV:216)."""
    cluster = live.get(res.key.parent())
    return cluster is not None and cluster.values.get("type") == EXTERNAL


def host_name_default(values: Mapping[str, Any]) -> str:
    """A host without a name is called by its URL's host (the agent's address)."""
    if values.get("url") is None:
        raise ValueError("a host needs 'name' or 'url'")
    return v.url_host(values["url"])


def _host_needs(res: ResourceLike, cluster: ResourceLike | None) -> tuple[str, ...]:
    """RM.discoverHostsFull (RM:780-793): KVM needs the username (the password is optional:
    SSH key auth is tried first); every other hypervisor but VMware needs both (431
    "Username and Password need to be provided."). VMware hosts are discovered by
    addCluster (auto-created), never added."""
    hypervisor = str(cluster.values.get("hypervisor") or "") if cluster is not None else ""
    if hypervisor == "VMware":
        return ()
    return ("url", "username") if hypervisor == "KVM" else ("url", "username", "password")


def _host_rotate(plan: Lowering[ResT, CallT], res: ResT) -> tuple[Any, list[CallT]] | None:
    """ManagementServerImpl.updateHostPassword (:5353-5390): a KVM host by hostid; a
    XenServer cluster by clusterid, once for all its hosts (the server refuses a single
    XenServer host, 431 "Single host update is not supported by XenServer hypervisors");
    no other hypervisor (431 "This operation is not supported for this hypervisor type",
    :1149-1150)."""
    hypervisor = str(plan.desired_parent(res).values.get("hypervisor") or "")
    by = {"KVM": ("hostid", res.key), "XenServer": ("clusterid", res.key.parent())}.get(hypervisor)
    if by is None:
        return None
    params = {
        by[0]: plan.ref(by[1]),
        "username": res.values.get("username"),
        "password": res.values.get("password"),
    }
    return by[1], [plan.call("updateHostPassword", params)]


HOST = Kind(
    name="host",
    parent="cluster",
    container="hosts",
    key="name",
    key_parse=v.text,
    key_default=host_name_default,
    phase=123,
    opt_in=True,
    create_needs=_host_needs,
    create_verb="add",
    rotate=_host_rotate,
    state_values=v.HOST_STATES,
    # listHosts `state` is the agent's connection (Status: Up, Connecting, Alert, Down,
    # Disconnected, ...), apart from `resourcestate` (the `state` field): an Enabled host
    # whose agent is Down runs nothing, and no API call of cstool's brings it back
    health=("state", ("Up",)),
    disabled_means="no new VMs start on it; maintenance also migrates its VMs away",
    fields=(
        Field(
            "url",
            v.url,
            api="url",
            write_only=True,  # never returned (HostResponse has no url)
            json_type=jt.URL,
            doc="what addHost connects to, e.g. http://10.10.1.101 (never returned)",
        ),
        username_field(doc="the user the management server logs in as (never returned)"),
        password_field(),
        Field(
            "tags",
            v.host_tags,
            api="hosttags",
            from_api=_read_host_tags,
            to_api=lambda tags: {"hosttags": _csv(tags)},
            clear="",
            json_type=jt.TAGS,
            doc="host tags (compared as a set)",
        ),
        Field(
            "state",
            v.state,
            from_api=_read_host_state,
            default="enabled",
            json_type=jt.STATE,
            doc="enabled (default), disabled or maintenance",
        ),
    ),
    read=Read(
        "listHosts",
        "host",
        key_api="name",
        parent_id="clusterid",
        # type=Routing leaves out the system VMs' hosts (SecondaryStorageVM, ConsoleProxy)
        params={"type": "Routing"},
        aliases=("ipaddress",),
        extra_fields=("resourcestate", "state", "ipaddress", "hypervisor", "created"),
    ),
    create="addHost",
    update="updateHost",
    delete="deleteHost",
    # settings are read when the agent connects (enable.kvm.host.auto.enable.disable)
    needs=(Need("cluster_setting", same_parent),),
    lower_create=_host_create,
    lower_update=_host_update,
    lower_delete=_host_delete,
    auto_created_when=_under_external_cluster,
    doc="hosts of the cluster: identity by name or address (the URL is never returned)",
)


# --- the zone's vCenter datacenter (plugins/hypervisors/vmware) -------------------------------


def _vmware_dc_delete(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    """removeVmwareDc takes the zone (RemoveVmwareDcCmd): a zone has at most one."""
    return [plan.call("removeVmwareDc", {"zoneid": plan.ref(live.key.parent())})]


def _vmware_dc_rotate(plan: Lowering[ResT, CallT], res: ResT) -> tuple[Any, list[CallT]] | None:
    """updateVmwareDc zoneid password isrecursive=true: its clusters' and hosts' copies too."""
    params = {
        "zoneid": plan.ref(res.key.parent()),
        "password": res.values.get("password"),
        "isrecursive": True,
    }
    return res.key, [plan.call("updateVmwareDc", params)]


VMWARE_DATACENTER = Kind(
    name="vmware_datacenter",
    parent="zone",
    container="vmware_datacenters",
    key="name",
    key_parse=v.text,
    phase=75,
    # VmwareDatacenterServiceImpl.addVmwareDatacenter logs into the vCenter with them
    create_needs=lambda res, parent: ("username", "password"),
    rotate=_vmware_dc_rotate,
    opt_in=True,
    fields=(
        Field(
            "vcenter",
            v.text,
            api="vcenter",
            required=True,
            replace=True,
            json_type=jt.TEXT,
            doc="the vCenter's address",
        ),
        username_field(doc="the vCenter user (never returned)"),
        password_field(doc="the vCenter password, {env: NAME} or {file: PATH}"),
    ),
    # ListVmwareDcsCmd: zoneid is required, the list key is VMwareDC (ListVmwareDcsCmd:97)
    read=Read(
        "listVmwareDcs",
        "VMwareDC",
        key_api="name",
        per_parent="zoneid",
        on_demand=True,  # only the opted-in zones that name one
    ),
    create="addVmwareDc",
    delete="removeVmwareDc",
    parent_param="zoneid",
    lower_delete=_vmware_dc_delete,
    doc="the zone's vCenter datacenter (VMware zones; at most one)",
)


# --- system VMs (made by CloudStack; destroyed only when their zone is torn down) -------------

SYSTEM_VM = Kind(
    name="system_vm",
    parent="zone",
    container="",
    key="name",
    key_parse=v.text,
    phase=130,  # never created: only its deletes are placed, after the zone's tear-down disable
    implicit=True,
    auto_created=True,
    torn_down_with_parent=True,
    opt_in=True,
    fields=(),
    # hostid: the host it runs on, whose cluster's pools may hold its ROOT volume
    # (plan.py refuses to delete such a pool outside a tear-down)
    read=Read(
        "listSystemVms",
        "systemvm",
        key_api="name",
        parent_id="zoneid",
        extra_fields=("hostid",),
    ),
    delete="destroySystemVm",
    # deletes only: a system VM goes before the pools, hosts and stores it runs on
    # (StorageManagerImpl.deleteDataStoreInternal refuses a pool with its volumes), and
    # before the zone's shared guest networks, whose addresses it holds: deleteNetwork
    # removes the network's ranges (NetworkOrchestrator.destroyNetwork,
    # deleteVlansInNetwork :3530-3545), which fails on allocated addresses ("Failed to delete
    # network ...; was unable to cleanup corresponding ip ranges", :3453-3456)
    needs=(
        Need("primary_storage", anywhere),
        Need("zone_primary_storage", anywhere),
        Need("host", anywhere),
        Need("image_store", anywhere),
        Need("staging_store", anywhere),
        Need("shared_network", anywhere),
    ),
    doc="the zone's system VMs (secondary storage VM, console proxy): never managed",
)

KINDS = (VMWARE_DATACENTER, CLUSTER, CLUSTER_SETTING, HOST, SYSTEM_VM)
