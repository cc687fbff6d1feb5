"""Settings and capabilities (networks and offerings: networks.py).

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

# Server sources cited by line, at apache/cloudstack 3d6cafe1936e: RM ResourceManagerImpl,
# SM StorageManagerImpl, CM ConfigurationManagerImpl, PL CloudStackPrimaryDataStoreLifeCycleImpl,
# MV tools/marvin/marvin/deployDataCenter.py.
import re
from typing import Any

from cstool.simulator.commands.core import (
    ApiRefusal,
    P,
    command,
    paged,
)
from cstool.simulator.settings import (
    RESTRICTED,
    SCOPE_PARAMS,
    Declared,
    declared,
    encrypted,
    global_value,
    ip_refusal,
    java_text,
    range_refusal,
    type_ok,
    zone_value,
)
from cstool.simulator.store import Store, public

# --- settings ------------------------------------------------------------------------------

# an empty store answers every lookup with "entity does not exist": the simulator has no
# accounts, domains or image-store settings, so an id of one names nothing
_NOTHING = Store()
# the scopes whose objects the simulator keeps, and their tables
_SCOPE_TABLES = {"zone": "zone", "cluster": "cluster", "storagepool": "storagepool"}
# ConfigurationManagerImpl.updateConfiguration (CM:783-803): two cluster settings are stored
# in cluster_details under other names
_CLUSTER_DETAIL_NAMES = {
    "cpu.overprovisioning.factor": "cpuOvercommitRatio",
    "mem.overprovisioning.factor": "memoryOvercommitRatio",
}


def _scope(store: Store, p: P, params: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The scope asked for and its object. Each id is resolved first (ParamProcessWorker: an
    unknown id is 431 before the command runs); then more than one is refused (431)."""
    found = []
    for param, scope in params.items():
        if p.get(param):
            table = _SCOPE_TABLES.get(scope)
            source = store if table else _NOTHING
            found.append((scope, p.row(source, table or "zone", param)))
    if len(found) > 1:
        raise ApiRefusal(
            431, "cannot handle multiple IDs, provide only one ID corresponding to the scope"
        )
    return found[0] if found else None


def _detail_name(scope: str, name: str) -> str:
    """The detail a scoped setting is stored as (CM:783-803 renames two cluster settings)."""
    return _CLUSTER_DETAIL_NAMES.get(name.lower(), name) if scope == "cluster" else name


def _details_of(scope: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """The details map a cluster (cluster_details, kept by commands/compute.py as `_details`;
    listClusters shows it as `resourcedetails`, ApiResponseHelper.createClusterResponse) or a
    pool (storage_pool_details, kept by commands/storage.py as `_details`) keeps its settings
    in (ConfigurationManagerImpl.updateConfiguration: _clusterDetailsDao.persist/update,
    _storagePoolDetailsDao.addDetail)."""
    _kind, row = scope
    details = row.get("_details")
    if not isinstance(details, dict):
        details = row["_details"] = {}
    return details


def _scoped_value(store: Store, scope: tuple[str, dict[str, Any]], name: str) -> str | None:
    """ConfigKey.valueInScope: the scope's stored value, else the global one."""
    if scope[0] == "zone":
        return zone_value(store, scope[1]["id"], name)
    value = _details_of(scope).get(_detail_name(scope[0], name))
    return global_value(store, name) if value is None else str(value)


def _view(
    setting: Declared, value: str | None, scope: str | None, encrypt: bool = True
) -> dict[str, Any]:
    """ApiResponseHelper.createConfigurationResponse: an encrypted setting (Hidden, Secure)
    shows its value encrypted; `type` is getConfigurationType's; null fields are left out."""
    view = {
        "category": setting.category,
        "component": setting.component,
        "defaultvalue": setting.default,
        "description": setting.description,
        "displaytext": setting.displaytext,
        "isdynamic": setting.dynamic,
        "name": setting.name,
        "options": setting.options,
        "parent": setting.parent,
        "scope": scope,
        "type": setting.api_type,
        "value": encrypted(value) if setting.encrypted and encrypt else value,
    }
    return public(view)


def _like(pattern: str, text: str | None) -> bool:
    """SQL LIKE '%pattern%' (SearchCriteria.Op.LIKE, no escaping: % and _ are wildcards) under
    the configuration table's case-insensitive collation (DEFAULT CHARSET=utf8)."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return text is not None and re.search(regex, text, re.IGNORECASE | re.DOTALL) is not None


def _keyword(setting: Declared, stored: str | None, word: str) -> bool:
    """searchForConfigurations' keyword: LIKE on name, instance ("DEFAULT" for every row),
    component, description, category and the stored value (encrypted ones are stored
    encrypted)."""
    value = encrypted(stored) if setting.encrypted else stored
    fields = (setting.name, "DEFAULT", setting.component or "", setting.description)
    return any(_like(word, f) for f in (*fields, setting.category, value))


@command("listConfigurations", list_key="configuration")
def list_configurations(store: Store, p: P) -> dict[str, Any]:
    # ManagementServerImpl.searchForConfigurations + ListCfgsByCmd.execute
    scope = _scope(store, p, SCOPE_PARAMS)
    rows = []
    for setting in declared().values():  # ordered by name
        if setting.hidden:  # "hidden configurations are not displayed using the search API"
            continue
        if scope is not None and (scope[0] not in setting.scopes or not setting.config_key):
            continue  # scope & bit: only settings having that scope (and a ConfigKey)
        stored = global_value(store, setting.name)
        if p.get("keyword") and not _keyword(setting, stored, p.get("keyword")):
            continue
        if p.get("name") and not _like(p.get("name"), setting.name):
            continue  # name LIKE %name%: a substring, not an exact name
        if p.get("category") and p.get("category").lower() != setting.category.lower():
            continue
        if p.get("parent") and p.get("parent").lower() != (setting.parent or "").lower():
            continue
        if scope is not None:
            # key.valueInScope(scope, id).toString(): the scoped value else the global one,
            # through ConfigKey.valueOf; ListCfgsByCmd.setScope names the scope
            stored = java_text(setting, _scoped_value(store, scope, setting.name))
        rows.append(_view(setting, stored, scope and scope[0]))
    return _page(store, p, rows, scoped=scope is not None)


def _page(store: Store, p: P, rows: list[dict[str, Any]], scoped: bool) -> dict[str, Any]:
    """The list envelope. Without pagesize ListCfgsByCmd.getPageSizeVal pages by 500 (not by
    default.page.size); for a scope the count is that of the page searchForConfigurations
    returns (configVOList.size()), not of all matches."""
    out: dict[str, Any]
    if p.get("page") is None and p.get("pagesize") is None:
        out = {"count": len(rows), "configuration": rows[:500]} if rows else {}
    else:
        out = paged(store, p, rows, "configuration")
    if scoped and out:
        page = out.get("configuration", [])
        out = {"count": len(page), "configuration": page} if page else {}
    return out


def _refusal(store: Store, setting: Declared, value: str | None, scope: str | None) -> None:
    """ConfigurationManagerImpl.validateConfigurationValue: scope, type, then range."""
    if scope is not None and scope not in setting.scopes:
        raise ApiRefusal(431, f"Invalid scope id provided for the parameter {setting.name}")
    if not type_ok(value, setting.check_type):
        java = f"class java.lang.{setting.check_type}"
        shown = "null" if value is None else value  # String.format of a null
        raise ApiRefusal(431, f"Value [{shown}] is not a valid [{java}].")
    message = range_refusal(store, setting, value) or ip_refusal(setting, value)
    if message:
        raise ApiRefusal(431, message)


def _declared_or_refuse(name: str) -> Declared:
    setting = declared().get(name)
    if setting is None:  # _configDao.findByName and _configDepot.get both miss
        raise ApiRefusal(431, f"Config parameter with name {name} doesn't exist")
    return setting


@command("updateConfiguration")
def update_configuration(store: Store, p: P) -> dict[str, Any]:
    # UpdateCfgCmd.execute, ConfigurationManagerImpl.updateConfiguration(UpdateCfgCmd) and
    # updateConfiguration(userId, name, category, value, scope, resourceId), in their order
    name = p.required("name")
    scope = _scope(store, p, SCOPE_PARAMS)
    if name.lower() in RESTRICTED:
        raise ApiRefusal(431, "Restricted configuration update not allowed")
    setting = _declared_or_refuse(name)
    raw = p.get("value")
    message = ip_refusal(setting, raw)  # validateIpAddressRelatedConfigValues, raw value
    if message:
        raise ApiRefusal(431, message)
    if name == "cloud.kubernetes.etcd.node.start.port" and raw == "2222":
        # validateConflictingConfigValue (CLUSTER_NODES_DEFAULT_START_SSH_PORT)
        raise ApiRefusal(
            431,
            "This range is reserved for Kubernetes cluster nodes.Please choose a value in a "
            "higher range would does not conflict with a kubernetes cluster deployed",
        )
    scope_name = scope and scope[0]
    if raw is None:  # no value: the global row as it is, before any scope check
        return {"configuration": _view(setting, None, scope_name)}
    value: str | None = raw.strip()
    if value in ("", "null"):
        value = None if scope is None else ""
    if setting.check_type == "Boolean":
        if value is None:  # value.toLowerCase() on null: an unhandled NullPointerException
            raise ApiRefusal(530, 'Cannot invoke "String.toLowerCase()" because "value" is null')
        value = value.lower()
    _refusal(store, setting, value, scope_name)
    if scope is not None and scope[0] == "zone":  # Zone: _dcDetailsDao.addDetail
        zoneid = scope[1]["id"]
        row = {"id": f"{zoneid}/{name}", "zoneid": zoneid, "name": name, "value": value}
        store.add("zoneconfig", row)
    elif scope is not None:  # Cluster: cluster_details; StoragePool: storage_pool_details
        _details_of(scope)[_detail_name(scope[0], name)] = value
        store.touch()
    else:
        store.add("globalconfig", {"id": name, "name": name, "value": value})
    # setResponseValue: the value parameter as sent, encrypted for Hidden and Secure
    return {"configuration": _view(setting, raw, scope_name)}


@command("resetConfiguration")
def reset_configuration(store: Store, p: P) -> dict[str, Any]:
    # ResetCfgCmd.execute and ConfigurationManagerImpl.resetConfiguration
    name = p.required("name")
    params = {k: v for k, v in SCOPE_PARAMS.items() if k != "imagestoreuuid"}
    scope = _scope(store, p, {**params, "imagestoreid": "imagestore"})
    setting = _declared_or_refuse(name)
    if scope is not None and scope[0] not in setting.scopes:
        raise ApiRefusal(431, f"Invalid scope id provided for the parameter {name}")
    if scope is not None and scope[0] == "zone":  # _dcDetailsDao.removeDetail
        store.remove("zoneconfig", f"{scope[1]['id']}/{name}")
        label = "Zone"  # ConfigKey.Scope.Zone.name(), unlike listConfigurations' "zone"
    elif scope is not None:  # _clusterDetailsDao / _storagePoolDetailsDao .removeDetail
        _details_of(scope).pop(_detail_name(scope[0], name), None)
        store.touch()
        label = {"cluster": "Cluster", "storagepool": "StoragePool"}.get(scope[0], scope[0])
    else:  # _configDao.update(name, category, defaultValue)
        store.remove("globalconfig", name)
        label = None
    # the response carries the new value as it is (response.setValue(cfg.second()))
    return {"configuration": _view(setting, global_value(store, name), label, encrypt=False)}


# --- capabilities -------------------------------------------------------------------------


@command("listCapabilities")
def list_capabilities(store: Store, p: P) -> dict[str, Any]:
    return {
        "capability": {
            "cloudstackversion": "4.19.0.0-cstool-simulator",
            "securitygroupsenabled": True,
            "userpublictemplateenabled": True,
            "supportELB": "false",
            "projectinviterequired": False,
            "allowusercreateprojects": True,
            "customdiskofferingminsize": 1,
            "customdiskofferingmaxsize": 1024,
            "regionsecondaryenabled": False,
            "kvmsnapshotenabled": False,
            "apilimitinterval": 1,
            "apilimitmax": 0,
            "allowuserviewdestroyedvm": False,
            "dynamicrolesenabled": True,
            "allowuserexpungerecovervm": False,
            "allowuserexpungerecovervolume": True,
            "allowuserviewalldomainaccounts": False,
        }
    }
