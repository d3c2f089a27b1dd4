"""Write a :class:`~connectivity.transit.timetable.Timetable` back to a GTFS zip.

The feed holds the timetable's one service day exactly: every trip with its stop times
(a headway-based entry, of the day or the previous day's runs after midnight, as its
template trip and a ``frequencies.txt`` row with ``exact_times=0``; trips expanded from
``exact_times=1`` entries as timed trips; interpolated times as given), the stops
and stations, the routes, and the stop-to-stop rules of ``transfers.txt``. Service is
described in ``calendar_dates.txt``: the service ``day`` runs on the timetable's date;
trips of the previous service day that run after midnight (``day_offset`` -1, ids ending
in ``@-1d``) are written under their id without the suffix, with their times plus 24
hours, in the service ``previous_day`` that runs on the day before. Loading the zip with
:func:`connectivity.transit.gtfs.load_timetable` on the same date gives back the same trips and
stop times.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError
from connectivity._files import atomic_path
from connectivity.transit.timetable import DAY, Timetable

__all__ = ["write_gtfs"]

logger = logging.getLogger(__name__)

_AGENCY_ID = "connectivity"
_PREVIOUS = "@-1d"


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


def _hms(seconds: np.ndarray) -> np.ndarray:
    s = np.asarray(seconds, np.int64)
    h, rest = np.divmod(s, 3600)
    m, sec = np.divmod(rest, 60)
    return np.char.add(
        np.char.add(
            np.char.add(np.char.zfill(h.astype(str), 2), ":"), np.char.zfill(m.astype(str), 2)
        ),
        np.char.add(":", np.char.zfill(sec.astype(str), 2)),
    )


def _text(values: Any) -> np.ndarray:
    return (
        pd.Series(values, dtype=object)
        .where(pd.notna(pd.Series(values)), "")
        .astype(str)
        .to_numpy()
    )


def _coordinates(values: pd.Series) -> list[str]:
    """Degrees written exactly (the shortest text that reads back as the same float), so
    stops snap to the same streets when the feed is loaded again."""
    return [
        np.format_float_positional(v, unique=True, trim="-") if np.isfinite(v) else ""
        for v in values.to_numpy(float)
    ]


def write_gtfs(
    timetable: Timetable,
    path: str | Path,
    *,
    date: dt.date | str | None = None,
    timezone: str = "UTC",
    agency_name: str = "connectivity scenario",
) -> Path:
    """Write the timetable as a GTFS zip (atomically).

    Parameters
    ----------
    timetable
        The timetable (of a feed, or of a scenario).
    path
        The zip to write.
    date
        The service date to write the trips on (default the timetable's date).
    timezone
        ``agency_timezone`` (an IANA name), as the source feed's.
    agency_name
        The one agency's name.

    Returns
    -------
    path
        The zip written.

    Raises
    ------
    ParameterError
        No date: the timetable has none and none is given; or two trips share a
        ``trip_id``.
    """
    day = timetable.date if date is None else date
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            raise ParameterError(f"date {date!r} is not YYYY-MM-DD") from None
    if day is None:
        raise ParameterError(
            "the timetable has no service date: give write_gtfs(..., date='YYYY-MM-DD')"
        )
    path = Path(path)
    tt = timetable
    stops = tt.stops
    stop_ids = stops["stop_id"].astype(str).to_numpy(object)

    stop_frame = pd.DataFrame(
        {
            "stop_id": stop_ids,
            "stop_name": _text(stops["stop_name"]),
            "stop_lat": _coordinates(stops["lat"]),
            "stop_lon": _coordinates(stops["lon"]),
        }
    )
    if "location_type" in stops.columns:
        stop_frame["location_type"] = stops["location_type"].fillna(0).astype(int).to_numpy()
    if "parent_station" in stops.columns:
        stop_frame["parent_station"] = _text(stops["parent_station"])

    used = tt.trips["pattern"].to_numpy(np.int64) >= 0
    trips = tt.trips[used]
    routes = tt.routes
    names = (
        _text(routes["route_short_name"])
        if "route_short_name" in routes.columns
        else np.full(len(routes), "", object)
    )
    long_names = (
        _text(routes["route_long_name"])
        if "route_long_name" in routes.columns
        else np.full(len(routes), "", object)
    )
    route_ids = routes["route_id"].astype(str).to_numpy(object)
    names = np.where((names == "") & (long_names == ""), route_ids, names)
    route_frame = pd.DataFrame(
        {
            "route_id": route_ids,
            "agency_id": _AGENCY_ID,
            "route_short_name": names,
            "route_long_name": long_names,
            "route_type": routes["route_type"].astype(int).to_numpy(),
        }
    )

    offset = (
        trips["day_offset"].to_numpy(np.int64)
        if "day_offset" in trips.columns
        else np.zeros(len(trips), np.int64)
    )
    trip_ids = trips["trip_id"].astype(str).to_numpy(object)
    previous = offset < 0
    if previous.any():
        trip_ids = trip_ids.copy()
        trip_ids[previous] = [
            t[: -len(_PREVIOUS)] if t.endswith(_PREVIOUS) else t for t in trip_ids[previous]
        ]
    trip_frame = pd.DataFrame(
        {
            "route_id": route_ids[trips["route"].to_numpy(np.int64)],
            "service_id": np.where(previous, "previous_day", "day"),
            "trip_id": trip_ids,
        }
    )
    if "direction_id" in trips.columns:
        d = pd.to_numeric(trips["direction_id"], errors="coerce")
        trip_frame["direction_id"] = d.map(lambda v: "" if pd.isna(v) else str(int(v))).to_numpy()

    st = tt.stop_times()
    pattern = tt.trips["pattern"].to_numpy(np.int64)[st["trip"].to_numpy()]
    pos = tt.pattern_stop_ptr[pattern] + st["stop_sequence"].to_numpy()
    row_of_trip = np.full(tt.n_trips, -1, np.int64)
    row_of_trip[np.flatnonzero(used)] = np.arange(int(used.sum()))
    trip_row = row_of_trip[st["trip"].to_numpy()]
    shift = np.where(previous[trip_row], DAY, 0)
    stop_time_frame = pd.DataFrame(
        {
            "trip_id": trip_ids[trip_row],
            "arrival_time": _hms(st["arrival"].to_numpy(np.int64) + shift),
            "departure_time": _hms(st["departure"].to_numpy(np.int64) + shift),
            "stop_id": stop_ids[st["stop"].to_numpy()],
            "stop_sequence": st["stop_sequence"].to_numpy() + 1,
            "pickup_type": np.where(tt.pattern_board[pos], 0, 1),
            "drop_off_type": np.where(tt.pattern_alight[pos], 0, 1),
            "_prev": previous[trip_row],
        }
    )

    trip_frame, stop_time_frame, frequencies = _headway_entries(
        tt, trips, trip_frame, stop_time_frame, previous
    )
    trip_frame, stop_time_frame = _merge_days(trip_frame, stop_time_frame)
    repeated = trip_frame["trip_id"].duplicated(keep=False).to_numpy()
    if repeated.any():
        # Written as they are, their stop times would merge into one trip when read back.
        raise ParameterError(
            f"{int(repeated.sum())} trips of the timetable share a trip_id (such as "
            f"{trip_frame['trip_id'].to_numpy()[repeated][0]!r}): give every trip of "
            "timetable.trips its own trip_id before writing it as GTFS"
        )
    services = [("day", day)]
    if (trip_frame["service_id"] != "day").any():
        services += [("previous_day", day - dt.timedelta(days=1)), ("both", day)]
        services += [("both", day - dt.timedelta(days=1))]
    calendar_dates = pd.DataFrame(
        {
            "service_id": [s for s, _ in services],
            "date": [d.strftime("%Y%m%d") for _, d in services],
            "exception_type": 1,
        }
    )
    files = {
        "agency.txt": pd.DataFrame(
            {
                "agency_id": [_AGENCY_ID],
                "agency_name": [agency_name],
                "agency_url": ["https://example.org/"],
                "agency_timezone": [timezone],
            }
        ),
        "stops.txt": stop_frame,
        "routes.txt": route_frame,
        "trips.txt": trip_frame,
        "stop_times.txt": stop_time_frame,
        "calendar_dates.txt": calendar_dates,
    }
    if frequencies is not None:
        files["frequencies.txt"] = frequencies
    transfers = _transfers(tt, stop_ids)
    if transfers is not None:
        files["transfers.txt"] = transfers
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in files.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _csv(frame))
    logger.info(
        "wrote %s: %d stops, %d routes, %d trips, %d stop times",
        path,
        len(stop_frame),
        len(route_frame),
        len(trip_frame),
        len(stop_time_frame),
    )
    return path


def _headway_entries(
    tt: Timetable,
    trips: pd.DataFrame,
    trip_frame: pd.DataFrame,
    stop_times: pd.DataFrame,
    previous: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The headway-based entries as what they are: one template trip (named as in the
    source, ``gtfs_trip_id``) with its run times, and a ``frequencies.txt`` row per entry
    (``exact_times=0``); their expanded trips are dropped. An entry of the previous
    day (its runs after midnight) is written the same way in the service
    ``previous_day``, from its first run after midnight to its end, plus 24 hours: read
    back, it gives the same runs. Its template is named ``<id>~previous`` where the day
    has a trip of that id (one trip_id cannot belong to two services)."""
    if tt.pattern_headway is None or not (tt.pattern_headway > 0).any():
        return trip_frame, stop_times, None
    pattern = trips["pattern"].to_numpy(np.int64)
    based = tt.pattern_headway[pattern] > 0
    if not based.any():
        return trip_frame, stop_times, None
    rows = np.flatnonzero(based)
    first_of = tt.pattern_trips[tt.pattern_trip_ptr[:-1]].astype(np.int64)  # per pattern
    position = trips.index.to_numpy()  # the trips' rows of timetable.trips
    is_first = position[rows] == first_of[pattern[rows]]
    source = trips["gtfs_trip_id"] if "gtfs_trip_id" in trips.columns else trips["trip_id"]
    names = source.astype(str).to_numpy(object).copy()
    day_ids = set(names[~previous]) | set(trip_frame["trip_id"][~previous])
    late = previous & np.isin(names, list(day_ids))
    names[late] = names[late] + "~previous"
    firsts = rows[is_first]
    shift = np.where(previous[firsts], DAY, 0)
    entries = pd.DataFrame(
        {
            "trip_id": names[firsts],
            "p": pattern[firsts],
            "start": tt.departures[tt.time_ptr[pattern[firsts]]].astype(np.int64) + shift,
        }
    )
    ends = tt.pattern_end[entries["p"].to_numpy()] if tt.pattern_end is not None else 0
    entries["end"] = ends + shift
    entries["headway_secs"] = tt.pattern_headway[entries["p"].to_numpy()]
    entries = entries.sort_values(["trip_id", "start"], kind="stable")
    # One template per source trip and day: the first trip of its earliest entry.
    keep_row = firsts[entries.drop_duplicates("trip_id").index.to_numpy()]
    drop = np.zeros(len(trip_frame), bool)
    drop[rows] = True
    drop[keep_row] = False
    old_ids = trip_frame["trip_id"].to_numpy(object)
    new_ids = old_ids.copy()
    new_ids[keep_row] = names[keep_row]
    trip_frame = trip_frame.assign(trip_id=new_ids)[~drop]
    # Previous-day trips share their ids with the day's (the suffix is gone): drop and
    # rename by (id, day), not by id alone.
    keep = np.zeros(len(old_ids), bool)
    keep[keep_row] = True
    on_prev = stop_times["_prev"].to_numpy(bool)
    ids = stop_times["trip_id"].to_numpy(object)
    written = ids.copy()
    gone = np.zeros(len(ids), bool)
    for day in (False, True):
        rows_st, side = on_prev == day, previous == day
        gone |= rows_st & pd.Index(ids).isin(old_ids[drop & side])
        names_of = pd.Series(new_ids[keep & side], index=old_ids[keep & side])
        at = rows_st & (names_of.index.get_indexer(ids) >= 0)
        written[at] = names_of.reindex(ids[at]).to_numpy()
    stop_times = stop_times.assign(trip_id=written)[~gone]
    frequencies = pd.DataFrame(
        {
            "trip_id": entries["trip_id"].to_numpy(),
            "start_time": _hms(entries["start"].to_numpy()),
            "end_time": _hms(entries["end"].to_numpy()),
            "headway_secs": entries["headway_secs"].to_numpy(np.int64),
            "exact_times": 0,
        }
    )
    return trip_frame.reset_index(drop=True), stop_times, frequencies


def _merge_days(trips: pd.DataFrame, stop_times: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One trip that runs on both days (same id, same times) is written once, in the
    service ``both``; a previous-day trip whose id is taken by another trip of the day
    gets the suffix ``~previous`` (valid, though its id then does not round-trip).
    ``stop_times["_prev"]`` marks the rows of previous-day trips (dropped here)."""
    prev = trips["service_id"].to_numpy() == "previous_day"
    day_ids = set(trips["trip_id"][~prev])
    clashes = {t for t in trips["trip_id"][prev] if t in day_ids}
    if not clashes:
        return trips, stop_times.drop(columns="_prev")
    cols = ["arrival_time", "departure_time", "stop_id", "pickup_type", "drop_off_type"]
    mine = stop_times[stop_times["trip_id"].isin(clashes)]
    same = set()
    for t, g in mine.groupby("trip_id"):
        a, b = g[~g["_prev"]], g[g["_prev"]]
        if len(a) == len(b) and (a[cols].to_numpy() == b[cols].to_numpy()).all():
            same.add(t)
    renamed = clashes - same
    on_prev = stop_times["_prev"].to_numpy()
    ids = stop_times["trip_id"]
    drop = on_prev & ids.isin(same).to_numpy()
    ren = on_prev & ids.isin(renamed).to_numpy()
    stop_times = stop_times.copy()
    stop_times.loc[ren, "trip_id"] = stop_times.loc[ren, "trip_id"] + "~previous"
    stop_times = stop_times[~drop].drop(columns="_prev")
    trips = trips.copy()
    t_ids = trips["trip_id"]
    trips = trips[~(prev & t_ids.isin(same).to_numpy())]
    prev = trips["service_id"].to_numpy() == "previous_day"
    ren_t = prev & trips["trip_id"].isin(renamed).to_numpy()
    trips.loc[ren_t, "trip_id"] = trips.loc[ren_t, "trip_id"] + "~previous"
    trips.loc[trips["trip_id"].isin(same) & ~prev, "service_id"] = "both"
    if renamed:
        logger.warning(
            "%d trips of the previous day share an id with another trip of the day; written "
            "as '<id>~previous'",
            len(renamed),
        )
    return trips, stop_times


def _transfers(tt: Timetable, stop_ids: np.ndarray) -> pd.DataFrame | None:
    tr = tt.transfers
    if tr is None or len(tr) == 0:
        return None
    bound = np.zeros(len(tr), bool)
    for col in ("from_trip_id", "to_trip_id", "from_route_id", "to_route_id"):
        if col in tr.columns:
            bound |= tr[col].notna().to_numpy() & (tr[col].astype(str).to_numpy() != "")
    q = pd.to_numeric(tr["from_stop"], errors="coerce").to_numpy()
    p = pd.to_numeric(tr["to_stop"], errors="coerce").to_numpy()
    ok = ~bound & np.isfinite(q) & np.isfinite(p)
    if bound.any():
        logger.info("left out %d transfers.txt rules bound to trips or routes", int(bound.sum()))
    if not ok.any():
        return None
    time = pd.to_numeric(tr["min_transfer_time"], errors="coerce").to_numpy(float)[ok]
    return pd.DataFrame(
        {
            "from_stop_id": stop_ids[q[ok].astype(np.int64)],
            "to_stop_id": stop_ids[p[ok].astype(np.int64)],
            "transfer_type": pd.to_numeric(tr["transfer_type"], errors="coerce")
            .fillna(0)
            .astype(int)
            .to_numpy()[ok],
            "min_transfer_time": [("" if not np.isfinite(v) else str(int(v))) for v in time],
        }
    )
