"""HTML maps with folium: isochrone layers, zone choropleths of the core-periphery
indicators, transit routes, the origin or core, one legend, layer control.

A map is a :class:`folium.Map`; :func:`save_map` writes it atomically. With
``offline=True`` the page needs no network: Leaflet's JS and CSS are inlined from a local
copy of the npm package ``leaflet`` (see :func:`find_leaflet`), every ``<script src>`` and
``<link href>`` pointing at the internet (folium's jQuery, Bootstrap, Font Awesome and
awesome-markers) is removed, and no tile layer is added (tiles come from the internet).
Without it, the page links the CDNs as folium does and shows OpenStreetMap-based tiles.

Every text that comes from data (titles, labels, route, stop and zone names) passes
through :func:`escape` before it reaches the page, so ``<script>`` in a name shows as text;
GeoJSON properties (which folium writes into a ``<script>`` block and tooltips insert as
HTML) hold only escaped text.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from connectivity._errors import MissingDependencyError, ParameterError
from connectivity._files import write_text_atomic
from connectivity.transit.modes import basic_route_type

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = [
    "ISOCHRONE_COLOURS",
    "ROUTE_TYPE_COLOURS",
    "Scale",
    "access_map",
    "add_choropleth",
    "add_isochrones",
    "add_legend",
    "add_marker",
    "add_routes",
    "add_title",
    "default_indicators",
    "escape",
    "find_leaflet",
    "format_indicator",
    "indicator_label",
    "indicator_scale",
    "isochrone_map",
    "map_html",
    "save_map",
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

#: Fill opacity of isochrone bands.
FILL_OPACITY = 0.55

#: Background of an offline map (Leaflet's own, from leaflet.css).
OFFLINE_BACKGROUND = "#dddddd"

_OFFLINE_ATTR = "_connectivity_offline"


def escape(text: Any) -> str:
    """Escape text from data for HTML, and for the JavaScript template literals that
    folium wraps tooltips and popups in (backticks, ``${`` and backslashes too)."""
    return (
        html.escape(str(text), quote=True)
        .replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
    )


# -- Leaflet for offline pages -------------------------------------------------------


def find_leaflet(leaflet: str | Path | None = None) -> Path:
    """The ``dist`` folder of a local copy of the npm package ``leaflet``.

    Looked for, in order: the ``leaflet`` argument (the package folder or its ``dist``);
    ``connectivity.settings.leaflet_folder`` (environment variable
    ``CONNECTIVITY_LEAFLET``); ``node_modules/leaflet`` in the working folder and its
    parents; ``node_modules/leaflet`` beside this package's source tree.

    Parameters
    ----------
    leaflet
        A folder to use instead of the search.

    Returns
    -------
    dist
        The folder holding ``leaflet.js`` and ``leaflet.css``.

    Raises
    ------
    MissingDependencyError
        No copy is found; the message says how to get one.
    """
    from connectivity import settings

    if leaflet is not None:
        candidates = [Path(leaflet)]
    elif settings.leaflet_folder is not None:
        candidates = [Path(settings.leaflet_folder)]
    else:
        here = Path.cwd().resolve()
        candidates = [p / "node_modules" / "leaflet" for p in (here, *here.parents)]
        candidates.append(Path(__file__).resolve().parents[2] / "node_modules" / "leaflet")
    for folder in candidates:
        for dist in (folder / "dist", folder):
            if (dist / "leaflet.js").is_file() and (dist / "leaflet.css").is_file():
                return dist
    where = (
        str(candidates[0])
        if len(candidates) == 1
        else "node_modules/leaflet (in the working folder, its parents, or the project)"
    )
    raise MissingDependencyError(
        f"offline maps need a local copy of the npm package leaflet (dist/leaflet.js and "
        f"dist/leaflet.css), not found in {where}: run `npm install leaflet` in the project "
        f"folder, or set CONNECTIVITY_LEAFLET (or pass leaflet=) to the folder of a copy of "
        f"the package"
    )


def _leaflet_assets(dist: Path) -> tuple[str, str]:
    """Leaflet's JS and CSS, the CSS images inlined as data URIs."""
    js = (dist / "leaflet.js").read_text(encoding="utf-8")
    css = (dist / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = dist / match.group(1)
        if not image.is_file():
            return "url()"
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        mime = "image/svg+xml" if image.suffix == ".svg" else f"image/{image.suffix[1:]}"
        return f"url(data:{mime};base64,{data})"

    css = re.sub(r"url\(['\"]?(images/[^)'\"]+)['\"]?\)", inline, css)
    # A literal "</script>" inside the inlined code would end the element early.
    js = js.replace("</script", "<\\/script")
    return js, css


_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"'](?:https?:)?//[^\"']*[\"'][^>]*>\s*</script>\s*",
    re.IGNORECASE,
)
_EXTERNAL_LINK = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*[\"'](?:https?:)?//[^\"']*[\"'][^>]*/?>\s*", re.IGNORECASE
)


def _make_offline(page: str, dist: Path) -> str:
    js, css = _leaflet_assets(dist)
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _EXTERNAL_LINK.sub("", page)
    inlined = f"<style>{css}</style>\n<script>{js}</script>\n"
    head = re.search(r"<head[^>]*>", page, re.IGNORECASE)
    if head is None:
        return inlined + page
    return page[: head.end()] + "\n" + inlined + page[head.end() :]


# -- building maps -------------------------------------------------------------------


def add_legend(
    m: folium.Map,
    entries: Sequence[tuple[str, str]],
    *,
    title: str = "",
    opacity: float = FILL_OPACITY + 0.2,
    sections: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
) -> None:
    """Add a legend box (bottom left) to a map.

    Parameters
    ----------
    m
        The map.
    entries
        ``(colour, label)`` pairs, one coloured square each; labels are escaped here.
    title
        A heading (escaped here); none when empty.
    opacity
        Opacity of the squares.
    sections
        More ``(title, entries)`` groups in the same box, below the first (one box per
        map, so that the legends of several layers do not cover each other).
    """
    groups = [(title, entries), *sections]
    m.get_root().add_child(_legend_element(groups, opacity))


def add_title(m: folium.Map, title: str) -> None:
    """Add a title box (top centre) to a map; the text is escaped here."""
    m.get_root().add_child(_title_element(title))


def _legend_element(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]], opacity: float) -> Any:
    """A fixed box with coloured squares; labels and titles are escaped here."""
    from branca.element import MacroElement, Template

    body = ""
    for title, entries in groups:
        if title:
            body += f'<div class="connectivity-legend-title">{escape(title)}</div>'
        body += "".join(
            f'<div class="connectivity-legend-row"><span class="connectivity-legend-swatch" '
            f'style="background:{escape(colour)};opacity:{opacity:.2f}"></span>'
            f"{escape(label)}</div>"
            for colour, label in entries
        )
    element = MacroElement()
    element._template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .connectivity-legend { position: absolute; z-index: 1000; bottom: 56px;
            left: 12px; background: #ffffff; padding: 8px 10px; border-radius: 4px;
            border: 1px solid #888; font: 13px/1.4 sans-serif; color: #111;
            max-height: 70%; overflow-y: auto; }
          .connectivity-legend-title { font-weight: bold; margin-bottom: 4px; }
          .connectivity-legend-swatch { display: inline-block; width: 16px;
            height: 12px; margin-right: 6px; vertical-align: middle;
            border: 1px solid #555; }
          .connectivity-title { position: absolute; z-index: 1000; top: 10px;
            left: 50%; transform: translateX(-50%); background: #ffffff;
            padding: 4px 12px; border-radius: 4px; border: 1px solid #888;
            font: bold 15px sans-serif; color: #111; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="connectivity-legend" id="{{ this.get_name() }}">"""
        + body.replace("{", "&#123;").replace("}", "&#125;")
        + """</div>
        {% endmacro %}
        """
    )
    return element


def _title_element(title: str) -> Any:
    from branca.element import MacroElement, Template

    text = escape(title).replace("{", "&#123;").replace("}", "&#125;")
    element = MacroElement()
    element._template = Template(
        '{% macro html(this, kwargs) %}<div class="connectivity-title">'
        + text
        + "</div>{% endmacro %}"
    )
    return element


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g}" if minutes == round(minutes, 2) else f"{minutes:.1f}"


def _blank_map(offline: bool) -> folium.Map:
    import folium

    m = folium.Map(
        tiles=None if offline else "OpenStreetMap",
        control_scale=True,
        prefer_canvas=False,
    )
    if offline:
        root: Any = m.get_root()
        root.header.add_child(
            folium.Element(
                f"<style>.leaflet-container {{ background: {OFFLINE_BACKGROUND}; }}</style>"
            )
        )
    return m


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


def add_marker(
    m: folium.Map, lat: float, lon: float, label: str, *, colour: str = "#e31a1c"
) -> None:
    """Draw a point (the origin, the core) as a circle marker with an escaped tooltip."""
    import folium

    folium.CircleMarker(
        [float(lat), float(lon)],
        radius=7,
        color="#000000",
        weight=2,
        fill=True,
        fill_color=colour,
        fill_opacity=1.0,
        tooltip=folium.Tooltip(escape(label)),
    ).add_to(m)


def _fit(m: folium.Map, geometries: Sequence[Any], point: tuple[float, float] | None) -> None:
    import shapely

    nonempty = [g for g in geometries if g is not None and not g.is_empty]
    if nonempty:
        minx, miny, maxx, maxy = shapely.union_all(nonempty).bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    elif point is not None:
        m.location = [float(point[0]), float(point[1])]
        m.options["zoom"] = 15


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


# -- zone choropleths ----------------------------------------------------------------

#: Colour of zones without a value (no population, unreached).
NO_VALUE_COLOUR = "#bdbdbd"


class Scale(NamedTuple):
    """Classes of an indicator: upper bounds (the last class is open) and colours.

    Attributes
    ----------
    bounds
        Upper bounds of all classes but the last, ascending.
    colours
        One colour per class (``len(bounds) + 1``).
    labels
        One legend label per class.
    kind
        ``"time"``, ``"share"``, ``"ratio"`` or ``"count"``.
    """

    bounds: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    kind: str

    def colour(self, value: float) -> str:
        """The colour of a value (grey where it is NaN; the last class for inf)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return NO_VALUE_COLOUR
        i = int(np.searchsorted(np.asarray(self.bounds), value, side="left"))
        return self.colours[i]


_TIME_COLOURS = ("#253494", "#2c7fb8", "#41b6c4", "#a1dab4", "#fecc5c", "#e31a1c")
_SHARE_COLOURS = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
_RATIO_COLOURS = ("#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c")
_COUNT_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")


def indicator_kind(column: str) -> str:
    """``"time"`` (seconds), ``"share"`` (0..1), ``"ratio"`` or ``"count"`` for a column
    of :func:`connectivity.accessibility.indicators.core_periphery`'s table."""
    if re.search(r"_(to|from)_core_p[\d.]+$", column):
        return "time"
    if "_share_" in column:
        return "share"
    if "_ratio_" in column:
        return "ratio"
    return "count"


def indicator_scale(column: str, values: Any) -> Scale:
    """The classes of an indicator: fixed minute classes for times (15, 30, 45, 60, 90
    min), fifths for shares, 1 / 1.5 / 2 / 3 for ratios, quintiles of the finite values
    for counts and other columns."""
    kind = indicator_kind(column)
    if kind == "time":
        minutes = (15, 30, 45, 60, 90)
        names = [f"<= {minutes[0]} min"]
        names += [f"{a}-{b} min" for a, b in zip(minutes, minutes[1:], strict=False)]
        names.append(f"> {minutes[-1]} min or unreached")
        return Scale(tuple(60.0 * m for m in minutes), _TIME_COLOURS, tuple(names), kind)
    if kind == "share":
        bounds = (0.2, 0.4, 0.6, 0.8)
        return Scale(
            bounds, _SHARE_COLOURS, ("<= 20 %", "20-40 %", "40-60 %", "60-80 %", "> 80 %"), kind
        )
    if kind == "ratio":
        bounds = (1.0, 1.5, 2.0, 3.0)
        return Scale(
            bounds,
            _RATIO_COLOURS,
            ("<= 1", "1-1.5", "1.5-2", "2-3", "> 3 or only the second mode"),
            kind,
        )
    arr = np.asarray(values, float)
    finite = np.unique(arr[np.isfinite(arr)])
    if len(finite) == 0:
        return Scale((), _COUNT_COLOURS[-1:], ("all",), kind)
    qs = np.unique(np.quantile(finite, [0.2, 0.4, 0.6, 0.8], method="inverted_cdf"))
    qs = qs[qs < finite.max()]
    colours = _COUNT_COLOURS[len(_COUNT_COLOURS) - len(qs) - 1 :]
    edges = [finite.min(), *qs, finite.max()]
    labels = [f"{_number(a)}-{_number(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    return Scale(tuple(float(q) for q in qs), tuple(colours), tuple(labels), kind)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_indicator(column: str, value: Any) -> str:
    """An indicator value as text: minutes, percent, a ratio or a number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "-"
    kind = indicator_kind(column)
    if kind == "time":
        return "unreached" if math.isinf(x) else f"{x / 60:.0f} min"
    if kind == "share":
        return f"{100 * x:.0f} %"
    if kind == "ratio":
        return "only the second mode" if math.isinf(x) else f"{x:.2f}"
    return _number(x)


def indicator_label(column: str) -> str:
    """A readable name of an indicator column (``transit_to_core_p50`` -> "transit to
    core (median)")."""
    match = re.fullmatch(r"(.+)_(to|from)_core_p([\d.]+)", column)
    if match:
        mode, direction, p = match.groups()
        stat = "median" if float(p) == 50 else f"p{p}"
        return f"{mode} {direction} core ({stat})"
    match = re.fullmatch(r"(.+)_share_([\d.]+)min", column)
    if match:
        return f"{match.group(1)}: population within {match.group(2)} min of the core"
    match = re.fullmatch(r"(.+)_ratio_(to|from)_core", column)
    if match:
        return f"{match.group(1).replace('_', ' / ')} time ratio, {match.group(2)} core"
    return column.replace("_", " ")


def default_indicators(indicators: Any) -> list[str]:
    """The indicator columns mapped by default: the median times to the core, the
    first ratio to the core, each mode's share within each cutoff, the population."""
    columns = [str(c) for c in indicators.columns]
    chosen = [c for c in columns if re.fullmatch(r".+_to_core_p50", c)]
    chosen += [c for c in columns if c.endswith("_ratio_to_core")][:1]
    chosen += [c for c in columns if indicator_kind(c) == "share"]
    if "population" in columns:
        chosen.append("population")
    return chosen


def _tooltip_columns(indicators: Any) -> list[str]:
    columns = [str(c) for c in indicators.columns]
    keep = ["population"] if "population" in columns else []
    keep += [c for c in columns if re.fullmatch(r".+_(to|from)_core_p50", c)]
    keep += [c for c in columns if "_ratio_" in c or "_share_" in c or c.startswith("access_")]
    return keep


def add_choropleth(
    m: folium.Map,
    indicators: gpd.GeoDataFrame,
    column: str,
    *,
    show: bool = True,
    name: str | None = None,
) -> Scale:
    """Draw one indicator of zones as a choropleth layer; each zone's tooltip shows its
    name and its main indicators, all escaped.

    Zone names and values reach the page only as escaped text (GeoJSON properties are
    set from :func:`escape`d strings), so a zone called ``<script>...`` shows as text.

    Parameters
    ----------
    m
        The map.
    indicators
        From :func:`connectivity.accessibility.indicators.core_periphery` (a ``name`` column and
        polygons), or any GeoDataFrame of zones with a numeric ``column``.
    column
        The indicator to colour by.
    show
        Whether the layer is on when the page opens.
    name
        The layer's name (default from the column, see :func:`indicator_label`).

    Returns
    -------
    scale
        The classes used, for the legend.

    Raises
    ------
    ParameterError
        An unknown column.
    """
    import folium
    import shapely

    if column not in indicators.columns:
        raise ParameterError(
            f"the zones have no column {column!r}: choose one of "
            f"{', '.join(map(str, indicators.columns))}"
        )
    gdf = indicators.to_crs("EPSG:4326")
    values = _numeric(gdf[column])
    scale = indicator_scale(column, values)
    shown = [c for c in _tooltip_columns(gdf) if c != column]
    fields = ["zone", "value", *[f"f{i}" for i in range(len(shown))]]
    label = name or indicator_label(column)
    aliases = ["zone", escape(label), *[escape(indicator_label(c)) for c in shown]]
    features = []
    names = gdf["name"] if "name" in gdf.columns else gdf.index
    for k, (zone, geom) in enumerate(zip(names, gdf.geometry, strict=True)):
        if geom is None or geom.is_empty:
            continue
        props = {
            "zone": escape(zone),
            "value": escape(format_indicator(column, values[k])),
            "fill": scale.colour(values[k]),
        }
        for i, c in enumerate(shown):
            props[f"f{i}"] = escape(format_indicator(c, gdf[c].iat[k]))
        features.append(
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    group = folium.FeatureGroup(name=escape(label), show=show)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#333333",
            "weight": 1,
            "opacity": 0.8,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
    ).add_to(group)
    group.add_to(m)
    return scale


def _numeric(values: Any) -> np.ndarray:
    """Values as float (NaN where not numbers)."""
    import pandas as pd

    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)


def access_map(
    indicators: gpd.GeoDataFrame,
    *,
    core: Any = None,
    columns: Sequence[str] | None = None,
    isochrones: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
    routes: gpd.GeoDataFrame | None = None,
    offline: bool = False,
    leaflet: str | Path | None = None,
    title: str | None = None,
) -> folium.Map:
    """The core-periphery view: a choropleth layer per indicator (the first shown, the
    others in the layer control), isochrones from the core, the transit routes and the
    core marker, with one legend.

    Parameters
    ----------
    indicators
        From :func:`connectivity.accessibility.indicators.core_periphery`.
    core
        The core (a :class:`connectivity.accessibility.zones.Core` or anything
        :func:`connectivity.accessibility.zones.read_core` accepts), drawn as a marker.
    columns
        The indicators to map (default :func:`default_indicators`).
    isochrones
        Isochrones from the core (one set, or several by name), drawn as hidden layers.
    routes
        Transit routes (from :func:`transit_routes`).
    offline, leaflet
        As :func:`isochrone_map`.
    title
        A title at the top of the map (escaped).

    Returns
    -------
    map
        The map; write it with :func:`save_map`.

    Raises
    ------
    ParameterError
        An unknown indicator column, or no indicator to map.
    MissingDependencyError
        ``offline`` without a local copy of Leaflet.
    """
    import folium

    from connectivity.accessibility.zones import Core, read_core

    chosen = list(columns) if columns is not None else default_indicators(indicators)
    if not chosen:
        raise ParameterError(
            "no indicator to map: give columns=[...] from the table's columns "
            f"({', '.join(map(str, indicators.columns))})"
        )
    dist = find_leaflet(leaflet) if offline else None
    m = _blank_map(offline)
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    kinds: set[str] = set()
    for k, column in enumerate(chosen):
        scale = add_choropleth(m, indicators, column, show=k == 0)
        if scale.kind not in kinds or scale.kind == "count":
            kinds.add(scale.kind)
            heading = {
                "time": "Travel time (zones)",
                "share": "Share of population",
                "ratio": "Time ratio",
            }.get(scale.kind, indicator_label(column))
            entries = list(zip(scale.colours, scale.labels, strict=True))
            sections.append((heading, [*entries, (NO_VALUE_COLOUR, "no value")]))
    if isochrones is not None:
        sets = dict(isochrones) if isinstance(isochrones, Mapping) else {"": isochrones}
        for name, iso in sets.items():
            prefix = f"isochrones {name}".strip()
            entries = add_isochrones(m, iso, name=prefix, show=False)
            sections.append((f"Travel time, {prefix}", entries))
    if routes is not None and len(routes):
        add_routes(m, routes)
    point = None
    if core is not None:
        core = core if isinstance(core, Core) else read_core(core)
        point = (core.lat, core.lon)
        add_marker(m, core.lat, core.lon, f"core: {core.name}")
    add_legend(m, sections[0][1], title=sections[0][0], sections=sections[1:])
    if title:
        add_title(m, title)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, list(indicators.to_crs("EPSG:4326").geometry), point)
    setattr(m, _OFFLINE_ATTR, dist)
    return m


def map_html(
    m: folium.Map, *, offline: bool | None = None, leaflet: str | Path | None = None
) -> str:
    """The map as a standalone HTML page.

    Parameters
    ----------
    m
        A folium map.
    offline
        Inline Leaflet and drop every ``<script src>`` / ``<link href>`` to the internet;
        default: as the map was made (``isochrone_map(..., offline=True)``), else not. A
        tile layer already on the map stays: it shows where there is a network, and the
        map draws without it where there is none.
    leaflet
        Folder of the npm package ``leaflet`` (see :func:`find_leaflet`).

    Returns
    -------
    html
        The page.

    Raises
    ------
    MissingDependencyError
        ``offline`` without a local copy of Leaflet.
    """
    made_offline = getattr(m, _OFFLINE_ATTR, None)
    if offline is None:
        offline = made_offline is not None
    page = m.get_root().render()
    if not offline:
        return page
    dist = find_leaflet(leaflet) if leaflet is not None or made_offline is None else made_offline
    return _make_offline(page, dist)


def save_map(
    m: folium.Map,
    path: str | Path,
    *,
    offline: bool | None = None,
    leaflet: str | Path | None = None,
) -> Path:
    """Write a map as an HTML page, atomically.

    Parameters
    ----------
    m
        A folium map (e.g. from :func:`isochrone_map`).
    path
        The ``.html`` file to write; its folder is created.
    offline
        As :func:`map_html`.
    leaflet
        As :func:`map_html`.

    Returns
    -------
    path
        The file written.
    """
    path = Path(path)
    write_text_atomic(path, map_html(m, offline=offline, leaflet=leaflet))
    log.info("wrote the map to %s", path)
    return path
