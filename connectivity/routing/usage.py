"""Which lines carry the trips: :func:`route_usage`, the schedule-based usage of routes,
stops and ride segments by the optimal journeys of many origin-destination pairs.

For every origin and every departure minute of the window, the journey to each
destination is the one behind :func:`~connectivity.travel_time_matrix`'s value for that
minute (the same access, egress and direct walks; the direct walk wins a tie, as does the
first egress stop and the first of the destination's two end nodes). The journeys of one
RAPTOR run form a tree over its labels (each ride was boarded at a stop reached by the
access walk or by an earlier ride), so the weight of every destination is carried down
that tree in one sweep (:func:`~connectivity.routing._raptor.usage_sweep`) instead of
rebuilding each journey.

A pair weighs ``origin weight x destination weight``; each minute of the window counts
``1 / minutes``, so the figures are per departure minute: with the origins' population
as weights and one destination, a route's ``boardings`` is the number of people whose
best trip to it rides that route (on average over the window).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing._raptor import egress_argmin, usage_sweep
from connectivity.routing.engine import (
    _DIST_TOLERANCE,
    _ROUND_TOLERANCE,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    _check_walk_radius,
    _engine,
    _make_query,
    _restrict_trees,
    _snap_walk,
    _walk_from,
    drawn_engines,
    footpath_costs,
)
from connectivity.routing.headways import (
    DEFAULT_BOARDING,
    DEFAULT_DRAWS,
    check_boarding,
    check_journey_boarding,
)
from connectivity.routing.itineraries import egress_entries
from connectivity.routing.journeys import run_with_parents
from connectivity.routing.matrix import _points_lonlat
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

logger = logging.getLogger(__name__)

__all__ = ["RouteUsage", "route_usage"]


@dataclass(frozen=True)
class RouteUsage:
    """What :func:`route_usage` returns: three tables, weights per departure minute.

    Attributes
    ----------
    routes
        One row per route used: ``route_id`` (feed-namespaced), ``route`` (short name,
        else long name), ``mode``, ``boardings`` (the weight of the journeys that board
        it; one that boards it twice counts twice), and ``share`` (``boardings`` over
        the weight of every journey by transit: the share of riders that use it).
    stops
        One row per stop used: ``stop_id``, ``stop_name``, ``boardings``,
        ``alightings``, ``transfers`` (boardings after an earlier ride), and
        ``geometry`` (points, EPSG:4326).
    segments
        One row per route and pair of consecutive stops ridden: ``route_id``,
        ``route``, ``mode``, ``from_stop_id``, ``to_stop_id``, ``from_name``,
        ``to_name``, ``journeys``, and ``geometry`` (the straight line between the two
        stops, EPSG:4326).
    total
        The weight of every pair and minute reached within ``max_time``.
    by_transit
        The part of ``total`` whose journey rides at least one vehicle.
    """

    routes: pd.DataFrame
    stops: Any
    segments: Any
    total: float
    by_transit: float


def _weights(values: Any, points: Any, n: int, name: str) -> np.ndarray:
    """Weights for ``n`` points: None (all 1), a column name of ``points``, or values."""
    if values is None:
        return np.ones(n)
    if isinstance(values, str):
        if values not in getattr(points, "columns", ()):
            raise ParameterError(
                f"{name}={values!r} is not a column of the points (columns: "
                f"{', '.join(map(str, getattr(points, 'columns', [])))})"
            )
        values = points[values]
    arr = np.asarray(values, dtype=float).ravel()
    if arr.shape[0] != n:
        raise ParameterError(f"{name} has {arr.shape[0]} values for {n} points: give one each")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"{name} must be finite and >= 0: value {i} is {float(arr[i])} (fill or drop it)"
        )
    return arr


def route_usage(
    network: IntermodalNetwork,
    origins: Any,
    destinations: Any,
    *,
    departure: Any,
    window: float | None = None,
    weights: Any = None,
    destination_weights: Any = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    max_time: float | None = None,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
    progress: bool | None = None,
    boarding: str = DEFAULT_BOARDING,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> RouteUsage:
    """The weighted number of optimal journeys that ride each route, stop and segment.

    Parameters
    ----------
    network
        From :func:`~connectivity.build_network`, with a timetable.
    origins, destinations
        GeoDataFrames of points or frames with ``lon`` / ``lat`` (as
        :func:`~connectivity.travel_time_matrix`).
    departure, window
        The first departure and the window in seconds (every minute from ``departure``
        on; ``None`` or 0 for the one departure).
    weights, destination_weights
        Per origin (destination): a column name of the points or one value each
        (population, jobs); ``None`` weighs each point 1.
    max_transfers, max_walk_time, transfer_slack, walk_speed, max_time, snap_distance
        As :func:`~connectivity.travel_time_matrix`.
    progress
        Show a progress bar (default: when stderr is a terminal).
    boarding, draws, seed
        As :func:`~connectivity.travel_times` (``"random"`` or ``"scheduled"``); with
        random boarding every (minute, draw) sample counts ``1 / samples``.

    Returns
    -------
    RouteUsage
        The routes, stops and segments tables.

    Raises
    ------
    ParameterError
        A network without a timetable, weights that do not fit the points, bad
        parameters.
    OutsideNetworkError
        A point too far from the walk network.
    """
    import sys

    from tqdm.auto import tqdm

    q = _make_query(
        network,
        departure,
        window,
        max_transfers,
        max_walk_time,
        transfer_slack,
        walk_speed,
        max_time,
    )
    if network.timetable is None:
        raise ParameterError("the network has no timetable: route usage needs one (give --gtfs)")
    _check_walk_radius(network, q)
    rule = check_boarding(boarding, draws, seed)
    check_journey_boarding(rule, network.timetable, "route_usage")
    o_lon, o_lat, _ = _points_lonlat(origins, "origins")
    d_lon, d_lat, _ = _points_lonlat(destinations, "destinations")
    w_o = _weights(weights, origins, len(o_lon), "weights")
    w_d = _weights(destination_weights, destinations, len(d_lon), "destination_weights")
    o_nodes, o_cost, o_street = _snap_walk(
        network, o_lon, o_lat, towards=False, max_distance=snap_distance
    )
    d_nodes, d_cost, _ = _snap_walk(network, d_lon, d_lat, towards=True, max_distance=snap_distance)
    tt = network.timetable
    n = network.n_nodes
    mps = q.metres_per_second
    uniq, inverse = np.unique(d_nodes, return_inverse=True)
    where = inverse.reshape(d_nodes.shape)
    sub = _restrict_trees(network.tree_ptr, network.tree_node, network.tree_dist, uniq, n)
    entries = egress_entries(tt, q, *sub)
    cost = d_cost / mps
    eng = _engine(network, False)
    fp_walk, fp_board = footpath_costs(network, q.walk_speed, q.transfer_slack)
    fp = (eng.fp_ptr, eng.fp_to, fp_walk[eng.fp_src_order], fp_board[eng.fp_src_order])
    stop_ptr, pattern_stops = eng.timetable[0], eng.timetable[1]
    engines = drawn_engines(network, False, rule)
    samples = [(e.timetable, int(d)) for e in engines for d in q.departures]
    share = 1.0 / len(samples)
    n_stops = tt.n_stops
    segment_w = np.zeros(len(pattern_stops))
    board_w = np.zeros(n_stops)
    alight_w = np.zeros(n_stops)
    transfer_w = np.zeros(n_stops)
    pattern_w = np.zeros(tt.n_patterns)
    total = by_transit = 0.0
    limit = q.max_walk_metres + _DIST_TOLERANCE
    if progress is None:
        progress = sys.stderr.isatty()
    for i in tqdm(range(len(o_lon)), desc="route usage", unit="origin", disable=not progress):
        if w_o[i] == 0:
            continue
        walk_m = _walk_from(
            network, network.graph, o_nodes[i], o_cost[i], q.direct_walk_metres, o_street[i]
        )
        stop_walk = walk_m[n:]
        reach = np.flatnonzero(stop_walk <= limit)
        access_t = np.ceil(stop_walk[reach] / mps - _ROUND_TOLERANCE).astype(np.int64)
        direct = walk_m[uniq] / mps
        direct_dest = np.minimum(direct[where[:, 0]] + cost[:, 0], direct[where[:, 1]] + cost[:, 1])
        for timetable, d in samples:
            lab = run_with_parents(timetable, fp, reach, access_t, d, q.max_transfers + 1)
            node_at, node_stop = egress_argmin(
                lab.vehicle, entries.stop, entries.node, entries.walk_s, float(d), len(uniq)
            )
            a0 = node_at[where[:, 0]] + cost[:, 0]
            a1 = node_at[where[:, 1]] + cost[:, 1]
            transit = np.minimum(a0, a1)
            stop = np.where(a0 <= a1, node_stop[where[:, 0]], node_stop[where[:, 1]])
            best = np.minimum(transit, direct_dest)
            ok = np.isfinite(best) & (best <= q.max_time)
            ride = ok & (transit < direct_dest)
            pair_w = w_o[i] * w_d * share
            total += float(pair_w[ok].sum())
            by_transit += float(pair_w[ride].sum())
            if not ride.any():
                continue
            stop_weight = np.bincount(stop[ride], weights=pair_w[ride], minlength=n_stops)
            vehicle, _, v_round, v_pattern, _, v_board, v_alight, r_round, r_from, _ = lab.arrays
            usage_sweep(
                vehicle, v_round, v_pattern, v_board, v_alight, r_round, r_from,
                stop_ptr, pattern_stops, stop_weight,
                segment_w, board_w, alight_w, transfer_w, pattern_w,
            )  # fmt: skip
    return _tables(tt, stop_ptr, pattern_stops, segment_w, board_w, alight_w, transfer_w,
                   pattern_w, total, by_transit)  # fmt: skip


def _route_info(tt: Any) -> pd.DataFrame:
    """Per route row of the timetable: ``route_id``, ``route`` (short, else long name,
    else the id) and ``mode``."""
    routes = tt.routes
    name = routes["route_id"].astype(str)
    for col in ("route_long_name", "route_short_name"):
        if col in routes.columns:
            v = routes[col]
            ok = v.notna() & (v.astype(str).str.len() > 0)
            name = name.where(~ok, v.astype(str))
    mode = routes["mode"].astype(str) if "mode" in routes.columns else "transit"
    return pd.DataFrame(
        {"route_id": routes["route_id"].astype(str).to_numpy(), "route": name.to_numpy(),
         "mode": np.broadcast_to(np.asarray(mode, dtype=object), len(routes))}
    )  # fmt: skip


def _tables(
    tt: Any,
    stop_ptr: np.ndarray,
    pattern_stops: np.ndarray,
    segment_w: np.ndarray,
    board_w: np.ndarray,
    alight_w: np.ndarray,
    transfer_w: np.ndarray,
    pattern_w: np.ndarray,
    total: float,
    by_transit: float,
) -> RouteUsage:
    import geopandas as gpd
    from shapely import linestrings

    info = _route_info(tt)
    pattern_route = np.asarray(tt.pattern_route, np.int64)
    used = pattern_w > 0
    per = pd.DataFrame({"row": pattern_route[used], "boardings": pattern_w[used]})
    per = per.groupby("row", sort=True)["boardings"].sum()
    routes = info.iloc[per.index.to_numpy()].reset_index(drop=True)
    routes["boardings"] = per.to_numpy()
    routes["share"] = routes["boardings"] / by_transit if by_transit > 0 else np.nan
    routes = routes.sort_values(["boardings", "route_id"], ascending=[False, True])
    routes = routes.reset_index(drop=True)

    stops = tt.stops
    lon, lat = stops["lon"].to_numpy(float), stops["lat"].to_numpy(float)
    hit = np.flatnonzero((board_w > 0) | (alight_w > 0))
    stop_table = gpd.GeoDataFrame(
        {
            "stop_id": stops["stop_id"].astype(str).to_numpy()[hit],
            "stop_name": stops["stop_name"].astype(str).to_numpy()[hit],
            "boardings": board_w[hit],
            "alightings": alight_w[hit],
            "transfers": transfer_w[hit],
        },
        geometry=gpd.points_from_xy(lon[hit], lat[hit]),
        crs="EPSG:4326",
    )
    stop_table = stop_table.sort_values(["boardings", "stop_id"], ascending=[False, True])
    stop_table = stop_table.reset_index(drop=True)

    # Segments: position i of pattern p rides pattern_stops[i] -> pattern_stops[i + 1].
    pattern_of = np.repeat(np.arange(len(stop_ptr) - 1), np.diff(stop_ptr))
    pos = np.flatnonzero(segment_w > 0)
    a, b = pattern_stops[pos], pattern_stops[pos + 1]
    seg = pd.DataFrame(
        {"row": pattern_route[pattern_of[pos]], "a": a, "b": b, "journeys": segment_w[pos]}
    )
    seg = seg.groupby(["row", "a", "b"], sort=True, as_index=False)["journeys"].sum()
    ids = stops["stop_id"].astype(str).to_numpy()
    names = stops["stop_name"].astype(str).to_numpy()
    ra, rb = seg["a"].to_numpy(), seg["b"].to_numpy()
    r = info.iloc[seg["row"].to_numpy()].reset_index(drop=True)
    coords = np.stack(
        [np.column_stack([lon[ra], lat[ra]]), np.column_stack([lon[rb], lat[rb]])], axis=1
    )
    segments = gpd.GeoDataFrame(
        {
            "route_id": r["route_id"],
            "route": r["route"],
            "mode": r["mode"],
            "from_stop_id": ids[ra],
            "to_stop_id": ids[rb],
            "from_name": names[ra],
            "to_name": names[rb],
            "journeys": seg["journeys"].to_numpy(),
        },
        geometry=linestrings(coords) if len(seg) else [],
        crs="EPSG:4326",
    )
    segments = segments.sort_values(
        ["journeys", "route_id", "from_stop_id"], ascending=[False, True, True]
    ).reset_index(drop=True)
    return RouteUsage(routes, stop_table, segments, float(total), float(by_transit))
