"""Deadlines, not timeouts: every network wait ends, per call and per run; Ctrl-C and
SIGTERM stop a wait at once, a second one exits, and start-up never shows a traceback."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import requests
from typer.testing import CliRunner

from cstool.cli import app
from cstool.cloud.api import Api, Target, sim_target
from cstool.cloud.waits import DeadlineExceeded
from cstool.errors import Unreachable
from cstool.simulator.transport import Fault
from tests.conftest import CONFIGS

ZONE = {"name": "z1", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.1"}
CSTOOL = [sys.executable, "-m", "cstool"]
runner = CliRunner()


# --- per call: a server that dribbles ----------------------------------------------------------


@contextmanager
def _dribbling(headers_too: bool = False) -> Iterator[str]:
    """A 127.0.0.1 server that answers one byte every 0.1 s (for at most 5 s a connection):
    each read returns quickly, so only a deadline on the whole answer ends the wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"

    def dribble(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            try:
                conn.recv(65536)
                if not headers_too:
                    conn.sendall(head)
                body = (head if headers_too else b"") + b" " * 500
                ends = time.monotonic() + 5
                for byte in body:
                    if stop.is_set() or time.monotonic() > ends:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=dribble, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/client/api"
    finally:
        stop.set()
        server.close()


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dribbled_answer_ends_at_the_calls_deadline(headers_too: bool) -> None:
    with _dribbling(headers_too) as endpoint:
        api = Api(Target("dribble", endpoint, "k", "s", requests.Session()), call_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(Unreachable, match=r"no complete answer within 0.5 s"):
            api.call("createZone", **ZONE)  # a write: tried once
        assert time.monotonic() - started < 1.2


def test_reads_retried_against_a_dribbling_server_end_at_the_runs_deadline() -> None:
    with _dribbling() as endpoint:
        target = Target("dribble", endpoint, "k", "s", requests.Session())
        api = Api(target, call_timeout=0.4, deadline=1.0)
        started = time.monotonic()
        with pytest.raises((Unreachable, DeadlineExceeded)):
            api.list("listZones")
        assert 0.8 < time.monotonic() - started < 1.8


def test_the_runs_deadline_bounds_plan_on_a_slow_cloud(tmp_path: Path) -> None:
    target = sim_target(tmp_path / "s.json", [Fault.parse("*:latency=0.4")])
    api = Api(target, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="deadline of 1 s passed"):
        for _ in range(5):
            api.list("listZones")
    assert time.monotonic() - started < 1.6


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "inf"])
@pytest.mark.parametrize("option", ["--job-timeout", "--deadline"])
def test_zero_negative_and_endless_durations_are_usage_errors(
    tmp_path: Path, option: str, value: str
) -> None:
    state = str(tmp_path / "s.json")
    args = ["apply", str(CONFIGS / "lab"), "--sim", "--sim-state", state, "--yes", option, value]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "is not a duration" in result.output


@pytest.mark.parametrize("command", ["plan", "drift", "export"])
def test_deadline_is_an_option_of_every_command_that_reads_the_cloud(
    tmp_path: Path, command: str
) -> None:
    config = [] if command == "export" else [str(CONFIGS / "lab")]
    state = str(tmp_path / "s.json")
    args = [command, *config, "--sim", "--sim-state", state, "--deadline", "30"]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 3), result.output


def test_a_fractional_job_timeout_ends_an_apply_naming_the_job(tmp_path: Path) -> None:
    state = str(tmp_path / "s.json")
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            "apply",
            str(CONFIGS / "lab"),
            "--sim",
            "--sim-state",
            state,
            "--yes",
            "--job-timeout",
            "0.5",
            "--fault",
            "updatePhysicalNetwork:job-time=60",
        ],
    )
    assert result.exit_code == 1 and time.monotonic() - started < 10
    assert re.search(r"async job \S+ did not finish within 0.5 s", result.output), result.output


# --- signals ---------------------------------------------------------------------------------


class _Lines:
    """A child's output, line by line, readable with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        with stream:  # closed at the child's end
            for line in stream:
                self.lines.put(line)

    def until(self, pattern: str, timeout: float = 30) -> str:
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in {''.join(self.seen)}")

    def rest(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


@contextmanager
def _sim_serve(tmp_path: Path, *extra: str) -> Iterator[dict[str, str]]:
    """`cstool sim serve` on a free 127.0.0.1 port; the environment to reach it."""
    serve = subprocess.Popen(
        [*CSTOOL, "sim", "serve", "--port", "0", "--state", str(tmp_path / "served.json")]
        + ["--api-key", "k", "--secret-key", "s", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert serve.stdout is not None
        line = _Lines(serve.stdout).until(r"listening on http://127\.0\.0\.1:\d+/client/api")
        endpoint = re.search(r"http://127\.0\.0\.1:\d+/client/api", line)
        assert endpoint is not None
        env = {**os.environ, "CLOUDSTACK_ENDPOINT": endpoint.group(0)}
        env.update(CLOUDSTACK_KEY="k", CLOUDSTACK_SECRET="s")
        yield env
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()


def _start(args: list[str], env: dict[str, str] | None, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CSTOOL, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_waiting_on_a_job_at_once_and_the_next_run_reconciles(
    tmp_path: Path, signum: int
) -> None:
    with _sim_serve(tmp_path, "--job-polls", "1000000") as env:
        lab = str(CONFIGS / "lab")
        apply = _start(["apply", lab, "--yes", "--parallelism", "2"], env, tmp_path)
        assert apply.stdout is not None
        out = _Lines(apply.stdout)
        out.until(r"done: create zone lab1")
        time.sleep(0.8)  # the physical networks' jobs are being polled now, pending for ever
        signalled = time.monotonic()
        apply.send_signal(signum)
        code = apply.wait(10)
        took = time.monotonic() - signalled
        text = out.rest()
        assert code == 1 and took < 3, text
        assert re.search(r"createPhysicalNetwork: async job \S+ may still be running", text), text
        assert "(interrupted)" in text and "Traceback" not in text
        # the next run reads the cloud again: what the interrupted jobs made is not made twice
        again = subprocess.run(
            [*CSTOOL, "plan", lab], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert again.returncode == 3, again.stderr
        assert "createPhysicalNetwork" not in again.stdout and "create zone" not in again.stdout


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path) -> None:
    state = str(tmp_path / "s.json")
    args = ["apply", str(CONFIGS / "lab"), "--sim", "--sim-state", state, "--yes"]
    apply = _start([*args, "--fault", "createZone:latency=20"], None, tmp_path)
    assert apply.stdout is not None
    out = _Lines(apply.stdout)
    out.until(r"done: set setting expunge\.delay")
    time.sleep(0.3)  # createZone is on the wire, for 20 s: the first Ctrl-C waits for it
    apply.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert apply.poll() is None
    second = time.monotonic()
    apply.send_signal(signal.SIGINT)
    code = apply.wait(5)
    assert code == 130 and time.monotonic() - second < 1.5
    text = out.rest()
    assert "interrupted again: exiting now" in text and "Traceback" not in text


def _caught(pid: int, signum: int) -> bool:
    """True once the process has a handler for `signum` (Linux: SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    found = re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M)
    return found is not None and bool(int(found.group(1), 16) & (1 << (signum - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("after", [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3])
def test_ctrl_c_during_start_up_never_prints_a_traceback(tmp_path: Path, after: float) -> None:
    """From the moment cstool's own code runs (it catches SIGTERM from its first import on;
    Python's interpreter start-up before that is Python's), through the imports, a Ctrl-C
    exits quietly."""
    child = _start(["validate", str(CONFIGS / "lab")], None, tmp_path)
    ends = time.monotonic() + 10
    while not _caught(child.pid, signal.SIGTERM) and child.poll() is None:
        assert time.monotonic() < ends
        time.sleep(0.001)
    time.sleep(after)
    child.send_signal(signal.SIGINT)
    output, _ = child.communicate(timeout=10)
    assert "Traceback" not in output, output
    # done before the signal (0), stopped by it (1 "interrupted", 130); in the very last
    # moments, after its handlers are gone, the signal itself ends the process (-SIGINT)
    assert child.returncode in (0, 1, 130, -signal.SIGINT), output
