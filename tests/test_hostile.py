"""Hostile and oversized inputs (issue 24): every case ends in one line and exit 2,
within seconds, before any work, and leaves nothing in the output folder."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from connectivity.cli import main
from connectivity.streets.load import demo_pbf

CORE = "60.1710,24.9414"
PBF = str(demo_pbf())


def run_cli(capsys, argv, *, seconds: float = 30.0):
    """Run ``connectivity argv`` in-process: (status, stderr, elapsed seconds)."""
    start = time.perf_counter()
    status = main(["-q", *argv])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert elapsed < seconds, f"{argv} took {elapsed:.1f} s"
    return status, err, elapsed


def assert_one_line(capsys, argv, match: str, *, seconds: float = 30.0) -> str:
    """The command ends with exit 2 and one error line matching ``match``."""
    status, err, _ = run_cli(capsys, argv, seconds=seconds)
    lines = [line for line in err.splitlines() if not line.startswith("WARNING")]
    assert status == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    import re

    assert re.search(match, lines[0]), lines[0]
    return lines[0]


@pytest.fixture
def feed(cache):
    from connectivity.transit.osm_feed import estimated_feed

    return estimated_feed(demo_pbf(), timezone="Europe/Helsinki")


@pytest.fixture
def points(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("id,lon,lat\na,24.9414,60.1710\nb,24.945,60.169\n")
    return path


# -- every command and its output options ------------------------------------------------


def commands(tmp_path: Path, points: Path, feed: Path | None = None) -> dict[str, tuple]:
    """Per command: (argv with OUT where the output path goes, option, file or folder)."""
    gtfs = str(feed) if feed is not None else PBF
    return {
        "isochrones --out": (
            ["isochrones", "--osm", PBF, "--origin", CORE, "--out", "OUT"],
            "--out",
            "file",
        ),
        "isochrones --map": (
            ["isochrones", "--osm", PBF, "--origin", CORE, "--map", "OUT"],
            "--map",
            "file",
        ),
        "isochrones --surface": (
            ["isochrones", "--osm", PBF, "--origin", CORE, "--surface", "OUT"],
            "--surface",
            "file",
        ),
        "travel-times": (
            ["travel-times", "--osm", PBF, "--origin", CORE, "--mode", "walk"]
            + ["--departure", "2022-02-22T08:00", "--out", "OUT"],
            "--out",
            "file",
        ),
        "matrix": (
            ["matrix", "--osm", PBF, "--origins", str(points), "--destinations", str(points)]
            + ["--mode", "walk", "--departure", "2022-02-22T08:00", "--out", "OUT"],
            "--out",
            "file",
        ),
        "gtfs-audit --csv": (["gtfs-audit", gtfs, "--csv", "OUT"], "--csv", "file"),
        "gtfs-from-osm": (["gtfs-from-osm", PBF, "--out", "OUT"], "--out", "file"),
        "access": (
            ["access", "--osm", PBF, "--core", CORE, "--rings", "0.5", "--out", "OUT"],
            "--out",
            "folder",
        ),
        "bottlenecks": (
            ["bottlenecks", "--osm", PBF, "--core", CORE, "--rings", "0.5", "--out", "OUT"],
            "--out",
            "folder",
        ),
        "scenario": (
            ["scenario", str(tmp_path / "absent.toml"), "--out", "OUT"],
            "--out",
            "folder",
        ),
        "demo": (["demo", "--out", "OUT"], "--out", "folder"),
    }


def bad_outputs(tmp_path: Path, kind: str, suffix: str) -> dict[str, tuple[str, str]]:
    """Output paths that cannot be written: (path, what the message says)."""
    folder = tmp_path / f"a-folder{suffix}"
    folder.mkdir(exist_ok=True)
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x")
    cases = {
        "under /proc": (f"/proc/connectivity-test/out{suffix}", "cannot write into /proc"),
        "under a file": (str(a_file / f"out{suffix}"), "is a file, not a folder"),
        "300-character name": (str(tmp_path / ("n" * 300 + suffix)), "more than the 255"),
    }
    if kind == "file":
        cases["an existing folder"] = (str(folder), "is a folder")
    else:
        cases["an existing file"] = (str(a_file), "is a file")
    return cases


SUFFIXES = {
    "isochrones --map": ".html",
    "isochrones --surface": ".tif",
    "travel-times": ".csv",
    "matrix": ".csv",
    "gtfs-audit --csv": ".csv",
    "gtfs-from-osm": ".zip",
}

CASES = [
    (command, case)
    for command in (
        "isochrones --out",
        "isochrones --map",
        "isochrones --surface",
        "travel-times",
        "matrix",
        "gtfs-audit --csv",
        "gtfs-from-osm",
        "access",
        "bottlenecks",
        "scenario",
        "demo",
    )
    for case in ("under /proc", "under a file", "300-character name", "existing")
]


@pytest.mark.parametrize(("command", "case"), CASES)
def test_unwritable_output_is_one_line_before_any_work(
    capsys, tmp_path, points, cache, command, case
):
    argv, option, kind = commands(tmp_path, points)[command]
    suffix = SUFFIXES.get(command, ".geojson" if kind == "file" else "")
    bad = bad_outputs(tmp_path, kind, suffix)
    key = next(k for k in bad if k.startswith(case) or case in k)
    path, match = bad[key]
    if command == "gtfs-audit --csv":
        argv = argv.copy()
        argv[1] = str(_tiny_feed(tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [path if a == "OUT" else a for a in argv]
    line = assert_one_line(capsys, argv, rf"{option} .*{match}", seconds=10)
    assert len(line) < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@contextlib.contextmanager
def as_nobody():
    """Act as the user nobody (so permissions hold for root too)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_dir():
    """A folder under /tmp that the user nobody can reach."""
    path = Path(tempfile.mkdtemp(prefix="connectivity-hostile-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("command", ["isochrones --out", "matrix", "access", "scenario"])
def test_read_only_output_folder_is_one_line(capsys, open_dir, points, cache, command):
    argv, option, kind = commands(open_dir, points)[command]
    shutil.copy(points, open_dir / "points.csv")
    argv = [str(open_dir / "points.csv") if a == str(points) else a for a in argv]
    locked = open_dir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    target = locked / ("out.csv" if command == "matrix" else "out.geojson")
    if kind == "folder":
        target = locked / "results"
    argv = [str(target) if a == "OUT" else a for a in argv]
    main(["-q", "gtfs-dates", "/nonexistent"])  # imports done before dropping rights
    capsys.readouterr()
    with as_nobody():
        line = assert_one_line(capsys, argv, rf"{option} .*cannot write into .*locked", seconds=10)
    assert "Permission denied" in line
    assert list(locked.iterdir()) == []


# -- inputs ------------------------------------------------------------------------------


def test_unreadable_osm_and_gtfs_are_one_line(capsys, open_dir, points):
    pbf = open_dir / "city.osm.pbf"
    shutil.copy(PBF, pbf)
    pbf.chmod(0o000)
    zip_feed = open_dir / "feed.zip"
    zip_feed.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    zip_feed.chmod(0o000)
    writable = open_dir / "writable"
    writable.mkdir(mode=0o777)
    writable.chmod(0o777)
    out = writable / "iso.geojson"
    main(["-q", "gtfs-dates", "/nonexistent"])
    capsys.readouterr()
    with as_nobody():
        assert_one_line(
            capsys,
            ["isochrones", "--osm", str(pbf), "--origin", CORE, "--out", str(out)],
            r"--osm .*city.osm.pbf: cannot be read \(Permission denied\)",
        )
        assert_one_line(
            capsys, ["gtfs-dates", str(zip_feed)], r"FEED .*feed.zip: cannot be read \(Permission"
        )
    assert not out.exists()


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "pipe.osm.pbf"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.parametrize(
    ("which", "match"),
    [
        ("folder", r"is a folder: give a osm file"),
        ("/dev/zero", r"/dev/zero is not a regular file \(a device\)"),
        ("fifo", r"pipe.osm.pbf is not a regular file \(a FIFO\)"),
    ],
)
@pytest.mark.parametrize("command", ["isochrones", "access", "travel-times", "gtfs-from-osm"])
def test_osm_that_is_no_regular_file_is_refused_unread(capsys, tmp_path, which, match, command):
    osm = {"folder": str(tmp_path), "/dev/zero": "/dev/zero"}.get(which) or str(_fifo(tmp_path))
    out = tmp_path / "out"
    argv = {
        "isochrones": ["isochrones", "--osm", osm, "--origin", CORE, "--out", f"{out}.geojson"],
        "access": ["access", "--osm", osm, "--core", CORE, "--rings", "1", "--out", str(out)],
        "travel-times": ["travel-times", "--osm", osm, "--origin", CORE, "--mode", "walk"]
        + ["--departure", "2022-02-22T08:00", "--out", f"{out}.csv"],
        "gtfs-from-osm": ["gtfs-from-osm", osm, "--out", f"{out}.zip"],
    }[command]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert_one_line(capsys, argv, match, seconds=5)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_size_limit_per_kind_names_the_size_and_the_limit(capsys, tmp_path, monkeypatch):
    from connectivity import _checks

    monkeypatch.setitem(_checks.SIZE_LIMITS, "osm", 1000)
    assert_one_line(
        capsys,
        ["isochrones", "--osm", PBF, "--origin", CORE, "--out", str(tmp_path / "x.geojson")],
        r"--osm .* is [\d.,]+ KiB, more than the 1,000 bytes accepted for a osm file",
    )
    monkeypatch.setitem(_checks.SIZE_LIMITS, "scenario", 10)
    study = tmp_path / "study.toml"
    study.write_text("# a scenario file of more than ten bytes\n")
    assert_one_line(
        capsys,
        ["scenario", str(study), "--out", str(tmp_path / "out")],
        r"FILE .*study.toml is 41 bytes, more than the 10 bytes accepted for a scenario file",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


def _tiny_feed(tmp_path: Path) -> Path:
    """A one-trip feed folder."""
    folder = tmp_path / "feed"
    folder.mkdir(exist_ok=True)
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "a,A,http://a,Europe/Helsinki\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        "s1,One,60.1710,24.9414\ns2,Two,60.1690,24.9450\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nr,a,1,3\n",
        "trips.txt": "route_id,service_id,trip_id\nr,d,t\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,s1,1\nt,08:05:00,08:05:00,s2,2\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
        "sunday,start_date,end_date\nd,1,1,1,1,1,1,1,20220101,20221231\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_stop_times_pointing_at_dev_zero_is_refused(capsys, tmp_path):
    feed = _tiny_feed(tmp_path)
    (feed / "stop_times.txt").unlink()
    (feed / "stop_times.txt").symlink_to("/dev/zero")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert_one_line(
        capsys,
        ["gtfs-audit", str(feed), "--date", "2022-02-22"],
        r"stop_times.txt is not a regular file \(a device\)",
        seconds=5,
    )
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200


def test_zip_member_beyond_the_limit_is_refused_unpacked(tmp_path, monkeypatch):
    from connectivity import _checks
    from connectivity._errors import GtfsError
    from connectivity.transit._read import FeedSource

    feed = _tiny_feed(tmp_path)
    zipped = tmp_path / "feed.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in feed.iterdir():
            z.write(f, f.name)
    monkeypatch.setitem(_checks.SIZE_LIMITS, "gtfs member", 50)
    with pytest.raises(GtfsError, match=r"stop_times.txt unpacks to 108 bytes, more than the 50"):
        FeedSource(zipped).read_bytes("stop_times.txt")


# -- option ranges from the data -----------------------------------------------------------


@pytest.mark.parametrize("command", ["isochrones", "travel-times", "access"])
def test_huge_window_names_the_service_day(capsys, tmp_path, feed, command):
    out = tmp_path / "out"
    common = ["--departure", "2022-02-22T08:00", "--window", "1e7"]
    argv = {
        "isochrones": ["isochrones", "--osm", PBF, "--gtfs", str(feed), "--origin", CORE]
        + common
        + ["--out", f"{out}.geojson"],
        "travel-times": ["travel-times", "--osm", PBF, "--gtfs", str(feed), "--origin", CORE]
        + common
        + ["--out", f"{out}.csv"],
        "access": ["access", "--osm", PBF, "--gtfs", str(feed), "--core", CORE, "--rings", "1"]
        + common
        + ["--out", str(out)],
    }[command]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert_one_line(
        capsys, argv, r"--window 1e\+07 minutes is longer than the service day \(1,440 min"
    )
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 500
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_tiny_resolution_is_refused_with_the_cell_count(capsys, tmp_path, cache):
    out = tmp_path / "iso.geojson"
    line = assert_one_line(
        capsys,
        ["isochrones", "--osm", PBF, "--origin", CORE, "--resolution", "0.001", "--out", str(out)],
        r"--resolution 0.001 gives [\d,]+ cells of 0.001 m over [\d.]+ x [\d.]+ km, more than "
        r"the 100,000,000 allowed: give a cell size of at least",
    )
    cells = int(line.split(" gives ")[1].split(" ")[0].replace(",", ""))
    assert cells > 10**12  # a km-wide isochrone at a millimetre
    assert not out.exists()


def test_tiny_rings_are_refused_with_the_zone_count(capsys, tmp_path, cache):
    out = tmp_path / "out"
    line = assert_one_line(
        capsys,
        ["access", "--osm", PBF, "--core", CORE, "--rings", "0.000001", "--out", str(out)],
        r"--rings 1e-06 gives [\d,]+ rings of 1e-06 km out to [\d.]+ km, more than the "
        r"10,000 allowed: give --rings of at least",
    )
    far_km = float(line.split(" out to ")[1].split(" ")[0])
    assert 0.3 < far_km < 3  # the extract is about 1 x 1.6 km around the core
    assert not out.exists()


def test_jobs_message_names_the_cli_option(capsys, tmp_path, points):
    line = assert_one_line(
        capsys,
        ["matrix", "--osm", PBF, "--origins", str(points), "--destinations", str(points)]
        + ["--mode", "walk", "--departure", "2022-02-22T08:00", "--jobs", "0"]
        + ["--out", str(tmp_path / "m.csv")],
        r"--jobs 0: give 1 to \d+ processes \(the cores of this machine\), or -1 for every core",
    )
    assert "n_jobs" not in line


# -- zones -------------------------------------------------------------------------------


def _zones_file(path: Path, rings: list[list[list[float]]], *, crs: bool = True) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"zone {i}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for i, ring in enumerate(rings)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _box(west, south, east, north):
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def _access(zones: Path, out: Path) -> list[str]:
    return ["access", "--osm", PBF, "--core", CORE, "--zones", str(zones), "--out", str(out)]


def test_self_intersecting_zone_is_refused_before_any_csv(capsys, tmp_path, cache):
    bowtie = [[24.93, 60.165], [24.95, 60.175], [24.95, 60.165], [24.93, 60.175], [24.93, 60.165]]
    zones = _zones_file(tmp_path / "zones.geojson", [_box(24.93, 60.16, 24.96, 60.18), bowtie])
    out = tmp_path / "out"
    assert_one_line(
        capsys,
        _access(zones, out),
        r"--zones: zone 'zone 1' is not a valid polygon \(Self-intersection\[[\d.]+ [\d.]+\]; "
        r"1 of 2 zones invalid\)",
    )
    assert not out.exists()


def test_zones_in_metres_without_crs_are_refused(capsys, tmp_path, cache):
    zones = _zones_file(
        tmp_path / "zones.geojson", [_box(385000, 6671000, 387000, 6673000)], crs=False
    )
    out = tmp_path / "out"
    assert_one_line(
        capsys,
        _access(zones, out),
        r"--zones: the zones' coordinates reach 385000, 6.671e\+06 .* which are not degrees",
    )
    assert not out.exists()


def test_zones_far_from_the_network(capsys, caplog, tmp_path, cache):
    far = _box(25.5, 61.0, 25.6, 61.1)  # 100 km north-east of the extract
    out = tmp_path / "out"
    zones = _zones_file(tmp_path / "far.geojson", [far])
    assert_one_line(
        capsys,
        _access(zones, out),
        r"--zones: none of the 1 zones holds a node of the street network \(the network spans "
        r"24\.\d+, 60\.\d+ to 24\.\d+, 60\.\d+",
    )
    assert not out.exists()
    # One far zone beside a zone on the network: a warning naming it, and the run goes on.
    from connectivity.accessibility.zones import read_zones
    from connectivity.cli._zones import check_zones
    from connectivity.streets.load import load_streets

    mixed = read_zones(
        _zones_file(tmp_path / "mixed.geojson", [_box(24.93, 60.16, 24.96, 60.18), far])
    )
    with caplog.at_level("WARNING"):
        check_zones(mixed, load_streets(demo_pbf(), mode="walk"), "--zones")
    assert "1 of 2 zones hold no node of the street network ('zone 1')" in caplog.text


# -- write paths of the commands -----------------------------------------------------------


def test_disk_full_at_write_time_is_one_line_and_leaves_nothing(
    capsys, tmp_path, monkeypatch, cache
):
    import errno

    from connectivity import _files

    replace = os.replace

    def full(src, dst):
        if Path(dst).parent == tmp_path:  # the output's disk is full, the cache's not
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(_files.os, "replace", full)
    out = tmp_path / "iso.geojson"
    assert_one_line(
        capsys,
        ["isochrones", "--osm", PBF, "--origin", CORE, "--out", str(out)],
        rf"cannot write {out} \(No space left on device\)",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_access_failing_at_its_last_output_leaves_the_folder_as_it_was(
    capsys, tmp_path, monkeypatch, cache, failure
):
    import connectivity.outputs.static_map as static

    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(static, "static_map", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["access", "--osm", PBF, "--core", CORE, "--rings", "0.5", "--out", str(out)]
    if isinstance(failure, KeyboardInterrupt):
        assert main(["-q", *argv]) == 130
    else:
        assert_one_line(capsys, argv, rf"cannot write {out} \(No space left on device\)")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
