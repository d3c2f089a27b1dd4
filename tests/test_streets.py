"""Street networks: snapping onto edges, travel times, loaders, caching, interop."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer

from connectivity import CoordinateError, OutsideNetworkError, ParameterError, StreetNetwork

CRS = "EPSG:32632"
X0, Y0 = 470_000.0, 5_480_000.0  # near Mannheim, in UTM 32N
_TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def lonlat(dx, dy):
    """lon/lat of a point given in metres from (X0, Y0)."""
    lon, lat = _TO_LONLAT.transform(X0 + np.asarray(dx, float), Y0 + np.asarray(dy, float))
    return lon, lat


def square(*, oneway: bool = False, speed_kmh: float = 3.6) -> StreetNetwork:
    """A 100 m square 0-1-2-3 plus a diagonal 0-2; both directions unless ``oneway``
    (then only 0->1->2->3->0 and 0->2). At 3.6 km/h a metre takes a second."""
    xy = np.array([(0, 0), (100, 0), (100, 100), (0, 100)], float)
    pairs = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
    if not oneway:
        pairs += [(v, u) for u, v in pairs]
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    length = np.hypot(*(xy[v] - xy[u]).T)
    return StreetNetwork.from_arrays(
        x=X0 + xy[:, 0],
        y=Y0 + xy[:, 1],
        u=u,
        v=v,
        length=length,
        speed_kmh=speed_kmh,
        crs=CRS,
        mode="drive" if oneway else "walk",
    )


def brute_dijkstra(net: StreetNetwork, sources, initial) -> np.ndarray:
    """Multi-source Dijkstra with start offsets, with networkx on a fresh graph."""
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for u, v, t in net.edges[["u", "v", "time"]].itertuples(index=False):
        if not g.has_edge(u, v) or g[u][v]["w"] > t:
            g.add_edge(int(u), int(v), w=float(t))
    g.add_node("src")
    for s, t0 in zip(sources, initial, strict=True):
        if np.isfinite(t0):
            g.add_edge("src", int(s), w=float(t0))
    dist = nx.single_source_dijkstra_path_length(g, "src", weight="w")
    return np.array([dist.get(i, np.inf) for i in range(net.n_nodes)])


def segment_projection(px, py, ax, ay, bx, by):
    """Fraction along a->b of the closest point to p, and the distance to it."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    return t, np.hypot(ax + t * dx - px, ay + t * dy - py)


# -- snapping ---------------------------------------------------------------------------


def test_snap_to_middle_of_two_way_edge_gives_fraction_and_times():
    net = square()
    s = net.snap(*lonlat(30, 5))
    assert {int(s.node_u[0]), int(s.node_v[0])} == {0, 1}
    f = 0.3 if s.node_u[0] == 0 else 0.7
    assert s.fraction[0] == pytest.approx(f, abs=1e-6)
    assert s.distance[0] == pytest.approx(5, abs=1e-3)
    assert s.x[0] == pytest.approx(X0 + 30, abs=1e-3)
    assert s.y[0] == pytest.approx(Y0, abs=1e-3)
    # 1 m/s: 30 s to node 0, 70 s to node 1, both ways.
    to = {int(s.node_u[0]): s.time_to_u[0], int(s.node_v[0]): s.time_to_v[0]}
    frm = {int(s.node_u[0]): s.time_from_u[0], int(s.node_v[0]): s.time_from_v[0]}
    assert to[0] == pytest.approx(30, abs=1e-3) and to[1] == pytest.approx(70, abs=1e-3)
    assert frm[0] == pytest.approx(30, abs=1e-3) and frm[1] == pytest.approx(70, abs=1e-3)
    assert s.reverse_edge[0] >= 0
    e, r = int(s.edge[0]), int(s.reverse_edge[0])
    assert (net.edges.u[r], net.edges.v[r]) == (net.edges.v[e], net.edges.u[e])


def test_snap_on_oneway_edge_leaves_only_forwards():
    net = square(oneway=True)
    s = net.snap(*lonlat(30, -5))
    assert (int(s.node_u[0]), int(s.node_v[0])) == (0, 1)
    assert s.reverse_edge[0] == -1
    assert s.fraction[0] == pytest.approx(0.3, abs=1e-6)
    assert s.time_to_v[0] == pytest.approx(70, abs=1e-3)
    assert s.time_to_u[0] == np.inf
    assert s.time_from_u[0] == pytest.approx(30, abs=1e-3)
    assert s.time_from_v[0] == np.inf
    # From the point, node 0 is reached only around the square: 70 + 100 + 100 + 100.
    times = net.travel_times_from(*lonlat(30, -5))
    assert times[0] == pytest.approx(370, abs=1e-3)
    assert times[1] == pytest.approx(70, abs=1e-3)


def test_snap_matches_brute_force_on_random_network():
    rng = np.random.default_rng(7)
    n = 60
    xy = rng.uniform(0, 2000, (n, 2))
    # Edges: each node to its 3 nearest neighbours, some one-way.
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    pairs = {(i, int(j)) for i in range(n) for j in np.argsort(d[i])[:3]}
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    net = StreetNetwork.from_arrays(
        x=X0 + xy[:, 0], y=Y0 + xy[:, 1], u=u, v=v, length=d[u, v], speed_kmh=5, crs=CRS
    )
    pts = rng.uniform(0, 2000, (200, 2))
    s = net.snap(*lonlat(pts[:, 0], pts[:, 1]), max_distance=5000)
    # Brute force: distance from every point to every edge segment.
    ax, ay = xy[u, 0][None, :], xy[u, 1][None, :]
    bx, by = xy[v, 0][None, :], xy[v, 1][None, :]
    _, dist = segment_projection(pts[:, :1], pts[:, 1:], ax, ay, bx, by)
    assert np.allclose(s.distance, dist.min(axis=1), atol=1e-3)
    # The chosen edge's own projection agrees with the reported fraction and point.
    e = s.edge
    t, de = segment_projection(
        pts[:, 0], pts[:, 1], xy[u[e], 0], xy[u[e], 1], xy[v[e], 0], xy[v[e], 1]
    )
    assert np.allclose(de, s.distance, atol=1e-3)
    assert np.allclose(t, s.fraction, atol=1e-6)
    assert np.allclose(s.x - X0, xy[u[e], 0] + t * (xy[v[e], 0] - xy[u[e], 0]), atol=1e-3)
    # Times from the point, checked against Dijkstra with networkx from a virtual node.
    edge_time = net.edges["time"].to_numpy()
    for i in range(0, 200, 20):
        rev = s.reverse_edge[i]
        to_u = t[i] * edge_time[rev] if rev >= 0 else np.inf
        to_v = (1 - t[i]) * edge_time[e[i]]
        expected = brute_dijkstra(net, [u[e[i]], v[e[i]]], [to_u, to_v])
        got = net.travel_times_from(*lonlat(pts[i, 0], pts[i, 1]), max_distance=5000)
        assert np.allclose(got, expected, atol=1e-6, equal_nan=False)
        assert np.array_equal(np.isinf(got), np.isinf(expected))


def test_snap_many_points_and_arrival_times():
    net = square()
    lon, lat = lonlat([30, 100, 50], [5, 40, 103])
    s = net.snap(lon, lat)
    assert len(s) == 3
    # Arrival at the points from node 0 (travel times from node 0 as node times).
    node_times = net.travel_times(0)
    arr = s.arrival_times(node_times)
    # point 1: on 1-2 at 40 m from 1 -> 100 + 40; point 2: on 2-3, 50 m from 3 -> 100 + 50.
    assert arr == pytest.approx([30, 140, 150], abs=1e-3)
    many = net.travel_times_from(lon, lat)
    assert many.shape == (3, 4)
    assert many[1] == pytest.approx(net.travel_times_from(lon[1], lat[1]))


def test_travel_times_with_initial_matches_brute_force():
    net = square()
    got = net.travel_times([1, 3], initial=[5.0, 50.0])
    assert got == pytest.approx(brute_dijkstra(net, [1, 3], [5.0, 50.0]))
    assert got == pytest.approx([105, 5, 105, 50])
    limited = net.travel_times([1, 3], initial=[5.0, 50.0], limit=60)
    assert np.isinf(limited[[0, 2]]).all() and limited[1] == 5


def test_travel_times_initial_must_match_sources():
    with pytest.raises(ParameterError, match="one start time"):
        square().travel_times([1, 3], initial=[5.0])


def test_snap_beyond_max_distance_says_how_far_and_where():
    net = square()
    with pytest.raises(OutsideNetworkError, match=r"is 1,900 m from the nearest street.*extent"):
        net.snap(*lonlat(50, 2000))
    with pytest.raises(OutsideNetworkError, match="raise max_distance"):
        net.travel_times_from(*lonlat(50, 2000), max_distance=100)
    # Within a raised limit the same point snaps.
    assert net.snap(*lonlat(50, 2000), max_distance=2000).distance[0] == pytest.approx(
        1900, abs=0.5
    )


def test_snap_rejects_swapped_and_out_of_range_coordinates():
    net = square()
    lon, lat = lonlat(30, 5)
    with pytest.raises(CoordinateError, match=r"\(lat 8\.58.*lies inside it.*swapped"):
        net.snap(float(lat), float(lon))
    with pytest.raises(CoordinateError, match="swapped"):
        net.nearest_nodes(float(lat), float(lon))
    with pytest.raises(CoordinateError, match="latitude 95.0 is outside -90..90.*swapped"):
        net.snap(8.6, 95.0)
    with pytest.raises(CoordinateError, match="longitude 200"):
        net.snap(200.0, 49.0)
    with pytest.raises(CoordinateError, match="finite"):
        net.snap(np.nan, 49.0)
    with pytest.raises(CoordinateError, match="same length"):
        net.snap([8.0, 8.1], [49.0])
