"""A map of journeys (:func:`connectivity.journeys`): one layer per journey, its legs
coloured by mode (walks dashed grey), a popup per leg, the origin and the destination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

__all__ = ["MODE_COLOURS", "journey_lines", "journey_map"]

#: Leg colours by mode (the tram, metro, rail and bus colours of the route layers).
MODE_COLOURS: dict[str, str] = {
    "walk": "#666666",
    "tram": "#00985f",
    "metro": "#ff6319",
    "rail": "#8c4799",
    "bus": "#007ac9",
    "trolleybus": "#0050a0",
    "ferry": "#00b9e4",
    "coach": "#0050a0",
}
OTHER_COLOUR = "#e31a1c"


def journey_lines(journey: Any) -> str:
    """The vehicles of one journey's legs, in order: "tram 5, bus 63" ("" on foot)."""
    rides = journey[journey["kind"] == "ride"]
    return ", ".join(f"{r.mode} {r.route or r.route_id}" for r in rides.itertuples())


def _popup(leg: Any) -> str:
    if leg.kind == "ride":
        what = f"{leg.mode} {leg.route or leg.route_id} (trip {leg.trip_id})"
    elif leg.kind == "wait":
        what = f"wait at {leg.from_name}"
    else:
        what = f"walk ({leg.kind})"
    rows = [
        ("", what),
        ("from", leg.from_name),
        ("to", leg.to_name),
        ("time", f"{leg.start} - {leg.end} ({float(leg.duration_s) / 60:.1f} min)"),
    ]
    cells = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
        if k
        else f"<tr><td colspan=2><b>{escape(v)}</b></td></tr>"
        for k, v in rows
    )
    return f"<table>{cells}</table>"


def _bind_popup(element: Any, html: str) -> None:
    """Bind a popup of ``html`` (already escaped) to ``element`` with Leaflet's own
    ``bindPopup``: folium's Popup builds its content with jQuery, which offline pages
    do not carry."""
    import json

    from branca.element import MacroElement, Template

    popup = MacroElement()
    popup._template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup(" + json.dumps(html) + ", {maxWidth: 360});"
        "{% endmacro %}"
    )
    element.add_child(popup)


def journey_map(
    legs: Any,
    *,
    offline: bool = False,
    leaflet: str | Path | None = None,
    title: str | None = None,
) -> Any:
    """A folium map of the journeys of :func:`connectivity.journeys`.

    Parameters
    ----------
    legs
        The GeoDataFrame :func:`connectivity.journeys` returns.
    offline, leaflet
        As :func:`connectivity.outputs.isochrone_map`.
    title
        A title at the top of the map.

    Returns
    -------
    folium.Map
        One layer per journey (the first shown, the others in the layer control), legs
        coloured by mode with a popup each; write it with :func:`save_map`.

    Raises
    ------
    ParameterError
        ``legs`` without the columns of :func:`connectivity.journeys`, or empty.
    """
    import folium

    needed = {"journey", "kind", "mode", "geometry", "from_name", "to_name"}
    if not hasattr(legs, "geometry") or not needed <= set(legs.columns) or len(legs) == 0:
        raise ParameterError("journey_map needs the legs of connectivity.journeys(...)")
    dist = find_leaflet(leaflet) if offline else None
    m = _blank_map(offline)
    legs = legs.to_crs("EPSG:4326")
    used: dict[str, str] = {}
    for number, journey in legs.groupby("journey", sort=True):
        head = journey.iloc[0]
        rides = journey[journey["kind"] == "ride"]
        lines = journey_lines(journey)
        name = (
            f"Journey {number}: {head['first_departure'][:5]}, "
            f"{float(head['travel_time_s']) / 60:.0f} min, {lines or 'on foot'}"
        )
        layer = folium.FeatureGroup(name=escape(name), show=number == 1)
        for leg in journey.itertuples():
            mode = str(leg.mode or "walk")
            colour = MODE_COLOURS.get(mode, OTHER_COLOUR)
            walk = leg.kind != "ride"
            if leg.kind == "wait":
                continue  # drawn by the stop of the next ride
            used.setdefault("walk" if walk else mode, colour)
            coords = [(y, x) for x, y in leg.geometry.coords]
            line = folium.PolyLine(
                coords,
                color=colour,
                weight=4 if walk else 6,
                opacity=0.9,
                dash_array="6 8" if walk else None,
                tooltip=escape(f"{leg.start[:5]} {leg.from_name} - {leg.to_name}"),
            )
            _bind_popup(line, _popup(leg))
            line.add_to(layer)
        for stop in rides.itertuples():
            x, y = stop.geometry.coords[0]
            folium.CircleMarker(
                [y, x], radius=4, color="#000000", weight=1, fill=True, fill_color="#ffffff",
                fill_opacity=1.0, tooltip=escape(f"{stop.from_name}: board {stop.start[:5]}"),
            ).add_to(layer)  # fmt: skip
        layer.add_to(m)
    first = legs.iloc[0].geometry.coords[0]
    last = legs.iloc[-1].geometry.coords[-1]
    add_marker(m, first[1], first[0], str(legs.iloc[0]["from_name"]), colour="#ffffff")
    add_marker(m, last[1], last[0], str(legs.iloc[-1]["to_name"]))
    add_legend(m, [(c, mode) for mode, c in used.items()], title="Legs by mode")
    if title:
        add_title(m, title)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit(m, list(legs.geometry), None)
    setattr(m, _OFFLINE_ATTR, dist)
    return m
