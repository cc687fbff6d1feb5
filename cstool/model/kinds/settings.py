"""The settings plane: CloudStack's configuration settings, global and zone-scoped
(listConfigurations / updateConfiguration). The catalog of the settings themselves (scopes,
types, defaults) is cstool.model.settings. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from cstool.model import jsontypes as jt
from cstool.model import settings as catalog
from cstool.model import values as v
from cstool.model.kinds.base import (
    CallT,
    Field,
    Kind,
    Lowering,
    Params,
    Read,
    ResourceLike,
    ResT,
    StateLike,
)


@dataclass(frozen=True)
class _Set:
    """updateConfiguration name=value, the create and the update of a setting (a setting
    always exists); a scoped one also names its parent's id in the `scope` parameter."""

    scope: str | None = None

    def __call__(self, plan: Lowering[ResT, CallT], res: ResT, *_: object) -> list[CallT]:
        params: Params = {"name": res.key.path[-1], "value": res.values["value"]}
        if self.scope:
            params[self.scope] = plan.ref(res.key.parent())
        return [plan.call("updateConfiguration", params)]


def _differs_from_global(res: ResourceLike, live: StateLike) -> bool:
    """A zone-scoped setting worth writing: it overrides the global value (settings.py)."""
    glob = live.get(type(res.key)("setting", (res.key.path[-1],)))
    value = None if glob is None else glob.values.get("value")
    return catalog.export_zone(res.key.path[-1], res.values["value"], value)


ZONE_SCOPE = "zoneid"  # the parameter naming the zone of a zone-scoped setting

# a setting's value is a string in which "" is a value like any other
SETTING_VALUE = Field(
    "value",
    v.setting_value,
    api="value",
    required=True,
    json_type=jt.SETTING,
    from_api=lambda o: v.setting_value(o.get("value")),
    doc="the setting's value (compared as a string)",
)

SETTING = Kind(
    name="setting",
    parent=None,
    container="settings",
    key="name",
    key_parse=v.text,
    style="map",
    phase=0,
    auto_created=True,
    in_zone=False,
    fields=(SETTING_VALUE,),
    read=Read(
        "listConfigurations", "configuration", key_api="name", extra_fields=("defaultvalue",)
    ),
    create="updateConfiguration",
    update="updateConfiguration",
    lower_create=_Set(),
    lower_update=_Set(),
    # the catalog's default, never a Hidden or Secure setting (they cannot be compared)
    export_when=lambda res, live: catalog.export_global(res.key.path[-1], res.values["value"]),
    doc="global settings: name -> value (compared as strings); applied first",
)

ZONE_SETTING = Kind(
    name="zone_setting",
    parent="zone",
    container="settings",
    key="name",
    key_parse=v.text,
    style="map",
    phase=20,
    auto_created=True,
    fields=(SETTING_VALUE,),
    read=Read(
        "listConfigurations", "configuration", key_api="name", per_parent="zoneid", on_demand=True
    ),
    create="updateConfiguration",
    update="updateConfiguration",
    parent_param=ZONE_SCOPE,
    lower_create=_Set(ZONE_SCOPE),
    lower_update=_Set(ZONE_SCOPE),
    export_when=_differs_from_global,
    doc="zone-scoped settings: name -> value",
)

KINDS = (SETTING, ZONE_SETTING)
