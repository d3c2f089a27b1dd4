"""The demo's offline map, rendered in headless Chromium: polygons and legend visible."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from connectivity import MissingDependencyError
from connectivity.outputs.folium_base import FILL_OPACITY, OFFLINE_BACKGROUND, find_leaflet
from connectivity.outputs.maps import ISOCHRONE_COLOURS

pytestmark = pytest.mark.browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1200,900",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    for name in (os.environ.get("CONNECTIVITY_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    pytest.skip(
        "Chromium is not installed (apt-get install chromium, or set CONNECTIVITY_CHROMIUM)"
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The demo written offline, its screenshot and its DOM after scripts ran."""
    browser = chromium()
    try:
        find_leaflet()
    except MissingDependencyError as exc:
        pytest.skip(f"the npm package leaflet is missing: {exc}")
    from connectivity import settings
    from connectivity.studies.demo import demo

    out = tmp_path_factory.mktemp("browser")
    old = settings.cache_folder
    settings.cache_folder = out / "cache"
    try:
        result = demo(out / "demo", offline=True)
    finally:
        settings.cache_folder = old
    url = result.html.resolve().as_uri()
    png = out / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", url],
            check=True,
            capture_output=True,
            timeout=180,
        )
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            check=True,
            capture_output=True,
            timeout=180,
            text=True,
        ).stdout
    return result, png, dom


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], float)


def count_near(image: np.ndarray, colour: np.ndarray, tol: float = 6) -> int:
    return int((np.abs(image - colour).max(axis=2) <= tol).sum())


def test_page_is_offline(rendered):
    result, _, _ = rendered
    page = result.html.read_text()
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"'](https?:)?//", page)


def test_polygons_are_drawn(rendered):
    from PIL import Image

    _, png, _ = rendered
    image = np.asarray(Image.open(png).convert("RGB"), float)
    assert image.shape == (900, 1200, 3)
    background = rgb(OFFLINE_BACKGROUND)
    # Each band's fill: its colour blended over the background at the fill opacity.
    counts = []
    for colour in ISOCHRONE_COLOURS[:3]:
        expected = background * (1 - FILL_OPACITY) + rgb(colour) * FILL_OPACITY
        counts.append(count_near(image, expected))
    assert min(counts) > 5_000, counts  # every band covers a real share of the screen
    assert sum(counts) > 0.15 * 1200 * 900, counts
    assert count_near(image, background, tol=2) > 10_000  # and the page is not one colour
    assert count_near(image, rgb("#e31a1c"), tol=10) > 30  # the origin marker


def test_legend_is_visible(rendered):
    from PIL import Image

    _, png, dom = rendered
    assert 'class="connectivity-legend"' in dom
    for label in ("0-5 min", "5-10 min", "10-15 min"):
        assert label in dom
    assert "leaflet-container" in dom  # Leaflet ran
    assert dom.count('class="leaflet-interactive"') >= 4  # three bands and the marker
    image = np.asarray(Image.open(png).convert("RGB"), float)
    opacity = FILL_OPACITY + 0.2
    for colour in ISOCHRONE_COLOURS[:3]:
        swatch = np.full(3, 255.0) * (1 - opacity) + rgb(colour) * opacity
        assert count_near(image, swatch, tol=6) >= 80, colour


def test_transit_layer_is_drawn(rendered):
    from PIL import Image

    result, png, dom = rendered
    routes = result.routes
    assert len(routes) > 20  # the estimated tram and bus lines near the extract
    assert "Transit routes" in dom  # in the layer control
    # Leaflet drew every route line as an SVG path of weight 4 (isochrone bands weigh 1).
    lines = sum(len(getattr(g, "geoms", [g])) for g in routes.geometry)
    assert dom.count('stroke-width="4"') == lines
    colours = sorted(set(routes["route_color"]))
    for colour in colours:
        assert f'stroke="{colour}"' in dom
    # and the lines are visible: the most common line colour covers real pixels
    image = np.asarray(Image.open(png).convert("RGB"), float)
    common = routes["route_color"].value_counts().index[0]
    assert count_near(image, rgb(common), tol=40) > 300


# A name that would run a script if it reached the page unescaped.
PAYLOAD = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"><script>document.body.setAttribute('data-pwned','2')</script>"


def test_escaped_names_show_as_text_and_run_nothing(tmp_path):
    import geopandas as gpd
    import pandas as pd
    import shapely

    from connectivity import Timetable
    from connectivity.outputs.choropleth import access_map
    from connectivity.outputs.folium_base import save_map
    from connectivity.outputs.maps import transit_routes

    browser = chromium()
    try:
        find_leaflet()
    except MissingDependencyError as exc:
        pytest.skip(f"the npm package leaflet is missing: {exc}")
    stops = pd.DataFrame(
        {
            "stop_id": ["a", "b"],
            "stop_name": [PAYLOAD, "b"],
            "lon": [24.94, 24.95],
            "lat": [60.17, 60.171],
        }
    )
    routes = pd.DataFrame({"route_id": ["r"], "route_type": [3], "route_short_name": [PAYLOAD]})
    tt = Timetable.from_frames(
        stops,
        routes,
        pd.DataFrame({"trip_id": ["t"], "route": [0]}),
        pd.DataFrame(
            [(0, 0, 0, 0, 0), (0, 1, 1, 60, 60)],
            columns=["trip", "stop", "stop_sequence", "arrival", "departure"],
        ),
    )
    zones = gpd.GeoDataFrame(
        {"name": [PAYLOAD], "population": [10.0], "transit_to_core_p50": [600.0]},
        geometry=[shapely.box(24.935, 60.165, 24.955, 60.175)],
        crs="EPSG:4326",
    )
    m = access_map(
        zones,
        core=(60.17, 24.945),
        routes=transit_routes(tt),
        offline=True,
        title=f"Stop {PAYLOAD}",
    )
    path = save_map(m, tmp_path / "evil.html")
    source = path.read_text()
    assert PAYLOAD not in source
    assert "<img src=x" not in source and "<script>document.body" not in source
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", path.resolve().as_uri()],
            check=True,
            capture_output=True,
            timeout=180,
            text=True,
        ).stdout
    assert "leaflet-container" in dom  # the page ran
    assert "data-pwned=" not in dom  # neither the img's handler nor the script ran
    # the title shows the name as text (serialised escaped again by the DOM dump)
    assert (
        "Stop &lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt;&lt;script&gt;"
        in dom
    )
