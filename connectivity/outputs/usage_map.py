"""Maps of who rides what (:func:`connectivity.route_usage`): each stop-to-stop segment a
line as wide as the journeys that ride it, coloured by mode, each stop a circle as
large as its boardings, with a popup of the figures; and the same view as a PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from connectivity._errors import ParameterError
from connectivity.outputs.folium_base import (
    _OFFLINE_ATTR,
    _blank_map,
    _fit,
    add_legend,
    add_title,
    escape,
    find_leaflet,
)
from connectivity.outputs.journey_map import MODE_COLOURS, OTHER_COLOUR

__all__ = ["segment_widths", "usage_map", "usage_png"]

#: Pixels of the widest segment (the busiest) and of the narrowest drawn.
MAX_WIDTH = 14.0
MIN_WIDTH = 1.5


def segment_widths(journeys: Any) -> np.ndarray:
    """Line widths in pixels, by area: the square root of each segment's journeys over
    the busiest one's, from :data:`MIN_WIDTH` to :data:`MAX_WIDTH`."""
    w = np.asarray(journeys, float)
    top = float(w.max()) if len(w) else 0.0
    if top <= 0:
        return np.full(len(w), MIN_WIDTH)
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * np.sqrt(np.clip(w, 0, None) / top)


def _segments(usage: Any) -> tuple[Any, np.ndarray, np.ndarray, list[str]]:
    """The ridden segments (EPSG:4326), their widths, the order to draw them in (the
    busiest last, on top) and their mode colours: what the page and the picture share."""
    if not hasattr(usage, "segments") or not hasattr(usage, "stops"):
        raise ParameterError("usage_map needs the result of connectivity.route_usage(...)")
    if len(usage.segments) == 0:
        raise ParameterError("the usage has no ridden segment: nothing to draw")
    seg = usage.segments.to_crs("EPSG:4326")
    order = np.argsort(seg["journeys"].to_numpy(float), kind="stable")
    colours = [MODE_COLOURS.get(str(m), OTHER_COLOUR) for m in seg["mode"]]
    return seg, segment_widths(seg["journeys"]), order, colours


def usage_map(
    usage: Any,
    *,
    offline: bool = False,
    leaflet: str | Path | None = None,
    title: str | None = None,
) -> Any:
    """A folium map of :func:`connectivity.route_usage`: segments as wide as their
    journeys (the busiest :data:`MAX_WIDTH` pixels, by area), coloured by mode, with a
    tooltip "tram 5: Kunsthalle - Wasserturm, 1,234 journeys"; stops as circles as
    large as their boardings; one legend of the modes and of three widths.

    Raises
    ------
    ParameterError
        Not a usage result, or no segment ridden.
    """
    import folium

    seg, widths, order, colours = _segments(usage)
    dist = find_leaflet(leaflet) if offline else None
    m = _blank_map(offline)
    used: dict[str, str] = {}
    layer = folium.FeatureGroup(name=escape("Journeys per segment"), show=True)
    for i in order:
        row = seg.iloc[int(i)]
        mode, colour = str(row["mode"]), colours[int(i)]
        used.setdefault(mode, colour)
        text = (
            f"{mode} {row['route']}: {row['from_name']} - {row['to_name']}, "
            f"{float(row['journeys']):,.0f} journeys"
        )
        folium.PolyLine(
            [(y, x) for x, y in row.geometry.coords], color=colour, weight=float(widths[i]),
            opacity=0.85, tooltip=escape(text),
        ).add_to(layer)  # fmt: skip
    layer.add_to(m)
    stops = usage.stops.to_crs("EPSG:4326")
    top = float(stops["boardings"].max()) if len(stops) else 0.0
    if top > 0:
        points = folium.FeatureGroup(name=escape("Boardings per stop"), show=True)
        for row in stops.itertuples():
            if float(row.boardings) <= 0:
                continue
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x],
                radius=2 + 8 * math.sqrt(float(row.boardings) / top),
                color="#222222", weight=1, fill=True, fill_color="#ffffff", fill_opacity=0.9,
                tooltip=escape(
                    f"{row.stop_name}: {float(row.boardings):,.0f} boardings, "
                    f"{float(row.transfers):,.0f} of them changes"
                ),
            ).add_to(points)  # fmt: skip
        points.add_to(m)
    busiest = float(seg["journeys"].max())
    entries = [(c, mode) for mode, c in used.items()]
    add_legend(
        m, entries, title="Lines by mode",
        sections=[("Width: journeys (by area)", [
            ("#555555", f"{busiest * f:,.0f}: {100 * w / MAX_WIDTH:.0f}% of the widest")
            for f, w in zip((1.0, 0.25, 0.04), segment_widths([1.0, 0.25, 0.04]), strict=True)
        ])],
    )  # fmt: skip
    if title:
        add_title(m, title)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, list(seg.geometry), None)
    setattr(m, _OFFLINE_ATTR, dist)
    return m


def usage_png(
    usage: Any,
    path: str | Path,
    *,
    title: str | None = None,
    top: int = 5,
    size: tuple[float, float] = (10.0, 8.0),
    dpi: int = 120,
) -> Path:
    """The segments of :func:`usage_map` as a PNG (without the stops' circles); the
    ``top`` busiest segments are named in the legend ("tram 5: Kunsthalle - Wasserturm,
    1,234")."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from connectivity.outputs.static_map import finish

    seg, pixels, order, colours = _segments(usage)
    widths = pixels / 2  # points, not pixels
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    used: dict[str, str] = {}
    try:
        for i in order:
            row = seg.iloc[int(i)]
            mode, colour = str(row["mode"]), colours[int(i)]
            used.setdefault(mode, colour)
            xs, ys = zip(*row.geometry.coords, strict=True)
            ax.plot(xs, ys, color=colour, linewidth=float(widths[i]), alpha=0.85,
                    solid_capstyle="round")  # fmt: skip
        handles: list[Any] = [
            Line2D([], [], color=c, linewidth=4, label=mode) for mode, c in used.items()
        ]
        for i in order[::-1][:top]:
            row = seg.iloc[int(i)]
            handles.append(
                Line2D([], [], color=colours[int(i)], linewidth=float(widths[i]),
                       label=f"{row['mode']} {row['route']}: {row['from_name']} - "
                             f"{row['to_name']}, {float(row['journeys']):,.0f}"[:70])
            )  # fmt: skip
        finish(fig, ax, path, handles, title, title_size=10, legend_outside=True)
    finally:
        plt.close(fig)
    return Path(path)
