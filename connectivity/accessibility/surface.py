"""All-origins accessibility surfaces: for every place of a region, the opportunities
within each cutoff by walk+transit over a departure window.

:func:`accessibility_surface` takes origins (every walk node, a grid of ``cell`` metres,
or given points), routes each one over the window and reduces its times at once to
cumulative (or gravity) accessibility; the result is a :class:`Surface`, a GeoDataFrame
of origins and a raster of the same values.

The algorithm, and what was chosen
----------------------------------
R5 (Conveyal) computes a regional surface origin by origin: a range-RAPTOR over the
departure minutes (Delling, Pajor, Werneck 2012; each earlier minute starts from the
labels of the later one, so the minutes share their work), then *propagation*: from the
stops reached, precomputed stop-to-destination egress walks (computed once for the whole
run, reused by every origin) give the times to the destinations, and the distribution
over the minutes is reduced to the chosen percentile per destination before anything is
stored. The profile alternatives (per-stop range profiles reused by every origin that
walks to the stop, exact because RAPTOR's labels are a min over access stops) trade the
per-origin search for stops x destinations x profile entries of memory, gigabytes at
agglomeration scale, and were not chosen.

Chosen here, R5's scheme, with the work shared between origins where it is exact:

- once per network and weights (:func:`connectivity.routing.propagation.prepare_propagation`),
  the stop egress trees restricted to the destinations that carry a weight; the
  network, its compiled engine and these trees go once to each worker process or Dask
  worker and serve every origin;
- per origin (:func:`connectivity.routing.propagation.range_cumulative`): the snap,
  access walk and range-RAPTOR of :func:`connectivity.travel_times`, then propagation
  latest minute first through the restricted trees, re-walking only the stops whose
  arrival improved, each walk cut at the largest cutoff, and per destination a count
  of the minutes within each cutoff (the nearest-rank percentile ``p`` is within ``c``
  exactly when ``ceil(p / 100 * minutes)`` minutes are): no origins x minutes x nodes
  matrix, no sort over the minutes.

A gravity ``decay`` needs each destination's percentile time itself: it goes through
:func:`connectivity.travel_times` per origin. Values equal those of per-origin
``travel_times`` reduced by :meth:`connectivity.TravelTimes.node_times` and the
cumulative sum, at every origin.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import multiprocessing
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from connectivity._errors import MissingDependencyError, ParameterError
from connectivity.accessibility.opportunities import (
    Opportunities,
    assign_opportunities,
    gravity_accessibility,
)
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing.propagation import prepare_propagation, range_cumulative
from connectivity.routing.queries import summarise, travel_times

__all__ = ["Surface", "accessibility_surface"]

log = logging.getLogger(__name__)


@dataclass
class Surface:
    """An accessibility surface.

    Attributes
    ----------
    frame
        One row per origin: ``origin`` (walk node index, or the given point's id),
        ``lon``, ``lat``, one column per cutoff (``access_1800`` for 30 minutes) or
        ``access`` for a decay, and ``geometry`` (points, EPSG:4326).
    raster
        ``bands x rows x cols`` float64: per cell of ``cell`` metres in ``crs``, the mean
        of the origins inside it (NaN where none); one band per column of values.
    transform
        The raster's affine transform (rasterio's), in ``crs``.
    crs
        The projected CRS of the raster (the network's).
    columns
        The value columns, in band order.
    """

    frame: Any
    raster: np.ndarray
    transform: Any
    crs: str
    columns: list[str]

    def to_geotiff(self, path: str | os.PathLike[str]) -> None:
        """Write the raster as a GeoTIFF (one band per value column), atomically."""
        import rasterio

        from connectivity._files import atomic_path

        with (
            atomic_path(path) as tmp,
            rasterio.open(
                tmp,
                "w",
                driver="GTiff",
                height=self.raster.shape[1],
                width=self.raster.shape[2],
                count=self.raster.shape[0],
                dtype="float64",
                crs=self.crs,
                transform=self.transform,
                nodata=np.nan,
            ) as dst,
        ):
            dst.write(self.raster)
            for band, name in enumerate(self.columns, start=1):
                dst.set_band_description(band, name)


#: The keywords of :func:`connectivity.travel_times` a surface passes on.
_ROUTING_OPTIONS = {
    "max_transfers",
    "max_walk_time",
    "transfer_slack",
    "walk_speed",
    "snap_distance",
}


# -- one worker's state: the network and the reduction, sent once ----------------------

_WORKER: dict[str, Any] = {}


def _init_worker(network: IntermodalNetwork, reduction: dict[str, Any]) -> None:
    _WORKER.update(network=network, reduction=reduction)


def _values(network: IntermodalNetwork, reduction: dict[str, Any], lonlat: np.ndarray) -> Any:
    """Accessibility values (origins x columns) of a batch of origins."""
    r = reduction
    out = np.empty((len(lonlat), r["n_columns"]))
    for i, (lon, lat) in enumerate(lonlat):
        if r["decay"] is None:
            out[i] = range_cumulative(
                network,
                r["prep"],
                (float(lon), float(lat)),
                cutoffs=r["cuts"],
                need=r["need"],
                **r["routing"],
            )
        else:
            times = travel_times(network, (float(lon), float(lat)), **r["routing"]).nodes
            node = summarise(times, r["stat"])
            out[i, 0] = gravity_accessibility(node, r["all_weights"], **r["decay"])
    return out


def _worker_batch(lonlat: np.ndarray) -> np.ndarray:
    return _values(_WORKER["network"], _WORKER["reduction"], lonlat)


def _dask_batch(network: IntermodalNetwork, reduction: dict[str, Any], lonlat: Any) -> Any:
    return _values(network, reduction, lonlat)


# -- origins ---------------------------------------------------------------------------


def _origins(
    network: IntermodalNetwork, origins: Any, cell: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, lon, lat)`` of the origins."""
    streets = network.streets
    if isinstance(origins, str):
        if origins == "nodes":
            nodes = streets.nodes
            ids = np.arange(streets.n_nodes)
            return ids, nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float)
        if origins == "grid":
            return _grid(network, cell)
        raise ParameterError(
            f"origins={origins!r}: give 'nodes', 'grid' or a GeoDataFrame of points"
        )
    if hasattr(origins, "geometry") and hasattr(origins, "crs"):
        if origins.crs is None:
            raise ParameterError(
                "the origins GeoDataFrame has no CRS: set one with .set_crs('EPSG:4326')"
            )
        geom = origins.geometry.to_crs("EPSG:4326")
        if not set(geom.geom_type.dropna()) <= {"Point"}:
            geom = geom.to_crs(streets.crs).centroid.to_crs("EPSG:4326")
        if len(geom) == 0:
            raise ParameterError("the origins GeoDataFrame holds no points")
        ids = origins["id"].to_numpy() if "id" in origins.columns else origins.index.to_numpy()
        return ids, geom.x.to_numpy(float), geom.y.to_numpy(float)
    raise ParameterError(
        f"origins must be 'nodes', 'grid' or a GeoDataFrame of points "
        f"(got {type(origins).__name__})"
    )


def _grid(network: IntermodalNetwork, cell: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres of the ``cell``-metre cells (aligned on multiples of ``cell``) that hold a
    walk node, as (cell index, lon, lat)."""
    from pyproj import Transformer

    streets = network.streets
    x = streets.nodes["x"].to_numpy(float)
    y = streets.nodes["y"].to_numpy(float)
    col = np.floor(x / cell).astype(np.int64)
    row = np.floor(y / cell).astype(np.int64)
    cells = np.unique(np.column_stack([row, col]), axis=0)
    cx = (cells[:, 1] + 0.5) * cell
    cy = (cells[:, 0] + 0.5) * cell
    to_deg = Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(cx, cy)
    return np.arange(len(cells)), np.asarray(lon), np.asarray(lat)


def _weights(network: IntermodalNetwork, opportunities: Any) -> np.ndarray:
    n = network.streets.n_nodes
    if isinstance(opportunities, Opportunities) or hasattr(opportunities, "geometry"):
        weights, _ = assign_opportunities(network.streets, opportunities)
        return np.asarray(weights, float)
    w = np.asarray(opportunities, float)
    if w.shape != (n,):
        raise ParameterError(
            f"opportunities have shape {w.shape}, the walk network has {n} nodes: give one "
            "weight per node, an Opportunities object or a GeoDataFrame of weighted points"
        )
    if not np.isfinite(w).all():
        raise ParameterError("opportunities must be finite numbers (got NaN or infinity)")
    return w


# -- the surface -----------------------------------------------------------------------


def accessibility_surface(
    network: IntermodalNetwork,
    opportunities: Any,
    *,
    origins: Any = "nodes",
    cell: float = 100.0,
    departure: Any,
    window: float | None = 3600,
    cutoffs: Any = None,
    decay: dict[str, Any] | None = None,
    percentile: str | float = 50,
    n_jobs: int = 1,
    scheduler: Any = None,
    batch: int = 64,
    progress: bool | None = None,
    **routing_options: Any,
) -> Surface:
    """Accessibility by walk+transit from every origin of a region.

    Parameters
    ----------
    network
        From :func:`connectivity.build_network`.
    opportunities
        Weights per node of ``network.streets``, an
        :class:`~connectivity.accessibility.opportunities.Opportunities` (from
        :func:`connectivity.read_opportunities`) or a GeoDataFrame of weighted points
        (put on their nearest nodes by :func:`connectivity.assign_opportunities`).
    origins
        ``"nodes"`` (every walk node), ``"grid"`` (the centre of every ``cell``-metre
        cell that holds a walk node) or a GeoDataFrame of points.
    cell
        Metres: the grid of ``origins="grid"`` and of the raster.
    departure, window
        The first departure and the window in seconds (every minute of it).
    cutoffs
        Seconds (inclusive): cumulative opportunities within each.
    decay
        Instead of ``cutoffs``: the keywords of :func:`connectivity.gravity_accessibility`
        (``{"decay": "exponential", "beta": 0.002}``), applied to each node's percentile.
    percentile
        Over the window, per destination: ``"min"``, ``"median"`` or a percentile in
        (0, 100] (nearest rank, as :meth:`connectivity.TravelTimes.node_times`).
    n_jobs
        Worker processes on this machine (-1: one per core); the network goes once to each.
    scheduler
        Run the batches on Dask instead: ``"local"`` (a local cluster of ``n_jobs``
        worker processes), a scheduler address, or a ``distributed.Client``; the network
        is scattered once to every worker.
    batch
        Origins per task.
    progress
        Show a progress bar (default: when stderr is a terminal).
    **routing_options
        Passed to :func:`connectivity.travel_times`: ``max_transfers``,
        ``max_walk_time``, ``transfer_slack``, ``walk_speed``, ``snap_distance``.

    Returns
    -------
    surface
        The values per origin (a GeoDataFrame) and as a raster.

    Raises
    ------
    ParameterError
        Neither or both of ``cutoffs`` and ``decay``; bad origins, weights, cell, jobs.
    MissingDependencyError
        ``scheduler`` given without ``dask.distributed``.
    """
    import geopandas as gpd
    from tqdm import tqdm

    from connectivity.accessibility.opportunities import _check_cutoffs

    if (cutoffs is None) == (decay is None):
        raise ParameterError("give exactly one of cutoffs= (seconds) and decay= (gravity keywords)")
    if not (np.isfinite(cell) and cell > 0):
        raise ParameterError(f"cell must be a positive number of metres, got {cell!r}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if not (isinstance(n_jobs, int) and n_jobs >= 1):
        raise ParameterError(f"n_jobs must be a positive number of processes or -1, got {n_jobs!r}")
    weights = _weights(network, opportunities)
    ids, lon, lat = _origins(network, origins, float(cell))
    unknown = set(routing_options) - _ROUTING_OPTIONS
    if unknown:
        raise ParameterError(
            f"unknown routing option(s) {', '.join(sorted(unknown))}: give any of "
            f"{', '.join(sorted(_ROUTING_OPTIONS))}"
        )
    routing = dict(routing_options, departure=departure, window=window)
    n_minutes = 1 if not window else max(1, int(window // 60))
    stat: str | float = percentile
    if stat not in ("min", "median"):
        q = float(stat)
        if not 0 < q <= 100:
            raise ParameterError(
                f"percentile must be in (0, 100], 'min' or 'median' (got {stat!r})"
            )
        stat = q
    q_value = 50.0 if stat == "median" else (0.0 if stat == "min" else float(stat))
    need = max(int(math.ceil(q_value / 100 * n_minutes)), 1)
    if cutoffs is not None:
        cuts = _check_cutoffs(cutoffs).astype(np.float32)
        columns = [f"access_{int(c)}" if float(c).is_integer() else f"access_{c:g}" for c in cuts]
    else:
        cuts = np.zeros(0, np.float32)
        columns = ["access"]
    reduction = {
        "routing": routing,
        "stat": stat,
        "need": need,
        "prep": prepare_propagation(network, weights) if decay is None else None,
        "all_weights": weights,
        "cuts": cuts,
        "decay": dict(decay) if decay is not None else None,
        "n_columns": len(columns),
    }
    # route one origin here first: parameter errors surface before workers start, and
    # the engine and stop trees are built before the network is copied to workers
    _values(network, reduction, np.column_stack([lon[:1], lat[:1]]))
    lonlat = np.column_stack([lon, lat])
    chunks = [(i, lonlat[i : i + batch]) for i in range(0, len(lonlat), max(1, batch))]
    values = np.empty((len(lonlat), len(columns)))
    if progress is None:
        progress = sys.stderr.isatty()
    with tqdm(total=len(lonlat), desc="surface", unit="origin", disable=not progress) as bar:
        if scheduler is not None:
            _run_dask(scheduler, n_jobs, network, reduction, chunks, values, bar)
        elif n_jobs == 1 or len(chunks) == 1:
            for start, chunk in chunks:
                values[start : start + len(chunk)] = _values(network, reduction, chunk)
                bar.update(len(chunk))
        else:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with concurrent.futures.ProcessPoolExecutor(
                max_workers=n_jobs,
                mp_context=context,
                initializer=_init_worker,
                initargs=(network, reduction),
            ) as pool:
                futures = {pool.submit(_worker_batch, chunk): start for start, chunk in chunks}
                for future in concurrent.futures.as_completed(futures):
                    start = futures[future]
                    result = future.result()
                    values[start : start + len(result)] = result
                    bar.update(len(result))
    frame = gpd.GeoDataFrame(
        {"origin": ids, "lon": lon, "lat": lat, **{c: values[:, i] for i, c in enumerate(columns)}},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    raster, transform = _rasterise(network, lon, lat, values, float(cell))
    return Surface(frame, raster, transform, network.streets.crs, columns)


def _run_dask(
    scheduler: Any,
    n_jobs: int,
    network: IntermodalNetwork,
    reduction: dict[str, Any],
    chunks: list[tuple[int, np.ndarray]],
    values: np.ndarray,
    bar: Any,
) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise MissingDependencyError(
            "scheduler= needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    cluster = None
    if isinstance(scheduler, str) and scheduler == "local":
        cluster = LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    elif isinstance(scheduler, str):
        client = Client(scheduler)
    else:
        client = scheduler
    try:
        net_f = client.scatter(network, broadcast=True)
        red_f = client.scatter(reduction, broadcast=True)
        futures = [
            client.submit(_dask_batch, net_f, red_f, chunk, pure=False) for _, chunk in chunks
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in as_completed(futures):
            start, chunk = chunks[index[fut.key]]
            values[start : start + len(chunk)] = fut.result()
            bar.update(len(chunk))
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


def _rasterise(
    network: IntermodalNetwork, lon: np.ndarray, lat: np.ndarray, values: np.ndarray, cell: float
) -> tuple[np.ndarray, Any]:
    """Mean value of the origins per ``cell``-metre cell (north up), NaN where none."""
    from affine import Affine
    from pyproj import Transformer

    to_xy = Transformer.from_crs("EPSG:4326", network.streets.crs, always_xy=True)
    x, y = (np.asarray(a) for a in to_xy.transform(lon, lat))
    col = np.floor(x / cell).astype(np.int64)
    row = np.floor(y / cell).astype(np.int64)
    c0, r1 = col.min(), row.max()
    width, height = int(col.max() - c0 + 1), int(r1 - row.min() + 1)
    cell_index = (r1 - row) * width + (col - c0)
    count = np.bincount(cell_index, minlength=width * height).astype(float)
    raster = np.full((values.shape[1], height, width), np.nan)
    for band in range(values.shape[1]):
        total = np.bincount(cell_index, weights=values[:, band], minlength=width * height)
        with np.errstate(invalid="ignore", divide="ignore"):
            raster[band] = np.where(count > 0, total / count, np.nan).reshape(height, width)
    transform = Affine(cell, 0.0, c0 * cell, 0.0, -cell, (r1 + 1) * cell)
    return raster, transform
