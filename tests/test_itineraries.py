"""journeys(): point-to-point journeys leg by leg (issue 12, Build 1 and 3).

Checked against travel_time_matrix (the travel time of every departure minute), against
the raw events of the hand-built and random feeds (every ride is a real trip's stop
times, boarding before alighting), and against itself (the legs follow each other and
sum to the travel time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _timetables import Event
from test_routing import SPEED, grid, lonlat, make_timetable

from connectivity import (
    NoJourneyError,
    OutsideNetworkError,
    ParameterError,
    journeys,
    travel_time_matrix,
)
from connectivity.network.intermodal import build_network


def _net(streets, stop_nodes, trips, radius=400):
    tt = make_timetable(streets, stop_nodes, trips)
    return build_network(streets, tt, transfer_radius=radius, walk_radius=1300, walk_speed=SPEED)


def _matrix_time(net, origin, destination, departure, **options):
    frame = lambda p: pd.DataFrame({"lon": [p[0]], "lat": [p[1]]})  # noqa: E731
    m = travel_time_matrix(net, frame(origin), frame(destination), departure=departure, **options)
    return float(m["travel_time"].iloc[0]) if "travel_time" in m else float(m.iloc[0, -1])


def _check_legs(legs, trips):
    """Legs follow each other, sum to the travel time, and every ride is a real trip."""
    for _, journey in legs.groupby("journey"):
        journey = journey.sort_values("leg")
        assert journey["duration_s"].sum() == pytest.approx(journey["travel_time_s"].iloc[0])
        ends = journey["end_s"].to_numpy()[:-1]
        assert np.allclose(journey["start_s"].to_numpy()[1:], ends)
        assert (journey["duration_s"] >= -1e-9).all()
        for ride in journey[journey["kind"] == "ride"].itertuples():
            events = trips[int(ride.trip_id[1:])]
            stops = [f"s{e.stop}" for e in events]
            board, alight = stops.index(ride.from_stop_id), stops.index(ride.to_stop_id)
            assert board < alight
            assert events[board].departure == ride.start_s
            assert events[alight].arrival == ride.end_s
        kinds = journey["kind"].tolist()
        assert kinds == ["walk"] or (kinds[0] == "access" and kinds[-1] == "egress")


def test_one_line_by_hand():
    # A 1 x 6 street of 100 m blocks; a bus from node 1 (08:02) to node 4 (08:05).
    streets = grid(1, 6)
    trips = [[Event(0, 8 * 3600 + 120, 8 * 3600 + 120), Event(1, 8 * 3600 + 300, 8 * 3600 + 300)]]
    net = _net(streets, [1, 4], trips)
    legs = journeys(net, lonlat(streets, 0), lonlat(streets, 5), departure=8 * 3600)
    assert legs["kind"].tolist() == ["access", "wait", "ride", "egress"]
    # 100 m to the stop (100 s at 1 m/s), wait to 08:02, ride 3 min, 100 m on.
    assert legs["duration_s"].tolist() == pytest.approx([100, 20, 180, 100])
    assert legs["start"].tolist() == ["08:00:00", "08:01:40", "08:02:00", "08:05:00"]
    assert legs["from_name"].tolist() == ["origin", "s0", "s0", "s1"]
    assert legs["to_name"].tolist() == ["s0", "s0", "s1", "destination"]
    assert legs["trip_id"].iloc[2] == "t0" and legs["route_id"].iloc[2] == "r"
    assert legs["travel_time_s"].iloc[0] == pytest.approx(400)
    assert legs.crs == "EPSG:4326"
    # Walks follow the street: the egress line runs from the stop's node to node 5.
    egress = legs.geometry.iloc[3]
    assert egress.coords[0] == pytest.approx(lonlat(streets, 4), abs=1e-9)
    assert egress.coords[-1] == pytest.approx(lonlat(streets, 5), abs=1e-9)


def test_a_window_counts_the_minutes_of_each_journey():
    streets = grid(1, 6)
    t0 = 8 * 3600
    trips = [
        [Event(0, t0 + 240, t0 + 240), Event(1, t0 + 420, t0 + 420)],
        [Event(0, t0 + 600, t0 + 600), Event(1, t0 + 780, t0 + 780)],
    ]
    net = _net(streets, [1, 4], trips)
    legs = journeys(net, lonlat(streets, 0), lonlat(streets, 5), departure=t0, window=600)
    heads = legs.drop_duplicates("journey")
    # Walking takes 500 s (500 m at 1 m/s); a bus 100 s of walk + wait + 180 s + 100 s.
    # 08:01 and 08:02 catch the 08:04 bus (460 s, 400 s), 08:07 and 08:08 the 08:10 one;
    # 08:00 (520 s by bus), 08:03-08:06 and 08:09 walk: six minutes.
    assert heads["first_departure"].tolist() == ["08:00:00", "08:01:00", "08:07:00"]
    assert heads["last_departure"].tolist() == ["08:09:00", "08:02:00", "08:08:00"]
    assert heads["departures"].tolist() == [6, 2, 2]
    assert heads["travel_time_s"].tolist() == pytest.approx([500, 460, 460])
    assert heads["trip_id"].isna().all()
    rides = legs[legs["kind"] == "ride"]
    assert rides["trip_id"].tolist() == ["t0", "t1"]
    for k, d in enumerate((t0, t0 + 60, t0 + 420)):
        got = _matrix_time(net, lonlat(streets, 0), lonlat(streets, 5), d)
        assert heads["travel_time_s"].iloc[k] == pytest.approx(got)
    _check_legs(legs, trips)


def _random_case(rng):
    """A random grid of 300-360 m blocks (walking is slow against the buses there), a
    few stops and routes with random trips, an origin and a destination."""
    streets = grid(int(rng.integers(2, 6)), int(rng.integers(2, 6)), rng, spacing=300)
    deg = np.bincount(streets.edges["u"], minlength=streets.n_nodes)
    usable = np.flatnonzero(deg > 0)
    n_stops = int(rng.integers(2, min(len(usable), 7) + 1))
    stop_nodes = rng.choice(usable, size=n_stops, replace=False)
    trips = []
    for _ in range(int(rng.integers(1, 5))):
        seq = [
            int(s)
            for s in rng.choice(n_stops, size=int(rng.integers(2, n_stops + 1)), replace=False)
        ]
        for _ in range(int(rng.integers(1, 5))):
            t = int(rng.integers(0, 1800))
            events = []
            for s in seq:
                dwell = int(rng.integers(0, 3)) * 20
                events.append(Event(s, t, t + dwell))
                t += dwell + int(rng.integers(1, 4)) * 60
            trips.append(events)
    origin, target = (int(x) for x in rng.choice(usable, size=2))
    return streets, stop_nodes, trips, origin, target


@pytest.mark.parametrize("seed", range(6))
def test_random_feeds_equal_the_matrix_minute_by_minute(seed):
    rng = np.random.default_rng(100 + seed)
    checked = rides = 0
    for _ in range(25):
        streets, stop_nodes, trips, origin, target = _random_case(rng)
        net = _net(streets, stop_nodes, trips, radius=float(rng.choice([150, 400])))
        departure = int(rng.integers(0, 1200))
        o, d = lonlat(streets, origin), lonlat(streets, target)
        try:
            legs = journeys(net, o, d, departure=departure, window=300)
        except NoJourneyError:
            continue
        _check_legs(legs, trips)
        rides += int((legs["kind"] == "ride").sum())
        for row in legs.drop_duplicates("journey").itertuples():
            h, m, s = (int(x) for x in row.first_departure.split(":"))
            got = _matrix_time(net, o, d, 3600 * h + 60 * m + s)
            assert row.travel_time_s == pytest.approx(got, abs=1e-3)
            checked += 1
    assert checked >= 20 and rides >= 5, (checked, rides)


def test_errors_name_the_value():
    streets = grid(1, 6)
    trips = [[Event(0, 100, 100), Event(1, 300, 300)]]
    net = _net(streets, [1, 4], trips)
    o, d = lonlat(streets, 0), lonlat(streets, 5)
    with pytest.raises(ParameterError, match=r"window must be a positive number .*-60"):
        journeys(net, o, d, departure=0, window=-60)
    with pytest.raises(OutsideNetworkError, match=r"from the nearest street"):
        journeys(net, o, (d[0] + 0.5, d[1]), departure=0)
    with pytest.raises(NoJourneyError, match=r"no journey from origin .* within 2 min"):
        journeys(net, o, d, departure=0, max_time=120)


def test_rhine_neckar_mannheim_to_heidelberg_names_lines_and_stops():
    """MA Hauptbahnhof -> HD Hauptbahnhof, 2016-11-04 08:00-08:10: the rides are trips
    of the feed between named stops, each journey's time equals the matrix's for its
    first minute, and the minutes of the window are all accounted for."""
    import datetime as dt

    from conftest import shared_data

    from connectivity import load_streets, load_timetable

    folder = shared_data("rhein-neckar")
    streets = load_streets(folder / "rnv.osm.pbf", mode="walk")
    tt = load_timetable(folder / "rnv_gtfs.zip", date=dt.date(2016, 11, 4))
    net = build_network(streets, tt)
    stops = tt.stops.set_index("stop_name")
    o = tuple(stops.loc["MA Hauptbahnhof", ["lon", "lat"]].iloc[0])
    d = tuple(stops.loc["HD Hauptbahnhof", ["lon", "lat"]].iloc[0])
    legs = journeys(net, o, d, departure=8 * 3600, window=600)
    heads = legs.drop_duplicates("journey")
    assert heads["departures"].sum() == 10
    rides = legs[legs["kind"] == "ride"]
    assert len(rides) and rides["route"].notna().all()
    assert rides["from_name"].str.startswith("MA ").any()
    assert (rides.groupby("journey")["to_name"].last() == "HD Hauptbahnhof").all()
    assert set(rides["trip_id"]) <= set(tt.trips["gtfs_trip_id"])
    for row in heads.itertuples():
        h, m, s = (int(x) for x in row.first_departure.split(":"))
        got = _matrix_time(net, o, d, 3600 * h + 60 * m + s)
        assert row.travel_time_s == pytest.approx(got, abs=1e-3)


def _leg_breakdown(legs) -> dict[str, float]:
    by = legs.groupby("kind")["duration_s"].sum()
    get = lambda k: float(by.get(k, 0.0))  # noqa: E731
    return {
        "access_s": get("access") + get("walk"),
        "wait_s": get("wait"),
        "ride_s": get("ride"),
        "transfer_s": get("transfer"),
        "egress_s": get("egress"),
        "vehicles": float((legs["kind"] == "ride").sum()),
    }


@pytest.mark.parametrize("seed", range(3))
def test_matrix_breakdown_is_the_journey_of_the_percentile_minute(seed):
    """breakdown=True over a window: the parts sum to the percentile's travel time and
    equal the legs of the single-departure journey at the first minute whose time is
    that percentile (found here by running every minute alone)."""
    rng = np.random.default_rng(300 + seed)
    compared = with_rides = 0
    for _ in range(12):
        streets, stop_nodes, trips, origin, _ = _random_case(rng)
        net = _net(streets, stop_nodes, trips)
        pts = rng.choice(streets.n_nodes, size=min(4, streets.n_nodes), replace=False)
        frame = pd.DataFrame(
            {
                "id": pts,
                "lon": streets.nodes["lon"].to_numpy()[pts],
                "lat": streets.nodes["lat"].to_numpy()[pts],
            }
        )
        departure = int(rng.integers(0, 1200))
        p = float(rng.choice([25, 50, 75]))
        m = travel_time_matrix(
            net, frame, frame, departure=departure, window=300, percentiles=(p,), breakdown=True
        )
        parts = ["access_s", "wait_s", "ride_s", "transfer_s", "egress_s"]
        reached = m[f"travel_time_p{p:g}"].notna()
        assert np.allclose(
            m.loc[reached, parts].sum(axis=1), m.loc[reached, f"travel_time_p{p:g}"], atol=1e-3
        )
        assert m.loc[~reached, parts].isna().all().all()
        for row in m[reached].itertuples():
            o = frame.set_index("id").loc[row.origin, ["lon", "lat"]]
            d = frame.set_index("id").loc[row.destination, ["lon", "lat"]]
            value = getattr(row, f"travel_time_p{p:g}")
            for minute in range(departure, departure + 300, 60):
                alone = _matrix_time(net, tuple(o), tuple(d), minute)
                if alone == pytest.approx(value, abs=1e-3):
                    break
            legs = journeys(net, tuple(o), tuple(d), departure=minute)
            want = _leg_breakdown(legs)
            for key, v in want.items():
                assert getattr(row, key) == pytest.approx(v, abs=1e-3), (key, row, want)
            compared += 1
            with_rides += want["vehicles"] > 0
    assert compared >= 40 and with_rides >= 5, (compared, with_rides)


def test_breakdown_needs_transit():
    streets = grid(1, 3)
    net = _net(streets, [0, 2], [[Event(0, 0, 0), Event(1, 60, 60)]])
    frame = pd.DataFrame({"lon": [lonlat(streets, 0)[0]], "lat": [lonlat(streets, 0)[1]]})
    with pytest.raises(ParameterError, match=r"breakdown=True needs mode='transit'"):
        travel_time_matrix(net, frame, frame, departure=0, mode="walk", breakdown=True)


def test_matrix_breakdown_is_the_same_in_processes_and_chunks():
    """The breakdown runs inside each chunk of origins (with the chunk's own walks):
    two worker processes and chunks of one origin give the frame of one process."""
    rng = np.random.default_rng(77)
    streets, stop_nodes, trips, _, _ = _random_case(rng)
    net = _net(streets, stop_nodes, trips)
    pts = rng.choice(streets.n_nodes, size=min(6, streets.n_nodes), replace=False)
    frame = pd.DataFrame(
        {
            "id": pts,
            "lon": streets.nodes["lon"].to_numpy()[pts],
            "lat": streets.nodes["lat"].to_numpy()[pts],
        }
    )
    opts = dict(departure=300, window=300, percentiles=(50,), breakdown=True)
    one = travel_time_matrix(net, frame, frame, **opts)
    two = travel_time_matrix(net, frame, frame, n_jobs=2, chunk_size=1, **opts)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.columns[-7:]) == [
        "access_s",
        "wait_s",
        "ride_s",
        "transfer_s",
        "egress_s",
        "vehicles",
        "routes",
    ]
