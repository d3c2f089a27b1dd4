"""``connectivity bottlenecks``: the links that hold the periphery to the core, ranked."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from connectivity._errors import ParameterError
from connectivity.cli._population import POPULATION_HELP, add_population_total
from connectivity.cli.clip import add_clip_options, clip_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bottlenecks`` subcommand."""
    parser = subparsers.add_parser(
        "bottlenecks",
        help="rank the roads (or junctions) whose failure costs the core-periphery trips most",
        description=(
            "Find the streets that tie the periphery zones to the core: core-periphery "
            "betweenness picks the candidates, each is removed in turn and the travel times "
            "recomputed exactly. Writes bottlenecks.csv, bottlenecks.geojson, cuts.csv "
            "(minimum cuts per zone), baseline.csv, indicators.csv (per zone) and "
            "bottlenecks.html (a map) and bottlenecks.png (the same view) into --out. "
            "--mode transit joins the walk network and the feeds (averaged headways), "
            "ranks routes or stops, and writes beside them the lines by riders to the core "
            "(usage_routes.csv, usage_stops.csv, usage_segments.csv, and their map usage.html "
            "with usage.png: segments as wide as their journeys)."
        ),
    )
    parser.add_argument("--osm", required=True, type=Path, help=".osm.pbf, .osm or .osm.bz2 file")
    parser.add_argument(
        "--gtfs", nargs="+", type=Path, metavar="FEED", help="GTFS feeds (--mode transit only)"
    )
    parser.add_argument("--mode", default="drive", help="drive, walk or transit (default drive)")
    parser.add_argument(
        "--core",
        required=True,
        help="the core: LAT,LON (latitude first), a polygon file (GeoJSON, GeoPackage) or a "
        "place name",
    )
    zones = parser.add_mutually_exclusive_group(required=True)
    zones.add_argument("--zones", type=Path, help="periphery zones: a polygon file")
    zones.add_argument(
        "--rings", type=float, metavar="KM", help="rings every KM km around the core"
    )
    parser.add_argument("--population", help=POPULATION_HELP)
    add_population_total(parser)
    parser.add_argument("--population-column", help="column of the population in the file")
    parser.add_argument(
        "--top", type=int, default=20, help="candidates evaluated and ranked (default 20)"
    )
    parser.add_argument(
        "--kind",
        choices=["road", "edge", "way", "node", "route", "stop"],
        help="what fails: a road between junctions (default for drive and walk), a directed "
        "edge, an OSM way, a junction; for transit a route (default) or a stop",
    )
    parser.add_argument(
        "--date", help="service date of the feeds, YYYY-MM-DD (default: the busiest date)"
    )
    parser.add_argument(
        "--departure",
        default="08:00",
        metavar="HH:MM",
        help="with --mode transit: first departure of the journeys to the core whose riders "
        "rank the lines by usage, written beside (default 08:00)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=10.0,
        metavar="MIN",
        help="with --mode transit: minutes of departures of those journeys (default 10)",
    )
    parser.add_argument(
        "--cutoffs", default="30,45,60", help="travel-time thresholds in minutes (default 30,45,60)"
    )
    parser.add_argument(
        "--unreachable-penalty",
        metavar="MIN",
        help="minutes that a trip made impossible costs in the ranking (default: the "
        "largest cutoff)",
    )
    parser.add_argument(
        "--core-radius",
        type=float,
        default=1000.0,
        help="metres around a core point that form the core area (default 1000)",
    )
    parser.add_argument(
        "--betweenness-sources",
        type=int,
        default=100,
        metavar="K",
        help="sources sampled for the all-pairs betweenness column (0: skip; default 100)",
    )
    parser.add_argument(
        "--no-merge",
        action="store_true",
        help="rank every road between junctions on its own (default: a street through "
        "several junctions carrying the same trips counts once)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes for the removals (-1: all cores)"
    )
    parser.add_argument("--offline", action="store_true", help="inline Leaflet into the map")
    parser.add_argument("--out", required=True, type=Path, help="folder of the outputs")
    add_clip_options(parser)
    parser.set_defaults(func=run)


def _clock(text: str) -> int:
    """``HH:MM`` -> seconds after midnight (hours may pass 23, as in GTFS)."""
    hours, _, minutes = str(text).strip().partition(":")
    try:
        h, m = int(hours), int(minutes)
    except ValueError:
        h, m = -1, -1
    if not (0 <= h < 48 and 0 <= m < 60):
        raise ParameterError(f"--departure {text!r}: give a time HH:MM, e.g. --departure 08:00")
    return h * 3600 + m * 60


def _core(text: str) -> object:
    """``LAT,LON`` parsed strictly (clear errors for typos); anything else as it is."""
    from connectivity.cli.isochrones import parse_latlon

    looks_numeric = False
    with contextlib.suppress(ValueError):
        float(text.replace(";", ",").split(",")[0])
        looks_numeric = True
    if looks_numeric and not Path(text).exists():
        return parse_latlon(text, option="--core")
    return text


def _check_inputs(args: argparse.Namespace) -> None:
    from connectivity._checks import check_input

    check_input(args.osm, "--osm", kind="osm")
    for feed in args.gtfs or []:
        check_input(feed, "--gtfs", kind="gtfs", folder=True)
    if args.zones is not None:
        check_input(args.zones, "--zones", kind="vector")


def run(args: argparse.Namespace) -> int:
    """Run ``connectivity bottlenecks``."""
    from connectivity._checks import check_output_dir
    from connectivity._modes import Mode
    from connectivity.bottlenecks.study import find_bottlenecks
    from connectivity.cli.isochrones import parse_minutes
    from connectivity.outputs.bottleneck_map import write_bottlenecks

    check_output_dir(args.out, "--out")
    from connectivity._checks import check_jobs

    check_jobs(args.jobs)
    mode_text = str(args.mode).strip().lower()
    cutoffs = parse_minutes(args.cutoffs)
    penalty = (
        parse_minutes(args.unreachable_penalty, option="--unreachable-penalty")[0]
        if args.unreachable_penalty is not None
        else None
    )
    core = _core(args.core)
    zones = args.rings if args.rings is not None else args.zones
    if args.top < 1:
        raise ParameterError(f"--top {args.top}: give at least 1")
    from connectivity.cli._population import check_population, population

    check_population(args)
    from connectivity.streets.load import load_streets

    if mode_text == "transit":
        if not args.gtfs:
            raise ParameterError("--mode transit needs the feeds: add --gtfs FEED [FEED ...]")
        from connectivity.bottlenecks.transit import transit_view
        from connectivity.cli.isochrones import parse_window
        from connectivity.network.intermodal import build_network
        from connectivity.transit.gtfs import load_timetable

        kind = args.kind or "route"
        departure = _clock(args.departure)
        window = parse_window(args.window) or 0.0
        _check_inputs(args)
        timetable = load_timetable(args.gtfs, date=args.date)
        walk = load_streets(args.osm, mode="walk", **clip_options(args))
        intermodal = build_network(walk, timetable)
        network = transit_view(intermodal)
        label = "transit"
    else:
        mode = Mode.parse(mode_text)
        if args.gtfs:
            raise ParameterError(
                f"--gtfs is read only with --mode transit; drop it for --mode {mode.value}"
            )
        if args.kind in ("route", "stop"):
            raise ParameterError(
                f"--kind {args.kind} ranks transit {args.kind}s: add --mode transit and --gtfs "
                "FEED, or use --kind road, edge, way or node"
            )
        kind = args.kind or "road"
        _check_inputs(args)
        network = load_streets(args.osm, mode=mode, **clip_options(args))
        walk = network
        label = mode.value
    weights: Any = args.population  # a product: read by find_bottlenecks (and its column)
    population_text = f"Population: {args.population}."
    if args.population is None or str(args.population).strip().lower() == "nodes":
        weights, population_text = population(args, walk)
        if weights is not None and walk is not network:  # the street nodes of a transit view
            import numpy as np

            weights = np.concatenate([weights, np.zeros(network.n_nodes - walk.n_nodes)])
    result = find_bottlenecks(
        network,
        core=core,
        zones=zones,
        population=weights,
        population_column=args.population_column,
        kind=kind,
        top=args.top,
        cutoffs=cutoffs,
        unreachable_penalty=penalty,
        core_radius=args.core_radius,
        betweenness_k=args.betweenness_sources if args.betweenness_sources >= 0 else None,
        merge_streets=not args.no_merge,
        n_jobs=args.jobs,
        progress=False if args.quiet else None,
    )
    result.population_note = population_text
    usage = None
    if mode_text == "transit":
        import numpy as np

        from connectivity.bottlenecks.transit import usage_ranking

        people = weights[: walk.n_nodes] if weights is not None else np.ones(walk.n_nodes)
        usage = usage_ranking(
            intermodal, people, core, departure=departure, window=window, progress=False
        )
    from connectivity._files import staged_folder

    with staged_folder(args.out) as stage:  # the outputs appear together, or none
        written = write_bottlenecks(result, stage, offline=args.offline)
        if usage is not None:
            from connectivity._files import atomic_path

            for name, frame in (
                ("usage_routes.csv", usage.routes),
                ("usage_stops.csv", usage.stops),
                ("usage_segments.csv", usage.segments),
            ):
                with atomic_path(stage / name) as tmp:
                    frame.drop(columns="geometry", errors="ignore").to_csv(
                        tmp, index=False, float_format="%.4g"
                    )
                written.append(stage / name)
            if len(usage.segments):
                from connectivity.outputs.folium_base import save_map
                from connectivity.outputs.usage_map import usage_map, usage_png

                what = (
                    f"Journeys to the core per segment, leaving {args.departure} + "
                    f"{args.window:g} min"
                )
                from connectivity.accessibility.population_osm import RELATIVE

                if RELATIVE in population_text:
                    what += f" (population {RELATIVE})"
                page = usage_map(usage, offline=args.offline, title=what)
                written.append(save_map(page, stage / "usage.html", offline=args.offline))
                written.append(usage_png(usage, stage / "usage.png", title=what))
    paths = [args.out / Path(p).relative_to(stage) for p in written]
    from connectivity.bottlenecks.study import road_label

    table = result.table
    print(population_text)
    print(f"ranked {len(table)} {kind} candidates ({label}); wrote {args.out}:")
    for path in paths:
        print(f"  {path}")
    for row in table.head(10).itertuples(index=False):
        label = road_label(row._asdict()) or f"{row.kind} {row.key}"
        print(
            f"{row.rank:>3}. {label}: cut off {row.cut_off:,.0f}, "
            f"+{row.person_hours:,.1f} person-hours, loss {row.loss_hours:,.1f} h"
        )
    if usage is not None:
        share = usage.by_transit / usage.total if usage.total > 0 else 0.0
        print(
            f"Lines by riders to the core, leaving {args.departure} + {args.window:g} min "
            f"({share:.0%} of the people reaching it ride; usage_routes.csv):"
        )
        for k, row in enumerate(usage.routes.head(10).itertuples(index=False), start=1):
            print(f"{k:>3}. {row.mode} {row.route}: {row.share:.1%} of the riders")
    return 0
