"""Record API exchanges to a readable YAML file and replay them with `responses`.

Never stored: apiKey, signature, signatureVersion, expires, the secret, session cookies, and
any parameter or header whose name or value looks like a credential. The endpoint host is
kept only when asked.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses
import yaml
from requests.adapters import BaseAdapter

from cstool import __version__
from cstool.cloud.api import Api
from cstool.errors import CstoolError

VOLATILE = {"apikey", "signature", "signatureversion", "expires", "response", "sessionkey"}
CREDENTIAL_NAME = re.compile(r"pass(word)?|secret|token|(^|_)key$|apikey|credential|private", re.I)
CREDENTIAL_VALUE = re.compile(r"^[A-Za-z0-9_\-]{40,}={0,2}$")  # long base64-like strings
REDACTED = "<redacted>"
REPLAY_ENDPOINT = "http://replay.cstool.invalid/client/api"


def meaningful(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters that identify a request: no signing parameters, no credentials."""
    out = {}
    for name, value in sorted(params.items()):
        if name.lower() in VOLATILE:
            continue
        if CREDENTIAL_NAME.search(name) or CREDENTIAL_VALUE.match(str(value)):
            value = REDACTED
        out[name] = str(value)
    return out


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """Drop credentials from a response body (keys named like secrets, known secret values)."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED
            if CREDENTIAL_NAME.search(str(k)) and isinstance(v, str)
            else _scrub(v, secrets)
            for k, v in sorted(value.items())
        }
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str) and any(s and s in value for s in secrets):
        return REDACTED
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
        head = "".join(f"# {k}: {v}\n" for k, v in self.header.items())
        doc = {"cstool_recording": 1, **self.header, "exchanges": self.exchanges}
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
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise CstoolError(f"{path}: cannot read the recording: {exc}") from None
        if not isinstance(data, dict) or data.get("cstool_recording") != 1:
            raise CstoolError(f"{path}: not a cstool recording")
        header = {k: v for k, v in data.items() if k not in ("cstool_recording", "exchanges")}
        return cls(list(data.get("exchanges") or []), header)


class RecordingAdapter(BaseAdapter):
    """Wraps the adapter that really sends, and writes down every exchange."""

    def __init__(self, inner: BaseAdapter, recording: Recording, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.inner = inner
        self.recording = recording
        self.secrets = tuple(s for s in secrets if s)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = self.inner.send(request, **kwargs)
        params = request_params(request)
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
            "endpoint": urlsplit(target.endpoint).netloc if keep_endpoint else "(not recorded)",
        }
    )
    inner = target.session.get_adapter(target.endpoint)
    target.session.mount(prefix, RecordingAdapter(inner, recording, secrets))
    return recording


def note_cloudstack_version(api: Api, recording: Recording) -> None:
    """Put the cloud's version (listCapabilities, itself recorded) in the header, if known."""
    try:
        version = api.call("listCapabilities").get("capability", {}).get("cloudstackversion")
    except CstoolError:
        return  # an old or restricted cloud: the recording simply says nothing of it
    if version:
        recording.header["cloudstack_version"] = version


def request_params(request: requests.PreparedRequest) -> dict[str, str]:
    """The meaningful parameters of a request, as a recording stores them (plus command)."""
    parts = urlsplit(request.url or "")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if request.body:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        params.update(parse_qsl(str(body), keep_blank_values=True))
    return meaningful(params)


def _same_request(recorded: Mapping[str, str]) -> Any:
    """A responses matcher: the same command and meaningful parameters, nothing more or less
    (signing parameters differ on every request and are not compared)."""

    def match(request: requests.PreparedRequest) -> tuple[bool, str]:
        got = request_params(request)
        return (got == recorded, "" if got == recorded else f"parameters differ: {got}")

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
            self.mock.add(
                responses.Response(
                    responses.GET,
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
