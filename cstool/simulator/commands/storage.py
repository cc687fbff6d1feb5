"""Primary storage pools, image stores and staging (cache) stores, as the 4.22 server has them.

Sources (apache/cloudstack@3d6cafe1936e): StorageManagerImpl (SM) createPool, updateStoragePool,
deletePool, preparePrimaryStorageForMaintenance, cancelPrimaryStorageForMaintenance,
discoverImageStore, deleteImageStore, createSecondaryStagingStore and
deleteSecondaryStagingStore; CloudStackPrimaryDataStoreLifeCycleImpl (PL) initialize and
attachCluster; PrimaryDataStoreHelper; CloudStackImageStoreLifeCycleImpl; ImageStoreHelper;
QueryManagerImpl's searches; StoragePoolJoinDaoImpl and ImageStoreJoinDaoImpl (the answers).

Rows are kept as the API shows them where other commands read them (`state`, `scope`, `zoneid`,
`clusterid`, `type` of a pool; `_role` of an image store); the rest is built by the views.
Secrets (an RBD or cifs user-info, S3 and Swift keys) are kept only as digests: the server
stores them encrypted and never returns them. Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from cstool.simulator.commands.core import ApiRefusal, P, command, filtered, paged, setting
from cstool.simulator.commands.pods import db_id as pod_db_id
from cstool.simulator.commands.zones import db_id, next_db_id
from cstool.simulator.store import Store, public

# --- ids and URLs --------------------------------------------------------------------------


def name_uuid(text: str) -> str:
    """java.util.UUID.nameUUIDFromBytes(text.getBytes()) (UuidUtils.nameUUIDFromBytes): the MD5
    of the bytes with the version-3 and IETF-variant bits set. PL.initialize names most pools
    so, from host + path: a pool re-created on the same share gets the same id back."""
    return str(uuid.UUID(bytes=hashlib.md5(text.encode()).digest(), version=3))


def digest(value: str) -> str:
    """What the simulator keeps of a secret (the server keeps it encrypted, DBEncryptionUtil)."""
    return hashlib.sha256(f"cstool-simulator:{value}".encode()).hexdigest()


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.DOTALL)


def uri_info(url: str) -> tuple[str | None, str | None, str, str | None, int]:
    """UriUtils.getUriInfo: (scheme, host, path, user-info, port; -1 when none), as
    java.net.URI splits the URL. rbd:// URLs are split by hand (getRbdUrlInfo): the user-info
    is everything before the first '@', the host list ends at the last ':' or the first '/'."""
    if url.startswith("rbd://"):
        rest = url[6:]
        at_index = rest.find("@")
        userinfo = rest[:at_index] if at_index != -1 else None
        hostinfo = rest[at_index + 1 :] if at_index != -1 else rest
        first_slash, colon = hostinfo.find("/"), hostinfo.rfind(":")
        end = colon if colon != -1 else (first_slash if first_slash > 0 else len(hostinfo))
        hosts, after = hostinfo[:end], hostinfo[end:]
        rbd_port = -1
        if after.startswith(":"):
            port_text, slash_text, rbd_path = after[1:].partition("/")
            rbd_port = int(port_text) if port_text.isdigit() else -1
            after = slash_text + rbd_path
        if userinfo is not None:
            userinfo = userinfo.replace("+", "-").replace("/", "_")
        return "rbd", hosts, after, userinfo, rbd_port
    m = _SCHEME.match(url)
    if m is None:
        return None, None, url, None, -1
    scheme, rest = m.group(1), m.group(2)
    if not rest.startswith("//"):
        return scheme, None, "", None, -1  # an opaque URI: no host, no path
    authority, slash, path = rest[2:].partition("/")
    path = (slash + path).split("?", 1)[0].split("#", 1)[0]
    user, at, hostport = authority.rpartition("@")
    host, sep, port_part = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    return (
        scheme,
        host or None,
        path,
        user if at else None,
        int(port_part) if sep and port_part.isdigit() else -1,
    )


# --- primary storage -----------------------------------------------------------------------

# PL.initialize: the pool type of each scheme the default lifecycle knows (compared ignoring
# case); any other scheme is Storage.StoragePoolType.valueOf(scheme), case-sensitive
_POOL_TYPES = {
    "nfs": "NetworkFilesystem",
    "cifs": "SMB",
    "file": "Filesystem",
    "sharedmountpoint": "SharedMountPoint",
    "clvm": "CLVM",
    "rbd": "RBD",
    "presetup": "PreSetup",
    "datastorecluster": "DatastoreCluster",
    "iscsi": "IscsiLUN",
    "iso": "ISO",
    "vmfs": "VMFS",
    "ocfs2": "OCFS2",
    "gluster": "Gluster",
}
_STORAGE_POOL_TYPES = (  # com.cloud.storage.Storage.StoragePoolType, in its order
    "Filesystem NetworkFilesystem IscsiLUN Iscsi ISO LVM CLVM RBD SharedMountPoint VMFS PreSetup "
    "EXT OCFS2 SMB Gluster PowerFlex ManagedNFS Linstor DatastoreCluster StorPool FiberChannel"
).split()
# SM.zoneWidePoolSupportedHypervisorTypes (SM:443-444)
_ZONE_WIDE_HYPERVISORS = ("KVM", "VMware", "Hyperv", "LXC", "Any", "Simulator")
# Hypervisor.HypervisorType: the names getType knows (lower-cased lookup)
_HYPERVISORS = {
    h.lower(): h
    for h in (
        "None XenServer KVM VMware Hyperv VirtualBox BareMetal Simulator Ovm Ovm3 LXC Custom "
        "External Any"
    ).split()
}
_HYPERVISORS["parallels"] = "Parralels"  # the server's own spelling
# the size the CloudStack simulator's agent reports for a shared pool (the real captures of
# listStoragePools and createStoragePool, tests/data/real/infra)
SIM_POOL_BYTES = 1099511627776
DEFAULT_PRIMARY = "DefaultPrimary"  # DataStoreProvider.DEFAULT_PRIMARY


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _fail(text: str) -> ApiRefusal:
    """CreateStoragePoolCmd.execute catches every exception as INTERNAL_ERROR (530)."""
    return ApiRefusal(530, text)


def pool_text(store: Store, pool: dict[str, Any]) -> str:
    """StoragePoolVO.toString(): ReflectionToStringBuilderUtils JSON style, fields in
    declaration order."""
    dbid = db_id(store, "storagepool", pool)
    return (
        f'StoragePool {{"id":{dbid},"name":"{pool["name"]}","uuid":"{pool["id"]}",'
        f'"poolType":"{pool["type"]}"}}'
    )


def name_form(p: P, name: str = "details") -> dict[str, str]:
    """SM.extractApiParamAsMap: every field of every `details[i].<field>=value` entry becomes a
    detail (so a key/value form makes the two details `key` and `value`). The simulator's
    parameters are lower-cased, so detail names arrive lower-cased."""
    out: dict[str, str] = {}
    for raw, value in p.raw.items():
        if raw.startswith(f"{name}[") and "]." in raw:
            out[raw.split("].", 1)[1]] = value
    return out


def key_value_form(p: P, name: str = "details") -> dict[str, str] | None:
    """AddImageStoreCmd.getDetails / CreateSecondaryStagingStoreCmd.getDetails: each entry's
    `key` and `value` fields (a missing one is null); None when no details were sent."""
    entries: dict[str, dict[str, str]] = {}
    for raw, value in p.raw.items():
        if raw.startswith(f"{name}[") and "]." in raw:
            index, _, field = raw[len(name) + 1 :].partition("].")
            entries.setdefault(index, {})[field] = value
    if not entries:
        return None
    return {str(e.get("key")): e.get("value", "") for e in entries.values()}


def _check_nfs_options(options: str) -> None:
    """SM.checkNfsMountOptions: options without spaces, split on ',', each a name or
    name=value, no name twice (InvalidParameterValueException)."""
    seen: set[str] = set()
    for option in re.sub(r"\s", "", options).split(","):
        parts = option.split("=")
        if len(parts) > 2:
            raise _fail(f"Invalid value for NFS option {parts[0]}")
        if parts[0] in seen:
            raise _fail(f"Duplicate NFS option values found for option {parts[0]}")
        seen.add(parts[0])


def _uri_params(url: str) -> dict[str, Any]:
    """SM.extractUriParamsAsMap: the scheme's own checks (InvalidParameterValueException), then
    scheme, host, hostPath (URL-decoded), userInfo and port; empty without a scheme."""
    scheme, host, path, userinfo, port = uri_info(url)
    if scheme is None:
        return {}
    blank = not (path or "").strip() or not (host or "").strip()  # StringUtils.isAnyBlank
    lowered = scheme.lower()
    if lowered == "nfs" and blank:
        raise _fail("host or path is null, should be nfs://hostname/path")
    if lowered == "gluster" and blank:
        raise _fail("host or path is null, should be gluster://hostname/volume")
    # (sharedmountpoint and rbd refuse a null path, which an authority-based URL never has)
    return {
        "scheme": scheme,
        "host": host,
        "hostPath": unquote_plus(path),  # URLDecoder.decode: '+' is a space
        "userInfo": userinfo,
        "port": port,
    }


def _pool_params(uri: dict[str, Any], cluster: dict[str, Any] | None, pod: Any) -> dict[str, Any]:
    """PL.initialize's scheme branch: type, host, port and path of the new pool."""
    scheme, host, path = uri["scheme"], uri["host"], uri["hostPath"]
    lowered = scheme.lower()
    kind = _POOL_TYPES.get(lowered)
    if kind is None:
        if scheme not in _STORAGE_POOL_TYPES:  # Enum.valueOf: IllegalArgumentException
            raise _fail(
                "Failed to add data store: No enum constant "
                f"com.cloud.storage.Storage.StoragePoolType.{scheme}"
            )
        kind = scheme
    if lowered in ("clvm", "rbd"):
        path = path.replace("/", "", 1)
    elif lowered == "file":
        host = "localhost"
    elif lowered == "vmfs":
        host = f"VMFS datastore: {path}"
    elif lowered == "ocfs2":
        host = "clustered"
    elif lowered == "iscsi":
        lun = path.split("/")[-1]
        if not re.fullmatch(r"[+-]?\d+", lun):  # NumbersUtil.parseInt(.., -1)
            raise _fail("Failed to add data store: iSCSI needs to have LUN number")
        if cluster is None:
            raise _fail("Failed to add data store: IscsiLUN need to have clusters specified")
    return {"type": kind, "host": host, "path": path}


def _pool_uuid(store: Store, uri: dict[str, Any], kind: str, hypervisor: str) -> str:
    """PL.initialize: random for sharedmountpoint and clvm, the path without slashes for a
    non-VMware PreSetup pool, else nameUUIDFromBytes(host + path)."""
    scheme = uri["scheme"].lower()
    if scheme in ("sharedmountpoint", "clvm"):
        return store.new_id()
    if scheme == "presetup" and hypervisor != "VMware":
        return str(uri["hostPath"]).replace("/", "")
    return name_uuid(f"{uri['host']}{uri['hostPath']}")


def _scope(p: P, scheme: str | None) -> str:
    """SM.createPool: CLUSTER by default (HOST for file:), else the `scope` parameter."""
    scope = "HOST" if scheme == "file" else "CLUSTER"  # "file".equals(scheme): case-sensitive
    given = p.get("scope")
    if given is not None:
        if given.upper() not in ("ZONE", "CLUSTER", "HOST", "REGION", "GLOBAL"):
            raise _fail(f"invalid scope for pool {given}")
        scope = given.upper()
    return scope


def _up_hosts(store: Store, cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """ResourceManagerImpl.listAllUpHosts(Routing, cluster, pod, zone): status Up, whatever the
    resource state (getEligibleUpHostsInClusterForStorageConnection, RM:2428-2433)."""
    return [
        h
        for h in store.rows("host", clusterid=cluster["id"])
        if h.get("type") == "Routing" and h.get("state") == "Up"
    ]


@command("createStoragePool")
def create_storage_pool(store: Store, p: P) -> dict[str, Any]:
    # SM.createPool, then PL.initialize and attachCluster / attachZone, in their order
    url, name = p.required("url"), p.required("name")
    zone = p.row(store, "zone", "zoneid")
    pod = p.row(store, "pod", "podid", required=False)
    cluster = p.row(store, "cluster", "clusterid", required=False)
    uri = _uri_params(url)
    scope = _scope(p, uri.get("scheme"))
    if scope == "CLUSTER" and cluster is None:
        raise _fail("cluster id can't be null, if scope is cluster")
    if scope == "ZONE":
        pod = cluster = None  # "ignore passed clusterId and podId"
        given = p.get("hypervisor")
        if given is None:
            raise _fail(
                "Missing parameter hypervisor. Hypervisor type is required to create zone wide "
                "primary storage."
            )
        hypervisor = _HYPERVISORS.get(given.lower(), "None")
        if hypervisor not in _ZONE_WIDE_HYPERVISORS:
            raise _fail(f"Zone wide storage pool is not supported for hypervisor type {given}")
    else:
        hypervisor = str((cluster or {}).get("hypervisortype") or "KVM")
    details = name_form(p)
    if "nfsmountopts" in details:  # SM.checkNFSMountOptionsForCreate
        if hypervisor not in ("KVM", "Simulator"):
            raise _fail(f"NFS options can not be set for the hypervisor type {hypervisor}")
        if uri.get("scheme") != "nfs":  # "nfs".equals(scheme): case-sensitive
            raise _fail("NFS options can only be set on pool type NetworkFilesystem")
        _check_nfs_options(details["nfsmountopts"])
    # the lifecycle (PL.initialize): its failures come back "Failed to add data store: ..."
    if cluster is not None and pod is None:
        raise _fail("Failed to add data store: Cluster id requires pod id")
    for param, label in (("capacitybytes", "capacityBytes"), ("capacityiops", "capacityIops")):
        value = p.integer(param)
        if value is not None and value <= 0:
            raise _fail(f"Failed to add data store: '{label}' must be greater than 0.")
        if value is not None:
            details[label] = str(value)
    if not uri:  # no scheme: dsInfos.get("scheme").toString() on null
        raise _fail(
            'Failed to add data store: Cannot invoke "Object.toString()" because the return '
            'value of "java.util.Map.get(Object)" is null'
        )
    made = _pool_params(uri, cluster, pod)
    if uri["scheme"].lower() != "sharedmountpoint":
        same = [
            r
            for r in store.rows("storagepool")
            if r.get("_host") == made["host"] and r.get("_path") == made["path"]
        ]
        if same:  # listPoolByHostPath: the first pool's pod, its internal id (null: zone-wide)
            old_pod = store.get("pod", same[0].get("podid"))
            shown = pod_db_id(old_pod) if old_pod else "null"
            raise _fail(
                f"Failed to add data store: Storage pool {made['path']} already in use by "
                f"another pod (id={shown})"
            )
    pool_id = _pool_uuid(store, uri, made["type"], hypervisor)
    if store.get("storagepool", pool_id) is not None:
        raise _fail(
            "Failed to add data store: Another active pool with the same uuid already exists"
        )
    if scope == "CLUSTER" and cluster is not None and not _up_hosts(store, cluster):
        # attachCluster -> RM.getEligibleUpHostsInClusterForStorageConnection: the row is
        # expunged and nothing is kept
        raise _fail(
            "Failed to add data store: No host up to associate a storage pool with in cluster "
            f"{db_id(store, 'cluster', cluster)}"
        )
    tags = [t.strip() for t in (p.get("tags") or "").split(",") if t.strip()]
    capacity = p.integer("capacitybytes")
    row = store.add(
        "storagepool",
        {
            "id": pool_id,
            "_dbid": next_db_id(store, "storagepool"),
            "name": name,
            "zoneid": zone["id"],
            "zonename": zone["name"],
            "podid": pod and pod["id"],
            "podname": pod and pod["name"],
            "clusterid": cluster and cluster["id"],
            "clustername": cluster and cluster["name"],
            "ipaddress": made["host"],
            "path": made["path"],
            "created": _now(),
            "type": made["type"],
            "scope": scope,
            # PrimaryDataStoreHelper.attachCluster / attachZone: Up once attached
            "state": "Up",
            "hypervisor": hypervisor,
            "provider": DEFAULT_PRIMARY,  # the only primary provider the simulator has
            "managed": p.boolean("managed"),
            "capacitybytes": capacity if capacity is not None else SIM_POOL_BYTES,
            "capacityiops": p.integer("capacityiops"),
            "_host": made["host"],
            "_path": made["path"],
            "_port": uri["port"],
            "_userinfo": digest(uri["userInfo"]) if uri.get("userInfo") else None,
            "_tags": tags,
            "_details": details,
        },
    )
    return {"storagepool": pool_view(store, row)}


def pool_view(store: Store, pool: dict[str, Any]) -> dict[str, Any]:
    """StoragePoolJoinDaoImpl.newStoragePoolResponse (+ the storage capabilities the real
    captures show for DefaultPrimary pools)."""
    details = dict(pool.get("_details") or {})
    factor = details.get("storage.overprovisioning.factor") or setting(
        store, "storage.overprovisioning.factor"
    )
    try:  # Double.toString(StorageOverprovisioningFactor.valueIn(poolId))
        shown = repr(float(factor))
    except ValueError:
        shown = factor
    tags = pool.get("_tags") or []
    view = {
        **public(pool),
        "disksizetotal": pool.get("capacitybytes"),
        "disksizeallocated": 0,
        "disksizeused": 0,
        "tags": ",".join(tags) if tags else None,
        "istagarule": False if tags else None,  # storage_pool_tags.is_tag_a_rule
        "overprovisionfactor": shown,
        "hasannotations": False,
        "storagecapabilities": {"VOLUME_SNAPSHOT_QUIESCEVM": "false"},
        "details": details or None,
        "nfsmountopts": details.get("nfsmountopts"),
    }
    return public(view)


@command("updateStoragePool")
def update_storage_pool(store: Store, p: P) -> dict[str, Any]:
    # UpdateStoragePoolCmd.execute: SM.updateStoragePool when any of name, capacityiops,
    # capacitybytes, url, istagarule, tags or details is sent; then enable/disable
    pool = p.row(store, "storagepool", "id")
    sent = any(p.get(k) is not None for k in ("name", "capacityiops", "capacitybytes", "url"))
    sent = sent or p.get("istagarule") is not None or p.get("tags") is not None
    details = name_form(p)
    if sent or details:
        _update_pool(store, p, pool, details)
    enabled = p.get("enabled")
    if enabled is not None:
        if p.boolean("enabled"):  # SM.enablePrimaryStoragePool
            if pool["state"] != "Disabled":
                raise ApiRefusal(
                    431,
                    f"Primary storage {pool_text(store, pool)} cannot be enabled. Storage pool "
                    f"state : {pool['state']}",
                )
            pool["state"] = "Up"
        else:  # SM.disablePrimaryStoragePool
            if pool["state"] != "Up":
                raise ApiRefusal(
                    431,
                    f"Primary storage {pool_text(store, pool)} cannot be disabled. Storage pool "
                    f"state : {pool['state']}",
                )
            pool["state"] = "Disabled"
    elif not (sent or details):
        raise ApiRefusal(530, "Failed to update storage pool")
    store.touch()
    return {"storagepool": pool_view(store, pool)}


def _update_pool(store: Store, p: P, pool: dict[str, Any], details: dict[str, str]) -> None:
    """SM.updateStoragePool, in its order."""
    if "nfsmountopts" in details:  # SM.checkNFSMountOptionsForUpdate (root admin: always)
        if pool.get("hypervisor") not in ("KVM", "Simulator"):
            raise ApiRefusal(431, "NFS options can only be set for the hypervisor type KVM")
        if pool["type"] != "NetworkFilesystem":
            raise ApiRefusal(431, "NFS options can only be set on pool type NetworkFilesystem")
        if pool["state"] not in ("Maintenance", "PrepareForMaintenance", "ErrorInMaintenance"):
            # StoragePoolVO.isInMaintenance
            raise ApiRefusal(
                431, "The storage pool should be in maintenance mode to edit nfs options"
            )
        try:
            _check_nfs_options(details["nfsmountopts"])
        except ApiRefusal as exc:
            raise ApiRefusal(431, exc.text) from None
    if (p.get("name") or "").strip():
        pool["name"] = p.get("name")
    if p.get("tags") is not None:  # a LIST: StringTokenizer(",") drops empty tokens; "" clears
        pool["_tags"] = list(dict.fromkeys(t for t in p.get("tags").split(",") if t))
    merged = dict(pool.get("_details") or {})
    merged.update(details)
    bytes_, iops = p.integer("capacitybytes"), p.integer("capacityiops")
    if bytes_ is not None and bytes_ != pool.get("capacitybytes"):
        merged["capacityBytes"] = str(bytes_)
        pool["capacitybytes"] = bytes_
    if iops is not None and iops != pool.get("capacityiops"):
        merged["capacityIops"] = str(iops)
        pool["capacityiops"] = iops
    if p.get("url") is not None:
        merged["url"] = p.get("url")
    pool["_details"] = merged


def _stop_system_vms(store: Store, pool: dict[str, Any]) -> None:
    """StoragePoolAutomationImpl.maintain stops the system VMs with volumes on the pool; it
    does not destroy them (so their volumes still block a delete)."""
    for volume in store.rows("volume", poolid=pool["id"]):
        vm = store.get("systemvm", volume.get("vmid"))
        if vm is not None and vm.get("state") != "Destroyed":
            vm["state"] = "Stopped"


@command("enableStorageMaintenance", mode="async")
def enable_storage_maintenance(store: Store, p: P) -> dict[str, Any]:
    # SM.preparePrimaryStorageForMaintenance, then StoragePoolAutomationImpl.maintain and
    # PrimaryDataStoreHelper.maintain: the pool is in Maintenance when the job ends
    pool = p.row(store, "storagepool", "id")
    if pool["state"] not in ("Up", "ErrorInMaintenance"):
        raise ApiRefusal(
            431,
            f"Primary storage {pool_text(store, pool)} is not ready for migration, as the status "
            f"is:{pool['state']}",
        )
    # StoragePoolAutomationImpl.maintain: one pool in PrepareForMaintenance per cluster (per
    # zone for zone-wide pools)
    if pool["scope"] == "ZONE":
        peers = store.rows("storagepool", zoneid=pool["zoneid"], scope="ZONE")
    else:
        peers = store.rows("storagepool", clusterid=pool.get("clusterid"), scope="CLUSTER")
    for other in peers:
        if other["id"] != pool["id"] and other["state"] == "PrepareForMaintenance":
            raise ApiRefusal(
                530,
                "Only one storage pool in a cluster can be in PrepareForMaintenance mode, "
                f"{pool_text(store, other)} is already in  PrepareForMaintenance mode ",
            )
    _stop_system_vms(store, pool)
    pool["state"] = "Maintenance"
    store.touch()
    return {"storagepool": pool_view(store, pool)}


@command("cancelStorageMaintenance", mode="async")
def cancel_storage_maintenance(store: Store, p: P) -> dict[str, Any]:
    # SM.cancelPrimaryStorageForMaintenance: refused from Up or PrepareForMaintenance
    # (StorageUnavailableException: 530 in the job); PrimaryDataStoreHelper.cancelMaintain: Up
    pool = p.row(store, "storagepool", "id")
    if pool["state"] in ("Up", "PrepareForMaintenance"):
        raise ApiRefusal(
            530,
            f"Primary storage {pool_text(store, pool)} is not ready to complete migration, as "
            f"the status is:{pool['state']}",
        )
    pool["state"] = "Up"
    store.touch()
    return {"storagepool": pool_view(store, pool)}


@command("deleteStoragePool")
def delete_storage_pool(store: Store, p: P) -> dict[str, Any]:
    # SM.deletePool and deleteDataStoreInternal (SM:1671-1790)
    pool = p.row(store, "storagepool", "id")
    if pool["state"] != "Maintenance":
        raise ApiRefusal(
            431,
            "Unable to delete storage due to it is not in Maintenance state, pool: "
            + pool_text(store, pool),
        )
    volumes = store.rows("volume", poolid=pool["id"])
    blocking = (
        [v for v in volumes if v.get("state") != "Destroyed"] if p.boolean("forced") else volumes
    )
    if blocking:
        raise ApiRefusal(
            530,
            f"Cannot delete pool {pool_text(store, pool)} as there are non-destroyed volumes "
            "associated to this pool.",
        )
    for volume in volumes:  # forced: the Destroyed volumes are expunged
        store.remove("volume", volume["id"])
    # PrimaryDataStoreHelper.deletePrimaryDataStore nulls the uuid and removes the row: the
    # same share added again gets the same (name-based) id
    store.remove("storagepool", pool["id"])
    return {"success": True}


@command("listStoragePools", list_key="storagepool")
def list_storage_pools(store: Store, p: P) -> dict[str, Any]:
    # QueryManagerImpl.searchForStoragePoolsInternal, PrimaryDataStoreDaoImpl
    # .createStoragePoolSearchCriteria: scope and status are checked first (ignoring case),
    # then exact matches; keyword is LIKE on name or pool type; ordered by id
    scope, status = p.get("scope"), p.get("status")
    if scope is not None and scope.upper() not in ("ZONE", "CLUSTER", "HOST", "REGION", "GLOBAL"):
        raise ApiRefusal(431, f"Invalid scope type: {scope}")
    states = (
        "Initial Initialized Creating Attaching Up PrepareForMaintenance ErrorInMaintenance "
        "CancelMaintenance Maintenance Disabled Removed"
    ).split()
    if status is not None and status.lower() not in (s.lower() for s in states):
        raise ApiRefusal(431, f"Invalid status: {status}")
    rows = filtered(store.rows("storagepool"), p, "id", "name", "zoneid", "podid", "clusterid")
    rows = filtered(rows, p, "path", "ipaddress")
    if scope is not None:
        rows = [r for r in rows if r["scope"] == scope.upper()]
    if status is not None:
        rows = [r for r in rows if r["state"].lower() == status.lower()]
    if p.get("keyword"):
        word = p.get("keyword").lower()
        rows = [r for r in rows if word in r["name"].lower() or word in r["type"].lower()]
    rows.sort(key=lambda r: db_id(store, "storagepool", r))
    return paged(store, p, [pool_view(store, r) for r in rows], "storagepool")


# --- image stores and staging stores -----------------------------------------------------

# DataStoreProviderManagerImpl.getDataStoreProvider: a case-sensitive map of the registered
# image store providers; an unknown name becomes the default, NFS (getDefaultImageDataStore-
# Provider, getDefaultCacheDataStoreProvider). Each provider's isScopeSupported:
_IMAGE_SCOPES = {"NFS": "ZONE", "S3": "REGION", "Swift": "REGION"}


def _image_store_named(store: Store, name: str | None) -> dict[str, Any] | None:
    """ImageStoreDaoImpl.findByName: its `role` condition is never given a value, so it is left
    out (SearchCriteria drops unset conditions) and every store counts, staging ones too; an
    SQL equality, case-insensitive under the table's collation."""
    if name is None:
        return None
    return next(
        (s for s in store.rows("imagestore") if str(s.get("name")).lower() == name.lower()),
        None,
    )


def _nfs_url_checks(url: str | None) -> None:
    """CloudStackImageStoreLifeCycleImpl.initialize (NFS provider): its refusals reach the
    caller wrapped by SM.discoverImageStore as "Failed to add data store: ..." (530)."""
    prefix = "Failed to add data store: "
    if url is None:  # url.contains("cifs") on null
        raise ApiRefusal(
            530,
            prefix + 'Cannot invoke "String.contains(java.lang.CharSequence)" because "url" is '
            "null",
        )
    scheme, host, path, _, _ = uri_info(url)
    if scheme is None:
        raise ApiRefusal(
            530, f"{prefix}uri.scheme is null {url}, add nfs:// (or cifs://) as a prefix"
        )
    if scheme.lower() == "nfs" and (not host or not path):
        raise ApiRefusal(
            530,
            prefix + "Your host and/or path is wrong.  Make sure it's of the format "
            "nfs://hostname/path",
        )


def _image_store_row(
    store: Store,
    name: str | None,
    url: str | None,
    provider: str,
    zone: dict[str, Any] | None,
    details: dict[str, str] | None,
    role: str,
) -> dict[str, Any]:
    """ImageStoreHelper.createImageStore: an existing store of that name is given back; else a
    new row (name = the uuid when none; protocol by provider; secrets kept as digests)."""
    existing = _image_store_named(store, name)
    if existing is not None:
        return existing
    if provider == "NFS":
        protocol = (uri_info(url or "")[0] or "").lower()
    elif provider == "S3":  # S3ImageStoreLifeCycleImpl: https when usehttps is true
        protocol = "https" if (details or {}).get("usehttps", "").lower() == "true" else "http"
    else:  # SwiftImageStoreLifeCycleImpl
        protocol = "http"
    oid = store.new_id()
    kept = {
        k: digest(v) if k in ("key", "secretkey", "password", "accesskey") else v
        for k, v in (details or {}).items()
    }
    return store.add(
        "imagestore",
        {
            "id": oid,
            "_dbid": next_db_id(store, "imagestore"),
            "name": name or oid,
            "url": url,
            "protocol": protocol,
            "providername": provider,
            "scope": "ZONE" if zone is not None else "REGION",
            "zoneid": zone and zone["id"],
            "zonename": zone and zone["name"],
            "readonly": False,
            "hasannotations": False,
            "_role": role,
            "_details": kept,
        },
    )


@command("addImageStore")
def add_image_store(store: Store, p: P) -> dict[str, Any]:
    # AddImageStoreCmd.execute -> SM.discoverImageStore (SM:3906-3960), in its order
    given = p.required("provider")
    provider = given if given in _IMAGE_SCOPES else "NFS"
    zone = p.row(store, "zone", "zoneid", required=False)
    scope = "ZONE" if zone is not None else "REGION"
    url = p.get("url")
    name = p.get("name")
    name = url if name is None else name
    if _image_store_named(store, name) is not None:
        raise ApiRefusal(
            431, f"The image store with name {name} already exists, try creating with another name"
        )
    if _IMAGE_SCOPES[provider] != scope:
        raise ApiRefusal(431, f"Image store provider {provider} does not support scope {scope}")
    for other in store.rows("imagestore", _role="Image"):  # ImageStoreDaoImpl.listImageStores
        if other["providername"].lower() != provider.lower():
            raise ApiRefusal(
                431,
                "You can only add new image stores from the same provider "
                f"{other['providername']} already added",
            )
    details = key_value_form(p)
    if provider == "NFS":
        _nfs_url_checks(url)
    elif provider == "S3" and details is None:  # details.get(...) on null
        raise ApiRefusal(
            530,
            'Failed to add data store: Cannot invoke "java.util.Map.get(Object)" because '
            '"details" is null',
        )
    row = _image_store_row(store, name, url, provider, zone, details, "Image")
    return {"imagestore": image_store_view(row)}


def image_store_view(row: dict[str, Any]) -> dict[str, Any]:
    """ImageStoreJoinDaoImpl.newImageStoreResponse (no disk sizes: no SSVM has reported)."""
    return public(row)


@command("deleteImageStore")
def delete_image_store(store: Store, p: P) -> dict[str, Any]:
    # SM.deleteImageStore: refused with snapshots, volumes or user templates on the store
    # (SM:4260-4275); the simulator keeps none of these, so the store always goes
    row = p.row(store, "imagestore", "id")
    store.remove("imagestore", row["id"])
    return {"success": True}


def _list_stores(store: Store, p: P, role: str, provider_field: str) -> dict[str, Any]:
    """QueryManagerImpl.searchForImageStoresInternal / searchForCacheStoresInternal: one role,
    exact id, name, zoneid, protocol and provider; keyword LIKE on the name or provider;
    ordered by id."""
    rows = [r for r in store.rows("imagestore") if r.get("_role") == role]
    rows = filtered(rows, p, "id", "name", "zoneid", "protocol")
    if p.get("provider") is not None:
        rows = [r for r in rows if r["providername"] == p.get("provider")]
    if role == "Image" and p.get("readonly") is not None:
        rows = [r for r in rows if r["readonly"] == p.boolean("readonly")]
    if p.get("keyword"):
        word = p.get("keyword").lower()
        rows = [
            r for r in rows if word in str(r["name"]).lower() or word in r[provider_field].lower()
        ]
    rows.sort(key=lambda r: db_id(store, "imagestore", r))
    return paged(store, p, [image_store_view(r) for r in rows], "imagestore")


@command("listImageStores", list_key="imagestore")
def list_image_stores(store: Store, p: P) -> dict[str, Any]:
    return _list_stores(store, p, "Image", "providername")


@command("listSecondaryStagingStores", list_key="imagestore")
def list_secondary_staging_stores(store: Store, p: P) -> dict[str, Any]:
    # the envelope is listsecondarystagingstoreresponse (ListSecondaryStagingStoresCmd:86)
    return _list_stores(store, p, "ImageCache", "providername")


@command("createSecondaryStagingStore")
def create_secondary_staging_store(store: Store, p: P) -> dict[str, Any]:
    # SM.createSecondaryStagingStore (SM:4290-4345); CreateSecondaryStagingStoreCmd.execute
    # answers every failure as 530
    url = p.required("url")
    zone = p.row(store, "zone", "zoneid", required=False)
    scope = p.get("scope")
    if scope is not None:
        if scope.upper() not in ("ZONE", "CLUSTER", "HOST", "REGION", "GLOBAL"):
            raise ApiRefusal(530, f"invalid scope for cache store {scope}")
        if scope.upper() != "ZONE":
            raise ApiRefusal(530, "Only zone wide cache storage is supported")
        if zone is None:
            raise ApiRefusal(530, "zone id can't be null, if scope is zone")
    if zone is None:  # _dcDao.findById(null)
        raise ApiRefusal(530, "Can't find zone by id null")
    try:
        _nfs_url_checks(url)  # the NFS lifecycle: the only cache provider
    except ApiRefusal as exc:
        raise ApiRefusal(530, exc.text) from None
    details = key_value_form(p)
    # the name is the URL: ImageStoreHelper.createImageStore gives back a store of that name,
    # of any role, instead of failing
    row = _image_store_row(store, url, url, "NFS", zone, details, "ImageCache")
    return {"secondarystorage": image_store_view(row)}


@command("deleteSecondaryStagingStore")
def delete_secondary_staging_store(store: Store, p: P) -> dict[str, Any]:
    # SM.deleteSecondaryStagingStore: refused while staging snapshots, volumes or templates
    # are in use; the simulator keeps none, so the store always goes
    row = p.row(store, "imagestore", "id")
    store.remove("imagestore", row["id"])
    return {"success": True}
