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
from cstool.errors import CstoolError

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
    if isinstance(value, str) and name.lower() in URL_FIELDS:
        return without_url_passwords(_without_secrets(value, secrets))
    return _scrub(value, secrets)


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
