"""The simulator's primary, image and staging stores answer as the CloudStack 4.22 server does:
code, placement (an HTTP error or a failed async job), envelope and the start of the text
(StorageManagerImpl, CloudStackPrimaryDataStoreLifeCycleImpl and ImageStoreHelper at
apache/cloudstack@3d6cafe1936e), and with at least the keys of the real captures.

Clusters and hosts are rows put straight into the store (the shape the compute commands
keep), so that these tests do not depend on how a host comes up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cstool import apispec
from cstool.simulator.commands.storage import name_uuid
from cstool.simulator.transport import Simulator, signature

REAL = Path(__file__).resolve().parent / "data" / "real" / "infra"
MASK = "255.255.255.0"
NFS = "nfs://10.10.1.5/export/primary"

# Java UUID.nameUUIDFromBytes((host + path).getBytes()), the ids of NFS pools, as real servers
# answered them (tests/data/real/infra): the ids in
# listStoragePools--golang-cloudstack-library.json (PS1, PS0),
# createStoragePool--cloudstack-go.json (testPrimary1) and
# enableStorageMaintenance--cloudstack-go.json (a path with a trailing space, kept verbatim).
POOL_UUIDS = {
    "10.147.28.6/export/home/sandbox/primary1": "cd360613-e1cf-3a32-b8ef-d07bad8dd92b",
    "10.147.28.6/export/home/sandbox/primary0": "7c07ec9b-a3c6-3466-ab5a-f5669ead0b22",
    "10.1.1.2/export/primary1": "3fd44942-4881-3fb0-95f1-5d7b7ae64cfb",
    "10.1.1.3/export/testing/primary ": "44ad900d-785b-3eff-addc-a5e6bf4927ef",
}


def _signed(params: dict[str, str]) -> dict[str, str]:
    params = {"apiKey": "key", "response": "json", **params}
    return {**params, "signature": signature(params, "secret")}


class Answer:
    """How one call ended: `sync` (the HTTP answer) or `job` (the async job's end)."""

    def __init__(self, where: str, code: int, text: str, body: dict[str, Any]) -> None:
        self.where, self.code, self.text, self.body = where, code, text, body

    def __repr__(self) -> str:
        return f"Answer({self.where}, {self.code}, {self.text!r})"


def call(sim: Simulator, command: str, **params: Any) -> Answer:
    sent = {k: str(v) for k, v in params.items()}
    reply = sim.handle(_signed({"command": command, **sent}))
    spec = apispec.command(command)
    assert spec is not None
    (envelope,) = reply.body  # the server's envelope, also for errors
    assert envelope == spec.response_name, reply.body
    body = reply.body[envelope]
    if reply.status != 200 or "jobid" not in body:
        return Answer("sync", reply.status, body.get("errortext", ""), body)
    job = sim.handle(_signed({"command": "queryAsyncJobResult", "jobid": body["jobid"]}))
    result = job.body["queryasyncjobresultresponse"]
    if result["jobstatus"] == 2:
        return Answer("job", result["jobresultcode"], result["jobresult"]["errortext"], result)
    return Answer("job", 200, "", result["jobresult"])


def ok(answer: Answer) -> dict[str, Any]:
    assert answer.code == 200, answer
    return answer.body


def refused(answer: Answer, where: str, code: int, text: str) -> None:
    assert (answer.where, answer.code) == (where, code), answer
    assert answer.text.startswith(text), answer


def _real(name: str) -> dict[str, Any]:
    data = json.loads((REAL / name).read_text())
    return dict(next(iter(data.values())))


@pytest.fixture
def sim() -> Simulator:
    return Simulator(keys={"key": "secret"}, job_polls=0)


@pytest.fixture
def zone(sim: Simulator) -> dict[str, Any]:
    made = call(
        sim, "createZone", name="z1", networktype="Advanced", dns1="8.8.8.8", internaldns1="1.1.1.1"
    )
    return dict(ok(made)["zone"])


@pytest.fixture
def pod(sim: Simulator, zone: dict[str, Any]) -> dict[str, Any]:
    made = call(
        sim,
        "createPod",
        name="p1",
        zoneid=zone["id"],
        gateway="10.10.1.1",
        netmask=MASK,
        startip="10.10.1.20",
        endip="10.10.1.30",
    )
    return dict(ok(made)["pod"])


def add_cluster(
    sim: Simulator, pod: dict[str, Any], name: str = "c1", hypervisor: str = "KVM"
) -> dict[str, Any]:
    row = {
        "name": name,
        "podid": pod["id"],
        "podname": pod["name"],
        "zoneid": pod["zoneid"],
        "hypervisortype": hypervisor,
        "clustertype": "CloudManaged",
        "allocationstate": "Enabled",
        "managedstate": "Managed",
        "_dbid": 7,
    }
    return sim.store.add("cluster", row)


def add_host(sim: Simulator, cluster: dict[str, Any], state: str = "Up") -> dict[str, Any]:
    row = {
        "name": f"h{len(sim.store.rows('host')) + 1}",
        "type": "Routing",
        "state": state,
        "resourcestate": "Enabled",
        "clusterid": cluster["id"],
        "podid": cluster["podid"],
        "zoneid": cluster["zoneid"],
        "hypervisor": cluster["hypervisortype"],
    }
    return sim.store.add("host", row)


@pytest.fixture
def cluster(sim: Simulator, pod: dict[str, Any]) -> dict[str, Any]:
    made = add_cluster(sim, pod)
    add_host(sim, made)
    return made


def pool(sim: Simulator, cluster: dict[str, Any], url: str = NFS, **extra: Any) -> Answer:
    return call(
        sim,
        "createStoragePool",
        name=extra.pop("name", "ps1"),
        url=url,
        zoneid=cluster["zoneid"],
        podid=cluster["podid"],
        clusterid=cluster["id"],
        **extra,
    )


# --- pool ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), sorted(POOL_UUIDS.items()))
def test_pool_ids_are_java_name_uuids_of_host_and_path(text: str, expected: str) -> None:
    assert name_uuid(text) == expected


def test_an_nfs_pool_is_named_by_host_and_path_and_gets_its_id_back(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    # Marvin's "host:" form (an empty port) names the same share as the plain one
    url = "nfs://10.147.28.6:/export/home/sandbox/primary0"
    made = ok(pool(sim, cluster, url))["storagepool"]
    assert made["id"] == POOL_UUIDS["10.147.28.6/export/home/sandbox/primary0"]
    assert (made["ipaddress"], made["path"], made["type"]) == (
        "10.147.28.6",
        "/export/home/sandbox/primary0",
        "NetworkFilesystem",
    )
    ok(call(sim, "enableStorageMaintenance", id=made["id"]))
    ok(call(sim, "deleteStoragePool", id=made["id"], forced="true"))
    again = ok(pool(sim, cluster, url))["storagepool"]
    assert again["id"] == made["id"]


def test_the_path_is_kept_verbatim_trailing_space_and_all(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    made = ok(pool(sim, cluster, "nfs://10.1.1.3/export/testing/primary "))["storagepool"]
    assert made["path"] == "/export/testing/primary "
    assert made["id"] == POOL_UUIDS["10.1.1.3/export/testing/primary "]


def test_the_rbd_secret_is_neither_echoed_nor_kept(
    sim: Simulator, zone: dict[str, Any], cluster: dict[str, Any]
) -> None:
    made = ok(
        call(
            sim,
            "createStoragePool",
            name="ceph",
            url="rbd://admin:c2VjcmV0LXZhbHVlLTEyMw==@mon.example/rbdpool",
            zoneid=zone["id"],
            scope="zone",
            hypervisor="kvm",
        )
    )["storagepool"]
    assert (made["type"], made["ipaddress"], made["path"]) == ("RBD", "mon.example", "rbdpool")
    assert (made["scope"], made["hypervisor"]) == ("ZONE", "KVM")
    assert "podid" not in made and "clusterid" not in made
    kept = json.dumps(sim.store.to_dict())
    assert "c2VjcmV0LXZhbHVlLTEyMw" not in kept and "admin:" not in kept


# --- createStoragePool refusals: every one is 530 -----------------------------------------


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"scope": "rack"}, "invalid scope for pool rack"),
        ({"scope": "zone"}, "Missing parameter hypervisor. Hypervisor type is required"),
        (
            {"scope": "zone", "hypervisor": "XenServer"},
            "Zone wide storage pool is not supported for hypervisor type XenServer",
        ),
        ({"url": "nfs://10.10.1.5"}, "host or path is null, should be nfs://hostname/path"),
        ({"url": "gluster://g1"}, "host or path is null, should be gluster://hostname/volume"),
        ({"url": "iscsi://t1/iqn.2024-01.x/lun"}, "Failed to add data store: iSCSI needs to have"),
        (
            {"url": "Frobnicate://h/p"},
            "Failed to add data store: No enum constant "
            "com.cloud.storage.Storage.StoragePoolType.Frobnicate",
        ),
        ({"capacitybytes": "0"}, "Failed to add data store: 'capacityBytes' must be greater"),
        (
            {"url": "rbd://mon/pool", "details[0].nfsmountopts": "vers=4.1"},
            "NFS options can only be set on pool type NetworkFilesystem",
        ),
        (
            {"details[0].nfsmountopts": "vers=4.1,vers=3"},
            "Duplicate NFS option values found for option vers",
        ),
    ],
)
def test_create_refusals(
    sim: Simulator, cluster: dict[str, Any], change: dict[str, str], text: str
) -> None:
    params = {"url": NFS, **change}
    refused(pool(sim, cluster, **params), "sync", 530, text)
    assert not sim.store.rows("storagepool")


def test_a_cluster_pool_needs_a_cluster_and_its_pod(
    sim: Simulator, zone: dict[str, Any], cluster: dict[str, Any]
) -> None:
    refused(
        call(sim, "createStoragePool", name="x", url=NFS, zoneid=zone["id"]),
        "sync",
        530,
        "cluster id can't be null, if scope is cluster",
    )
    answer = call(
        sim, "createStoragePool", name="x", url=NFS, zoneid=zone["id"], clusterid=cluster["id"]
    )
    refused(answer, "sync", 530, "Failed to add data store: Cluster id requires pod id")


def test_nfs_mount_options_only_for_kvm_and_simulator_clusters(
    sim: Simulator, pod: dict[str, Any]
) -> None:
    xen = add_cluster(sim, pod, "x1", "XenServer")
    add_host(sim, xen)
    answer = pool(sim, xen, **{"details[0].nfsmountopts": "vers=4.1"})
    refused(answer, "sync", 530, "NFS options can not be set for the hypervisor type XenServer")


def test_a_cluster_pool_needs_an_up_host_and_leaves_nothing_behind(
    sim: Simulator, pod: dict[str, Any]
) -> None:
    empty = add_cluster(sim, pod, "c2")
    add_host(sim, empty, state="Connecting")
    refused(
        pool(sim, empty),
        "sync",
        530,
        "Failed to add data store: No host up to associate a storage pool with in cluster 7",
    )
    assert not sim.store.rows("storagepool")
    add_host(sim, empty)  # Up, whatever its resource state
    ok(pool(sim, empty))


def test_one_share_is_one_pool_except_shared_mount_points(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    ok(pool(sim, cluster))
    refused(
        pool(sim, cluster, name="ps2"),
        "sync",
        530,
        "Failed to add data store: Storage pool /export/primary already in use by another pod (id=",
    )
    shared = "sharedmountpoint://localhost/mnt/primary"
    first = ok(pool(sim, cluster, shared, name="a"))["storagepool"]
    second = ok(pool(sim, cluster, shared, name="b"))["storagepool"]
    assert first["id"] != second["id"]


def test_the_answer_has_the_keys_of_the_real_capture(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    made = ok(pool(sim, cluster, tags=" ssd , fast,,"))["storagepool"]
    real = _real("createStoragePool--cloudstack-go.json")["storagepool"]
    assert set(real) <= set(made), set(real) - set(made)
    assert (made["state"], made["scope"], made["overprovisionfactor"]) == ("Up", "CLUSTER", "2.0")
    assert made["tags"] == "ssd,fast"  # the csv is trimmed, empty tags dropped
    listed = ok(call(sim, "listStoragePools", clusterid=cluster["id"]))
    for name in (
        "listStoragePools--cloudstack-go.json",
        "listStoragePools--golang-cloudstack-library.json",
    ):
        for item in _real(name)["storagepool"]:
            assert set(item) <= set(listed["storagepool"][0]), set(item) - set(
                listed["storagepool"][0]
            )


# --- updateStoragePool -----------------------------------------------------------------


def test_enable_and_disable_only_between_up_and_disabled(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    made = ok(pool(sim, cluster))["storagepool"]
    refused(
        call(sim, "updateStoragePool", id=made["id"], enabled="true"),
        "sync",
        431,
        'Primary storage StoragePool {"id":1,"name":"ps1","uuid":"'
        f'{made["id"]}","poolType":"NetworkFilesystem"}} cannot be enabled. '
        "Storage pool state : Up",
    )
    disabled = ok(call(sim, "updateStoragePool", id=made["id"], enabled="false"))
    assert disabled["storagepool"]["state"] == "Disabled"
    refused(
        call(sim, "updateStoragePool", id=made["id"], enabled="false"),
        "sync",
        431,
        "Primary storage StoragePool {",
    )
    refused(
        call(sim, "enableStorageMaintenance", id=made["id"]),
        "job",
        431,
        "Primary storage StoragePool {",
    )
    assert "as the status is:Disabled" in call(sim, "enableStorageMaintenance", id=made["id"]).text
    up = ok(call(sim, "updateStoragePool", id=made["id"], enabled="true"))
    assert up["storagepool"]["state"] == "Up"


def test_update_replaces_tags_merges_details_and_refuses_nothing_to_do(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    made = ok(pool(sim, cluster, tags="a,b"))["storagepool"]
    changed = ok(call(sim, "updateStoragePool", id=made["id"], tags="c"))["storagepool"]
    assert changed["tags"] == "c"
    cleared = ok(call(sim, "updateStoragePool", id=made["id"], tags=""))["storagepool"]
    assert "tags" not in cleared
    merged = ok(call(sim, "updateStoragePool", id=made["id"], **{"details[0].x": "1"}))
    merged = ok(call(sim, "updateStoragePool", id=made["id"], **{"details[0].y": "2"}))
    assert merged["storagepool"]["details"] == {"x": "1", "y": "2"}
    refused(call(sim, "updateStoragePool", id=made["id"]), "sync", 530, "Failed to update")


def test_mount_options_change_only_in_maintenance(sim: Simulator, cluster: dict[str, Any]) -> None:
    made = ok(pool(sim, cluster, **{"details[0].nfsmountopts": "vers=4.1"}))["storagepool"]
    assert made["nfsmountopts"] == "vers=4.1"
    opts = {"details[0].nfsmountopts": "vers=3"}
    refused(
        call(sim, "updateStoragePool", id=made["id"], **opts),
        "sync",
        431,
        "The storage pool should be in maintenance mode to edit nfs options",
    )
    ok(call(sim, "enableStorageMaintenance", id=made["id"]))
    changed = ok(call(sim, "updateStoragePool", id=made["id"], **opts))["storagepool"]
    assert changed["details"]["nfsmountopts"] == "vers=3"


# --- maintenance and delete ------------------------------------------------------------------


def test_maintenance_ends_in_the_job_under_the_overridden_envelopes(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    # call() checks the envelope is the spec's: prepareprimarystorageformaintenanceresponse and
    # cancelprimarystoragemaintenanceresponse (the Cmds override getCommandName)
    made = ok(pool(sim, cluster))["storagepool"]
    real = _real("enableStorageMaintenance--cloudstack-go.json")["jobresult"]["storagepool"]
    done = ok(call(sim, "enableStorageMaintenance", id=made["id"]))["storagepool"]
    assert done["state"] == real["state"] == "Maintenance"
    assert set(real) - {"jobid", "jobstatus"} <= set(done)
    refused(
        call(sim, "enableStorageMaintenance", id=made["id"]),
        "job",
        431,
        "Primary storage StoragePool {",
    )
    back = ok(call(sim, "cancelStorageMaintenance", id=made["id"]))["storagepool"]
    assert back["state"] == "Up"
    answer = call(sim, "cancelStorageMaintenance", id=made["id"])
    refused(answer, "job", 530, "Primary storage StoragePool {")
    assert answer.text.endswith("is not ready to complete migration, as the status is:Up")


def test_one_pool_per_cluster_prepares_for_maintenance(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    first = ok(pool(sim, cluster))["storagepool"]
    second = ok(pool(sim, cluster, "nfs://10.10.1.5/export/other", name="ps2"))["storagepool"]
    sim.store.get("storagepool", first["id"])["state"] = "PrepareForMaintenance"  # type: ignore[index]
    refused(
        call(sim, "enableStorageMaintenance", id=second["id"]),
        "job",
        530,
        "Only one storage pool in a cluster can be in PrepareForMaintenance mode",
    )


def test_delete_needs_maintenance_and_no_live_volume(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    made = ok(pool(sim, cluster))["storagepool"]
    refused(
        call(sim, "deleteStoragePool", id=made["id"]),
        "sync",
        431,
        "Unable to delete storage due to it is not in Maintenance state, pool: StoragePool {",
    )
    vm = sim.store.add("systemvm", {"name": "s-1-VM", "state": "Running"})
    volume = sim.store.add("volume", {"poolid": made["id"], "vmid": vm["id"], "state": "Ready"})
    ok(call(sim, "enableStorageMaintenance", id=made["id"]))
    assert vm["state"] == "Stopped"  # stopped by the maintenance, not destroyed
    for forced in ("false", "true"):
        refused(
            call(sim, "deleteStoragePool", id=made["id"], forced=forced),
            "sync",
            530,
            "Cannot delete pool StoragePool {",
        )
    volume["state"] = "Destroyed"
    refused(call(sim, "deleteStoragePool", id=made["id"]), "sync", 530, "Cannot delete pool")
    ok(call(sim, "deleteStoragePool", id=made["id"], forced="true"))
    assert not sim.store.rows("storagepool") and not sim.store.rows("volume")


def test_list_filters_check_scope_and_status(sim: Simulator, cluster: dict[str, Any]) -> None:
    made = ok(pool(sim, cluster))["storagepool"]
    assert ok(call(sim, "listStoragePools", scope="cluster", status="up"))["count"] == 1
    assert ok(call(sim, "listStoragePools", scope="zone")) == {}
    assert (
        ok(call(sim, "listStoragePools", keyword="networkfile"))["storagepool"][0]["id"]
        == (made["id"])
    )
    refused(call(sim, "listStoragePools", scope="pod"), "sync", 431, "Invalid scope type: pod")
    refused(call(sim, "listStoragePools", status="Sleepy"), "sync", 431, "Invalid status: Sleepy")


# --- image stores ------------------------------------------------------------------------------


SECONDARY = "nfs://10.10.1.5/export/secondary"


def test_an_nfs_image_store_is_named_by_its_url(sim: Simulator, zone: dict[str, Any]) -> None:
    made = ok(call(sim, "addImageStore", provider="NFS", url=SECONDARY, zoneid=zone["id"]))
    store = made["imagestore"]
    assert (store["name"], store["protocol"], store["scope"]) == (SECONDARY, "nfs", "ZONE")
    real = _real("addImageStore--cloudstack-go.json")["imagestore"]
    assert set(real) <= set(store)
    listed = ok(call(sim, "listImageStores", zoneid=zone["id"]))["imagestore"]
    for item in _real("listImageStores--cloudstack-go.json")["imagestore"]:
        assert set(item) <= set(listed[0])
    refused(
        call(sim, "addImageStore", provider="NFS", url=SECONDARY, zoneid=zone["id"]),
        "sync",
        431,
        f"The image store with name {SECONDARY} already exists, try creating with another name",
    )


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        (
            {"provider": "NFS", "url": SECONDARY},
            431,
            "Image store provider NFS does not support scope REGION",
        ),
        (
            {"provider": "nfs", "url": SECONDARY},
            431,
            "Image store provider NFS does not support scope REGION",
        ),
        (
            {"provider": "S3", "in_zone": True},
            431,
            "Image store provider S3 does not support scope ZONE",
        ),
        (
            {"provider": "Swift", "in_zone": True},
            431,
            "Image store provider Swift does not support scope ZONE",
        ),
        (
            {"provider": "NFS", "url": "10.10.1.5/export", "in_zone": True},
            530,
            "Failed to add data store: uri.scheme is null 10.10.1.5/export, add nfs://",
        ),
        (
            {"provider": "NFS", "url": "nfs://10.10.1.5", "in_zone": True},
            530,
            "Failed to add data store: Your host and/or path is wrong.  Make sure it's of the",
        ),
    ],
)
def test_image_store_refusals(
    sim: Simulator, zone: dict[str, Any], params: dict[str, Any], code: int, text: str
) -> None:
    if params.pop("in_zone", False):
        params["zoneid"] = zone["id"]
    refused(call(sim, "addImageStore", name="s", **params), "sync", code, text)
    assert not sim.store.rows("imagestore")


def test_image_store_providers_do_not_mix(sim: Simulator, zone: dict[str, Any]) -> None:
    s3 = {
        "details[0].key": "bucket",
        "details[0].value": "templates",
        "details[1].key": "secretkey",
        "details[1].value": "s3-secret-value-xyz",
    }
    made = ok(call(sim, "addImageStore", provider="S3", name="s3", **s3))["imagestore"]
    assert (made["scope"], made["protocol"], made["providername"]) == ("REGION", "http", "S3")
    assert "s3-secret-value-xyz" not in json.dumps(sim.store.to_dict())
    refused(
        call(sim, "addImageStore", provider="NFS", url=SECONDARY, zoneid=zone["id"]),
        "sync",
        431,
        "You can only add new image stores from the same provider S3 already added",
    )
    ok(call(sim, "deleteImageStore", id=made["id"]))
    ok(call(sim, "addImageStore", provider="NFS", url=SECONDARY, zoneid=zone["id"]))


# --- staging stores -----------------------------------------------------------------------------


CACHE = "nfs://10.10.1.5/export/cache"


def test_a_staging_store_is_given_back_for_the_same_url(
    sim: Simulator, zone: dict[str, Any]
) -> None:
    first = ok(call(sim, "createSecondaryStagingStore", url=CACHE, zoneid=zone["id"]))
    store = first["secondarystorage"]  # the object name CreateSecondaryStagingStoreCmd sets
    assert (store["name"], store["scope"], store["providername"]) == (CACHE, "ZONE", "NFS")
    again = ok(call(sim, "createSecondaryStagingStore", url=CACHE, zoneid=zone["id"]))
    assert again["secondarystorage"]["id"] == store["id"]
    # its own list (envelope listsecondarystagingstoreresponse, list key imagestore), not
    # listImageStores
    listed = ok(call(sim, "listSecondaryStagingStores", zoneid=zone["id"]))
    assert [s["id"] for s in listed["imagestore"]] == [store["id"]]
    for item in _real("listSecondaryStagingStores--golang-cloudstack-library.json")["imagestore"]:
        assert set(item) - {"details"} <= set(listed["imagestore"][0])  # details: 4.5 only
    assert ok(call(sim, "listImageStores")) == {}
    # ImageStoreDao.findByName has no role: a staging store's name blocks an image store's
    refused(
        call(sim, "addImageStore", provider="NFS", url=CACHE, zoneid=zone["id"]),
        "sync",
        431,
        f"The image store with name {CACHE} already exists",
    )
    ok(call(sim, "deleteSecondaryStagingStore", id=store["id"]))
    assert ok(call(sim, "listSecondaryStagingStores")) == {}


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"scope": "moon"}, "invalid scope for cache store moon"),
        ({"scope": "cluster"}, "Only zone wide cache storage is supported"),
        ({"scope": "zone", "no_zone": True}, "zone id can't be null, if scope is zone"),
        ({"no_zone": True}, "Can't find zone by id null"),
        ({"url": "nfs://10.10.1.5"}, "Failed to add data store: Your host and/or path is wrong."),
    ],
)
def test_staging_store_refusals_are_all_530(
    sim: Simulator, zone: dict[str, Any], params: dict[str, Any], text: str
) -> None:
    sent = {"url": CACHE, "zoneid": zone["id"], **params}
    if sent.pop("no_zone", False):
        del sent["zoneid"]
    refused(call(sim, "createSecondaryStagingStore", **sent), "sync", 530, text)


# --- deleteZone's storage checks and settings of clusters and pools ------------------------


def test_a_zone_with_a_region_store_cannot_be_deleted(sim: Simulator) -> None:
    # checkIfZoneIsDeletable: ImageStoreDao.findByZone counts the region's stores too
    made = call(
        sim, "createZone", name="z2", networktype="Basic", dns1="8.8.8.8", internaldns1="1.1.1.1"
    )
    zone = ok(made)["zone"]
    s3 = {"details[0].key": "bucket", "details[0].value": "b"}
    store = ok(call(sim, "addImageStore", provider="S3", name="s3", **s3))["imagestore"]
    refused(
        call(sim, "deleteZone", id=zone["id"]),
        "sync",
        530,
        "The zone cannot be deleted because there are Secondary storages in this zone",
    )
    ok(call(sim, "deleteImageStore", id=store["id"]))
    ok(call(sim, "deleteZone", id=zone["id"]))


def test_a_zone_with_an_enabled_host_cannot_be_deleted(
    sim: Simulator, zone: dict[str, Any], cluster: dict[str, Any]
) -> None:
    refused(
        call(sim, "deleteZone", id=zone["id"]),
        "sync",
        530,
        "The zone cannot be deleted because there are servers in this zone.",
    )
    for host in sim.store.rows("host"):
        host["resourcestate"] = "Maintenance"  # only Enabled Routing hosts count
    refused(
        call(sim, "deleteZone", id=zone["id"]),
        "sync",
        530,
        "The zone cannot be deleted because there are pods",
    )


def test_cluster_settings_are_cluster_details_under_the_server_names(
    sim: Simulator, cluster: dict[str, Any]
) -> None:
    name = "cpu.overprovisioning.factor"
    ok(call(sim, "updateConfiguration", name=name, value="3", clusterid=cluster["id"]))
    # cluster_details, which listClusters shows (ApiResponseHelper.createClusterResponse)
    (listed_cluster,) = ok(call(sim, "listClusters", id=cluster["id"]))["cluster"]
    assert listed_cluster["resourcedetails"]["cpuOvercommitRatio"] == "3"
    assert listed_cluster["cpuovercommitratio"] == "3"
    listed = ok(call(sim, "listConfigurations", name=name, clusterid=cluster["id"]))
    (shown,) = [c for c in listed["configuration"] if c["name"] == name]  # name is a LIKE
    assert (shown["value"], shown["scope"]) == ("3.0", "cluster")  # ConfigKey<Float>
    ok(call(sim, "resetConfiguration", name=name, clusterid=cluster["id"]))
    (listed_cluster,) = ok(call(sim, "listClusters", id=cluster["id"]))["cluster"]
    assert "cpuOvercommitRatio" not in (listed_cluster.get("resourcedetails") or {})


def test_pool_settings_are_pool_details(sim: Simulator, cluster: dict[str, Any]) -> None:
    made = ok(pool(sim, cluster))["storagepool"]
    name = "storage.overprovisioning.factor"
    ok(call(sim, "updateConfiguration", name=name, value="4", storageid=made["id"]))
    listed = ok(call(sim, "listStoragePools", id=made["id"]))["storagepool"][0]
    assert (listed["overprovisionfactor"], listed["details"][name]) == ("4.0", "4")
    refused(
        call(sim, "updateConfiguration", name=name, value="4", clusterid=made["id"]),
        "sync",
        431,
        "Unable to execute API command updateconfiguration due to invalid value.",
    )
