"""``connectivity access`` on the embedded Helsinki extract with its estimated feed: the
files written, populations per ring counted independently, and every error path."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
from pyproj import Transformer

from connectivity.cli import main
from connectivity.streets.load import demo_pbf, load_streets

CORE = (60.1710, 24.9414)
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def feed(cache):
    from connectivity.transit.osm_feed import estimated_feed

    return estimated_feed(demo_pbf(), timezone="Europe/Helsinki")


@pytest.fixture
def population(cache, tmp_path):
    """Points at every 7th walk node (weights 1, 2, 3, ...) and two points 5 km away."""
    walk = load_streets(demo_pbf(), mode="walk")
    nodes = walk.nodes.iloc[::7]
    lon = [*nodes["lon"], 25.03, 25.03]
    lat = [*nodes["lat"], 60.17, 60.18]
    weight = [*range(1, len(nodes) + 1), 1000, 2000]
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lon", "lat", "people"])
        w.writerows(zip(lon, lat, weight, strict=True))
    return path, np.array(lon), np.array(lat), np.array(weight, float)


def _ring_of(lon, lat, every_m):
    """Ring index of each point by its straight-line distance to the core, in UTM 35N."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True)
    x, y = to_utm.transform(lon, lat)
    cx, cy = to_utm.transform(CORE[1], CORE[0])
    d = np.hypot(np.asarray(x) - cx, np.asarray(y) - cy)
    return np.maximum(np.ceil(d / every_m) - 1, 0).astype(int)


def _args(feed, out, *extra):
    argv = ["-q", "access", "--osm", str(demo_pbf()), "--gtfs", str(feed)]
    argv += ["--core", f"{CORE[0]},{CORE[1]}", "--departure", "2022-02-22T08:00"]
    argv += ["--window", "20", "--cutoffs", "5,10,15", "--out", str(out), *extra]
    return argv


def test_access_writes_everything(cache, feed, population, tmp_path, capsys):
    path, lon, lat, weight = population
    out = tmp_path / "out"
    assert main(_args(feed, out, "--rings", "0.5", "--population", f"{path}:people")) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "indicators.csv",
            "indicators.geojson",
            "profile.csv",
            "access.html",
            "access.png",
            "report.txt",
        ]
    )
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    # Populations per ring, counted here from the points' distances to the core.
    near = np.arange(len(weight)) < len(weight) - 2
    ring = _ring_of(lon[near], lat[near], 500)
    expected = np.bincount(ring, weights=weight[near], minlength=len(rows))
    assert [r["name"] for r in rows] == [
        f"{k * 0.5:g}-{(k + 1) * 0.5:g} km" for k in range(len(rows))
    ]
    np.testing.assert_allclose([float(r["population"]) for r in rows], expected[: len(rows)])
    assert len(rows) >= 2 and expected[len(rows) :].sum() == 0
    first = rows[0]
    for column in (
        "transit_to_core_p50",
        "transit_from_core_p50",
        "car_to_core_p50",
        "car_from_core_p50",
    ):
        assert 0 <= float(first[column]) < 20 * 60, column
    for r in rows:
        assert 0 <= float(r["transit_share_5min"]) <= float(r["transit_share_10min"]) <= 1
        ratio = float(r["transit_car_ratio_to_core"])
        if math.isfinite(ratio):
            assert ratio == pytest.approx(
                float(r["transit_to_core_p50"]) / float(r["car_to_core_p50"])
            )
    geo = json.loads((out / "indicators.geojson").read_text())
    assert [f["properties"]["name"] for f in geo["features"]] == [r["name"] for r in rows]
    report = (out / "report.txt").read_text()
    total = weight.sum()
    assert f"Population: {total:,.0f} in {path}:people" in report
    assert f"{weight[near].sum():,.0f} assigned to the walk network" in report
    assert f"{3000:,.0f} ({3000 / total:.1%}, 2 of {len(weight)} cells or points) too far" in report
    assert report in capsys.readouterr().out
    page = (out / "access.html").read_text()
    assert '"transit to core (median)"' in page and '"Transit routes"' in page
    assert "core: 60.17100,24.94140" in page
    png = (out / "access.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_access_with_zone_file_escapes_names(cache, feed, tmp_path):
    import geopandas as gpd
    import shapely

    zones = gpd.GeoDataFrame(
        {"name": ["Kluuvi", EVIL]},
        geometry=[
            shapely.box(24.935, 60.165, 24.945, 60.175),
            shapely.box(24.945, 60.165, 24.955, 60.18),
        ],
        crs="EPSG:4326",
    )
    zfile = tmp_path / "zones.geojson"
    zones.to_file(zfile)
    out = tmp_path / "z"
    assert main(_args(feed, out, "--zones", str(zfile), "--population", "nodes")) == 0
    page = (out / "access.html").read_text()
    assert EVIL not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    # without a population, each walk node counts 1: node counts by point-in-polygon here
    walk = load_streets(demo_pbf(), mode="walk")
    pts = shapely.points(walk.nodes["lon"].to_numpy(), walk.nodes["lat"].to_numpy())
    for row, geom in zip(rows, zones.geometry, strict=True):
        assert row["name"] in ("Kluuvi", EVIL)
        inside = int(shapely.covers(geom, pts).sum())
        assert abs(int(row["nodes"]) - inside) <= 2  # nodes on the shared edge


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("connectivity access: error: ")
    return err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--rings": "0"}, r"--rings 0: give the ring width in km"),
        ({"--rings": None}, r"give the zones: --zones FILE, --zones places .* or --rings KM"),
        ({"--max-km": "-3"}, r"--max-km -3: give the outer edge in km"),
        ({"--zones": "afile", "--max-km": "5"}, r"--max-km is the outer edge of --rings"),
        ({"--zones": "missing.geojson"}, r"--zones .*missing\.geojson: no such file"),
        ({"--gtfs": "missing.zip"}, r"--gtfs .*missing\.zip: no such file"),
        ({"--osm": "missing.pbf"}, r"--osm .*missing\.pbf: no such file"),
        ({"--departure": None}, r"--gtfs needs --departure"),
        ({"--gtfs": None}, r"--departure is for walk\+transit times"),
        ({"--departure": "tomorrow"}, r"give a date and time YYYY-MM-DDTHH:MM"),
        ({"--cutoffs": "30,x"}, r"--cutoffs '30,x': give minutes"),
        ({"--percentiles": "0"}, r"--percentiles '0': give numbers in \(0, 100\]"),
        ({"--window": "-1"}, r"--window -1: give minutes >= 0"),
        ({"--core": "60.17"}, r"--core '60\.17' is not LAT,LON"),
        ({"--core": "52.52,13.40"}, r"the core .* m from the nearest node of the walk network"),
        ({"--population": "people.csv:nobody"}, r"has no column 'nobody'"),
        ({"--population": "nocrs.tif"}, r"nocrs\.tif has no CRS: set one"),
        ({"--out": "afile"}, r"--out .*afile is a file: give a folder"),
        ({"--population-total": "0"}, r"--population-total 0: give the people of the study"),
        ({"--population-total": "inf"}, r"--population-total inf: give the people"),
        ({"--population-total": "nan"}, r"--population-total nan: give the people"),
        (
            {"--population-total": "1e6", "--population": "people.csv:nobody"},
            r"--population-total scales the OSM estimate: drop it with --population",
        ),
        ({"--departure": "2030-01-01T08:00", "--gtfs": "HSL"}, r"2030-01-01"),
    ],
)
def test_errors(cache, feed, population, tmp_path, capsys, change, message):
    (tmp_path / "afile").write_text("x")
    values = {
        "--osm": str(demo_pbf()),
        "--gtfs": str(feed),
        "--core": f"{CORE[0]},{CORE[1]}",
        "--rings": "0.5",
        "--departure": "2022-02-22T08:00",
        "--out": str(tmp_path / "out"),
    }
    for key, value in change.items():
        if key == "--zones":
            values.pop("--rings")
        if value == "HSL":
            from conftest import shared_data

            value = str(shared_data("helsinki/hsl_gtfs.zip"))
        elif value in ("missing.geojson", "missing.zip", "missing.pbf", "afile"):
            value = str(tmp_path / value)
        elif value == "people.csv:nobody":
            value = f"{population[0]}:nobody"
        elif value == "nocrs.tif":
            import rasterio

            value = str(tmp_path / value)
            with rasterio.open(
                value, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
                transform=rasterio.Affine(0.01, 0, 24.9, 0, -0.01, 60.2),
            ) as dst:  # fmt: skip
                dst.write(np.ones((1, 2, 2), "float32"))
        values[key] = value
    argv = ["access"]
    for key, value in values.items():
        if value is not None:
            argv += [key, value]
    assert main(argv) == 2
    assert re.search(message, one_line_error(capsys))
    assert not (tmp_path / "out").exists()


def test_car_only_without_feeds(cache, tmp_path, capsys):
    from connectivity.accessibility.indicators import core_times
    from connectivity.accessibility.zones import read_core

    out = tmp_path / "car"
    argv = ["-q", "access", "--osm", str(demo_pbf()), "--core", f"{CORE[0]},{CORE[1]}"]
    assert main([*argv, "--rings", "0.5", "--population", "nodes", "--out", str(out)]) == 0
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert not any(c.startswith("transit") for c in rows[0])
    # the car times of the first ring: the node-weighted median over its walk nodes
    walk = load_streets(demo_pbf(), mode="walk")
    car = core_times(load_streets(demo_pbf(), mode="drive"), read_core(CORE), on=walk)
    ring = _ring_of(walk.nodes["lon"].to_numpy(), walk.nodes["lat"].to_numpy(), 500)
    t = np.sort(car.at("to_core")[ring == 0])
    assert float(rows[0]["car_to_core_p50"]) == pytest.approx(t[math.ceil(len(t) / 2) - 1])
    assert (
        "Population: not estimated; every walk network node counts 1."
        in (out / "report.txt").read_text()
    )


@pytest.mark.parametrize("text", ["60.17", "60.17,abc", "60.17,24.94,3"])
def test_a_mistyped_core_is_not_sent_to_the_geocoder(cache, tmp_path, capsys, monkeypatch, text):
    import osmnx as ox

    asked = []
    monkeypatch.setattr(ox, "geocode_to_gdf", lambda query: asked.append(query))
    argv = ["access", "--osm", str(demo_pbf()), "--core", text, "--rings", "0.5"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert f"--core {text!r} is not LAT,LON" in one_line_error(capsys)
    assert asked == []
    assert not (tmp_path / "out").exists()


def test_default_population_is_the_osm_estimate(cache, tmp_path, capsys):
    from connectivity import estimate_population

    out = tmp_path / "est"
    argv = ["-q", "access", "--osm", str(demo_pbf()), "--core", f"{CORE[0]},{CORE[1]}"]
    assert main([*argv, "--rings", "0.5", "--out", str(out)]) == 0
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    walk = load_streets(demo_pbf(), mode="walk")
    weights, _ = estimate_population(demo_pbf(), walk)
    ring = _ring_of(walk.nodes["lon"].to_numpy(), walk.nodes["lat"].to_numpy(), 500)
    for k, row in enumerate(rows):
        assert float(row["population"]) == pytest.approx(weights[ring == k].sum(), rel=1e-6)
    report = (out / "report.txt").read_text()
    assert "relative: no population data" in report
    assert "Population estimated from 338 homes of 446 buildings" in report
    # a total scales the same weights
    out2 = tmp_path / "total"
    total = ["--population-total", "20000"]
    assert main([*argv, "--rings", "0.5", *total, "--out", str(out2)]) == 0
    with (out2 / "indicators.csv").open() as f:
        rows2 = list(csv.DictReader(f))
    for row, row2 in zip(rows, rows2, strict=True):
        assert float(row2["population"]) == pytest.approx(
            float(row["population"]) * 20000 / walk.n_nodes, rel=1e-6
        )


def test_zones_places_gives_the_suburbs(cache, tmp_path, capsys):
    out = tmp_path / "places"
    argv = ["-q", "access", "--osm", str(demo_pbf()), "--core", f"{CORE[0]},{CORE[1]}"]
    assert main([*argv, "--zones", "places", "--out", str(out)]) == 0
    with (out / "indicators.csv").open() as f:
        rows = list(csv.DictReader(f))
    names = [r["name"] for r in rows]
    assert sorted(names) == ["Hakaniemi", "Kaartinkaupunki", "Kaisaniemi", "Kluuvi", "Siltasaari"]
    assert {r["place"] for r in rows} == {"suburb"}
    walk = load_streets(demo_pbf(), mode="walk")
    assert sum(float(r["population"]) for r in rows) == pytest.approx(walk.n_nodes, rel=1e-6)


def test_settlements_and_rings_in_one_run(cache, tmp_path, capsys):
    """``--zones places --rings KM``: the settlements' table and the rings' table of one
    run are the tables of the two runs apart, byte for byte, and the report has both."""
    argv = ["-q", "access", "--osm", str(demo_pbf()), "--core", f"{CORE[0]},{CORE[1]}"]
    both, places, rings = tmp_path / "both", tmp_path / "places", tmp_path / "rings"
    assert main([*argv, "--zones", "places", "--rings", "0.5", "--out", str(both)]) == 0
    printed = capsys.readouterr().out
    assert main([*argv, "--zones", "places", "--out", str(places)]) == 0
    assert main([*argv, "--rings", "0.5", "--out", str(rings)]) == 0
    for name in ("indicators.csv", "indicators.geojson", "profile.csv"):
        assert (both / name).read_bytes() == (places / name).read_bytes(), name
    assert (both / "rings.csv").read_bytes() == (rings / "indicators.csv").read_bytes()
    assert (both / "rings.geojson").read_bytes() == (rings / "indicators.geojson").read_bytes()
    assert not (places / "rings.csv").exists()
    report = (both / "report.txt").read_text()
    assert "Kluuvi" in report and "The same by rings of 0.5 km around" in report
    assert "\n- 0-0.5 km: population " in report and "\n- Kluuvi: population " in report
    # the core, given as LAT,LON, is named by the settlement it lies in
    assert report.startswith("Core-periphery indicators around Kluuvi (60.17100,24.94140)")
    assert "rings of 0.5 km around Kluuvi (60.17100,24.94140)" in report
    assert f"wrote {both / 'rings.geojson'}" in printed


def test_osm_file_without_homes_or_residential_streets(cache, tmp_path, capsys):
    from tests.test_population_osm import _town_file

    path, _ = _town_file(tmp_path, buildings=False, residential=False, name="bare.osm")
    argv = ["access", "--osm", str(path), "--core", "49.400,8.500", "--rings", "1"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = one_line_error(capsys)
    assert re.search(r"bare\.osm holds neither residential buildings .* --population nodes", err)
    assert not (tmp_path / "o").exists()
