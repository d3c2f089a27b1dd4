"""HTML maps of zones coloured by an indicator (choropleths), with folium.

Each indicator of :func:`connectivity.accessibility.indicators.core_periphery` has its
classes (:func:`indicator_scale`: minutes for times, fifths for shares, fixed steps for
ratios, quintiles for counts), a readable name (:func:`indicator_label`) and a text form
(:func:`format_indicator`). :func:`add_choropleth` draws one indicator as a layer;
:func:`access_map` is the core-periphery view: a layer per indicator, isochrones from
the core, the transit routes and the core, with one legend.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from connectivity._errors import ParameterError
from connectivity.outputs.folium_base import (
    _OFFLINE_ATTR,
    _blank_map,
    _fit,
    add_legend,
    add_marker,
    add_title,
    escape,
    find_leaflet,
)
from connectivity.outputs.maps import add_isochrones, add_routes

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = [
    "Scale",
    "access_map",
    "add_choropleth",
    "default_indicators",
    "format_indicator",
    "indicator_label",
    "indicator_scale",
]


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
    labels = _range_labels(edges)
    return Scale(tuple(float(q) for q in qs), tuple(colours), tuple(labels), kind)


def _number(value: float, digits: int = 3) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}g}"


def _range_labels(edges: list[float]) -> list[str]:
    """``"a-b"`` per class, all with the digits it takes to tell every edge apart
    (0.1691 and 0.1694 are "0.1691-0.1694", not "0.169-0.169"); one value where a class
    holds only it."""
    distinct = sorted(set(edges))
    digits = next(
        (d for d in range(3, 17) if len({_number(e, d) for e in distinct}) == len(distinct)),
        17,
    )
    return [
        _number(a, digits) if a == b else f"{_number(a, digits)}-{_number(b, digits)}"
        for a, b in zip(edges, edges[1:], strict=False)
    ]


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
