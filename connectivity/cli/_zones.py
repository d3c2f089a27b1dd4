"""Checks on the zones of ``access`` (a zone file or rings) made before any routing: the
number of rings, coordinates that are degrees, valid polygons, zones on the network."""

from __future__ import annotations

import logging
import math
from typing import Any

from connectivity._checks import MAX_ZONES, check_count
from connectivity._errors import CoordinateError, ParameterError

logger = logging.getLogger(__name__)


def check_rings(core: Any, network: Any, every_km: float, max_km: float | None) -> None:
    """Refuse ``--rings`` that would make more than :data:`MAX_ZONES` rings.

    The outer edge is ``--max-km``, or the farthest node of the network from the core
    (as :func:`connectivity.accessibility.zones.ring_zones` takes it).

    Raises
    ------
    ParameterError
        Names the ring count, the outer edge and the smallest width allowed.
    """
    import numpy as np

    if max_km is None:
        centre = core.projected(network.crs).centroid
        dx = network.nodes["x"].to_numpy() - centre.x
        dy = network.nodes["y"].to_numpy() - centre.y
        max_km = float(np.sqrt(dx * dx + dy * dy).max()) / 1000.0 if len(dx) else every_km
    rings = math.ceil(max_km / every_km - 1e-9)
    check_count(
        rings,
        MAX_ZONES,
        option=f"--rings {every_km:g}",
        what=f"rings of {every_km:g} km out to {max_km:,.1f} km",
        fix=f"give --rings of at least {max_km / MAX_ZONES:.2g} km",
    )


def check_zones(zones: Any, network: Any, option: str) -> None:
    """Check zones in EPSG:4326 against the walk network before any routing.

    Coordinates must be degrees (a GeoJSON in metres without a CRS is read as degrees
    far out of range); each polygon must be valid (a self-intersecting one is named);
    zones holding no node of the network are reported (a warning), and none holding any
    is an error.

    Raises
    ------
    CoordinateError
        Coordinates beyond +-180 / +-90 degrees.
    ParameterError
        An invalid polygon, or no zone holding a node.
    """
    import numpy as np
    import shapely

    west, south, east, north = (float(v) for v in zones.total_bounds)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise CoordinateError(
            f"{option}: the zones' coordinates reach {west:.6g}, {south:.6g} to {east:.6g}, "
            f"{north:.6g}, which are not degrees: the file has no CRS but holds metres? "
            "reproject it to EPSG:4326 (or set its CRS, e.g. ogr2ogr -a_srs EPSG:25832)"
        )
    geoms = zones.geometry.to_numpy()
    valid = shapely.is_valid(geoms)
    if not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        reason = shapely.is_valid_reason(geoms[i])
        raise ParameterError(
            f"{option}: zone {str(zones['name'].iloc[i])[:80]!r} is not a valid polygon "
            f"({reason}; {int((~valid).sum())} of {len(zones)} zones invalid): fix it, e.g. "
            "with QGIS's Fix geometries or shapely.make_valid"
        )
    points = shapely.points(network.nodes["lon"].to_numpy(), network.nodes["lat"].to_numpy())
    tree = shapely.STRtree(points)
    hit = tree.query(geoms, predicate="intersects")
    holding = np.bincount(hit[0], minlength=len(zones)) if hit.size else np.zeros(len(zones))
    empty = np.flatnonzero(holding == 0)
    if len(empty) == len(zones):
        raise ParameterError(
            f"{option}: none of the {len(zones)} zones holds a node of the street network "
            f"(the network spans {points_bounds(network)}): give zones in the area of --osm"
        )
    if len(empty):
        names = ", ".join(repr(str(n)[:40]) for n in zones["name"].iloc[empty[:5]])
        logger.warning(
            "%s: %d of %d zones hold no node of the street network (%s%s): their "
            "indicators stay empty",
            option,
            len(empty),
            len(zones),
            names,
            ", ..." if len(empty) > 5 else "",
        )


def points_bounds(network: Any) -> str:
    """``lon lat to lon lat`` of the network's nodes, for messages."""
    lon, lat = network.nodes["lon"], network.nodes["lat"]
    return f"{lon.min():.4f}, {lat.min():.4f} to {lon.max():.4f}, {lat.max():.4f} (lon, lat)"
