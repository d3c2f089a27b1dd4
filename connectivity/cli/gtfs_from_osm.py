"""``connectivity gtfs-from-osm``: an estimated GTFS feed from OSM route relations."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``gtfs-from-osm`` subcommand."""
    parser = subparsers.add_parser(
        "gtfs-from-osm",
        help="estimate a GTFS feed from the public-transport route relations of an OSM file",
        description=(
            "Write a frequency-based GTFS feed estimated from OpenStreetMap route relations "
            "(bus, trolleybus, tram, subway, light_rail, train, monorail, ferry, share_taxi, "
            "minibus), with a report of what was tagged, what estimated and the problems "
            "found (NAME.estimation.csv next to the zip)."
        ),
    )
    parser.add_argument("source", metavar="PBF|OSM", help=".osm.pbf, .osm or .osm.bz2 file")
    parser.add_argument(
        "--out", metavar="ZIP", help="feed to write (default gtfs/<name>-estimated.zip)"
    )
    parser.add_argument(
        "--date-range",
        metavar="START:END",
        help="dates of calendar.txt, e.g. 2024-01-01:2024-12-31 (default 2000-01-01:2099-12-31)",
    )
    parser.add_argument(
        "--headway",
        metavar="MODE=MIN,...",
        help="default headways in minutes where no interval is tagged, e.g. bus=10,tram=8",
    )
    parser.add_argument(
        "--speed",
        metavar="MODE=KMH,...",
        help="speeds between stops in km/h where no duration is tagged, e.g. bus=18",
    )
    parser.add_argument(
        "--dwell", type=float, default=20.0, help="seconds at each stop (default 20)"
    )
    parser.add_argument(
        "--timezone", default="UTC", help="IANA time zone of the agencies (default UTC)"
    )
    parser.add_argument(
        "--merge-distance",
        type=float,
        default=100.0,
        help="metres within which stops of one name are merged (default 100)",
    )
    parser.add_argument(
        "--max-stop-distance",
        type=float,
        default=50.0,
        help="metres from the route beyond which a stop is reported off the route (default 50)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse the options, write the feed, print its path and a summary line."""
    from connectivity._checks import check_input, check_output_dir, check_output_file
    from connectivity.transit.osm_feed import gtfs_from_osm, parse_mode_values, summary_line

    if os.path.lexists(args.source):  # a missing file: the reader says what to do
        check_input(args.source, "PBF|OSM", kind="osm")
    if args.out is not None:
        check_output_file(args.out, "--out")
    else:
        from connectivity import settings

        check_output_dir(settings.gtfs_folder, "--out (default: the gtfs folder)")

    headways = (
        parse_mode_values(args.headway, what="--headway", scale=60.0) if args.headway else None
    )
    speeds = parse_mode_values(args.speed, what="--speed") if args.speed else None
    path, report = gtfs_from_osm(
        args.source,
        out=args.out,
        date_range=args.date_range,
        headways=headways,
        speeds=speeds,
        dwell=args.dwell,
        timezone=args.timezone,
        merge_distance=args.merge_distance,
        max_stop_distance=args.max_stop_distance,
        progress=False if args.quiet else None,
    )
    print(path)
    print(summary_line(report))
    return 0
