"""What a variant costs in service: the vehicle-hours it adds and the vehicles it needs.

:func:`service_change` compares the baseline's and a variant's timetables on the routes
the variant touches (:func:`touched_routes`: the lines it adds, the routes whose
frequency, stops or service it changes or removes):

- ``added_vehicle_hours``: the sum over the trips of those routes of their time from
  first departure to last arrival, in the variant minus in the baseline, hours;
- ``peak_vehicles``: the most trips of those routes in service at one time (a trip is
  in service from its first departure to its last arrival, half-open), in the variant
  minus in the baseline. For a line every ``h`` seconds whose round trip takes ``c``
  seconds this is ``ceil(c / h)``, the vehicles its timetable needs without layovers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from connectivity.scenarios.modifications import (
    AddLine,
    AddStop,
    ChangeFrequency,
    RemoveRoutes,
    Reroute,
)

__all__ = ["ServiceChange", "service_change", "touched_routes"]


def touched_routes(modifications: Iterable[Any]) -> list[str]:
    """The route ids a list of modifications adds or changes (in order, once each)."""
    out: list[str] = []
    for m in modifications:
        if isinstance(m, AddLine):
            out.append(str(m.name))
        elif isinstance(m, ChangeFrequency | RemoveRoutes):
            ids = [m.route_ids] if isinstance(m.route_ids, str) else m.route_ids
            out += [str(r) for r in ids]
        elif isinstance(m, AddStop | Reroute):
            out.append(str(m.route_id))
    return list(dict.fromkeys(out))


class ServiceChange(dict[str, float]):
    """``added_trips``, ``added_vehicle_hours`` and ``peak_vehicles`` (a dict, for a
    table's row)."""


def _trip_spans(tt: Any, route_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """First departure and last arrival of every trip of ``route_ids`` (seconds)."""
    if tt is None or tt.n_trips == 0 or not route_ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ids = tt.routes["route_id"].astype(str).to_numpy(object)
    routes = np.flatnonzero(np.isin(ids, route_ids))
    trip_route = tt.trips["route"].to_numpy(np.int64)
    events = tt.stop_times()
    trip = events["trip"].to_numpy(np.int64)
    keep = np.isin(trip_route[trip], routes)
    trip = trip[keep]
    if len(trip) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dep = events["departure"].to_numpy(np.int64)[keep]
    arr = events["arrival"].to_numpy(np.int64)[keep]
    offset = (
        tt.trips["day_offset"].to_numpy(np.int64)[trip] * 86_400
        if "day_offset" in tt.trips.columns
        else 0
    )
    _, first = np.unique(trip, return_index=True)
    last = np.concatenate([first[1:] - 1, [len(trip) - 1]])  # events are trip by trip
    return (dep + offset)[first], (arr + offset)[last]


def _peak(start: np.ndarray, end: np.ndarray) -> int:
    """The most intervals ``[start, end)`` open at one time."""
    if len(start) == 0:
        return 0
    times = np.concatenate([start, end])
    step = np.concatenate([np.ones(len(start), np.int64), -np.ones(len(end), np.int64)])
    order = np.lexsort((step, times))  # at a tie, an end comes before a start
    return int(np.cumsum(step[order]).max())


def service_change(baseline: Any, variant: Any, route_ids: Iterable[str]) -> ServiceChange:
    """The vehicle-hours and peak vehicles a variant adds on the routes it touches.

    Parameters
    ----------
    baseline, variant
        The two timetables (the baseline may be None: a city without a feed).
    route_ids
        The routes compared (:func:`touched_routes` of the variant's modifications).

    Returns
    -------
    change
        ``added_trips``, ``added_vehicle_hours`` (hours) and ``peak_vehicles`` (the change of the most
        trips in service at one time), as the module docstring defines them.
    """
    ids = [str(r) for r in route_ids]
    b0, b1 = _trip_spans(baseline, ids)
    v0, v1 = _trip_spans(variant, ids)
    hours = (float((v1 - v0).sum()) - float((b1 - b0).sum())) / 3600.0
    return ServiceChange(
        added_trips=len(v0) - len(b0),
        added_vehicle_hours=hours,
        peak_vehicles=_peak(v0, v1) - _peak(b0, b1),
    )
