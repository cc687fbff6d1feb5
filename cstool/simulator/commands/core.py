"""One handler per CloudStack API command, with CloudStack's own rules and error codes.

Handlers read and change the Store and return the reply inside `<command>response`
(for async commands: the job result). ParamError is always synchronous (HTTP error);
ApiRefusal is an HTTP error for sync and async-create commands and a failed job otherwise.
Never imports cstool.model or cstool.cloud: this is a second description of the API.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cstool.simulator.settings import global_value, zone_value
from cstool.simulator.store import Store, public

# --- errors and parameters ---------------------------------------------------------------

CS_ERROR = {431: 4350, 530: 4250, 531: 4365, 401: 9999, 432: 9999, 430: 9999}


class ApiRefusal(Exception):
    """CloudStack's refusal: code 431 invalid parameter, 530 runtime error, 531 permission."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.cserrorcode = CS_ERROR.get(code, 9999)


class ParamError(ApiRefusal):
    """A parameter problem: reported synchronously even for async commands."""


class P:
    """Request parameters; names are case-insensitive as on the server."""

    def __init__(self, command: str, raw: dict[str, str]) -> None:
        self.command = command
        self.raw = {k.lower(): v for k, v in raw.items()}

    def get(self, name: str, default: Any = None) -> Any:
        value = self.raw.get(name)
        return default if value is None else value

    def has(self, name: str) -> bool:
        return name in self.raw

    def required(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"missing parameter {name}",
            )
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        # Java Boolean.valueOf: "true" in any case is true, anything else false
        value = self.raw.get(name)
        return default if value is None else value.lower() == "true"

    def integer(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"invalid value {value} for parameter {name}",
            ) from None

    def row(self, store: Store, table: str, name: str, required: bool = True) -> Any:
        oid = self.required(name) if required else self.raw.get(name)
        if not oid:
            return None
        row = store.get(table, oid)
        if row is None:
            raise ParamError(
                431,
                f"Unable to execute API command {self.command.lower()} due to "
                f"invalid value. Invalid parameter {name} value={oid} due to "
                "incorrect long value format, or entity does not exist or due to "
                "incorrect parameter annotation for the field in api cmd class.",
            )
        return row

    def items(self, name: str) -> list[str]:
        return [x for x in str(self.raw.get(name) or "").split(",") if x]


Handler = Callable[[Store, P], dict[str, Any]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    mode: str = "sync"  # sync | async | async_create
    list_key: str | None = None


COMMANDS: dict[str, Command] = {}


def command(
    name: str, mode: str = "sync", list_key: str | None = None
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(fn, mode, list_key)
        return fn

    return register


# --- helpers -----------------------------------------------------------------------------


def ipv4(value: str, what: str) -> int:
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        raise ApiRefusal(431, f"Please specify a valid {what}: {value}") from None


def cidr_of(gateway: str, netmask: str) -> ipaddress.IPv4Network:
    ipv4(gateway, "gateway")
    try:
        return ipaddress.IPv4Network(f"{gateway}/{netmask}", strict=False)
    except ValueError:
        raise ApiRefusal(431, f"Please specify a valid netmask: {netmask}") from None


def inside(net: ipaddress.IPv4Network, address: int) -> bool:
    return int(net.network_address) <= address <= int(net.broadcast_address)


def overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def setting(store: Store, name: str, zoneid: str | None = None) -> str:
    """A setting's value as the server's code reads it: the zone's, else the global one, else
    the declared default (settings.py); "" for null."""
    value = zone_value(store, zoneid, name) if zoneid else global_value(store, name)
    return value or ""


def paged(store: Store, p: P, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """CloudStack's list envelope: page/pagesize rules, total count, no key when empty."""
    page, size = p.integer("page"), p.integer("pagesize")
    if size is not None and size != -1 and page is None:
        raise ParamError(431, '"page" parameter is required when "pagesize" is specified')
    if page is not None and size is None:
        raise ParamError(431, '"pagesize" parameter is required when "page" is specified')
    if size == -1 and page is not None:
        raise ParamError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)")
    # a pagesize above the limit is refused by the transport, with the limit read at
    # start-up as BaseListCmd does; without pagesize the list is cut at the limit
    limit = int(setting(store, "default.page.size") or 500)
    total = len(items)
    if size is None:
        size = limit
    if size != -1:
        start = size * ((page or 1) - 1)
        items = items[start : start + size]
    out: dict[str, Any] = {"count": total} if total else {}
    if items:
        out[key] = [public(i) for i in items]
    return out


def filtered(rows: list[dict[str, Any]], p: P, *names: str) -> list[dict[str, Any]]:
    """Rows whose field equals each of these parameters (where given)."""
    for name in names:
        if p.get(name) is not None:
            rows = [r for r in rows if str(r.get(name)) == p.get(name)]
    return rows


def keyword(rows: list[dict[str, Any]], p: P, fieldname: str = "name") -> list[dict[str, Any]]:
    if p.get("keyword"):
        kw = p.get("keyword").lower()
        rows = [r for r in rows if kw in str(r.get(fieldname, "")).lower()]
    return rows


def state_value(value: str | None, what: str = "state") -> str:
    if value not in ("Enabled", "Disabled"):
        raise ApiRefusal(431, f"Unable to resolve {what} '{value}' to a supported state")
    return value


def vlan_value(raw: str | None) -> str:
    text = (raw or "untagged").strip()
    if text.lower().startswith("vlan://"):
        text = text[7:]
    if text.lower() != "untagged" and not text.isdigit():
        raise ApiRefusal(431, f"Invalid vlan: {raw}")
    return text.lower() if not text.isdigit() else str(int(text))


def vlan_ids(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (text or "").split(",")):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b) + 1))
    return out
