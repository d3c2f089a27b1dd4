"""The Timetable: one service day of one or more GTFS feeds, as arrays for routing.

A :class:`Timetable` is built once (by :func:`connectivity.transit.gtfs.load_timetable` from real
feeds, or by :meth:`Timetable.from_frames` from tidy frames) and then only read. Trips
are grouped into *patterns*: trips of one route that visit the same stops in the same
order with the same pickup and drop-off rules. Within a pattern the trips are sorted by
departure and no trip overtakes another (trips that would are split into a pattern of
their own), so the pattern is FIFO, as RAPTOR requires.

Array layout (``P`` patterns, ``S`` stops, ``T`` trips; positions, not ids):

- ``pattern_stops[pattern_stop_ptr[p]:pattern_stop_ptr[p + 1]]``: the stops of pattern
  ``p`` in visiting order; ``pattern_board`` / ``pattern_alight`` (same layout) say
  whether a passenger may board / alight there.
- ``pattern_trips[pattern_trip_ptr[p]:pattern_trip_ptr[p + 1]]``: the trips of ``p``,
  earliest first.
- ``arrivals`` / ``departures``: int32 seconds after midnight of the service date; for
  pattern ``p`` a row-major block of ``n_trips x n_stops`` starting at ``time_ptr[p]``
  (use :meth:`Timetable.pattern_times`). Trips of the previous service day that still
  run after midnight appear with their times minus 86,400 (so 24:35:00 of yesterday's
  service is 00:35:00 = 2,100 s), and may have negative times at their first stops.
- ``stop_patterns[stop_pattern_ptr[s]:stop_pattern_ptr[s + 1]]``: the patterns serving
  stop ``s``, with ``stop_pattern_pos`` the stop's index within each (a stop visited
  twice by a loop pattern has two entries).
- ``transfers``: the rules of ``transfers.txt`` as positions (``from_stop``,
  ``to_stop``, ``transfer_type``, ``min_transfer_time``).

Frames as :func:`connectivity.transit.gtfs.load_timetable` fills them (ids namespaced
``feed_id:id`` when several feeds are loaded):

- ``stops``: every row of ``stops.txt`` (``stop_id``, ``stop_name``, ``lon``, ``lat``,
  ``location_type`` 0 stop / 1 station / 2 entrance / 3 node / 4 boarding area,
  ``parent_station`` id, ``parent`` its position or -1, ``feed_id``, other columns kept).
  Only stops serve patterns; stations are there so routing can add station transfers.
- ``routes``: ``route_id``, ``route_type``, ``mode`` (a
  :class:`~connectivity.transit.gtfs.TransitMode` value: tram, metro, rail, bus, ferry, cable,
  gondola, funicular, trolleybus, monorail, coach, air, taxi, other), ``feed_id``, ...
- ``trips``: ``trip_id`` (unique: ``template#HH:MM:SS`` for a frequency expansion,
  ``...@-1d`` for a trip of the previous day), ``gtfs_trip_id`` (the id in trips.txt),
  ``route`` (position), ``route_id``, ``service_id``, ``day_offset`` (0, or -1 for the
  previous day's trips), ``frequency`` (bool), ``exact_times`` (1 for scheduled trips),
  ``headway`` (s, 0 for scheduled trips), ``feed_id``, ``pattern`` (-1 for trips of fewer
  than two stops, which no pattern holds), other trips.txt columns kept.
- ``transfers``: ``transfer_type`` 0 recommended, 1 timed, 2 minimum time
  (``min_transfer_time``: float seconds, NaN where not given), 3 not possible; ``from_trip_id``,
  ``to_trip_id``, ``from_route_id``, ``to_route_id`` kept when the feed has them (rules of
  a frequency template apply to all its expansions: match on ``trips.gtfs_trip_id``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import GtfsError

__all__ = ["Timetable"]

DAY = 86_400

STOP_COLUMNS = ("stop_id", "stop_name", "lon", "lat")
ROUTE_COLUMNS = ("route_id", "route_type")
TRIP_COLUMNS = ("trip_id", "route")
STOP_TIME_COLUMNS = ("trip", "stop_sequence", "stop", "arrival", "departure")


@dataclass(eq=False)
class Timetable:
    """One service day of transit, with trips grouped into FIFO patterns.

    Build it with :func:`connectivity.transit.gtfs.load_timetable` or :meth:`from_frames`; the
    attributes are described in the module docstring.
    """

    date: dt.date | None
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    pattern_route: np.ndarray
    pattern_stop_ptr: np.ndarray
    pattern_stops: np.ndarray
    pattern_board: np.ndarray
    pattern_alight: np.ndarray
    pattern_trip_ptr: np.ndarray
    pattern_trips: np.ndarray
    time_ptr: np.ndarray
    arrivals: np.ndarray
    departures: np.ndarray
    interpolated: np.ndarray
    stop_pattern_ptr: np.ndarray
    stop_patterns: np.ndarray
    stop_pattern_pos: np.ndarray
    transfers: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    pattern_headway: np.ndarray | None = None
    pattern_end: np.ndarray | None = None

    # -- sizes and look-ups ---------------------------------------------------------

    @property
    def n_stops(self) -> int:
        """Number of stops (positions ``0 .. n_stops - 1``)."""
        return len(self.stops)

    @property
    def n_patterns(self) -> int:
        """Number of FIFO patterns."""
        return len(self.pattern_route)

    @property
    def n_trips(self) -> int:
        """Number of trips running on the service day (frequency trips expanded)."""
        return len(self.trips)

    @property
    def n_stop_times(self) -> int:
        """Number of stop events (arrival/departure pairs) of all trips."""
        return len(self.arrivals)

    def stop_index(self, stop_id: str) -> int:
        """Return the position of ``stop_id`` (namespaced as ``feed:stop`` when needed)."""
        matches = np.flatnonzero(self.stops["stop_id"].to_numpy() == stop_id)
        if len(matches) == 0:
            raise GtfsError(
                f"unknown stop {stop_id!r}: stop ids of several feeds are namespaced as "
                "'feed_id:stop_id'; see Timetable.stops for the ids"
            )
        return int(matches[0])

    def pattern_times(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the arrival and departure times of pattern ``p`` as two
        ``(n_trips, n_stops)`` views."""
        n_stops = int(self.pattern_stop_ptr[p + 1] - self.pattern_stop_ptr[p])
        n_trips = int(self.pattern_trip_ptr[p + 1] - self.pattern_trip_ptr[p])
        a, b = int(self.time_ptr[p]), int(self.time_ptr[p + 1])
        shape = (n_trips, n_stops)
        return self.arrivals[a:b].reshape(shape), self.departures[a:b].reshape(shape)

    def stop_times(self) -> pd.DataFrame:
        """Return every stop event as a tidy frame (``trip, stop, stop_sequence,
        arrival, departure, interpolated``), trip by trip."""
        trips_per = np.diff(self.pattern_trip_ptr)
        stops_per = np.diff(self.pattern_stop_ptr)
        pattern_of_trip = np.repeat(np.arange(self.n_patterns), trips_per)
        n = stops_per[pattern_of_trip]
        trip = np.repeat(self.pattern_trips.astype(np.int64), n)
        offset = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        pattern = np.repeat(pattern_of_trip, n)
        frame = pd.DataFrame(
            {
                "trip": trip,
                "stop": self.pattern_stops[self.pattern_stop_ptr[pattern] + offset].astype(
                    np.int64
                ),
                "stop_sequence": offset,
                "arrival": self.arrivals,
                "departure": self.departures,
                "interpolated": self.interpolated,
            }
        )
        order = np.lexsort((offset, trip))
        return frame.iloc[order].reset_index(drop=True)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_frames(
        cls,
        stops: pd.DataFrame,
        routes: pd.DataFrame,
        trips: pd.DataFrame,
        stop_times: pd.DataFrame,
        transfers: pd.DataFrame | None = None,
        *,
        date: dt.date | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Timetable:
        """Build a Timetable from tidy frames that already describe one service day.

        Parameters
        ----------
        stops
            One row a stop; its row position is the stop's index. Columns ``stop_id``,
            ``stop_name``, ``lon``, ``lat``; others (``location_type``,
            ``parent_station``, ``feed_id`` ...) are kept.
        routes
            One row a route; columns ``route_id``, ``route_type``; others kept.
        trips
            One row a trip running on the day; columns ``trip_id`` and ``route`` (the
            route's row position); others kept. A ``pattern`` column is added.
        stop_times
            Columns ``trip`` and ``stop`` (row positions), ``stop_sequence``,
            ``arrival`` and ``departure`` (integer seconds, every value present), and
            optionally ``pickup_type``, ``drop_off_type`` (GTFS codes; 1 forbids) and
            ``interpolated`` (bool).
        transfers
            Optional ``from_stop``, ``to_stop`` (positions), ``transfer_type``,
            ``min_transfer_time``.
        date
            The service date the frames describe.
        meta
            Free-form provenance (feeds, their digests, counts of repaired values).

        Returns
        -------
        timetable
            The FIFO-patterned timetable.
        """
        _require(stops, STOP_COLUMNS, "stops")
        _require(routes, ROUTE_COLUMNS, "routes")
        _require(trips, TRIP_COLUMNS, "trips")
        _require(stop_times, STOP_TIME_COLUMNS, "stop_times")
        stops = stops.reset_index(drop=True)
        routes = routes.reset_index(drop=True)
        trips = trips.reset_index(drop=True).copy()
        n_trips = len(trips)

        for column in STOP_TIME_COLUMNS:
            _require_integers(stop_times[column], column)
        _require_integers(trips["route"], "route", frame="trips")
        route_col = trips["route"].to_numpy(np.int64)
        if n_trips and (route_col.min() < 0 or route_col.max() >= len(routes)):
            raise GtfsError("trips refer to a route position outside the routes frame")
        trip_col = stop_times["trip"].to_numpy(np.int64)
        order = np.lexsort((stop_times["stop_sequence"].to_numpy(np.int64), trip_col))
        st = stop_times.iloc[order]
        trip_of = trip_col[order]
        stop_of = st["stop"].to_numpy(np.int64)
        arr = st["arrival"].to_numpy(np.int64)
        dep = st["departure"].to_numpy(np.int64)
        if len(st) and (trip_of.min() < 0 or trip_of.max() >= n_trips):
            raise GtfsError("stop_times refer to a trip position outside the trips frame")
        if len(st) and (stop_of.min() < 0 or stop_of.max() >= len(stops)):
            raise GtfsError("stop_times refer to a stop position outside the stops frame")
        board = _flag(st, "pickup_type")
        alight = _flag(st, "drop_off_type")
        interp = (
            st["interpolated"].to_numpy(bool)
            if "interpolated" in st.columns
            else np.zeros(len(st), bool)
        )

        counts = np.bincount(trip_of, minlength=n_trips).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # A trip with fewer than two stop events cannot carry anybody: drop it.
        usable = np.flatnonzero(counts >= 2)
        route_of = trips["route"].to_numpy(np.int64)

        # Key of a trip's pattern: route, stop sequence, boarding and alighting rules.
        codes = stop_of * 4 + board * 2 + alight
        seq_keys = np.empty(len(usable), object)
        seq_keys[:] = [codes[starts[t] : starts[t + 1]].tobytes() for t in usable]
        seq_id = pd.factorize(seq_keys)[0].astype(np.int64) if len(usable) else seq_keys
        combined = route_of[usable] * (int(seq_id.max(initial=0)) + 1) + seq_id
        # Per trip its headway-based entry (unique within its route), -1 if timed.
        entry_of = _whole(trips, "headway_entry", missing=-1)
        if (entry_of[usable] >= 0).any():
            # A headway-based entry is a pattern of its own, so a phase moves it whole.
            pair = np.stack([combined, entry_of[usable]], axis=1)
            _, key_of = np.unique(pair, axis=0, return_inverse=True)
        else:
            _, key_of = np.unique(combined, return_inverse=True)
        key_of = key_of.reshape(-1)
        n_keys = int(key_of.max(initial=-1)) + 1
        # Keys in the order (route, first trip); trips within a key by first departure,
        # then last arrival.
        first_trip = np.full(n_keys, np.iinfo(np.int64).max)
        np.minimum.at(first_trip, key_of, usable)
        key_route = np.zeros(n_keys, np.int64)
        key_route[key_of] = route_of[usable]
        key_rank = np.empty(n_keys, np.int64)
        key_rank[np.lexsort((first_trip, key_route))] = np.arange(n_keys)
        # Sorting by the sum of all times after the first departure puts trips in a FIFO
        # order whenever one exists (a trip never earlier than another has a larger sum).
        dep0 = dep[starts[usable]]
        total = np.bincount(trip_of, weights=(arr + dep).astype(np.float64), minlength=n_trips)
        srt = np.lexsort((usable, total[usable], dep0, key_rank[key_of]))
        t_sorted = usable[srt]
        k_sorted = key_rank[key_of[srt]]
        rows = _rows(starts, counts, t_sorted)
        n_of = counts[t_sorted]

        # FIFO: no trip may be earlier than its predecessor at any stop.
        same_key = np.zeros(len(t_sorted), bool)
        same_key[1:] = k_sorted[1:] == k_sorted[:-1]
        row_trip = np.repeat(np.arange(len(t_sorted)), n_of)
        has_prev = same_key[row_trip]
        back = np.flatnonzero(has_prev)
        prev_rows = rows[back - n_of[row_trip[back]]]
        late = (arr[rows[back]] < arr[prev_rows]) | (dep[rows[back]] < dep[prev_rows])
        bad_keys = np.unique(k_sorted[row_trip[back[late]]])
        sub = np.zeros(len(t_sorted), np.int64)
        for k in bad_keys:
            members = np.flatnonzero(k_sorted == k)
            n = int(n_of[members[0]])
            idx = starts[t_sorted[members]][:, None] + np.arange(n)[None, :]
            for g, group in enumerate(_fifo_groups(arr[idx], dep[idx])):
                sub[members[group]] = g
        _, pattern_sorted = np.unique(
            k_sorted * (int(sub.max(initial=0)) + 1) + sub, return_inverse=True
        )
        pattern_sorted = pattern_sorted.reshape(-1)
        final = np.lexsort((np.arange(len(t_sorted)), pattern_sorted))
        pattern_trips = t_sorted[final]
        trip_pattern_of = pattern_sorted[final]
        n_patterns = int(trip_pattern_of.max(initial=-1)) + 1
        trip_pattern = np.full(n_trips, -1, np.int64)
        trip_pattern[pattern_trips] = trip_pattern_of
        trips["pattern"] = trip_pattern

        trips_per = np.bincount(trip_pattern_of, minlength=n_patterns).astype(np.int64)
        trip_ptr = np.concatenate([[0], np.cumsum(trips_per)]).astype(np.int64)
        first_of_pattern = pattern_trips[trip_ptr[:-1]]
        stops_per = counts[first_of_pattern]
        stop_ptr = np.concatenate([[0], np.cumsum(stops_per)]).astype(np.int64)
        first_rows = _rows(starts, counts, first_of_pattern)
        pattern_stops = stop_of[first_rows].astype(np.int32)
        time_rows = _rows(starts, counts, pattern_trips)
        time_ptr = np.concatenate([[0], np.cumsum(trips_per * stops_per)]).astype(np.int64)
        pattern_route = route_of[first_of_pattern]
        headway_of = _whole(trips, "headway")
        end_of = _whole(trips, "headway_end")
        pattern_based = entry_of[first_of_pattern] >= 0
        pattern_headway = np.where(pattern_based, headway_of[first_of_pattern], 0)
        pattern_end = np.where(pattern_based, end_of[first_of_pattern], 0)

        # Stop -> (pattern, position) index.
        pat_of_entry = np.repeat(np.arange(n_patterns, dtype=np.int64), np.diff(stop_ptr))
        pos_of_entry = np.arange(len(pattern_stops), dtype=np.int64) - stop_ptr[pat_of_entry]
        order = np.lexsort((pos_of_entry, pat_of_entry, pattern_stops))
        stop_pattern_ptr = np.concatenate(
            [[0], np.cumsum(np.bincount(pattern_stops, minlength=len(stops)))]
        ).astype(np.int64)

        if transfers is None:
            transfers = pd.DataFrame(
                {
                    "from_stop": pd.Series(dtype=np.int64),
                    "to_stop": pd.Series(dtype=np.int64),
                    "transfer_type": pd.Series(dtype=np.int64),
                    "min_transfer_time": pd.Series(dtype=np.float64),
                }
            )

        all_times = np.concatenate([arr, dep]) if len(arr) else np.zeros(1, np.int64)
        if np.abs(all_times).max() >= 2**31 - 1:
            raise GtfsError("stop times beyond the int32 range of seconds: check the feed's times")

        return cls(
            date=date,
            stops=stops,
            routes=routes,
            trips=trips,
            pattern_route=np.asarray(pattern_route, np.int32),
            pattern_stop_ptr=stop_ptr,
            pattern_stops=pattern_stops,
            pattern_board=board[first_rows].astype(bool),
            pattern_alight=alight[first_rows].astype(bool),
            pattern_trip_ptr=trip_ptr,
            pattern_trips=pattern_trips.astype(np.int32),
            time_ptr=time_ptr,
            arrivals=arr[time_rows].astype(np.int32),
            departures=dep[time_rows].astype(np.int32),
            interpolated=interp[time_rows].astype(bool),
            stop_pattern_ptr=stop_pattern_ptr,
            stop_patterns=pat_of_entry[order].astype(np.int32),
            stop_pattern_pos=pos_of_entry[order].astype(np.int32),
            transfers=transfers.reset_index(drop=True),
            meta=dict(meta or {}),
            pattern_headway=pattern_headway.astype(np.int64),
            pattern_end=pattern_end.astype(np.int64),
        )

    def __repr__(self) -> str:
        return (
            f"Timetable(date={self.date}, stops={self.n_stops}, routes={len(self.routes)}, "
            f"trips={self.n_trips}, patterns={self.n_patterns}, "
            f"stop_times={self.n_stop_times})"
        )


def _whole(trips: pd.DataFrame, column: str, missing: int = 0) -> np.ndarray:
    """A trips column of whole numbers, ``missing`` where it is absent (trips added
    without it, such as a scenario's)."""
    if column not in trips.columns:
        return np.full(len(trips), missing, np.int64)
    return pd.to_numeric(trips[column], errors="coerce").fillna(missing).to_numpy(np.int64)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GtfsError(f"the {name} frame lacks the column(s) {', '.join(missing)}")


def _require_integers(values: pd.Series, column: str, *, frame: str = "stop_times") -> None:
    """Raise a GtfsError unless every value is a whole number (no NaN, no fraction)."""
    if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
        return
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = values.iloc[i]
        value = value.item() if isinstance(value, np.generic) else value
        raise GtfsError(
            f"the {frame} frame's column {column} holds {value!r} at row {i} "
            f"({int(bad.sum())} such value(s)): give whole numbers (seconds or positions), "
            "none missing"
        )


def _flag(st: pd.DataFrame, column: str) -> np.ndarray:
    """True where boarding (pickup_type) / alighting (drop_off_type) is allowed."""
    if column not in st.columns:
        return np.ones(len(st), bool)
    codes = pd.to_numeric(st[column], errors="coerce").fillna(0).to_numpy()
    return codes != 1


def _fifo_groups(arr: np.ndarray, dep: np.ndarray) -> list[np.ndarray]:
    """Split trips (rows, sorted by first departure) into groups in which no trip
    overtakes another: each row is >= the previous row of its group at every stop."""
    if len(arr) < 2 or (np.all(np.diff(arr, axis=0) >= 0) and np.all(np.diff(dep, axis=0) >= 0)):
        return [np.arange(len(arr), dtype=np.int64)]
    groups: list[list[int]] = []
    lasts: list[int] = []
    for i in range(len(arr)):
        for g, last in enumerate(lasts):
            if np.all(arr[i] >= arr[last]) and np.all(dep[i] >= dep[last]):
                groups[g].append(i)
                lasts[g] = i
                break
        else:
            groups.append([i])
            lasts.append(i)
    return [np.asarray(g, np.int64) for g in groups]


def _rows(starts: np.ndarray, counts: np.ndarray, trips: np.ndarray) -> np.ndarray:
    """Row numbers of the stop events of ``trips`` (in that order), trip after trip."""
    n = counts[trips]
    total = int(n.sum())
    return np.repeat(starts[trips] - np.cumsum(n) + n, n) + np.arange(total, dtype=np.int64)


def _ptr(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def _cat(blocks: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not blocks:
        return np.zeros(0, dtype)
    return np.concatenate(blocks).astype(dtype)
