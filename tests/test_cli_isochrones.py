"""``connectivity isochrones`` and ``connectivity demo``: outputs, exit codes, messages."""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.ops import substring

from connectivity.cli import main
from connectivity.streets.load import demo_pbf, load_streets

STATION = "60.1710,24.9414"


@pytest.fixture
def fake_leaflet(tmp_path):
    dist = tmp_path / "leaflet" / "dist"
    dist.mkdir(parents=True)
    (dist / "leaflet.js").write_text("/* Leaflet stand-in */")
    (dist / "leaflet.css").write_text(".leaflet-container { }")
    return tmp_path / "leaflet"


def one_line_error(capsys, command):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith(f"connectivity {command}: error: ")
    assert "Traceback" not in err
    return err


def test_demo_writes_geojson_and_map(cache, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote 3 walking isochrones to {out / 'isochrones.geojson'}" in printed
    assert f"wrote 3 walk+transit isochrones to {out / 'transit_isochrones.geojson'}" in printed
    assert f"wrote the map to {out / 'isochrones.html'}" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "isochrones.geojson",
        "isochrones.html",
        "isochrones.png",
        "transit_isochrones.geojson",
    ]

    data = json.loads((out / "isochrones.geojson").read_text())
    assert data["type"] == "FeatureCollection"
    assert [f["properties"]["cutoff"] for f in data["features"]] == [300, 600, 900]
    coords = np.concatenate(
        [shapely.get_coordinates(shapely.geometry.shape(f["geometry"])) for f in data["features"]]
    )
    # EPSG:4326, lon first, around the station (the extract is about 1 x 1.6 km).
    assert ((coords[:, 0] > 24.92) & (coords[:, 0] < 24.97)).all()
    assert ((coords[:, 1] > 60.15) & (coords[:, 1] < 60.19)).all()
    iso = gpd.read_file(out / "isochrones.geojson")
    assert iso.crs.to_epsg() == 4326
    assert iso.geometry.is_valid.all()
    for poly in iso.geometry:  # RFC 7946: exteriors counterclockwise, holes clockwise
        for part in getattr(poly, "geoms", [poly]):
            assert part.exterior.is_ccw
            assert not any(ring.is_ccw for ring in part.interiors)

    # Every node reached within a cutoff lies in its polygon (times from the network's
    # own routing); nodes farther than buffer + one cell diagonal from every reached part
    # of a street (worked out here from the node times) lie outside.
    net = load_streets(demo_pbf(), mode="walk")
    times = net.travel_times_from(24.9414, 60.1710)
    origin_edge = int(net.snap(24.9414, 60.1710).edge[0])
    pts = shapely.points(net.nodes["x"], net.nodes["y"])
    geoms = net.edge_geometries()
    u = net.edges["u"].to_numpy()
    t_edge = net.edges["time"].to_numpy()
    projected = iso.to_crs(net.crs).geometry
    for cutoff, poly in zip([300, 600, 900], projected, strict=True):
        assert shapely.covers(poly, pts[times <= cutoff]).all()
        assert (times <= cutoff).sum() > 100
        share = np.clip((cutoff - times[u]) / t_edge, 0, 1)
        live = np.flatnonzero(times[u] <= cutoff)
        parts = [substring(geoms[i], 0, share[i], normalized=True) for i in live]
        reached = shapely.union_all([*parts, geoms[origin_edge]])
        far = shapely.distance(pts, reached) > 50 + 25 * np.sqrt(2)
        assert far.sum() > 50
        assert not shapely.intersects(poly, pts[far]).any()
    for small, large in zip(iso.geometry, iso.geometry[1:], strict=False):
        assert shapely.covered_by(small, large)

    page = (out / "isochrones.html").read_text()
    assert "https://cdn.jsdelivr.net/npm/leaflet" in page  # online by default
    assert page.count("L.geoJson(") == 6  # three walking bands, three walk+transit bands
    assert "Helsinki Central: walk, and walk+transit (estimated from OpenStreetMap" in page
    assert page.count("L.polyline(") > 20  # the estimated tram and bus lines

    # Walk+transit never takes much longer than walking (a direct walk is one of its
    # trips; routing also counts the 9 m from the station's point to its street, 6 s,
    # which the walking isochrones do not), so each walking polygon lies almost wholly
    # inside the walk+transit one of its cutoff; the trams and buses make the 10 and 15
    # minute ones larger.
    transit = gpd.read_file(out / "transit_isochrones.geojson")
    assert list(transit["cutoff"]) == [300, 600, 900]
    for walk_poly, transit_poly in zip(iso.geometry, transit.geometry, strict=True):
        assert walk_poly.difference(transit_poly).area < 0.05 * walk_poly.area
    assert transit.geometry[1].area > 1.02 * iso.geometry[1].area
    assert transit.geometry[2].area > iso.geometry[2].area  # (the extract ends near there)


def test_demo_offline(cache, tmp_path, fake_leaflet, capsys):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--out", str(out), "--offline", "--leaflet", str(fake_leaflet)]) == 0
    page = (out / "isochrones.html").read_text()
    assert "/* Leaflet stand-in */" in page
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"'](https?:)?//", page)


def test_demo_offline_without_leaflet_fails_before_work(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--offline", "--leaflet", str(tmp_path / "none")])
    assert code == 2
    err = one_line_error(capsys, "demo")
    assert "npm install leaflet" in err and "CONNECTIVITY_LEAFLET" in err
    assert not out.exists()


def test_isochrones_command(cache, tmp_path, capsys):
    out, html = tmp_path / "bike.geojson", tmp_path / "maps" / "bike.html"
    argv = ["-q", "isochrones", "--osm", str(demo_pbf()), "--mode", "bike", "--origin", STATION]
    argv += ["--cutoffs", "1,2.5", "--out", str(out), "--map", str(html)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote 2 isochrones to {out}" in printed
    assert f"wrote the map to {html}" in printed
    iso = gpd.read_file(out)
    assert list(iso["cutoff"]) == [60, 150]
    assert iso.crs.to_epsg() == 4326
    page = html.read_text()
    assert "0-1 min" in page and "1-2.5 min" in page
    # The map's view as a picture beside it: the outer band in its colour over white.
    from PIL import Image

    from connectivity.outputs.folium_base import FILL_OPACITY
    from connectivity.outputs.maps import ISOCHRONE_COLOURS

    assert f"wrote its picture to {html.with_suffix('.png')}" in printed
    image = np.asarray(Image.open(html.with_suffix(".png")).convert("RGB"), float)
    colour = np.array([int(ISOCHRONE_COLOURS[1][i : i + 2], 16) for i in (1, 3, 5)], float)
    blended = FILL_OPACITY * colour + (1 - FILL_OPACITY) * 255
    assert int((np.abs(image - blended).max(axis=2) <= 6).sum()) > 500


def test_isochrones_map_must_be_html(tmp_path, capsys):
    argv = ["isochrones", "--osm", str(demo_pbf()), "--origin", STATION, "--cutoffs", "1"]
    assert main([*argv, "--map", str(tmp_path / "m.png")]) == 2
    assert "give an .html file name" in one_line_error(capsys, "isochrones")
    assert list(tmp_path.iterdir()) == []


def test_isochrones_surface(cache, tmp_path, capsys):
    import rasterio

    tif, out = tmp_path / "walk.tif", tmp_path / "walk.geojson"
    argv = ["-q", "isochrones", "--osm", str(demo_pbf()), "--origin", STATION]
    argv += ["--cutoffs", "5,10", "--surface", str(tif), "--out", str(out)]
    assert main(argv) == 0
    assert f"wrote the travel-time surface to {tif}" in capsys.readouterr().out
    with rasterio.open(tif) as src:
        band = src.read(1)
        cell = src.res[0] * src.res[1]
        assert src.crs.to_epsg() == 32635
    assert np.nanmax(band) <= 600
    # The polygons are the surface's cells within each cutoff.
    iso = gpd.read_file(out).to_crs(32635)
    for cutoff, poly in zip([300, 600], iso.geometry, strict=True):
        assert poly.area == pytest.approx((band <= cutoff).sum() * cell, rel=1e-6)
    assert main(["isochrones", "--osm", "x.pbf", "--origin", STATION, "--surface", "a.png"]) == 2
    assert "--surface a.png: use a .tif" in one_line_error(capsys, "isochrones")


def test_isochrones_default_output(cache, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "isochrones", "--osm", str(demo_pbf()), "--origin", STATION]) == 0
    assert "wrote 3 isochrones to isochrones.geojson" in capsys.readouterr().out
    assert list(gpd.read_file(tmp_path / "isochrones.geojson")["cutoff"]) == [300, 600, 900]


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("24.9414,60.1710", r"swapped"),
        ("95,24.94", r"latitude 95.0 is outside -90\.\.90"),
        ("190,24.94", r"latitude 190.0 is outside -90\.\.90"),
        ("60.17,200", r"longitude 200.0 is outside -180\.\.180"),
        ("60.17", r"'60\.17' is not LAT,LON: give two numbers"),
        ("north,east", r"must be numbers in degrees"),
        ("nan,24", r"finite"),
        ("60.30,24.94", r"m from the nearest street .* raise --max-distance"),
    ],
)
def test_bad_origins(cache, tmp_path, capsys, origin, message):
    out = tmp_path / "x.geojson"
    argv = ["isochrones", "--osm", str(demo_pbf()), "--origin", origin, "--out", str(out)]
    assert main(argv) == 2
    err = one_line_error(capsys, "isochrones")
    assert re.search(message, err), err
    assert not out.exists()


def test_swapped_out_of_range_hint(capsys, tmp_path):
    # Longitude 120 cannot be a latitude: the range check itself hints at swapping.
    argv = ["isochrones", "--osm", str(tmp_path / "a.pbf"), "--origin", "120,31"]
    assert main(argv) == 2
    assert "swapped" in one_line_error(capsys, "isochrones")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cutoffs", "5,x"], r"--cutoffs '5,x': give minutes"),
        (["--cutoffs", "0,5"], r"give positive minutes"),
        (["--out", "iso.shp"], r"--out iso.shp: use a \.geojson"),
        (["--buffer", "-3"], r"buffer=-3"),
    ],
)
def test_bad_parameters(cache, capsys, extra, message):
    argv = ["isochrones", "--osm", str(demo_pbf()), "--origin", STATION, *extra]
    assert main(argv) == 2
    assert re.search(message, one_line_error(capsys, "isochrones"))


def test_missing_and_corrupt_files(tmp_path, capsys):
    missing = tmp_path / "nowhere.osm.pbf"
    assert main(["isochrones", "--osm", str(missing), "--origin", STATION]) == 2
    assert "nowhere.osm.pbf" in one_line_error(capsys, "isochrones")
    corrupt = tmp_path / "broken.osm.pbf"
    corrupt.write_bytes(b"this is not a protocol buffer" * 10)
    assert main(["isochrones", "--osm", str(corrupt), "--origin", STATION]) == 2
    assert "broken.osm.pbf" in one_line_error(capsys, "isochrones")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.osm.pbf"]


def test_extract_without_streets_for_the_mode(tmp_path, capsys):
    osm = tmp_path / "footways.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        '<node id="1" version="1" lat="60.1700" lon="24.9400"/>\n'
        '<node id="2" version="1" lat="60.1710" lon="24.9400"/>\n'
        '<node id="3" version="1" lat="60.1710" lon="24.9420"/>\n'
        '<way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="highway" v="footway"/></way>\n</osm>\n'
    )
    argv = ["isochrones", "--osm", str(osm), "--origin", "60.1705,24.9401", "--cutoffs", "1"]
    assert main([*argv, "--mode", "drive"]) == 2
    assert re.search(r"no streets usable for mode drive", one_line_error(capsys, "isochrones"))
    # The same file walks. The origin is mid-way along the first 111 m leg: 60 s at
    # 5 km/h reach the leg's start (56 m back) and 83 m forward, round the corner: 139 m
    # of footway with a 50 m band around it.
    out = tmp_path / "walk.geojson"
    assert main(["-q", *argv, "--mode", "walk", "--out", str(out)]) == 0
    (poly,) = gpd.read_file(out).to_crs(32635).geometry
    assert poly.area == pytest.approx(139 * 100 + math.pi * 50**2, rel=0.15)


def test_offline_map_without_leaflet(tmp_path, capsys):
    argv = ["isochrones", "--osm", str(demo_pbf()), "--origin", STATION]
    argv += ["--map", str(tmp_path / "m.html"), "--offline", "--leaflet", str(tmp_path)]
    assert main(argv) == 2
    assert "npm install leaflet" in one_line_error(capsys, "isochrones")


@pytest.fixture
def estimated(cache):
    from connectivity.transit.osm_feed import estimated_feed

    return estimated_feed(demo_pbf(), timezone="Europe/Helsinki")


def test_isochrones_walk_transit(cache, estimated, tmp_path, capsys):
    from connectivity.accessibility.transit_isochrones import transit_isochrones
    from connectivity.network.intermodal import build_network
    from connectivity.transit.gtfs import load_timetable

    out = tmp_path / "transit.geojson"
    argv = ["-q", "isochrones", "--osm", str(demo_pbf()), "--origin", STATION]
    argv += ["--gtfs", str(estimated), "--departure", "2022-02-22T08:00", "--window", "10"]
    argv += ["--cutoffs", "5,10", "--out", str(out), "--map", str(tmp_path / "t.html")]
    assert main(argv) == 0
    got = gpd.read_file(out)
    assert list(got["cutoff"]) == [300, 600]
    walk = load_streets(demo_pbf(), mode="walk")
    network = build_network(walk, load_timetable(estimated, date="2022-02-22"))
    lat, lon = map(float, STATION.split(","))
    want = transit_isochrones(
        network, lat=lat, lon=lon, departure="2022-02-22T08:00", window=600, cutoffs=(300, 600)
    )
    for a, b in zip(got.geometry, want.geometry, strict=True):
        assert a.symmetric_difference(b).area < 1e-6 * b.area
    page = (tmp_path / "t.html").read_text()
    assert "Walk+transit from 60.17100, 24.94140, 2022-02-22 08:00 + 10 min (p50)" in page
    # a later percentile reaches less, never more
    argv[argv.index("--window") + 1 : argv.index("--window") + 2] = ["10", "--percentile", "90"]
    argv[argv.index("--out") + 1] = str(tmp_path / "p90.geojson")
    assert main(argv) == 0
    p90 = gpd.read_file(tmp_path / "p90.geojson")
    for slow, fast in zip(p90.geometry, got.geometry, strict=True):
        assert slow.difference(fast).area < 1e-9
        assert slow.area <= fast.area


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gtfs", "FEED"], r"--gtfs needs --departure YYYY-MM-DDTHH:MM"),
        (["--departure", "2022-02-22T08:00"], r"--departure and --window are for walk\+transit"),
        (["--gtfs", "FEED", "--departure", "08:00"], r"--departure '08:00': give a date and time"),
        (["--gtfs", "FEED", "--departure", "2022-02-22"], r"give a date and time YYYY-MM-DDTHH:MM"),
        (
            ["--gtfs", "FEED", "--mode", "drive", "--departure", "2022-02-22T08:00"],
            r"--mode drive with --gtfs: walk\+transit isochrones start and end on foot",
        ),
        (
            ["--gtfs", "FEED", "--departure", "2022-02-22T08:00", "--window", "-5"],
            r"--window -5: give minutes >= 0",
        ),
        (
            ["--gtfs", "FEED", "--departure", "2022-02-22T08:00", "--percentile", "0"],
            r"percentile=0.0: give a number in \(0, 100\]",
        ),
        (["--gtfs", "missing.zip", "--departure", "2022-02-22T08:00"], r"missing\.zip"),
    ],
)
def test_walk_transit_errors(cache, estimated, tmp_path, capsys, extra, message):
    extra = [str(estimated) if e == "FEED" else e for e in extra]
    extra = [str(tmp_path / e) if e == "missing.zip" else e for e in extra]
    argv = ["isochrones", "--osm", str(demo_pbf()), "--origin", STATION, *extra]
    assert main([*argv, "--out", str(tmp_path / "x.geojson")]) == 2
    assert re.search(message, one_line_error(capsys, "isochrones"))
    assert not (tmp_path / "x.geojson").exists()


def test_demo_with_a_feed_without_service_on_the_date(cache, estimated, tmp_path, capsys):
    from conftest import shared_data

    hsl = shared_data("helsinki/hsl_gtfs.zip")
    code = main(
        [
            "demo",
            "--out",
            str(tmp_path / "d"),
            "--gtfs",
            str(hsl),
            "--departure",
            "2022-03-01T08:00",
        ]
    )
    assert code == 2
    err = one_line_error(capsys, "demo")
    assert "2022-03-01" in err
    assert not (tmp_path / "d").exists()  # nothing written


def test_demo_with_the_hsl_feed(cache, tmp_path, capsys):
    from conftest import shared_data

    hsl = shared_data("helsinki/hsl_gtfs.zip")
    out = tmp_path / "hsl"
    assert main(["-q", "demo", "--out", str(out), "--gtfs", str(hsl)]) == 0
    printed = capsys.readouterr().out
    assert f"from {hsl}" in printed
    page = (out / "isochrones.html").read_text()
    assert "walk+transit (hsl_gtfs.zip) leaving 2022-02-22 08:00" in page
    transit = gpd.read_file(out / "transit_isochrones.geojson")
    walk = gpd.read_file(out / "isochrones.geojson")
    assert transit.geometry[1].area > walk.geometry[1].area  # HSL's metro, trams and buses
