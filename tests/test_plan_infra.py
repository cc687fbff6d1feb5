"""Plans of compute and storage: state waits (Until) and secret references in calls survive a
save and load with their checksum, a host's or pool's `state` counts as taking it out of
service, a create that lacks the credentials the server needs is refused at plan time, and
--rotate-secrets sends again only what the API can change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cstool.errors import ConfigInvalid
from cstool.model.diff import Action
from cstool.model.plan import (
    ROTATE_TITLE,
    Builder,
    Call,
    Plan,
    Ref,
    Step,
    Until,
    checksum,
    make_plan,
    plan_from_dict,
)
from cstool.model.resources import MANAGES_INFRA, Key, Resource, State
from cstool.model.secrets import SecretRef, SecretUrl
from tests.infra_kinds import installed

Z, P = "z1", "pod1"
PW = SecretRef("env", "KVM_PASSWORD")


@pytest.fixture(autouse=True)
def kinds() -> Iterator[list[str]]:
    with installed() as added:
        yield added


def _host_key(cluster: str = "c1", name: str = "h1") -> Key:
    return Key("host", (Z, P, cluster, name))


def _infra_calls() -> tuple[Call, ...]:
    b = Builder(State(), State())
    host = _host_key()
    return (
        b.call(
            "createStoragePool",
            {
                "url": SecretUrl("rbd://admin@mon.example/rbdpool", SecretRef("env", "CEPH_KEY")),
                "details[0].key": "password",
                "details[0].value": SecretRef("file", "/run/secrets/smb"),
                "tags": "ssd,fast",
            },
        ),
        b.call("addHost", {"clusterid": Ref(host.parent()), "password": PW}, creates=host),
        b.call(
            "listHosts",
            {"clusterid": Ref(host.parent()), "id": Ref(host)},
            until=("state", "Up", ("Down", "Error", "Removed")),
        ),
    )


def _saved(steps: tuple[Step, ...]) -> dict[str, Any]:
    return json.loads(json.dumps(Plan(steps, (), 0).to_dict()))


def test_a_state_wait_and_secret_references_survive_a_save_and_load() -> None:
    calls = _infra_calls()
    assert calls[2].until == Until("state", "Up", ("Down", "Error", "Removed"))
    step = Step(Action.CREATE, _host_key(), "add", calls, 123, 2)
    body = _saved((step,))
    saved_calls = body["steps"][0]["calls"]
    assert saved_calls[2]["until"] == {
        "field": "state",
        "equals": "Up",
        "fail": ["Down", "Error", "Removed"],
    }
    assert saved_calls[1]["params"]["password"] == {"secret": {"env": "KVM_PASSWORD"}}
    assert saved_calls[0]["params"]["details[0].value"] == {"secret": {"file": "/run/secrets/smb"}}
    steps, sum_ = plan_from_dict(body)
    assert steps == (step,)  # the same calls, references and waits back
    assert checksum(_saved(steps)) == sum_ == body["checksum"]


def test_the_checksum_covers_the_wait_and_the_reference() -> None:
    calls = _infra_calls()
    step = Step(Action.CREATE, _host_key(), "add", calls, 123, 2)
    other_ref = Step(
        Action.CREATE,
        _host_key(),
        "add",
        (calls[0], Call("addHost", {**calls[1].params, "password": SecretRef("env", "X")})),
        123,
        2,
    )
    other_wait = Step(
        Action.CREATE,
        _host_key(),
        "add",
        (*calls[:2], Call(calls[2].command, calls[2].params, until=Until("state", "Up"))),
        123,
        2,
    )
    sums = {_saved((s,))["checksum"] for s in (step, other_ref, other_wait)}
    assert len(sums) == 3


def test_a_call_without_a_wait_is_saved_as_before() -> None:
    """Plans without waits keep their checksum: no `until` key is written."""
    call = Call("createPod", {"zoneid": Ref(Key("zone", (Z,))), "name": P})
    assert call.to_dict() == {
        "command": "createPod",
        "params": {"zoneid": {"ref": "zone:z1"}, "name": P},
    }


def test_a_change_of_a_secret_field_shows_the_reference() -> None:
    step = Step(Action.CREATE, _host_key(), "add", (), 123, 2, fields={"password": (None, PW)})
    assert _saved((step,))["steps"][0]["changes"]["password"] == {
        "old": None,
        "new": "{env: KVM_PASSWORD}",
    }


@pytest.mark.parametrize(
    ("old", "new", "disabling", "enabling"),
    [
        ("enabled", "disabled", True, False),
        ("enabled", "maintenance", True, False),
        ("maintenance", "enabled", False, True),
        ("disabled", "enabled", False, True),
        ("disabled", "maintenance", False, False),
        (None, "enabled", False, True),
    ],
)
def test_a_state_change_takes_out_of_service_or_back(
    old: str | None, new: str, disabling: bool, enabling: bool
) -> None:
    step = Step(Action.UPDATE, _host_key(), "x", (), 123, 2, fields={"state": (old, new)})
    assert (step.disabling, step.enabling) == (disabling, enabling)


# --- what a create needs, checked at plan time ----------------------------------------------


def _cloud(hypervisor: str, *hosts: Resource, live_hosts: bool = False) -> tuple[State, State]:
    desired, live = State(), State()
    for state in (desired, live):
        # the loader marks a zone whose YAML has compute or storage (resources.MANAGES_INFRA)
        state.add(Resource(Key("zone", (Z,)), {"enabled": True}, extra={MANAGES_INFRA: True}))
        state.add(Resource(Key("pod", (Z, P)), {}))
        state.add(Resource(Key("cluster", (Z, P, "c1")), {"hypervisor": hypervisor}))
    for host in hosts:
        desired.add(host)
        if live_hosts:
            live.add(host)
    return desired, live


def _host(name: str = "h1", cluster: str = "c1", **values: Any) -> Resource:
    return Resource(_host_key(cluster, name), {"url": f"http://{name}", **values})


@pytest.mark.parametrize(
    ("hypervisor", "values", "missing"),
    [
        ("KVM", {}, "`username` is needed to add it"),
        ("KVM", {"username": "root"}, None),
        ("XenServer", {"username": "root"}, "`password` is needed to add it"),
        ("Simulator", {}, "`username` and `password` are needed to add it"),
        ("XenServer", {"username": "root", "password": PW}, None),
        ("VMware", {}, None),  # discovered by addCluster, never added
    ],
)
def test_a_host_create_needs_the_credentials_of_its_hypervisor(
    hypervisor: str, values: dict[str, Any], missing: str | None
) -> None:
    """ResourceManagerImpl.discoverHostsFull (ResourceManagerImpl:780-793)."""
    desired, live = _cloud(hypervisor, _host(**values))
    if missing is None:
        make_plan(desired, live)
        return
    with pytest.raises(ConfigInvalid) as err:
        make_plan(desired, live)
    assert [p.message for p in err.value.problems] == [f"host z1/pod1/c1/h1: {missing}"]


def test_an_existing_host_needs_no_credentials() -> None:
    """An exported config has none: planning it against the cloud it came from is fine."""
    desired, live = _cloud("XenServer", _host(), live_hosts=True)
    assert make_plan(desired, live).empty


# --- --rotate-secrets -----------------------------------------------------------------------


def test_rotation_sends_a_kvm_hosts_password_again() -> None:
    host = _host(username="root", password=PW)
    desired, live = _cloud("KVM", host, live_hosts=True)
    assert make_plan(desired, live).empty
    plan = make_plan(desired, live, rotate=True)
    (step,) = plan.steps
    assert (step.title, step.key) == (ROTATE_TITLE, host.key)
    (call,) = step.calls
    assert call.command == "updateHostPassword"
    assert call.params == {"hostid": Ref(host.key), "username": "root", "password": PW}
    assert plan.not_rotatable == ()


def test_rotation_of_xenserver_hosts_is_one_call_per_cluster() -> None:
    """ManagementServerImpl.updateHostPassword refuses a single XenServer host (431)."""
    hosts = [_host(n, username="root", password=PW) for n in ("h1", "h2")]
    desired, live = _cloud("XenServer", *hosts, live_hosts=True)
    (step,) = make_plan(desired, live, rotate=True).steps
    cluster = Key("cluster", (Z, P, "c1"))
    assert step.key == cluster
    assert step.calls[0].params["clusterid"] == Ref(cluster)
    assert "hostid" not in step.calls[0].params


def test_secrets_the_api_cannot_change_are_listed_not_planned() -> None:
    desired, live = _cloud("Simulator", _host(username="u", password=PW), live_hosts=True)
    plan = make_plan(desired, live, rotate=True)
    assert plan.steps == ()
    assert plan.not_rotatable == (_host_key(),)
    assert plan.to_dict()["not_rotatable"] == ["host:z1/pod1/c1/h1"]


def test_a_host_being_added_is_not_rotated() -> None:
    desired, live = _cloud("KVM", _host(username="root", password=PW))
    plan = make_plan(desired, live, rotate=True)
    assert ROTATE_TITLE not in {s.title for s in plan.steps}
