"""A new line's trips: its stops (new, or existing ones it meets), run times, both directions.

:func:`add_line` is the :class:`~connectivity.scenarios.modifications.AddLine` step of
:func:`connectivity.scenarios.apply.apply_scenario`; the rules are in that module's
docstring, the street routing in :mod:`connectivity.scenarios.line_routing`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ScenarioError
from connectivity.scenarios.line_routing import existing_stops, place_line
from connectivity.scenarios.modifications import (
    ROUTE_TYPES,
    AddLine,
    _positive,
    line_departures,
    line_entries,
)
from connectivity.transit.modes import TransitMode

logger = logging.getLogger("connectivity.scenarios.apply")


@dataclass
class LinePlan:
    """Where a line runs: its stops (positions in the working frames, the new ones
    added), the run times between them, its points and path, for its trips and its row
    of ``meta["lines"]``."""

    stops: np.ndarray
    runs: np.ndarray
    dwell: float
    mode: TransitMode
    row: dict[str, Any]


def plan_line(frames: Any, line: AddLine, ctx: Any, where: str) -> LinePlan:
    """Place ``line``'s stops (reusing existing ones, adding the new ones to ``frames``)
    and time its runs, as :func:`add_line` does; a :class:`~connectivity.scenarios.modifications.Reroute`
    extension is planned the same way, from its terminus."""
    try:
        mode = TransitMode(str(line.mode).lower())
    except ValueError:
        raise ScenarioError(
            f"{where}: unknown mode {line.mode!r}; use one of "
            f"{', '.join(m.value for m in ROUTE_TYPES)}"
        ) from None
    if mode not in ROUTE_TYPES:
        raise ScenarioError(f"{where}: mode {mode.value!r} cannot be proposed as a line")
    placed = place_line(
        line,
        stops_frame=frames.stops,
        usable=ctx.usable_stops(frames),
        streets=ctx.streets_for(mode.value),
        to_xy=ctx.to_xy,
        max_distance=ctx.max_link,
        stop_position=frames.stop_positions,
    )
    lon, lat, gaps = placed.lon, placed.lat, placed.gaps
    existing = placed.existing
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
            lon, lat, gaps, existing = lon[~off], lat[~off], np.diff(chain), existing[~off]
            if placed.path_times is not None:
                clock = np.concatenate([[0.0], np.cumsum(placed.path_times)])[~off]
                placed.path_times = np.diff(clock)
    n = len(lon)
    if n < 2:
        raise ScenarioError(f"{where} has {n} stop(s): a line needs at least 2")
    # New points near an existing stop are that stop (a transfer there is no walk).
    x, y = ctx.to_xy(lon, lat)
    sx, sy = ctx.to_xy(frames.stops["lon"].to_numpy(float), frames.stops["lat"].to_numpy(float))
    reuse = float(line.reuse_stops_m)
    if not (np.isfinite(reuse) and reuse >= 0):
        raise ScenarioError(f"{where}: reuse_stops_m must be metres >= 0 (got {reuse!r})")
    near = existing_stops(
        np.asarray(sx, float), np.asarray(sy, float), ctx.usable_stops(frames), x, y, reuse
    )
    existing = np.where(existing >= 0, existing, near)
    if (np.diff(existing)[(existing[:-1] >= 0)] == 0).any():
        raise ScenarioError(
            f"{where}: two consecutive stops are the same existing stop; remove one or "
            "lower reuse_stops_m"
        )
    if line.run_times is not None:
        runs = np.asarray([_positive(r, f"{where}: run time") for r in line.run_times])
        if len(runs) != n - 1:
            raise ScenarioError(
                f"{where}: {len(runs)} run times for {n} stops; give {n - 1} (one per gap)"
            )
    elif line.speed is None and placed.path_times is not None and _is_road(line, ctx):
        runs = placed.path_times * _positive(line.bus_factor, f"{where}: bus_factor")
    else:
        speed = _positive(20.0 if line.speed is None else line.speed, f"{where}: speed", " km/h")
        runs = gaps / (speed / 3.6)
    dwell = float(line.dwell)
    if not (np.isfinite(dwell) and dwell >= 0):
        raise ScenarioError(f"{where}: dwell must be seconds >= 0 (got {line.dwell!r})")
    names = list(line.stop_names) if line.stop_names is not None else []
    if names and len(names) != n:
        raise ScenarioError(f"{where}: {len(names)} stop names for {n} stops")
    names = names or [f"{line.name} {k + 1}" for k in range(n)]
    fresh = np.flatnonzero(existing < 0)
    ctx.check_on_network(
        lon[fresh], lat[fresh], [f"{where}: stop {k + 1} ({names[k]})" for k in fresh]
    )

    ids = [f"{line.name}:{k + 1}" for k in fresh]
    first = frames.add_stops(ids, [names[k] for k in fresh], lon[fresh], lat[fresh])
    ctx.new_stops += list(range(first, first + len(fresh)))
    stops = existing.copy()
    stops[fresh] = np.arange(first, first + len(fresh), dtype=np.int64)
    row = {
        "name": str(line.name),
        "mode": mode.value,
        "kind": "line",
        "lon": lon,
        "lat": lat,
        "km": gaps.sum() / 1e3,
        "path_lon": placed.path_lon,
        "path_lat": placed.path_lat,
        "new_stops": len(fresh),
        "reused_stops": int(n - len(fresh)),
        "stops": stops.tolist(),
    }
    return LinePlan(stops=stops, runs=runs, dwell=dwell, mode=mode, row=row)


def stop_offsets(runs: np.ndarray, dwell: float) -> tuple[np.ndarray, np.ndarray]:
    """Arrival and departure offsets (whole seconds) at each stop of a run from the first
    stop's departure: the run times plus ``dwell`` at each intermediate stop."""
    n = len(runs) + 1
    arr_off = np.concatenate([[0.0], np.cumsum(runs + dwell) - dwell])
    dep_off = arr_off + np.where((np.arange(n) > 0) & (np.arange(n) < n - 1), dwell, 0.0)
    return np.round(arr_off).astype(np.int64), np.round(dep_off).astype(np.int64)


def add_line(frames: Any, line: AddLine, ctx: Any) -> None:
    """Add ``line`` to ``frames`` (the working timetable of ``ctx``'s network)."""
    where = f"line {line.name!r}"
    if not str(line.name):
        raise ScenarioError("a line needs a name (its route id)")
    plan = plan_line(frames, line, ctx, where)
    stops, runs, dwell, n = plan.stops, plan.runs, plan.dwell, len(plan.stops)
    departures = line_departures(line)
    entries = line_entries(line)
    route = frames.add_route(str(line.name), plan.mode)
    ctx.lines.append(plan.row)
    directions = [(stops, runs, "0")]
    if line.both_directions:
        directions.append((stops[::-1], runs[::-1], "1"))
    trip_rows: list[dict[str, Any]] = []
    events: dict[str, list[np.ndarray]] = {
        c: [] for c in ("trip", "stop", "stop_sequence", "arrival", "departure")
    }
    for seq, run, direction in directions:
        arr_off, dep_off = stop_offsets(run, dwell)
        for t in departures:
            k = len(trip_rows)
            # a departure of a headway period is a vehicle every so often, not at t
            entry = next((i for i, (a, b, _) in enumerate(entries) if a <= t < b), -1)
            # named as load_timetable names a frequency entry's trips: template#time
            name = (
                f"{line.name}:{direction}:{entry}#" if entry >= 0 else f"{line.name}:{direction}:"
            )
            trip_rows.append(
                {
                    "trip_id": f"{name}{_hms(int(t))}",
                    "route": route,
                    "route_id": str(line.name),
                    "direction_id": int(direction),
                    "service_id": "scenario",
                    "headway_entry": entry,
                    "headway": entries[entry][2] if entry >= 0 else 0,
                    "headway_end": entries[entry][1] if entry >= 0 else 0,
                    "entry_name": f"{line.name}:{direction}:{entry}",
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


def _is_road(line: AddLine, ctx: Any) -> bool:
    """Whether the line takes road times: a bus or trolleybus on a drive network."""
    from connectivity._modes import Mode

    road = str(line.mode).lower() in (TransitMode.BUS.value, TransitMode.TROLLEYBUS.value)
    return road and ctx.streets_for(str(line.mode).lower()).mode == Mode.DRIVE


def _trip_frame(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    """The new line's trips; a headway period's trips are one headway-based entry
    (``exact_times`` 0), named (``gtfs_trip_id``) by line, direction and period, so its
    phases do not depend on the rest of the scenario."""
    out = pd.DataFrame(rows)
    based = out["headway_entry"].to_numpy(np.int64) >= 0
    out["gtfs_trip_id"] = np.where(based, out.pop("entry_name"), out["trip_id"])
    out["day_offset"] = np.zeros(len(out), np.int8)
    out["frequency"] = based
    out["exact_times"] = np.where(based, 0, 1).astype(np.int8)
    out["feed_id"] = "scenario"
    keep = set(like.columns) | {"headway_entry", "headway", "headway_end", "gtfs_trip_id"}
    return out[[c for c in out.columns if c in keep or c in rows[0]]]


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
