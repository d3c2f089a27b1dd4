"""One GTFS feed as the reader sees it: before and on the service date.

:class:`_Feed` holds what is read before the date is known (the source, the calendar,
``trips.txt`` and ``frequencies.txt``, which decide the busiest date); :class:`_FeedDay`
reads that feed's frames on one service date (stops, routes, the day's trips and their
``stop_times``, frequency expansions, interpolated times, transfers) with positions local
to the feed. :func:`connectivity.transit.gtfs.load_timetable` opens the feeds, chooses
the date and joins the days into one :class:`~connectivity.Timetable`; the rules it
follows are in that module's docstring.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectivity._errors import GtfsError
from connectivity.transit._calendar import Calendar
from connectivity.transit._read import (
    FeedSource,
    parse_float,
    parse_int,
    parse_times,
    strings,
)
from connectivity.transit.modes import route_modes
from connectivity.transit.timetable import DAY

log = logging.getLogger("connectivity.transit.gtfs")

_STOP_TIME_COLUMNS = (
    "pickup_type",
    "drop_off_type",
    "shape_dist_traveled",
)


@dataclass
class _Feed:
    """One feed's source, id, calendar, trips and frequencies (read before the date is
    known, as they decide it)."""

    source: FeedSource
    feed_id: str
    prefix: str
    calendar: Calendar
    trips: pa.Table
    trip_ids: np.ndarray
    trip_services: np.ndarray
    frequencies: pd.DataFrame

    def trip_weights(self) -> np.ndarray:
        """Trips each row of trips.txt makes on a day it runs (expansions counted)."""
        ids = pd.Index(self.trip_ids)
        first = ~ids.duplicated(keep="first")  # a repeated trip_id is ignored
        weights = first.astype(np.int64)
        if len(self.frequencies):
            per = self.frequencies.groupby("trip_id", sort=False)["n"].sum()
            rows = np.flatnonzero(first)
            idx = ids[first].get_indexer(per.index)
            known = idx >= 0
            weights[rows[idx[known]]] = per.to_numpy()[known]
        return weights


class _FeedDay:
    """The frames of one feed on one service date (positions local to the feed)."""

    def __init__(self, feed: _Feed, day: dt.date) -> None:
        self.feed = feed
        self.dropped = 0
        src, prefix = feed.source, feed.prefix
        self.stops, stop_index = self._stops()
        self.routes, route_index = self._routes()

        on_day = feed.calendar.services_on(day)
        on_prev = feed.calendar.services_on(day - dt.timedelta(days=1))
        services = feed.trip_services
        trips_table = feed.trips
        _bad_missing(trips_table, "trip_id", src.where("trips.txt"))
        ids = feed.trip_ids
        first = ~pd.Index(ids).duplicated(keep="first")
        if not first.all():
            dup = ids[~first][0]
            log.warning(
                "%s: %d duplicate trip_id(s) (such as %r): the first row of each is used",
                src.where("trips.txt"),
                int((~first).sum()),
                dup,
            )
        service_index = pd.Index(services)
        in_day = service_index.isin(list(on_day)) & first
        in_prev = service_index.isin(list(on_prev)) & first
        route_pos = route_index.get_indexer(strings(trips_table, "route_id"))
        unknown_route = (route_pos < 0) & (in_day | in_prev)
        if unknown_route.any():
            log.warning(
                "%s: %d trip(s) of the date refer to an unknown route_id (such as %r): "
                "they are left out",
                src.where("trips.txt"),
                int(unknown_route.sum()),
                strings(trips_table, "route_id")[unknown_route][0],
            )
            self.dropped += int((unknown_route & in_day).sum())
            in_day &= ~unknown_route
            in_prev &= ~unknown_route
        selected = np.flatnonzero(in_day | in_prev)
        sel_ids = ids[selected]

        # stop_times of the selected trips only.
        st_table = src.read(
            "stop_times.txt",
            required=("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
            optional=_STOP_TIME_COLUMNS,
        )
        assert st_table is not None
        where = src.where("stop_times.txt")
        trip_col = st_table["trip_id"]
        local = pc.index_in(trip_col, value_set=pa.array(sel_ids.tolist(), pa.string()))
        keep = pc.is_valid(local)
        st_table = st_table.filter(keep)
        local_trip = local.filter(keep).to_numpy(zero_copy_only=False).astype(np.int64)
        seq = parse_int(st_table, "stop_sequence", where, low=0)
        stop_pos = pc.index_in(
            st_table["stop_id"], value_set=pa.array(self.stops["_gtfs_id"].tolist(), pa.string())
        )
        stop_pos = stop_pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        arr = parse_times(st_table, "arrival_time", where)
        dep = parse_times(st_table, "departure_time", where)
        pickup = parse_int(st_table, "pickup_type", where, default=0, low=0, high=3)
        dropoff = parse_int(st_table, "drop_off_type", where, default=0, low=0, high=3)
        shape_dist = parse_float(st_table, "shape_dist_traveled", where)
        order = np.lexsort((seq, local_trip))
        local_trip, seq, stop_pos = local_trip[order], seq[order], stop_pos[order]
        arr, dep, pickup, dropoff = arr[order], dep[order], pickup[order], dropoff[order]
        shape_dist = shape_dist[order]

        n_sel = len(selected)
        counts = np.bincount(local_trip, minlength=n_sel)
        starts = np.concatenate([[0], np.cumsum(counts)])
        bad_trip = np.zeros(n_sel, bool)
        unknown_stop = stop_pos < 0
        if unknown_stop.any():
            bad_trip[np.unique(local_trip[unknown_stop])] = True
            log.warning(
                "%s: %d stop_times refer to an unknown stop_id (such as %r): their trips "
                "are left out",
                where,
                int(unknown_stop.sum()),
                st_table["stop_id"][int(order[np.flatnonzero(unknown_stop)[0]])].as_py(),
            )

        # Copy the missing half of a pair, then interpolate what is still missing.
        arr = np.where(arr < 0, dep, arr)
        dep = np.where(dep < 0, arr, dep)
        timed = arr >= 0
        has_rows = counts > 0
        first_row = starts[:-1][has_rows]
        last_row = starts[1:][has_rows] - 1
        untimed_end = np.zeros(n_sel, bool)
        untimed_end[has_rows] = ~timed[first_row] | ~timed[last_row]
        if untimed_end.any():
            log.warning(
                "%s: %d trip(s) lack a time at their first or last stop (such as %r): "
                "they are left out",
                where,
                int(untimed_end.sum()),
                sel_ids[np.flatnonzero(untimed_end)[0]],
            )
            bad_trip |= untimed_end
        interpolated = np.zeros(len(arr), bool)
        if not timed.all():
            arr, dep, interpolated = self._interpolate(
                arr, dep, timed, local_trip, bad_trip, stop_pos, shape_dist
            )
        backwards = np.zeros(n_sel, bool)
        if len(arr):
            same = local_trip[1:] == local_trip[:-1]
            back = same & ((arr[1:] < dep[:-1]) | (dep[:-1] < arr[:-1]))
            backwards[local_trip[1:][back]] = True
            backwards[local_trip[:-1][(dep < arr)[:-1] & same]] = True
        if backwards.any():
            log.warning(
                "%s: %d trip(s) go back in time between stops (such as %r): kept as given",
                where,
                int(backwards.sum()),
                sel_ids[np.flatnonzero(backwards)[0]],
            )
        self.dropped += int((bad_trip & in_day[selected]).sum())

        # Trip instances: (selected trip, day offset, shift in seconds, frequency row).
        t_first = np.full(n_sel, 0, np.int64)
        t_last = np.full(n_sel, -1, np.int64)
        t_first[has_rows] = dep[first_row]
        t_last[has_rows] = np.maximum.reduceat(np.maximum(arr, dep), starts[:-1][has_rows])
        freq = feed.frequencies
        fsel = pd.Index(sel_ids).get_indexer(freq["trip_id"].to_numpy(object))
        freq = freq.assign(sel=fsel).loc[fsel >= 0]
        is_template = np.zeros(n_sel, bool)
        is_template[freq["sel"].to_numpy(np.int64)] = True
        sel_day = in_day[selected] & ~bad_trip
        sel_prev = in_prev[selected] & ~bad_trip

        n_exp = freq["n"].to_numpy(np.int64)
        f_row = np.repeat(np.arange(len(freq)), n_exp)
        k = np.arange(n_exp.sum()) - np.repeat(np.cumsum(n_exp) - n_exp, n_exp)
        f_trip = freq["sel"].to_numpy(np.int64)[f_row]
        f_start = (
            freq["start"].to_numpy(np.int64)[f_row] + k * freq["headway"].to_numpy(np.int64)[f_row]
        )
        f_shift = f_start - t_first[f_trip]
        f_exact = freq["exact_times"].to_numpy(np.int64)[f_row]
        f_headway = freq["headway"].to_numpy(np.int64)[f_row]
        f_end = freq["end"].to_numpy(np.int64)[f_row]

        plain = np.flatnonzero(~is_template)
        inst: list[tuple[np.ndarray, ...]] = []
        # (trip, offset, shift, start label, exact, headway, headway entry, entry end):
        # a headway-based entry (exact_times=0) is one frequencies.txt row on one day.
        for offset, active in ((0, sel_day), (-1, sel_prev)):
            p = plain[active[plain]]
            if offset == -1:
                p = p[t_last[p] >= DAY]
            inst.append(
                (
                    p,
                    np.full(len(p), offset),
                    np.full(len(p), offset * DAY),
                    np.full(len(p), -1),
                    np.ones(len(p), np.int64),
                    np.zeros(len(p), np.int64),
                    np.full(len(p), -1),
                    np.zeros(len(p), np.int64),
                )
            )
            fm = active[f_trip]
            if offset == -1:
                fm &= t_last[f_trip] + f_shift >= DAY
            inst.append(
                (
                    f_trip[fm],
                    np.full(int(fm.sum()), offset),
                    f_shift[fm] + offset * DAY,
                    f_start[fm],
                    f_exact[fm],
                    f_headway[fm],
                    np.where(f_exact[fm] == 0, f_row[fm] * 2 - offset, -1),
                    f_end[fm] + offset * DAY,
                )
            )
        i_trip, i_off, i_shift, i_label, i_exact, i_headway, i_entry, i_end = (
            np.concatenate([part[j] for part in inst]).astype(np.int64) for j in range(8)
        )
        order_i = np.lexsort((i_label, i_trip, -i_off))
        i_trip, i_off, i_shift = i_trip[order_i], i_off[order_i], i_shift[order_i]
        i_label, i_exact, i_headway = i_label[order_i], i_exact[order_i], i_headway[order_i]
        i_entry, i_end = i_entry[order_i], i_end[order_i]

        base = trips_table.take(pa.array(selected[i_trip]))
        gtfs_ids = np.asarray([prefix + t for t in sel_ids[i_trip]], object)
        labels = np.asarray(
            [
                f"{g}#{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 0 else g
                for g, s in zip(gtfs_ids, i_label, strict=True)
            ],
            object,
        )
        labels = np.where(i_off < 0, labels + "@-1d", labels)
        trips = pd.DataFrame({"trip_id": labels, "gtfs_trip_id": gtfs_ids})
        for col in base.column_names:
            if col in ("trip_id", "_line"):
                continue
            values = strings(base, col)
            if col in ("route_id", "service_id", "shape_id", "block_id") and prefix:
                values = np.asarray([None if v is None else prefix + v for v in values], object)
            trips[col] = values
        trips["route"] = route_pos[selected[i_trip]]
        trips["feed_id"] = feed.feed_id
        trips["day_offset"] = i_off.astype(np.int8)
        trips["frequency"] = i_label >= 0
        trips["exact_times"] = i_exact.astype(np.int8)
        trips["headway"] = i_headway
        trips["headway_entry"] = i_entry
        trips["headway_end"] = np.where(i_entry >= 0, i_end, 0)
        self.trips = trips

        # Stop events of the instances.
        n_rows = counts[i_trip]
        rows = np.repeat(starts[i_trip] - np.cumsum(n_rows) + n_rows, n_rows) + np.arange(
            n_rows.sum()
        )
        shift = np.repeat(i_shift, n_rows)
        self.stop_times = pd.DataFrame(
            {
                "trip": np.repeat(np.arange(len(i_trip)), n_rows),
                "stop_sequence": seq[rows],
                "stop": stop_pos[rows],
                "arrival": arr[rows] + shift,
                "departure": dep[rows] + shift,
                "pickup_type": pickup[rows],
                "drop_off_type": dropoff[rows],
                "interpolated": interpolated[rows],
            }
        )
        self.transfers = self._transfers(stop_index)

    # -- pieces -----------------------------------------------------------------------

    def _stops(self) -> tuple[pd.DataFrame, pd.Index]:
        src, prefix = self.feed.source, self.feed.prefix
        table = src.read("stops.txt", required=("stop_id",))
        assert table is not None
        where = src.where("stops.txt")
        _bad_missing(table, "stop_id", where)
        table = _first_of_each(table, "stop_id", where)
        ids = strings(table, "stop_id")
        lat = parse_float(table, "stop_lat", where)
        lon = parse_float(table, "stop_lon", where)
        out_of_range = (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if out_of_range.any():
            i = int(np.flatnonzero(out_of_range)[0])
            raise GtfsError(
                f"{where}, line {table['_line'][i].as_py()}, column stop_lat/stop_lon: the "
                f"coordinates ({lat[i]}, {lon[i]}) are out of range: check for swapped or "
                "scaled values"
            )
        location_type = parse_int(table, "location_type", where, default=0, low=0, high=4)
        parent_raw = strings(table, "parent_station")
        index = pd.Index(ids)
        parent = np.where(
            pd.isna(parent_raw), -1, index.get_indexer(pd.Series(parent_raw).fillna(""))
        )
        stops = pd.DataFrame(
            {
                "stop_id": [prefix + s for s in ids] if prefix else ids,
                "stop_name": strings(table, "stop_name"),
                "lon": lon,
                "lat": lat,
                "location_type": location_type.astype(np.int8),
                "parent_station": [None if p is None else prefix + p for p in parent_raw],
                "parent": parent.astype(np.int64),
                "feed_id": self.feed.feed_id,
            }
        )
        for col in table.column_names:
            if col not in (
                "stop_id",
                "stop_name",
                "stop_lat",
                "stop_lon",
                "location_type",
                "parent_station",
                "_line",
            ):
                stops[col] = strings(table, col)
        stops["_gtfs_id"] = ids
        return stops, index

    def _routes(self) -> tuple[pd.DataFrame, pd.Index]:
        src, prefix = self.feed.source, self.feed.prefix
        table = src.read("routes.txt", required=("route_id", "route_type"))
        assert table is not None
        where = src.where("routes.txt")
        _bad_missing(table, "route_id", where)
        table = _first_of_each(table, "route_id", where)
        ids = strings(table, "route_id")
        route_type = parse_int(
            table,
            "route_type",
            where,
            low=0,
            fix="give a route type code such as 3 (bus) or 700 (extended)",
        )
        routes = pd.DataFrame(
            {
                "route_id": [prefix + r for r in ids] if prefix else ids,
                "route_type": route_type,
                "mode": route_modes(route_type),
                "feed_id": self.feed.feed_id,
            }
        )
        for col in table.column_names:
            if col not in ("route_id", "route_type", "_line"):
                routes[col] = strings(table, col)
        return routes, pd.Index(ids)

    def _transfers(self, stop_index: pd.Index) -> pd.DataFrame:
        src, prefix = self.feed.source, self.feed.prefix
        table = src.read(
            "transfers.txt",
            required=("from_stop_id", "to_stop_id"),
            optional=(
                "transfer_type",
                "min_transfer_time",
                "from_route_id",
                "to_route_id",
                "from_trip_id",
                "to_trip_id",
            ),
            must_exist=False,
        )
        columns = {
            "from_stop": pd.Series(dtype=np.int64),
            "to_stop": pd.Series(dtype=np.int64),
            "transfer_type": pd.Series(dtype=np.int64),
            "min_transfer_time": pd.Series(dtype=np.float64),
        }
        if table is None or table.num_rows == 0:
            return pd.DataFrame(columns)
        where = src.where("transfers.txt")
        from_stop = stop_index.get_indexer(pd.Series(strings(table, "from_stop_id")).fillna(""))
        to_stop = stop_index.get_indexer(pd.Series(strings(table, "to_stop_id")).fillna(""))
        frame = pd.DataFrame(
            {
                "from_stop": from_stop,
                "to_stop": to_stop,
                "transfer_type": parse_int(table, "transfer_type", where, default=0, low=0, high=5),
                "min_transfer_time": _transfer_times(table, where),
            }
        )
        for col in ("from_route_id", "to_route_id", "from_trip_id", "to_trip_id"):
            if col in table.column_names:
                frame[col] = [None if v is None else prefix + v for v in strings(table, col)]
        unknown = (from_stop < 0) | (to_stop < 0)
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            log.warning(
                "%s: %d transfer(s) refer to an unknown stop (such as line %d): left out",
                where,
                int(unknown.sum()),
                table["_line"][i].as_py(),
            )
        return frame.loc[~unknown].reset_index(drop=True)

    def _interpolate(
        self,
        arr: np.ndarray,
        dep: np.ndarray,
        timed: np.ndarray,
        trip: np.ndarray,
        bad_trip: np.ndarray,
        stop_pos: np.ndarray,
        shape_dist: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fill untimed stops between timed ones, by distance along the trip."""
        n = len(arr)
        idx = np.arange(n)
        usable = ~bad_trip[trip]
        anchor = timed | ~usable
        prev = np.maximum.accumulate(np.where(anchor, idx, -1))
        nxt = np.minimum.accumulate(np.where(anchor, idx, n)[::-1])[::-1]
        todo = ~anchor
        prev_t, next_t = prev[todo], nxt[todo]
        # Distance along the trip: shape_dist_traveled where the trip has it everywhere,
        # else the straight-line distance between consecutive stops.
        lon = np.radians(self.stops["lon"].to_numpy(np.float64))[np.maximum(stop_pos, 0)]
        lat = np.radians(self.stops["lat"].to_numpy(np.float64))[np.maximum(stop_pos, 0)]
        hop = np.zeros(n)
        if n > 1:
            dlat = lat[1:] - lat[:-1]
            dlon = (lon[1:] - lon[:-1]) * np.cos((lat[1:] + lat[:-1]) / 2)
            hop[1:] = np.hypot(dlat, dlon) * 6_371_000.0
            hop[1:][trip[1:] != trip[:-1]] = 0.0
        hop = np.nan_to_num(hop)
        cum = np.cumsum(hop)
        shape_ok = pd.Series(~np.isnan(shape_dist)).groupby(trip).transform("all").to_numpy(bool)
        dist = np.where(shape_ok, shape_dist, cum)
        d0, d1, di = dist[prev_t], dist[next_t], dist[todo]
        span = d1 - d0
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (di - d0) / span
        even = (idx[todo] - prev_t) / (next_t - prev_t)
        frac = np.where(np.isfinite(frac) & (span > 0) & (frac >= 0) & (frac <= 1), frac, even)
        t0, t1 = dep[prev_t], arr[next_t]
        filled = np.rint(t0 + frac * (t1 - t0)).astype(np.int64)
        arr, dep = arr.copy(), dep.copy()
        arr[todo] = filled
        dep[todo] = filled
        interpolated = todo.copy()
        return arr, dep, interpolated


def _bad_missing(table: pa.Table, column: str, where: str) -> None:
    nulls = np.asarray(table[column].is_null().to_numpy(zero_copy_only=False), bool)
    if nulls.any():
        i = int(np.flatnonzero(nulls)[0])
        raise GtfsError(
            f"{where}, line {table['_line'][i].as_py()}, column {column}: the value is "
            "missing: every record needs one"
        )


def _first_of_each(table: pa.Table, column: str, where: str) -> pa.Table:
    """Keep the first record of each id, with a warning when there are duplicates."""
    ids = strings(table, column)
    dup = pd.Index(ids).duplicated(keep="first")
    if not dup.any():
        return table
    log.warning(
        "%s: %d duplicate %s(s) (such as %r): the first record of each is used",
        where,
        int(dup.sum()),
        column,
        ids[dup][0],
    )
    return table.filter(pa.array(~dup))


def _transfer_times(table: pa.Table, where: str) -> np.ndarray:
    """min_transfer_time in seconds, NaN where not given; negative or bad values raise."""
    seconds = parse_float(table, "min_transfer_time", where, fix="give whole seconds")
    bad = np.isfinite(seconds) & ((seconds < 0) | (seconds != np.round(seconds)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GtfsError(
            f"{where}, line {table['_line'][i].as_py()}, column min_transfer_time: "
            f"{seconds[i]:g} is not a whole, non-negative number of seconds: fix it"
        )
    return seconds
