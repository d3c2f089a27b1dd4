"""``connectivity clip``: cut an OpenStreetMap file (and GTFS feeds) to a region.

``connectivity clip BIG.osm.pbf --around LAT,LON,KM --out region.osm.pbf`` streams the
file through osmium (:func:`connectivity.clip_osm`) and writes the part inside;
``--gtfs FEED --gtfs-out FEED.zip`` clips a feed to the same region
(:func:`connectivity.clip_gtfs`). :func:`add_clip_options` and :func:`clip_options` are the
``--bbox`` / ``--polygon`` / ``--around`` options that every command reading OSM shares.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from connectivity._errors import CoordinateError, ParameterError


def add_clip_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--bbox``, ``--polygon`` and ``--around`` (mutually exclusive) to a parser."""
    group = parser.add_argument_group(
        "clip on read", "read only the part of the OSM file inside a region (at most one)"
    )
    region = group.add_mutually_exclusive_group()
    region.add_argument("--bbox", metavar="W,S,E,N", help="a box in degrees")
    region.add_argument(
        "--polygon", metavar="FILE", type=Path, help="a GeoJSON, GeoPackage or .poly file"
    )
    region.add_argument("--around", metavar="LAT,LON,KM", help="a circle around a point")


def _numbers(text: str, option: str, names: str, count: int) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise CoordinateError(f"{option} {text!r}: give {count} numbers {names}, comma-separated")
    return values


def clip_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``bbox=`` / ``polygon=`` / ``around=`` keyword of :func:`connectivity.load_streets`
    from the parsed options (empty when none was given)."""
    if getattr(args, "bbox", None):
        return {"bbox": tuple(_numbers(args.bbox, "--bbox", "W,S,E,N", 4))}
    if getattr(args, "polygon", None):
        return {"polygon": args.polygon}
    if getattr(args, "around", None):
        return {"around": tuple(_numbers(args.around, "--around", "LAT,LON,KM", 3))}
    return {}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``clip`` subcommand."""
    parser = subparsers.add_parser(
        "clip",
        help="cut an OpenStreetMap file (and GTFS feeds) to a region",
        description=(
            "Stream an OpenStreetMap file through osmium and write the part inside a box, "
            "a polygon or a circle (as osmium extract: ways with a node inside are kept "
            "whole); optionally clip a GTFS feed to the same region."
        ),
    )
    parser.add_argument("source", type=Path, metavar="OSM", help=".osm.pbf, .osm or .osm.bz2 file")
    parser.add_argument("--out", required=True, type=Path, help="the .osm.pbf to write")
    parser.add_argument("--gtfs", type=Path, help="a GTFS feed to clip to the same region")
    parser.add_argument("--gtfs-out", type=Path, help="the clipped feed's .zip (with --gtfs)")
    add_clip_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Clip, write, print what was kept."""
    from connectivity.streets.clip import clip_osm, clip_region
    from connectivity.transit.clip import clip_gtfs

    region = clip_region(**clip_options(args))
    if region is None:
        raise ParameterError(
            "clip needs a region: give --bbox W,S,E,N, --polygon FILE or --around LAT,LON,KM"
        )
    if (args.gtfs is None) != (args.gtfs_out is None):
        raise ParameterError("give --gtfs FEED and --gtfs-out FEED.zip together")
    counts = clip_osm(args.source, args.out, region=region)
    print(
        f"{args.out}: {counts.nodes_kept} of {counts.nodes_read} nodes, {counts.ways_kept} of "
        f"{counts.ways_read} ways, {counts.relations_kept} of {counts.relations_read} "
        f"relations ({region.describe()})"
    )
    if args.gtfs is not None:
        feed = clip_gtfs(args.gtfs, args.gtfs_out, region=region)
        print(f"{args.gtfs_out}: {feed.summary()}")
    return 0
