"""Headway-based services as what they are: a vehicle every ``headway`` seconds, at a
phase nobody knows.

A ``frequencies.txt`` entry with ``exact_times=0`` says "every 10 minutes from 07:00 to
09:00", not "at 07:00, 07:10, ...". The Timetable expands each entry from its start (that
is ``boarding="scheduled"``, the invented timetable, kept for comparison) and keeps each
entry's trips as a pattern of its own (``Timetable.pattern_headway > 0``,
``Timetable.pattern_end``), so routing can treat it honestly, the way R5 does:

- ``boarding="random"``: Monte Carlo draws. Each draw gives every headway-based entry a
  phase, uniform over the whole seconds ``0 .. headway - 1``; the entry's vehicles leave
  its first stop at ``start + phase + k * headway`` before its end. A window's
  distribution is over departure minutes x draws. The phase of an entry in a draw
  depends only on the seed, the draw and the entry itself (feed, template trip, span,
  day), not on the rest of the timetable: a scenario that adds a line leaves every other
  entry's phases as they were, so a difference is the change, not noise.
- ``boarding="best" | "worst" | "half_headway"``: bounds without sampling. A headway
  service runs continuously over its span and every boarding waits ``0``, ``headway`` or
  ``headway // 2`` seconds (the half rounded down to the second).

Scheduled trips are never touched: with no headway-based service, every boarding gives
the scheduled results, from the same code path, without draws.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError

if TYPE_CHECKING:
    from connectivity.transit.timetable import Timetable

__all__ = [
    "BOARDINGS",
    "DEFAULT_BOARDING",
    "DEFAULT_DRAWS",
    "Boarding",
    "check_boarding",
    "headway_patterns",
]

#: How a passenger boards a headway-based service.
BOARDINGS = ("scheduled", "random", "best", "worst", "half_headway")
#: The routing functions' boarding: what R5 does.
DEFAULT_BOARDING = "random"
#: Draws per departure minute of ``boarding="random"``.
DEFAULT_DRAWS = 20
#: The times of a trip that a phase moves past its entry's end: never boarded (the
#: largest int32; negated by the arrive-by arrays it is the earliest, never boarded
#: either).
NEVER = np.int32(2**31 - 1)


@dataclass(frozen=True)
class Boarding:
    """A checked boarding rule: ``kind`` (one of :data:`BOARDINGS`), ``draws`` and
    ``seed`` (for ``"random"``)."""

    kind: str = "scheduled"
    draws: int = DEFAULT_DRAWS
    seed: int = 0

    def draws_for(self, timetable: Timetable | None) -> int:
        """How many draws a query on ``timetable`` takes: ``draws`` for random boarding
        of a timetable with headway-based services, else 1."""
        if self.kind != "random" or timetable is None:
            return 1
        return self.draws if len(headway_patterns(timetable)) else 1


def check_boarding(boarding: str, draws: int, seed: int) -> Boarding:
    """The :class:`Boarding` of a query's parameters.

    Raises
    ------
    ParameterError
        An unknown boarding, draws that are not a whole number >= 1, a seed that is not
        a whole number >= 0.
    """
    if boarding not in BOARDINGS:
        raise ParameterError(
            f"boarding={boarding!r} is not one of {', '.join(map(repr, BOARDINGS))}"
        )
    if isinstance(draws, bool) or int(draws) != draws or not 1 <= draws <= 10_000:
        raise ParameterError(f"draws must be a whole number in 1..10000 (got {draws!r})")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ParameterError(f"seed must be a whole number >= 0 (got {seed!r})")
    return Boarding(boarding, int(draws), int(seed))


def headway_patterns(timetable: Timetable) -> np.ndarray:
    """Positions of the patterns that are headway-based frequency entries."""
    return np.flatnonzero(_headways(timetable) > 0)


def _headways(timetable: Timetable) -> np.ndarray:
    """Per pattern its headway in seconds, 0 for a scheduled one."""
    h = timetable.pattern_headway
    return np.zeros(timetable.n_patterns, np.int64) if h is None else h


def _ends(timetable: Timetable) -> np.ndarray:
    """Per pattern the end of its entry's span (first-stop departures before it)."""
    e = timetable.pattern_end
    return np.zeros(timetable.n_patterns, np.int64) if e is None else e


def entry_keys(timetable: Timetable, patterns: np.ndarray) -> np.ndarray:
    """A 64-bit key per headway pattern, from what the entry is: feed, template trip,
    span end and day (never from positions, which other lines move)."""
    trips = timetable.trips
    first = timetable.pattern_trips[timetable.pattern_trip_ptr[patterns]].astype(np.int64)

    def text(column: str, number: bool) -> Any:
        if column not in trips.columns:
            return [""] * len(first)
        values = trips[column].iloc[first]
        if number:  # 43200 whether the column is int or, after a scenario's concat, float
            values = pd.to_numeric(values, errors="coerce").fillna(0).astype(np.int64)
        return values.astype(str).to_numpy()

    cols = [
        text("feed_id", False),
        text("gtfs_trip_id", False),
        text("headway_end", True),
        text("day_offset", True),
    ]
    keys = np.empty(len(patterns), np.uint64)
    for i, parts in enumerate(zip(*cols, strict=True)):
        digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
        keys[i] = np.frombuffer(digest, np.uint64)[0]
    return keys


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def draw_phases(timetable: Timetable, patterns: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """``(draws, len(patterns))`` phases in whole seconds, each uniform over
    ``0 .. headway - 1`` (reproducible: a function of seed, draw and entry)."""
    keys = entry_keys(timetable, patterns)
    headway = _headways(timetable)[patterns].astype(np.uint64)
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        d = np.arange(draws, dtype=np.uint64)[:, None]
        z = _mix(keys[None, :] ^ _mix(np.uint64(seed) * golden + d * golden + golden))
    # 53 random bits as a fraction in [0, 1): floor(u * headway) is uniform enough
    # (headways are far below 2**53).
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.floor(u * headway.astype(np.float64)).astype(np.int64)


def phased(timetable: Timetable, patterns: np.ndarray, phase: np.ndarray) -> Timetable:
    """The timetable with headway pattern ``patterns[i]`` run ``phase[i]`` seconds later;
    a trip thereby leaving its first stop at or after its entry's end is disabled
    (times :data:`NEVER`; it is the pattern's last, so the pattern stays FIFO)."""
    tt = timetable
    shift = np.zeros(tt.n_patterns, np.int64)
    shift[patterns] = phase
    rows = np.diff(tt.time_ptr)
    row_shift = np.repeat(shift, rows)
    arr = (tt.arrivals.astype(np.int64) + row_shift).astype(np.int32)
    dep = (tt.departures.astype(np.int64) + row_shift).astype(np.int32)
    n_st = np.diff(tt.pattern_stop_ptr)[patterns]
    n_tr = np.diff(tt.pattern_trip_ptr)[patterns]
    end = _ends(tt)[patterns]
    for j in range(1, int(n_tr.max(initial=0)) + 1):
        # The j-th trip from the end of each pattern that still has one: disabled if it
        # leaves at or after the end (at most one per pattern, phases < headway).
        has = n_tr >= j
        start = tt.time_ptr[patterns[has] + 1] - j * n_st[has]
        late = dep[start] >= end[has]
        if not late.any():
            break
        for a, n in zip(start[late], n_st[has][late], strict=True):
            arr[a : a + n] = NEVER
            dep[a : a + n] = NEVER
    return dataclasses.replace(tt, arrivals=arr, departures=dep)


def boarding_arrays(
    timetable: Timetable | None, kind: str, n_patterns: int, *, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(pattern_wait, pattern_first, pattern_end, wait_at_alight)`` for
    :func:`connectivity.routing._raptor.range_raptor`: the continuous services of a
    bound (``best``, ``worst``, ``half_headway``), or none. ``reverse``: for the
    time-reversed arrays of arrive-by, where a vehicle leaving the first stop at ``b``
    in ``[first, end)`` reaches the last stop at ``b + L`` and so "leaves" the reversed
    first stop at ``-(b + L)`` in ``[-(end - 1) - L, -first - L]``, and the wait comes
    when leaving the reversed vehicle."""
    wait = np.full(n_patterns, -1, np.int64)
    first = np.zeros(n_patterns, np.int64)
    end = np.zeros(n_patterns, np.int64)
    if timetable is None or kind not in ("best", "worst", "half_headway"):
        return wait, first, end, False
    tt = timetable
    hp = headway_patterns(tt)
    headway = _headways(tt)[hp].astype(np.int64)
    wait[hp] = {"best": 0 * headway, "worst": headway, "half_headway": headway // 2}[kind]
    f = tt.departures[tt.time_ptr[hp]].astype(np.int64)
    e = _ends(tt)[hp]
    if not reverse:
        first[hp], end[hp] = f, e
        return wait, first, end, False
    # L: the first trip's arrival at its last stop after its first departure.
    last = tt.time_ptr[hp] + np.diff(tt.pattern_stop_ptr)[hp] - 1
    span = tt.arrivals[last].astype(np.int64) - f
    first[hp] = -(e - 1) - span
    end[hp] = -f - span + 1
    return wait, first, end, True


def check_journey_boarding(boarding: Boarding, timetable: Timetable | None, what: str) -> None:
    """Journeys are rebuilt for scheduled and random boarding; a bound's continuous
    services have no trips to name.

    Raises
    ------
    ParameterError
        A bound on a timetable with headway-based services.
    """
    bounded = boarding.kind in ("best", "worst", "half_headway")
    if bounded and timetable is not None and len(headway_patterns(timetable)):
        raise ParameterError(
            f"{what} takes boarding='random' or 'scheduled' (got boarding={boarding.kind!r}): "
            "a bound's continuous services have no trips to rebuild a journey from"
        )
