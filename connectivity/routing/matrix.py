"""Many-to-many travel times: :func:`travel_time_matrix` over processes or Dask.

Each origin is routed as :func:`~connectivity.routing.queries.travel_times` routes it
(the same query, the same rules); the destinations are points on the streets, reached
through the two end nodes of their edge. Chunks of origins run in worker processes
(each holding the network once) or on a Dask cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError
from connectivity._modes import Mode
from connectivity.network.intermodal import (
    IntermodalNetwork,
)
from connectivity.routing._raptor import (
    egress,
)
from connectivity.routing.engine import (
    _DIST_TOLERANCE,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    TRANSIT,
    _check_walk_radius,
    _engine,
    _make_query,
    _Query,
    _restrict_trees,
    _snap_walk,
    _transit,
    _walk_from,
    drawn_engines,
)
from connectivity.routing.headways import (
    DEFAULT_BOARDING,
    DEFAULT_DRAWS,
    Boarding,
    boarding_arrays,
    check_boarding,
    check_journey_boarding,
)
from connectivity.routing.queries import _parse_mode, summarise
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

logger = logging.getLogger(__name__)


# -- matrices ---------------------------------------------------------------------------


@dataclass
class _MatrixContext:
    """What every worker needs besides the network: the query and the destinations."""

    query: _Query
    mode: str
    dest_nodes: np.ndarray  # (k, 2) end nodes of each destination's edge
    dest_cost: np.ndarray  # (k, 2) seconds (street modes) or metres (walk, transit) to it
    uniq: np.ndarray  # the distinct end nodes
    where: np.ndarray  # (k, 2) positions of dest_nodes in uniq
    sub_ptr: np.ndarray  # stop trees restricted to uniq (forward)
    sub_node: np.ndarray
    sub_dist: np.ndarray
    stats: tuple[str | float, ...]
    #: With ``breakdown=True``: the statistic whose journey is broken down, and the
    #: egress entries of the destinations.
    breakdown: str | float | None = None
    egress: Any = None
    #: How headway-based services are boarded, and the bounds' continuous services.
    boarding: Boarding = field(default_factory=Boarding)
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None = None


def _points_lonlat(points: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lon, lat and ids of a GeoDataFrame of points or a frame with lon/lat columns."""
    if hasattr(points, "geometry") and hasattr(points, "crs"):
        if points.crs is None:
            raise ParameterError(
                f"the {name} GeoDataFrame has no CRS: set one with .set_crs('EPSG:4326')"
            )
        geom = points.geometry.to_crs("EPSG:4326")
        kinds = set(geom.geom_type.dropna())
        if not kinds <= {"Point"}:
            geom = geom.to_crs(geom.estimate_utm_crs()).centroid.to_crs("EPSG:4326")
        lon, lat = geom.x.to_numpy(float), geom.y.to_numpy(float)
    elif isinstance(points, pd.DataFrame) and {"lon", "lat"} <= set(points.columns):
        lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    else:
        raise ParameterError(
            f"{name} must be a GeoDataFrame of points or a DataFrame with lon and lat "
            f"columns (got {type(points).__name__})"
        )
    if len(lon) == 0:
        raise ParameterError(f"{name} holds no points")
    ids = points["id"].to_numpy() if "id" in points.columns else points.index.to_numpy()
    return lon, lat, ids


def _matrix_chunk(
    network: IntermodalNetwork, ctx: _MatrixContext, o_nodes: np.ndarray, o_cost: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """``(n_origins, n_destinations, n_stats)`` float32 seconds for a chunk of origins,
    and with ``ctx.breakdown`` the breakdown columns (``n_origins * n_destinations``
    values each)."""
    q = ctx.query
    out = np.empty((len(o_nodes), len(ctx.dest_nodes), len(ctx.stats)), np.float32)
    parts: list[dict[str, np.ndarray]] = []
    mps = q.metres_per_second
    for i in range(len(o_nodes)):
        if ctx.mode == TRANSIT or ctx.mode == Mode.WALK:
            limit = q.direct_walk_metres if ctx.mode == TRANSIT else q.max_time * mps
            walk_m = _walk_from(
                network, network.graph, o_nodes[i], o_cost[i, :2], limit, o_cost[i, 2:]
            )
            direct = walk_m[ctx.uniq] / mps
            if ctx.mode == TRANSIT:
                engines = drawn_engines(network, False, ctx.boarding)
                n_dep = len(q.departures)
                at = np.empty((n_dep * len(engines), len(ctx.uniq)))
                for j, eng in enumerate(engines):
                    _, vehicle = _transit(network, eng, q, walk_m, q.departures, ctx.bounds)
                    for k, d in enumerate(q.departures):
                        row = direct + d
                        egress(
                            vehicle[k],
                            ctx.sub_ptr,
                            ctx.sub_node,
                            ctx.sub_dist,
                            q.max_walk_metres + _DIST_TOLERANCE,
                            1.0 / mps,
                            row,
                        )
                        at[j * n_dep + k] = row - d
            else:
                at = direct[None, :]
            cost = ctx.dest_cost / mps
        else:
            net = network.modes[Mode(ctx.mode)]
            times = net._times_with_offsets([(o_nodes[i], o_cost[i])], limit=q.max_time)[0]
            at = times[ctx.uniq][None, :]
            cost = ctx.dest_cost
        dest = np.minimum(at[:, ctx.where[:, 0]] + cost[:, 0], at[:, ctx.where[:, 1]] + cost[:, 1])
        if np.isfinite(q.max_time):
            dest[dest > q.max_time] = np.inf
        for j, stat in enumerate(ctx.stats):
            out[i, :, j] = summarise(dest, stat)
        if ctx.breakdown is not None:
            from connectivity.routing.itineraries import origin_breakdown

            value = summarise(dest, ctx.breakdown)
            parts.append(
                origin_breakdown(
                    network,
                    q,
                    ctx.egress,
                    ctx.uniq,
                    ctx.where,
                    cost,
                    walk_m,
                    dest,
                    value,
                    ctx.boarding,
                )
            )
    if ctx.breakdown is None:
        return out, None
    return out, {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


#: Per worker process: the network and the context, sent once by the initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(network: IntermodalNetwork, ctx: _MatrixContext) -> None:
    _WORKER["network"] = network
    _WORKER["ctx"] = ctx


def _worker_chunk(
    o_nodes: np.ndarray, o_cost: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    return _matrix_chunk(_WORKER["network"], _WORKER["ctx"], o_nodes, o_cost)


def _dask_chunk(
    network: IntermodalNetwork, ctx: _MatrixContext, o_nodes: np.ndarray, o_cost: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    return _matrix_chunk(network, ctx, o_nodes, o_cost)


def travel_time_matrix(
    network: IntermodalNetwork,
    origins: Any,
    destinations: Any,
    *,
    departure: Any,
    window: float | None = None,
    percentiles: tuple[float, ...] = (50,),
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    max_time: float | None = None,
    mode: str | Mode = TRANSIT,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
    n_jobs: int = 1,
    client: Any = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    breakdown: bool = False,
    boarding: str = DEFAULT_BOARDING,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> pd.DataFrame:
    """Travel times from every origin to every destination.

    Origins and destinations are snapped onto their nearest street edges; a
    destination's time is the best over its edge's two end nodes of the node's travel
    time (as :func:`travel_times` gives it) plus the walk (ride, drive) along the edge to
    the destination and off the edge to the point (this last piece may lengthen an
    egress walk beyond ``max_walk_time`` by up to one edge).

    Parameters
    ----------
    network
        From :func:`connectivity.network.intermodal.build_network`.
    origins, destinations
        GeoDataFrames of points (any CRS; other geometries use their centroids) or frames
        with ``lon`` / ``lat`` columns; an ``id`` column names them (else the index).
    departure, window, max_transfers, max_walk_time, transfer_slack, walk_speed, max_time, mode, snap_distance, boarding, draws, seed
        As for :func:`travel_times`.
    percentiles
        Percentiles over the window (used when ``window`` is given); with random
        boarding, over its departure minutes x draws.
    n_jobs
        Worker processes on this machine (the network is sent once to each); 1 runs in
        this process, -1 uses every core.
    client
        A ``dask.distributed.Client`` or a scheduler address: run the batches on that
        cluster instead (the network is scattered once to every worker).
    chunk_size
        Origins per batch (default: about four batches per worker).
    progress
        Show a tqdm progress bar (default: when stderr is a terminal).
    breakdown
        Also say what each travel time is made of (walk+transit only): ``access_s``,
        ``wait_s`` (the first wait and the slack of changes too), ``ride_s``,
        ``transfer_s``, ``egress_s`` (summing to the travel time), ``vehicles`` and
        ``routes`` (the lines ridden, ``" > "``-joined), for the journey behind
        ``travel_time`` (one departure) or behind the first percentile (a window: the
        first departure minute whose time is that percentile, as r5r reports it). A
        journey on foot all the way is ``access_s``. Computed in this process, after
        the times (see :func:`connectivity.routing.itineraries.origin_breakdown`).

    Returns
    -------
    matrix
        One row per origin and destination: ``origin``, ``destination``, and
        ``travel_time`` (one departure) or ``travel_time_min`` and
        ``travel_time_pNN`` (a window); seconds, NaN where unreached.

    Raises
    ------
    ParameterError
        Bad points or parameters (as :func:`travel_times`).
    MissingDependencyError
        ``client`` given but dask.distributed is not installed.
    """
    import sys

    from tqdm.auto import tqdm

    m = _parse_mode(mode)
    for p in percentiles:
        summarise(np.zeros((1, 1)), p)
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
    o_lon, o_lat, o_ids = _points_lonlat(origins, "origins")
    d_lon, d_lat, d_ids = _points_lonlat(destinations, "destinations")
    if m == TRANSIT:
        if network.timetable is None:
            raise ParameterError("the network has no timetable: use mode='walk'")
        _check_walk_radius(network, q)
    if m in (TRANSIT, Mode.WALK):
        o_nodes, o_cost, o_street = _snap_walk(
            network, o_lon, o_lat, towards=False, max_distance=snap_distance
        )
        # each origin's row: metres to its two end nodes, then its street (4 values)
        o_cost = np.column_stack([o_cost, o_street])
        d_nodes, d_cost, _ = _snap_walk(
            network, d_lon, d_lat, towards=True, max_distance=snap_distance
        )
    else:
        net = network.modes.get(Mode(m))
        if net is None:
            raise ParameterError(
                f"the network has no {m} streets: build it with a {m} network "
                f"(build_network([walk, {m}], timetable))"
            )
        so = net.snap(o_lon, o_lat, max_distance=snap_distance)
        sd = net.snap(d_lon, d_lat, max_distance=snap_distance)
        # The walk onto and off the street counts, as in travel_times (access_speed).
        onto = so.distance / (net.access_speed / 3.6)
        off = sd.distance / (net.access_speed / 3.6)
        o_nodes = np.column_stack([so.node_u, so.node_v])
        o_cost = np.column_stack([so.time_to_u + onto, so.time_to_v + onto])
        d_nodes = np.column_stack([sd.node_u, sd.node_v])
        d_cost = np.column_stack([sd.time_from_u + off, sd.time_from_v + off])
    uniq, inverse = np.unique(d_nodes, return_inverse=True)
    where = inverse.reshape(d_nodes.shape)
    if m == TRANSIT:
        sub = _restrict_trees(
            network.tree_ptr, network.tree_node, network.tree_dist, uniq, network.n_nodes
        )
    else:
        sub = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    rule = check_boarding(boarding, draws, seed)
    # One departure has one time, unless phases are drawn: then a distribution, as a window's.
    drawn = m == TRANSIT and rule.draws_for(network.timetable) > 1
    spread = window is not None or drawn
    stats: tuple[str | float, ...] = ("min", *percentiles) if spread else ("min",)
    ctx = _MatrixContext(q, str(m), d_nodes, d_cost, uniq, where, *sub, stats=stats)
    if m == TRANSIT and network.timetable is not None:
        ctx.boarding = rule
        ctx.bounds = boarding_arrays(network.timetable, rule.kind, network.timetable.n_patterns)
    if breakdown:
        if m != TRANSIT:
            raise ParameterError(f"breakdown=True needs mode='transit' (got mode={m!r})")
        check_journey_boarding(rule, network.timetable, "breakdown=True")
        from connectivity.routing.itineraries import egress_entries

        ctx.breakdown = percentiles[0] if spread else "min"
        ctx.egress = egress_entries(network.timetable, q, *sub)

    n_orig = len(o_lon)
    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ParameterError(f"n_jobs must be >= 1 or -1 (got {n_jobs})")
    workers = n_jobs
    if client is not None:
        workers = 2
        if not isinstance(client, str):
            info: dict[str, Any] = client.scheduler_info()
            workers = max(1, len(info.get("workers", {})))
    size = chunk_size or max(1, int(np.ceil(n_orig / (4 * workers))))
    chunks = [np.arange(a, min(a + size, n_orig)) for a in range(0, n_orig, size)]
    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(total=n_orig, desc="matrix", unit="origin", disable=not progress)
    results: dict[int, tuple[np.ndarray, dict[str, np.ndarray] | None]] = {}
    try:
        if client is not None:
            results = _run_dask(client, network, ctx, chunks, o_nodes, o_cost, bar)
        elif n_jobs == 1:
            _prepare_for_workers(network, m)
            for k, idx in enumerate(chunks):
                results[k] = _matrix_chunk(network, ctx, o_nodes[idx], o_cost[idx])
                bar.update(len(idx))
        else:
            results = _run_processes(n_jobs, network, ctx, chunks, o_nodes, o_cost, bar, m)
    finally:
        bar.close()
    values = np.concatenate([results[k][0] for k in range(len(chunks))], axis=0)
    frame = pd.DataFrame(
        {
            "origin": np.repeat(o_ids, len(d_ids)),
            "destination": np.tile(d_ids, n_orig),
        }
    )
    names = (
        ["travel_time_min", *(f"travel_time_p{p:g}" for p in percentiles)]
        if spread
        else ["travel_time"]
    )
    for j, name in enumerate(names):
        col = values[:, :, j].ravel().astype(float)
        frame[name] = np.where(np.isfinite(col), col, np.nan)
    parts = [results[k][1] for k in range(len(chunks))]
    if breakdown:
        for name in parts[0] or {}:
            frame[name] = np.concatenate([p[name] for p in parts if p is not None])
    return frame


def _prepare_for_workers(network: IntermodalNetwork, mode: Any) -> None:
    """Compute what every chunk needs once, before the network is copied to workers."""
    if mode in (TRANSIT, Mode.WALK):
        _ = network.graph
    if mode == TRANSIT:
        _engine(network, False)


def _run_processes(
    n_jobs: int,
    network: IntermodalNetwork,
    ctx: _MatrixContext,
    chunks: list[np.ndarray],
    o_nodes: np.ndarray,
    o_cost: np.ndarray,
    bar: Any,
    mode: Any,
) -> dict[int, tuple[np.ndarray, dict[str, np.ndarray] | None]]:
    import concurrent.futures as cf

    _prepare_for_workers(network, mode)
    results: dict[int, tuple[np.ndarray, dict[str, np.ndarray] | None]] = {}
    with cf.ProcessPoolExecutor(
        max_workers=n_jobs, initializer=_init_worker, initargs=(network, ctx)
    ) as pool:
        futures = {
            pool.submit(_worker_chunk, o_nodes[idx], o_cost[idx]): (k, len(idx))
            for k, idx in enumerate(chunks)
        }
        for fut in cf.as_completed(futures):
            k, n = futures[fut]
            results[k] = fut.result()
            bar.update(n)
    return results


def _run_dask(
    client: Any,
    network: IntermodalNetwork,
    ctx: _MatrixContext,
    chunks: list[np.ndarray],
    o_nodes: np.ndarray,
    o_cost: np.ndarray,
    bar: Any,
) -> dict[int, tuple[np.ndarray, dict[str, np.ndarray] | None]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        from connectivity._errors import MissingDependencyError

        raise MissingDependencyError(
            "a Dask client or scheduler address was given but dask.distributed is not "
            "installed: pip install 'dask[distributed]'"
        ) from None
    own = isinstance(client, str)
    if own:
        client = Client(client)
    try:
        _prepare_for_workers(network, ctx.mode if ctx.mode == TRANSIT else Mode(ctx.mode))
        net_f = client.scatter(network, broadcast=True)
        ctx_f = client.scatter(ctx, broadcast=True)
        futures = [
            client.submit(_dask_chunk, net_f, ctx_f, o_nodes[idx], o_cost[idx], pure=False)
            for idx in chunks
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        results: dict[int, tuple[np.ndarray, dict[str, np.ndarray] | None]] = {}
        for fut in as_completed(futures):
            k = index[fut.key]
            results[k] = fut.result()
            bar.update(len(chunks[k]))
        return results
    finally:
        if own:
            client.close()
