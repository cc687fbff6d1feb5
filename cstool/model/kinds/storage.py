"""The storage plane: primary storage (cluster- and zone-wide pools), image stores (NFS per
zone; S3 and Swift region-wide) and staging (cache) stores. All opt-in per zone. Pure.

Server classes cited: StorageManagerImpl (SM), CloudStackPrimaryDataStoreLifeCycleImpl (PL),
StoragePoolJoinDaoImpl, ImageStoreHelper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cstool.model import details as dt
from cstool.model import jsontypes as jt
from cstool.model import secrets
from cstool.model import values as v
from cstool.model.kinds.base import (
    BOOL,
    NO_DEFAULT,
    CallT,
    Field,
    KeyLike,
    Kind,
    Lowering,
    Need,
    Params,
    Read,
    ResT,
    anywhere,
    same_parent,
)

# listStoragePools `type` -> the URL scheme that makes it (PL.initialize:143-350)
POOL_SCHEMES = {
    "NetworkFilesystem": "nfs",
    "SharedMountPoint": "sharedmountpoint",
    "RBD": "rbd",
    "PreSetup": "presetup",
    "CLVM": "clvm",
    "IscsiLUN": "iscsi",
    "Gluster": "gluster",
    "SMB": "cifs",
    "VMFS": "vmfs",
    "DatastoreCluster": "datastorecluster",
    "OCFS2": "ocfs2",
}
# The primary storage providers a 4.22 management server ships (client/pom.xml's storage
# volume plug-ins; each provider's getName(): DataStoreProvider.DEFAULT_PRIMARY,
# SolidFireUtil.PROVIDER_NAME and SHARED_PROVIDER_NAME, ElastistorUtil.ES_PROVIDER_NAME,
# DateraUtil.PROVIDER_NAME, ScaleIOUtil.PROVIDER_NAME, LinstorUtil.PROVIDER_NAME,
# StorPoolUtil.SP_PROVIDER_NAME, PrimeraPrimaryDatastoreProviderImpl and
# FlashArrayPrimaryDatastoreProviderImpl.getName). DataStoreProviderManagerImpl
# .getDataStoreProvider is a case-sensitive map lookup, and SM.createPool (SM:964-975) takes
# any other name as DefaultPrimary without a word: a pool would be listed with another
# provider than written and replaced at every apply.
DEFAULT_PRIMARY = "DefaultPrimary"
PRIMARY_PROVIDERS = (
    DEFAULT_PRIMARY,
    "SolidFire",
    "SolidFireShared",
    "CloudByte",
    "Datera",
    "PowerFlex",
    "Linstor",
    "StorPool",
    "Primera",
    "Flash Array",
)


def pool_provider(value: Any) -> str:
    """The pool's provider: DefaultPrimary, in any case (sent with its exact spelling). The
    plug-ins' pools are refused: each reads its own URL format (SolidFire's
    "MVIP=...;SVIP=...", SolidFireUtil.getValue: "Invalid URL format" for a scheme URL) and
    lists the pool in its own terms, none of which cstool's `url` (the default lifecycle's,
    CloudStackPrimaryDataStoreLifeCycleImpl.initialize) describes."""
    text = str(value).strip()
    if text.lower() == DEFAULT_PRIMARY.lower():
        return DEFAULT_PRIMARY
    plugin = next((p for p in PRIMARY_PROVIDERS if p.lower() == text.lower()), None)
    if plugin is not None:
        raise ValueError(
            f"{plugin} pools are not managed by cstool: their URL and lifecycle are the "
            f"plug-in's own; only {DEFAULT_PRIMARY} pools are (cstool leaves the others alone)"
        )
    raise ValueError(
        f"{value!r} is not a primary storage provider of CloudStack 4.22 "
        f"({', '.join(PRIMARY_PROVIDERS)}); the server would create the pool as "
        f"{DEFAULT_PRIMARY}"
    )


pool_provider.choices = (DEFAULT_PRIMARY,)  # type: ignore[attr-defined]

# Staging (cache) stores: only the NFS image store provider has the ImageCache type
# (CloudStackImageStoreProviderImpl.getTypes; S3 and Swift are IMAGE only), and
# SM.createSecondaryStagingStore (SM:4297-4305) takes an unknown name as NFS
STAGING_PROVIDERS = ("NFS",)
# listStoragePools `state` -> the pool's `state` field (Ansible maps them so too)
POOL_STATES = {"Up": "enabled", "Disabled": "disabled", "Maintenance": "maintenance"}


def read_pool_url(obj: Mapping[str, Any]) -> str | None:
    """The pool's URL from its type, address and path: the server never returns the URL
    (StoragePoolJoinDaoImpl:124-127: ipaddress is the host, path without user-info)."""
    kind, host, path = obj.get("type"), obj.get("ipaddress"), obj.get("path")
    if not kind or path is None:
        return None
    scheme = POOL_SCHEMES.get(str(kind), str(kind).lower())
    path = str(path)
    return f"{scheme}://{host or ''}{path if path.startswith('/') else '/' + path}"


def _read_pool_state(obj: Mapping[str, Any]) -> str | None:
    raw = obj.get("state")
    return POOL_STATES.get(str(raw), str(raw).lower()) if raw else None


def _read_pool_tags(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    return v.host_tags(obj["tags"]) if obj.get("tags") else None


def _read_pool_details(obj: Mapping[str, Any]) -> dict[str, str] | None:
    """`details`, with the top-level `nfsmountopts` (4.19.1) as the detail it was sent as."""
    out = dt.read(obj.get("details"))
    if obj.get("nfsmountopts"):
        out["nfsmountopts"] = str(obj["nfsmountopts"])
    return out or None


def _read_count(api: str) -> Any:
    def read(obj: Mapping[str, Any]) -> int | None:
        raw = obj.get(api)
        return None if raw in (None, "") else int(raw)

    return read


def _pool_url_param(vals: Mapping[str, Any]) -> Any:
    """The URL to send: with the secret's reference in its user-info when there is one."""
    ref = vals.get("secret")
    return secrets.SecretUrl(vals["url"], ref) if ref is not None else vals.get("url")


def pool_transition(plan: Lowering[ResT, CallT], key: KeyLike, old: str, new: str) -> list[CallT]:
    """The calls from the live `old` state to the desired `new` one.
    updateStoragePool enabled= goes between Up and Disabled only (SM:1181-1216);
    enableStorageMaintenance starts from Up or ErrorInMaintenance (SM:2533) and its job
    ends in Maintenance; cancelStorageMaintenance leaves any other maintenance state."""
    if old == new:
        return []
    ref = plan.ref(key)
    calls: list[CallT] = []
    if new == "maintenance" and old == "errorinmaintenance":
        return [plan.call("enableStorageMaintenance", {"id": ref})]
    if old not in ("enabled", "disabled"):  # a maintenance state
        calls.append(plan.call("cancelStorageMaintenance", {"id": ref}))
        old = "enabled"
    if new == "maintenance":
        if old == "disabled":
            calls.append(plan.call("updateStoragePool", {"id": ref, "enabled": True}))
        calls.append(plan.call("enableStorageMaintenance", {"id": ref}))
    elif new != old:
        calls.append(plan.call("updateStoragePool", {"id": ref, "enabled": new == "enabled"}))
    return calls


def _pool_params(vals: Mapping[str, Any]) -> Params:
    params: Params = {
        "name": None,
        "url": _pool_url_param(vals),
        # createStoragePool tags is one string, split on commas and trimmed
        # (PrimaryDataStoreHelper:137-146)
        "tags": ",".join(vals.get("tags") or ()) or None,
        "capacitybytes": vals.get("capacity_bytes"),
        "capacityiops": vals.get("capacity_iops"),
        "provider": vals.get("provider"),
        "managed": vals.get("managed"),
    }
    params.update(dt.name_form(vals.get("details") or {}))
    return params


def _pool_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """createStoragePool scope=cluster (podid and clusterid: PL:145-147), then the state."""
    path = res.key.path
    params: Params = {
        "zoneid": plan.ref(plan.key("zone", path[:1])),
        "podid": plan.ref(plan.key("pod", path[:2])),
        "clusterid": plan.ref(plan.key("cluster", path[:3])),
        "scope": "cluster",
    }
    params.update(_pool_params(res.values), name=path[-1])
    calls = [plan.call("createStoragePool", params, creates=res.key)]
    return calls + pool_transition(plan, res.key, "enabled", _state(res.values.get("state")))


def _zone_pool_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """createStoragePool scope=zone needs the hypervisor (SM:1010-1018)."""
    params: Params = {
        "zoneid": plan.ref(res.key.parent()),
        "scope": "zone",
        "hypervisor": res.values.get("hypervisor"),
    }
    params.update(_pool_params(res.values), name=res.key.path[-1])
    calls = [plan.call("createStoragePool", params, creates=res.key)]
    return calls + pool_transition(plan, res.key, "enabled", _state(res.values.get("state")))


def _state(value: Any) -> str:
    return str(value or "enabled")


def _pool_update(
    plan: Lowering[ResT, CallT],
    res: ResT,
    live: ResT | None,
    changed: Mapping[str, tuple[Any, Any]],
) -> list[CallT]:
    """updateStoragePool: tags (a LIST that replaces the set, "" clears: SM:1242-1253),
    capacities, details (name form, 4.19). A new nfsmountopts is taken only in Maintenance
    (SM:944-961): the update goes inside a maintenance and back."""
    ref = plan.ref(res.key)
    vals = res.values
    params: Params = {"id": ref}
    if "tags" in changed:
        params["tags"] = ",".join(vals.get("tags") or ())
    for name, api in (("capacity_bytes", "capacitybytes"), ("capacity_iops", "capacityiops")):
        if name in changed:
            params[api] = vals.get(name)
    old_state = _state(changed["state"][0] if "state" in changed else vals.get("state"))
    calls: list[CallT] = []
    if "details" in changed:
        old, new = (m or {} for m in changed["details"])
        # only the keys that change: the server merges what is sent into the pool's details
        # (SM.updateStoragePool: details.putAll(inputDetails)), and refuses any update that
        # names nfsmountopts, even unchanged, outside maintenance (SM:944-961)
        params.update(dt.name_form({k: w for k, w in new.items() if old.get(k) != w}))
        mount = old.get("nfsmountopts") != new.get("nfsmountopts")
        if mount and old_state != "maintenance":
            calls += pool_transition(plan, res.key, old_state, "maintenance")
            old_state = "maintenance"
    if len(params) > 1:
        calls.append(plan.call("updateStoragePool", params))
    return calls + pool_transition(plan, res.key, old_state, _state(vals.get("state")))


def _pool_delete(plan: Lowering[ResT, CallT], live: ResT) -> list[CallT]:
    """deleteStoragePool needs the pool in Maintenance (SM:1680-1682); forced expunges only
    destroyed volumes, as Marvin deletes (SM:1755-1780)."""
    state = _state(live.values.get("state"))
    calls = pool_transition(plan, live.key, state, "maintenance")
    calls.append(plan.call("deleteStoragePool", {"id": plan.ref(live.key), "forced": True}))
    return calls


def _pool_fields(zone_wide: bool) -> tuple[Field, ...]:
    hypervisor = Field(
        "hypervisor",
        v.pool_hypervisor,
        api="hypervisor",
        required=True,
        replace=True,
        json_type=jt.enum((*v.HYPERVISOR_TYPES, "Any")),
        doc="the hypervisor of the hosts that use it: KVM, VMware, Hyperv, LXC, Simulator, Any",
    )
    return (
        Field(
            "url",
            v.pool_url,
            from_api=read_pool_url,
            required=True,
            replace=True,
            compare_as=v.pool_url_compared,
            json_type=jt.URL,
            doc="nfs://host/path, rbd://user@monitor/pool, presetup://..., iscsi://host/iqn/lun",
        ),
        Field(
            "secret",
            secrets.parse,
            write_only=True,
            secret=True,
            json_type=jt.SECRET,
            to_yaml=lambda ref: ref.to_yaml(),
            doc="the URL's password (rbd, cifs): {env: NAME} or {file: PATH}",
        ),
        *((hypervisor,) if zone_wide else ()),
        Field(
            "tags",
            v.host_tags,
            api="tags",
            from_api=_read_pool_tags,
            clear="",
            json_type=jt.TAGS,
            doc="storage tags (compared as a set)",
        ),
        Field(
            "details",
            dt.parse,
            from_api=_read_pool_details,
            partial=True,
            to_yaml=dt.to_yaml,
            json_type=jt.DETAILS,
            doc="pool details, e.g. nfsmountopts; only the names written are managed",
        ),
        Field(
            "capacity_bytes",
            v.count,
            api="capacitybytes",
            from_api=_read_count("capacitybytes"),
            absent_unknown=True,  # listed from 4.22
            json_type=jt.COUNT,
            doc="capacity in bytes (managed storage)",
        ),
        Field(
            "capacity_iops",
            v.count,
            api="capacityiops",
            from_api=_read_count("capacityiops"),
            absent_unknown=True,
            json_type=jt.COUNT,
            doc="capacity in IOPS (managed storage)",
        ),
        Field(
            "provider",
            pool_provider,
            api="provider",
            default=DEFAULT_PRIMARY,
            replace=True,
            json_type=jt.enum((DEFAULT_PRIMARY,)),
            doc="the storage provider: DefaultPrimary (the plug-ins' pools are not managed)",
        ),
        Field(
            "managed",
            v.boolean,
            api="managed",
            default=False,
            replace=True,
            json_type=BOOL,
            doc="managed storage (one volume per disk)",
        ),
        Field(
            "state",
            v.state,
            from_api=_read_pool_state,
            default="enabled",
            json_type=jt.STATE,
            doc="enabled (default), disabled or maintenance",
        ),
    )


def _scope(name: str) -> Any:
    """Pools of that scope made by the default provider: the plug-ins' pools never enter
    (pool_provider: cstool leaves them alone, so they are neither pruned nor exported)."""
    return lambda o: (
        str(o.get("scope", "")).upper() == name
        and str(o.get("provider") or DEFAULT_PRIMARY) == DEFAULT_PRIMARY
    )


PRIMARY_STORAGE = Kind(
    name="primary_storage",
    parent="cluster",
    container="primary_storage",
    key="name",
    key_parse=v.text,
    phase=124,
    opt_in=True,
    state_values=v.POOL_STATES,
    disabled_means="no new volumes are placed on it; maintenance also stops what runs on it",
    out_of_service_calls=frozenset({"enableStorageMaintenance"}),
    fields=_pool_fields(zone_wide=False),
    read=Read(
        "listStoragePools",
        "storagepool",
        key_api="name",
        parent_id="clusterid",
        accept=_scope("CLUSTER"),  # HOST-scope local pools never enter, nor plug-ins' pools
    ),
    create="createStoragePool",
    update="updateStoragePool",
    delete="deleteStoragePool",
    # a cluster-scope pool needs an Up host in its cluster (PL.attachCluster:434-441)
    needs=(Need("host", same_parent),),
    lower_create=_pool_create,
    lower_update=_pool_update,
    lower_delete=_pool_delete,
    doc="the cluster's primary storage pools",
)

ZONE_PRIMARY_STORAGE = Kind(
    name="zone_primary_storage",
    parent="zone",
    container="primary_storage",
    key="name",
    key_parse=v.text,
    phase=127,
    opt_in=True,
    state_values=v.POOL_STATES,
    disabled_means="no new volumes are placed on it; maintenance also stops what runs on it",
    out_of_service_calls=frozenset({"enableStorageMaintenance"}),
    fields=_pool_fields(zone_wide=True),
    read=Read(
        "listStoragePools", "storagepool", key_api="name", parent_id="zoneid", accept=_scope("ZONE")
    ),
    create="createStoragePool",
    update="updateStoragePool",
    delete="deleteStoragePool",
    # PL.attachZone attaches the Up hosts that exist
    needs=(Need("host", anywhere),),
    lower_create=_zone_pool_create,
    lower_update=_pool_update,
    lower_delete=_pool_delete,
    doc="zone-wide primary storage pools (scope zone, with a hypervisor)",
)


# --- image and staging stores ------------------------------------------------------------------


def _store_details() -> Field:
    return Field(
        "details",
        dt.parse,
        write_only=True,  # ImageStoreResponse has no details
        to_yaml=dt.to_yaml,
        json_type=jt.DETAILS,
        doc="provider details (credentials as {env: NAME}); never returned",
    )


def _provider(choices: tuple[str, ...], default: str | None, doc: str) -> Field:
    return Field(
        "provider",
        v.one_of(choices),
        api="provider",
        read_key="providername",
        required=default is None,
        replace=True,
        json_type=jt.enum(choices),
        doc=doc,
        default=NO_DEFAULT if default is None else default,
    )


def _store_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """addImageStore: a zone's store names its zone; S3 and Swift take none (they support
    only REGION scope, SM.discoverImageStore:3906-3960)."""
    params: Params = {
        "name": res.key.path[-1],
        "provider": res.values.get("provider"),
        "url": res.values.get("url"),
    }
    if len(res.key.path) > 1:
        params["zoneid"] = plan.ref(res.key.parent())
    params.update(dt.key_value_form(res.values.get("details") or {}))
    return [plan.call("addImageStore", params, creates=res.key)]


def store_name_default(values: Mapping[str, Any]) -> str:
    """The server names a store without a name by its URL (SM.discoverImageStore:3922-3924)."""
    if values.get("url") is None:
        raise ValueError("an image store needs 'name' or 'url'")
    return str(values["url"])


IMAGE_STORE = Kind(
    name="image_store",
    parent="zone",
    container="secondary_storage",
    key="name",
    key_parse=v.text,
    key_default=store_name_default,
    phase=126,
    opt_in=True,
    fields=(
        Field(
            "url",
            v.url,
            api="url",
            required=True,
            replace=True,
            json_type=jt.URL,
            doc="nfs://host/path (or cifs://host/share)",
        ),
        # NFS only: an SMB (cifs://) store is an NFS-provider store (DataStoreProvider.SMB is
        # "NFS"); StorageManagerImpl.discoverImageStore stores any unknown provider name as
        # the default NFS, so "SMB" would never be listed as written
        _provider(("NFS",), "NFS", "NFS (the default; also for cifs:// SMB shares)"),
        _store_details(),
    ),
    read=Read(
        "listImageStores",
        "imagestore",
        key_api="name",
        parent_id="zoneid",
        accept=lambda o: str(o.get("scope", "")).upper() == "ZONE",
    ),
    create="addImageStore",
    delete="deleteImageStore",
    parent_param="zoneid",
    # the first NFS store registers the system VM templates of the existing clusters'
    # hypervisors (SM:4036-4075); the cache goes before the image store (MV:835-837)
    needs=(Need("cluster", anywhere), Need("staging_store", anywhere)),
    lower_create=_store_create,
    doc="the zone's secondary storage (image stores); name defaults to the URL",
)

REGION_IMAGE_STORE = Kind(
    name="region_image_store",
    parent=None,
    container="region_secondary_storage",
    key="name",
    key_parse=v.text,
    phase=5,
    in_zone=False,
    opt_in=True,
    fields=(
        _provider(("S3", "Swift"), None, "S3 or Swift"),
        Field(
            "url",
            v.url,
            api="url",
            replace=True,
            json_type=jt.URL,
            doc="Swift: the auth URL",
        ),
        _store_details(),
    ),
    read=Read(
        "listImageStores",
        "imagestore",
        key_api="name",
        accept=lambda o: str(o.get("scope", "")).upper() == "REGION",
    ),
    create="addImageStore",
    delete="deleteImageStore",
    lower_create=_store_create,
    doc="region-wide image stores (S3, Swift) with their details",
)


def _staging_create(plan: Lowering[ResT, CallT], res: ResT, _first: ResT | None) -> list[CallT]:
    """createSecondaryStagingStore: zone scope only (SM.createSecondaryStagingStore:4317-4321);
    the server names the store by its URL."""
    params: Params = {
        "url": res.key.path[-1],
        "zoneid": plan.ref(res.key.parent()),
        "scope": "zone",
        "provider": res.values.get("provider"),
    }
    params.update(dt.key_value_form(res.values.get("details") or {}))
    return [plan.call("createSecondaryStagingStore", params, creates=res.key)]


STAGING_STORE = Kind(
    name="staging_store",
    parent="zone",
    container="staging_storage",
    key="url",
    key_parse=v.url,
    phase=125,
    opt_in=True,
    fields=(
        _provider(STAGING_PROVIDERS, "NFS", "NFS (the default and only cache store provider)"),
        _store_details(),
    ),
    read=Read(
        "listSecondaryStagingStores",
        "imagestore",
        key_api="url",
        parent_id="zoneid",
    ),
    create="createSecondaryStagingStore",
    delete="deleteSecondaryStagingStore",
    parent_param="zoneid",
    lower_create=_staging_create,
    doc="staging (cache) stores for S3 image stores; identity: the URL",
)

KINDS = (
    REGION_IMAGE_STORE,
    PRIMARY_STORAGE,
    STAGING_STORE,
    IMAGE_STORE,
    ZONE_PRIMARY_STORAGE,
)
