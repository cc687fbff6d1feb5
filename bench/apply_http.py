"""Apply a generated zones x pods config over HTTP to `cstool sim serve` (its own process),
each run on a fresh state, through the real cs client and real sockets.

    python bench/apply_http.py [--zones 200] [--pods 20] [--parallelism 8] [--runs 3] [--api]

Target: a 200 x 20 apply at parallelism 8 in under 120 s. By default each run is
`cstool apply --yes` as an operator runs it: it takes the cloud lock, and waits before a
job's first poll as on a real cloud, that wait then following how soon the command's jobs
end (waits.FirstPolls). The server answers every job as done at the first query
(--job-polls 0). --api runs plan + apply through the library instead, polling at once as for
the in-process simulator, so the time is the tool's and the server's alone.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool import ops  # noqa: E402
from cstool.cloud.api import Api, sim_target  # noqa: E402
from cstool.cloud.targets import Target  # noqa: E402

KEY, SECRET = "bench-key", "bench-secret"


class Server:
    """`cstool sim serve` on a free port, stopped (and its state saved) on exit."""

    def __init__(self, state: Path, job_polls: int) -> None:
        cmd = [sys.executable, "-m", "cstool", "sim", "serve", "--port", "0", "--state"]
        cmd += [str(state), "--api-key", KEY, "--secret-key", SECRET]
        cmd += ["--job-polls", str(job_polls)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        found = re.search(r"listening on (\S+)", first)
        if not found:
            self.process.kill()
            raise RuntimeError(f"sim serve did not start: {first!r}")
        self.endpoint = found.group(1)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def apply_once(config: Path, state: Path, parallelism: int, job_polls: int, cli: bool) -> float:
    """Seconds for one plan + apply against a fresh server; fails loudly."""
    with Server(state, job_polls) as server:
        if cli:
            return _cli_apply(config, server.endpoint, parallelism)
        target = Target(f"sim serve {server.endpoint}", server.endpoint, KEY, SECRET)
        target.poll_interval = 0.0  # ask at once, as for the in-process simulator
        api = Api(target, parallelism=parallelism)
        desired = ops.desired_state([config]).state
        start = time.perf_counter()
        plan, live = ops.plan(api, desired)
        report = ops.apply(api, plan, live, parallelism)
        took = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f"apply failed: {[r.error for r in report.failed][:3]}")
    return took


def in_process(config: Path, state: Path, parallelism: int) -> float:
    """The same plan + apply on the in-process simulator (no sockets), for comparison."""
    api = Api(sim_target(state, job_polls=0), parallelism=parallelism)
    desired = ops.desired_state([config]).state
    start = time.perf_counter()
    plan, live = ops.plan(api, desired)
    report = ops.apply(api, plan, live, parallelism)
    took = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f"apply failed: {[r.error for r in report.failed][:3]}")
    return took


def _cli_apply(config: Path, endpoint: str, parallelism: int) -> float:
    env = {**os.environ, "CLOUDSTACK_ENDPOINT": endpoint}
    env.update(CLOUDSTACK_KEY=KEY, CLOUDSTACK_SECRET=SECRET)
    cmd = [sys.executable, "-m", "cstool", "apply", str(config), "--yes"]
    cmd += ["--parallelism", str(parallelism)]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"apply exited {done.returncode}:\n{done.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--job-polls", type=int, default=0)
    parser.add_argument("--bound", type=float, default=120.0, help="target, seconds")
    parser.add_argument(
        "--api", action="store_true", help="plan + apply through the library, polling at once"
    )
    parser.add_argument("--compare", action="store_true", help="also once in-process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "config", args.zones, args.pods)
        print(
            f"{args.zones} zones x {args.pods} pods over HTTP, parallelism {args.parallelism}, "
            f"job polls {args.job_polls}, "
            + ("library, polls at once" if args.api else "cstool apply")
        )
        times = []
        for run in range(args.runs):
            state = Path(tmp) / f"sim{run}.json"
            took = apply_once(config, state, args.parallelism, args.job_polls, not args.api)
            times.append(took)
            print(f"run {run + 1}: {took:7.1f} s")
        if args.compare:
            took = in_process(config, Path(tmp) / "local.json", args.parallelism)
            print(f"in-process (no sockets), once: {took:7.1f} s")
    verdict = "met" if max(times) < args.bound else "NOT met"
    print(
        f"min {min(times):.1f} s, median {statistics.median(times):.1f} s, max {max(times):.1f} s"
        f" (target < {args.bound:.0f} s: {verdict})"
    )


if __name__ == "__main__":
    main()
