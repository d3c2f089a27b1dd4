"""The region of a clip: a box, a polygon or a circle around a point, in degrees.

Shared by :mod:`connectivity.streets.clip` (OSM files) and
:mod:`connectivity.transit.clip` (GTFS feeds), which cannot import each other.
:func:`make_region` checks the user's ``bbox=`` / ``polygon=`` / ``around=`` (exactly one)
and returns a :class:`Region` whose :meth:`Region.contains` tests arrays of points.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from connectivity._errors import CoordinateError, InputFileError, ParameterError

__all__ = ["EARTH_RADIUS_M", "Region", "make_region"]

#: Mean Earth radius (metres) of the great-circle distance of ``around=``.
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Region:
    """A region in degrees (EPSG:4326).

    ``kind`` is ``"bbox"``, ``"polygon"`` or ``"around"``; ``bounds`` the
    ``(west, south, east, north)`` box that holds it; ``spec`` what defines it (the
    box, the polygon's WKT, or ``(lat, lon, km)``), which also keys caches.
    """

    kind: str
    bounds: tuple[float, float, float, float]
    spec: Any
    geometry: Any = field(default=None, compare=False, repr=False)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether each point is inside the region (its boundary included)."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        west, south, east, north = self.bounds
        inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        if self.kind == "bbox" or not inside.any():
            return inside
        idx = np.flatnonzero(inside)
        if self.kind == "around":
            lat0, lon0, km = self.spec
            keep = great_circle_m(lat0, lon0, lat[idx], lon[idx]) <= km * 1000.0
        else:
            import shapely

            keep = shapely.intersects_xy(self.geometry, lon[idx], lat[idx])
        inside[idx[~keep]] = False
        return inside

    def describe(self) -> str:
        """The region in words, for messages and logs."""
        if self.kind == "around":
            lat, lon, km = self.spec
            return f"around=({lat:g}, {lon:g}, {km:g} km)"
        if self.kind == "bbox":
            return "bbox=({:g}, {:g}, {:g}, {:g})".format(*self.bounds)
        return "polygon with bounds ({:.5f}, {:.5f}, {:.5f}, {:.5f})".format(*self.bounds)

    def key(self) -> list[Any]:
        """A JSON-able value that identifies the region (for cache keys)."""
        return [self.kind, self.spec]


def great_circle_m(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Haversine distances (metres) from ``(lat0, lon0)`` to each point."""
    p0, p = math.radians(lat0), np.radians(lat)
    dlat = p - p0
    dlon = np.radians(lon) - math.radians(lon0)
    a = np.sin(dlat / 2) ** 2 + math.cos(p0) * np.cos(p) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def make_region(
    *,
    bbox: Any = None,
    polygon: Any = None,
    around: Any = None,
) -> Region | None:
    """The region of exactly one of ``bbox``, ``polygon``, ``around``; None for none.

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in degrees.
    polygon
        A shapely (multi)polygon in degrees, a GeoDataFrame / GeoSeries (reprojected to
        EPSG:4326, its polygons united), or the path of a file that holds polygons
        (GeoJSON, GeoPackage, shapefile, or osmium's ``.poly`` format).
    around
        ``(lat, lon, km)``: the points within ``km`` kilometres (great circle).

    Raises
    ------
    ParameterError
        More than one given, or a radius <= 0.
    CoordinateError
        A malformed box or centre.
    InputFileError
        A polygon file that is missing or holds no polygon.
    """
    given = [
        n for n, v in (("bbox", bbox), ("polygon", polygon), ("around", around)) if v is not None
    ]
    if not given:
        return None
    if len(given) > 1:
        raise ParameterError(
            f"give at most one of bbox=, polygon=, around= to clip to, got {', '.join(given)}"
        )
    if bbox is not None:
        box = _check_box(bbox)
        return Region("bbox", box, list(box))
    if around is not None:
        return _around(around)
    return _polygon(polygon)


def _check_box(bbox: Any) -> tuple[float, float, float, float]:
    """Validate a ``(west, south, east, north)`` box in degrees (the messages of
    ``connectivity.streets._osm.check_bbox``, which streets keep using)."""
    try:
        west, south, east, north = (float(b) for b in bbox)
    except (TypeError, ValueError):
        raise CoordinateError(
            f"bbox must be four numbers (west, south, east, north) in degrees, got {bbox!r}"
        ) from None
    if not all(math.isfinite(b) for b in (west, south, east, north)):
        raise CoordinateError(f"bbox {bbox!r} holds a NaN or infinity")
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        hint = (
            " (it looks like (south, west, north, east): give west, south, east, north)"
            if -180 <= south < north <= 180 and -90 <= west < east <= 90
            else ""
        )
        raise CoordinateError(
            f"bbox {bbox!r} is not (west, south, east, north) with west < east in -180..180 "
            f"and south < north in -90..90{hint}"
        )
    return west, south, east, north


def _around(around: Any) -> Region:
    try:
        lat, lon, km = (float(v) for v in around)
    except (TypeError, ValueError):
        raise CoordinateError(
            f"around must be three numbers (lat, lon, km), got {around!r}"
        ) from None
    if not all(math.isfinite(v) for v in (lat, lon, km)):
        raise CoordinateError(f"around {around!r} holds a NaN or infinity")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        hint = " (it looks like (lon, lat, km): give lat first)" if -90 <= lon <= 90 else ""
        raise CoordinateError(
            f"around centre ({lat:g}, {lon:g}) is not (lat, lon) in degrees{hint}"
        )
    if km <= 0:
        raise ParameterError(f"around radius must be > 0 km, got {km:g}: give (lat, lon, km)")
    dlat = math.degrees(km * 1000.0 / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 1e-9)
    dlon = min(180.0, dlat / coslat)
    bounds = (
        max(-180.0, lon - dlon * 1.0001),
        max(-90.0, lat - dlat * 1.0001),
        min(180.0, lon + dlon * 1.0001),
        min(90.0, lat + dlat * 1.0001),
    )
    return Region("around", bounds, [lat, lon, km])


def _polygon(polygon: Any) -> Region:
    import shapely

    shown = "the polygon"
    if isinstance(polygon, str | os.PathLike):
        shown = str(polygon)
        geometry = _read_polygon_file(Path(polygon))
    elif hasattr(polygon, "geometry") or hasattr(polygon, "to_crs"):
        frame = polygon
        if getattr(frame, "crs", None) is not None:
            frame = frame.to_crs(4326)
        geometry = _only_polygons(list(getattr(frame, "geometry", frame)))
    else:
        geometry = _only_polygons([polygon])
    if geometry is None or geometry.is_empty:
        raise InputFileError(
            f"{shown} holds no polygon: give a Polygon or MultiPolygon in degrees "
            "(or a GeoJSON / GeoPackage / .poly file with one)"
        )
    west, south, east, north = (float(b) for b in geometry.bounds)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise CoordinateError(
            f"{shown} is not in degrees (bounds {west:g}, {south:g}, {east:g}, {north:g}): "
            "give it in EPSG:4326 or as a GeoDataFrame with its CRS set"
        )
    shapely.prepare(geometry)
    return Region("polygon", (west, south, east, north), shapely.to_wkt(geometry), geometry)


def _only_polygons(geometries: list[Any]) -> Any:
    import shapely
    from shapely.geometry.base import BaseGeometry

    parts = []
    for geom in geometries:
        if not isinstance(geom, BaseGeometry) or geom.is_empty:
            continue
        for part in shapely.get_parts(geom):
            if part.geom_type == "Polygon":
                parts.append(part)
            elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
                parts.extend(p for p in shapely.get_parts(part) if p.geom_type == "Polygon")
    if not parts:
        return None
    return shapely.union_all(parts)


def _read_polygon_file(path: Path) -> Any:
    if not path.is_file():
        raise InputFileError(f"polygon file {path} does not exist: give a GeoJSON or .poly file")
    if path.suffix.lower() == ".poly":
        return _read_poly(path)
    import geopandas as gpd

    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # any reader failure is the user's file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"cannot read polygon file {path} ({first}): give a GeoJSON, GeoPackage, "
            "shapefile or .poly file"
        ) from None
    if frame.crs is not None:
        frame = frame.to_crs(4326)
    return _only_polygons(list(frame.geometry))


def _read_poly(path: Path) -> Any:
    """Osmium's / Osmosis' ``.poly`` format: a name, then rings of ``lon lat`` lines,
    each ring ending with ``END`` (a ring named ``!...`` is a hole), then ``END``."""
    import shapely

    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    polygons: list[Any] = []
    ring: list[tuple[float, float]] | None = None
    hole = False
    for line in lines[1:]:
        if not line:
            continue
        if ring is None:
            if line == "END":
                break
            ring, hole = [], line.startswith("!")
            continue
        if line == "END":
            if len(ring) >= 3:
                if hole and polygons:
                    outer = polygons.pop()
                    polygons.append(outer.difference(shapely.Polygon(ring)))
                elif not hole:
                    polygons.append(shapely.Polygon(ring))
            ring = None
            continue
        try:
            lon, lat = (float(v) for v in line.split()[:2])
        except ValueError:
            raise InputFileError(
                f"{path}: line {line!r} is not 'lon lat': give a valid .poly file"
            ) from None
        ring.append((lon, lat))
    return _only_polygons(polygons)
