"""Tests of connectivity.accessibility.zones: the core, zone files, rings and node membership."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from connectivity import (
    CoordinateError,
    InputFileError,
    OutsideNetworkError,
    OverpassError,
    ParameterError,
)
from connectivity.accessibility.zones import Core, read_core, read_zones, ring_zones, zone_of_nodes
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32632"  # UTM 32N: Mannheim
CENTRE_X, CENTRE_Y = 461_000.0, 5_481_000.0


def _to_lonlat(x, y):
    return Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)


def _random_network(n: int = 3000, half_km: float = 18.0, seed: int = 1) -> StreetNetwork:
    rng = np.random.default_rng(seed)
    x = CENTRE_X + rng.uniform(-half_km, half_km, n) * 1000
    y = CENTRE_Y + rng.uniform(-half_km, half_km, n) * 1000
    x[0], y[0] = CENTRE_X, CENTRE_Y  # a node exactly at the core
    u = np.arange(n - 1)
    v = u + 1
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    return StreetNetwork.from_arrays(
        x=x, y=y, u=u, v=v, length=length, speed_kmh=50, mode="drive", crs=CRS
    )


def _core_point() -> tuple[float, float]:
    lon, lat = _to_lonlat(CENTRE_X, CENTRE_Y)
    return float(lat), float(lon)


# -- the core ---------------------------------------------------------------------------


def test_core_from_pair_and_string_agree():
    a = read_core((49.4794, 8.4694))
    b = read_core(" 49.4794, 8.4694 ", name="Mannheim Hbf")
    assert a.is_point and b.is_point
    assert (a.lat, a.lon) == (b.lat, b.lon) == (49.4794, 8.4694)
    assert b.name == "Mannheim Hbf"


def test_core_swapped_coordinates_are_named():
    with pytest.raises(CoordinateError, match="swapped"):
        read_core("149.4794,8.4694")
    with pytest.raises(CoordinateError, match="swapped"):
        read_core((120.0, 49.0))


def test_core_polygon_file_is_dissolved(tmp_path):
    path = tmp_path / "centre.geojson"
    gpd.GeoDataFrame(
        {"part": ["a", "b"]},
        geometry=[box(8.46, 49.47, 8.47, 49.48), box(8.47, 49.47, 8.48, 49.48)],
        crs="EPSG:4326",
    ).to_file(path)
    core = read_core(path)
    assert core.name == "centre"
    assert not core.is_point
    assert core.geometry.bounds == pytest.approx((8.46, 49.47, 8.48, 49.48))
    assert core.lon == pytest.approx(8.47) and core.lat == pytest.approx(49.475)


def test_core_missing_file_and_frame_without_crs(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_core(tmp_path / "nowhere.geojson")
    frame = gpd.GeoDataFrame(geometry=[box(8.46, 49.47, 8.47, 49.48)])
    with pytest.raises(CoordinateError, match="no coordinate reference system.*set_crs"):
        read_core(frame)
    with pytest.raises(ParameterError, match="cannot make a core from int"):
        read_core(5)


def test_core_named_place_uses_the_geocoder(monkeypatch):
    import osmnx as ox

    asked = []

    def fake_geocode(query):
        asked.append(query)
        return gpd.GeoDataFrame(
            {"display_name": [query]}, geometry=[box(8.4, 49.4, 8.6, 49.6)], crs="EPSG:4326"
        )

    monkeypatch.setattr(ox, "geocode_to_gdf", fake_geocode)
    core = read_core("Mannheim, Germany")
    assert asked == ["Mannheim, Germany"]
    assert core.name == "Mannheim, Germany"
    assert core.geometry.bounds == pytest.approx((8.4, 49.4, 8.6, 49.6))


def test_core_unknown_place_and_offline_geocoder(monkeypatch):
    import osmnx as ox

    def not_found(query):
        raise ox._errors.InsufficientResponseError("Nominatim geocoder returned 0 results")

    monkeypatch.setattr(ox, "geocode_to_gdf", not_found)
    with pytest.raises(ParameterError, match="no place named 'Atlantis'.*LAT,LON"):
        read_core("Atlantis")

    def offline(query):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "geocode_to_gdf", offline)
    with pytest.raises(OverpassError, match="unreachable"):
        read_core("Mannheim")


def test_core_node_is_nearest_and_off_network_is_an_error():
    network = _random_network(200)
    lat, lon = _core_point()
    assert read_core((lat, lon)).node(network) == 0
    far = Core(Point(12.0, 49.5), "Nuremberg")
    with pytest.raises(OutsideNetworkError, match="core 'Nuremberg'.*extent"):
        far.node(network)


# -- rings ------------------------------------------------------------------------------


def test_rings_hold_the_nodes_at_their_distances():
    network = _random_network()
    lat, lon = _core_point()
    rings = ring_zones((lat, lon), network=network, every_km=5)
    dist = np.hypot(network.nodes["x"] - CENTRE_X, network.nodes["y"] - CENTRE_Y).to_numpy()
    expected_n = math.ceil(dist.max() / 5000)
    assert list(rings["name"]) == [f"{5 * k}-{5 * k + 5} km" for k in range(expected_n)]
    assert rings.crs == "EPSG:4326"
    zone = zone_of_nodes(network, rings)
    brute = np.array([max(math.ceil(d / 5000) - 1, 0) for d in dist])
    # Ring borders are polygons with 256 segments per circle: skip nodes within 1 m.
    clear = np.abs(dist / 5000 - np.round(dist / 5000)) * 5000 > 1.0
    assert clear.sum() > 2900
    np.testing.assert_array_equal(zone[clear], brute[clear])
    assert (zone >= 0).all()
    counts = np.bincount(zone[clear], minlength=expected_n)
    assert counts.tolist() == np.bincount(brute[clear], minlength=expected_n).tolist()


def test_rings_with_max_km_leave_far_nodes_outside():
    network = _random_network()
    lat, lon = _core_point()
    rings = ring_zones((lat, lon), network=network, every_km=4, max_km=10)
    assert list(rings["name"]) == ["0-4 km", "4-8 km", "8-10 km"]
    assert rings["outer_km"].tolist() == [4, 8, 10]
    zone = zone_of_nodes(network, rings)
    dist = np.hypot(network.nodes["x"] - CENTRE_X, network.nodes["y"] - CENTRE_Y).to_numpy()
    clear = np.abs(dist - 10_000) > 1.0
    np.testing.assert_array_equal(zone[clear] == -1, dist[clear] > 10_000)


def test_ring_errors():
    network = _random_network(100)
    lat, lon = _core_point()
    with pytest.raises(ParameterError, match="every_km must be a positive"):
        ring_zones((lat, lon), network=network, every_km=0)
    with pytest.raises(ParameterError, match="max_km must be a positive"):
        ring_zones((lat, lon), network=network, max_km=-3)
    with pytest.raises(ParameterError, match="needs max_km, or a network"):
        ring_zones((lat, lon))
    with pytest.raises(OutsideNetworkError, match="core"):
        ring_zones((52.52, 13.40), network=network)
    # Without a network the rings are made in the core's UTM zone.
    rings = ring_zones((lat, lon), every_km=2, max_km=4)
    outer = rings.to_crs(CRS).geometry.iloc[1].exterior
    assert Point(CENTRE_X, CENTRE_Y).distance(outer) == pytest.approx(4000, abs=1)


# -- zone files and membership ----------------------------------------------------------


def _towns() -> gpd.GeoDataFrame:
    squares = [
        box(CENTRE_X - 2000, CENTRE_Y - 2000, CENTRE_X + 2000, CENTRE_Y + 2000),
        box(CENTRE_X + 8000, CENTRE_Y - 1000, CENTRE_X + 12000, CENTRE_Y + 3000),
        # overlaps the first: nodes in both belong to the first
        box(CENTRE_X, CENTRE_Y, CENTRE_X + 9000, CENTRE_Y + 9000),
    ]
    return gpd.GeoDataFrame(
        {"code": [1, 2, 3], "town": ["Core", "East", "North-East"]}, geometry=squares, crs=CRS
    )


def test_read_zones_names_and_crs(tmp_path):
    path = tmp_path / "towns.gpkg"
    _towns().to_file(path)
    zones = read_zones(path)
    assert zones["name"].tolist() == ["Core", "East", "North-East"]
    assert zones.crs == "EPSG:4326"
    assert zones["code"].tolist() == [1, 2, 3]
    assert read_zones(path, name_column="code")["name"].tolist() == ["1", "2", "3"]
    with pytest.raises(ParameterError, match="no column 'district'.*code, town"):
        read_zones(path, name_column="district")
    numbered = read_zones(_towns().drop(columns="town"))
    assert numbered["name"].tolist() == ["zone 0", "zone 1", "zone 2"]


def test_read_zones_errors(tmp_path, caplog):
    points = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(8.4, 49.4)], crs="EPSG:4326")
    with pytest.raises(ParameterError, match="holds no polygons.*Point"):
        read_zones(points)
    with pytest.raises(CoordinateError, match="no coordinate reference system"):
        read_zones(_towns().set_crs(None, allow_override=True))
    with pytest.raises(InputFileError, match="does not exist"):
        read_zones(tmp_path / "missing.gpkg")
    bad = tmp_path / "bad.geojson"
    bad.write_text("this is not json")
    with pytest.raises(InputFileError, match="cannot read zones file"):
        read_zones(bad)
    with pytest.raises(ParameterError, match="cannot read zones from list"):
        read_zones([1, 2])
    mixed = gpd.GeoDataFrame(
        {"name": ["town", "road"]},
        geometry=[box(8.4, 49.4, 8.5, 49.5), LineString([(8.4, 49.4), (8.5, 49.5)])],
        crs="EPSG:4326",
    )
    with caplog.at_level(logging.WARNING, logger="connectivity.accessibility.zones"):
        zones = read_zones(mixed)
    assert zones["name"].tolist() == ["town"]
    assert "dropped 1 of 2 rows that are not polygons" in caplog.text


def test_zone_of_nodes_matches_point_in_polygon_loop():
    network = _random_network(2000, half_km=14)
    towns = _towns()
    zone = zone_of_nodes(network, read_zones(towns))
    polygons = list(towns.geometry)
    expected = []
    for x, y in zip(network.nodes["x"], network.nodes["y"], strict=True):
        p = Point(x, y)
        expected.append(next((i for i, poly in enumerate(polygons) if poly.covers(p)), -1))
    expected = np.array(expected)
    # Skip nodes within 1 mm of a border (the 4326 round trip moves borders by ~1e-9 m).
    border = np.array(
        [
            min(poly.exterior.distance(Point(x, y)) for poly in polygons)
            for x, y in zip(network.nodes["x"], network.nodes["y"], strict=True)
        ]
    )
    clear = border > 1e-3
    np.testing.assert_array_equal(zone[clear], expected[clear])
    assert set(np.unique(zone)) == {-1, 0, 1, 2}
    # Overlap: a node in both the first and the third square belongs to the first.
    both = polygons[0].intersection(polygons[2])
    inside_both = [
        i
        for i, (x, y) in enumerate(zip(network.nodes["x"], network.nodes["y"], strict=True))
        if both.contains(Point(x, y))
    ]
    assert inside_both and (zone[inside_both] == 0).all()


def test_read_zones_prefers_a_name_column_and_keeps_the_others():
    towns = _towns().assign(code=["a1", "b2", "c3"])[["code", "town", "geometry"]]
    towns = towns.rename(columns={"town": "name"})
    zones = read_zones(towns)
    assert zones["name"].tolist() == ["Core", "East", "North-East"]
    assert zones["code"].tolist() == ["a1", "b2", "c3"]
    # Without a name column: the first column of strings.
    assert read_zones(towns.drop(columns="name"))["name"].tolist() == ["a1", "b2", "c3"]
    # An empty name column names nothing: the first column of strings does.
    assert read_zones(towns.assign(name=None))["name"].tolist() == ["a1", "b2", "c3"]
    # An explicit name column wins over "name".
    by_code = read_zones(towns, name_column="code")
    assert by_code["name"].tolist() == ["a1", "b2", "c3"]
