"""Scenarios against hand computations and against networks rebuilt from edited feeds.

Every modification is checked two ways: by hand on a small street line (times worked out
in the test), and by equality with the same change made to a GTFS feed by hand, loaded
with load_timetable and built with build_network from scratch (no scenario code).
"""

from __future__ import annotations

import numpy as np
import pytest
from _gtfs_feed import hms, write_feed

from connectivity import ScenarioError, StreetNetwork, load_timetable
from connectivity.network.intermodal import build_network
from connectivity.routing.queries import travel_times
from connectivity.scenarios.apply import apply_scenario, baseline_frames
from connectivity.scenarios.modifications import (
    AddLine,
    AddStop,
    ChangeFrequency,
    RemoveRoutes,
    RemoveStops,
    line_departures,
)

X0, Y0 = 500_000.0, 6_670_000.0
DATE = "2024-01-09"  # a Tuesday of base calendars
EIGHT = 8 * 3600


def street_line(n: int = 41, spacing: float = 100.0) -> StreetNetwork:
    """Nodes 0..n-1 on a straight east-west street, ``spacing`` metres apart, walked at
    3.6 km/h (one metre a second)."""
    x = X0 + spacing * np.arange(n)
    y = np.full(n, Y0)
    u = np.concatenate([np.arange(n - 1), np.arange(1, n)])
    v = np.concatenate([np.arange(1, n), np.arange(n - 1)])
    return StreetNetwork.from_arrays(
        x=x, y=y, u=u, v=v, length=np.full(len(u), spacing), speed_kmh=3.6, crs="EPSG:32635"
    )


def street_grid(rows: int, cols: int, spacing: float = 150.0, seed: int = 0) -> StreetNetwork:
    rng = np.random.default_rng(seed)
    xs = [X0 + c * spacing for r in range(rows) for c in range(cols)]
    ys = [Y0 + r * spacing for r in range(rows) for c in range(cols)]
    us, vs, ls = [], [], []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            for j in ([i + 1] if c + 1 < cols else []) + ([i + cols] if r + 1 < rows else []):
                length = spacing + float(rng.integers(0, 40))
                us += [i, j]
                vs += [j, i]
                ls += [length, length]
    return StreetNetwork.from_arrays(
        x=xs, y=ys, u=us, v=vs, length=ls, speed_kmh=3.6, crs="EPSG:32635"
    )


def lonlat(streets: StreetNetwork, node: int) -> tuple[float, float]:
    return float(streets.nodes["lon"][node]), float(streets.nodes["lat"][node])


def feed_files(streets, stops: dict[str, int], trips: list[tuple[str, str, list]]) -> dict:
    """A feed on ``streets``: stops at nodes, trips as (route, trip id, [(stop, arr, dep)])."""
    routes = sorted({r for r, _, _ in trips})
    stop_rows = [
        {
            "stop_id": s,
            "stop_name": s,
            "stop_lat": lonlat(streets, node)[1],
            "stop_lon": lonlat(streets, node)[0],
        }
        for s, node in stops.items()
    ]
    stop_times = [
        {
            "trip_id": t,
            "arrival_time": hms(a),
            "departure_time": hms(d),
            "stop_id": s,
            "stop_sequence": i + 1,
        }
        for _, t, events in trips
        for i, (s, a, d) in enumerate(events)
    ]
    return {
        "agency.txt": [
            {
                "agency_id": "X",
                "agency_name": "X",
                "agency_url": "https://x.example",
                "agency_timezone": "Europe/Helsinki",
            }
        ],
        "stops.txt": stop_rows,
        "routes.txt": [{"route_id": r, "route_short_name": r, "route_type": 3} for r in routes],
        "trips.txt": [{"route_id": r, "service_id": "D", "trip_id": t} for r, t, _ in trips],
        "stop_times.txt": stop_times,
        "calendar_dates.txt": [{"service_id": "D", "date": "20240109", "exception_type": 1}],
    }


def built(tmp_path, streets, files, name: str):
    path = write_feed(tmp_path / name, files, as_zip=True)
    tt = load_timetable(path, date=DATE, use_cache=False)
    return build_network(streets, tt, use_cache=False, walk_speed=3.6)


def node_times(network, origin, *, departure=EIGHT, window=None, **kw) -> np.ndarray:
    """The tests here check the timetables that modifications make against timetables
    written by hand (timed trips): a headway given to a line makes headway-based entries,
    boarded here as their expansion (``boarding="scheduled"``) to compare trip by trip;
    tests/test_headways.py covers the phases."""
    kw.setdefault("boarding", "scheduled")
    return travel_times(network, origin, departure=departure, window=window, **kw).nodes


def timed(stops: list[str], start: int, runs: list[int], dwell: int = 0) -> list:
    events, t = [], start
    for i, s in enumerate(stops):
        dep = t + (dwell if 0 < i < len(stops) - 1 else 0)
        events.append((s, t, dep))
        if i < len(runs):
            t = dep + runs[i]
    return events


# -- a new line, by hand ------------------------------------------------------------------


def test_fast_line_on_streets_alone_by_hand():
    """No feed (a city without GTFS): a line 0 m -> 3000 m, leaving at 08:05, 60 s ride.

    From node 0 at 08:00, node k is reached walking in 100 k s (no cap on the direct walk),
    or by the line: wait to 08:05 (300 s), ride 60 s, walk 100 |30 - k| s (egress at most
    1200 s); the earlier of the two.
    """
    streets = street_line()
    base = build_network(streets, None, use_cache=False, walk_speed=3.6)
    line = AddLine(
        "L",
        stops=[lonlat(streets, 0), lonlat(streets, 30)],
        departures=["08:05"],
        run_times=[60],
        dwell=0,
        both_directions=False,
    )
    net = apply_scenario(base, line)
    got = node_times(net, lonlat(streets, 0))[0]
    k = np.arange(streets.n_nodes)
    walk = 100.0 * k  # the direct walk is bounded by max_time only (none here)
    ride = np.where(100 * abs(30 - k) <= 1200, 360.0 + 100 * abs(30 - k), np.inf)
    np.testing.assert_allclose(got, np.minimum(walk, ride))
    assert got[30] == 360 and got[18] == 1560 and got[15] == 1500
    # Leaving after the only departure, only the walk remains.
    late = node_times(net, lonlat(streets, 0), departure=EIGHT + 301)[0]
    np.testing.assert_allclose(late, walk)
    # The street arrays are the baseline's own (shared, not rebuilt).
    assert net.streets is base.streets and net.modes is base.modes


def test_fast_line_with_dwell_speed_and_return_direction_by_hand():
    streets = street_line()
    base = build_network(streets, None, use_cache=False, walk_speed=3.6)
    # 3 stops at 0, 1500, 3000 m; 54 km/h = 15 m/s -> 100 s a gap; 30 s dwell at the middle.
    line = AddLine(
        "M",
        stops=[lonlat(streets, i) for i in (0, 15, 30)],
        headway=600,
        span=("08:00", "09:00"),
        speed=54,
        dwell=30,
    )
    net = apply_scenario(base, line)
    tt = net.timetable
    assert tt.n_trips == 12  # 08:00 .. 08:50 both ways
    arr, dep = tt.pattern_times(0)
    np.testing.assert_array_equal(arr[0], [EIGHT, EIGHT + 100, EIGHT + 230])
    np.testing.assert_array_equal(dep[0], [EIGHT, EIGHT + 130, EIGHT + 230])
    # From node 30 at 08:01: next departure of the return trip 08:10, 230 s to node 0.
    back = node_times(net, lonlat(streets, 30), departure=EIGHT + 60)[0]
    assert back[0] == 540 + 230
    assert back[15] == 540 + 100
    # Network arrays: new stops appended and linked at their nodes.
    assert net.n_stops == 3 and net.stop_linked.all()
    np.testing.assert_array_equal(net.stop_node, [0, 15, 30])


def test_alignment_cut_every_stop_spacing():
    streets = street_line()
    base = build_network(streets, None, use_cache=False, walk_speed=3.6)
    geojson = {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [lonlat(streets, 0), lonlat(streets, 10), lonlat(streets, 40)],
        },
    }
    net = apply_scenario(base, AddLine("A", alignment=geojson, stop_spacing=1000, headway=900))
    np.testing.assert_array_equal(net.stop_node, [0, 10, 20, 30, 40])
    (line,) = net.meta["lines"]
    assert line["km"] == pytest.approx(4.0, abs=1e-3)


def test_alignment_stops_off_the_streets_are_left_out(caplog):
    """A detour 1 km north of the street: the stops placed there are left out (with a
    warning), the run time still follows the whole alignment."""
    streets = street_line()
    base = build_network(streets, None, use_cache=False, walk_speed=3.6)
    x0, y0 = X0, Y0
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    path = [(x0, y0), (x0 + 1000, y0 + 1000), (x0 + 2000, y0)]  # 2 x 1414 m
    coords = [to_ll.transform(x, y) for x, y in path]
    line = AddLine(
        "D",
        alignment=coords,
        stop_spacing=400,
        speed=36,
        dwell=0,
        headway=600,
        follow_streets=False,
    )
    with caplog.at_level("WARNING"):
        net = apply_scenario(base, line)
    assert "are left out" in caplog.text
    # Stops every 2828 / 7 = 404 m; those more than 300 m from the street (the street
    # is the line y = y0; a stop at chainage c lies min(c, 2828 - c) / sqrt(2) away) go.
    assert net.n_stops == 4 and list(net.stop_node) == [0, 3, 17, 20]
    arr, _ = net.timetable.pattern_times(0)
    assert arr[0, -1] - arr[0, 0] == round(2 * np.hypot(1000, 1000) / 10)  # 36 km/h


def test_incremental_arrays_equal_a_full_build(tmp_path):
    """New stops' links, trees and footpaths (both ways) equal build_network's from
    scratch on the scenario's timetable; the routing results too."""
    streets = street_grid(12, 12)
    stops = {f"s{i}": node for i, node in enumerate((0, 13, 26, 39, 52, 65, 78))}
    trips = [
        ("B", f"b{k}", timed(list(stops), EIGHT + 600 * k, [120] * 6, dwell=20)) for k in range(5)
    ]
    files = feed_files(streets, stops, trips)
    base = built(tmp_path, streets, files, "f")
    line = AddLine(
        "N",
        stops=[lonlat(streets, n) for n in (143, 130, 117, 104, 91, 66)],
        headway=300,
        span=("07:30", "09:30"),
        speed=30,
    )
    net = apply_scenario(base, line)
    full = build_network(streets, net.timetable, use_cache=False, walk_speed=3.6)

    def links(n):  # a set of rows: compare sorted
        rows = np.column_stack([n.link_stop, n.link_node, n.link_dist_to, n.link_dist_from])
        return rows[np.lexsort(rows.T[::-1])]

    np.testing.assert_allclose(links(net), links(full))
    for name in ("tree_ptr", "tree_node", "rtree_ptr", "rtree_node", "stop_edge"):
        np.testing.assert_array_equal(getattr(net, name), getattr(full, name), err_msg=name)
    for name in ("tree_dist", "rtree_dist", "stop_fraction", "stop_offset"):
        np.testing.assert_allclose(getattr(net, name), getattr(full, name), err_msg=name)
    np.testing.assert_array_equal(net.fp_ptr, full.fp_ptr)
    np.testing.assert_array_equal(net.fp_to, full.fp_to)
    np.testing.assert_allclose(net.fp_dist, full.fp_dist)
    assert len(net.fp_to) > len(base.fp_to) + 6  # walks to and from the new stops
    for origin in (0, 77, 140):
        a = node_times(net, lonlat(streets, origin), window=1800)
        b = node_times(full, lonlat(streets, origin), window=1800)
        np.testing.assert_array_equal(a, b)


# -- removals and frequency changes against edited feeds ---------------------------------


@pytest.fixture
def two_routes():
    """A grid with a slow route S (every 20 min) and a fast route F over other streets."""
    streets = street_grid(10, 10)
    stops = {"a": 0, "b": 44, "c": 99, "d": 9, "e": 90}
    slow = [("S", f"s{k}", timed(["a", "b", "c"], EIGHT + 1200 * k, [400, 400])) for k in range(4)]
    fast = [("F", f"f{k}", timed(["d", "b", "e"], EIGHT + 900 * k, [200, 200])) for k in range(5)]
    return streets, stops, slow, fast


def compare(a, b, streets, origins=(0, 9, 55), window=3600):
    for o in origins:
        ta = node_times(a, lonlat(streets, o), window=window)
        tb = node_times(b, lonlat(streets, o), window=window)
        np.testing.assert_array_equal(ta, tb)


def test_remove_route_equals_feed_without_it(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    net = apply_scenario(base, RemoveRoutes(["F"]))
    by_hand = built(tmp_path, streets, feed_files(streets, stops, slow), "without")
    compare(net, by_hand, streets)
    # The removal matters: with F the times differ somewhere.
    with pytest.raises(AssertionError):
        compare(base, by_hand, streets)


def test_frequency_change_equals_feed_edited_by_hand(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    # S every 10 minutes between its first (08:00) and last (09:00) departures.
    by_hand_trips = [
        ("S", f"h{k}", timed(["a", "b", "c"], EIGHT + 600 * k, [400, 400])) for k in range(7)
    ]
    by_hand = built(tmp_path, streets, feed_files(streets, stops, by_hand_trips + fast), "hand")
    net = apply_scenario(base, ChangeFrequency(["S"], headway=600))
    compare(net, by_hand, streets)
    # scale=2: twice the service is the same timetable here.
    doubled = apply_scenario(base, ChangeFrequency(["S"], scale=2))
    compare(doubled, by_hand, streets)
    # scale=0.5 keeps every other trip: 08:00, 08:40.
    halved = apply_scenario(base, ChangeFrequency(["S"], scale=0.5))
    first = sorted(
        int(halved.timetable.departures[halved.timetable.time_ptr[p]])
        for p in range(halved.timetable.n_patterns)
        if halved.timetable.routes["route_id"][halved.timetable.pattern_route[p]] == "S"
        for _ in [0]
    )
    s_trips = halved.timetable.trips[halved.timetable.trips["route_id"] == "S"]
    assert len(s_trips) == 2 and first == [EIGHT]


def test_remove_stop_equals_feed_without_it(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    net = apply_scenario(base, RemoveStops(["b"]))
    kept = {s: n for s, n in stops.items() if s != "b"}
    drop = [(r, t, [e for e in ev if e[0] != "b"]) for r, t, ev in slow + fast]
    by_hand = built(tmp_path, streets, feed_files(streets, kept, drop), "no_b")
    compare(net, by_hand, streets)
    assert not net.stop_linked[base.timetable.stop_index("b")]


def test_add_stop_equals_feed_edited_by_hand(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    # Node 22 lies between a (node 0) and b (node 44) on the diagonal: half way.
    mod = AddStop("S", *lonlat(streets, 22), between=("a", "b"), stop_id="n", dwell=30)
    net = apply_scenario(base, mod)
    edited = []
    for r, t, ev in slow:
        (a, ta, da), (b, tb, db), (c, tc, dc) = ev
        mid = round(da + 0.5 * (tb - da))
        edited.append(
            (
                r,
                t,
                [(a, ta, da), ("n", mid, mid + 30), (b, tb + 30, db + 30), (c, tc + 30, dc + 30)],
            )
        )
    by_hand = built(tmp_path, streets, feed_files(streets, {**stops, "n": 22}, edited + fast), "n")
    compare(net, by_hand, streets, origins=(0, 22, 60))
    st = net.timetable.stop_times()
    assert (st["stop"] == net.timetable.stop_index("n")).sum() == 4


def test_frequency_change_keeps_service_periods(tmp_path, two_routes):
    """A gap over two hours ends a service period: no trips are added in it."""
    streets, stops, slow, fast = two_routes
    starts = [6 * 3600 + 1200 * k for k in range(3)] + [16 * 3600, 16 * 3600 + 1200]
    peak = [("S", f"p{k}", timed(["a", "b", "c"], t, [400, 400])) for k, t in enumerate(starts)]
    base = built(tmp_path, streets, feed_files(streets, stops, peak), "peak")
    net = apply_scenario(base, ChangeFrequency(["S"], headway=600))
    tt = net.timetable
    first = sorted(
        int(tt.pattern_times(p)[1][k, 0])
        for p in range(tt.n_patterns)
        for k in range(tt.pattern_times(p)[1].shape[0])
    )
    expected = [6 * 3600 + 600 * k for k in range(5)] + [16 * 3600 + 600 * k for k in range(3)]
    assert first == expected
    # one headway-based entry per service period, its trips named entry#time, the entry
    # route:direction:period as AddLine names a line's (no direction_id: the pattern)
    ids = set(tt.trips["trip_id"])
    assert {"S:p0:0#06:00:00", "S:p0:0#06:40:00", "S:p0:1#16:00:00", "S:p0:1#16:20:00"} <= ids
    assert sorted(tt.pattern_headway[tt.pattern_headway > 0].tolist()) == [600, 600]


def test_variants_share_the_baseline_frames(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    frames = baseline_frames(base)
    a = apply_scenario(base, RemoveRoutes(["F"]), baseline_frames=frames)
    b = apply_scenario(base, ChangeFrequency(["F"], headway=300), baseline_frames=frames)
    assert a.timetable.n_trips == 4
    assert b.timetable.n_trips == 4 + 13  # F 08:00..09:00 every 5 min
    assert base.timetable.n_trips == 9  # the baseline is untouched


def test_scenario_gtfs_round_trips(tmp_path, two_routes):
    from test_gtfs_write import assert_same

    from connectivity import audit
    from connectivity.transit.write import write_gtfs

    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    net = apply_scenario(
        base,
        [
            AddLine("T", stops=[lonlat(streets, n) for n in (5, 45, 85)], headway=600),
            ChangeFrequency(["S"], scale=2),
            AddStop("F", *lonlat(streets, 49), between=("b", "e"), stop_id="n"),
            RemoveStops(["c"]),
        ],
    )
    out = write_gtfs(net.timetable, tmp_path / "scenario.zip")
    problems = audit(out, date=DATE)
    assert not (problems["severity"] == "error").any(), problems.to_string()
    back = load_timetable(out, date=DATE, use_cache=False)
    assert_same(net.timetable, back)
    # and routes the same
    compare(net, build_network(streets, back, use_cache=False, walk_speed=3.6), streets)


def test_compare_variants_pruning_is_exact(tmp_path):
    """Variants adding a line: the accessibility of every origin equals a full routing
    on a network built from scratch, although origins that cannot reach the new line
    within the cutoff were not routed again."""
    import pandas as pd

    from connectivity.routing.matrix import travel_time_matrix
    from connectivity.scenarios.compare import compare_variants

    streets = street_grid(14, 14, spacing=200)
    stops = {f"s{i}": n for i, n in enumerate((0, 15, 30, 45, 60))}
    trips = [("B", f"b{k}", timed(list(stops), EIGHT + 600 * k, [150] * 4)) for k in range(4)]
    base = built(tmp_path, streets, feed_files(streets, stops, trips), "f")
    rng = np.random.default_rng(3)
    nodes = rng.choice(streets.n_nodes, 80, replace=False)
    pts = pd.DataFrame(
        {
            "id": nodes,
            "lon": streets.nodes["lon"].to_numpy()[nodes],
            "lat": streets.nodes["lat"].to_numpy()[nodes],
            "jobs": rng.integers(1, 50, len(nodes)),
        }
    )
    top = [lonlat(streets, n) for n in (195, 191, 187, 183)]  # along the top row
    variants = {
        f"every {h // 60} min": AddLine(
            "L", stops=top, headway=h, span=("07:30", "09:30"), follow_streets=False
        )
        for h in (300, 900)
    }
    cutoff = 1200
    got = compare_variants(base, variants, pts, pts, departure=EIGHT, cutoff=cutoff, weights="jobs")
    full = compare_variants(
        base, variants, pts, pts, departure=EIGHT, cutoff=cutoff, weights="jobs", prune=False
    )
    pd.testing.assert_frame_equal(got.accessibility, full.accessibility)
    assert (got.table["origins_routed"] < len(pts)).all()  # pruning did skip origins
    assert (full.table["origins_routed"] == len(pts)).all()
    weight = dict(zip(pts["id"], pts["jobs"], strict=True))
    for name, net in got.networks.items():
        scratch = build_network(streets, net.timetable, use_cache=False, walk_speed=3.6)
        m = travel_time_matrix(scratch, pts, pts, departure=EIGHT)
        # the new line is headway-based: its phases are drawn, the median counts
        ok = m["travel_time_p50"] <= cutoff
        expected = (m["destination"].map(weight) * ok).groupby(m["origin"]).sum().reindex(pts["id"])
        np.testing.assert_array_equal(got.accessibility[name].to_numpy(), expected.to_numpy())
    table = got.table
    assert list(table["variant"]) == ["every 5 min", "every 15 min"]
    assert table["access_gain"].iloc[0] >= table["access_gain"].iloc[1] > 0
    assert table["route_km"].iloc[0] == pytest.approx(2.4)  # three gaps of 800 m
    assert table["gain_per_km"].iloc[0] == pytest.approx(table["access_gain"].iloc[0] / 2.4)
    with pytest.raises(ScenarioError, match="rank_by must be"):
        compare_variants(base, variants, pts, pts, departure=EIGHT, rank_by="x")
    with pytest.raises(ScenarioError, match="no column 'pop'"):
        compare_variants(base, variants, pts, pts, departure=EIGHT, weights="pop")


# -- departures -------------------------------------------------------------------------


def test_headway_periods_are_half_open():
    line = AddLine("x", stops=[(0, 0), (1, 1)], headways={"06:00-07:00": 1200, "07:00-07:30": 600})
    assert list(line_departures(line)) == [21600, 22800, 24000, 25200, 25800, 26400]


# -- errors -------------------------------------------------------------------------------


@pytest.fixture
def base_line():
    streets = street_line()
    return streets, build_network(streets, None, use_cache=False, walk_speed=3.6)


def test_errors_of_new_lines(base_line):
    streets, base = base_line
    two = [lonlat(streets, 0), lonlat(streets, 30)]
    with pytest.raises(ScenarioError, match="headway of span must be > 0"):
        apply_scenario(base, AddLine("L", stops=two, headway=0))
    with pytest.raises(ScenarioError, match=r"period '06:00-07:00' must be > 0"):
        apply_scenario(base, AddLine("L", stops=two, headways={"06:00-07:00": -5}))
    with pytest.raises(ScenarioError, match="a line needs at least 2"):
        apply_scenario(base, AddLine("L", stops=two[:1], headway=600))
    with pytest.raises(ScenarioError, match=r"line 'L' stops: point 2 lies [\d,]+ m from the"):
        apply_scenario(base, AddLine("L", stops=[two[0], (25.5, 60.5)], headway=600))
    with pytest.raises(ScenarioError, match="outside the street network"):
        off = AddLine("L", stops=[two[0], (25.5, 60.5)], headway=600, follow_streets=False)
        apply_scenario(base, off)
    with pytest.raises(ScenarioError, match=r"line 'L' alignment: point 2 lies [\d,]+ m from"):
        apply_scenario(base, AddLine("L", alignment=[two[0], (25.5, 60.5)], headway=600))
    with pytest.raises(ScenarioError, match=r"line 'L' stops: unknown stop id\(s\) 'nope'"):
        apply_scenario(base, AddLine("L", stops=[two[0], "nope"], headway=600))
    with pytest.raises(ScenarioError, match="exactly one of headway"):
        apply_scenario(base, AddLine("L", stops=two, headway=600, departures=["08:00"]))
    with pytest.raises(ScenarioError, match="3 run times for 2 stops"):
        apply_scenario(base, AddLine("L", stops=two, headway=600, run_times=[1, 2, 3]))
    with pytest.raises(ScenarioError, match="speed must be > 0"):
        apply_scenario(base, AddLine("L", stops=two, headway=600, speed=0))
    with pytest.raises(ScenarioError, match="unknown mode 'hovercraft'"):
        apply_scenario(base, AddLine("L", stops=two, headway=600, mode="hovercraft"))
    with pytest.raises(ScenarioError, match="'25:99' is not a valid time"):
        apply_scenario(base, AddLine("L", stops=two, departures=["25:99"]))
    with pytest.raises(ScenarioError, match="not a GeoJSON LineString"):
        apply_scenario(base, AddLine("L", alignment={"type": "Point"}, headway=600))
    with pytest.raises(ScenarioError, match="longitude first"):
        apply_scenario(base, AddLine("L", stops=[(60.0, 125.0), (60.0, 25.0)], headway=600))
    with pytest.raises(ScenarioError, match="no modifications"):
        apply_scenario(base, [])


def test_errors_of_service_changes(tmp_path, two_routes):
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    with pytest.raises(ScenarioError, match=r"unknown route id\(s\) 'Z'.*2 routes"):
        apply_scenario(base, RemoveRoutes(["Z"]))
    with pytest.raises(ScenarioError, match=r"unknown route id\(s\) 'Q'"):
        apply_scenario(base, ChangeFrequency(["Q"], headway=600))
    with pytest.raises(ScenarioError, match="the headway must be > 0"):
        apply_scenario(base, ChangeFrequency(["S"], headway=0))
    with pytest.raises(ScenarioError, match="give one of scale, headway or headways"):
        apply_scenario(base, ChangeFrequency(["S"]))
    with pytest.raises(ScenarioError, match=r"unknown stop id\(s\) 'zz'"):
        apply_scenario(base, RemoveStops(["zz"]))
    with pytest.raises(ScenarioError, match="no trip of the route runs between 'a' and 'c'"):
        apply_scenario(base, AddStop("S", *lonlat(streets, 50), between=("a", "c")))
    with pytest.raises(ScenarioError, match="already exists"):
        apply_scenario(
            base, AddLine("S", stops=[lonlat(streets, 0), lonlat(streets, 9)], headway=600)
        )


# -- real data ----------------------------------------------------------------------------


def test_rhine_neckar_line_round_trips_and_links_like_a_build(tmp_path):
    """On the RNV feed: a proposed tram line and a doubled route write a feed that passes
    the audit and loads back into the same timetable; the new stops' links and trees
    equal those of build_network on the scenario timetable."""
    import datetime as dt

    from conftest import shared_data
    from test_gtfs_write import assert_same

    from connectivity import audit, load_streets
    from connectivity.transit.write import write_gtfs

    folder = shared_data("rhein-neckar")
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    day = dt.date(2016, 11, 4)
    tt = load_timetable(folder / "rnv_gtfs.zip", date=day)
    base = build_network(streets, tt)
    route = str(tt.routes["route_id"].iloc[0])
    line = AddLine(
        "T-Ost",
        alignment=[(8.47321, 49.48497), (8.523983, 49.476985), (8.53763, 49.48404)],
        stop_spacing=600,
        headway=600,
    )
    net = apply_scenario(base, [line, ChangeFrequency([route], scale=2)])
    n_new = len(net.meta["new_stops"])
    assert n_new >= 8 and net.n_stops == base.n_stops + n_new
    assert net.timetable.n_trips > tt.n_trips
    out = write_gtfs(net.timetable, tmp_path / "rnv_scenario.zip")
    problems = audit(out, date=day)
    assert not (problems["severity"] == "error").any(), problems.to_string()
    back = load_timetable(out, date=day, use_cache=False)
    assert_same(net.timetable, back)
    full = build_network(streets, net.timetable, use_cache=False)
    new = np.asarray(net.meta["new_stops"])
    for ptr, node in (("tree_ptr", "tree_node"), ("rtree_ptr", "rtree_node")):
        a, b = getattr(net, ptr), getattr(full, ptr)
        for s in new:
            np.testing.assert_array_equal(
                getattr(net, node)[a[s] : a[s + 1]], getattr(full, node)[b[s] : b[s + 1]]
            )
    np.testing.assert_array_equal(net.stop_edge, full.stop_edge)
    np.testing.assert_array_equal(net.fp_ptr, full.fp_ptr)
    np.testing.assert_array_equal(net.fp_to, full.fp_to)
    np.testing.assert_allclose(net.fp_dist, full.fp_dist)


def test_compare_variants_pruning_with_a_window_keeps_early_journeys(tmp_path):
    """Departures 08:00 .. 08:09, cutoff 600 s. From node 0, the only bus leaves stop B
    (node 1) at 08:01:40 and reaches C (node 20) at 08:06:40; the new line runs C -> D
    (node 40) at 08:08 (after 60 s of transfer slack), 60 s: node 40 is reached in 540 s
    leaving at 08:00. The baseline
    reaches C by the window's end plus the cutoff (08:20) from node 0 only by leaving at
    08:00 (1200 s before): pruning must still route this origin."""
    import pandas as pd

    from connectivity.scenarios.compare import compare_variants

    streets = street_line()
    stops = {"B": 1, "C": 20}
    base = built(
        tmp_path,
        streets,
        feed_files(streets, stops, [("R", "r", timed(["B", "C"], EIGHT + 100, [300]))]),
        "f",
    )
    pts = pd.DataFrame(
        {
            "id": [0, 40],
            "lon": [lonlat(streets, n)[0] for n in (0, 40)],
            "lat": [lonlat(streets, n)[1] for n in (0, 40)],
        }
    )
    line = AddLine(
        "N",
        stops=[lonlat(streets, 20), lonlat(streets, 40)],
        departures=["08:08"],
        run_times=[60],
        dwell=0,
        both_directions=False,
    )
    kw = dict(departure=EIGHT, cutoff=600, window=600)
    got = compare_variants(base, {"N": line}, pts, pts, **kw)
    full = compare_variants(base, {"N": line}, pts, pts, prune=False, **kw)
    pd.testing.assert_frame_equal(got.accessibility, full.accessibility)
    # node 0 reaches itself before and node 40 only with the new line
    assert full.accessibility.loc[0].tolist() == [1.0, 2.0]
    # origins beyond the default snapping distance, allowed by snap_distance: the pruning
    # snaps them as the matrix does (it raised OutsideNetworkError)
    from pyproj import Transformer

    far = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True).transform(
        X0 + 2000, Y0 + 700
    )
    away = pd.DataFrame({"id": [1], "lon": [far[0]], "lat": [far[1]]})
    got = compare_variants(base, {"N": line}, away, pts, snap_distance=800, **kw)
    assert got.table["origins_routed"].tolist() == [1]


# -- service patterns by period ---------------------------------------------------------


def test_period_headways_give_the_hand_count_of_departures(tmp_path, two_routes):
    """Peak 06:00-09:00 every 10 min, off-peak 09:00-10:30 every 15, evening 16:00-18:00
    every 7.5: counted by hand per period, for a new line and a changed route."""
    streets, stops, slow, fast = two_routes
    base = built(tmp_path, streets, feed_files(streets, stops, slow + fast), "base")
    periods = {"06:00-09:00": 600, "09:00-10:30": 900, "16:00-18:00": 450}
    hand = {"06:00-09:00": 18, "09:00-10:30": 6, "16:00-18:00": 16}  # 180/10, 90/15, 120/7.5
    bounds = {"06:00-09:00": (6, 9), "09:00-10:30": (9, 10.5), "16:00-18:00": (16, 18)}

    def per_period(deps) -> dict[str, int]:
        deps = np.asarray(deps)
        return {
            k: int(((deps >= a * 3600) & (deps < b * 3600)).sum()) for k, (a, b) in bounds.items()
        }

    line = AddLine("N", stops=[lonlat(streets, 0), lonlat(streets, 9)], headways=periods)
    deps = line_departures(line)
    assert per_period(deps) == hand and len(deps) == sum(hand.values())
    net = apply_scenario(base, ChangeFrequency(["S"], headways=periods))
    tt = net.timetable
    s_route = int(np.flatnonzero(tt.routes["route_id"] == "S")[0])
    trips = tt.trips[tt.trips["route"] == s_route]
    events = tt.stop_times()
    starts = events[(events["stop_sequence"] == 0) & events["trip"].isin(trips.index)]
    first = starts["departure"].tolist()
    assert per_period(first) == hand and len(first) == sum(hand.values())
    # Each new trip copies the running times of the baseline's (400 s per stop).
    arr, _ = tt.pattern_times(int(trips["pattern"].iloc[0]))
    assert (np.diff(arr, axis=1) == 400).all()
    # The same edit by hand: S's trips at those departures.
    hand_trips = [
        ("S", f"h{k}", timed(["a", "b", "c"], int(t), [400, 400])) for k, t in enumerate(deps)
    ]
    by_hand = built(tmp_path, streets, feed_files(streets, stops, hand_trips + fast), "hand")
    compare(net, by_hand, streets)
    with pytest.raises(ScenarioError, match="the periods '06:00-09:00' and '08:30-10:00' overlap"):
        apply_scenario(
            base, ChangeFrequency(["S"], headways={"06:00-09:00": 600, "08:30-10:00": 600})
        )
    with pytest.raises(ScenarioError, match="the periods '07:00-08:00' and '07:30-09:00' overlap"):
        line_departures(
            AddLine("N", stops=[(0, 0), (1, 1)], headways={"07:30-09:00": 300, "07:00-08:00": 300})
        )
    with pytest.raises(ScenarioError, match="give one of scale, headway or headways"):
        apply_scenario(base, ChangeFrequency(["S"], headway=600, headways=periods))
