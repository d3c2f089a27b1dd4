"""HTML maps of isochrones and transit routes, with folium.

Isochrones are drawn as bands, one layer per cutoff (:func:`add_isochrones`);
:func:`isochrone_map` makes the whole map of one or several sets, with the origin, the
routes, one legend and the layer control. :func:`transit_routes` turns a timetable's
routes (the feeds' shapes where there are, else their stop sequences) into lines that
:func:`add_routes` draws.

The shared machinery (blank map, legend, title, marker, escaping, offline pages,
:func:`~connectivity.outputs.folium_base.save_map`) is in
:mod:`connectivity.outputs.folium_base`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity._errors import ParameterError
from connectivity.outputs.folium_base import (
    _OFFLINE_ATTR,
    FILL_OPACITY,
    _blank_map,
    _fit,
    _minutes,
    add_legend,
    add_marker,
    add_title,
    escape,
    find_leaflet,
)
from connectivity.transit.modes import basic_route_type

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = [
    "ISOCHRONE_COLOURS",
    "ROUTE_TYPE_COLOURS",
    "add_isochrones",
    "add_routes",
    "isochrone_map",
    "transit_routes",
]

log = logging.getLogger(__name__)

#: Fill colours of isochrone bands, nearest (first) to farthest (a sequential palette,
#: ColorBrewer YlGnBu reversed); with more cutoffs than colours, the last repeats.
ISOCHRONE_COLOURS: tuple[str, ...] = (
    "#253494",
    "#2c7fb8",
    "#41b6c4",
    "#7fcdbb",
    "#c7e9b4",
    "#ffffcc",
)


def _band_labels(cutoffs: Sequence[float]) -> list[str]:
    bounds = [0.0, *cutoffs]
    return [f"{_minutes(a)}-{_minutes(b)} min" for a, b in zip(bounds, bounds[1:], strict=False)]


def _isochrone_frame(isochrones: Any) -> gpd.GeoDataFrame:
    if "cutoff" not in getattr(isochrones, "columns", ()):
        raise ParameterError(
            "the isochrones have no 'cutoff' column: pass the GeoDataFrame that "
            "connectivity.accessibility.isochrones() returns"
        )
    return isochrones.to_crs("EPSG:4326").sort_values("cutoff").reset_index(drop=True)


def add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    *,
    labels: Sequence[str] | None = None,
    name: str = "",
    show: bool = True,
) -> list[tuple[str, str]]:
    """Draw isochrones as bands, one layer per cutoff (largest first, nearest on top).

    Each layer is the band between its cutoff and the next smaller one, so each place
    shows the colour of its travel time.

    Parameters
    ----------
    m
        The map.
    isochrones
        Columns ``cutoff`` (seconds) and ``geometry``, any CRS.
    labels
        One label per cutoff (default "0-5 min", "5-10 min", ...); escaped here.
    name
        A prefix of the layer names (e.g. ``"walk+transit"``).
    show
        Whether the layers are on when the page opens.

    Returns
    -------
    entries
        ``(colour, label)`` per cutoff, for :func:`add_legend`.

    Raises
    ------
    ParameterError
        No ``cutoff`` column, or labels of the wrong length.
    """
    import folium
    import shapely

    gdf = _isochrone_frame(isochrones)
    cutoffs = [float(c) for c in gdf["cutoff"]]
    if labels is None:
        labels = _band_labels(cutoffs)
    elif len(labels) != len(cutoffs):
        raise ParameterError(
            f"{len(labels)} labels for {len(cutoffs)} cutoffs: give one label per cutoff"
        )
    colours = [ISOCHRONE_COLOURS[min(i, len(ISOCHRONE_COLOURS) - 1)] for i in range(len(gdf))]
    geoms = list(gdf.geometry)
    for i in reversed(range(len(gdf))):
        band = geoms[i] if i == 0 else shapely.difference(geoms[i], geoms[i - 1])
        if band.is_empty:
            continue
        layer = f"{name}: {labels[i]}" if name else labels[i]
        group = folium.FeatureGroup(name=escape(layer), show=show)
        feature = {
            "type": "Feature",
            "properties": {"cutoff_s": cutoffs[i]},
            "geometry": shapely.geometry.mapping(band),
        }
        colour = colours[i]
        folium.GeoJson(
            feature,
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": c,
                "weight": 1,
                "opacity": 0.9,
                "fillOpacity": FILL_OPACITY,
            },
            tooltip=folium.Tooltip(escape(layer)),
        ).add_to(group)
        group.add_to(m)
    return list(zip(colours, labels, strict=True))


def isochrone_map(
    isochrones: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    *,
    origin: tuple[float, float] | None = None,
    offline: bool = False,
    leaflet: str | Path | None = None,
    title: str | None = None,
    labels: Sequence[str] | None = None,
    routes: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """A folium map of isochrones: one layer per cutoff, a legend, the origin, and
    optionally the transit routes.

    Each layer is the band between its cutoff and the next smaller one (so each place
    shows the colour of its travel time); layers can be switched in the layer control.

    Parameters
    ----------
    isochrones
        From :func:`connectivity.accessibility.isochrones.isochrones`: columns ``cutoff`` (seconds) and
        ``geometry``, any CRS (drawn in EPSG:4326). Or several sets by name (e.g.
        ``{"walk": ..., "walk+transit": ...}``): the last is shown when the page opens,
        the others can be switched on in the layer control.
    origin
        ``(lat, lon)`` of the origin, drawn as a circle marker.
    offline
        Make a page that needs no network (no tiles; Leaflet inlined when saved). The
        Leaflet copy is looked for now, so a missing one fails early.
    leaflet
        Folder of the npm package ``leaflet`` for ``offline`` (see :func:`find_leaflet`).
    title
        A title shown at the top of the map.
    labels
        Legend labels, one per cutoff (default: "0-5 min", "5-10 min", ...).
    routes
        Transit routes to draw (from :func:`transit_routes` or
        :func:`connectivity.transit.osm_feed.route_lines`).

    Returns
    -------
    map
        The map; write it with :func:`save_map`.

    Raises
    ------
    ParameterError
        No ``cutoff`` column, or labels of the wrong length.
    MissingDependencyError
        ``offline`` without a local copy of Leaflet.
    """
    import folium

    sets = dict(isochrones) if isinstance(isochrones, Mapping) else {"": isochrones}
    frames = {name: _isochrone_frame(iso) for name, iso in sets.items()}
    dist = find_leaflet(leaflet) if offline else None
    m = _blank_map(offline)
    legends: list[tuple[str, list[tuple[str, str]]]] = []
    names = list(frames)
    for k, (name, gdf) in enumerate(frames.items()):
        entries = add_isochrones(m, gdf, labels=labels, name=name, show=k == len(names) - 1)
        if not legends or legends[-1][1] != entries:
            legends.append((f"Travel time, {name}" if name else "Travel time", entries))
        elif name:
            legends[-1] = (f"{legends[-1][0]}, {name}", entries)
    if routes is not None and len(routes):
        add_routes(m, routes)
    if origin is not None:
        lat, lon = float(origin[0]), float(origin[1])
        add_marker(m, lat, lon, f"origin ({lat:.5f}, {lon:.5f})")
    if len(legends) == 1 and len(names) > 1:
        legends = [("Travel time", legends[0][1])]
    add_legend(m, legends[0][1], title=legends[0][0], sections=legends[1:])
    if title:
        add_title(m, title)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, [g for gdf in frames.values() for g in gdf.geometry], origin)
    setattr(m, _OFFLINE_ATTR, dist)
    return m


# -- transit routes ------------------------------------------------------------------

#: Line colours by GTFS route_type where a route has no ``route_color``.
ROUTE_TYPE_COLOURS: dict[int, str] = {
    0: "#00985f",  # tram
    1: "#ff6319",  # metro
    2: "#8c4799",  # rail
    3: "#007ac9",  # bus
    4: "#00b9e4",  # ferry
    5: "#00985f",
    7: "#8c4799",
    11: "#0050a0",  # trolleybus
    12: "#8c4799",
}

#: Colour of routes of other types.
ROUTE_COLOUR = "#555555"


def _route_colour(colour: Any, route_type: Any) -> str:
    text = str(colour or "").strip().lstrip("#")
    if re.fullmatch(r"[0-9A-Fa-f]{6}", text):
        return f"#{text.lower()}"
    try:
        kind = int(route_type)
    except (TypeError, ValueError):
        return ROUTE_COLOUR
    basic = basic_route_type(kind)
    return ROUTE_TYPE_COLOURS.get(basic, ROUTE_COLOUR) if basic is not None else ROUTE_COLOUR


def transit_routes(timetable: Any, *, feeds: Sequence[str | Path] = ()) -> gpd.GeoDataFrame:
    """The routes of a timetable as lines to draw: from ``shapes.txt`` where a feed has
    it, else along the stop sequences of the timetable's patterns.

    Parameters
    ----------
    timetable
        The :class:`connectivity.transit.timetable.Timetable` routed on (gives the stop
        sequences).
    feeds
        The GTFS zips it was loaded from; those holding ``shapes.txt`` give their shapes
        (all of them, as :func:`connectivity.transit.osm_feed.route_lines` reads them).

    Returns
    -------
    routes
        A GeoDataFrame in EPSG:4326, one row per distinct line: ``route_id``,
        ``route_short_name``, ``route_long_name``, ``route_type``, ``route_color``
        (``#rrggbb``), ``source`` (``"shapes"`` or ``"stops"``) and a LineString.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import LineString

    from connectivity._errors import InputFileError
    from connectivity.transit.osm_feed import route_lines

    parts = []
    shaped: set[str] = set()
    for feed in feeds:
        try:
            lines = route_lines(feed)
        except InputFileError as exc:
            log.info("no shapes drawn from %s (%s): routes follow their stops", feed, exc)
            continue
        if len(lines):
            lines = lines.assign(source="shapes")
            parts.append(lines.drop(columns=["shape_id"]))
            shaped.add(Path(feed).name.removesuffix(".zip"))
    rows = []
    routes = timetable.routes
    has_feed = "feed_id" in routes.columns
    lon = timetable.stops["lon"].to_numpy(float)
    lat = timetable.stops["lat"].to_numpy(float)
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for p in range(timetable.n_patterns):
        r = int(timetable.pattern_route[p])
        if has_feed and str(routes["feed_id"].iat[r]) in shaped:
            continue
        if not has_feed and shaped:
            continue
        stops = timetable.pattern_stops[
            timetable.pattern_stop_ptr[p] : timetable.pattern_stop_ptr[p + 1]
        ]
        key = (r, tuple(int(s) for s in stops))
        if len(stops) < 2 or key in seen:
            continue
        seen.add(key)
        row = routes.iloc[r]
        rows.append(
            {
                "route_id": str(row["route_id"]),
                "route_short_name": str(row.get("route_short_name", "") or ""),
                "route_long_name": str(row.get("route_long_name", "") or ""),
                "route_type": int(row["route_type"]),
                "route_color": str(row.get("route_color", "") or ""),
                "source": "stops",
                "geometry": LineString(np.column_stack([lon[stops], lat[stops]])),
            }
        )
    if rows:
        parts.append(gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"))
    columns = [
        "route_id",
        "route_short_name",
        "route_long_name",
        "route_type",
        "route_color",
        "source",
        "geometry",
    ]
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry="geometry", crs="EPSG:4326")
    out = pd.concat([part.to_crs("EPSG:4326")[columns] for part in parts], ignore_index=True)
    out["route_color"] = [
        _route_colour(c, t) for c, t in zip(out["route_color"], out["route_type"], strict=True)
    ]
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def add_routes(
    m: folium.Map, routes: gpd.GeoDataFrame, *, name: str = "Transit routes", show: bool = True
) -> None:
    """Draw transit routes as coloured lines in one layer, each with an escaped tooltip
    (its short and long name).

    Parameters
    ----------
    m
        The map.
    routes
        Lines with ``route_short_name``, ``route_long_name``, ``route_type`` and
        ``route_color`` columns where known (from :func:`transit_routes`).
    name
        The layer's name.
    show
        Whether the layer is on when the page opens.
    """
    import folium

    gdf = routes.to_crs("EPSG:4326")
    group = folium.FeatureGroup(name=escape(name), show=show)
    for _, row in gdf.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        colour = _route_colour(row.get("route_color", ""), row.get("route_type", -1))
        label = " ".join(
            str(row.get(c, "") or "") for c in ("route_short_name", "route_long_name")
        ).strip() or str(row.get("route_id", ""))
        lines = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
        for line in lines:
            folium.PolyLine(
                [(y, x) for x, y in line.coords],
                color=colour,
                weight=4,
                opacity=0.85,
                tooltip=folium.Tooltip(escape(label)),
            ).add_to(group)
    group.add_to(m)
