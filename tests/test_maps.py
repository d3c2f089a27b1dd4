"""Folium maps: layers, legend, escaping, and offline pages with no internet reference."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely

from connectivity import MissingDependencyError, ParameterError, settings
from connectivity.maps import (
    ISOCHRONE_COLOURS,
    escape,
    find_leaflet,
    isochrone_map,
    map_html,
    save_map,
)

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

    from connectivity.maps import add_legend, add_title

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
