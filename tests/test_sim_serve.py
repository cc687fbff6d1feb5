"""`cstool sim serve` and the simulator's state file: honest results (what is changed is saved,
one process per state file, quoted exports, usage errors at start) and a server without a
fixed delay per request."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cs import CloudStack
from typer.testing import CliRunner

from cstool.cli import app
from cstool.simulator import store as store_module
from cstool.simulator.store import StateBusy, StateUnsaved, Store
from cstool.simulator.transport import Simulator, make_server, signature
from tests.conftest import CONFIGS, ROOT

runner = CliRunner(env={"COLUMNS": "500"})  # usage errors in one line of rich's box
KEY, SECRET = "k", "s"


class Served:
    """`cstool sim serve` in its own process, on a free port of 127.0.0.1."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "cstool", "sim", "serve", "--port", "0", *args]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.first = self.process.stdout.readline()
        self.exports = [self.process.stdout.readline() for _ in range(3)] if self.first else []
        found = re.search(r"listening on (\S+)", self.first)
        self.endpoint = found.group(1) if found else ""

    def stop(self) -> str:
        """Stop it as an operator would (SIGTERM) and return what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        _, err = self.process.communicate(timeout=20)
        return err


@pytest.fixture
def serve() -> Iterator[type[Served]]:
    started: list[Served] = []

    class Tracked(Served):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for server in started:
        server.stop()


def _zones_in(state: Path) -> list[str]:
    data = json.loads(state.read_text())
    return sorted(z["name"] for z in data["tables"]["zone"].values())


def _zone(cs: CloudStack, name: str) -> None:
    cs.createZone(name=name, networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.1")


# --- exports ----------------------------------------------------------------------------


def test_exports_are_shell_quoted_so_eval_runs_nothing_in_a_key(
    tmp_path: Path, serve: type[Served]
) -> None:
    mark = tmp_path / "ran"
    key = f"$(touch {mark})'\"; touch {mark} #"
    secret = f"`touch {mark}` $HOME"
    server = serve("--state", str(tmp_path / "sim.json"), "--api-key", key, "--secret-key", secret)
    assert server.endpoint, server.stop()
    script = "".join(server.exports) + 'printf "%s\\n%s\\n%s" "$CLOUDSTACK_ENDPOINT" '
    script += '"$CLOUDSTACK_KEY" "$CLOUDSTACK_SECRET"'
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert shown.stdout.split("\n") == [server.endpoint, key, secret]
    assert not mark.exists()


# --- usage errors at start, never a crash while serving ---------------------------------


def _serve_once(*args: str) -> subprocess.CompletedProcess[str]:
    """`sim serve` expected to stop at start (killed after 30 s if it serves instead)."""
    cmd = [sys.executable, "-m", "cstool", "sim", "serve", "--port", "0", *args]
    env = {**os.environ, "COLUMNS": "500"}  # a usage error in one line of rich's box
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=30, check=False
    )


@pytest.mark.parametrize(
    "fault",
    ["createZone:latency=abc", "createZone:latency=inf", "createZone:error=abc",
     "createZone:error=0", "createZone:error=1000", "createZone:job=1", "createZone:explode"],
)  # fmt: skip
def test_a_malformed_fault_is_a_usage_error_at_start(tmp_path: Path, fault: str) -> None:
    state = tmp_path / "sim.json"
    result = _serve_once("--state", str(state), "--fault", fault)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--fault" in result.stderr and "bad fault" in result.stderr
    assert "Traceback" not in result.stderr
    assert not state.exists()  # refused before the simulator started


def test_an_answer_that_cannot_be_made_is_still_an_answer(tmp_path: Path) -> None:
    """A request the simulator cannot read gets a 530, not a dropped connection."""
    sim = Simulator(keys={KEY: SECRET})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        body = b"command=listZones&name=\xff\xfe"  # not UTF-8
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/client/api", body, form)
        answer = conn.getresponse()
        assert answer.status == 530
        assert "Internal error executing command" in answer.read().decode()
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "cannot read the simulator state"),
        ('{"format": 1}', "a damaged simulator state file ('seed' is not a string)"),
        ('{"format": 2}', "not a cstool simulator state file"),
    ],
)
def test_sim_serve_on_a_malformed_state_file_names_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    state = tmp_path / "sim.json"
    state.write_text(text)
    result = _serve_once("--state", str(state))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{state}: {expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert state.read_text() == text  # left as it was


# --- saving -----------------------------------------------------------------------------


def test_an_idle_server_saves_its_last_change_within_a_second(
    tmp_path: Path, serve: type[Served]
) -> None:
    state = tmp_path / "sim.json"
    server = serve("--state", str(state), "--api-key", KEY, "--secret-key", SECRET)
    cs = CloudStack(server.endpoint, KEY, SECRET, poll_interval=0, fetch_result=True)
    for name in ("a", "b", "c"):  # quicker than the save interval: the last ones wait
        _zone(cs, name)
    changed = time.monotonic()
    while time.monotonic() - changed < 1.0 and _zones_in(state) != ["a", "b", "c"]:
        time.sleep(0.05)
    assert _zones_in(state) == ["a", "b", "c"]
    assert server.process.poll() is None  # saved by the running server, not at its exit


def test_a_stopped_server_has_saved_everything(tmp_path: Path, serve: type[Served]) -> None:
    state = tmp_path / "sim.json"
    server = serve("--state", str(state), "--api-key", KEY, "--secret-key", SECRET)
    cs = CloudStack(server.endpoint, KEY, SECRET, poll_interval=0, fetch_result=True)
    _zone(cs, "last")
    assert "Traceback" not in server.stop()
    assert _zones_in(state) == ["last"]


# --- one process per state file ---------------------------------------------------------


def test_a_second_process_on_a_state_file_in_use_is_refused_naming_the_holder(
    tmp_path: Path, serve: type[Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "sim.json"
    server = serve("--state", str(state), "--api-key", KEY, "--secret-key", SECRET)
    assert server.endpoint
    monkeypatch.setattr(store_module, "LOCK_WAIT", 0.3)
    args = ["apply", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state), "--yes"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"{state}: the simulator state is in use by process {server.process.pid}" in (
        result.output
    )
    assert "Traceback" not in result.output and "internal error" not in result.output
    second = serve("--state", str(state))  # a second server is refused as well
    assert second.process.wait(timeout=20) == 1
    assert f"in use by process {server.process.pid}" in second.stop()
    server.stop()
    assert _zones_in(state) == []  # the refused apply changed nothing


def test_the_second_process_waits_for_a_short_holder(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD.format(state=str(state), seconds=0.6)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StateBusy, match=f"in use by process {holder.pid}"):
            Store.load(state, lock_wait=0.1)
        waited = Store.load(state, lock_wait=10)  # the holder lets go after 0.6 s
        assert waited.seq > 0  # and what it saved is read
        waited.close()
    finally:
        holder.wait(timeout=20)
        if holder.stdout is not None:
            holder.stdout.close()


_HOLD = """
import time
from pathlib import Path
from cstool.simulator.store import Store
store = Store.load(Path({state!r}))
store.new_id(); store.touch(); store.flush()
print("held", flush=True)
time.sleep({seconds})
store.close()
"""


def test_a_finished_command_lets_the_state_file_go(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    args = ["apply", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state), "--yes"]
    assert runner.invoke(app, args).exit_code == 0
    other = subprocess.run(
        [sys.executable, "-c", _HOLD.format(state=str(state), seconds=0)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert other.returncode == 0, other.stderr  # not locked out by this process


def test_simulators_of_one_process_share_the_state_file(tmp_path: Path) -> None:
    """Within one process a state file is not refused (a restarted Simulator, or --sim
    commands run one after the other by one program)."""
    first = Simulator(tmp_path / "sim.json", keys={KEY: SECRET})
    second = Simulator(tmp_path / "sim.json", keys={KEY: SECRET})
    first.close()  # the file stays locked while `second` uses it
    lock = tmp_path / "sim.json.lock"
    assert lock.read_text().strip() == str(os.getpid())
    second.close()


# --- --record ---------------------------------------------------------------------------


def test_record_into_a_directory_is_refused_before_anything_is_applied(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    args = ["apply", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state), "--yes"]
    result = runner.invoke(app, [*args, "--record", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "is a directory" in result.output and "recording.yaml" in result.output
    assert not state.exists() or _zones_in(state) == []
    assert runner.invoke(app, [*args, "--record", str(tmp_path / "rec.yaml")]).exit_code == 0
    assert (tmp_path / "rec.yaml").is_file()


# --- speed ------------------------------------------------------------------------------


def _signed_query(command: str) -> str:
    params = {"apiKey": KEY, "command": command, "response": "json"}
    params["signature"] = signature(params, SECRET)
    return "/client/api?" + urlencode(params)


def test_one_connection_serves_many_requests_without_a_fixed_delay() -> None:
    """Keep-alive (HTTP/1.1, Content-Length) and no Nagle/delayed-ACK stall: twenty
    requests on one connection take far less than the 40 ms each they took before."""
    sim = Simulator(keys={KEY: SECRET})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.request("GET", _signed_query("listZones"))  # warm up (imports, first thread)
        conn.getresponse().read()
        sock = conn.sock
        start = time.perf_counter()
        for _ in range(20):
            conn.request("GET", _signed_query("listZones"))
            answer = conn.getresponse()
            assert answer.status == 200 and answer.getheader("Content-Length")
            answer.read()
        took = time.perf_counter() - start
        assert conn.sock is sock  # the same connection throughout
        assert took < 0.4, f"{took / 20 * 1000:.0f} ms per request"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


def test_many_clients_at_once_are_all_answered() -> None:
    sim = Simulator(keys={KEY: SECRET})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/client/api"
    answers: list[int] = []

    def client(i: int) -> None:
        cs = CloudStack(endpoint, KEY, SECRET, poll_interval=0, fetch_result=True)
        _zone(cs, f"z{i}")
        answers.append(len(cs.listZones(fetch_list=True)))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == 32
        assert len(sim.store.rows("zone")) == 32
    finally:
        server.shutdown()
        server.server_close()


def test_a_state_that_cannot_be_written_is_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.load(tmp_path / "sim.json")
    store.save_interval = 0.0

    def full(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "_write", staticmethod(full))
    with store.transaction():
        store.add("zone", {"name": "a"})
    deadline = time.monotonic() + 5
    while store.save_error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.save_error is not None and store.dirty  # kept for the next try
    with pytest.raises(StateUnsaved, match=f"{tmp_path / 'sim.json'}: cannot save"):
        store.close()


def _raw(server_port: int, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes or 2 s pass."""
    with socket.create_connection(("127.0.0.1", server_port), timeout=2) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"200"),
        (b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n", b"200"),  # 1.0 closes after the answer
        (b"GET %s HTTP/1.1\r\nHost : x\r\n\r\n", b"400"),  # space before the colon
        (b"GET %s HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", b"400"),  # obsolete folding
        (b"GET %s HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", b"431"),
        (b"GET %s HTTP/1.1\r\nX-A: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        (b"GET %s HTTP/2.0\r\n\r\n", b"505"),  # the standard library's own checks
        (b"BREW %s\r\n\r\n", b"400"),
    ],
)
def test_request_heads_are_read_as_the_standard_library_would(
    request_bytes: bytes, status: bytes
) -> None:
    sim = Simulator(keys={KEY: SECRET})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        query = _signed_query("listZones").encode()
        answer = _raw(server.server_address[1], request_bytes.replace(b"%s", query, 1))
        head = answer.split(b"\r\n", 1)[0]  # a refused version gets only the error page
        assert head.split(b" ")[1:2] == [status] or b"Error code: " + status in answer, head
    finally:
        server.shutdown()
        server.server_close()
