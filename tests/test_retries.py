"""Throttling and transient errors: reads retry, writes retry only where the server did not
act, pauses follow Retry-After (or CloudStack's own text), and nothing retries forever."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from cstool.cloud import waits
from cstool.cloud.api import Api, Target
from cstool.cloud.wire import sent_params
from cstool.errors import ApiError, CstoolError, Unreachable
from cstool.simulator.transport import IN_PROCESS_ENDPOINT, Fault, Faults, SimAdapter, Simulator

ZONE = {"name": "z1", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.1"}
THROTTLED = "The given user has reached his/her account api limit, please retry after [{}] ms."


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff pauses of a few ms: the policy is the same, the tests are quick."""
    monkeypatch.setattr(waits, "BACKOFF_FIRST", 0.005)


def _sim_api(tmp_path: Path, *faults: str, **kw: Any) -> tuple[Api, Faults, Simulator]:
    """An Api on an in-process simulator whose calls (retries included) are counted."""
    sim = Simulator(tmp_path / "s.json", keys={"k": "s"})
    counted = Faults([Fault.parse(f) for f in faults])
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim, counted))
    target = Target("test", IN_PROCESS_ENDPOINT, "k", "s", session, poll_interval=0)
    return Api(target, **kw), counted, sim


def _zones(sim: Simulator) -> list[str]:
    api = Api(Target("check", IN_PROCESS_ENDPOINT, "k", "s", _session(sim), poll_interval=0))
    return [z["name"] for z in api.list("listZones")]


def _session(sim: Simulator) -> requests.Session:
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim))
    return session


# --- the simulator answers a throttled call as the server does -----------------------------


def test_the_simulator_answers_throttling_as_apiserver_does(tmp_path: Path) -> None:
    throttled = [Fault.parse("listZones:throttle=250")]
    sim = Simulator(tmp_path / "s.json", keys={"k": "s"}, faults=throttled)
    reply = sim.handle(_signed({"command": "listZones", "response": "json"}))
    assert reply.status == 429
    assert reply.body == {
        "listzonesresponse": {
            "uuidList": [],
            "errorcode": 429,
            "cserrorcode": 9999,
            "errortext": THROTTLED.format(250),
        }
    }
    assert reply.headers["X-Description"] == THROTTLED.format(250)
    assert "Retry-After" not in reply.headers


def _signed(params: dict[str, str]) -> dict[str, str]:
    from cstool.simulator.transport import signature

    params = {**params, "apiKey": "k"}
    return {**params, "signature": signature(params, "s")}


@pytest.mark.parametrize(
    "text", ["x:throttle=abc", "x:job-time=-1", "x:latency=soon", "x:error=5x", "x:job=3"]
)
def test_a_bad_fault_value_is_refused_when_parsed(text: str) -> None:
    with pytest.raises(ValueError, match="bad fault"):
        Fault.parse(text)


# --- reads -----------------------------------------------------------------------------------


def test_a_throttled_read_waits_the_pause_the_server_names_then_succeeds(tmp_path: Path) -> None:
    api, calls, _sim = _sim_api(tmp_path, "listZones#1:throttle=300")
    started = time.monotonic()
    assert api.list("listZones") == []
    assert 0.3 <= time.monotonic() - started < 2.0
    assert calls.calls["listZones"] == 2 and api.calls["listZones"] == 1


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_reads_are_retried_on_5xx(tmp_path: Path, code: int) -> None:
    api, calls, _sim = _sim_api(tmp_path, f"listZones#1:error={code}", f"listZones#2:error={code}")
    assert api.list("listZones") == []
    assert calls.calls["listZones"] == 3


@pytest.mark.parametrize("code", [530, 531, 533, 537, 431, 401])
def test_cloudstack_own_errors_are_final_even_for_reads(tmp_path: Path, code: int) -> None:
    api, calls, _sim = _sim_api(tmp_path, f"listZones#1:error={code}")
    with pytest.raises(ApiError) as info:
        api.list("listZones")
    assert info.value.code == code and calls.calls["listZones"] == 1


def test_reads_are_retried_after_a_dropped_connection(tmp_path: Path) -> None:
    api, calls, _sim = _sim_api(tmp_path, "listZones#1:drop", "listZones#2:lose")
    assert api.list("listZones") == []
    assert calls.calls["listZones"] == 3


def test_a_read_gives_up_after_a_bounded_number_of_attempts(tmp_path: Path) -> None:
    api, calls, _sim = _sim_api(tmp_path, "listZones:throttle=1")
    with pytest.raises(ApiError) as info:
        api.list("listZones")
    assert info.value.code == 429 and "account api limit" in info.value.text
    assert calls.calls["listZones"] == waits.READ_ATTEMPTS


# --- writes ----------------------------------------------------------------------------------


def test_a_throttled_write_is_sent_again_and_acts_once(tmp_path: Path) -> None:
    api, calls, sim = _sim_api(tmp_path, "createZone#1:throttle=20", "createZone#2:throttle=20")
    zone = api.call("createZone", **ZONE)["zone"]
    assert zone["name"] == "z1" and calls.calls["createZone"] == 3
    assert _zones(sim) == ["z1"]


@pytest.mark.parametrize("code", [500, 502, 504])
def test_a_write_is_never_retried_on_5xx(tmp_path: Path, code: int) -> None:
    """A 5xx (a proxy's, say) may come after the server acted: the outcome is unknown."""
    api, calls, sim = _sim_api(tmp_path, f"createZone#1:error={code}")
    with pytest.raises(ApiError):
        api.call("createZone", **ZONE)
    assert calls.calls["createZone"] == 1 and _zones(sim) == []


def test_a_write_is_retried_on_cloudstacks_own_503(tmp_path: Path) -> None:
    """ApiServer.queueCommand answers 503 before queueing when async jobs are off
    (maintenance, shutdown): the command did not run. A proxy's 503 is another matter."""
    api, calls, _sim = _sim_api(tmp_path)
    zone = api.call("createZone", **ZONE)["zone"]
    fake = _Scripted(api, [_response(503, {"createphysicalnetworkresponse": {"errorcode": 503}})])
    api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    assert fake.sent == 2
    proxy = _Scripted(api, [_response(503, {"error": "no backend"}, content_type="text/html")])
    with pytest.raises(CstoolError):
        api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn2")
    assert proxy.sent == 1


@pytest.mark.parametrize("fault", ["drop", "lose"])
def test_a_write_is_never_retried_after_an_unknown_outcome(tmp_path: Path, fault: str) -> None:
    api, calls, sim = _sim_api(tmp_path, f"createZone#1:{fault}")
    with pytest.raises(Unreachable):
        api.call("createZone", **ZONE)
    assert calls.calls["createZone"] == 1
    assert _zones(sim) == (["z1"] if fault == "lose" else [])


def test_a_write_is_retried_when_the_connection_was_refused(tmp_path: Path) -> None:
    refused = _refused_error()
    assert waits.not_sent(refused)
    api, calls, sim = _sim_api(tmp_path)
    fake = _Scripted(api, [refused])
    api.call("createZone", **ZONE)
    assert fake.sent == 2 and calls.calls["createZone"] == 1 and _zones(sim) == ["z1"]


def test_a_write_is_not_retried_after_a_read_timeout_a_read_is(tmp_path: Path) -> None:
    """A server that takes the request and never answers: the write may have acted."""
    with _silent_server() as (endpoint, received):
        target = Target("silent", endpoint, "k", "s", requests.Session(), poll_interval=0)
        api = Api(target, call_timeout=0.3)
        with pytest.raises(Unreachable, match="outcome of createZone is unknown"):
            api.call("createZone", **ZONE)
        assert received == ["createZone"]
        with pytest.raises(Unreachable, match="no complete answer within 0.3 s"):
            api.list("listZones")
        assert received.count("listZones") == waits.READ_ATTEMPTS


# --- Retry-After -----------------------------------------------------------------------------


def test_retry_after_in_seconds_is_waited_for(tmp_path: Path) -> None:
    api, _calls, _sim = _sim_api(tmp_path)
    fake = _Scripted(api, [_response(503, {}, headers={"Retry-After": "0.4"})])
    started = time.monotonic()
    assert api.list("listZones") == []
    assert 0.4 <= time.monotonic() - started < 2.0 and fake.sent == 2


def test_retry_after_as_an_http_date_is_read_and_capped() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    soon = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert waits.retry_after(_response(429, {}, headers={"Retry-After": soon}), now) == 7
    late = format_datetime(now + timedelta(days=1), usegmt=True)
    assert waits.retry_after(_response(429, {}, headers={"Retry-After": late}), now) == (
        waits.RETRY_AFTER_CAP
    )
    past = format_datetime(now - timedelta(seconds=5), usegmt=True)
    assert waits.retry_after(_response(429, {}, headers={"Retry-After": past}), now) == 0
    assert waits.retry_after(_response(429, {}, headers={"Retry-After": "3600"})) == 60
    assert waits.retry_after(_response(429, {}, headers={"Retry-After": "soon"})) is None
    cloudstack = _response(429, {"x": {"errortext": THROTTLED.format(1500)}})
    assert waits.retry_after(cloudstack) == 1.5


def test_a_pause_beyond_the_runs_deadline_is_not_waited_for(tmp_path: Path) -> None:
    api, _calls, _sim = _sim_api(tmp_path, deadline=5)
    refusal = {"listzonesresponse": {"errorcode": 429}}
    _Scripted(api, [_response(429, refusal, {"Retry-After": "30"})])
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        api.list("listZones")
    assert info.value.code == 429 and time.monotonic() - started < 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waits, "BACKOFF_FIRST", 0.25)
    for attempt, full in enumerate([0.25, 0.5, 1, 2, 4, 8, 8, 8]):
        seen = {waits.backoff(attempt) for _ in range(50)}
        assert all(full * (1 - waits.JITTER) <= s <= full for s in seen)
        assert len(seen) > 1  # jittered: parallel clients do not retry in step


# --- helpers -----------------------------------------------------------------------------------


def _response(
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=UTF-8",
) -> requests.Response:
    import json

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers = requests.structures.CaseInsensitiveDict(
        {"Content-Type": content_type, **(headers or {})}
    )
    response.encoding = "utf-8"
    return response


class _Scripted(BaseAdapter):
    """Answers (or raises) from a script first, then passes requests on to the simulator."""

    def __init__(self, api: Api, script: list[requests.Response | Exception]) -> None:
        super().__init__()
        patient: Any = api.target.session.get_adapter(IN_PROCESS_ENDPOINT)
        while not isinstance(patient, waits.Patient):
            patient = patient.inner
        self.inner = patient.inner
        patient.inner = self
        self.script = list(script)
        self.commands: list[str] = []

    @property
    def sent(self) -> int:
        """Requests sent but job polls."""
        return sum(1 for c in self.commands if c != "queryAsyncJobResult")

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        self.commands.append(sent_params(request).get("command", ""))
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            step.request, step.url = request, request.url or ""
            return step
        return self.inner.send(request, **kw)

    def close(self) -> None:
        pass


def _refused_error() -> requests.ConnectionError:
    """The very exception requests raises for a refused connection (a closed local port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        requests.post(f"http://127.0.0.1:{port}/client/api", data={"command": "x"}, timeout=2)
    except requests.ConnectionError as exc:
        return exc
    raise AssertionError("the closed port answered")


class _silent_server:
    """A 127.0.0.1 server that reads each request and never answers (for at most 10 s)."""

    def __enter__(self) -> tuple[str, list[str]]:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.received: list[str] = []
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/client/api", self.received

    def _serve(self) -> None:
        ends = time.monotonic() + 10
        while not self.stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(0.1)
            data = ""
            while True:  # the whole request: headers, then the body, until a pause
                try:
                    chunk = conn.recv(65536).decode(errors="replace")
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            for word in ("createZone", "listZones"):
                if f"command={word}" in data:
                    self.received.append(word)
            self.held.append(conn)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for conn in self.held:
            conn.close()
        self.sock.close()
