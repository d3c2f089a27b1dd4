"""A static PNG of the map view (matplotlib, Agg backend), for reports.

The same layers as :func:`connectivity.outputs.choropleth.access_map` and
:func:`connectivity.outputs.maps.isochrone_map`: the zones coloured by one indicator (the
classes of :func:`connectivity.outputs.choropleth.indicator_scale`), isochrone bands, transit routes
and the core or origin, with a legend. No background tiles (no network needed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectivity._errors import ParameterError
from connectivity._files import atomic_path

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["bottleneck_png", "static_map"]

log = logging.getLogger(__name__)


def static_map(
    path: str | Path,
    *,
    indicators: gpd.GeoDataFrame | None = None,
    column: str | None = None,
    isochrones: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
    routes: gpd.GeoDataFrame | None = None,
    point: tuple[float, float] | None = None,
    point_label: str = "core",
    title: str | None = None,
    size: tuple[float, float] = (10.0, 8.0),
    dpi: int = 120,
) -> Path:
    """Draw the map view into a PNG file, atomically.

    Parameters
    ----------
    path
        The ``.png`` file to write; its folder is created.
    indicators
        Zones from :func:`connectivity.accessibility.indicators.core_periphery`, coloured by ``column``.
    column
        The indicator (default: the first of :func:`connectivity.outputs.choropleth.default_indicators`).
    isochrones
        Isochrone bands (one set, or several by name: only the last is drawn, as the
        HTML map shows it).
    routes
        Transit routes (from :func:`connectivity.outputs.maps.transit_routes`).
    point
        ``(lat, lon)`` of the core or origin.
    point_label
        Its legend label.
    title
        The figure's title.
    size
        Figure size in inches.
    dpi
        Resolution.

    Returns
    -------
    path
        The file written.

    Raises
    ------
    ParameterError
        Nothing to draw, or an unknown column.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from connectivity.outputs.choropleth import (
        NO_VALUE_COLOUR,
        _numeric,
        default_indicators,
        indicator_label,
        indicator_scale,
    )
    from connectivity.outputs.folium_base import FILL_OPACITY
    from connectivity.outputs.maps import _band_labels, _isochrone_frame, _route_colour

    if indicators is None and isochrones is None and routes is None and point is None:
        raise ParameterError("nothing to draw: give indicators, isochrones, routes or point")
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    handles: list[Any] = []
    try:
        if indicators is not None:
            zones = indicators.to_crs("EPSG:4326")
            if column is None:
                columns = default_indicators(zones)
                if not columns:
                    raise ParameterError("no indicator column to colour the zones by: give column=")
                column = columns[0]
            if column not in zones.columns:
                raise ParameterError(
                    f"the zones have no column {column!r}: choose one of "
                    f"{', '.join(map(str, zones.columns))}"
                )
            values = _numeric(zones[column])
            scale = indicator_scale(column, values)
            zones.plot(
                ax=ax,
                color=[scale.colour(v) for v in values],
                edgecolor="#333333",
                linewidth=0.6,
                alpha=0.75,
            )
            handles.append(Patch(color="none", label=indicator_label(column)))
            handles += [
                Patch(facecolor=c, edgecolor="#333333", label=label, alpha=0.75)
                for c, label in zip(scale.colours, scale.labels, strict=True)
            ]
            if not all(v == v for v in values):  # some NaN
                handles.append(Patch(facecolor=NO_VALUE_COLOUR, label="no value"))
        if isochrones is not None:
            sets = dict(isochrones) if isinstance(isochrones, Mapping) else {"": isochrones}
            name, iso = list(sets.items())[-1]
            gdf = _isochrone_frame(iso)
            labels = _band_labels([float(c) for c in gdf["cutoff"]])
            from connectivity.outputs.maps import ISOCHRONE_COLOURS

            for i in reversed(range(len(gdf))):
                colour = ISOCHRONE_COLOURS[min(i, len(ISOCHRONE_COLOURS) - 1)]
                gdf.iloc[[i]].plot(ax=ax, color=colour, alpha=FILL_OPACITY, linewidth=0)
            handles.append(Patch(color="none", label=f"travel time {name}".strip()))
            handles += [
                Patch(
                    facecolor=ISOCHRONE_COLOURS[min(i, len(ISOCHRONE_COLOURS) - 1)],
                    alpha=FILL_OPACITY,
                    label=labels[i],
                )
                for i in range(len(gdf))
            ]
        if routes is not None and len(routes):
            lines = routes.to_crs("EPSG:4326")
            colours = [
                _route_colour(c, t)
                for c, t in zip(
                    lines.get("route_color", [""] * len(lines)),
                    lines.get("route_type", [-1] * len(lines)),
                    strict=True,
                )
            ]
            lines.plot(ax=ax, color=colours, linewidth=1.2, alpha=0.85)
            handles.append(Line2D([], [], color="#007ac9", label="transit routes"))
        if point is not None:
            ax.plot([point[1]], [point[0]], "o", color="#e31a1c", markeredgecolor="black", ms=8)
            handles.append(
                Line2D([], [], marker="o", color="#e31a1c", ls="", mec="black", label=point_label)
            )
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.set_aspect(1 / max(0.1, _cos_lat(ax)))
        if title:
            ax.set_title(title)
        if handles:
            ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    log.info("wrote the static map to %s", path)
    return Path(path)


def _cos_lat(ax: Any) -> float:
    import math

    lo, hi = ax.get_ylim()
    return math.cos(math.radians((lo + hi) / 2))


def bottleneck_png(
    result: Any,
    path: str | Path,
    *,
    top: int | None = None,
    size: tuple[float, float] = (10.0, 8.0),
    dpi: int = 120,
) -> Path:
    """The bottleneck map's view as a PNG: the zones shaded by population, the core
    outlined, each bottleneck thicker and redder the higher its rank, the first five
    named on the map, and the title of :func:`connectivity.outputs.bottleneck_map.bottleneck_map`.

    Parameters
    ----------
    result
        The output of :func:`connectivity.find_bottlenecks`.
    path
        The ``.png`` file to write (atomically).
    top
        Draw only the first ``top`` ranks (None: all).
    size, dpi
        As :func:`static_map`.

    Returns
    -------
    path
        The file written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import geopandas as gpd
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    table = result.table if top is None else result.table[result.table["rank"] <= top]
    ramp = LinearSegmentedColormap.from_list("rank", ["#fed976", "#fd8d3c", "#bd0026"])
    n = max(1, len(table))
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    try:
        zones = result.zones.to_crs("EPSG:4326")
        pop_max = float(zones["population"].max()) or 1.0
        for geom, people in zip(zones.geometry, zones["population"], strict=True):
            gpd.GeoSeries([geom], crs="EPSG:4326").plot(
                ax=ax, color="#3182bd", alpha=0.05 + 0.25 * float(people) / pop_max,
                edgecolor="#555555", linewidth=0.6,
            )  # fmt: skip
        gpd.GeoSeries([result.study.core], crs="EPSG:4326").boundary.plot(
            ax=ax, color="#000000", linewidth=1.5
        )
        for row in table.sort_values("rank", ascending=False).to_dict("records"):
            rank = int(row["rank"])
            colour = ramp((n - rank) / max(1, n - 1)) if n > 1 else "#bd0026"
            width = 1.5 + 4.5 * (n - rank) / max(1, n - 1)
            series = gpd.GeoSeries([row["geometry"]], crs="EPSG:4326")
            if row["geometry"].geom_type == "Point":
                series.plot(ax=ax, color=colour, markersize=20 + 10 * width)
            else:
                series.plot(ax=ax, color=colour, linewidth=width)
            if rank <= 5:
                name = row.get("name") or row.get("ref") or row.get("highway") or ""
                at = row["geometry"].representative_point()
                ax.annotate(
                    f"{rank}. {name}", (at.x, at.y), fontsize=8, xytext=(4, 4),
                    textcoords="offset points",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8},
                )  # fmt: skip
        handles = [
            Line2D([], [], color="#bd0026", linewidth=4, label="1: most critical"),
            Line2D([], [], color="#fed976", linewidth=1.5, label=f"{n}: least of those ranked"),
            Line2D([], [], color="#000000", linewidth=1.5, label="core"),
            Patch(
                facecolor="#3182bd", alpha=0.3, edgecolor="#555555", label="zones (by population)"
            ),
        ]
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
        title = f"Bottlenecks of the {result.mode} network: {len(table)} ranked by loss"
        if result.population_note:
            title += f"\n{result.population_note}"
        ax.set_title(title, fontsize=9, wrap=True)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.set_aspect(1 / max(0.1, _cos_lat(ax)))
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    log.info("wrote the bottleneck picture to %s", path)
    return Path(path)
