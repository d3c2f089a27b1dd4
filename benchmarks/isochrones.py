"""Isochrones on the Rhine-Neckar walk and drive networks, and the demo, cold and warm.

Prints medians over repeated runs (seconds). Goals (issues 2 and 5): isochrones for 4
cutoffs from computed travel times <= 0.5 s on the agglomeration's network; the demo in
< 30 s after installation on 2 cores. Run: ``python benchmarks/isochrones.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
PBF = DATA / "rhein-neckar" / "rnv.osm.pbf"
MANNHEIM = (49.4875, 8.4660)  # Mannheim Hauptbahnhof area (lat, lon)
REPEAT = 5


def median_time(func, repeat: int = REPEAT) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench_agglomeration() -> None:
    from connectivity import settings
    from connectivity.accessibility.isochrones import _SAMPLES, isochrones, travel_times_from
    from connectivity.streets.load import load_streets

    if not PBF.exists():
        print(f"skipped: {PBF} is absent (set CONNECTIVITY_DATA)")
        return
    settings.cache_folder = ROOT / "osm_cache"
    cases = [
        ("walk", (900, 1800, 2700, 3600)),
        ("drive", (600, 1200, 1800, 2400)),
    ]
    print(f"{'network':<34} {'cutoffs (min)':<16} {'first':>7} {'median':>7} {'area km2':>10}")
    for mode, cutoffs in cases:
        net = load_streets(PBF, mode=mode)
        lat, lon = MANNHEIM
        times = travel_times_from(net, lat=lat, lon=lon, limit=max(cutoffs))
        _SAMPLES.pop(net, None)
        t0 = time.perf_counter()
        isochrones(net, times, cutoffs=cutoffs)
        first = time.perf_counter() - t0
        med, iso = median_time(lambda n=net, t=times, c=cutoffs: isochrones(n, t, cutoffs=c))
        area = iso.to_crs(net.crs).area.max() / 1e6
        label = f"{mode} ({net.n_nodes:,} nodes, {net.n_edges:,} edges)"
        minutes = ",".join(f"{c // 60}" for c in cutoffs)
        print(f"{label:<34} {minutes:<16} {first:7.3f} {med:7.3f} {area:10.1f}")
        print(f"  goal <= 0.5 s for 4 cutoffs: {'met' if med <= 0.5 else 'NOT met'}")


def bench_demo() -> None:
    exe = shutil.which("connectivity") or f"{sys.executable} -m connectivity"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CONNECTIVITY_CACHE": str(Path(tmp) / "cache")}
        cmd = [*exe.split(), "-q", "demo", "--out", str(Path(tmp) / "out")]
        runs = {}
        for label in ("cold (empty cache)", "warm", "warm"):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            runs.setdefault(label, []).append(time.perf_counter() - t0)
    print("\n`connectivity demo` (whole process, imports included):")
    for label, values in runs.items():
        print(f"  {label:<20} {statistics.median(values):6.2f} s  (goal < 30 s)")


if __name__ == "__main__":
    print(f"{os.cpu_count()} cores; medians of {REPEAT} runs\n")
    bench_agglomeration()
    bench_demo()
