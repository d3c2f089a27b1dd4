"""Timetables for routing tests, built from the reference's stop events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from _reference import Event

from connectivity import Timetable


def timetable_from_events(
    trips: Sequence[Sequence[Event]],
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    transfers: pd.DataFrame | None = None,
    date: dt.date | None = None,
    routes: Sequence[int] | None = None,
) -> Timetable:
    """One route (or route ``r{routes[t]}`` for trip ``t``); stop ``i`` at ``(lon[i],
    lat[i])`` named ``s{i}``; trip ``t`` visits its events in order, boarding and
    alighting where the event allows it."""
    n = len(lon)
    stops = pd.DataFrame(
        {"stop_id": [f"s{i}" for i in range(n)], "stop_name": [f"s{i}" for i in range(n)]}
    )
    stops["lon"] = np.asarray(lon, float)
    stops["lat"] = np.asarray(lat, float)
    if routes is None:
        route_df = pd.DataFrame({"route_id": ["r"], "route_type": [3]})
        of_trip: Any = 0
    else:
        n_routes = max(routes) + 1
        route_df = pd.DataFrame(
            {"route_id": [f"r{i}" for i in range(n_routes)], "route_type": [3] * n_routes}
        )
        of_trip = list(routes)
    trips_df = pd.DataFrame({"trip_id": [f"t{i}" for i in range(len(trips))], "route": of_trip})
    rows = [
        (t, i, ev.stop, ev.arrival, ev.departure, 0 if ev.board else 1, 0 if ev.alight else 1)
        for t, events in enumerate(trips)
        for i, ev in enumerate(events)
    ]
    columns = ["trip", "stop_sequence", "stop", "arrival", "departure"]
    st = pd.DataFrame(rows, columns=[*columns, "pickup_type", "drop_off_type"])
    return Timetable.from_frames(stops, route_df, trips_df, st, transfers, date=date)
