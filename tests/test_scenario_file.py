"""The scenario file: keys, types, units, limits and the YAML safety of read_scenario.

Every error path is checked with its message (the key's path, its line, a suggestion),
and through the CLI (one line on stderr, exit 2, nothing written).
"""

from __future__ import annotations

import os
import re
import resource
import time
import warnings

import pytest
from test_scenario_cli import CORE, STOPS, scenario_text

from connectivity import InputFileError, ScenarioError, cli, demo_pbf
from connectivity.scenarios.file import MAX_VARIANTS, read_scenario, variant_modifications
from connectivity.scenarios.modifications import AddLine, ChangeFrequency, RemoveRoutes

HEAD = f"""
[baseline]
osm = "{demo_pbf()}"

[study]
core = [{CORE[0]}, {CORE[1]}]
"""
LINE = f"""
[[modifications]]
type = "add_line"
name = "T9"
stops = {STOPS}
headway_min = 5
"""


def write(tmp_path, text: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli_fails(tmp_path, capsys, path, message: str) -> None:
    out = tmp_path / "out"
    code = cli.main(["scenario", str(path), "--out", str(out), "--no-maps"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    assert not out.exists() or not any(out.iterdir())


BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    + [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 10)]
)


def test_alias_bomb_fails_fast_with_bounded_memory(tmp_path, capsys):
    text = BOMB + "\nbaseline: {osm: x}\n"
    text = text + " " * max(0, 588 - len(text))
    path = write(tmp_path, text, "bomb.yaml")
    assert len(path.read_bytes()) == 588
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"bomb\.yaml: the YAML aliases expand to more than"):
        read_scenario(path)
    assert time.perf_counter() - start < 0.5
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000  # 9**10 strings would be gigabytes
    cli_fails(tmp_path, capsys, path, "YAML aliases expand")


def test_small_aliases_are_read(tmp_path):
    text = f"""
baseline: {{osm: "{demo_pbf()}"}}
study: {{core: [{CORE[0]}, {CORE[1]}]}}
modifications:
  - &line {{type: add_line, name: T9, stops: {STOPS}, headway_min: 5}}
variants:
  - name: a
  - name: b
    replace: true
    modifications: [*line, {{type: change_frequency, route_ids: [T9], headway_min: 10}}]
"""
    spec = read_scenario(write(tmp_path, text, "s.yaml"))
    line = AddLine("T9", stops=[tuple(p) for p in STOPS], headway=300.0)
    assert spec.variants["a"] == [line]
    assert spec.variants["b"] == [line, ChangeFrequency(["T9"], headway=600.0)]


def test_variants_add_to_the_shared_modifications_unless_replace(tmp_path):
    extra = """
[[variants]]
name = "adds"
modifications = [{type = "change_frequency", route_ids = ["T9"], scale = 2}]

[[variants]]
name = "replaces"
replace = true
modifications = [{type = "remove_routes", route_ids = ["R1"]}]
"""
    spec = read_scenario(write(tmp_path, HEAD + LINE + extra))
    (line,) = variant_modifications(spec.variants["adds"][:1], [])
    assert spec.variants["adds"] == [line, ChangeFrequency(["T9"], scale=2.0)]
    assert spec.variants["replaces"] == [RemoveRoutes(["R1"])]
    assert variant_modifications([line], [RemoveRoutes(["R1"])], replace=True) == [
        RemoveRoutes(["R1"])
    ]


def test_old_second_keys_warn_and_read_as_seconds(tmp_path):
    old = HEAD.replace("[study]\n", "[study]\nwindow = 600\n") + LINE.replace(
        "headway_min = 5", "headway = 300\ndwell = 30\nrun_times = [60, 90]"
    )
    new = HEAD.replace("[study]\n", "[study]\nwindow_min = 10\n") + LINE.replace(
        "headway_min = 5", "headway_min = 5\ndwell_min = 0.5\nrun_times_min = [1, 1.5]"
    )
    with pytest.warns(FutureWarning) as record:
        a = read_scenario(write(tmp_path, old, "old.toml"))
    messages = [str(w.message) for w in record]
    assert any(
        re.search(r"old\.toml:6: study\.window: the key 'window' .*window_min = 10", m)
        for m in messages
    ), messages
    assert any("modifications[1].headway" in m and "headway_min = 5" in m for m in messages)
    assert len(messages) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = read_scenario(write(tmp_path, new, "new.toml"))
    assert a.window == b.window == 600
    assert a.variants == b.variants
    (line,) = b.variants["scenario"]
    assert (line.headway, line.dwell, list(line.run_times)) == (300.0, 30.0, [60.0, 90.0])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("headway_min = 5", "headways = 5", r"s\.toml:12: modifications\[1\]\.headways: must be a"),
        (
            "headway_min = 5",
            "headwy_min = 5",
            "unknown key 'headwy_min': did you mean 'headway_min'",
        ),
        ("[study]", "[studdy]", "unknown key 'studdy': did you mean 'study'"),
        ('type = "add_line"', "type = 3", r"modifications\[1\]\.type: unknown modification type 3"),
        (
            "headway_min = 5",
            'headway_min = "5"',
            r"headway_min: must be a number of minutes .*got '5'",
        ),
        ("headway_min = 5", "headway_min = true", r"headway_min: must be a number .*got True"),
        (
            "headway_min = 5",
            "headway_min = nan",
            r"headway_min: must be minutes in \(0, 1440\] \(got nan\)",
        ),
        (
            "headway_min = 5",
            "headway_min = 5\nboth_directions = 1",
            r"both_directions: must be true or false",
        ),
        (
            "headway_min = 5",
            'headways_min = {"06:00-09:00" = 5, "08:30-10:00" = 10}',
            "the periods '06:00-09:00' and '08:30-10:00' overlap",
        ),
        (
            "headway_min = 5",
            'headways_min = {"09:00-06:00" = 5}',
            "the period '09:00-06:00' ends before it starts",
        ),
        (
            "headway_min = 5",
            'headways_min = {"6h-9h" = 5}',
            r"must be a clock time 'HH:MM' \(got '6h'\)",
        ),
        ("headway_min = 5", 'departures = ["07:61"]', r"departures\[1\]: must be a clock time"),
        ("headway_min = 5", 'headway_min = 5\nspan = ["06:00"]', r"span: must be \[start, end\]"),
        (
            "headway_min = 5",
            'headway_min = 5\nmode = "zeppelin"',
            "unknown mode 'zeppelin'; use one of tram",
        ),
        ("headway_min = 5", "headway_min = 5\nspeed = 1e9", r"speed: must be km/h in \(0, 500\]"),
        ('name = "T9"', 'name = ""', r"name: must be the line's name"),
        (f"stops = {STOPS}", "stops = [[24.9, 60.1]]", r"stops: needs at least 2 stops"),
        (
            f"stops = {STOPS}",
            "stops = [[24.9, 160.1], [24.9, 60.1]]",
            r"stops\[1\]: must be degrees of latitude",
        ),
        (f"core = [{CORE[0]}, {CORE[1]}]", "core = [60.1]", r"study\.core: must be \[lat, lon\]"),
        (
            f"core = [{CORE[0]}, {CORE[1]}]",
            f'core = [{CORE[0]}, {CORE[1]}]\nwindow = "600"',
            r"study\.window: must be a number of seconds",
        ),
        (
            f"core = [{CORE[0]}, {CORE[1]}]",
            f"core = [{CORE[0]}, {CORE[1]}]\ncutoffs = [45, 0]",
            r"study\.cutoffs\[2\]: must be minutes in \(0, 1440\]",
        ),
        (
            f"core = [{CORE[0]}, {CORE[1]}]",
            f"core = [{CORE[0]}, {CORE[1]}]\ncutoffs = []",
            r"study\.cutoffs: needs at least 1",
        ),
        (
            f"core = [{CORE[0]}, {CORE[1]}]",
            f"core = [{CORE[0]}, {CORE[1]}]\nrank_by = 3",
            r"study\.rank_by: must be a column",
        ),
        (
            "[baseline]",
            '[baseline]\ndate = "4.11.2016"',
            r"baseline\.date: '4\.11\.2016' is not YYYY-MM-DD",
        ),
        (
            "headway_min = 5",
            'headway_min = 5\nfollow_streets = "no"',
            r"s\.toml:13: modifications\[1\]\.follow_streets: must be true or false \(got 'no'\)",
        ),
        (
            "headway_min = 5",
            "headway_min = 5\nreuse_stops_m = -1",
            r"reuse_stops_m: must be metres in \[0, 1000\]",
        ),
    ],
)
def test_bad_values_name_the_key_and_line(tmp_path, capsys, old, new, message):
    text = HEAD + LINE
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ScenarioError, match=message):
        read_scenario(path)
    cli_fails(tmp_path, capsys, path, message)


def test_unknown_stop_ids_fail_in_the_cli(tmp_path, capsys):
    text = (HEAD + LINE).replace(f"stops = {STOPS}", 'stops = ["no-such-stop", [24.9384, 60.1699]]')
    message = r"line 'T9' stops: unknown stop id\(s\) 'no-such-stop'; the timetable has 0 stops"
    cli_fails(tmp_path, capsys, write(tmp_path, text), message)


def test_yaml_errors_name_the_line(tmp_path):
    text = f"""baseline:
  osm: "{demo_pbf()}"
study:
  core: [{CORE[0]}, {CORE[1]}]
  departure: 8:00
"""
    with pytest.raises(ScenarioError, match=r"s\.yaml:5: study\.departure: .*quote clock times"):
        read_scenario(write(tmp_path, text, "s.yaml"))
    with pytest.raises(ScenarioError, match=r"s\.yaml:5: study\.cutof: unknown key 'cutof': did"):
        read_scenario(write(tmp_path, text.replace("departure: 8:00", "cutof: [1]"), "s.yaml"))


def test_long_values_are_quoted_short(tmp_path):
    text = (HEAD + LINE).replace('name = "T9"', f'name = "T9"\nmode = "{"x" * 5000}"')
    with pytest.raises(ScenarioError) as info:
        read_scenario(write(tmp_path, text))
    assert "unknown mode 'xxxx" in str(info.value)
    assert len(str(info.value)) < 200


def test_too_many_variants_and_reserved_names(tmp_path, capsys):
    many = "".join(f'\n[[variants]]\nname = "v{k}"\n' for k in range(2000))
    path = write(tmp_path, HEAD + LINE + many)
    message = f"variants: holds 2,000 variants; the limit is {MAX_VARIANTS}"
    with pytest.raises(ScenarioError, match=message):
        read_scenario(path)
    cli_fails(tmp_path, capsys, path, message)
    same = '\n[[variants]]\nname = "a b"\n\n[[variants]]\nname = "a-b"\n'
    with pytest.raises(ScenarioError, match="'a b' and 'a-b' have the same folder name 'a-b'"):
        read_scenario(write(tmp_path, HEAD + LINE + same))
    reserved = '\n[[variants]]\nname = "Variants.CSV"\n'
    with pytest.raises(ScenarioError, match="may not be named 'Variants.CSV'"):
        read_scenario(write(tmp_path, HEAD + LINE + reserved))


def test_files_that_are_not_regular_or_too_large(tmp_path, capsys):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(InputFileError, match="is not a regular file"):
        read_scenario(fifo)
    assert time.perf_counter() - start < 1
    cli_fails(tmp_path, capsys, fifo, "is not a regular file")
    big = write(tmp_path, HEAD + LINE + "#" * (1 << 20))
    with pytest.raises(ScenarioError, match=r"is 1,048,\d\d\d bytes; the limit is 1,048,576"):
        read_scenario(big)
    with pytest.raises(ScenarioError, match="not valid YAML"):
        read_scenario(write(tmp_path, "a: [1, 2\n", "bad.yaml"))
    with pytest.raises(InputFileError, match=r"baseline\.osm: .*nowhere\.pbf does not exist"):
        read_scenario(write(tmp_path, HEAD.replace(str(demo_pbf()), "nowhere.pbf") + LINE))


def test_outputs_and_feeds_go_under_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, scenario_text())
    assert cli.main(["scenario", str(path), "--out", "study", "--no-maps"]) == 0, (
        capsys.readouterr()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "study"]
    assert (tmp_path / "study" / "every-5-min" / "gtfs.zip").is_file()
    assert (tmp_path / "study" / "every-10-min" / "gtfs.zip").is_file()


def test_change_frequency_by_period_reads_minutes(tmp_path):
    extra = """
[[variants]]
name = "peaks"
modifications = [{type = "change_frequency", route_ids = "T9", headways_min = {"06:00-09:00" = 5, "16:00-18:30" = 7.5}}]
"""
    spec = read_scenario(write(tmp_path, HEAD + LINE + extra))
    change = spec.variants["peaks"][1]
    assert change == ChangeFrequency(["T9"], headways={"06:00-09:00": 300.0, "16:00-18:30": 450.0})
    bad = extra.replace('"16:00-18:30"', '"08:00-09:30"')
    with pytest.raises(
        ScenarioError,
        match=r"s\.toml:16: variants\[1\]\.modifications\[1\]\.headways_min: the periods "
        "'06:00-09:00' and '08:00-09:30' overlap",
    ):
        read_scenario(write(tmp_path, HEAD + LINE + bad))
