"""Applying scenario modifications to a baseline network.

:func:`apply_scenario` returns a new :class:`~connectivity.network.intermodal.IntermodalNetwork`
that shares the baseline's street networks and reuses its stop links, footpaths and stop
trees: only the new stops are linked to the walk network and walked from (their trees
and footpaths, in both directions; :mod:`connectivity.scenarios._incremental`), so a
variant costs a timetable build and a few limited Dijkstras, never a network build. The
timetable is rebuilt by :meth:`~connectivity.transit.timetable.Timetable.from_frames`
from the baseline's stop events plus the changes (:func:`scenario_timetable`).

The rules, as the tests check them:

- times are integer seconds after midnight; a headway period ``[start, end)`` runs
  departures ``start, start + headway, ...`` before ``end``;
- a new line follows the streets of ``line_streets`` through its stops or waypoints
  (:mod:`connectivity.scenarios.line_routing`; straight with ``follow_streets=False``;
  a mapping gives each mode its network, a tram the tracks of
  :func:`connectivity.with_tram_tracks`);
  a new stop within ``reuse_stops_m`` of an existing stop, or named by its id, is that
  stop; its trip leaves its first stop at the departure, takes the run time to each
  next stop (the path's road times times ``bus_factor`` for a bus on a drive network,
  else ``distance / speed``, or the given run times; rounded to whole seconds along
  the line) and waits ``dwell`` seconds at every intermediate stop; the return trip runs
  the stops in reverse with the run times reversed, from the same departures;
- :class:`~connectivity.scenarios.modifications.ChangeFrequency` works per pattern and
  service day, within each service period (departures without a gap over
  :data:`~connectivity.scenarios.modifications.SERVICE_GAP`, 2 hours): it keeps the
  period's first and last departures; from a departure ``t`` the next is
  ``t + h(t) / scale`` where ``h(t)`` is the baseline gap between the departures around
  ``t`` (``scale`` 2 doubles the service, 0.5 halves it), or ``t + headway``; with
  ``headways`` by period the routes run only in those periods, ``start, start +
  headway, ...`` before each period's end; each new trip copies the running times of
  the latest baseline trip of the pattern that leaves at or before it (the first one
  before the first);
- a removed stop loses its stop events (trips skip it) and its links to the streets;
- :class:`~connectivity.scenarios.modifications.AddStop` puts the stop between two
  consecutive stops ``a`` and ``b`` of every trip of the route that visits them (in
  either order): it is reached at the time interpolated by the stop's position along the
  straight segment ``a``-``b``, and ``dwell`` seconds are added to the rest of the trip;
- :class:`~connectivity.scenarios.modifications.Reroute` removes a skipped stop's events
  from the route's trips and takes its dwell (departure minus arrival) off the rest of
  each trip; an extension is planned as a new line from the terminus (stops, reuse, run
  times as above): a trip ending at the terminus stops there ``dwell`` seconds and runs
  on; a trip starting there starts at the far end so that it reaches the terminus
  ``dwell`` seconds before its old departure; the terminus then allows boarding and
  alighting; trip ids stay.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ScenarioError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.scenarios._incremental import _Applied, _incremental_arrays
from connectivity.scenarios._new_line import _hms, add_line, plan_line, stop_offsets
from connectivity.scenarios.modifications import (
    ROUTE_TYPES,
    SERVICE_GAP,
    AddLine,
    AddStop,
    ChangeFrequency,
    RemoveRoutes,
    RemoveStops,
    Reroute,
    _check_lonlat,
    _id_list,
    _positive,
    period_departures,
    period_headways,
)
from connectivity.transit.modes import TransitMode, route_modes
from connectivity.transit.timetable import Timetable

__all__ = [
    "apply_scenario",
    "baseline_frames",
    "empty_timetable",
    "line_geometries",
    "scenario_timetable",
]

logger = logging.getLogger(__name__)


# -- the working frames ------------------------------------------------------------------


class _Frames:
    """The timetable as editable frames: stops, routes, trips, stop events."""

    def __init__(self, tt: Timetable | None) -> None:
        if tt is None:
            self.stops = pd.DataFrame(
                {
                    "stop_id": pd.Series(dtype=object),
                    "stop_name": pd.Series(dtype=object),
                    "lon": pd.Series(dtype=float),
                    "lat": pd.Series(dtype=float),
                }
            )
            self.routes = pd.DataFrame(
                {
                    "route_id": pd.Series(dtype=object),
                    "route_type": pd.Series(dtype=np.int64),
                    "mode": pd.Series(dtype=object),
                }
            )
            self.trips = pd.DataFrame(
                {"trip_id": pd.Series(dtype=object), "route": pd.Series(dtype=np.int64)}
            )
            self.st = {
                c: np.zeros(0, np.int64)
                for c in ("trip", "stop", "stop_sequence", "arrival", "departure")
            }
            self.st["pickup_type"] = np.zeros(0, np.int8)
            self.st["drop_off_type"] = np.zeros(0, np.int8)
            self.st["interpolated"] = np.zeros(0, bool)
            self.transfers = None
            self.date = None
            self.meta: dict[str, Any] = {}
            return
        frame = tt.stop_times()
        pattern = tt.trips["pattern"].to_numpy(np.int64)[frame["trip"].to_numpy()]
        pos = tt.pattern_stop_ptr[pattern] + frame["stop_sequence"].to_numpy()
        self.st = {c: frame[c].to_numpy() for c in frame.columns}
        self.st["pickup_type"] = np.where(tt.pattern_board[pos], 0, 1).astype(np.int8)
        self.st["drop_off_type"] = np.where(tt.pattern_alight[pos], 0, 1).astype(np.int8)
        self.stops = tt.stops
        self.routes = tt.routes
        self.trips = tt.trips.drop(columns=["pattern"])
        self.transfers = tt.transfers
        self.date = tt.date
        self.meta = dict(tt.meta)

    def copy(self) -> _Frames:
        out = _Frames.__new__(_Frames)
        out.stops, out.routes, out.trips = self.stops, self.routes, self.trips
        out.st = dict(self.st)
        out.transfers, out.date, out.meta = self.transfers, self.date, dict(self.meta)
        return out

    # -- look-ups --------------------------------------------------------------------

    def route_positions(self, route_ids: Iterable[str], where: str) -> np.ndarray:
        known = self.routes["route_id"].astype(str).to_numpy(object)
        index = {r: i for i, r in enumerate(known)}
        missing = [r for r in route_ids if r not in index]
        if missing:
            sample = ", ".join(map(repr, known[:8])) or "none"
            raise ScenarioError(
                f"{where}: unknown route id(s) {', '.join(map(repr, missing))}; the "
                f"timetable has {len(known)} routes (e.g. {sample}; ids of several feeds "
                "are namespaced 'feed_id:route_id')"
            )
        return np.asarray([index[r] for r in route_ids], np.int64)

    def stop_positions(self, stop_ids: Iterable[str], where: str) -> np.ndarray:
        known = self.stops["stop_id"].astype(str).to_numpy(object)
        index = {s: i for i, s in enumerate(known)}
        missing = [s for s in stop_ids if s not in index]
        if missing:
            sample = ", ".join(map(repr, known[:8])) or "none"
            raise ScenarioError(
                f"{where}: unknown stop id(s) {', '.join(map(repr, missing))}; the "
                f"timetable has {len(known)} stops (e.g. {sample})"
            )
        return np.asarray([index[s] for s in stop_ids], np.int64)

    # -- edits -----------------------------------------------------------------------

    def add_stops(self, ids: list[str], names: list[str], lon: np.ndarray, lat: np.ndarray) -> int:
        known = set(self.stops["stop_id"].astype(str))
        clash = [s for s in ids if s in known]
        if clash or len(set(ids)) != len(ids):
            raise ScenarioError(
                f"stop id(s) {', '.join(map(repr, clash or ids))} already exist: give the new "
                "stops other ids (or the line another name)"
            )
        first = len(self.stops)
        rows = pd.DataFrame({"stop_id": ids, "stop_name": names, "lon": lon, "lat": lat})
        if "location_type" in self.stops.columns:
            rows["location_type"] = np.zeros(len(ids), self.stops["location_type"].dtype)
        if "parent" in self.stops.columns:
            rows["parent"] = -1
        if "feed_id" in self.stops.columns:
            rows["feed_id"] = "scenario"
        self.stops = _concat(self.stops, rows)
        return first

    def add_route(self, route_id: str, mode: TransitMode) -> int:
        known = set(self.routes["route_id"].astype(str))
        if route_id in known:
            raise ScenarioError(
                f"line {route_id!r}: a route with this id already exists; name the line differently"
            )
        row = pd.DataFrame(
            {
                "route_id": [route_id],
                "route_type": [ROUTE_TYPES[mode]],
                "mode": [mode.value],
                "route_short_name": [route_id],
            }
        )
        if "feed_id" in self.routes.columns:
            row["feed_id"] = "scenario"
        self.routes = _concat(self.routes, row)
        return len(self.routes) - 1

    def add_trips(self, trips: pd.DataFrame, events: Mapping[str, np.ndarray]) -> None:
        """Append trips (their stop events' ``trip`` counted from 0 within ``trips``)."""
        first = len(self.trips)
        self.trips = _concat(self.trips, trips)
        ev = dict(events)
        ev["trip"] = np.asarray(ev["trip"], np.int64) + first
        n = len(ev["trip"])
        ev.setdefault("pickup_type", np.zeros(n, np.int8))
        ev.setdefault("drop_off_type", np.zeros(n, np.int8))
        ev.setdefault("interpolated", np.zeros(n, bool))
        for c in self.st:
            self.st[c] = np.concatenate([self.st[c], np.asarray(ev[c]).astype(self.st[c].dtype)])

    def keep_events(self, keep: np.ndarray) -> None:
        for c in self.st:
            self.st[c] = self.st[c][keep]

    def timetable(self) -> Timetable:
        # Keep the trips that still have stop events (removed or replaced ones go).
        used, inverse = np.unique(self.st["trip"], return_inverse=True)
        st = pd.DataFrame({**self.st, "trip": inverse.astype(np.int64)})
        return Timetable.from_frames(
            self.stops,
            self.routes,
            self.trips.iloc[used],
            st,
            self.transfers,
            date=self.date,
            meta=self.meta,
        )


def _concat(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    if len(frame) == 0:
        out = rows.copy()
        for c in frame.columns:
            if c not in out.columns:
                out[c] = pd.Series([None] * len(out), dtype=object)
        return out.reset_index(drop=True)
    return pd.concat([frame, rows], ignore_index=True)


# -- applying each modification --------------------------------------------------------


class _Context:
    """What the modifications need of the network: projections, the walk network."""

    def __init__(self, network: IntermodalNetwork, line_streets: Any = None) -> None:
        self.network = network
        self.walk = network.streets
        self.line_streets = line_streets if line_streets is not None else network.streets
        self.max_link = float(network.params["max_link_distance"])
        self.new_stops: list[int] = []
        self.removed_stops: set[int] = set()
        self.lines: list[dict[str, Any]] = []

    def streets_for(self, mode: str) -> Any:
        """The network a new line of ``mode`` follows: ``line_streets``, or its entry
        for the mode where it is a mapping (``{"tram": ..., "default": ...}``)."""
        if isinstance(self.line_streets, Mapping):
            found = self.line_streets.get(mode)  # None (no tracks mapped): the default
            if found is None:
                found = self.line_streets.get("default")
            return found if found is not None else self.walk
        return self.line_streets

    def to_xy(self, a: Any, b: Any, inverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if inverse:
            from pyproj import Transformer

            t = Transformer.from_crs(self.walk.crs, "EPSG:4326", always_xy=True)
            return t.transform(np.asarray(a, float), np.asarray(b, float))
        return self.walk._to_crs.transform(np.asarray(a, float), np.asarray(b, float))

    def usable_stops(self, frames: _Frames) -> np.ndarray:
        """Existing stops a new line may stop at: not removed, not stations."""
        ok = np.ones(len(frames.stops), bool)
        ok[list(self.removed_stops)] = False
        if "location_type" in frames.stops.columns:
            ok &= frames.stops["location_type"].fillna(0).to_numpy() == 0
        return ok

    def check_on_network(self, lon: np.ndarray, lat: np.ndarray, what: list[str]) -> None:
        """Every point must lie within ``max_link_distance`` of a walk edge."""
        snapped = self.walk.snap(lon, lat, max_distance=self.max_link * 4 + 1e7)
        far = np.flatnonzero(snapped.distance > self.max_link)
        if len(far):
            i = int(far[0])
            raise ScenarioError(
                f"{what[i]} at ({lon[i]:.6f}, {lat[i]:.6f}) lies {snapped.distance[i]:.0f} m "
                f"from the nearest street ({len(far)} of {len(lon)} points farther than "
                f"max_link_distance={self.max_link:.0f} m): the line is outside the street "
                f"network ({self.walk.extent_text()}); check the coordinates are (lon, lat)"
            )


def _trip_of_events(frames: _Frames) -> tuple[np.ndarray, np.ndarray]:
    """Per trip its first event row and count (events are grouped by trip, in order)."""
    trip = frames.st["trip"]
    seq = frames.st["stop_sequence"]
    step = np.diff(trip)
    grouped = bool((step >= 0).all() and (np.diff(seq)[step == 0] > 0).all())
    if not grouped:
        frames.keep_events(np.lexsort((seq, trip)))
    counts = np.bincount(frames.st["trip"], minlength=len(frames.trips))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return starts, counts.astype(np.int64)


def _remove_routes(frames: _Frames, mod: RemoveRoutes, ctx: _Context) -> None:
    routes = frames.route_positions(_id_list(mod.route_ids, "RemoveRoutes"), "RemoveRoutes")
    drop_trip = np.isin(frames.trips["route"].to_numpy(np.int64), routes)
    frames.keep_events(~drop_trip[frames.st["trip"]])


def _remove_stops(frames: _Frames, mod: RemoveStops, ctx: _Context) -> None:
    stops = frames.stop_positions(_id_list(mod.stop_ids, "RemoveStops"), "RemoveStops")
    frames.keep_events(~np.isin(frames.st["stop"], stops))
    ctx.removed_stops.update(int(s) for s in stops)


def _change_frequency(frames: _Frames, mod: ChangeFrequency, ctx: _Context) -> None:
    where = "ChangeFrequency"
    ids = _id_list(mod.route_ids, where)
    routes = frames.route_positions(ids, where)
    headways = getattr(mod, "headways", None)
    if sum(x is not None for x in (mod.scale, mod.headway, headways)) != 1:
        raise ScenarioError(f"{where} of {ids}: give one of scale, headway or headways")
    periods = None if headways is None else period_headways(headways, f"{where} of {ids}")
    scale = None if mod.scale is None else _positive(mod.scale, f"{where} of {ids}: scale")
    headway = (
        None
        if mod.headway is None
        else _positive(mod.headway, f"{where} of {ids}: the headway", " seconds")
    )
    starts, counts = _trip_of_events(frames)
    st = frames.st
    route_of_trip = frames.trips["route"].to_numpy(np.int64)
    chosen = np.flatnonzero(np.isin(route_of_trip, routes) & (counts >= 2))
    if len(chosen) == 0:
        logger.info("%s: routes %s run no trip on the day; nothing to change", where, ids)
        return
    # Group the routes' trips by their stop sequence (and rules) and service day.
    offset = (
        frames.trips["day_offset"].to_numpy(np.int64)
        if "day_offset" in frames.trips.columns
        else np.zeros(len(frames.trips), np.int64)
    )
    keys: dict[bytes, list[int]] = {}
    for trip in chosen:
        s, c = starts[trip], counts[trip]
        code = st["stop"][s : s + c] * 4 + st["pickup_type"][s : s + c] * 2
        code = code + st["drop_off_type"][s : s + c]
        key = np.asarray([route_of_trip[trip], offset[trip]], np.int64).tobytes()
        keys.setdefault(key + code.tobytes(), []).append(int(trip))
    trip_rows: list[pd.Series] = []
    events: dict[str, list[np.ndarray]] = {c: [] for c in st}
    route_ids = frames.routes["route_id"].astype(str).to_numpy(object)
    has_direction = "direction_id" in frames.trips.columns
    names_used: dict[str, int] = {}
    for group, members in enumerate(keys.values()):
        m = np.asarray(members, np.int64)
        # The group's entries are named as AddLine names a line's: route:direction:period
        # (a second pattern of the same direction gets ~k), so the same service written
        # either way draws the same phases.
        d = frames.trips["direction_id"].iloc[int(m[0])] if has_direction else None
        direction = str(int(d)) if d is not None and not pd.isna(d) else f"p{group}"
        base = f"{route_ids[route_of_trip[m[0]]]}:{direction}"
        k = names_used.get(base, 0)
        names_used[base] = k + 1
        line_name = base if k == 0 else f"{base}~{k}"
        first_dep = st["departure"][starts[m]]
        order = np.lexsort((m, first_dep))
        m, first_dep = m[order], first_dep[order]
        new: list[int] = []
        # A headway (or headways by period) makes headway-based entries, (start, end,
        # headway) each. A scale keeps the timetable's kind of trips: a headway-based
        # entry stays one, over the same span, every headway / scale; timed trips are
        # timed again, every baseline gap / scale.
        entries: list[tuple[int, int, int]] = []
        entry_of: dict[int, int] = {}  # new departure -> its entry (the others are timed)
        timed = np.ones(len(m), bool)
        if periods is not None:
            new = period_departures(periods).tolist()
            entries = [(int(a), int(b), int(round(h))) for a, b, h in periods]
            entry_of = {d: _entry_at(entries, d) for d in new}
        elif scale is not None and "headway_entry" in frames.trips.columns:
            was = frames.trips["headway_entry"].fillna(-1).to_numpy(np.int64)[m]
            timed = was < 0
            for entry in pd.unique(was[~timed]):
                first = int(np.flatnonzero(was == entry)[0])
                start = int(first_dep[first])
                end = int(frames.trips["headway_end"].iloc[int(m[first])])
                step = max(
                    1, int(round(float(frames.trips["headway"].iloc[int(m[first])]) / scale))
                )
                made = list(range(start, end, step))
                entry_of.update((d, len(entries)) for d in made)
                entries.append((start, end, step))
                new += made
        if periods is None and timed.any():
            # Service periods: runs of departures without a gap over SERVICE_GAP seconds.
            deps = first_dep[timed]
            cuts = np.flatnonzero(np.diff(deps) > SERVICE_GAP) + 1
            for period in np.split(deps, cuts):
                made = _new_departures(period, scale, headway)
                new += made
                if headway is not None:
                    entry_of.update((d, len(entries)) for d in made)
                    entries.append((made[0], made[-1] + 1, int(round(headway))))
        for dep in np.unique(np.asarray(new, np.int64)):
            i = int(np.searchsorted(first_dep, dep, side="right")) - 1
            template = int(m[max(i, 0)])
            s, c = starts[template], counts[template]
            shift = int(dep) - int(st["departure"][s])
            row = frames.trips.iloc[template].copy()
            base_id = str(row["trip_id"])
            if shift:
                # Keep the previous day's suffix last, as load_timetable writes it.
                stem, prev = (base_id[:-4], "@-1d") if base_id.endswith("@-1d") else (base_id, "")
                label = _hms(int(dep) + (86_400 if prev else 0))
                row["trip_id"] = f"{stem}~{label}{prev}"
            if "gtfs_trip_id" in row.index:
                row["gtfs_trip_id"] = row["trip_id"]
            e = entry_of.get(int(dep), -1)
            if e >= 0:
                # One entry per group and period, named as above; its trips as
                # load_timetable names an entry's: template#time.
                row["headway_entry"] = group * 1000 + e
                row["headway"], row["headway_end"] = entries[e][2], entries[e][1]
                row["exact_times"], row["frequency"] = 0, True
                prev = "@-1d" if offset[int(m[0])] < 0 else ""
                entry_name = f"{line_name}:{e}"
                row["gtfs_trip_id"] = entry_name
                row["trip_id"] = f"{entry_name}#{_hms(int(dep) + (86_400 if prev else 0))}{prev}"
            elif "headway_entry" in row.index:
                row["headway_entry"], row["headway"], row["headway_end"] = -1, 0, 0
                row["exact_times"] = 1
            kk = len(trip_rows)
            trip_rows.append(row)
            for col in st:
                block = st[col][s : s + c]
                if col == "trip":
                    block = np.full(c, kk, np.int64)
                elif col in ("arrival", "departure"):
                    block = block + shift
                events[col].append(block)
    # Replace the routes' trips by the new ones.
    frames.keep_events(~np.isin(route_of_trip[st["trip"]], routes))
    if trip_rows:
        new_trips = pd.DataFrame(trip_rows).reset_index(drop=True)
        frames.add_trips(new_trips, {c: np.concatenate(v) for c, v in events.items()})


def _whole(value: Any, missing: int) -> int:
    """A trips-table number as an int (``missing`` for None or NaN)."""
    return missing if value is None or value != value else int(value)


def _entry_at(entries: list[tuple[int, int, int]], dep: int) -> int:
    """The entry whose span ``[start, end)`` holds ``dep`` (-1: none)."""
    return next((i for i, (a, b, _) in enumerate(entries) if a <= dep < b), -1)


def _new_departures(first_dep: np.ndarray, scale: float | None, headway: float | None) -> list[int]:
    """Departures from the first to the last of ``first_dep`` (sorted), every
    ``headway`` seconds or every baseline gap divided by ``scale``."""
    lo, hi = int(first_dep[0]), int(first_dep[-1])
    new: list[int] = []
    t = float(lo)
    while t <= hi + 1e-9:
        new.append(int(round(t)))
        if headway is not None:
            step = headway
        else:
            # The baseline gap around t: between the last departure <= t and the next.
            i = int(np.searchsorted(first_dep, t, side="right")) - 1
            j = min(i + 1, len(first_dep) - 1)
            gap = float(first_dep[j] - first_dep[i])
            if gap <= 0:
                nxt = first_dep[first_dep > t]
                gap = float(nxt[0] - t) if len(nxt) else float(hi - lo) + 1.0
            assert scale is not None
            step = gap / scale
        t += step
    return new


def _add_stop(frames: _Frames, mod: AddStop, ctx: _Context) -> None:
    where = f"AddStop on route {mod.route_id!r}"
    route = frames.route_positions([str(mod.route_id)], where)[0]
    if len(mod.between) != 2:
        raise ScenarioError(f"{where}: between must name two consecutive stops")
    a, b = frames.stop_positions([str(s) for s in mod.between], where)
    dwell = float(mod.dwell)
    if not (np.isfinite(dwell) and dwell >= 0):
        raise ScenarioError(f"{where}: dwell must be seconds >= 0 (got {mod.dwell!r})")
    lonlat = np.asarray([[mod.lon, mod.lat]], float)
    _check_lonlat(lonlat, where)
    stop_id = mod.stop_id or f"new:{mod.route_id}:{mod.between[0]}-{mod.between[1]}"
    ctx.check_on_network(lonlat[:, 0], lonlat[:, 1], [f"{where}: the stop {stop_id!r}"])

    starts, counts = _trip_of_events(frames)
    st = frames.st
    route_of_trip = frames.trips["route"].to_numpy(np.int64)
    trip = st["trip"]
    nxt_same = np.zeros(len(trip), bool)
    nxt_same[:-1] = trip[1:] == trip[:-1]
    on_route = route_of_trip[trip] == route
    stop = st["stop"]
    nxt_stop = np.roll(stop, -1)
    pair = nxt_same & on_route & (((stop == a) & (nxt_stop == b)) | ((stop == b) & (nxt_stop == a)))
    rows = np.flatnonzero(pair)
    if len(rows) == 0:
        raise ScenarioError(
            f"{where}: no trip of the route runs between {mod.between[0]!r} and "
            f"{mod.between[1]!r} consecutively; name two consecutive stops of the route"
        )
    sx, sy = frames.stops["lon"].to_numpy(float), frames.stops["lat"].to_numpy(float)
    x, y = ctx.to_xy(np.asarray([sx[a], sx[b], mod.lon]), np.asarray([sy[a], sy[b], mod.lat]))
    ab = np.array([x[1] - x[0], y[1] - y[0]])
    frac_ab = float(np.clip(np.dot([x[2] - x[0], y[2] - y[0]], ab) / max(ab @ ab, 1e-9), 0, 1))
    new_stop = frames.add_stops(
        [stop_id], [mod.name or f"{mod.route_id} new stop"], lonlat[:, 0], lonlat[:, 1]
    )
    ctx.new_stops.append(new_stop)
    # Insert one event after each matched row; shift the rest of its trip by the dwell.
    frac = np.where(stop[rows] == a, frac_ab, 1 - frac_ab)
    dep0 = st["departure"][rows].astype(float)
    arr1 = st["arrival"][rows + 1].astype(float)
    at = np.round(dep0 + frac * (arr1 - dep0)).astype(np.int64)
    shift = np.zeros(len(trip), np.int64)
    if dwell:
        bump = np.zeros(len(trip) + 1, np.int64)
        bump[rows + 1] += int(round(dwell))
        ends = starts[trip[rows]] + counts[trip[rows]]
        np.subtract.at(bump, ends, int(round(dwell)))
        shift = np.cumsum(bump)[:-1]
    st["arrival"] = st["arrival"] + shift
    st["departure"] = st["departure"] + shift
    ins = {
        "trip": trip[rows],
        "stop": np.full(len(rows), new_stop, np.int64),
        "arrival": at,
        "departure": at + int(round(dwell)),
        "pickup_type": np.zeros(len(rows), np.int8),
        "drop_off_type": np.zeros(len(rows), np.int8),
        "interpolated": np.zeros(len(rows), bool),
    }
    # Stop sequences: renumber each trip's events 0, 1, ... after the insertion.
    for c in st:
        if c == "stop_sequence":
            continue
        st[c] = np.insert(st[c], rows + 1, np.asarray(ins[c]).astype(st[c].dtype))
    tr = st["trip"]
    first = np.concatenate([[0], np.flatnonzero(tr[1:] != tr[:-1]) + 1])
    run = np.repeat(first, np.diff(np.concatenate([first, [len(tr)]])))
    st["stop_sequence"] = np.arange(len(tr), dtype=np.int64) - run


def _reroute(frames: _Frames, mod: Reroute, ctx: _Context) -> None:
    where = f"Reroute of route {mod.route_id!r}"
    route = frames.route_positions([str(mod.route_id)], where)[0]
    skip_ids = [mod.skip] if isinstance(mod.skip, str) else [str(s) for s in mod.skip]
    extend = list(mod.extend or ())
    if extend and mod.terminus is None:
        raise ScenarioError(f"{where}: extend needs terminus, the stop it starts from")
    if mod.terminus is not None and not extend:
        raise ScenarioError(f"{where}: terminus goes with extend; give the stops past it")
    if not skip_ids and not extend:
        raise ScenarioError(f"{where}: give skip (stop ids), or terminus and extend")
    starts, counts = _trip_of_events(frames)
    st = frames.st
    route_of_trip = frames.trips["route"].to_numpy(np.int64)
    trips = np.flatnonzero((route_of_trip == route) & (counts > 0))
    if len(trips) == 0:
        raise ScenarioError(f"{where}: the route runs no trip on the day")
    on_route = route_of_trip[st["trip"]] == route
    skip = frames.stop_positions(skip_ids, where) if skip_ids else np.zeros(0, np.int64)
    served = set(st["stop"][on_route].tolist())
    for sid, s in zip(skip_ids, skip, strict=True):
        if int(s) not in served:
            raise ScenarioError(f"{where}: the route does not stop at {sid!r}; skip its stops")
    plan = None
    if extend:
        term = int(frames.stop_positions([str(mod.terminus)], where)[0])
        mode = str(route_modes(frames.routes["route_type"].to_numpy()[[route]])[0])
        # A second extension of the route (the other end, or in stages) gets its own name.
        taken = set(frames.stops["stop_id"].astype(str))
        name, n_ext = f"{mod.route_id}-extension", 1
        while any(t.startswith(f"{name}:") for t in taken):
            n_ext += 1
            name = f"{mod.route_id}-extension-{n_ext}"
        line = AddLine(
            name=name, stops=[str(mod.terminus), *extend],
            stop_names=[str(mod.terminus)]
            + [f"{mod.route_id} extension {k + 2}" for k in range(len(extend))],
            mode=mode if mode in {m.value for m in ROUTE_TYPES}
            else ("bus" if mode == "coach" else "rail"),  # a coach runs on the roads
            speed=mod.speed, run_times=mod.run_times, dwell=mod.dwell,
            follow_streets=mod.follow_streets, reuse_stops_m=mod.reuse_stops_m,
            bus_factor=mod.bus_factor, both_directions=False,
        )  # fmt: skip
        plan = plan_line(frames, line, ctx, f"{where}: extend")
        forth = stop_offsets(plan.runs, plan.dwell)
        back = stop_offsets(plan.runs[::-1], plan.dwell)
    blocks: dict[str, list[np.ndarray]] = {c: [] for c in st}
    shifted: dict[int, int] = {}  # trip -> its headway entry's new end
    touched = 0
    for t in trips:
        a, c = int(starts[t]), int(counts[t])
        ev = {k: st[k][a : a + c].copy() for k in st}
        if len(skip):
            # The trip runs past a skipped stop: its dwell there is saved on the rest.
            drop = np.isin(ev["stop"], skip)
            saved = np.cumsum(np.where(drop, ev["departure"] - ev["arrival"], 0))
            ev["arrival"] = ev["arrival"] - saved
            ev["departure"] = ev["departure"] - saved
            ev = {k: v[~drop] for k, v in ev.items()}
            if len(ev["stop"]) < 2:
                trip_id = frames.trips["trip_id"].iloc[int(t)]
                raise ScenarioError(
                    f"{where}: skipping {', '.join(map(repr, skip_ids))} leaves trip "
                    f"{trip_id!r} fewer than 2 stops; skip fewer stops"
                )
        if plan is not None and term in (int(ev["stop"][-1]), int(ev["stop"][0])):
            dwell = int(round(plan.dwell))
            m = len(plan.stops) - 1
            if int(ev["stop"][-1]) == term:  # runs on past the terminus
                base = int(ev["arrival"][-1]) + dwell
                ev["departure"][-1] = base
                ev["pickup_type"][-1] = 0
                add = {"stop": plan.stops[1:], "arrival": base + forth[0][1:],
                       "departure": base + forth[1][1:]}  # fmt: skip
                at_end = True
            else:  # starts at the far end, earlier by the extension's time
                arrive = int(ev["departure"][0]) - dwell
                base = arrive - int(back[0][-1])
                if base < 0:
                    trip_id = frames.trips["trip_id"].iloc[int(t)]
                    raise ScenarioError(
                        f"{where}: trip {trip_id!r} would leave the new far end before "
                        f"midnight ({int(ev['departure'][0]) - base} s before its "
                        f"{_hms(int(ev['departure'][0]))} from {mod.terminus!r}); extend the "
                        "route from its other terminus, or give shorter run times"
                    )
                if "headway_entry" in frames.trips.columns and "headway_end" in frames.trips:
                    # A headway entry's span moves with its runs: it starts earlier.
                    col = frames.trips.columns.get_loc("headway_end")
                    if _whole(frames.trips["headway_entry"].iloc[int(t)], -1) >= 0:
                        moved = int(ev["departure"][0]) - base
                        end = _whole(frames.trips.iat[int(t), col], 0)
                        shifted[int(t)] = end - moved
                ev["arrival"][0] = arrive
                ev["drop_off_type"][0] = 0
                add = {"stop": plan.stops[::-1][:-1], "arrival": base + back[0][:-1],
                       "departure": base + back[1][:-1]}  # fmt: skip
                at_end = False
            extra = {
                "trip": np.full(m, t, np.int64),
                "stop_sequence": np.zeros(m, np.int64),
                "pickup_type": np.zeros(m, np.int8),
                "drop_off_type": np.zeros(m, np.int8),
                "interpolated": np.zeros(m, bool),
                **add,
            }
            ev = {
                k: np.concatenate([v, np.asarray(extra[k], v.dtype)] if at_end
                                  else [np.asarray(extra[k], v.dtype), v])
                for k, v in ev.items()
            }  # fmt: skip
            touched += 1
        ev["stop_sequence"] = np.arange(len(ev["stop"]), dtype=np.int64)
        for k, v in ev.items():
            blocks[k].append(v)
    if plan is not None:
        if touched == 0:
            ends = sorted({str(frames.stops["stop_id"].iat[int(st["stop"][i])])
                           for t in trips for i in (starts[t], starts[t] + counts[t] - 1)})  # fmt: skip
            raise ScenarioError(
                f"{where}: no trip of the route starts or ends at {mod.terminus!r}; its "
                f"trips start and end at {', '.join(map(repr, ends[:8]))}"
            )
        label = f"{mod.route_id} extension" + ("" if n_ext == 1 else f" {n_ext}")
        plan.row.update(name=label, kind="extension")
        ctx.lines.append(plan.row)
        if shifted:
            rows = list(shifted)
            col = frames.trips.columns.get_loc("headway_end")
            frames.trips = frames.trips.copy()
            for r in rows:
                frames.trips.iat[r, col] = shifted[r]
    frames.keep_events(~on_route)
    for k in st:
        st[k] = np.concatenate([st[k], *blocks[k]]).astype(st[k].dtype)
    frames.keep_events(np.lexsort((st["stop_sequence"], st["trip"])))


_APPLY: dict[type, Callable[[_Frames, Any, _Context], None]] = {
    AddLine: add_line,
    ChangeFrequency: _change_frequency,
    RemoveRoutes: _remove_routes,
    RemoveStops: _remove_stops,
    AddStop: _add_stop,
    Reroute: _reroute,
}


# -- the public functions ------------------------------------------------------------


def _apply(
    network: IntermodalNetwork,
    modifications: Any,
    frames: _Frames | None,
    line_streets: Any = None,
) -> _Applied:
    if isinstance(modifications, tuple(_APPLY)):
        modifications = [modifications]
    mods = list(modifications)
    if not mods:
        raise ScenarioError("the scenario has no modifications: add at least one")
    ctx = _Context(network, line_streets)
    work = (frames or _Frames(network.timetable)).copy()
    for i, mod in enumerate(mods):
        fn = _APPLY.get(type(mod))
        if fn is None:
            raise ScenarioError(
                f"modification {i + 1} is a {type(mod).__name__}; give AddLine, "
                "ChangeFrequency, RemoveRoutes, RemoveStops, AddStop or Reroute"
            )
        fn(work, mod, ctx)
    tt = work.timetable()
    tt.meta["scenario"] = [type(m).__name__ for m in mods]
    return _Applied(tt, ctx.new_stops, ctx.removed_stops, ctx.lines)


def scenario_timetable(
    network: IntermodalNetwork, modifications: Any, *, line_streets: Any = None
) -> Timetable:
    """Apply modifications to the network's timetable (no street links).

    Parameters
    ----------
    network
        The baseline (its walk network places new lines and checks they are on it).
    modifications
        One modification or a sequence, applied in order.
    line_streets
        The streets new lines follow, as :func:`apply_scenario` takes them.

    Returns
    -------
    timetable
        The scenario's timetable: the baseline's stops first in the same positions, new
        stops after them.

    Raises
    ------
    ScenarioError
        An invalid modification.
    """
    return _apply(network, modifications, None, line_streets).timetable


def apply_scenario(
    network: IntermodalNetwork,
    modifications: Any,
    *,
    baseline_frames: Any = None,
    line_streets: Any = None,
) -> IntermodalNetwork:
    """The baseline network with the modifications applied, without rebuilding it.

    Parameters
    ----------
    network
        The baseline network (:func:`connectivity.network.intermodal.build_network`); with or
        without a timetable (a city without a feed: the new lines are the only transit).
    modifications
        One modification or a sequence, applied in order.
    baseline_frames
        The value of :func:`baseline_frames` for ``network``, to reuse over several
        variants (default: computed here).
    line_streets
        The network new lines and extensions follow (default the network's walk
        streets; :func:`connectivity.run_scenario` gives the drive network), or a
        mapping mode -> network with a ``"default"`` entry: ``{"tram":
        with_tram_tracks(drive, pbf), "default": drive}`` routes trams over the mapped
        tracks (:func:`connectivity.with_tram_tracks`).

    Returns
    -------
    network
        A new network sharing the baseline's street networks; ``meta`` holds
        ``scenario`` (the modifications' kinds), ``new_stops`` (positions),
        ``removed_stops`` and ``lines`` (per new line its name, mode, stops, km along
        its path, the path, and how many of its stops are new or existing ones).

    Raises
    ------
    ScenarioError
        An invalid modification: an unknown route or stop id, a headway, speed or
        spacing <= 0, a line of fewer than two stops, a stop off the street network.
    """
    applied = _apply(network, modifications, baseline_frames, line_streets)
    arrays = _incremental_arrays(network, applied)
    out = IntermodalNetwork(
        streets=network.streets,
        timetable=applied.timetable,
        modes=network.modes,
        walk_speed=network.walk_speed,
        params=dict(network.params),
        meta={
            "baseline_cache_key": network.meta.get("cache_key"),
            "from_cache": False,
            "scenario": applied.timetable.meta["scenario"],
            "new_stops": applied.new_stops,
            "removed_stops": sorted(applied.removed_stops),
            "lines": applied.lines,
        },
        **arrays,
    )
    unlinked = int((~out.stop_linked).sum())
    out.meta["unlinked_stops"] = unlinked
    return out


def baseline_frames(network: IntermodalNetwork) -> Any:
    """The baseline's timetable as editable frames, to share between variants.

    Parameters
    ----------
    network
        The baseline network.

    Returns
    -------
    frames
        An opaque object for :func:`apply_scenario`'s ``baseline_frames``.
    """
    return _Frames(network.timetable)


def empty_timetable(date: dt.date | None = None) -> Timetable:
    """A timetable without stops or trips: the baseline of a city without a feed, so
    that transit routing (walks only) runs on it and the proposed lines add to it.

    Parameters
    ----------
    date
        The service date the scenario's timetable will describe.

    Returns
    -------
    timetable
        The empty timetable.
    """
    frames = _Frames(None)
    frames.date = date
    return frames.timetable()


def line_geometries(network: IntermodalNetwork) -> Any:
    """The new lines of a scenario network as a GeoDataFrame (EPSG:4326).

    Parameters
    ----------
    network
        A network from :func:`apply_scenario`.

    Returns
    -------
    lines
        One row per new line or extension of a route: ``name``, ``kind`` (``"line"``
        or ``"extension"``), ``mode``, ``km`` (along its path), ``stops`` (count), and
        its path (along the streets it follows).
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    rows = network.meta.get("lines", [])
    return gpd.GeoDataFrame(
        {
            "name": [r["name"] for r in rows],
            "kind": [r.get("kind", "line") for r in rows],
            "mode": [r["mode"] for r in rows],
            "km": [float(r["km"]) for r in rows],
            "stops": [len(r["lon"]) for r in rows],
        },
        geometry=[
            LineString(np.column_stack([r.get("path_lon", r["lon"]), r.get("path_lat", r["lat"])]))
            for r in rows
        ],
        crs="EPSG:4326",
    )
