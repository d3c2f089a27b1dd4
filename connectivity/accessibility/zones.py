"""The core of an agglomeration and the zones of its periphery.

The **core** is a point (lat, lon), a polygon (a GeoJSON / GeoPackage file, a GeoDataFrame,
a shapely geometry) or a named place geocoded with osmnx (:func:`read_core`). Travel times
to and from a polygon core are measured at the street node nearest to its centroid
(:meth:`Core.node`).

The **periphery** is a set of named polygons: read from a file or a GeoDataFrame
(:func:`read_zones`) or made as rings around the core every N km (:func:`ring_zones`).
Every zone table has a ``name`` column and polygon geometries in EPSG:4326.
:func:`zone_of_nodes` tells which zone each street node lies in.

Examples
--------
>>> core = read_core("49.4794,8.4694", name="Mannheim Hbf")  # doctest: +SKIP
>>> rings = ring_zones(core, network=drive, every_km=5)  # doctest: +SKIP
>>> zone = zone_of_nodes(drive, rings)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import (
    CoordinateError,
    InputFileError,
    OutsideNetworkError,
    OverpassError,
    ParameterError,
)
from connectivity._geo import utm_crs
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE, check_lonlat

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

    from connectivity.streets.graph import StreetNetwork

__all__ = ["Core", "read_core", "read_zones", "ring_zones", "zone_of_nodes"]

logger = logging.getLogger(__name__)

#: Suffixes read as vector files (core polygons, zones).
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet")

_LATLON = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*[,;]\s*([-+]?\d+(?:\.\d*)?)\s*$")

#: Segments per quarter circle of ring boundaries: the polygon departs from the true
#: circle by at most r * (1 - cos(pi / 256)), 0.4 m at 5 km.
_QUAD_SEGS = 64


@dataclass(frozen=True)
class Core:
    """The core of an agglomeration.

    Attributes
    ----------
    geometry
        A shapely Point or (Multi)Polygon in EPSG:4326.
    name
        A label for reports and maps.
    """

    geometry: BaseGeometry
    name: str = "core"

    @property
    def is_point(self) -> bool:
        """Whether the core is a single point."""
        return self.geometry.geom_type == "Point"

    @property
    def lat(self) -> float:
        """Latitude of the core's point (the centroid of a polygon, for display)."""
        return float(self.geometry.centroid.y)

    @property
    def lon(self) -> float:
        """Longitude of the core's point (the centroid of a polygon, for display)."""
        return float(self.geometry.centroid.x)

    def projected(self, crs: str) -> BaseGeometry:
        """The core's geometry in the projected CRS ``crs`` (metres)."""
        import shapely
        from pyproj import Transformer

        transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        return shapely.transform(
            self.geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )

    def node(self, network: StreetNetwork, *, max_distance: float = DEFAULT_SNAP_DISTANCE) -> int:
        """The street node where trips to and from the core start and end.

        For a point, its nearest node; for a polygon, the node nearest to its centroid
        (computed in the network's CRS).

        Raises
        ------
        OutsideNetworkError
            When that point is farther than ``max_distance`` metres from every node.
        """
        centre = self.projected(network.crs).centroid
        dist, idx = network._kdtree.query([centre.x, centre.y])
        if not np.isfinite(dist) or dist > max_distance:
            raise OutsideNetworkError(
                f"the core {self.name!r} (lat {self.lat:.5f}, lon {self.lon:.5f}) is "
                f"{dist:,.0f} m from the nearest node of the {network.mode} network, more than "
                f"max_distance={max_distance:,.0f} m: give a core inside the network's extent "
                f"{network.extent_text()}, or a larger max_distance"
            )
        return int(idx)


def read_core(source: Any, *, name: str | None = None) -> Core:
    """Make the core from a point, a polygon or a place name.

    Parameters
    ----------
    source
        One of: a ``(lat, lon)`` pair; a string ``"LAT,LON"``; a path to a vector file
        (GeoJSON, GeoPackage, ...) whose geometries are dissolved into one; a
        GeoDataFrame or GeoSeries (likewise dissolved); a shapely geometry in EPSG:4326;
        a :class:`Core` (returned as is); any other string is a place name geocoded with
        osmnx (``osmnx.geocode_to_gdf``; responses cached under
        ``settings.cache_folder / "overpass"``).
    name
        Label of the core; by default the place name, the file stem or ``"core"``.

    Returns
    -------
    core
        The core, geometry in EPSG:4326.

    Raises
    ------
    CoordinateError
        Coordinates out of range or swapped, or a file or frame without a CRS.
    InputFileError
        A file that does not exist, cannot be read, or holds no geometry.
    ParameterError
        A place name that the geocoder does not know.
    OverpassError
        The geocoder cannot be reached.
    """
    from shapely.geometry.base import BaseGeometry

    if isinstance(source, Core):
        return source if name is None else Core(source.geometry, name)
    if isinstance(source, tuple | list) and len(source) == 2:
        return _point_core(float(source[0]), float(source[1]), name)
    if isinstance(source, BaseGeometry):
        if source.is_empty:
            raise ParameterError("the core geometry is empty: give a point or a polygon")
        bounds = np.asarray(source.bounds)
        check_lonlat(bounds[[0, 2]], bounds[[1, 3]])
        return Core(source, name or "core")
    if _is_geo_frame(source):
        return Core(_dissolve(_frame_4326(source, "the core frame")), name or "core")
    if isinstance(source, str | Path):
        text = str(source)
        match = _LATLON.match(text)
        if match:
            return _point_core(float(match.group(1)), float(match.group(2)), name)
        path = Path(text).expanduser()
        if path.exists() or path.suffix.lower() in VECTOR_SUFFIXES:
            frame = _read_vector(path, "core")
            return Core(_dissolve(_frame_4326(frame, str(path))), name or path.stem)
        return Core(_geocode(text), name or text)
    raise ParameterError(
        f"cannot make a core from {type(source).__name__}: give (lat, lon), 'LAT,LON', a "
        "GeoJSON/GeoPackage path, a GeoDataFrame, a shapely geometry or a place name"
    )


def read_zones(source: Any, *, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Read the periphery's zones: named polygons.

    Parameters
    ----------
    source
        A vector file path (GeoJSON, GeoPackage, ...) or a GeoDataFrame.
    name_column
        The column holding zone names; by default ``name`` where the source has one,
        else the first column of strings, else the row number (``"zone 0"``, ...).

    Returns
    -------
    zones
        Columns ``name`` and ``geometry`` (Polygons / MultiPolygons in EPSG:4326), plus
        the source's other columns, one row per zone in the source's order. Rows without
        a polygon (points, lines, empty geometries) are dropped with a warning.

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    CoordinateError
        The data has no CRS (set one with ``GeoDataFrame.set_crs``).
    ParameterError
        No polygon at all, or ``name_column`` missing (the message lists the columns).
    """
    if _is_geo_frame(source):
        frame, where = source, "the zones frame"
    elif isinstance(source, str | Path):
        frame, where = _read_vector(Path(source).expanduser(), "zones"), str(source)
    else:
        raise ParameterError(
            f"cannot read zones from {type(source).__name__}: give a GeoJSON/GeoPackage "
            "path or a GeoDataFrame"
        )
    frame = _frame_4326(frame, where)
    is_polygon = (
        frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        & ~frame.geometry.is_empty.to_numpy()
    )
    if not is_polygon.any():
        kinds = ", ".join(sorted(set(frame.geometry.geom_type.dropna())) or ["none"])
        raise ParameterError(
            f"{where} holds no polygons (geometry types: {kinds}): zones must be Polygons or "
            "MultiPolygons (settlements, districts); for rings around the core use ring_zones"
        )
    if not is_polygon.all():
        logger.warning(
            "%s: dropped %d of %d rows that are not polygons",
            where,
            (~is_polygon).sum(),
            len(frame),
        )
    frame = frame.loc[is_polygon].reset_index(drop=True)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if name_column is None and "name" in columns and frame["name"].notna().any():
        names = frame["name"].astype(str)
    elif name_column is None:
        strings = [c for c in columns if _is_string_column(frame[c])]
        names = (
            frame[strings[0]].astype(str) if strings else [f"zone {i}" for i in range(len(frame))]
        )
    elif name_column not in frame.columns:
        raise ParameterError(
            f"{where} has no column {name_column!r}: its columns are {', '.join(columns) or 'none'}"
        )
    else:
        names = frame[name_column].astype(str)
    out = frame.drop(columns=["name"], errors="ignore").copy()
    out.insert(0, "name", list(names))
    return out.set_geometry(out.geometry.name)


def ring_zones(
    core: Any,
    *,
    network: StreetNetwork | None = None,
    every_km: float = 5.0,
    max_km: float | None = None,
) -> gpd.GeoDataFrame:
    """Rings around the core every ``every_km`` kilometres.

    Ring ``k`` holds the points whose straight-line distance to the core geometry lies in
    ``(k * every_km, (k + 1) * every_km]`` (the first ring includes the core itself); the
    last ring ends at ``max_km``. Rings are made in the network's CRS (or the core's UTM
    zone without a network) and returned in EPSG:4326.

    Parameters
    ----------
    core
        The core, or anything :func:`read_core` accepts.
    network
        The street network: gives the CRS, and the extent when ``max_km`` is None. The
        core must lie on it.
    every_km
        Width of each ring, in kilometres.
    max_km
        Outer edge of the last ring; by default the distance from the core to its
        farthest network node.

    Returns
    -------
    rings
        Columns ``name`` (``"0-5 km"``, ``"5-10 km"``, ...), ``inner_km``, ``outer_km``
        and ``geometry``.

    Raises
    ------
    ParameterError
        ``every_km`` or ``max_km`` not positive, or neither ``max_km`` nor ``network``.
    OutsideNetworkError
        The core lies off the network.
    """
    import geopandas as gpd
    import shapely

    core = read_core(core)
    if not (math.isfinite(every_km) and every_km > 0):
        raise ParameterError(f"every_km must be a positive number of kilometres, got {every_km}")
    if max_km is not None and not (math.isfinite(max_km) and max_km > 0):
        raise ParameterError(f"max_km must be a positive number of kilometres, got {max_km}")
    if network is None:
        if max_km is None:
            raise ParameterError(
                "ring_zones needs max_km, or a network whose extent sets it: pass network=..."
            )
        crs = utm_crs(core.lon, core.lat)
    else:
        crs = network.crs
        core.node(network)
    centre = core.projected(crs)
    if max_km is None and network is not None:
        points = shapely.points(network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy())
        far = float(shapely.distance(centre, points).max()) / 1000.0
        max_km = max(math.ceil(far / every_km - 1e-9), 1) * every_km
    assert max_km is not None  # for mypy: checked above
    n_rings = max(math.ceil(max_km / every_km - 1e-9), 1)
    rows = []
    previous = None
    for k in range(n_rings):
        inner = k * every_km
        outer = min((k + 1) * every_km, max_km)
        disc = centre.buffer(outer * 1000.0, quad_segs=_QUAD_SEGS)
        ring = disc if previous is None else disc.difference(previous)
        previous = disc
        rows.append(
            {
                "name": f"{inner:g}-{outer:g} km",
                "inner_km": inner,
                "outer_km": outer,
                "geometry": ring,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs("EPSG:4326")


def zone_of_nodes(network: StreetNetwork, zones: gpd.GeoDataFrame) -> np.ndarray:
    """The zone of every node of ``network``.

    Parameters
    ----------
    network
        The street network.
    zones
        Zones with polygon geometries and a CRS (from :func:`read_zones` or
        :func:`ring_zones`).

    Returns
    -------
    zone
        Row position in ``zones`` per node (int64), ``-1`` for nodes outside every zone.
        A node on a shared border, or in overlapping zones, gets the first zone.
    """
    import shapely

    zones = _frame_4326(zones, "the zones frame").to_crs(network.crs)
    tree = shapely.STRtree(np.asarray(zones.geometry.to_numpy(), dtype=object))
    points = shapely.points(network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy())
    node, zone = tree.query(points, predicate="intersects")
    out = np.full(network.n_nodes, len(zones), np.int64)
    np.minimum.at(out, node, zone.astype(np.int64))
    out[out == len(zones)] = -1
    return out


# -- helpers ---------------------------------------------------------------------------


def _point_core(lat: float, lon: float, name: str | None) -> Core:
    from shapely.geometry import Point

    check_lonlat(np.array([lon]), np.array([lat]))
    return Core(Point(lon, lat), name or f"{lat:.5f},{lon:.5f}")


def _is_geo_frame(value: Any) -> bool:
    import geopandas as gpd

    return isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries)


def _read_vector(path: Path, what: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if not path.exists():
        raise InputFileError(f"{what} file {path} does not exist")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and others
        raise InputFileError(
            f"cannot read {what} file {path} as vector data ({exc}): give a GeoJSON or "
            "GeoPackage file"
        ) from exc


def _frame_4326(frame: Any, where: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4326; a missing CRS is an error, never a guess."""
    import geopandas as gpd

    if isinstance(frame, gpd.GeoSeries):
        frame = gpd.GeoDataFrame(geometry=frame)
    if frame.crs is None:
        raise CoordinateError(
            f"{where} has no coordinate reference system: set it with "
            "gdf.set_crs('EPSG:4326') (or the CRS the coordinates are in)"
        )
    if len(frame) == 0:
        raise ParameterError(f"{where} has no rows")
    return frame.to_crs("EPSG:4326")


def _dissolve(frame: gpd.GeoDataFrame) -> BaseGeometry:
    import shapely

    geoms = frame.geometry[~frame.geometry.is_empty & frame.geometry.notna()]
    if len(geoms) == 0:
        raise ParameterError("the core has no geometry: give a point or a polygon")
    return shapely.union_all(np.asarray(geoms.to_numpy(), dtype=object))


def _is_string_column(series: Any) -> bool:
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype):
        return True
    if series.dtype == object:
        values = series.dropna()
        return len(values) > 0 and all(isinstance(v, str) for v in values)
    return False


def _geocode(place: str) -> BaseGeometry:
    """Geocode ``place`` with osmnx (Nominatim), cached in the cache folder."""
    import osmnx as ox

    from connectivity import settings

    ox.settings.cache_folder = str(Path(settings.cache_folder) / "overpass")
    ox.settings.use_cache = True
    try:
        frame = ox.geocode_to_gdf(place)
    except ox._errors.InsufficientResponseError as exc:
        raise ParameterError(
            f"no place named {place!r} was found by the geocoder: check the spelling, add the "
            "country ('Mannheim, Germany'), or give the core as LAT,LON or a polygon file"
        ) from exc
    except (ConnectionError, OSError) as exc:
        raise OverpassError(
            f"cannot geocode {place!r}: the geocoder is unreachable ({exc}); give the core as "
            "LAT,LON or a polygon file, or retry when online"
        ) from exc
    if frame is None or len(frame) == 0:
        raise ParameterError(f"no place named {place!r} was found by the geocoder")
    return _dissolve(_frame_4326(frame, f"the geocoded place {place!r}"))
