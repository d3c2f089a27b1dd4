"""The journey map: one layer per journey, legs by mode, popups that need no jQuery
(offline pages carry none), names escaped; rendered offline in headless Chromium."""

from __future__ import annotations

import re
import subprocess
import tempfile

import numpy as np
import pytest
from _timetables import Event
from test_browser import FLAGS, chromium, count_near, rgb
from test_routing import SPEED, grid, lonlat, make_timetable

from connectivity import MissingDependencyError, ParameterError, journeys
from connectivity.network.intermodal import build_network
from connectivity.outputs.folium_base import find_leaflet, map_html, save_map
from connectivity.outputs.journey_map import OTHER_COLOUR, journey_map

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def legs():
    # A 2 x 12 grid of 300 m blocks; a line along the bottom row every 5 minutes.
    streets = grid(2, 12, spacing=300)
    t0 = 8 * 3600
    trips = [
        [
            Event(0, t0 + 300 * k + 60, t0 + 300 * k + 60),
            Event(1, t0 + 300 * k + 360, t0 + 300 * k + 360),
        ]
        for k in range(4)
    ]
    tt = make_timetable(streets, [1, 10], trips)
    tt.stops.loc[0, "stop_name"] = HOSTILE
    net = build_network(streets, tt, walk_radius=1300, walk_speed=SPEED)
    return journeys(net, lonlat(streets, 0), lonlat(streets, 11), departure=t0, window=600)


def _leaflet():
    try:
        return find_leaflet()
    except MissingDependencyError as exc:
        pytest.skip(f"the npm package leaflet is missing: {exc}")


def test_one_layer_per_journey_and_popups_without_jquery(legs):
    _leaflet()
    page = map_html(journey_map(legs, offline=True, title="Journeys"))
    n = legs["journey"].nunique()
    assert n >= 2
    assert len(re.findall(r'"Journey \d+: 08:\d\d, \d+ min, ', page)) == n
    # A popup per drawn leg (waits are drawn by the stop), bound by Leaflet itself.
    bound = re.findall(r"\bpoly_line_[0-9a-f]{32}\.bindPopup\(", page)
    assert len(bound) == int((legs["kind"] != "wait").sum())
    assert "$(" not in page
    # The hostile stop name is text: escaped in popups, tooltips and layer names.
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_bad_input():
    with pytest.raises(
        ParameterError, match=r"journey_map needs the legs of connectivity.journeys"
    ):
        journey_map(object())


def test_renders_offline_with_no_console_error(legs, tmp_path):
    browser = chromium()
    _leaflet()
    path = save_map(journey_map(legs, offline=True), tmp_path / "journeys.html", offline=True)
    url = path.resolve().as_uri()
    png = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             f"--screenshot={png}", url],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"), float)
    # The ride (no mode in the test feed: the "other" colour) is drawn.
    assert count_near(image, rgb(OTHER_COLOUR), tol=30) > 200
