"""``connectivity access``: core-periphery indicators of an agglomeration, by walk+transit
and by car, written as a table (CSV + GeoJSON), an HTML map, a PNG and a text report.

The steps are the public functions: :func:`connectivity.load_streets` (walk and
drive networks), :func:`connectivity.accessibility.zones.read_core`, the zones
(:func:`connectivity.accessibility.zones.read_zones`,
:func:`connectivity.accessibility.places.place_zones` and/or
:func:`connectivity.accessibility.zones.ring_zones`), the population on the walk network
(:func:`connectivity.accessibility.population_osm.resolve_population`),
:func:`connectivity.accessibility.indicators.transit_core_times` and
:func:`connectivity.accessibility.indicators.core_times`,
:func:`connectivity.accessibility.indicators.core_periphery`, then
:func:`connectivity.access_map` and :func:`connectivity.outputs.static_map.static_map`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from connectivity._checks import check_input, check_output_dir
from connectivity._errors import ParameterError
from connectivity.cli._headways import add_boarding_options, boarding_options, boarding_text
from connectivity.cli._population import POPULATION_HELP, add_population_total
from connectivity.cli.clip import add_clip_options, clip_options

#: Files written into ``--out``.
OUTPUTS = (
    "indicators.csv",
    "indicators.geojson",
    "profile.csv",
    "access.html",
    "access.png",
    "report.txt",
)
#: Written besides when both ``--zones`` and ``--rings`` are given: the rings' table.
RING_OUTPUTS = ("rings.csv", "rings.geojson")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``access`` subcommand."""
    p = subparsers.add_parser(
        "access",
        help="core-periphery indicators by walk+transit and car, with map and report",
        description=(
            "Per zone of the periphery: population, travel times to and from the core by "
            "walk+transit (over a departure window) and by car, their ratio, and the share "
            "of the population within cutoffs of the core. Writes indicators.csv, "
            "indicators.geojson, profile.csv, access.html, access.png and report.txt into "
            "--out. With both --zones and --rings, the zones are the indicators and the "
            "rings' table goes alongside into rings.csv and rings.geojson."
        ),
    )
    p.add_argument("--osm", required=True, type=Path, help=".osm.pbf, .osm or .osm.bz2 file")
    p.add_argument(
        "--gtfs", nargs="+", type=Path, metavar="FEED", help="GTFS feeds (zip or folder)"
    )
    p.add_argument(
        "--core", required=True, metavar="LAT,LON|FILE", help="core point or polygon file"
    )
    p.add_argument(
        "--zones",
        type=Path,
        help="vector file of named zones (polygons), or 'places': the OSM settlements "
        "(city, town, village, hamlet, split into suburbs) with their population tags",
    )
    p.add_argument(
        "--rings",
        type=float,
        metavar="KM",
        help="rings every KM km (with --zones: reported alongside, into rings.csv)",
    )
    p.add_argument("--max-km", type=float, help="outer edge of the last ring (default: network)")
    p.add_argument("--population", metavar="SPEC", help=POPULATION_HELP)
    add_population_total(p)
    p.add_argument("--departure", metavar="YYYY-MM-DDTHH:MM", help="start of the window")
    p.add_argument("--window", type=float, default=60.0, metavar="MIN", help="minutes (default 60)")
    p.add_argument(
        "--percentiles",
        default="",
        metavar="P,P,...",
        help="percentiles over the window besides the median, e.g. 25,75",
    )
    p.add_argument(
        "--cutoffs", default="30,45,60", metavar="MIN,MIN,...", help="minutes (default 30,45,60)"
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write into")
    p.add_argument(
        "--offline",
        action="store_true",
        help="inline Leaflet into the map (needs the npm package leaflet); no tiles",
    )
    p.add_argument("--leaflet", type=Path, help="folder of the npm package leaflet")
    add_boarding_options(p)
    add_clip_options(p)
    p.set_defaults(func=run)


def _percentiles(text: str) -> tuple[float, ...]:
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    try:
        values = tuple(float(t) for t in parts)
    except ValueError:
        raise ParameterError(
            f"--percentiles {text!r}: give numbers in (0, 100] separated by commas, e.g. 25,75"
        ) from None
    if any(not (math.isfinite(v) and 0 < v <= 100) for v in values):
        raise ParameterError(
            f"--percentiles {text!r}: give numbers in (0, 100] separated by commas, e.g. 25,75"
        )
    return values


def _exists(path: Path, option: str, kind: str = "vector") -> None:
    check_input(path, option, kind=kind, folder=kind == "gtfs")


def run(args: argparse.Namespace) -> int:
    """Run ``connectivity access``."""
    from connectivity.accessibility.indicators import (
        core_periphery,
        core_times,
        distance_profile,
        report_text,
        transit_core_times,
        write_indicators,
    )
    from connectivity.accessibility.population_osm import RELATIVE
    from connectivity.accessibility.zones import read_core, read_zones, ring_zones
    from connectivity.cli._population import check_population
    from connectivity.cli._population import population as population_weights
    from connectivity.cli._zones import check_rings, check_zones
    from connectivity.cli.bottlenecks import _core
    from connectivity.cli.isochrones import parse_departure_text, parse_minutes, parse_window
    from connectivity.outputs.choropleth import access_map
    from connectivity.outputs.folium_base import find_leaflet, save_map
    from connectivity.streets.load import load_streets

    # Every check on the arguments first, before any long work.
    check_output_dir(args.out, "--out")
    _exists(args.osm, "--osm", "osm")
    for feed in args.gtfs or []:
        _exists(feed, "--gtfs", "gtfs")
    places = args.zones is not None and str(args.zones) == "places"
    if args.zones is not None and not places:
        _exists(args.zones, "--zones")
    check_population(args)
    if args.zones is None and args.rings is None:
        raise ParameterError(
            "give the zones: --zones FILE, --zones places (the OSM settlements) or --rings KM"
        )
    if args.rings is not None and not (math.isfinite(args.rings) and args.rings > 0):
        raise ParameterError(f"--rings {args.rings:g}: give the ring width in km, e.g. --rings 5")
    if args.max_km is not None and args.rings is None:
        raise ParameterError("--max-km is the outer edge of --rings: drop it with --zones")
    if args.max_km is not None and not (math.isfinite(args.max_km) and args.max_km > 0):
        raise ParameterError(f"--max-km {args.max_km:g}: give the outer edge in km, e.g. 30")
    if args.gtfs and not args.departure:
        raise ParameterError(
            "--gtfs needs --departure YYYY-MM-DDTHH:MM (e.g. --departure 2016-11-04T08:00)"
        )
    if args.departure and not args.gtfs:
        raise ParameterError("--departure is for walk+transit times: give the feeds with --gtfs")
    departure = parse_departure_text(args.departure) if args.gtfs else None
    window = parse_window(args.window)
    cutoffs = parse_minutes(args.cutoffs)
    percentiles = _percentiles(args.percentiles)
    leaflet = find_leaflet(args.leaflet) if args.offline else None
    boarding = boarding_options(args)
    core = read_core(_core(args.core))

    walk = load_streets(args.osm, mode="walk", **clip_options(args))
    core.node(walk)  # the core must lie on the network: fail before routing
    rings = None
    if args.rings is not None:
        check_rings(core, walk, args.rings, args.max_km)
        rings = ring_zones(core, network=walk, every_km=args.rings, max_km=args.max_km)
        check_zones(rings, walk, "--rings")
    if places:
        from connectivity.accessibility.places import place_zones

        zones = place_zones(args.osm, walk)
    elif args.zones is not None:
        zones = read_zones(args.zones)
    if args.zones is not None:
        check_zones(zones, walk, "--zones")
    else:
        zones, rings = rings, None
    if places and core.is_point and core.name == f"{core.lat:.5f},{core.lon:.5f}":
        # A core given as LAT,LON takes the name of the settlement it lies in.
        inside = zones[zones.geometry.covers(core.geometry)]
        if len(inside):
            from connectivity.accessibility.zones import Core

            core = Core(core.geometry, f"{inside['name'].iloc[0]} ({core.name})")
    population, population_text = population_weights(args, walk)

    times: dict[str, Any] = {}
    headways = ""
    routes = None
    iso = None
    if departure is not None:
        from connectivity.accessibility.isochrones import isochrones
        from connectivity.network.intermodal import build_network
        from connectivity.outputs.maps import transit_routes
        from connectivity.transit.gtfs import load_timetable

        timetable = load_timetable(list(args.gtfs), date=departure.date())
        network = build_network(walk, timetable)
        times["transit"] = transit_core_times(
            network,
            core,
            departure=departure,
            window=window,
            percentiles=percentiles,
            **boarding,
        )
        headways = boarding_text(args, timetable)
        iso = isochrones(walk, times["transit"].at("from_core", 50), cutoffs=cutoffs)
        routes = transit_routes(timetable, feeds=[f for f in args.gtfs if f.is_file()])
    drive = load_streets(args.osm, mode="drive", **clip_options(args))
    times["car"] = core_times(drive, core, on=walk)

    table = core_periphery(
        walk, zones, times=times, population=population, percentiles=percentiles, cutoffs=cutoffs
    )
    ring_table = None
    if rings is not None:
        ring_table = core_periphery(
            walk,
            rings,
            times=times,
            population=population,
            percentiles=percentiles,
            cutoffs=cutoffs,
        )
    profile = distance_profile(walk, core, times, population=population)
    out = Path(args.out)
    when = ""
    if departure is not None:
        when = f", walk+transit leaving {departure:%Y-%m-%d %H:%M}"
        if window:
            when += f" + {window / 60:g} min"
    title = f"Core-periphery indicators around {core.name}{when}"
    if RELATIVE in population_text:
        title += f" (population {RELATIVE})"
    lines = [report_text(table, title=title).rstrip("\n"), ""]
    if ring_table is not None:
        ring_title = f"The same by rings of {args.rings:g} km around {core.name}"
        lines += [report_text(ring_table, title=ring_title).rstrip("\n"), ""]
    lines.append(population_text)
    if headways:
        lines.append(headways)
    lines.append(
        "Times are medians over the zone's population (p50); car times from the drive network."
    )
    from connectivity._files import staged_folder, write_text_atomic
    from connectivity.outputs.static_map import static_map

    m = access_map(
        table,
        core=core,
        isochrones={"walk+transit from the core": iso} if iso is not None else None,
        routes=routes,
        offline=args.offline,
        leaflet=leaflet,
        title=title,
    )
    with staged_folder(out) as stage:  # the outputs appear together, or none
        write_indicators(table, stage / "indicators.csv")
        write_indicators(table, stage / "indicators.geojson")
        write_indicators(profile, stage / "profile.csv")
        if ring_table is not None:
            write_indicators(ring_table, stage / "rings.csv")
            write_indicators(ring_table, stage / "rings.geojson")
        save_map(m, stage / "access.html")
        static_map(
            stage / "access.png",
            indicators=table,
            routes=routes,
            point=(core.lat, core.lon),
            point_label=f"core: {core.name}",
            title=title,
        )
        write_text_atomic(stage / "report.txt", "\n".join(lines) + "\n")
    print("\n".join(lines))
    for name in OUTPUTS + (RING_OUTPUTS if ring_table is not None else ()):
        print(f"wrote {out / name}")
    return 0
