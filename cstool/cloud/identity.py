"""Which cloud a target is, and whether it is the one a config or a saved plan names.

A cloud is identified by two facts, each compared when the config (or plan) states it:

- the endpoint's host and port (what the operator points cstool at), and
- the global setting `custom.cs.identifier`: a per-installation value the management server
  stores at its first start (ManagementServerImpl.customCsIdentifier, a ConfigKey whose
  default is a random `UUID.randomUUID().toString().split("-")[0].substring(4)`, persisted
  by ConfigDepotImpl.populateConfiguration), shared by every management server of the cloud
  and listed by listConfigurations. The reader lists every global setting anyway, so knowing
  it costs no call. See docs/targets.md for the options weighed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cstool.errors import CstoolError
from cstool.model.resources import CloudSpec, Key, State

ID_SETTING = "custom.cs.identifier"
DEFAULT_PORTS = {"http": 80, "https": 443}


class OtherCloud(CstoolError):
    hint = (
        "point cstool at the cloud the config describes, or pass --allow-other-cloud "
        "if running it against this one is really intended"
    )


@dataclass(frozen=True)
class Identity:
    """What the target is: its endpoint's host:port and its custom.cs.identifier (None when
    the cloud does not list it, e.g. a recording made without it)."""

    endpoint: str
    host: str
    id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "host": self.host, "id": self.id}

    def __str__(self) -> str:
        return f"{self.host} (id {self.id or 'unknown'})"


def host_of(endpoint: str) -> str:
    """host:port of an endpoint, lower-case, with the scheme's default port made explicit.
    Never the user name or password an endpoint URL may carry."""
    url = urlsplit(endpoint)
    try:
        port = url.port
    except ValueError:
        port = None
    host = (url.hostname or "").lower()
    return f"{host}:{port or DEFAULT_PORTS.get(url.scheme, 0)}"


def observe(endpoint: str, live: State) -> Identity:
    """The identity of the cloud `live` was read from, through `endpoint`."""
    setting = live.get(Key("setting", (ID_SETTING,)))
    value = setting.values.get("value") if setting is not None else None
    url = urlsplit(endpoint)
    shown = f"{url.scheme}://{url.hostname or ''}{f':{url.port}' if _port(url) else ''}{url.path}"
    return Identity(shown, host_of(endpoint), str(value) if value else None)


def _port(url: Any) -> int | None:
    try:
        return int(url.port) if url.port else None
    except ValueError:
        return None


def mismatches(spec: CloudSpec, seen: Identity) -> list[str]:
    """What the config's `cloud:` says that the target is not (empty: it is that cloud)."""
    out = []
    if spec.endpoint is not None and host_of(spec.endpoint) != seen.host:
        out.append(f"endpoint {host_of(spec.endpoint)} (the target is {seen.host})")
    if spec.id is not None:
        if seen.id is None:
            out.append(f"{ID_SETTING} {spec.id} (the target does not list that setting)")
        elif spec.id != seen.id:
            out.append(f"{ID_SETTING} {spec.id} (the target's is {seen.id})")
    return out


def check(spec: CloudSpec | None, seen: Identity, target: str, allow: bool = False) -> None:
    """Refuse a config that names another cloud than the target (unless allowed)."""
    if spec is None or allow:
        return
    wrong = mismatches(spec, seen)
    if wrong:
        where = f" ({spec.origin})" if spec.origin else ""
        raise OtherCloud(
            f"the config describes cloud '{spec.name}'{where}, but the target {target} is "
            f"another cloud: " + "; ".join(wrong)
        )


def check_saved(saved: dict[str, Any] | None, seen: Identity, target: str, allow: bool) -> None:
    """Refuse a saved plan made for another cloud (its recorded identity differs)."""
    if saved is None or allow:
        return
    wrong = []
    if saved.get("host") != seen.host:
        wrong.append(f"it was made for {saved.get('host')}, the target is {seen.host}")
    if saved.get("id") and seen.id and saved["id"] != seen.id:
        wrong.append(f"{ID_SETTING} was {saved['id']}, the target's is {seen.id}")
    elif bool(saved.get("id")) != bool(seen.id):
        wrong.append(f"{ID_SETTING} was {saved.get('id')}, the target's is {seen.id}")
    if wrong:
        raise OtherCloud(
            f"the saved plan was made for another cloud than the target {target}: "
            + "; ".join(wrong)
        )
