"""Scenario modifications: the dataclasses a scenario is made of, and their checks.

A scenario is a list of *modifications*, small dataclasses applied in order:

- :class:`AddLine`: a new line from a list of stop points or an alignment (a GeoJSON
  LineString cut into stops every ``stop_spacing`` metres), with its mode, headways by
  period or explicit departures, a speed or run times between stops, a dwell time, and
  (by default) both directions;
- :class:`ChangeFrequency`: run routes ``scale`` times as often, or every ``headway``
  seconds;
- :class:`RemoveRoutes`, :class:`RemoveStops`: take routes or stops out of service;
- :class:`AddStop`: a new stop on a route, between two of its consecutive stops;
- :class:`Reroute`: an existing route skips stops, or runs on past a terminus.

This module also holds what reads and checks their values without a network: times
(:func:`parse_seconds`), positive numbers, id lists, headway periods, a new line's
departures (:func:`line_departures`) and its stops (from points or an alignment).
Applying the modifications to a network is :mod:`connectivity.scenarios.apply`;
comparing variants is :mod:`connectivity.scenarios.compare`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectivity._errors import ScenarioError
from connectivity.transit.modes import TransitMode

__all__ = [
    "AddLine",
    "AddStop",
    "ChangeFrequency",
    "Modification",
    "RemoveRoutes",
    "RemoveStops",
    "Reroute",
    "line_departures",
]

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
        Stops in order: points ``(lon, lat)`` or ids of existing stops; or give
        ``alignment``. A point within ``reuse_stops_m`` of an existing stop is that stop.
    alignment
        The line's waypoints: a GeoJSON LineString (a mapping, a Feature, or a path to a
        ``.geojson`` file holding one) or a sequence of ``(lon, lat)``; the line follows
        the streets through them (or runs straight with ``follow_streets=False``);
        stops are placed at both ends and every ``stop_spacing`` metres along the path
        (evenly, the spacing rounded so the ends are stops); intermediate stops farther
        than the network's ``max_link_distance`` from a street are left out with a
        warning.
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
        None: a bus or trolleybus following a drive network takes the road times of its
        path times ``bus_factor``; any other line 20 km/h.
    run_times
        Seconds between consecutive stops (one fewer than the stops).
    dwell
        Seconds stopped at every intermediate stop.
    both_directions
        Also run the line in reverse from the last stop, at the same departures.
    follow_streets
        Route the line over the streets
        (:func:`connectivity.scenarios.line_routing.route_through`): its shape and
        ``route_km`` are the path's; False: straight between the points.
    reuse_stops_m
        A new stop within this many metres of an existing stop is that stop (0: never).
    bus_factor
        A bus's run time over the road time of its path (a bus is slower than a car).
    """

    name: str
    stops: Sequence[tuple[float, float] | str] | None = None
    alignment: Any = None
    stop_spacing: float = 500.0
    stop_names: Sequence[str] | None = None
    mode: str = "tram"
    headway: float | None = None
    headways: Mapping[str, float] | None = None
    departures: Sequence[Any] | None = None
    span: tuple[Any, Any] = DEFAULT_SPAN
    speed: float | None = None
    run_times: Sequence[float] | None = None
    dwell: float = 20.0
    both_directions: bool = True
    follow_streets: bool = True
    reuse_stops_m: float = 50.0
    bus_factor: float = 1.3


@dataclass
class ChangeFrequency:
    """Run routes ``scale`` times as often (2 doubles the service), or every
    ``headway`` seconds, between each pattern's first and last departures; or by period.

    Attributes
    ----------
    route_ids
        The routes to change.
    scale
        Frequency factor (> 0); give this, ``headway`` or ``headways``.
    headway
        Seconds between departures.
    headways
        Period ``"HH:MM-HH:MM"`` -> headway seconds: the routes run only in these
        periods (half-open, not overlapping), each pattern every its headway from the
        period's start (peak-only service: give only the peaks).
    """

    route_ids: Sequence[str]
    scale: float | None = None
    headway: float | None = None
    headways: Mapping[str, float] | None = None


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


@dataclass
class Reroute:
    """Change an existing route's pattern: skip stops, and extend it past a terminus.

    Attributes
    ----------
    route_id
        The route.
    skip
        Ids of stops its trips no longer serve: they run past them, and each skipped
        stop's dwell (its departure minus its arrival) is saved on the rest of the trip.
    terminus
        With ``extend``: the stop (an id) the extension starts from. The route's trips
        that end there run on to the new stops; those that start there start at the far
        end, earlier by the extension's time. Other trips (short turns) are left alone.
    extend
        The stops past ``terminus``, in order away from it: points ``(lon, lat)`` (a
        point within ``reuse_stops_m`` of an existing stop is that stop) or ids of
        existing stops.
    speed, run_times, follow_streets, reuse_stops_m, bus_factor
        As :class:`AddLine`, for the extension: ``run_times`` has one value per new stop
        (from the terminus to the first, then onwards); the extension follows the
        streets from the terminus unless ``follow_streets`` is false.
    dwell
        Seconds stopped at the terminus (now an intermediate stop) and at every new stop
        but the last.
    """

    route_id: str
    skip: Sequence[str] = ()
    terminus: str | None = None
    extend: Sequence[Any] = ()
    speed: float | None = None
    run_times: Sequence[float] | None = None
    dwell: float = 20.0
    follow_streets: bool = True
    reuse_stops_m: float = 50.0
    bus_factor: float = 1.3


Modification = AddLine | ChangeFrequency | RemoveRoutes | RemoveStops | AddStop | Reroute


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


def period_headways(headways: Mapping[str, float], where: str) -> list[tuple[int, int, float]]:
    """``(start, end, headway)`` seconds per period, sorted; overlapping periods are an
    error naming both."""
    rows = []
    for text, h in dict(headways).items():
        start, end = _period(text, where)
        headway = _positive(h, f"{where}: the headway of period {text!r}", " seconds")
        rows.append((start, end, headway, str(text)))
    if not rows:
        raise ScenarioError(f"{where}: headways is empty: give at least one period")
    rows.sort()
    for (_, end, _, a), (start, _, _, b) in zip(rows, rows[1:], strict=False):
        if start < end:
            raise ScenarioError(
                f"{where}: the periods {a!r} and {b!r} overlap; give each time of day once"
            )
    return [(start, end, h) for start, end, h, _ in rows]


def period_departures(periods: list[tuple[int, int, float]]) -> np.ndarray:
    """Departures ``start, start + h, ...`` before ``end`` of each period (seconds)."""
    times = [int(round(t)) for start, end, h in periods for t in np.arange(start, end, h)]
    return np.unique(np.asarray(times, np.int64))


def _line_periods(line: AddLine) -> list[tuple[int, int, float]]:
    """``(start, end, headway)`` seconds of each period of a ``headway`` (over ``span``)
    or ``headways``, checked; none for ``departures``."""
    where = f"line {line.name!r}"
    given = [x is not None for x in (line.headway, line.headways, line.departures)]
    if sum(given) != 1:
        raise ScenarioError(
            f"{where}: give exactly one of headway (with span), headways (by period) or departures"
        )
    if line.departures is not None:
        return []
    if line.headway is not None:
        periods = [(tuple(line.span), line.headway, "span")]
    else:
        assert line.headways is not None
        periods = [((a, b), h, "period") for a, b, h in period_headways(line.headways, where)]
    out = []
    for span, headway, what in periods:
        h = _positive(headway, f"{where}: the headway of {what}", " seconds")
        start = parse_seconds(span[0], f"{where} span")
        end = parse_seconds(span[1], f"{where} span")
        if end <= start:
            raise ScenarioError(f"{where}: the span {span!r} ends before it starts")
        out.append((start, end, h))
    return out


def line_entries(line: AddLine) -> list[tuple[int, int, int]]:
    """The headway-based entries of ``line``: ``(start, end, headway)`` whole seconds per
    period of a ``headway`` (over ``span``) or ``headways``; none for ``departures``
    (a timetable)."""
    return [(start, end, int(round(float(h)))) for start, end, h in _line_periods(line)]


def line_departures(line: AddLine) -> np.ndarray:
    """The departures of ``line`` from its first stop, seconds, sorted and unique."""
    where = f"line {line.name!r}"
    periods = _line_periods(line)
    if line.departures is not None:
        times = [parse_seconds(t, f"{where} departures") for t in line.departures]
    else:
        times = [int(round(t)) for start, end, h in periods for t in np.arange(start, end, h)]
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
