"""New lines along the streets and at existing stops, against hand counts and an
independent Dijkstra written here."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from test_scenario import EIGHT, X0, Y0, built, feed_files, lonlat, street_line, timed

from connectivity import ScenarioError, StreetNetwork
from connectivity.network.intermodal import build_network
from connectivity.routing.queries import travel_times
from connectivity.scenarios.apply import apply_scenario, line_geometries
from connectivity.scenarios.modifications import AddLine


def drive_grid(rows: int = 8, cols: int = 8, spacing: float = 150.0, seed: int = 1):
    """A grid of two-way streets, each direction at its own random speed (20-60 km/h),
    and the same grid walked at 1 m/s."""
    rng = np.random.default_rng(seed)
    xs = [X0 + c * spacing for r in range(rows) for c in range(cols)]
    ys = [Y0 + r * spacing for r in range(rows) for c in range(cols)]
    us, vs = [], []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            for j in ([i + 1] if c + 1 < cols else []) + ([i + cols] if r + 1 < rows else []):
                us += [i, j]
                vs += [j, i]
    length = np.full(len(us), spacing)
    time = length / (rng.uniform(20, 60, len(us)) / 3.6)
    common = dict(x=xs, y=ys, u=us, v=vs, length=length, crs="EPSG:32635")
    drive = StreetNetwork.from_arrays(**common, time=time, mode="drive")
    walk = StreetNetwork.from_arrays(**common, speed_kmh=3.6, mode="walk")
    return drive, walk


def fastest(streets: StreetNetwork, a: int, b: int) -> tuple[float, float, list[int]]:
    """Heap Dijkstra over the edge list: the fastest path's time, length and nodes."""
    out: dict[int, list[tuple[int, float, float]]] = {}
    e = streets.edges
    for u, v, t, le in zip(e["u"], e["v"], e["time"], e["length"], strict=True):
        out.setdefault(int(u), []).append((int(v), float(t), float(le)))
    best = {a: (0.0, 0.0, [a])}
    heap = [(0.0, a)]
    done = set()
    while heap:
        t, n = heapq.heappop(heap)
        if n in done:
            continue
        done.add(n)
        for m, dt, dl in out.get(n, []):
            cand = t + dt
            if m not in best or cand < best[m][0]:
                best[m] = (cand, best[n][1] + dl, [*best[n][2], m])
                heapq.heappush(heap, (cand, m))
    return best[b]


def test_bus_follows_the_fastest_streets_with_road_times():
    drive, walk = drive_grid()
    base = build_network(walk, None, use_cache=False, walk_speed=3.6)
    stops = [0, 27, 63, 36]
    line = AddLine(
        "X1",
        stops=[lonlat(walk, n) for n in stops],
        mode="bus",
        headway=600,
        dwell=0,
        both_directions=False,
        bus_factor=1.3,
    )
    net = apply_scenario(base, line, line_streets=drive)
    legs = [fastest(drive, a, b) for a, b in zip(stops, stops[1:], strict=False)]
    (meta,) = net.meta["lines"]
    assert meta["km"] == pytest.approx(sum(le for _, le, _ in legs) / 1000, abs=1e-9)
    assert meta["km"] > 0.15 * (3 + 4 + 3 + 3 + 4 + 1)  # longer than the stops' lattice gaps
    arr, _ = net.timetable.pattern_times(0)
    expected = np.round(np.cumsum([0.0] + [1.3 * t for t, _, _ in legs])).astype(int)
    np.testing.assert_array_equal(arr[0] - arr[0, 0], expected)
    # The shape is the path's nodes, in order.
    nodes = [legs[0][2][0]] + [n for _, _, path in legs for n in path[1:]]
    shape = line_geometries(net).geometry.iloc[0]
    np.testing.assert_allclose(
        np.asarray(shape.coords), walk.nodes[["lon", "lat"]].to_numpy()[nodes], atol=1e-9
    )
    # A given speed wins over road times; follow_streets=False runs straight.
    at_speed = apply_scenario(base, AddLine(**{**line.__dict__, "speed": 36.0}), line_streets=drive)
    arr, _ = at_speed.timetable.pattern_times(0)
    gaps = [le for _, le, _ in legs]
    np.testing.assert_array_equal(arr[0] - arr[0, 0], np.round(np.cumsum([0.0] + gaps) / 10))
    straight = apply_scenario(
        base,
        AddLine(**{**line.__dict__, "follow_streets": False, "speed": 36.0}),
        line_streets=drive,
    )
    xy = walk.nodes[["x", "y"]].to_numpy()[stops]
    crow = np.hypot(*np.diff(xy, axis=0).T).sum()
    assert straight.meta["lines"][0]["km"] == pytest.approx(crow / 1000)


def test_a_tram_on_the_streets_takes_the_path_length_at_its_speed():
    drive, walk = drive_grid(seed=4)
    base = build_network(walk, None, use_cache=False, walk_speed=3.6)
    line = AddLine(
        "T",
        stops=[lonlat(walk, 0), lonlat(walk, 63)],
        mode="tram",
        speed=18,
        headway=600,
        dwell=0,
        both_directions=False,
    )
    net = apply_scenario(base, line, line_streets=drive)
    _, length, _ = fastest(drive, 0, 63)
    arr, _ = net.timetable.pattern_times(0)
    assert arr[0, 1] - arr[0, 0] == round(length / 5)  # 18 km/h = 5 m/s


def test_a_stop_near_an_existing_stop_is_that_stop_and_transfers_without_a_walk(tmp_path):
    """Route R: A (node 0) 08:00 -> S (node 20) 08:05. The new line leaves a point 20 m
    from S at 08:06:00 and reaches node 40 at 08:08:00. Reused, the point is S: the
    change is at the same stop (no walk; the engine's 60 s transfer slack), node 40 is
    reached in 480 s. Not reused (reuse_stops_m=0), the 20 m walk plus the slack (08:06:20)
    miss it."""
    streets = street_line()
    files = feed_files(streets, {"A": 0, "S": 20}, [("R", "r1", timed(["A", "S"], EIGHT, [300]))])
    base = built(tmp_path, streets, files, "f")
    from pyproj import Transformer

    point = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True).transform(X0 + 2020, Y0)
    line = dict(
        name="N",
        stops=[point, lonlat(streets, 40)],
        departures=["08:06"],
        run_times=[120],
        dwell=0,
        both_directions=False,
    )
    net = apply_scenario(base, AddLine(**line))
    s_pos = int(np.flatnonzero(base.timetable.stops["stop_id"] == "S")[0])
    assert net.n_stops == base.n_stops + 1  # only the terminus is new
    assert net.meta["lines"][0]["stops"][0] == s_pos
    assert net.meta["lines"][0]["reused_stops"] == 1
    t = travel_times(net, lonlat(streets, 0), departure=EIGHT).nodes[0]
    assert t[40] == 480
    apart = apply_scenario(base, AddLine(**line, reuse_stops_m=0))
    assert apart.n_stops == base.n_stops + 2
    assert travel_times(apart, lonlat(streets, 0), departure=EIGHT).nodes[0, 40] > 480
    # Stops may name existing stop ids.
    by_id = apply_scenario(base, AddLine(**{**line, "stops": ["S", lonlat(streets, 40)]}))
    assert by_id.meta["lines"][0]["stops"] == net.meta["lines"][0]["stops"]
    assert travel_times(by_id, lonlat(streets, 0), departure=EIGHT).nodes[0, 40] == 480
    with pytest.raises(ScenarioError, match=r"line 'N' stops: unknown stop id\(s\) 'Q'"):
        apply_scenario(base, AddLine(**{**line, "stops": ["Q", lonlat(streets, 40)]}))


def test_waypoints_off_every_street_and_unreachable_points():
    drive, walk = drive_grid()
    base = build_network(walk, None, use_cache=False, walk_speed=3.6)
    from pyproj import Transformer

    far = Transformer.from_crs(walk.crs, "EPSG:4326", always_xy=True).transform(X0, Y0 - 900)
    line = AddLine("W", alignment=[lonlat(walk, 0), far, lonlat(walk, 63)], headway=600)
    with pytest.raises(
        ScenarioError, match=r"line 'W' alignment: point 2 lies 900 m from the nearest street"
    ):
        apply_scenario(base, line, line_streets=drive)
    # One-way out of node 0 only: nothing leads back to it.
    e = drive.edges
    keep = (e["v"] != 0).to_numpy()
    oneway = StreetNetwork.from_arrays(
        x=drive.nodes["x"],
        y=drive.nodes["y"],
        u=e["u"][keep],
        v=e["v"][keep],
        length=e["length"][keep],
        time=e["time"][keep],
        mode="drive",
        crs=drive.crs,
    )
    back = AddLine("B", stops=[lonlat(walk, 9), lonlat(walk, 0)], headway=600)
    with pytest.raises(ScenarioError, match="no street path from point 1 to point 2"):
        apply_scenario(base, back, line_streets=oneway)


def _tram_town(path, track: bool = True):
    """Residential streets on a 3 x 3 grid, 150 m apart (nodes 1-9, row by row), and a
    tram track on the diagonal from node 1 to node 9 through two nodes of its own, 71 m
    from every street node."""
    import osmium
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    meta = {"version": 1, "changeset": 1, "uid": 1, "timestamp": "2020-01-01T00:00:00Z"}
    xy = {r * 3 + c + 1: (X0 + 150 * c, Y0 + 150 * r) for r in range(3) for c in range(3)}
    xy |= {101: (X0 + 100, Y0 + 100), 102: (X0 + 200, Y0 + 200)}
    writer = osmium.SimpleWriter(str(path))
    for n, (x, y) in sorted(xy.items()):
        lon, lat = to_ll.transform(x, y)
        writer.add_node(osmium.osm.mutable.Node(id=n, location=(lon, lat), **meta))
    ways = [[r * 3 + c + 1, r * 3 + c + 2] for r in range(3) for c in range(2)]
    ways += [[r * 3 + c + 1, r * 3 + c + 4] for r in range(2) for c in range(3)]
    w = 0
    for w, nodes in enumerate(ways, start=1):
        writer.add_way(osmium.osm.mutable.Way(id=w, nodes=nodes, tags={"highway": "residential"},
                                              **meta))  # fmt: skip
    if track:
        writer.add_way(osmium.osm.mutable.Way(id=w + 1, nodes=[1, 101, 102, 9],
                                              tags={"railway": "tram"}, **meta))  # fmt: skip
    writer.close()
    return path


def test_a_tram_follows_the_mapped_tracks_and_a_bus_the_streets(tmp_path):
    """From the grid's corner to the opposite one: the tram takes the diagonal track
    (its km the track's length, 300 sqrt 2 m), the bus the streets (600 m); without
    tracks in the extract the tram would take the streets too."""
    from connectivity import load_streets
    from connectivity.streets.tracks import tram_tracks, with_tram_tracks

    pbf = _tram_town(tmp_path / "town.osm.pbf")
    assert [ids for ids, _ in tram_tracks(pbf)] == [[1, 101, 102, 9]]
    drive = load_streets(pbf, mode="drive", use_cache=False)
    walk = load_streets(pbf, mode="walk", use_cache=False)
    joined = with_tram_tracks(drive, pbf)
    assert joined is not None and int(joined.edges["track"].sum()) == 6  # 3 segments x 2
    base = build_network(walk, None, use_cache=False)
    osm = walk.nodes["osmid"].to_numpy()
    ends = [lonlat(walk, int(np.flatnonzero(osm == n)[0])) for n in (1, 9)]
    streets = {"tram": joined, "default": drive}
    kw = dict(stops=ends, headway=600, speed=18, dwell=0, both_directions=False)
    tram = apply_scenario(base, AddLine("T", mode="tram", **kw), line_streets=streets)
    bus = apply_scenario(base, AddLine("B", mode="bus", **kw), line_streets=streets)
    xy = joined.nodes.set_index("osmid")[["x", "y"]].loc[[1, 101, 102, 9]].to_numpy()
    track_m = float(np.hypot(*np.diff(xy, axis=0).T).sum())
    assert track_m == pytest.approx(300 * np.sqrt(2), rel=1e-3)
    assert tram.meta["lines"][0]["km"] == pytest.approx(track_m / 1000, abs=1e-9)
    _, street_m, _ = fastest(drive, *(int(np.flatnonzero(drive.nodes["osmid"] == n)[0])
                                      for n in (1, 9)))  # fmt: skip
    assert street_m == pytest.approx(600, rel=5e-3)  # great-circle lengths, UTM positions
    assert bus.meta["lines"][0]["km"] == pytest.approx(street_m / 1000, abs=1e-9)
    arr, _ = tram.timetable.pattern_times(0)
    assert arr[0, 1] - arr[0, 0] == round(track_m / 5)  # 18 km/h on the track's length
    # The shape runs through the track's own nodes.
    shape = np.asarray(line_geometries(tram).geometry.iloc[0].coords)
    ll = joined.nodes.set_index("osmid")[["lon", "lat"]].loc[[1, 101, 102, 9]].to_numpy()
    np.testing.assert_allclose(shape, ll, atol=1e-9)
    # An extract without tracks: nothing to join, and the tram keeps to the streets.
    assert with_tram_tracks(drive, _tram_town(tmp_path / "plain.osm.pbf", track=False)) is None
