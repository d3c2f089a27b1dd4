"""Service calendars: which service_ids run on which dates, and how many trips that makes.

``calendar.txt`` gives weekly patterns between two dates, ``calendar_dates.txt`` adds
(``exception_type`` 1) and removes (2) single dates; a feed may have either or both.
Trips are counted per date with each ``frequencies.txt`` template counted as the number
of trips it expands to (``ceil((end_time - start_time) / headway_secs)`` per row, end
exclusive), the way :func:`connectivity.transit.gtfs.load_timetable` builds them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectivity._errors import GtfsError
from connectivity.transit._read import FeedSource, parse_dates, parse_int, parse_times, strings

__all__ = ["Calendar", "frequency_counts"]

log = logging.getLogger(__name__)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Calendar:
    """The (service_id, date) pairs of one feed on which a service runs.

    Parameters
    ----------
    source
        The feed.
    """

    def __init__(self, source: FeedSource) -> None:
        self.source = source
        cal = source.read(
            "calendar.txt",
            required=("service_id", *_WEEKDAYS, "start_date", "end_date"),
            optional=(),
            must_exist=False,
        )
        exc = source.read(
            "calendar_dates.txt",
            required=("service_id", "date", "exception_type"),
            optional=(),
            must_exist=False,
        )
        if cal is None and exc is None:
            raise GtfsError(
                f"GTFS feed {source.path} has neither calendar.txt nor calendar_dates.txt: "
                "it needs at least one of them to say on which dates its trips run"
            )
        self.ids = np.zeros(0, object)
        self.start = self.end = np.zeros(0, "datetime64[D]")
        self.days = np.zeros((0, 7), bool)
        if cal is not None and cal.num_rows:
            where = source.where("calendar.txt")
            ids = strings(cal, "service_id")
            first = ~pd.Index(ids).duplicated()
            if not first.all():
                log.warning(
                    "%s: %d service_id(s) appear twice (such as %r): the first row is used",
                    where,
                    int((~first).sum()),
                    ids[~first][0],
                )
            self.ids = ids[first]
            self.start = parse_dates(cal, "start_date", where)[first]
            self.end = parse_dates(cal, "end_date", where)[first]
            self.days = np.stack(
                [
                    parse_int(cal, d, where, default=0, low=0, high=1, fix="use 0 or 1")
                    for d in _WEEKDAYS
                ],
                axis=1,
            ).astype(bool)[first]
        self.exceptions = pd.DataFrame(
            {
                "service_id": pd.Series(dtype=object),
                "date": pd.Series(dtype="datetime64[s]"),
                "runs": pd.Series(dtype=bool),
            }
        )
        if exc is not None and exc.num_rows:
            where = source.where("calendar_dates.txt")
            ex = pd.DataFrame(
                {
                    "service_id": strings(exc, "service_id"),
                    "date": parse_dates(exc, "date", where),
                    "type": parse_int(
                        exc, "exception_type", where, low=1, high=2, fix="use 1 (added) or 2"
                    ),
                }
            )
            # One row per (service, date): a removal wins over an addition of the same date.
            runs = ex.groupby(["service_id", "date"], sort=False)["type"].max() == 1
            self.exceptions = runs.rename("runs").reset_index()
        self._index = pd.Index(self.ids)

    def _by_calendar(self, services: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """Whether calendar.txt runs each service on each date (pairwise)."""
        row = self._index.get_indexer(services)
        ok = row >= 0
        r = np.maximum(row, 0)
        if not len(self.ids):
            return np.zeros(len(services), bool)
        d = np.asarray(dates, "datetime64[D]")
        return ok & (self.start[r] <= d) & (d <= self.end[r]) & self.days[r, _weekday(d)]

    def services_on(self, date: dt.date) -> set[str]:
        """The service_ids running on ``date``."""
        day = np.datetime64(date, "D")
        on = (self.start <= day) & (day <= self.end) & self.days[:, _weekday(day)]
        active = set(self.ids[on].tolist())
        ex = self.exceptions[self.exceptions["date"].to_numpy("datetime64[D]") == day]
        for service, runs in zip(ex["service_id"], ex["runs"], strict=True):
            if runs:
                active.add(service)
            else:
                active.discard(service)
        return active

    def services_running(self) -> set[str]:
        """The service_ids that run on at least one date (removals aside)."""
        span = (self.end - self.start).astype(np.int64)
        weekday0 = _weekday(self.start)
        has_date = np.zeros(len(self.ids), bool)
        for k in range(7):
            has_date |= self.days[:, k] & (span >= (k - weekday0) % 7)
        added = self.exceptions.loc[self.exceptions["runs"], "service_id"]
        return set(self.ids[has_date].tolist()) | set(added.tolist())

    def trips_per_date(self, weights: pd.Series) -> pd.DataFrame:
        """Trips running on each date, given the trips a day of each service makes.

        Returns ``date`` (datetime64) and ``trips``, from the first to the last date any
        service runs; computed with difference arrays, so a calendar spanning decades
        costs no more than its number of days.
        """
        dates = [self.start, self.end, self.exceptions["date"].to_numpy("datetime64[D]")]
        dates = [d for d in dates if len(d)]
        if not dates:
            return pd.DataFrame(
                {"date": pd.Series(dtype="datetime64[s]"), "trips": pd.Series(dtype=np.int64)}
            )
        lo = min(d.min() for d in dates)
        hi = max(d.max() for d in dates)
        n = int((hi - lo).astype(np.int64)) + 1
        w_cal = weights.reindex(self.ids, fill_value=0).to_numpy(np.int64)
        trips = np.zeros(n + 7, np.int64)
        running = np.zeros(n + 7, np.int64)
        start = (self.start - lo).astype(np.int64)
        end = (self.end - lo).astype(np.int64)
        weekday0 = _weekday(self.start)
        weekday1 = _weekday(self.end)
        for k in range(7):
            first = start + (k - weekday0) % 7
            last = end - (weekday1 - k) % 7
            rows = self.days[:, k] & (first <= last)
            # +w on the first such weekday, -w a week after the last; the running sum
            # with a stride of 7 then covers every such weekday between them.
            for diff, w in ((trips, w_cal), (running, np.ones(len(w_cal), np.int64))):
                np.add.at(diff, first[rows], w[rows])
                np.add.at(diff, last[rows] + 7, -w[rows])
        for diff in (trips, running):
            for phase in range(7):
                diff[phase::7] = np.cumsum(diff[phase::7])
        ex = self.exceptions
        if len(ex):
            ex_dates = ex["date"].to_numpy("datetime64[D]")
            base = self._by_calendar(ex["service_id"].to_numpy(object), ex_dates)
            delta = ex["runs"].to_numpy(bool).astype(np.int64) - base.astype(np.int64)
            pos = (ex_dates - lo).astype(np.int64)
            w_ex = weights.reindex(ex["service_id"].to_numpy(object), fill_value=0).to_numpy(
                np.int64
            )
            np.add.at(trips, pos, delta * w_ex)
            np.add.at(running, pos, delta)
        trips, running = trips[:n], running[:n]
        served = np.flatnonzero(running > 0)
        if not len(served):
            return pd.DataFrame(
                {"date": pd.Series(dtype="datetime64[s]"), "trips": pd.Series(dtype=np.int64)}
            )
        a, b = int(served[0]), int(served[-1]) + 1
        days = lo + np.arange(a, b).astype("timedelta64[D]")
        return pd.DataFrame({"date": days.astype("datetime64[s]"), "trips": trips[a:b]})


def _weekday(dates: Any) -> Any:
    """Monday 0 ... Sunday 6 of datetime64[D] values (1970-01-01 was a Thursday)."""
    return (np.asarray(dates, "datetime64[D]").astype(np.int64) + 3) % 7


def frequency_counts(frequencies: pa.Table | None, where: str) -> pd.DataFrame:
    """Parse ``frequencies.txt`` into ``trip_id, start, end, headway, exact_times, n``.

    ``n`` is the number of trips the row expands to (end exclusive).
    """
    if frequencies is None or frequencies.num_rows == 0:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=object if c == "trip_id" else np.int64)
                for c in ("trip_id", "start", "end", "headway", "exact_times", "n", "_line")
            }
        )
    start = parse_times(frequencies, "start_time", where, allow_missing=False)
    end = parse_times(frequencies, "end_time", where, allow_missing=False)
    headway = parse_int(
        frequencies,
        "headway_secs",
        where,
        low=1,
        fix="give the headway as a positive number of seconds",
    )
    exact = parse_int(frequencies, "exact_times", where, default=0, low=0, high=1)
    n = np.maximum(-(-(end - start) // headway), 0)
    empty = np.flatnonzero(n == 0)
    if len(empty):
        i = int(empty[0])
        log.warning(
            "%s, line %d: %d frequencies row(s) whose end_time is not after their start_time "
            "(such as %s to %s of trip %r) make no trip: give an end_time after the start_time",
            where,
            frequencies["_line"][i].as_py(),
            len(empty),
            frequencies["start_time"][i].as_py(),
            frequencies["end_time"][i].as_py(),
            frequencies["trip_id"][i].as_py(),
        )
    return pd.DataFrame(
        {
            "trip_id": strings(frequencies, "trip_id"),
            "start": start,
            "end": end,
            "headway": headway,
            "exact_times": exact,
            "n": n,
            "_line": frequencies["_line"].to_numpy(),
        }
    )
