"""Simulator throughput through the real cs client (signing, envelopes): in-process (the
requests adapter) and over HTTP (`cstool sim serve` in its own process, one keep-alive
connection per client thread).

python bench/simulator.py [--calls 3000] [--threads 8]

Targets: in-process >= 1,000 list calls per second; over HTTP at least half the in-process
rate of the same call.

Beside the rates it prints where a single client's listPods call spends its CPU: in the client
(the cs client, requests, urllib3 and http.client) and in the `sim serve` process (HTTP parsing,
signature check, the command, the JSON answer), read from /proc after the run.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from cs import CloudStack

from cstool.simulator.transport import IN_PROCESS_ENDPOINT, SimAdapter, Simulator

KEY, SECRET = "key", "secret"


def in_process() -> Callable[[], CloudStack]:
    sim = Simulator(keys={KEY: SECRET}, job_polls=0)

    def client() -> CloudStack:
        session = requests.Session()
        session.mount("http://simulator.cstool.invalid/", SimAdapter(sim))
        return CloudStack(
            IN_PROCESS_ENDPOINT, KEY, SECRET, session=session, poll_interval=0, fetch_result=True
        )

    return client


def over_http(endpoint: str) -> Callable[[], CloudStack]:
    def client() -> CloudStack:
        return CloudStack(endpoint, KEY, SECRET, poll_interval=0, fetch_result=True)

    return client


def own_cpu() -> float:
    """Seconds of CPU this process has used (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """Seconds of CPU process `pid` has used (user and system), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rates(
    make: Callable[[], CloudStack],
    calls: int,
    threads: int,
    tag: str,
    spent: list[float] | None = None,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> list[float]:
    """createZone and listPods calls per second, one client, then listPods from `threads`
    clients at once. The CPU microseconds per call of the single-client listPods, in this
    process and in the server's, go into `spent`."""
    cs = make()
    zones = calls // 3
    start = time.perf_counter()
    for i in range(zones):
        cs.createZone(
            name=f"{tag}{i}", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.1"
        )
    mine, theirs = own_cpu(), server_cpu()
    created = time.perf_counter()
    for _ in range(calls):
        cs.listPods(zoneid="none")
    listed = time.perf_counter()
    if spent is not None:
        spent[:] = [(own_cpu() - mine) / calls * 1e6, (server_cpu() - theirs) / calls * 1e6]
    each = calls // threads

    def work(_: int) -> None:
        mine = make()
        for _ in range(each):
            mine.listPods(zoneid="none")

    with ThreadPoolExecutor(threads) as pool:
        begun = time.perf_counter()
        list(pool.map(work, range(threads)))
        parallel = time.perf_counter()
    return [
        zones / (created - start),
        calls / (listed - created),
        each * threads / (parallel - begun),
    ]


class Server:
    """`cstool sim serve` on a free port in its own process."""

    def __init__(self, state: Path) -> None:
        cmd = [sys.executable, "-m", "cstool", "sim", "serve", "--port", "0", "--state"]
        cmd += [str(state), "--api-key", KEY, "--secret-key", SECRET, "--job-polls", "0"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        found = re.search(r"listening on (\S+)", self.process.stdout.readline())
        if not found:
            self.process.kill()
            raise RuntimeError("sim serve did not start")
        self.endpoint = found.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    local_spent: list[float] = []
    spent: list[float] = []
    local = rates(in_process(), args.calls, args.threads, "local", local_spent)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "sim.json")
        try:
            pid = server.process.pid
            http = rates(
                over_http(server.endpoint),
                args.calls,
                args.threads,
                "http",
                spent,
                lambda: process_cpu(pid),
            )
        finally:
            server.stop()
    names = ("createZone", "listPods", f"listPods x{args.threads} threads")
    print(f"{'calls per second':28} {'in-process':>10} {'HTTP':>10}  target")
    for name, mine, wire in zip(names, local, http, strict=True):
        verdict = "met" if wire >= mine / 2 else "NOT met"
        target = f"HTTP >= {mine / 2:.0f} ({verdict})"
        if name == "listPods":
            target += f"; in-process >= 1000 ({'met' if mine >= 1000 else 'NOT met'})"
        print(f"{name:28} {mine:10.0f} {wire:10.0f}  {target}")
    print(
        f"single-client listPods, CPU per call: in-process {local_spent[0]:.0f} us (client and"
        f" simulator); over HTTP client {spent[0]:.0f} us, sim serve {spent[1]:.0f} us"
    )


if __name__ == "__main__":
    main()
