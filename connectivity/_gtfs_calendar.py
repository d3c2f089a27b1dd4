"""Service calendars: which service_ids run on which dates, and how many trips that makes.

``calendar.txt`` gives weekly patterns between two dates, ``calendar_dates.txt`` adds
(``exception_type`` 1) and removes (2) single dates; a feed may have either or both.
Trips are counted per date with each ``frequencies.txt`` template counted as the number
of trips it expands to (``ceil((end_time - start_time) / headway_secs)`` per row, end
exclusive), the way :func:`connectivity.gtfs.load_timetable` builds them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from connectivity._errors import GtfsError
from connectivity._gtfs_read import FeedSource, parse_dates, parse_int, parse_times, strings

__all__ = ["Calendar", "frequency_counts"]

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
        pairs = [np.zeros(0, object)], [np.zeros(0, "datetime64[D]")]
        if cal is not None and cal.num_rows:
            where = source.where("calendar.txt")
            start = parse_dates(cal, "start_date", where)
            end = parse_dates(cal, "end_date", where)
            days = np.stack(
                [
                    parse_int(cal, d, where, default=0, low=0, high=1, fix="use 0 or 1")
                    for d in _WEEKDAYS
                ],
                axis=1,
            ).astype(bool)
            ids = strings(cal, "service_id")
            lengths = np.maximum((end - start).astype(np.int64) + 1, 0)
            row = np.repeat(np.arange(len(ids)), lengths)
            offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            dates = start[row] + offset.astype("timedelta64[D]")
            weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
            keep = days[row, weekday]
            pairs[0].append(ids[row[keep]])
            pairs[1].append(dates[keep])
        frame = pd.DataFrame(
            {"service_id": np.concatenate(pairs[0]), "date": np.concatenate(pairs[1])}
        )
        self.added = self.removed = frame.iloc[:0]
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
            self.added = ex.loc[ex["type"] == 1, ["service_id", "date"]]
            self.removed = ex.loc[ex["type"] == 2, ["service_id", "date"]]
            frame = pd.concat([frame, self.added], ignore_index=True)
            if len(self.removed):
                key = pd.MultiIndex.from_frame(frame)
                gone = key.isin(pd.MultiIndex.from_frame(self.removed))
                frame = frame.loc[~gone]
        frame = frame.drop_duplicates(ignore_index=True)
        frame["date"] = frame["date"].astype("datetime64[s]")
        #: One row per (service_id, date) on which the service runs.
        self.pairs = frame

    def services_on(self, date: dt.date) -> set[str]:
        """The service_ids running on ``date``."""
        day = np.datetime64(date, "D")
        return set(self.pairs.loc[self.pairs["date"] == day, "service_id"].tolist())

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The first and last date any service runs (None when none ever does)."""
        if not len(self.pairs):
            return None
        return (
            pd.Timestamp(self.pairs["date"].min()).date(),
            pd.Timestamp(self.pairs["date"].max()).date(),
        )


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
