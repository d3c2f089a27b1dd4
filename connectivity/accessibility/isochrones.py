"""Isochrones that follow the streets, and the travel-time surface they come from.

Both come from one raster, the *travel-time surface*: every street is sampled densely
(points every half cell along each edge's geometry, each with the time at which it is
reached: the time of the edge's start node plus the share of the edge's travel time), each
cell takes the earliest time of a sample inside it, and then the earliest time of any cell
whose centre lies within ``buffer`` metres (a disk). An isochrone for a cutoff is the set
of cells whose time is at most the cutoff, turned into polygons. Hence:

- polygons follow the streets (a band ``buffer`` metres wide around every reached part of
  a street, partial edges at the cutoff included), never a convex hull;
- blocks that nothing reaches stay holes;
- cutoffs nest exactly (a cell at most 5 minutes away is at most 10 minutes away), and the
  GeoTIFF written by :func:`write_geotiff` agrees with the polygons cell for cell;
- boundaries are exact to one cell: every reached node lies inside its cutoff's polygon,
  and no point farther than ``buffer + resolution * sqrt(2)`` from every reached street is.

``times`` are seconds to every node of the network, from
:meth:`StreetNetwork.travel_times_from` or any other source (transit routing with its
egress walks gives the same per-node times), so the functions here work for every mode.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from connectivity._errors import ParameterError
from connectivity._files import atomic_path, write_text_atomic, write_vector_atomic
from connectivity._modes import Mode

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine

    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "DEFAULT_BUFFER",
    "Surface",
    "isochrones",
    "isochrones_from_file",
    "travel_time_surface",
    "travel_times_from",
    "write_geotiff",
    "write_isochrones",
]

log = logging.getLogger(__name__)

#: Default half-width (m) of the band drawn around reached streets, per mode.
DEFAULT_BUFFER: dict[Mode, float] = {Mode.WALK: 50.0, Mode.BIKE: 75.0, Mode.DRIVE: 100.0}


class Surface(NamedTuple):
    """A travel-time surface: seconds per cell, NaN where nothing is reached.

    Attributes
    ----------
    values
        ``rows x cols`` float32 seconds; row 0 is the northern edge.
    transform
        The affine transform from (col, row) to the projected CRS (rasterio convention).
    crs
        The projected CRS of the grid (the network's UTM zone).
    """

    values: np.ndarray
    transform: Affine
    crs: str


# -- the origin --------------------------------------------------------------------


def travel_times_from(
    network: StreetNetwork,
    *,
    lat: float,
    lon: float,
    limit: float = math.inf,
    max_distance: float | None = None,
) -> np.ndarray:
    """Travel times in seconds from one point to every node of a street network.

    The point is snapped onto its nearest street (edge), and the trip starts there,
    mid-edge, towards both ends where the street allows it.

    Parameters
    ----------
    network
        The street network of one mode.
    lat, lon
        The origin in degrees (keyword-only, so they cannot be swapped silently).
    limit
        Stop searching beyond this many seconds (``inf`` there); the largest cutoff of
        the isochrones wanted is enough.
    max_distance
        Largest allowed snapping distance in metres (default: the network's default).

    Returns
    -------
    times
        Seconds to every node (node position order), ``inf`` where not reached.

    Raises
    ------
    CoordinateError
        Coordinates out of range or not finite, or swapped (when the swapped point lies
        inside the network).
    OutsideNetworkError
        The origin is farther than ``max_distance`` from every street.
    """
    kwargs: dict[str, Any] = {"limit": limit}
    if max_distance is not None:
        kwargs["max_distance"] = max_distance
    return np.asarray(network.travel_times_from(float(lon), float(lat), **kwargs), float)


# -- sampling the streets ------------------------------------------------------------

#: Per network and sampling step: the sample points along its edges (see _edge_samples).
_SAMPLES: weakref.WeakKeyDictionary[Any, dict[float, _Samples]] = weakref.WeakKeyDictionary()


class _Samples(NamedTuple):
    x: np.ndarray  # float64, projected
    y: np.ndarray
    edge: np.ndarray  # int64 edge position
    fraction: np.ndarray  # float64 share of the edge's length from u


def _edge_samples(network: StreetNetwork, step: float) -> _Samples:
    """Points at most ``step`` metres apart along every edge (end points excluded: the
    nodes are samples of their own), cached per network and step."""
    per_network = _SAMPLES.setdefault(network, {})
    cached = per_network.get(step)
    if cached is not None:
        return cached
    import shapely

    n_edges = network.n_edges
    if network.geometry is None:
        u = network.edges["u"].to_numpy(np.int64)
        v = network.edges["v"].to_numpy(np.int64)
        nx_ = network.nodes["x"].to_numpy(float)
        ny_ = network.nodes["y"].to_numpy(float)
        x0, y0, x1, y1 = nx_[u], ny_[u], nx_[v], ny_[v]
        seg_edge = np.arange(n_edges, dtype=np.int64)
        seg_start = np.zeros(n_edges)  # distance along the edge where the segment starts
    else:
        coords, index = shapely.get_coordinates(
            np.asarray(network.geometry, dtype=object), return_index=True
        )
        same = index[1:] == index[:-1]
        x0, y0 = coords[:-1, 0][same], coords[:-1, 1][same]
        x1, y1 = coords[1:, 0][same], coords[1:, 1][same]
        seg_edge = index[:-1][same].astype(np.int64)
    seg_len = np.hypot(x1 - x0, y1 - y0)
    if network.geometry is not None:
        # Distance along the edge at which each segment starts.
        cum = np.cumsum(seg_len)
        edge_first = np.searchsorted(seg_edge, seg_edge, side="left")
        before = np.concatenate([[0.0], cum])
        seg_start = before[np.arange(len(seg_len))] - before[edge_first]
    edge_len = np.bincount(seg_edge, weights=seg_len, minlength=n_edges)
    # Samples at k / n of each segment, k = 0..n-1 (k = 0 skipped on an edge's first
    # segment: that point is the node u).
    n_per = np.maximum(np.ceil(seg_len / step).astype(np.int64), 1)
    seg_of = np.repeat(np.arange(len(seg_len)), n_per)
    k = np.arange(len(seg_of)) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    t = k / n_per[seg_of]
    keep = ~((k == 0) & (seg_start[seg_of] == 0))
    seg_of, t = seg_of[keep], t[keep]
    xs = x0[seg_of] + t * (x1 - x0)[seg_of]
    ys = y0[seg_of] + t * (y1 - y0)[seg_of]
    edge = seg_edge[seg_of]
    total = edge_len[edge]
    along = seg_start[seg_of] + t * seg_len[seg_of]
    fraction = np.divide(along, total, out=np.zeros_like(along), where=total > 0)
    samples = _Samples(xs, ys, edge, fraction)
    per_network[step] = samples
    return samples


def _reached_points(
    network: StreetNetwork,
    times: np.ndarray,
    *,
    max_time: float,
    step: float,
    origin: tuple[float, float] | None,
    max_distance: float | None = None,
    origin_time: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and seconds of every sample (nodes and points along edges) reached within
    ``max_time``."""
    samples = _edge_samples(network, step)
    u = network.edges["u"].to_numpy(np.int64)
    edge_time = network.edges["time"].to_numpy(float)
    start = times[u]
    # Only edges left before max_time can hold reached samples.
    live = start[samples.edge] <= max_time
    edge = samples.edge[live]
    t = start[edge] + samples.fraction[live] * edge_time[edge]
    ok = t <= max_time
    xs = [network.nodes["x"].to_numpy(float), samples.x[live][ok]]
    ys = [network.nodes["y"].to_numpy(float), samples.y[live][ok]]
    ts = [times, t[ok]]
    if origin is not None:
        ox, oy, ot, onto = _origin_samples(network, origin, step=step, max_distance=max_distance)
        ot = ot + (onto if origin_time is None else _check_origin_time(origin_time))
        xs.append(ox)
        ys.append(oy)
        ts.append(ot)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    t_all = np.concatenate(ts)
    reached = t_all <= max_time
    return x[reached], y[reached], t_all[reached]


def _check_origin_time(origin_time: Any) -> float:
    try:
        value = float(origin_time)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ParameterError(
            f"origin_time={origin_time!r}: give the seconds >= 0 at which the trip is on the "
            "origin's street (None: the walk onto it, as travel_times_from counts it)"
        )
    return value


def _origin_samples(
    network: StreetNetwork,
    origin: tuple[float, float],
    *,
    step: float,
    max_distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Samples along the origin's own street, timed from where the origin meets it (the
    end nodes alone would time them as if the trip started at a node), and the seconds
    of the walk onto the street (:attr:`~connectivity.StreetNetwork.access_speed`)."""
    lat, lon = origin
    kwargs = {} if max_distance is None else {"max_distance": float(max_distance)}
    snapped = network.snap(lon, lat, **kwargs)
    e = int(snapped.edge[0])
    f = float(snapped.fraction[0])
    samples = _edge_samples(network, step)
    on = samples.edge == e
    frac = np.concatenate([samples.fraction[on], [f]])
    x = np.concatenate([samples.x[on], snapped.x])
    y = np.concatenate([samples.y[on], snapped.y])
    edge_time = float(network.edges["time"].to_numpy(float)[e])
    rev = int(snapped.reverse_edge[0])
    rev_time = float(network.edges["time"].to_numpy(float)[rev]) if rev >= 0 else math.inf
    ahead = frac >= f
    t = np.full(len(frac), math.inf)
    t[ahead] = (frac[ahead] - f) * edge_time
    if math.isfinite(rev_time):  # a one-way street is not walked (ridden) backwards
        t[~ahead] = (f - frac[~ahead]) * rev_time
    return x, y, t, float(snapped.distance[0]) / (network.access_speed / 3.6)


# -- the surface ---------------------------------------------------------------------


def _check_times(network: StreetNetwork, times: Any) -> np.ndarray:
    values = np.asarray(times, float)
    if values.shape != (network.n_nodes,):
        raise ParameterError(
            f"times has shape {values.shape}, the network has {network.n_nodes:,} nodes: "
            "give one travel time in seconds per node (node position order), e.g. from "
            "travel_times_from(network, lat=..., lon=...)"
        )
    if np.isnan(values).any():
        raise ParameterError(
            f"times holds {int(np.isnan(values).sum()):,} NaN values: use inf for nodes "
            "that are not reached"
        )
    if (values < 0).any():
        raise ParameterError("times must be >= 0 seconds (travel times from the origin)")
    return values


def _sizes(network: StreetNetwork, buffer: float | None, resolution: float | None) -> tuple:
    if buffer is None:
        buffer = DEFAULT_BUFFER[Mode.parse(network.mode)]
    given = buffer
    buffer = _metres(buffer)
    if not (math.isfinite(buffer) and buffer > 0):
        raise ParameterError(f"buffer={given} m: give a positive width in metres, e.g. 50")
    if resolution is None:
        resolution = buffer / 2
    given = resolution
    resolution = _metres(resolution)
    if not (math.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"resolution={given} m: give a positive cell size in metres, e.g. 25")
    if resolution > 2 * buffer:
        raise ParameterError(
            f"resolution={resolution:g} m is coarser than twice buffer={buffer:g} m: the "
            "polygons would lose the streets; use a resolution of at most the buffer"
        )
    return buffer, resolution


def _metres(value: Any) -> float:
    """A number of metres, NaN where ``value`` is not a number (rejected by the caller)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _disk(buffer: float, resolution: float) -> np.ndarray:
    r = int(math.floor(buffer / resolution + 1e-9))
    i, j = np.mgrid[-r : r + 1, -r : r + 1]
    return (i * i + j * j) * resolution * resolution <= buffer * buffer * (1 + 1e-12)


def _raw_grid(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, *, buffer: float, resolution: float
) -> tuple[np.ndarray, Affine]:
    """Earliest sample time per cell (inf where none), on a grid aligned to multiples of
    ``resolution`` and padded by the buffer."""
    from affine import Affine

    pad = buffer + 2 * resolution
    if len(x) == 0:
        return np.full((1, 1), np.inf, np.float64), Affine(resolution, 0, 0, 0, -resolution, 0)
    west = math.floor((x.min() - pad) / resolution) * resolution
    north = math.ceil((y.max() + pad) / resolution) * resolution
    cols = int(math.ceil((x.max() + pad - west) / resolution))
    rows = int(math.ceil((north - (y.min() - pad)) / resolution))
    col = np.floor((x - west) / resolution).astype(np.int64)
    row = np.floor((north - y) / resolution).astype(np.int64)
    raw = np.full(rows * cols, np.inf)
    np.minimum.at(raw, row * cols + col, t)
    return raw.reshape(rows, cols), Affine(resolution, 0, west, 0, -resolution, north)


def _spread(raw: np.ndarray, disk: np.ndarray) -> np.ndarray:
    """Earliest time within the disk around each cell (a grey erosion)."""
    from scipy.ndimage import minimum_filter

    return minimum_filter(raw, footprint=disk, mode="constant", cval=np.inf)


def travel_time_surface(
    network: StreetNetwork,
    times: Any,
    *,
    max_time: float | None = None,
    buffer: float | None = None,
    resolution: float | None = None,
    origin: tuple[float, float] | None = None,
    max_distance: float | None = None,
    origin_time: float | None = None,
) -> Surface:
    """The travel-time surface: per cell, the earliest time of any street point within
    ``buffer`` metres.

    Parameters
    ----------
    network
        The street network the times are for.
    times
        Seconds to every node (node position order); ``inf`` where not reached.
    max_time
        Leave out everything reached later than this many seconds (default: keep every
        reached node; large networks want a limit).
    buffer
        Half-width in metres of the band around the streets (default per mode:
        :data:`DEFAULT_BUFFER`).
    resolution
        Cell size in metres (default ``buffer / 2``).
    origin
        ``(lat, lon)`` of the origin the times were computed from, so its own street is
        timed from it rather than from its end nodes.
    max_distance
        Largest snapping distance of ``origin`` in metres (default: the network's
        default); give the one the times were computed with.
    origin_time
        Seconds at which the trip is on the origin's street. Default: the walk onto it
        at the network's :attr:`~connectivity.StreetNetwork.access_speed`, as
        :func:`travel_times_from` counts it; walk+transit times count it at the query's
        walking speed (see
        :func:`connectivity.accessibility.transit_isochrones.transit_isochrones`).

    Returns
    -------
    surface
        The values (float32 seconds, NaN where nothing is reached), the transform and
        the CRS: see :class:`Surface`.

    Raises
    ------
    ParameterError
        ``times`` of the wrong length, NaN or negative; a non-positive buffer or
        resolution; a negative or NaN ``max_time``.
    """
    values = _check_times(network, times)
    buffer, resolution = _sizes(network, buffer, resolution)
    limit = math.inf if max_time is None else _check_max_time(max_time)
    finite = values[np.isfinite(values)]
    reached_limit = limit if math.isfinite(limit) else float(finite.max(initial=0.0))
    x, y, t = _reached_points(
        network,
        values,
        max_time=_float32_limit(reached_limit),
        step=resolution / 2,
        origin=origin,
        max_distance=max_distance,
        origin_time=origin_time,
    )
    raw, transform = _raw_grid(x, y, t, buffer=buffer, resolution=resolution)
    grid = _spread(raw, _disk(buffer, resolution)).astype(np.float32)
    grid[~(grid <= np.float32(reached_limit))] = np.nan
    return Surface(grid, transform, network.crs)


def _float32_limit(seconds: float) -> float:
    """The largest time that float32 stores as at most ``seconds``, and a little more:
    samples are kept up to it, and the float32 grid then decides, so that the GeoTIFF
    and the polygons agree cell for cell."""
    return float(np.nextafter(np.float32(seconds), np.float32(np.inf)))


def _check_max_time(max_time: Any) -> float:
    try:
        value = float(max_time)
    except (TypeError, ValueError):
        value = math.nan
    if not value >= 0:  # NaN and negatives (a NaN limit would silently reach nothing)
        raise ParameterError(
            f"max_time={max_time!r}: give seconds >= 0 (e.g. 900), or None to keep every "
            "reached node"
        )
    return value


def write_geotiff(surface: Surface, path: str | Path) -> Path:
    """Write a travel-time surface as a single-band float32 GeoTIFF, atomically.

    Parameters
    ----------
    surface
        From :func:`travel_time_surface`.
    path
        The ``.tif`` file to write; its folder is created.

    Returns
    -------
    path
        The file written. Cells not reached are nodata (NaN); values are seconds.
    """
    import rasterio

    values, transform, crs = surface
    with (
        atomic_path(path) as tmp,
        rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            height=values.shape[0],
            width=values.shape[1],
            count=1,
            dtype="float32",
            crs=crs,
            transform=transform,
            nodata=np.nan,
            compress="deflate",
        ) as dst,
    ):
        dst.write(values.astype(np.float32), 1)
        dst.set_band_description(1, "travel time (s)")
    log.info("wrote the travel-time surface to %s", path)
    return Path(path)


# -- polygons ------------------------------------------------------------------------


def _check_cutoffs(cutoffs: Iterable[float]) -> list[float]:
    try:
        values = [float(c) for c in cutoffs]
    except (TypeError, ValueError):
        raise ParameterError(
            f"cutoffs={cutoffs!r}: give numbers of seconds, e.g. (300, 600, 900)"
        ) from None
    if not values:
        raise ParameterError("cutoffs is empty: give at least one time in seconds")
    bad = [c for c in values if not (math.isfinite(c) and c > 0)]
    if bad:
        raise ParameterError(
            f"cutoff {bad[0]:g} s is not a positive number of seconds: give e.g. (300, 600, 900)"
        )
    return sorted(set(values))


def _polygons(mask: np.ndarray, transform: Affine) -> Any:
    """The cells of ``mask`` as one (multi)polygon, holes included.

    Every cell corner along the boundary is a vertex, computed from its integer cell
    position by one formula. Where a smaller cutoff's boundary runs along a larger one's,
    both then have the same vertices, which reprojection maps to the same points: the
    cutoffs still nest exactly in EPSG:4326 (a long straight edge of the larger polygon
    would otherwise bend a few nanometres away from the smaller one's vertices on it).
    """
    import shapely
    from rasterio.features import shapes

    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return shapely.Polygon()
    cols = np.flatnonzero(mask.any(axis=0))
    # Polygonise only the window that holds the cells (small cutoffs, small windows),
    # in cell coordinates (integers).
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    window = np.ascontiguousarray(mask[r0:r1, c0:c1])
    rings: list[Any] = []
    rings_per_polygon: list[int] = []
    for geom, _ in shapes(window.view(np.uint8), mask=window):
        rings.extend(geom["coordinates"])
        rings_per_polygon.append(len(geom["coordinates"]))
    sizes = np.fromiter(map(len, rings), np.int64, count=len(rings))
    flat = chain.from_iterable(chain.from_iterable(rings))
    corners = np.fromiter(flat, float, count=2 * int(sizes.sum())).reshape(-1, 2)
    col, row, sizes = _densify(np.rint(corners[:, 0]), np.rint(corners[:, 1]), sizes)
    res, west, north = transform.a, transform.c, transform.f
    coords = np.column_stack([west + (col + c0) * res, north - (row + r0) * res])
    ring_offsets = np.concatenate([[0], np.cumsum(sizes)])
    polygon_offsets = np.concatenate([[0], np.cumsum(rings_per_polygon)])
    multi = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        coords,
        (ring_offsets, polygon_offsets, np.array([0, len(rings_per_polygon)])),
    )[0]
    return multi.geoms[0] if len(rings_per_polygon) == 1 else multi


def _densify(
    col: np.ndarray, row: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rings of axis-parallel segments between cell corners, with a vertex at every
    corner passed (integer cell coordinates in, out; ``sizes`` = points per ring)."""
    ends = np.cumsum(sizes)
    last = np.zeros(len(col), bool)
    last[ends - 1] = True
    step_c = np.append(np.diff(col), 0.0)
    step_r = np.append(np.diff(row), 0.0)
    steps = np.maximum(np.abs(step_c), np.abs(step_r)).astype(np.int64)
    count = np.where(last, 1, np.maximum(steps, 1))
    start = np.repeat(np.arange(len(col)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    n = np.maximum(steps, 1)[start]
    out_c = col[start] + np.rint(k * step_c[start] / n)
    out_r = row[start] + np.rint(k * step_r[start] / n)
    ring_of = np.repeat(np.arange(len(sizes)), sizes)
    new_sizes = np.bincount(ring_of, weights=count, minlength=len(sizes)).astype(np.int64)
    return out_c, out_r, new_sizes


def isochrones(
    network: StreetNetwork,
    times: Any,
    *,
    cutoffs: Sequence[float] = (300, 600, 900),
    buffer: float | None = None,
    resolution: float | None = None,
    origin: tuple[float, float] | None = None,
    max_distance: float | None = None,
    origin_time: float | None = None,
) -> gpd.GeoDataFrame:
    """Isochrone polygons that follow the streets, one per cutoff.

    Parameters
    ----------
    network
        The street network the times are for.
    times
        Seconds to every node (node position order); ``inf`` where not reached. From
        :func:`travel_times_from`, or from transit routing (egress walks included).
    cutoffs
        Travel times in seconds; each gives one polygon.
    buffer
        Half-width in metres of the band drawn around reached streets (default per mode:
        50 m walk, 75 m bike, 100 m drive).
    resolution
        Cell size in metres of the surface the polygons come from (default
        ``buffer / 2``); boundaries are exact to one cell.
    origin
        ``(lat, lon)`` the times were computed from, so that the origin's own street is
        timed from the origin (optional).
    max_distance
        Largest snapping distance of ``origin`` in metres (default: the network's
        default); give the one the times were computed with.
    origin_time
        Seconds at which the trip is on the origin's street. Default: the walk onto it
        at the network's :attr:`~connectivity.StreetNetwork.access_speed`, as
        :func:`travel_times_from` counts it; walk+transit times count it at the query's
        walking speed (see
        :func:`connectivity.accessibility.transit_isochrones.transit_isochrones`).

    Returns
    -------
    isochrones
        A GeoDataFrame in EPSG:4326 with columns ``cutoff`` (seconds, ascending: the
        smallest cutoff first) and ``geometry`` (a Polygon or MultiPolygon, holes where
        nothing is reached; empty when nothing is). Each polygon contains every smaller
        one.

    Raises
    ------
    ParameterError
        Bad ``times`` (wrong length, NaN, negative), cutoffs, buffer or resolution.
    CoordinateError, OutsideNetworkError
        An ``origin`` out of range or too far from every street.

    Examples
    --------
    >>> streets = load_streets(demo_pbf(), mode="walk")  # doctest: +SKIP
    >>> times = travel_times_from(streets, lat=60.1710, lon=24.9414, limit=900)  # doctest: +SKIP
    >>> isochrones(streets, times, cutoffs=(300, 600, 900))  # doctest: +SKIP
    """
    import geopandas as gpd

    values = _check_times(network, times)
    levels = _check_cutoffs(cutoffs)
    buffer, resolution = _sizes(network, buffer, resolution)
    x, y, t = _reached_points(
        network,
        values,
        max_time=_float32_limit(levels[-1]),
        step=resolution / 2,
        origin=origin,
        max_distance=max_distance,
        origin_time=origin_time,
    )
    raw, transform = _raw_grid(x, y, t, buffer=buffer, resolution=resolution)
    # float32 as travel_time_surface stores it, so the polygons and the GeoTIFF agree
    # cell for cell (a time a hair above a cutoff rounds onto it there).
    surface = _spread(raw, _disk(buffer, resolution)).astype(np.float32)
    geoms = [_polygons(surface <= np.float32(c), transform) for c in levels]
    gdf = gpd.GeoDataFrame(
        {"cutoff": np.asarray(levels, float)},
        geometry=geoms,
        crs=network.crs,
    ).to_crs("EPSG:4326")
    log.info(
        "isochrones for %d cutoffs from %s reached points on a %d x %d grid of %g m",
        len(levels),
        f"{len(t):,}",
        surface.shape[0],
        surface.shape[1],
        resolution,
    )
    return gdf


def write_isochrones(isochrones: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write isochrones (or any GeoDataFrame) atomically, the format from the suffix.

    Parameters
    ----------
    isochrones
        From :func:`isochrones`.
    path
        ``.geojson`` / ``.json`` (RFC 7946, EPSG:4326), ``.gpkg`` or ``.parquet``.

    Returns
    -------
    path
        The file written.

    Raises
    ------
    ParameterError
        An unknown suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    gdf = isochrones.to_crs("EPSG:4326")
    if suffix in (".geojson", ".json"):
        write_text_atomic(path, gdf.to_json(drop_id=True))
    elif suffix == ".gpkg":
        write_vector_atomic(gdf, path, driver="GPKG", layer="isochrones")
    elif suffix == ".parquet":
        with atomic_path(path) as tmp:
            gdf.to_parquet(tmp)
    else:
        raise ParameterError(
            f"cannot write {path.name}: use a .geojson, .gpkg or .parquet file name"
        )
    log.info("wrote %d isochrones to %s", len(gdf), path)
    return path


def isochrones_from_file(
    osm: str | Path,
    *,
    lat: float,
    lon: float,
    mode: Mode | str = Mode.WALK,
    cutoffs: Sequence[float] = (300, 600, 900),
    buffer: float | None = None,
    resolution: float | None = None,
    max_distance: float | None = None,
) -> gpd.GeoDataFrame:
    """Isochrones around a point, from an OpenStreetMap file: load, route, draw.

    Parameters
    ----------
    osm
        An OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``); the built network
        is cached (see :func:`connectivity.load_streets`).
    lat, lon
        The origin in degrees, snapped onto its nearest street.
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``.
    cutoffs, buffer, resolution
        As :func:`isochrones`.
    max_distance
        Largest allowed snapping distance of the origin in metres.

    Returns
    -------
    isochrones
        As :func:`isochrones`.

    Raises
    ------
    InputFileError, OsmDataError, EmptyNetworkError
        A missing, corrupt or street-less file.
    CoordinateError, OutsideNetworkError
        A bad origin, or one outside the network.
    ParameterError
        Bad cutoffs, buffer or resolution.
    """
    from connectivity.streets.load import load_streets

    levels = _check_cutoffs(cutoffs)
    network = load_streets(osm, mode=mode)
    times = travel_times_from(
        network, lat=lat, lon=lon, limit=levels[-1], max_distance=max_distance
    )
    return isochrones(
        network,
        times,
        cutoffs=levels,
        buffer=buffer,
        resolution=resolution,
        origin=(lat, lon),
        max_distance=max_distance,
    )
