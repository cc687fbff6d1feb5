"""Hosts in parallel: a whole zone (4 pods x 2 KVM clusters x 8 hosts) against its bound.

The config is a generated Advanced zone (bench/generate.py) whose every pod holds two KVM
clusters of eight hosts (IPs in the pod's CIDR, outside its management ranges), one NFS pool
per cluster, and one NFS image store in the zone. It is applied to an empty simulator with a
latency per API request (default 50 ms) and hosts that take `--host-connect` seconds
(default 2 s) to be Up after addHost (the simulator's `addHost:connect-time` fault: the host
answers Connecting, then is Up), at parallelism 8, `--runs` times (min/median/max).

Two bounds are printed (no schedule can do better than the larger):
- the critical path of the plan's dependency graph (order.critical_path), each step costing
  its requests x the latency, plus the connect time for each step that waits for a host
  to be Up. "First host first" (a cluster's other hosts wait for its first) puts two
  host waits on it: about 0.3 + 2.1 + 2.1 + 0.1 s;
- the width bound: all requests of the plan x the latency / 8.
The target is an apply within 1.5x of the larger. For comparison, the least time with one
host at a time (as Marvin's deployDataCenter adds them) is printed too; `--serial-hosts`
also measures an apply at parallelism 1.

A wait holds no worker: cstool's waiter lists each cluster's hosts once per round, first at
once, then after 0.1 s growing x1.5 up to 1 s. That cap decides how close to the bound the
apply gets (a host Up just after a poll is seen up to 1 s later).

    python bench/apply_hosts.py [--latency 0.05] [--host-connect 2] [--runs 3] [--serial-hosts]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import zone  # noqa: E402

from cstool import apispec, ops  # noqa: E402
from cstool.cloud.api import Api, sim_target  # noqa: E402
from cstool.model.order import critical_path  # noqa: E402
from cstool.model.plan import Plan, Step  # noqa: E402
from cstool.simulator.transport import Fault  # noqa: E402

PODS, CLUSTERS, HOSTS = 4, 2, 8
PARALLELISM = 8
TARGET = 1.5
PASSWORD_ENV = "CSTOOL_BENCH_HOST_PASSWORD"


def config(pods: int = PODS, clusters: int = CLUSTERS, hosts: int = HOSTS) -> dict[str, Any]:
    """The zone: bench/generate.py's Advanced zone, with compute and storage in every pod."""
    out = zone(0, pods)
    for p, pod in enumerate(out["pods"]):
        pod["clusters"] = [
            {
                "name": f"c{c}",
                "hypervisor": "KVM",
                "hosts": [
                    {
                        "url": f"http://10.0.{p}.{100 + 10 * c + h}",
                        "username": "root",
                        "password": {"env": PASSWORD_ENV},
                    }
                    for h in range(hosts)
                ],
                "primary_storage": [
                    {"name": f"ps-{p}-{c}", "url": f"nfs://10.0.{p}.5/export/primary-{c}"}
                ],
            }
            for c in range(clusters)
        ]
    out["secondary_storage"] = [{"url": "nfs://10.0.0.5/export/secondary"}]
    return {"zones": [out]}


def requests_of(step: Step) -> int:
    """HTTP requests one step makes: one per call, plus the poll that finds an async job
    done (the simulator answers every job at its first poll); a state wait counts the one
    list that sees the state reached."""
    total = 0
    for call in step.calls:
        spec = apispec.command(call.command)
        total += 2 if spec is not None and spec.is_async and call.until is None else 1
    return total


def waits_for_host(step: Step) -> bool:
    """A step that waits for a host to be Up (addHost, then listHosts until state Up)."""
    return any(c.until is not None and c.until.equals == "Up" for c in step.calls)


@dataclass(frozen=True)
class Bounds:
    path_s: float
    path_steps: int
    path_hosts: int  # host waits on the critical path
    width_s: float
    serial_hosts_s: float
    requests: int
    host_steps: int

    @property
    def best(self) -> float:
        return max(self.path_s, self.width_s)


def bounds(plan: Plan, latency: float, host_connect: float, parallelism: int) -> Bounds:
    """The critical path (requests x latency, plus the connect time of each host wait on it),
    the width bound, and the least time with one host at a time."""
    deps = plan.dependencies()
    requests = [requests_of(s) for s in plan.steps]
    cost = [
        n * latency + (host_connect if waits_for_host(s) else 0.0)
        for n, s in zip(requests, plan.steps, strict=True)
    ]
    path = critical_path(deps, lambda i: cost[i])
    hosts = [i for i, s in enumerate(plan.steps) if waits_for_host(s)]
    return Bounds(
        path_s=sum(cost[i] for i in path),
        path_steps=len(path),
        path_hosts=sum(1 for i in path if waits_for_host(plan.steps[i])),
        width_s=sum(requests) * latency / parallelism,
        serial_hosts_s=sum(cost[i] for i in hosts),
        requests=sum(requests),
        host_steps=len(hosts),
    )


@dataclass(frozen=True)
class Run:
    apply_s: float
    calls: int


def run(path: Path, state: Path, parallelism: int, latency: float, connect: float) -> Run:
    faults = [
        Fault("*", "latency", value=str(latency)),
        Fault("addHost", "connect-time", value=str(connect)),
    ]
    api = Api(sim_target(state, faults, job_polls=0))
    desired = ops.desired_state([path]).state
    plan, live = ops.plan(api, desired)
    before = sum(api.calls.values())
    start = time.perf_counter()
    report = ops.apply(api, plan, live, parallelism)
    done = time.perf_counter()
    assert report.ok, [r.error for r in report.failed]
    return Run(done - start, sum(api.calls.values()) - before)


def first_plan(path: Path, state: Path) -> Plan:
    """The plan of the config against an empty simulator (no latency: only its shape)."""
    api = Api(sim_target(state, [], job_polls=0))
    plan, _ = ops.plan(api, ops.desired_state([path]).state)
    return plan


def spread(values: Sequence[float], unit: str = " s") -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:5.2f} / {mid:5.2f} / {high:5.2f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--host-connect", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serial-hosts", action="store_true", help="also apply at parallelism 1")
    args = parser.parse_args()
    os.environ.setdefault(PASSWORD_ENV, f"bench-{uuid.uuid4().hex}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zone.yaml"
        path.write_text(yaml.safe_dump(config(), sort_keys=False))
        plan = first_plan(path, Path(tmp) / "shape.json")
        b = bounds(plan, args.latency, args.host_connect, PARALLELISM)
        print(
            f"one zone: {PODS} pods x {CLUSTERS} KVM clusters x {HOSTS} hosts, "
            f"{args.latency * 1000:.0f} ms per request, hosts Up {args.host_connect:g} s "
            "after addHost"
        )
        print(f"  plan: {len(plan.steps)} steps ({b.host_steps} hosts), {b.requests} requests")
        runs = [
            run(path, Path(tmp) / f"sim-{n}.json", PARALLELISM, args.latency, args.host_connect)
            for n in range(args.runs)
        ]
        fast = [r.apply_s for r in runs]
        print(f"  parallelism {PARALLELISM}: apply {spread(fast)}   min/median/max of {len(runs)}")
        print(f"  API requests of an apply (with the waits' polls): {runs[0].calls}")
        print(
            f"  critical path ({b.path_steps} steps, {b.path_hosts} host waits): {b.path_s:6.2f} s"
        )
        print(f"  width bound, all requests / {PARALLELISM}:       {b.width_s:6.2f} s")
        print(f"  one host at a time (least):         {b.serial_hosts_s:6.2f} s")
        ratios = [f / b.best for f in fast]
        print(f"  apply / max(critical path, width):  {spread(ratios, 'x')}   target <= 1.5x")
        if args.serial_hosts:
            one = run(path, Path(tmp) / "sim-serial.json", 1, args.latency, args.host_connect)
            print(f"  parallelism 1: apply {one.apply_s:5.2f} s")
    if max(ratios) > TARGET:
        print(f"MISSED: parallelism {PARALLELISM} {max(fast):.2f} s > 1.5 x {b.best:.2f} s")
        sys.exit(1)


if __name__ == "__main__":
    main()
