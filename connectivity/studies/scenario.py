"""A scenario study: baseline and variants compared, with files for each variant.

:func:`run_scenario` reads a scenario file (:mod:`connectivity.scenarios.file`), builds
the baseline network once, computes the baseline's walk+transit times between the core
and every street node once (:func:`connectivity.accessibility.indicators.transit_core_times`), and then,
per variant, applies its modifications (:func:`connectivity.scenarios.apply.apply_scenario`:
a new timetable and the new stops' links, never the streets) and routes again from and
to the core. It writes, into ``OUT``:

- ``variants.csv``: one row per variant, ranked by ``rank_by`` (default
  ``gain_per_km_{middle cutoff}``): ``rank``, ``variant``, ``modifications`` (count),
  ``new_lines``, ``route_km`` (the length of the lines the variant adds, along their
  paths: a frequency change or a removal adds none), ``new_stops`` (stops created;
  existing stops a line reuses are ``reused_stops``), ``added_trips``,
  ``added_vehicle_hours`` and ``peak_vehicles`` (on the routes the variant adds or
  changes, variant minus baseline: :mod:`connectivity.scenarios.service`),
  ``mean_change_min`` (the population-weighted mean change of the time to the core),
  and per cutoff ``newly_within_*``, ``no_longer_within_*``, ``net_gain_*`` (the
  population newly within minus no longer within), ``gain_per_km_*`` (``net_gain`` per
  ``route_km``) and ``gain_per_vehicle_hour_*`` (``net_gain`` per added vehicle-hour);
  any of these columns may rank (the costs, ``route_km`` to ``peak_vehicles``,
  ``mean_change_min`` and ``no_longer_within_*``, ascending, the others descending);
- per variant, in ``OUT/<variant>/``: ``indicators.csv`` / ``.geojson`` (per zone the
  baseline, scenario and change of each indicator of
  :func:`connectivity.accessibility.indicators.core_periphery`), ``newly_within.csv`` (population newly
  within each cutoff of the core, and no longer within), ``difference.tif`` (seconds
  scenario minus baseline, to the core, on one grid; a cell reached in only one of
  them counts the other as the largest cutoff), ``difference.geojson`` (the same as
  polygons of classes, in minutes), ``lines.geojson`` (the new lines), ``map.html``
  (the new lines, the change per zone as a diverging choropleth, the isochrones to the
  core before and after as layers to toggle) and ``map.png`` (the same view as a
  picture: the scenario's isochrones, the change per zone, the new lines), ``usage.csv`` (per route the people its
  optimal journeys to the core carry, baseline and variant: who rides the new line and
  which routes lose riders, :func:`usage_change`) and ``gtfs.zip`` (the variant's
  timetable as a GTFS feed); ``variants.csv`` has ``new_line_riders_share``, the share of
  the variant's riders who board one of its new lines.

Everything goes under ``OUT``: nothing is written to ``connectivity.settings.gtfs_folder``.

Times compared are the ``percentile`` (default the median) of the window's travel times
to the core (arriving at the core: the periphery's commute); "within 45 min" means that
percentile is at most 45 minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError, ScenarioError
from connectivity._files import atomic_path
from connectivity.scenarios.file import ScenarioSpec, read_scenario, slug

__all__ = ["ScenarioStudy", "run_scenario"]

logger = logging.getLogger(__name__)

#: Classes of the difference layer, minutes (scenario minus baseline).
DIFF_BOUNDS = (-15.0, -5.0, -1.0, 1.0, 5.0, 15.0)
DIFF_COLOURS = ("#08519c", "#3182bd", "#9ecae1", "#f7f7f7", "#fcae91", "#fb6a4a", "#cb181d")
#: The colour and legend entry of the new and changed lines (not one of DIFF_COLOURS).
LINE_COLOUR = "#6a3d9a"
LINE_LABEL = "New and changed lines"
DIFF_LABELS = (
    "15+ min faster",
    "5-15 min faster",
    "1-5 min faster",
    "within 1 min",
    "1-5 min slower",
    "5-15 min slower",
    "15+ min slower",
)


@dataclass
class ScenarioStudy:
    """The results of :func:`run_scenario`.

    Attributes
    ----------
    variants
        The ranked table (also written as ``variants.csv``).
    files
        Variant -> output name -> path.
    networks
        Variant -> its network (``"baseline"`` too), for further scripting.
    """

    variants: pd.DataFrame
    files: dict[str, dict[str, Path]] = field(default_factory=dict)
    networks: dict[str, Any] = field(default_factory=dict)


def _baseline(spec: ScenarioSpec) -> Any:
    from connectivity.network.intermodal import build_network
    from connectivity.scenarios.apply import empty_timetable
    from connectivity.streets.load import load_streets
    from connectivity.transit.gtfs import load_timetable

    streets = load_streets(spec.osm, mode="walk")
    if spec.gtfs:
        tt = load_timetable(spec.gtfs, date=spec.date)
    else:  # a city without a feed: the proposed lines will be its only transit
        tt = empty_timetable(spec.date or dt.date.today())
    return build_network(streets, tt)


def _line_streets(spec: ScenarioSpec) -> Any:
    """What new lines and extensions follow: the drive network of the extract, and for
    a tram the drive network with the extract's tram tracks where it maps some."""
    from connectivity.scenarios.modifications import AddLine, Reroute
    from connectivity.streets.load import load_streets
    from connectivity.streets.tracks import with_tram_tracks

    mods = [m for variant in spec.variants.values() for m in variant]
    follows = [m for m in mods if isinstance(m, AddLine | Reroute) and m.follow_streets]
    if not follows:
        return None
    drive = load_streets(spec.osm, mode="drive")
    # A Reroute's mode is its route's: the tracks are joined whenever it may be a tram.
    trams = any(not isinstance(m, AddLine) or str(m.mode).lower() == "tram" for m in follows)
    tracks = with_tram_tracks(drive, spec.osm) if trams else None
    return {"default": drive, "tram": tracks if tracks is not None else drive}


def _zones(spec: ScenarioSpec, core: Any, streets: Any) -> Any:
    from connectivity.accessibility.zones import read_zones, ring_zones

    if spec.zones == "places":
        from connectivity.accessibility.places import place_zones

        return place_zones(spec.osm, streets)
    if spec.zones is not None:
        return read_zones(spec.zones)
    return ring_zones(core, network=streets, every_km=spec.rings_km, max_km=spec.max_km)


def _population(spec: ScenarioSpec, streets: Any) -> tuple[np.ndarray, str]:
    """The weights per street node and the line saying where they come from: the
    same as the access and bottlenecks commands (the OSM estimate, or the product split
    over its cells' nodes by that estimate)."""
    from connectivity.accessibility.population_osm import resolve_population

    weights, note = resolve_population(spec.population, spec.osm, streets)
    return np.asarray(weights, float), note


def _core_times(network: Any, core: Any, spec: ScenarioSpec) -> Any:
    from connectivity.accessibility.indicators import transit_core_times

    return transit_core_times(
        network,
        core,
        departure=spec.departure,
        window=spec.window or None,
        percentiles=(spec.percentile,),
    )


def newly_within(
    before: np.ndarray, after: np.ndarray, population: np.ndarray, cutoffs: Any
) -> pd.DataFrame:
    """Population within each cutoff before and after, newly within, no longer within.

    Parameters
    ----------
    before, after
        Seconds per node (``inf`` where unreached).
    population
        Weight per node.
    cutoffs
        Seconds.

    Returns
    -------
    table
        One row per cutoff: ``cutoff_min``, ``within_before``, ``within_after``,
        ``newly_within``, ``no_longer_within``, ``net_change``.
    """
    rows = []
    for c in cutoffs:
        b = before <= c
        a = after <= c
        rows.append(
            {
                "cutoff_min": c / 60,
                "within_before": float(population[b].sum()),
                "within_after": float(population[a].sum()),
                "newly_within": float(population[a & ~b].sum()),
                "no_longer_within": float(population[b & ~a].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["net_change"] = out["within_after"] - out["within_before"]
    return out


def _indicator_changes(before: Any, after: Any, zone_columns: Any = ()) -> Any:
    """Per zone: ``name``, ``nodes``, ``population``, then each indicator's baseline,
    scenario and change (``{col}_base``, ``{col}_scenario``, ``{col}_change``)."""
    import geopandas as gpd

    keep = ["name", "nodes", "population"]
    out = pd.DataFrame({k: before[k].to_numpy() for k in keep if k in before.columns})
    skip = set(keep) | {"geometry"} | set(zone_columns)
    for col in before.columns:
        if col in skip or not pd.api.types.is_numeric_dtype(before[col]):
            continue
        b = before[col].to_numpy(float)
        a = after[col].to_numpy(float)
        out[f"{col}_base"] = b
        out[f"{col}_scenario"] = a
        with np.errstate(invalid="ignore"):
            change = a - b
        # Unreached before and reached now (or the reverse): no finite change.
        change[~(np.isfinite(a) & np.isfinite(b))] = np.nan
        out[f"{col}_change"] = change
    return gpd.GeoDataFrame(out, geometry=before.geometry.to_numpy(), crs=before.crs)


def _aligned(surfaces: list[Any]) -> tuple[list[np.ndarray], Any]:
    """Place surfaces of one resolution (grids aligned to its multiples) on one grid."""
    from affine import Affine

    res = surfaces[0].transform.a
    west = min(s.transform.c for s in surfaces)
    north = max(s.transform.f for s in surfaces)
    east = max(s.transform.c + s.values.shape[1] * res for s in surfaces)
    south = min(s.transform.f - s.values.shape[0] * res for s in surfaces)
    cols = int(round((east - west) / res))
    rows = int(round((north - south) / res))
    out = []
    for s in surfaces:
        grid = np.full((rows, cols), np.nan, np.float32)
        c0 = int(round((s.transform.c - west) / res))
        r0 = int(round((north - s.transform.f) / res))
        h, w = s.values.shape
        grid[r0 : r0 + h, c0 : c0 + w] = s.values
        out.append(grid)
    return out, Affine(res, 0, west, 0, -res, north)


def difference_surface(streets: Any, before: np.ndarray, after: np.ndarray, cap: float) -> Any:
    """Scenario minus baseline seconds per cell, on one grid (NaN where neither reaches
    the cell within ``cap``; a cell reached by one only counts the other as ``cap``).

    Parameters
    ----------
    streets
        The walk network the times are for.
    before, after
        Seconds per node.
    cap
        The largest time drawn (seconds).

    Returns
    -------
    surface
        A :class:`connectivity.accessibility.isochrones.Surface` of differences in seconds.
    """
    from connectivity.accessibility.isochrones import Surface, travel_time_surface

    sb = travel_time_surface(streets, before, max_time=cap)
    sa = travel_time_surface(streets, after, max_time=cap)
    (b, a), transform = _aligned([sb, sa])
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(np.isnan(a), cap, a) - np.where(np.isnan(b), cap, b)
    diff[both_nan] = np.nan
    return Surface(diff.astype(np.float32), transform, sb.crs)


def difference_polygons(surface: Any) -> Any:
    """The difference surface as polygons of the classes :data:`DIFF_LABELS` (cells
    changed by less than a minute left out), EPSG:4326."""
    import geopandas as gpd
    from rasterio.features import shapes
    from shapely.geometry import shape
    from shapely.ops import unary_union

    minutes = surface.values / 60.0
    valid = np.isfinite(minutes)
    cls = np.searchsorted(np.asarray(DIFF_BOUNDS), np.where(valid, minutes, 0), side="left")
    neutral = DIFF_LABELS.index("within 1 min")
    mask = valid & (cls != neutral)
    parts: dict[int, list[Any]] = {}
    if mask.any():
        for geom, value in shapes(
            cls.astype(np.int16), mask=mask, transform=surface.transform, connectivity=4
        ):
            parts.setdefault(int(value), []).append(shape(geom))
    keys = sorted(parts)
    bounds = (-math.inf, *DIFF_BOUNDS, math.inf)
    frame = gpd.GeoDataFrame(
        {
            "change": [DIFF_LABELS[k] for k in keys],
            "min_from": [bounds[k] for k in keys],
            "min_to": [bounds[k + 1] for k in keys],
            "colour": [DIFF_COLOURS[k] for k in keys],
        },
        geometry=[unary_union(parts[k]) for k in keys],
        crs=surface.crs,
    )
    return frame.to_crs("EPSG:4326")


def _diff_colour(minutes: float) -> str:
    if not np.isfinite(minutes):
        return "#bdbdbd"
    return DIFF_COLOURS[int(np.searchsorted(np.asarray(DIFF_BOUNDS), minutes, side="left"))]


def scenario_map(
    changes: Any,
    column: str,
    iso_before: Any,
    iso_after: Any,
    lines: Any,
    *,
    core: tuple[float, float],
    title: str,
    offline: bool = False,
) -> Any:
    """The before/after map: isochrones to the core before and after (toggled layers),
    the change of ``column`` per zone as a diverging choropleth (minutes) above them, the
    new lines on top in :data:`LINE_COLOUR` with a legend entry (each a toggled layer).

    Parameters
    ----------
    changes
        Zones with ``{column}_change`` (seconds), ``{column}_base`` and
        ``{column}_scenario``.
    column
        The indicator drawn.
    iso_before, iso_after
        Isochrones of the baseline and the scenario.
    lines
        The new lines (:func:`connectivity.scenarios.apply.line_geometries`).
    core
        ``(lat, lon)``.
    title
        The page title (escaped).
    offline
        Make a page that needs no network.

    Returns
    -------
    map
        The folium map.
    """
    import folium
    import shapely

    from connectivity.outputs.folium_base import escape
    from connectivity.outputs.maps import isochrone_map

    m = isochrone_map(
        {"baseline": iso_before, "scenario": iso_after},
        origin=core,
        offline=offline,
        title=title,
    )
    gdf = changes.to_crs("EPSG:4326")
    change = gdf[f"{column}_change"].to_numpy(float) / 60
    before = gdf[f"{column}_base"].to_numpy(float) / 60
    after = gdf[f"{column}_scenario"].to_numpy(float) / 60
    features = []
    for k, geom in enumerate(gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "zone": escape(gdf["name"].iat[k]),
                    "change": escape(f"{change[k]:+.1f} min" if np.isfinite(change[k]) else "n/a"),
                    "before": escape(
                        f"{before[k]:.1f} min" if np.isfinite(before[k]) else "unreached"
                    ),
                    "after": escape(
                        f"{after[k]:.1f} min" if np.isfinite(after[k]) else "unreached"
                    ),
                    "fill": _diff_colour(change[k]),
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    # The gain layer and the lines in panes above the isochrones (overlayPane is 400).
    folium.map.CustomPane("gain", z_index=450, pointer_events=True).add_to(m)
    folium.map.CustomPane("lines", z_index=460, pointer_events=True).add_to(m)
    group = folium.FeatureGroup(name=escape("Change of the time to the core"), show=True)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        pane="gain",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#333333",
            "weight": 1,
            "fillOpacity": 0.45,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["zone", "change", "before", "after"],
            aliases=["zone", "change", "before", "after"],
            sticky=True,
        ),
    ).add_to(group)
    # The layer control must come after every layer it lists: move it to the end.
    controls = [k for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    moved = [m._children.pop(k) for k in controls]
    group.add_to(m)
    if lines is not None and len(lines):
        drawn = folium.FeatureGroup(name=escape(LINE_LABEL), show=True)
        line_features = [
            {
                "type": "Feature",
                "properties": {"line": escape(f"{name} ({mode}, proposed)")},
                "geometry": shapely.geometry.mapping(geom),
            }
            for name, mode, geom in zip(lines["name"], lines["mode"], lines.geometry, strict=True)
        ]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": line_features},
            pane="lines",
            style_function=lambda f: {"color": LINE_COLOUR, "weight": 5, "opacity": 0.9},
            tooltip=folium.GeoJsonTooltip(fields=["line"], labels=False),
        ).add_to(drawn)
        drawn.add_to(m)
    for control in moved or [folium.LayerControl(collapsed=False)]:
        control.add_to(m)
    # The isochrones' legend stays at the bottom left; this one goes bottom right.
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'vertical-align:middle;background:{c};border:1px solid #555"></span>{escape(t)}</div>'
        for c, t in zip(DIFF_COLOURS, DIFF_LABELS, strict=True)
    )
    if lines is not None and len(lines):
        rows += (
            '<div><span style="display:inline-block;width:14px;height:4px;margin:5px 6px 5px 0;'
            f'vertical-align:middle;background:{LINE_COLOUR}"></span>{escape(LINE_LABEL)}</div>'
        )
    root: Any = m.get_root()
    root.html.add_child(
        folium.Element(
            '<div class="connectivity-change-legend" '
            'style="position:fixed;bottom:24px;right:12px;z-index:1000;background:#fff;'
            'padding:8px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif">'
            f"<b>{escape('Change of the time to the core')}</b>{rows}</div>"
        )
    )
    return m


def scenario_png(
    changes: Any,
    column: str,
    iso_after: Any,
    lines: Any,
    path: str | Path,
    *,
    core: tuple[float, float],
    title: str,
    size: tuple[float, float] = (10.0, 8.0),
    dpi: int = 120,
) -> Path:
    """The view of :func:`scenario_map` as a PNG: the scenario's isochrones to the core
    (light), the change of ``column`` per zone in the classes of :data:`DIFF_LABELS`
    above them, the zones named, the new lines in :data:`LINE_COLOUR` and the core.

    Parameters
    ----------
    changes, column, iso_after, lines, core, title
        As :func:`scenario_map` (``core`` is ``(lat, lon)``).
    path
        The ``.png`` file to write (atomically).
    size, dpi
        As :func:`connectivity.outputs.static_map.static_map`.

    Returns
    -------
    path
        The file written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from connectivity.outputs.static_map import draw_isochrones, finish

    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    handles: list[Any] = []
    try:
        if iso_after is not None and len(iso_after):
            handles += draw_isochrones(ax, iso_after, "time to the core, scenario", alpha=0.6)
        zones = changes.to_crs("EPSG:4326")
        change = zones[f"{column}_change"].to_numpy(float) / 60
        colours = [_diff_colour(v) for v in change]
        zones.plot(ax=ax, color=colours, edgecolor="#333333", linewidth=0.8, alpha=0.55)
        for name, geom in zip(zones["name"], zones.geometry, strict=True):
            if geom is not None and not geom.is_empty:
                at = geom.representative_point()
                ax.annotate(str(name), (at.x, at.y), fontsize=7, ha="center", color="#222222")
        handles.append(Patch(color="none", label="change of the time to the core"))
        present = set(colours)
        handles += [
            Patch(facecolor=c, edgecolor="#333333", alpha=0.55, label=t)
            for c, t in zip(DIFF_COLOURS, DIFF_LABELS, strict=True)
            if c in present
        ]
        if "#bdbdbd" in present:
            handles.append(Patch(facecolor="#bdbdbd", edgecolor="#333333", label="unreached"))
        if lines is not None and len(lines):
            lines.to_crs("EPSG:4326").plot(ax=ax, color=LINE_COLOUR, linewidth=3.5)
            handles.append(Line2D([], [], color=LINE_COLOUR, linewidth=3.5, label=LINE_LABEL))
        ax.plot([core[1]], [core[0]], "o", color="#e31a1c", markeredgecolor="black", ms=8)
        handles.append(
            Line2D([], [], marker="o", color="#e31a1c", ls="", mec="black", label="core")
        )
        finish(fig, ax, path, handles, title, title_size=10)
    finally:
        plt.close(fig)
    logger.info("wrote the scenario picture to %s", path)
    return Path(path)


#: The columns of ``variants.csv`` before those per cutoff (any numeric one may be
#: ``rank_by``): see the module docstring.
TABLE_COLUMNS = (
    "modifications",
    "new_lines",
    "route_km",
    "new_stops",
    "reused_stops",
    "added_trips",
    "added_vehicle_hours",
    "peak_vehicles",
    "mean_change_min",
)
#: The columns per cutoff ``{c}`` (``45min``...).
CUTOFF_COLUMNS = (
    "newly_within_{c}",
    "no_longer_within_{c}",
    "net_gain_{c}",
    "gain_per_km_{c}",
    "gain_per_vehicle_hour_{c}",
)
#: Columns where less is better: ranked ascending.
_ASCENDING = (
    "mean_change",
    "no_longer",
    "route_km",
    "new_stops",
    "added_trips",
    "added_vehicle_hours",
    "peak_vehicles",
)


#: The usage of the lines: the first minutes of the window, a few draws of the phases
#: (people leave from 1 km cells; the usage is a summary, the times are the study's).
USAGE_WINDOW = 600
USAGE_DRAWS = 5


def _usage(network: Any, pop: np.ndarray, core: Any, spec: ScenarioSpec) -> Any:
    """Who rides what to the core: :func:`connectivity.bottlenecks.transit.usage_ranking`
    over the first :data:`USAGE_WINDOW` seconds of the study's window, or None without
    a timetable."""
    from connectivity.bottlenecks.transit import usage_ranking

    if network.timetable is None or network.n_stops == 0 or not (pop > 0).any():
        return None
    return usage_ranking(
        network,
        pop,
        core,
        departure=spec.departure,
        window=min(USAGE_WINDOW, spec.window) or None,
        draws=USAGE_DRAWS,
        progress=False,
    )


def usage_change(before: Any, after: Any, new_routes: Any = ()) -> pd.DataFrame:
    """Per route, the people its journeys to the core carry in the baseline and in the
    variant (:class:`~connectivity.RouteUsage` ``routes`` tables, or None):
    ``route_id``, ``route``, ``mode``, ``new`` (a line the variant adds),
    ``riders_before``, ``riders_after``, ``change`` and ``share_after`` (of the variant's
    riders), the new lines first, then by the change, losses first."""
    cols = ["route_id", "route", "mode"]
    parts = []
    for frame, name in ((before, "riders_before"), (after, "riders_after")):
        if frame is None or not len(frame.routes):
            parts.append(pd.DataFrame(columns=[*cols, name]))
        else:
            parts.append(frame.routes[cols].assign(**{name: frame.routes["boardings"]}))
    table = parts[0].merge(parts[1], on=cols, how="outer")
    for name in ("riders_before", "riders_after"):
        table[name] = pd.to_numeric(table[name], errors="coerce").fillna(0.0)
    table["change"] = table["riders_after"] - table["riders_before"]
    riders = after.by_transit if after is not None else 0.0
    table["share_after"] = table["riders_after"] / riders if riders > 0 else np.nan
    # People to a thousandth (sums over journeys leave float noise such as -2e-11).
    for name in ("riders_before", "riders_after", "change"):
        table[name] = table[name].round(3) + 0.0
    table["share_after"] = table["share_after"].round(6)
    table.insert(3, "new", table["route_id"].astype(str).isin({str(r) for r in new_routes}))
    table = table.sort_values(["new", "change", "route_id"], ascending=[False, True, True])
    return table.reset_index(drop=True)


def _table_columns(cutoffs: Any) -> list[str]:
    cols = [c for c in TABLE_COLUMNS if c != "modifications"]
    for c in cutoffs:
        cols += [name.format(c=f"{c / 60:g}min") for name in CUTOFF_COLUMNS]
    return cols


def _check_rank_by(spec: ScenarioSpec) -> None:
    """Fail before any work when ``rank_by`` names no column of the variants table."""
    columns = _table_columns(spec.cutoffs)
    if spec.rank_by is not None and spec.rank_by not in columns:
        raise ScenarioError(
            f"rank_by {spec.rank_by!r} is not a column of the variants table; choose one of "
            f"{', '.join(columns)}"
        )


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def run_scenario(
    scenario: str | Path | ScenarioSpec,
    out: str | Path,
    *,
    offline: bool | None = None,
    maps: bool = True,
) -> ScenarioStudy:
    """Compute a scenario file's baseline and variants and write their comparison.

    Parameters
    ----------
    scenario
        A scenario file (``.toml`` / ``.yaml``) or a read :class:`ScenarioSpec`.
    out
        The output folder (created).
    offline
        Maps that need no network (default the file's ``offline``).
    maps
        Write the HTML maps and isochrones (the slowest part on large networks).

    Returns
    -------
    study
        The ranked variants table and the files written (see the module docstring).

    Raises
    ------
    ScenarioError
        An invalid scenario or modification.
    InputFileError
        A missing input file.
    """
    import sys

    from tqdm.auto import tqdm

    from connectivity.accessibility.indicators import core_periphery
    from connectivity.accessibility.isochrones import isochrones, write_geotiff
    from connectivity.accessibility.population_osm import RELATIVE
    from connectivity.accessibility.zones import read_core
    from connectivity.outputs.folium_base import save_map
    from connectivity.scenarios.apply import apply_scenario, baseline_frames, line_geometries
    from connectivity.scenarios.service import service_change, touched_routes
    from connectivity.transit.write import write_gtfs

    quiet = not sys.stderr.isatty()
    spec = scenario if isinstance(scenario, ScenarioSpec) else read_scenario(scenario)
    _check_rank_by(spec)
    out = Path(out)
    offline = spec.offline if offline is None else offline
    net = _baseline(spec)
    streets = net.streets
    core = read_core(spec.core)
    zones = _zones(spec, core, streets)
    pop, population_note = _population(spec, streets)
    logger.info("%s", population_note)
    relative = f" (population {RELATIVE})" if RELATIVE in population_note else ""
    p = spec.percentile
    cap = float(max(spec.cutoffs))
    logger.info("baseline: %r", net)
    base_times = _core_times(net, core, spec)
    before = base_times.at("to_core", p)

    def indicators(times: Any) -> Any:
        return core_periphery(
            streets,
            zones,
            times={"transit": times},
            population=pop,
            percentiles=(p,),
            cutoffs=spec.cutoffs,
            ratio=None,
        )

    ind_before = indicators(base_times)
    usage_before = _usage(net, pop, core, spec)
    iso_before = isochrones(streets, before, cutoffs=spec.cutoffs) if maps else None
    frames = baseline_frames(net)
    line_streets = _line_streets(spec)
    day = spec.date or (net.timetable.date if net.timetable is not None else None)
    day = day or dt.date.today()
    column = f"transit_to_core_p{p:g}"
    study = ScenarioStudy(pd.DataFrame(), networks={"baseline": net})
    rows = []
    slugs: set[str] = set()
    # Every variant is applied first (cheap), so an invalid one fails before any output.
    scenarios = {}
    for name, mods in spec.variants.items():
        s = slug(name)
        if s in slugs:
            raise ScenarioError(f"variants {name!r} and another have the same file name {s!r}")
        slugs.add(s)
        scenarios[name] = apply_scenario(
            net, mods, baseline_frames=frames, line_streets=line_streets
        )
    bar = tqdm(spec.variants.items(), desc="variants", unit="variant", disable=quiet)
    for name, mods in bar:
        folder = out / slug(name)
        scen = scenarios[name]
        timetable = scen.timetable
        assert timetable is not None  # apply_scenario always makes one
        study.networks[name] = scen
        times = _core_times(scen, core, spec)
        after = times.at("to_core", p)
        ind_after = indicators(times)
        changes = _indicator_changes(ind_before, ind_after, zones.columns)
        within = newly_within(before, after, pop, spec.cutoffs)
        lines = line_geometries(scen)
        files: dict[str, Path] = {}
        from connectivity.accessibility.indicators import write_indicators

        files["indicators_csv"] = write_indicators(changes, folder / "indicators.csv")
        files["indicators_geojson"] = write_indicators(changes, folder / "indicators.geojson")
        files["newly_within"] = _write_csv(within, folder / "newly_within.csv")
        surface = difference_surface(streets, before, after, cap)
        files["difference_tif"] = write_geotiff(surface, folder / "difference.tif")
        files["difference_geojson"] = write_indicators(
            difference_polygons(surface), folder / "difference.geojson"
        )
        files["lines"] = write_indicators(lines, folder / "lines.geojson")
        if maps:
            iso_after = isochrones(streets, after, cutoffs=spec.cutoffs)
            m = scenario_map(
                changes,
                column,
                iso_before,
                iso_after,
                lines,
                core=(core.lat, core.lon),
                title=f"{spec.name}: {name}{relative}",
                offline=offline,
            )
            files["map"] = save_map(m, folder / "map.html", offline=offline)
            files["map_png"] = scenario_png(
                changes,
                column,
                iso_after,
                lines,
                folder / "map.png",
                core=(core.lat, core.lon),
                title=f"{spec.name}: {name}{relative}",
            )
        files["gtfs"] = write_gtfs(timetable, folder / "gtfs.zip", date=day)
        usage_after = _usage(scen, pop, core, spec)
        new_routes = [str(line["name"]) for line in scen.meta["lines"]]
        usage = usage_change(usage_before, usage_after, new_routes)
        files["usage"] = _write_csv(usage, folder / "usage.csv")
        study.files[name] = files
        km = float(lines["km"].sum()) if len(lines) else 0.0
        service = service_change(net.timetable, timetable, touched_routes(mods))
        hours = service["added_vehicle_hours"]
        reached = np.isfinite(before) & np.isfinite(after) & (pop > 0)
        mean_change = (
            float(np.average(after[reached] - before[reached], weights=pop[reached])) / 60
            if reached.any()
            else math.nan
        )
        row: dict[str, Any] = {
            "variant": name,
            "modifications": len(mods),
            "new_lines": int((lines["kind"] == "line").sum()) if len(lines) else 0,
            "route_km": km,
            "new_stops": len(scen.meta["new_stops"]),
            "reused_stops": int(sum(line.get("reused_stops", 0) for line in scen.meta["lines"])),
            **service,
            "mean_change_min": mean_change,
            "new_line_riders_share": (
                float(
                    usage_after.routes.loc[
                        usage_after.routes["route_id"].astype(str).isin(new_routes), "boardings"
                    ].sum()
                )
                / usage_after.by_transit
                if usage_after is not None and usage_after.by_transit > 0
                else math.nan
            ),
        }
        for _, w in within.iterrows():
            tag = f"{w['cutoff_min']:g}min"
            row[f"newly_within_{tag}"] = w["newly_within"]
            row[f"no_longer_within_{tag}"] = w["no_longer_within"]
            row[f"net_gain_{tag}"] = w["net_change"]
            row[f"gain_per_km_{tag}"] = w["net_change"] / km if km > 0 else math.nan
            row[f"gain_per_vehicle_hour_{tag}"] = w["net_change"] / hours if hours > 0 else math.nan
        rows.append(row)
        logger.info("variant %s: %s", name, row)
    table = pd.DataFrame(rows)
    mid = sorted(spec.cutoffs)[len(spec.cutoffs) // 2] / 60
    rank_by = spec.rank_by or (
        f"gain_per_km_{mid:g}min" if table["route_km"].gt(0).all() else f"net_gain_{mid:g}min"
    )
    if rank_by not in table.columns:
        raise ScenarioError(
            f"rank_by {rank_by!r} is not a column of the variants table; choose one of "
            f"{', '.join(c for c in table.columns if c != 'variant')}"
        )
    if not pd.api.types.is_numeric_dtype(table[rank_by]):
        raise ParameterError(f"rank_by {rank_by!r} is not numeric")
    ascending = rank_by.startswith(_ASCENDING)
    table = table.sort_values(rank_by, ascending=ascending, na_position="last", kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.attrs["rank_by"] = rank_by
    study.variants = table.reset_index(drop=True)
    _write_csv(study.variants, out / "variants.csv")
    return study
