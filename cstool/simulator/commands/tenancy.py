"""Domains, accounts and projects: the owners that dedications and dedicated ranges name.

cstool only references them, so the simulator only seeds and lists them: the ROOT domain
with the `system` and `admin` accounts (as a fresh management server has them), and any
more a test or `sim serve` gives (add_domain / add_account / add_project).

Seeded and given rows take fixed ids and no number from the store's id sequence, so the ids
of everything else in tests and recordings stay as they were. Rows carry `_dbid` (the
internal id error texts show) and `_path`, the domain's stored path (`/`, `/a/b/`).

Legend of the server code cited: DJ = DomainJoinDaoImpl, AJ = AccountJoinDaoImpl,
ARH = ApiResponseHelper, QM = QueryManagerImpl.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import uuid
from typing import Any

from cstool.simulator.commands.core import P, command, keyword, paged
from cstool.simulator.commands.zones import db_id, next_db_id
from cstool.simulator.store import Store

ROOT_DOMAIN_ID = "0b5ad0a8-0000-0000-0000-000000000001"
SYSTEM_ACCOUNT_ID = "acc0-0000-0000-0000-000000000000"
ADMIN_ACCOUNT_ID = "acc0-0000-0000-0000-000000000001"  # the caller: transport._job's accountid
_NAMESPACE = uuid.UUID("0b5ad0a8-6f1e-4b7a-9c4d-3e2f1a0b9c8d")  # ids of given owners

# Account.Type: NORMAL 0, ADMIN 1, DOMAIN_ADMIN 2, PROJECT 5
ACCOUNT_ADMIN, ACCOUNT_NORMAL, ACCOUNT_PROJECT = 1, 0, 5


def _put(store: Store, table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Insert a row with a fixed id and `_seq` 0: it takes no id from the sequence."""
    row["_seq"] = 0
    store.tables[table][row["id"]] = row
    store.touch()
    return row


def _fixed_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def seed(store: Store) -> None:
    """The ROOT domain and the system and admin accounts of a fresh server (idempotent):
    DomainVO ROOT has id 1, path "/"; AccountVO system id 1 and admin id 2, both in ROOT,
    type Admin (create-schema.sql's default rows)."""
    if store.get("domain", ROOT_DOMAIN_ID) is None:
        _put(
            store,
            "domain",
            {"id": ROOT_DOMAIN_ID, "name": "ROOT", "_path": "/", "_parent": None, "_dbid": 1},
        )
    for oid, name, dbid in ((SYSTEM_ACCOUNT_ID, "system", 1), (ADMIN_ACCOUNT_ID, "admin", 2)):
        if store.get("account", oid) is None:
            row = {"id": oid, "name": name, "accounttype": ACCOUNT_ADMIN, "_dbid": dbid}
            _put(store, "account", {**row, "domainid": ROOT_DOMAIN_ID, "_role": "Admin"})


# --- look-ups ----------------------------------------------------------------------------


def pretty_path(domain: dict[str, Any]) -> str:
    """ARH.getPrettyDomainPath (ARH:533-539): "/a/b/" of a domain under ROOT is "ROOT/a/b"."""
    return "ROOT" + domain["_path"].rstrip("/") if domain["_path"] != "/" else "ROOT"


def domain_by_path(store: Store, path: str) -> dict[str, Any] | None:
    """The domain whose pretty path is `path` (ROOT/a/b)."""
    return next((d for d in store.rows("domain") if pretty_path(d) == path), None)


def child_domain_ids(store: Store, domainid: str) -> list[str]:
    """DedicatedResourceManagerImpl.getDomainChildIds (DR:717-729): the domain itself and
    every domain below it (DomainDao.findAllChildren, by path prefix)."""
    domain = store.get("domain", domainid)
    if domain is None:
        return []
    prefix = domain["_path"]
    return [domainid] + [
        d["id"]
        for d in store.rows("domain")
        if d["id"] != domainid and d["_path"].startswith(prefix)
    ]


def active_account(store: Store, name: str, domainid: str) -> dict[str, Any] | None:
    """AccountDao.findActiveAccount(name, domainId): the account of that name in that very
    domain (not below it)."""
    return next((a for a in store.rows("account", domainid=domainid) if a["name"] == name), None)


def project_of(store: Store, account: dict[str, Any]) -> dict[str, Any] | None:
    """ApiDBUtils.findProjectByProjectAccountId."""
    return next((pr for pr in store.rows("project") if pr["_account"] == account["id"]), None)


def owner_fields(store: Store, accountid: str | None, domainid: str | None) -> dict[str, Any]:
    """ARH.populateAccount + populateDomain (ARH:3048-3075): `account` (and `project`,
    `projectid` for a project's account), `domainid`, `domain`, `domainpath`."""
    out: dict[str, Any] = {}
    account = store.get("account", accountid)
    if account is not None:
        out["account"] = account["name"]
        project = project_of(store, account) if account["accounttype"] == ACCOUNT_PROJECT else None
        if project is not None:
            out.update(projectid=project["id"], project=project["name"])
        domainid = account["domainid"]
    domain = store.get("domain", domainid)
    if domain is not None:
        out.update(domainid=domain["id"], domain=domain["name"], domainpath=pretty_path(domain))
    return out


def domain_text(store: Store, domain: dict[str, Any]) -> str:
    """DomainVO.toString(): ReflectionToStringBuilderUtils' JSON style of id, uuid, name, path."""
    dbid = db_id(store, "domain", domain)
    return (
        f'Domain {{"id":{dbid},"uuid":"{domain["id"]}","name":"{domain["name"]}",'
        f'"path":"{domain["_path"]}"}}'
    )


# --- given owners (Simulator.add_domain / add_account / add_project, `sim serve`) ---------


def add_domain(store: Store, path: str) -> dict[str, Any]:
    """The domain at `path` (ROOT/a/b), with its parents; an existing one is returned as is.
    DomainManagerImpl.createDomain stores the path as "/a/b/" under ROOT."""
    parts = path.split("/")
    if parts[0] != "ROOT" or any(not part for part in parts):
        raise ValueError(f"not a domain path: {path!r} (write ROOT or ROOT/a/b)")
    seed(store)
    domain = store.get("domain", ROOT_DOMAIN_ID)
    assert domain is not None
    for i in range(1, len(parts)):
        found = domain_by_path(store, "/".join(parts[: i + 1]))
        if found is None:
            found = _put(
                store,
                "domain",
                {
                    "id": _fixed_id("domain", *parts[: i + 1]),
                    "name": parts[i],
                    "_path": domain["_path"] + parts[i] + "/",
                    "_parent": domain["id"],
                    "_dbid": next_db_id(store, "domain"),
                },
            )
        domain = found
    return domain


def add_account(store: Store, path: str, name: str) -> dict[str, Any]:
    """A normal (user) account `name` in the domain at `path` (created when missing)."""
    domain = add_domain(store, path)
    found = active_account(store, name, domain["id"])
    if found is not None:
        return found
    row = {
        "id": _fixed_id("account", path, name),
        "name": name,
        "accounttype": ACCOUNT_NORMAL,
        "domainid": domain["id"],
        "_role": "User",
        "_dbid": next_db_id(store, "account"),
    }
    return _put(store, "account", row)


def add_project(store: Store, path: str, name: str) -> dict[str, Any]:
    """A project `name` in the domain at `path`, with its project account: ProjectManagerImpl
    .createProject names it "PrjAcct-<name>-<n>" (type PROJECT)."""
    domain = add_domain(store, path)
    for project in store.rows("project", domainid=domain["id"]):
        if project["name"] == name:
            return project
    dbid = next_db_id(store, "project")
    account = _put(
        store,
        "account",
        {
            "id": _fixed_id("project-account", path, name),
            "name": f"PrjAcct-{name}-{dbid}",
            "accounttype": ACCOUNT_PROJECT,
            "domainid": domain["id"],
            "_role": "User",
            "_dbid": next_db_id(store, "account"),
        },
    )
    row = {
        "id": _fixed_id("project", path, name),
        "name": name,
        "displaytext": name,
        "domainid": domain["id"],
        "_account": account["id"],
        "_dbid": dbid,
    }
    return _put(store, "project", row)


# --- list commands -----------------------------------------------------------------------


def _by_dbid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: int(r["_dbid"]))


def _domain_view(store: Store, d: dict[str, Any]) -> dict[str, Any]:
    """DJ.newDomainResponse: path is the pretty path (DJ:83), level the depth, haschild
    whether a domain lies below it."""
    parent = store.get("domain", d["_parent"]) if d["_parent"] else None
    view: dict[str, Any] = {
        "id": d["id"],
        "name": d["name"],
        "level": d["_path"].count("/") - 1,
        "path": pretty_path(d),
        "haschild": any(o["_parent"] == d["id"] for o in store.rows("domain")),
        "state": "Active",
    }
    if parent is not None:
        view.update(parentdomainid=parent["id"], parentdomainname=parent["name"])
    return view


@command("listDomains", list_key="domain")
def list_domains(store: Store, p: P) -> dict[str, Any]:
    """QM.searchForDomainIdsAndCount (QM:2857-2927) for a root admin: `id` (the API layer
    refuses an unknown one), else every domain (`listall` only makes a non-admin's search
    recursive); `name` exact, `level`, `keyword`; ordered by id."""
    rows = _by_dbid(store.rows("domain"))
    if p.get("id") is not None:
        rows = [p.row(store, "domain", "id")]
    if p.get("name") is not None:
        rows = [d for d in rows if d["name"] == p.get("name")]
    level = p.integer("level")
    if level is not None:
        rows = [d for d in rows if d["_path"].count("/") - 1 == level]
    rows = keyword(rows, p)
    return paged(store, p, [_domain_view(store, d) for d in rows], "domain")


def _account_view(store: Store, a: dict[str, Any]) -> dict[str, Any]:
    """AccountJoinDaoImpl.newAccountResponse: name, accounttype, domain fields, role type,
    state."""
    domain = store.get("domain", a["domainid"]) or {}
    return {
        "id": a["id"],
        "name": a["name"],
        "accounttype": a["accounttype"],
        "roletype": a["_role"],
        "domainid": a["domainid"],
        "domain": domain.get("name"),
        "domainpath": pretty_path(domain) if domain else None,
        "state": "enabled",
    }


def _in_domain(
    store: Store, rows: list[dict[str, Any]], domainid: str, recursive: bool
) -> list[dict[str, Any]]:
    ids = set(child_domain_ids(store, domainid)) if recursive else {domainid}
    return [r for r in rows if r["domainid"] in ids]


@command("listAccounts", list_key="account")
def list_accounts(store: Store, p: P) -> dict[str, Any]:
    """QM.searchForAccountIdsAndCount (QM:2960-3060) for a root admin: without `id`,
    `listall=true` lists the accounts of `domainid` (else the caller's domain, ROOT) and
    below; without `listall` and without `domainid` only the caller's own account (admin);
    with `domainid` that domain's (below it with `isrecursive`). The system account and
    project accounts are never listed. `name` exact, `keyword`; ordered by id."""
    rows = [
        a
        for a in _by_dbid(store.rows("account"))
        if a["accounttype"] != ACCOUNT_PROJECT and a["id"] != SYSTEM_ACCOUNT_ID
    ]
    domain = p.row(store, "domain", "domainid", required=False)
    if p.get("id") is not None:
        rows = [a for a in rows if a["id"] == p.get("id")]
        if domain is not None:
            rows = [a for a in rows if a["domainid"] == domain["id"]]
    elif p.boolean("listall"):
        rows = _in_domain(store, rows, domain["id"] if domain else ROOT_DOMAIN_ID, True)
    elif domain is None:
        rows = [a for a in rows if a["id"] == ADMIN_ACCOUNT_ID]
    else:
        rows = _in_domain(store, rows, domain["id"], p.boolean("isrecursive"))
    if p.get("name") is not None:
        rows = [a for a in rows if a["name"] == p.get("name")]
    rows = keyword(rows, p)
    return paged(store, p, [_account_view(store, a) for a in rows], "account")


def _project_view(store: Store, pr: dict[str, Any]) -> dict[str, Any]:
    """ProjectJoinDaoImpl.newProjectResponse: name, displaytext, domain fields, state."""
    domain = store.get("domain", pr["domainid"]) or {}
    return {
        "id": pr["id"],
        "name": pr["name"],
        "displaytext": pr["displaytext"],
        "domainid": pr["domainid"],
        "domain": domain.get("name"),
        "state": "Active",
    }


@command("listProjects", list_key="project")
def list_projects(store: Store, p: P) -> dict[str, Any]:
    """QM.listProjectsInternal (QM:2041-2160) for a root admin: every project, `id`,
    `domainid` (below it with `isrecursive`), `name` exact, `keyword`; ordered by id
    descending (its Filter is "id", false)."""
    rows = _by_dbid(store.rows("project"))[::-1]
    if p.get("id") is not None:
        rows = [r for r in rows if r["id"] == p.get("id")]
    domain = p.row(store, "domain", "domainid", required=False)
    if domain is not None:
        rows = _in_domain(store, rows, domain["id"], p.boolean("isrecursive"))
    if p.get("name") is not None:
        rows = [r for r in rows if r["name"] == p.get("name")]
    rows = keyword(rows, p)
    return paged(store, p, [_project_view(store, r) for r in rows], "project")
