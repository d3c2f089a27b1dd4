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

import numpy as np
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
