"""Structure: what the street graph looks like between the core and its periphery.

The measures on the graph itself, per street mode: edge and node betweenness weighted by
travel time (igraph; exact, cut off at a travel time, or estimated from ``k`` sampled
sources), bridges and articulation points of the undirected view, edge capacities (lanes
and road class) and the minimum cut between the core and each periphery zone (igraph
max-flow), and the origin-destination betweenness restricted to trips between the core
and weighted destinations (compiled, :mod:`connectivity.bottlenecks._kernels`). The
edge arrays shared by every measure (``_Arrays``: CSR for the kernel, scipy matrices for
Dijkstra) live here too.

What a failure costs people is :mod:`connectivity.bottlenecks.criticality`; the whole
study (:func:`connectivity.bottlenecks.study.find_bottlenecks`) is
:mod:`connectivity.bottlenecks.study`; the walk + transit static view is
:mod:`connectivity.bottlenecks.transit`.

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

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import (
    EmptyNetworkError,
    ParameterError,
)
from connectivity._modes import Mode

if TYPE_CHECKING:
    import igraph

    from connectivity.streets.graph import StreetNetwork

__all__ = [
    "DEFAULT_LANES",
    "DEFAULT_LANE_CAPACITY",
    "MIN_TIME",
    "articulation_points",
    "bridges",
    "edge_betweenness",
    "edge_capacity",
    "min_cuts",
    "node_betweenness",
    "od_betweenness",
    "to_igraph",
]

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
