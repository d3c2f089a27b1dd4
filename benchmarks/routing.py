"""Routing benchmark on Rhine-Neckar: network build, one-to-all, range, matrix, networkx.

Run: ``python benchmarks/routing.py [--repeat N] [--skip-matrix] [--skip-networkx]``.
The cost of headway draws (issue 13: 20 draws against one, on Sao Paulo and on RNV turned
into frequency entries) is measured by ``benchmarks/headways.py``.
Prints medians over repeated runs and ratios against the goals of issues 4 and 12 (journey
pointers kept vs not, the matrix breakdown, route_usage) and against a
Dijkstra over the ``to_networkx()`` graph with averaged headways (the UrbanAccess /
peartree way), and with ``--pyraptor`` against pyraptor 1.3 in its own venv. Times only;
nothing is asserted.

Results differ by model, not only by speed: the averaged-headway Dijkstra adds half a
headway on every transit edge (so it overestimates); pyraptor merges stops by *name*
into stations with 2-minute transfers, and RNV has same-named stops far apart
("Marktplatz" in Mannheim and Heidelberg, about 25 km), so it finds journeys that
teleport between them (it underestimates).
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
    parser.add_argument(
        "--breakdown-size", type=int, default=500, help="origins = destinations of the breakdown"
    )
    parser.add_argument(
        "--usage-size", type=int, default=1000, help="origins = destinations of route_usage"
    )
    parser.add_argument("--skip-usage", action="store_true")
    parser.add_argument("--pyraptor", action="store_true", help="also run pyraptor (slow)")
    args = parser.parse_args()
    folder = DATA / "rhein-neckar"
    if not (folder / "rnv.osm.pbf").exists():
        print(f"real data absent: {folder}", file=sys.stderr)
        return 1

    from connectivity import settings
    from connectivity.network.intermodal import build_network
    from connectivity.routing.matrix import travel_time_matrix
    from connectivity.routing.queries import travel_times
    from connectivity.streets.load import load_streets
    from connectivity.transit.gtfs import load_timetable

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
    journeys_comparison(net, origin, args.repeat * 2)

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
        # The breakdown of the median's journey, in this process, against the same
        # matrix without it in this process (issue 12's goal: at most 2x).
        few = min(args.size, args.breakdown_size)
        ob, db = o.iloc[:few], d.iloc[:few]
        opts = dict(departure=DEPARTURE, window=600, percentiles=(50,))
        med_plain, _, _ = timed(lambda: travel_time_matrix(net, ob, db, **opts), 1)
        med_bd, _, mb = timed(lambda: travel_time_matrix(net, ob, db, breakdown=True, **opts), 1)
        row(f"matrix {few}x{few}, 10-min window, one process", med_plain)
        row("  the same with breakdown=True", med_bd)
        print(f"  breakdown / not: {med_bd / med_plain:.2f}x (goal <= 2x)")
        rides = mb.loc[mb["vehicles"] > 0]
        print(
            f"  pairs by transit {len(rides) / len(mb):.1%}; of their median time: "
            f"access {rides['access_s'].sum() / rides['travel_time_p50'].sum():.0%}, "
            f"wait {rides['wait_s'].sum() / rides['travel_time_p50'].sum():.0%}, "
            f"ride {rides['ride_s'].sum() / rides['travel_time_p50'].sum():.0%}"
        )

    if not args.skip_usage:
        usage_benchmark(net, streets, res, args.usage_size)

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
    if args.pyraptor:
        ours, _, _ = timed(lambda: travel_times(net, origin, departure=DEPARTURE), args.repeat)
        pyraptor_comparison(tt, "MA Hauptbahnhof", ours)
    else:
        print("pyraptor comparison: not run (give --pyraptor; it builds its own venv)")
    return 0


def usage_benchmark(net, streets, res, size: int) -> None:
    """route_usage over size x size pairs and a 10-min window, in this process (issue 12's
    goal: 1,000 x 1,000 within 60 s on 2 cores), and the routes that carry the most."""
    import geopandas as gpd

    from connectivity.routing.usage import route_usage

    rng = np.random.default_rng(1)
    near = np.flatnonzero(np.isfinite(res.node_times()))
    pick = rng.choice(near, size=2 * size, replace=False)
    nodes = streets.nodes
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(nodes["lon"].to_numpy()[pick], nodes["lat"].to_numpy()[pick]),
        crs="EPSG:4326",
    )
    o, d = pts.iloc[:size], pts.iloc[size:]
    med, _, u = timed(
        lambda: route_usage(net, o, d, departure=DEPARTURE, window=600, max_time=5400), 1
    )
    row(f"route_usage {size}x{size}, 10-min window, one process", med, goal=60.0)
    print(
        f"  pairs x minutes reached {u.total:,.0f} of {size * size:,}, by transit "
        f"{u.by_transit / u.total:.1%}; {len(u.routes)} routes, {len(u.stops)} stops, "
        f"{len(u.segments)} segments used"
    )
    top = u.routes.sort_values("boardings", ascending=False).head(10)
    for r in top.itertuples():
        print(f"  {r.route:<8} {r.mode:<6} {r.boardings:12,.0f} boardings  {r.share:6.1%}")
    busiest = u.stops.sort_values("transfers", ascending=False).head(3)
    names = ", ".join(f"{s.stop_name} ({s.transfers:,.0f})" for s in busiest.itertuples())
    print(f"  most transfers: {names}")


def journeys_comparison(net, origin, repeat: int) -> None:
    """One departure's RAPTOR over the stops, keeping the journey pointers or not (the
    same access walks and footpaths; issue 12's goal: at most 1.3x)."""
    from connectivity.routing._raptor import range_raptor, scheduled_boarding
    from connectivity.routing.engine import _engine, footpath_costs
    from connectivity.routing.journeys import stop_labels

    labels = stop_labels(net, origin, departure=DEPARTURE)
    eng = _engine(net, False)
    walk, board = footpath_costs(net, net.walk_speed, 60)
    fp = (eng.fp_ptr, eng.fp_to, walk[eng.fp_src_order], board[eng.fp_src_order])
    args = (labels.access_stops, labels.access_times)

    def plain():
        return range_raptor(
            *eng.timetable,
            *fp,
            *args,
            np.array([DEPARTURE], np.int64),
            labels.n_rounds,
            *scheduled_boarding(len(eng.timetable[0]) - 1),
        )

    from connectivity.routing.journeys import run_with_parents

    def kept():
        return run_with_parents(eng.timetable, fp, *args, DEPARTURE, labels.n_rounds)

    plain(), kept()
    med_plain, _, (_, vehicle) = timed(plain, repeat)
    med_kept, _, lab = timed(kept, repeat)
    assert np.array_equal(vehicle[0], lab.vehicle)  # the same labels
    row("RAPTOR over stops, one departure", med_plain)
    row("  the same, journey pointers kept", med_kept)
    print(f"  journeys kept / not: {med_kept / med_plain:.2f}x (goal <= 1.3x)")


_PYRAPTOR_QUERY = """
import statistics, sys, time
from pyraptor.dao.timetable import read_timetable
from pyraptor.query_raptor import run_raptor
t = time.perf_counter()
timetable = read_timetable(sys.argv[1])
print("load", time.perf_counter() - t)
times = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    journeys = run_raptor(timetable, sys.argv[2], int(sys.argv[3]), 5)
    times.append(time.perf_counter() - t)
print("query", statistics.median(times))
hd = journeys.get("HD Hauptbahnhof")
print("hd", hd.arr() - int(sys.argv[3]) if hd else -1)
"""


def _pyraptor_build(py: Path, feed: Path, out: Path, date: dt.date) -> None:
    import subprocess

    t = time.perf_counter()
    args = ["-i", str(feed), "-o", str(out), "-d", date.strftime("%Y%m%d"), "-a", "rnv"]
    subprocess.run(
        [str(py), "-m", "pyraptor.gtfs.timetable", *args], check=True, capture_output=True
    )
    row("pyraptor timetable build (once)", time.perf_counter() - t)


def pyraptor_comparison(tt, origin_name: str, ours: float) -> None:
    """pyraptor 1.3 (pure-Python RAPTOR, pandas<2) in its own venv on the same feed,
    date and origin. Its input is reshaped as it requires: one calendar_dates.txt row per
    service on the date, the trip columns it reads, a parent station per stop (it merges
    stops by name into stations; 2-minute transfers inside a station)."""
    import subprocess
    import venv

    root = Path(tempfile.gettempdir()) / "connectivity-pyraptor"
    py = root / "venv" / "bin" / "python"
    if not py.exists():
        print("  setting up the pyraptor venv (pip install pyraptor 'numpy<2') ...")
        venv.create(root / "venv", with_pip=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "pyraptor==1.3.10", "numpy<2", "attrs"],
            check=True,
        )
    feed = root / "feed"
    feed.mkdir(parents=True, exist_ok=True)
    st = tt.stop_times()
    trips = tt.trips
    keep = trips.index[~trips["trip_id"].astype(str).str.contains("@-1d")]
    st = st[st["trip"].isin(keep) & (st["arrival"] >= 0)]

    def hms(sec):
        sec = np.asarray(sec, np.int64)
        return [
            f"{a:02d}:{b:02d}:{c:02d}"
            for a, b, c in zip(sec // 3600, sec // 60 % 60, sec % 60, strict=True)
        ]

    import pandas as pd

    stops = tt.stops
    pd.DataFrame(
        {
            "agency_id": ["rnv"],
            "agency_name": ["rnv"],
            "agency_url": ["x"],
            "agency_timezone": ["Europe/Berlin"],
        }
    ).to_csv(feed / "agency.txt", index=False)
    routes = tt.routes
    pd.DataFrame(
        {
            "route_id": np.arange(len(routes)),
            "agency_id": "rnv",
            "route_short_name": routes.get("route_short_name", "r"),
            "route_long_name": "x",
            "route_type": routes["route_type"],
        }
    ).to_csv(feed / "routes.txt", index=False)
    used = trips.loc[keep]
    pd.DataFrame(
        {
            "route_id": used["route"].to_numpy(),
            "service_id": "day",
            "trip_id": used.index.to_numpy(),
            "trip_short_name": 0,
            "trip_long_name": "x",
        }
    ).to_csv(feed / "trips.txt", index=False)
    pd.DataFrame(
        {"service_id": ["day"], "date": [tt.date.strftime("%Y%m%d")], "exception_type": [1]}
    ).to_csv(feed / "calendar_dates.txt", index=False)
    pd.DataFrame(
        {
            "trip_id": st["trip"].to_numpy(),
            "arrival_time": hms(st["arrival"]),
            "departure_time": hms(st["departure"]),
            "stop_id": st["stop"].to_numpy(),
            "stop_sequence": st["stop_sequence"].to_numpy(),
        }
    ).to_csv(feed / "stop_times.txt", index=False)
    pd.DataFrame(
        {
            "stop_id": np.arange(len(stops)),
            "stop_name": stops["stop_name"],
            "parent_station": "station",
            "platform_code": np.arange(len(stops)),
            "stop_code": "c",
        }
    ).to_csv(feed / "stops.txt", index=False)
    out = root / "timetable"
    if (out / "timetable.pcl").exists():
        print(f"  reusing the pyraptor timetable in {out} (delete it to time its build)")
    else:
        _pyraptor_build(py, feed, out, tt.date)
    res = subprocess.run(
        [str(py), "-c", _PYRAPTOR_QUERY, str(out), origin_name, str(DEPARTURE), "3"],
        check=True,
        capture_output=True,
        text=True,
    )
    lines = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
    q = float(lines["query"])
    row("pyraptor one query (stations only, no walking)", q)
    print(
        f"  one-to-all RAPTOR (with walking to every node) is {q / ours:.0f}x faster "
        f"per query (goal 70x); pyraptor to HD Hauptbahnhof: {int(lines['hd']) / 60:.1f} min"
    )


if __name__ == "__main__":
    sys.exit(main())
