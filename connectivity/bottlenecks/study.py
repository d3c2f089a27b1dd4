"""The whole bottleneck study: the study area, the ranked candidates, the outputs.

:func:`study_area` resolves the core, the periphery zones and the population onto a
network (a :class:`StudyArea`). :func:`find_bottlenecks` runs the whole study: the
core-periphery betweenness picks the ``top`` candidates, each is removed in turn
(:func:`connectivity.bottlenecks.criticality.criticality`), the structure measures
(bridges, minimum cuts, betweenness) are added, and the result is a :class:`Bottlenecks`
(a ranked GeoDataFrame in EPSG:4326, the cuts, the zones; ``write()`` writes the tables;
the map is :mod:`connectivity.outputs.bottleneck_map`).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectivity._errors import EmptyNetworkError, ParameterError
from connectivity._files import atomic_path, write_text_atomic
from connectivity.bottlenecks.criticality import (
    KINDS,
    _check_cutoffs,
    _corridors,
    _first_text,
    _pairs,
    _set_scores,
    criticality,
    population_weighted_times,
    removal_sets,
)
from connectivity.bottlenecks.structure import (
    _Arrays,
    _check_network,
    _od_flows,
    _weights,
    bridges,
    edge_betweenness,
    min_cuts,
    node_betweenness,
)
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

if TYPE_CHECKING:
    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "Bottlenecks", "StudyArea", "find_bottlenecks", "road_kind", "road_label", "road_text",
    "study_area",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: Kinds whose candidates are nodes (scored by the trips passing through them).
_NODE_KINDS = ("node", "stop")


def _busiest(values: np.ndarray, pair: np.ndarray, members: np.ndarray) -> float:
    """The largest sum of ``values`` over the edges of one node pair among ``members``."""
    sums = pd.Series(values[members]).groupby(pair[members]).sum()
    return float(sums.max())


# -- the study area: core, zones, population ----------------------------------------


@dataclass(eq=False)
class StudyArea:
    """The core, the periphery zones and the population, resolved onto a network.

    Attributes
    ----------
    core_nodes
        Node positions inside the core area (sources of the minimum cuts).
    sources
        Node positions of the trips' origins and destinations in the core (one node:
        :meth:`connectivity.accessibility.zones.Core.node`).
    zone_of_node
        Zone index of each node (-1: core or no zone; the first zone wins on overlaps).
    zone_names
        Names of the zones, by index.
    population
        Population of each node position (0 outside the zones).
    zones
        The zones in EPSG:4326 with ``name``, ``n_nodes`` and ``population`` columns.
    core
        The core area in EPSG:4326.
    name
        The core's name.
    """

    core_nodes: np.ndarray
    sources: np.ndarray
    zone_of_node: np.ndarray
    zone_names: list[str]
    population: np.ndarray
    zones: Any
    core: Any
    name: str = "core"

    def zone_nodes(self) -> dict[str, np.ndarray]:
        """Zone name -> node positions."""
        return {
            name: np.flatnonzero(self.zone_of_node == i) for i, name in enumerate(self.zone_names)
        }


def _population(
    network: StreetNetwork, population: Any, column: str | None, max_distance: float
) -> np.ndarray:
    if population is None:
        ones = np.zeros(network.n_nodes)
        ones[_street_nodes(network)] = 1.0
        return ones
    if isinstance(population, np.ndarray | pd.Series | list | tuple):
        return _weights(network, population, "population")
    from connectivity.accessibility.opportunities import assign_opportunities
    from connectivity.streets.graph import StreetNetwork

    street = _street_nodes(network)
    if len(street) == network.n_nodes:
        on = network
    else:  # a transit view: people live by the streets, not on stops or in vehicles
        on = StreetNetwork(
            mode=network.mode,
            crs=network.crs,
            nodes=network.nodes.iloc[street].reset_index(drop=True),
            edges=network.edges.iloc[:0],
        )
    weights, _report = assign_opportunities(
        on, population, column=column, max_distance=max_distance
    )
    out = np.zeros(network.n_nodes)
    out[street] = weights
    return out


def _street_nodes(network: StreetNetwork) -> np.ndarray:
    """Positions of the street nodes (all nodes, except in a transit view)."""
    if "kind" not in network.nodes.columns:
        return np.arange(network.n_nodes)
    return np.flatnonzero((network.nodes["kind"] == "street").to_numpy())


def study_area(
    network: StreetNetwork,
    *,
    core: Any,
    zones: Any,
    population: Any | None = None,
    population_column: str | None = None,
    core_radius: float = 1000.0,
    max_distance: float = DEFAULT_SNAP_DISTANCE,
) -> StudyArea:
    """Resolve the core, the periphery zones and the population onto a network.

    Parameters
    ----------
    network
        A street network.
    core
        Anything :func:`connectivity.accessibility.zones.read_core` accepts: ``(lat, lon)``,
        ``"LAT,LON"``, a polygon (shapely in EPSG:4326, GeoDataFrame, vector file) or a
        place name. Trips start and end at :meth:`Core.node` (the node nearest the point
        or the polygon's centroid), as in the accessibility indicators. The core *area*
        (the source side of the minimum cuts, and left out of the zones) is the polygon,
        or the disc of ``core_radius`` metres around a point.
    zones
        Periphery zones: anything :func:`connectivity.accessibility.zones.read_zones` accepts, or a
        number: rings of that width in km around the core
        (:func:`connectivity.accessibility.zones.ring_zones`).
    population
        None (every street node of a zone weighs 1), one value per node position, or anything
        :func:`connectivity.accessibility.opportunities.assign_opportunities` accepts (points, grid,
        raster), put on the nearest nodes.
    population_column
        Column of the population in ``population``.
    core_radius
        Radius in metres of the core area around a core point.
    max_distance
        Population farther than this (m) from every node is left out (with a warning),
        and the core must lie within it of a node.

    Returns
    -------
    study
        The resolved :class:`StudyArea`.
    """
    import geopandas as gpd
    import shapely

    from connectivity.accessibility.zones import read_core, read_zones, ring_zones, zone_of_nodes

    _check_network(network)
    if not (isinstance(core_radius, int | float | np.number) and core_radius > 0):
        raise ParameterError(f"core_radius={core_radius!r} must be a positive number of metres")
    the_core = read_core(core)
    source = the_core.node(network, max_distance=max_distance)
    area = the_core.projected(network.crs)
    street = _street_nodes(network)
    if len(street) < network.n_nodes:
        # A transit view: trips start on the street nearest the core, not at a stop.
        centre = area.centroid
        xy_s = network.nodes[["x", "y"]].to_numpy(float)[street]
        source = int(street[np.argmin(np.hypot(xy_s[:, 0] - centre.x, xy_s[:, 1] - centre.y))])
    if the_core.is_point:
        area = area.buffer(core_radius, quad_segs=32)
    xy = network.nodes[["x", "y"]].to_numpy(float)
    core_nodes = np.union1d(
        np.flatnonzero(shapely.contains_xy(area, xy[:, 0], xy[:, 1])), [source]
    ).astype(np.int64)
    if isinstance(zones, int | float) and not isinstance(zones, bool):
        zones_gdf = ring_zones(the_core, network=network, every_km=float(zones))
    else:
        zones_gdf = read_zones(zones)
    names = zones_gdf["name"].astype(str).tolist()
    if len(set(names)) != len(names):
        dup = pd.Series(names)[pd.Series(names).duplicated()].iloc[0]
        raise ParameterError(f"zone name {dup!r} appears twice: give every zone its own name")
    zone_of_node = zone_of_nodes(network, zones_gdf)
    zone_of_node[core_nodes] = -1
    pop = _population(network, population, population_column, max_distance)
    pop = np.where(zone_of_node >= 0, pop, 0.0)
    counts = np.bincount(zone_of_node[zone_of_node >= 0], minlength=len(names))
    zones_out = gpd.GeoDataFrame(
        {
            "name": names,
            "n_nodes": counts,
            "population": np.bincount(
                zone_of_node[zone_of_node >= 0],
                weights=pop[zone_of_node >= 0],
                minlength=len(names),
            ),
        },
        geometry=zones_gdf.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    empty = [n for n, c in zip(names, counts, strict=True) if c == 0]
    if empty:
        logger.warning("zones without any network node beyond the core: %s", ", ".join(empty))
    if pop.sum() <= 0:
        raise ParameterError(
            "no population lies in the periphery zones beyond the core: check that the "
            "zones and the population cover the network outside the core area"
        )
    core_4326 = gpd.GeoSeries([area], crs=network.crs).to_crs("EPSG:4326").iloc[0]
    return StudyArea(
        core_nodes=core_nodes,
        sources=np.asarray([source], np.int64),
        zone_of_node=zone_of_node,
        zone_names=names,
        population=pop,
        zones=zones_out,
        core=core_4326,
        name=the_core.name,
    )


# -- the whole study -----------------------------------------------------------------


@dataclass(eq=False)
class Bottlenecks:
    """The result of :func:`find_bottlenecks`.

    Attributes
    ----------
    table
        Ranked candidates (GeoDataFrame, EPSG:4326): ``rank``, ``kind``, ``key``,
        ``road`` (``"name (ref)"``, e.g. "Konrad-Adenauer-Brücke (B 37)", or "unnamed
        residential"), ``road_kind`` (the class and the structure: "motorway",
        "primary bridge", "trunk tunnel"), ``name``, ``ref``, ``highway``, ``bridge`` and
        ``tunnel`` (OSM's ``bridge=*`` / ``tunnel=*`` on one of its ways), ``osm_ways``,
        ``edges``, ``od_trips`` (core-periphery betweenness), ``betweenness``
        (all-pairs, estimated or exact), ``graph_bridge`` (a bridge of the graph: closing
        it splits the network, whatever OSM calls it), ``min_cut_zones``,
        ``merged_roads``, and every column of :func:`criticality`.
    cuts
        Minimum cuts per zone and direction (see :func:`min_cuts`).
    zones
        The zones with their node counts and population.
    baseline
        :func:`population_weighted_times` of the intact network.
    study
        The resolved :class:`StudyArea`.
    mode
        The network's mode.
    indicators
        The intact network's indicators per zone from
        :func:`connectivity.accessibility.indicators.core_periphery` (population-weighted median times to
        and from the core, shares within the cutoffs), for the same core node and
        population.
    population_note
        Where the population comes from, one line (say ``relative: no population
        data`` when the weights are not people); the map shows it in its title.
    """

    table: Any
    cuts: pd.DataFrame
    zones: Any
    baseline: pd.DataFrame
    study: StudyArea
    mode: str
    indicators: Any = None
    population_note: str = ""

    def to_map(self, *, top: int | None = None) -> Any:
        """Deprecated: use :func:`connectivity.bottleneck_map` (removed in 0.3).

        Maps are an output of a later stage (:mod:`connectivity.outputs`); this shim
        loads it at call time, so :mod:`connectivity.bottlenecks` itself never imports
        it (the layer contract in ``pyproject.toml``).
        """
        warnings.warn(
            "Bottlenecks.to_map(...) is deprecated and goes in 0.3: "
            "use connectivity.bottleneck_map(result, top=...)",
            FutureWarning,
            stacklevel=2,
        )
        return _outputs().bottleneck_map(self, top=top)

    def write(
        self,
        folder: str | os.PathLike[str],
        *,
        html: bool | None = None,
        top: int | None = None,
        offline: bool = False,
        leaflet: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Write the tables into ``folder``, each file atomically.

        The map is an output of a later stage:
        :func:`connectivity.write_bottlenecks` writes these tables and
        ``bottlenecks.html``, as the command line does. Until 0.3, ``write`` still
        writes the map too unless ``html=False``, with a ``FutureWarning``.

        Parameters
        ----------
        folder
            Created if missing.
        html
            False: the tables only (what ``write`` does from 0.3 on). None (the
            default) or True: also ``bottlenecks.html``, deprecated.
        top, offline, leaflet
            Deprecated map options, passed to :func:`connectivity.write_bottlenecks`.

        Returns
        -------
        paths
            ``bottlenecks.csv`` (geometry as WKT), ``bottlenecks.geojson``, ``cuts.csv``,
            ``baseline.csv`` and ``indicators.csv`` (per zone); then ``bottlenecks.html``
            unless ``html=False``.
        """
        if html is not False:
            warnings.warn(
                "Bottlenecks.write(...) will write the tables only from 0.3: use "
                "connectivity.write_bottlenecks(result, folder, top=..., offline=...) "
                "for the tables and the map, or write(folder, html=False) for the tables",
                FutureWarning,
                stacklevel=2,
            )
            return _outputs().write_bottlenecks(
                self, folder, top=top, offline=offline, leaflet=leaflet
            )
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        table = self.table
        flat = pd.DataFrame(table.drop(columns="geometry"))
        flat["edges"] = flat["edges"].map(lambda t: " ".join(map(str, t)))
        flat["geometry_wkt"] = table.geometry.to_wkt()
        target = folder / "bottlenecks.csv"
        with atomic_path(target) as tmp:
            flat.to_csv(tmp, index=False)
        paths.append(target)
        geo = table.copy()
        geo["edges"] = flat["edges"].to_numpy()
        target = folder / "bottlenecks.geojson"
        write_text_atomic(target, geo.to_json(drop_id=True))
        paths.append(target)
        cuts = self.cuts.copy()
        cuts["edges"] = cuts["edges"].map(lambda t: " ".join(map(str, t)))
        target = folder / "cuts.csv"
        with atomic_path(target) as tmp:
            cuts.to_csv(tmp, index=False)
        paths.append(target)
        target = folder / "baseline.csv"
        with atomic_path(target) as tmp:
            self.baseline.to_csv(tmp, index_label="direction")
        paths.append(target)
        if self.indicators is not None:
            from connectivity.accessibility.indicators import write_indicators

            paths.append(write_indicators(self.indicators, folder / "indicators.csv"))
        return paths


def find_bottlenecks(
    network: StreetNetwork,
    *,
    core: Any,
    zones: Any,
    population: Any | None = None,
    population_column: str | None = None,
    kind: str = "road",
    top: int = 20,
    cutoffs: Iterable[float] = (1800, 2700, 3600),
    unreachable_penalty: float | None = None,
    capacity: Mapping[str, float] | Any | None = None,
    betweenness_k: int | None = 100,
    core_radius: float = 1000.0,
    merge_streets: bool = True,
    n_jobs: int = 1,
    seed: int = 0,
    progress: bool | None = None,
) -> Bottlenecks:
    """Find and rank the bottlenecks between the core and the periphery.

    The ``top`` candidates by core-periphery betweenness (trips between the core and
    the zones' population, both directions) are each removed in turn and the
    core-periphery travel times recomputed exactly. Candidates are ranked by
    ``loss_hours``: the person-hours added to the trips still possible, plus
    ``unreachable_penalty`` for every trip (per direction) made impossible. Streets (nodes) wholly
    inside the core area are not candidates: they decide how trips reach the core's
    node, not how the periphery is tied to the core.

    With ``n_jobs > 1`` the removals run in processes started with ``spawn``: a script
    that calls this must guard its entry point with ``if __name__ == "__main__":``.

    Parameters
    ----------
    network
        A street network (drive, walk or bike).
    core, zones, population, population_column, core_radius
        The study area, as in :func:`study_area`.
    kind
        Unit of failure: ``road`` (both directions of a road link), ``edge``, ``way``
        (a whole OSM way) or ``node``.
    top
        Number of candidates evaluated and returned.
    cutoffs
        Travel-time thresholds (seconds) of the criticality scores.
    unreachable_penalty
        Seconds a trip made impossible costs in the ranking score (None: the largest
        cutoff).
    capacity
        Edge capacities for the minimum cuts (see :func:`min_cuts`).
    betweenness_k
        Sources sampled for the all-pairs betweenness column (None: exact, slow on a
        metropolitan network; 0: skip the column).
    merge_streets
        Show a street once where several of its evaluated roads form a corridor: roads
        that touch, share a name (else ref, else road class) and carry the same trips
        (within 1 %) are one row, the costliest of them, with ``merged_roads`` telling
        how many it stands for (so the table may hold fewer than ``top`` rows). Every
        road is still evaluated on its own: roads with the same trips can cost very
        different amounts (one may have a bypass).
    n_jobs
        Processes for the removals (-1: one per core).
    seed
        Seed of the sampled betweenness.
    progress
        Show progress bars (None: only on a terminal).

    Returns
    -------
    result
        A :class:`Bottlenecks` with the ranked table, the cuts, the zones and the
        baseline indicators.
    """
    import geopandas as gpd
    import shapely

    _check_network(network)
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
    if not (isinstance(top, int | np.integer) and top >= 1):
        raise ParameterError(f"top={top!r} must be an integer >= 1")
    cuts_s = _check_cutoffs(cutoffs)
    study = study_area(
        network,
        core=core,
        zones=zones,
        population=population,
        population_column=population_column,
        core_radius=core_radius,
    )
    arrays = _Arrays.of(network)
    edge_out, node_out = _od_flows(arrays, study.sources, study.population, reverse=False)
    edge_in, node_in = _od_flows(arrays, study.sources, study.population, reverse=True)
    edge_od = edge_out + edge_in
    node_od = node_out + node_in
    sets = removal_sets(network, kind)
    # Candidates lie outside the core area: its own streets decide how the trips reach
    # the core's node, not how the periphery is tied to the core.
    in_core = np.zeros(network.n_nodes, bool)
    in_core[study.core_nodes] = True
    if kind in _NODE_KINDS:
        scores = {
            k: float(node_od[int(k)])  # type: ignore[call-overload]
            for k in sets
            if not in_core[int(k)] and node_od[int(k)] > 0  # type: ignore[call-overload]
        }
    else:
        scores = _set_scores(network, kind, edge_od, ~(in_core[arrays.u] & in_core[arrays.v]))
    order = sorted(scores, key=lambda k: -scores[k])
    ranked = order[:top]
    if not ranked:
        raise EmptyNetworkError(
            "no trip between the core and the zones uses the network: check that the core "
            "and the zones are connected by the network's streets"
        )
    logger.info("evaluating the %d top %s candidates", len(ranked), kind)
    loss = criticality(
        network,
        study.sources,
        study.population,
        {k: sets[k] for k in ranked},
        cutoffs=cuts_s,
        unreachable_penalty=unreachable_penalty,
        n_jobs=n_jobs,
        progress=progress,
    )
    # Structure.
    bridge_edges = set(bridges(network).tolist())
    cut_frames = [
        min_cuts(network, study.core_nodes, study.zone_nodes(), capacity=capacity, direction=d)
        for d in ("outbound", "inbound")
    ]
    cuts = pd.concat(cut_frames, ignore_index=True)
    cut_zones: dict[int, list[str]] = {}
    for zone, direction, edges in cuts[["zone", "direction", "edges"]].itertuples(index=False):
        for eid in edges:
            label = f"{zone} ({direction})"
            cut_zones.setdefault(int(eid), [])
            if label not in cut_zones[int(eid)]:
                cut_zones[int(eid)].append(label)
    if betweenness_k == 0:
        between_e = between_n = None
    else:
        k = None if betweenness_k is None else min(int(betweenness_k), network.n_nodes)
        if kind in _NODE_KINDS:
            between_n = node_betweenness(network, k=k, seed=seed).to_numpy()
            between_e = None
        else:
            between_e = edge_betweenness(network, k=k, seed=seed).to_numpy()
            between_n = None
    # The table.
    pair, _ = _pairs(network)
    e = network.edges
    geoms = network.edge_geometries()
    xy = network.nodes[["x", "y"]].to_numpy(float)
    rows = []
    for key in ranked:
        members = sets[key]
        sub = e.iloc[members]
        row: dict[str, Any] = {
            "kind": kind,
            "key": key,
            "road": "",  # set below, once the name is final
            "road_kind": "",
            "name": _first_text(sub["name"]) if "name" in sub else "",
            "ref": _first_text(sub["ref"]) if "ref" in sub else "",
            "highway": _first_text(sub["highway"]) if "highway" in sub else "",
            "bridge": _tagged(sub, "bridge"),
            "tunnel": _tagged(sub, "tunnel"),
            "osm_ways": _first_text(sub["osmid"]),
            "edges": tuple(int(i) for i in members),
            "od_trips": scores[key],
            "graph_bridge": bool(any(int(i) in bridge_edges for i in members)),
            "min_cut_zones": "; ".join(
                sorted({z for i in members for z in cut_zones.get(int(i), [])})
            ),
        }
        if kind in _NODE_KINDS:
            row["betweenness"] = math.nan if between_n is None else float(between_n[key])
            row["osmid"] = int(network.nodes["osmid"].iloc[key])
            if kind == "stop":
                row["name"] = str(network.nodes["name"].iloc[key])
                row["stop_id"] = str(network.nodes["stop_id"].iloc[key])
            geom = shapely.Point(xy[key])
        else:
            row["betweenness"] = (
                math.nan if between_e is None else _busiest(between_e, pair, members)
            )
            geom = shapely.line_merge(shapely.union_all(geoms[members]))
        row["road"] = road_text(row["name"], row["ref"], row["highway"])
        modes = _first_text(sub["mode"]) if "mode" in sub else ""  # a line of the transit view
        row["road_kind"] = modes or road_kind(row["highway"], row["bridge"], row["tunnel"])
        row.update(loss.loc[key].to_dict())
        row["geometry"] = geom
        rows.append(row)
    table = gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs).to_crs("EPSG:4326")
    table["merged_roads"] = 1
    if merge_streets and kind not in _NODE_KINDS and len(table):
        group = _corridors(network, sets, scores, list(table["key"]))
        table["merged_roads"] = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
        best = table.assign(_g=group).sort_values("loss_hours", ascending=False, kind="stable")
        keep = best.drop_duplicates("_g").index
        if len(keep) < len(table):
            logger.info("merged %d roads into corridors", len(table) - len(keep))
        table = table.loc[sorted(keep)]
    table = table.sort_values(
        ["loss_hours", "cut_off", "od_trips"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    baseline = population_weighted_times(network, study.sources, study.population, cutoffs=cuts_s)
    indicators = _zone_indicators(network, study, arrays, cuts_s)
    return Bottlenecks(
        table=table,
        cuts=cuts,
        zones=study.zones,
        baseline=baseline,
        study=study,
        mode=str(network.mode),
        indicators=indicators,
        population_note=(
            "Population: not given; every street node counts 1." if population is None else ""
        ),
    )


#: Values of ``bridge=*`` / ``tunnel=*`` that do not make the road a bridge or a tunnel
#: (a passage through a building, a culvert carrying water under the road).
_NOT_A_STRUCTURE = frozenset({"no", "building_passage", "culvert"})


def _tagged(edges: pd.DataFrame, tag: str) -> bool:
    """Whether one of ``edges`` carries OSM ``tag`` (``bridge``, ``tunnel``) as a structure."""
    if tag not in edges.columns:
        return False
    return any(
        value is not None
        and value == value  # not NaN
        and str(value).strip().lower() not in _NOT_A_STRUCTURE | {"", "none", "nan"}
        for value in edges[tag]
    )


def road_text(name: str, ref: str, highway: str = "") -> str:
    """How a table, a popup and a picture name a road: ``"name (ref)"``, the name or
    the ref alone, or "unnamed <class>" ("Konrad-Adenauer-Brücke (B 37)", "A 656",
    "unnamed residential")."""
    ref = "; ".join(r.strip() for r in ref.split(";") if r.strip())  # "B 37;B 38"
    if name and ref:
        return f"{name} ({ref})"
    if name or ref:
        return name or ref
    return f"unnamed {highway.split(';')[0]}".strip() if highway else "unnamed road"


def road_kind(highway: str, bridge: bool, tunnel: bool) -> str:
    """The road's class and structure: "motorway", "primary bridge", "trunk tunnel"."""
    cls = highway.split(";")[0].strip()
    structure = " ".join(w for w, on in (("bridge", bridge), ("tunnel", tunnel)) if on)
    return " ".join(w for w in (cls, structure) if w) or "road"


def road_label(row: Mapping[str, Any]) -> str:
    """A row's road and kind: "Konrad-Adenauer-Brücke (B 37), primary bridge" (tables
    made before ``road`` existed fall back on the name, the ref or the class)."""
    road = row.get("road") or row.get("name") or row.get("ref") or row.get("highway") or ""
    kind = row.get("road_kind") or ""
    return f"{road}, {kind}" if road and kind and kind not in str(road) else str(road or kind)


def _zone_indicators(
    network: StreetNetwork, study: StudyArea, arrays: _Arrays, cutoffs: Sequence[int]
) -> Any:
    """The accessibility issue's indicators per zone, over the same times and weights."""
    from connectivity.accessibility.indicators import CoreTimes
    from connectivity.accessibility.indicators import core_periphery as zone_table

    label = "transit" if network.meta.get("view") == "transit" else str(network.mode)
    label = "car" if label == "drive" else label
    times = CoreTimes.from_arrays(
        arrays.times(study.sources)[0], arrays.times(study.sources, reverse=True)[0]
    )
    return zone_table(
        network,
        study.zones[["name", "geometry"]],
        times={label: times},
        population=study.population,
        cutoffs=cutoffs,
        ratio=None,
    )


def _outputs() -> Any:
    """The map module, loaded at call time for the deprecated shims of :class:`Bottlenecks`.

    A dynamic import on purpose (the pattern of pandas' plotting backends): the
    bottleneck stage must not depend on the outputs stage, and import-linter would
    (rightly) refuse a static import. Goes with the shims in 0.3.
    """
    return importlib.import_module("connectivity.outputs.bottleneck_map")
