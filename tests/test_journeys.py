"""Journeys and the model fixes of issue 12, against independent checks written here.

The model fixes (each test failed on the code before its fix):

- walk+transit is never worse than walking alone: the direct walk is bounded by the
  query's ``max_time``, not by ``max_walk_time`` (which bounds access, transfer and
  egress walks);
- arrive-by rounds the origin-side walk up to whole seconds, as the forward search does,
  so a latest departure by transit is a whole second the forward rules accept, and one
  second later is not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_routing import SPEED, grid, lonlat, make_timetable, random_case, street_dijkstra

from connectivity import StreetNetwork
from connectivity.network.intermodal import build_network
from connectivity.routing.queries import latest_departures, travel_times


def test_walk_plus_transit_is_never_worse_than_walking_alone():
    """A 30-minute walk+transit query with 5-minute access walks reaches every node the
    30-minute walk reaches, no later: the direct walk is not cut at max_walk_time."""
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(20):
        streets, stop_nodes, trips, origin = random_case(rng)
        tt = make_timetable(streets, stop_nodes, trips)
        net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
        both = travel_times(
            net, lonlat(streets, origin), departure=600, max_walk_time=120, max_time=1800
        ).node_times()
        walk = street_dijkstra(streets, origin, 1800)  # metres = seconds at 1 m/s
        for node, secs in walk.items():
            assert both[node] <= secs + 1e-6, (node, both[node], secs)
        beyond = [v for v, s in walk.items() if s > 120]
        checked += len(beyond)
    assert checked > 50  # many nodes lie beyond the access cap


def test_direct_walk_is_bounded_by_max_time():
    streets = grid(1, 12)
    tt = make_timetable(streets, np.array([0, 1]), [])
    net = build_network(streets, tt, walk_speed=SPEED, walk_radius=800)
    times = travel_times(
        net, lonlat(streets, 0), departure=0, max_walk_time=150, max_time=650
    ).node_times()
    expected = np.array([100.0 * i if 100 * i <= 650 else np.inf for i in range(12)])
    np.testing.assert_allclose(times, expected)


def _odd_grid(rng):
    """A grid whose street lengths are not whole metres, walked at 5 km/h: walks are
    fractions of seconds."""
    streets = grid(int(rng.integers(3, 6)), int(rng.integers(3, 6)), rng)
    e = streets.edges
    length = e["length"].to_numpy(float) + 0.37
    return StreetNetwork.from_arrays(
        x=streets.nodes["x"],
        y=streets.nodes["y"],
        u=e["u"],
        v=e["v"],
        length=length,
        speed_kmh=5.0,
        crs="EPSG:32635",
    )


def test_arrive_by_latest_departure_is_a_whole_second_the_forward_rules_accept():
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(80):
        _, stop_nodes, trips, _ = random_case(rng)
        streets = _odd_grid(rng)
        usable = np.flatnonzero(np.bincount(streets.edges["u"], minlength=streets.n_nodes))
        if len(usable) < len(stop_nodes):
            continue
        stop_nodes = rng.choice(usable, size=len(stop_nodes), replace=False)
        tt = make_timetable(streets, stop_nodes, trips)
        net = build_network(streets, tt, walk_speed=5.0, walk_radius=800, transfer_radius=250)
        dest = int(rng.choice(stop_nodes))
        arrival = int(rng.integers(1500, 3000))
        dur = latest_departures(
            net, lonlat(streets, dest), arrival=arrival, max_walk_time=300
        ).node_times()
        walk = latest_departures(
            net, lonlat(streets, dest), arrival=arrival, mode="walk"
        ).node_times()
        for o in rng.choice(usable, size=len(usable), replace=False):
            # Walking all the way has no vehicle to catch: its latest departure is
            # the arrival minus the walk, to the fraction of a second.
            if not dur[o] < walk[o]:
                continue
            latest = arrival - float(dur[o])
            assert latest == int(latest), latest
            fwd = travel_times(
                net, lonlat(streets, int(o)), departure=int(latest), max_walk_time=300
            )
            assert latest + fwd.node_times()[dest] <= arrival + 1e-3
            later = travel_times(
                net, lonlat(streets, int(o)), departure=int(latest) + 1, max_walk_time=300
            )
            assert not latest + 1 + later.node_times()[dest] <= arrival + 1e-3
            checked += 1
    assert checked > 20  # nodes whose latest departure rides a vehicle


# -- journeys rebuilt from the RAPTOR pointers ----------------------------------------


def _fp_csr(feed):
    from connectivity._arrays import csr_from_pairs

    src, dst, walk, board = [], [], [], []
    for q, lst in feed.footpaths.items():
        for p, w, b in lst:
            src.append(q)
            dst.append(p)
            walk.append(w)
            board.append(b)
    return csr_from_pairs(
        feed.n_stops,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(walk, np.int64),
        np.asarray(board, np.int64),
    )


def _check_feasible(feed, access, departure, n_rounds, legs, stop, arrival):
    """Every leg against the raw events and footpaths of the feed (no project code)."""
    assert legs[0].kind == "access" and legs[0].start == departure
    assert access[legs[0].to_stop] == legs[0].duration
    rides = [leg for leg in legs if leg.kind == "ride"]
    assert 1 <= len(rides) <= n_rounds
    assert legs[-1].kind == "ride" and legs[-1].to_stop == stop and legs[-1].end == arrival
    assert sum(leg.duration for leg in legs) == arrival - departure
    for a, b in zip(legs, legs[1:], strict=False):
        assert a.end == b.start  # contiguous in time
    for i, leg in enumerate(legs):
        assert leg.duration >= 0
        if leg.kind == "ride":
            # a real trip with a boarding event at the board stop and time, and a later
            # alighting event at the alight stop and time
            ok = any(
                e1.stop == leg.from_stop
                and e1.board
                and e1.departure == leg.start
                and e2.stop == leg.to_stop
                and e2.alight
                and e2.arrival == leg.end
                for events in feed.trips
                for x, e1 in enumerate(events)
                for e2 in events[x + 1 :]
            )
            assert ok, leg
            before = legs[i - 1]
            assert before.kind == "wait" and before.to_stop == leg.from_stop
        if leg.kind == "transfer":
            rules = [fp for fp in feed.footpaths.get(leg.from_stop, []) if fp[0] == leg.to_stop]
            assert any(w == leg.duration for _, w, _ in rules), (leg, rules)
            (board,) = [b for _, w, b in rules if w == leg.duration][:1]
            # the wait after the walk covers the slack (board cost minus walk)
            assert legs[i + 1].duration >= board - leg.duration
            assert legs[i - 1].kind == "ride" and legs[i - 1].to_stop == leg.from_stop


@pytest.mark.parametrize("seed", range(5))
def test_journeys_on_random_feeds_are_feasible_and_sum_to_the_reference_time(seed):
    from _reference import INF, reference
    from test_raptor import random_feed, to_timetable

    from connectivity.routing._raptor import range_raptor, scheduled_boarding, timetable_arrays
    from connectivity.routing.journeys import breakdown, journey_to_stop, run_with_parents

    rng = np.random.default_rng(1000 + seed)
    rebuilt = 0
    for _ in range(80):
        feed, access, departure, n_rounds = random_feed(rng)
        tt = timetable_arrays(to_timetable(feed))
        fp = _fp_csr(feed)
        a_stops = np.asarray(list(access), np.int64)
        a_times = np.asarray(list(access.values()), np.int64)
        labels = run_with_parents(tt, fp, a_stops, a_times, departure, n_rounds)
        _, ref_vehicle = reference(feed, access, departure, n_rounds)
        # the same labels as the reference and as the kernel every query uses
        assert labels.vehicle.tolist() == ref_vehicle
        bounds = scheduled_boarding(len(tt[0]) - 1)
        _, plain = range_raptor(
            *tt, *fp, a_stops, a_times, np.array([departure]), n_rounds, *bounds
        )
        assert plain[0].tolist() == ref_vehicle
        for s in range(feed.n_stops):
            legs = journey_to_stop(labels, s)
            if ref_vehicle[s] >= INF:
                assert legs == []
                continue
            _check_feasible(feed, access, departure, n_rounds, legs, s, ref_vehicle[s])
            parts = breakdown(legs)
            total = sum(parts[k] for k in ("access_s", "wait_s", "ride_s", "transfer_s"))
            assert total + parts["egress_s"] == ref_vehicle[s] - departure
            assert parts["vehicles"] == sum(leg.kind == "ride" for leg in legs)
            assert parts["access_s"] == access[legs[0].to_stop]
            rebuilt += 1
    assert rebuilt > 100


def test_journey_with_a_walking_transfer_by_hand():
    from _reference import Event, RefFeed
    from test_raptor import to_timetable

    from connectivity.routing._raptor import timetable_arrays
    from connectivity.routing.journeys import journey_to_stop, run_with_parents

    # ride 0 -> 1 (08:00 -> 08:10), walk 1 -> 2 in 120 s (+60 s slack), ride 2 -> 3
    # at 08:15 -> 08:30 (the 08:12 trip leaves before the walk and slack are done)
    trips = [
        [Event(0, 28_800, 28_800), Event(1, 29_400, 29_400)],
        [Event(2, 29_520, 29_520), Event(3, 30_000, 30_000)],
        [Event(2, 29_700, 29_700), Event(3, 30_600, 30_600)],
    ]
    feed = RefFeed(4, trips, {1: [(1, 0, 60), (2, 120, 180)], 2: [(2, 0, 60)]})
    tt = timetable_arrays(to_timetable(feed))
    labels = run_with_parents(tt, _fp_csr(feed), np.array([0]), np.array([300]), 28_200, n_rounds=3)
    legs = journey_to_stop(labels, 3)
    got = [(leg.kind, leg.from_stop, leg.to_stop, leg.start, leg.end) for leg in legs]
    assert got == [
        ("access", -1, 0, 28_200, 28_500),
        ("wait", 0, 0, 28_500, 28_800),
        ("ride", 0, 1, 28_800, 29_400),
        ("transfer", 1, 2, 29_400, 29_520),
        ("wait", 2, 2, 29_520, 29_700),
        ("ride", 2, 3, 29_700, 30_600),
    ]
    from connectivity.routing.journeys import breakdown

    assert breakdown(legs) == {
        "access_s": 300,
        "wait_s": 300 + 180,
        "ride_s": 600 + 900,
        "transfer_s": 120,
        "egress_s": 0,
        "vehicles": 2,
    }


def test_rhine_neckar_mannheim_to_heidelberg_at_eight_names_real_trips():
    """MA Hauptbahnhof -> HD Hauptbahnhof, 2016-11-04 08:00: every ride of the rebuilt
    journey is a trip of stop_times.txt (read with the csv module), boarding and
    alighting at the times the feed gives at those stops; the legs sum to the travel
    time that travel_times reports for the Heidelberg stop."""
    import csv
    import datetime as dt
    import io
    import zipfile

    from conftest import shared_data

    from connectivity import load_streets, load_timetable
    from connectivity.routing.journeys import journey_to_stop, stop_labels

    folder = shared_data("rhein-neckar")
    date = dt.date(2016, 11, 4)
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=date)
    net = build_network(streets, tt)
    name = tt.stops["stop_name"].to_numpy()
    ids = tt.stops["stop_id"].astype(str).to_numpy()
    o = int(np.flatnonzero(name == "MA Hauptbahnhof")[0])
    origin = (float(tt.stops["lon"][o]), float(tt.stops["lat"][o]))
    labels = stop_labels(net, origin, departure=8 * 3600)
    times = travel_times(net, origin, departure=8 * 3600).stop_times()
    dest = np.flatnonzero(name == "HD Hauptbahnhof")
    best = int(dest[np.argmin(labels.vehicle[dest])])
    legs = journey_to_stop(labels, best)
    assert sum(leg.duration for leg in legs) == labels.vehicle[best] - 8 * 3600
    assert times[best] <= labels.vehicle[best] - 8 * 3600  # (arrival may be on foot)
    rides = [leg for leg in legs if leg.kind == "ride"]
    assert rides
    wanted = {}
    for leg in rides:
        k = int(tt.pattern_trip_ptr[leg.pattern] + leg.trip)
        trip = tt.trips.iloc[int(tt.pattern_trips[k])]
        wanted[str(trip["gtfs_trip_id"])] = leg
    raw: dict[tuple[str, str], tuple[int, int]] = {}
    with zipfile.ZipFile(folder / "rnv_gtfs.zip") as z, z.open("stop_times.txt") as f:
        for r in csv.DictReader(io.TextIOWrapper(f, "utf-8-sig")):
            if r["trip_id"] in wanted:

                def secs(text):
                    h, m, s = (int(x) for x in text.split(":"))
                    return 3600 * h + 60 * m + s

                raw[(r["trip_id"], r["stop_id"])] = (
                    secs(r["arrival_time"]),
                    secs(r["departure_time"]),
                )
    for trip_id, leg in wanted.items():
        assert raw[(trip_id, ids[leg.from_stop])][1] == leg.start, (trip_id, leg)
        assert raw[(trip_id, ids[leg.to_stop])][0] == leg.end, (trip_id, leg)
    assert name[legs[0].to_stop].startswith("MA ") and name[rides[-1].to_stop] == "HD Hauptbahnhof"


@pytest.fixture(scope="module")
def rhine_neckar():
    """The Rhine-Neckar walk network with the RNV feed of 2016-11-04, and the raw stop
    times of every trip read with the csv module: (trip_id, stop_id) -> [(arr, dep)]."""
    import csv
    import datetime as dt
    import io
    import zipfile

    from conftest import shared_data

    from connectivity import load_streets, load_timetable

    folder = shared_data("rhein-neckar")
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=dt.date(2016, 11, 4))
    raw: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def secs(text):
        h, m, s = (int(x) for x in text.split(":"))
        return 3600 * h + 60 * m + s

    with zipfile.ZipFile(folder / "rnv_gtfs.zip") as z, z.open("stop_times.txt") as f:
        for r in csv.DictReader(io.TextIOWrapper(f, "utf-8-sig")):
            raw.setdefault((r["trip_id"], r["stop_id"]), []).append(
                (secs(r["arrival_time"]), secs(r["departure_time"]))
            )
    return build_network(streets, tt), raw


@pytest.mark.parametrize("origin", ["MA Hauptbahnhof", "Bismarckplatz", "Weinheim Hauptbahnh."])
def test_rhine_neckar_journeys_to_every_stop_are_real(rhine_neckar, origin):
    """From three origins at 08:00, the journey to every stop reached by vehicle: each
    ride boards and alights a trip of the raw stop_times.txt at the feed's times (the
    previous day's trips 24 h earlier), after a wait at the boarding stop; the legs
    follow each other without a gap and sum to the arrival the labels report; a change
    on foot is a footpath of the network, its walk the footpath's time."""
    from connectivity.routing.journeys import journey_to_stop, stop_labels

    net, raw = rhine_neckar
    tt = net.timetable
    name = tt.stops["stop_name"].to_numpy()
    ids = tt.stops["stop_id"].astype(str).to_numpy()
    o = int(np.flatnonzero(name == origin)[0])
    point = (float(tt.stops["lon"][o]), float(tt.stops["lat"][o]))
    labels = stop_labels(net, point, departure=8 * 3600)
    from connectivity.network.intermodal import FP_WALK

    # The footpaths' walks in whole seconds at the network's speed, computed here.
    src = np.repeat(np.arange(tt.n_stops), np.diff(net.fp_ptr))
    walks: dict[tuple[int, int], set[int]] = {}
    for a, b, kind, dist, t in zip(
        src, net.fp_to, net.fp_kind, net.fp_dist, net.fp_time, strict=True
    ):
        w = math.ceil(dist / (net.walk_speed / 3.6) - 1e-6) if kind == FP_WALK else int(t)
        walks.setdefault((int(a), int(b)), set()).add(w)
    lon, lat = tt.stops["lon"].to_numpy(float), tt.stops["lat"].to_numpy(float)
    reached = np.flatnonzero(labels.vehicle < 10**9)
    assert len(reached) > 0.5 * tt.n_stops, len(reached)
    rides = 0
    for s in reached:
        legs = journey_to_stop(labels, int(s))
        assert legs[-1].kind == "ride" and legs[-1].to_stop == s
        assert sum(leg.duration for leg in legs) == labels.vehicle[s] - 8 * 3600
        for a, b in zip(legs, legs[1:], strict=False):
            assert a.end == b.start, (a, b)
        for i, leg in enumerate(legs):
            assert leg.duration >= 0, leg
            if leg.kind == "ride":
                rides += 1
                k = int(tt.pattern_trip_ptr[leg.pattern] + leg.trip)
                trip = tt.trips.iloc[int(tt.pattern_trips[k])]
                shift = 86_400 * int(trip["day_offset"])
                tid = str(trip["gtfs_trip_id"])
                board = raw[(tid, ids[leg.from_stop])]
                alight = raw[(tid, ids[leg.to_stop])]
                assert any(d + shift == leg.start for _, d in board), (tid, leg)
                assert any(a + shift == leg.end for a, _ in alight), (tid, leg)
                assert legs[i - 1].kind == "wait" and legs[i - 1].to_stop == leg.from_stop
            if leg.kind == "transfer":
                assert leg.duration in walks[(leg.from_stop, leg.to_stop)], leg
                # no faster than the straight line at the walking speed (a stop beyond a
                # street's end was: Käfertal Bahnhof, 19.3 m walked for 21.1 m apart)
                crow = _metres(lon[leg.from_stop], lat[leg.from_stop], lon[leg.to_stop],
                               lat[leg.to_stop])  # fmt: skip
                assert leg.duration >= crow / (net.walk_speed / 3.6) - 0.05, (leg, crow)
    assert rides > len(reached)


def _metres(lon1, lat1, lon2, lat2):
    """Great-circle metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))
