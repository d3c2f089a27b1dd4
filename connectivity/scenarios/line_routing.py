"""New lines along the streets, and new stops that meet the existing ones.

- :func:`route_through`: the path of a line through its stops (or the waypoints of its
  alignment) over a street network: each point goes to its nearest node, consecutive
  nodes are joined by the fastest path (by the network's edge times); per leg the
  path's length and its time. A point farther than ``max_distance`` from every node is
  an error naming the line's key (``stops`` or ``alignment``) and the point.
- :func:`existing_stops`: which of a line's stops are existing stops: stop ids named in
  ``stops``, and new points within ``reuse_stops_m`` of an existing stop (the nearest),
  so that a transfer to that stop's lines is a change at the same stop, without a walk.

The rules a line follows (:func:`connectivity.scenarios.apply.apply_scenario`):
``follow_streets = false`` draws straight legs (a new rail line); else a bus (or
trolleybus) on a drive network takes the road times of the path times ``bus_factor``
(unless ``speed`` or ``run_times`` are given), other modes the path's length at
``speed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse.csgraph as csgraph

from connectivity._errors import ScenarioError

__all__ = ["PlacedLine", "RoutedLine", "existing_stops", "place_line", "route_through"]


@dataclass
class RoutedLine:
    """A line's path over the streets.

    Attributes
    ----------
    nodes
        The street nodes of the path, in order (consecutive duplicates removed).
    leg_length
        Metres along the path between consecutive points.
    leg_time
        Seconds of the network's edge times along the path between consecutive points.
    leg_start
        Per point, its position in ``nodes``.
    """

    nodes: np.ndarray
    leg_length: np.ndarray
    leg_time: np.ndarray
    leg_start: np.ndarray

    def xy(self, streets: Any) -> np.ndarray:
        """The path's ``(x, y)`` in the network's CRS, along the edge geometries."""
        x = streets.nodes["x"].to_numpy(float)[self.nodes]
        y = streets.nodes["y"].to_numpy(float)[self.nodes]
        return np.column_stack([x, y])


def route_through(
    streets: Any, x: np.ndarray, y: np.ndarray, *, max_distance: float, where: str
) -> RoutedLine:
    """The fastest street path through points ``(x, y)`` (in ``streets.crs``), in order.

    Parameters
    ----------
    streets
        The network (its ``edges["time"]`` weigh the path; lengths are measured on it).
    x, y
        The points: stops or waypoints.
    max_distance
        Metres: a point farther than this from every node is an error.
    where
        Names the line and its key in errors (``"line 'X1' stops"``).

    Returns
    -------
    routed
        The path and its legs.

    Raises
    ------
    ScenarioError
        A point off every street, or two consecutive points with no path between them.
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(streets.nodes[["x", "y"]].to_numpy(float))
    dist, node = tree.query(np.column_stack([x, y]))
    far = np.flatnonzero(dist > max_distance)
    if len(far):
        i = int(far[0])
        raise ScenarioError(
            f"{where}: point {i + 1} lies {dist[i]:,.0f} m from the nearest street node, "
            f"farther than {max_distance:,.0f} m: move it onto a street (the network covers "
            f"{streets.extent_text()}) or set follow_streets = false"
        )
    node = node.astype(np.int64)
    time_csr = streets.csr
    length = streets.edges["length"].to_numpy(float)
    etime = streets.edges["time"].to_numpy(float)
    u = streets.edges["u"].to_numpy(np.int64)
    v = streets.edges["v"].to_numpy(np.int64)
    # The edge of each (u, v) the path uses: the fastest of parallel edges (as the CSR).
    order = np.lexsort((etime, v, u))
    key = u[order] * streets.n_nodes + v[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    pair_key, pair_edge = key[first], order[first]
    sources, inverse = np.unique(node[:-1], return_inverse=True)
    _, pred = csgraph.dijkstra(time_csr, indices=sources, return_predecessors=True)
    path: list[int] = [int(node[0])]
    starts = [0]
    lengths, times = [], []
    for k in range(len(node) - 1):
        a, b = int(node[k]), int(node[k + 1])
        row = pred[inverse[k]]
        leg = [b]
        while leg[-1] != a:
            p = int(row[leg[-1]])
            if p < 0:
                raise ScenarioError(
                    f"{where}: no street path from point {k + 1} to point {k + 2} (one-way "
                    "streets or a separate part of the network); move the points or set "
                    "follow_streets = false"
                )
            leg.append(p)
        leg.reverse()
        keys = np.asarray(leg[:-1], np.int64) * streets.n_nodes + np.asarray(leg[1:], np.int64)
        edges = pair_edge[np.searchsorted(pair_key, keys)]
        lengths.append(float(length[edges].sum()))
        times.append(float(etime[edges].sum()))
        path += leg[1:]
        starts.append(len(path) - 1)
    return RoutedLine(
        np.asarray(path, np.int64),
        np.asarray(lengths, float),
        np.asarray(times, float),
        np.asarray(starts, np.int64),
    )


def existing_stops(
    stop_x: np.ndarray,
    stop_y: np.ndarray,
    usable: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    within: float,
) -> np.ndarray:
    """Per point, the existing stop within ``within`` metres (the nearest), or -1.

    Parameters
    ----------
    stop_x, stop_y
        The existing stops, projected.
    usable
        Which existing stops may be reused (open boarding stops, not removed).
    x, y
        The new line's points.
    within
        Metres (0: never reuse).

    Returns
    -------
    stops
        Stop positions (int64), -1 where no stop is near enough.
    """
    out = np.full(len(x), -1, np.int64)
    cand = np.flatnonzero(usable)
    if within <= 0 or len(cand) == 0:
        return out
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([stop_x[cand], stop_y[cand]]))
    dist, idx = tree.query(np.column_stack([x, y]))
    near = dist <= within
    out[near] = cand[idx[near]]
    return out


@dataclass
class PlacedLine:
    """A new line's stops and path, ready for its trips.

    Attributes
    ----------
    lon, lat
        The stops.
    existing
        Per stop the existing stop it is (position in the timetable's stops), or -1.
    gaps
        Metres between consecutive stops (along the path).
    path_times
        Seconds of road time between consecutive stops (None: no road times apply).
    path_lon, path_lat
        The line's shape.
    """

    lon: np.ndarray
    lat: np.ndarray
    existing: np.ndarray
    gaps: np.ndarray
    path_times: np.ndarray | None
    path_lon: np.ndarray
    path_lat: np.ndarray


def place_line(
    line: Any,
    *,
    stops_frame: Any,
    usable: np.ndarray,
    streets: Any,
    to_xy: Any,
    max_distance: float,
    stop_position: Any,
) -> PlacedLine:
    """The stops, path and leg lengths of ``line`` (an :class:`~connectivity.AddLine`).

    Parameters
    ----------
    line
        The line.
    stops_frame
        The timetable's stops (``stop_id``, ``lon``, ``lat``).
    usable
        Per existing stop, whether a new stop may be merged into it.
    streets
        The network the line follows.
    to_xy
        ``to_xy(lon, lat)`` and ``to_xy(x, y, inverse=True)`` in ``streets.crs``.
    max_distance
        Metres a stop or waypoint may lie from a street node.
    stop_position
        ``stop_position(ids, where)``: positions of existing stop ids (errors for unknown).

    Returns
    -------
    placed
        The line's stops (existing ones marked), gaps, road times and shape.
    """
    from connectivity.scenarios.modifications import _alignment_coords, _check_lonlat, _positive

    where = f"line {line.name!r}"
    follow = bool(line.follow_streets)
    existing_given: np.ndarray | None = None
    if line.stops is not None:
        if line.alignment is not None:
            raise ScenarioError(f"{where}: give either stops or alignment, not both")
        items = list(line.stops)
        if len(items) < 2:
            raise ScenarioError(f"{where} has {len(items)} stop(s): a line needs at least 2")
        ids = [s for s in items if isinstance(s, str)]
        known = stop_position(ids, f"{where} stops") if ids else np.zeros(0, np.int64)
        lookup = dict(zip(ids, known.tolist(), strict=True))
        pts = np.zeros((len(items), 2))
        existing_given = np.full(len(items), -1, np.int64)
        slon = stops_frame["lon"].to_numpy(float)
        slat = stops_frame["lat"].to_numpy(float)
        for k, s in enumerate(items):
            if isinstance(s, str):
                pos = lookup[s]
                existing_given[k] = pos
                pts[k] = slon[pos], slat[pos]
            else:
                try:
                    pts[k] = np.asarray(s, float)
                except (TypeError, ValueError):
                    raise ScenarioError(
                        f"{where}: stop {k + 1} must be a (lon, lat) pair or a stop id"
                    ) from None
        _check_lonlat(pts, where)
        x, y = (np.asarray(a, float) for a in to_xy(pts[:, 0], pts[:, 1]))
        if not follow:
            gaps = np.hypot(np.diff(x), np.diff(y))
            return PlacedLine(
                pts[:, 0], pts[:, 1], existing_given, gaps, None, pts[:, 0], pts[:, 1]
            )
        routed = route_through(streets, x, y, max_distance=max_distance, where=f"{where} stops")
        plon, plat = to_xy(*routed.xy(streets).T, inverse=True)
        return PlacedLine(
            pts[:, 0],
            pts[:, 1],
            existing_given,
            routed.leg_length,
            routed.leg_time,
            np.asarray(plon, float),
            np.asarray(plat, float),
        )
    if line.alignment is None:
        raise ScenarioError(f"{where}: give either stops (points or stop ids) or alignment")
    coords = _alignment_coords(line.alignment, where)
    if len(coords) < 2:
        raise ScenarioError(f"{where}: the alignment has fewer than 2 points")
    _check_lonlat(coords, where)
    spacing = _positive(line.stop_spacing, f"{where}: stop_spacing", " metres")
    x, y = (np.asarray(a, float) for a in to_xy(coords[:, 0], coords[:, 1]))
    cum_time = None
    if follow:
        routed = route_through(streets, x, y, max_distance=max_distance, where=f"{where} alignment")
        x, y = routed.xy(streets).T
        # Along the path: the edge lengths and times, cumulated per path node.
        leg_len = np.hypot(np.diff(x), np.diff(y))
        chain = np.concatenate([[0.0], np.cumsum(leg_len)])
        cum_time = _cumulated_time(streets, routed.nodes)
    else:
        chain = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    total = float(chain[-1])
    if total <= 0:
        raise ScenarioError(f"{where}: the alignment has zero length")
    n_gaps = max(1, int(round(total / spacing)))
    at = np.linspace(0.0, total, n_gaps + 1)
    sx, sy = np.interp(at, chain, x), np.interp(at, chain, y)
    lon, lat = (np.asarray(a, float) for a in to_xy(sx, sy, inverse=True))
    plon, plat = (np.asarray(a, float) for a in to_xy(x, y, inverse=True))
    times = None if cum_time is None else np.diff(np.interp(at, chain, cum_time))
    return PlacedLine(lon, lat, np.full(len(lon), -1, np.int64), np.diff(at), times, plon, plat)


def _cumulated_time(streets: Any, nodes: np.ndarray) -> np.ndarray:
    """Seconds of edge time from the first node of the path to each of its nodes."""
    u = streets.edges["u"].to_numpy(np.int64)
    v = streets.edges["v"].to_numpy(np.int64)
    t = streets.edges["time"].to_numpy(float)
    best: dict[tuple[int, int], float] = {}
    wanted = set(zip(nodes[:-1].tolist(), nodes[1:].tolist(), strict=True))
    for a, b, w in zip(u.tolist(), v.tolist(), t.tolist(), strict=True):
        if (a, b) in wanted and w < best.get((a, b), np.inf):
            best[(a, b)] = w
    steps = [best[(a, b)] for a, b in zip(nodes[:-1].tolist(), nodes[1:].tolist(), strict=True)]
    return np.concatenate([[0.0], np.cumsum(steps)])
