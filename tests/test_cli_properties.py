"""Property tests over every CLI command (issue 18, Build 4): options drawn from
strategies of valid and invalid values (numbers of every kind and sign, empty, huge, NaN,
malformed dates and coordinates, wrong kinds of file) end in exit 0 or in a one-line error
with exit 2; never a traceback; never a file left in the output folder on exit 2.

``connectivity.cli.main`` runs in-process on the embedded Helsinki extract with a warm
cache, ``max_examples`` per command keeps the whole module under about a minute, and each
command prints how many cases it tried and how they ended (shown in CI's log)."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectivity import settings as connectivity_settings
from connectivity.cli import main
from connectivity.streets.load import demo_pbf

CORE = "60.1710,24.9414"

NUMBER = st.one_of(
    st.integers(-(10**15), 10**15).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0.001, 200).map(lambda v: f"{v:.3g}"),  # plausible values: runs that work
    st.sampled_from(
        ["", " ", "0", "-0", "-1", "1e308", "-1e308", "1e-320", "nan", "NaN", "inf", "-inf"]
        + ["abc", "1,2", "0x1A", "1_000", "\u0661\u0662", "--1", "1e", "5 min", "\x00"]
    ),
)
MINUTES = st.one_of(NUMBER, st.lists(NUMBER, min_size=1, max_size=4).map(",".join))
DATE = st.one_of(
    st.just("2022-02-22T08:00"),
    st.sampled_from(
        ["2022-02-30T08:00", "2022-13-01T08:00", "2022-02-22", "08:00", "2022-02-22T25:00"]
        + ["", "9999-12-31T23:59", "0001-01-01T00:00", "2022-02-22T08:00:00+02:00", "today"]
        + ["2022-02-22T08:00\x00", "1e9", "2022-02-22T-1:00"]
    ),
    st.text(max_size=12),
)
DAY = st.one_of(st.just("2022-02-22"), DATE, st.sampled_from(["2022-02-22:2022-01-01", "x:y"]))
LATLON = st.one_of(
    st.just(CORE),
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats()).map(
        lambda p: f"{p[0]!r},{p[1]!r}"
    ),
    st.sampled_from(
        ["", "60.17", "60.17,24.94,1", "24.9414,60.1710", "91,0", "0,181", "nan,nan"]
        + ["60.17;24.94", "a,b", "60.1700,24.9500", "0,0", "-90,-180", "60.17,"]
    ),
)
#: Files by kind; "<x>" names are made by the ``inputs`` fixture.
FILE = st.sampled_from(
    ["/nonexistent/x.pbf", "<dir>", "/dev/null", "/dev/zero", "<fifo>", "<text>", "<pbf>"]
    + ["<csv>", "<feed>", "<empty>", "<zones>", "", "<unicode>"]
)
#: Scenario files: every kind of file, and hostile scenario files (issue 24): a YAML alias
#: bomb, binary bytes, numbers out of every range, strings where numbers belong.
SCENARIO_FILE = st.one_of(
    FILE, st.sampled_from(["<bomb.yaml>", "<binary.toml>", "<huge.toml>", "<strings.toml>"])
)
OUTFILE = st.sampled_from(
    ["OUT/x", "OUT", "OUT/sub/deeper/x", "/proc/x/y", "OUT/" + "n" * 300, "<text>/x"]
)
OUTDIR = st.sampled_from(["OUT", "OUT/sub", "/proc/x", "OUT/" + "n" * 300, "<text>", "<text>/x"])
INTEGER = st.one_of(st.integers(-5, 30).map(str), NUMBER)  # --jobs 30: more than the cores

#: Per command: the base arguments (a valid run), the options drawn, and max_examples.
COMMANDS: dict[str, tuple[list[str], dict[str, st.SearchStrategy], int]] = {
    "isochrones": (
        ["isochrones", "--osm=<pbf>", f"--origin={CORE}", "--out=OUT/iso.geojson"],
        {
            "--origin": LATLON,
            "--cutoffs": MINUTES,
            "--buffer": NUMBER,
            "--resolution": NUMBER,
            "--max-distance": NUMBER,
            "--mode": st.sampled_from(["walk", "bike", "drive", "car", "", "WALK"]),
            "--osm": FILE,
            "--out": OUTFILE.map(lambda p: p + ".geojson"),
            "--map": OUTFILE.map(lambda p: p + ".html"),
            "--surface": OUTFILE.map(lambda p: p + ".tif"),
            "--gtfs": FILE,
            "--departure": DATE,
            "--window": NUMBER,
            "--percentile": NUMBER,
        },
        40,
    ),
    "journeys": (
        ["journeys", "--osm=<pbf>", "--gtfs=<feed>", f"--from={CORE}", "--to=60.1690,24.9450"]
        + ["--departure=2022-02-22T08:00", "--out=OUT/legs.geojson"],
        {
            "--from": LATLON,
            "--to": LATLON,
            "--departure": DATE,
            "--window": NUMBER,
            "--max-time": NUMBER,
            "--max-transfers": INTEGER,
            "--max-walk": NUMBER,
            "--walk-speed": NUMBER,
            "--gtfs": FILE,
            "--osm": FILE,
            "--out": OUTFILE.map(lambda p: p + ".geojson"),
        },
        15,
    ),
    "travel-times": (
        ["travel-times", "--osm=<pbf>", f"--origin={CORE}", "--mode=walk"]
        + ["--departure=2022-02-22T08:00", "--out=OUT/t.csv"],
        {
            "--origin": LATLON,
            "--departure": DATE,
            "--window": NUMBER,
            "--percentiles": MINUTES,
            "--max-time": NUMBER,
            "--max-transfers": INTEGER,
            "--max-walk": NUMBER,
            "--walk-speed": NUMBER,
            "--mode": st.sampled_from(["walk", "transit", "bike", "drive", "boat"]),
            "--gtfs": FILE,
            "--osm": FILE,
            "--out": OUTFILE.map(lambda p: p + ".csv"),
        },
        30,
    ),
    "matrix": (
        ["matrix", "--osm=<pbf>", "--origins=<csv>", "--destinations=<csv>", "--mode=walk"]
        + ["--departure=2022-02-22T08:00", "--out=OUT/m.csv"],
        {
            "--origins": FILE,
            "--destinations": FILE,
            "--jobs": INTEGER,
            "--window": NUMBER,
            "--max-time": NUMBER,
            "--walk-speed": NUMBER,
            "--departure": DATE,
            "--out": OUTFILE.map(lambda p: p + ".csv"),
        },
        25,
    ),
    "gtfs-audit": (
        ["gtfs-audit", "<feed>", "--csv=OUT/problems.csv"],
        {"FEED": FILE, "--date": DAY, "--csv": OUTFILE.map(lambda p: p + ".csv")},
        20,
    ),
    "gtfs-dates": (["gtfs-dates", "<feed>"], {"FEED": FILE}, 15),
    "gtfs-from-osm": (
        ["gtfs-from-osm", "<pbf>", "--out=OUT/feed.zip"],
        {
            "FEED": FILE,
            "--date-range": DAY,
            "--headway": st.one_of(NUMBER, NUMBER.map(lambda v: f"bus={v}")),
            "--speed": st.one_of(NUMBER, NUMBER.map(lambda v: f"tram={v}")),
            "--dwell": NUMBER,
            "--timezone": st.sampled_from(["UTC", "Europe/Helsinki", "Mars/Base", ""]),
            "--merge-distance": NUMBER,
            "--max-stop-distance": NUMBER,
            "--out": OUTFILE.map(lambda p: p + ".zip"),
        },
        8,
    ),
    "access": (
        ["access", "--osm=<pbf>", f"--core={CORE}", "--rings=0.5", "--out=OUT"],
        {
            "--core": LATLON,
            "--rings": NUMBER,
            "--max-km": NUMBER,
            "--cutoffs": MINUTES,
            "--window": NUMBER,
            "--percentiles": MINUTES,
            "--population": FILE,
            "--osm": FILE,
            "--out": OUTDIR,
        },
        10,
    ),
    "bottlenecks": (
        ["bottlenecks", "--osm=<pbf>", f"--core={CORE}", "--rings=0.5", "--top=2"]
        + ["--betweenness-sources=0", "--out=OUT"],
        {
            "--core": LATLON,
            "--rings": NUMBER,
            "--top": INTEGER,
            "--cutoffs": MINUTES,
            "--core-radius": NUMBER,
            "--jobs": INTEGER,
            "--mode": st.sampled_from(["drive", "walk", "transit", "fly"]),
            "--unreachable-penalty": NUMBER,
            "--out": OUTDIR,
        },
        8,
    ),
    "scenario": (
        ["scenario", "<text>", "--out=OUT"],
        {"FEED": SCENARIO_FILE, "--out": OUTDIR},
        12,
    ),
    "demo": (
        ["demo", "--out=OUT", "--departure=1e9"],  # a valid demo is too slow to draw
        {"--departure": DATE, "--window": NUMBER, "--gtfs": FILE, "--out": OUTDIR},
        10,
    ),
}

TRIED: Counter = Counter()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Files of every kind the strategies name, and a warm cache."""
    import os

    base = tmp_path_factory.mktemp("inputs")
    (base / "dir").mkdir()
    text = base / "text.toml"
    text.write_text("baseline = 'x'\n[[variants]]\nname = 3\n")
    csv = base / "points.csv"
    csv.write_text("id,lon,lat\na,24.9414,60.1710\nb,24.9450,60.1690\n")
    (base / "empty.csv").write_text("")
    (base / "\u00e9\u00e8 \u4e2d.csv").write_text("lon,lat\nx,y\n")
    (base / "zones.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    os.mkfifo(base / "pipe")
    bomb = ["a: &a [" + ",".join(["x"] * 9) + "]"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    (base / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    (base / "binary.toml").write_bytes(bytes(range(256)) * 8)
    study = f"[baseline]\nosm = '{demo_pbf()}'\ngtfs = ['{base / 'feed'}']\n"
    (base / "huge.toml").write_text(
        study + "[study]\ncore = [60.171, 24.941]\nrings_km = 1e308\nwindow_min = -1e308\n"
        "cutoffs = [1e308, -0.0, 1e-320]\n[[variants]]\nname = 'x'\n"
    )
    (base / "strings.toml").write_text(
        study + "[study]\ncore = ['north', 'east']\nrings_km = 'five'\n"
        "[[modifications]]\ntype = 'add_line'\nname = 'X'\nheadway_min = 'often'\n"
        "[[variants]]\nname = 'x'\n"
    )
    feed = base / "feed"
    feed.mkdir()
    for name, body in {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\na,A,http://a,UTC\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        "s1,One,60.1710,24.9414\ns2,Two,60.1690,24.9450\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nr,a,1,3\n",
        "trips.txt": "route_id,service_id,trip_id\nr,d,t\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:00:00,08:00:00,s1,1\nt,08:05:00,08:05:00,s2,2\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
        "sunday,start_date,end_date\nd,1,1,1,1,1,1,1,20220101,20221231\n",
    }.items():
        (feed / name).write_text(body)
    files = {
        "<dir>": base / "dir",
        "<text>": text,
        "<pbf>": Path(demo_pbf()),
        "<csv>": csv,
        "<feed>": feed,
        "<empty>": base / "empty.csv",
        "<zones>": base / "zones.geojson",
        "<fifo>": base / "pipe",
        "<unicode>": base / "\u00e9\u00e8 \u4e2d.csv",
        "<bomb.yaml>": base / "bomb.yaml",
        "<binary.toml>": base / "binary.toml",
        "<huge.toml>": base / "huge.toml",
        "<strings.toml>": base / "strings.toml",
    }
    cache = tmp_path_factory.mktemp("cache")
    saved = connectivity_settings.cache_folder
    connectivity_settings.cache_folder = cache
    gtfs = connectivity_settings.gtfs_folder
    connectivity_settings.gtfs_folder = base / "gtfs"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for mode in ("walk", "drive"):  # warm: the runs that work read the networks
            main(
                ["-q", "isochrones", f"--osm={demo_pbf()}", f"--origin={CORE}", "--mode", mode]
                + [f"--out={base / 'warm.geojson'}"]
            )
    yield {k: str(v) for k, v in files.items()}
    connectivity_settings.cache_folder = saved
    connectivity_settings.gtfs_folder = gtfs


def _fill(arg: str, files: dict[str, str], out: Path) -> str:
    for key, path in files.items():
        arg = arg.replace(key, path)
    return arg.replace("OUT", str(out))


def run_case(argv: list[str]) -> tuple[int, str]:
    """Run ``connectivity argv``: (status, stderr). argparse's own errors exit 2 too."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status = main(["-q", *argv])
        except SystemExit as exc:  # argparse: usage line and one error line
            status = int(exc.code or 0)
    return status, err.getvalue()


def check_outcome(argv: list[str], status: int, err: str, out: Path) -> None:
    """The property: exit 0, or exit 2 with one error line and nothing in ``out``."""
    assert status in (0, 2), f"exit {status} for {argv}: {err[-1500:]}"
    assert "Traceback" not in err, err
    if status == 2:
        lines = [line for line in err.splitlines() if line and not line.startswith("WARNING")]
        errors = [line for line in lines if not line.startswith("usage:")]
        errors = [line for line in errors if not line.startswith(" ")]  # usage goes on
        assert len([e for e in errors if "error" in e]) == 1, (argv, err)
        left = sorted(p.name for p in out.rglob("*")) if out.exists() else []
        assert left == [], f"{argv} left {left} in the output folder"


def property_for(command: str, *, max_examples: int | None = None):
    """The hypothesis test of ``command`` (a function of the ``inputs`` files)."""
    base, options, examples = COMMANDS[command]

    @settings(
        max_examples=max_examples or examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(data=st.data())
    def prop(files: dict[str, str], data: st.DataObject) -> None:
        chosen = data.draw(
            st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=3, unique=True)
        )
        argv = list(base)
        for option in chosen:
            value = data.draw(options[option], label=option)
            if option == "FEED":  # the positional argument
                argv[1] = value
                continue
            argv = [a for a in argv if not a.startswith(f"{option}=")]
            argv.append(f"{option}={value}")
        with tempfile.TemporaryDirectory(prefix="connectivity-prop-") as tmp:
            out = Path(tmp) / "out"
            filled = [_fill(a, files, out) for a in argv]
            status, err = run_case(filled)
            TRIED[(command, status)] += 1
            check_outcome(filled, status, err, out)
            shutil.rmtree(out, ignore_errors=True)

    return prop


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_ends_in_exit_0_or_one_line(inputs, capsys, command):
    property_for(command)(inputs)
    with capsys.disabled():
        print(
            f"\nproperty cases {command}: {TRIED[(command, 0)] + TRIED[(command, 2)]} tried, "
            f"{TRIED[(command, 0)]} exit 0, {TRIED[(command, 2)]} exit 2"
        )


def test_a_planted_bare_float_is_caught(inputs, monkeypatch):
    """A parser that calls float() on an option without a check is found by the strategy."""
    import connectivity.cli.isochrones as iso

    monkeypatch.setattr(iso, "parse_minutes", lambda text, option="--cutoffs": [float(text) * 60])
    with pytest.raises(ValueError, match="could not convert string to float"):
        property_for("isochrones", max_examples=60)(inputs)


@pytest.mark.parametrize("kind", ["<bomb.yaml>", "<binary.toml>", "<huge.toml>", "<strings.toml>"])
def test_every_hostile_scenario_file_is_one_line_and_exit_2(inputs, tmp_path, kind):
    # The draws above may miss one of them: each is also run once, for sure.
    import time

    out = tmp_path / "out"
    argv = ["scenario", inputs[kind], f"--out={out}"]
    started = time.perf_counter()
    status, err = run_case(argv)
    assert time.perf_counter() - started < 20, "a hostile file must be refused quickly"
    check_outcome(argv, status, err, out)
    assert status == 2
    assert Path(inputs[kind]).name in err or "scenario" in err
