"""``--boarding``, ``--draws`` and ``--seed``: how the walk+transit commands board
headway-based services (:mod:`connectivity.routing.headways`)."""

from __future__ import annotations

import argparse
from typing import Any

from connectivity.routing.headways import BOARDINGS, DEFAULT_BOARDING, DEFAULT_DRAWS

BOARDING_HELP = (
    "how headway-based services (frequencies.txt with exact_times=0, every feed "
    "estimated from OSM) are boarded: random (default: --draws random phases per "
    "departure minute), best / worst / half_headway (every boarding waits 0, a headway, "
    "half a headway), scheduled (as if the vehicles left at the span's start); "
    "scheduled trips are boarded as given"
)


def add_boarding_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--boarding``, ``--draws`` and ``--seed`` to a walk+transit command."""
    group = parser.add_argument_group("headway-based services")
    group.add_argument(
        "--boarding", choices=BOARDINGS, default=DEFAULT_BOARDING, help=BOARDING_HELP
    )
    group.add_argument(
        "--draws",
        type=int,
        default=DEFAULT_DRAWS,
        metavar="N",
        help=f"random phases per departure minute (default {DEFAULT_DRAWS})",
    )
    group.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the draws (default 0)"
    )


def boarding_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``boarding=``, ``draws=``, ``seed=`` keywords of the routing calls.

    Raises
    ------
    ParameterError
        ``--draws`` outside 1..10000, a negative ``--seed``.
    """
    from connectivity._errors import ParameterError

    if not 1 <= args.draws <= 10_000:
        raise ParameterError(
            f"--draws {args.draws}: give the random phases per departure minute, "
            "a whole number in 1..10000 (e.g. 20)"
        )
    if args.seed < 0:
        raise ParameterError(f"--seed {args.seed}: give a whole number >= 0")
    return {"boarding": args.boarding, "draws": args.draws, "seed": args.seed}


def boarding_text(args: argparse.Namespace, timetable: Any) -> str:
    """A line for a report: how the headway-based services were boarded ("" when the
    timetable has none)."""
    from connectivity.routing.headways import headway_patterns

    n = len(headway_patterns(timetable)) if timetable is not None else 0
    if n == 0:
        return ""
    what = {
        "random": f"{args.draws} random phases per departure minute (seed {args.seed})",
        "best": "no wait at any boarding (best case)",
        "worst": "a full headway of waiting at every boarding (worst case)",
        "half_headway": "half a headway of waiting at every boarding",
        "scheduled": "vehicles leaving at each span's start and every headway after",
    }[args.boarding]
    return f"Headway-based services ({n} frequency entries): {what}."


def boarding_short(args: argparse.Namespace, timetable: Any) -> str:
    """A few words for a map title ("" when the timetable has no headway-based
    service)."""
    from connectivity.routing.headways import headway_patterns

    if timetable is None or len(headway_patterns(timetable)) == 0:
        return ""
    return {
        "random": f"headway services: {args.draws} random phases",
        "best": "headway services: no waits (best case)",
        "worst": "headway services: full-headway waits (worst case)",
        "half_headway": "headway services: half-headway waits",
        "scheduled": "headway services from each span's start",
    }[args.boarding]
