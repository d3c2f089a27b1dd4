"""Open population products on the street network, cell by cell, totals preserved.

:func:`assign_population` reads a population product and puts every person on the
street nodes of the network:

- **rasters** (GHS-POP in World Mollweide, 100 m or 1 km; WorldPop in EPSG:4326 with a
  nodata value; Meta/HRSL GeoTIFF): only the window of cells over the network (padded by
  ``max_distance``) is read, with rasterio windowed reads, so a global tile is never
  loaded whole; the band's scale factor and offset are applied;
- **polygons** (census polygons with a count per polygon; Kontur Population's
  GeoPackage of H3 hexagons, whose ``h3`` ids are checked): read clipped to the
  network's bounding box;
- **points** (Meta/HRSL CSV of ``latitude, longitude, population``): each point on its
  nearest node, as :func:`connectivity.assign_opportunities` does.

A cell or polygon is split over the street nodes inside it (dasymetric): equally, or in
proportion to ``prior`` weights (e.g. the building-based estimate) where those are
positive inside it. A cell with no node inside goes to the node nearest its centre when
that lies within ``max_distance``; what is left is reported, never silently dropped, and
``assigned + unassigned == total`` to rounding.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import CoordinateError, InputFileError, ParameterError
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

if TYPE_CHECKING:
    from connectivity.streets.graph import StreetNetwork

__all__ = ["PopulationReport", "assign_population"]

logger = logging.getLogger(__name__)

_RASTER_SUFFIXES = (".tif", ".tiff")
_CSV_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class PopulationReport:
    """What :func:`assign_population` read and where it went.

    Attributes
    ----------
    source
        The file read.
    product
        ``"raster"``, ``"h3"`` (Kontur hexagons), ``"polygons"`` or ``"points"``.
    column
        The column (or ``"band N"``) read.
    total
        People in the cells read (the raster window, the polygons over the network).
    assigned
        People put on nodes (the sum of the returned weights).
    unassigned
        People in cells with no node inside and none within ``max_distance``.
    n_cells
        Cells (polygons, points) with people.
    n_split
        Cells split over the nodes inside them.
    n_nearest
        Cells with no node inside, given to the nearest node.
    n_unassigned
        Cells left off the network.
    """

    source: str
    product: str
    column: str
    total: float
    assigned: float
    unassigned: float
    n_cells: int
    n_split: int
    n_nearest: int
    n_unassigned: int

    @property
    def share_unassigned(self) -> float:
        """``unassigned / total``."""
        return self.unassigned / self.total if self.total > 0 else 0.0


def assign_population(
    network: StreetNetwork,
    source: str | Path,
    *,
    column: str | None = None,
    max_distance: float = DEFAULT_SNAP_DISTANCE,
    prior: Any | None = None,
) -> tuple[np.ndarray, PopulationReport]:
    """Read a population product over the network and split it onto its nodes.

    Parameters
    ----------
    network
        The street network (usually the walk network).
    source
        A GeoTIFF (``"pop.tif"``, ``"pop.tif:2"`` for band 2), a vector file of polygons
        (``"census.gpkg:COLUMN"``; a Kontur GeoPackage reads ``population`` by default) or
        a CSV of points with latitude/longitude columns (``"hrsl.csv:COLUMN"``).
    column
        The count column (or band number), when not given after ``:`` in ``source``.
    max_distance
        Metres: how far a cell's centre (a point) may lie from its node when no node
        lies inside the cell; also the padding of the raster window.
    prior
        Optional weights per node (``network.n_nodes``, >= 0): a cell is split over its
        nodes in proportion to them where they sum to more than 0 inside it.

    Returns
    -------
    weights
        People per node (float64, ``network.n_nodes``).
    report
        What was read, split, given to the nearest node and left off.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    CoordinateError
        The raster or vector file has no CRS.
    ParameterError
        No data over the network (all nodata, or no polygon there), negative or NaN
        counts, a column that does not exist, invalid H3 ids, a total <= 0.
    """
    from connectivity.accessibility.opportunities import _split_spec

    if not (isinstance(max_distance, int | float | np.number) and max_distance >= 0):
        raise ParameterError(f"max_distance must be >= 0 metres, got {max_distance!r}")
    path, column = _split_spec(str(source), column)
    if not path.exists():
        raise InputFileError(f"population file {path} does not exist: check the path")
    prior_w = _check_prior(prior, network)
    suffix = path.suffix.lower()
    if suffix in _RASTER_SUFFIXES:
        cell_of_node, cells, centre_x, centre_y, product, label = _raster_cells(
            network, path, column, max_distance
        )
    elif suffix in _CSV_SUFFIXES:
        return _points(network, path, column, max_distance)
    else:
        cell_of_node, cells, centre_x, centre_y, product, label = _polygon_cells(
            network, path, column, max_distance
        )
    weights, counts = _split(
        network, cell_of_node, cells, centre_x, centre_y, max_distance, prior_w
    )
    total = float(cells.sum())
    n_split, n_nearest, n_off = counts
    assigned = float(weights.sum())
    report = PopulationReport(
        source=str(path),
        product=product,
        column=label,
        total=total,
        assigned=assigned,
        unassigned=max(total - assigned, 0.0),
        n_cells=int((cells > 0).sum()),
        n_split=n_split,
        n_nearest=n_nearest,
        n_unassigned=n_off,
    )
    if n_off:
        logger.warning(
            "%s: %d of %d cells (%s of %s people, %.1f%%) have no %s street node within %g m "
            "and were not assigned",
            path,
            n_off,
            report.n_cells,
            f"{report.unassigned:,.6g}",
            f"{total:,.6g}",
            100 * report.share_unassigned,
            network.mode,
            max_distance,
        )
    return weights, report


def _check_prior(prior: Any, network: StreetNetwork) -> np.ndarray | None:
    if prior is None:
        return None
    w = np.asarray(prior, float)
    if w.shape != (network.n_nodes,) or not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError(
            f"prior must hold one finite weight >= 0 per node ({network.n_nodes}), "
            f"got shape {w.shape}"
        )
    return w


def _check_counts(values: np.ndarray, path: Path, what: str, fix: str) -> None:
    bad_nan = ~np.isfinite(values)
    if bad_nan.any():
        raise ParameterError(
            f"{path}: {int(bad_nan.sum())} {what} hold NaN or infinite counts: {fix}"
        )
    if (values < 0).any():
        raise ParameterError(
            f"{path}: {int((values < 0).sum())} {what} hold negative counts "
            f"(min {values.min():g}): {fix}"
        )
    if values.sum() <= 0:
        raise ParameterError(
            f"{path}: the {what} over the network hold a total of {values.sum():g} people "
            "(<= 0): give a product that covers the study area"
        )


def _network_box(network: StreetNetwork, pad: float) -> tuple[float, float, float, float]:
    x = network.nodes["x"].to_numpy(float)
    y = network.nodes["y"].to_numpy(float)
    return x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad


def _box_in(crs: Any, network: StreetNetwork, pad: float) -> tuple[float, float, float, float]:
    """The network's padded box in ``crs``, its edges densified so curved images fit."""
    from pyproj import Transformer

    x0, y0, x1, y1 = _network_box(network, pad)
    t = np.linspace(0.0, 1.0, 33)
    bx = np.concatenate([x0 + (x1 - x0) * t, np.full(33, x1), x1 - (x1 - x0) * t, np.full(33, x0)])
    by = np.concatenate([np.full(33, y0), y0 + (y1 - y0) * t, np.full(33, y1), y1 - (y1 - y0) * t])
    tx, ty = Transformer.from_crs(network.crs, crs, always_xy=True).transform(bx, by)
    return float(np.min(tx)), float(np.min(ty)), float(np.max(tx)), float(np.max(ty))


def _raster_cells(
    network: StreetNetwork, path: Path, band_text: str | None, pad: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, str]:
    import rasterio
    from affine import Affine
    from pyproj import Transformer
    from rasterio.windows import Window

    band = 1
    if band_text is not None:
        if not band_text.isdigit() or int(band_text) < 1:
            raise ParameterError(
                f"a raster takes a band number after ':', not {band_text!r}: e.g. {path.name}:1"
            )
        band = int(band_text)
    try:
        with warnings.catch_warnings():  # a raster without a CRS is reported below
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            if src.crs is None:
                raise CoordinateError(
                    f"raster {path} has no CRS: set one (gdal_edit.py -a_srs EPSG:XXXX "
                    f"{path.name}; GHS-POP is ESRI:54009, WorldPop EPSG:4326) before using it"
                )
            if band > src.count:
                raise ParameterError(f"raster {path} has {src.count} band(s), not band {band}")
            crs = src.crs
            x0, y0, x1, y1 = _box_in(crs, network, pad + 1.0)
            full = src.transform
            inv = ~full
            cols = [inv.a * x + inv.b * y + inv.c for x in (x0, x1) for y in (y0, y1)]
            rows = [inv.d * x + inv.e * y + inv.f for x in (x0, x1) for y in (y0, y1)]
            c0, c1 = max(math.floor(min(cols)), 0), min(math.ceil(max(cols)), src.width)
            r0, r1 = max(math.floor(min(rows)), 0), min(math.ceil(max(rows)), src.height)
            if c1 <= c0 or r1 <= r0:
                raise ParameterError(
                    f"raster {path} does not cover the network (its bounds {tuple(src.bounds)} "
                    f"in {crs}): give the tile of the study area"
                )
            win = Window(c0, r0, c1 - c0, r1 - r0)
            masked = src.read(band, window=win, masked=True)
            scale = src.scales[band - 1] if src.scales else 1.0
            offset = src.offsets[band - 1] if src.offsets else 0.0
            transform = Affine(
                full.a,
                full.b,
                full.c + full.a * c0 + full.b * r0,
                full.d,
                full.e,
                full.f + full.d * c0 + full.e * r0,
            )
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"cannot read raster {path}: {exc}") from exc
    mask = np.ma.getmaskarray(masked)
    if mask.all():
        raise ParameterError(
            f"raster {path} holds only nodata over the network: give the tile that covers the "
            "study area (or fix the raster's nodata value)"
        )
    data = np.ma.getdata(masked).astype(float) * float(scale) + float(offset)
    valid = data[~mask]
    _check_counts(
        valid, path, "raster cells", "set them as the raster's nodata (gdal_edit.py -a_nodata)"
    )
    data[mask] = 0.0
    height, width = data.shape
    # Each node's cell, by the inverse affine transform in the raster's CRS.
    to_r = Transformer.from_crs(network.crs, crs, always_xy=True)
    rx, ry = to_r.transform(network.nodes["x"].to_numpy(float), network.nodes["y"].to_numpy(float))
    inv = ~transform
    col = np.floor(inv.a * rx + inv.b * ry + inv.c).astype(np.int64)
    row = np.floor(inv.d * rx + inv.e * ry + inv.f).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    cell_of_node = np.where(inside, row * width + col, -1)
    cell_rows, cell_cols = np.divmod(np.arange(height * width), width)
    ci, ri = cell_cols + 0.5, cell_rows + 0.5
    cx = transform.a * ci + transform.b * ri + transform.c
    cy = transform.d * ci + transform.e * ri + transform.f
    to_net = Transformer.from_crs(crs, network.crs, always_xy=True)
    centre_x, centre_y = to_net.transform(cx, cy)
    return (
        cell_of_node,
        data.ravel(),
        np.asarray(centre_x, float),
        np.asarray(centre_y, float),
        "raster",
        f"band {band}",
    )


def _polygon_cells(
    network: StreetNetwork, path: Path, column: str | None, pad: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, str]:
    import geopandas as gpd
    import pyogrio
    import shapely

    from connectivity.accessibility.opportunities import _require_column

    try:
        info = pyogrio.read_info(path)
    except Exception as exc:  # pyogrio's DataSourceError and others
        raise InputFileError(
            f"cannot read population file {path} ({exc}): give a GeoTIFF, a GeoPackage or "
            "GeoJSON of polygons, or a CSV of points"
        ) from exc
    if info.get("crs") is None:
        raise CoordinateError(
            f"{path} has no coordinate reference system: set it (ogr2ogr -a_srs EPSG:XXXX) "
            "before using it"
        )
    fields = [str(f) for f in info["fields"]]
    if column is None and "population" in fields:
        column = "population"
    column = _require_column(fields, column, str(path))
    x0, y0, x1, y1 = _network_box(network, pad)
    box = gpd.GeoSeries([shapely.box(x0, y0, x1, y1)], crs=network.crs)
    try:
        frame = gpd.read_file(path, bbox=box)
    except Exception as exc:
        raise InputFileError(f"cannot read population file {path}: {exc}") from exc
    if frame.empty:
        raise ParameterError(
            f"{path} has no polygon over the network: give the file that covers the study area"
        )
    product = "polygons"
    h3_col = next(
        (c for c in frame.columns if str(c).lower() in ("h3", "h3_index", "hex_id")), None
    )
    if h3_col is not None:
        import h3

        ids = frame[h3_col].astype(str).to_numpy()
        bad = [i for i in ids if not h3.is_valid_cell(i)]
        if bad:
            raise ParameterError(
                f"{path}: {len(bad)} of {len(ids)} ids in column {h3_col!r} are not H3 cells "
                f"(first {bad[0]!r}): give the Kontur file as downloaded, with its h3 ids"
            )
        product = "h3"
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    _check_counts(values, path, f"rows of {column!r}", "fix or drop those rows")
    geoms = frame.geometry.to_crs(network.crs)
    kinds = set(geoms.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise ParameterError(
            f"{path} holds {', '.join(sorted(kinds))} geometries: give polygons (or a CSV of "
            "points)"
        )
    polys = geoms.to_numpy()
    tree = shapely.STRtree(polys)
    pts = shapely.points(network.nodes["x"].to_numpy(float), network.nodes["y"].to_numpy(float))
    node_idx, poly_idx = tree.query(pts, predicate="intersects")
    # A node on a shared edge counts in the first polygon only.
    cell_of_node = np.full(network.n_nodes, -1, np.int64)
    order = np.lexsort((poly_idx, node_idx))
    node_idx, poly_idx = node_idx[order], poly_idx[order]
    first = np.ones(len(node_idx), bool)
    first[1:] = node_idx[1:] != node_idx[:-1]
    cell_of_node[node_idx[first]] = poly_idx[first]
    centres = shapely.point_on_surface(polys)
    return (
        cell_of_node,
        values,
        shapely.get_x(centres),
        shapely.get_y(centres),
        product,
        column,
    )


def _split(
    network: StreetNetwork,
    cell_of_node: np.ndarray,
    cells: np.ndarray,
    centre_x: np.ndarray,
    centre_y: np.ndarray,
    max_distance: float,
    prior: np.ndarray | None,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Split each cell's count over its nodes; cells without nodes go to the nearest."""
    n_cells = len(cells)
    weights = np.zeros(network.n_nodes, float)
    has = cell_of_node >= 0
    nodes = np.flatnonzero(has)
    cell = cell_of_node[has]
    n_in = np.bincount(cell, minlength=n_cells).astype(float)
    share = np.ones(len(nodes), float)
    denom = n_in.copy()
    if prior is not None:
        p = prior[nodes]
        p_sum = np.bincount(cell, weights=p, minlength=n_cells)
        use = p_sum[cell] > 0
        share = np.where(use, p, 1.0)
        denom = np.where(p_sum > 0, p_sum, n_in)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.add.at(weights, nodes, cells[cell] * share / denom[cell])
    people = cells > 0
    empty = people & (n_in == 0)
    n_split = int((people & (n_in > 0)).sum())
    lone = np.flatnonzero(empty)
    n_nearest = 0
    if len(lone):
        dist, near = network._kdtree.query(np.column_stack([centre_x[lone], centre_y[lone]]))
        ok = dist <= max_distance
        np.add.at(weights, near[ok], cells[lone[ok]])
        n_nearest = int(ok.sum())
    n_off = len(lone) - n_nearest
    return weights, (n_split, n_nearest, n_off)


def _points(
    network: StreetNetwork, path: Path, column: str | None, max_distance: float
) -> tuple[np.ndarray, PopulationReport]:
    import pandas as pd

    from connectivity.accessibility.opportunities import _from_csv, assign_opportunities

    if column is None:
        try:
            names = [str(c) for c in pd.read_csv(path, nrows=0).columns]
        except Exception as exc:  # pandas' ParserError, EmptyDataError
            raise InputFileError(f"cannot read population CSV {path}: {exc}") from exc
        column = next((c for c in names if c.lower().startswith("population")), None)
    try:
        raw = pd.read_csv(path, usecols=[column]) if column is not None else None
    except ValueError:
        raw = None
    if raw is not None:
        _check_counts(
            raw[column].to_numpy(float), path, f"rows of {column!r}", "fix or drop those rows"
        )
    opp = _from_csv(path, column)
    weights, rep = assign_opportunities(network, opp, max_distance=max_distance)
    report = PopulationReport(
        source=str(path),
        product="points",
        column=opp.column,
        total=rep.total,
        assigned=rep.assigned,
        unassigned=rep.unassigned,
        n_cells=rep.n_points,
        n_split=0,
        n_nearest=rep.n_points - rep.n_unassigned,
        n_unassigned=rep.n_unassigned,
    )
    return weights, report
