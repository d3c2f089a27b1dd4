"""Benchmark of accessibility on the Rhine-Neckar data (issue 5).

Measured here:

1. walk-only cumulative accessibility from every node of the walk network (4 cutoffs,
   60-minute horizon), ``network_accessibility`` against pandana (``Network`` +
   ``precompute`` + ``aggregate``, everything included), on the same network and weights;
   with weights on every node (the worst case for our reverse search) and on 1 node in 20
   (opportunities assigned from a grid);
2. walk+transit cumulative accessibility for origins at 4 cutoffs at one departure
   (``routing.travel_times`` + ``cumulative_accessibility``), when the routing modules
   are present;
3. the core-periphery indicators by car on 5 km rings around Mannheim Hbf.

Isochrones are benchmarked in ``benchmarks/isochrones.py``.

Run: ``python benchmarks/access.py [--repeat N] [--origins N]``. Times are medians over
the repeats, wall clock, on whatever else the machine is running.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
PBF = DATA / "rhein-neckar" / "rnv.osm.pbf"
GTFS = DATA / "rhein-neckar" / "rnv_gtfs.zip"
CORE = (49.4794, 8.4694)  # Mannheim Hbf
CUTOFFS = (900, 1800, 2700, 3600)


def timed(fn, repeat):
    """Median wall time of ``repeat`` runs and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def pandana_all(net, weights, cutoffs):
    import pandana
    import pandas as pd

    ids = pd.Index(np.arange(net.n_nodes))
    pnet = pandana.Network(
        pd.Series(net.nodes["x"].to_numpy(), index=ids),
        pd.Series(net.nodes["y"].to_numpy(), index=ids),
        pd.Series(net.edges["u"].to_numpy()),
        pd.Series(net.edges["v"].to_numpy()),
        pd.DataFrame({"time": net.edges["time"].to_numpy()}),
        twoway=False,
    )
    pnet.set(ids.to_numpy(), variable=pd.Series(weights, index=ids), name="w")
    pnet.precompute(max(cutoffs))
    return np.column_stack(
        [pnet.aggregate(c, type="sum", decay="flat", name="w").to_numpy() for c in cutoffs]
    )


def bench_network_accessibility(walk, repeat):
    from connectivity.accessibility.opportunities import network_accessibility

    print(f"\n== walk-only accessibility from every node: {walk}")
    start = time.perf_counter()
    network_accessibility(walk, np.ones(walk.n_nodes), cutoffs=[1.0])  # compile or load cache
    print(f"first call (numba compile or cache load): {time.perf_counter() - start:.2f} s")
    rng = np.random.default_rng(0)
    dense = rng.uniform(0, 10, walk.n_nodes)
    sparse = np.where(rng.random(walk.n_nodes) < 0.05, dense, 0.0)
    rows = []
    for label, w in (("every node", dense), ("1 node in 20", sparse)):
        ours_t, ours_all, ours = timed(
            lambda w=w: network_accessibility(walk, w, cutoffs=CUTOFFS, progress=False), repeat
        )
        # pandana's sums are in single precision; its output goes through stdout.
        theirs_t, theirs_all, theirs = timed(lambda w=w: pandana_all(walk, w, CUTOFFS), repeat)
        diff = np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-9)
        rows.append((label, ours_t, theirs_t, diff, ours_all, theirs_all))
    print(f"\n{'weights':<14}{'ours (s)':>10}{'pandana (s)':>13}{'pandana/ours':>14}  max rel diff")
    for label, ours_t, theirs_t, diff, ours_all, theirs_all in rows:
        print(f"{label:<14}{ours_t:>10.2f}{theirs_t:>13.2f}{theirs_t / ours_t:>14.2f}  {diff:.1e}")
        print(
            f"{'':<14}runs: ours {[round(t, 2) for t in ours_all]}, "
            f"pandana {[round(t, 2) for t in theirs_all]}"
        )
    print("goal: no slower than pandana, everything included (pandana/ours >= 1)")


def bench_transit(walk, n_origins, n_jobs):
    print(f"\n== walk+transit cumulative accessibility, {n_origins} origins, 4 cutoffs")
    try:
        from connectivity.accessibility.opportunities import transit_accessibility
        from connectivity.network.intermodal import build_network
        from connectivity.transit.gtfs import load_timetable
    except ImportError as exc:
        print(f"not measured: needs routing ({exc})")
        return
    start = time.perf_counter()
    tt = load_timetable(GTFS, date="2016-11-22")
    net = build_network(walk, tt)
    print(f"timetable + intermodal network: {time.perf_counter() - start:.1f} s ({net})")
    rng = np.random.default_rng(1)
    origins = rng.choice(walk.n_nodes, n_origins, replace=False)
    lonlat = walk.nodes[["lon", "lat"]].to_numpy()[origins]
    weights = np.ones(walk.n_nodes)

    for jobs in sorted({1, n_jobs}):
        t, _, one = timed(
            lambda jobs=jobs: transit_accessibility(
                net,
                lonlat,
                weights,
                cutoffs=CUTOFFS,
                departure=8 * 3600,
                n_jobs=jobs,
                progress=False,
            ),
            1,
        )
        print(
            f"one departure (08:00), {jobs} process(es): {t:.1f} s, "
            f"{t / n_origins * 1000:.0f} ms per origin (goal <= 30 s for 1,000 origins on 2 cores)"
        )
    print(f"median nodes reached within 15/30/45/60 min: {np.median(one, axis=0).tolist()}")
    few = max(n_origins // 10, 1)
    t, _, _ = timed(
        lambda: transit_accessibility(
            net,
            lonlat[:few],
            weights,
            cutoffs=CUTOFFS,
            departure=8 * 3600,
            window=3600,
            n_jobs=n_jobs,
            progress=False,
        ),
        1,
    )
    print(
        f"60-minute window (every minute, median per node), {n_jobs} processes: {t:.1f} s for "
        f"{few} origins, {t / few:.2f} s per origin (x1,000: {t / few * 1000:.0f} s)"
    )


def bench_rings(drive, repeat):
    from connectivity.accessibility.indicators import core_periphery, core_times, report_text
    from connectivity.accessibility.zones import read_core, ring_zones

    print(f"\n== core-periphery by car, 5 km rings around Mannheim Hbf: {drive}")
    core = read_core(CORE, name="Mannheim Hbf")

    def run():
        rings = ring_zones(core, network=drive, every_km=5)
        car = core_times(drive, core)
        return core_periphery(drive, rings, times={"car": car}, cutoffs=(900, 1800, 2700))

    t, _, out = timed(run, repeat)
    print(f"rings + car times + indicators: {t:.2f} s")
    print(report_text(out, title="Rhine-Neckar, car, nodes as weights"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--origins", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=(), choices=("pandana", "transit", "rings"))
    args = parser.parse_args(argv)
    if not PBF.exists():
        print(f"not measured: {PBF} is absent")
        return 0
    from connectivity.streets.load import load_streets

    start = time.perf_counter()
    walk = load_streets(PBF, mode="walk")
    drive = load_streets(PBF, mode="drive")
    print(f"streets loaded in {time.perf_counter() - start:.1f} s (cached after the first run)")
    print(f"cores: {os.cpu_count()}; machine shared with other work, times are wall clock")
    if "pandana" not in args.skip:
        bench_network_accessibility(walk, args.repeat)
    if "rings" not in args.skip:
        bench_rings(drive, args.repeat)
    if "transit" not in args.skip:
        bench_transit(walk, args.origins, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
