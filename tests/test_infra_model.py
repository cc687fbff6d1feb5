"""The compute and storage kinds in the model: loading, identity, read-back, diff, lowering,
export and the schema of the new keys. Live states are built from API items
shaped like the real captures in tests/data/real/infra, through the reader's own item
handling, so the kinds' Read definitions are what is tested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cstool.cloud.reader import _add_kind
from cstool.model import details as dt
from cstool.model import values as v
from cstool.model.diff import Action, diff
from cstool.model.export import to_config
from cstool.model.kinds import KINDS
from cstool.model.loader import json_schema, load_text
from cstool.model.plan import Builder, Until
from cstool.model.resources import Key, Resource, State
from cstool.model.secrets import SecretRef
from tests.conftest import CONFIGS

ZONE = """
zones:
  - name: z1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.0.0.53]
    pods:
      - name: p1
        gateway: 10.10.1.1
        netmask: 255.255.255.0
        management_ranges: [{start: 10.10.1.10, end: 10.10.1.20}]
"""


def _config(pod_extra: str = "", zone_extra: str = "", top: str = "") -> tuple[State, list[Any]]:
    text = top + ZONE + zone_extra + pod_extra
    return load_text(text, "c.yaml")


CLUSTER = """
        clusters:
          - name: c1
            hypervisor: kvm
            hosts:
              - {url: "http://10.10.1.101", username: root, password: {env: KVM_PW}}
              - {name: kvm02, url: "http://10.10.1.102", username: root,
                 password: {env: KVM_PW}, tags: [b, a], state: disabled}
            primary_storage:
              - {name: ps1, url: "NFS://10.10.1.5:/export/primary", tags: [ssd]}
"""


def _live(zone_infra: bool = True) -> State:
    """A live cloud: zone z1 (pod p1, cluster c1 with two hosts and a pool), as listed."""
    state = State()
    ids: dict[tuple[str, str], Key] = {}
    zone = {"id": "z-1", "name": "z1", "networktype": "Advanced", "dns1": "192.0.2.53"}
    zone["internaldns1"] = "10.0.0.53"
    zone.update(allocationstate="Enabled", securitygroupsenabled=False, localstorageenabled=False)
    zone["resourcedetails"] = {"ops.owner": "team", "cstool.lock": "x"}
    _add_kind(KINDS["zone"], [zone], state, ids)
    _add_kind(KINDS["zone_detail"], KINDS["zone_detail"].read.explode(zone), state, ids)  # type: ignore[misc]
    pod = {"id": "p-1", "name": "p1", "zoneid": "z-1", "gateway": "10.10.1.1"}
    pod.update(netmask="255.255.255.0", allocationstate="Enabled")
    _add_kind(KINDS["pod"], [pod], state, ids)
    cluster = {
        "id": "c-1",
        "name": "c1",
        "podid": "p-1",
        "hypervisortype": "KVM",
        "clustertype": "CloudManaged",
        "allocationstate": "Enabled",
        "managedstate": "Managed",
        "resourcedetails": {"cpuOvercommitRatio": "2.0", "memoryOvercommitRatio": "1.0"},
    }
    _add_kind(KINDS["cluster"], [cluster], state, ids)
    explode = KINDS["cluster_setting"].read.explode
    assert explode is not None
    _add_kind(KINDS["cluster_setting"], explode(cluster), state, ids)
    hosts = [
        _host("h-1", "kvm01.lab", "10.10.1.101", "Enabled", ""),
        _host("h-2", "kvm02", "10.10.1.102", "Disabled", "a,b"),
    ]
    _add_kind(KINDS["host"], hosts, state, ids)
    pool = {
        "id": "sp-1",
        "name": "ps1",
        "clusterid": "c-1",
        "zoneid": "z-1",
        "scope": "CLUSTER",
        "type": "NetworkFilesystem",
        "ipaddress": "10.10.1.5",
        "path": "/export/primary",
        "tags": "ssd",
        "state": "Up",
        "provider": "DefaultPrimary",
        "managed": False,
    }
    _add_kind(KINDS["primary_storage"], [pool], state, ids)
    return state


def _host(uuid: str, name: str, ip: str, resource: str, tags: str) -> dict[str, Any]:
    return {
        "id": uuid,
        "name": name,
        "ipaddress": ip,
        "clusterid": "c-1",
        "type": "Routing",
        "state": "Up",
        "resourcestate": resource,
        "hosttags": tags,
    }


# --- loading ---------------------------------------------------------------------------------


def test_the_example_loads_every_new_kind_and_opts_its_zone_in() -> None:
    from cstool.model.loader import load

    state, problems = load([CONFIGS / "compute"])
    assert [p for p in problems if not p.warning] == []
    kinds = {k.kind for k in state}
    assert kinds >= {
        "zone_detail",
        "vmware_datacenter",
        "cluster",
        "cluster_setting",
        "host",
        "primary_storage",
        "zone_primary_storage",
        "image_store",
        "staging_store",
    }
    assert state.infra and state[Key("zone", ("compute1",))].extra["manages_infra"]
    pool = state[Key("zone_primary_storage", ("compute1", "ceph1"))]
    assert pool.values["secret"] == SecretRef("env", "CEPH_KEY")


def test_a_zone_without_infra_keys_does_not_opt_in() -> None:
    state, problems = _config()
    assert problems == [] and not state.infra
    assert "manages_infra" not in state[Key("zone", ("z1",))].extra
    state, _ = _config(zone_extra="    secondary_storage: []\n")
    assert state.infra and state[Key("zone", ("z1",))].extra["manages_infra"]


def test_host_name_defaults_to_the_url_host_and_values_are_canonical() -> None:
    state, problems = _config(CLUSTER)
    assert problems == []
    host = state[Key("host", ("z1", "p1", "c1", "10.10.1.101"))]
    assert host.values["state"] == "enabled"
    other = state[Key("host", ("z1", "p1", "c1", "kvm02"))]
    assert other.values["tags"] == ("a", "b")
    cluster = state[Key("cluster", ("z1", "p1", "c1"))]
    assert cluster.values["hypervisor"] == "KVM" and cluster.values["type"] == "CloudManaged"
    pool = state[Key("primary_storage", ("z1", "p1", "c1", "ps1"))]
    assert pool.values["url"] == "nfs://10.10.1.5/export/primary"  # Marvin's empty port


def test_vmware_clusters_default_to_external_managed() -> None:
    pods = "        clusters: [{name: vc/dc/c1, hypervisor: VMware}]\n"
    state, problems = _config(pods)
    assert problems == []
    assert state[Key("cluster", ("z1", "p1", "vc/dc/c1"))].values["type"] == "ExternalManaged"


def test_a_host_without_name_or_url_is_a_located_error() -> None:
    pods = "        clusters:\n          - name: c1\n            hypervisor: KVM\n"
    pods += "            hosts: [{username: root}]\n"
    _, problems = _config(pods)
    assert [(p.origin.line, p.message) for p in problems if p.origin] == [
        (15, "a host needs 'name' or 'url'")
    ]


def test_an_unknown_hypervisor_and_a_bad_state_are_refused() -> None:
    pods = "        clusters: [{name: c1, hypervisor: kvmm, hosts: [{name: h, state: off}]}]\n"
    _, problems = _config(pods)
    messages = sorted(p.message for p in problems)
    assert any(m.startswith("hypervisor: 'kvmm' is not one of KVM") for m in messages)
    assert any(m.startswith("state: 'off' is not one of enabled") for m in messages)


# --- identity and values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ("z1", "nfs://10.1.1.5/export/cache"),
        ("z1", "100%/a%2Fb"),
        ("z1", "p1", "plain"),
    ],
)
def test_key_round_trips_names_with_slashes_and_percents(path: tuple[str, ...]) -> None:
    key = Key("staging_store", path)
    text = key.to_str()
    assert Key.from_str(text) == key
    assert text.count("/") == len(path) - 1  # a name's own slashes are encoded


def test_keys_without_slashes_are_written_as_before() -> None:
    assert Key("pod", ("lab1", "pod1")).to_str() == "pod:lab1/pod1"


def test_pool_url_canonical_form() -> None:
    assert v.pool_url("NFS://10.147.28.6:/export/x") == "nfs://10.147.28.6/export/x"
    assert v.pool_url("nfs://10.1.1.3/export/testing/primary ").endswith("primary ")
    assert v.pool_url("rbd://admin@mon/pool") == "rbd://admin@mon/pool"
    assert v.pool_url_compared("rbd://admin@mon/pool") == "rbd://mon/pool"
    with pytest.raises(ValueError) as caught:
        v.pool_url("rbd://admin:Sup3rSecretValue@mon/pool")
    assert "Sup3rSecretValue" not in str(caught.value)


def test_details_wire_forms() -> None:
    details = {"nfsmountopts": "vers=4.1", "user": "u"}
    assert dt.name_form(details) == {"details[0].nfsmountopts": "vers=4.1", "details[0].user": "u"}
    assert dt.key_value_form(details) == {
        "details[0].key": "nfsmountopts",
        "details[0].value": "vers=4.1",
        "details[1].key": "user",
        "details[1].value": "u",
    }


# --- read-back and diff --------------------------------------------------------------------


def test_read_back_skips_system_vm_hosts_settings_and_the_lock() -> None:
    live = _live()
    details = {k.path[-1] for k in live if k.kind == "zone_detail"}
    assert details == {"ops.owner"}
    settings = {
        k.path[-1]: r.values["value"] for k, r in live.items() if k.kind == "cluster_setting"
    }
    assert settings == {"cpu.overprovisioning.factor": "2.0", "mem.overprovisioning.factor": "1.0"}
    assert KINDS["host"].read.params == {"type": "Routing"}
    pool = live[Key("primary_storage", ("z1", "p1", "c1", "ps1"))]
    assert pool.values["url"] == "nfs://10.10.1.5/export/primary"
    assert pool.values["state"] == "enabled"


def test_a_host_named_by_its_address_is_the_live_host_of_that_address() -> None:
    desired, _ = _config(CLUSTER)
    found = diff(desired, _live())
    by_key = {(c.action, c.key.path[-1]) for c in found.changes}
    # kvm01.lab is 10.10.1.101: no create, no unmanaged; kvm02 matches by name, in sync
    assert (Action.CREATE, "10.10.1.101") not in by_key
    assert [r.key for r in found.unmanaged if r.key.kind == "host"] == []
    assert found.changes == () or all(
        c.key.kind not in ("host", "primary_storage") for c in found.changes
    )


def test_write_only_and_secret_fields_are_never_compared() -> None:
    desired, _ = _config(CLUSTER)
    found = diff(desired, _live())
    compared = {name for c in found.changes for name in c.fields}
    assert not compared & {"url", "username", "password", "secret"}


def test_a_changed_state_and_tags_are_drift() -> None:
    edited = CLUSTER.replace("tags: [b, a], state: disabled", "tags: [c], state: maintenance")
    desired, _ = _config(edited)
    change = next(c for c in diff(desired, _live()).changes if c.key.path[-1] == "kvm02")
    assert change.action is Action.UPDATE
    assert dict(change.fields) == {
        "tags": (("a", "b"), ("c",)),
        "state": ("disabled", "maintenance"),
    }


def test_opt_in_kinds_of_a_zone_that_does_not_opt_in_are_neither_drift_nor_unmanaged() -> None:
    desired, _ = _config()
    found = diff(desired, _live())
    assert {r.key.kind for r in found.unmanaged} & {"cluster", "host", "primary_storage"} == set()
    opted, _ = _config(zone_extra="    secondary_storage: []\n")
    found = diff(opted, _live())
    assert {r.key.kind for r in found.unmanaged} >= {"cluster", "host", "primary_storage"}


def test_an_absent_zone_takes_its_system_vms_with_it() -> None:
    live = _live()
    _add_kind(
        KINDS["system_vm"],
        [{"id": "s-1", "name": "s-1-VM", "zoneid": "z-1"}],
        live,
        {("zone", "z-1"): Key("zone", ("z1",))},
    )
    absent, problems = load_text("zones: [{name: z1, absent: true}]\n", "a.yaml")
    assert problems == []
    deleted = {c.key.kind for c in diff(absent, live).changes if c.action is Action.DELETE}
    assert {"system_vm", "host", "cluster", "zone"} <= deleted
    # a zone the config does not have is unmanaged whole (prunable), its system VMs too
    other, _ = load_text(ZONE.replace("name: z1", "name: z2"), "o.yaml")
    assert "system_vm" in {r.key.kind for r in diff(other, live).unmanaged}
    # with the zone in the config, system VMs are CloudStack's: never unmanaged
    desired, _ = _config(zone_extra="    secondary_storage: []\n")
    assert all(r.key.kind != "system_vm" for r in diff(desired, live).unmanaged)


def test_absent_unknown_fields_are_not_compared_with_a_server_that_lacks_them() -> None:
    edited = CLUSTER.replace("tags: [ssd]}", "tags: [ssd], capacity_bytes: 1000}")
    desired, _ = _config(edited)
    change = [c for c in diff(desired, _live()).changes if c.key.kind == "primary_storage"]
    assert change == []


# --- lowering ------------------------------------------------------------------------------


def _commands(calls: list[Any]) -> list[tuple[str, Any]]:
    return [(c.command, c.until) for c in calls]


def test_host_create_adds_waits_for_up_then_sets_the_state() -> None:
    desired, _ = _config(CLUSTER)
    b = Builder(desired, State())
    host = desired[Key("host", ("z1", "p1", "c1", "kvm02"))]
    hook = KINDS["host"].lower_create
    assert hook is not None
    calls = hook(b, host, None)
    assert _commands(calls) == [
        ("addHost", None),
        ("listHosts", Until("state", "Up", ("Down", "Error", "Removed"))),
        ("updateHost", None),
    ]
    assert calls[0].params["hypervisor"] == "KVM" and calls[0].params["hosttags"] == "a,b"
    assert calls[0].params["password"] == SecretRef("env", "KVM_PW")
    assert calls[2].params["allocationstate"] == "Disable"


def test_simulator_hosts_are_renamed_after_add() -> None:
    desired, _ = _config(CLUSTER.replace("hypervisor: kvm", "hypervisor: simulator"))
    host = desired[Key("host", ("z1", "p1", "c1", "kvm02"))]
    calls = KINDS["host"].lower_create(Builder(desired, State()), host, None)  # type: ignore[misc]
    assert calls[1].command == "updateHost" and calls[1].params["name"] == "kvm02"


def test_a_disabled_host_is_enabled_before_maintenance_and_deleted_after() -> None:
    live = _live()
    host = live[Key("host", ("z1", "p1", "c1", "kvm02"))]
    hook = KINDS["host"].lower_delete
    assert hook is not None
    calls = hook(Builder(State(), live), host)
    assert [c.command for c in calls] == [
        "updateHost",
        "prepareHostForMaintenance",
        "listHosts",
        "deleteHost",
    ]
    assert calls[0].params["allocationstate"] == "Enable"
    assert calls[2].until == Until(
        "resourcestate", "Maintenance", ("ErrorInPrepareForMaintenance", "ErrorInMaintenance")
    )


def test_a_pool_is_deleted_through_maintenance_and_created_in_name_form() -> None:
    live = _live()
    pool = live[Key("primary_storage", ("z1", "p1", "c1", "ps1"))]
    calls = KINDS["primary_storage"].lower_delete(Builder(State(), live), pool)  # type: ignore[misc]
    assert [c.command for c in calls] == ["enableStorageMaintenance", "deleteStoragePool"]
    assert calls[1].params["forced"] is True
    edited = CLUSTER.replace("tags: [ssd]}", "tags: [ssd], details: {nfsmountopts: vers=4.1}}")
    desired, _ = _config(edited)
    res = desired[Key("primary_storage", ("z1", "p1", "c1", "ps1"))]
    create = KINDS["primary_storage"].lower_create(Builder(desired, State()), res, None)  # type: ignore[misc]
    params = create[0].params
    assert params["details[0].nfsmountopts"] == "vers=4.1" and params["scope"] == "cluster"
    assert params["tags"] == "ssd" and params["name"] == "ps1"


def test_zone_details_are_sent_in_key_value_form() -> None:
    desired, _ = _config(zone_extra="    details: {ops.owner: team}\n")
    res = desired[Key("zone_detail", ("z1", "ops.owner"))]
    calls = KINDS["zone_detail"].lower_create(Builder(desired, State()), res, None)  # type: ignore[misc]
    assert calls[0].command == "updateZone"
    assert {k: v for k, v in calls[0].params.items() if k != "id"} == {
        "details[0].key": "ops.owner",
        "details[0].value": "team",
    }


# --- export and schema -----------------------------------------------------------------------


def test_export_writes_no_write_only_field_and_loads_back(tmp_path: Path) -> None:
    import yaml

    from cstool.model.export import dump

    live = _live()
    live.add(
        Resource(
            Key("region_image_store", ("s3-eu",)),
            {"provider": "S3", "url": None, "details": None},
        )
    )
    config = to_config(live)
    assert config["region_secondary_storage"] == [{"name": "s3-eu", "provider": "S3"}]
    cluster = config["zones"][0]["pods"][0]["clusters"][0]
    hosts = {h["name"]: h for h in cluster["hosts"]}
    assert hosts["kvm02"] == {"name": "kvm02", "tags": ["a", "b"], "state": "disabled"}
    text = dump(config)
    assert "password" not in text and "url: http" not in text
    state, problems = load_text(text, "export.yaml")
    assert [p for p in problems if not p.warning] == []
    assert yaml.safe_load(text)["zones"][0]["details"] == {"ops.owner": "team"}


def test_schema_describes_the_new_keys() -> None:
    schema = json_schema()
    defs = schema["$defs"]
    host = defs["Host"]["properties"]
    assert host["password"]["type"] == "object" and "env" in host["password"]["properties"]
    assert "name" not in defs["Host"].get("required", [])  # defaults to the URL's host
    for name in ("Cluster", "Host", "PrimaryStorage", "ImageStore", "StagingStore"):
        for key, sub in defs[name]["properties"].items():
            assert str(sub.get("description", "")).strip(), f"{name}.{key}"
    assert "region_secondary_storage" in schema["properties"]
