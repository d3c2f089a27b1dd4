"""The Timetable: one service day of one or more GTFS feeds, as arrays for routing.

A :class:`Timetable` is built once (by :func:`connectivity.gtfs.load_timetable` from real
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

    Build it with :func:`connectivity.gtfs.load_timetable` or :meth:`from_frames`; the
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
        rows = []
        for p in range(self.n_patterns):
            arr, dep = self.pattern_times(p)
            stops = self.pattern_stops[self.pattern_stop_ptr[p] : self.pattern_stop_ptr[p + 1]]
            trips = self.pattern_trips[self.pattern_trip_ptr[p] : self.pattern_trip_ptr[p + 1]]
            a, b = int(self.time_ptr[p]), int(self.time_ptr[p + 1])
            n_trips, n_stops = arr.shape
            rows.append(
                pd.DataFrame(
                    {
                        "trip": np.repeat(trips, n_stops),
                        "stop": np.tile(stops, n_trips),
                        "stop_sequence": np.tile(np.arange(n_stops), n_trips),
                        "arrival": arr.ravel(),
                        "departure": dep.ravel(),
                        "interpolated": self.interpolated[a:b],
                    }
                )
            )
        if not rows:
            return pd.DataFrame(
                columns=["trip", "stop", "stop_sequence", "arrival", "departure", "interpolated"]
            )
        return pd.concat(rows, ignore_index=True).sort_values(
            ["trip", "stop_sequence"], ignore_index=True
        )

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

        st = stop_times.sort_values(["trip", "stop_sequence"], kind="stable")
        trip_of = st["trip"].to_numpy(np.int64)
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

        counts = np.bincount(trip_of, minlength=n_trips)
        starts = np.concatenate([[0], np.cumsum(counts)])
        # A trip with fewer than two stop events cannot carry anybody: drop it.
        usable = np.flatnonzero(counts >= 2)

        # Key of a trip's pattern: route, stop sequence, boarding and alighting rules.
        keys: dict[tuple[Any, ...], list[int]] = {}
        route_of = trips["route"].to_numpy(np.int64)
        for t in usable:
            a, b = starts[t], starts[t + 1]
            key = (
                int(route_of[t]),
                stop_of[a:b].tobytes(),
                board[a:b].tobytes(),
                alight[a:b].tobytes(),
            )
            keys.setdefault(key, []).append(int(t))

        pattern_route: list[int] = []
        pattern_stop_blocks: list[np.ndarray] = []
        board_blocks: list[np.ndarray] = []
        alight_blocks: list[np.ndarray] = []
        trip_blocks: list[np.ndarray] = []
        arr_blocks: list[np.ndarray] = []
        dep_blocks: list[np.ndarray] = []
        interp_blocks: list[np.ndarray] = []
        trip_pattern = np.full(n_trips, -1, np.int64)

        for key in sorted(keys, key=lambda k: (k[0], min(keys[k]))):
            members = np.asarray(keys[key], np.int64)
            first = starts[members[0]]
            n = int(counts[members[0]])
            idx = starts[members][:, None] + np.arange(n)[None, :]
            a_mat, d_mat = arr[idx], dep[idx]
            order = np.lexsort((a_mat[:, -1], d_mat[:, 0]))
            members, idx, a_mat, d_mat = members[order], idx[order], a_mat[order], d_mat[order]
            for group in _fifo_groups(a_mat, d_mat):
                p = len(pattern_route)
                pattern_route.append(key[0])
                pattern_stop_blocks.append(stop_of[first : first + n])
                board_blocks.append(board[first : first + n])
                alight_blocks.append(alight[first : first + n])
                trip_blocks.append(members[group])
                arr_blocks.append(a_mat[group].ravel())
                dep_blocks.append(d_mat[group].ravel())
                interp_blocks.append(interp[idx[group]].ravel())
                trip_pattern[members[group]] = p

        trips["pattern"] = trip_pattern
        n_patterns = len(pattern_route)
        stop_ptr = _ptr([len(b) for b in pattern_stop_blocks])
        trip_ptr = _ptr([len(b) for b in trip_blocks])
        time_ptr = _ptr([len(b) for b in arr_blocks])
        pattern_stops = _cat(pattern_stop_blocks, np.int32)

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
                    "min_transfer_time": pd.Series(dtype=np.int64),
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
            pattern_board=_cat(board_blocks, bool),
            pattern_alight=_cat(alight_blocks, bool),
            pattern_trip_ptr=trip_ptr,
            pattern_trips=_cat(trip_blocks, np.int32),
            time_ptr=time_ptr,
            arrivals=_cat(arr_blocks, np.int32),
            departures=_cat(dep_blocks, np.int32),
            interpolated=_cat(interp_blocks, bool),
            stop_pattern_ptr=stop_pattern_ptr,
            stop_patterns=pat_of_entry[order].astype(np.int32),
            stop_pattern_pos=pos_of_entry[order].astype(np.int32),
            transfers=transfers.reset_index(drop=True),
            meta=dict(meta or {}),
        )

    def __repr__(self) -> str:
        return (
            f"Timetable(date={self.date}, stops={self.n_stops}, routes={len(self.routes)}, "
            f"trips={self.n_trips}, patterns={self.n_patterns}, "
            f"stop_times={self.n_stop_times})"
        )


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GtfsError(f"the {name} frame lacks the column(s) {', '.join(missing)}")


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


def _ptr(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def _cat(blocks: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not blocks:
        return np.zeros(0, dtype)
    return np.concatenate(blocks).astype(dtype)
