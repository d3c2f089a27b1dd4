"""The population options shared by ``access`` and ``bottlenecks``: ``--population``
(a product, ``nodes``, or by default the OSM estimate) and ``--population-total``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from connectivity._checks import check_input
from connectivity._errors import ParameterError

POPULATION_HELP = (
    "population product: GeoTIFF (GHS-POP, WorldPop, HRSL; read in a window), "
    "polygons.gpkg:COLUMN (census, Kontur H3) or points.csv:COLUMN; 'nodes' counts every "
    "street node 1; default: estimated from the OSM buildings (else residential streets), "
    "scaled to the places' population tags or --population-total"
)


def add_population_total(parser: argparse.ArgumentParser) -> None:
    """Add ``--population-total``."""
    parser.add_argument(
        "--population-total",
        type=float,
        metavar="PEOPLE",
        help="people in the study area: scales the OSM estimate (e.g. 2.1e6)",
    )


def check_population(args: argparse.Namespace) -> None:
    """Check ``--population`` and ``--population-total`` before any long work."""
    spec = args.population
    total = args.population_total
    if total is not None:
        if not (math.isfinite(total) and total > 0):
            raise ParameterError(
                f"--population-total {total:g}: give the people of the study area, a number "
                "> 0 (e.g. --population-total 2.1e6)"
            )
        if spec is not None:
            raise ParameterError(
                f"--population-total scales the OSM estimate: drop it with --population {spec}"
            )
    if spec is not None and str(spec).strip().lower() != "nodes":  # FILE or FILE:COLUMN
        text = str(spec)
        head, _, column = text.rpartition(":")
        path = Path(head if head and column and not Path(text).exists() else text)
        check_input(path, "--population", kind="vector")


def population(args: argparse.Namespace, network: Any) -> tuple[Any, str]:
    """The weights per node of ``network`` and the report's line."""
    from connectivity.accessibility.population_osm import resolve_population

    return resolve_population(args.population, args.osm, network, total=args.population_total)
