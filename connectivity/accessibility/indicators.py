"""Core-periphery indicators: how well each zone of the periphery reaches the core.

The caller gives, per mode, the travel times between the core and every node of one
reference street network (the network that carries the population, usually the walk
network) as :class:`CoreTimes`: computed here over a street network by
:func:`core_times` (car, walk, bike), by :func:`transit_core_times` (walk+transit over
a departure window), or built from any routing results with :meth:`CoreTimes.from_arrays`
(times per departure of a window, or per-node percentiles). :func:`core_periphery` turns them into one row per zone; the table goes
to a CSV or GeoJSON with :func:`write_indicators` and to a short text with
:func:`report_text`. :func:`distance_profile` bins travel time against straight-line
distance from the core.

Definitions
-----------
- Per node, a mode's time *at percentile p* is the smallest time within which at least
  p % of the window's departures arrive (``numpy.percentile(..., method="inverted_cdf")``);
  a street mode has one time, the same at every percentile.
- Per zone, the time at percentile p is the **population-weighted median** over the
  zone's nodes of the nodes' times at p: the smallest ``t`` such that the nodes with a
  time ``<= t`` hold at least half of the zone's population. Unreachable nodes count as
  ``inf``; a zone without population (or without nodes) gets NaN.
- The share within a cutoff is the share of the zone's population whose median time
  *to the core* is within the cutoff.
- The ratio of two modes a / b is the ratio of their zone medians (p50), per direction:
  ``inf`` where only b reaches the zone, NaN where b does not (or takes no time).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError
from connectivity._files import atomic_path, write_text_atomic, write_vector_atomic
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

if TYPE_CHECKING:
    import geopandas as gpd

    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "CoreTimes",
    "core_periphery",
    "core_times",
    "distance_profile",
    "report_text",
    "transit_core_times",
    "write_indicators",
    "write_report",
]

logger = logging.getLogger(__name__)

DIRECTIONS = ("from_core", "to_core")


@dataclass(frozen=True, eq=False)
class CoreTimes:
    """One mode's travel times between the core and every node, in seconds.

    Attributes
    ----------
    from_core, to_core
        Percentile -> seconds per node (``inf`` where unreachable). Always holds 50.
    fixed
        True when the mode has one time per node (a street mode): every percentile is
        then that time.
    """

    from_core: dict[float, np.ndarray]
    to_core: dict[float, np.ndarray]
    fixed: bool = False

    @classmethod
    def from_arrays(
        cls, from_core: Any, to_core: Any, *, percentiles: Sequence[float] = (50,)
    ) -> CoreTimes:
        """Build from arrays.

        Parameters
        ----------
        from_core, to_core
            Each one of: seconds per node (1-D: one time per node); ``departures x
            nodes`` seconds (2-D: per-node percentiles over the departures are computed
            here); or a mapping percentile -> seconds per node (it must hold 50).
        percentiles
            Percentiles to compute from 2-D arrays (50 is always added).

        Returns
        -------
        times
            The mode's times.

        Raises
        ------
        ParameterError
            Arrays of different lengths, of more than 2 dimensions, negative times,
            percentiles outside 0..100, or a mapping without 50.
        """
        wanted = sorted({50.0, *(float(p) for p in percentiles)})
        if any(not 0 <= p <= 100 for p in wanted):
            raise ParameterError(f"percentiles must lie in 0..100, got {list(percentiles)}")
        parts = {}
        one_time = {}
        for direction, value in (("from_core", from_core), ("to_core", to_core)):
            parts[direction], one_time[direction] = _percentile_table(value, wanted, direction)
        fixed = all(one_time.values())
        if not fixed:
            # One time per node in one direction only: it is that time at every
            # percentile the other direction holds.
            held = sorted({*wanted, *parts["from_core"], *parts["to_core"]})
            for direction, single in one_time.items():
                if single:
                    parts[direction] = dict.fromkeys(held, parts[direction][50.0])
        n_from = len(parts["from_core"][50.0])
        n_to = len(parts["to_core"][50.0])
        if n_from != n_to:
            raise ParameterError(
                f"from_core has times for {n_from} nodes but to_core for {n_to}: give both "
                "over the nodes of the same network"
            )
        return cls(parts["from_core"], parts["to_core"], fixed)

    @property
    def n_nodes(self) -> int:
        """Number of nodes the times cover."""
        return len(self.from_core[50.0])

    def at(self, direction: str, percentile: float = 50) -> np.ndarray:
        """Seconds per node in ``direction`` (``"from_core"`` / ``"to_core"``) at
        ``percentile``.

        Raises
        ------
        ParameterError
            An unknown direction, or a percentile these times do not hold.
        """
        if direction not in DIRECTIONS:
            raise ParameterError(f"direction must be one of {', '.join(DIRECTIONS)}")
        table = self.from_core if direction == "from_core" else self.to_core
        p = float(percentile)
        if self.fixed:
            return table[50.0]
        if p not in table:
            held = ", ".join(f"{k:g}" for k in sorted(table))
            raise ParameterError(
                f"these travel times hold percentiles {held}, not {p:g}: compute them with "
                f"percentiles=(..., {p:g})"
            )
        return table[p]


def _percentile_table(
    value: Any, wanted: list[float], direction: str
) -> tuple[dict[float, np.ndarray], bool]:
    if isinstance(value, Mapping):
        table = {float(k): np.asarray(v, float) for k, v in value.items()}
        if 50.0 not in table:
            raise ParameterError(
                f"{direction} times given per percentile must hold the median (50), got "
                f"{', '.join(f'{k:g}' for k in sorted(table))}"
            )
        lengths = {len(v) for v in table.values()}
        if len(lengths) != 1 or any(v.ndim != 1 for v in table.values()):
            raise ParameterError(f"{direction}: every percentile needs one time per node")
        for v in table.values():
            _check_seconds(v, direction)
        return table, False
    arr = np.asarray(value, float)
    _check_seconds(arr, direction)
    if arr.ndim == 1:
        return {50.0: arr}, True
    if arr.ndim == 2:
        if arr.shape[0] == 0:
            raise ParameterError(f"{direction} has no departures (0 rows)")
        table = {
            p: np.percentile(arr, p, axis=0, method="inverted_cdf").astype(float) for p in wanted
        }
        return table, False
    raise ParameterError(
        f"{direction} times must be per node (1-D) or departures x nodes (2-D), got shape "
        f"{arr.shape}"
    )


def _check_seconds(arr: np.ndarray, where: str) -> None:
    if np.isnan(arr).any():
        raise ParameterError(f"{where} holds NaN times: use inf for unreachable nodes")
    if (arr < 0).any():
        raise ParameterError(f"{where} holds negative times: travel times are seconds >= 0")


def core_times(
    network: StreetNetwork,
    core: Any,
    *,
    on: StreetNetwork | None = None,
    max_distance: float = DEFAULT_SNAP_DISTANCE,
) -> CoreTimes:
    """Travel times between the core and every node over a street network (car by a
    drive network, or walk, bike).

    From the core: a Dijkstra from the core's node (:meth:`connectivity.accessibility.zones.Core.node`);
    to the core: a Dijkstra from the same node over the reversed graph, so one-way
    streets count in the right direction.

    Parameters
    ----------
    network
        The street network of the mode.
    core
        The core (anything :func:`connectivity.accessibility.zones.read_core` accepts).
    on
        Another network (the reference network that carries the population, e.g. the
        walk network) whose nodes the times are given for: each of its nodes takes the
        times of its nearest node of ``network``, with no time added for the distance
        between them. By default the times are for ``network``'s own nodes.
    max_distance
        Largest distance in metres from the core to its node.

    Returns
    -------
    times
        Fixed (one time per node) times from and to the core.

    Raises
    ------
    OutsideNetworkError
        The core lies off the network.
    """
    from scipy.sparse.csgraph import dijkstra

    from connectivity.accessibility.zones import read_core

    node = read_core(core).node(network, max_distance=max_distance)
    from_core = np.asarray(dijkstra(network.csr, indices=node), float)
    to_core = np.asarray(dijkstra(network.csr.T.tocsr(), indices=node), float)
    if on is not None and on is not network:
        nearest = _nearest_nodes_of(network, on)
        from_core, to_core = from_core[nearest], to_core[nearest]
    return CoreTimes({50.0: from_core}, {50.0: to_core}, fixed=True)


def transit_core_times(
    network: Any,
    core: Any,
    *,
    departure: Any,
    window: float | None = 3600,
    percentiles: Sequence[float] = (50,),
    **options: Any,
) -> CoreTimes:
    """Walk+transit times between the core and every node of the walk network.

    From the core: :func:`connectivity.routing.queries.travel_times` from the core's point
    (the point, or a polygon's centroid), leaving at every minute of
    ``[departure, departure + window)``. To the core:
    :func:`connectivity.routing.queries.latest_departures` towards the same point, arriving at
    every minute of ``(departure, departure + window]``: per node, the time from the
    latest departure that still arrives by that minute. Per-node percentiles are over
    those minutes (nearest rank, unreached minutes counting as ``inf``).

    Parameters
    ----------
    network
        An :class:`connectivity.network.intermodal.IntermodalNetwork` with a timetable.
    core
        The core (anything :func:`connectivity.accessibility.zones.read_core` accepts).
    departure
        Start of the window, as routing accepts it (seconds after midnight, a time, or
        ``"YYYY-MM-DDTHH:MM"`` on the timetable's date).
    window
        Seconds of the window (``None``: the single minute ``departure``, and arrival
        by ``departure`` to the core).
    percentiles
        Per-node percentiles to keep (the median always).
    **options
        Passed to both routing calls (``max_transfers``, ``max_walk_time``, ...).

    Returns
    -------
    times
        Times over the nodes of ``network.streets``.
    """
    from connectivity.accessibility.zones import read_core
    from connectivity.routing.queries import latest_departures, parse_departure, travel_times

    point = read_core(core)
    origin = (point.lon, point.lat)
    start = parse_departure(network, departure)
    pcts = tuple(sorted({50.0, *(float(p) for p in percentiles)}))
    forward = travel_times(
        network, origin, departure=start, window=window, percentiles=pcts, **options
    )
    arrival = start + int(window) if window else start
    backward = latest_departures(
        network, origin, arrival=arrival, window=window, percentiles=pcts, **options
    )
    return CoreTimes.from_arrays(
        np.asarray(forward.nodes, float), np.asarray(backward.nodes, float), percentiles=pcts
    )


def _nearest_nodes_of(network: StreetNetwork, on: StreetNetwork) -> np.ndarray:
    if on.crs == network.crs:
        x, y = on.nodes["x"].to_numpy(), on.nodes["y"].to_numpy()
    else:
        x, y = network.project(on.nodes["lon"].to_numpy(), on.nodes["lat"].to_numpy())
    dist, idx = network._kdtree.query(np.column_stack([x, y]))
    far = dist > DEFAULT_SNAP_DISTANCE
    if far.any():
        logger.info(
            "%d of %d %s nodes lie more than %g m from the %s network (up to %.0f m); they "
            "take the times of their nearest node all the same",
            far.sum(),
            len(dist),
            on.mode,
            DEFAULT_SNAP_DISTANCE,
            network.mode,
            dist.max(),
        )
    return np.asarray(idx, np.int64)


def core_periphery(
    network: StreetNetwork,
    zones: gpd.GeoDataFrame | str | Path,
    *,
    times: Mapping[str, CoreTimes],
    population: Any | None = None,
    percentiles: Sequence[float] = (50,),
    cutoffs: Sequence[float] = (1800, 2700, 3600),
    ratio: tuple[str, str] | None = ("transit", "car"),
    accessibility: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Indicators per zone: population, travel times to and from the core by mode, the
    ratio of two modes, the share of the population within cutoffs of the core.

    Parameters
    ----------
    network
        The reference network: ``times``, ``population`` and ``accessibility`` are
        given for its nodes.
    zones
        Named zones: a GeoDataFrame (from :func:`connectivity.accessibility.zones.read_zones` or
        :func:`connectivity.accessibility.zones.ring_zones`; a ``name`` column is used as is) or a
        vector file path.
    times
        Mode name (``"car"``, ``"transit"``, ``"walk"``...) -> :class:`CoreTimes`.
    population
        Population (weight) per node; by default every node weighs 1, so the
        ``population`` column counts nodes.
    percentiles
        Percentiles of the per-node times to report (the median is always reported).
    cutoffs
        Cutoffs in seconds for the shares of population near the core.
    ratio
        Two modes ``(a, b)`` whose median-time ratio ``a / b`` to report, when both are
        in ``times`` (None for none).
    accessibility
        Name -> value per node (e.g. jobs within 45 minutes); reported as the
        population-weighted mean over the zone's nodes with a finite value.

    Returns
    -------
    indicators
        The zones' ``name`` and geometry (EPSG:4326) and the zones' other columns, then
        ``nodes``, ``population``; per mode and direction ``{mode}_{direction}_p{p}``
        (seconds); per mode ``{mode}_share_{minutes}min`` (0..1);
        ``{a}_{b}_ratio_from_core`` and ``{a}_{b}_ratio_to_core``; ``access_{name}``.
        Definitions in the module docstring.

    Raises
    ------
    ParameterError
        Arrays whose length is not the network's node count, no modes, bad cutoffs or
        percentiles, negative population.
    """
    from connectivity.accessibility.zones import read_zones, zone_of_nodes

    n = network.n_nodes
    if not times:
        raise ParameterError("times is empty: give at least one mode, e.g. {'car': ...}")
    for mode, t in times.items():
        if not isinstance(t, CoreTimes):
            raise ParameterError(
                f"times[{mode!r}] is a {type(t).__name__}: give CoreTimes (core_times(...) or "
                "CoreTimes.from_arrays(...))"
            )
        if t.n_nodes != n:
            raise ParameterError(
                f"times[{mode!r}] covers {t.n_nodes} nodes but the {network.mode} network has "
                f"{n}: give times over the reference network's nodes (core_times(..., on=...))"
            )
    pop = _per_node(population, n, "population", default=1.0)
    if (pop < 0).any() or not np.isfinite(pop).all():
        raise ParameterError("population must be finite and >= 0 at every node")
    cuts = [float(c) for c in cutoffs]
    if any(not (math.isfinite(c) and c >= 0) for c in cuts):
        raise ParameterError(f"cutoffs must be seconds >= 0, got {list(cutoffs)}")
    pcts = sorted({50.0, *(float(p) for p in percentiles)})
    if any(not 0 <= p <= 100 for p in pcts):
        raise ParameterError(f"percentiles must lie in 0..100, got {list(percentiles)}")
    access = {
        name: _per_node(values, n, f"accessibility[{name!r}]")
        for name, values in (accessibility or {}).items()
    }

    zones = read_zones(zones)
    zone = zone_of_nodes(network, zones)
    out = zones.copy()
    members = [np.flatnonzero(zone == z) for z in range(len(zones))]
    out["nodes"] = [len(m) for m in members]
    out["population"] = [float(pop[m].sum()) for m in members]
    for mode, t in times.items():
        for direction in DIRECTIONS:
            for p in pcts:
                values = t.at(direction, p)
                out[f"{mode}_{direction}_p{p:g}"] = [
                    _weighted_quantile(values[m], pop[m], 0.5) for m in members
                ]
        median_to = t.at("to_core", 50)
        for c in cuts:
            out[f"{mode}_share_{c / 60:g}min"] = [
                _share_within(median_to[m], pop[m], c) for m in members
            ]
    if ratio is not None and ratio[0] in times and ratio[1] in times:
        a, b = ratio
        for direction in DIRECTIONS:
            top = out[f"{a}_{direction}_p50"].to_numpy(float)
            bottom = out[f"{b}_{direction}_p50"].to_numpy(float)
            # Defined where b arrives and takes time: inf where only b arrives.
            ok = np.isfinite(bottom) & (bottom > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{a}_{b}_ratio_{direction}"] = np.where(ok, top / bottom, np.nan)
    for name, values in access.items():
        out[f"access_{name}"] = [_weighted_mean(values[m], pop[m]) for m in members]
    outside = int((zone < 0).sum())
    if outside:
        logger.info(
            "%d of %d nodes (population %s) lie outside every zone",
            outside,
            n,
            f"{pop[zone < 0].sum():,.6g}",
        )
    return out


def _per_node(values: Any, n: int, what: str, default: float | None = None) -> np.ndarray:
    if values is None:
        if default is None:
            raise ParameterError(f"{what} is missing")
        return np.full(n, default)
    arr = np.asarray(values, float)
    if arr.shape != (n,):
        raise ParameterError(
            f"{what} has shape {arr.shape}, the network has {n} nodes: give one value per node"
        )
    return arr


def _share_within(values: np.ndarray, weights: np.ndarray, cutoff: float) -> float:
    total = weights.sum()
    if total <= 0:
        return math.nan
    return float(weights[values <= cutoff].sum() / total)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values)
    total = weights[ok].sum()
    if total <= 0:
        return math.nan
    return float((values[ok] * weights[ok]).sum() / total)


def distance_profile(
    network: StreetNetwork,
    core: Any,
    times: Mapping[str, CoreTimes | Any],
    *,
    direction: str = "to_core",
    bin_km: float = 1.0,
    population: Any | None = None,
) -> pd.DataFrame:
    """Travel time against straight-line distance from the core, binned.

    Parameters
    ----------
    network
        The network the times are given for.
    core
        The core (anything :func:`connectivity.accessibility.zones.read_core` accepts); distances are
        to its geometry (0 inside a polygon core), in the network's CRS.
    times
        Mode -> :class:`CoreTimes` (read in ``direction`` at the median) or seconds per
        node.
    direction
        ``"to_core"`` or ``"from_core"``, for :class:`CoreTimes`.
    bin_km
        Width of the distance bins in kilometres.
    population
        Weights per node for the percentiles (default: every node weighs 1).

    Returns
    -------
    profile
        One row per non-empty bin: ``from_km``, ``to_km`` (a node at distance ``d`` is in
        the bin with ``from_km <= d < to_km``), ``nodes``, ``population``, and per mode
        ``{mode}_p25``, ``{mode}_p50``, ``{mode}_p75`` (seconds; weighted percentiles
        over the bin's nodes, ``inf`` counting as unreachable) and ``{mode}_reached``
        (share of the bin's population with a finite time).
    """
    import shapely

    from connectivity.accessibility.zones import read_core

    if not (math.isfinite(bin_km) and bin_km > 0):
        raise ParameterError(f"bin_km must be a positive number of kilometres, got {bin_km}")
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {', '.join(DIRECTIONS)}")
    n = network.n_nodes
    pop = _per_node(population, n, "population", default=1.0)
    series = {}
    for mode, t in times.items():
        values = t.at(direction, 50) if isinstance(t, CoreTimes) else t
        series[mode] = _per_node(values, n, f"times[{mode!r}]")
    centre = read_core(core).projected(network.crs)
    points = shapely.points(network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy())
    dist_km = np.asarray(shapely.distance(centre, points), float) / 1000.0
    which = np.floor(dist_km / bin_km).astype(np.int64)
    rows = []
    for b in np.unique(which):
        m = np.flatnonzero(which == b)
        row: dict[str, float] = {
            "from_km": b * bin_km,
            "to_km": (b + 1) * bin_km,
            "nodes": len(m),
            "population": float(pop[m].sum()),
        }
        for mode, values in series.items():
            for q in (25, 50, 75):
                row[f"{mode}_p{q}"] = _weighted_quantile(values[m], pop[m], q / 100)
            total = pop[m].sum()
            row[f"{mode}_reached"] = (
                float(pop[m][np.isfinite(values[m])].sum() / total) if total > 0 else math.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value ``v`` such that the values ``<= v`` hold at least the share
    ``q`` of the weight (NaN when the weight is 0)."""
    total = weights.sum()
    if len(values) == 0 or total <= 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * total * (1 - 1e-12))])


def write_indicators(indicators: Any, path: str | Path) -> Path:
    """Write indicators atomically: ``.csv`` (no geometry), ``.geojson`` or ``.gpkg``.

    The CSV keeps unreached times as ``inf``; GeoJSON and GeoPackage have no infinity,
    so there both ``inf`` and NaN become null.

    Parameters
    ----------
    indicators
        A (Geo)DataFrame from :func:`core_periphery` or :func:`distance_profile`.
    path
        The output file; its suffix chooses the format.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    ParameterError
        An unknown suffix, or a vector format for a table without geometry.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    drivers = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
    if suffix == ".csv":
        frame = pd.DataFrame(indicators)
        geometry = getattr(indicators, "_geometry_column_name", None)
        if geometry in frame.columns:
            frame = frame.drop(columns=geometry)
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
        return path
    if suffix in drivers:
        if not hasattr(indicators, "geometry"):
            raise ParameterError(
                f"{path.name}: a {drivers[suffix]} file needs geometries; write this table as .csv"
            )
        frame = indicators.copy()
        for column in frame.columns:
            values = frame[column]
            if pd.api.types.is_float_dtype(values.dtype) and not np.isfinite(values).all():
                # GeoJSON and GeoPackage hold no infinity: write null for inf and NaN.
                frame[column] = values.astype("Float64").mask(~np.isfinite(values))
        write_vector_atomic(frame, path, driver=drivers[suffix], layer="indicators")
        return path
    raise ParameterError(f"cannot write {path.name}: use a .csv, .geojson or .gpkg file name")


def _minutes(seconds: float) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if math.isinf(seconds):
        return "unreached"
    return f"{seconds / 60:.0f} min"


def report_text(indicators: Any, *, title: str = "Core-periphery indicators") -> str:
    """A short plain-text report of :func:`core_periphery`'s table.

    One line per zone: population, the median time to and from the core by each mode,
    the ratio of the two compared modes, and the shares of population within each cutoff
    of the core by each mode.

    Parameters
    ----------
    indicators
        The table from :func:`core_periphery`.
    title
        The first line.

    Returns
    -------
    text
        The report, lines joined by newlines, ending with a newline.
    """
    columns = list(indicators.columns)
    modes = [c[: -len("_to_core_p50")] for c in columns if c.endswith("_to_core_p50")]
    ratios = [c for c in columns if "_ratio_to_core" in c]
    total = float(indicators["population"].sum())
    lines = [f"{title}: {len(indicators)} zones, population {total:,.0f}", ""]
    for _, row in indicators.iterrows():
        parts = [f"{row['name']}: population {row['population']:,.0f} ({row['nodes']} nodes)"]
        for mode in modes:
            shares = [
                f"{row[c]:.0%} within {c.rsplit('_', 1)[1]}"
                for c in columns
                if c.startswith(f"{mode}_share_") and not math.isnan(row[c])
            ]
            text = (
                f"{mode} to core {_minutes(row[f'{mode}_to_core_p50'])}, "
                f"from core {_minutes(row[f'{mode}_from_core_p50'])}"
            )
            if shares:
                text += f" ({', '.join(shares)})"
            parts.append(text)
        for c in ratios:
            pair = c[: -len("_ratio_to_core")]
            a, b = next(((a, b) for a in modes for b in modes if f"{a}_{b}" == pair), (pair, ""))
            if math.isfinite(row[c]):
                parts.append(f"{a}/{b} time ratio to core {row[c]:.2f}")
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def write_report(indicators: Any, path: str | Path, **options: Any) -> Path:
    """Write :func:`report_text` to ``path`` atomically and return the path."""
    return write_text_atomic(path, report_text(indicators, **options))
