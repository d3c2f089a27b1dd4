"""``connectivity travel-times`` and ``connectivity matrix``.

``travel-times`` writes the travel time from one point to every street node and stop of
an OpenStreetMap extract and GTFS feeds (one row each: ``id, kind, lon, lat,
travel_time_s``, empty where unreached); ``matrix`` writes the travel times between two
sets of points (``origin, destination, travel_time_s``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import InputFileError, ParameterError
from connectivity.cli._headways import add_boarding_options, boarding_options
from connectivity.cli.clip import add_clip_options, clip_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``travel-times`` and ``matrix`` subcommands."""
    tt = subparsers.add_parser(
        "travel-times",
        help="schedule-exact travel times from a point to every street node and stop",
        description=(
            "Walk + transit travel times (RAPTOR over the GTFS timetable of the departure's "
            "date) from one point to every street node and stop, written as CSV: id, kind "
            "(street/stop), lon, lat, travel_time_s (empty where unreached)."
        ),
    )
    tt.add_argument("--origin", required=True, metavar="LAT,LON", help="origin in degrees")
    _common(tt)
    tt.add_argument("--out", type=Path, default=Path("times.csv"), help="CSV file to write")
    tt.set_defaults(func=run_travel_times)

    mx = subparsers.add_parser(
        "matrix",
        help="travel-time matrix between two sets of points",
        description=(
            "Travel times from every origin to every destination (points from CSV files "
            "with lon and lat columns, or GeoJSON / GeoPackage files), written as CSV: "
            "origin, destination, travel_time_s (empty where unreached)."
        ),
    )
    mx.add_argument("--origins", required=True, type=Path, help="points file (CSV, GeoJSON, GPKG)")
    mx.add_argument("--destinations", required=True, type=Path, help="points file")
    _common(mx)
    mx.add_argument("--jobs", type=int, default=1, help="worker processes (-1: every core)")
    mx.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler")
    mx.add_argument(
        "--breakdown",
        action="store_true",
        help="add access_s, wait_s, ride_s, transfer_s, egress_s, vehicles and routes: "
        "what the journey behind each travel_time_s is made of (walk+transit)",
    )
    mx.add_argument("--out", type=Path, default=Path("matrix.csv"), help="CSV file to write")
    mx.set_defaults(func=run_matrix)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--osm", required=True, type=Path, help=".osm.pbf, .osm or .osm.bz2 file")
    add_clip_options(p)
    p.add_argument(
        "--gtfs",
        nargs="*",
        type=Path,
        default=[],
        metavar="FEED",
        help="GTFS feeds (zip files or folders); none for street modes",
    )
    p.add_argument(
        "--departure",
        required=True,
        metavar="YYYY-MM-DDTHH:MM",
        help="departure date and time (the timetable of that date is used)",
    )
    p.add_argument(
        "--window",
        type=float,
        default=0,
        metavar="MIN",
        help="departure window in minutes, every minute (default 0: one departure)",
    )
    p.add_argument(
        "--percentiles",
        default="50",
        metavar="P,P,...",
        help="percentiles over the window (default 50); the first is travel_time_s",
    )
    p.add_argument(
        "--max-time",
        type=float,
        default=120,
        metavar="MIN",
        help="times beyond this many minutes count as unreached (default 120)",
    )
    p.add_argument("--mode", default="transit", choices=["transit", "walk", "bike", "drive"])
    p.add_argument("--max-transfers", type=int, default=4)
    p.add_argument(
        "--max-walk",
        type=float,
        default=20,
        metavar="MIN",
        help="longest access, transfer or egress walk in minutes (default 20)",
    )
    p.add_argument("--walk-speed", type=float, default=5.0, help="km/h (default 5)")
    add_boarding_options(p)


def _check_paths(args: argparse.Namespace) -> None:
    """The checks before any work: inputs, the output file, the window's range."""
    from connectivity._checks import check_input, check_output_file
    from connectivity.cli.isochrones import parse_window

    check_output_file(args.out, "--out")
    check_input(args.osm, "--osm", kind="osm")
    for feed in args.gtfs:
        check_input(feed, "--gtfs", kind="gtfs", folder=True)
    parse_window(args.window)


def _departure(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            f"--departure {text!r} is not a date and time: give YYYY-MM-DDTHH:MM, "
            "e.g. --departure 2016-11-04T08:00"
        ) from None


def _percentiles(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in str(text).split(",") if p.strip())
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 100 for v in values):
        raise ParameterError(
            f"--percentiles {text!r}: give numbers in (0, 100] separated by commas, e.g. 10,50,90"
        )
    return values


def _minutes(value: float, option: str) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise ParameterError(f"{option} {value:g}: give a number of minutes >= 0")
    return value * 60


def _network(args: argparse.Namespace, when: dt.datetime) -> Any:
    from connectivity.network.intermodal import DEFAULT_WALK_RADIUS, build_network
    from connectivity.streets.load import load_streets

    streets = [
        load_streets(args.osm, mode="walk", walk_speed=args.walk_speed, **clip_options(args))
    ]
    if args.mode in ("bike", "drive"):
        streets.append(load_streets(args.osm, mode=args.mode, **clip_options(args)))
    timetable = None
    if args.mode == "transit":
        if not args.gtfs:
            raise ParameterError(
                "--mode transit needs --gtfs FEED...: give the GTFS feeds, or --mode walk"
            )
        from connectivity.transit.gtfs import load_timetable

        timetable = load_timetable(args.gtfs, date=when.date())
    # The stop trees must reach as far as --max-walk walks (the CLI has no radius option).
    max_walk_m = _minutes(args.max_walk, "--max-walk") * args.walk_speed / 3.6
    return build_network(
        streets,
        timetable,
        walk_speed=args.walk_speed,
        walk_radius=max(DEFAULT_WALK_RADIUS, math.ceil(max_walk_m)),
    )


def _options(args: argparse.Namespace, when: dt.datetime) -> dict[str, Any]:
    window = _minutes(args.window, "--window")
    if not (math.isfinite(args.walk_speed) and 0 < args.walk_speed <= 50):
        raise ParameterError(
            f"--walk-speed {args.walk_speed:g}: give a walking speed in km/h in (0, 50], e.g. 5"
        )
    if _minutes(args.max_walk, "--max-walk") > 24 * 3600:
        raise ParameterError(f"--max-walk {args.max_walk:g}: give at most 1,440 minutes (a day)")
    return {
        "departure": when.hour * 3600 + when.minute * 60 + when.second,
        "window": window or None,
        "percentiles": _percentiles(args.percentiles),
        "max_transfers": args.max_transfers,
        "max_walk_time": _minutes(args.max_walk, "--max-walk"),
        "walk_speed": args.walk_speed,
        "max_time": _minutes(args.max_time, "--max-time") or None,
        "mode": args.mode,
        **boarding_options(args),
    }


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    from connectivity._files import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.0f", na_rep="")
    return path


def run_travel_times(args: argparse.Namespace) -> int:
    """Run ``connectivity travel-times``."""
    from connectivity.cli.isochrones import parse_latlon
    from connectivity.routing.queries import travel_times

    lat, lon = parse_latlon(args.origin)
    when = _departure(args.departure)
    opts = _options(args, when)
    _check_paths(args)
    network = _network(args, when)
    result = travel_times(network, (lon, lat), **opts)
    frame = result.to_frame()
    pcts = opts["percentiles"]
    # a window, or the draws of random boarding: a distribution, its percentiles
    spread = opts["window"] is not None or result.params["draws"] > 1
    first = f"travel_time_p{pcts[0]:g}" if spread else "travel_time_min"
    out = frame[["id", "kind", "lon", "lat"]].copy()
    out["travel_time_s"] = frame[first].round()
    if spread:
        for p in pcts[1:]:
            out[f"travel_time_p{p:g}_s"] = frame[f"travel_time_p{p:g}"].round()
    with_lonlat = out.assign(
        lon=out["lon"].map("{:.7f}".format), lat=out["lat"].map("{:.7f}".format)
    )
    _write_csv(with_lonlat, args.out)
    reached = int(out["travel_time_s"].notna().sum())
    print(f"wrote {len(out)} rows ({reached} reached) to {args.out}")
    return 0


def read_points(path: Path, option: str) -> pd.DataFrame:
    """Points from a CSV (``lon``/``lat`` columns, or ``lng``/``longitude``/
    ``latitude``; ``id`` optional) or a vector file geopandas reads.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    ParameterError
        A CSV without longitude and latitude columns.
    """
    from connectivity._checks import check_input

    path = check_input(path, option, kind="points")
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise InputFileError(f"{option} {path}: cannot read it as CSV ({exc})") from None
        cols = {c.lower().strip(): c for c in frame.columns}
        lon = next((cols[c] for c in ("lon", "lng", "longitude", "x") if c in cols), None)
        lat = next((cols[c] for c in ("lat", "latitude", "y") if c in cols), None)
        if lon is None or lat is None:
            raise ParameterError(
                f"{option} {path}: a CSV of points needs lon and lat columns (degrees); "
                f"found {', '.join(map(str, frame.columns))}"
            )
        points = pd.DataFrame(
            {
                "id": frame[cols["id"]] if "id" in cols else np.arange(len(frame)),
                "lon": pd.to_numeric(frame[lon], errors="coerce"),
                "lat": pd.to_numeric(frame[lat], errors="coerce"),
            }
        )
        bad = points["lon"].isna() | points["lat"].isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ParameterError(f"{option} {path}, line {row}: lon/lat is not a number")
        return points
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # fiona/pyogrio raise many kinds
        raise InputFileError(f"{option} {path}: cannot read it ({exc})") from None
    if "id" not in gdf.columns:
        gdf["id"] = np.arange(len(gdf))
    return gdf


def run_matrix(args: argparse.Namespace) -> int:
    """Run ``connectivity matrix``."""
    from connectivity._checks import check_jobs
    from connectivity.routing.matrix import travel_time_matrix

    check_jobs(args.jobs)
    if args.breakdown and args.mode != "transit":
        raise ParameterError(f"--breakdown needs --mode transit (got --mode {args.mode})")
    origins = read_points(args.origins, "--origins")
    destinations = read_points(args.destinations, "--destinations")
    when = _departure(args.departure)
    opts = _options(args, when)
    _check_paths(args)
    network = _network(args, when)
    frame = travel_time_matrix(
        network,
        origins,
        destinations,
        n_jobs=args.jobs,
        client=args.scheduler,
        breakdown=args.breakdown,
        **opts,
    )
    pcts = opts["percentiles"]
    spread = "travel_time" not in frame.columns  # a window, or draws
    first = f"travel_time_p{pcts[0]:g}" if spread else "travel_time"
    out = frame[["origin", "destination"]].copy()
    out["travel_time_s"] = frame[first].round()
    if spread:
        for p in pcts[1:]:
            out[f"travel_time_p{p:g}_s"] = frame[f"travel_time_p{p:g}"].round()
    if args.breakdown:
        from connectivity.routing.itineraries import BREAKDOWN_COLUMNS

        for name in BREAKDOWN_COLUMNS:
            out[name] = frame[name]
    _write_csv(out, args.out)
    print(f"wrote {len(out)} rows to {args.out}")
    return 0
