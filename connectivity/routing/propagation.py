"""Propagation for many-origin accessibility: from one origin's range-RAPTOR labels
straight to cumulative opportunities, without materialising its travel-time matrix.

:func:`prepare_propagation` restricts the network's stop-to-node egress trees to the
destinations that carry a weight (once per network and weights; every origin reuses it,
and it goes once to each worker). :func:`range_cumulative` then routes one origin over
the departure minutes exactly as :func:`connectivity.travel_times` does (the same snap,
access walk and range-RAPTOR) and propagates its vehicle arrivals through the restricted
trees, latest minute first (the running minimum of :func:`range_egress
<connectivity.routing._raptor.range_egress>`), pruning each tree walk at the largest
cutoff: a node beyond it at one minute is beyond it at every earlier minute too. Per
destination it counts the minutes whose time is within each cutoff; the nearest-rank
percentile ``p`` of the minutes is within ``c`` exactly when at least
``ceil(p / 100 * minutes)`` minutes are. Times are compared in float32, as
:class:`connectivity.TravelTimes` holds them, so the sums equal those of per-origin
``travel_times`` to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing._raptor import UNREACHED
from connectivity.routing.engine import (
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    _check_walk_radius,
    _engine,
    _make_query,
    _snap_walk,
    _transit,
    _walk_from,
)
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

__all__ = ["Propagation", "prepare_propagation", "range_cumulative"]

#: Metres of float noise tolerated at walking limits (as the engine does).
_DIST_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Propagation:
    """The egress trees restricted to the weighted destinations.

    ``nodes`` are the walk-node indices of the destinations (weight != 0), ``weights``
    their weights; ``ptr``, ``node`` (into ``nodes``), ``dist`` the trees per stop,
    still sorted by distance.
    """

    nodes: np.ndarray
    weights: np.ndarray
    ptr: np.ndarray
    node: np.ndarray
    dist: np.ndarray


def prepare_propagation(network: IntermodalNetwork, weights: np.ndarray) -> Propagation:
    """The trees of ``network`` restricted to the nodes with a weight (see the module)."""
    w = np.asarray(weights, float)
    nodes = np.flatnonzero(w != 0).astype(np.int64)
    position = np.full(network.n_nodes, -1, np.int64)
    position[nodes] = np.arange(len(nodes))
    eng = _engine(network, False)
    keep = position[eng.tree_node] >= 0
    stop_of = np.repeat(np.arange(len(eng.tree_ptr) - 1), np.diff(eng.tree_ptr))
    counts = np.bincount(stop_of[keep], minlength=len(eng.tree_ptr) - 1)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Propagation(
        nodes=nodes,
        weights=w[nodes],
        ptr=ptr,
        node=position[eng.tree_node[keep]],
        dist=np.asarray(eng.tree_dist[keep], np.float64),
    )


@njit(cache=True)
def _first_within(departures, lo, hi, arrival, cut):  # pragma: no cover - compiled
    """The number of minutes ``i`` in ``lo..hi`` (departures ascending) whose time
    ``float32(arrival - departures[i])`` is within ``cut``: those are ``i >= i*``, found
    by bisection (exact, in float32 as TravelTimes compares)."""
    a, b = lo, hi + 1
    while a < b:
        m = (a + b) // 2
        if np.float32(arrival - departures[m]) <= cut:
            b = m
        else:
            a = m + 1
    return hi + 1 - a


@njit(cache=True)
def _close(j, lo, hi, arrival, direct, departures, cuts, counts):  # pragma: no cover
    """Add the minutes ``lo..hi`` of node ``j``, during which its best vehicle-and-walk
    arrival was ``arrival``, to its counts per cutoff."""
    if lo > hi:
        return
    w = np.float32(direct[j])
    for c in range(cuts.shape[0]):
        if w <= cuts[c]:
            counts[j, c] += hi - lo + 1
        elif arrival < np.inf:
            counts[j, c] += _first_within(departures, lo, hi, arrival, cuts[c])


@njit(cache=True)
def _range_counts(
    vehicle, departures, direct, ptr, node, dist, max_dist, spm, cuts, horizon, weights, need
):  # pragma: no cover - compiled
    """Opportunities within each cutoff (``cuts``, float32) at ``need`` minutes or more.

    ``departures`` ascending. Minutes are taken latest first; a node's best arrival is a
    step function of the minute, so each constant stretch is counted at once (by
    bisection) when the node improves, instead of every node at every minute.
    """
    n_dep = departures.shape[0]
    n_stops = vehicle.shape[1]
    n_w = direct.shape[0]
    n_c = cuts.shape[0]
    best = np.full(n_w, np.inf)
    since = np.full(n_w, n_dep - 1, np.int64)  # latest minute of the current stretch
    last = np.full(n_stops, UNREACHED, np.int64)
    counts = np.zeros((n_w, n_c), np.int64)
    for k in range(n_dep - 1, -1, -1):
        d = departures[k]
        for s in range(n_stops):
            t = vehicle[k, s]
            if t >= last[s]:
                continue
            last[s] = t
            limit = min(max_dist, (d + horizon - t) / spm)
            for e in range(ptr[s], ptr[s + 1]):
                de = dist[e]
                if de > limit:
                    break
                v = t + de * spm
                j = node[e]
                if v < best[j]:
                    if since[j] > k:  # close the stretch of the later minutes
                        _close(j, k + 1, since[j], best[j], direct, departures, cuts, counts)
                        since[j] = k
                    best[j] = v
    out = np.zeros(n_c)
    for j in range(n_w):
        _close(j, 0, since[j], best[j], direct, departures, cuts, counts)
        for c in range(n_c):
            if counts[j, c] >= need:
                out[c] += weights[j]
    return out


def range_cumulative(
    network: IntermodalNetwork,
    prep: Propagation,
    origin: tuple[float, float],
    *,
    cutoffs: np.ndarray,
    need: int,
    departure: Any,
    window: float | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
) -> np.ndarray:
    """Opportunities (``prep.weights``) reached from ``origin`` within each cutoff at
    ``need`` departure minutes or more, by walk+transit (the rules and parameters of
    :func:`connectivity.travel_times`).

    Returns
    -------
    access
        One sum per cutoff, in the order of ``cutoffs``.
    """
    q = _make_query(
        network, departure, window, max_transfers, max_walk_time, transfer_slack, walk_speed, None
    )
    _check_walk_radius(network, q)
    lon, lat = float(origin[0]), float(origin[1])
    nodes, offs, street = _snap_walk(network, lon, lat, towards=False, max_distance=snap_distance)
    eng = _engine(network, False)
    cuts = np.asarray(cutoffs, np.float32)
    horizon = float(cuts.max()) + 1.0 if len(cuts) else 0.0
    # The direct walk is bounded by the longest cutoff, as travel_times bounds it by
    # max_time (walk+transit is never worse than walking alone); the access walks to the
    # stops by max_walk_time (_transit keeps those within it).
    reach_m = max(q.max_walk_metres, horizon * q.metres_per_second)
    walk_m = _walk_from(network, eng.graph, nodes[0], offs[0], reach_m, street[0])
    direct = walk_m[: network.n_nodes][prep.nodes] / q.metres_per_second
    n_dep = len(q.departures)
    if network.timetable is None or network.n_stops == 0:
        vehicle = np.full((n_dep, 0), UNREACHED, np.int64)
    else:
        _, vehicle = _transit(network, eng, q, walk_m, q.departures)
    order = np.argsort(q.departures, kind="stable")
    return _range_counts(
        vehicle[order],
        np.asarray(q.departures, np.int64)[order],
        direct,
        prep.ptr,
        prep.node,
        prep.dist,
        q.max_walk_metres + _DIST_TOLERANCE,
        1.0 / q.metres_per_second,
        cuts,
        horizon,
        prep.weights,
        int(need),
    )
