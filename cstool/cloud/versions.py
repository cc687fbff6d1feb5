"""CloudStack versions: which ones cstool supports, and whether a server is new enough for a
command or parameter (the `since` of each in cstool/data/api-spec.json).

A server ignores parameters it does not know (ParamGenericValidationWorker.handle only logs
"Received unknown parameters") and answers 401 to commands it does not know
(ApiServer.verifyRequest), so sending something newer than the server either fails obscurely
or, worse, is silently dropped. cstool refuses it first, with a message that says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cstool import apispec
from cstool.errors import CstoolError

Version = tuple[int, int, int, int]

OLDEST_SUPPORTED = "4.19"
NEWEST_SUPPORTED = "4.22"

_NUMBERS = re.compile(r"^\s*(\d+(?:\.\d+)*)")


def parse(text: str | None) -> Version | None:
    """(major, minor, patch, build) of "4.20", "4.21.0", "4.22.0.0-SNAPSHOT"; None if none."""
    m = _NUMBERS.match(text or "")
    if not m:
        return None
    parts = [int(x) for x in m.group(1).split(".")[:4]]
    padded = (parts + [0, 0, 0, 0])[:4]
    return (padded[0], padded[1], padded[2], padded[3])


def show(version: Version) -> str:
    """4.21.0.0 -> "4.21.0", 4.20.1.0 -> "4.20.1" (how release notes name them)."""
    major, minor, patch, build = version
    return f"{major}.{minor}.{patch}" + (f".{build}" if build else "")


class ServerTooOld(CstoolError):
    """The server's version lacks a command or parameter cstool was about to send."""


def _sent(value: Any) -> bool:
    """Whether the cs client puts this value on the wire (it drops None and empty lists)."""
    return value is not None and not (isinstance(value, list | tuple | set | dict) and not value)


def _base_name(name: str) -> str:
    """details[0].key -> details (map parameters are declared under their base name)."""
    return name.split("[", 1)[0].lower()


def requirements(command: str, params: Mapping[str, Any]) -> list[tuple[str, Version]]:
    """What this call needs: (what, since) for the command and each parameter sent that the
    spec gives a `since`. Commands the spec does not describe need nothing known."""
    spec = apispec.command(command)
    if spec is None:
        return []
    needs: list[tuple[str, Version]] = []
    since = parse(spec.since)
    if since is not None:
        needs.append((f"the command {command}", since))
    for name, value in params.items():
        param = spec.params.get(_base_name(name))
        since = parse(param.since) if param is not None else None
        if since is not None and _sent(value):
            needs.append((f"the parameter {_base_name(name)} of {command}", since))
    return needs


def beyond_oldest(needs: list[tuple[str, Version]]) -> list[tuple[str, Version]]:
    """The needs that some supported version does not meet (only these require asking the
    server its version)."""
    oldest = parse(OLDEST_SUPPORTED)
    assert oldest is not None
    return [(what, since) for what, since in needs if since > oldest]


def check(needs: list[tuple[str, Version]], server: str) -> None:
    """Refuse the first need the server's version does not meet."""
    version = parse(server)
    if version is None:
        what, since = needs[0]
        raise ServerTooOld(
            f"{what} needs CloudStack {show(since)} or newer, and the server did not report "
            f"its version (listCapabilities cloudstackversion={server!r})"
        )
    for what, since in needs:
        if version < since:
            raise ServerTooOld(
                f"{what} needs CloudStack {show(since)} or newer; the server runs {server}",
                hint=f"cstool supports CloudStack {OLDEST_SUPPORTED} to {NEWEST_SUPPORTED}; "
                "upgrade the server or leave out what needs the newer version",
            )
