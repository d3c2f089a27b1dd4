"""``connectivity gtfs-audit`` and ``connectivity gtfs-dates``: check feeds before routing."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gtfs-audit`` and ``gtfs-dates`` subcommands."""
    audit = subparsers.add_parser(
        "gtfs-audit",
        help="check GTFS feeds for what routing needs",
        description=(
            "Report the service dates, the busiest date, the trips, routes and stops active "
            "on the date by mode, and every problem found (errors, warnings, notes) with "
            "counts and an example. Exit status 0 when the feeds are usable for routing, "
            "2 when they are not (errors found, such as no service on the date)."
        ),
    )
    audit.add_argument("feeds", nargs="+", type=Path, metavar="FEED", help="zip or folder")
    audit.add_argument("--date", help="service date YYYY-MM-DD (default: the busiest)")
    audit.add_argument("--feed-ids", nargs="+", metavar="ID", help="one id per feed")
    audit.add_argument("--csv", type=Path, help="also write the problems to this CSV file")
    audit.set_defaults(func=run)

    dates = subparsers.add_parser(
        "gtfs-dates",
        help="list the service dates of GTFS feeds with their trip counts",
        description=(
            "Print each date from the first to the last date of service with the number "
            "of trips running on it (frequency trips counted as expanded)."
        ),
    )
    dates.add_argument("feeds", nargs="+", type=Path, metavar="FEED", help="zip or folder")
    dates.add_argument("--feed-ids", nargs="+", metavar="ID", help="one id per feed")
    dates.add_argument("--all", action="store_true", help="also list the dates without service")
    dates.set_defaults(func=run_dates)


def run(args: argparse.Namespace) -> int:
    """Audit the feeds, print the report; 0 when usable, 2 when not."""
    from connectivity._checks import check_input, check_output_file
    from connectivity._files import atomic_path
    from connectivity.transit.audit import audit, format_report

    for feed in args.feeds:
        check_input(feed, "FEED", kind="gtfs", folder=True)
    if args.csv is not None:
        check_output_file(args.csv, "--csv")

    problems = audit(args.feeds, date=args.date, feed_ids=args.feed_ids)
    print(format_report(problems))
    if args.csv is not None:
        with atomic_path(args.csv) as tmp:
            problems.to_csv(tmp, index=False)
    return 0 if problems.attrs["summary"]["usable"] else 2


def run_dates(args: argparse.Namespace) -> int:
    """Print the dates with their trip counts, marking the busiest."""
    from connectivity._checks import check_input
    from connectivity.transit.gtfs import service_dates

    for feed in args.feeds:
        check_input(feed, "FEED", kind="gtfs", folder=True)

    dates = service_dates(args.feeds, feed_ids=args.feed_ids)
    if not len(dates) or dates["trips"].max() == 0:
        print("no trip runs on any date")
        return 2
    busiest = dates["date"].iloc[int(dates["trips"].to_numpy().argmax())]
    shown = dates if args.all else dates[dates["trips"] > 0]
    print(f"{'date':<12}{'weekday':<11}{'trips':>8}")
    for day, trips in zip(shown["date"], shown["trips"], strict=True):
        mark = "  busiest" if day == busiest else ""
        print(f"{day.isoformat():<12}{day.strftime('%A'):<11}{int(trips):>8}{mark}")
    return 0
