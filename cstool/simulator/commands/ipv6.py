"""Guest network IPv6 prefixes of a zone (4.17+).

Legend of the server code cited (apache/cloudstack at 3d6cafe1936e):
CM = ConfigurationManagerImpl, ARH = ApiResponseHelper, AJD = ApiAsyncJobDispatcher.

Rows (`ipv6prefix`): zoneid, prefix (as sent), created, _dbid.

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from cstool.simulator.commands.core import ApiRefusal, P, command
from cstool.simulator.commands.zones import next_db_id
from cstool.simulator.store import Store, public

SLAAC_PREFIX = 64  # Ipv6Service.IPV6_SLAAC_CIDR_NETMASK


def _network(text: str) -> ipaddress.IPv6Network:
    """IPv6Network.fromString: the address masked to the prefix length (host bits dropped).
    What it cannot parse throws IllegalArgumentException, which fails the job with 530
    (AJD:122-124); the library's own message is not copied here."""
    address, slash, length = text.partition("/")
    try:
        if not slash or not length.isdigit():
            raise ValueError(text)
        return ipaddress.IPv6Network(f"{address}/{int(length)}", strict=False)
    except ValueError:
        raise ApiRefusal(530, f"Unable to parse IPv6 prefix {text}") from None


def _view(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """ARH.createDataCenterGuestIpv6PrefixResponse (ARH:1510-1524). The server counts the
    /64 subnets by walking them (Ipv6ServiceImpl.getUsedTotalIpv6SubnetForPrefix); the
    count is 2^(64 - length). The simulator makes no IPv6 networks: none is used."""
    total = 2 ** (SLAAC_PREFIX - _network(row["prefix"]).prefixlen)
    return public(
        {
            "id": row["id"],
            "prefix": row["prefix"],
            "zoneid": row["zoneid"],
            "usedsubnets": 0,
            "availablesubnets": total,
            "totalsubnets": total,
            "created": row["created"],
        }
    )


@command("createGuestNetworkIpv6Prefix", mode="async")
def create_prefix(store: Store, p: P) -> dict[str, Any]:
    """CM.createDataCenterGuestIpv6Prefix (CM:2349-2383): longer than /64 → 431, overlap with
    a prefix of the zone → 431 (both in the job). The job result has no object name
    (CreateGuestNetworkIpv6PrefixCmd never sets one): {"null": {...}}."""
    zone = p.row(store, "zone", "zoneid")
    text = p.required("prefix")
    net = _network(text)
    if net.prefixlen > SLAAC_PREFIX:
        raise ApiRefusal(431, f"IPv6 prefix must be /{SLAAC_PREFIX} or less")
    for other in store.rows("ipv6prefix", zoneid=zone["id"]):
        old = _network(other["prefix"])
        if net.overlaps(old):
            what = f"IPv6 prefix {net.compressed} overlaps with the existing IPv6 prefix"
            raise ApiRefusal(431, f"{what} {old.compressed}")
    row = {
        "zoneid": zone["id"],
        "prefix": text,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "_dbid": next_db_id(store, "ipv6prefix"),
    }
    return {"null": _view(store, store.add("ipv6prefix", row))}


@command("listGuestNetworkIpv6Prefixes", list_key="guestnetworkipv6prefix")
def list_prefixes(store: Store, p: P) -> dict[str, Any]:
    """CM.listDataCenterGuestIpv6Prefixes (CM:2385-2405): by `id` (none when unknown), else
    the zone's (an unknown zone is the API layer's 431), else all. No paging: `count` is
    the whole list (ListGuestNetworkIpv6PrefixesCmd: setResponses(list, list.size()))."""
    rows = sorted(store.rows("ipv6prefix"), key=lambda r: int(r["_dbid"]))
    if p.get("id") is not None:
        rows = [r for r in rows if r["id"] == p.get("id")]
    elif p.get("zoneid") is not None:
        zone = p.row(store, "zone", "zoneid")
        rows = [r for r in rows if r["zoneid"] == zone["id"]]
    items = [_view(store, r) for r in rows]
    return {"count": len(items), "guestnetworkipv6prefix": items} if items else {}


@command("deleteGuestNetworkIpv6Prefix", mode="async")
def delete_prefix(store: Store, p: P) -> dict[str, Any]:
    """CM.deleteDataCenterGuestIpv6Prefix (CM:2407-2421). Its 530 "Prefix subnets are in use"
    cannot happen: the simulator makes no IPv6 networks."""
    row = p.row(store, "ipv6prefix", "id")
    store.remove("ipv6prefix", row["id"])
    return {"success": True}
