"""The query machinery every routing function shares: a query's checked parameters,
the compiled engine of a network (forward or time-reversed), the access walk from a
point on the streets, and one RAPTOR run from it.

The rules of a journey are those of :mod:`connectivity.routing.queries`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import ParameterError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.network.links import FP_MIN_TIME, FP_TIMED, FP_WALK
from connectivity.routing._raptor import (
    ROUND_TOLERANCE,
    UNREACHED,
    range_egress,
    range_raptor,
    scheduled_boarding,
    timetable_arrays,
)
from connectivity.routing.headways import (
    Boarding,
    boarding_arrays,
    draw_phases,
    headway_patterns,
    phased,
)
from connectivity.streets.geometry import along, at_ends, same_street_distance, signed_offsets

logger = logging.getLogger(__name__)

DEFAULT_MAX_TRANSFERS = 4
DEFAULT_TRANSFER_SLACK = 60
DEFAULT_MAX_WALK_TIME = 1200.0
TRANSIT = "transit"
#: Walks are rounded up to whole seconds, ignoring remainders below this (float noise).
_ROUND_TOLERANCE = ROUND_TOLERANCE
#: Metres of float noise (projections, snapping) tolerated at walking limits.
_DIST_TOLERANCE = 1e-6


def parse_departure(network: IntermodalNetwork, departure: Any) -> int:
    """Seconds after midnight of the timetable's date for a datetime, a time, an
    ISO string (``YYYY-MM-DDTHH:MM``) or a number of seconds.

    Raises
    ------
    ParameterError
        A datetime on another date than the timetable's, or an unreadable value.
    """
    date = network.timetable.date if network.timetable is not None else None
    if isinstance(departure, bool):
        raise ParameterError(f"departure must be a time, not {departure!r}")
    if isinstance(departure, int | float | np.integer | np.floating):
        if not np.isfinite(departure):
            raise ParameterError(f"departure must be finite seconds (got {departure!r})")
        return int(round(float(departure)))
    if isinstance(departure, str):
        try:
            departure = dt.datetime.fromisoformat(departure)
        except ValueError:
            raise ParameterError(
                f"cannot read the departure {departure!r}: give YYYY-MM-DDTHH:MM"
            ) from None
    if isinstance(departure, dt.time):
        return departure.hour * 3600 + departure.minute * 60 + departure.second
    if isinstance(departure, dt.datetime):
        secs = departure.hour * 3600 + departure.minute * 60 + departure.second
        if date is not None and departure.date() != date:
            days = (departure.date() - date).days
            raise ParameterError(
                f"the departure {departure:%Y-%m-%d %H:%M} is not on the timetable's date "
                f"{date:%Y-%m-%d} ({days:+d} days): load the timetable for "
                f"{departure:%Y-%m-%d}, or give a time on {date:%Y-%m-%d}"
            )
        return secs
    raise ParameterError(
        f"departure must be a datetime, a time or seconds after midnight "
        f"(got {type(departure).__name__})"
    )


# -- preparing queries ----------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    departures: np.ndarray
    max_transfers: int
    max_walk_time: float
    transfer_slack: int
    walk_speed: float
    max_time: float

    @property
    def metres_per_second(self) -> float:
        return self.walk_speed / 3.6

    @property
    def max_walk_metres(self) -> float:
        """The longest access, transfer or egress walk, metres."""
        return self.max_walk_time * self.metres_per_second

    @property
    def direct_walk_metres(self) -> float:
        """The longest direct walk (origin to destination on foot), metres: bounded by
        the query's ``max_time`` (so walk+transit never does worse than walking alone),
        and at least the longest access walk."""
        return max(self.max_walk_metres, self.max_time * self.metres_per_second)


def _make_query(
    network: IntermodalNetwork,
    departure: Any,
    window: float | None,
    max_transfers: int,
    max_walk_time: float,
    transfer_slack: float,
    walk_speed: float | None,
    max_time: float | None,
    *,
    step: int = 60,
) -> _Query:
    start = parse_departure(network, departure)
    if window is None or window == 0:
        deps = np.asarray([start], np.int64)
    else:
        if not (np.isfinite(window) and window > 0):
            raise ParameterError(f"window must be a positive number of seconds (got {window!r})")
        deps = start + step * np.arange(int(window // step), dtype=np.int64)
        if len(deps) == 0:
            deps = np.asarray([start], np.int64)
    if int(max_transfers) != max_transfers or max_transfers < 0:
        raise ParameterError(f"max_transfers must be an integer >= 0 (got {max_transfers!r})")
    if not (np.isfinite(max_walk_time) and max_walk_time >= 0):
        raise ParameterError(f"max_walk_time must be >= 0 seconds (got {max_walk_time!r})")
    if not (np.isfinite(transfer_slack) and transfer_slack >= 0):
        raise ParameterError(f"transfer_slack must be >= 0 seconds (got {transfer_slack!r})")
    speed = network.walk_speed if walk_speed is None else float(walk_speed)
    if not (np.isfinite(speed) and speed > 0):
        raise ParameterError(f"walk_speed must be a positive number of km/h (got {walk_speed!r})")
    if max_time is not None and not (max_time > 0):
        raise ParameterError(f"max_time must be a positive number of seconds (got {max_time!r})")
    q = _Query(
        departures=deps,
        max_transfers=int(max_transfers),
        max_walk_time=float(max_walk_time),
        transfer_slack=int(round(transfer_slack)),
        walk_speed=speed,
        max_time=float(max_time) if max_time is not None else np.inf,
    )
    return q


def _check_walk_radius(network: IntermodalNetwork, q: _Query) -> None:
    if q.max_walk_metres > network.walk_radius * (1 + 1e-9):
        raise ParameterError(
            f"max_walk_time={q.max_walk_time:g} s at {q.walk_speed:g} km/h is "
            f"{q.max_walk_metres:,.0f} m, beyond the network's walk_radius of "
            f"{network.walk_radius:,.0f} m: lower max_walk_time or build the network with "
            "a larger walk_radius"
        )


def footpath_costs(
    network: IntermodalNetwork, walk_speed: float, slack: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per footpath, the walk and the boarding cost in whole seconds."""
    mps = walk_speed / 3.6
    kind = network.fp_kind
    walk = np.zeros(len(kind), np.int64)
    board = np.zeros(len(kind), np.int64)
    w = kind == FP_WALK
    walk[w] = np.ceil(network.fp_dist[w] / mps - _ROUND_TOLERANCE).astype(np.int64)
    board[w] = walk[w] + slack
    m = kind == FP_MIN_TIME
    walk[m] = network.fp_time[m]
    board[m] = network.fp_time[m]
    t = kind == FP_TIMED
    walk[t] = 0
    board[t] = 0
    return walk, board


@dataclass
class _Engine:
    """Arrays of one direction (forward, or time-reversed for arrive-by)."""

    timetable: tuple[np.ndarray, ...]
    fp_ptr: np.ndarray
    fp_to: np.ndarray
    fp_src_order: np.ndarray  # footpath rows in this CSR's order, into the network's
    tree_ptr: np.ndarray
    tree_node: np.ndarray
    tree_dist: np.ndarray
    graph: Any


def _engine(network: IntermodalNetwork, reverse: bool) -> _Engine:
    cache = network.__dict__.setdefault("_engines", {})
    if reverse in cache:
        return cache[reverse]
    n_fp = len(network.fp_to)
    if network.timetable is None:
        tt_arrays: tuple[np.ndarray, ...] = ()
    elif reverse:
        tt_arrays = _reversed_arrays(network.timetable)
    else:
        tt_arrays = timetable_arrays(network.timetable)
    if reverse:
        src = np.repeat(np.arange(network.n_stops), np.diff(network.fp_ptr))
        order = np.lexsort((src, network.fp_to))
        ptr = np.concatenate(
            [[0], np.cumsum(np.bincount(network.fp_to, minlength=network.n_stops))]
        ).astype(np.int64)
        eng = _Engine(
            tt_arrays,
            ptr,
            src[order].astype(np.int64),
            order,
            network.rtree_ptr,
            network.rtree_node,
            network.rtree_dist,
            network.graph_t,
        )
    else:
        eng = _Engine(
            tt_arrays,
            network.fp_ptr,
            network.fp_to.astype(np.int64),
            np.arange(n_fp),
            network.tree_ptr,
            network.tree_node,
            network.tree_dist,
            network.graph,
        )
    cache[reverse] = eng
    return eng


def _draw_threads() -> int:
    """Threads for the draws of one query: the cores this process may use, or 1 in a
    worker process (of a matrix or a surface: the processes already fill the cores)."""
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def drawn_engines(network: IntermodalNetwork, reverse: bool, boarding: Boarding) -> list[_Engine]:
    """The engines of a query: one, or with random boarding on headway-based services
    one per draw, its timetable moved by the draw's phases. The last set of each
    direction is kept on the network, so a matrix of many origins, or the to- and
    from-the-core queries of many zones, build them once."""
    eng = _engine(network, reverse)
    tt = network.timetable
    n_draws = boarding.draws_for(tt)
    if n_draws == 1 or tt is None:
        return [eng]
    key = (n_draws, boarding.seed)
    cache = network.__dict__.setdefault("_drawn_engines", {})
    if cache.get(reverse, (None,))[0] == key:
        return list(cache[reverse][1])
    hp = headway_patterns(tt)
    arrays = _reversed_arrays if reverse else timetable_arrays
    engines = [
        dataclasses.replace(eng, timetable=arrays(phased(tt, hp, phase)))
        for phase in draw_phases(tt, hp, n_draws, boarding.seed)
    ]
    cache[reverse] = (key, engines)
    return list(engines)


def _reversed_arrays(tt: Any) -> tuple[np.ndarray, ...]:
    """The timetable with time negated and every pattern reversed: RAPTOR on it from
    ``-arrival`` gives ``-latest departure``."""
    (stop_ptr, stops, board, alight, trip_ptr, time_ptr, arr, dep, sp_ptr, sp_pat, sp_pos) = (
        timetable_arrays(tt)
    )
    r_stops = np.empty_like(stops)
    r_board = np.empty_like(board)
    r_alight = np.empty_like(alight)
    r_arr = np.empty_like(arr)
    r_dep = np.empty_like(dep)
    for p in range(len(stop_ptr) - 1):
        a, b = stop_ptr[p], stop_ptr[p + 1]
        r_stops[a:b] = stops[a:b][::-1]
        r_board[a:b] = alight[a:b][::-1]
        r_alight[a:b] = board[a:b][::-1]
        n_st = b - a
        n_tr = trip_ptr[p + 1] - trip_ptr[p]
        ta, tb = time_ptr[p], time_ptr[p + 1]
        block_a = arr[ta:tb].reshape(n_tr, n_st)
        block_d = dep[ta:tb].reshape(n_tr, n_st)
        r_arr[ta:tb] = (-block_d[::-1, ::-1]).ravel()
        r_dep[ta:tb] = (-block_a[::-1, ::-1]).ravel()
    n_st_of = np.diff(stop_ptr)
    r_pos = n_st_of[sp_pat] - 1 - sp_pos
    return (
        stop_ptr,
        r_stops,
        r_board,
        r_alight,
        trip_ptr,
        time_ptr,
        r_arr,
        r_dep,
        sp_ptr,
        sp_pat,
        r_pos.astype(np.int64),
    )


def _snap_walk(
    network: IntermodalNetwork, lon: Any, lat: Any, *, towards: bool, max_distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snap points onto the walk network: ``(k, 2)`` end nodes and metres from the point
    to them (``towards=False``, origins) or from them to the point (destinations), and
    ``(k, 4)`` rows ``edge, reverse edge, fraction, offset`` of the street it is on."""
    streets = network.streets
    s = streets.snap(lon, lat, max_distance=max_distance)
    length = _edge_lengths(network)
    len_fwd = length[s.edge]
    len_rev = np.where(s.reverse_edge >= 0, length[np.maximum(s.reverse_edge, 0)], np.inf)
    f = at_ends(s.fraction, len_fwd)
    if towards:
        du = s.distance + along(f, len_fwd)
        dv = s.distance + along(1 - f, len_rev)
    else:
        du = s.distance + along(f, len_rev)
        dv = s.distance + along(1 - f, len_fwd)
    nodes = np.column_stack([s.node_u, s.node_v]).astype(np.int64)
    px, py = streets.project(lon, lat)
    side = signed_offsets(streets, s.edge, px, py, s.distance)
    street = np.column_stack([s.edge, s.reverse_edge, f, side]).astype(float)
    return nodes, np.column_stack([du, dv]), street


def _walk_from(
    network: IntermodalNetwork,
    graph: Any,
    nodes: np.ndarray,
    offsets: np.ndarray,
    limit: float,
    street: np.ndarray | None = None,
    *,
    towards: bool = False,
) -> np.ndarray:
    """Metres from a snapped point (two end nodes with offsets) over ``graph`` to every
    node and stop (to the point from them when ``towards``); stops on the point's own
    street (``street`` from :func:`_snap_walk`) are reached along it directly."""
    ok = np.isfinite(offsets)
    if not ok.any():
        return np.full(graph.shape[0], np.inf)
    idx = nodes[ok]
    limit = limit + _DIST_TOLERANCE
    dist = np.atleast_2d(dijkstra(graph, indices=idx, limit=limit))
    off = offsets[ok]
    best = dist[0] + off[0]
    for row in range(1, len(idx)):  # row-wise: a strided min over axis 0 is slow
        np.minimum(best, dist[row] + off[row], out=best)
    if street is not None and network.n_stops:
        edge, rev = int(street[0]), int(street[1])
        by_edge = _stops_by_edge(network)
        cand = np.concatenate(
            [by_edge.get(edge, np.zeros(0, np.int64)), by_edge.get(rev, np.zeros(0, np.int64))]
        )
        if len(cand):
            length = _edge_lengths(network)
            d = same_street_distance(
                length,
                edge,
                rev,
                float(street[2]),
                float(street[3]),
                network.stop_edge[cand],
                network.stop_fraction[cand],
                network.stop_offset[cand],
                towards=towards,
            )
            at = network.n_nodes + cand
            best[at] = np.minimum(best[at], d)
    best[best > limit] = np.inf
    return best


def _restrict_trees(
    ptr: np.ndarray, node: np.ndarray, dist: np.ndarray, uniq: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = np.full(n_nodes, -1, np.int64)
    pos[uniq] = np.arange(len(uniq))
    keep = pos[node] >= 0
    stop_of = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    counts = np.bincount(stop_of[keep], minlength=len(ptr) - 1)
    new_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return new_ptr, pos[node[keep]].astype(np.int32), dist[keep]


def _edge_lengths(network: IntermodalNetwork) -> np.ndarray:
    length = network.__dict__.get("_edge_length")
    if length is None:
        length = network.streets.edges["length"].to_numpy(float)
        network.__dict__["_edge_length"] = length
    return length


def _stops_by_edge(network: IntermodalNetwork) -> dict[int, np.ndarray]:
    cached = network.__dict__.get("_stops_by_edge")
    if cached is None:
        linked = np.flatnonzero(network.stop_edge >= 0)
        cached = {}
        for e, s in zip(network.stop_edge[linked].tolist(), linked.tolist(), strict=True):
            cached.setdefault(e, []).append(s)
        cached = {e: np.asarray(v, np.int64) for e, v in cached.items()}
        network.__dict__["_stops_by_edge"] = cached
    return cached


def _transit(
    network: IntermodalNetwork,
    eng: _Engine,
    q: _Query,
    walk_m: np.ndarray,
    departures: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """RAPTOR from an origin whose walk (metres) to every node and stop is ``walk_m``;
    returns ``(arrive, vehicle)`` absolute times per departure and stop. ``bounds`` are
    the continuous services of a boarding bound (default: every trip as given)."""
    n = network.n_nodes
    stop_walk = walk_m[n:]
    reach = np.flatnonzero(stop_walk <= q.max_walk_metres + _DIST_TOLERANCE)
    access_t = np.ceil(stop_walk[reach] / q.metres_per_second - _ROUND_TOLERANCE).astype(np.int64)
    fp_walk, fp_board = footpath_costs(network, q.walk_speed, q.transfer_slack)
    return range_raptor(  # type: ignore[call-arg]
        *eng.timetable,
        eng.fp_ptr,
        eng.fp_to,
        fp_walk[eng.fp_src_order],
        fp_board[eng.fp_src_order],
        reach.astype(np.int64),
        access_t,
        np.asarray(departures, np.int64),
        q.max_transfers + 1,
        *(bounds if bounds is not None else scheduled_boarding(len(eng.timetable[0]) - 1)),
    )


def _route_point(
    network: IntermodalNetwork,
    nodes: np.ndarray,
    offsets: np.ndarray,
    street: np.ndarray,
    q: _Query,
    *,
    reverse: bool,
    boarding: Boarding | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Travel times (departures x nodes, departures x stops) from one snapped point;
    with random boarding on headway-based services, ``draws`` blocks of departures
    (draw-major rows)."""
    boarding = boarding if boarding is not None else Boarding()
    eng = _engine(network, reverse)
    n = network.n_nodes
    walk_m = _walk_from(
        network, eng.graph, nodes, offsets, q.direct_walk_metres, street, towards=reverse
    )
    direct = walk_m[:n] / q.metres_per_second
    n_dep = len(q.departures)
    tt = network.timetable
    if tt is None or network.n_stops == 0:
        node_times = np.empty((n_dep, n), np.float32)
        node_times[:] = direct
        stop_times = np.full((n_dep, 0), np.inf, np.float32)
    else:
        deps = np.asarray(-q.departures if reverse else q.departures, np.int64)
        bounds = boarding_arrays(tt, boarding.kind, tt.n_patterns, reverse=reverse)
        engines = drawn_engines(network, reverse, boarding)
        node_times = np.empty((n_dep * len(engines), n), np.float32)
        stop_parts: list[np.ndarray] = [np.empty(0)] * len(engines)

        def one_draw(d: int) -> None:
            e = engines[d]
            arrive, vehicle = _transit(network, e, q, walk_m, deps, bounds)
            range_egress(
                vehicle,
                deps,
                direct,
                e.tree_ptr,
                e.tree_node,
                e.tree_dist,
                q.max_walk_metres + _DIST_TOLERANCE,
                1.0 / q.metres_per_second,
                node_times[d * n_dep : (d + 1) * n_dep],
                reverse,
            )
            part = np.where(arrive < UNREACHED, arrive - deps[:, None], np.inf)
            stop_parts[d] = part.astype(np.float32)

        # The draws are independent: the compiled kernels release the GIL, so threads
        # route them on every core (each writes its own rows: the same bytes as in turn).
        workers = min(len(engines), _draw_threads())
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one_draw, range(len(engines))))
        else:
            for d in range(len(engines)):
                one_draw(d)
        stop_times = np.concatenate(stop_parts) if len(stop_parts) > 1 else stop_parts[0]
    if np.isfinite(q.max_time):
        node_times[node_times > q.max_time] = np.inf
        stop_times[stop_times > q.max_time] = np.inf
    return node_times, stop_times


#: Per intermodal network and street mode: for every walk node, the nearest node of that
#: mode's network (identity where the networks share their nodes).
