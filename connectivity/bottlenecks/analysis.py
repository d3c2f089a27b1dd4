"""Bottlenecks: the links and nodes that hold the periphery to the core.

Two kinds of answer, per street mode:

*Structure* (what the graph looks like): edge and node betweenness weighted by travel
time (igraph; exact, cut off at a travel time, or estimated from ``k`` sampled sources),
bridges and articulation points of the undirected view, and the minimum cut between the
core and each periphery zone (igraph max-flow, capacities from lanes and road class).

*Criticality* (what a failure costs people): origin-destination betweenness restricted
to trips between the core and the periphery zones, weighted by the population at the
destination, picks candidates; each candidate is removed in turn and the core-periphery
travel times are recomputed exactly (scipy's Dijkstra), giving the added person-hours
and the population cut off or pushed beyond each cutoff.

:func:`find_bottlenecks` runs the whole study and returns a :class:`Bottlenecks` result
(a ranked GeoDataFrame in EPSG:4326, the cuts, the zones; ``to_map()``, ``write()``).
For walk + transit, :func:`transit_view` turns an intermodal network into one static
graph (boarding costs half the headway) on which routes and stops are the candidates.

Conventions
-----------
Travel times are seconds. Every edge time is floored at :data:`MIN_TIME` (1 ms) for the
structural measures, so that zero-time edges cannot form zero-length cycles and the
shortest-path DAG is ordered by distance. Ties: two paths are equally short when their
times agree to a relative 1e-9; a pair's trips are then split over all its shortest
paths in proportion to their number (the usual betweenness convention, as in igraph and
networkx).
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import (
    EmptyNetworkError,
    ParameterError,
)
from connectivity._files import atomic_path, write_text_atomic
from connectivity._modes import Mode
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE
from connectivity.transit.modes import basic_route_type

if TYPE_CHECKING:
    import folium
    import igraph

    from connectivity.network.intermodal import IntermodalNetwork
    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "DEFAULT_LANES",
    "DEFAULT_LANE_CAPACITY",
    "DEFAULT_VEHICLE_CAPACITY",
    "MIN_TIME",
    "Bottlenecks",
    "StudyArea",
    "articulation_points",
    "bottleneck_map",
    "bridges",
    "criticality",
    "edge_betweenness",
    "edge_capacity",
    "find_bottlenecks",
    "min_cuts",
    "node_betweenness",
    "od_betweenness",
    "population_weighted_times",
    "removal_sets",
    "study_area",
    "to_igraph",
    "transit_view",
]

logger = logging.getLogger(__name__)

#: Floor of edge travel times (seconds) in structural measures.
MIN_TIME = 1e-3

#: Capacity of one lane in vehicles per hour, by OSM ``highway`` class.
DEFAULT_LANE_CAPACITY: dict[str, float] = {
    "motorway": 2000.0,
    "motorway_link": 1500.0,
    "trunk": 1800.0,
    "trunk_link": 1500.0,
    "primary": 1200.0,
    "primary_link": 1000.0,
    "secondary": 1000.0,
    "secondary_link": 900.0,
    "tertiary": 800.0,
    "tertiary_link": 700.0,
    "unclassified": 600.0,
    "residential": 500.0,
    "living_street": 300.0,
    "service": 300.0,
}
#: Lane capacity (vehicles per hour) of a class missing from the mapping.
OTHER_LANE_CAPACITY = 400.0

#: Lanes per direction by class, where the network has no ``lanes`` value.
DEFAULT_LANES: dict[str, float] = {
    "motorway": 2.0,
    "trunk": 2.0,
}

KINDS = ("road", "edge", "way", "node", "route", "stop")
#: Kinds whose candidates are nodes (scored by the trips passing through them).
_NODE_KINDS = ("node", "stop")

#: Passengers per vehicle by GTFS ``route_type`` (extended types by their hundreds:
#: 100s rail, 400s urban rail, 700s bus, 900s tram, 1000s water).
DEFAULT_VEHICLE_CAPACITY: dict[int, float] = {
    0: 200.0,
    1: 800.0,
    2: 600.0,
    3: 80.0,
    4: 250.0,
    5: 60.0,
    6: 30.0,
    7: 100.0,
    11: 80.0,
    12: 400.0,
}
DIRECTIONS = ("outbound", "inbound", "both")

# -- arrays shared by every measure ---------------------------------------------------


class _Arrays:
    """A network's edges as arrays: forward and reverse CSR (parallel edges kept, for
    the Brandes kernel) and scipy matrices (fastest parallel edge, for Dijkstra)."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        self.n = int(n)
        self.u = np.asarray(u, np.int64)
        self.v = np.asarray(v, np.int64)
        w = np.asarray(w, float)
        # Non-finite times are no edges at all (they cannot be travelled).
        self.usable = np.isfinite(w) & (w >= 0)
        self.w = np.where(self.usable, np.maximum(w, MIN_TIME), np.inf)
        self._sorted = {
            False: np.lexsort((self.w, self.v, self.u)),
            True: np.lexsort((self.w, self.u, self.v)),
        }

    @classmethod
    def of(cls, network: StreetNetwork) -> _Arrays:
        edges = network.edges
        return cls(
            network.n_nodes,
            edges["u"].to_numpy(np.int64),
            edges["v"].to_numpy(np.int64),
            edges["time"].to_numpy(float),
        )

    def csr(self, *, reverse: bool = False, keep: np.ndarray | None = None) -> tuple:
        """(indptr, head, weight, edge_id) of the out-edges (in-edges when ``reverse``)."""
        tail, head = (self.v, self.u) if reverse else (self.u, self.v)
        mask = self.usable if keep is None else self.usable & keep
        ids = np.flatnonzero(mask)
        ids = ids[np.argsort(tail[ids], kind="stable")]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(tail[ids], minlength=self.n))])
        return indptr.astype(np.int64), head[ids], self.w[ids], ids.astype(np.int64)

    def matrix(self, *, reverse: bool = False, keep: np.ndarray | None = None) -> sp.csr_matrix:
        """The travel-time matrix (transposed when ``reverse``) without the edges whose
        ``keep`` is False; the fastest of parallel edges is kept."""
        tail, head = (self.v, self.u) if reverse else (self.u, self.v)
        order = self._sorted[reverse]
        mask = self.usable if keep is None else self.usable & keep
        order = order[mask[order]]
        a, b, w = tail[order], head[order], self.w[order]
        first = np.ones(len(a), bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, w = a[first], b[first], w[first]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=self.n))])
        m = sp.csr_matrix((w, b.astype(np.int32), indptr.astype(np.int64)), shape=(self.n, self.n))
        m.has_sorted_indices = True
        return m

    def times(
        self, sources: np.ndarray, *, reverse: bool = False, keep: np.ndarray | None = None
    ) -> np.ndarray:
        """Travel times (sources x nodes) from the sources (to them when ``reverse``)."""
        m = self.matrix(reverse=reverse, keep=keep)
        return np.atleast_2d(np.asarray(dijkstra(m, directed=True, indices=sources), float))


def _check_network(network: StreetNetwork) -> None:
    if network.n_nodes == 0 or network.n_edges == 0:
        raise EmptyNetworkError(
            f"the {network.mode} network has {network.n_nodes} nodes and {network.n_edges} "
            "edges: load a street network that covers the study area"
        )


# -- structure: igraph ------------------------------------------------------------------


def to_igraph(network: StreetNetwork) -> igraph.Graph:
    """Return the network as a directed igraph graph, built from its arrays.

    Parameters
    ----------
    network
        A street network.

    Returns
    -------
    graph
        Vertex ``i`` is node position ``i`` and edge ``j`` is edge position ``j`` (parallel
        edges kept). Edge attributes ``time`` (seconds, floored at :data:`MIN_TIME`),
        ``length`` (metres); vertex attribute ``osmid``.
    """
    import igraph

    arrays = _Arrays.of(network)
    g = igraph.Graph(
        n=network.n_nodes, edges=np.column_stack([arrays.u, arrays.v]).tolist(), directed=True
    )
    g.es["time"] = arrays.w.tolist()
    g.es["length"] = network.edges["length"].to_numpy(float).tolist()
    g.vs["osmid"] = network.nodes["osmid"].to_numpy(np.int64).tolist()
    return g


def _betweenness_args(
    network: StreetNetwork, cutoff: float | None, k: int | None, seed: int
) -> tuple[dict[str, Any], float]:
    if cutoff is not None and not (cutoff > 0):
        raise ParameterError(f"cutoff={cutoff!r} must be a positive time in seconds, or None")
    if not np.all(np.isfinite(network.edges["time"].to_numpy(float))):
        raise ParameterError(
            "the network has edges with non-finite travel times: drop them before "
            "computing betweenness"
        )
    kwargs: dict[str, Any] = {"cutoff": cutoff}
    scale = 1.0
    if k is not None:
        n = network.n_nodes
        if not (isinstance(k, int | np.integer) and 1 <= k <= n):
            raise ParameterError(
                f"k={k!r} sampled sources must be an integer between 1 and the number of "
                f"nodes ({n}); use k=None for the exact betweenness"
            )
        rng = np.random.default_rng(seed)
        kwargs["sources"] = rng.choice(n, size=int(k), replace=False).tolist()
        scale = n / int(k)
    return kwargs, scale


def edge_betweenness(
    network: StreetNetwork,
    *,
    cutoff: float | None = None,
    k: int | None = None,
    seed: int = 0,
) -> pd.Series:
    """Edge betweenness weighted by travel time (igraph), exact or estimated.

    Parameters
    ----------
    network
        A street network; paths are directed and weighted by ``edges["time"]``.
    cutoff
        Count only shortest paths of at most this many seconds (None: all).
    k
        Estimate from ``k`` sources drawn at random (seeded by ``seed``), scaled by
        ``n_nodes / k`` so the estimate is unbiased; None computes it exactly.
    seed
        Seed of the source sample.

    Returns
    -------
    betweenness
        Number of shortest paths (ordered node pairs) through each edge, indexed by edge
        position; ties split evenly over equally short paths.
    """
    _check_network(network)
    kwargs, scale = _betweenness_args(network, cutoff, k, seed)
    g = to_igraph(network)
    values = np.asarray(g.edge_betweenness(directed=True, weights="time", **kwargs), float)
    return pd.Series(values * scale, index=network.edges.index, name="betweenness")


def node_betweenness(
    network: StreetNetwork,
    *,
    cutoff: float | None = None,
    k: int | None = None,
    seed: int = 0,
) -> pd.Series:
    """Node betweenness weighted by travel time (igraph), exact or estimated.

    Parameters
    ----------
    network
        A street network.
    cutoff
        Count only shortest paths of at most this many seconds (None: all).
    k
        Estimate from ``k`` random sources, scaled by ``n_nodes / k`` (None: exact).
    seed
        Seed of the source sample.

    Returns
    -------
    betweenness
        Number of shortest paths passing through each node (not starting or ending
        there), indexed by node position.
    """
    _check_network(network)
    kwargs, scale = _betweenness_args(network, cutoff, k, seed)
    g = to_igraph(network)
    values = np.asarray(g.betweenness(directed=True, weights="time", **kwargs), float)
    return pd.Series(values * scale, index=network.nodes.index, name="betweenness")


def _links(network: StreetNetwork) -> np.ndarray:
    """Link id per edge: edges between the same two nodes on the same OSM way (both
    directions of one road) share a link."""
    e = network.edges
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    key = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "w": e["osmid"].to_numpy()})
    # dropna=False: an edge without a way id is a link too (ngroup gave it -1, which
    # shifted every link after it).
    return key.groupby(["a", "b", "w"], sort=False, dropna=False).ngroup().to_numpy(np.int64)


def bridges(network: StreetNetwork) -> np.ndarray:
    """Edges whose road is a bridge of the undirected view of the network.

    The undirected view has one edge per road link (both directions of one OSM way
    between two nodes count once); a link is a bridge when removing it splits a
    (weakly) connected part in two. Two distinct ways between the same nodes are
    parallel edges, so neither is a bridge. One-way streets count as two-way here: a
    strongly directed view would call almost every one-way street critical.

    Parameters
    ----------
    network
        A street network.

    Returns
    -------
    edges
        Edge positions (int64, sorted) of every directed edge on a bridge link.
    """
    import igraph

    _check_network(network)
    links = _links(network)
    e = network.edges
    first = pd.Series(np.arange(len(links))).groupby(links).first().to_numpy()
    ends = np.column_stack([e["u"].to_numpy()[first], e["v"].to_numpy()[first]])
    loops = ends[:, 0] == ends[:, 1]
    g = igraph.Graph(n=network.n_nodes, edges=ends.tolist(), directed=False)
    bridge_links = np.asarray(g.bridges(), np.int64)
    bridge_links = bridge_links[~loops[bridge_links]]
    return np.flatnonzero(np.isin(links, bridge_links)).astype(np.int64)


def articulation_points(network: StreetNetwork) -> np.ndarray:
    """Nodes whose removal splits a connected part of the undirected view.

    Parameters
    ----------
    network
        A street network (one-way streets count as two-way, as in :func:`bridges`).

    Returns
    -------
    nodes
        Node positions (int64, sorted).
    """
    import igraph

    _check_network(network)
    e = network.edges
    g = igraph.Graph(
        n=network.n_nodes,
        edges=np.column_stack([e["u"].to_numpy(), e["v"].to_numpy()]).tolist(),
        directed=False,
    )
    return np.sort(np.asarray(g.articulation_points(), np.int64))


# -- capacities and minimum cuts ------------------------------------------------------


def _lanes_per_direction(network: StreetNetwork, highway: pd.Series) -> np.ndarray:
    e = network.edges
    default = highway.map(DEFAULT_LANES).fillna(1.0).to_numpy(float)
    if "lanes" not in e.columns:
        return default
    lanes = pd.to_numeric(
        e["lanes"].astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False),
        errors="coerce",
    ).to_numpy(float)
    # OSM's lanes counts both directions of a two-way road: a road whose opposite edge
    # (same way, swapped ends) exists gets half of them, at least one.
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    w = e["osmid"].to_numpy()
    fwd = pd.MultiIndex.from_arrays([u, v, w])
    rev = pd.MultiIndex.from_arrays([v, u, w])
    two_way = rev.isin(fwd)
    per_dir = np.where(two_way, np.maximum(1.0, np.ceil(lanes / 2)), np.maximum(1.0, lanes))
    return np.where(np.isfinite(lanes) & (lanes > 0), per_dir, default)


def edge_capacity(
    network: StreetNetwork,
    *,
    lane_capacity: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Capacity of each directed edge in vehicles per hour (drive) or paths (walk, bike).

    Parameters
    ----------
    network
        A street network. For ``drive``, capacity = lanes in that direction (the
        ``lanes`` column where present, halved on two-way roads, else
        :data:`DEFAULT_LANES` by class, else 1) x the lane capacity of the ``highway``
        class. For ``walk`` and ``bike`` every edge has capacity 1, so a cut value is the
        number of edge-disjoint paths.
    lane_capacity
        Vehicles per hour per lane by ``highway`` class; classes it lacks fall back to
        :data:`DEFAULT_LANE_CAPACITY`, then to 400.

    Returns
    -------
    capacity
        Float array over edge positions.
    """
    if network.mode != Mode.DRIVE:
        return np.ones(network.n_edges)
    table = {**DEFAULT_LANE_CAPACITY, **dict(lane_capacity or {})}
    bad = {k: c for k, c in table.items() if not (isinstance(c, int | float) and c > 0)}
    if bad:
        raise ParameterError(
            f"lane capacities must be positive vehicles per hour: got {bad}; fix the "
            "lane_capacity mapping"
        )
    highway = network.edges["highway"].astype(str)
    per_lane = highway.map(table).fillna(OTHER_LANE_CAPACITY).to_numpy(float)
    return _lanes_per_direction(network, highway) * per_lane


def _edges_capacity(network: StreetNetwork, capacity: Any) -> np.ndarray:
    if capacity is None and "capacity" in network.edges.columns:
        return network.edges["capacity"].to_numpy(float)
    if capacity is None or isinstance(capacity, Mapping):
        return edge_capacity(network, lane_capacity=capacity)
    cap = np.asarray(capacity, float)
    if cap.shape != (network.n_edges,):
        raise ParameterError(
            f"capacity has shape {cap.shape}, the network has {network.n_edges} edges: give "
            "one capacity per edge, a lane-capacity mapping by highway class, or None"
        )
    if not (np.all(np.isfinite(cap)) and np.all(cap >= 0)):
        raise ParameterError("capacities must be finite and non-negative")
    return cap


def min_cuts(
    network: StreetNetwork,
    core_nodes: Any,
    zone_nodes: Mapping[str, Any],
    *,
    capacity: Mapping[str, float] | Any | None = None,
    direction: str = "outbound",
) -> pd.DataFrame:
    """Minimum cut between the core and each zone (igraph max-flow).

    A super-source is joined to every core node and a super-sink to every node of the
    zone by edges of unlimited capacity; the maximum flow between them equals the
    capacity of the cheapest set of edges whose removal separates the zone from the core.

    Parameters
    ----------
    network
        A street network.
    core_nodes
        Node positions of the core.
    zone_nodes
        Zone name -> node positions of the zone (core nodes are left out).
    capacity
        Per-edge capacities (array), a lane-capacity mapping by highway class, or None
        for :func:`edge_capacity`'s defaults.
    direction
        ``"outbound"`` cuts trips from the core to the zone, ``"inbound"`` from the zone
        to the core.

    Returns
    -------
    cuts
        One row per zone: ``zone``, ``direction``, ``capacity`` (vehicles per hour for
        drive; NaN for a zone without nodes), ``n_edges`` and ``edges`` (tuple of edge
        positions of the cut with a positive capacity, sorted).
    """
    import igraph

    _check_network(network)
    if direction not in ("outbound", "inbound"):
        raise ParameterError(f"direction={direction!r}: use 'outbound' or 'inbound'")
    cap = _edges_capacity(network, capacity)
    core = _node_array(network, core_nodes, "core_nodes")
    if len(core) == 0:
        raise ParameterError("the core holds no node of the network: enlarge the core")
    e = network.edges
    ends = np.column_stack([e["u"].to_numpy(np.int64), e["v"].to_numpy(np.int64)])
    if direction == "inbound":
        ends = ends[:, ::-1]
    n, m = network.n_nodes, network.n_edges
    big = float(cap.sum()) + 1.0
    # One graph for every zone: a super-source n joined to the core, and a sink n + 1 + z
    # per zone z joined from its nodes. The other zones' sinks have no way out, so no
    # flow enters them while one zone's flow is computed.
    source = n
    zones = list(zone_nodes.items())
    members = []
    extra = [np.column_stack([np.full(len(core), source), core])]
    for z, (zone, nodes) in enumerate(zones):
        nodes = np.setdiff1d(_node_array(network, nodes, f"zone_nodes[{zone!r}]"), core)
        members.append(nodes)
        extra.append(np.column_stack([nodes, np.full(len(nodes), n + 1 + z)]))
    all_extra = np.concatenate(extra).astype(np.int64)
    g = igraph.Graph(
        n=n + 1 + len(zones), edges=np.concatenate([ends, all_extra]).tolist(), directed=True
    )
    caps = np.concatenate([cap, np.full(len(all_extra), big)]).tolist()
    rows: list[tuple[str, str, float, int, tuple[int, ...]]] = []
    for z, (zone, _) in enumerate(zones):
        if len(members[z]) == 0:
            rows.append((zone, direction, math.nan, 0, ()))
            continue
        flow = g.maxflow(source, n + 1 + z, caps)
        # Edges of no capacity (walking, in the transit view) carry nothing: left out.
        cut = np.sort(np.asarray([c for c in flow.cut if c < m and cap[c] > 0], np.int64))
        rows.append((zone, direction, float(flow.value), len(cut), tuple(int(c) for c in cut)))
    return pd.DataFrame(rows, columns=["zone", "direction", "capacity", "n_edges", "edges"])


def _node_array(network: StreetNetwork, nodes: Any, what: str) -> np.ndarray:
    arr = np.unique(np.asarray(nodes, dtype=np.int64).ravel())
    if len(arr) and (arr[0] < 0 or arr[-1] >= network.n_nodes):
        raise ParameterError(
            f"{what} holds node positions outside 0..{network.n_nodes - 1}: give positions "
            "(row numbers of network.nodes), not OSM ids"
        )
    return arr


# -- origin-destination betweenness ---------------------------------------------------


def _od_flows(
    arrays: _Arrays,
    sources: np.ndarray,
    target_weight: np.ndarray,
    *,
    reverse: bool,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    from connectivity.bottlenecks._kernels import od_flows

    indptr, head, weight, edge_id = arrays.csr(reverse=reverse, keep=keep)
    times = arrays.times(sources, reverse=reverse, keep=keep)
    edge_flow = np.zeros(len(arrays.u))
    node_flow = np.zeros(arrays.n)
    share = 1.0 / len(sources)
    tw = np.asarray(target_weight, float)
    for i, s in enumerate(sources):
        dist = times[i]
        reach = np.flatnonzero(np.isfinite(dist))
        order = reach[np.argsort(dist[reach], kind="stable")].astype(np.int64)
        od_flows(
            indptr, head, weight, edge_id, dist, order, int(s), tw, share, edge_flow, node_flow
        )
    return edge_flow, node_flow


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction={direction!r}: use one of {', '.join(DIRECTIONS)}")


def _weights(network: StreetNetwork, weights: Any, what: str) -> np.ndarray:
    w = np.asarray(weights, float)
    if w.shape != (network.n_nodes,):
        raise ParameterError(
            f"{what} has shape {w.shape}, the network has {network.n_nodes} nodes: give one "
            "value per node position"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ParameterError(f"{what} must be finite and non-negative (found NaN or < 0)")
    return w


def od_betweenness(
    network: StreetNetwork,
    sources: Any,
    destinations: Any,
    *,
    direction: str = "both",
    nodes: bool = False,
) -> pd.Series:
    """Betweenness restricted to trips between some sources and weighted destinations.

    Each source sends ``destinations[t] / len(sources)`` trips to every node ``t`` (so
    the trips of one direction add up to the destinations' total, e.g. the population),
    along the fastest paths, split evenly over equally fast paths (Brandes' dependency
    accumulation with target weights, compiled). With ``inbound`` the trips run from the
    destinations to the sources.

    Parameters
    ----------
    network
        A street network.
    sources
        Node positions of the origins (the core).
    destinations
        Weight of each node as a destination (population; 0 for nodes outside the
        zones), one value per node position.
    direction
        ``"outbound"`` (sources to destinations), ``"inbound"`` or ``"both"`` (sum).
    nodes
        Return the trips passing through each node instead of along each edge.

    Returns
    -------
    trips
        Trips along each edge (indexed by edge position) or through each node.
    """
    _check_network(network)
    _check_direction(direction)
    src = _node_array(network, sources, "sources")
    if len(src) == 0:
        raise ParameterError("sources is empty: give at least one core node")
    weight = _weights(network, destinations, "destinations")
    arrays = _Arrays.of(network)
    total_e = np.zeros(network.n_edges)
    total_n = np.zeros(network.n_nodes)
    for reverse in _reverses(direction):
        e_flow, n_flow = _od_flows(arrays, src, weight, reverse=reverse)
        total_e += e_flow
        total_n += n_flow
    if nodes:
        return pd.Series(total_n, index=network.nodes.index, name="od_betweenness")
    return pd.Series(total_e, index=network.edges.index, name="od_betweenness")


def _reverses(direction: str) -> tuple[bool, ...]:
    return {"outbound": (False,), "inbound": (True,), "both": (False, True)}[direction]


# -- population-weighted travel times and criticality --------------------------------


def _check_cutoffs(cutoffs: Iterable[float]) -> tuple[int, ...]:
    try:
        values = [float(c) for c in cutoffs]
    except (TypeError, ValueError):
        values = []
    if not values or not all(math.isfinite(c) and c >= 1 for c in values):
        raise ParameterError(
            f"cutoffs {cutoffs!r} must be positive times in seconds, e.g. (1800, 3600)"
        )
    return tuple(sorted({int(c) for c in values}))


def _summary(times: np.ndarray, weight: np.ndarray, cutoffs: Sequence[int]) -> dict[str, float]:
    """Population-weighted indicators of a (sources x destinations) time matrix whose
    pairs carry ``weight / n_sources``."""
    pair_w = np.broadcast_to(weight / times.shape[0], times.shape)
    reach = np.isfinite(times)
    pop = float(pair_w.sum())
    reached = float(pair_w[reach].sum())
    row: dict[str, float] = {
        "population": pop,
        "mean_time_s": float((pair_w * np.where(reach, times, 0.0)).sum() / reached)
        if reached > 0
        else math.nan,
        "unreachable": pop - reached,
    }
    for c in cutoffs:
        row[f"beyond_{c}s"] = float(pair_w[~(times <= c)].sum())
    return row


def population_weighted_times(
    network: StreetNetwork,
    sources: Any,
    population: Any,
    *,
    cutoffs: Iterable[float] = (1800, 2700, 3600),
) -> pd.DataFrame:
    """Population-weighted travel times between the core and the periphery.

    Every (source, node) pair weighs ``population[node] / len(sources)``, so the
    weights of one direction add up to the population.

    Parameters
    ----------
    network
        A street network.
    sources
        Node positions of the core's origins.
    population
        Population of each node position (0 outside the periphery zones).
    cutoffs
        Thresholds in seconds for the population beyond them.

    Returns
    -------
    indicators
        Rows ``outbound`` (core to periphery) and ``inbound``; columns ``population``,
        ``mean_time_s`` (over reachable pairs), ``unreachable`` (population) and
        ``beyond_{c}s`` (population farther than ``c`` seconds, unreachable included).
    """
    _check_network(network)
    src = _node_array(network, sources, "sources")
    if len(src) == 0:
        raise ParameterError("sources is empty: give at least one core node")
    weight = _weights(network, population, "population")
    cuts = _check_cutoffs(cutoffs)
    arrays = _Arrays.of(network)
    dest = np.flatnonzero(weight > 0)
    rows = {}
    for name, reverse in (("outbound", False), ("inbound", True)):
        times = arrays.times(src, reverse=reverse)[:, dest]
        rows[name] = _summary(times, weight[dest], cuts)
    return pd.DataFrame.from_dict(rows, orient="index")


class _Evaluator:
    """Recomputes the core-periphery times with some edges removed (one per process)."""

    def __init__(
        self,
        n: int,
        u: np.ndarray,
        v: np.ndarray,
        w: np.ndarray,
        sources: np.ndarray,
        weight: np.ndarray,
        cutoffs: tuple[int, ...],
        penalty: float,
    ) -> None:
        self.arrays = _Arrays(n, u, v, w)
        self.penalty = penalty
        self.sources = sources
        self.dest = np.flatnonzero(weight > 0)
        self.pair_w = np.broadcast_to(
            weight[self.dest] / len(sources), (len(sources), len(self.dest))
        )
        self.cutoffs = cutoffs
        self.base = self._times(None)

    def _times(self, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        out = self.arrays.times(self.sources, keep=keep)[:, self.dest]
        inn = self.arrays.times(self.sources, reverse=True, keep=keep)[:, self.dest]
        return out, inn

    def loss(self, removed: np.ndarray) -> dict[str, float]:
        keep = np.ones(len(self.arrays.u), bool)
        keep[removed] = False
        after = self._times(keep)
        row: dict[str, float] = {}
        w = self.pair_w
        base_ok = np.isfinite(self.base[0]) & np.isfinite(self.base[1])
        after_ok = np.isfinite(after[0]) & np.isfinite(after[1])
        row["cut_off"] = float(w[base_ok & ~after_ok].sum())
        for name, b, a in (("out", self.base[0], after[0]), ("in", self.base[1], after[1])):
            ok = np.isfinite(a)
            extra = float((w * np.where(ok, a - b, 0.0)).sum())
            reached = float(w[ok].sum())
            row[f"cut_off_{name}"] = float(w[np.isfinite(b) & ~ok].sum())
            row[f"person_hours_{name}"] = extra / 3600.0
            row[f"mean_delay_{name}_s"] = extra / reached if reached > 0 else math.nan
            for c in self.cutoffs:
                row[f"beyond_{c}s_{name}"] = float(w[~(a <= c)].sum() - w[~(b <= c)].sum())
        row["person_hours"] = row["person_hours_out"] + row["person_hours_in"]
        cut_trips = row["cut_off_out"] + row["cut_off_in"]
        row["loss_hours"] = row["person_hours"] + cut_trips * self.penalty / 3600.0
        return row


_WORKER: dict[str, _Evaluator] = {}


def _init_worker(payload: dict[str, Any]) -> None:
    _WORKER["evaluator"] = _Evaluator(**payload)


def _work(removed: np.ndarray) -> dict[str, float]:
    return _WORKER["evaluator"].loss(removed)


def _n_workers(n_jobs: int, n_tasks: int) -> int:
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0 or n_jobs < -1:
        raise ParameterError(
            f"n_jobs={n_jobs!r}: use a positive number of processes, or -1 for all"
        )
    cores = os.cpu_count() or 1
    return max(1, min(cores if n_jobs == -1 else int(n_jobs), n_tasks))


def criticality(
    network: StreetNetwork,
    sources: Any,
    population: Any,
    removals: Mapping[Hashable, Any],
    *,
    cutoffs: Iterable[float] = (1800, 2700, 3600),
    unreachable_penalty: float | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> pd.DataFrame:
    """What removing each set of edges costs the core-periphery trips, computed exactly.

    For each removal the travel times from the core's sources to every populated node
    (outbound) and back (inbound) are recomputed with those edges gone and compared with
    the intact network, every (source, node) pair weighing ``population / len(sources)``.

    Parameters
    ----------
    network
        A street network.
    sources
        Node positions of the core's origins.
    population
        Population of each node position (0 outside the periphery zones).
    removals
        Candidate key -> edge positions removed together (see :func:`removal_sets`).
    cutoffs
        Thresholds in seconds.
    unreachable_penalty
        Seconds that a trip made impossible costs in ``loss_hours`` (None: the largest
        cutoff).
    n_jobs
        Processes (-1: one per core); each receives the network once. They are
        started with ``spawn`` (safe beside threads), so a calling script needs the
        ``if __name__ == "__main__":`` guard.
    progress
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    loss
        Indexed by candidate key, columns: ``cut_off`` (population that can no longer
        make the round trip), ``cut_off_out``/``cut_off_in``, ``person_hours_out``/
        ``_in`` and ``person_hours`` (added travel time of the pairs still reachable),
        ``mean_delay_out_s``/``_in_s`` (increase of the population-weighted mean time over
        the pairs still reachable), ``beyond_{c}s_out``/``_in`` (increase of the
        population beyond each cutoff, the cut-off included), and ``loss_hours``
        (``person_hours`` plus ``unreachable_penalty`` for each trip cut off, per
        direction: the ranking score).
    """
    from tqdm.auto import tqdm

    _check_network(network)
    src = _node_array(network, sources, "sources")
    if len(src) == 0:
        raise ParameterError("sources is empty: give at least one core node")
    weight = _weights(network, population, "population")
    cuts = _check_cutoffs(cutoffs)
    penalty = float(max(cuts) if unreachable_penalty is None else unreachable_penalty)
    if not (math.isfinite(penalty) and penalty >= 0):
        raise ParameterError(
            f"unreachable_penalty={unreachable_penalty!r} must be a non-negative number of "
            "seconds, or None for the largest cutoff"
        )
    keys = list(removals)
    sets = [_node_array_edges(network, removals[k], f"removals[{k!r}]") for k in keys]
    workers = _n_workers(n_jobs, len(sets))
    arrays = _Arrays.of(network)
    payload = {
        "n": network.n_nodes,
        "u": arrays.u,
        "v": arrays.v,
        "w": network.edges["time"].to_numpy(float),
        "sources": src,
        "weight": weight,
        "cutoffs": cuts,
        "penalty": penalty,
    }
    bar = tqdm(total=len(sets), desc="removals", unit="cand", disable=_no_bar(progress))
    rows: list[dict[str, float]] = []
    try:
        if workers == 1:
            evaluator = _Evaluator(**payload)
            for s in sets:
                rows.append(evaluator.loss(s))
                bar.update()
        else:
            logger.info("evaluating %d removals on %d processes", len(sets), workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(payload,),
            ) as pool:
                for row in pool.map(_work, sets, chunksize=max(1, len(sets) // (4 * workers))):
                    rows.append(row)
                    bar.update()
    finally:
        bar.close()
    columns = list(rows[0]) if rows else ["cut_off", "person_hours", "loss_hours"]
    return pd.DataFrame(rows, index=pd.Index(keys, name="candidate"), columns=columns)


def _node_array_edges(network: StreetNetwork, edges: Any, what: str) -> np.ndarray:
    arr = np.unique(np.asarray(edges, dtype=np.int64).ravel())
    if len(arr) == 0:
        raise ParameterError(f"{what} removes no edge: give at least one edge position")
    if arr[0] < 0 or arr[-1] >= network.n_edges:
        raise ParameterError(
            f"{what} holds edge positions outside 0..{network.n_edges - 1}: give row "
            "numbers of network.edges"
        )
    return arr


def _no_bar(progress: bool | None) -> bool | None:
    if progress is None:
        return None if logger.isEnabledFor(logging.INFO) else True
    return not progress


def _pairs(network: StreetNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(pair id per edge, the pairs' end nodes): one pair per unordered node pair."""
    e = network.edges
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    a, b = np.minimum(u, v), np.maximum(u, v)
    ends, pair = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
    return pair.ravel().astype(np.int64), ends


def _roads(network: StreetNetwork) -> np.ndarray:
    """Road id per edge: a road is a street between two junctions, the chain of links
    through nodes with exactly two neighbours (an unsimplified OSM network splits a
    street at every OSM node; the chain is the unit a closure removes)."""
    from scipy.sparse.csgraph import connected_components

    pair, ends = _pairs(network)
    loops = ends[:, 0] == ends[:, 1]
    inc_node = np.concatenate([ends[~loops, 0], ends[~loops, 1]])
    inc_pair = np.concatenate([np.flatnonzero(~loops)] * 2)
    degree = np.bincount(inc_node, minlength=network.n_nodes)
    inner = degree[inc_node] == 2
    node2, pair2 = inc_node[inner], inc_pair[inner]
    order = np.argsort(node2, kind="stable")
    pair2 = pair2[order]
    joined = sp.coo_matrix(
        (np.ones(len(pair2) // 2), (pair2[0::2], pair2[1::2])), shape=(len(ends), len(ends))
    )
    _, label = connected_components(joined, directed=False)
    return label[pair].astype(np.int64)


def removal_sets(network: StreetNetwork, kind: str = "road") -> dict[Hashable, np.ndarray]:
    """Group edges into the units that fail together.

    Parameters
    ----------
    network
        A street network.
    kind
        ``"road"``: both directions of a street between two junctions (the chain of
        segments through nodes with two neighbours); ``"edge"``: one directed edge;
        ``"way"``: every edge of an OSM way; ``"node"``: every edge at a junction (a
        node with other than two neighbours; a node inside a road fails like its road).

    Returns
    -------
    sets
        Key -> edge positions (int64). Keys are the first edge position of the road,
        the edge position, the OSM way id, or the node position.
    """
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
    e = network.edges
    pos = np.arange(network.n_edges, dtype=np.int64)
    if kind in ("route", "stop") and "kind" not in e.columns:
        raise ParameterError(
            f"kind={kind!r} needs a transit network: make one with transit_view(...)"
        )
    if kind == "edge":
        return {int(i): pos[i : i + 1] for i in pos}
    if kind == "route":
        transit = np.flatnonzero((e["kind"] == "transit").to_numpy())
        routes = e["route_id"].to_numpy()[transit]
        return {
            str(r): transit[idx] for r, idx in pd.Series(routes).groupby(routes).indices.items()
        }
    if kind == "stop":
        # Closing a stop: no boarding, alighting or changing there (its links,
        # transfers, boardings and alightings go); vehicles still run through it.
        access = np.flatnonzero(e["kind"].isin(["link", "transfer", "board", "alight"]).to_numpy())
        stop_nodes = np.flatnonzero(
            network.nodes.get("stop", pd.Series(-1, index=network.nodes.index)).to_numpy() >= 0
        )
        is_stop = np.zeros(network.n_nodes, bool)
        is_stop[stop_nodes] = True
        u = e["u"].to_numpy(np.int64)[access]
        v = e["v"].to_numpy(np.int64)[access]
        at = np.concatenate([u[is_stop[u]], v[is_stop[v]]])
        ids = np.concatenate([access[is_stop[u]], access[is_stop[v]]])
        return {int(k): np.unique(ids[idx]) for k, idx in pd.Series(at).groupby(at).indices.items()}
    if kind == "node":
        _, ends = _pairs(network)
        ends = ends[ends[:, 0] != ends[:, 1]]
        degree = np.bincount(ends.ravel(), minlength=network.n_nodes)
        at = np.concatenate([e["u"].to_numpy(np.int64), e["v"].to_numpy(np.int64)])
        ids = np.concatenate([pos, pos])
        keep = (degree[at] != 2) & (degree[at] > 0)
        at, ids = at[keep], ids[keep]
        order = np.argsort(at, kind="stable")
        at, ids = at[order], ids[order]
        bounds = np.flatnonzero(np.diff(at)) + 1
        return {
            int(at[g[0]]): np.unique(ids[g]) for g in np.split(np.arange(len(at)), bounds) if len(g)
        }
    groups = _roads(network) if kind == "road" else e["osmid"].to_numpy()
    out: dict[Hashable, np.ndarray] = {}
    for key, idx in pd.Series(pos).groupby(groups, sort=False).indices.items():
        members = pos[np.sort(idx)]
        out[int(members[0]) if kind == "road" else _key(key)] = members
    return out


def _set_scores(
    network: StreetNetwork, kind: str, edge_flow: np.ndarray, eligible: np.ndarray
) -> dict[Hashable, float]:
    """Trips through each removal set with an eligible edge and some trips: the busiest
    of its links, both directions summed (every trip crosses a road's busiest link, and
    the links of a road carry nearly the same trips; a sum would favour roads split into
    many segments). Keys as in :func:`removal_sets`."""
    pair, _ = _pairs(network)
    link_flow = np.bincount(pair, weights=edge_flow)[pair]
    pos = np.arange(network.n_edges, dtype=np.int64)
    key: np.ndarray
    if kind == "edge":
        key = pos
    elif kind == "route":
        transit = (network.edges["kind"] == "transit").to_numpy()
        key = network.edges["route_id"].astype(str).to_numpy()  # only transit is eligible
        eligible = eligible & transit
    elif kind == "way":
        key = network.edges["osmid"].to_numpy()
    else:
        key = pd.Series(pos).groupby(_roads(network)).transform("min").to_numpy()
    flow = edge_flow if kind == "edge" else link_flow
    frame = pd.DataFrame({"key": key, "flow": flow, "eligible": eligible})
    frame = frame[frame["eligible"]]
    agg = frame.groupby("key", sort=False).agg(flow=("flow", "max"), eligible=("eligible", "any"))
    agg = agg[agg["eligible"] & (agg["flow"] > 0)]
    return {_key(k): float(f) for k, f in agg["flow"].items()}


#: Relative difference of trips under which consecutive roads of one street are merged.
MERGE_TOLERANCE = 0.01


def _corridors(
    network: StreetNetwork,
    sets: Mapping[Hashable, np.ndarray],
    scores: Mapping[Hashable, float],
    keys: Sequence[Hashable],
) -> np.ndarray:
    """Group label per candidate: candidates that touch each other, belong to the same
    street (name, else ref, else road class) and carry the same trips (within
    :data:`MERGE_TOLERANCE`) form one corridor."""
    from scipy.sparse.csgraph import connected_components

    e = network.edges
    u = e["u"].to_numpy(np.int64)
    v = e["v"].to_numpy(np.int64)
    labels, ends = [], []
    for key in keys:
        members = sets[key]
        label = _first_text(e["name"].iloc[members]) if "name" in e.columns else ""
        if not label and "ref" in e.columns:
            label = _first_text(e["ref"].iloc[members])
        if not label and "highway" in e.columns:
            label = "<" + _first_text(e["highway"].iloc[members]) + ">"
        labels.append(label)
        ends.append(set(u[members].tolist()) | set(v[members].tolist()))
    rows, cols = [], []
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            si, sj = scores[keys[i]], scores[keys[j]]
            if (
                labels[i]
                and labels[i] == labels[j]
                and ends[i] & ends[j]
                and abs(si - sj) <= MERGE_TOLERANCE * max(si, sj)
            ):
                rows.append(i)
                cols.append(j)
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), len(keys)))
    return connected_components(graph, directed=False)[1]


def _busiest(values: np.ndarray, pair: np.ndarray, members: np.ndarray) -> float:
    """The largest sum of ``values`` over the edges of one node pair among ``members``."""
    sums = pd.Series(values[members]).groupby(pair[members]).sum()
    return float(sums.max())


def _key(value: Any) -> Hashable:
    return int(value) if isinstance(value, int | np.integer) else value


# -- the transit network's static view ------------------------------------------------


def _vehicle_capacity(route_type: Any, table: Mapping[int, float]) -> float:
    try:
        t = int(route_type)
    except (TypeError, ValueError):
        return table.get(3, 80.0)
    if t in table:
        return float(table[t])
    base = basic_route_type(t)
    return float(table.get(base, 80.0)) if base is not None else float(table.get(3, 80.0))


def transit_view(
    network: IntermodalNetwork,
    *,
    vehicle_capacity: Mapping[int, float] | None = None,
) -> StreetNetwork:
    """The walk + transit network as one static graph, for the bottleneck measures.

    Nodes (column ``kind``): the walk network's nodes (``street``), one node per stop
    (``stop``), and one node per stop of each pattern (``pattern``, where a rider is on
    board). Edges (column ``kind``): the walk edges (``walk``, time at the network's
    walking speed), the stop links (``link``), the footpaths between stops
    (``transfer``), boardings (``board``, stop -> pattern stop, costing half the
    pattern's mean headway over the day), rides (``transit``, pattern stop -> next
    pattern stop, the median in-vehicle time) and alightings (``alight``, free). This is
    the averaged-headway view (as in UrbanAccess and peartree: the wait is paid once per
    boarding, per pattern; the schedule-exact answer is routing's). Rides carry
    ``route_id``, ``name`` (the route's short name) and ``capacity``: vehicles per hour
    (3600 / headway) x passengers per vehicle; transfers, boardings and alightings have
    unlimited capacity and walking none, so a minimum cut counts transit capacity only.

    Parameters
    ----------
    network
        An intermodal network with a timetable (:func:`connectivity.network.intermodal.build_network`).
    vehicle_capacity
        Passengers per vehicle by GTFS ``route_type``, over
        :data:`DEFAULT_VEHICLE_CAPACITY` (extended types map to their base type).

    Returns
    -------
    view
        A :class:`StreetNetwork` (mode ``walk``) with extra node columns ``kind``,
        ``stop`` (stop index or -1), ``stop_id``, ``name`` and edge columns ``kind``,
        ``route_id``, ``capacity``; use it with :func:`find_bottlenecks` and
        ``kind="route"`` or ``kind="stop"`` (the core and the population are put on
        street nodes only).
    """
    from connectivity.network.intermodal import FP_MIN_TIME, FP_WALK
    from connectivity.streets.graph import StreetNetwork
    from connectivity.transit.timetable import DAY

    tt = network.timetable
    if tt is None or tt.n_patterns == 0:
        raise ParameterError(
            "the intermodal network has no transit: build it with a timetable "
            "(build_network(walk, timetable))"
        )
    table = {**DEFAULT_VEHICLE_CAPACITY, **dict(vehicle_capacity or {})}
    if any(not (c > 0) for c in table.values()):
        raise ParameterError(f"vehicle capacities must be positive passengers: got {table}")
    walk = network.streets
    speed = network.walk_speed / 3.6
    n, q = walk.n_nodes, network.n_stops
    stops = tt.stops
    sx, sy = walk.project(stops["lon"].to_numpy(float), stops["lat"].to_numpy(float))
    stop_names = stops["stop_name"].astype(str).to_numpy()
    nodes = pd.concat(
        [
            walk.nodes[["osmid", "x", "y", "lon", "lat"]].assign(
                stop=-1, stop_id=None, name=None, kind="street"
            ),
            pd.DataFrame(
                {
                    "osmid": np.full(q, -1, np.int64),
                    "x": sx,
                    "y": sy,
                    "lon": stops["lon"].to_numpy(float),
                    "lat": stops["lat"].to_numpy(float),
                    "stop": np.arange(q),
                    "stop_id": stops["stop_id"].astype(str).to_numpy(),
                    "name": stop_names,
                    "kind": "stop",
                }
            ),
        ],
        ignore_index=True,
    )

    def frame(u: Any, v: Any, length: Any, time: Any, kind: str, **cols: Any) -> pd.DataFrame:
        u = np.asarray(u, np.int64)
        out = pd.DataFrame(
            {
                "u": u,
                "v": np.asarray(v, np.int64),
                "length": np.asarray(length, float),
                "time": np.asarray(time, float),
                "osmid": cols.pop("osmid", np.full(len(u), -1, np.int64)),
                "highway": cols.pop("highway", kind),
                "name": cols.pop("name", None),
                "kind": kind,
                "route_id": cols.pop("route_id", None),
                "capacity": cols.pop("capacity", 0.0),
            }
        )
        return out

    we = walk.edges
    parts = [
        frame(
            we["u"],
            we["v"],
            we["length"],
            we["length"].to_numpy(float) / speed,
            "walk",
            osmid=we["osmid"].to_numpy(),
            highway=we["highway"].to_numpy(),
            name=we["name"].to_numpy(),
        )
    ]
    for dist, forward in ((network.link_dist_to, True), (network.link_dist_from, False)):
        ok = np.isfinite(dist)
        st, nd = n + network.link_stop[ok], network.link_node[ok]
        parts.append(
            frame(
                st if forward else nd,
                nd if forward else st,
                dist[ok],
                dist[ok] / speed,
                "link",
                name=stop_names[network.link_stop[ok]],
            )
        )
    origin = np.repeat(np.arange(q), np.diff(network.fp_ptr))
    other = origin != network.fp_to
    fk = network.fp_kind[other]
    fd = network.fp_dist[other].astype(float)
    ft = np.where(
        fk == FP_WALK, fd / speed, np.where(fk == FP_MIN_TIME, network.fp_time[other], 0.0)
    )
    parts.append(
        frame(
            n + origin[other],
            n + network.fp_to[other],
            np.where(fk == FP_WALK, fd, 0.0),
            ft,
            "transfer",
            name=stop_names[origin[other]],
        )
    )
    routes = tt.routes.set_index(tt.routes["route_id"].astype(str))
    short = (
        routes["route_short_name"].astype(str)
        if "route_short_name" in routes.columns
        else pd.Series(routes.index, index=routes.index)
    )
    route_ids = routes.index.to_numpy()
    # One node per stop of each pattern: ride edges chain them, boarding edges (stop ->
    # pattern stop) cost the wait, half the pattern's mean headway, once per boarding;
    # alighting edges (pattern stop -> stop) cost nothing.
    ps_stop: list[int] = []
    ps_route: list[str] = []
    ride_u: list[int] = []
    ride_t: list[float] = []
    ride_cap: list[float] = []
    board_w: list[float] = []
    first_ps = n + q
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        seq = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        n_trips = arr.shape[0]
        starts = np.sort(dep[:, 0].astype(float))
        headway = (starts[-1] - starts[0]) / (n_trips - 1) if n_trips > 1 else float(DAY)
        if headway <= 0:
            headway = float(DAY) / n_trips
        route = str(route_ids[tt.pattern_route[p]])
        per_vehicle = _vehicle_capacity(routes["route_type"].get(route), table)
        base = first_ps + len(ps_stop)
        ps_stop += [int(x) for x in seq]
        ps_route += [route] * len(seq)
        board_w += [headway / 2] * len(seq)
        ride = np.median(arr[:, 1:] - dep[:, :-1], axis=0) if len(seq) > 1 else []
        for i, t in enumerate(ride):
            ride_u.append(base + i)
            ride_t.append(float(t))
            ride_cap.append(3600.0 / headway * per_vehicle)
    ps = np.asarray(ps_stop, np.int64)
    ps_nodes = first_ps + np.arange(len(ps))
    ps_route_a = np.asarray(ps_route, object).astype(str)
    nodes = pd.concat(
        [
            nodes,
            pd.DataFrame(
                {
                    "osmid": np.full(len(ps), -1, np.int64),
                    "x": sx[ps],
                    "y": sy[ps],
                    "lon": stops["lon"].to_numpy(float)[ps],
                    "lat": stops["lat"].to_numpy(float)[ps],
                    "stop": -1,
                    "stop_id": None,
                    "name": short.reindex(ps_route_a).to_numpy(),
                    "kind": "pattern",
                }
            ),
        ],
        ignore_index=True,
    )
    ru = np.asarray(ride_u, np.int64)
    route_of = np.asarray(ps_route_a)[ru - first_ps] if len(ru) else np.array([], str)
    parts.append(
        frame(
            ru,
            ru + 1,
            np.hypot(
                sx[ps[ru - first_ps]] - sx[ps[ru + 1 - first_ps]],
                sy[ps[ru - first_ps]] - sy[ps[ru + 1 - first_ps]],
            ),
            ride_t,
            "transit",
            name=short.reindex(route_of).to_numpy(),
            route_id=route_of,
            capacity=np.asarray(ride_cap, float),
        )
    )
    for u_, v_, t_, kind in (
        (n + ps, ps_nodes, np.asarray(board_w, float), "board"),
        (ps_nodes, n + ps, np.zeros(len(ps)), "alight"),
    ):
        parts.append(
            frame(u_, v_, np.zeros(len(ps)), t_, kind, name=stop_names[ps], route_id=ps_route_a)
        )
    edges = pd.concat(parts, ignore_index=True)
    unlimited = edges["kind"].isin(["transfer", "board", "alight"]).to_numpy()
    edges.loc[unlimited, "capacity"] = float(edges["capacity"].sum()) + 1.0
    return StreetNetwork(
        mode=Mode.WALK,
        crs=walk.crs,
        nodes=nodes,
        edges=edges,
        meta={"view": "transit", "walk_speed": network.walk_speed},
    )


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
        ``name``, ``ref``, ``highway``, ``osm_ways``, ``edges``, ``od_trips`` (core-
        periphery betweenness), ``betweenness`` (all-pairs, estimated or exact),
        ``bridge``, ``min_cut_zones``, ``merged_roads``, and every column of
        :func:`criticality`.
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
    """

    table: Any
    cuts: pd.DataFrame
    zones: Any
    baseline: pd.DataFrame
    study: StudyArea
    mode: str
    indicators: Any = None

    def to_map(self, *, top: int | None = None) -> folium.Map:
        """The folium map of :func:`bottleneck_map`."""
        return bottleneck_map(self, top=top)

    def write(
        self,
        folder: str | os.PathLike[str],
        *,
        top: int | None = None,
        offline: bool = False,
        leaflet: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Write the outputs into ``folder``, each file atomically.

        Parameters
        ----------
        folder
            Created if missing.
        top
            Ranks drawn on the map (None: all).
        offline
            Inline Leaflet into the map (see :func:`connectivity.outputs.maps.save_map`).
        leaflet
            Folder of the npm package ``leaflet`` for ``offline``.

        Returns
        -------
        paths
            ``bottlenecks.csv`` (geometry as WKT), ``bottlenecks.geojson``, ``cuts.csv``,
            ``baseline.csv``, ``indicators.csv`` (per zone) and ``bottlenecks.html``.
        """
        from connectivity.outputs.folium_base import save_map

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
        target = folder / "bottlenecks.html"
        save_map(
            self.to_map(top=top),
            target,
            offline=offline,
            leaflet=None if leaflet is None else Path(leaflet),
        )
        paths.append(target)
        return paths


def _first_text(values: pd.Series) -> str:
    seen: list[str] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = str(value).strip()
        if text and text.lower() not in ("nan", "none", "<na>") and text not in seen:
            seen.append(text)
    return "; ".join(seen)


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
            "name": _first_text(sub["name"]) if "name" in sub else "",
            "ref": _first_text(sub["ref"]) if "ref" in sub else "",
            "highway": _first_text(sub["highway"]) if "highway" in sub else "",
            "osm_ways": _first_text(sub["osmid"]),
            "edges": tuple(int(i) for i in members),
            "od_trips": scores[key],
            "bridge": bool(any(int(i) in bridge_edges for i in members)),
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
    )


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


# -- the map -------------------------------------------------------------------------

_POPUP_COLUMNS = (
    ("rank", "Rank", "{:d}"),
    ("name", "Name", "{}"),
    ("ref", "Ref", "{}"),
    ("highway", "Class", "{}"),
    ("cut_off", "Population cut off", "{:,.0f}"),
    ("loss_hours", "Loss (person-hours, with cut-off trips)", "{:,.1f}"),
    ("person_hours", "Added person-hours", "{:,.1f}"),
    ("mean_delay_out_s", "Mean delay out (s)", "{:,.1f}"),
    ("mean_delay_in_s", "Mean delay in (s)", "{:,.1f}"),
    ("od_trips", "Core-periphery trips", "{:,.0f}"),
    ("betweenness", "Betweenness", "{:,.0f}"),
    ("bridge", "Bridge", "{}"),
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


def bottleneck_map(result: Bottlenecks, *, top: int | None = None) -> folium.Map:
    """A folium map of the ranked bottlenecks over the zones.

    Parameters
    ----------
    result
        The output of :func:`find_bottlenecks`.
    top
        Draw only the first ``top`` ranks (None: all).

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
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
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
    ).add_to(fmap)
    n = max(1, len(table))
    colours = cm.LinearColormap(["#fed976", "#fd8d3c", "#bd0026"], vmin=1, vmax=max(2, n))
    colours.caption = "Bottleneck rank (red = most critical)"
    layer = folium.FeatureGroup(name="bottlenecks")
    for row in table.sort_values("rank", ascending=False).to_dict("records"):
        rank = int(row["rank"])
        colour = colours(n + 1 - rank) if n > 1 else "#bd0026"
        weight = 3 + 7 * (n - rank) / max(1, n - 1)
        popup = folium.Popup(_popup_html(row), max_width=400)
        tooltip = html.escape(f"#{rank} {row.get('name') or row.get('highway') or ''}")
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
    return fmap
