"""Load + validate time of a generated config (default 50 zones x 48 pods = 10,101 resources).

Bound: load + validate in under 1 s per 10,000 resources (the best of --repeat runs, so that
a busy machine does not decide). --profile prints where the load's time goes (cProfile).

python bench/validate.py [--zones 50] [--pods 48] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool.model.loader import load  # noqa: E402
from cstool.model.validate import validate  # noqa: E402

BOUND_S = 1.0  # load + validate, per 10,000 resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--pods", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile of one load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_config(Path(tmp), args.zones, args.pods)
        size = sum(p.stat().st_size for p in directory.iterdir())
        runs = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            state, problems = load([directory])
            loaded = time.perf_counter()
            problems += validate(state)
            runs.append((loaded - start, time.perf_counter() - loaded))
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(load, [directory])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    load_s, validate_s = min(runs, key=sum)
    bound = BOUND_S * max(1.0, len(state) / 10_000)
    verdict = "ok" if load_s + validate_s < bound else "OVER THE BOUND"
    errors = [p for p in problems if not p.warning]
    print(f"config:   {args.zones} zones x {args.pods} pods = {len(state)} resources", end="")
    print(f" ({size / 1e6:.1f} MB of YAML); best of {len(runs)} runs")
    print(f"load:     {load_s:6.2f} s")
    print(f"validate: {validate_s:6.2f} s")
    print(f"total:    {load_s + validate_s:6.2f} s   bound {bound:.2f} s: {verdict}")
    print(f"errors:   {len(errors)}")
    for p in errors[:5]:
        print(" ", p)
    if errors or verdict != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
