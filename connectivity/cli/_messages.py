"""The library's error messages in the command line's terms.

The library names its Python parameters (``max_distance``, ``n_jobs``,
``use_cache=False``); a user of the command line can only act on its options. Each
message the CLI prints goes through :func:`cli_terms`: a parameter the command has an
option for becomes that option (``--max-distance``), the cache switch becomes its
environment variable, a limit the command cannot set is stated by its value alone
(``more than 500 m``), and advice about such a parameter is dropped rather than given.
"""

from __future__ import annotations

import argparse
import re

#: Python parameters whose option has another name (the option's dest).
ALIASES: dict[str, str] = {
    "n_jobs": "jobs",
    "max_walk_time": "max_walk",
    "snap_distance": "max_distance",
}

#: Python phrases with an equivalent outside the options.
PHRASES: dict[str, str] = {
    "pass use_cache=False": "set CONNECTIVITY_NO_CACHE=1 in the environment",
    "use_cache=False": "CONNECTIVITY_NO_CACHE=1 in the environment",
    "connectivity.settings.cache_folder": "CONNECTIVITY_CACHE",
}

# A Python parameter: lower-case words joined by underscores, not part of a path, a
# dotted name or an option, optionally with "=value".
_NAME = re.compile(r"(?<![\w./-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(=[^\s,;:)]+)?(?![\w/])")
# Advice naming such a parameter: ", or raise max_distance" up to the clause's end.
_ADVICE = re.compile(
    r",?\s*\b(?:or|and)\s+(?:raise|lower|pass|set|give|use)\s+"
    r"(?P<name>[a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?:=[^\s,;:)]+)?[^,;:.()]*"
)


def option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The command's options by dest: ``{"max_distance": "--max-distance", ...}``."""
    names: dict[str, str] = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs:
            names[action.dest] = longs[0]
    return names


def cli_terms(message: str, options: dict[str, str]) -> str:
    """``message`` with the Python parameters it names put in the command's terms."""
    for phrase, replacement in PHRASES.items():
        message = message.replace(phrase, replacement)

    def option(name: str) -> str | None:
        return options.get(ALIASES.get(name, name))

    def drop(match: re.Match[str]) -> str:
        return match.group(0) if option(match.group("name")) else ""

    message = _ADVICE.sub(drop, message)

    def rename(match: re.Match[str]) -> str:
        found, value = option(match.group(1)), match.group(2)
        if found is None:
            # A limit the command cannot set is stated by its value alone.
            return value[1:] if value else match.group(0)
        return f"{found} {value[1:]}" if value else found

    return _NAME.sub(rename, message)
