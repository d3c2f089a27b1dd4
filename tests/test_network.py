"""build_network: stop links, footpaths, transfers.txt rules, cache, graph views."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from _reference import Event
from test_routing import SPEED, X0, Y0, grid, make_timetable, street_dijkstra

from connectivity import EmptyNetworkError, ParameterError, StreetNetwork, Timetable, settings
from connectivity.network.intermodal import build_network
from connectivity.network.links import FP_MIN_TIME, FP_TIMED, FP_WALK


def footpaths_of(net):
    out = {}
    for q in range(net.n_stops):
        for e in range(net.fp_ptr[q], net.fp_ptr[q + 1]):
            out[(q, int(net.fp_to[e]))] = (
                int(net.fp_kind[e]),
                float(net.fp_dist[e]),
                int(net.fp_time[e]),
            )
    return out


def line_streets(n=5):
    xs = [X0 + 100 * i for i in range(n)]
    us = list(range(n - 1)) + list(range(1, n))
    vs = list(range(1, n)) + list(range(n - 1))
    return StreetNetwork.from_arrays(
        x=xs, y=[Y0] * n, u=us, v=vs, length=[100] * (2 * n - 2), speed_kmh=SPEED
    )


def stops_frame(streets, xy, **extra):
    from pyproj import Transformer

    tr = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform([p[0] for p in xy], [p[1] for p in xy])
    return pd.DataFrame(
        {
            "stop_id": [f"s{i}" for i in range(len(xy))],
            "stop_name": "x",
            "lon": lon,
            "lat": lat,
            **extra,
        }
    )


def timetable_of(stops, trips=((0, 1),), transfers=None):
    routes = pd.DataFrame({"route_id": ["r"], "route_type": [3]})
    trips_df = pd.DataFrame({"trip_id": [f"t{i}" for i in range(len(trips))], "route": 0})
    rows = [(t, i, s, 100 * i, 100 * i) for t, seq in enumerate(trips) for i, s in enumerate(seq)]
    st = pd.DataFrame(rows, columns=["trip", "stop_sequence", "stop", "arrival", "departure"])
    return Timetable.from_frames(stops, routes, trips_df, st, transfers)


def test_stop_is_projected_onto_its_nearest_edge():
    streets = line_streets()
    # 30 m north of the point 140 m along the line (on edge 1 -> 2, 40 % along)
    stops = stops_frame(streets, [(X0 + 140, Y0 + 30), (X0, Y0)])
    net = build_network(streets, timetable_of(stops), walk_speed=SPEED)
    links = {
        (int(s), int(n)): (a, b)
        for s, n, a, b in zip(
            net.link_stop, net.link_node, net.link_dist_to, net.link_dist_from, strict=True
        )
    }
    assert links[(0, 1)] == pytest.approx((70.0, 70.0), abs=1e-6)
    assert links[(0, 2)] == pytest.approx((90.0, 90.0), abs=1e-6)
    assert net.stop_node.tolist() == [1, 0]
    # footpath between the two stops: 70 m + 100 m along the street
    fp = footpaths_of(net)
    assert fp[(0, 1)][0] == FP_WALK and fp[(0, 1)][1] == pytest.approx(170.0, abs=1e-6)
    assert fp[(0, 0)] == (FP_WALK, 0.0, 0)


def test_far_stop_is_reported_and_reachable_by_transit_only(caplog):
    streets = line_streets()
    stops = stops_frame(streets, [(X0, Y0), (X0 + 200, Y0 + 900)])
    caplog.set_level(logging.WARNING, logger="connectivity.network.intermodal")
    net = build_network(streets, timetable_of(stops), max_link_distance=300, walk_speed=SPEED)
    assert "1 of 2 stops are farther than max_link_distance=300 m" in caplog.text
    assert net.stop_linked.tolist() == [True, False]
    assert net.meta["unlinked_stops"] == 1
    assert net.tree_ptr[2] - net.tree_ptr[1] == 0  # no egress walk from the far stop
    from connectivity.routing.queries import travel_times

    res = travel_times(net, (stops["lon"][0], stops["lat"][0]), departure=0)
    assert res.stop_times().tolist() == [0.0, 100.0]  # the trip 0 -> 1 takes 100 s


def test_footpaths_equal_street_walks_within_the_radius():
    rng = np.random.default_rng(3)
    for _ in range(5):
        streets = grid(4, 5, rng)
        deg = np.bincount(streets.edges["u"], minlength=streets.n_nodes)
        nodes = rng.choice(np.flatnonzero(deg > 0), size=6, replace=False)
        tt = make_timetable(streets, nodes, [[Event(0, 0, 0), Event(1, 60, 60)]])
        net = build_network(streets, tt, transfer_radius=260, walk_speed=SPEED)
        expected = {}
        for q, nq in enumerate(nodes):
            dist = street_dijkstra(streets, int(nq), 260)
            for p, np_ in enumerate(nodes):
                if p != q and int(np_) in dist:
                    expected[(q, p)] = dist[int(np_)]
        got = {k: v[1] for k, v in footpaths_of(net).items() if k[0] != k[1]}
        assert got.keys() == expected.keys()
        for k, d in expected.items():
            assert got[k] == pytest.approx(d, abs=1e-6)
        # the stop trees hold every node within the walk radius, nearest first
        for q, nq in enumerate(nodes):
            dist = street_dijkstra(streets, int(nq), net.walk_radius)
            a, b = net.tree_ptr[q], net.tree_ptr[q + 1]
            tree = dict(zip(net.tree_node[a:b].tolist(), net.tree_dist[a:b].tolist(), strict=True))
            assert tree.keys() == dist.keys()
            assert all(tree[n] == pytest.approx(d, abs=1e-3) for n, d in dist.items())
            assert np.all(np.diff(net.tree_dist[a:b]) >= 0)


def test_transfer_rules_override_walks_and_stations_are_joined():
    streets = line_streets()
    xy = [(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0), (X0 + 300, Y0 + 2000), (X0 + 300, Y0 + 2050)]
    stops = stops_frame(streets, xy, parent_station=[None, None, None, "st", "st"], location_type=0)
    transfers = pd.DataFrame(
        {
            "from_stop": [0, 1, 2, 2, 0],
            "to_stop": [1, 1, 1, 0, 2],
            "transfer_type": [3, 2, 1, 2, 0],
            "min_transfer_time": [np.nan, 240, np.nan, 30, np.nan],
        }
    )
    tt = timetable_of(stops, trips=((0, 1, 2),), transfers=transfers)
    net = build_network(streets, tt, transfer_radius=150, walk_speed=SPEED)
    fp = footpaths_of(net)
    assert (0, 1) not in fp  # type 3 forbids
    assert fp[(1, 1)] == (FP_MIN_TIME, 0.0, 240)  # type 2 on one stop
    assert fp[(2, 1)] == (FP_TIMED, 0.0, 0)
    assert fp[(2, 0)] == (FP_MIN_TIME, 0.0, 30)
    assert fp[(0, 2)][0] == FP_WALK and fp[(0, 2)][1] == pytest.approx(200.0, abs=1e-6)
    assert fp[(1, 0)][1] == pytest.approx(100.0, abs=1e-6)  # untouched walk
    # stops of one station, unlinked and 50 m apart
    assert fp[(3, 4)][0] == FP_WALK and fp[(3, 4)][1] == pytest.approx(50.0, abs=1e-3)
    # transfers without a min_transfer_time column: type 2 keeps the walk, 3 forbids
    rules = transfers[["from_stop", "to_stop", "transfer_type"]]
    net = build_network(
        streets, timetable_of(stops, trips=((0, 1, 2),), transfers=rules), transfer_radius=150
    )
    fp = footpaths_of(net)
    assert (0, 1) not in fp
    assert fp[(2, 0)][0] == FP_WALK and fp[(2, 0)][1] == pytest.approx(200.0, abs=1e-6)
    assert fp[(2, 1)] == (FP_TIMED, 0.0, 0)


def test_cache_is_reused_and_an_unreadable_entry_is_rebuilt(caplog):
    streets = line_streets()
    stops = stops_frame(streets, [(X0 + 140, Y0 + 30), (X0, Y0)])
    tt = timetable_of(stops)
    first = build_network(streets, tt, walk_speed=SPEED)
    assert not first.meta["from_cache"]
    entries = list((settings.cache_folder / "networks").glob("*.npz"))
    assert len(entries) == 1
    second = build_network(streets, tt, walk_speed=SPEED)
    assert second.meta["from_cache"]
    for name in ("link_dist_to", "fp_dist", "tree_node", "tree_dist"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    other = build_network(streets, tt, transfer_radius=50, walk_speed=SPEED)
    assert not other.meta["from_cache"]
    assert len(list((settings.cache_folder / "networks").glob("*.npz"))) == 2
    entries[0].write_bytes(b"not a zip")
    caplog.set_level(logging.WARNING, logger="connectivity.network.intermodal")
    third = build_network(streets, tt, walk_speed=SPEED)
    assert not third.meta["from_cache"] and "unreadable network cache" in caplog.text
    np.testing.assert_array_equal(third.tree_dist, first.tree_dist)
    assert not list((settings.cache_folder / "networks").glob(".*tmp"))


def test_networkx_and_igraph_views_hold_every_node_and_edge():
    streets = line_streets()
    stops = stops_frame(streets, [(X0, Y0 + 10), (X0 + 200, Y0 + 10), (X0 + 400, Y0 + 10)])
    routes = pd.DataFrame({"route_id": ["r"], "route_type": [3]})
    trips = pd.DataFrame({"trip_id": ["a", "b", "c"], "route": 0})
    rows = [
        (t, i, s, start + 120 * i, start + 120 * i)
        for t, start in enumerate([0, 600, 1500])
        for i, s in enumerate([0, 1, 2])
    ]
    st = pd.DataFrame(rows, columns=["trip", "stop_sequence", "stop", "arrival", "departure"])
    tt = Timetable.from_frames(stops, routes, trips, st)
    net = build_network(streets, tt, transfer_radius=250, walk_speed=SPEED)
    g = net.to_networkx()
    kinds = Counter(d["kind"] for _, d in g.nodes(data=True))
    assert kinds == {"street": 5, "stop": 3}
    modes = Counter(d["mode"] for _, _, d in g.edges(data=True))
    n_links = int(np.isfinite(net.link_dist_to).sum() + np.isfinite(net.link_dist_from).sum())
    n_transfers = sum(1 for (q, p) in footpaths_of(net) if q != p)
    assert modes == {"walk": 8, "link": n_links, "transfer": n_transfers, "transit": 2}
    transit = [d for _, _, d in g.edges(data=True) if d["mode"] == "transit"]
    for d in transit:
        assert d["in_vehicle_time"] == 120.0
        assert d["wait_time"] == 1500 / 2 / 2  # mean headway 750 s, half of it
        assert d["weight"] == 120.0 + 375.0
    assert g.has_edge(("stop", 0), ("stop", 1))
    ig = net.to_igraph()
    assert ig.vcount() == 8 and ig.ecount() == g.number_of_edges()
    assert Counter(ig.es["mode"]) == modes
    assert ig.vs["kind"].count("stop") == 3


def test_bad_inputs_raise():
    streets = line_streets()
    stops = stops_frame(streets, [(X0, Y0)])
    tt = timetable_of(pd.concat([stops, stops.assign(stop_id="s1")], ignore_index=True))
    with pytest.raises(ParameterError, match="transfer_radius must be a positive number"):
        build_network(streets, tt, transfer_radius=-1)
    bike = StreetNetwork.from_arrays(
        x=[X0, X0 + 1], y=[Y0, Y0], u=[0], v=[1], length=[1], speed_kmh=15, mode="bike"
    )
    with pytest.raises(EmptyNetworkError, match="no walk network given"):
        build_network(bike, tt)
    with pytest.raises(ParameterError, match="two walk networks given"):
        build_network([streets, streets], tt)
    with pytest.raises(ParameterError, match="must be StreetNetworks"):
        build_network([streets, "bike.pbf"], tt)
    empty = StreetNetwork.from_arrays(x=[X0], y=[Y0], u=[], v=[], length=[], speed_kmh=5)
    with pytest.raises(EmptyNetworkError, match="walk network has no edges"):
        build_network(empty, tt)


def test_points_near_the_same_street_walk_straight_along_it():
    from connectivity.routing.queries import travel_times

    streets = line_streets()
    # two stops by edge 1 -> 2: 30 m north at 140 m, 10 m south at 180 m; one far away
    xy = [(X0 + 140, Y0 + 30), (X0 + 180, Y0 - 10), (X0 + 400, Y0)]
    stops = stops_frame(streets, xy)
    net = build_network(streets, timetable_of(stops), walk_speed=SPEED)
    assert net.stop_edge[0] >= 0 and net.stop_offset[0] * net.stop_offset[1] < 0
    fp = footpaths_of(net)
    # crossing the street: 40 m along it, 30 + 10 m across; not round a node (70 + 50 m)
    assert fp[(0, 1)][1] == pytest.approx(np.hypot(40, 40), abs=1e-6)
    assert fp[(1, 0)][1] == pytest.approx(np.hypot(40, 40), abs=1e-6)
    # an origin at the first stop is there at once; the stop across the street follows
    res = travel_times(net, (stops["lon"][0], stops["lat"][0]), departure=0, mode="walk")
    st = res.stop_times()
    assert st[0] == pytest.approx(0.0, abs=1e-6)
    assert st[1] == pytest.approx(np.hypot(40, 40), abs=1e-6)
    assert st[2] == pytest.approx(30 + 60 + 200, abs=1e-6)  # round node 2 to the far stop
    res = travel_times(net, (stops["lon"][1], stops["lat"][1]), departure=0)
    assert res.stop_times()[1] == 0 and res.stop_times()[0] == np.ceil(np.hypot(40, 40))


def test_a_stop_beyond_the_street_end_walks_to_the_end_node_first():
    """A stop 12 m beyond the last node of the street and 16 m south (20 m from the
    node, its projection clamped there) and a stop 10 m before that node, 9 m south.
    They are 23.1 m apart; the same-street line drawn from the clamped projection made
    it 14.9 m (hypot(10, 20 - 9)), shorter than the straight line. Now: 20 m to the node,
    then the same-street line to the other, 20 + hypot(10, 9) = 33.5 m, both ways."""
    streets = line_streets()
    xy = [(X0 + 412, Y0 - 16), (X0 + 390, Y0 - 9)]
    net = build_network(streets, timetable_of(stops_frame(streets, xy)), walk_speed=SPEED)
    assert net.stop_fraction[0] in (0.0, 1.0) and abs(net.stop_offset[0]) == pytest.approx(20)
    fp = footpaths_of(net)
    want = 20 + np.hypot(10, 9)
    assert fp[(0, 1)][1] == pytest.approx(want, abs=1e-6)
    assert fp[(1, 0)][1] == pytest.approx(want, abs=1e-6)
    assert want >= np.hypot(22, 7)
    # the same from a point: an origin at the first stop walks to the second so far
    from connectivity.routing.queries import travel_times

    stops = stops_frame(streets, xy)
    res = travel_times(net, (stops["lon"][0], stops["lat"][0]), departure=0, mode="walk")
    assert res.stop_times()[1] == pytest.approx(want, abs=1e-6)


def one_way_corner():
    """0 - 1 two-way, then one-way 1 -> 2 (east) and 2 -> 3 (north): node 2 at the
    corner has only one-way streets."""
    xs = [X0, X0 + 100, X0 + 200, X0 + 200]
    ys = [Y0, Y0, Y0, Y0 + 100]
    return StreetNetwork.from_arrays(
        x=xs, y=ys, u=[0, 1, 1, 2], v=[1, 0, 2, 3], length=[100] * 4, speed_kmh=SPEED
    )


def test_stop_beyond_the_end_of_one_way_streets_links_to_that_node():
    """A stop 10 m east and 10 m south of the corner projects onto node 2 itself (the end
    of 1 -> 2 and the start of 2 -> 3, equally near): it is reached from node 2 and
    leaves to node 2 over the 14.1 m between them, whichever street won the tie."""
    streets = one_way_corner()
    stops = stops_frame(streets, [(X0 + 210, Y0 - 10), (X0, Y0)])
    net = build_network(streets, timetable_of(stops), walk_speed=SPEED)
    d = np.hypot(10, 10)
    to_node = {}
    from_node = {}
    for s, n, a, b in zip(
        net.link_stop, net.link_node, net.link_dist_to, net.link_dist_from, strict=True
    ):
        if s == 0:
            to_node[int(n)] = a
            from_node[int(n)] = b
    assert to_node[2] == pytest.approx(d, abs=1e-6)
    assert from_node[2] == pytest.approx(d, abs=1e-6)
    assert not np.isnan(net.link_dist_to).any() and not np.isnan(net.link_dist_from).any()
    # walking from node 0: 200 m to node 2, then to the stop
    walks = footpaths_of(net)
    assert walks[(1, 0)][1] == pytest.approx(200 + d, abs=1e-6)
    # a stop at node 1 (float noise puts it a nanometre into the one-way 1 -> 2 or the
    # two-way 0 - 1, whichever) walks 100 m to node 0 and back
    for dx in (0.0, 1e-9, -1e-9, 1e-7, 5e-4):
        stops = stops_frame(streets, [(X0 + 100 + dx, Y0), (X0, Y0)])
        fp = footpaths_of(build_network(streets, timetable_of(stops), walk_speed=SPEED))
        assert fp[(0, 1)][1] == pytest.approx(100 + dx, abs=1e-3), dx
        assert fp[(1, 0)][1] == pytest.approx(100 + dx, abs=1e-3), dx


def test_views_leave_out_a_mode_network_with_other_nodes_of_the_same_count():
    """A drive network of 5 other nodes (other OSM ids) is not drawn onto the walk nodes."""
    streets = line_streets()
    drive = StreetNetwork.from_arrays(
        x=[X0 + 50 * i for i in range(5)],
        y=[Y0 + 500] * 5,
        u=[0, 1],
        v=[1, 2],
        length=[50, 50],
        speed_kmh=30,
        mode="drive",
        osmid=[100 + i for i in range(5)],
    )
    same = StreetNetwork.from_arrays(
        x=[X0 + 100 * i for i in range(5)],
        y=[Y0] * 5,
        u=[0, 1],
        v=[1, 2],
        length=[100, 100],
        speed_kmh=15,
        mode="bike",
    )
    net = build_network([streets, drive, same], None, walk_speed=SPEED)
    modes = Counter(d["mode"] for _, _, d in net.to_networkx().edges(data=True))
    assert modes == {"walk": 8, "bike": 2}
