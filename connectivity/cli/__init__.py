"""The command-line tool: ``connectivity SUBCOMMAND ...``.

A thin layer over the public functions. Each subcommand lives in a module of this package
(``connectivity.cli.isochrones``, ``connectivity.cli.access``, ...) with two functions: ``register(subparsers)``, which adds its parser and sets
``func=run``, and ``run(args) -> int``, which parses, calls one public function and
writes its output. Errors of the user's making (:class:`ConnectivityError`) are printed on
one line and give exit status 2, in the command's terms (:mod:`connectivity.cli._messages`:
``--max-distance``, not ``max_distance``); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from connectivity._errors import ConnectivityError
from connectivity.cli._messages import cli_terms, option_names

#: Modules that define subcommands, in the order of ``connectivity --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "connectivity.cli.isochrones",
    "connectivity.cli.gtfs_from_osm",
    "connectivity.cli.bottlenecks",
    "connectivity.cli.gtfs",
    "connectivity.cli.routing",
    "connectivity.cli.journeys",
    "connectivity.cli.access",
    "connectivity.cli.scenario",
    "connectivity.cli.clip",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="connectivity",
        description="Transport network connectivity of urban agglomerations.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The subparser of the command being run."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[args.command]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConnectivityError as exc:
        if args.debug:
            raise
        message = cli_terms(" ".join(str(exc).split()), option_names(_command(parser, args)))
        print(f"connectivity {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
