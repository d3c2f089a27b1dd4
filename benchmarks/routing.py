"""Routing benchmark on Rhine-Neckar: network build, one-to-all, range, matrix, networkx.

Run: ``python benchmarks/routing.py [--repeat N] [--skip-matrix] [--skip-networkx]``.
Prints medians over repeated runs and ratios against the goals of issue 4 and against a
Dijkstra over the ``to_networkx()`` graph with averaged headways (the UrbanAccess /
peartree way). Times only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(
    os.environ.get(
        "CONNECTIVITY_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
DATE = dt.date(2016, 11, 4)  # the busiest date of the feed
DEPARTURE = 8 * 3600


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, result


def row(name, median, goal=None, note=""):
    ratio = f"{goal / median:8.1f}x under goal" if goal else ""
    print(f"{name:<44} {median * 1000:12.1f} ms  {ratio} {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument("--size", type=int, default=500, help="origins = destinations")
    args = parser.parse_args()
    folder = DATA / "rhein-neckar"
    if not (folder / "rnv.osm.pbf").exists():
        print(f"real data absent: {folder}", file=sys.stderr)
        return 1

    from connectivity import settings
    from connectivity.gtfs import load_timetable
    from connectivity.network import build_network
    from connectivity.routing import travel_time_matrix, travel_times
    from connectivity.streets import load_streets

    settings.cache_folder = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    print(f"Rhine-Neckar, {DATE}, 08:00; {os.cpu_count()} cores (shared: a loaded machine)")
    t = time.perf_counter()
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=DATE)
    print(f"inputs: {streets!r}, {tt!r} (loaded in {time.perf_counter() - t:.1f} s)")

    med, _, net = timed(lambda: build_network(streets, tt, use_cache=False), 2)
    row("network build, cold (links, footpaths, trees)", med)
    build_network(streets, tt)
    med, _, net = timed(lambda: build_network(streets, tt), args.repeat)
    row("network build, cached", med)
    print(f"  {net!r}, stop-tree entries {len(net.tree_node):,}")

    name = tt.stops["stop_name"].to_numpy()
    pos = int(np.flatnonzero(name == "MA Hauptbahnhof")[0])
    origin = (float(tt.stops["lon"][pos]), float(tt.stops["lat"][pos]))

    t = time.perf_counter()
    first = travel_times(net, origin, departure=DEPARTURE)
    once = time.perf_counter() - t
    row("first query (numba cache load / compile)", once, note="one-off")
    med, _, res = timed(lambda: travel_times(net, origin, departure=DEPARTURE), args.repeat * 2)
    row("one-to-all, one departure, every street node", med, goal=0.050)
    reached = int(np.isfinite(res.node_times()).sum())
    print(f"  reached {reached:,} of {net.n_nodes:,} street nodes")
    for target in ("HD Hauptbahnhof", "LU Hauptbahnhof"):
        idx = np.flatnonzero(name == target)
        print(f"  to {target}: {first.stop_times()[idx].min() / 60:.1f} min")

    med, _, res = timed(
        lambda: travel_times(net, origin, departure=DEPARTURE, window=3600), args.repeat
    )
    row("range-RAPTOR, 60-min window, every node", med, goal=1.0)

    if not args.skip_matrix:
        import geopandas as gpd

        rng = np.random.default_rng(0)
        near = np.flatnonzero(np.isfinite(res.node_times()))
        pick = rng.choice(near, size=2 * args.size, replace=False)
        nodes = streets.nodes
        pts = gpd.GeoDataFrame(
            {"id": np.arange(2 * args.size)},
            geometry=gpd.points_from_xy(
                nodes["lon"].to_numpy()[pick], nodes["lat"].to_numpy()[pick]
            ),
            crs="EPSG:4326",
        )
        o, d = pts.iloc[: args.size], pts.iloc[args.size :]
        med, _, m = timed(
            lambda: travel_time_matrix(
                net, o, d, departure=DEPARTURE, window=600, percentiles=(50,), n_jobs=2
            ),
            1,
        )
        row(f"matrix {args.size}x{args.size}, 10-min window, 2 processes", med, goal=30.0)
        print(f"  reached pairs: {m['travel_time_p50'].notna().mean():.1%}")

    if not args.skip_networkx:
        import networkx as nx

        t = time.perf_counter()
        g = net.to_networkx()
        build = time.perf_counter() - t
        row("to_networkx() (once)", build)
        snapped = streets.snap(*origin)
        src = ("street", int(snapped.node_v[0]))
        med_nx, _, dist = timed(
            lambda: nx.single_source_dijkstra_path_length(g, src, weight="weight"), 3
        )
        row("networkx Dijkstra, averaged headways", med_nx)
        ours, _, _ = timed(lambda: travel_times(net, origin, departure=DEPARTURE), args.repeat)
        print(f"  one-to-all RAPTOR is {med_nx / ours:.1f}x faster than the networkx Dijkstra")
        hd = [("stop", int(i)) for i in np.flatnonzero(name == "HD Hauptbahnhof")]
        est = min(dist.get(k, np.inf) for k in hd)
        print(f"  averaged-headway estimate to HD Hauptbahnhof: {est / 60:.1f} min")
    print("pyraptor comparison: not run (needs its own venv with pandas<2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
