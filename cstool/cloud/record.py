"""Record API exchanges to a readable YAML file and replay them with `responses`.

Never stored: apiKey, signature, signatureVersion, expires and the session key (dropped), the
values of parameters and response fields named like credentials (password, secretkey, token,
...: see wire.py), the target's own key and secret wherever they appear, and the password
of any scheme://user:password@ URL. Everything else is kept exactly as sent and answered:
redaction goes by name and by known value, never by a value's shape. The endpoint host is
kept only when asked (and never its password).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import responses
import yaml
from requests.adapters import BaseAdapter

from cstool import __version__
from cstool.cloud.api import Api
from cstool.cloud.wire import (
    REDACTED,
    REPLAY_ENDPOINT,
    is_credential_name,
    request_params,
    without_url_passwords,
)
from cstool.errors import CstoolError, redact_data
from cstool.model.secrets import is_credential_key

__all__ = [
    "REDACTED",
    "REPLAY_ENDPOINT",
    "Recording",
    "Replay",
    "note_cloudstack_version",
    "request_params",
    "start_recording",
]

# A known secret shorter than this is redacted only where it is a whole value: a substring
# that short would blank out ordinary words (a test rig's key "key").
MIN_SECRET_IN_TEXT = 8


def _without_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """The text with every known secret value (the target's key and secret) redacted."""
    for secret in secrets:
        if text == secret:
            return REDACTED
        if len(secret) >= MIN_SECRET_IN_TEXT and secret in text:
            text = text.replace(secret, REDACTED)
    return text


# answer fields that hold a URL: a password in one of them (rbd://user:pw@host) is redacted;
# anywhere else (a setting's description, say) the text is kept as the server wrote it
URL_FIELDS = frozenset({"url", "uri", "endpoint", "path", "value"})


def _scrub_field(name: str, value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str) and is_credential_name(name):
        return REDACTED
    if isinstance(value, list) and name.lower().endswith("details"):
        return [_scrub_pair(v, secrets) for v in value]
    if isinstance(value, str) and name.lower() in URL_FIELDS:
        return without_url_passwords(_without_secrets(value, secrets))
    return _scrub(value, secrets)


def _scrub_pair(entry: Any, secrets: tuple[str, ...]) -> Any:
    """One entry of a details list in an answer ({name|key, value}, e.g. an image store's
    ImageStoreDetailResponse): its value is redacted when its name is a credential's."""
    if isinstance(entry, Mapping) and "value" in entry:
        named = entry.get("name", entry.get("key"))
        if isinstance(named, str) and is_credential_key(named):  # Swift's `key` too
            return {**_scrub(entry, secrets), "value": REDACTED}
    return _scrub(entry, secrets)


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """Drop credentials from a response body or parameters: fields named like credentials,
    known secret values, URL passwords. Every other value is kept as it is."""
    if isinstance(value, Mapping):
        return {k: _scrub_field(str(k), v, secrets) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return _without_secrets(value, secrets)
    return value


@dataclass
class Recording:
    """Exchanges in the order they happened, and a header."""

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    header: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, command: str, params: Mapping[str, str], status: int, body: Any) -> None:
        with self.lock:
            self.exchanges.append(
                {"command": command, "params": dict(params), "status": status, "body": body}
            )

    def dump(self) -> str:
        # errors.redact_data: the run's secrets and signed URLs quoted in an answer's text
        header = redact_data(self.header)
        head = "".join(f"# {k}: {v}\n" for k, v in header.items())
        doc = {"cstool_recording": 1, **header, "exchanges": redact_data(self.exchanges)}
        return head + yaml.safe_dump(
            doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.dump())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Recording:
        """A recording read back; anything else is a CstoolError naming the file, line and
        column (a file that is not a recording, an exchange of the wrong shape, a value JSON
        cannot hold, or a document that nests or expands past the limits)."""
        text = _read_recording(path)
        node, data = _parse_recording(text, path)
        if not isinstance(data, dict) or data.get("cstool_recording") != 1:
            raise CstoolError(
                f"{path}: not a cstool recording (no 'cstool_recording: 1' at the top)",
                hint=RECORDING_HINT,
            )
        try:
            exchanges = _exchanges(data.get("exchanges"), _Budget(len(text)))
        except _BadRecording as bad:
            raise CstoolError(
                f"{_locate(path, node, bad.at)}: {bad}", hint=RECORDING_HINT
            ) from None
        header = {k: v for k, v in data.items() if k not in ("cstool_recording", "exchanges")}
        return cls(exchanges, header)


# --- reading a recording back: every shape checked, every problem located ------------------

MAX_RECORDING_BYTES = 256 * 1024 * 1024  # a 200-zone apply records a few MiB
MAX_RECORDING_DEPTH = 100  # nesting levels of one answer (CloudStack's need fewer than ten)
EXTRA_NODES = 10_000  # values allowed beyond one per character, before aliases are refused
RECORDING_HINT = "record it again with --record, or fix the recording at that place"
EXCHANGE_KEYS = ("command", "params", "status", "body")
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Where = tuple[str | int, ...]


class _BadRecording(Exception):
    """A value of the wrong shape at `at` (a path of keys and indexes from the top)."""

    def __init__(self, at: _Where, message: str) -> None:
        super().__init__(message)
        self.at = at


def _read_recording(path: Path) -> str:
    """The text of a recording file: a regular file only (a FIFO never blocks), bounded."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise CstoolError(f"{path}: cannot read the recording: not a regular file")
        if info.st_size > MAX_RECORDING_BYTES:
            raise CstoolError(
                f"{path}: cannot read the recording: {info.st_size:,} bytes, over the limit "
                f"of {MAX_RECORDING_BYTES:,}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CstoolError(f"{path}: cannot read the recording: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CstoolError(
            f"{path}:{line}: not a cstool recording: byte 0x{data[exc.start]:02x} at byte "
            f"offset {exc.start} is not UTF-8 (cstool writes recordings in UTF-8)"
        ) from None


def _parse_recording(text: str, path: Path) -> tuple[Any, Any]:
    """The node tree (for positions) and the data of a recording's YAML document."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        message = ", ".join(m for m in (exc.context, exc.problem) if m)
        raise CstoolError(f"{where}: not a cstool recording: YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise CstoolError(f"{path}: not a cstool recording: YAML: {exc}") from None
    except RecursionError:  # the constructor nests by recursion
        raise CstoolError(
            f"{path}: not a cstool recording: nested deeper than {MAX_RECORDING_DEPTH} levels"
        ) from None
    finally:
        loader.dispose()


def _locate(path: Path, node: Any, at: _Where) -> str:
    """file:line:col of the value at `at`, as deep as the node tree leads (aliases: where
    the anchor was written)."""
    for key in at:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if getattr(k, "value", None) == str(key)]
            if not found:
                break
            node = found[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key]
        else:
            break
    if node is None:
        return str(path)
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number"}
    names.update({float: "a number", bytes: "binary data", set: "a set"})
    return "nothing" if value is None else names.get(type(value), f"a {type(value).__name__}")


@dataclass
class _Budget:
    """Values a recording may hold once aliases are expanded: one per character written
    and a margin. An alias-free document stays far below; a "billion laughs" one is
    refused after a few thousand steps instead of expanding when replayed."""

    characters: int
    used: int = 0

    def spent(self) -> bool:
        """Count one value; True once the recording holds more than its size allows."""
        self.used += 1
        return self.used > self.characters + EXTRA_NODES


def _exchanges(raw: Any, budget: _Budget) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _BadRecording(("exchanges",), f"exchanges: expected a list, not {_kind(raw)}")
    return [_exchange(item, ("exchanges", i), budget) for i, item in enumerate(raw)]


def _exchange(item: Any, at: _Where, budget: _Budget) -> dict[str, Any]:
    """One exchange as Replay uses it: command, params (text), status, body (JSON)."""
    what = f"exchange {int(at[-1]) + 1}"
    if not isinstance(item, dict):
        raise _BadRecording(at, f"{what}: expected a mapping, not {_kind(item)}")
    for key in item:
        if key not in EXCHANGE_KEYS:
            raise _BadRecording(
                (*at, key),
                f"{what}: unknown key {key!r} (an exchange has {', '.join(EXCHANGE_KEYS)})",
            )
    for key in EXCHANGE_KEYS:
        if key not in item and key != "params":
            raise _BadRecording(at, f"{what}: missing {key!r}")
    command = item["command"]
    if not isinstance(command, str) or not command.strip():
        raise _BadRecording((*at, "command"), f"{what}: command: expected a command name")
    what = f"{what} ({command})"
    status = item["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _BadRecording(
            (*at, "status"), f"{what}: status: expected an HTTP status 100-599, not {status!r}"
        )
    return {
        "command": command,
        "params": _params(item.get("params"), (*at, "params"), what),
        "status": status,
        "body": _json(item["body"], (*at, "body"), what, budget),
    }


def _params(raw: Any, at: _Where, what: str) -> dict[str, str]:
    """Request parameters: names and single values (cstool records them as text)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _BadRecording(at, f"{what}: params: expected a mapping, not {_kind(raw)}")
    out = {}
    for name, value in raw.items():
        if not isinstance(name, str) or isinstance(value, bool) or value is None:
            raise _BadRecording((*at, str(name)), f"{what}: params: {name!r}: expected text")
        if not isinstance(value, str | int | float):
            raise _BadRecording(
                (*at, name), f"{what}: params: {name}: expected text, not {_kind(value)}"
            )
        out[name] = value if isinstance(value, str) else str(value)
    return out


_JSON_SCALARS = (str, int, float, bool, type(None))


def _json(body: Any, at: _Where, what: str, budget: _Budget) -> Any:
    """The body as it was answered: JSON values only (a YAML date, binary or set is not
    one), nested at most MAX_RECORDING_DEPTH deep; walked without recursion."""
    stack: list[tuple[Any, _Where]] = [(body, at)]
    while stack:
        value, where = stack.pop()
        if budget.spent():
            raise _BadRecording(
                where, f"{what}: body: aliases expand the recording far past its size; refused"
            )
        if len(where) - len(at) > MAX_RECORDING_DEPTH:
            raise _BadRecording(where, f"{what}: body nested deeper than {MAX_RECORDING_DEPTH}")
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, _JSON_SCALARS):
                    raise _BadRecording(where, f"{what}: body: a key JSON cannot hold: {key!r}")
                stack.append((child, (*where, str(key))))
        elif isinstance(value, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(value))
        elif not isinstance(value, _JSON_SCALARS):
            raise _BadRecording(
                where,
                f"{what}: body: {_kind(value)} is not a JSON value (quote it to keep it text)",
            )
    return body


class RecordingAdapter(BaseAdapter):
    """Wraps the adapter that really sends, and writes down every exchange."""

    def __init__(self, inner: BaseAdapter, recording: Recording, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.inner = inner
        self.recording = recording
        self.secrets = tuple(s for s in secrets if s)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = self.inner.send(request, **kwargs)
        params = _scrub(request_params(request), self.secrets)
        try:
            data: Any = response.json()
        except ValueError:
            data = {"_text": response.text[:2000]}
        command = params.pop("command", "?")
        self.recording.add(command, params, response.status_code, _scrub(data, self.secrets))
        return response

    def close(self) -> None:
        self.inner.close()


def start_recording(api: Api, keep_endpoint: bool = False) -> Recording:
    """Record every exchange of `api` with its endpoint from now on."""
    target = api.target
    prefix = target.endpoint.split("/client/", 1)[0] + "/"
    secrets = tuple(s for s in (target.key, target.secret) if s)
    recording = Recording(
        header={
            "recorded_by": f"cstool {__version__}",
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endpoint": _host(target.endpoint) if keep_endpoint else "(not recorded)",
        }
    )
    inner = target.session.get_adapter(target.endpoint)
    target.session.mount(prefix, RecordingAdapter(inner, recording, secrets))
    return recording


def _host(endpoint: str) -> str:
    """host[:port] of the endpoint, with the user name but never a password."""
    parts = urlsplit(endpoint)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{user}{parts.hostname or ''}{port}"


def note_cloudstack_version(api: Api, recording: Recording) -> None:
    """Put the cloud's version (listCapabilities, itself recorded) in the header, if known.
    The Api keeps it, so its version checks make no second call."""
    try:
        version = api.server_version()
    except CstoolError:
        return  # an old or restricted cloud: the recording simply says nothing of it
    if version:
        recording.header["cloudstack_version"] = version


def _same_request(recorded: Mapping[str, str]) -> Any:
    """A responses matcher: the same command and meaningful parameters, nothing more or less,
    whether sent as a GET query or a POST form (signing parameters differ on every request
    and are not compared). A value the recording holds redacted matches any value: it was a
    credential, and the recording cannot know it."""

    def match(request: requests.PreparedRequest) -> tuple[bool, str]:
        got = request_params(request)
        same = got.keys() == recorded.keys() and all(
            want in (REDACTED, got[name]) for name, want in recorded.items()
        )
        return (same, "" if same else f"parameters differ: {got}")

    return match


class Replay:
    """Answers requests from a recording through `responses`; unknown requests are errors."""

    def __init__(self, recording: Recording, endpoint: str = REPLAY_ENDPOINT) -> None:
        self.recording = recording
        self.endpoint = endpoint
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for ex in recording.exchanges:
            params = {k: str(v) for k, v in (ex.get("params") or {}).items()}
            params["command"] = ex["command"]
            for method in (responses.GET, responses.POST):  # reads by GET, writes by POST
                self.mock.add(
                    responses.Response(
                        method,
                        endpoint,
                        body=json.dumps(ex["body"]),
                        status=int(ex["status"]),
                        content_type="application/json; charset=UTF-8",
                        match=[_same_request(params)],
                    )
                )

    def __enter__(self) -> Replay:
        self.mock.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.mock.stop()
        self.mock.reset()
