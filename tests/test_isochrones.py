"""Isochrones and the travel-time surface, against brute force on hand-made networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.ops import substring

from connectivity import CoordinateError, OutsideNetworkError, ParameterError
from connectivity.accessibility.isochrones import (
    isochrones,
    travel_time_surface,
    travel_times_from,
    write_geotiff,
    write_isochrones,
)
from connectivity.streets.graph import StreetNetwork
from connectivity.streets.load import load_streets

X0, Y0 = 385_000.0, 6_672_000.0  # central Helsinki in UTM 35N (EPSG:32635)
CRS = "EPSG:32635"


def grid_network(n: int = 9, spacing: float = 100.0, *, seed: int | None = None, skip=()):
    """An n x n grid of two-way streets; with a seed, nodes are jittered and speeds vary.
    ``skip`` lists node (row, col) pairs left out (with their streets)."""
    rng = np.random.default_rng(seed)
    ids = {}
    xs, ys = [], []
    for r in range(n):
        for c in range(n):
            if (r, c) in skip:
                continue
            jitter = rng.uniform(-25, 25, 2) if seed is not None else (0.0, 0.0)
            ids[r, c] = len(xs)
            xs.append(X0 + c * spacing + jitter[0])
            ys.append(Y0 + r * spacing + jitter[1])
    u, v, speed = [], [], []
    for (r, c), a in ids.items():
        for b in (ids.get((r, c + 1)), ids.get((r + 1, c))):
            if b is None:
                continue
            s = rng.uniform(2.0, 6.0) if seed is not None else 3.6
            u += [a, b]
            v += [b, a]
            speed += [s, s]
    x, y = np.array(xs), np.array(ys)
    u, v = np.array(u), np.array(v)
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    time = length / (np.array(speed) / 3.6)
    net = StreetNetwork.from_arrays(x=x, y=y, u=u, v=v, length=length, time=time, crs=CRS)
    return net, ids


def reached_lines(net, times, cutoff):
    """The reached part of every edge, computed independently: the line from u up to
    the share of the edge that the time left at u buys."""
    geoms = net.edge_geometries()
    t_edge = net.edges["time"].to_numpy()
    parts = []
    for i, (a, g) in enumerate(zip(net.edges["u"], geoms, strict=True)):
        left = cutoff - times[a]
        if left < 0:
            continue
        share = min(1.0, left / t_edge[i])
        parts.append(substring(g, 0, share, normalized=True))
    return shapely.union_all(parts)


def projected(iso, net):
    return list(iso.to_crs(net.crs).geometry)


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_reached_nodes_inside_and_far_nodes_outside(seed):
    net, ids = grid_network(9, seed=seed)
    times = net.travel_times([ids[4, 4]])
    buffer, resolution = 30.0, 10.0
    cutoffs = (120, 240, 360)
    iso = isochrones(net, times, cutoffs=cutoffs, buffer=buffer, resolution=resolution)
    assert list(iso["cutoff"]) == [120.0, 240.0, 360.0]
    assert iso.crs.to_epsg() == 4326
    pts = shapely.points(net.nodes["x"], net.nodes["y"])
    n_checked_out = 0
    for cutoff, poly in zip(cutoffs, projected(iso, net), strict=True):
        assert poly.is_valid
        inside = times <= cutoff
        assert shapely.covers(poly, pts[inside]).all()
        lines = reached_lines(net, times, cutoff)
        far = ~inside & (shapely.distance(pts, lines) > buffer + resolution * math.sqrt(2))
        assert not shapely.intersects(poly, pts[far]).any()
        n_checked_out += int(far.sum())
        # Points along the reached parts of the streets are covered too, not only nodes.
        along = shapely.line_interpolate_point(lines, np.linspace(0, 1, 400), normalized=True)
        assert shapely.covers(poly.buffer(resolution), along).all()
    assert n_checked_out > 10  # the test does test exclusion


def test_polygons_follow_the_streets_not_a_hull():
    net, ids = grid_network(9, spacing=200)
    times = net.travel_times([ids[4, 4]])
    (poly,) = projected(isochrones(net, times, cutoffs=(2000,), buffer=30), net)
    # The blocks between streets (200 m, buffer 30 m) stay out: holes, not a hull.
    block_centre = shapely.Point(X0 + 4 * 200 + 100, Y0 + 4 * 200 + 100)
    assert poly.convex_hull.contains(block_centre)
    assert not poly.contains(block_centre)
    assert sum(len(p.interiors) for p in getattr(poly, "geoms", [poly])) >= 4


def test_cutoffs_nest():
    net, ids = grid_network(11, seed=7)
    times = net.travel_times([ids[2, 3]])
    iso = isochrones(net, times, cutoffs=(600, 150, 300, 450))
    assert list(iso["cutoff"]) == [150, 300, 450, 600]
    geo = list(iso.geometry)
    for small, large in zip(geo, geo[1:], strict=False):
        assert shapely.covered_by(small, large)  # exactly, in EPSG:4326
    polys = projected(iso, net)
    for small, large in zip(polys, polys[1:], strict=False):
        assert small.area < large.area
        assert small.difference(large).area <= 1e-6 * small.area


def test_ring_road_leaves_a_hole():
    # A 600 m square ring road: nothing inside it is reachable.
    side, step = 600.0, 100.0
    k = int(side / step)
    corners = [(i * step, 0.0) for i in range(k)]
    corners += [(side, i * step) for i in range(k)]
    corners += [(side - i * step, side) for i in range(k)]
    corners += [(0.0, side - i * step) for i in range(k)]
    x = np.array([X0 + c[0] for c in corners])
    y = np.array([Y0 + c[1] for c in corners])
    m = len(corners)
    a = np.arange(m)
    b = (a + 1) % m
    u, v = np.concatenate([a, b]), np.concatenate([b, a])
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    net = StreetNetwork.from_arrays(x=x, y=y, u=u, v=v, length=length, speed_kmh=3.6, crs=CRS)
    times = net.travel_times([0])
    (poly,) = projected(isochrones(net, times, cutoffs=(3600,), buffer=50, resolution=10), net)
    assert poly.geom_type == "Polygon"
    assert len(poly.interiors) == 1
    hole = shapely.Polygon(poly.interiors[0])
    # The hole is the inner square, 500 m wide, to one cell.
    assert hole.area == pytest.approx((side - 100) ** 2, rel=0.05)
    assert hole.contains(shapely.Point(X0 + side / 2, Y0 + side / 2))


def test_partial_edge_has_the_right_length():
    # One 1000 m street walked at 1 m/s: after 500 s, half of it is reached.
    net = StreetNetwork.from_arrays(
        x=[X0, X0 + 1000],
        y=[Y0, Y0],
        u=[0, 1],
        v=[1, 0],
        length=[1000, 1000],
        time=[1000, 1000],
        crs=CRS,
    )
    times = net.travel_times([0])
    buffer, resolution = 40.0, 5.0
    (poly,) = projected(
        isochrones(net, times, cutoffs=(500,), buffer=buffer, resolution=resolution), net
    )
    minx, miny, maxx, maxy = poly.bounds
    assert maxx - X0 == pytest.approx(500 + buffer, abs=2 * resolution)
    assert X0 - minx == pytest.approx(buffer, abs=2 * resolution)
    assert maxy - miny == pytest.approx(2 * buffer, abs=2 * resolution)
    # A band along the street, rounded at the ends: the area of a buffered 500 m line.
    band = shapely.LineString([(X0, Y0), (X0 + 500, Y0)]).buffer(buffer)
    assert poly.area == pytest.approx(band.area, abs=band.length * resolution)


def test_curved_geometry_is_followed():
    # One L-shaped street stored as a single edge with its geometry.
    line = shapely.LineString([(X0, Y0), (X0 + 500, Y0), (X0 + 500, Y0 + 500)])
    back = shapely.LineString(line.coords[::-1])
    net = StreetNetwork.from_arrays(
        x=[X0, X0 + 500],
        y=[Y0, Y0 + 500],
        u=[0, 1],
        v=[1, 0],
        length=[1000, 1000],
        time=[1000, 1000],
        crs=CRS,
        geometry=[line, back],
    )
    times = net.travel_times([0])
    (poly,) = projected(isochrones(net, times, cutoffs=(750,), buffer=30, resolution=5), net)
    assert poly.covers(shapely.Point(X0 + 500, Y0))  # the corner
    assert poly.covers(shapely.Point(X0 + 500, Y0 + 240))  # 740 m along
    assert not poly.intersects(shapely.Point(X0 + 500, Y0 + 320))  # 820 m along
    assert not poly.intersects(shapely.Point(X0 + 250, Y0 + 250))  # on the chord


def test_origin_mid_edge_is_timed_from_the_origin():
    net = StreetNetwork.from_arrays(
        x=[X0, X0 + 1000],
        y=[Y0, Y0],
        u=[0, 1],
        v=[1, 0],
        length=[1000, 1000],
        time=[1000, 1000],
        crs=CRS,
    )
    lon, lat = (float(a) for a in net._to_crs.transform(X0 + 400, Y0, direction="INVERSE"))
    times = travel_times_from(net, lat=lat, lon=lon)
    assert times == pytest.approx([400, 600], abs=0.5)
    # 60 s reaches 60 m each way from the origin, and neither end node.
    iso = isochrones(net, times, cutoffs=(60,), buffer=20, resolution=4, origin=(lat, lon))
    (poly,) = projected(iso, net)
    minx, _, maxx, _ = poly.bounds
    assert minx == pytest.approx(X0 + 400 - 60 - 20, abs=8)
    assert maxx == pytest.approx(X0 + 400 + 60 + 20, abs=8)
    # Without the origin, only nodes time the street, and nothing is reached in 60 s.
    assert isochrones(net, times, cutoffs=(60,), buffer=20).geometry.iloc[0].is_empty


def test_swapped_origin_gets_a_hint():
    net, ids = grid_network(5)
    lon, lat = float(net.nodes["lon"][0]), float(net.nodes["lat"][0])
    assert travel_times_from(net, lat=lat, lon=lon)[0] == pytest.approx(0, abs=1e-6)
    with pytest.raises(CoordinateError, match="swapped"):
        travel_times_from(net, lat=lon, lon=lat)
    with pytest.raises(OutsideNetworkError, match="max_distance") as info:
        travel_times_from(net, lat=lat + 0.1, lon=lon)
    assert "swapped" not in str(info.value)


def test_surface_agrees_with_polygons(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    net, ids = grid_network(9, seed=5)
    times = net.travel_times([ids[4, 4]])
    kw = {"buffer": 30.0, "resolution": 10.0}
    surface = travel_time_surface(net, times, max_time=400, **kw)
    path = write_geotiff(surface, tmp_path / "out" / "surface.tif")
    with rasterio.open(path) as src:
        band = src.read(1)
        assert src.crs.to_epsg() == 32635
        assert src.transform == surface.transform
    np.testing.assert_array_equal(np.isnan(band), np.isnan(surface.values))
    polys = projected(isochrones(net, times, cutoffs=(200, 400), **kw), net)
    for cutoff, poly in zip((200, 400), polys, strict=True):
        cells = int((band <= cutoff).sum())
        assert poly.area == pytest.approx(cells * 100.0, rel=1e-6)
    # Each cell's value is the earliest time of a node within the buffer, or earlier.
    rows, cols = np.nonzero(np.isfinite(band))
    t = surface.transform
    cx, cy = t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e
    x, y = net.nodes["x"].to_numpy(), net.nodes["y"].to_numpy()
    for i in range(0, len(rows), 97):
        near = np.hypot(x - cx[i], y - cy[i]) <= 30 - 10 * math.sqrt(2)
        if near.any() and times[near].min() <= 400:
            assert band[rows[i], cols[i]] <= times[near].min() + 1e-3


def test_nothing_reached_gives_empty_polygons():
    net, ids = grid_network(3)
    times = np.full(net.n_nodes, np.inf)
    iso = isochrones(net, times, cutoffs=(60, 120))
    assert iso.geometry.is_empty.all()
    assert list(iso["cutoff"]) == [60, 120]
    assert np.isnan(travel_time_surface(net, times).values).all()


def test_write_isochrones(tmp_path):
    gpd = pytest.importorskip("geopandas")
    net, ids = grid_network(5)
    iso = isochrones(net, net.travel_times([ids[2, 2]]), cutoffs=(100, 200))
    for name in ("a.geojson", "b.gpkg", "c.parquet"):
        path = write_isochrones(iso, tmp_path / name)
        back = gpd.read_parquet(path) if name.endswith("parquet") else gpd.read_file(path)
        assert back.crs.to_epsg() == 4326
        assert list(back["cutoff"]) == [100, 200]
        assert back.geometry.iloc[1].equals_exact(iso.geometry.iloc[1], 1e-9)
    with pytest.raises(ParameterError, match=r"\.geojson, \.gpkg or \.parquet"):
        write_isochrones(iso, tmp_path / "x.shp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.geojson", "b.gpkg", "c.parquet"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"times": np.zeros(3)}, r"shape \(3,\).*25 nodes"),
        ({"times": np.full(25, np.nan)}, "NaN"),
        ({"times": np.full(25, -1.0)}, ">= 0"),
        ({"cutoffs": ()}, "empty"),
        ({"cutoffs": (300, -5)}, "cutoff -5 s is not a positive"),
        ({"cutoffs": ("ten",)}, "give numbers of seconds"),
        ({"cutoffs": (math.inf,)}, "not a positive"),
        ({"buffer": 0}, "buffer=0"),
        ({"buffer": "wide"}, "buffer=wide m: give a positive width"),
        ({"resolution": "fine"}, "resolution=fine m: give a positive cell size"),
        ({"resolution": -1}, "resolution=-1"),
        ({"buffer": 10, "resolution": 50}, "coarser than twice"),
    ],
)
def test_bad_parameters(kwargs, match):
    net, ids = grid_network(5)
    args = {"times": np.zeros(net.n_nodes), **kwargs}
    times = args.pop("times")
    with pytest.raises(ParameterError, match=match):
        isochrones(net, times, **args)


def test_public_names_are_the_functions():
    # A submodule named like a public function would shadow it once imported.
    import connectivity as cx
    import connectivity.accessibility.isochrones
    import connectivity.outputs.maps
    import connectivity.studies.demo

    assert cx.isochrones is connectivity.accessibility.isochrones.isochrones
    assert cx.travel_times_from is connectivity.accessibility.isochrones.travel_times_from
    assert cx.demo is connectivity.studies.demo.demo
    assert cx.isochrone_map is connectivity.outputs.maps.isochrone_map


def test_one_way_street_is_only_reached_forwards():
    # A 1000 m one-way street 0 -> 1 driven at 36 km/h (100 s).
    net = StreetNetwork.from_arrays(
        x=[X0, X0 + 1000],
        y=[Y0, Y0],
        u=[0],
        v=[1],
        length=[1000],
        time=[100],
        mode="drive",
        crs=CRS,
    )
    forwards = isochrones(net, net.travel_times([0]), cutoffs=(50,), buffer=40, resolution=10)
    (poly,) = projected(forwards, net)
    assert poly.bounds[2] == pytest.approx(X0 + 500 + 40, abs=20)
    # From its end nothing of the street is reached: only the band around node 1.
    backwards = isochrones(net, net.travel_times([1]), cutoffs=(50,), buffer=40, resolution=10)
    (poly,) = projected(backwards, net)
    assert poly.bounds[0] == pytest.approx(X0 + 1000 - 40, abs=20)
    assert poly.area == pytest.approx(math.pi * 40**2, rel=0.25)


def _one_street_osm(path):
    """A 1000 m east-west footway at latitude 49.5 (two nodes), as OSM XML."""
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<osm version='0.6' generator='test'>",
        "  <node id='1' version='1' lat='49.5' lon='8.6'/>",
        "  <node id='2' version='1' lat='49.5' lon='8.613845'/>",
        "  <way id='10' version='1'><nd ref='1'/><nd ref='2'/>",
        "    <tag k='highway' v='footway'/></way>",
        "</osm>",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_max_distance_also_snaps_the_origin_of_the_polygons(tmp_path, capsys):
    # An origin 700 m north of the only street: allowed by max_distance=1000, so the
    # polygons (which time the origin's street from the origin) must accept it too.
    from connectivity.accessibility.isochrones import isochrones_from_file
    from connectivity.cli import main

    osm = _one_street_osm(tmp_path / "street.osm")
    lat, lon = 49.5 + 700 / 111_200, 8.6069225  # above the street's middle
    net = load_streets(osm, mode="walk")
    mps = float(net.edges["length"].iloc[0] / net.edges["time"].iloc[0])
    onto = float(net.snap(lon, lat, max_distance=1000).distance[0]) / mps  # the walk to it
    cutoff = round(onto) + 60
    with pytest.raises(OutsideNetworkError, match="max_distance=500"):
        isochrones_from_file(osm, lat=lat, lon=lon, cutoffs=(cutoff,))
    iso = isochrones_from_file(osm, lat=lat, lon=lon, cutoffs=(cutoff,), max_distance=1000)
    (poly,) = iso.to_crs("EPSG:32632").geometry
    # What is left after the walk onto the street, along it from its middle, both ways,
    # plus the band.
    metres = (cutoff - onto) * mps
    assert poly.bounds[2] - poly.bounds[0] == pytest.approx(2 * (metres + 50), abs=30)
    out = tmp_path / "iso.geojson"
    argv = ["-q", "isochrones", "--osm", str(osm), "--origin", f"{lat},{lon}"]
    argv += ["--cutoffs", str(cutoff / 60), "--max-distance", "1000", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert out.exists()


@pytest.mark.parametrize("max_time", [math.nan, -60, "ten"])
def test_surface_rejects_a_bad_max_time(max_time):
    net, ids = grid_network(3)
    with pytest.raises(ParameterError, match="max_time"):
        travel_time_surface(net, net.travel_times([ids[1, 1]]), max_time=max_time)


def test_transit_isochrones_snap_the_origin_with_snap_distance():
    # The hand-made street and bus line of test_transit_isochrone; an origin 700 m off
    # the western street, allowed by snap_distance=1000 for the routing and the polygons.
    # Walk+transit routing counts the walk onto the street (700 m at 5 km/h = 504 s),
    # so the origin's own street is reached from 504 s on, not from 0 s.
    from test_transit_isochrone import EIGHT, _network

    from connectivity.accessibility.transit_isochrones import transit_isochrones, transit_times_from

    walk, net = _network()
    x, y = float(walk.nodes["x"].iat[2]), float(walk.nodes["y"].iat[2]) + 700
    lon, lat = (float(a) for a in walk._to_crs.transform(x, y, direction="INVERSE"))
    with pytest.raises(OutsideNetworkError, match="max_distance=500"):
        transit_isochrones(net, lat=lat, lon=lon, departure=EIGHT, cutoffs=(60,))
    access = 700 / (5 / 3.6)
    times = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, snap_distance=1000)
    assert times[2] == pytest.approx(access)
    iso = transit_isochrones(
        net, lat=lat, lon=lon, departure=EIGHT, cutoffs=(60, access + 60), snap_distance=1000
    )
    early, late = projected(iso, walk)
    assert early.is_empty
    # 60 s of walking (83 m at 5 km/h) both ways from the snapped point, plus the band.
    assert late.bounds[2] - late.bounds[0] == pytest.approx(2 * (60 / 3.6 * 5 + 50), abs=30)
    assert late.bounds[0] + late.bounds[2] == pytest.approx(2 * x, abs=30)


def test_bad_origin_time():
    net, ids = grid_network(3)
    lat, lon = float(net.nodes["lat"][4]), float(net.nodes["lon"][4])
    times = travel_times_from(net, lat=lat, lon=lon)
    for bad in (-1, math.nan, "soon"):
        with pytest.raises(ParameterError, match="origin_time"):
            isochrones(net, times, origin=(lat, lon), origin_time=bad)


def test_geotiff_and_polygons_agree_at_a_time_that_float32_rounds_to_the_cutoff():
    # A node reached at 300.00001 s: float32 (the GeoTIFF) stores 300.0, so the raster
    # has it within 300 s; the polygons must say the same, cell for cell.
    net, ids = grid_network(3)
    times = np.full(net.n_nodes, np.inf)
    times[ids[1, 1]] = 300.00001
    assert np.float32(times[ids[1, 1]]) == 300.0
    kw = {"buffer": 30.0, "resolution": 10.0}
    surface = travel_time_surface(net, times, max_time=400, **kw)
    (poly,) = projected(isochrones(net, times, cutoffs=(300,), **kw), net)
    cells = int((surface.values <= 300).sum())
    assert cells > 0
    assert poly.area == pytest.approx(cells * 100.0, rel=1e-9)
    # The surface cut at the cutoff itself holds the same cells (and nothing beyond).
    cut = travel_time_surface(net, times, max_time=300, **kw).values
    assert int(np.isfinite(cut).sum()) == cells
    assert np.nanmax(cut) <= 300


def test_transit_percentile_and_window_checks():
    from test_transit_isochrone import EIGHT, _network

    from connectivity.accessibility.transit_isochrones import transit_times_from

    walk, net = _network()
    lat, lon = float(walk.nodes["lat"].iat[0]), float(walk.nodes["lon"].iat[0])
    want = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, percentile=50)
    for p in (np.int64(50), np.float32(50)):
        got = transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, percentile=p)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ParameterError, match="percentile=True"):
        transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, percentile=True)
    for bad in ("an hour", -60, math.nan):
        with pytest.raises(ParameterError, match="window="):
            transit_times_from(net, lat=lat, lon=lon, departure=EIGHT, window=bad)


def test_one_convention_for_the_walk_onto_the_street():
    """A point 94 m off its street (issue 12, 6): the street-only walk from it, the walk
    mode of travel_times and the direct walk of a walk+transit query all count the walk
    onto the street (the walking isochrone started at the street, the walk+transit one
    68 s later); a bike network walks it at ACCESS_WALK_SPEED."""
    from connectivity import build_network, demo_pbf, load_streets
    from connectivity.accessibility.isochrones import travel_times_from
    from connectivity.routing.queries import travel_times
    from connectivity.scenarios.apply import empty_timetable
    from connectivity.streets.graph import ACCESS_WALK_SPEED

    walk = load_streets(demo_pbf(), mode="walk")
    lat, lon = 60.1750, 24.9340  # 93 m from the nearest footway
    snapped = walk.snap(lon, lat)
    assert 60 < float(snapped.distance[0]) < 150
    onto = float(snapped.distance[0]) / (5.0 / 3.6)
    street = travel_times_from(walk, lat=lat, lon=lon, limit=1800)
    net = build_network(walk, empty_timetable())
    routed = travel_times(net, (lon, lat), departure=8 * 3600, mode="walk", max_time=1800)
    both = np.isfinite(street) & np.isfinite(routed.node_times())
    assert both.sum() > 1000
    np.testing.assert_allclose(street[both], routed.node_times()[both], atol=1e-6)
    assert street[both].min() >= onto - 1e-6  # no node before the walk onto the street
    bike = load_streets(demo_pbf(), mode="bike")
    b = bike.snap(lon, lat)
    times = travel_times_from(bike, lat=lat, lon=lon, limit=1800)
    first = min(float(times[b.node_u[0]]), float(times[b.node_v[0]]))
    assert first >= float(b.distance[0]) / (ACCESS_WALK_SPEED / 3.6) - 1e-6


def test_the_drive_matrix_counts_the_walk_onto_and_off_the_street_too():
    """travel_time_matrix and travel_times agree for a drive trip between two points off
    the roads (the matrix started and ended at the street: 40 s less for 56 m)."""
    import geopandas as gpd

    from connectivity import build_network, demo_pbf, load_streets
    from connectivity.routing.matrix import travel_time_matrix
    from connectivity.scenarios.apply import empty_timetable

    walk = load_streets(demo_pbf(), mode="walk")
    drive = load_streets(demo_pbf(), mode="drive")
    net = build_network([walk, drive], empty_timetable())
    (o_lon, o_lat), (d_lon, d_lat) = (24.9340, 60.1750), (24.9480, 60.1660)
    assert drive.snap(o_lon, o_lat).distance[0] > 30 and drive.snap(d_lon, d_lat).distance[0] > 10
    pts = [gpd.GeoDataFrame({"id": [k]}, geometry=gpd.points_from_xy([x], [y]), crs="EPSG:4326")
           for k, x, y in (("o", o_lon, o_lat), ("d", d_lon, d_lat))]  # fmt: skip
    m = travel_time_matrix(net, pts[0], pts[1], departure=8 * 3600, mode="drive")
    # independently: the origin's node times, then along the destination's edge and off it
    times = drive.travel_times_from(o_lon, o_lat)
    s = drive.snap(d_lon, d_lat)
    off = float(s.distance[0]) / (drive.access_speed / 3.6)
    want = float(min(times[s.node_u[0]] + s.time_from_u[0], times[s.node_v[0]] + s.time_from_v[0]))
    assert float(m["travel_time"].iloc[0]) == pytest.approx(want + off, abs=1e-3)
