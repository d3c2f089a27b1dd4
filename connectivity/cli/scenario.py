"""``connectivity scenario FILE --out DIR``: a proposed line's (or variants') effect."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scenario`` subcommand."""
    p = subparsers.add_parser(
        "scenario",
        help="compare a baseline with proposed lines or service changes (and variants)",
        description=(
            "Read a scenario file (TOML or YAML: the baseline's OSM and GTFS, the "
            "modifications, the variants, the core, zones, population, departure window "
            "and cutoffs), compute the baseline once and every variant, and write into "
            "DIR: variants.csv (ranked) and, per variant, indicator changes per zone (CSV, "
            "GeoJSON), the population newly within each cutoff of the core, a travel-time "
            "difference layer (GeoTIFF, GeoJSON), a before/after HTML map, and the "
            "scenario's timetable as DIR/VARIANT/gtfs.zip."
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the scenario file (.toml, .yaml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--offline", action="store_true", help="maps that need no network")
    p.add_argument("--no-maps", action="store_true", help="skip the HTML maps and isochrones")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the study, print the ranked variants; 0 on success."""
    from connectivity._checks import check_input, check_output_dir, check_text
    from connectivity.studies.scenario import run_scenario

    check_output_dir(args.out, "--out")
    if args.file.exists():  # a missing file: the scenario reader says what to do
        check_text(check_input(args.file, "FILE", kind="scenario"), "FILE")

    study = run_scenario(
        args.file, args.out, offline=True if args.offline else None, maps=not args.no_maps
    )
    table = study.variants
    rank_by = table.attrs.get("rank_by", "")
    shown = ["rank", "variant", "route_km", "new_stops", rank_by, "mean_change_min"]
    shown = list(dict.fromkeys(c for c in shown if c in table.columns))
    print(f"variants ranked by {rank_by}:")
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(f"wrote {args.out / 'variants.csv'} and one folder per variant")
    for name, files in study.files.items():
        print(f"  {name}: GTFS {files['gtfs']}")
    return 0
