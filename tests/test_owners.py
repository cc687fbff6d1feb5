"""Owners and dedications: the domains, accounts and projects a config refers to, named from
their ids, checked against the cloud before any call; the guest VLAN ranges the server would
merge; and how the dedication kinds are read and turned into calls."""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: CM ConfigurationManagerImpl,
# NS NetworkServiceImpl, DR DedicatedResourceManagerImpl, ARH ApiResponseHelper.
from collections.abc import Mapping
from typing import Any

import pytest

from cstool.errors import Origin
from cstool.model import owners
from cstool.model.kinds import KINDS
from cstool.model.kinds.tenancy import explode_range_owner
from cstool.model.plan import Builder, Call, Ref
from cstool.model.resources import ABSENT, Key, Resource, State

ACME = "ROOT/customers/acme"
Z, PN = "z1", "trunk"


def _res(
    kind: str,
    *path: str,
    uuid: str | None = None,
    extra: Mapping[str, Any] | None = None,
    line: int = 1,
    **values: Any,
) -> Resource:
    origin = Origin("c.yaml", line, 1)
    return Resource(
        Key(kind, path),
        values,
        origin=origin,
        field_origins={name: Origin("c.yaml", line, 9) for name in values},
        uuid=uuid,
        extra=dict(extra or {}),
    )


def _cloud(*more: Resource) -> State:
    """A live cloud with ROOT, ROOT/customers/acme, its account acme-admin and project web."""
    return State(
        {
            r.key: r
            for r in (
                _res("domain", "ROOT", uuid="d-root"),
                _res("domain", ACME, uuid="d-acme"),
                _res("account", "ROOT", "admin", uuid="a-admin"),
                _res("account", ACME, "acme-admin", uuid="a-acme"),
                _res("project", ACME, "web", uuid="p-web"),
                *more,
            )
        }
    )


def _state(*items: Resource) -> State:
    return State({r.key: r for r in items})


# --- resolve: owners listed by id are named ------------------------------------------------


def test_owners_listed_by_id_are_named_by_path_and_name() -> None:
    """A dedicated zone lists only `domainid` and `accountid` (DR.createDedicateZoneResponse,
    DR:730-745)."""
    live = _cloud(
        _res("zone", Z),
        _res("zone_dedication", Z, "dedicated", domain="id:d-acme", account="id:a-acme"),
        _res("pod_dedication", Z, "p1", "dedicated", domain="id:d-root", account=None),
    )
    got = owners.resolve(live)
    assert got[Key("zone_dedication", (Z, "dedicated"))].values == {
        "domain": ACME,
        "account": "acme-admin",
    }
    assert got[Key("pod_dedication", (Z, "p1", "dedicated"))].values == {
        "domain": "ROOT",
        "account": None,
    }
    assert list(got) == list(live)  # the order of the state is kept


def test_an_owner_the_cloud_does_not_list_stays_an_id() -> None:
    live = _cloud(_res("zone_dedication", Z, "dedicated", domain="id:gone", account="id:a-acme"))
    got = owners.resolve(live)[Key("zone_dedication", (Z, "dedicated"))]
    assert got.values == {"domain": "id:gone", "account": "acme-admin"}


def test_an_owner_id_is_looked_up_among_its_own_kind_only() -> None:
    """An account's id is no domain's: the id of project web named as a domain stays."""
    live = _cloud(_res("zone_dedication", Z, "dedicated", domain="id:p-web"))
    assert owners.resolve(live)[Key("zone_dedication", (Z, "dedicated"))].values == {
        "domain": "id:p-web"
    }


# --- missing: every owner named must exist, before any call ----------------------------------


def test_a_missing_domain_account_or_project_is_named_at_its_line() -> None:
    desired = _state(
        _res("zone_dedication", Z, "dedicated", line=3, domain="ROOT/nope"),
        _res("pod_dedication", Z, "p1", "dedicated", line=5, domain=ACME, account="bob"),
        _res(
            "public_range_dedication", Z, "10.0.0.1", "dedicated", line=7, domain=ACME, project="x"
        ),
        _res(
            "cluster_dedication",
            Z,
            "p1",
            "c1",
            "dedicated",
            line=9,
            domain=ACME,
            account="acme-admin",
        ),
    )
    got = [str(p) for p in owners.missing(desired, _cloud())]
    assert got == [
        "c.yaml:3:9: zone dedication z1/dedicated is dedicated to domain ROOT/nope, "
        "which the cloud does not have (listDomains)",
        "c.yaml:5:9: pod dedication z1/p1/dedicated is dedicated to account bob in "
        "ROOT/customers/acme, which the cloud does not have (listAccounts)",
        "c.yaml:7:9: public range dedication z1/10.0.0.1/dedicated is dedicated to project x "
        "in ROOT/customers/acme, which the cloud does not have (listProjects)",
    ]


def test_owners_the_cloud_has_and_entries_to_release_are_not_missing() -> None:
    desired = _state(
        _res("zone_dedication", Z, "dedicated", domain=ACME, account="acme-admin"),
        _res("public_range_dedication", Z, "10.0.0.1", "dedicated", domain=ACME, project="web"),
        _res("pod_dedication", Z, "p1", "dedicated", extra={ABSENT: True}, domain="ROOT/gone"),
        _res("zone", Z),
    )
    assert owners.missing(desired, _cloud()) == []


def test_an_account_is_looked_up_in_its_own_domain() -> None:
    """admin is an account of ROOT, not of ROOT/customers/acme."""
    desired = _state(_res("zone_dedication", Z, "dedicated", domain=ACME, account="admin"))
    (problem,) = owners.missing(desired, _cloud())
    assert "account admin in ROOT/customers/acme" in problem.message


# --- adjacent_live: ranges the server would merge ----------------------------------------------


def _vlans(start: int, end: int, owner: str = "acme-admin", **kw: Any) -> Resource:
    return _res(
        "dedicated_vlan_range", Z, PN, str(start), end=end, domain=ACME, account=owner, **kw
    )


@pytest.mark.parametrize(("start", "end"), [(550, 599), (450, 499)])
def test_a_range_next_to_a_live_one_of_its_owner_outside_the_config_is_refused(
    start: int, end: int
) -> None:
    """NS.dedicateGuestVlanRange merges a new range into an adjacent row of the same
    account, on either side (NS:4911-4950)."""
    desired = _state(_vlans(start, end))
    live = _cloud(_vlans(500, 549))
    (problem,) = owners.adjacent_live(desired, live)
    assert f"guest VLANs {start}-{end} touch the live range 500-549" in problem.message
    assert f"({min(start, 500)}-{max(end, 549)})" in problem.message


def test_ranges_that_do_not_merge_are_not_refused() -> None:
    """Another owner's row is never merged into; a gap is no adjacency; a live range the
    config names (even to release it) is the config's own; a range already as wanted makes
    no call."""
    live = _cloud(
        _vlans(500, 549, owner="other"),
        _vlans(700, 749),
        _vlans(800, 849),
        _vlans(900, 949),
        _vlans(950, 999),
    )
    desired = _state(
        _vlans(550, 599),  # next to another owner's
        _vlans(751, 760),  # a gap of one VLAN
        _vlans(850, 860),
        _res("dedicated_vlan_range", Z, PN, "800", extra={ABSENT: True}, domain=ACME),
        _vlans(900, 949),  # unchanged, next to 950-999
    )
    assert owners.adjacent_live(desired, live) == []


# --- the dedication kinds: read -----------------------------------------------------------------


def test_a_dedicated_zone_is_read_by_ids() -> None:
    kind = KINDS["zone_dedication"]
    item = {"id": "x", "zoneid": "z", "domainid": "d-acme", "accountid": "a-acme"}
    assert kind.read.key_from is not None and kind.read.key_from(item) == "dedicated"
    assert {f.name: f.read(item) for f in kind.fields} == {
        "domain": "id:d-acme",
        "account": "id:a-acme",
    }
    assert {f.name: f.read({"domainid": "d-acme"}) for f in kind.fields}["account"] is None


def test_a_public_range_dedication_is_read_from_the_range() -> None:
    """ARH.createVlanIpRangeResponse (ARH:980-998) lists the owner account and domain; a
    project's range lists the project beside its project account (populateAccount)."""
    rows = explode_range_owner(
        {
            "id": "r1",
            "forvirtualnetwork": True,
            "account": "PrjAcct-web-1",
            "projectid": "p-web",
            "project": "web",
            "domainid": "d-acme",
            "domainpath": ACME,
            "startip": "10.0.0.1",
        }
    )
    assert [r["_parent"] for r in rows] == ["r1"]
    fields = KINDS["public_range_dedication"].fields
    assert {f.name: f.read(rows[0]) for f in fields} == {
        "domain": ACME,
        "account": None,
        "project": "web",
    }


@pytest.mark.parametrize(
    "item",
    [
        {"id": "r1", "forvirtualnetwork": True, "startip": "10.0.0.1"},  # no owner
        # a shared network's range lists the network's owner: no dedication
        {"id": "r2", "forvirtualnetwork": False, "account": "system", "domainid": "d-root"},
    ],
)
def test_ranges_without_a_dedication_hold_none(item: dict[str, Any]) -> None:
    assert explode_range_owner(item) == []


# --- the dedication kinds: calls -----------------------------------------------------------------


def _calls(desired: State, live: State, res: Resource, delete: bool = False) -> list[Call]:
    kind = KINDS[res.key.kind]
    b = Builder(desired, live)
    if delete:
        assert kind.lower_delete is not None
        return kind.lower_delete(b, res)
    assert kind.lower_create is not None
    return kind.lower_create(b, res, None)


def test_a_zone_is_dedicated_to_an_account_by_domain_id_and_account_name() -> None:
    """DedicateZoneCmd takes zoneid, domainid and account; the job result names no object,
    so the new dedication is found by listing it."""
    res = _res("zone_dedication", Z, "dedicated", domain=ACME, account="acme-admin")
    (call,) = _calls(_state(res), _cloud(), res)
    assert call.command == "dedicateZone"
    assert call.params == {
        "zoneid": Ref(Key("zone", (Z,))),
        "domainid": Ref(Key("domain", (ACME,))),
        "account": "acme-admin",
    }
    assert call.creates == res.key


def test_a_host_is_dedicated_to_a_whole_domain() -> None:
    res = _res("host_dedication", Z, "p", "c", "h1", "dedicated", domain=ACME)
    (call,) = _calls(_state(res), _cloud(), res)
    assert (call.command, call.params) == (
        "dedicateHost",
        {"hostid": Ref(Key("host", (Z, "p", "c", "h1"))), "domainid": Ref(Key("domain", (ACME,)))},
    )


def test_a_public_range_is_dedicated_to_a_project_and_released_by_its_id() -> None:
    """dedicatePublicIpRange id domainid projectid (CM:5984-6095) answers the range itself:
    the dedication has no id of its own; releasePublicIpRange id (CM:6101-6190)."""
    res = _res("public_range_dedication", Z, "10.0.0.1", "dedicated", domain=ACME, project="web")
    (call,) = _calls(_state(res), _cloud(), res)
    rng = Ref(Key("public_range", (Z, "10.0.0.1")))
    assert call.params == {
        "id": rng,
        "domainid": Ref(Key("domain", (ACME,))),
        "projectid": Ref(Key("project", (ACME, "web"))),
    }
    assert (call.command, call.creates) == ("dedicatePublicIpRange", None)
    (release,) = _calls(_state(), _cloud(res), res, delete=True)
    assert (release.command, release.params) == ("releasePublicIpRange", {"id": rng})


@pytest.mark.parametrize(
    ("want", "have", "restored"),
    [
        ("want.example", "have.example", "want.example"),  # the config's value
        (None, "have.example", "have.example"),  # else the one the zone has
        (None, None, None),  # nothing to restore
    ],
)
def test_a_zone_release_sets_the_network_domain_back(
    want: str | None, have: str | None, restored: str | None
) -> None:
    """DR.releaseDedicatedResource clears the zone's network domain (DR:951-958)."""
    ded = _res("zone_dedication", Z, "dedicated", domain=ACME)
    desired = _state(_res("zone", Z, domain=want))
    live = _cloud(_res("zone", Z, domain=have), ded)
    calls = _calls(desired, live, ded, delete=True)
    zone = Ref(Key("zone", (Z,)))
    expected = [("releaseDedicatedZone", {"zoneid": zone})]
    if restored is not None:
        expected.append(("updateZone", {"id": zone, "domain": restored}))
    assert [(c.command, c.params) for c in calls] == expected


def test_a_zone_that_goes_is_not_given_its_domain_back() -> None:
    ded = _res("zone_dedication", Z, "dedicated", domain=ACME)
    live = _cloud(_res("zone", Z, domain="have.example"), ded)
    calls = _calls(_state(), live, ded, delete=True)
    assert [c.command for c in calls] == ["releaseDedicatedZone"]


@pytest.mark.parametrize("resource", ["pod", "cluster", "host"])
def test_other_dedications_are_released_by_their_resource(resource: str) -> None:
    path = {"pod": ("p",), "cluster": ("p", "c"), "host": ("p", "c", "h")}[resource]
    ded = _res(f"{resource}_dedication", Z, *path, "dedicated", domain=ACME)
    (call,) = _calls(_state(), _cloud(ded), ded, delete=True)
    title = resource.capitalize()
    assert (call.command, call.params) == (
        f"releaseDedicated{title}",
        {f"{resource}id": Ref(Key(resource, (Z, *path)))},
    )
