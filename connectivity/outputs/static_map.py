"""A static PNG of the map view (matplotlib, Agg backend), for reports.

The same layers as :func:`connectivity.outputs.choropleth.access_map` and
:func:`connectivity.outputs.maps.isochrone_map`: the zones coloured by one indicator (the
classes of :func:`connectivity.outputs.choropleth.indicator_scale`), isochrone bands, transit routes
and the core or origin, with a legend. No background tiles (no network needed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectivity._errors import ParameterError
from connectivity._files import atomic_path

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["bottleneck_png", "draw_isochrones", "finish", "journey_png", "static_map"]

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
    from connectivity.outputs.maps import _route_colour

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
            handles += draw_isochrones(ax, iso, f"travel time {name}".strip())
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
        finish(fig, ax, path, handles, title)
    finally:
        plt.close(fig)
    log.info("wrote the static map to %s", path)
    return Path(path)


def draw_isochrones(ax: Any, isochrones: Any, heading: str, *, alpha: float = 1.0) -> list[Any]:
    """Draw isochrone bands (the innermost on top) into ``ax``, in the colours of the
    HTML maps at ``alpha`` times their opacity; returns the legend entries, under
    ``heading``."""
    from matplotlib.patches import Patch

    from connectivity.outputs.folium_base import FILL_OPACITY
    from connectivity.outputs.maps import ISOCHRONE_COLOURS, _band_labels, _isochrone_frame

    gdf = _isochrone_frame(isochrones)
    labels = _band_labels([float(c) for c in gdf["cutoff"]])
    colours = [ISOCHRONE_COLOURS[min(i, len(ISOCHRONE_COLOURS) - 1)] for i in range(len(gdf))]
    for i in reversed(range(len(gdf))):
        gdf.iloc[[i]].plot(ax=ax, color=colours[i], alpha=FILL_OPACITY * alpha, linewidth=0)
    return [
        Patch(color="none", label=heading),
        *(
            Patch(facecolor=c, alpha=FILL_OPACITY * alpha, label=label)
            for c, label in zip(colours, labels, strict=True)
        ),
    ]


def _cos_lat(ax: Any) -> float:
    lo, hi = ax.get_ylim()
    return math.cos(math.radians((lo + hi) / 2))


def finish(
    fig: Any,
    ax: Any,
    path: str | Path,
    handles: list[Any],
    title: str | None,
    *,
    title_size: float | None = None,
    legend_outside: bool = False,
) -> None:
    """The end every picture shares: axes in degrees at the latitude's true aspect, the
    title, the legend where it covers the least (or right of the map), and the PNG
    written atomically."""
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.ticklabel_format(useOffset=False, style="plain")  # 60.172, not +6.017e1 and 0.002
    ax.set_aspect(1 / max(0.1, _cos_lat(ax)))
    if title:
        sized = {} if title_size is None else {"fontsize": title_size, "wrap": True}
        ax.set_title(title, **sized)
    if handles and legend_outside:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    elif handles:
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")


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

    from connectivity.bottlenecks.study import road_label

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
        named: list[Any] = []
        for row in table.sort_values("rank", ascending=False).to_dict("records"):
            rank = int(row["rank"])
            colour = ramp((n - rank) / max(1, n - 1)) if n > 1 else "#bd0026"
            width = 1.5 + 4.5 * (n - rank) / max(1, n - 1)
            series = gpd.GeoSeries([row["geometry"]], crs="EPSG:4326")
            if row["geometry"].geom_type == "Point":
                series.plot(ax=ax, color=colour, markersize=20 + 10 * width)
            else:
                series.plot(ax=ax, color=colour, linewidth=width)
            if rank <= 10:  # numbered on the map, named in the legend: labels never overlap
                at = row["geometry"].representative_point()
                ax.annotate(
                    str(rank), (at.x, at.y), fontsize=8, fontweight="bold", xytext=(3, 3),
                    textcoords="offset points",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.85},
                )  # fmt: skip
                named.append(
                    Line2D([], [], color=colour, linewidth=width,
                           label=f"{rank}. {road_label(row)}"[:70])
                )  # fmt: skip
        # The view: the ranked roads and the core, not the whole outer ring (on a 40 km
        # study the bottlenecks near the core were a few pixels under their labels).
        if len(table):
            x0, y0, x1, y1 = gpd.GeoSeries(
                [*table.geometry, result.study.core], crs="EPSG:4326"
            ).total_bounds
            half = max(x1 - x0, (y1 - y0) / max(0.1, math.cos(math.radians((y0 + y1) / 2))))
            half = max(0.6 * half, 0.01)
            cx_, cy_ = (x0 + x1) / 2, (y0 + y1) / 2
            ax.set_xlim(cx_ - half, cx_ + half)
            ax.set_ylim(
                cy_ - half * math.cos(math.radians(cy_)), cy_ + half * math.cos(math.radians(cy_))
            )
        handles = [
            *reversed(named),
            Line2D([], [], color="#000000", linewidth=1.5, label="core"),
            Patch(
                facecolor="#3182bd", alpha=0.3, edgecolor="#555555", label="zones (by population)"
            ),
        ]
        title = f"Bottlenecks of the {result.mode} network: {len(table)} ranked by loss"
        if result.population_note:
            title += f"\n{result.population_note}"
        finish(fig, ax, path, handles, title, title_size=9, legend_outside=True)
    finally:
        plt.close(fig)
    log.info("wrote the bottleneck picture to %s", path)
    return Path(path)


def journey_png(
    legs: Any,
    path: str | Path,
    *,
    journey: int = 1,
    title: str | None = None,
    size: tuple[float, float] = (10.0, 8.0),
    dpi: int = 120,
) -> Path:
    """One journey of :func:`connectivity.journeys` as a PNG, the view of
    :func:`connectivity.outputs.journey_map.journey_map` with its first layer shown:
    rides coloured by mode, walks dashed grey, each boarding stop a white circle named
    with the line and the time, the origin and the destination.

    Parameters
    ----------
    legs
        The GeoDataFrame :func:`connectivity.journeys` returns.
    path
        The ``.png`` file to write (atomically).
    journey
        Which journey to draw (the ``journey`` column; 1, the first, by default).
    title
        The figure's title; the journey's summary line is added under it.
    size, dpi
        As :func:`static_map`.

    Returns
    -------
    path
        The file written.

    Raises
    ------
    ParameterError
        ``legs`` without the columns of :func:`connectivity.journeys`, or no such journey.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from connectivity.outputs.journey_map import MODE_COLOURS, OTHER_COLOUR, journey_lines

    needed = {"journey", "kind", "mode", "geometry", "from_name", "to_name", "start"}
    if not hasattr(legs, "geometry") or not needed <= set(legs.columns) or len(legs) == 0:
        raise ParameterError("journey_png needs the legs of connectivity.journeys(...)")
    chosen = legs[legs["journey"] == journey]
    if len(chosen) == 0:
        raise ParameterError(
            f"no journey {journey}: the legs hold journeys "
            f"{', '.join(str(j) for j in sorted(legs['journey'].unique()))}"
        )
    chosen = chosen.to_crs("EPSG:4326")
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    used: dict[str, str] = {}
    try:
        for leg in chosen.itertuples():
            if leg.kind == "wait" or leg.geometry is None or leg.geometry.is_empty:
                continue
            walk = leg.kind != "ride"
            mode = "walk" if walk else str(leg.mode)
            colour = MODE_COLOURS.get(mode, OTHER_COLOUR)
            used.setdefault(mode, colour)
            xs, ys = zip(*leg.geometry.coords, strict=True)
            ax.plot(xs, ys, color=colour, linewidth=2.5 if walk else 4.5,
                    linestyle=(0, (3, 3)) if walk else "-")  # fmt: skip
            if not walk:
                x, y = leg.geometry.coords[0]
                ax.plot([x], [y], "o", color="white", markeredgecolor="black", ms=6, zorder=5)
                ax.annotate(
                    f"{leg.start[:5]} {leg.mode} {leg.route or leg.route_id} "
                    f"from {leg.from_name}", (x, y), fontsize=8, xytext=(5, 5),
                    textcoords="offset points",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.85},
                )  # fmt: skip
        first = chosen.iloc[0].geometry.coords[0]
        last = chosen.iloc[-1].geometry.coords[-1]
        ax.plot([first[0]], [first[1]], "o", color="white", markeredgecolor="black", ms=10)
        ax.plot([last[0]], [last[1]], "o", color="#e31a1c", markeredgecolor="black", ms=10)
        handles: list[Any] = [
            Line2D([], [], color=c, linewidth=2.5 if m == "walk" else 4.5,
                   linestyle=(0, (3, 3)) if m == "walk" else "-", label=m)
            for m, c in used.items()
        ]  # fmt: skip
        handles += [
            Line2D([], [], marker="o", ls="", color="white", mec="black", ms=10,
                   label=str(chosen.iloc[0]["from_name"])),
            Line2D([], [], marker="o", ls="", color="#e31a1c", mec="black", ms=10,
                   label=str(chosen.iloc[-1]["to_name"])),
        ]  # fmt: skip
        head = chosen.iloc[0]
        summary = (
            f"Journey {journey}: leaves {str(head['first_departure'])[:5]}, "
            f"{float(head['travel_time_s']) / 60:.0f} min, {journey_lines(chosen) or 'on foot'}"
        )
        text = f"{title}\n{summary}" if title else summary
        finish(fig, ax, path, handles, text, title_size=9)
    finally:
        plt.close(fig)
    log.info("wrote the journey picture to %s", path)
    return Path(path)
