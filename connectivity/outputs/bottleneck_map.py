"""The folium map of a bottleneck study.

:func:`bottleneck_map` draws the ranked bottlenecks of a
:class:`connectivity.bottlenecks.study.Bottlenecks` result over its zones (shaded by
population) and its core, each bottleneck thicker and redder the higher its rank, with a
popup of its scores. Every text from data is HTML-escaped. :func:`write_bottlenecks`
writes the study's tables (:meth:`~connectivity.bottlenecks.study.Bottlenecks.write`) and the map, ``bottlenecks.html``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from connectivity.bottlenecks.study import road_label
from connectivity.outputs.folium_base import _blank_map, add_title, save_map

if TYPE_CHECKING:
    import folium

    from connectivity.bottlenecks.study import Bottlenecks

__all__ = ["bottleneck_map", "write_bottlenecks"]

_POPUP_COLUMNS = (
    ("rank", "Rank", "{:d}"),
    ("road", "Road", "{}"),
    ("road_kind", "Kind", "{}"),
    ("cut_off", "Population cut off", "{:,.0f}"),
    ("loss_hours", "Loss (person-hours, with cut-off trips)", "{:,.1f}"),
    ("person_hours", "Added person-hours", "{:,.1f}"),
    ("mean_delay_out_s", "Mean delay out (s)", "{:,.1f}"),
    ("mean_delay_in_s", "Mean delay in (s)", "{:,.1f}"),
    ("od_trips", "Core-periphery trips", "{:,.0f}"),
    ("betweenness", "Betweenness", "{:,.0f}"),
    ("graph_bridge", "Only link (closing it splits the network)", "{}"),
    ("min_cut_zones", "In minimum cut of", "{}"),
)


def _popup_html(row: Mapping[str, Any]) -> str:
    cells = []
    for col, label, fmt in _POPUP_COLUMNS:
        if col not in row:
            continue
        value = row[col]
        try:
            text = fmt.format(value)
        except (TypeError, ValueError):
            text = str(value)
        if text in ("", "nan"):
            continue
        cells.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(text)}</td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def bottleneck_map(
    result: Bottlenecks, *, top: int | None = None, offline: bool = False
) -> folium.Map:
    """A folium map of the ranked bottlenecks over the zones.

    Parameters
    ----------
    result
        The output of :func:`find_bottlenecks`.
    top
        Draw only the first ``top`` ranks (None: all).
    offline
        No tile layer (a page for :func:`save_map` with ``offline=True``, which draws
        without the network).

    Returns
    -------
    map
        Zones shaded by population in the background, the core outlined, each
        bottleneck drawn thicker and redder the higher its rank, with a popup of its
        scores (HTML-escaped).
    """
    import branca.colormap as cm
    import folium
    import geopandas as gpd

    table = result.table if top is None else result.table[result.table["rank"] <= top]
    bounds = gpd.GeoSeries([result.study.core], crs="EPSG:4326").total_bounds
    if len(table):
        tb = table.total_bounds
        bounds = np.array(
            [
                min(bounds[0], tb[0]),
                min(bounds[1], tb[1]),
                max(bounds[2], tb[2]),
                max(bounds[3], tb[3]),
            ]
        )
    fmap = _blank_map(offline)
    # Room at the top for the title and the rank scale, which would cover the roads.
    fmap.fit_bounds(
        [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        padding_top_left=(30, 150),
        padding_bottom_right=(30, 30),
    )
    zones = result.zones
    pop_max = float(zones["population"].max()) or 1.0
    zone_layer = folium.FeatureGroup(name="zones")
    for name, geom, popn in zones[["name", "geometry", "population"]].itertuples(index=False):
        folium.GeoJson(
            geom.__geo_interface__,
            style_function=lambda _f, p=popn: {
                "color": "#555555",
                "weight": 1,
                "fillColor": "#3182bd",
                "fillOpacity": 0.05 + 0.25 * p / pop_max,
            },
            tooltip=html.escape(f"{name}: population {popn:,.0f}"),
        ).add_to(zone_layer)
    zone_layer.add_to(fmap)
    folium.GeoJson(
        result.study.core.__geo_interface__,
        style_function=lambda _f: {"color": "#000000", "weight": 2, "fillOpacity": 0.0},
        tooltip="core",
        name="core",
    ).add_to(fmap)
    n = max(1, len(table))
    # The scale reads from rank 1 (red, the most critical) to the last (yellow): it
    # ran yellow to red, so the "1" stood at the yellow end.
    ticks = sorted({1, *range(5, n + 1, 5), n}) if n > 1 else [1, 2]
    colours = cm.LinearColormap(
        ["#bd0026", "#fd8d3c", "#fed976"], vmin=1, vmax=max(2, n), tick_labels=ticks
    )  # whole ranks on the scale, not 1.0 1.5 2.0
    colours.caption = "Bottleneck rank (1, red = most critical)"
    layer = folium.FeatureGroup(name="bottlenecks")
    for row in table.sort_values("rank", ascending=False).to_dict("records"):
        rank = int(row["rank"])
        colour = colours(rank) if n > 1 else "#bd0026"
        weight = 3 + 7 * (n - rank) / max(1, n - 1)
        popup = folium.Popup(_popup_html(row), max_width=400)
        tooltip = html.escape(f"#{rank} {road_label(row)}")
        geom = row["geometry"]
        if geom.geom_type == "Point":
            folium.CircleMarker(
                [geom.y, geom.x],
                radius=weight,
                color=colour,
                fill=True,
                popup=popup,
                tooltip=tooltip,
            ).add_to(layer)
        else:
            folium.GeoJson(
                geom.__geo_interface__,
                style_function=lambda _f, c=colour, w=weight: {
                    "color": c,
                    "weight": w,
                    "opacity": 0.9,
                },
                popup=popup,  # type: ignore[arg-type]
                tooltip=tooltip,
            ).add_to(layer)
    layer.add_to(fmap)
    colours.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    title = f"Bottlenecks of the {result.mode} network: {len(table)} ranked by loss"
    if result.population_note:
        title += f". {result.population_note}"
    add_title(fmap, title, left=True)  # the rank scale is at the top right
    return fmap


def write_bottlenecks(
    result: Bottlenecks,
    folder: str | os.PathLike[str],
    *,
    top: int | None = None,
    offline: bool = False,
    leaflet: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write the outputs of a bottleneck study into ``folder``, each file atomically.

    Parameters
    ----------
    result
        The output of :func:`connectivity.bottlenecks.study.find_bottlenecks`.
    folder
        Created if missing.
    top
        Ranks drawn on the map (None: all).
    offline
        Inline Leaflet into the map (see :func:`connectivity.save_map`).
    leaflet
        Folder of the npm package ``leaflet`` for ``offline``.

    Returns
    -------
    paths
        The tables of :meth:`~connectivity.bottlenecks.study.Bottlenecks.write` (``bottlenecks.csv``,
        ``bottlenecks.geojson``, ``cuts.csv``, ``baseline.csv``, ``indicators.csv``), then
        ``bottlenecks.html`` (:func:`bottleneck_map`) and ``bottlenecks.png`` (the same
        view, :func:`connectivity.outputs.static_map.bottleneck_png`).
    """
    paths = result.write(folder, html=False)
    target = Path(folder) / "bottlenecks.html"
    save_map(
        bottleneck_map(result, top=top, offline=bool(offline)),
        target,
        offline=offline,
        leaflet=None if leaflet is None else Path(leaflet),
    )
    paths.append(target)
    from connectivity.outputs.static_map import bottleneck_png

    paths.append(bottleneck_png(result, Path(folder) / "bottlenecks.png", top=top))
    return paths
