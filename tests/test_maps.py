"""Folium maps: layers, legend, escaping, and offline pages with no internet reference."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from connectivity import MissingDependencyError, ParameterError, settings
from connectivity.outputs.folium_base import escape, find_leaflet, map_html, save_map
from connectivity.outputs.maps import ISOCHRONE_COLOURS, isochrone_map

ORIGIN = (60.1710, 24.9414)
EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
)


@pytest.fixture
def iso():
    lat, lon = ORIGIN
    rings = [shapely.Point(lon, lat).buffer(r) for r in (0.002, 0.004, 0.006)]
    rings[2] = rings[2].difference(shapely.Point(lon + 0.005, lat).buffer(0.0005))  # a hole
    return gpd.GeoDataFrame(
        {"cutoff": [900.0, 300.0, 600.0]}, geometry=rings[::-1][:1] + rings[:2], crs="EPSG:4326"
    )


@pytest.fixture
def fake_leaflet(tmp_path):
    """A stand-in for the npm package: the files offline pages inline."""
    dist = tmp_path / "leaflet" / "dist"
    (dist / "images").mkdir(parents=True)
    (dist / "leaflet.js").write_text("/* Leaflet stand-in */ window.L_FAKE = '</script>';")
    (dist / "leaflet.css").write_text(
        ".leaflet-control-layers-toggle { background-image: url(images/layers.png); }"
    )
    (dist / "images" / "layers.png").write_bytes(b"\x89PNG fake")
    return tmp_path / "leaflet"


def test_online_map_links_the_cdn_and_has_every_layer(iso):
    m = isochrone_map(iso, origin=ORIGIN)
    page = map_html(m)
    assert re.search(
        r'<script src="https://cdn\.jsdelivr\.net/npm/leaflet@[\d.]+/dist/leaflet\.js"', page
    )
    assert "tile.openstreetmap.org" in page
    # One layer per cutoff, named in the layer control, with its palette colour.
    for label, colour in zip(["0-5 min", "5-10 min", "10-15 min"], ISOCHRONE_COLOURS, strict=False):
        assert re.search(rf'"{label}"\s*:\s*feature_group_', page)
        assert f'"fillColor": "{colour}"' in page
    assert page.count("L.geoJson(") == 3
    assert "L.circleMarker(" in page
    assert "L.control.layers(" in page
    assert 'class="connectivity-legend"' in page
    assert ".fitBounds(" in page


def test_the_same_map_made_twice_is_the_same_page(iso):
    """folium's random element ids are replaced by ids of each element's place."""
    pages = [map_html(isochrone_map(iso, origin=ORIGIN)) for _ in range(2)]
    assert pages[0] == pages[1]
    ids = re.findall(r"\b(?:feature_group|geo_json|circle_marker|map)_([0-9a-f]{32})\b", pages[0])
    assert len(ids) >= 5
    # Every element of the tree keeps an id of its own.
    m = isochrone_map(iso, origin=ORIGIN)
    map_html(m)
    ids = []
    stack = [m.get_root()]
    while stack:
        element = stack.pop()
        ids.append(element._id)
        stack.extend(getattr(element, "_children", {}).values())
    assert len(ids) >= 10
    assert len(set(ids)) == len(ids)
    # A different map makes a different page.
    other = map_html(isochrone_map(iso.iloc[:2], origin=ORIGIN))
    assert other != pages[0]


def test_bands_do_not_overlap(iso):
    m = isochrone_map(iso)
    page = map_html(m)
    # The 5-10 band excludes the 0-5 disc: its polygon has a hole of the inner radius.
    data = re.findall(r"_add\((\{.*?\})\);", page)
    assert len(data) == 3
    import json

    bands = [shapely.geometry.shape(json.loads(d)["features"][0]["geometry"]) for d in data]
    areas = sorted(b.area for b in bands)
    total = shapely.union_all(bands).area
    assert sum(areas) == pytest.approx(total, rel=1e-6)
    assert total == pytest.approx(iso.geometry.iloc[0].area, rel=1e-6)


def test_text_is_escaped(iso):
    nasty = "<script>alert(1)</script> `${x}` \\"
    m = isochrone_map(iso, title=nasty, labels=[nasty, "b & c", "<b>"])
    page = map_html(m)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "${x}" not in page and "`${" not in page
    assert "b &amp; c" in page
    assert "&lt;b&gt;" in page
    assert escape("`$\\<>&\"'") == "&#96;&#36;&#92;&lt;&gt;&amp;&quot;&#x27;"


def test_offline_page_has_no_internet_reference(iso, fake_leaflet, tmp_path):
    m = isochrone_map(iso, origin=ORIGIN, offline=True, leaflet=fake_leaflet)
    path = save_map(m, tmp_path / "out" / "map.html")
    page = path.read_text(encoding="utf-8")
    assert EXTERNAL.search(page) is None
    assert "http://" not in page.split("<body")[0].replace("http://www.w3.org", "")
    assert "/* Leaflet stand-in */" in page
    assert "<\\/script>" in page  # a </script> inside the inlined JS cannot end it early
    assert "url(data:image/png;base64," in page
    assert "tile.openstreetmap.org" not in page and "L.tileLayer" not in page
    assert page.count("L.geoJson(") == 3
    assert [p.name for p in path.parent.iterdir()] == ["map.html"]


def test_offline_at_save_time(iso, fake_leaflet, tmp_path):
    m = isochrone_map(iso)
    online = map_html(m)
    assert EXTERNAL.search(online)
    offline = map_html(m, offline=True, leaflet=fake_leaflet / "dist")
    assert EXTERNAL.search(offline) is None


def test_find_leaflet_order(fake_leaflet, tmp_path, monkeypatch):
    dist = fake_leaflet / "dist"
    assert find_leaflet(fake_leaflet) == dist
    assert find_leaflet(dist) == dist
    monkeypatch.setattr(settings, "leaflet_folder", fake_leaflet)
    assert find_leaflet() == dist
    monkeypatch.setattr(settings, "leaflet_folder", None)
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "node_modules").mkdir()
    fake_leaflet.rename(project / "node_modules" / "leaflet")
    monkeypatch.chdir(project / "sub")
    assert find_leaflet() == project / "node_modules" / "leaflet" / "dist"


def test_missing_leaflet_says_how_to_get_it(iso, tmp_path, monkeypatch):
    with pytest.raises(MissingDependencyError, match=r"npm install leaflet.*CONNECTIVITY_LEAFLET"):
        find_leaflet(tmp_path / "nowhere")
    monkeypatch.setattr(settings, "leaflet_folder", tmp_path / "nowhere")
    with pytest.raises(MissingDependencyError, match="nowhere"):
        isochrone_map(iso, offline=True)
    with pytest.raises(MissingDependencyError, match="npm install leaflet"):
        save_map(isochrone_map(iso), tmp_path / "m.html", offline=True)
    assert not list(tmp_path.glob("*.html*"))


def test_bad_input(iso):
    with pytest.raises(ParameterError, match="no 'cutoff' column"):
        isochrone_map(iso.rename(columns={"cutoff": "minutes"}))
    with pytest.raises(ParameterError, match="2 labels for 3 cutoffs"):
        isochrone_map(iso, labels=["a", "b"])


def test_add_legend_and_title_on_any_map():
    import folium

    from connectivity.outputs.folium_base import add_legend, add_title

    m = folium.Map(tiles=None)
    add_legend(m, [("#ff0000", "<i>zone</i>"), ("#00ff00", "{{ x }}")], title="a & b")
    add_title(m, "</div><script>x()</script>")
    page = map_html(m)
    assert "&lt;i&gt;zone&lt;/i&gt;" in page and "<i>zone</i>" not in page
    assert "&#123;&#123; x &#125;&#125;" in page  # not a template expression
    assert "a &amp; b" in page
    assert "background:#ff0000" in page
    assert "&lt;/div&gt;&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()" not in page


def test_nothing_reached_centres_on_the_origin():
    empty = gpd.GeoDataFrame({"cutoff": [60.0]}, geometry=[shapely.Polygon()], crs="EPSG:4326")
    page = map_html(isochrone_map(empty, origin=ORIGIN))
    assert "L.geoJson(" not in page
    assert re.search(r"center: \[60\.171, 24\.9414\]", page)
    assert ".fitBounds(" not in page


# -- zone choropleths, routes, the access view ------------------------------------------

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def zones():
    """Three square zones around the origin with indicators of core_periphery's names."""
    import numpy as np

    lat, lon = ORIGIN
    squares = [shapely.box(lon + k * 0.01, lat, lon + (k + 1) * 0.01, lat + 0.01) for k in range(3)]
    return gpd.GeoDataFrame(
        {
            "name": ["Centre", EVIL, "Far `${x}` \\ end"],
            "population": [1200.0, 300.0, 0.0],
            "transit_to_core_p50": [600.0, 2000.0, np.inf],
            "transit_from_core_p50": [660.0, 2100.0, np.inf],
            "car_to_core_p50": [300.0, 800.0, 1500.0],
            "car_from_core_p50": [300.0, 800.0, 1500.0],
            "transit_share_30min": [1.0, 0.25, 0.0],
            "transit_car_ratio_to_core": [2.0, 2.5, np.nan],
        },
        geometry=squares,
        crs="EPSG:4326",
    )


def test_indicator_scales_and_labels():
    import math

    from connectivity.outputs.choropleth import (
        NO_VALUE_COLOUR,
        format_indicator,
        indicator_label,
        indicator_scale,
    )

    time = indicator_scale("transit_to_core_p50", [])
    assert time.kind == "time"
    assert [time.colour(v) for v in (900, 901, 5400, 5401, math.inf)] == [
        time.colours[0],
        time.colours[1],
        time.colours[4],
        time.colours[5],
        time.colours[5],
    ]
    assert time.colour(math.nan) == NO_VALUE_COLOUR
    share = indicator_scale("car_share_45min", [])
    assert share.colour(0.2) == share.colours[0] and share.colour(0.81) == share.colours[4]
    counts = indicator_scale("population", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert counts.bounds == (2.0, 4.0, 6.0, 8.0)  # quintiles (inverted CDF)
    assert counts.colour(1) == counts.colours[0] and counts.colour(10) == counts.colours[-1]
    # Edges alike to three digits get the digits that tell them apart (the access map of
    # central Helsinki showed a class "0.169-0.169"); a class of one value shows it once.
    close = indicator_scale("population", [0.16912, 0.16934, 0.16951, 0.16978, 0.5, 0.9])
    assert close.labels == (
        "0.1691-0.1693", "0.1693-0.1695", "0.1695-0.1698", "0.1698-0.5", "0.5-0.9"
    )  # fmt: skip
    assert indicator_scale("population", [0, 0, 0, 1, 2]).labels == ("0", "0-1", "1-2")
    assert indicator_scale("population", [5.0]).labels == ("5",)
    assert format_indicator("transit_to_core_p50", math.inf) == "unreached"
    assert format_indicator("transit_to_core_p50", 1830) == "30 min"
    assert format_indicator("transit_share_30min", 0.254) == "25 %"
    assert format_indicator("transit_car_ratio_to_core", 2.345) == "2.35"
    assert indicator_label("transit_to_core_p90") == "transit to core (p90)"
    assert indicator_label("car_share_45min") == "car: population within 45 min of the core"


def test_access_map_layers_tooltips_and_escaping(zones):
    from connectivity.outputs.choropleth import access_map

    m = access_map(zones, core=ORIGIN, isochrones=None, title=f"Study of {EVIL}")
    page = map_html(m)
    # One layer per default indicator, the first shown, the others in the control only.
    for label in (
        "transit to core (median)",
        "car to core (median)",
        "transit / car time ratio, to core",
        "transit: population within 30 min of the core",
        "population",
    ):
        assert re.search(rf'"{re.escape(label)}"\s*:\s*feature_group_', page), label
    assert page.count(".addTo(map_") >= 2
    # Zone colours come from the classes: 10 min, 33 min, unreached.
    for colour in ("#253494", "#41b6c4", "#e31a1c"):
        assert f'"fillColor": "{colour}"' in page
    # The evil zone name and title only ever appear escaped: no raw tag anywhere, and the
    # GeoJSON properties that tooltips insert as HTML hold the escaped text.
    assert EVIL not in page
    assert "alert(1)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the title
    # the tooltips' properties: escaped here, then JSON-encoded by folium (& -> \u0026)
    assert '"zone": "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;"' in page
    assert "${x}" not in page and "\\u0026#36;{x}" in page
    assert "core: 60.17100,24.94140" in page
    # one legend box, with a section per kind of indicator
    assert page.count('class="connectivity-legend"') == 1
    for heading in ("Travel time (zones)", "Share of population", "Time ratio"):
        assert heading in page


def test_access_map_errors(zones):
    from connectivity.outputs.choropleth import access_map

    with pytest.raises(ParameterError, match="no column 'jobs'"):
        access_map(zones, columns=["jobs"])
    with pytest.raises(ParameterError, match="no indicator to map"):
        access_map(zones[["name", "geometry"]])


def test_transit_routes_from_stop_sequences_and_shapes(tmp_path):
    import zipfile

    import numpy as np
    import pandas as pd

    from connectivity import Timetable
    from connectivity.outputs.maps import add_routes, transit_routes

    stops = pd.DataFrame(
        {
            "stop_id": ["a", "b", "c"],
            "stop_name": [EVIL, "B", "C"],
            "lon": [24.94, 24.95, 24.96],
            "lat": [60.17, 60.171, 60.172],
        }
    )
    routes = pd.DataFrame(
        {
            "route_id": ["T", "X"],
            "route_type": [0, 3],
            "route_short_name": ["4", EVIL],
            "route_long_name": ["Tram", ""],
        }
    )
    trips = pd.DataFrame({"trip_id": ["t1", "t2", "t3"], "route": [0, 0, 1]})
    rows = [(0, 0, 0, 100, 100), (0, 1, 1, 200, 200), (0, 2, 2, 300, 300)]
    rows += [(1, 0, 0, 700, 700), (1, 1, 1, 800, 800), (1, 2, 2, 900, 900)]  # same pattern
    rows += [(2, 2, 0, 100, 100), (2, 0, 1, 400, 400)]
    st = pd.DataFrame(rows, columns=["trip", "stop", "stop_sequence", "arrival", "departure"])
    tt = Timetable.from_frames(stops, routes, trips, st)
    lines = transit_routes(tt)
    assert sorted(lines["route_id"]) == ["T", "X"]  # one line per distinct stop sequence
    tram = lines.set_index("route_id").loc["T"]
    np.testing.assert_allclose(np.asarray(tram.geometry.coords), stops[["lon", "lat"]].to_numpy())
    assert tram["route_color"] == "#00985f" and tram["source"] == "stops"
    bus = lines.set_index("route_id").loc["X"]
    np.testing.assert_allclose(np.asarray(bus.geometry.coords), [[24.96, 60.172], [24.94, 60.17]])

    # A feed with shapes.txt: its shapes are drawn instead, with the route's own colour.
    feed = tmp_path / "f.zip"
    with zipfile.ZipFile(feed, "w") as z:
        z.writestr(
            "routes.txt",
            "route_id,route_short_name,route_long_name,route_type,route_color\nT,4,Tram,0,FF0000\n",
        )
        z.writestr("trips.txt", "route_id,service_id,trip_id,shape_id\nT,s,t1,sh\n")
        z.writestr(
            "shapes.txt",
            "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
            "sh,60.17,24.94,1\nsh,60.175,24.945,2\nsh,60.172,24.96,3\n",
        )
    tt.routes["feed_id"] = "f"
    shaped = transit_routes(tt, feeds=[feed])
    assert list(shaped["source"]) == ["shapes"]
    assert shaped["route_color"].iat[0] == "#ff0000"
    np.testing.assert_allclose(
        np.asarray(shaped.geometry.iat[0].coords),
        [[24.94, 60.17], [24.945, 60.175], [24.96, 60.172]],
    )
    import folium

    m = folium.Map()
    add_routes(m, lines)
    page = m.get_root().render()
    assert page.count("L.polyline(") == 2
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"color": "#00985f"' in page and '"color": "#007ac9"' in page


def test_isochrone_map_with_two_sets_and_routes(iso):
    import geopandas as gpd
    from shapely.geometry import LineString

    lat, lon = ORIGIN
    routes = gpd.GeoDataFrame(
        {"route_short_name": ["7"], "route_type": [0], "route_color": [""]},
        geometry=[LineString([(lon, lat), (lon + 0.01, lat)])],
        crs="EPSG:4326",
    )
    m = isochrone_map({"walk": iso, "walk+transit": iso}, origin=ORIGIN, routes=routes)
    page = map_html(m)
    for name in ("walk", "walk+transit"):
        for label in ("0-5 min", "5-10 min", "10-15 min"):
            assert re.search(rf'"{re.escape(name)}: {label}"\s*:\s*feature_group_', page)
    assert '"Transit routes"' in page
    # the walking bands start hidden, the walk+transit ones shown
    assert page.count("L.geoJson(") == 6
    assert page.count('class="connectivity-legend"') == 1


@pytest.mark.parametrize(
    ("route_type", "basic"),
    [
        # GTFS extended route types (Google Transit's table) and their basic type.
        (100, 2),  # railway service
        (109, 2),  # suburban railway
        (200, 3),  # coach: a bus
        (400, 1),  # urban railway
        (401, 1),  # metro
        (500, 1),  # metro service
        (600, 1),  # underground service
        (700, 3),  # bus service
        (800, 11),  # trolleybus service
        (900, 0),  # tram service
        (1000, 4),  # water transport
        (1200, 4),  # ferry service
        (1400, 7),  # funicular service
        (1100, None),  # air service: no basic type, the neutral colour
    ],
)
def test_extended_route_types_take_the_colour_of_their_basic_type(route_type, basic):
    from connectivity.outputs.maps import ROUTE_COLOUR, ROUTE_TYPE_COLOURS, _route_colour

    expected = ROUTE_COLOUR if basic is None else ROUTE_TYPE_COLOURS[basic]
    assert _route_colour("", route_type) == expected
    assert _route_colour("", str(route_type)) == expected
    assert _route_colour("A1B2C3", route_type) == "#a1b2c3"  # the route's own colour wins
