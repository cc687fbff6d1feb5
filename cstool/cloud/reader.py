"""Live cloud -> State, with the fewest API calls.

One list call per API command for the whole cloud (kinds that share a command share the
call), then one listTrafficTypes per physical network and one listConfigurations per zone
whose settings are managed; independent calls run concurrently. Values are normalised here,
once, by the same field parsers the loader uses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from cstool.cloud.api import Api
from cstool.errors import ApiError, CstoolError
from cstool.model import owners as owners_of
from cstool.model.kinds import KINDS, Kind, written_gates
from cstool.model.resources import Key, Resource, State

Call = tuple[str, tuple[tuple[str, Any], ...]]
# list calls in flight at once: a plan's reads take about ceil(calls / WORKERS) round trips.
# listTrafficTypes takes one physical network (physicalnetworkid is required,
# ListTrafficTypesCmd), so 50 zones of two networks are 100 calls: 4 rounds, not 7 at 16.
# The API servlet serves concurrent reads; a throttled account (api.throttling.*) is
# answered 429 and waited for (waits.Patient)
WORKERS = 32
# ApiErrorCode.UNSUPPORTED_ACTION_ERROR: ApiServer.handleRequest's answer to an unknown command
UNKNOWN_COMMAND = 432


def _call_of(kind: Kind, parent_id: str | None = None) -> Call:
    params = dict(kind.read.params)
    if kind.read.per_parent and parent_id is not None:
        params[kind.read.per_parent] = parent_id
    return kind.read.command, tuple(sorted(params.items()))


def read_live(
    api: Api,
    zone_settings: Iterable[str] | None = None,
    infra: bool = False,
    infra_zones: Iterable[str] | None = None,
    written: Collection[str] | None = frozenset(),
    owners: bool = False,
) -> State:
    """Read the whole cloud. zone_settings: the zones whose on-demand kinds (scoped settings)
    to read; None reads them for every zone. infra: read the compute and storage kinds
    (Kind.opt_in: clusters, hosts, pools, stores, system VMs) too; a config that models none
    of them reads nothing more than before. infra_zones: the zones whose on-demand opt-in
    kinds (a VMware datacenter) to read; None reads them for every zone. written: the kinds
    managed only where written (Kind.written_opt_in: shared networks, dedications, IPv6
    prefixes) whose container the config writes; only those are listed (None: all of them,
    for export). owners: list the domains, accounts and projects (Kind.reference) a config
    names as owners; they are listed too whenever a kind with an owner field is, so that a
    live owner read by its id is shown by its path and name (owners.resolve).

    Every list call goes out at once (at most WORKERS in flight), and the calls made once per
    parent (listTrafficTypes per physical network) go out as soon as their parents are known,
    not after every other list has answered. Resources are added in the kinds table's order
    whatever order the answers come in, so the State is the same from run to run."""
    kinds = [k for k in KINDS.values() if (infra or not _opt_in(k)) and _written(k, written)]
    if not owners and not any(f.owner for k in kinds for f in k.fields):
        kinds = [k for k in kinds if not k.reference]
    # a written kind the server does not know is an error; export (None) writes none of it
    asked = frozenset() if written is None else frozenset(written)
    global_kinds = [k for k in kinds if not k.read.per_parent]
    calls = sorted({_call_of(k) for k in global_kinds if k.read.explode is None})
    # a call only kinds of a newer server or a plugin make (listGuestNetworkIpv6Prefixes,
    # listDedicatedZones) is answered 432 by a server without them: it holds none
    tolerant = {c for c in calls if all(_tolerant(k) for k in global_kinds if _call_of(k) == c)}
    unknown: set[str] = set()  # the tolerant commands the server answered 432
    state: State = State()
    ids: dict[tuple[str, str], Key] = {}
    jobs: list[tuple[str, Call, str | None]] = []
    later: list[Future[list[dict[str, Any]]]] = []
    with ThreadPoolExecutor(WORKERS) as pool:
        pending = {
            (
                pool.submit(_plugin_list, api, c[0], unknown, **dict(c[1]))
                if c in tolerant
                else pool.submit(_list, api, c[0], **dict(c[1]))
            ): c
            for c in calls
        }
        answers: dict[Call, list[dict[str, Any]]] = {}
        built = 0  # global kinds added so far, in table order
        while built < len(global_kinds):
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                answers[pending.pop(future)] = future.result()
            while built < len(global_kinds) and _answered(global_kinds[built], answers):
                kind = global_kinds[built]
                _add_kind(kind, _items(kind, answers), state, ids)
                built += 1
                for job in _per_parent_calls(kind, kinds, state, zone_settings, infra_zones):
                    jobs.append(job)
                    command, params = job[1][0], dict(job[1][1])
                    later.append(
                        pool.submit(_plugin_list, api, command, unknown, **params)
                        if _tolerant(KINDS[job[0]])
                        else pool.submit(_list, api, command, **params)
                    )
        per_parent = [f.result() for f in later]
    rank = {name: n for n, name in enumerate(KINDS)}  # added in the table's order, as ever
    answered = sorted(zip(jobs, per_parent, strict=True), key=lambda j: rank[j[0][0]])
    for (kind_name, _call, parent_uuid), items in answered:
        _add_kind(KINDS[kind_name], [dict(i, _parent=parent_uuid) for i in items], state, ids)
    _refuse_unknown([k for k in kinds if k.name in asked and k.written_opt_in], unknown)
    return owners_of.resolve(state)


def _list(api: Api, command: str, **params: Any) -> list[dict[str, Any]]:
    return api.list(command, **params)


def _plugin_list(
    api: Api, command: str, unknown: set[str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    """A list command of a plugin (listVmwareDcs, listDedicatedZones) or of a newer server
    (listGuestNetworkIpv6Prefixes, 4.17): a server without it answers 432, the code ApiServer
    gives a command it does not know, and then holds none (noted in `unknown`)."""
    try:
        return api.list(command, **params)
    except ApiError as exc:
        if exc.code == UNKNOWN_COMMAND:
            if unknown is not None:
                unknown.add(command)  # set.add is atomic: the pool's threads share it
            return []
        raise


def _refuse_unknown(written: Iterable[Kind], unknown: Collection[str]) -> None:
    """Refuse a config that writes a kind whose list command the server does not know: each
    of its creates would be refused the same way, after other changes were made."""
    for kind in written:
        if kind.read.command in unknown:
            said = kind.read.missing or f"this cloud does not know {kind.read.command}"
            raise CstoolError(
                f"{said}: the config writes {kind.container} (the server answers "
                f"{kind.read.command} with {UNKNOWN_COMMAND}, an unknown command)",
                hint=f"leave {kind.container} out of the config for this cloud",
            )


def _written(kind: Kind, written: Collection[str] | None) -> bool:
    """Whether a kind is read: one managed only where written (itself or an ancestor) only
    when some entry writes its container, or for export (None)."""
    return written is None or written_gates(kind.name) <= set(written)


def _tolerant(kind: Kind) -> bool:
    """Whether a kind's list command may be unknown to the server (432: it holds none): a
    hypervisor plugin's (opt-in, listVmwareDcs), or a kind managed only where written (a
    plugin's listDedicatedZones, 4.17's listGuestNetworkIpv6Prefixes)."""
    return _opt_in(kind) or kind.written_opt_in


def _answered(kind: Kind, answers: Mapping[Call, list[dict[str, Any]]]) -> bool:
    """Whether the list call a kind is built from has answered."""
    source = KINDS[kind.parent or ""] if kind.read.explode is not None else kind
    return _call_of(source) in answers


def _items(kind: Kind, answers: Mapping[Call, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if kind.read.explode is not None:
        parents = answers[_call_of(KINDS[kind.parent or ""])]
        return [row for p in parents for row in kind.read.explode(p)]
    return answers[_call_of(kind)]


def _opt_in(kind: Kind) -> bool:
    """Whether a kind is read only when the config opts in (itself or an ancestor)."""
    while True:
        if kind.opt_in:
            return True
        if kind.parent is None:
            return False
        kind = KINDS[kind.parent]


def _per_parent_calls(
    parent: Kind,
    kinds: Iterable[Kind],
    state: State,
    zones: Iterable[str] | None,
    infra_zones: Iterable[str] | None,
) -> list[tuple[str, Call, str | None]]:
    """(kind, call, parent uuid) for the kinds listed once per resource of `parent`."""
    wanted = None if zones is None else set(zones)
    wanted_infra = None if infra_zones is None else set(infra_zones)
    out = []
    for kind in kinds:
        if not kind.read.per_parent or kind.parent != parent.name:
            continue
        only = wanted_infra if _opt_in(kind) else wanted
        for each in state.of_kind(parent.name):
            if kind.read.on_demand and only is not None and each.key.path[0] not in only:
                continue
            out.append((kind.name, _call_of(kind, each.uuid), each.uuid))
    return out


def _add_kind(
    kind: Kind, items: list[dict[str, Any]], state: State, ids: dict[tuple[str, str], Key]
) -> None:
    """Turn list items into Resources under their parents (found by id)."""
    read = kind.read
    for item in items:
        if not isinstance(item, Mapping):  # a broken server or proxy, never CloudStack
            raise CstoolError(
                f"{read.command} answered an item that is not an object: {str(item)[:60]!r}",
                hint="check that the endpoint is the CloudStack API and not a proxy in front",
            )
        if read.accept is not None and not read.accept(item):
            continue
        parent_path: tuple[str, ...] = ()
        if kind.parent is not None:
            parent_uuid = item.get("_parent") or item.get(read.parent_id or "")
            parent_key = ids.get((kind.parent, str(parent_uuid)))
            if parent_key is None:
                continue  # under something we do not manage (or a half-deleted parent)
            if read.parent_accept is not None and not read.parent_accept(state[parent_key]):
                continue
            parent_path = parent_key.path
        try:
            ident = kind.key_parse(read.key_from(item) if read.key_from else item[read.key_api])
            values = {f.name: f.read(item) for f in kind.fields}
        except (KeyError, ValueError):
            continue  # e.g. a Control traffic type: not something cstool manages
        uuid = item.get("id")
        extra = {k: item[k] for k in read.extra_fields if k in item}
        key = Key(kind.name, (*parent_path, str(ident)))
        kept = state.get(key)
        if kept is not None and uuid is not None and kept.uuid not in (None, str(uuid)):
            # a second live object with the same identity (two applies at once, a create
            # retried after a lost reply): both are kept, the first under the identity
            state.duplicates.setdefault(key, [str(kept.uuid)]).append(str(uuid))
            key = Key(kind.name, (*parent_path, duplicate_name(str(ident), str(uuid), kept)))
        res = Resource(
            key,
            values,
            uuid=str(uuid) if uuid is not None else None,
            extra=extra,
            order=len(state),
        )
        state.add(res)
        if uuid is not None:
            ids[(kind.name, str(uuid))] = res.key


def duplicate_name(ident: str, uuid: str, kept: Resource) -> str:
    """The name an extra object of a duplicated identity is kept under: it says what it is,
    with both ids, wherever it is shown (plan, drift, prune)."""
    return f"{ident} (duplicate id {uuid} of {kept.uuid})"
