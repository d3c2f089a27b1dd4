"""Scenarios: proposed lines and service changes applied to a baseline network.

A scenario is a list of *modifications*, small dataclasses applied in order:

- :class:`AddLine`: a new line from a list of stop points or an alignment (a GeoJSON
  LineString cut into stops every ``stop_spacing`` metres), with its mode, headways by
  period or explicit departures, a speed or run times between stops, a dwell time, and
  (by default) both directions;
- :class:`ChangeFrequency`: run routes ``scale`` times as often, or every ``headway``
  seconds;
- :class:`RemoveRoutes`, :class:`RemoveStops`: take routes or stops out of service;
- :class:`AddStop`: a new stop on a route, between two of its consecutive stops.

:func:`apply_scenario` returns a new :class:`~connectivity.network.intermodal.IntermodalNetwork`
that shares the baseline's street networks and reuses its stop links, footpaths and stop
trees: only the new stops are linked to the walk network and walked from (their trees
and footpaths, in both directions), so a variant costs a timetable build and a few
limited Dijkstras, never a network build. The timetable is rebuilt by
:meth:`~connectivity.transit.timetable.Timetable.from_frames` from the baseline's stop events
plus the changes (:func:`scenario_timetable`).

The rules, as the tests check them:

- times are integer seconds after midnight; a headway period ``[start, end)`` runs
  departures ``start, start + headway, ...`` before ``end``;
- a new line's trip leaves its first stop at the departure, takes the run time to each
  next stop (``distance / speed`` or the given run times, rounded to whole seconds along
  the line) and waits ``dwell`` seconds at every intermediate stop; the return trip runs
  the stops in reverse with the run times reversed, from the same departures;
- :class:`ChangeFrequency` works per pattern and service day, within each service
  period (departures without a gap over :data:`SERVICE_GAP`, 2 hours): it keeps the
  period's first and last departures; from a departure ``t`` the next is
  ``t + h(t) / scale`` where ``h(t)`` is the baseline gap between the departures around
  ``t`` (``scale`` 2 doubles the service, 0.5 halves it), or ``t + headway``; each new
  trip copies the running times of the latest baseline trip of the pattern that leaves
  at or before it;
- a removed stop loses its stop events (trips skip it) and its links to the streets;
- :class:`AddStop` puts the stop between two consecutive stops ``a`` and ``b`` of every
  trip of the route that visits them (in either order): it is reached at the time
  interpolated by the stop's position along the straight segment ``a``-``b``, and
  ``dwell`` seconds are added to the rest of the trip.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from connectivity._arrays import csr_from_pairs
from connectivity._errors import ScenarioError
from connectivity.network.intermodal import (
    FP_WALK,
    IntermodalNetwork,
    _add_same_street_walks,
    _augmented_graph,
    _link_stops,
    _trees_and_walks,
)
from connectivity.transit.modes import TransitMode
from connectivity.transit.timetable import Timetable

__all__ = [
    "AddLine",
    "AddStop",
    "ChangeFrequency",
    "Modification",
    "RemoveRoutes",
    "RemoveStops",
    "VariantComparison",
    "apply_scenario",
    "baseline_frames",
    "compare_variants",
    "empty_timetable",
    "line_departures",
    "line_geometries",
    "scenario_timetable",
]

logger = logging.getLogger(__name__)

#: GTFS route_type of each mode a new line may have.
ROUTE_TYPES = {
    TransitMode.TRAM: 0,
    TransitMode.METRO: 1,
    TransitMode.RAIL: 2,
    TransitMode.BUS: 3,
    TransitMode.FERRY: 4,
    TransitMode.CABLE: 5,
    TransitMode.GONDOLA: 6,
    TransitMode.FUNICULAR: 7,
    TransitMode.TROLLEYBUS: 11,
    TransitMode.MONORAIL: 12,
}

DEFAULT_SPAN = ("06:00", "22:00")
#: A gap between departures longer than this (seconds) ends a service period: a
#: frequency change adds no trips in it.
SERVICE_GAP = 7200


# -- the modifications -------------------------------------------------------------------


@dataclass
class AddLine:
    """A proposed line.

    Attributes
    ----------
    name
        The new route's id (and its short name); must not be an existing route id.
    stops
        Stop points ``(lon, lat)`` in order; or give ``alignment``.
    alignment
        The line's path: a GeoJSON LineString (a mapping, a Feature, or a path to a
        ``.geojson`` file holding one) or a sequence of ``(lon, lat)``; stops are placed
        at both ends and every ``stop_spacing`` metres along it (evenly, the spacing
        rounded so the ends are stops); intermediate stops farther than the network's
        ``max_link_distance`` from a street are left out with a warning.
    stop_spacing
        Metres between stops along ``alignment``.
    stop_names
        Optional stop names (default ``"{name} 1"``, ``"{name} 2"``...).
    mode
        A :class:`~connectivity.transit.gtfs.TransitMode` value (``"tram"``, ``"bus"``...).
    headway
        Seconds between departures over ``span``; or give ``headways`` or
        ``departures``.
    headways
        Period ``"HH:MM-HH:MM"`` -> headway seconds (e.g. ``{"06:00-09:00": 300}``).
    departures
        Explicit departures from the first stop (seconds or ``"HH:MM[:SS]"``).
    span
        ``(start, end)`` of service for ``headway`` (half-open).
    speed
        Commercial speed between stops, km/h (used when ``run_times`` is not given).
    run_times
        Seconds between consecutive stops (one fewer than the stops).
    dwell
        Seconds stopped at every intermediate stop.
    both_directions
        Also run the line in reverse from the last stop, at the same departures.
    """

    name: str
    stops: Sequence[tuple[float, float]] | None = None
    alignment: Any = None
    stop_spacing: float = 500.0
    stop_names: Sequence[str] | None = None
    mode: str = "tram"
    headway: float | None = None
    headways: Mapping[str, float] | None = None
    departures: Sequence[Any] | None = None
    span: tuple[Any, Any] = DEFAULT_SPAN
    speed: float = 20.0
    run_times: Sequence[float] | None = None
    dwell: float = 20.0
    both_directions: bool = True


@dataclass
class ChangeFrequency:
    """Run routes ``scale`` times as often (2 doubles the service), or every
    ``headway`` seconds, between each pattern's first and last departures.

    Attributes
    ----------
    route_ids
        The routes to change.
    scale
        Frequency factor (> 0); give this or ``headway``.
    headway
        Seconds between departures.
    """

    route_ids: Sequence[str]
    scale: float | None = None
    headway: float | None = None


@dataclass
class RemoveRoutes:
    """Take routes out of service (their stops stay, served by other routes or none).

    Attributes
    ----------
    route_ids
        The routes to remove.
    """

    route_ids: Sequence[str]


@dataclass
class RemoveStops:
    """Close stops: trips skip them, and they are no longer linked to the streets.

    Attributes
    ----------
    stop_ids
        The stops to close.
    """

    stop_ids: Sequence[str]


@dataclass
class AddStop:
    """A new stop on a route, between two consecutive stops of its trips.

    Attributes
    ----------
    route_id
        The route.
    lon, lat
        Where the stop is.
    between
        The ids of the two consecutive stops the new stop goes between (either order).
    name
        The stop's name (default ``"{route_id} new stop"``).
    stop_id
        The new stop's id (default ``"new:{route_id}:{a}-{b}"``).
    dwell
        Seconds added to the rest of each trip for stopping there.
    """

    route_id: str
    lon: float
    lat: float
    between: tuple[str, str]
    name: str | None = None
    stop_id: str | None = None
    dwell: float = 20.0


Modification = AddLine | ChangeFrequency | RemoveRoutes | RemoveStops | AddStop


# -- small parsers -----------------------------------------------------------------------


def parse_seconds(value: Any, where: str) -> int:
    """Seconds after midnight from a number or ``"HH:MM[:SS]"`` (hours may pass 24)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: {value!r} is not a time; give seconds or 'HH:MM'")
    if isinstance(value, int | float | np.integer | np.floating):
        if not np.isfinite(value) or value < 0:
            raise ScenarioError(f"{where}: {value!r} is not a time of day >= 0")
        return int(round(float(value)))
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    text = str(value).strip()
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        nums = [int(p) for p in parts]
    except ValueError:
        raise ScenarioError(
            f"{where}: {value!r} is not a time; give seconds or 'HH:MM' / 'HH:MM:SS'"
        ) from None
    if any(n < 0 for n in nums) or any(n >= 60 for n in nums[1:]):
        raise ScenarioError(f"{where}: {value!r} is not a valid time")
    return nums[0] * 3600 + nums[1] * 60 + (nums[2] if len(nums) == 3 else 0)


def _positive(value: Any, where: str, hint: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where} must be a number > 0 (got {value!r}){hint}") from None
    if not (np.isfinite(v) and v > 0):
        raise ScenarioError(f"{where} must be > 0 (got {value!r}){hint}")
    return v


def _id_list(values: Any, where: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out = [str(v) for v in values]
    if not out:
        raise ScenarioError(f"{where} is empty: name at least one id")
    return out


def _period(text: str, where: str) -> tuple[int, int]:
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ScenarioError(f"{where}: period {text!r} is not 'HH:MM-HH:MM'")
    start, end = (parse_seconds(p.strip(), f"{where} period {text!r}") for p in parts)
    if end <= start:
        raise ScenarioError(f"{where}: period {text!r} ends before it starts")
    return start, end


def line_departures(line: AddLine) -> np.ndarray:
    """The departures of ``line`` from its first stop, seconds, sorted and unique."""
    where = f"line {line.name!r}"
    given = [x is not None for x in (line.headway, line.headways, line.departures)]
    if sum(given) != 1:
        raise ScenarioError(
            f"{where}: give exactly one of headway (with span), headways (by period) or departures"
        )
    times: list[int] = []
    if line.departures is not None:
        times = [parse_seconds(t, f"{where} departures") for t in line.departures]
    else:
        if line.headway is not None:
            periods = [(tuple(line.span), line.headway, "span")]
        else:
            assert line.headways is not None
            periods = [
                (_period(p, where), h, f"period {p!r}") for p, h in dict(line.headways).items()
            ]
        for span, headway, what in periods:
            h = _positive(headway, f"{where}: the headway of {what}", " seconds")
            start = parse_seconds(span[0], f"{where} span")
            end = parse_seconds(span[1], f"{where} span")
            if end <= start:
                raise ScenarioError(f"{where}: the span {span!r} ends before it starts")
            times += [int(round(t)) for t in np.arange(start, end, h)]
    out = np.unique(np.asarray(times, np.int64))
    if len(out) == 0:
        raise ScenarioError(f"{where}: no departures (an empty list or span)")
    return out


# -- geometry of new lines ---------------------------------------------------------------


def _alignment_coords(alignment: Any, where: str) -> np.ndarray:
    """``(lon, lat)`` rows of a LineString given as GeoJSON, shapely, a file or a list."""
    obj = alignment
    if isinstance(obj, str | Path) and not str(obj).lstrip().startswith("{"):
        path = Path(obj)
        if not path.exists():
            raise ScenarioError(f"{where}: the alignment file {path} does not exist")
        obj = json.loads(path.read_text(encoding="utf-8"))
    elif isinstance(obj, str):
        obj = json.loads(obj)
    if hasattr(obj, "geom_type"):
        if obj.geom_type != "LineString":
            raise ScenarioError(f"{where}: the alignment is a {obj.geom_type}, not a LineString")
        return np.asarray(obj.coords, float)[:, :2]
    if isinstance(obj, Mapping):
        if obj.get("type") == "FeatureCollection":
            features = obj.get("features") or []
            if len(features) != 1:
                raise ScenarioError(
                    f"{where}: the alignment FeatureCollection holds {len(features)} features; "
                    "give one LineString"
                )
            obj = features[0]
        if obj.get("type") == "Feature":
            obj = obj.get("geometry") or {}
        if obj.get("type") != "LineString":
            raise ScenarioError(
                f"{where}: the alignment is a {obj.get('type')!r}, not a GeoJSON LineString"
            )
        obj = obj.get("coordinates")
    try:
        coords = np.asarray(obj, float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: the alignment is not a list of (lon, lat)") from None
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise ScenarioError(f"{where}: the alignment is not a list of (lon, lat)")
    return coords[:, :2]


def _check_lonlat(coords: np.ndarray, where: str) -> None:
    if not np.isfinite(coords).all():
        raise ScenarioError(f"{where}: a coordinate is not a number")
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
        raise ScenarioError(
            f"{where}: coordinates out of range (give (lon, lat) in degrees, longitude first)"
        )


def _line_stops(line: AddLine, to_xy: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The line's stops ``(lon, lat)``, and metres between consecutive stops."""
    where = f"line {line.name!r}"
    if (line.stops is None) == (line.alignment is None):
        raise ScenarioError(f"{where}: give either stops (a list of (lon, lat)) or alignment")
    if line.stops is not None:
        try:
            pts = np.asarray(line.stops, float)
        except (TypeError, ValueError):
            raise ScenarioError(f"{where}: stops must be (lon, lat) pairs") from None
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ScenarioError(f"{where}: stops must be (lon, lat) pairs")
        if len(pts) < 2:
            raise ScenarioError(f"{where} has {len(pts)} stop(s): a line needs at least 2")
        _check_lonlat(pts, where)
        x, y = to_xy(pts[:, 0], pts[:, 1])
        gaps = np.hypot(np.diff(x), np.diff(y))
        return pts[:, 0], pts[:, 1], gaps
    coords = _alignment_coords(line.alignment, where)
    if len(coords) < 2:
        raise ScenarioError(f"{where}: the alignment has fewer than 2 points")
    _check_lonlat(coords, where)
    spacing = _positive(line.stop_spacing, f"{where}: stop_spacing", " metres")
    x, y = (np.asarray(a, float) for a in to_xy(coords[:, 0], coords[:, 1]))
    seg = np.hypot(np.diff(x), np.diff(y))
    chain = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(chain[-1])
    if total <= 0:
        raise ScenarioError(f"{where}: the alignment has zero length")
    n_gaps = max(1, int(round(total / spacing)))
    at = np.linspace(0.0, total, n_gaps + 1)
    sx, sy = np.interp(at, chain, x), np.interp(at, chain, y)
    lon, lat = to_xy(sx, sy, inverse=True)
    return np.asarray(lon, float), np.asarray(lat, float), np.diff(at)


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

    def __init__(self, network: IntermodalNetwork) -> None:
        self.network = network
        self.walk = network.streets
        self.max_link = float(network.params["max_link_distance"])
        self.new_stops: list[int] = []
        self.removed_stops: set[int] = set()
        self.lines: list[dict[str, Any]] = []

    def to_xy(self, a: Any, b: Any, inverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if inverse:
            from pyproj import Transformer

            t = Transformer.from_crs(self.walk.crs, "EPSG:4326", always_xy=True)
            return t.transform(np.asarray(a, float), np.asarray(b, float))
        return self.walk._to_crs.transform(np.asarray(a, float), np.asarray(b, float))

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


def _add_line(frames: _Frames, line: AddLine, ctx: _Context) -> None:
    where = f"line {line.name!r}"
    if not str(line.name):
        raise ScenarioError("a line needs a name (its route id)")
    try:
        mode = TransitMode(str(line.mode).lower())
    except ValueError:
        raise ScenarioError(
            f"{where}: unknown mode {line.mode!r}; use one of "
            f"{', '.join(m.value for m in ROUTE_TYPES)}"
        ) from None
    if mode not in ROUTE_TYPES:
        raise ScenarioError(f"{where}: mode {mode.value!r} cannot be proposed as a line")
    lon, lat, gaps = _line_stops(line, ctx.to_xy)
    if line.alignment is not None and len(lon) > 2:
        # Stops placed along an alignment that fall off the streets (a river, a park)
        # are left out; the ends must be on the network.
        dist = ctx.walk.snap(lon, lat, max_distance=ctx.max_link * 4 + 1e7).distance
        off = dist > ctx.max_link
        off[[0, -1]] = False
        if off.any():
            logger.warning(
                "%s: %d of %d stops placed along the alignment lie farther than %.0f m from "
                "a street and are left out (the line runs through without stopping there)",
                where,
                int(off.sum()),
                len(lon),
                ctx.max_link,
            )
            chain = np.concatenate([[0.0], np.cumsum(gaps)])[~off]
            lon, lat, gaps = lon[~off], lat[~off], np.diff(chain)
    n = len(lon)
    if n < 2:
        raise ScenarioError(f"{where} has {n} stop(s): a line needs at least 2")
    if line.run_times is not None:
        runs = np.asarray([_positive(r, f"{where}: run time") for r in line.run_times])
        if len(runs) != n - 1:
            raise ScenarioError(
                f"{where}: {len(runs)} run times for {n} stops; give {n - 1} (one per gap)"
            )
    else:
        speed = _positive(line.speed, f"{where}: speed", " km/h")
        runs = gaps / (speed / 3.6)
    dwell = float(line.dwell)
    if not (np.isfinite(dwell) and dwell >= 0):
        raise ScenarioError(f"{where}: dwell must be seconds >= 0 (got {line.dwell!r})")
    departures = line_departures(line)
    names = list(line.stop_names) if line.stop_names is not None else []
    if names and len(names) != n:
        raise ScenarioError(f"{where}: {len(names)} stop names for {n} stops")
    names = names or [f"{line.name} {k + 1}" for k in range(n)]
    ctx.check_on_network(lon, lat, [f"{where}: stop {k + 1} ({names[k]})" for k in range(n)])

    route = frames.add_route(str(line.name), mode)
    ids = [f"{line.name}:{k + 1}" for k in range(n)]
    first = frames.add_stops(ids, names, lon, lat)
    ctx.new_stops += list(range(first, first + n))
    ctx.lines.append(
        {"name": str(line.name), "mode": mode.value, "lon": lon, "lat": lat, "km": gaps.sum() / 1e3}
    )
    stops = np.arange(first, first + n, dtype=np.int64)
    directions = [(stops, runs, "0")]
    if line.both_directions:
        directions.append((stops[::-1], runs[::-1], "1"))
    trip_rows: list[dict[str, Any]] = []
    events: dict[str, list[np.ndarray]] = {
        c: [] for c in ("trip", "stop", "stop_sequence", "arrival", "departure")
    }
    for seq, run, direction in directions:
        # Arrival offsets: the run times plus a dwell at each intermediate stop.
        arr_off = np.concatenate([[0.0], np.cumsum(run + dwell) - dwell])
        dep_off = arr_off + np.where((np.arange(n) > 0) & (np.arange(n) < n - 1), dwell, 0.0)
        arr_off, dep_off = np.round(arr_off).astype(np.int64), np.round(dep_off).astype(np.int64)
        for t in departures:
            k = len(trip_rows)
            trip_rows.append(
                {
                    "trip_id": f"{line.name}:{direction}:{_hms(int(t))}",
                    "route": route,
                    "route_id": str(line.name),
                    "direction_id": int(direction),
                    "service_id": "scenario",
                }
            )
            events["trip"].append(np.full(n, k, np.int64))
            events["stop"].append(seq)
            events["stop_sequence"].append(np.arange(n, dtype=np.int64))
            events["arrival"].append(t + arr_off)
            events["departure"].append(t + dep_off)
    frames.add_trips(
        _trip_frame(trip_rows, frames.trips), {c: np.concatenate(v) for c, v in events.items()}
    )


def _trip_frame(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    if "gtfs_trip_id" in like.columns:
        out["gtfs_trip_id"] = out["trip_id"]
    if "day_offset" in like.columns:
        out["day_offset"] = np.zeros(len(out), np.int8)
    if "frequency" in like.columns:
        out["frequency"] = False
    if "exact_times" in like.columns:
        out["exact_times"] = np.ones(len(out), np.int8)
    if "headway" in like.columns:
        out["headway"] = np.zeros(len(out), np.int64)
    if "feed_id" in like.columns:
        out["feed_id"] = "scenario"
    return out


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


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
    if (mod.scale is None) == (mod.headway is None):
        raise ScenarioError(f"{where} of {ids}: give either scale or headway")
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
    for members in keys.values():
        m = np.asarray(members, np.int64)
        first_dep = st["departure"][starts[m]]
        order = np.lexsort((m, first_dep))
        m, first_dep = m[order], first_dep[order]
        new: list[int] = []
        # Service periods: runs of departures without a gap over SERVICE_GAP seconds.
        cuts = np.flatnonzero(np.diff(first_dep) > SERVICE_GAP) + 1
        for period in np.split(first_dep, cuts):
            new += _new_departures(period, scale, headway)
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


_APPLY: dict[type, Callable[[_Frames, Any, _Context], None]] = {
    AddLine: _add_line,
    ChangeFrequency: _change_frequency,
    RemoveRoutes: _remove_routes,
    RemoveStops: _remove_stops,
    AddStop: _add_stop,
}


# -- the public functions ------------------------------------------------------------


@dataclass
class _Applied:
    timetable: Timetable
    new_stops: list[int] = field(default_factory=list)
    removed_stops: set[int] = field(default_factory=set)
    lines: list[dict[str, Any]] = field(default_factory=list)


def _apply(network: IntermodalNetwork, modifications: Any, frames: _Frames | None) -> _Applied:
    if isinstance(modifications, tuple(_APPLY)):
        modifications = [modifications]
    mods = list(modifications)
    if not mods:
        raise ScenarioError("the scenario has no modifications: add at least one")
    ctx = _Context(network)
    work = (frames or _Frames(network.timetable)).copy()
    for i, mod in enumerate(mods):
        fn = _APPLY.get(type(mod))
        if fn is None:
            raise ScenarioError(
                f"modification {i + 1} is a {type(mod).__name__}; give AddLine, "
                "ChangeFrequency, RemoveRoutes, RemoveStops or AddStop"
            )
        fn(work, mod, ctx)
    tt = work.timetable()
    tt.meta["scenario"] = [type(m).__name__ for m in mods]
    return _Applied(tt, ctx.new_stops, ctx.removed_stops, ctx.lines)


def scenario_timetable(network: IntermodalNetwork, modifications: Any) -> Timetable:
    """Apply modifications to the network's timetable (no street links).

    Parameters
    ----------
    network
        The baseline (its walk network places new lines and checks they are on it).
    modifications
        One modification or a sequence, applied in order.

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
    return _apply(network, modifications, None).timetable


def apply_scenario(
    network: IntermodalNetwork, modifications: Any, *, baseline_frames: Any = None
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

    Returns
    -------
    network
        A new network sharing the baseline's street networks; ``meta`` holds
        ``scenario`` (the modifications' kinds), ``new_stops`` (positions),
        ``removed_stops`` and ``lines`` (per new line its name, mode, stops and km).

    Raises
    ------
    ScenarioError
        An invalid modification: an unknown route or stop id, a headway, speed or
        spacing <= 0, a line of fewer than two stops, a stop off the street network.
    """
    applied = _apply(network, modifications, baseline_frames)
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
        One row per new line: ``name``, ``mode``, ``km`` (along its stops), ``stops``
        (count), and the LineString through its stops.
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    rows = network.meta.get("lines", [])
    return gpd.GeoDataFrame(
        {
            "name": [r["name"] for r in rows],
            "mode": [r["mode"] for r in rows],
            "km": [float(r["km"]) for r in rows],
            "stops": [len(r["lon"]) for r in rows],
        },
        geometry=[LineString(np.column_stack([r["lon"], r["lat"]])) for r in rows],
        crs="EPSG:4326",
    )


# -- incremental links, trees and footpaths ------------------------------------------------


def _expand(ptr: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    src = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    return (src, *cols)


def _extend_tree(
    ptr: np.ndarray,
    node: np.ndarray,
    dist: np.ndarray,
    removed: np.ndarray,
    n_total: int,
    new_src: np.ndarray,
    new_node: np.ndarray,
    new_dist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baseline's stop trees, removed stops emptied, new stops' trees appended."""
    counts = np.diff(ptr).astype(np.int64)
    if len(removed):
        keep = np.repeat(~np.isin(np.arange(len(counts)), removed), counts)
        node, dist = node[keep], dist[keep]
        counts[removed] = 0
    n_old = len(counts)
    order = np.lexsort((new_dist, new_src))
    new_counts = np.bincount(new_src - n_old, minlength=n_total - n_old).astype(np.int64)
    all_counts = np.concatenate([counts, new_counts])
    out_ptr = np.concatenate([[0], np.cumsum(all_counts)]).astype(np.int64)
    out_node = np.concatenate([node, new_node[order].astype(node.dtype)])
    out_dist = np.concatenate([dist, new_dist[order].astype(dist.dtype)])
    return out_ptr, out_node, out_dist


def _incremental_arrays(network: IntermodalNetwork, applied: _Applied) -> dict[str, np.ndarray]:
    walk = network.streets
    n = walk.n_nodes
    n_old = network.n_stops
    tt = applied.timetable
    n_total = tt.n_stops
    new = np.arange(n_old, n_total, dtype=np.int64)
    removed = np.asarray(sorted(applied.removed_stops), np.int64)
    params = network.params

    # Links: the baseline's, without removed stops, plus the new stops'.
    keep = ~np.isin(network.link_stop, removed)
    ls, ln, ld_to, ld_from, s_edge, s_frac, s_off = _link_stops(
        walk, tt.stops.iloc[n_old:], float(params["max_link_distance"])
    )
    link_stop = np.concatenate([network.link_stop[keep], ls + n_old])
    link_node = np.concatenate([network.link_node[keep], ln])
    dist_to = np.concatenate([network.link_dist_to[keep], ld_to])
    dist_from = np.concatenate([network.link_dist_from[keep], ld_from])
    stop_edge = np.concatenate([network.stop_edge, s_edge])
    stop_edge[removed] = -1
    stop_fraction = np.concatenate([network.stop_fraction, s_frac])
    stop_offset = np.concatenate([network.stop_offset, s_off])
    new_linked = np.unique(ls + n_old)

    empty = [np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, float)]
    walk_r, transfer_r = float(params["walk_radius"]), float(params["transfer_radius"])
    if len(new_linked):
        graph = _augmented_graph(walk, n_total, link_stop, link_node, dist_to, dist_from)
        trees, walks = _trees_and_walks(graph, n, new_linked, walk_r, transfer_r)
        if _symmetric(walk):
            rtrees, rwalks = trees, walks
        else:
            gt = graph.T.tocsr()
            rtrees, rwalks = _trees_and_walks(gt, n, new_linked, walk_r, transfer_r)
        # Walks along a street shared with a new stop (not round an end node).
        streets_of_new = _street_ids(walk, stop_edge[new_linked])
        on_same = np.isin(_street_ids(walk, stop_edge), streets_of_new) & (stop_edge >= 0)
        same = _add_same_street_walks(
            walk, empty, np.where(on_same, stop_edge, -1), stop_fraction, stop_offset, transfer_r
        )
    else:
        trees = rtrees = walks = rwalks = same = empty
    tree = _extend_tree(
        network.tree_ptr, network.tree_node, network.tree_dist, removed, n_total, *trees
    )
    rtree = _extend_tree(
        network.rtree_ptr, network.rtree_node, network.rtree_dist, removed, n_total, *rtrees
    )

    # Footpaths: the baseline's without removed stops; new -> any, any -> new, self.
    q, p, kind, d, t = _expand(
        network.fp_ptr, network.fp_to, network.fp_kind, network.fp_dist, network.fp_time
    )
    ok = ~(np.isin(q, removed) | np.isin(p, removed))
    w_src, w_dst, w_d = walks
    r_src, r_dst, r_d = rwalks  # walks to the new stop r_src from r_dst
    m_src, m_dst, m_d = same
    fwd = (w_src != w_dst) & ~np.isin(w_dst, removed)
    back = (r_src != r_dst) & ~np.isin(r_dst, removed) & (r_dst < n_old)
    along = (m_src >= n_old) | (m_dst >= n_old)
    q = np.concatenate([q[ok], w_src[fwd], r_dst[back], m_src[along], new])
    p = np.concatenate([p[ok], w_dst[fwd], r_src[back], m_dst[along], new])
    n_add = int(fwd.sum() + back.sum() + along.sum() + len(new))
    kind = np.concatenate([kind[ok], np.full(n_add, FP_WALK, kind.dtype)])
    d = np.concatenate([d[ok], w_d[fwd], r_d[back], m_d[along], np.zeros(len(new))])
    t = np.concatenate([t[ok], np.zeros(n_add, t.dtype)])
    # One footpath a pair: the shortest walk (baseline pairs are never repeated).
    order = np.lexsort((d, p, q))
    q, p, kind, d, t = q[order], p[order], kind[order], d[order], t[order]
    first = np.ones(len(q), bool)
    first[1:] = (q[1:] != q[:-1]) | (p[1:] != p[:-1])
    fp_ptr, fp_to, fp_kind, fp_dist, fp_time = csr_from_pairs(
        n_total, q[first], p[first], kind[first], d[first], t[first]
    )
    return {
        "link_stop": link_stop,
        "link_node": link_node,
        "link_dist_to": dist_to,
        "link_dist_from": dist_from,
        "stop_edge": stop_edge,
        "stop_fraction": stop_fraction,
        "stop_offset": stop_offset,
        "fp_ptr": fp_ptr,
        "fp_to": fp_to,
        "fp_kind": fp_kind,
        "fp_dist": fp_dist,
        "fp_time": fp_time,
        "tree_ptr": tree[0],
        "tree_node": tree[1],
        "tree_dist": tree[2],
        "rtree_ptr": rtree[0],
        "rtree_node": rtree[1],
        "rtree_dist": rtree[2],
    }


def _street_ids(walk: Any, edges: np.ndarray) -> np.ndarray:
    """A street's id: the smaller of an edge and its reverse (-1 for no edge)."""
    rev = walk.reverse_edge
    e = np.maximum(edges, 0)
    ids = np.where(rev[e] >= 0, np.minimum(e, rev[e]), e)
    return np.where(edges >= 0, ids, -1)


def _symmetric(walk: Any) -> bool:
    g = walk.csr_length
    return (
        bool((abs(g - g.T) > 1e-6).nnz == 0) if isinstance(g, sp.spmatrix | sp.sparray) else False
    )


# -- comparing variants on accessibility -------------------------------------------------


@dataclass
class VariantComparison:
    """The result of :func:`compare_variants`.

    Attributes
    ----------
    table
        One row per variant, ranked: ``variant``, ``route_km``, ``new_stops``,
        ``access_gain`` (the sum over origins of the change of their accessibility),
        ``gain_per_km``, ``origins_routed`` (origins that had to be routed again; the
        others kept the baseline's values, see :func:`compare_variants`).
    accessibility
        Per origin (rows, by id) and variant (columns; ``baseline`` first), the weight
        of the destinations within the cutoff.
    networks
        Variant -> its network.
    """

    table: pd.DataFrame
    accessibility: pd.DataFrame
    networks: dict[str, IntermodalNetwork]


def _access(matrix: pd.DataFrame, weights: Mapping[Any, float], cutoff: float) -> pd.Series:
    col = "travel_time" if "travel_time" in matrix.columns else "travel_time_min"
    w = matrix["destination"].map(weights).to_numpy(float)
    within = (matrix[col].to_numpy(float) <= cutoff) * w
    return pd.Series(within, index=matrix["origin"].to_numpy()).groupby(level=0).sum()


def _reachable_new_stops(
    base: IntermodalNetwork,
    scen: IntermodalNetwork,
    origins: pd.DataFrame,
    departure: int,
    cutoff: float,
    routing: Mapping[str, Any],
) -> np.ndarray:
    """Per origin, whether it may reach a new stop of ``scen`` within ``cutoff`` on the
    baseline (a necessary condition for any of its times within the cutoff to change
    when only lines are added): one arrive-by search per new stop, checked at both end
    nodes of the origin's street with the street's length as a margin."""
    from connectivity.routing.queries import latest_departures

    walk = base.streets
    speed = float(routing.get("walk_speed") or base.walk_speed) / 3.6
    from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

    snapped = walk.snap(
        origins["lon"].to_numpy(float),
        origins["lat"].to_numpy(float),
        max_distance=float(routing.get("snap_distance", DEFAULT_SNAP_DISTANCE)),
    )
    length = walk.edges["length"].to_numpy(float)[snapped.edge]
    # A journey leaving at any departure of the window and at a new stop within the
    # cutoff leaves an end node of the origin's street at or after the first departure,
    # so that node's duration to the stop by the window's end plus the cutoff is at most
    # cutoff + window, plus: the walk along the street (or along it to a stop beside it,
    # up to max_link_distance off it, that the origin reaches straight) and rounding.
    window = float(routing.get("window") or 0)
    side = float(base.params.get("max_link_distance", 0.0))
    limit = cutoff + window + (length + side) / speed + 60.0
    reach = np.zeros(len(origins), bool)
    tt = scen.timetable
    assert tt is not None
    lon = tt.stops["lon"].to_numpy(float)
    lat = tt.stops["lat"].to_numpy(float)
    skip = ("window", "n_jobs", "progress", "max_time")  # max_time: durations include waits
    keep = {k: v for k, v in routing.items() if k not in skip}
    keep = {k: v for k, v in keep.items() if k not in ("client", "chunk_size", "percentiles")}
    # With a window, the last departure may still reach a stop by its end plus the cutoff.
    arrival = departure + int(cutoff) + int(window)
    for s in scen.meta["new_stops"]:
        back = latest_departures(base, (float(lon[s]), float(lat[s])), arrival=arrival, **keep)
        t = back.nodes[0]
        reach |= np.minimum(t[snapped.node_u], t[snapped.node_v]) <= limit
        if reach.all():
            break
    return reach


def compare_variants(
    network: IntermodalNetwork,
    variants: Mapping[str, Any],
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    *,
    departure: Any,
    cutoff: float = 2700,
    weights: str | None = None,
    prune: bool = True,
    rank_by: str = "gain_per_km",
    **routing: Any,
) -> VariantComparison:
    """Compare variants by the accessibility they give many origins, reusing the baseline.

    The baseline's travel-time matrix is computed once; each variant only rebuilds its
    timetable and its new stops' links (:func:`apply_scenario`) and routes again. When a
    variant only adds lines (:class:`AddLine`) and ``prune`` is on, an origin that
    cannot reach any new stop within ``cutoff`` on the baseline keeps the baseline's
    accessibility (exact: a journey using a new line reaches one of its stops first,
    by baseline vehicles and walks), and only the other origins are routed again.

    Parameters
    ----------
    network
        The baseline.
    variants
        Name -> modifications.
    origins, destinations
        Frames with ``id``, ``lon``, ``lat`` (as :func:`connectivity.routing.queries.travel_time_matrix`).
    departure
        The departure (one; a ``window`` in ``routing`` uses the minimum over it).
    cutoff
        Seconds: a destination counts when reached within it.
    weights
        A column of ``destinations`` with their weights (default 1 each).
    prune
        Reuse the baseline's values of origins that cannot reach a new line.
    rank_by
        ``gain_per_km`` or ``access_gain``.
    **routing
        Passed to :func:`connectivity.routing.queries.travel_time_matrix`.

    Returns
    -------
    comparison
        The ranked table and the accessibility per origin and variant.

    Raises
    ------
    ScenarioError
        An invalid modification, or an unknown ``rank_by`` / ``weights`` column.
    """
    from connectivity.routing.queries import parse_departure, travel_time_matrix

    if rank_by not in ("gain_per_km", "access_gain"):
        raise ScenarioError(f"rank_by must be 'gain_per_km' or 'access_gain' (got {rank_by!r})")
    if weights is not None and weights not in destinations.columns:
        raise ScenarioError(f"destinations have no column {weights!r} for the weights")
    if not variants:
        raise ScenarioError("no variants to compare")
    dest_ids = destinations["id"] if "id" in destinations.columns else destinations.index
    w = destinations[weights].to_numpy(float) if weights else np.ones(len(destinations))
    weight_of = dict(zip(dest_ids, w, strict=True))
    ids = origins["id"].to_numpy() if "id" in origins.columns else origins.index.to_numpy()
    start = parse_departure(network, departure)
    kw = {"departure": start, **routing}
    base_access = _access(
        travel_time_matrix(network, origins, destinations, **kw), weight_of, cutoff
    ).reindex(ids, fill_value=0.0)
    frames = baseline_frames(network)
    access = {"baseline": base_access.to_numpy(float)}
    rows, nets = [], {}
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(variants.items(), desc="variants", unit="variant", disable=not sys.stderr.isatty())
    for name, mods in bar:
        scen = apply_scenario(network, mods, baseline_frames=frames)
        nets[name] = scen
        mods_list = [mods] if isinstance(mods, tuple(_APPLY)) else list(mods)
        values = base_access.to_numpy(float).copy()
        routed = np.ones(len(origins), bool)
        if prune and all(isinstance(m, AddLine) for m in mods_list):
            routed = _reachable_new_stops(network, scen, origins, start, cutoff, routing)
        if routed.any():
            sub = origins[routed]
            got = _access(travel_time_matrix(scen, sub, destinations, **kw), weight_of, cutoff)
            values[routed] = got.reindex(ids[routed], fill_value=0.0).to_numpy(float)
        access[name] = values
        km = float(sum(line["km"] for line in scen.meta["lines"]))
        gain = float(values.sum() - base_access.sum())
        rows.append(
            {
                "variant": name,
                "route_km": km,
                "new_stops": len(scen.meta["new_stops"]),
                "access_gain": gain,
                "gain_per_km": gain / km if km > 0 else np.nan,
                "origins_routed": int(routed.sum()),
            }
        )
    table = pd.DataFrame(rows).sort_values(
        rank_by, ascending=False, na_position="last", kind="stable"
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return VariantComparison(table.reset_index(drop=True), pd.DataFrame(access, index=ids), nets)
