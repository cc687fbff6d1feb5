"""import-marvin: clusters, hosts, primary, secondary and cache storage, VMware datacenters and
zone details convert as deployDataCenter sends them, and no credential reaches the output.

The expectations are read from the Marvin documents themselves (every cluster, host and store
they hold must come out), so a conversion that drops or renames one fails here.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.model import marvin
from tests.conftest import realdata

runner = CliRunner()
MARVIN = sorted((realdata() / "zone-configs").glob("*.cfg"))
# words of a warning about the kinds this conversion handles: none of them may be warned about
INFRA_WORDS = ("cluster", "host", "storage", "store", "vmwaredc", "zone detail")


def _convert(path: Path) -> marvin.Converted:
    return marvin.convert(marvin.parse(path.read_text(), path.name), path.name)


def _clusters(zone: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for pod in zone.get("pods") or [] for c in pod.get("clusters") or []]


@pytest.mark.parametrize("cfg", MARVIN, ids=lambda p: p.stem)
def test_every_cluster_host_and_store_of_a_real_config_converts_without_a_warning(
    cfg: Path,
) -> None:
    source = marvin.parse(cfg.read_text(), cfg.name)
    converted = _convert(cfg)
    infra = [w for w in converted.warnings if any(word in w.lower() for word in INFRA_WORDS)]
    assert infra == []
    for zone_in, zone_out in zip(source["zones"], converted.config["zones"], strict=True):
        clusters_in = [c for pod in zone_in.get("pods") or [] for c in pod.get("clusters") or []]
        clusters_out = _clusters(zone_out)
        assert [c["name"] for c in clusters_out] == [c["clustername"] for c in clusters_in]
        for c_in, c_out in zip(clusters_in, clusters_out, strict=True):
            assert c_out["hypervisor"].lower() == c_in["hypervisor"].lower()
            hosts = c_out.get("hosts", [])
            assert [h["url"] for h in hosts] == [h["url"] for h in c_in.get("hosts") or []]
            assert all(h["password"] == {"env": "CSTOOL_HOST_PASSWORD"} for h in hosts)
            pools = [(p["name"], p["url"]) for p in c_out.get("primary_storage", [])]
            assert pools == [(p["name"], p["url"]) for p in c_in.get("primaryStorages") or []]
        stores = [s["url"] for s in zone_out.get("secondary_storage", [])]
        assert stores == [s["url"] for s in zone_in.get("secondaryStorages") or []]
        assert "vmware_datacenters" not in zone_out  # all-empty vmwaredc entries: no DC


@pytest.mark.parametrize("cfg", MARVIN, ids=lambda p: p.stem)
def test_a_real_config_converts_to_a_valid_config_without_its_passwords(cfg: Path) -> None:
    text, warnings, notes = ops.import_marvin(cfg)
    checked = ops.check_text(text, cfg.stem + ".yaml")
    assert checked.errors == [], checked.errors
    # every real config writes the host password "password": never as a value
    assert not any(line.rstrip().endswith(": password") for line in text.splitlines())
    assert len(notes) == 1 and notes[0].startswith("set CSTOOL_HOST_PASSWORD in the environment")
    assert "Set CSTOOL_HOST_PASSWORD" in text.split("\n", 2)[1]  # and in the YAML's header


def test_host_names_come_from_the_url_as_the_server_would_name_them() -> None:
    assert marvin.host_name("http://sim/c0/h0", "Simulator") == "sim-c0-h0"
    assert marvin.host_name("http://simulator0", "Simulator") == "simulator0"
    assert marvin.host_name("http://sim1/c1/h1", "Simulator") == "sim1-c1-h1"
    assert marvin.host_name("http://172.17.10.10/", "KVM") == "172.17.10.10"
    assert marvin.host_name("http://kvm01.example:8080/x", "KVM") == "kvm01.example"


def test_the_same_host_url_in_two_clusters_converts_in_both() -> None:
    converted = _convert(realdata() / "zone-configs" / "advdualzone.cfg")
    zim2 = converted.config["zones"][1]
    names = [[h["name"] for h in c["hosts"]] for c in _clusters(zim2)]
    assert names == [["sim2-c1-h1", "sim2-c1-h2"], ["sim2-c1-h1", "sim2-c1-h2"]]


ZONE: dict[str, Any] = {
    "name": "z",
    "networktype": "Advanced",
    "dns1": "8.8.8.8",
    "internaldns1": "8.8.4.4",
    "physical_networks": [
        {
            "name": "pn",
            "traffictypes": [{"typ": "Guest"}, {"typ": "Management"}, {"typ": "Public"}],
        }
    ],
    "pods": [
        {
            "name": "p",
            "gateway": "10.0.0.1",
            "netmask": "255.255.255.0",
            "startip": "10.0.0.10",
            "endip": "10.0.0.20",
        }
    ],
}


def _doc(**zone: Any) -> dict[str, Any]:
    out = copy.deepcopy(ZONE)
    out.update(zone)
    return {"zones": [out]}


def _secret() -> str:
    """A credential value made at run time, so that finding it in an output means a leak."""
    return f"Marvin-{uuid.uuid4().hex}"


def test_distinct_passwords_get_numbered_variables_in_order_and_no_value_is_written(
    tmp_path: Path,
) -> None:
    first, second = _secret(), _secret()
    hosts = [
        {"url": "http://10.0.0.101", "username": "root", "password": first},
        {"url": "http://10.0.0.102", "username": "root", "password": second},
        {"url": "http://10.0.0.103", "username": "root", "password": first},
    ]
    cluster = {"clustername": "c", "hypervisor": "kvm", "clustertype": "CloudManaged"}
    doc = _doc()
    doc["zones"][0]["pods"][0]["clusters"] = [{**cluster, "hosts": hosts}]
    converted = marvin.convert(doc)
    out = _clusters(converted.config["zones"][0])[0]
    assert out["hypervisor"] == "KVM"  # Hypervisor.getType reads any case
    assert [h["password"]["env"] for h in out["hosts"]] == [
        "CSTOOL_HOST_PASSWORD",
        "CSTOOL_HOST_PASSWORD_2",
        "CSTOOL_HOST_PASSWORD",
    ]
    assert [h["name"] for h in out["hosts"]] == ["10.0.0.101", "10.0.0.102", "10.0.0.103"]
    assert converted.notes[0].startswith("set CSTOOL_HOST_PASSWORD in the environment")
    assert "2 objects" in converted.notes[0] and "CSTOOL_HOST_PASSWORD_2" in converted.notes[1]
    path = tmp_path / "x.cfg"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["import-marvin", str(path)])
    assert result.exit_code == 0, result.output
    assert "note: set CSTOOL_HOST_PASSWORD_2" in result.output
    for value in (first, second):
        assert value not in result.output
        assert value not in json.dumps(converted.config) + "".join(converted.notes)


def test_storage_of_every_kind_and_zone_details_convert() -> None:
    s3_secret, s3_access = _secret(), _secret()
    doc = _doc(
        secondaryStorages=[
            {"url": "nfs://10.0.0.5/export/secondary", "provider": "NFS"},
            {
                "provider": "S3",
                "details": {"bucket": "templates", "accesskey": s3_access, "secretkey": s3_secret},
            },
        ],
        cacheStorages=[{"url": "nfs://10.0.0.5/export/cache", "provider": "NFS"}],
        primaryStorages=[
            {"name": "zwide", "url": "rbd://admin@mon/pool", "hypervisor": "kvm"},
        ],
        details=[{"key": "some.detail", "value": "x"}],
    )
    doc["zones"][0]["pods"][0]["clusters"] = [
        {
            "clustername": "c",
            "hypervisor": "KVM",
            "hosts": [{"url": "http://10.0.0.101", "username": "root", "hosttags": "ssd, fast"}],
            "primaryStorages": [
                {
                    "name": "ps",
                    "url": "nfs://10.0.0.5:/export/p",
                    "tags": "ssd",
                    "details": {"nfsmountopts": "vers=4.1"},
                },
                {"name": "moved", "url": "nfs://10.0.0.5/export/z", "scope": "zone"},
            ],
        }
    ]
    converted = marvin.convert(doc)
    zone = converted.config["zones"][0]
    assert zone["details"] == {"some.detail": "x"}
    assert zone["secondary_storage"] == [
        {"name": "nfs://10.0.0.5/export/secondary", "url": "nfs://10.0.0.5/export/secondary"}
    ]
    assert zone["staging_storage"] == [{"url": "nfs://10.0.0.5/export/cache"}]
    assert converted.config["region_secondary_storage"] == [
        {
            "name": "s3-templates",
            "provider": "S3",
            "details": {
                "bucket": "templates",
                "accesskey": {"env": "CSTOOL_S3_ACCESSKEY"},
                "secretkey": {"env": "CSTOOL_S3_SECRETKEY"},
            },
        }
    ]
    assert list(converted.config) == ["region_secondary_storage", "zones"]
    cluster = _clusters(zone)[0]
    assert cluster["hosts"] == [
        {
            "name": "10.0.0.101",
            "url": "http://10.0.0.101",
            "username": "root",
            "tags": ["ssd", "fast"],
        }
    ]
    assert cluster["primary_storage"] == [
        {
            "name": "ps",
            "url": "nfs://10.0.0.5:/export/p",
            "tags": ["ssd"],
            "details": {"nfsmountopts": "vers=4.1"},
        }
    ]
    # a cluster's pool of scope zone is zone-wide, for its own hypervisor when it names none
    assert zone["primary_storage"] == [
        {"name": "moved", "url": "nfs://10.0.0.5/export/z", "hypervisor": "KVM"},
        {"name": "zwide", "url": "rbd://admin@mon/pool", "hypervisor": "KVM"},
    ]
    assert not [w for w in converted.warnings if any(x in w.lower() for x in INFRA_WORDS)]
    assert s3_secret not in json.dumps(converted.config)
    assert s3_access not in json.dumps(converted.config)


def test_details_as_a_list_of_single_pairs_and_a_pool_url_secret() -> None:
    key = _secret()
    doc = _doc(
        details=[{"a.b": "1"}, {"c.d": "2"}],
        primaryStorages=[
            {"name": "ceph", "url": f"rbd://admin:{key}@mon/pool", "hypervisor": "KVM"}
        ],
    )
    converted = marvin.convert(doc)
    zone = converted.config["zones"][0]
    assert zone["details"] == {"a.b": "1", "c.d": "2"}
    assert zone["primary_storage"] == [
        {
            "name": "ceph",
            "url": "rbd://admin@mon/pool",
            "secret": {"env": "CSTOOL_POOL_SECRET"},
            "hypervisor": "KVM",
        }
    ]
    assert key not in json.dumps(converted.config) + "".join(converted.notes)


def test_a_vmware_datacenter_and_cluster_convert_with_references() -> None:
    password = _secret()
    dc = {"name": "dc1", "vcenter": "vc.example", "username": "admin", "password": password}
    doc = _doc(vmwaredc={"name": "", "vcenter": "", "username": "", "password": ""})
    pod = doc["zones"][0]["pods"][0]
    pod["vmwaredc"] = dc  # deployDataCenter reads the pod's
    pod["clusters"] = [
        {
            "clustername": "vc.example/dc1/c1",
            "hypervisor": "VMware",
            "clustertype": "ExternalManaged",
            "url": "http://vc.example/dc1/c1",
            "username": "admin",
            "password": password,
            "hosts": [{"url": "http://esx1", "username": "root", "password": "x"}],
        }
    ]
    converted = marvin.convert(doc)
    zone = converted.config["zones"][0]
    assert zone["vmware_datacenters"] == [
        {
            "name": "dc1",
            "vcenter": "vc.example",
            "username": "admin",
            "password": {"env": "CSTOOL_VCENTER_PASSWORD"},
        }
    ]
    cluster = _clusters(zone)[0]
    assert cluster["password"] == {"env": "CSTOOL_VCENTER_PASSWORD"}  # the same value
    assert cluster["url"] == "http://vc.example/dc1/c1" and "hosts" not in cluster
    assert any("skipped 1 host(s)" in w for w in converted.warnings)
    assert password not in json.dumps(converted.config) + "".join(converted.notes)


def test_what_the_server_ignores_is_named() -> None:
    doc = _doc()
    doc["zones"][0]["pods"][0]["clusters"] = [
        {
            "clustername": "c",
            "hypervisor": "KVM",
            "url": "http://ignored",
            "hosts": [
                {
                    "url": "http://10.0.0.101",
                    "username": "root",
                    "allocationstate": "Disabled",
                    "hostmac": "aa",
                }
            ],
        }
    ]
    converted = marvin.convert(doc)
    text = "\n".join(converted.warnings)
    assert "cluster z/p/c: skipped url: CloudStack reads them only for VMware clusters" in text
    assert "host z/p/c/10.0.0.101: skipped allocationstate: addHost ignores it" in text
    assert "host z/p/c/10.0.0.101: skipped key 'hostmac'" in text
    assert "url" not in _clusters(converted.config["zones"][0])[0]


def test_a_zone_without_compute_or_storage_does_not_opt_in() -> None:
    zone = marvin.convert(_doc(vmwaredc={"name": ""})).config["zones"][0]
    keys = ("details", "vmware_datacenters", "staging_storage", "secondary_storage")
    assert not any(k in zone for k in (*keys, "primary_storage"))
    assert "clusters" not in zone["pods"][0]
