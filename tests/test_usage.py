"""route_usage(): which routes, stops and segments the optimal journeys ride (issue 12,
Build 4). Checked against a hand count on a small agglomeration and, on random feeds,
against the journeys that journeys() rebuilds one pair and one minute at a time."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from _timetables import Event, timetable_from_events
from test_routing import SPEED, grid, lonlat

from connectivity import NoJourneyError, ParameterError, journeys, route_usage
from connectivity.network.intermodal import build_network

T0 = 8 * 3600


def _net(streets, stop_nodes, trips, routes, radius=400):
    tt = timetable_from_events(
        trips,
        lon=streets.nodes["lon"].to_numpy()[stop_nodes],
        lat=streets.nodes["lat"].to_numpy()[stop_nodes],
        routes=routes,
    )
    return build_network(streets, tt, transfer_radius=radius, walk_radius=1300, walk_speed=SPEED)


def _points(streets, nodes, **columns):
    lon = streets.nodes["lon"].to_numpy()[nodes]
    lat = streets.nodes["lat"].to_numpy()[nodes]
    return pd.DataFrame({"id": list(range(len(nodes))), "lon": lon, "lat": lat, **columns})


def _agglomeration():
    """A 1 x 10 street of 300 m blocks (5 min a block on foot). Satellite A (node 0,
    stop s0), town B (node 5, stop s1), the core (node 9, stop s2). Route r0 runs
    s0 08:01 -> s1 08:03; route r1 runs s1 08:05 -> s2 08:07."""
    streets = grid(1, 10, spacing=300)
    trips = [
        [Event(0, T0 + 60, T0 + 60), Event(1, T0 + 180, T0 + 180)],
        [Event(1, T0 + 300, T0 + 300), Event(2, T0 + 420, T0 + 420)],
    ]
    return streets, _net(streets, [0, 5, 9], trips, routes=[0, 1])


def test_a_hand_count_on_a_small_agglomeration():
    # From A (100 people): r0 to B, change, r1 to the core (7 min; 45 min on foot).
    # From B (30 people): r1 (7 min; 20 min on foot). So r0 carries 100, r1 130.
    streets, net = _agglomeration()
    origins = _points(streets, [0, 5], population=[100.0, 30.0])
    core = _points(streets, [9])
    u = route_usage(net, origins, core, departure=T0, weights="population")
    assert u.total == pytest.approx(130) and u.by_transit == pytest.approx(130)
    routes = u.routes.set_index("route_id")
    assert routes["boardings"].to_dict() == pytest.approx({"r0": 100, "r1": 130})
    assert routes["share"].to_dict() == pytest.approx({"r0": 100 / 130, "r1": 1.0})
    stops = u.stops.set_index("stop_id")
    assert stops["boardings"].to_dict() == pytest.approx({"s0": 100, "s1": 130, "s2": 0})
    assert stops["alightings"].to_dict() == pytest.approx({"s0": 0, "s1": 100, "s2": 130})
    assert stops["transfers"].to_dict() == pytest.approx({"s0": 0, "s1": 100, "s2": 0})
    seg = u.segments.set_index(["route_id", "from_stop_id", "to_stop_id"])["journeys"]
    assert seg.to_dict() == pytest.approx({("r1", "s1", "s2"): 130, ("r0", "s0", "s1"): 100})
    assert u.segments.geometry.iloc[0].coords[0] == pytest.approx(lonlat(streets, 5))


def test_a_window_weighs_each_minute_equally():
    # 08:00 and 08:01 from A both catch r0 (08:01); at 08:02 and 08:03 A has missed it
    # and walks (45 min: within no max_time limit). So r0 carries 100 x 2/4.
    streets, net = _agglomeration()
    origins = _points(streets, [0], population=[100.0])
    u = route_usage(
        net, origins, _points(streets, [9]), departure=T0, window=240, weights="population"
    )
    assert u.total == pytest.approx(100)
    assert u.by_transit == pytest.approx(50)
    assert u.routes.set_index("route_id")["boardings"].to_dict() == pytest.approx(
        {"r0": 50, "r1": 50}
    )
    # A max_time of 30 min leaves the walking minutes unreached.
    u = route_usage(
        net, origins, _points(streets, [9]), departure=T0, window=240, max_time=1800,
        weights=[100.0],
    )  # fmt: skip
    assert u.total == pytest.approx(50) and u.by_transit == pytest.approx(50)


def _random_feed(rng):
    streets = grid(int(rng.integers(2, 5)), int(rng.integers(2, 5)), rng, spacing=300)
    deg = np.bincount(streets.edges["u"], minlength=streets.n_nodes)
    usable = np.flatnonzero(deg > 0)
    n_stops = int(rng.integers(2, min(len(usable), 7) + 1))
    stop_nodes = rng.choice(usable, size=n_stops, replace=False)
    trips, routes = [], []
    for r in range(int(rng.integers(1, 5))):
        seq = [
            int(s)
            for s in rng.choice(n_stops, size=int(rng.integers(2, n_stops + 1)), replace=False)
        ]
        for _ in range(int(rng.integers(1, 5))):
            t = T0 + int(rng.integers(0, 900))
            events = []
            for s in seq:
                dwell = int(rng.integers(0, 3)) * 20
                events.append(Event(s, t, t + dwell))
                t += dwell + int(rng.integers(1, 4)) * 60
            trips.append(events)
            routes.append(r)
    return streets, usable, stop_nodes, trips, routes


def _brute_force(net, streets, trips, routes, o_nodes, w_o, d_nodes, w_d, minutes):
    """The usage counted from journeys(), one origin, destination and minute at a time."""
    board, alight, transfer = defaultdict(float), defaultdict(float), defaultdict(float)
    route, segment = defaultdict(float), defaultdict(float)
    total = by_transit = 0.0
    for i, o in enumerate(o_nodes):
        for j, d in enumerate(d_nodes):
            for m in minutes:
                try:
                    legs = journeys(net, lonlat(streets, o), lonlat(streets, d), departure=m)
                except NoJourneyError:
                    continue
                w = w_o[i] * w_d[j] / len(minutes)
                total += w
                rides = legs[legs["kind"] == "ride"]
                by_transit += w if len(rides) else 0.0
                for k, ride in enumerate(rides.itertuples()):
                    t = int(ride.trip_id[1:])
                    route[f"r{routes[t]}"] += w
                    board[ride.from_stop_id] += w
                    alight[ride.to_stop_id] += w
                    if k > 0:
                        transfer[ride.from_stop_id] += w
                    stops = [f"s{e.stop}" for e in trips[t]]
                    a, b = stops.index(ride.from_stop_id), stops.index(ride.to_stop_id)
                    for x, y in zip(stops[a:b], stops[a + 1 : b + 1], strict=True):
                        segment[(f"r{routes[t]}", x, y)] += w
    return total, by_transit, route, board, alight, transfer, segment


def _close(got: dict, want: dict):
    keys = {k for k, v in {**got, **want}.items() if abs(v) > 1e-9}
    for k in keys:
        assert got.get(k, 0.0) == pytest.approx(want.get(k, 0.0), abs=1e-9), k


@pytest.mark.parametrize("seed", range(4))
def test_random_feeds_equal_the_journeys_counted_one_by_one(seed):
    rng = np.random.default_rng(500 + seed)
    rode = 0
    for _ in range(8):
        streets, usable, stop_nodes, trips, routes = _random_feed(rng)
        net = _net(streets, stop_nodes, trips, routes, radius=float(rng.choice([150, 400])))
        o_nodes = rng.choice(usable, size=min(3, len(usable)), replace=False)
        d_nodes = rng.choice(usable, size=min(3, len(usable)), replace=False)
        w_o = rng.integers(1, 50, size=len(o_nodes)).astype(float)
        w_d = rng.integers(1, 5, size=len(d_nodes)).astype(float)
        departure = T0 + int(rng.integers(0, 600))
        minutes = [departure + 60 * k for k in range(3)]
        u = route_usage(
            net, _points(streets, o_nodes), _points(streets, d_nodes), departure=departure,
            window=180, weights=w_o, destination_weights=w_d,
        )  # fmt: skip
        total, by_transit, route, board, alight, transfer, segment = _brute_force(
            net, streets, trips, routes, o_nodes, w_o, d_nodes, w_d, minutes
        )
        assert u.total == pytest.approx(total) and u.by_transit == pytest.approx(by_transit)
        _close(u.routes.set_index("route_id")["boardings"].to_dict(), route)
        stops = u.stops.set_index("stop_id")
        _close(stops["boardings"].to_dict(), board)
        _close(stops["alightings"].to_dict(), alight)
        _close(stops["transfers"].to_dict(), transfer)
        seg = u.segments.set_index(["route_id", "from_stop_id", "to_stop_id"])["journeys"]
        _close(seg.to_dict(), segment)
        rode += len(route) > 0
    assert rode >= 3


def test_bad_weights_are_one_line_errors():
    streets, net = _agglomeration()
    origins = _points(streets, [0, 5])
    core = _points(streets, [9])
    with pytest.raises(ParameterError, match=r"weights='people' is not a column"):
        route_usage(net, origins, core, departure=T0, weights="people")
    with pytest.raises(ParameterError, match=r"weights has 1 values for 2 points"):
        route_usage(net, origins, core, departure=T0, weights=[1.0])
    with pytest.raises(ParameterError, match=r"value 1 is -3.0"):
        route_usage(net, origins, core, departure=T0, weights=[1.0, -3.0])
    with pytest.raises(ParameterError, match=r"destination_weights .* value 0 is nan"):
        route_usage(net, origins, core, departure=T0, destination_weights=[float("nan")])
    with pytest.raises(ParameterError, match=r"window"):
        route_usage(net, origins, core, departure=T0, window=-60)


def test_segment_widths_grow_with_the_square_root_of_the_journeys():
    """A segment of a quarter of the busiest one's journeys is drawn half as wide
    (above the narrowest width): widths by area, so a line of 4x the riders does not
    hide its neighbours; none ridden draws the narrowest."""
    from connectivity.outputs.usage_map import MAX_WIDTH, MIN_WIDTH, segment_widths

    w = segment_widths([400.0, 100.0, 0.0])
    assert w[0] == MAX_WIDTH and w[2] == MIN_WIDTH
    assert (w[1] - MIN_WIDTH) == pytest.approx((MAX_WIDTH - MIN_WIDTH) / 2)
    assert list(segment_widths([0.0, 0.0])) == [MIN_WIDTH, MIN_WIDTH]


def test_usage_map_refuses_what_is_not_a_usage():
    from connectivity import ParameterError
    from connectivity.outputs.usage_map import usage_map

    with pytest.raises(ParameterError, match=r"needs the result of connectivity\.route_usage"):
        usage_map(object())
