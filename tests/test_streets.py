"""Street networks: snapping onto edges, travel times, loaders, caching, interop."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
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
    # From the point, node 0 is reached only around the square: 70 + 100 + 100 + 100,
    # after the walk onto the street (5 m at 5 km/h: a drive network is walked onto).
    from connectivity.streets.graph import ACCESS_WALK_SPEED

    onto = 5 / (ACCESS_WALK_SPEED / 3.6)
    times = net.travel_times_from(*lonlat(30, -5))
    assert times[0] == pytest.approx(370 + onto, abs=1e-3)
    assert times[1] == pytest.approx(70 + onto, abs=1e-3)


def test_point_at_the_end_node_of_a_oneway_edge_is_at_that_node():
    # On the one-way square, a point exactly at node 0 snaps onto an edge touching it;
    # whichever, it is at node 0 (0 s), not a loop round the square away from it.
    net = square(oneway=True)
    s = net.snap(*lonlat(0, 0))
    at_u = s.fraction[0] == 0
    assert (s.time_to_u[0] if at_u else s.time_to_v[0]) == 0
    assert (s.time_from_u[0] if at_u else s.time_from_v[0]) == 0
    times = net.travel_times_from(*lonlat(0, 0))
    assert times[0] == 0
    assert times[1] == pytest.approx(100, abs=1e-3)  # forwards along 0 -> 1
    assert s.arrival_times(net.travel_times(1))[0] == pytest.approx(300, abs=1e-3)
    # Float noise: a nanometre into the one-way street leaving node 0 is still node 0.
    for dx, dy in [(1e-9, 0.0), (0.0, 1e-9), (4e-4, 0.0)]:
        times = net.travel_times_from(*lonlat(dx, dy))
        assert times[0] == pytest.approx(0, abs=1e-2), (dx, dy)


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
        onto = s.distance[i] / (5 / 3.6)  # the walk onto the street, at the network's speed
        to_u = t[i] * edge_time[rev] + onto if rev >= 0 else np.inf
        to_v = (1 - t[i]) * edge_time[e[i]] + onto
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


def test_travel_times_parameter_errors():
    net = square()
    with pytest.raises(ParameterError, match="one start time"):
        net.travel_times([1, 3], initial=[5.0])
    with pytest.raises(ParameterError, match=r"source 4 is not a node position .*0\.\.3"):
        net.travel_times(4)
    with pytest.raises(ParameterError, match="limit must be >= 0"):
        net.travel_times(0, limit=-1)
    with pytest.raises(ParameterError, match="limit must be >= 0"):
        net.travel_times_from(*lonlat(30, 5), limit=float("nan"))
    with pytest.raises(ParameterError, match="start times .* must be >= 0"):
        net.travel_times([0], initial=[-1.0])


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


@pytest.mark.parametrize("bad", [0, -5, float("nan"), "far"])
def test_bad_max_distance_is_a_parameter_error(bad, tmp_path, capsys):
    net = square()
    for call in (net.snap, net.nearest_nodes, net.travel_times_from):
        with pytest.raises(ParameterError, match="max_distance=.*give metres > 0"):
            call(*lonlat(50, 2), max_distance=bad)
    # The command line says so on one line (exit 2), before reading the file.
    from connectivity.cli import main

    argv = ["isochrones", "--osm", str(tmp_path / "x.osm"), "--origin", "49.5,8.6"]
    if not isinstance(bad, str):
        assert main([*argv, "--max-distance", str(bad)]) == 2
        err = capsys.readouterr().err
        assert "give metres > 0" in err and "Traceback" not in err


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


# -- loaders: a tiny OSM XML file ---------------------------------------------------------

NODES = {
    1: (8.600, 49.500),
    2: (8.601, 49.500),
    3: (8.602, 49.500),
    4: (8.602, 49.501),
    5: (8.601, 49.501),
    6: (8.600, 49.501),
    7: (8.603, 49.500),
}
WAYS = {
    10: ([1, 2, 3], {"highway": "residential", "maxspeed": "30", "name": "Ringstrasse"}),
    11: (
        [3, 4],
        {"highway": "residential", "oneway": "yes", "maxspeed": "30 mph", "oneway:bicycle": "no"},
    ),
    12: ([5, 4], {"highway": "residential", "oneway": "-1", "maxspeed": "DE:urban"}),
    13: ([5, 6], {"highway": "tertiary", "lanes": "2"}),
    14: ([6, 1], {"highway": "residential", "junction": "roundabout"}),
    15: ([3, 7], {"highway": "footway"}),
    16: ([2, 5], {"highway": "residential", "access": "private"}),
}


def write_osm(path, nodes=NODES, ways=WAYS):
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='test'>"]
    for i, (lon, lat) in nodes.items():
        lines.append(f"  <node id='{i}' version='1' lat='{lat}' lon='{lon}'/>")
    for i, (refs, tags) in ways.items():
        lines.append(f"  <way id='{i}' version='1'>")
        lines += [f"    <nd ref='{r}'/>" for r in refs]
        lines += [f"    <tag k='{k}' v='{v}'/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def haversine(a, b):
    (lon1, lat1), (lon2, lat2) = NODES[a], NODES[b]
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))


def edge_table(net):
    """{(u_osm, v_osm): (length, time, way id)} of a network."""
    ids = net.nodes["osmid"].to_numpy()
    e = net.edges
    return {
        (int(ids[u]), int(ids[v])): (length, time, int(w))
        for u, v, length, time, w in e[["u", "v", "length", "time", "osmid"]].itertuples(
            index=False
        )
    }


def test_osm_xml_walk_network_has_every_walkable_segment_both_ways(tmp_path):
    from connectivity import load_streets

    net = load_streets(write_osm(tmp_path / "tiny.osm"), mode="walk", walk_speed=4.5)
    segments = [
        (a, b, w)
        for w, (refs, tags) in WAYS.items()
        if w != 16
        for a, b in zip(refs[:-1], refs[1:], strict=False)
    ]
    expected = {}
    for a, b, w in segments:
        expected[(a, b)] = expected[(b, a)] = (haversine(a, b), haversine(a, b) / 1.25, w)
    got = edge_table(net)
    assert set(got) == set(expected)
    assert net.n_nodes == 7
    for key, (length, time, way) in expected.items():
        assert got[key][0] == pytest.approx(length, rel=1e-3)
        assert got[key][1] == pytest.approx(time, rel=1e-3)
        assert got[key][2] == way
    assert net.crs == "EPSG:32632"
    row = net.nodes.set_index("osmid").loc[4]
    assert (row.lon, row.lat) == pytest.approx(NODES[4])
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*NODES[4])
    assert (row.x, row.y) == pytest.approx((x, y), abs=1e-6)


def test_osm_xml_drive_network_follows_oneway_reverse_and_roundabout(tmp_path):
    from connectivity import load_streets

    path = write_osm(tmp_path / "tiny.osm.bz2" if False else tmp_path / "tiny.osm")
    net = load_streets(path, mode="drive", drive_speeds={"tertiary": 36})
    kmh = {10: 30, 11: 30 * 1.609344, 12: 50, 13: 36, 14: 30}
    directed = [
        (1, 2, 10),
        (2, 1, 10),
        (2, 3, 10),
        (3, 2, 10),
        (3, 4, 11),
        (4, 5, 12),
        (5, 6, 13),
        (6, 5, 13),
        (6, 1, 14),
    ]
    got = edge_table(net)
    assert set(got) == {(a, b) for a, b, _ in directed}
    for a, b, w in directed:
        assert got[(a, b)][1] == pytest.approx(haversine(a, b) / (kmh[w] / 3.6), rel=1e-3)
    assert set(net.edges["lanes"].dropna()) == {"2"}
    # Node 4 to node 3 goes the long way round the one-way loop.
    pos = {int(o): i for i, o in enumerate(net.nodes["osmid"])}
    t = net.travel_times(pos[4])
    loop = sum(got[k][1] for k in [(4, 5), (5, 6), (6, 1), (1, 2), (2, 3)])
    assert t[pos[3]] == pytest.approx(loop)


def test_bike_follows_oneway_except_contraflow(tmp_path):
    from connectivity import load_streets

    net = load_streets(write_osm(tmp_path / "tiny.osm"), mode="bike", bike_speed=18)
    got = edge_table(net)
    assert (4, 3) in got and (3, 4) in got  # oneway:bicycle=no
    assert (4, 5) in got and (5, 4) not in got  # oneway=-1
    assert (6, 1) in got and (1, 6) not in got  # roundabout
    assert (3, 7) not in got  # footway
    assert got[(1, 2)][1] == pytest.approx(haversine(1, 2) / 5, rel=1e-3)


@pytest.mark.parametrize("name", ["tiny.osm.bz2", "tiny.osm.gz", "tiny.xml"])
def test_compressed_and_renamed_xml_reads_the_same_as_plain(tmp_path, name):
    import bz2
    import gzip

    from connectivity import load_streets

    plain = write_osm(tmp_path / "tiny.osm")
    other = tmp_path / name
    pack = {".bz2": bz2.compress, ".gz": gzip.compress}.get(other.suffix, lambda b: b)
    other.write_bytes(pack(plain.read_bytes()))
    a = load_streets(plain, mode="drive", use_cache=False)
    b = load_streets(other, mode="drive", use_cache=False)
    assert edge_table(a) == edge_table(b)


def test_largest_strongly_connected_component_is_kept(tmp_path, caplog):
    from connectivity import load_streets

    nodes = dict(NODES) | {8: (8.610, 49.510), 9: (8.611, 49.510)}
    ways = dict(WAYS) | {20: ([8, 9], {"highway": "residential"})}
    with caplog.at_level("INFO", logger="connectivity"):
        net = load_streets(write_osm(tmp_path / "two.osm", nodes, ways), mode="walk")
    assert 8 not in set(net.nodes["osmid"]) and net.n_nodes == 7
    assert net.meta["dropped_nodes"] == 2 and net.meta["dropped_edges"] == 2
    assert "dropped 2 nodes and 2 edges" in caplog.text


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50),
        ("50 mph", 80.4672),
        ("30mph", 48.28032),
        ("10 knots", 18.52),
        ("70 km/h", 70),
        ("RU:urban", 50),
        ("DE:rural", 100),
        ("FI:rural", 80),
        ("IT:rural", 90),
        ("DE:zone30", 30),
        ("walk", 7),
        ("30;50", 30),
        ("none", np.nan),
        ("signals", np.nan),
        ("fast", np.nan),
        (None, np.nan),
    ],
)
def test_parse_maxspeed(value, kmh):
    from connectivity.streets._osm import parse_maxspeed

    assert parse_maxspeed(value) == pytest.approx(kmh, nan_ok=True)


# -- loaders: errors ----------------------------------------------------------------------


def test_missing_file_says_path_and_formats(tmp_path):
    from connectivity import InputFileError, load_streets

    with pytest.raises(
        InputFileError, match=r"nope\.osm\.pbf does not exist.*\.osm\.pbf.*\.osm\.bz2"
    ):
        load_streets(tmp_path / "nope.osm.pbf")


def test_unknown_file_type(tmp_path):
    from connectivity import InputFileError, load_streets

    path = tmp_path / "streets.csv"
    path.write_text("a,b\n")
    with pytest.raises(InputFileError, match=r"streets\.csv: unknown type of file.*\.osm\.pbf"):
        load_streets(path)


def test_corrupt_pbf_is_an_osm_data_error(tmp_path):
    from connectivity import OsmDataError, load_streets

    path = tmp_path / "garbage.osm.pbf"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(
        OsmDataError, match=r"garbage\.osm\.pbf is not a readable OpenStreetMap PBF"
    ):
        load_streets(path)


def test_corrupt_xml_is_an_osm_data_error(tmp_path):
    from connectivity import OsmDataError, load_streets

    path = tmp_path / "broken.osm"
    path.write_text("<osm version='0.6'><node id='1' lat='1' lon='1'>")
    with pytest.raises(OsmDataError, match=r"cannot read OSM XML file .*broken\.osm"):
        load_streets(path)


def test_no_streets_for_the_mode(tmp_path):
    from connectivity import EmptyNetworkError, load_streets

    ways = {15: WAYS[15], 17: ([1, 2, 3], {"highway": "footway"})}
    path = write_osm(tmp_path / "paths.osm", NODES, ways)
    with pytest.raises(
        EmptyNetworkError, match=r"paths\.osm holds no streets usable for mode drive"
    ):
        load_streets(path, mode="drive")
    assert load_streets(path, mode="walk").n_nodes == 4


def test_bad_parameters(tmp_path):
    from connectivity import CoordinateError, ParameterError, load_streets

    path = write_osm(tmp_path / "tiny.osm")
    with pytest.raises(ParameterError, match="walk_speed must be a positive speed"):
        load_streets(path, walk_speed=0)
    with pytest.raises(ParameterError, match=r"drive_speeds\['primary'\]"):
        load_streets(path, mode="drive", drive_speeds={"primary": -5})
    with pytest.raises(ParameterError, match="unknown street mode 'boat'"):
        load_streets(path, mode="boat")
    with pytest.raises(CoordinateError, match="with west < east"):
        load_streets(path, bbox=(8.7, 49.5, 8.6, 49.6))
    with pytest.raises(CoordinateError, match="looks like .south, west, north, east."):
        load_streets(path, bbox=(49.5, 8.6, 49.6, 95.0))
    with pytest.raises(CoordinateError, match="four numbers"):
        load_streets(path, bbox=(8.5, 49.5))


# -- the cache of built networks --------------------------------------------------------


def test_cache_hit_returns_identical_arrays_and_changed_parameter_misses(tmp_path, caplog):
    from connectivity import load_streets, settings

    path = write_osm(tmp_path / "tiny.osm")
    with caplog.at_level("INFO", logger="connectivity"):
        first = load_streets(path, mode="drive")
        caplog.clear()
        again = load_streets(path, mode="drive")
        assert "read from the cache" in caplog.text and "building" not in caplog.text
        caplog.clear()
        other = load_streets(path, mode="drive", drive_speeds={"tertiary": 20})
        assert "building" in caplog.text
        caplog.clear()
        load_streets(path, mode="walk", walk_speed=5.0)
        load_streets(path, mode="walk", bike_speed=10.0)  # bike speed does not shape walk
        assert caplog.text.count("building") == 1
    pd.testing.assert_frame_equal(first.edges, again.edges)
    pd.testing.assert_frame_equal(first.nodes, again.nodes)
    assert (again.mode, again.crs) == (first.mode, first.crs)
    assert again.meta["digest"] == first.meta["digest"]
    assert not np.allclose(other.edges["time"], first.edges["time"])
    entries = sorted(p.name for p in (settings.cache_folder / "streets").iterdir())
    assert len(entries) == 3 * 3 and not any(name.endswith(".tmp") for name in entries)
    # A changed file (different content, same name) misses too.
    write_osm(path, NODES, {k: w for k, w in WAYS.items() if k != 13})
    assert (5, 6) not in edge_table(load_streets(path, mode="drive"))


def test_use_cache_false_writes_nothing(tmp_path):
    from connectivity import load_streets, settings

    load_streets(write_osm(tmp_path / "tiny.osm"), use_cache=False)
    assert not (settings.cache_folder / "streets").exists()


def test_unreadable_cache_entry_is_rebuilt(tmp_path, caplog):
    from connectivity import load_streets, settings

    path = write_osm(tmp_path / "tiny.osm")
    first = load_streets(path)
    for f in (settings.cache_folder / "streets").glob("*.edges.parquet"):
        f.write_bytes(b"not parquet")
    with caplog.at_level("WARNING", logger="connectivity"):
        again = load_streets(path)
    assert "unreadable cache entry" in caplog.text
    pd.testing.assert_frame_equal(first.edges, again.edges)


# -- to_networkx ----------------------------------------------------------------------------


def test_to_networkx_roundtrip_matches_csr_dijkstra(tmp_path):
    import osmnx as ox

    from connectivity import demo_pbf, load_streets

    net = load_streets(demo_pbf(), mode="drive")
    g = net.to_networkx()
    assert g.number_of_nodes() == net.n_nodes and g.number_of_edges() == net.n_edges
    assert g.graph["crs"] == net.crs
    src = int(net.nodes["osmid"][0])
    nx_times = nx.single_source_dijkstra_path_length(g, src, weight="travel_time")
    ours = net.travel_times(0)
    by_osmid = dict(zip(net.nodes["osmid"].tolist(), ours.tolist(), strict=True))
    assert set(nx_times) == {k for k, t in by_osmid.items() if np.isfinite(t)}
    assert all(abs(nx_times[k] - by_osmid[k]) < 1e-6 for k in nx_times)
    # osmnx accepts it.
    nodes_gdf, edges_gdf = ox.convert.graph_to_gdfs(g)
    assert len(nodes_gdf) == net.n_nodes and len(edges_gdf) == net.n_edges
    assert edges_gdf.crs == net.crs
    dest = int(net.nodes["osmid"][net.n_nodes // 2])
    route = ox.routing.shortest_path(g, src, dest, weight="travel_time")
    route_time = sum(
        min(d["travel_time"] for d in g[a][b].values())
        for a, b in zip(route[:-1], route[1:], strict=False)
    )
    assert route_time == pytest.approx(nx_times[dest])
    data = next(iter(g.edges(data=True)))[2]
    assert {"length", "travel_time", "osmid", "highway", "name", "speed_kph"} <= set(data)


# -- real data: counts against an independent osmium reading ---------------------------------


def _osmium_ways(path, mode, bbox=None, sidepaths=False):
    """Way ids, node ids and node-to-node segments of the mode's ways, read with osmium
    and a tag filter written out here from pyrosm's / osmnx's rules. An extract clips
    ways at its border: nodes outside it are absent, and a way with fewer than two nodes
    inside cannot be a street. With ``sidepaths`` (walk), ``foot=no|use_sidepath`` counts
    as absent and ``sidewalk*=separate`` does not exclude."""
    import osmium

    present = {
        n.id
        for n in osmium.FileProcessor(str(path), osmium.osm.NODE)
        if bbox is None
        or (bbox[0] <= n.location.lon <= bbox[2] and bbox[1] <= n.location.lat <= bbox[3])
    }
    inside = present
    if bbox is not None:  # segments with at least one end in the box are read
        present = {n.id for n in osmium.FileProcessor(str(path), osmium.osm.NODE)}

    always = {
        "abandoned",
        "construction",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
    }
    motor = {"motor", "motorway", "motorway_link"}
    rules = {
        "walk": (
            {
                "highway": always | {"bus_guideway", "cycleway"} | motor,
                "service": {"private"},
                "sidewalk": {"separate"},
                "sidewalk:both": {"separate"},
                "sidewalk:left": {"separate"},
                "sidewalk:right": {"separate"},
            },
            ["foot"],
        ),
        "drive": (
            {
                "highway": always
                | {
                    "bridleway",
                    "bus_guideway",
                    "busway",
                    "corridor",
                    "cycleway",
                    "elevator",
                    "escalator",
                    "footway",
                    "ladder",
                    "path",
                    "pedestrian",
                    "steps",
                    "track",
                    "trail",
                    "service",
                },
                "service": {
                    "emergency_access",
                    "parking",
                    "parking_aisle",
                    "private",
                    "alley",
                    "driveway",
                },
            },
            ["motorcar", "motor_vehicle", "vehicle"],
        ),
    }
    excluded, access_keys = rules[mode]

    def hit(value, bad):
        return value is not None and any(p.strip() in bad for p in value.split(";"))

    ways, nodes, segments = set(), set(), set()
    for w in osmium.FileProcessor(str(path), osmium.osm.WAY):
        tags = dict(w.tags)
        if "highway" not in tags or hit(tags.get("area"), {"yes"}):
            continue
        if any(
            hit(tags.get(k), bad)
            for k, bad in excluded.items()
            if not (sidepaths and k.startswith("sidewalk"))
        ):
            continue
        if sidepaths and {p.strip() for p in tags.get("foot", "x").split(";")} <= {
            "no",
            "use_sidepath",
        }:
            del tags["foot"]
        access = next((tags[k] for k in [*access_keys, "access"] if k in tags), None)
        if hit(access, {"no", "private"}):
            continue
        refs = [n.ref for n in w.nodes if n.ref in present]
        pairs = [
            (w.id, a, b)
            for a, b in zip(refs[:-1], refs[1:], strict=False)
            if a in inside or b in inside
        ]
        if not pairs:
            continue
        ways.add(w.id)
        nodes.update(r for _, a, b in pairs for r in (a, b))
        segments.update(pairs)
    return ways, nodes, segments


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_helsinki_ways_match_an_independent_osmium_count(mode):
    from connectivity import Mode, demo_pbf, load_streets
    from connectivity.streets._osm import read_segments

    path = demo_pbf()
    ways, node_ids, expected_segments = _osmium_ways(path, mode)
    nodes, segments = read_segments(path, Mode(mode))
    assert set(segments["osmid"]) == ways
    assert set(nodes["id"]) == node_ids
    assert len(segments) == len(expected_segments)
    assert set(zip(segments["osmid"], segments["u"], segments["v"], strict=True)) == (
        expected_segments
    )
    n_segments = len(expected_segments)
    net = load_streets(path, mode=mode)
    assert set(net.edges["osmid"]) <= ways
    if mode == "walk":
        assert net.n_edges + net.meta["dropped_edges"] == 2 * n_segments
    assert net.n_nodes + net.meta["dropped_nodes"] == len(node_ids)


@pytest.mark.integration
def test_helsinki_bbox_reads_the_segments_with_an_end_inside():
    from connectivity import Mode, demo_pbf, load_streets
    from connectivity.streets._osm import read_segments

    box = (24.940, 60.165, 24.948, 60.172)
    ways, node_ids, expected_segments = _osmium_ways(demo_pbf(), "walk", bbox=box)
    nodes, segments = read_segments(demo_pbf(), Mode.WALK, bbox=box)
    assert set(segments["osmid"]) == ways
    assert set(nodes["id"]) == node_ids
    assert set(zip(segments["osmid"], segments["u"], segments["v"], strict=True)) == (
        expected_segments
    )
    net = load_streets(demo_pbf(), bbox=box)
    full = load_streets(demo_pbf())
    assert net.n_nodes < full.n_nodes
    assert net.meta["cache_key"] != full.meta["cache_key"]


@pytest.mark.integration
def test_rhine_neckar_walk_network_matches_osmium_and_reloads_from_cache(caplog):
    from conftest import shared_data

    from connectivity import Mode, load_streets
    from connectivity.streets._osm import read_segments

    path = shared_data("rhein-neckar/rnv.osm.pbf")
    ways, node_ids, expected_segments = _osmium_ways(path, "walk")
    nodes, segments = read_segments(path, Mode.WALK)
    assert set(segments["osmid"]) == ways
    assert len(segments) == len(expected_segments)
    # The extract is roads-only, so load_streets keeps the sidepath roads by default.
    side_ways, side_nodes, side_segments = _osmium_ways(path, "walk", sidepaths=True)
    nodes, segments = read_segments(path, Mode.WALK, sidepaths=True)
    assert set(segments["osmid"]) == side_ways
    assert set(nodes["id"]) >= side_nodes
    assert set(zip(segments["osmid"], segments["u"], segments["v"], strict=True)) == (side_segments)
    assert len(side_ways) > len(ways) + 2000  # ~2,900 roads carry foot=no there
    net = load_streets(path, mode="walk")
    assert net.meta["sidepaths"]["used"] is True
    assert net.crs == "EPSG:32632"
    assert net.n_edges + net.meta["dropped_edges"] == 2 * len(side_segments)
    assert net.n_nodes + net.meta["dropped_nodes"] == len(side_nodes)
    with caplog.at_level("INFO", logger="connectivity"):
        again = load_streets(path, mode="walk")
    assert "read from the cache" in caplog.text
    pd.testing.assert_frame_equal(net.edges, again.edges)
    # A point in Mannheim (Paradeplatz) reaches Heidelberg's centre on foot, slowly.
    t = again.travel_times_from(8.4660, 49.4875)
    heidelberg = again.nearest_nodes(8.6930, 49.4100)[0][0]
    assert 4 * 3600 < t[heidelberg] < 7 * 3600


def test_snap_and_to_networkx_follow_curved_edge_geometry():
    import osmnx as ox
    import shapely

    corner = [(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100)]
    forward = shapely.LineString(corner)
    net = StreetNetwork.from_arrays(
        x=[X0, X0 + 100],
        y=[Y0, Y0 + 100],
        u=[0, 1],
        v=[1, 0],
        length=[200.0, 200.0],
        speed_kmh=3.6,
        crs=CRS,
        geometry=[forward, shapely.LineString(corner[::-1])],
    )
    s = net.snap(*lonlat(105, 50))
    # The L-shaped street passes (100, 50) after 150 of its 200 m; a straight line
    # between the end nodes would put the point elsewhere.
    e = int(s.edge[0])
    f = 0.75 if e == 0 else 0.25
    assert s.fraction[0] == pytest.approx(f, abs=1e-6)
    assert s.distance[0] == pytest.approx(5, abs=1e-3)
    assert (s.x[0] - X0, s.y[0] - Y0) == pytest.approx((100, 50), abs=1e-3)
    times = net.travel_times_from(*lonlat(105, 50))
    assert times == pytest.approx([155, 55], abs=1e-3)  # 5 s onto the street first
    g = net.to_networkx()
    _, edges = ox.convert.graph_to_gdfs(g)
    assert edges.geometry.iloc[0].equals(forward) or edges.geometry.iloc[1].equals(forward)
    assert edges["length"].tolist() == [200.0, 200.0]


def test_unwritable_cache_folder_is_a_cache_error(tmp_path, monkeypatch):
    from connectivity import CacheError, load_streets, settings

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setattr(settings, "cache_folder", blocker)
    path = write_osm(tmp_path / "tiny.osm")
    with pytest.raises(
        CacheError, match=r"cannot write the street network cache .*use_cache=False"
    ):
        load_streets(path)
    assert load_streets(path, use_cache=False).n_nodes == 7


# -- sidepaths: roads closed to walking because their sidewalks are separate ways ----------

SIDE_NODES = {
    1: (8.600, 49.500),
    2: (8.601, 49.500),
    3: (8.602, 49.500),
    4: (8.603, 49.500),
    5: (8.604, 49.500),
    6: (8.602, 49.501),
    7: (8.600, 49.501),
    8: (8.604, 49.501),
    9: (8.605, 49.500),
    10: (8.602, 49.499),
}
SIDE_WAYS = {
    20: ([1, 2, 3], {"highway": "residential"}),
    21: ([4, 5], {"highway": "residential"}),
    # The only link between the two streets: its sidewalks are (missing) separate ways.
    22: ([3, 4], {"highway": "primary", "foot": "no", "bicycle": "no"}),
    23: ([2, 6, 5], {"highway": "motorway", "foot": "no"}),
    24: ([1, 7], {"highway": "residential", "foot": "private"}),
    25: ([5, 8], {"highway": "residential", "access": "private", "foot": "no"}),
    26: ([5, 9], {"highway": "secondary", "sidewalk:both": "separate"}),
}
FOOTWAY = {27: ([3, 10], {"highway": "footway"})}


def _segments(*way_ids, ways=SIDE_WAYS):
    """Both directions of every node-to-node segment of the given ways."""
    out = set()
    for w in way_ids:
        refs = ways[w][0]
        for a, b in zip(refs[:-1], refs[1:], strict=False):
            out |= {(a, b, w), (b, a, w)}
    return out


def _edges(net):
    return {(u, v, w) for (u, v), (_, _, w) in edge_table(net).items()}


def _side_osm(tmp_path, name, extra=None):
    return write_osm(tmp_path / name, SIDE_NODES, {**SIDE_WAYS, **(extra or {})})


def test_sidepaths_auto_keeps_foot_no_road_in_a_roads_only_extract(tmp_path, caplog):
    from connectivity import load_streets

    path = _side_osm(tmp_path, "roads.osm")
    with caplog.at_level("INFO", logger="connectivity"):
        net = load_streets(path, mode="walk")
    # 22 (foot=no) and 26 (sidewalk=separate) stand in for their sidewalks; the motorway
    # 23, foot=private 24 and access=private 25 stay closed.
    assert _edges(net) == _segments(20, 21, 22, 26)
    assert net.meta["dropped_nodes"] == 0
    assert net.meta["sidepaths"]["parameter"] == "auto"
    assert net.meta["sidepaths"]["used"] is True
    assert "sidepaths True (auto: roads.osm holds no highway=footway" in caplog.text
    assert "kept 2 walk ways as stand-ins" in caplog.text
    # The network connects: every node reaches every other.
    assert np.isfinite(net.travel_times(0)).all()


def test_sidepaths_auto_reads_tags_literally_when_the_extract_has_footways(tmp_path, caplog):
    from connectivity import load_streets

    path = _side_osm(tmp_path, "full.osm", FOOTWAY)
    with caplog.at_level("INFO", logger="connectivity"):
        net = load_streets(path, mode="walk")
    # Without 22 the streets fall apart; the larger part (20 with the footway) is kept.
    ways = {**SIDE_WAYS, **FOOTWAY}
    assert _edges(net) == _segments(20, 27, ways=ways)
    assert net.meta["sidepaths"]["used"] is False
    assert "sidepaths False (auto: full.osm holds highway=footway" in caplog.text


def test_sidepaths_explicit_true_and_false(tmp_path):
    from connectivity import load_streets

    ways = {**SIDE_WAYS, **FOOTWAY}
    full = _side_osm(tmp_path, "full.osm", FOOTWAY)
    roads = _side_osm(tmp_path, "roads.osm")
    on = load_streets(full, mode="walk", sidepaths=True)
    assert _edges(on) == _segments(20, 21, 22, 26, 27, ways=ways)
    assert on.meta["sidepaths"] == {
        "parameter": True,
        "used": True,
        "reason": "sidepaths=True given",
    }
    off = load_streets(roads, mode="walk", sidepaths=False)
    assert _edges(off) == _segments(20)
    assert off.meta["sidepaths"]["used"] is False


@pytest.mark.parametrize("tags", [{"foot": "no"}, {"foot": "use_sidepath"}, {}])
def test_sidepaths_never_keep_motorways_or_private_ways(tmp_path, tags):
    from connectivity import load_streets

    ways = {
        30: ([1, 2, 3, 4, 5], {"highway": "residential"}),
        31: ([1, 7], {"highway": "motorway", **tags}),
        32: ([2, 6], {"highway": "motorway_link", **tags}),
        33: ([3, 10], {"highway": "residential", "foot": "private"}),
        34: ([4, 8], {"highway": "residential", "access": "no", **tags}),
        35: ([5, 9], {"highway": "service", "service": "private", **tags}),
        36: ([9, 8], {"highway": "residential", "access": "private;delivery", **tags}),
        37: ([5, 8], {"highway": "cycleway", **tags}),
    }
    path = write_osm(tmp_path / "closed.osm", SIDE_NODES, ways)
    net = load_streets(path, mode="walk", sidepaths=True)
    assert _edges(net) == _segments(30, ways=ways)
    assert net.meta["dropped_nodes"] == 0


def test_sidepaths_access_no_with_foot_yes_stays_open(tmp_path):
    from connectivity import load_streets

    ways = {
        30: ([1, 2, 3], {"highway": "residential"}),
        31: ([3, 4], {"highway": "primary", "access": "no", "foot": "yes"}),
        32: ([4, 5], {"highway": "primary", "access": "private", "foot": "permissive"}),
        # pyrosm's multi-value rule: any closing value closes ("designated;no").
        33: ([5, 9], {"highway": "primary", "access": "no", "foot": "designated;no"}),
    }
    path = write_osm(tmp_path / "open.osm", SIDE_NODES, ways)
    for sidepaths in (True, False):
        net = load_streets(path, mode="walk", sidepaths=sidepaths)
        assert _edges(net) == _segments(30, 31, 32, ways=ways)


def test_sidepaths_for_bike_keep_bicycle_no_roads(tmp_path):
    from connectivity import load_streets

    path = _side_osm(tmp_path, "roads.osm")
    # Foot tags mean nothing to cyclists: 24 (foot=private) and 26 are cyclable anyway.
    net = load_streets(path, mode="bike")
    assert net.meta["sidepaths"]["used"] is True
    assert _edges(net) == _segments(20, 21, 22, 24, 26)
    off = load_streets(path, mode="bike", sidepaths=False)
    assert _edges(off) == _segments(20, 24)
    # A cycleway makes the extract a full one for cycling.
    ways = {**SIDE_WAYS, 28: ([3, 10], {"highway": "cycleway"})}
    full = write_osm(tmp_path / "cycle.osm", SIDE_NODES, ways)
    literal = load_streets(full, mode="bike")
    assert literal.meta["sidepaths"]["used"] is False
    assert _edges(literal) == _segments(20, 24, 28, ways=ways)


def test_sidepaths_cache_key_holds_parameter_and_choice(tmp_path):
    from connectivity import load_streets

    roads = _side_osm(tmp_path, "roads.osm")
    keys = {
        str(s): load_streets(roads, mode="walk", sidepaths=s).meta["cache_key"]
        for s in ("auto", True, False)
    }
    assert len(set(keys.values())) == 3
    # The same file contents with a footway resolve "auto" differently.
    full = _side_osm(tmp_path, "full.osm", FOOTWAY)
    assert load_streets(full, mode="walk").meta["cache_key"] != keys["auto"]
    again = load_streets(roads, mode="walk", sidepaths=False)
    assert again.meta["cache_key"] == keys["False"]
    assert _edges(again) == _segments(20)


def test_sidepaths_auto_scans_the_file_only_when_building(tmp_path, monkeypatch):
    from connectivity import load_streets
    from connectivity.streets import load

    roads = _side_osm(tmp_path, "roads.osm")
    scans = []
    real = load.roads_only
    monkeypatch.setattr(load, "roads_only", lambda *a: scans.append(a) or real(*a))
    first = load_streets(roads, mode="walk")
    second = load_streets(roads, mode="walk")
    assert len(scans) == 1  # the cache hit needs no scan: "auto" follows the contents
    assert second.meta["sidepaths"] == first.meta["sidepaths"]
    assert second.meta["sidepaths"]["used"] is True


def test_sidepaths_bad_values(tmp_path):
    from connectivity import load_streets

    roads = _side_osm(tmp_path, "roads.osm")
    with pytest.raises(ParameterError, match="sidepaths must be True, False or 'auto', got 'yes'"):
        load_streets(roads, sidepaths="yes")
    with pytest.raises(ParameterError, match="sidepaths=True applies to walk and bike"):
        load_streets(roads, mode="drive", sidepaths=True)
    drive = load_streets(roads, mode="drive")
    assert drive.meta["sidepaths"]["used"] is False


def _far_stops(net, stops):
    _, dist = net.nearest_nodes(stops[:, 0], stops[:, 1], max_distance=1e7)
    return int((dist > 300).sum())


@pytest.mark.integration
def test_rhine_neckar_sidepaths_reconnect_the_walk_network():
    import csv
    import io
    import zipfile

    from conftest import shared_data

    from connectivity import load_streets

    path = shared_data("rhein-neckar/rnv.osm.pbf")
    with zipfile.ZipFile(shared_data("rhein-neckar/rnv_gtfs.zip")) as z, z.open("stops.txt") as f:
        rows = list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8-sig")))
    stops = np.array(
        [
            (float(r["stop_lon"]), float(r["stop_lat"]))
            for r in rows
            if r.get("location_type", "") in ("", "0")
        ]
    )
    before = load_streets(path, mode="walk", sidepaths=False)
    after = load_streets(path, mode="walk")
    assert after.meta["sidepaths"]["used"] is True
    # Mannheim-Neckarstadt, a 2 x 2 km box around 49.4995 N 8.4750 E.
    dlat = 1000 / 111_320
    dlon = dlat / np.cos(np.radians(49.4995))

    def in_box(net):
        n = net.nodes
        return int(
            (n["lat"].between(49.4995 - dlat, 49.4995 + dlat))
            .mul(n["lon"].between(8.4750 - dlon, 8.4750 + dlon))
            .sum()
        )

    assert after.meta["dropped_nodes"] < before.meta["dropped_nodes"] / 5
    assert in_box(after) > 4 * in_box(before)
    assert _far_stops(after, stops) < _far_stops(before, stops) / 20


def _way_tags(path, keys) -> dict[int, dict[str, str]]:
    """Every way's ``keys`` tags, read with osmium, independently of the loader."""
    import osmium

    out: dict[int, dict[str, str]] = {}
    for way in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter("highway")):
        if way.is_way():
            out[way.id] = {k: way.tags[k] for k in keys if k in way.tags}
    return out


@pytest.mark.parametrize("source", ["helsinki", "rhein-neckar"])
def test_edges_keep_the_road_tags_of_their_way(source):
    """Every edge carries its way's name, ref, bridge, tunnel, maxspeed and lanes, as OSM
    has them (issue 21: refs were dropped on load, so "A 656" showed as "motorway")."""
    from conftest import shared_data

    from connectivity import demo_pbf, load_streets

    path = demo_pbf() if source == "helsinki" else shared_data("rhein-neckar/rnv.osm.pbf")
    keys = ("name", "ref", "bridge", "tunnel", "maxspeed", "lanes")
    tags = _way_tags(path, keys)
    net = load_streets(path, mode="drive", use_cache=False)
    e = net.edges
    for key in keys:
        got = np.array([None if v is None or v != v else v for v in e[key]], object)  # NaN
        want = np.array([tags[int(w)].get(key) for w in e["osmid"]], object)
        assert (got == want).all(), (key, got[got != want][:5], want[got != want][:5])
    kept = e.drop_duplicates("osmid")
    bridges = int(kept["bridge"].isin(["yes", "viaduct", "movable"]).sum())
    if source == "rhein-neckar":
        # 1,869 of the 1,888 motorway and trunk ways carry a ref (counted with osmium)
        major = kept[kept["highway"].isin(["motorway", "trunk"])]
        assert major["ref"].notna().mean() > 0.98
        assert {"A 6", "A 656", "B 37"} <= set(major["ref"].dropna())
        assert bridges > 500
    else:
        assert bridges >= 1
