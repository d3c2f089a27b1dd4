"""``connectivity journeys``: the journeys from one point to another, leg by leg.

Prints a readable itinerary per distinct journey of the window (clock times, lines,
stops by name, waits) and writes the legs as GeoJSON (one line per leg, with every
column of :func:`connectivity.journeys`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from connectivity._errors import ParameterError
from connectivity.cli._headways import add_boarding_options
from connectivity.cli.clip import add_clip_options
from connectivity.cli.isochrones import _map_options, check_map_file


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``journeys`` subcommand."""
    p = subparsers.add_parser(
        "journeys",
        help="the journeys between two points by walk+transit, leg by leg",
        description=(
            "The walk+transit journeys from --from to --to departing at --departure "
            "(every minute of --window): which lines, which stops, how long each walk, "
            "wait and ride. Prints an itinerary per distinct journey and writes the legs "
            "as GeoJSON lines (--out)."
        ),
    )
    p.add_argument("--from", dest="origin", required=True, metavar="LAT,LON", help="origin")
    p.add_argument("--to", dest="destination", required=True, metavar="LAT,LON", help="destination")
    p.add_argument("--osm", required=True, type=Path, help=".osm.pbf, .osm or .osm.bz2 file")
    add_clip_options(p)
    p.add_argument("--gtfs", nargs="+", required=True, type=Path, metavar="FEED", help="GTFS feeds")
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
        "--max-time",
        type=float,
        default=120,
        metavar="MIN",
        help="journeys longer than this many minutes are not shown (default 120)",
    )
    p.add_argument("--max-transfers", type=int, default=4)
    p.add_argument(
        "--max-walk",
        type=float,
        default=20,
        metavar="MIN",
        help="longest access, transfer or egress walk in minutes (default 20)",
    )
    p.add_argument("--walk-speed", type=float, default=5.0, help="km/h (default 5)")
    p.add_argument(
        "--out", type=Path, default=Path("journeys.geojson"), help="GeoJSON file of the legs"
    )
    p.add_argument(
        "--map",
        type=Path,
        help="HTML map of the journeys to write (and its view as a .png beside it)",
    )
    _map_options(p)
    add_boarding_options(p)
    p.set_defaults(func=run, mode="transit", percentiles="50")


def _minutes_text(seconds: float) -> str:
    m = seconds / 60
    return f"{m:.0f} min" if m >= 1 else f"{seconds:.0f} s"


def itinerary(legs) -> str:
    """The journeys of :func:`connectivity.journeys` as text a rider reads."""
    lines: list[str] = []
    for _, journey in legs.groupby("journey", sort=True):
        head = journey.iloc[0]
        minutes = int(head["departures"])
        when = head["first_departure"][:5]
        draws = int(legs.attrs.get("draws", 1))
        if draws > 1:  # samples of minutes x phases: how often, and one of them
            n = int(legs.attrs["samples"])
            when = (
                f"in {minutes} of {n} samples ({n // draws} minutes x {draws} phase draws), "
                f"e.g. {when}"
            )
        elif minutes > 1:
            when += f" (and {minutes - 1} more minute{'s' if minutes > 2 else ''} to "
            when += f"{head['last_departure'][:5]})"
        rides = journey[journey["kind"] == "ride"]
        changes = max(0, len(rides) - 1)
        lines.append(
            f"Journey {int(head['journey'])}: " + ("" if draws > 1 else "leave ") + f"{when}, "
            f"{_minutes_text(float(head['travel_time_s']))}, "
            + (
                f"{len(rides)} vehicle{'s' if len(rides) != 1 else ''}, {changes} change"
                f"{'s' if changes != 1 else ''}"
                if len(rides)
                else "on foot"
            )  # fmt: skip
        )
        for leg in journey.itertuples():
            if leg.kind in ("access", "egress") and float(leg.duration_s) < 1:
                continue  # a point at its stop: no walk to tell
            span = f"{leg.start[:5]}-{leg.end[:5]}"
            took = _minutes_text(float(leg.duration_s))
            if leg.kind == "ride":
                line = leg.route or leg.route_id
                lines.append(
                    f"  {span}  {leg.mode} {line} from {leg.from_name} to {leg.to_name}"
                    f" ({took}, trip {leg.trip_id})"
                )
            elif leg.kind == "wait":
                lines.append(f"  {span}  wait at {leg.from_name} ({took})")
            elif leg.kind == "transfer" and leg.from_stop_id == leg.to_stop_id:
                lines.append(f"  {span}  change at {leg.from_name} ({took})")
            else:
                lines.append(f"  {span}  walk from {leg.from_name} to {leg.to_name} ({took})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``connectivity journeys``."""
    from connectivity._checks import check_output_file
    from connectivity._files import write_text_atomic
    from connectivity.cli.isochrones import parse_latlon
    from connectivity.cli.routing import _check_paths, _departure, _network, _options
    from connectivity.routing.itineraries import journeys

    o_lat, o_lon = parse_latlon(args.origin, option="--from")
    d_lat, d_lon = parse_latlon(args.destination, option="--to")
    if args.out.suffix.lower() not in (".geojson", ".json"):
        raise ParameterError(f"--out {args.out}: give a .geojson file name")
    check_output_file(args.out, "--out")
    if args.map is not None:
        check_map_file(args.map)
    from connectivity.outputs.folium_base import find_leaflet

    leaflet = find_leaflet(args.leaflet) if args.offline and args.map is not None else None
    when = _departure(args.departure)
    opts = _options(args, when)
    _check_paths(args)
    network = _network(args, when)
    legs = journeys(
        network,
        (o_lon, o_lat),
        (d_lon, d_lat),
        departure=opts["departure"],
        window=opts["window"],
        max_transfers=opts["max_transfers"],
        max_walk_time=opts["max_walk_time"],
        walk_speed=opts["walk_speed"],
        max_time=opts["max_time"],
        boarding=opts["boarding"],
        draws=opts["draws"],
        seed=opts["seed"],
        origin_name=f"the origin ({o_lat:.5f},{o_lon:.5f})",
        destination_name=f"the destination ({d_lat:.5f},{d_lon:.5f})",
    )
    print(itinerary(legs))
    write_text_atomic(args.out, legs.to_json(drop_id=True))
    print(f"wrote {len(legs)} legs of {legs['journey'].nunique()} journeys to {args.out}")
    if args.map is not None:
        from connectivity.outputs.folium_base import save_map
        from connectivity.outputs.journey_map import journey_map

        title = f"Journeys departing {when:%Y-%m-%d %H:%M}" + (
            f" to {args.window:g} min later" if args.window else ""
        )
        m = journey_map(legs, offline=args.offline, leaflet=leaflet, title=title)
        print(f"wrote the map to {save_map(m, args.map, offline=args.offline, leaflet=leaflet)}")
        from connectivity.outputs.static_map import journey_png

        print(
            f"wrote its picture to {journey_png(legs, args.map.with_suffix('.png'), title=title)}"
        )
    return 0
