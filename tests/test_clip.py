"""Clipping on read: OSM files (against ``osmium extract`` and a brute-force reference
written here), the networks built from them, GTFS feeds (counts worked out with the csv
module), the ``clip`` command and the clip options of the commands that read OSM."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _gtfs_feed import base_feed, hms, write_feed

from connectivity import clip_gtfs, clip_osm, load_streets, load_timetable
from connectivity._errors import CoordinateError, InputFileError, ParameterError
from connectivity.cli import main

OSMIUM = shutil.which("osmium")
needs_osmium = pytest.mark.skipif(OSMIUM is None, reason="the osmium CLI (osmium-tool) is absent")


# -- a synthetic OSM file: a grid of streets, a few relations ------------------------------


def grid_osm(path: Path, n: int = 12, step: float = 0.002) -> Path:
    """An n x n grid of nodes around (8.5 E, 49.5 N) with a residential way per row and
    per column, plus a route relation per row and one relation of relations. Node ids are
    scattered (as in real files)."""
    rng = np.random.default_rng(7)
    ids = rng.choice(np.arange(1, 10**9), n * n, replace=False).reshape(n, n)
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='test'>"]
    for k in np.argsort(ids, axis=None):  # nodes in id order, as osmium expects
        i, j = divmod(int(k), n)
        lon, lat = 8.5 + j * step, 49.5 + i * step
        lines.append(f"  <node id='{ids[i, j]}' version='1' lat='{lat:.7f}' lon='{lon:.7f}'/>")
    way = 1
    ways = {}
    for i in range(n):
        for refs in (ids[i, :], ids[:, i]):
            lines.append(f"  <way id='{way}' version='1'>")
            lines += [f"    <nd ref='{r}'/>" for r in refs]
            lines.append("    <tag k='highway' v='residential'/>")
            lines.append("  </way>")
            ways[way] = refs
            way += 1
    for i in range(n):
        lines.append(f"  <relation id='{100 + i}' version='1'>")
        lines.append(f"    <member type='way' ref='{2 * i + 1}' role=''/>")
        lines.append("    <tag k='type' v='route'/>")
        lines.append("  </relation>")
    lines.append("  <relation id='999' version='1'>")
    lines.append("    <member type='relation' ref='104' role=''/>")
    lines.append("    <tag k='type' v='route_master'/>")
    lines.append("  </relation>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def read_ids(path: Path) -> dict[str, set[int]]:
    import osmium

    found: dict[str, set[int]] = {"n": set(), "w": set(), "r": set()}
    for obj in osmium.FileProcessor(str(path)):
        found[obj.type_str()].add(obj.id)
    return found


def brute_force_clip(path: Path, inside_test) -> dict[str, set[int]]:
    """complete_ways, written from its definition with plain Python objects."""
    import osmium

    nodes, ways, rels = {}, {}, {}
    for obj in osmium.FileProcessor(str(path)):
        if obj.is_node():
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            ways[obj.id] = [n.ref for n in obj.nodes]
        else:
            rels[obj.id] = [(m.type, m.ref) for m in obj.members]
    inside = {i for i, (lon, lat) in nodes.items() if inside_test(lon, lat)}
    kept_ways = {w for w, refs in ways.items() if any(r in inside for r in refs)}
    kept_nodes = inside | {r for w in kept_ways for r in ways[w] if r in nodes}
    kept_rels = {
        r
        for r, members in rels.items()
        if any((t == "n" and m in inside) or (t == "w" and m in kept_ways) for t, m in members)
    }
    changed = True
    while changed:
        more = {r for r, members in rels.items() if any(("r", k) in members for k in kept_rels)}
        changed = not more <= kept_rels
        kept_rels |= more
    return {"n": kept_nodes, "w": kept_ways, "r": kept_rels}


def osmium_extract(src: Path, out: Path, *args: str) -> Path:
    subprocess.run([OSMIUM, "extract", *args, str(src), "-o", str(out), "--overwrite"], check=True)
    return out


BOX = (8.5051, 49.5051, 8.5129, 49.5109)


def in_box(lon, lat, box=BOX):
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def test_bbox_clip_keeps_what_complete_ways_keeps(tmp_path):
    src = grid_osm(tmp_path / "grid.osm")
    counts = clip_osm(src, tmp_path / "clip.osm.pbf", bbox=BOX)
    got = read_ids(tmp_path / "clip.osm.pbf")
    expected = brute_force_clip(src, in_box)
    assert got == expected
    # 4 x 3 nodes inside; the ways of those 4 columns and 3 rows kept whole (12 nodes each)
    assert counts.nodes_inside == 12
    assert counts.ways_kept == 7 and counts.nodes_kept == len(expected["n"]) == 12 * 7 - 12
    assert counts.relations_kept == len(expected["r"]) and 999 in got["r"]
    assert counts.nodes_read == 144 and counts.ways_read == 24 and counts.relations_read == 13


@needs_osmium
def test_bbox_and_polygon_clips_equal_osmium_extract(tmp_path):
    src = grid_osm(tmp_path / "grid.osm")
    clip_osm(src, tmp_path / "ours.osm.pbf", bbox=BOX)
    ref = osmium_extract(src, tmp_path / "ref.osm.pbf", "-b", ",".join(map(str, BOX)))
    assert read_ids(tmp_path / "ours.osm.pbf") == read_ids(ref)

    triangle = [(8.5001, 49.5001), (8.5205, 49.5003), (8.5003, 49.5199), (8.5001, 49.5001)]
    poly = tmp_path / "triangle.geojson"
    poly.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [triangle]},
                    }
                ],
            }
        )
    )
    clip_osm(src, tmp_path / "ours_p.osm.pbf", polygon=poly)
    ref = osmium_extract(src, tmp_path / "ref_p.osm.pbf", "-p", str(poly))
    got = read_ids(tmp_path / "ours_p.osm.pbf")
    assert got == read_ids(ref)
    assert 0 < len(got["n"]) < 144


def test_around_keeps_the_nodes_within_the_radius(tmp_path):
    src = grid_osm(tmp_path / "grid.osm")
    lat0, lon0, km = 49.511, 8.511, 0.5

    def within(lon, lat):
        p1, p2 = math.radians(lat0), math.radians(lat)
        h = (
            math.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - lon0) / 2) ** 2
        )
        return 2 * 6_371_008.8 * math.asin(math.sqrt(h)) <= km * 1000

    counts = clip_osm(src, tmp_path / "c.osm.pbf", around=(lat0, lon0, km))
    expected = brute_force_clip(src, within)
    assert read_ids(tmp_path / "c.osm.pbf") == expected
    assert 0 < counts.nodes_inside < counts.nodes_kept < 144


def test_the_same_polygon_as_shapely_or_as_a_poly_file_clips_the_same(tmp_path):
    import shapely

    src = grid_osm(tmp_path / "grid.osm")
    ring = [(8.503, 49.503), (8.515, 49.504), (8.512, 49.516), (8.503, 49.503)]
    poly = tmp_path / "area.poly"
    poly.write_text(
        "area\n1\n" + "".join(f"  {x} {y}\n" for x, y in ring) + "END\nEND\n", encoding="utf-8"
    )
    clip_osm(src, tmp_path / "a.osm.pbf", polygon=poly)
    clip_osm(src, tmp_path / "b.osm.pbf", polygon=shapely.Polygon(ring))
    a = read_ids(tmp_path / "a.osm.pbf")
    assert a == read_ids(tmp_path / "b.osm.pbf")
    shape = shapely.Polygon(ring)
    assert a == brute_force_clip(src, lambda x, y: shape.intersects(shapely.Point(x, y)))


def test_region_errors_are_one_line(tmp_path):
    src = grid_osm(tmp_path / "grid.osm")
    out = tmp_path / "o.osm.pbf"
    with pytest.raises(CoordinateError, match=r"holds no node of grid.osm, whose nodes span 8\.5"):
        clip_osm(src, out, bbox=(10.0, 50.0, 10.1, 50.1))
    with pytest.raises(ParameterError, match=r"radius must be > 0 km, got 0"):
        clip_osm(src, out, around=(49.5, 8.5, 0))
    with pytest.raises(ParameterError, match=r"radius must be > 0 km, got -2"):
        load_streets(src, around=(49.5, 8.5, -2))
    with pytest.raises(CoordinateError, match=r"looks like \(lon, lat, km\)"):
        clip_osm(src, out, around=(149.5, 8.5, 1))
    points = tmp_path / "points.geojson"
    points.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [8.5, 49.5]},
                    }
                ],
            }
        )
    )
    with pytest.raises(InputFileError, match=r"points.geojson holds no polygon"):
        clip_osm(src, out, polygon=points)
    empty = tmp_path / "empty.poly"
    empty.write_text("nothing\nEND\n")
    with pytest.raises(InputFileError, match=r"empty.poly holds no polygon"):
        load_streets(src, polygon=empty)
    with pytest.raises(InputFileError, match=r"polygon file .*missing.geojson does not exist"):
        clip_osm(src, out, polygon=tmp_path / "missing.geojson")
    with pytest.raises(ParameterError, match=r"at most one of .*got bbox, around"):
        load_streets(src, bbox=BOX, around=(49.5, 8.5, 1))
    with pytest.raises(InputFileError, match=r"must be an \.osm\.pbf"):
        clip_osm(src, tmp_path / "o.txt", bbox=BOX)
    assert not out.exists()


def edge_set(net):
    ids = net.nodes["osmid"].to_numpy()
    e = net.edges
    return {
        (int(ids[u]), int(ids[v]), round(float(t), 6))
        for u, v, t in e[["u", "v", "time"]].itertuples(index=False)
    }


@needs_osmium
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_clipped_network_equals_the_network_of_an_osmium_extract(tmp_path, mode):
    from connectivity import demo_pbf

    box = (24.940, 60.165, 24.948, 60.172)
    net = load_streets(demo_pbf(), mode=mode, bbox=box, use_cache=False)
    ref_file = osmium_extract(demo_pbf(), tmp_path / "ref.osm.pbf", "-b", ",".join(map(str, box)))
    ref = load_streets(ref_file, mode=mode, use_cache=False)
    assert set(net.nodes["osmid"]) == set(ref.nodes["osmid"])
    assert edge_set(net) == edge_set(ref)
    full = load_streets(demo_pbf(), mode=mode, use_cache=False)
    assert net.n_nodes < full.n_nodes
    assert net.meta["clip"]["nodes_inside"] > 0
    assert net.meta["clip"]["region"] == ["bbox", list(box)]


@needs_osmium
@pytest.mark.integration
def test_rhine_neckar_clip_around_heidelberg_equals_osmium_extract(tmp_path):
    from conftest import shared_data

    path = shared_data("rhein-neckar/rnv.osm.pbf")
    box = (8.60, 49.38, 8.72, 49.43)
    net = load_streets(path, bbox=box, use_cache=False)
    ref_file = osmium_extract(path, tmp_path / "ref.osm.pbf", "-b", ",".join(map(str, box)))
    assert read_ids(ref_file) == read_ids(_clip(path, tmp_path / "ours.osm.pbf", box))
    ref = load_streets(ref_file, use_cache=False)
    assert set(net.nodes["osmid"]) == set(ref.nodes["osmid"])
    assert edge_set(net) == edge_set(ref)
    assert net.n_nodes > 5000


def _clip(path, out, box):
    clip_osm(path, out, bbox=box)
    return out


def test_clipped_networks_are_cached_by_region(tmp_path, cache):
    src = grid_osm(tmp_path / "grid.osm")
    a = load_streets(src, bbox=BOX)
    b = load_streets(src, bbox=BOX)
    c = load_streets(src, around=(49.511, 8.511, 0.5))
    d = load_streets(src)
    assert a.meta["cache_key"] == b.meta["cache_key"]
    assert len({a.meta["cache_key"], c.meta["cache_key"], d.meta["cache_key"]}) == 3
    assert a.n_nodes == 12 * 7 - 12 and d.n_nodes == 144


# -- GTFS ----------------------------------------------------------------------------------


def line_feed(tmp_path: Path) -> Path:
    """base_feed plus a stop D far east (26 E) served by trip t1 only, a trip u1 that
    touches the inside once, and a trip far away."""
    feed = base_feed()
    feed["stops.txt"] += [
        {"stop_id": "D", "stop_name": "Stop D", "stop_lat": 60.0, "stop_lon": 26.0},
        {"stop_id": "E", "stop_name": "Stop E", "stop_lat": 61.0, "stop_lon": 26.0},
        {"stop_id": "F", "stop_name": "Stop F", "stop_lat": 61.0, "stop_lon": 26.1},
    ]
    feed["trips.txt"] += [
        {"route_id": "R2", "service_id": "WK", "trip_id": "u1"},
        {"route_id": "R3", "service_id": "WK", "trip_id": "far"},
    ]
    feed["routes.txt"].append({"route_id": "R3", "route_short_name": "3", "route_type": 3})
    feed["stop_times.txt"].append(
        {
            "trip_id": "t1",
            "arrival_time": hms(8 * 3600 + 3000),
            "departure_time": hms(8 * 3600 + 3000),
            "stop_id": "D",
            "stop_sequence": 4,
        }
    )
    for trip, stops in (("u1", "CD"), ("far", "EF")):
        for i, s in enumerate(stops):
            feed["stop_times.txt"].append(
                {
                    "trip_id": trip,
                    "arrival_time": hms(7 * 3600 + 600 * i),
                    "departure_time": hms(7 * 3600 + 600 * i),
                    "stop_id": s,
                    "stop_sequence": i + 1,
                }
            )
    feed["transfers.txt"] = [
        {"from_stop_id": "A", "to_stop_id": "B", "transfer_type": 2, "min_transfer_time": 60},
        {"from_stop_id": "C", "to_stop_id": "D", "transfer_type": 2, "min_transfer_time": 60},
    ]
    return write_feed(tmp_path / "line", feed, as_zip=True)


def zip_rows(path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as zf:
        return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def test_gtfs_clip_drops_stops_and_trips_outside_with_counts(tmp_path):
    feed = line_feed(tmp_path)
    out = tmp_path / "clipped.zip"
    box = (24.99, 59.99, 25.05, 60.01)  # A, B, C
    counts = clip_gtfs(feed, out, bbox=box)
    assert {r["stop_id"] for r in zip_rows(out, "stops.txt")} == {"A", "B", "C"}
    # u1 serves only C inside: dropped; far: dropped; t1 loses D
    assert {r["trip_id"] for r in zip_rows(out, "trips.txt")} == {"t1", "t2", "s1"}
    times = [(r["trip_id"], r["stop_id"]) for r in zip_rows(out, "stop_times.txt")]
    assert sorted(times) == sorted((t, s) for t in ("t1", "t2", "s1") for s in "ABC")
    assert [r["from_stop_id"] for r in zip_rows(out, "transfers.txt")] == ["A"]
    assert {r["route_id"] for r in zip_rows(out, "routes.txt")} == {"R1", "R2"}
    assert counts.as_dict() == {
        "stops_read": 6,
        "stops_inside": 3,
        "stops_kept": 3,
        "trips_read": 5,
        "trips_kept": 3,
        "trips_kept_whole": 0,
        "stop_times_read": 14,
        "stop_times_kept": 9,
        "routes_read": 3,
        "routes_kept": 2,
    }
    tt = load_timetable(out, date="2024-01-02", use_cache=False)
    assert tt.n_stops == 3 if hasattr(tt, "n_stops") else len(tt.stops) == 3
    with pytest.raises(CoordinateError, match=r"holds no stop of line.zip"):
        clip_gtfs(feed, tmp_path / "x.zip", bbox=(10.0, 50.0, 10.1, 50.1))
    with pytest.raises(ParameterError, match="radius must be > 0"):
        clip_gtfs(feed, tmp_path / "x.zip", around=(60.0, 25.0, 0))


def test_gtfs_clip_keeps_a_trip_whole_when_its_cut_end_has_no_time(tmp_path):
    feed = base_feed()
    feed["stops.txt"].append(
        {"stop_id": "D", "stop_name": "Stop D", "stop_lat": 60.0, "stop_lon": 26.0}
    )
    # t1 runs A B C D with C untimed; clipping to A..C would end t1 at an untimed stop
    for row in feed["stop_times.txt"]:
        if row["trip_id"] == "t1" and row["stop_id"] == "C":
            row["arrival_time"] = row["departure_time"] = ""
    feed["stop_times.txt"].append(
        {
            "trip_id": "t1",
            "arrival_time": hms(9000 * 3),
            "departure_time": hms(9000 * 3),
            "stop_id": "D",
            "stop_sequence": 4,
        }
    )
    path = write_feed(tmp_path / "untimed", feed, as_zip=True)
    counts = clip_gtfs(path, tmp_path / "c.zip", bbox=(24.99, 59.99, 25.05, 60.01))
    rows = [(r["trip_id"], r["stop_id"]) for r in zip_rows(tmp_path / "c.zip", "stop_times.txt")]
    assert ("t1", "D") in rows
    assert counts.trips_kept_whole == 1 and counts.stops_kept == 4 and counts.stops_inside == 3


@pytest.mark.integration
def test_rhine_neckar_gtfs_clip_counts_match_the_data(tmp_path):
    from conftest import shared_data

    feed = shared_data("rhein-neckar/rnv_gtfs.zip")
    box = (8.60, 49.38, 8.72, 49.43)
    counts = clip_gtfs(feed, tmp_path / "c.zip", bbox=box)
    stops = {
        r["stop_id"]: (float(r["stop_lon"]), float(r["stop_lat"]))
        for r in zip_rows(feed, "stops.txt")
        if r.get("location_type", "") in ("", "0")
    }
    inside = {s for s, (x, y) in stops.items() if in_box(x, y, box)}
    per_trip: dict[str, int] = {}
    rows = 0
    for r in zip_rows(feed, "stop_times.txt"):
        rows += 1
        if r["stop_id"] in inside:
            per_trip[r["trip_id"]] = per_trip.get(r["trip_id"], 0) + 1
    kept = {t for t, n in per_trip.items() if n >= 2}
    assert counts.stops_inside == len(inside)
    assert counts.trips_kept == len(kept)
    assert counts.stop_times_read == rows
    assert counts.stop_times_kept == sum(per_trip[t] for t in kept)
    assert 0 < counts.trips_kept < counts.trips_read


# -- the command line ----------------------------------------------------------------------


def test_cli_clip_writes_the_region_and_prints_counts(tmp_path, capsys):
    src = grid_osm(tmp_path / "grid.osm")
    out = tmp_path / "region.osm.pbf"
    assert main(["clip", str(src), "--around", "49.511,8.511,0.5", "--out", str(out)]) == 0
    assert read_ids(out) == read_ids(_around_ref(src, tmp_path))
    assert "nodes" in capsys.readouterr().out
    feed = line_feed(tmp_path)
    status = main(
        [
            "clip",
            str(src),
            "--bbox",
            "24.99,59.99,25.05,60.01",
            "--out",
            str(tmp_path / "x.osm.pbf"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "holds no node of grid.osm" in err
    assert main(["clip", str(src), "--around", "49.511,8.511,-1", "--out", str(out)]) == 2
    assert "radius must be > 0 km" in capsys.readouterr().err
    assert main(["clip", str(src), "--around", "49.5,8.5", "--out", str(out)]) == 2
    assert "--around '49.5,8.5': give 3 numbers" in capsys.readouterr().err
    assert main(["clip", str(src), "--out", str(out)]) == 2
    assert "clip needs a region" in capsys.readouterr().err
    g = tmp_path / "g.zip"
    args = ["clip", str(src), "--bbox", "8.50,49.50,8.52,49.52", "--out", str(out)]
    assert main([*args, "--gtfs", str(feed), "--gtfs-out", str(g)]) == 2
    assert "holds no stop of line.zip" in capsys.readouterr().err


def _around_ref(src, tmp_path):
    ref = tmp_path / "ref.osm.pbf"
    clip_osm(src, ref, around=(49.511, 8.511, 0.5))
    return ref


def test_commands_that_read_osm_take_the_clip_options():
    from connectivity.cli import build_parser

    parser = build_parser()
    for command in (["isochrones"], ["access"], ["bottlenecks"], ["travel-times"], ["matrix"]):
        sub = parser._subparsers._group_actions[0].choices[command[0]]  # type: ignore[union-attr]
        options = {s for a in sub._actions for s in a.option_strings}
        assert {"--bbox", "--polygon", "--around"} <= options, command


def test_isochrones_command_clips_on_read(tmp_path, capsys):
    from connectivity import demo_pbf

    out = tmp_path / "iso.geojson"
    base = ["isochrones", "--osm", str(demo_pbf()), "--origin", "60.1699,24.9410"]
    status = main([*base, "--cutoffs", "5", "--out", str(out), "--around", "60.17,24.94,0.4"])
    assert status == 0 and out.exists()
    status = main([*base, "--cutoffs", "5", "--out", str(out), "--around", "61.5,24.94,0.4"])
    assert status == 2 and "holds no node of Helsinki.osm.pbf" in capsys.readouterr().err
