"""In-process simulator throughput through the real cs client (signing, adapter, envelopes).

python bench/simulator.py [--calls 3000]        target: >= 1,000 list calls per second
"""

from __future__ import annotations

import argparse
import time

import requests
from cs import CloudStack

from cstool.simulator.transport import IN_PROCESS_ENDPOINT, SimAdapter, Simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    sim = Simulator(keys={"key": "secret"}, job_polls=0)
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim))
    cs = CloudStack(
        IN_PROCESS_ENDPOINT, "key", "secret", session=session, poll_interval=0, fetch_result=True
    )
    start = time.perf_counter()
    for i in range(args.calls // 3):
        cs.createZone(name=f"zone{i}", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.1")
    created = time.perf_counter()
    for _ in range(args.calls):
        cs.listPods(zoneid="none")
    listed = time.perf_counter()
    zones = args.calls // 3
    print(f"createZone: {zones / (created - start):8.0f} calls/s ({zones} calls)")
    print(
        f"listPods:   {args.calls / (listed - created):8.0f} calls/s ({args.calls} calls, "
        f"target >= 1000)"
    )


if __name__ == "__main__":
    main()
