"""A routing-oriented audit of GTFS feeds: what is wrong, how often, and where.

:func:`audit` reads the feeds leniently (a bad time is counted, not raised) and returns
one row per kind of problem, with a severity:

- ``error``: routing on the feed would be wrong or impossible (no service on the date,
  references to unknown stops, routes or trips, duplicate ids, times going back,
  unparseable times or stop sequences, stops at (0, 0), served stops without
  coordinates, stop_times at stations, trips without a time at their first or last
  stop);
- ``warning``: suspicious but usable (zero hop times, implausible speeds for the mode,
  stops far outside the feed's extent, stops never served, trips of fewer than two
  stops, transfers or parent stations that point nowhere, services without dates,
  frequencies that make no trip);
- ``info``: worth knowing (intermediate times to be interpolated).

The summary (date range, busiest date, trips / routes / stops active on the date by
mode) is in ``frame.attrs["summary"]``. Structural problems that prevent reading a feed
at all (not a zip, a missing file or column, bad encoding) raise a :class:`GtfsError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectivity.transit._feed import _Feed
from connectivity.transit._read import parse_float, parse_times, strings
from connectivity.transit.gtfs import Feeds, _dates_of, _open_feeds, _parse_date
from connectivity.transit.modes import route_modes

__all__ = ["SPEED_LIMITS", "audit"]

#: Highest plausible straight-line speed between two stops, km/h, by mode class.
SPEED_LIMITS: dict[str, float] = {
    "tram": 100.0,
    "metro": 150.0,
    "rail": 350.0,
    "bus": 120.0,
    "ferry": 80.0,
    "cable": 50.0,
    "gondola": 50.0,
    "funicular": 50.0,
    "trolleybus": 100.0,
    "monorail": 150.0,
    "coach": 150.0,
    "air": 1000.0,
    "taxi": 150.0,
    "other": 350.0,
}

#: A stop is "far outside" when its distance from the median centre of the feed's stops
#: exceeds this many times the 95th percentile of those distances.
EXTENT_FACTOR = 3.0

COLUMNS = ["severity", "code", "count", "example", "file", "message"]
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class _Problems:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self, severity: str, code: str, count: int, example: str, file: str, message: str
    ) -> None:
        if count > 0:
            self.rows.append(
                {
                    "severity": severity,
                    "code": code,
                    "count": int(count),
                    "example": example,
                    "file": file,
                    "message": message,
                }
            )


def audit(
    feeds: Feeds,
    *,
    date: dt.date | str | None = None,
    feed_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Audit one or several GTFS feeds for what routing needs.

    Parameters
    ----------
    feeds
        A feed (zip or folder) or a list of them.
    date
        The service date to check (default: the busiest date).
    feed_ids
        Ids of the feeds (default: the file names), as in
        :func:`connectivity.transit.gtfs.load_timetable`.

    Returns
    -------
    problems
        One row per kind of problem found: ``severity`` (error, warning, info), ``code``,
        ``count``, ``example`` (one case, with its line), ``file`` and ``message``; errors
        first. ``problems.attrs["summary"]`` holds ``feeds``, ``first_date``,
        ``last_date``, ``busiest_date``, ``busiest_trips``, ``date``, ``trips``,
        ``routes``, ``stops`` (active on the date), ``headway_trips`` (of those trips,
        the ones of headway-based ``frequencies.txt`` entries, ``exact_times=0``) and
        ``by_mode`` (mode -> counts of trips, routes and stops), and ``usable`` (no error
        found).
    """
    opened = _open_feeds(feeds, feed_ids)
    dates = _dates_of(opened)
    served = dates[dates["trips"] > 0]
    busiest = dates["date"].iloc[int(np.argmax(dates["trips"].to_numpy()))] if len(served) else None
    day = busiest if date is None else _parse_date(date)
    problems = _Problems()
    by_mode: dict[str, dict[str, int]] = {}
    totals = {"trips": 0, "routes": 0, "stops": 0, "headway_trips": 0}
    for feed in opened:
        _audit_feed(feed, day, problems, by_mode, totals)
    on_day = int(dates.loc[dates["date"] == day, "trips"].sum()) if day is not None else 0
    if on_day == 0:
        span = (
            f"service runs from {served['date'].iloc[0]} to {served['date'].iloc[-1]}, "
            f"busiest {busiest}"
            if len(served)
            else "no trip runs on any date"
        )
        problems.add(
            "error",
            "no_service",
            1,
            str(day) if day is not None else "",
            "calendar.txt / calendar_dates.txt",
            f"no trip runs on the date ({span})",
        )
    frame = pd.DataFrame(problems.rows, columns=COLUMNS)
    if len(frame):
        frame["_order"] = frame["severity"].map(_SEVERITY_ORDER)
        frame = frame.sort_values(["_order", "count"], ascending=[True, False], kind="stable")
        frame = frame.drop(columns="_order").reset_index(drop=True)
    frame["count"] = frame["count"].astype(np.int64)
    frame.attrs["summary"] = {
        "feeds": [str(f.source.path) for f in opened],
        "first_date": served["date"].iloc[0] if len(served) else None,
        "last_date": served["date"].iloc[-1] if len(served) else None,
        "busiest_date": busiest,
        "busiest_trips": int(dates["trips"].max()) if len(dates) else 0,
        "date": day,
        **totals,
        "by_mode": dict(sorted(by_mode.items())),
        "usable": not (frame["severity"] == "error").any(),
    }
    return frame


class _Lazy:
    """A string column whose values are converted only where an example needs one."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.column = column

    def __getitem__(self, i: int) -> Any:
        return self.column[int(i)].as_py()

    def __len__(self) -> int:
        return len(self.column)


def _positions(column: pa.ChunkedArray, ids: np.ndarray) -> np.ndarray:
    """Position of each value of ``column`` among ``ids`` (unique), -1 where absent."""
    found = pc.index_in(column, value_set=pa.array(ids.tolist(), pa.string()))
    return np.asarray(found.fill_null(-1).to_numpy(), np.int64)


def _in_file(rows: np.ndarray, mask: Any) -> np.ndarray:
    """A mask over the file's rows, true at ``rows[mask]`` (rows in any order)."""
    out = np.zeros(int(rows.max(initial=-1)) + 1, bool)
    out[rows[mask]] = True
    return out


def _example(ids: Any, lines: np.ndarray, mask: np.ndarray, what: str) -> str:
    rows = np.flatnonzero(mask)
    if not len(rows):
        return ""
    i = int(rows[0])
    return f"{what} {ids[i]!r} (line {int(lines[i])})"


def _audit_feed(
    feed: _Feed,
    day: dt.date | None,
    problems: _Problems,
    by_mode: dict[str, dict[str, int]],
    totals: dict[str, int],
) -> None:
    src = feed.source

    def where(name: str) -> str:
        return src.where(name)

    # -- stops ------------------------------------------------------------------------
    stops = src.read("stops.txt", required=("stop_id",))
    assert stops is not None
    stop_ids = strings(stops, "stop_id")
    stop_lines = stops["_line"].to_numpy()
    lat = parse_float(stops, "stop_lat", where("stops.txt"))
    lon = parse_float(stops, "stop_lon", where("stops.txt"))
    loc_type = (
        pd.to_numeric(pd.Series(strings(stops, "location_type")), errors="coerce")
        .fillna(0)
        .to_numpy(np.int64)
    )
    dup = pd.Index(stop_ids).duplicated()
    problems.add(
        "error",
        "duplicate_id",
        int(dup.sum()),
        _example(stop_ids, stop_lines, dup, "stop_id"),
        where("stops.txt"),
        "stop_ids used by more than one stop (the first is used)",
    )
    stop_index = pd.Index(stop_ids[~dup])
    null_island = (lat == 0) & (lon == 0)
    problems.add(
        "error",
        "stop_at_zero",
        int(null_island.sum()),
        _example(stop_ids, stop_lines, null_island, "stop"),
        where("stops.txt"),
        "stops at (0, 0): their coordinates are missing",
    )
    located = np.isfinite(lat) & np.isfinite(lon) & ~null_island
    if located.sum() >= 3:
        clat, clon = np.median(lat[located]), np.median(lon[located])
        d = _metres(lat, lon, clat, clon)
        limit = EXTENT_FACTOR * max(float(np.quantile(d[located], 0.95)), 500.0)
        far = located & (d > limit)
        problems.add(
            "warning",
            "stop_far_away",
            int(far.sum()),
            _example(stop_ids, stop_lines, far, "stop"),
            where("stops.txt"),
            f"stops more than {limit / 1000:.1f} km ({EXTENT_FACTOR:g} x the 95th "
            "percentile) from the median centre of the feed's stops",
        )
    parents = strings(stops, "parent_station")
    has_parent = pd.notna(parents)
    bad_parent = has_parent & ~pd.Series(parents).isin(stop_ids).to_numpy()
    problems.add(
        "warning",
        "unknown_parent_station",
        int(bad_parent.sum()),
        _example(stop_ids, stop_lines, bad_parent, "stop"),
        where("stops.txt"),
        "stops whose parent_station is not a stop of the feed",
    )

    # -- routes and trips ----------------------------------------------------------------
    routes = src.read("routes.txt", required=("route_id", "route_type"))
    assert routes is not None
    route_ids = strings(routes, "route_id")
    route_dup = pd.Index(route_ids).duplicated()
    problems.add(
        "error",
        "duplicate_id",
        int(route_dup.sum()),
        _example(route_ids, routes["_line"].to_numpy(), route_dup, "route_id"),
        where("routes.txt"),
        "route_ids used by more than one route",
    )
    route_type = (
        pd.to_numeric(pd.Series(strings(routes, "route_type")), errors="coerce")
        .fillna(-1)
        .to_numpy(np.int64)
    )
    route_mode = pd.Series(route_modes(route_type), index=route_ids)
    route_mode = route_mode[~route_mode.index.duplicated()]

    trips = feed.trips
    trip_ids = feed.trip_ids
    trip_lines = trips["_line"].to_numpy()
    trip_routes = strings(trips, "route_id")
    trip_dup = pd.Index(trip_ids).duplicated()
    problems.add(
        "error",
        "duplicate_id",
        int(trip_dup.sum()),
        _example(trip_ids, trip_lines, trip_dup, "trip_id"),
        where("trips.txt"),
        "trip_ids used by more than one trip (the first is used)",
    )
    no_route = ~pd.Series(trip_routes).isin(route_ids).to_numpy()
    problems.add(
        "error",
        "unknown_route",
        int(no_route.sum()),
        _example(trip_routes, trip_lines, no_route, "route_id"),
        where("trips.txt"),
        "trips whose route_id is not in routes.txt (they are left out)",
    )
    known_services = feed.calendar.services_running()
    no_service = ~pd.Series(feed.trip_services).isin(known_services).to_numpy()
    problems.add(
        "warning",
        "unknown_service",
        int(no_service.sum()),
        _example(feed.trip_services, trip_lines, no_service, "service_id"),
        where("trips.txt"),
        "trips whose service_id runs on no date of calendar.txt / calendar_dates.txt",
    )
    freq = feed.frequencies
    no_template = ~freq["trip_id"].isin(trip_ids).to_numpy()
    problems.add(
        "error",
        "unknown_trip",
        int(no_template.sum()),
        _example(freq["trip_id"].to_numpy(), freq["_line"].to_numpy(), no_template, "trip_id"),
        where("frequencies.txt"),
        "frequencies of a trip_id that is not in trips.txt",
    )
    no_trip = (freq["n"] == 0).to_numpy()
    problems.add(
        "warning",
        "empty_frequency",
        int(no_trip.sum()),
        _example(freq["trip_id"].to_numpy(), freq["_line"].to_numpy(), no_trip, "trip_id"),
        where("frequencies.txt"),
        "frequencies whose end_time is not after their start_time: they make no trip",
    )

    # -- stop_times -----------------------------------------------------------------------
    st = src.read(
        "stop_times.txt",
        required=("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
        optional=(),
    )
    assert st is not None
    w = where("stop_times.txt")
    st_lines = st["_line"].to_numpy()
    st_trip = _Lazy(st["trip_id"])
    st_stop = _Lazy(st["stop_id"])
    trip_pos = _positions(st["trip_id"], trip_ids[~trip_dup])
    stop_pos = _positions(st["stop_id"], stop_ids[~dup])
    unknown_trip = trip_pos < 0
    problems.add(
        "error",
        "unknown_trip",
        int(unknown_trip.sum()),
        _example(st_trip, st_lines, unknown_trip, "trip_id"),
        w,
        "stop_times of a trip_id that is not in trips.txt",
    )
    unknown_stop = stop_pos < 0
    problems.add(
        "error",
        "unknown_stop",
        int(unknown_stop.sum()),
        _example(st_stop, st_lines, unknown_stop, "stop_id"),
        w,
        "stop_times at a stop_id that is not in stops.txt (their trips are left out)",
    )
    kept_loc = loc_type[~dup]
    at_station = (stop_pos >= 0) & (kept_loc[np.maximum(stop_pos, 0)] != 0)
    problems.add(
        "error",
        "stop_time_at_station",
        int(at_station.sum()),
        _example(st_stop, st_lines, at_station, "stop_id"),
        w,
        "stop_times at a stop whose location_type is not 0 (a station, entrance or node)",
    )
    served_stops = np.zeros(len(stop_index), bool)
    served_stops[stop_pos[stop_pos >= 0]] = True
    kept_located = np.isfinite(lat[~dup]) & np.isfinite(lon[~dup])
    no_place = served_stops & ~kept_located
    problems.add(
        "error",
        "stop_without_coordinates",
        int(no_place.sum()),
        _example(stop_ids[~dup], stop_lines[~dup], no_place, "stop"),
        where("stops.txt"),
        "stops served by trips without stop_lat / stop_lon: they cannot be reached on foot",
    )
    unserved = (kept_loc == 0) & ~served_stops
    problems.add(
        "warning",
        "stop_without_service",
        int(unserved.sum()),
        _example(stop_ids[~dup], stop_lines[~dup], unserved, "stop"),
        where("stops.txt"),
        "stops (location_type 0) that no trip of the feed serves",
    )

    try:
        seq = np.asarray(
            pc.cast(pc.fill_null(st["stop_sequence"], "nan"), pa.float64()).to_numpy(),
            np.float64,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        seq = pd.to_numeric(pd.Series(strings(st, "stop_sequence")), errors="coerce").to_numpy(
            np.float64
        )
    with np.errstate(invalid="ignore"):
        bad_seq = ~np.isfinite(seq) | (seq != np.round(seq)) | (seq < 0)
    problems.add(
        "error",
        "unparseable_value",
        int(bad_seq.sum()),
        _example(_Lazy(st["stop_sequence"]), st_lines, bad_seq, "stop_sequence"),
        w,
        "stop_sequence values that are not non-negative integers",
    )
    arr = parse_times(st, "arrival_time", w, strict=False)
    dep = parse_times(st, "departure_time", w, strict=False)
    bad_time = (arr == -2) | (dep == -2)
    problems.add(
        "error",
        "unparseable_time",
        int(bad_time.sum()),
        _example(
            _Lazy(st["arrival_time"])
            if bad_time.any() and arr[int(np.argmax(bad_time))] == -2
            else _Lazy(st["departure_time"]),
            st_lines,
            bad_time,
            "time",
        ),
        w,
        "times that are not HH:MM:SS",
    )
    arr = np.where(arr < 0, dep, arr)
    dep = np.where(dep < 0, arr, dep)
    timed = arr >= 0

    ok = ~unknown_trip & ~bad_seq
    rows = np.flatnonzero(ok)
    order = rows[np.lexsort((seq[rows], trip_pos[rows]))]
    t, s_ = trip_pos[order], seq[order]
    same = np.zeros(len(order), bool)
    same[1:] = t[1:] == t[:-1]
    dup_seq = same & np.concatenate([[False], s_[1:] == s_[:-1]])
    problems.add(
        "error",
        "stop_times_out_of_order",
        int(dup_seq.sum()),
        _example(st_trip, st_lines, _in_file(order, dup_seq), "trip"),
        w,
        "stop_sequence values repeated within a trip: the order of its stops is unknown",
    )
    counts = np.bincount(t, minlength=len(trip_ids[~trip_dup]))
    first = ~same
    last = np.concatenate([~same[1:], [True]]) if len(order) else np.zeros(0, bool)
    end_untimed = (first | last) & ~timed[order]
    problems.add(
        "error",
        "missing_end_time",
        int(end_untimed.sum()),
        _example(st_trip, st_lines, _in_file(order, end_untimed), "trip"),
        w,
        "first or last stops of trips without a time (the trips are left out)",
    )
    middle_untimed = ~(first | last) & ~timed[order] & ~bad_time[order]
    problems.add(
        "info",
        "interpolated_time",
        int(middle_untimed.sum()),
        _example(st_trip, st_lines, _in_file(order, middle_untimed), "trip"),
        w,
        "intermediate stops without times: they are interpolated by distance",
    )
    no_times = counts == 0
    kept_trip_ids = trip_ids[~trip_dup]
    problems.add(
        "warning",
        "trip_without_stop_times",
        int(no_times.sum()),
        _example(kept_trip_ids, trip_lines[~trip_dup], no_times, "trip"),
        where("trips.txt"),
        "trips without any stop_times",
    )
    one_stop = counts == 1
    problems.add(
        "warning",
        "trip_with_one_stop",
        int(one_stop.sum()),
        _example(kept_trip_ids, trip_lines[~trip_dup], one_stop, "trip"),
        where("trips.txt"),
        "trips of a single stop: nobody can ride them",
    )

    # Hops between consecutive timed stops of a trip.
    tm = order[timed[order]]
    tt = trip_pos[tm]
    hop = np.flatnonzero(tt[1:] == tt[:-1]) + 1
    a_i, b_i = tm[hop - 1], tm[hop]
    dwell_back = dep[tm] < arr[tm]
    hop_time = arr[b_i] - dep[a_i]
    back = hop_time < 0
    n_back = int(back.sum()) + int(dwell_back.sum())
    back_rows = np.concatenate([b_i[back], tm[dwell_back]])
    problems.add(
        "error",
        "time_goes_back",
        n_back,
        _example(st_trip, st_lines, _in_file(back_rows[:1], True), "trip"),
        w,
        "times that go back along a trip (an arrival before the previous departure, or a "
        "departure before its arrival)",
    )
    pa_stop, pb_stop = stop_pos[a_i], stop_pos[b_i]
    located_hop = (pa_stop >= 0) & (pb_stop >= 0)
    kept_lat, kept_lon = lat[~dup], lon[~dup]
    dist = np.full(len(hop), np.nan)
    dist[located_hop] = _metres(
        kept_lat[pa_stop[located_hop]],
        kept_lon[pa_stop[located_hop]],
        kept_lat[pb_stop[located_hop]],
        kept_lon[pb_stop[located_hop]],
    )
    zero = (hop_time == 0) & (np.nan_to_num(dist) > 0)
    problems.add(
        "warning",
        "zero_hop_time",
        int(zero.sum()),
        _example(st_trip, st_lines, _in_file(b_i[zero][:1], True), "trip"),
        w,
        "hops between two different places in zero seconds",
    )
    hop_route = trip_routes[~trip_dup][trip_pos[a_i]]
    mode = route_mode.reindex(hop_route).fillna("other").to_numpy(object)
    limit = pd.Series(mode).map(SPEED_LIMITS).fillna(SPEED_LIMITS["other"]).to_numpy(float)
    # Times rounded to the minute can make a hop up to a minute shorter than it is: allow
    # that minute, so that only speeds beyond rounding are reported.
    rounded = (dep[a_i] % 60 == 0) & (arr[b_i] % 60 == 0)
    allowed = hop_time + np.where(rounded, 60, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = dist / hop_time * 3.6
        fast = (hop_time > 0) & np.isfinite(speed) & (dist / allowed * 3.6 > limit)
    if fast.any():
        i = int(np.flatnonzero(fast)[0])
        example = (
            f"trip {st_trip[b_i[i]]!r} (line {int(st_lines[b_i[i]])}): {speed[i]:.0f} km/h "
            f"by {mode[i]}"
        )
    else:
        example = ""
    problems.add(
        "warning",
        "implausible_speed",
        int(fast.sum()),
        example,
        w,
        "hops faster than plausible for their mode, even allowing a minute of rounding ("
        + ", ".join(f"{m} {v:g}" for m, v in SPEED_LIMITS.items() if m in set(mode[fast]))
        + " km/h, straight line)",
    )

    # -- transfers --------------------------------------------------------------------------
    transfers = src.read(
        "transfers.txt",
        required=("from_stop_id", "to_stop_id"),
        optional=(),
        must_exist=False,
    )
    if transfers is not None and transfers.num_rows:
        ends = np.concatenate(
            [strings(transfers, "from_stop_id"), strings(transfers, "to_stop_id")]
        )
        lines = np.concatenate([transfers["_line"].to_numpy()] * 2)
        bad = ~pd.Series(ends).isin(stop_ids).to_numpy()
        problems.add(
            "warning",
            "unknown_stop",
            int(bad.sum()),
            _example(ends, lines, bad, "stop_id"),
            where("transfers.txt"),
            "transfers from or to a stop_id not in stops.txt (they are left out)",
        )

    # -- what runs on the date ----------------------------------------------------------------
    if day is None:
        return
    active = feed.calendar.services_on(day)
    on = pd.Series(feed.trip_services[~trip_dup]).isin(active).to_numpy() & (~no_route[~trip_dup])
    weights = feed.trip_weights()[~trip_dup]
    on_modes = route_mode.reindex(trip_routes[~trip_dup][on]).fillna("other").to_numpy(object)
    active_rows = order[on[t]] if len(order) else order
    stop_mode = pd.DataFrame(
        {
            "stop": stop_pos[active_rows],
            "mode": route_mode.reindex(trip_routes[~trip_dup][trip_pos[active_rows]])
            .fillna("other")
            .to_numpy(object),
        }
    )
    stop_mode = stop_mode[stop_mode["stop"] >= 0]
    frame = pd.DataFrame(
        {"mode": on_modes, "route": trip_routes[~trip_dup][on], "weight": weights[on]}
    )
    for m, group in frame.groupby("mode"):
        entry = by_mode.setdefault(str(m), {"trips": 0, "routes": 0, "stops": 0})
        entry["trips"] += int(group["weight"].sum())
        entry["routes"] += int(group["route"].nunique())
        entry["stops"] += int(stop_mode.loc[stop_mode["mode"] == m, "stop"].nunique())
    totals["trips"] += int(weights[on].sum())
    # Trips of headway-based entries (exact_times=0): a vehicle every so often, at no
    # minute the feed gives; routing draws their phases.
    ids = pd.Index(trip_ids)[~trip_dup]
    headway = np.zeros(len(ids), np.int64)
    freq = feed.frequencies
    if len(freq):
        based = freq.loc[freq["exact_times"].to_numpy() == 0]
        per = based.groupby("trip_id", sort=False)["n"].sum()
        idx = ids.get_indexer(per.index)
        known = idx >= 0
        headway[idx[known]] = per.to_numpy()[known]
    totals["headway_trips"] += int(headway[on].sum())
    totals["routes"] += int(pd.Series(trip_routes[~trip_dup][on]).nunique())
    totals["stops"] += int(stop_mode["stop"].nunique())


def _metres(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * 6_371_000.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1))), np.float64)


def format_report(problems: pd.DataFrame) -> str:
    """The audit as readable text (what ``connectivity gtfs-audit`` prints)."""
    s = problems.attrs.get("summary", {})
    lines = [f"GTFS audit of {', '.join(s.get('feeds', []))}"]
    if s.get("first_date") is not None:
        lines.append(f"  service dates: {s['first_date']} to {s['last_date']}")
        lines.append(f"  busiest date:  {s['busiest_date']} ({s['busiest_trips']} trips)")
    lines.append(
        f"  audited date:  {s.get('date')}: {s.get('trips', 0)} trips, "
        f"{s.get('routes', 0)} routes, {s.get('stops', 0)} stops"
    )
    if s.get("trips"):
        n = s.get("headway_trips", 0)
        lines.append(
            f"  headway-based: {n} of {s['trips']} trips ({n / s['trips']:.0%}) run from "
            "frequencies.txt with exact_times=0: every so often, at no given minute "
            "(routing draws their phases)"
        )
    by_mode = s.get("by_mode", {})
    if by_mode:
        lines.append("")
        lines.append(f"  {'mode':<12}{'trips':>8}{'routes':>8}{'stops':>8}")
        for mode, c in by_mode.items():
            lines.append(f"  {mode:<12}{c['trips']:>8}{c['routes']:>8}{c['stops']:>8}")
    lines.append("")
    if not len(problems):
        lines.append("No problems found.")
    else:
        lines.append(f"{len(problems)} kind(s) of problem:")
        for row in problems.itertuples(index=False):
            lines.append(f"  {row.severity.upper():<8}{row.code} x{row.count}: {row.message}")
            lines.append(f"          in {row.file}; e.g. {row.example}")
    lines.append("")
    lines.append(
        "Usable for routing." if s.get("usable") else "NOT usable for routing: fix the errors."
    )
    return "\n".join(lines)
