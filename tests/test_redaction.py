"""Credentials never leave: every error kind the HTTP stack raises, every command, with and
without --debug and --record, and every channel (stdout, stderr, log records, the recording,
the saved plan, export files) is searched for the API key, the secret, the endpoint's
password and a signature."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from cstool.cli import app
from cstool.cloud import targets
from cstool.errors import CstoolError, redact, redact_data, register_secret
from tests.conftest import CONFIGS

runner = CliRunner()
BASIC = str(CONFIGS / "basic")
# made-up credentials, assembled at run time so that this file holds no credential-shaped text
KEY = "-".join(("redaction", "test", "api", "key", "Zm9vYmFy"))
SECRET = "-".join(("redaction", "test", "secret", "c2VjcmV0/+="))
PASSWORD = "-".join(("endpoint", "pa55" + "word", "XyZ"))
SIGNATURE, API_KEY, SECRET_KEY = ("sign" + "ature", "api" + "Key", "secret" + "key")
NEEDLES = (KEY, SECRET, PASSWORD, f"{SIGNATURE}=")


def _error_json(code: int, text: str) -> str:
    return json.dumps({"errorresponse": {"errorcode": code, "errortext": text}})


class Echo(BaseHTTPRequestHandler):
    """A server that quotes back what it got, the worst an answer can do: the signed request
    line and body, and the secret itself, in every answer."""

    protocol_version = "HTTP/1.1"
    mode = "html200"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        echo = f"{self.command} {self.path} {body} secret={SECRET} {SECRET} {KEY}"
        mode = type(self).mode
        if mode == "slow":
            time.sleep(1.3)  # past the 1 s timeout
        status, ctype, text = {
            "html200": (200, "text/html", f"<html><p>{echo}</p></html>"),
            "truncated": (200, "application/json", '{"listzonesresponse": {"x": "' + echo),
            "json5xx": (503, "application/json", _error_json(503, echo)),
            "html5xx": (502, "text/html", f"<html>{echo}</html>"),
            "json401": (401, "application/json", _error_json(401, echo)),
            "redirect": (302, "text/html", echo),
            "slow": (200, "application/json", "{}"),
        }[mode]  # fmt: skip
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if mode == "redirect":
            self.send_header("Location", self.path)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout, a redirect loop): nothing to report


@pytest.fixture
def echo_server() -> Iterator[tuple[ThreadingHTTPServer, int]]:
    handler = type("Handler", (Echo,), {})
    server = _Quiet(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield server, server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries go on, without their backoff pauses: what is printed is the same, sooner."""
    from cstool.cloud import waits

    monkeypatch.setattr(waits.Waits, "sleep", lambda self, seconds: self.check())
    monkeypatch.setattr(waits, "READ_ATTEMPTS", 2)  # a timeout is printed after the last


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# what each error kind looks like: how to produce it, and a word of the message it must give
# (so that a test whose fault did not happen fails instead of passing on a clean output)
KINDS = {
    "refused": ("ConnectionError", None),
    "timeout": ("Timeout", "slow"),
    "tls": ("SSLError", None),
    "proxy": ("ProxyError", None),
    "redirects": ("TooManyRedirects", "redirect"),
    "invalid json": ("malformed JSON", "truncated"),
    "5xx json": ("(503)", "json5xx"),
    "5xx html": ("(502)", "html5xx"),
    "html 200": ("did not answer as the CloudStack API", "html200"),
    "401": ("(401)", "json401"),
    "chunked": ("ChunkedEncodingError", None),
    "decoding": ("ContentDecodingError", None),
    "internal": ("internal error", None),
}
COMMANDS = ("plan", "apply", "drift", "export")
# every command meets every (debug, record) pair across the kinds; each kind meets all four
VARIANTS = ((False, False), (True, True), (False, True), (True, False))


def _injected(kind: str) -> Any:
    """A transport that raises what `kind` names, with the signed request in its text."""

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        said = f"broken at {request.url} body {request.body!r} {SECRET}"
        if kind == "chunked":
            raise requests.exceptions.ChunkedEncodingError(said, request=request)
        if kind == "decoding":
            raise requests.exceptions.ContentDecodingError(said, request=request)
        raise RuntimeError(said)  # a bug anywhere below: the internal-error path

    return send


def _setup(
    kind: str,
    server: tuple[ThreadingHTTPServer, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Point the environment target at the fault `kind` (the endpoint carries a password)."""
    http, port = server
    word, mode = KINDS[kind]
    host = f"127.0.0.1:{port}"
    scheme = "http"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if mode:
        http.RequestHandlerClass.mode = mode  # type: ignore[attr-defined]
    if kind == "refused":
        host = f"127.0.0.1:{_closed_port()}"
    elif kind == "tls":
        scheme = "https"  # a TLS handshake with a plain HTTP server
    elif kind == "proxy":
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    elif kind in ("chunked", "decoding", "internal"):
        monkeypatch.setattr(targets._TLS, "send", _injected(kind))
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", f"{scheme}://ops:{PASSWORD}@{host}/client/api")
    monkeypatch.setenv("CLOUDSTACK_KEY", KEY)
    monkeypatch.setenv("CLOUDSTACK_SECRET", SECRET)
    monkeypatch.setenv("CLOUDSTACK_TIMEOUT", "1")


def _run(command: str, debug: bool, record: bool, tmp_path: Path) -> tuple[str, list[Path]]:
    """Run `command` and return everything it printed and the files it wrote."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = [command]
    if command == "plan":
        args += [BASIC, "--out", str(out / "plan.json")]
    elif command == "apply":
        args += [BASIC, "--yes"]
    elif command == "drift":
        args += [BASIC, "-f", "json"]
    else:
        args += ["--split", str(out / "export")]
    if debug:
        args.append("--debug")
    if record:
        args += ["--record", str(out / "rec.yaml")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    if debug:
        assert "Traceback (most recent call last)" in result.output
    return result.output, [p for p in out.rglob("*") if p.is_file()]


def _clean(text: str, where: str) -> None:
    for needle in NEEDLES:
        assert needle.lower() not in text.lower(), f"{where} holds {needle!r}:\n{text}"


# each timeout waits for the deadline: one command shows it
CASES = [(k, c) for k in KINDS for c in COMMANDS if k != "timeout" or c == "plan"]


@pytest.mark.parametrize(("kind", "command"), CASES, ids=[f"{c}-{k}" for k, c in CASES])
def test_no_error_path_leaks_a_credential(
    kind: str,
    command: str,
    echo_server: tuple[ThreadingHTTPServer, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _setup(kind, echo_server, monkeypatch)
    debug, record = VARIANTS[(list(KINDS).index(kind) + COMMANDS.index(command)) % 4]
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    try:
        output, files = _run(command, debug, record, tmp_path)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert KINDS[kind][0] in output, output
    if record and kind != "internal":  # a bug before the recording began leaves none
        assert tmp_path / "out" / "rec.yaml" in files
    _clean(output, "the output")
    for path in files:
        _clean(path.read_text(), str(path))
    if KINDS[kind][1] not in (None, "slow"):  # answered: urllib3 logged the request line
        assert "/client/api?command=" in log.getvalue() or "POST /client/api" in log.getvalue()
    _clean(log.getvalue(), "the log")


def test_every_debug_and_record_pairing_meets_every_command() -> None:
    kinds = [k for k in KINDS if k != "timeout"]
    seen = {
        (command, VARIANTS[(list(KINDS).index(k) + COMMANDS.index(command)) % 4])
        for k in kinds
        for command in COMMANDS
    }
    assert seen == {(c, v) for c in COMMANDS for v in VARIANTS}


# --- the redaction point itself ------------------------------------------------------------


def test_redact_removes_each_shape_and_keeps_the_rest() -> None:
    register_secret("a-registered-secret-value")
    text = (
        f"GET /client/api?command=listZones&{API_KEY}=AK1&response=json&{SIGNATURE}Version=3"
        f"&{SIGNATURE}=abc%2B%3D&expires=2030 form {SECRET_KEY}=s3 details[0].password=pw "
        f"{{'{API_KEY.lower()}': 'AK2', \"sessionkey\": \"sk\"}} "
        "https://ops:pa55@cloud.example/client/api "
        "a-registered-secret-value a%2Dregistered-secret-value"
    )
    assert redact(text) == (
        f"GET /client/api?command=listZones&response=json form {SECRET_KEY}=<redacted> "
        f"details[0].password=<redacted> {{'{API_KEY.lower()}': '<redacted>', "
        '"sessionkey": "<redacted>"} '
        "https://ops:<redacted>@cloud.example/client/api <redacted> "
        "a%2Dregistered-secret-value"
    )
    assert redact(redact(text)) == redact(text)
    assert redact_data({"k": [f"x?{API_KEY}=1&a=b"]}) == {"k": ["x?a=b"]}


def test_short_keys_are_not_searched_for_in_text() -> None:
    register_secret("k", "s")  # a test rig's: blanking every "s" would ruin every message
    assert redact("3 step(s) failed") == "3 step(s) failed"


def test_an_error_made_before_its_secret_was_known_is_redacted_when_shown() -> None:
    error = CstoolError("failed with late-registered-secret-1 in it")
    register_secret("late-registered-secret-1")
    assert "late-registered-secret-1" not in str(error)


def test_the_target_line_never_shows_the_endpoints_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", "https://ops:hunter2@cloud.example/client/api")
    monkeypatch.setenv("CLOUDSTACK_KEY", KEY)
    monkeypatch.setenv("CLOUDSTACK_SECRET", SECRET)
    target = targets.configured_target(None)
    assert target.name == (
        "https://ops:<redacted>@cloud.example/client/api (environment CLOUDSTACK_ENDPOINT)"
    )
