"""The `details` map of pools, image stores, staging stores and zones, and its two wire forms.

The API layer turns `details[i].f=v` into `{i: {f: v}}` (ParamUnpackWorker); what a command
does with the inner maps differs:

- createStoragePool and updateStoragePool copy every entry of every inner map
  (StorageManagerImpl:1162-1177, extractApiParamAsMap): the **name form**
  `details[0].nfsmountopts=vers=4.1`. The key/value form would make two details named
  `key` and `value`.
- addImageStore (AddImageStoreCmd.getDetails), createSecondaryStagingStore and updateZone
  (ConfigurationManagerImpl:2903-2915) read the inner keys `key` and `value`: the
  **key/value form** `details[0].key=accesskey&details[0].value=...`.

The parameters are written flat, so that a plan shows exactly what goes on the wire. Values
may be secret references (model/secrets.py); the applier resolves them in place. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cstool.model import secrets
from cstool.model import values as v


def parse(value: Any) -> dict[str, Any]:
    """A config's details: name -> text, or a secret reference. A credential-named detail
    (password, secretkey, Swift's key) takes only a reference; the message never holds the
    value."""
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping of detail name to value")
    out: dict[str, Any] = {}
    for name, raw in value.items():
        key = v.text(name)
        if isinstance(raw, Mapping | secrets.SecretRef):
            try:
                out[key] = secrets.parse(raw)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        elif secrets.is_credential_key(key):
            raise ValueError(f"{key}: {secrets.LITERAL_HINT}")
        elif isinstance(raw, list):
            raise ValueError(f"{key}: expected a single value")
        else:
            out[key] = v.setting_value(raw)
    return out


def read(raw: Any) -> dict[str, str]:
    """Details as the server lists them (a map), without credentials (never compared)."""
    if not isinstance(raw, Mapping):
        return {}
    return {
        str(k): v.setting_value(w)
        for k, w in raw.items()
        if not secrets.is_credential_key(str(k)) and not isinstance(w, Mapping | list)
    }


def name_form(details: Mapping[str, Any], param: str = "details") -> dict[str, Any]:
    """`details[0].<name>=<value>` (createStoragePool, updateStoragePool)."""
    return {f"{param}[0].{k}": w for k, w in details.items()}


def key_value_form(details: Mapping[str, Any], param: str = "details") -> dict[str, Any]:
    """`details[i].key=<name>&details[i].value=<value>` (addImageStore,
    createSecondaryStagingStore, updateZone)."""
    out: dict[str, Any] = {}
    for i, (k, w) in enumerate(details.items()):
        out[f"{param}[{i}].key"] = k
        out[f"{param}[{i}].value"] = w
    return out


def to_yaml(details: Mapping[str, Any]) -> dict[str, Any]:
    """How export writes details: references as {env: NAME}."""
    return {k: w.to_yaml() if isinstance(w, secrets.SecretRef) else w for k, w in details.items()}
