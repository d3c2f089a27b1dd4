"""Headway-based services (issue 13): what random phases change, and what they cost.

For Sao Paulo (``../shared/data/sao-paulo``, a frequency-based feed) from Praca da Se
and for the HSL feed on the embedded Helsinki streets from Helsinki Central, a 60-minute
window at 08:00 routed with every boarding rule: ``scheduled`` (the expansion from each
span's start, as before issue 13), ``random`` (20 phases per minute), and the bounds
``best``, ``half_headway``, ``worst``. Printed per rule: over the street nodes reached,
the median of the nodes' 25th, 50th and 75th percentile times, and the share of nodes
whose median is within 15 and 30 minutes.

Then the cost: the 60-minute range query with one draw (``scheduled``) and with 20 draws
(``random``), medians over ``--repeat`` runs, alternately, and their ratio (issue 13's
goal: at most 5x), on Sao Paulo and on Rhine-Neckar with the RNV feed's trips turned
into frequency entries (each pattern one entry: its first trip's run times, its first
to last departure, the mean headway between them).

Run: ``python benchmarks/headways.py [--repeat N] [--skip-rnv]``. Times only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(
    os.environ.get(
        "CONNECTIVITY_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
DEPARTURE = 8 * 3600
WINDOW = 3600
RULES = ("scheduled", "random", "best", "half_headway", "worst")


def distribution(net, origin, label: str) -> None:
    from connectivity.routing.headways import headway_patterns
    from connectivity.routing.queries import travel_times

    tt = net.timetable
    n_hp = len(headway_patterns(tt))
    print(f"\n{label}: {tt.n_patterns} patterns, {n_hp} of them headway-based entries")
    # The nodes transit serves: walking alone takes 2 minutes longer than the best case.
    walk = travel_times(net, origin, departure=DEPARTURE, mode="walk", max_time=5400)
    best = travel_times(
        net, origin, departure=DEPARTURE, window=WINDOW, boarding="best", max_time=5400
    ).node_times(50)
    served = np.isfinite(best) & (walk.node_times() > best + 120)
    print(f"{int(served.sum()):,} nodes where transit saves over 2 minutes of walking")
    print(f"{'boarding':<14} {'p25':>6} {'p50':>6} {'p75':>6} {'<=15 min':>9} {'<=30 min':>9}")
    for rule in RULES:
        res = travel_times(
            net, origin, departure=DEPARTURE, window=WINDOW, boarding=rule, max_time=5400
        )
        p = {q: res.node_times(q) for q in (25, 50, 75)}
        reached = served & np.isfinite(p[50])
        cells = [np.median(p[q][reached]) / 60 for q in (25, 50, 75)]
        within = [float(np.mean(p[50][reached] <= c * 60)) for c in (15, 30)]
        print(
            f"{rule:<14} {cells[0]:6.1f} {cells[1]:6.1f} {cells[2]:6.1f} "
            f"{within[0]:9.1%} {within[1]:9.1%}  ({int(reached.sum()):,} nodes, "
            f"{res.nodes.shape[0]} rows)"
        )


def cost(net, origin, label: str, repeat: int) -> None:
    from connectivity.routing.queries import travel_times

    def run(rule):
        t = time.perf_counter()
        travel_times(net, origin, departure=DEPARTURE, window=WINDOW, boarding=rule, max_time=5400)
        return time.perf_counter() - t

    run("scheduled"), run("random")  # compile, draw the phases once
    one, many = [], []
    for _ in range(repeat):
        one.append(run("scheduled"))
        net.__dict__.pop("_drawn_engines", None)  # the phased timetables each time too
        many.append(run("random"))
    a, b = statistics.median(one), statistics.median(many)
    print(
        f"{label}: 60-min range, 1 draw {a * 1000:.0f} ms; 20 draws {b * 1000:.0f} ms "
        f"({b / a:.1f}x; goal <= 5x; R5 runs 20 searches per minute, 1,200 for the window)"
    )


def rnv_as_frequencies(tt, folder: Path) -> Path:
    """The RNV timetable as a feed of frequency entries: one per pattern of two or more
    trips (its first trip's run times, first to last departure, the mean headway)."""
    stops = tt.stops
    rows_t, rows_st, rows_f = [], [], []
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        if arr.shape[0] < 2:
            continue
        seq = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        first, last = int(dep[0, 0]), int(dep[-1, 0])
        if first < 0:
            continue
        headway = max(60, round((last - first) / (arr.shape[0] - 1)))
        trip = f"p{p}"
        rows_t.append((str(tt.routes["route_id"].iloc[tt.pattern_route[p]]), "S", trip))
        zero = int(min(arr[0].min(), dep[0].min()))  # times of the template from 00:00
        for i, s in enumerate(seq):
            rows_st.append((trip, int(arr[0, i]) - zero, int(dep[0, i]) - zero, int(s), i + 1))
        rows_f.append((trip, first, last + 1, headway, 0))

    def hms(t):
        return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    path = folder / "rnv_frequencies.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("agency.txt", "agency_id,agency_name,agency_url,agency_timezone\n"
                   "rnv,RNV,https://rnv.example,Europe/Berlin\n")  # fmt: skip
        z.writestr(
            "stops.txt",
            pd.DataFrame(
                {
                    "stop_id": [f"s{i}" for i in range(len(stops))],
                    "stop_name": stops["stop_name"].astype(str),
                    "stop_lat": stops["lat"],
                    "stop_lon": stops["lon"],
                }
            ).to_csv(index=False),
        )
        routes = tt.routes[["route_id", "route_type"]].assign(agency_id="rnv")
        if "route_short_name" in tt.routes.columns:
            routes["route_short_name"] = tt.routes["route_short_name"]
        z.writestr("routes.txt", routes.to_csv(index=False))
        z.writestr(
            "trips.txt",
            pd.DataFrame(rows_t, columns=["route_id", "service_id", "trip_id"]).to_csv(index=False),
        )
        st = pd.DataFrame(rows_st, columns=["trip_id", "a", "d", "stop", "stop_sequence"])
        z.writestr(
            "stop_times.txt",
            pd.DataFrame(
                {
                    "trip_id": st["trip_id"],
                    "arrival_time": [hms(t) for t in st["a"]],
                    "departure_time": [hms(t) for t in st["d"]],
                    "stop_id": [f"s{i}" for i in st["stop"]],
                    "stop_sequence": st["stop_sequence"],
                }
            ).to_csv(index=False),
        )
        f = pd.DataFrame(rows_f, columns=["trip_id", "s", "e", "headway_secs", "exact_times"])
        f["start_time"] = [hms(t) for t in f["s"]]
        f["end_time"] = [hms(t) for t in f["e"]]
        z.writestr(
            "frequencies.txt",
            f[["trip_id", "start_time", "end_time", "headway_secs", "exact_times"]].to_csv(
                index=False
            ),
        )
        day = tt.date.strftime("%Y%m%d")
        z.writestr(
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
            f"start_date,end_date\nS,1,1,1,1,1,1,1,{day},{day}\n",
        )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-rnv", action="store_true")
    args = parser.parse_args()
    spo = DATA / "sao-paulo"
    if not (spo / "spo_gtfs.zip").exists():
        print(f"real data absent: {spo}", file=sys.stderr)
        return 1

    from connectivity import settings
    from connectivity.network.intermodal import build_network
    from connectivity.streets.load import demo_pbf, load_streets
    from connectivity.transit.gtfs import load_timetable

    settings.cache_folder = Path(tempfile.mkdtemp(prefix="headways-bench-"))
    walk = load_streets(spo / "spo_osm.pbf", mode="walk")
    tt = load_timetable(spo / "spo_gtfs.zip")
    net = build_network(walk, tt)
    se = (-46.6339, -23.5503)  # Praca da Se
    distribution(net, se, f"Sao Paulo, Praca da Se, {tt.date}")

    from connectivity.transit.osm_feed import estimated_feed

    walk_h = load_streets(demo_pbf(), mode="walk")
    demo = load_timetable(estimated_feed(demo_pbf(), timezone="Europe/Helsinki"))
    central = (24.9414, 60.1710)
    distribution(
        build_network(walk_h, demo), central, "Helsinki, the demo's feed estimated from OSM"
    )
    hsl = DATA / "helsinki" / "hsl_gtfs.zip"
    if hsl.exists():
        net_h = build_network(walk_h, load_timetable(hsl))
        distribution(net_h, central, "HSL on the embedded Helsinki streets, Central")

    print()
    cost(net, se, "Sao Paulo", args.repeat)
    rnv = DATA / "rhein-neckar"
    if not args.skip_rnv and (rnv / "rnv_gtfs.zip").exists():
        import datetime as dt

        day = dt.date(2016, 11, 4)
        streets = load_streets(rnv / "rnv.osm.pbf", mode="walk")
        base = load_timetable(rnv / "rnv_gtfs.zip", date=day)
        folder = Path(tempfile.mkdtemp(prefix="rnv-freq-"))
        tt_f = load_timetable(rnv_as_frequencies(base, folder), date=day)
        net_f = build_network(streets, tt_f)
        print(f"RNV as frequency entries: {tt_f.n_patterns} entries, {tt_f.n_trips:,} trips")
        cost(
            net_f, (8.4660, 49.4875), "Rhine-Neckar (RNV as frequencies), Mannheim Hbf", args.repeat
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
