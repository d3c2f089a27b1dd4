"""``connectivity demo`` wall time, cold (empty cache: walk network, estimated feed,
timetable and links all built) and warm (everything read from the cache), each run as a
fresh process as a user would run it. Goal: under 30 s on 2 cores.

Run: ``python benchmarks/demo.py [REPEATS]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

GOAL = 30.0


def run(cache: str, out: str) -> float:
    env = dict(os.environ, CONNECTIVITY_CACHE=cache)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "connectivity", "-q", "demo", "--out", out],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cold.append(run(f"{tmp}/cache", f"{tmp}/out"))
            warm.append(run(f"{tmp}/cache", f"{tmp}/out"))
    print(f"connectivity demo, {repeats} runs each, {os.cpu_count()} CPUs (shared)")
    print(f"{'':6} {'median s':>9} {'runs':>24} {'goal':>6} {'ratio':>6}")
    for name, values in (("cold", cold), ("warm", warm)):
        med = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:6} {med:9.1f} {runs:>24} {GOAL:6.0f} {med / GOAL:6.2f}")


if __name__ == "__main__":
    main()
