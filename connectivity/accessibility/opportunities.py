"""Opportunities (population, jobs, schools) on the street network, and accessibility.

Opportunities come as points with weights (a GeoDataFrame, or a CSV with lon/lat
columns), as a polygon grid with a count column, or as a population raster (GeoTIFF).
:func:`read_opportunities` turns each into weighted points: a grid cell or a raster cell
counts at its centroid. :func:`assign_opportunities` adds each point's weight to its
nearest street node within ``max_distance``; what lies farther is reported, never
silently dropped, and the assigned total equals the sum of the assigned points.

Accessibility from travel times (``origins x nodes`` seconds):

- :func:`cumulative_accessibility`: the weight reachable within each cutoff,
  ``A_k(i) = sum_j w_j [t_ij <= c_k]``;
- :func:`gravity_accessibility`: ``A(i) = sum_j w_j f(t_ij)`` with exponential, power or
  logistic decay ``f`` (formulas in its docstring);
- :func:`network_accessibility`: the cumulative measure from *every* node of a street
  network, by a compiled, multi-threaded, bounded Dijkstra from each node that holds
  weight (on the reversed graph), so it costs (nodes with weight) x (nodes within the
  horizon), never ``n^2``;
- :func:`transit_accessibility`: the cumulative measure by walk+transit from many
  origins, routed in worker processes and reduced to cutoffs as they come, so no
  ``origins x nodes`` array is ever held.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import CoordinateError, InputFileError, ParameterError
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

if TYPE_CHECKING:
    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "AssignmentReport",
    "Decay",
    "Opportunities",
    "assign_opportunities",
    "cumulative_accessibility",
    "gravity_accessibility",
    "network_accessibility",
    "read_opportunities",
    "transit_accessibility",
]

logger = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff")
_LON_NAMES = ("lon", "lng", "long", "longitude", "x")
_LAT_NAMES = ("lat", "latitude", "y")


@dataclass(frozen=True, eq=False)
class Opportunities:
    """Weighted points in EPSG:4326, from :func:`read_opportunities`.

    Attributes
    ----------
    lon, lat
        Coordinates in degrees: the points themselves, grid cell centroids (computed in
        the grid's UTM zone) or raster cell centres.
    weight
        The count at each point (>= 0, float64).
    kind
        ``"points"``, ``"grid"`` or ``"raster"``.
    source
        Where they came from, for messages.
    column
        The column (or ``"band N"``) the weights were read from.
    """

    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    kind: str
    source: str
    column: str

    @property
    def total(self) -> float:
        """The sum of all weights."""
        return float(self.weight.sum())

    def __len__(self) -> int:
        return len(self.weight)


@dataclass(frozen=True)
class AssignmentReport:
    """What :func:`assign_opportunities` could and could not put on the network.

    Attributes
    ----------
    total
        Sum of all weights.
    assigned
        Sum of the weights put on a node (equals the sum of the returned array).
    unassigned
        Sum of the weights farther than ``max_distance`` from every node.
    share_unassigned
        ``unassigned / total`` (0 when the total is 0).
    n_points
        Number of points (cells) with a positive weight.
    n_unassigned
        How many of them were too far.
    """

    total: float
    assigned: float
    unassigned: float
    share_unassigned: float
    n_points: int
    n_unassigned: int


class Decay(StrEnum):
    """Decay functions of :func:`gravity_accessibility`."""

    EXPONENTIAL = "exponential"
    POWER = "power"
    LOGISTIC = "logistic"


# -- reading ---------------------------------------------------------------------------


def read_opportunities(spec: Any, *, column: str | None = None) -> Opportunities:
    """Read opportunities from a file spec or a GeoDataFrame.

    Parameters
    ----------
    spec
        ``"points.csv:COLUMN"`` (a CSV with lon/lat columns, e.g. ``lon``/``lat``,
        ``longitude``/``latitude`` or ``x``/``y`` in degrees), ``"grid.gpkg:COLUMN"`` (any
        vector file of points or polygons; polygons count at their centroids),
        ``"raster.tif"`` (band 1; ``"raster.tif:2"`` for band 2), or a GeoDataFrame.
    column
        The weight column, when not given in ``spec``.

    Returns
    -------
    opportunities
        Weighted points in EPSG:4326. Rows or cells with a zero or missing weight are
        dropped (missing ones with a warning); raster nodata cells are skipped.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    ParameterError
        No column given, a column that does not exist (the message lists the columns),
        non-numeric or negative weights, a CSV without lon/lat columns.
    CoordinateError
        A vector file or raster without a CRS, or CSV coordinates out of range.
    """
    import geopandas as gpd

    if isinstance(spec, gpd.GeoDataFrame):
        return _from_frame(spec, column, "the opportunities frame")
    if not isinstance(spec, str | Path):
        raise ParameterError(
            f"cannot read opportunities from {type(spec).__name__}: give 'points.csv:COLUMN', "
            "'grid.gpkg:COLUMN', 'raster.tif' or a GeoDataFrame"
        )
    path, column = _split_spec(str(spec), column)
    if not path.exists():
        raise InputFileError(f"opportunities file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in RASTER_SUFFIXES:
        return _from_raster(path, column)
    if suffix in (".csv", ".txt"):
        return _from_csv(path, column)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio's DataSourceError and others
        raise InputFileError(
            f"cannot read opportunities file {path} ({exc}): give a CSV with lon/lat columns, "
            "a vector file (GeoPackage, GeoJSON) or a GeoTIFF"
        ) from exc
    return _from_frame(frame, column, str(path))


def _split_spec(spec: str, column: str | None) -> tuple[Path, str | None]:
    """``"file.ext:COLUMN"`` -> (path, column); a path holding ':' is taken whole."""
    path = Path(spec).expanduser()
    if ":" in spec and not path.exists():
        head, tail = spec.rsplit(":", 1)
        if tail and "/" not in tail and "\\" not in tail:
            if column is not None and column != tail:
                raise ParameterError(
                    f"two weight columns given: {tail!r} in {spec!r} and column={column!r}"
                )
            return Path(head).expanduser(), tail
    return path, column


def _weights(values: Any, where: str, column: str) -> np.ndarray:
    import pandas as pd

    series = pd.Series(values)
    if not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == bool):
        raise ParameterError(
            f"column {column!r} of {where} is not numeric (dtype {series.dtype}): "
            "give a column of counts"
        )
    w = series.to_numpy(dtype=float, na_value=np.nan)
    missing = ~np.isfinite(w)
    if missing.any():
        logger.warning(
            "%s: %d of %d values of %r are missing or infinite and count as 0",
            where,
            missing.sum(),
            len(w),
            column,
        )
        w = np.where(missing, 0.0, w)
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ParameterError(
            f"column {column!r} of {where} has negative values (row {i}: {w[i]}): "
            "opportunities must be counts >= 0"
        )
    return w


def _require_column(columns: list[str], column: str | None, where: str) -> str:
    if column is None:
        raise ParameterError(
            f"which column of {where} holds the opportunities? give it as "
            f"'{where}:COLUMN' or column=...; its columns are {', '.join(columns) or 'none'}"
        )
    if column not in columns:
        raise ParameterError(
            f"{where} has no column {column!r}: its columns are {', '.join(columns) or 'none'}"
        )
    return column


def _from_frame(frame: Any, column: str | None, where: str) -> Opportunities:
    geometry_name = frame.geometry.name
    labels = {str(c): c for c in frame.columns if c != geometry_name}
    column = _require_column(list(labels), None if column is None else str(column), where)
    if frame.crs is None:
        raise CoordinateError(
            f"{where} has no coordinate reference system: set it with "
            "gdf.set_crs('EPSG:4326') (or the CRS the coordinates are in)"
        )
    weight = _weights(frame[labels[column]], where, column)
    geoms = frame.geometry
    ok = geoms.notna().to_numpy() & ~geoms.is_empty.to_numpy()
    types = set(geoms[ok].geom_type)
    if types <= {"Point"}:
        kind, points = "points", geoms.to_crs("EPSG:4326")
    elif types <= {"Polygon", "MultiPolygon"}:
        kind = "grid"
        local = geoms.to_crs(geoms.estimate_utm_crs()) if geoms.crs.is_geographic else geoms
        points = local.centroid.to_crs("EPSG:4326")
    else:
        raise ParameterError(
            f"{where} mixes geometry types ({', '.join(sorted(types))}): give points or "
            "polygons, not both"
        )
    dropped_weight = weight[~ok].sum()
    if dropped_weight > 0:
        logger.warning(
            "%s: %d rows without a geometry hold %s of %r and are skipped",
            where,
            (~ok).sum(),
            f"{dropped_weight:,.6g}",
            column,
        )
    keep = ok & (weight > 0)
    return Opportunities(
        lon=np.asarray(points.x.to_numpy()[keep], float),
        lat=np.asarray(points.y.to_numpy()[keep], float),
        weight=weight[keep],
        kind=kind,
        source=where,
        column=column,
    )


def _from_csv(path: Path, column: str | None) -> Opportunities:
    import pandas as pd

    from connectivity.streets.graph import check_lonlat

    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas' ParserError, UnicodeDecodeError, EmptyDataError
        raise InputFileError(f"cannot read opportunities CSV {path}: {exc}") from exc
    columns = [str(c) for c in frame.columns]
    lower = {c.lower(): c for c in columns}
    lon_col = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat_col = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    if lon_col is None or lat_col is None:
        raise ParameterError(
            f"{path} has no longitude/latitude columns (looked for {'/'.join(_LON_NAMES)} and "
            f"{'/'.join(_LAT_NAMES)}); its columns are {', '.join(columns)}"
        )
    column = _require_column(columns, column, str(path))
    weight = _weights(frame[column], str(path), column)
    lon = pd.to_numeric(frame[lon_col], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        raise CoordinateError(
            f"{path} row {int(np.flatnonzero(bad)[0]) + 2}: {lon_col}/{lat_col} are not numbers"
        )
    check_lonlat(lon, lat)
    keep = weight > 0
    return Opportunities(lon[keep], lat[keep], weight[keep], "points", str(path), column)


def _from_raster(path: Path, band_text: str | None) -> Opportunities:
    import rasterio
    from pyproj import Transformer

    band = 1
    if band_text is not None:
        if not band_text.isdigit() or int(band_text) < 1:
            raise ParameterError(
                f"a raster takes a band number after ':', not {band_text!r}: e.g. {path.name}:1"
            )
        band = int(band_text)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CoordinateError(
                    f"raster {path} has no CRS: set one (gdal_edit.py -a_srs EPSG:XXXX "
                    f"{path.name}, or rasterio with crs=...) before using it"
                )
            if band > src.count:
                raise ParameterError(f"raster {path} has {src.count} band(s), not band {band}")
            values = src.read(band, masked=True)
            transform = src.transform
            crs = src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"cannot read raster {path}: {exc}") from exc
    data = np.ma.filled(values.astype(float), 0.0)
    data[~np.isfinite(data)] = 0.0
    if (data < 0).any():
        raise ParameterError(
            f"raster {path} band {band} has negative cells (min {data.min()}): population "
            "counts must be >= 0 (set negative fill values as the raster's nodata)"
        )
    rows, cols = np.nonzero(data > 0)
    # Cell centres through the affine transform (x = a*col + b*row + c, y = d*col + e*row + f).
    ci, ri = cols + 0.5, rows + 0.5
    xs = transform.a * ci + transform.b * ri + transform.c
    ys = transform.d * ci + transform.e * ri + transform.f
    to_4326 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_4326.transform(xs, ys)
    return Opportunities(
        np.asarray(lon, float),
        np.asarray(lat, float),
        data[rows, cols],
        "raster",
        str(path),
        f"band {band}",
    )


# -- assignment ------------------------------------------------------------------------


def assign_opportunities(
    network: StreetNetwork,
    source: Any,
    *,
    column: str | None = None,
    max_distance: float = DEFAULT_SNAP_DISTANCE,
) -> tuple[np.ndarray, AssignmentReport]:
    """Put opportunities on the nearest street nodes.

    Each point (grid cell centroid, raster cell centre) adds its weight to its nearest
    node when that node lies within ``max_distance`` metres (straight line, in the
    network's CRS); otherwise the weight is counted as unassigned and a warning gives
    the counts. Cells are not split by area: a cell counts at its centroid.

    Parameters
    ----------
    network
        The street network.
    source
        :class:`Opportunities`, a GeoDataFrame, or a spec for :func:`read_opportunities`.
    column
        The weight column (for a GeoDataFrame or a spec without ``:COLUMN``).
    max_distance
        Largest distance in metres from a point to its node.

    Returns
    -------
    weights
        Weight per node (float64, ``network.n_nodes``).
    report
        Totals assigned and not; ``report.assigned == weights.sum()`` up to rounding.

    Raises
    ------
    ParameterError
        ``max_distance`` negative or not a number; any error of :func:`read_opportunities`.
    """
    if not (isinstance(max_distance, int | float | np.number) and max_distance >= 0):
        raise ParameterError(f"max_distance must be >= 0 metres, got {max_distance!r}")
    opp = source if isinstance(source, Opportunities) else read_opportunities(source, column=column)
    weights = np.zeros(network.n_nodes, float)
    if len(opp) == 0:
        report = AssignmentReport(0.0, 0.0, 0.0, 0.0, 0, 0)
        logger.warning("%s holds no opportunities (every weight is 0)", opp.source)
        return weights, report
    x, y = network.project(opp.lon, opp.lat)
    dist, node = network._kdtree.query(np.column_stack([x, y]))
    near = dist <= max_distance
    np.add.at(weights, node[near], opp.weight[near])
    total = opp.total
    assigned = float(opp.weight[near].sum())
    unassigned = float(opp.weight[~near].sum())
    report = AssignmentReport(
        total=total,
        assigned=assigned,
        unassigned=unassigned,
        share_unassigned=unassigned / total if total > 0 else 0.0,
        n_points=len(opp),
        n_unassigned=int((~near).sum()),
    )
    if report.n_unassigned:
        logger.warning(
            "%s: %d of %d %s (%s of %s %r, %.1f%%) lie more than %g m from the %s network "
            "and were not assigned",
            opp.source,
            report.n_unassigned,
            report.n_points,
            "cells" if opp.kind != "points" else "points",
            f"{unassigned:,.6g}",
            f"{total:,.6g}",
            opp.column,
            100 * report.share_unassigned,
            max_distance,
            network.mode,
        )
    return weights, report


# -- accessibility from travel times ---------------------------------------------------

#: Origins per block when evaluating ``origins x nodes`` arrays (bounds temporaries).
_BLOCK_CELLS = 1 << 22


def _check_times(times: Any, weights: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    t = np.asarray(times, float)
    w = np.asarray(weights, float)
    single = t.ndim == 1
    if single:
        t = t[None, :]
    if t.ndim != 2:
        raise ParameterError(
            f"times must be 1-D (one origin) or origins x nodes, got shape {t.shape}"
        )
    if w.ndim != 1 or len(w) != t.shape[1]:
        raise ParameterError(
            f"weights have shape {w.shape} but times have {t.shape[1]} destinations per "
            "origin: give one weight per destination node"
        )
    if not np.isfinite(w).all():
        raise ParameterError("weights must be finite numbers (got NaN or infinity)")
    return t, w, single


def _check_cutoffs(cutoffs: Any) -> np.ndarray:
    c = np.atleast_1d(np.asarray(cutoffs, float))
    if c.ndim != 1 or len(c) == 0 or not np.isfinite(c).all() or (c < 0).any():
        raise ParameterError(
            f"cutoffs must be one or more finite times >= 0 in seconds, got {cutoffs!r}"
        )
    return c


def cumulative_accessibility(times: Any, weights: Any, *, cutoffs: Any) -> np.ndarray:
    """The weight reachable within each cutoff: ``A_k(i) = sum_j w_j [t_ij <= c_k]``.

    Parameters
    ----------
    times
        Travel times in seconds, ``origins x nodes`` (or one origin's ``nodes``);
        ``inf`` or NaN for unreachable nodes.
    weights
        Opportunities per node.
    cutoffs
        Cutoffs in seconds (inclusive).

    Returns
    -------
    access
        ``origins x cutoffs`` (or ``cutoffs`` for 1-D ``times``).
    """
    t, w, single = _check_times(times, weights)
    c = _check_cutoffs(cutoffs)
    out = np.empty((t.shape[0], len(c)))
    step = max(1, _BLOCK_CELLS // max(t.shape[1], 1))
    for start in range(0, t.shape[0], step):
        block = t[start : start + step]
        for k, cut in enumerate(c):
            out[start : start + step, k] = (block <= cut) @ w
    return out[0] if single else out


def gravity_accessibility(
    times: Any,
    weights: Any,
    *,
    decay: Decay | str = Decay.EXPONENTIAL,
    beta: float,
    midpoint: float | None = None,
    max_time: float | None = None,
) -> np.ndarray:
    """Gravity accessibility ``A(i) = sum_j w_j f(t_ij)``.

    With ``m = t / 60`` the travel time in minutes:

    - ``"exponential"``: ``f = exp(-beta * m)``;
    - ``"power"``: ``f = max(m, 1) ** -beta`` (times under a minute count as one, so
      ``f <= 1``);
    - ``"logistic"``: ``f = 1 / (1 + exp(beta * (m - midpoint / 60)))``, one half at
      ``midpoint`` seconds.

    Unreachable nodes (``inf``/NaN times), and times over ``max_time`` when given,
    contribute 0.

    Parameters
    ----------
    times
        Travel times in seconds, ``origins x nodes`` (or one origin's ``nodes``).
    weights
        Opportunities per node.
    decay
        The decay function.
    beta
        Decay rate per minute (exponential, logistic) or exponent (power); > 0.
    midpoint
        For ``"logistic"``: the time in seconds where ``f = 0.5``.
    max_time
        Optional cutoff in seconds beyond which ``f = 0``.

    Returns
    -------
    access
        One value per origin (a scalar for 1-D ``times``).
    """
    t, w, single = _check_times(times, weights)
    try:
        decay = Decay(str(decay).lower())
    except ValueError:
        valid = ", ".join(d.value for d in Decay)
        raise ParameterError(f"unknown decay {decay!r}: use one of {valid}") from None
    if not (isinstance(beta, int | float | np.number) and math.isfinite(beta) and beta > 0):
        raise ParameterError(f"beta must be a positive number, got {beta!r}")
    if decay is Decay.LOGISTIC and (
        midpoint is None or not math.isfinite(midpoint) or midpoint < 0
    ):
        raise ParameterError(
            "the logistic decay needs midpoint=SECONDS (>= 0), the time where it is 0.5"
        )
    if max_time is not None and not max_time >= 0:
        raise ParameterError(f"max_time must be >= 0 seconds, got {max_time!r}")
    out = np.empty(t.shape[0])
    step = max(1, _BLOCK_CELLS // max(t.shape[1], 1))
    for start in range(0, t.shape[0], step):
        block = t[start : start + step]
        ok = np.isfinite(block)
        if max_time is not None:
            ok &= block <= max_time
        m = np.where(ok, block, 0.0) / 60.0
        if decay is Decay.EXPONENTIAL:
            f = np.exp(-beta * m)
        elif decay is Decay.POWER:
            f = np.maximum(m, 1.0) ** -beta
        else:
            assert midpoint is not None  # for mypy: checked above
            z = np.minimum(beta * (m - midpoint / 60.0), 700.0)  # exp(>709) overflows
            f = 1.0 / (1.0 + np.exp(z))
        out[start : start + step] = np.where(ok, f, 0.0) @ w
    return out[0] if single else out


# -- accessibility from every node -----------------------------------------------------


def network_accessibility(
    network: StreetNetwork, weights: Any, *, cutoffs: Any, progress: bool | None = None
) -> np.ndarray:
    """Cumulative accessibility from every node of a street network.

    ``A_k(i) = sum_j w_j [d(i, j) <= c_k]`` with ``d`` the network travel time
    (``network.csr``, seconds). Computed by a bounded Dijkstra from each node ``j`` with
    ``w_j > 0`` on the reversed graph (compiled with numba, one thread per core), so the
    cost is (nodes with weight) x (nodes within the largest cutoff).

    Parameters
    ----------
    network
        The street network (walk, bike or drive).
    weights
        Opportunities per node (``network.n_nodes``), e.g. from
        :func:`assign_opportunities`.
    cutoffs
        Cutoffs in seconds (inclusive); the largest is the search horizon.
    progress
        Show a progress bar; by default when stderr is a terminal.

    Returns
    -------
    access
        ``n_nodes x cutoffs``, in the order of ``cutoffs``.
    """
    import numba
    from tqdm import tqdm

    from connectivity.accessibility._kernels import reverse_cumulative

    w = np.asarray(weights, float)
    if w.ndim != 1 or len(w) != network.n_nodes:
        raise ParameterError(
            f"weights have shape {w.shape}, the {network.mode} network has {network.n_nodes} "
            "nodes: give one weight per node"
        )
    if not np.isfinite(w).all():
        raise ParameterError("weights must be finite numbers (got NaN or infinity)")
    c = _check_cutoffs(cutoffs)
    order = np.argsort(c, kind="stable")
    sorted_cuts = c[order]
    reverse = network.csr.T.tocsr()
    indptr = reverse.indptr.astype(np.int64)
    indices = reverse.indices.astype(np.int64)
    data = reverse.data.astype(float)
    if (data < 0).any():
        raise ParameterError(f"the {network.mode} network has negative edge times")
    sources = np.flatnonzero(w != 0).astype(np.int64)
    n = network.n_nodes
    acc = np.zeros((n, len(c)))
    if progress is None:
        progress = sys.stderr.isatty()
    batch = max(2000, len(sources) // 50)
    with tqdm(total=len(sources), desc="accessibility", unit="node", disable=not progress) as bar:
        for start in range(0, len(sources), batch):
            chunk = sources[start : start + batch]
            acc += reverse_cumulative(
                indptr, indices, data, chunk, w[chunk], sorted_cuts, n, numba.get_num_threads()
            )
            bar.update(len(chunk))
    acc = np.cumsum(acc, axis=1)
    out = np.empty_like(acc)
    out[:, order] = acc
    return out


# -- accessibility by walk + transit from many origins ---------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(network: Any, weights: np.ndarray, cutoffs: np.ndarray, options: dict) -> None:
    _WORKER.update(network=network, weights=weights, cutoffs=cutoffs, options=options)


def _accessibility_chunk(lonlat: np.ndarray) -> np.ndarray:
    from connectivity.routing.queries import travel_times

    network, weights = _WORKER["network"], _WORKER["weights"]
    cutoffs, options = _WORKER["cutoffs"], dict(_WORKER["options"])
    stat = options.pop("stat")
    out = np.empty((len(lonlat), len(cutoffs)))
    for i, (lon, lat) in enumerate(lonlat):
        times = travel_times(network, (float(lon), float(lat)), **options)
        node = times.node_times(stat) if times.nodes.shape[0] > 1 else times.nodes[0]
        out[i] = cumulative_accessibility(node, weights, cutoffs=cutoffs)
    return out


def transit_accessibility(
    network: Any,
    origins: Any,
    weights: Any,
    *,
    cutoffs: Any,
    departure: Any,
    window: float | None = None,
    stat: str | float = "median",
    n_jobs: int = 1,
    progress: bool | None = None,
    **routing_options: Any,
) -> np.ndarray:
    """Cumulative accessibility by walk+transit from many origins.

    Each origin is routed with :func:`connectivity.routing.queries.travel_times` and reduced at
    once to the weight of the walk-network nodes reached within each cutoff (over a
    window, per node the ``stat`` of the departure minutes' times).

    Parameters
    ----------
    network
        An :class:`connectivity.network.intermodal.IntermodalNetwork`.
    origins
        ``(lon, lat)`` pairs in degrees (an ``n x 2`` array).
    weights
        Opportunities per node of ``network.streets``.
    cutoffs
        Cutoffs in seconds (inclusive).
    departure, window
        As :func:`connectivity.routing.queries.travel_times`.
    stat
        Over a window: ``"median"``, ``"min"`` or a percentile of each node's times.
    n_jobs
        Worker processes (-1: one per core); the network goes once to each.
    progress
        Show a progress bar; by default when stderr is a terminal.
    **routing_options
        Passed to :func:`connectivity.routing.queries.travel_times` (``max_transfers``, ...).

    Returns
    -------
    access
        ``origins x cutoffs``.
    """
    import concurrent.futures
    import multiprocessing

    from tqdm import tqdm

    points = np.asarray(origins, float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ParameterError(
            f"origins must be (lon, lat) pairs, an n x 2 array; got shape {points.shape}"
        )
    w = np.asarray(weights, float)
    n = network.streets.n_nodes
    if w.shape != (n,):
        raise ParameterError(
            f"weights have shape {w.shape}, the walk network has {n} nodes: give one "
            "weight per node"
        )
    c = _check_cutoffs(cutoffs)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if not (isinstance(n_jobs, int) and n_jobs >= 1):
        raise ParameterError(f"n_jobs must be a positive number of processes or -1, got {n_jobs!r}")
    options = dict(routing_options, departure=departure, window=window, stat=stat)
    if progress is None:
        progress = sys.stderr.isatty()
    out = np.empty((len(points), len(c)))
    size = max(1, min(64, math.ceil(len(points) / (4 * n_jobs))))
    chunks = [(i, points[i : i + size]) for i in range(0, len(points), size)]
    with tqdm(total=len(points), desc="origins", unit="origin", disable=not progress) as bar:
        if n_jobs == 1 or len(chunks) == 1:
            _init_worker(network, w, c, options)
            try:
                for start, chunk in chunks:
                    out[start : start + len(chunk)] = _accessibility_chunk(chunk)
                    bar.update(len(chunk))
            finally:
                _WORKER.clear()
            return out
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=context,
            initializer=_init_worker,
            initargs=(network, w, c, options),
        ) as pool:
            futures = {pool.submit(_accessibility_chunk, chunk): start for start, chunk in chunks}
            for future in concurrent.futures.as_completed(futures):
                start = futures[future]
                result = future.result()
                out[start : start + len(result)] = result
                bar.update(len(result))
    return out
