"""The intermodal network: street networks, a timetable, and the links between them.

:func:`build_network` joins a walk :class:`~connectivity.streets.graph.StreetNetwork` and a
:class:`~connectivity.transit.timetable.Timetable`:

- every stop is *linked* to the walk network by projecting it onto its nearest edge (the
  walk from the stop to both end nodes, in metres, includes the straight-line distance
  from the stop to the edge); stops farther than ``max_link_distance`` are reported in a
  warning with their count and stay reachable by transit only;
- stop-to-stop *footpaths* are the walks over the street network (through the links)
  up to ``transfer_radius`` metres, plus stops of one ``parent_station`` (straight-line
  distance where the streets give no shorter walk), and every stop to itself; then the
  rules of ``transfers.txt`` override them for their pair of stops: type 3 removes the
  footpath (no change there), type 2 makes it take exactly ``min_transfer_time`` seconds
  (the slack is not added), type 1 (timed) makes it take 0 s without slack, type 0 adds a
  footpath where none exists; rules bound to trips or routes (``from_trip_id`` ...) and
  the in-seat types 4 and 5 are skipped with a count in the log;
- *stop trees*: the walk from each linked stop to every street node within
  ``walk_radius`` metres, from which egress walks are read (as R5 does).

Walking times are ``metres / walk_speed`` computed at query time, so one network serves
queries at any walking speed. The result is cached under
``settings.cache_folder / "networks"`` by a hash of the street arrays, the stops, the
transfer rules and the parameters; deleting the folder is safe.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from connectivity import settings
from connectivity._errors import CacheError, EmptyNetworkError, ParameterError
from connectivity._files import atomic_path, cache_key, sweep_cache
from connectivity._modes import Mode
from connectivity.network.links import (
    FP_MIN_TIME,
    FP_WALK,
    _compute_arrays,
    augmented_graph,
)
from connectivity.streets.graph import StreetNetwork
from connectivity.transit.timetable import DAY, Timetable

__all__ = ["IntermodalNetwork", "build_network"]

logger = logging.getLogger(__name__)

#: Version of the cached arrays; bump it when their meaning changes.
#: 5: a stop beyond the end of a street walks to its end node before the same-street line.
_CACHE_VERSION = 5

DEFAULT_WALK_SPEED = 5.0
DEFAULT_MAX_LINK_DISTANCE = 300.0
DEFAULT_TRANSFER_RADIUS = 500.0
DEFAULT_WALK_RADIUS = 2000.0

_ARRAYS = (
    "link_stop",
    "link_node",
    "link_dist_to",
    "link_dist_from",
    "stop_edge",
    "stop_fraction",
    "stop_offset",
    "fp_ptr",
    "fp_to",
    "fp_kind",
    "fp_dist",
    "fp_time",
    "tree_ptr",
    "tree_node",
    "tree_dist",
    "rtree_ptr",
    "rtree_node",
    "rtree_dist",
)


@dataclass(eq=False)
class IntermodalNetwork:
    """Street networks per mode, one timetable, and the stop links, footpaths and stop
    trees that join them (see the module docstring; build it with :func:`build_network`).

    Attributes
    ----------
    streets
        The walk network (stops are linked to it; access, egress and transfers walk on it).
    timetable
        The transit timetable, or ``None`` for a street-only network.
    modes
        Every street network by mode (``walk`` always; ``bike`` / ``drive`` when given).
    walk_speed
        The default walking speed (km/h) of queries.
    link_stop, link_node, link_dist_to, link_dist_from
        One row per link: the stop, a street node, the metres from the stop to the node
        and from the node to the stop (``inf`` where the street is one-way).
    stop_edge, stop_fraction, stop_offset
        Per stop, the walk edge it is projected onto (-1 where not linked), the position
        along it (0 at ``u``, 1 at ``v``) and its distance from the edge in metres
        (positive to the left of ``u -> v``); points near the same street reach it along
        the street, without going round an end node (see :func:`same_street_distance`).
    fp_ptr, fp_to, fp_kind, fp_dist, fp_time
        The footpaths as a CSR over stops (``FP_WALK`` / ``FP_MIN_TIME`` / ``FP_TIMED``).
    tree_ptr, tree_node, tree_dist
        Stop trees: the street nodes within ``walk_radius`` of each stop, nearest first,
        with the walk in metres from the stop (``rtree_*``: to the stop).
    params
        The build parameters.
    meta
        Provenance: the cache key, whether the arrays came from the cache, counts.
    """

    streets: StreetNetwork
    timetable: Timetable | None
    modes: dict[Mode, StreetNetwork]
    walk_speed: float
    link_stop: np.ndarray
    link_node: np.ndarray
    link_dist_to: np.ndarray
    link_dist_from: np.ndarray
    stop_edge: np.ndarray
    stop_fraction: np.ndarray
    stop_offset: np.ndarray
    fp_ptr: np.ndarray
    fp_to: np.ndarray
    fp_kind: np.ndarray
    fp_dist: np.ndarray
    fp_time: np.ndarray
    tree_ptr: np.ndarray
    tree_node: np.ndarray
    tree_dist: np.ndarray
    rtree_ptr: np.ndarray
    rtree_node: np.ndarray
    rtree_dist: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        streets: StreetNetwork | Mapping[Any, StreetNetwork] | Sequence[StreetNetwork],
        timetable: Timetable | None,
        **kwargs: Any,
    ) -> IntermodalNetwork:
        """Same as :func:`build_network`."""
        return build_network(streets, timetable, **kwargs)

    # -- sizes ----------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of street nodes of the walk network."""
        return self.streets.n_nodes

    @property
    def n_stops(self) -> int:
        """Number of stops (0 for a street-only network)."""
        return 0 if self.timetable is None else self.timetable.n_stops

    @property
    def walk_radius(self) -> float:
        """Metres covered by the stop trees: the longest possible egress walk."""
        return float(self.params["walk_radius"])

    @cached_property
    def stop_linked(self) -> np.ndarray:
        """Per stop, whether it is linked to the walk network."""
        linked = np.zeros(self.n_stops, bool)
        linked[self.link_stop] = True
        return linked

    @cached_property
    def stop_node(self) -> np.ndarray:
        """Per stop, its nearest linked street node (-1 where not linked)."""
        node = np.full(self.n_stops, -1, np.int64)
        order = np.argsort(-self.link_dist_to, kind="stable")  # nearest written last
        node[self.link_stop[order]] = self.link_node[order]
        return node

    @cached_property
    def graph(self) -> sp.csr_matrix:
        """The walk graph in metres over street nodes then stops (``n_nodes + n_stops``
        square), street edges plus both directions of every link."""
        return augmented_graph(
            self.streets,
            self.n_stops,
            self.link_stop,
            self.link_node,
            self.link_dist_to,
            self.link_dist_from,
        )

    @cached_property
    def graph_t(self) -> sp.csr_matrix:
        """:attr:`graph` transposed (walks *to* a point)."""
        return self.graph.T.tocsr()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without rebuildable caches (sent once to every matrix worker)."""
        state = self.__dict__.copy()
        state.pop("graph_t", None)
        state.pop("_drawn_engines", None)  # a worker draws its own, the same
        engines = state.pop("_engines", None)
        if engines and False in engines:
            state["_engines"] = {False: engines[False]}
        slim = {id(net): _slim(net) for net in self.modes.values()}
        slim.setdefault(id(self.streets), _slim(self.streets))
        state["streets"] = slim[id(self.streets)]
        state["modes"] = {mode: slim[id(net)] for mode, net in self.modes.items()}
        return state

    # -- interop views --------------------------------------------------------------

    def to_networkx(self) -> Any:
        """Return the intermodal multigraph as a :class:`networkx.MultiDiGraph`.

        Nodes are ``("street", i)`` (attributes ``kind``, ``x``, ``y``, ``lon``, ``lat``,
        ``osmid``) and ``("stop", i)`` (``kind``, ``stop_id``, ``name``, ``lon``, ``lat``).
        Edges have a ``mode``: ``walk`` (and ``bike`` / ``drive`` for the other street
        networks), ``link`` (stop <-> street), ``transfer`` (footpaths between stops) and
        ``transit`` (consecutive stops of a pattern, with ``route_id``, ``pattern``,
        ``in_vehicle_time`` the median over its trips, ``wait_time`` half the pattern's
        mean headway over the day, ``trips``). Every edge has ``length`` (metres, where it
        applies) and ``weight``: seconds at the default walking speed; for transit
        ``in_vehicle_time + wait_time``, the averaged-headway view of UrbanAccess and
        peartree (not schedule-exact; routing does not use it).

        Returns
        -------
        graph
            The multigraph.
        """
        import networkx as nx

        g = nx.MultiDiGraph()
        nodes, edges = self._view_tables()
        g.add_nodes_from(
            ((k, i), attrs)
            for k, i, attrs in zip(nodes["kind"], nodes["index"], nodes["attrs"], strict=True)
        )
        g.add_edges_from(
            ((uk, ui), (vk, vi), attrs)
            for uk, ui, vk, vi, attrs in zip(
                edges["u_kind"],
                edges["u"],
                edges["v_kind"],
                edges["v"],
                edges["attrs"],
                strict=True,
            )
        )
        return g

    def to_igraph(self) -> Any:
        """Return the same multigraph as :meth:`to_networkx` as a directed
        :class:`igraph.Graph`: vertices street nodes first, then stops (``kind``,
        ``index`` and the node attributes), edges with the same attributes.

        Returns
        -------
        graph
            The igraph graph.
        """
        import igraph as ig

        nodes, edges = self._view_tables()
        offset = {"street": 0, "stop": self.n_nodes}
        u = edges["u"] + np.vectorize(offset.get)(edges["u_kind"]) if len(edges["u"]) else []
        v = edges["v"] + np.vectorize(offset.get)(edges["v_kind"]) if len(edges["v"]) else []
        g = ig.Graph(
            n=self.n_nodes + self.n_stops, edges=list(zip(u, v, strict=True)), directed=True
        )
        g.vs["kind"] = list(nodes["kind"])
        g.vs["index"] = list(nodes["index"])
        keys = sorted({k for a in nodes["attrs"] for k in a})
        for k in keys:
            g.vs[k] = [a.get(k) for a in nodes["attrs"]]
        keys = sorted({k for a in edges["attrs"] for k in a})
        for k in keys:
            g.es[k] = [a.get(k) for a in edges["attrs"]]
        return g

    def _view_tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        speed = self.walk_speed / 3.6
        nodes_kind: list[str] = []
        nodes_index: list[int] = []
        nodes_attrs: list[dict[str, Any]] = []
        sn = self.streets.nodes
        for i, (x, y, lon, lat, osmid) in enumerate(
            zip(sn["x"], sn["y"], sn["lon"], sn["lat"], sn["osmid"], strict=True)
        ):
            nodes_kind.append("street")
            nodes_index.append(i)
            nodes_attrs.append(
                {
                    "kind": "street",
                    "x": float(x),
                    "y": float(y),
                    "lon": float(lon),
                    "lat": float(lat),
                    "osmid": int(osmid),
                }
            )
        tt = self.timetable
        if tt is not None:
            for i, (sid, name, lon, lat) in enumerate(
                zip(
                    tt.stops["stop_id"],
                    tt.stops["stop_name"],
                    tt.stops["lon"],
                    tt.stops["lat"],
                    strict=True,
                )
            ):
                nodes_kind.append("stop")
                nodes_index.append(i)
                nodes_attrs.append(
                    {
                        "kind": "stop",
                        "stop_id": str(sid),
                        "name": str(name),
                        "lon": float(lon),
                        "lat": float(lat),
                    }
                )
        eu_kind: list[str] = []
        eu: list[int] = []
        ev_kind: list[str] = []
        ev: list[int] = []
        eattrs: list[dict[str, Any]] = []

        def add(uk: str, u: int, vk: str, v: int, attrs: dict[str, Any]) -> None:
            eu_kind.append(uk)
            eu.append(u)
            ev_kind.append(vk)
            ev.append(v)
            eattrs.append(attrs)

        for mode, net in self.modes.items():
            shared = net is self.streets or (
                net.n_nodes == self.n_nodes
                and np.array_equal(net.nodes["osmid"].to_numpy(), sn["osmid"].to_numpy())
            )
            if not shared:
                # another mode's network has its own nodes: not part of this node set
                logger.info("the %s network has its own nodes; left out of the view", mode)
                continue
            e = net.edges
            for u, v, length, t in zip(e["u"], e["v"], e["length"], e["time"], strict=True):
                w = float(length) / speed if mode is Mode.WALK else float(t)
                add(
                    "street",
                    int(u),
                    "street",
                    int(v),
                    {"mode": mode.value, "length": float(length), "weight": w},
                )
        for s, n, d_to, d_from in zip(
            self.link_stop, self.link_node, self.link_dist_to, self.link_dist_from, strict=True
        ):
            if np.isfinite(d_to):
                add(
                    "stop",
                    int(s),
                    "street",
                    int(n),
                    {"mode": "link", "length": float(d_to), "weight": float(d_to) / speed},
                )
            if np.isfinite(d_from):
                add(
                    "street",
                    int(n),
                    "stop",
                    int(s),
                    {"mode": "link", "length": float(d_from), "weight": float(d_from) / speed},
                )
        for q in range(self.n_stops):
            for e in range(self.fp_ptr[q], self.fp_ptr[q + 1]):
                p = int(self.fp_to[e])
                if p == q:
                    continue
                kind = int(self.fp_kind[e])
                if kind == FP_WALK:
                    attrs = {
                        "mode": "transfer",
                        "length": float(self.fp_dist[e]),
                        "weight": float(self.fp_dist[e]) / speed,
                    }
                else:
                    t = float(self.fp_time[e]) if kind == FP_MIN_TIME else 0.0
                    attrs = {"mode": "transfer", "length": float("nan"), "weight": t}
                add("stop", q, "stop", p, attrs)
        if tt is not None:
            for row in _transit_edges(tt):
                add("stop", row[0], "stop", row[1], row[2])
        nodes = {"kind": nodes_kind, "index": nodes_index, "attrs": nodes_attrs}
        edges = {
            "u_kind": np.asarray(eu_kind, object),
            "u": np.asarray(eu, np.int64),
            "v_kind": np.asarray(ev_kind, object),
            "v": np.asarray(ev, np.int64),
            "attrs": eattrs,
        }
        return nodes, edges

    def __repr__(self) -> str:
        return (
            f"IntermodalNetwork(nodes={self.n_nodes}, stops={self.n_stops}, "
            f"linked={int(self.stop_linked.sum())}, footpaths={len(self.fp_to)}, "
            f"modes={[m.value for m in self.modes]})"
        )


def _slim(net: StreetNetwork) -> StreetNetwork:
    """A copy of a street network holding its fields and CSR matrices only (no search
    trees, which are rebuilt where needed)."""
    import copy
    import dataclasses

    keep = {f.name for f in dataclasses.fields(net)} | {"csr", "csr_length"}
    clone = copy.copy(net)
    clone.__dict__ = {k: v for k, v in net.__dict__.items() if k in keep}
    return clone


def _transit_edges(tt: Timetable) -> list[tuple[int, int, dict[str, Any]]]:
    """One edge per consecutive pair of stops of each pattern (averaged view)."""
    rows = []
    route_ids = tt.routes["route_id"].to_numpy()
    for p in range(tt.n_patterns):
        arr, dep = tt.pattern_times(p)
        stops = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        n_trips = arr.shape[0]
        first = dep[:, 0].astype(float)
        headway = (first[-1] - first[0]) / (n_trips - 1) if n_trips > 1 else float(DAY)
        if headway <= 0:
            headway = float(DAY) / n_trips
        wait = headway / 2
        ride = np.median(arr[:, 1:] - dep[:, :-1], axis=0)
        route = str(route_ids[tt.pattern_route[p]])
        for i in range(len(stops) - 1):
            rows.append(
                (
                    int(stops[i]),
                    int(stops[i + 1]),
                    {
                        "mode": "transit",
                        "route_id": route,
                        "pattern": p,
                        "in_vehicle_time": float(ride[i]),
                        "wait_time": float(wait),
                        "trips": int(n_trips),
                        "length": float("nan"),
                        "weight": float(ride[i]) + float(wait),
                    },
                )
            )
    return rows


def build_network(
    streets: StreetNetwork | Mapping[Any, StreetNetwork] | Sequence[StreetNetwork],
    timetable: Timetable | None,
    *,
    max_link_distance: float = DEFAULT_MAX_LINK_DISTANCE,
    transfer_radius: float = DEFAULT_TRANSFER_RADIUS,
    walk_radius: float = DEFAULT_WALK_RADIUS,
    walk_speed: float = DEFAULT_WALK_SPEED,
    use_cache: bool | None = None,
) -> IntermodalNetwork:
    """Join street networks and a timetable into an :class:`IntermodalNetwork`.

    Parameters
    ----------
    streets
        The walk network, or several networks of different modes (a mapping by mode or a
        sequence); one must be the walk network.
    timetable
        The timetable, or ``None`` for street-only routing.
    max_link_distance
        Metres within which a stop is linked to its nearest walk edge; stops farther away
        are reachable by transit only (a warning gives their count).
    transfer_radius
        Longest walking transfer between two stops, metres over the street network.
    walk_radius
        Longest access or egress walk a query may ask for, metres (the stop trees reach
        this far; a query's ``max_walk_time`` times its speed must stay within it).
    walk_speed
        Default walking speed of queries, km/h.
    use_cache
        Read and write the cache (default ``settings.use_cache``).

    Returns
    -------
    network
        The intermodal network.

    Raises
    ------
    ParameterError
        A distance or speed that is not positive.
    EmptyNetworkError
        No walk network among ``streets``, or a walk network without edges.
    """
    modes = _modes_of(streets)
    for name, value in (
        ("max_link_distance", max_link_distance),
        ("transfer_radius", transfer_radius),
        ("walk_radius", walk_radius),
        ("walk_speed", walk_speed),
    ):
        if not (np.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number (got {value!r})")
    walk = modes[Mode.WALK]
    if walk.n_edges == 0:
        raise EmptyNetworkError("the walk network has no edges: stops cannot be linked to it")
    params = {
        "max_link_distance": float(max_link_distance),
        "transfer_radius": float(transfer_radius),
        "walk_radius": float(walk_radius),
    }
    use_cache = settings.use_cache if use_cache is None else use_cache
    key = cache_key(
        "network", _CACHE_VERSION, _streets_digest(walk), _timetable_digest(timetable), params
    )
    path = settings.cache_folder / "networks" / f"{key}.npz"
    arrays: dict[str, np.ndarray] | None = None
    if use_cache:
        arrays = _read_cache(path)
    from_cache = arrays is not None
    if arrays is None:
        arrays = _compute_arrays(walk, timetable, **params)
        if use_cache:
            try:
                with atomic_path(path) as tmp, tmp.open("wb") as f:
                    np.savez(f, **arrays)  # type: ignore[arg-type]
            except OSError as exc:
                raise CacheError(
                    f"cannot write the network cache {path}: {exc}; set "
                    "connectivity.settings.cache_folder to a writable folder or "
                    "use_cache=False"
                ) from exc
    network = IntermodalNetwork(
        streets=walk,
        timetable=timetable,
        modes=modes,
        walk_speed=float(walk_speed),
        params=params,
        meta={"cache_key": key, "from_cache": from_cache},
        **arrays,
    )
    if timetable is not None:
        n_far = int((~network.stop_linked).sum())
        network.meta["unlinked_stops"] = n_far
        if n_far:
            logger.warning(
                "%d of %d stops are farther than max_link_distance=%.0f m from the walk "
                "network: they are reachable by transit only",
                n_far,
                network.n_stops,
                max_link_distance,
            )
    return network


def _modes_of(
    streets: StreetNetwork | Mapping[Any, StreetNetwork] | Sequence[StreetNetwork],
) -> dict[Mode, StreetNetwork]:
    if isinstance(streets, StreetNetwork):
        items = [streets]
    elif isinstance(streets, Mapping):
        items = list(streets.values())
    else:
        items = list(streets)
    modes: dict[Mode, StreetNetwork] = {}
    for net in items:
        if not isinstance(net, StreetNetwork):
            raise ParameterError(
                f"streets must be StreetNetworks (got {type(net).__name__}): load them with "
                "connectivity.load_streets"
            )
        if net.mode in modes:
            raise ParameterError(f"two {net.mode} networks given: give one per mode")
        modes[net.mode] = net
    if Mode.WALK not in modes:
        raise EmptyNetworkError(
            "no walk network given: stops are linked and transfers walked on it; load one "
            "with load_streets(path, mode='walk')"
        )
    return modes


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        if a.dtype == object:
            h.update("\x1f".join(map(str, a.tolist())).encode())
        else:
            h.update(str(a.dtype).encode())
            h.update(a.tobytes())
    return h.hexdigest()


def _streets_digest(net: StreetNetwork) -> str:
    e = net.edges
    return _digest(net.nodes["x"], net.nodes["y"], e["u"], e["v"], e["length"], net.crs)


def _timetable_digest(tt: Timetable | None) -> str:
    if tt is None:
        return "none"
    s = tt.stops
    parent = s["parent_station"] if "parent_station" in s.columns else np.zeros(0)
    tr = tt.transfers
    cols = [tr[c] for c in tr.columns]
    return _digest(
        s["stop_id"].astype(str),
        s["lon"],
        s["lat"],
        np.asarray(parent, object),
        np.asarray(list(tr.columns), object),
        *[np.asarray(c, object) for c in cols],
    )


def _read_cache(path: Any) -> dict[str, np.ndarray] | None:
    """The arrays of the cache entry ``path``, or None when it is unreadable (truncated,
    garbage, missing arrays): logged, and the caller rebuilds it."""
    sweep_cache()
    if not Path(path).exists():
        return None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in _ARRAYS}
    except Exception as exc:  # BadZipFile, EOFError, KeyError, ...: never fatal
        logger.warning(
            "ignoring the unreadable network cache entry %s (%s: %s); rebuilding it",
            path,
            type(exc).__name__,
            exc,
        )
        return None
