"""Load + validate time of a generated config (default 50 zones x 40 pods). Target: < 3 s.

python bench/validate.py [--zones 50] [--pods 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_config  # noqa: E402

from cstool.model.loader import load  # noqa: E402
from cstool.model.validate import validate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--pods", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_config(Path(tmp), args.zones, args.pods)
        start = time.perf_counter()
        state, problems = load([directory])
        loaded = time.perf_counter()
        problems += validate(state)
        done = time.perf_counter()
    errors = [p for p in problems if not p.warning]
    print(f"config: {args.zones} zones x {args.pods} pods = {len(state)} resources")
    print(f"load:     {loaded - start:6.2f} s")
    print(f"validate: {done - loaded:6.2f} s")
    print(f"total:    {done - start:6.2f} s   (target < 3 s); errors: {len(errors)}")
    if errors:
        for p in errors[:5]:
            print(" ", p)
        sys.exit(1)


if __name__ == "__main__":
    main()
