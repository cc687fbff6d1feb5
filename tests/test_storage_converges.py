"""Storage edits that must converge against the simulator: a pool's nfsmountopts changes
inside a maintenance (and says it disrupts), other details never name it; a region store's
replace deletes before it creates; pool and staging providers are the names the server
ships; a CloudManaged cluster's url (which the server drops) is not compared."""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cstool import ops
from cstool.cloud.api import Api, sim_target
from cstool.model.diff import Action, change_for
from cstool.model.kinds import KINDS
from cstool.model.kinds.storage import PRIMARY_PROVIDERS, pool_provider
from cstool.model.order import dependencies
from cstool.model.resources import Key, Resource
from tests.conftest import CONFIGS, DATA
from tests.secrets import VALUES

COMPUTE = CONFIGS / "compute" / "zone.yaml"
REGION = DATA / "configs" / "valid" / "region-image-store.yaml"
PS1 = Key("primary_storage", ("compute1", "pod1", "c1", "ps1"))


@pytest.fixture(autouse=True)
def _s3_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CSTOOL_TEST_S3_SECRET", VALUES["CSTOOL_TEST_S3_SECRET"])
    yield


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _applied(tmp_path: Path, doc: Any) -> Api:
    api = Api(sim_target(tmp_path / "sim.json"))
    plan, live = ops.plan(api, ops.desired_state([_write(tmp_path, "base.yaml", doc)]).state)
    assert ops.apply(api, plan, live).ok
    return api


def _plan(api: Api, tmp_path: Path, doc: Any) -> tuple[Any, Any]:
    return ops.plan(api, ops.check_config([_write(tmp_path, "edit.yaml", doc)]).state)


def _pool(doc: Any) -> dict[str, Any]:
    pool: dict[str, Any] = doc["zones"][0]["pods"][0]["clusters"][0]["primary_storage"][0]
    return pool


def test_a_new_nfsmountopts_is_set_inside_a_maintenance_that_disrupts(tmp_path: Path) -> None:
    doc = yaml.safe_load(COMPUTE.read_text())
    api = _applied(tmp_path, doc)
    edited = copy.deepcopy(doc)
    _pool(edited)["details"] = {"nfsmountopts": "vers=3"}
    plan, live = _plan(api, tmp_path, edited)
    [step] = plan.steps
    assert [c.command for c in step.calls] == [
        "enableStorageMaintenance",
        "updateStoragePool",
        "cancelStorageMaintenance",
    ]
    assert step.calls[1].params["details[0].nfsmountopts"] == "vers=3"
    assert step.disrupts and "out of service" in step.disrupts
    assert ops.apply(api, plan, live, parallelism=1).ok
    assert _plan(api, tmp_path, edited)[0].empty


def test_another_detail_is_sent_without_the_unchanged_nfsmountopts(tmp_path: Path) -> None:
    """The server refuses any update naming nfsmountopts outside maintenance (SM:944-961)
    and merges the details it is sent (SM.updateStoragePool)."""
    doc = yaml.safe_load(COMPUTE.read_text())
    api = _applied(tmp_path, doc)
    edited = copy.deepcopy(doc)
    _pool(edited)["details"] = {"nfsmountopts": "vers=4.1", "cstool.note": "a"}
    plan, live = _plan(api, tmp_path, edited)
    [step] = plan.steps
    assert [c.command for c in step.calls] == ["updateStoragePool"]
    assert {k for k in step.calls[0].params if k != "id"} == {"details[0].cstool.note"}
    assert step.disrupts is None
    assert ops.apply(api, plan, live, parallelism=1).ok
    assert _plan(api, tmp_path, edited)[0].empty


def test_a_region_store_replace_deletes_before_it_creates(tmp_path: Path) -> None:
    """The store's name is unique (SM.discoverImageStore: "already exists")."""
    doc = yaml.safe_load(REGION.read_text())
    api = _applied(tmp_path, doc)
    edited = copy.deepcopy(doc)
    edited["region_secondary_storage"][0]["url"] = "http://s3.example.com/templates"
    plan, live = _plan(api, tmp_path, edited)
    titles = [s.title for s in plan.steps]
    assert titles == ["delete", "create"]
    assert dependencies(plan.steps)[1] == {0}
    assert ops.apply(api, plan, live, parallelism=1).ok
    assert _plan(api, tmp_path, edited)[0].empty


def test_pool_providers_are_the_default_one_in_any_case() -> None:
    assert pool_provider(" defaultprimary ") == "DefaultPrimary"
    with pytest.raises(ValueError, match="SolidFire pools are not managed by cstool"):
        pool_provider("solidfire")
    with pytest.raises(ValueError, match="would create the pool as DefaultPrimary"):
        pool_provider("NoSuchProvider")
    assert "Flash Array" in PRIMARY_PROVIDERS and "Nexenta" not in PRIMARY_PROVIDERS
    staging = KINDS["staging_store"].field_map["provider"].parse
    assert staging("nfs") == "NFS"
    with pytest.raises(ValueError):
        staging("S3")


def test_plug_in_pools_never_enter_the_live_state() -> None:
    accept = KINDS["primary_storage"].read.accept
    assert accept is not None
    assert accept({"scope": "CLUSTER", "provider": "DefaultPrimary"})
    assert not accept({"scope": "CLUSTER", "provider": "SolidFire"})
    assert not accept({"scope": "HOST", "provider": "DefaultPrimary"})


def test_a_cloudmanaged_cluster_url_is_not_compared_an_external_one_is() -> None:
    key = Key("cluster", ("z1", "p1", "c1"))
    want = Resource(key, {"hypervisor": "Simulator", "url": "http://vc/dc1/c1"})
    assert change_for(want, Resource(key, {"hypervisor": "Simulator", "url": None})) is None
    have = Resource(key, {"hypervisor": "Simulator", "url": "http://vc/dc1/c0"})
    change = change_for(want, have)
    assert change is not None and change.action is Action.REPLACE
