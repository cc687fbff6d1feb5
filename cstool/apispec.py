"""The real CloudStack API, as data: parameters, async mode and response keys of the 102
commands cstool uses.

`cstool/data/api-spec.json` was extracted from the management server's Java source,
apache/cloudstack@3d6cafe1936e (4.22.0.0-SNAPSHOT, 2025-10-30): each command's @Parameter fields
(name, CommandType, required, since), its base class (sync, BaseAsyncCmd, BaseAsyncCreateCmd) and
the @SerializedName fields of its response class. It is the truth the simulator and the requests
cstool sends are checked against (`check_request`, `check_response`, `check_job_result`).

Imports nothing of cstool's, so every layer may use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

SOURCE = "apache/cloudstack@3d6cafe1936e"
SOURCE_COMMIT = "3d6cafe1936e"

# Parameters the server reads itself for every command (ApiServer.handleRequest/verifyRequest):
# not @Parameter fields, and among ParamGenericValidationWorker.defaultParamNames, so never
# "unknown". (That list also names ids the server puts into the map itself, e.g. ctxUserId, and
# generic names like id or page, which a command that does not declare them ignores.)
TRANSPORT_PARAMS = frozenset(
    {"command", "apikey", "signature", "signatureversion", "expires", "sessionkey", "response", "_"}
)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MAP_KEY = re.compile(r"^(?P<name>[^\[\].]+)\[(?P<index>\d+)\]\.(?P<key>.+)$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class ParamSpec:
    """One @Parameter of a command."""

    name: str
    type: str  # CommandType: STRING, UUID, BOOLEAN, INTEGER, LONG, LIST, MAP
    required: bool
    since: str | None
    format: str | None = None  # enum, enum-ci, map-named, map-key-value, csv, url, vlan-uri, ...
    format_values: tuple[str, ...] = ()
    format_note: str | None = None
    collection_type: str | None = None  # the item type of a LIST
    length: int | None = None
    validations: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    """One API command: parameters, sync/async mode and the keys its response class has."""

    name: str
    is_async: bool  # extends BaseAsyncCmd: the call answers {jobid}, the result comes by job
    async_create: bool  # extends BaseAsyncCreateCmd: the call answers {jobid, id}
    since: str | None
    params: Mapping[str, ParamSpec]
    response_name: str  # the envelope key, e.g. listzonesresponse
    response_object: str | None  # the object name, e.g. zone; None for SuccessResponse etc.
    response_class: str
    response_keys: frozenset[str]
    response_keys_sync: frozenset[str] | None  # SuccessResponse: keys of the sync answer
    response_keys_job: frozenset[str] | None  # SuccessResponse: keys inside the job result
    initial_response_keys: frozenset[str]  # async: the keys of the immediate answer
    list_key: str | None  # list commands: {"count": n, list_key: [...]}
    paged: bool
    nested_keys: Mapping[str, frozenset[str]]  # keys of nested response objects, by field
    error_keys: frozenset[str]
    raw: Mapping[str, Any]

    @property
    def class_name(self) -> str:
        """The command class, e.g. org.apache.cloudstack.api.command.admin.zone.CreateZoneCmd:
        what AsyncJobResponse.cmd holds (ApiServer.queueCommand stores getClass().getName())."""
        path = str(self.raw["source"]).split("@", 1)[0]
        return path.split("/src/main/java/", 1)[-1].removesuffix(".java").replace("/", ".")


@cache
def spec() -> Mapping[str, Mapping[str, Any]]:
    """The packaged spec as loaded from JSON (read once per process)."""
    text = files("cstool").joinpath("data", "api-spec.json").read_text(encoding="utf-8")
    data: dict[str, Mapping[str, Any]] = json.loads(text)
    return data


def commands() -> tuple[str, ...]:
    """Every command the spec describes, sorted."""
    return tuple(sorted(spec()))


def _param(name: str, raw: Mapping[str, Any]) -> ParamSpec:
    return ParamSpec(
        name=name,
        type=raw["type"],
        required=bool(raw.get("required")),
        since=raw.get("since"),
        format=raw.get("format"),
        format_values=tuple(raw.get("format_values") or ()),
        format_note=raw.get("format_note"),
        collection_type=raw.get("collection_type"),
        length=int(raw["length"]) if raw.get("length") else None,
        validations=tuple(raw.get("validations") or ()),
    )


def _keys(raw: Mapping[str, Any], name: str) -> frozenset[str] | None:
    value = raw.get(name)
    return None if value is None else frozenset(value)


@cache
def _command(name: str) -> CommandSpec | None:
    raw = spec().get(name)
    if raw is None:
        return None
    return CommandSpec(
        name=name,
        is_async=bool(raw["async"]),
        async_create=bool(raw["async_create"]),
        since=raw.get("since"),
        params={p: _param(p, v) for p, v in raw["params"].items()},
        response_name=raw["response_name"],
        response_object=raw.get("response_object"),
        response_class=raw["response_class"],
        response_keys=frozenset(raw["response_keys"]),
        response_keys_sync=_keys(raw, "response_keys_sync"),
        response_keys_job=_keys(raw, "response_keys_job"),
        initial_response_keys=frozenset(raw.get("initial_response_keys") or ()),
        list_key=raw.get("list_key"),
        paged=bool(raw.get("paged")),
        nested_keys={k: frozenset(v) for k, v in (raw.get("nested_keys") or {}).items()},
        error_keys=frozenset(raw["error_keys"]),
        raw=raw,
    )


def command(name: str) -> CommandSpec | None:
    """The spec of one command (API names are case-sensitive), or None when it has none."""
    return _command(name)


# --- requests ----------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    """Numeric parts padded to four, so that "4.20" and "4.20.0" compare equal."""
    parts = tuple(int(part) for part in re.findall(r"\d+", text))[:4]
    return parts + (0,) * (4 - len(parts))


def newer_than(since: str | None, version: str | None) -> bool:
    """True when something added in `since` is missing from a server of `version`."""
    if not since or not version:
        return False
    return _version(since) > _version(version)


def _split(
    params: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, dict[str, dict[str, str]]]]:
    """Plain parameters and map parameters, names lower-cased as the server does.

    ParamUnpackWorker.handle (server/.../api/dispatch/ParamUnpackWorker.java) lower-cases every
    name, and turns `name[i].field=v` into a map {i: {field: v}} under the lower-cased name
    (the field keeps its case). Malformed bracket names are left in the plain dict for
    `_malformed` to report.
    """
    plain: dict[str, str] = {}
    maps: dict[str, dict[str, dict[str, str]]] = {}
    for key, value in params.items():
        m = _MAP_KEY.match(key)
        if m:
            entry = maps.setdefault(m["name"].lower(), {}).setdefault(m["index"], {})
            entry[m["key"]] = value
        else:
            plain[key.lower()] = value
    return plain, maps


def _check_value(command: str, p: ParamSpec, value: str, params: Mapping[str, str]) -> list[str]:
    """What ParamProcessWorker.setFieldValue/validateField and the service make of one value."""
    where = f"{command} {p.name}={value!r}"
    if "NotNullOrEmpty" in p.validations and value == "" and p.type in ("STRING", "UUID"):
        return [f"{where}: empty value (ParamProcessWorker.validateNonEmptyString, 431)"]
    if p.type == "LIST":
        return _check_list(command, p, value)
    problem = _type_problem(p.type, p.since, value)
    if problem:
        return [f"{where}: {problem}"]
    if p.type == "STRING" and len(value) > (p.length or 255):
        return [f"{where}: longer than {p.length or 255} characters (431)"]
    problem = _format_problem(command, p, value, params)
    return [f"{where}: {problem}"] if problem else []


def _type_problem(kind: str, since: str | None, value: str) -> str | None:
    """ParamProcessWorker.setFieldValue per CommandType."""
    if kind == "BOOLEAN" and value.lower() not in ("true", "false"):
        return "not true/false (Boolean.valueOf reads anything else as false)"
    if kind == "INTEGER" and value.strip() != "":  # a blank INTEGER is skipped
        if not _in_range(value, _INT32):
            return "not an INTEGER (Integer.valueOf, 431)"
    if kind == "LONG" and not _in_range(value, _INT64):
        return "not a LONG (Long.valueOf, 431)"
    if kind == "UUID" and not _uuid_ok(value, since):
        return "not a lower-case UUID (translateUuidToInternalId)"
    return None


def _in_range(value: str, bounds: tuple[int, int]) -> bool:
    if not re.fullmatch(r"[+-]?\d+", value):
        return False
    return bounds[0] <= int(value) <= bounds[1]


def _uuid_ok(value: str, since: str | None) -> bool:
    """ParamProcessWorker.translateUuidToInternalId: '-1', a lower-case UUID, or (parameters
    without `since`, older than 3.x) a positive internal id. A non-UUID value of a parameter
    with `since` is silently dropped (the field stays null), so it is a problem too."""
    if value == "-1" or re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value
    ):
        return True
    return not since and _in_range(value, (1, _INT64[1]))


def _check_list(command: str, p: ParamSpec, value: str) -> list[str]:
    """LIST: one string split with StringTokenizer(",") (empty items vanish), each item parsed
    as the collectionType (ParamProcessWorker.setFieldValue)."""
    problems = []
    for item in (t for t in value.split(",") if t):
        problem = _type_problem(p.collection_type or "STRING", p.since, item)
        if problem is None and p.format == "enum" and item not in p.format_values:
            problem = f"not one of {', '.join(p.format_values)} (case-sensitive)"
        if problem:
            problems.append(f"{command} {p.name} item {item!r}: {problem}")
    return problems


def _format_problem(
    command: str, p: ParamSpec, value: str, params: Mapping[str, str]
) -> str | None:
    """The spec's `format` of a STRING: what the service does with the value (format_note)."""
    if p.format == "enum" and value not in p.format_values:
        return f"not one of {', '.join(p.format_values)} (case-sensitive)"
    if p.format == "enum-ci" and value.lower() not in {v.lower() for v in p.format_values}:
        return f"not one of {', '.join(p.format_values)}"
    if p.format == "ignored":
        return "the server ignores this parameter"
    if p.format == "vlan-uri" and not re.fullmatch(r"vlan://(untagged|\d+)", value):
        return "needs vlan://untagged or vlan://<n> (ConfigurationManagerImpl.deletePodIpRange)"
    if p.format == "vlan-range" and not re.fullmatch(r"\d+-\d+", value):
        return "needs <start>-<end> (NetworkServiceImpl.dedicateGuestVlanRange)"
    if p.format == "ipv6-prefix":
        return _ipv6_prefix_problem(value)
    if p.format == "url" and _url_needs_scheme(command, params) and "://" not in value:
        return "needs a scheme, e.g. nfs://host/path (ResourceManagerImpl / StorageManagerImpl)"
    return None


def _ipv6_prefix_problem(value: str) -> str | None:
    """ConfigurationManagerImpl.createDataCenterGuestIpv6Prefix: /64 or shorter."""
    import ipaddress

    try:
        net = ipaddress.IPv6Network(value, strict=False)
    except ValueError:
        return "not an IPv6 prefix (530)"
    return None if net.prefixlen <= 64 else "prefix longer than /64 (431)"


def _url_needs_scheme(command: str, params: Mapping[str, str]) -> bool:
    """addCluster reads url only for ExternalManaged clusters; addHost of hypervisor External
    takes any url (ResourceManagerImpl.discoverCluster / discoverHosts)."""
    lower = {k.lower(): v for k, v in params.items()}
    if command == "addCluster":
        return lower.get("clustertype") == "ExternalManaged"
    if command == "addHost":
        return lower.get("hypervisor", "").lower() != "external"
    return True


def _check_map(command: str, p: ParamSpec, entries: Mapping[str, Mapping[str, str]]) -> list[str]:
    """MAP parameters arrive as name[i].field=value (ParamUnpackWorker.handle)."""
    problems = []
    for index, fields in sorted(entries.items()):
        where = f"{command} {p.name}[{index}]"
        if p.format == "map-key-value" and set(fields) != {"key", "value"}:
            problems.append(
                f"{where}: needs exactly .key and .value (the server reads only those), "
                f"got {', '.join(sorted(fields))}"
            )
        if p.format == "map-named" and set(fields) == {"key", "value"}:
            problems.append(
                f"{where}: sent as .key/.value, which creates the details 'key' and 'value'; "
                f"send {p.name}[0].<detail>=<value>"
            )
    return problems


def _malformed(command: str, key: str) -> str | None:
    """ParamUnpackWorker.handle refuses a name with brackets not of the form name[i].field."""
    if "[" in key or "]" in key:
        return (
            f"{command} {key}: malformed map parameter; use name[index].field=value "
            "(ParamUnpackWorker, MALFORMED_PARAMETER_ERROR)"
        )
    return None


def _name_problems(command: str, params: Mapping[str, str]) -> list[str]:
    """Names the server cannot take apart, or that collide once lower-cased."""
    problems = []
    seen: dict[str, str] = {}
    for key in params:
        if _MAP_KEY.match(key):
            continue
        lowered = key.lower()
        if lowered in seen:
            problems.append(f"{command}: {seen[lowered]} and {key} are the same parameter")
        seen[lowered] = key
        if bad := _malformed(command, key):
            problems.append(bad)
    return problems


def _param_problems(
    command: str,
    p: ParamSpec,
    plain: Mapping[str, str],
    maps: Mapping[str, Mapping[str, Mapping[str, str]]],
    params: Mapping[str, str],
) -> list[str]:
    """One declared parameter: a MAP must come as name[i].field, anything else as a value
    (ParamProcessWorker.setFieldValue cannot put a String into a Map field or the reverse)."""
    name = p.name
    if p.type == "MAP":
        problems = _check_map(command, p, maps.get(name, {}))
        if name in plain:
            problems.append(f"{command} {name}: a MAP parameter needs {name}[i].field=value")
        return problems
    if name in maps:
        return [f"{command} {name}: sent as a map but is a {p.type}"]
    return _check_value(command, p, plain[name], params)


def check_request(command: str, params: Mapping[str, str], version: str | None = None) -> list[str]:
    """Problems the real server would have with this request (empty list: none).

    `params` are the decoded wire parameters (including command, apikey, signature...).
    Names are matched case-insensitively, as ParamUnpackWorker lower-cases them. A parameter the
    command does not declare is only logged by ParamGenericValidationWorker, so the server
    silently ignores it: that is reported, as it is never what the caller meant. With
    `version`, parameters (and commands) newer than that server version are reported too.
    """
    command_spec = _command(command)
    if command_spec is None:
        return [f"unknown command {command!r}"]
    problems: list[str] = []
    if newer_than(command_spec.since, version):
        problems.append(f"{command}: added in {command_spec.since}, the server is {version}")
    problems += _name_problems(command, params)
    plain, maps = _split(params)
    declared = command_spec.params
    for name in sorted(set(plain) | set(maps)):
        if name in TRANSPORT_PARAMS or _malformed(command, name):
            continue
        p = declared.get(name)
        if p is None:
            problems.append(f"{command}: unknown parameter {name!r} (the server ignores it)")
            continue
        if newer_than(p.since, version):
            problems.append(f"{command} {name}: added in {p.since}, the server is {version}")
        problems += _param_problems(command, p, plain, maps, params)
    for name, p in sorted(declared.items()):
        if p.required and name not in plain and name not in maps:
            problems.append(f"{command}: missing required parameter {name!r} (431)")
    return problems


# --- responses ---------------------------------------------------------------------------


def _extra(where: str, obj: Any, allowed: frozenset[str]) -> list[str]:
    """Keys of `obj` that the response class has no field for."""
    if not isinstance(obj, Mapping):
        return [f"{where}: expected an object, got {type(obj).__name__}"]
    extra = sorted(set(obj) - allowed)
    return [f"{where}: key {k!r} is not in the response class" for k in extra]


def _check_object(where: str, c: CommandSpec, obj: Any) -> list[str]:
    """One response object: its keys, and the keys of the nested objects the spec lists."""
    problems = _extra(where, obj, c.response_keys)
    if problems and not isinstance(obj, Mapping):
        return problems
    for field_name, allowed in sorted(c.nested_keys.items()):
        value = obj.get(field_name)
        items = value if isinstance(value, list) else [] if value is None else [value]
        for i, item in enumerate(items):
            problems += _extra(f"{where}.{field_name}[{i}]", item, allowed)
    return problems


def _check_error(where: str, c: CommandSpec, inner: Mapping[str, Any]) -> list[str]:
    return _extra(f"{where} (error)", inner, c.error_keys)


def check_response(command: str, body: Mapping[str, Any]) -> list[str]:
    """Problems with one answer as the server would send it: {response_name: {...}}.

    Sync answers carry the response object (or, for list commands, `count` and the list key);
    async ones carry only the job id (and the new id for BaseAsyncCreateCmd). The job's result is
    checked by `check_job_result`. Errors must have only the error keys.
    """
    c = _command(command)
    if c is None:
        return [f"unknown command {command!r}"]
    if set(body) != {c.response_name}:
        return [f"{command}: envelope {sorted(body)}, expected [{c.response_name!r}]"]
    inner = body[c.response_name]
    if not isinstance(inner, Mapping):
        return [f"{command}: the envelope holds {type(inner).__name__}, not an object"]
    if "errorcode" in inner:
        return _check_error(command, c, inner)
    if c.is_async:
        problems = _extra(command, inner, c.initial_response_keys)
        missing = sorted(c.initial_response_keys - set(inner))
        return problems + [f"{command}: missing {k!r} in the async answer" for k in missing]
    if c.list_key:
        return _check_list_response(command, c, inner)
    if c.response_object:
        problems = _extra(command, inner, frozenset({c.response_object}))
        if c.response_object in inner:
            problems += _check_object(f"{command}.{c.response_object}", c, inner[c.response_object])
        return problems
    return _extra(command, inner, c.response_keys_sync or c.response_keys)


def _check_list_response(command: str, c: CommandSpec, inner: Mapping[str, Any]) -> list[str]:
    """ListResponse: {"count": n, list_key: [...]}, or {} when nothing matched."""
    assert c.list_key is not None
    problems = _extra(command, inner, frozenset({"count", c.list_key}))
    items = inner.get(c.list_key, [])
    if not isinstance(items, list):
        return problems + [f"{command}.{c.list_key}: expected a list"]
    count = inner.get("count", 0)
    if not isinstance(count, int) or isinstance(count, bool):
        problems.append(f"{command}.count: expected an integer, got {count!r}")
    if items and "count" not in inner:
        problems.append(f"{command}: a list answer without 'count'")
    for i, item in enumerate(items):
        problems += _check_object(f"{command}.{c.list_key}[{i}]", c, item)
    return problems


def check_job_result(command: str, job: Mapping[str, Any]) -> list[str]:
    """Problems with a queryAsyncJobResult answer body for a job of `command`.

    The body must have only AsyncJobResponse keys; a finished job's `jobresult` is the command's
    response object under its object name (ResponseObjectTypeAdapter), a SuccessResponse's
    success/details, or an ExceptionResponse when jobstatus is 2.
    """
    c = _command(command)
    query = _command("queryAsyncJobResult")
    if c is None or query is None:
        return [f"unknown command {command!r}"]
    problems = _extra("queryAsyncJobResult", job, query.response_keys)
    result = job.get("jobresult")
    if result is None:
        return problems
    where = f"queryAsyncJobResult({command}).jobresult"
    if job.get("jobstatus") == 2:
        return problems + _extra(f"{where} (error)", result, c.error_keys)
    if c.response_object:
        problems += _extra(where, result, frozenset({c.response_object}))
        if isinstance(result, Mapping) and c.response_object in result:
            problems += _check_object(f"{where}.{c.response_object}", c, result[c.response_object])
        return problems
    return problems + _extra(where, result, c.response_keys_job or c.response_keys)
