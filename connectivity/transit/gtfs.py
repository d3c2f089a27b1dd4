"""Loading GTFS feeds into a :class:`~connectivity.Timetable` for one service date.

:func:`load_timetable` reads one or several feeds (zip files or folders) exactly:

- the service date is given, or the busiest date is taken (the date with the most trips;
  see :func:`service_dates` for how trips are counted; ties go to the earliest date);
- ``calendar.txt`` and ``calendar_dates.txt`` (either or both);
- times are seconds after midnight of the service date, past 24:00:00 kept as such;
  trips of the *previous* service date still running after midnight (some time at or
  after 24:00:00) are included with their times minus 86,400 s (so they may start at a
  negative time), with ``day_offset`` -1 and ``@-1d`` appended to their ``trip_id``;
- ``frequencies.txt`` trips are expanded into one trip per departure, from
  ``start_time`` every ``headway_secs`` while before ``end_time`` (end exclusive), for
  ``exact_times`` 0 and 1 alike (``exact_times`` and ``headway`` are kept in
  ``Timetable.trips``); each expansion's ``trip_id`` is the template's followed by
  ``#HH:MM:SS`` (its first departure). A template trip runs only as its expansions;
- missing arrival or departure times are copied from the other of the pair; missing
  intermediate times are interpolated, by ``shape_dist_traveled`` when the trip has it
  at every stop, else by the straight-line distance between stops, else evenly, and
  flagged in ``Timetable.interpolated``;
- ``transfers.txt`` rules become ``Timetable.transfers`` (stop positions,
  ``transfer_type``, ``min_transfer_time`` (float seconds, NaN where not given), and the trip and
  route ids of trip- and route-specific rules);
- stations and platforms: every row of ``stops.txt`` is a stop (``location_type``,
  ``parent_station`` and its position ``parent`` kept), so routing can add station
  transfers;
- with several feeds, stop, route, trip and service ids are namespaced
  ``feed_id:id``; the feed id comes from ``feed_ids`` or the file (or folder) name.

Feeds are filtered to the service date early: only the trips of the services running on
the date (and the day before) are read from ``stop_times.txt``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity import settings
from connectivity._errors import CacheError, NoServiceError, ParameterError
from connectivity._files import atomic_path, cache_key, file_digest
from connectivity.transit._calendar import Calendar, frequency_counts
from connectivity.transit._feed import _Feed, _FeedDay
from connectivity.transit._read import (
    FeedSource,
    strings,
)
from connectivity.transit.modes import TransitMode
from connectivity.transit.timetable import Timetable

__all__ = ["TransitMode", "load_timetable", "service_dates"]

log = logging.getLogger(__name__)

#: Bump when the Timetable built from the same feeds changes, to leave old caches unused.
_CACHE_VERSION = 2  # 2: headway-based entries kept as patterns

FeedPath = str | os.PathLike[str]
Feeds = FeedPath | Sequence[FeedPath]


def _as_list(feeds: Feeds) -> list[Path]:
    if isinstance(feeds, str | os.PathLike):
        return [Path(feeds)]
    paths = [Path(f) for f in feeds]
    if not paths:
        raise ParameterError("no GTFS feed given: pass the path of at least one feed")
    return paths


def _feed_ids(paths: list[Path], feed_ids: Sequence[str] | None) -> list[str]:
    if feed_ids is None:
        ids = [p.name.removesuffix(".zip") if p.suffix == ".zip" else p.name for p in paths]
    else:
        ids = [str(i) for i in feed_ids]
        if len(ids) != len(paths):
            raise ParameterError(
                f"{len(ids)} feed_ids for {len(paths)} feeds: give one id per feed"
            )
    if len(set(ids)) != len(ids):
        raise ParameterError(
            f"the feed ids {ids} are not unique: pass feed_ids=[...] with one distinct id per feed"
        )
    bad = [i for i in ids if not i or ":" in i]
    if bad:
        raise ParameterError(f"feed id {bad[0]!r} is empty or holds ':': choose another")
    return ids


def _open_feeds(feeds: Feeds, feed_ids: Sequence[str] | None) -> list[_Feed]:
    paths = _as_list(feeds)
    ids = _feed_ids(paths, feed_ids)
    namespaced = len(paths) > 1
    out = []
    for path, feed_id in zip(paths, ids, strict=True):
        source = FeedSource(path)
        calendar = Calendar(source)
        trips = source.read("trips.txt", required=("route_id", "service_id", "trip_id"))
        assert trips is not None
        freq = frequency_counts(
            source.read(
                "frequencies.txt",
                required=("trip_id", "start_time", "end_time", "headway_secs"),
                optional=("exact_times",),
                must_exist=False,
            ),
            source.where("frequencies.txt"),
        )
        out.append(
            _Feed(
                source=source,
                feed_id=feed_id,
                prefix=f"{feed_id}:" if namespaced else "",
                calendar=calendar,
                trips=trips,
                trip_ids=strings(trips, "trip_id"),
                trip_services=strings(trips, "service_id"),
                frequencies=freq,
            )
        )
    return out


def _dates_of(feeds: list[_Feed]) -> pd.DataFrame:
    counts: list[pd.Series] = []
    for feed in feeds:
        per_service = pd.Series(feed.trip_weights()).groupby(feed.trip_services, sort=False).sum()
        per_date = feed.calendar.trips_per_date(per_service)
        counts.append(pd.Series(per_date["trips"].to_numpy(), index=per_date["date"].to_numpy()))
    total = pd.concat(counts).groupby(level=0).sum() if counts else pd.Series(dtype=np.int64)
    if len(total):
        full = pd.date_range(total.index.min(), total.index.max(), freq="D")
        total = total.reindex(full, fill_value=0)
    return pd.DataFrame(
        {
            "date": [d.date() for d in pd.DatetimeIndex(total.index)],
            "trips": total.to_numpy(np.int64),
        }
    )


def service_dates(feeds: Feeds, *, feed_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Count the trips running on each date of one or several feeds.

    A trip runs on a date when its service does (``calendar.txt`` weekdays between
    ``start_date`` and ``end_date``, plus ``calendar_dates.txt`` additions, minus its
    removals); a ``frequencies.txt`` template counts as the number of trips it expands to.
    Trips of the previous date running past midnight are not counted.

    Parameters
    ----------
    feeds
        A feed (zip or folder) or a list of them; counts are summed over the feeds.
    feed_ids
        Ids of the feeds (default: their file names); only checked here.

    Returns
    -------
    dates
        ``date`` (a :class:`datetime.date`) and ``trips``, one row per date from the first
        to the last date any service runs, dates without service included with 0.
    """
    return _dates_of(_open_feeds(feeds, feed_ids))


def _busiest(dates: pd.DataFrame, feeds: list[_Feed]) -> dt.date:
    if not len(dates) or dates["trips"].max() == 0:
        raise NoServiceError(
            f"no trip of {', '.join(str(f.source.path) for f in feeds)} runs on any date: "
            "check that trips.txt uses the service_ids of calendar.txt / calendar_dates.txt"
        )
    return dates["date"].iloc[int(np.argmax(dates["trips"].to_numpy()))]


def _no_service(day: dt.date, dates: pd.DataFrame, feeds: list[_Feed]) -> NoServiceError:
    span = (
        f"service runs from {dates['date'].iloc[0]} to {dates['date'].iloc[-1]}, "
        f"busiest {_busiest(dates, feeds)}"
        if len(dates) and dates["trips"].max() > 0
        else "no service on any date"
    )
    return NoServiceError(
        f"no trip runs on {day} in {', '.join(str(f.source.path) for f in feeds)} "
        f"({span}): choose another date"
    )


def _parse_date(date: dt.date | str) -> dt.date:
    if isinstance(date, dt.datetime):
        return date.date()
    if isinstance(date, dt.date):
        return date
    text = str(date).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ParameterError(f"cannot read the date {date!r}: write it as YYYY-MM-DD")


def load_timetable(
    feeds: Feeds,
    *,
    date: dt.date | str | None = None,
    feed_ids: Sequence[str] | None = None,
    use_cache: bool | None = None,
) -> Timetable:
    """Load one or several GTFS feeds into a :class:`Timetable` of one service date.

    Parameters
    ----------
    feeds
        A feed (a zip file or a folder of .txt files, possibly in one subfolder) or a list
        of them.
    date
        The service date (a date or ``"YYYY-MM-DD"``); default the busiest date, the one
        with the most trips (see :func:`service_dates`; ties go to the earliest).
    feed_ids
        One id per feed, used to namespace ids (``feed_id:stop_id``) when several feeds
        are loaded; default the file or folder names without ``.zip``.
    use_cache
        Whether to read and write the Timetable cache (``timetables/`` under
        ``connectivity.settings.cache_folder``, keyed by the feeds' content hashes, the
        feed ids and the date; safe to delete); default ``settings.use_cache``.

    Returns
    -------
    timetable
        The service date's trips (frequencies expanded, the previous date's trips after
        midnight included) in FIFO patterns; see the module docstring for every rule.

    Raises
    ------
    GtfsError
        A feed is malformed (the message names the file, line and column).
    NoServiceError
        No trip runs on the date.
    """
    paths = _as_list(feeds)
    requested = None if date is None else _parse_date(date)
    cache_file = None
    digests = None
    if (settings.use_cache if use_cache is None else use_cache) and all(p.exists() for p in paths):
        digests = [file_digest(p) for p in paths]
        key = cache_key("timetable", _CACHE_VERSION, digests, _feed_ids(paths, feed_ids), requested)
        cache_file = Path(settings.cache_folder) / "timetables" / f"{key}.pickle"
        cached = _read_cache(cache_file)
        if cached is not None:
            return cached
    timetable = _load(paths, requested, feed_ids, digests)
    if cache_file is not None:
        _write_cache(cache_file, timetable)
    return timetable


def _read_cache(path: Path) -> Timetable | None:
    if not path.exists():
        return None
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
    except Exception as exc:  # a corrupt or stale entry is rebuilt, never trusted
        log.warning("unreadable timetable cache %s (%s): rebuilding it", path, exc)
        return None
    if not isinstance(value, Timetable):
        log.warning("timetable cache %s holds no Timetable: rebuilding it", path)
        return None
    log.info("timetable read from the cache %s", path)
    value.meta["cache"] = str(path)
    return value


def _write_cache(path: Path, timetable: Timetable) -> None:
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            pickle.dump(timetable, f, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        raise CacheError(
            f"cannot write the timetable cache {path} ({exc}): set "
            "connectivity.settings.cache_folder to a writable folder, or pass use_cache=False"
        ) from None


def _load(
    paths: list[Path],
    day: dt.date | None,
    feed_ids: Sequence[str] | None,
    digests: list[str] | None = None,
) -> Timetable:
    opened = _open_feeds(paths, feed_ids)
    dates = _dates_of(opened)
    if day is None:
        day = _busiest(dates, opened)
        log.info("busiest service date: %s", day)
    else:
        on_day = dates.loc[dates["date"] == day, "trips"]
        on_prev = dates.loc[dates["date"] == day - dt.timedelta(days=1), "trips"]
        if int(on_day.sum()) == 0 and int(on_prev.sum()) == 0:
            raise _no_service(day, dates, opened)
    parts = [_FeedDay(feed, day) for feed in opened]
    if not any(len(p.trips) for p in parts):
        raise _no_service(day, dates, opened)
    stops = pd.concat([p.stops for p in parts], ignore_index=True).drop(columns="_gtfs_id")
    routes = pd.concat([p.routes for p in parts], ignore_index=True)
    trips = pd.concat([p.trips for p in parts], ignore_index=True)
    stop_offset = np.cumsum([0] + [len(p.stops) for p in parts])
    route_offset = np.cumsum([0] + [len(p.routes) for p in parts])
    trip_offset = np.cumsum([0] + [len(p.trips) for p in parts])
    for i, p in enumerate(parts):
        p.stop_times["trip"] += trip_offset[i]
        p.stop_times["stop"] += stop_offset[i]
        p.transfers["from_stop"] += stop_offset[i]
        p.transfers["to_stop"] += stop_offset[i]
    trips["route"] = np.concatenate(
        [p.trips["route"].to_numpy() + route_offset[i] for i, p in enumerate(parts)]
    ).astype(np.int64)
    stops["parent"] = np.concatenate(
        [
            np.where(p.stops["parent"] >= 0, p.stops["parent"] + stop_offset[i], -1)
            for i, p in enumerate(parts)
        ]
    ).astype(np.int64)
    stop_times = pd.concat([p.stop_times for p in parts], ignore_index=True)
    transfers = pd.concat([p.transfers for p in parts], ignore_index=True)
    meta: dict[str, Any] = {
        "feeds": [str(f.source.path) for f in opened],
        "feed_ids": [f.feed_id for f in opened],
        "digests": digests or [file_digest(f.source.path) for f in opened],
        "dropped_trips": sum(p.dropped for p in parts),
        "interpolated_times": int(stop_times["interpolated"].sum()),
    }
    return Timetable.from_frames(stops, routes, trips, stop_times, transfers, date=day, meta=meta)
