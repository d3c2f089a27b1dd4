"""Benchmark of the all-origins accessibility surface on Rhine-Neckar (issue 15).

Every walk-network node as an origin, a 60-minute departure window (every minute from
08:00), cumulative opportunities within 30/45/60 minutes at the median. The shared data
has no population for Rhine-Neckar, so every walk node weighs 1 (nodes reached); the
cost does not depend on the weights' values, only on how many nodes carry one (all here:
the worst case). The goal is the full run in <= 10 minutes on 2 cores.

A full run over the 152k nodes is long on a shared machine, so by default a fixed
sample of origins (seeded) is timed and the full run extrapolated linearly (origins are
independent, so the cost is linear in their number); ``--all`` runs every node. The
same sample runs on 1 process, ``--jobs`` processes and a ``--jobs``-worker Dask local
cluster, and against the per-origin baseline (``travel_times`` + ``node_times``
median + cumulative sum, what ``transit_accessibility`` does).

Run: ``python benchmarks/surface.py [--origins N] [--jobs 2] [--all]``. Times are wall
clock on whatever else the machine is running.
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
CUTOFFS = (1800, 2700, 3600)
START = 8 * 3600


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="every walk node (long)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument(
        "--sparse", action="store_true", help="weights on 1 node in 20 (as from a grid)"
    )
    args = parser.parse_args(argv)
    if not (PBF.exists() and GTFS.exists()):
        print(f"not measured: {PBF} or {GTFS} is absent")
        return 0
    import geopandas as gpd

    from connectivity import (
        accessibility_surface,
        build_network,
        cumulative_accessibility,
        load_streets,
        load_timetable,
        travel_times,
    )

    start = time.perf_counter()
    walk = load_streets(PBF, mode="walk")
    network = build_network(walk, load_timetable(GTFS, date="2016-11-22"))
    print(f"network in {time.perf_counter() - start:.1f} s: {network}")
    print(f"cores: {os.cpu_count()}; the machine's CPU is shared with other work today")
    rng = np.random.default_rng(0)
    weights = np.ones(walk.n_nodes)
    if args.sparse:
        weights = np.where(rng.random(walk.n_nodes) < 0.05, 1.0, 0.0)
    print(f"weights on {int((weights != 0).sum())} of {walk.n_nodes} nodes")
    n = walk.n_nodes if args.all else min(args.origins, walk.n_nodes)
    sample = np.sort(rng.choice(walk.n_nodes, n, replace=False))
    lon = walk.nodes["lon"].to_numpy()[sample]
    lat = walk.nodes["lat"].to_numpy()[sample]
    points = gpd.GeoDataFrame(
        {"id": sample}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
    )
    kw = {"departure": START, "window": 3600, "cutoffs": CUTOFFS, "percentile": 50}
    accessibility_surface(network, weights, origins=points.head(2), **kw)  # compile/load

    rows = []

    def run(label, **extra):
        t0 = time.perf_counter()
        surface = accessibility_surface(network, weights, origins=points, **kw, **extra)
        seconds = time.perf_counter() - t0
        rows.append((label, seconds))
        return surface

    few = max(n // 10, 5)
    t0 = time.perf_counter()
    baseline = []
    for o in range(few):
        times = travel_times(network, (lon[o], lat[o]), departure=START, window=3600)
        baseline.append(
            cumulative_accessibility(times.node_times("median"), weights, cutoffs=CUTOFFS)
        )
    base_per = (time.perf_counter() - t0) / few
    one = run("surface, 1 process")
    many = run(f"surface, {args.jobs} processes", n_jobs=args.jobs)
    if not args.skip_dask:
        dask = run(
            f"surface, Dask local cluster of {args.jobs}", n_jobs=args.jobs, scheduler="local"
        )
        same = np.array_equal(
            dask.frame[dask.columns].to_numpy(), many.frame[many.columns].to_numpy()
        )
        print(f"Dask values equal the processes' values: {same}")
    values = one.frame[one.columns].to_numpy()
    equal = np.array_equal(values[:few], np.asarray(baseline))
    print(f"surface values equal the per-origin baseline at {few} origins: {equal}")
    print(f"\n{n} origins (of {walk.n_nodes} walk nodes), 60 departures each, cutoffs 30/45/60 min")
    print(f"{'run':<36}{'seconds':>9}{'ms/origin':>11}{'all nodes (min)':>17}")
    print(
        f"{'baseline travel_times+median, 1 proc':<36}{base_per * n:>9.1f}{base_per * 1e3:>11.1f}"
        f"{base_per * walk.n_nodes / 60:>17.1f}"
    )
    for label, seconds in rows:
        per = seconds / n
        print(f"{label:<36}{seconds:>9.1f}{per * 1e3:>11.1f}{per * walk.n_nodes / 60:>17.1f}")
    best = min(s for _, s in rows)
    print(
        f"\nall {walk.n_nodes} nodes extrapolated from the best run: "
        f"{best / n * walk.n_nodes / 60:.1f} min (goal <= 10 min on 2 cores); baseline/surface "
        f"per origin on 1 process: {base_per / (rows[0][1] / n):.2f}x"
    )
    print(
        f"median nodes within 30/45/60 min: {statistics.median(values[:, 0]):.0f} / "
        f"{statistics.median(values[:, 1]):.0f} / {statistics.median(values[:, 2]):.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
