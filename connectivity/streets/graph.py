"""Street networks for walking, cycling and driving, held as arrays.

A :class:`StreetNetwork` is one mode's directed street graph: nodes with projected
coordinates (the data's local UTM zone, metres) and lon/lat, and edges with length in
metres and travel time in seconds for that mode. The engines read its CSR matrix; output
code reads :meth:`StreetNetwork.nodes_gdf` / :meth:`StreetNetwork.edges_gdf`.

Points join the network mid-edge: :meth:`StreetNetwork.snap` projects them onto their
nearest edges (:class:`Snapped` holds the seconds to and from both end nodes), and
:meth:`StreetNetwork.travel_times_from` runs one Dijkstra from there.

Networks are loaded (and cached) by :mod:`connectivity.streets.load`: from OSM files
(:func:`~connectivity.streets.load.load_streets`) or from Overpass
(:func:`~connectivity.streets.load.download_streets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import (
    ConnectivityError,
    CoordinateError,
    EmptyNetworkError,
    OutsideNetworkError,
    ParameterError,
)
from connectivity._modes import Mode

__all__ = ["Snapped", "StreetNetwork"]

#: A snapped point this close (metres) to an end node of its edge is at that node.
_END_METRES = 1e-3

#: Default distance (m) within which a point is snapped onto the network.
DEFAULT_SNAP_DISTANCE = 500.0
#: km/h at which a point off a bike or drive network walks onto it.
ACCESS_WALK_SPEED = 5.0


@dataclass(eq=False)
class StreetNetwork:
    """One mode's directed street graph.

    Attributes
    ----------
    mode
        The street mode whose travel times ``edges["time"]`` holds.
    crs
        The projected CRS of ``x``/``y`` and of the edge geometries (a UTM zone), as an
        authority string such as ``"EPSG:32635"``.
    nodes
        Row position = node index. Columns ``osmid`` (int64), ``x``, ``y`` (metres in
        ``crs``), ``lon``, ``lat``.
    edges
        Row position = edge index. Columns ``u``, ``v`` (node positions), ``length``
        (metres), ``time`` (seconds for ``mode``), ``osmid`` (way id), ``highway``,
        ``name``; a walk network has both directions of every street as two rows.
    geometry
        Shapely LineStrings of the edges in ``crs``, from ``u`` to ``v``; ``None`` means
        straight lines between the end nodes.
    meta
        Provenance: source file and digest, parameters, how much was dropped.
    """

    mode: Mode
    crs: str
    nodes: pd.DataFrame
    edges: pd.DataFrame
    geometry: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        *,
        x: Any,
        y: Any,
        u: Any,
        v: Any,
        length: Any,
        time: Any | None = None,
        mode: Mode | str = Mode.WALK,
        crs: str = "EPSG:32635",
        osmid: Any | None = None,
        speed_kmh: float | None = None,
        geometry: Any | None = None,
        **edge_columns: Any,
    ) -> StreetNetwork:
        """Build a network from plain arrays (hand-made networks, tests).

        ``x``/``y`` are projected coordinates in ``crs``; lon/lat are computed from them.
        When ``time`` is omitted it is ``length / speed_kmh``; extra keyword arrays
        become edge columns.
        """
        from pyproj import Transformer

        mode = Mode.parse(mode)
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        length = np.asarray(length, float)
        if time is None:
            if speed_kmh is None:
                raise ParameterError("give either time or speed_kmh")
            time = length / (speed_kmh / 3.6)
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        nodes = pd.DataFrame(
            {
                "osmid": np.asarray(osmid, np.int64)
                if osmid is not None
                else np.arange(len(x), dtype=np.int64),
                "x": x,
                "y": y,
                "lon": np.asarray(lon, float),
                "lat": np.asarray(lat, float),
            }
        )
        n_edges = len(length)
        edges = pd.DataFrame(
            {
                "u": np.asarray(u, np.int64),
                "v": np.asarray(v, np.int64),
                "length": length,
                "time": np.asarray(time, float),
                "osmid": np.arange(n_edges, dtype=np.int64),
                "highway": np.full(n_edges, "residential", object),
                "name": np.full(n_edges, None, object),
            }
        )
        for name, values in edge_columns.items():
            edges[name] = np.asarray(values)
        geom = None if geometry is None else np.asarray(geometry, dtype=object)
        return cls(mode=mode, crs=crs, nodes=nodes, edges=edges, geometry=geom)

    # -- sizes and arrays -----------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edges)

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """The ``n_nodes x n_nodes`` matrix of edge travel times in seconds (the
        fastest of parallel edges), for ``scipy.sparse.csgraph``. Explicit zeros are
        edges there, so zero-time edges keep their meaning."""
        return self._csr(self.edges["time"].to_numpy(float))

    @cached_property
    def csr_length(self) -> sp.csr_matrix:
        """As :attr:`csr`, with edge lengths in metres."""
        return self._csr(self.edges["length"].to_numpy(float))

    def _csr(self, weight: np.ndarray) -> sp.csr_matrix:
        u = self.edges["u"].to_numpy(np.int64)
        v = self.edges["v"].to_numpy(np.int64)
        n = self.n_nodes
        # Keep the minimum of parallel edges (a CSR built from COO would sum them).
        order = np.lexsort((weight, v, u))
        u, v, w = u[order], v[order], weight[order]
        first = np.ones(len(u), bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))]).astype(np.int64)
        m = sp.csr_matrix((w, v.astype(np.int32), indptr), shape=(n, n))
        m.has_sorted_indices = True
        return m

    # -- queries --------------------------------------------------------------------

    @cached_property
    def _kdtree(self) -> Any:
        from scipy.spatial import cKDTree

        return cKDTree(np.column_stack([self.nodes["x"], self.nodes["y"]]))

    def project(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Project lon/lat (degrees) to the network's ``crs``; checks their ranges."""
        lon = np.atleast_1d(np.asarray(lon, float))
        lat = np.atleast_1d(np.asarray(lat, float))
        check_lonlat(lon, lat)
        x, y = self._to_crs.transform(lon, lat)
        return np.asarray(x, float), np.asarray(y, float)

    def nearest_nodes(
        self, lon: Any, lat: Any, *, max_distance: float = DEFAULT_SNAP_DISTANCE
    ) -> tuple[np.ndarray, np.ndarray]:
        """Snap points to their nearest nodes.

        Returns
        -------
        nodes
            Node positions (int64).
        distances
            Straight-line distances in metres to those nodes.

        Raises
        ------
        OutsideNetworkError
            When a point is farther than ``max_distance`` from every node.
        ParameterError
            ``max_distance`` is not a number of metres > 0.
        """
        max_distance = check_max_distance(max_distance)
        x, y = self.project(lon, lat)
        dist, idx = self._kdtree.query(np.column_stack([x, y]))
        far = dist > max_distance
        if far.any():
            i = int(np.flatnonzero(far)[0])
            lon_a = np.atleast_1d(np.asarray(lon, float))
            lat_a = np.atleast_1d(np.asarray(lat, float))
            raise self._outside_error(
                float(lon_a[i]), float(lat_a[i]), float(dist[i]), max_distance, "node"
            )
        return idx.astype(np.int64), dist

    def _outside_error(
        self, lon: float, lat: float, dist: float, max_distance: float, what: str
    ) -> ConnectivityError:
        """The error for a point too far from the network: a :class:`CoordinateError`
        when swapping its latitude and longitude would put it inside the network."""
        pad = max_distance / 111_000.0
        nodes = self.nodes
        if (
            abs(lon) <= 90
            and nodes["lat"].min() - pad <= lon <= nodes["lat"].max() + pad
            and nodes["lon"].min() - pad <= lat <= nodes["lon"].max() + pad
        ):
            return CoordinateError(
                f"point (lat {lat:.6f}, lon {lon:.6f}) lies outside the {self.mode} network, "
                f"but (lat {lon:.6f}, lon {lat:.6f}) lies inside it: it looks like "
                "latitude and longitude are swapped (give longitude first in the API, "
                "LAT,LON on the command line)"
            )
        return OutsideNetworkError(
            f"point (lat {lat:.6f}, lon {lon:.6f}) is {dist:,.0f} m from the nearest "
            f"{what} of the {self.mode} network, more than max_distance={max_distance:,.0f} m: "
            f"give a point inside the network's extent {self.extent_text()}, or raise "
            "max_distance"
        )

    def extent_text(self) -> str:
        """The network's lat/lon bounding box, for messages."""
        return (
            f"(lat {self.nodes['lat'].min():.4f}..{self.nodes['lat'].max():.4f}, "
            f"lon {self.nodes['lon'].min():.4f}..{self.nodes['lon'].max():.4f})"
        )

    def travel_times(
        self, sources: Any, *, limit: float = np.inf, initial: Any | None = None
    ) -> np.ndarray:
        """One-to-all (or many-to-all, multi-source) travel times in seconds.

        Parameters
        ----------
        sources
            Node positions; with several, the time to each node is from the nearest.
        limit
            Stop searching beyond this many seconds.
        initial
            Start times in seconds, one per source (a point snapped mid-edge starts from
            both ends with the times of :meth:`Snapped.departure`; ``inf`` leaves a
            source out).

        Returns
        -------
        times
            Seconds to every node (``n_nodes``), ``inf`` where unreachable within
            ``limit``.

        Raises
        ------
        ParameterError
            A source that is not a node position, a negative ``limit`` or start time, or
            ``initial`` not matching ``sources``.
        """
        sources = np.atleast_1d(np.asarray(sources, np.int64))
        bad = (sources < 0) | (sources >= self.n_nodes)
        if bad.any():
            raise ParameterError(
                f"source {int(sources[bad][0])} is not a node position of the "
                f"{self.mode} network (0..{self.n_nodes - 1}); find nodes with "
                "nearest_nodes() or start from a point with travel_times_from()"
            )
        if not limit >= 0:
            raise ParameterError(f"limit must be >= 0 seconds, got {limit!r}")
        if initial is None:
            return np.asarray(
                dijkstra(self.csr, indices=sources, min_only=True, limit=limit), float
            )
        initial = np.atleast_1d(np.asarray(initial, float))
        if initial.shape != sources.shape:
            raise ParameterError(
                f"initial has {initial.size} start times for {sources.size} sources: "
                "give one start time (seconds) per source"
            )
        return self._times_with_offsets([(sources, initial)], limit=limit)[0]

    def _times_with_offsets(
        self, starts: list[tuple[np.ndarray, np.ndarray]], *, limit: float
    ) -> np.ndarray:
        """Travel times from k virtual sources, each joined to some nodes with start
        offsets (seconds); returns a ``k x n_nodes`` array.

        The virtual sources are rows appended to :attr:`csr` by concatenating its arrays
        (one memory copy, a few ms on a million edges), not by ``scipy.sparse.vstack``.
        """
        base = self.csr
        n = self.n_nodes
        k = len(starts)
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for nodes, times in starts:
            ok = np.isfinite(times)
            if (times[ok] < 0).any():
                raise ParameterError("start times (initial) must be >= 0 seconds")
            cols.append(np.asarray(nodes, np.int64)[ok])
            vals.append(np.asarray(times, float)[ok])
        counts = np.array([len(c) for c in cols], np.int64)
        indptr = np.concatenate([base.indptr.astype(np.int64), base.indptr[-1] + np.cumsum(counts)])
        indices = np.concatenate([base.indices, *(c.astype(base.indices.dtype) for c in cols)])
        data = np.concatenate([base.data, *vals])
        graph = sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))
        times = dijkstra(graph, indices=np.arange(n, n + k), limit=limit)
        return np.asarray(times[:, :n], float)

    # -- snapping onto edges --------------------------------------------------------

    @cached_property
    def _to_crs(self) -> Any:
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def reverse_edge(self) -> np.ndarray:
        """Per edge, the position of the same street in the opposite direction (the
        edge ``v -> u`` of the same length), or -1 where the street is one-way."""
        u = self.edges["u"].to_numpy(np.int64)
        v = self.edges["v"].to_numpy(np.int64)
        length = self.edges["length"].to_numpy(float)
        n = max(self.n_nodes, 1)
        key = u * n + v
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        want = v * n + u
        lo = np.searchsorted(sorted_key, want, side="left")
        hi = np.searchsorted(sorted_key, want, side="right")
        rev = np.full(len(u), -1, np.int64)
        tol = 0.01 + 1e-6 * length
        single = hi - lo == 1
        cand = order[np.minimum(lo[single], len(order) - 1)]
        idx = np.flatnonzero(single)
        match = np.abs(length[cand] - length[idx]) <= tol[idx]
        rev[idx[match]] = cand[match]
        # Several parallel edges v -> u: take the one closest in length (rare).
        for i in np.flatnonzero(hi - lo > 1):
            c = order[lo[i] : hi[i]]
            c = c[c != i] if u[i] == v[i] else c
            if len(c) == 0:
                continue
            j = c[np.argmin(np.abs(length[c] - length[i]))]
            if abs(length[j] - length[i]) <= tol[i]:
                rev[i] = j
        return rev

    @cached_property
    def _edge_tree(self) -> tuple[Any, np.ndarray, np.ndarray]:
        """An STRtree over one edge per street (the reverse direction shares it), the
        edge positions it indexes (ascending), and their geometries."""
        import shapely

        rev = self.reverse_edge
        pos = np.arange(self.n_edges)
        canonical = np.flatnonzero((rev < 0) | (pos < rev))
        if self.geometry is not None:
            geoms = self.geometry[canonical]
        else:  # straight lines, built only for the indexed edges
            xy = self.nodes[["x", "y"]].to_numpy(float)
            u = self.edges["u"].to_numpy(np.int64)[canonical]
            v = self.edges["v"].to_numpy(np.int64)[canonical]
            geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
        return shapely.STRtree(geoms), canonical, geoms

    def snap(self, lon: Any, lat: Any, *, max_distance: float = DEFAULT_SNAP_DISTANCE) -> Snapped:
        """Snap points onto their nearest edges (exact projection onto the edge lines).

        Parameters
        ----------
        lon, lat
            Longitude and latitude in degrees (scalars or arrays of the same length).
        max_distance
            Largest allowed distance in metres from a point to its edge.

        Returns
        -------
        snapped
            Per point: the edge, its end nodes, the position along it and the seconds
            to and from both end nodes; see :class:`Snapped`.

        Raises
        ------
        CoordinateError
            Coordinates out of range (or latitude and longitude swapped).
        OutsideNetworkError
            A point farther than ``max_distance`` from every edge.
        ParameterError
            ``max_distance`` is not a number of metres > 0.
        """
        import shapely

        max_distance = check_max_distance(max_distance)
        lon_a = np.atleast_1d(np.asarray(lon, float))
        lat_a = np.atleast_1d(np.asarray(lat, float))
        if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
            raise CoordinateError(
                f"lon and lat must be scalars or 1-D arrays of the same length "
                f"(got shapes {lon_a.shape} and {lat_a.shape})"
            )
        check_lonlat(lon_a, lat_a)
        if self.n_edges == 0:
            raise EmptyNetworkError(f"the {self.mode} network has no edges to snap onto")
        px, py = self._to_crs.transform(lon_a, lat_a)
        points = shapely.points(np.asarray(px, float), np.asarray(py, float))
        tree, canonical, geoms = self._edge_tree
        # The nearest edges with no distance bound, then the bound: shapely's
        # query_nearest(max_distance=d) first takes every edge whose box is within d of
        # the point and measures them all (36 s instead of 0.07 s for 8,228 stops on a
        # 600,000-node network with d = 1,000 km), where the unbounded search prunes.
        hits, dist = tree.query_nearest(points, return_distance=True, all_matches=True)
        m = len(points)
        # Ties (a point exactly between streets, or at a node): the lowest edge wins.
        chosen = np.full(m, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(chosen, hits[0], hits[1])
        nearest = np.full(m, np.inf)
        np.minimum.at(nearest, hits[0], dist)
        missing = ~(nearest <= max_distance)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise self._outside_error(
                float(lon_a[i]), float(lat_a[i]), float(nearest[i]), max_distance, "street"
            )
        edge = canonical[chosen]
        g = geoms[chosen]
        along = shapely.line_locate_point(g, points)
        glen = shapely.length(g)
        fraction = np.where(glen > 0, np.clip(along / np.where(glen > 0, glen, 1), 0, 1), 0.0)
        # Within a millimetre of an end node the point is at that node: float noise must
        # not put a point at a node a hair into a one-way street leaving it.
        fraction = np.where((fraction * glen <= _END_METRES) & (fraction <= 0.5), 0.0, fraction)
        fraction = np.where((1.0 - fraction) * glen <= _END_METRES, 1.0, fraction)
        on = shapely.line_interpolate_point(g, along)
        distance = shapely.distance(points, on)
        rev = self.reverse_edge[edge]
        t = self.edges["time"].to_numpy(float)
        t_fwd = t[edge]
        t_rev = np.where(rev >= 0, t[np.maximum(rev, 0)], np.inf)
        with np.errstate(invalid="ignore"):
            to_u = np.where(rev >= 0, fraction * t_rev, np.inf)
            from_v = np.where(rev >= 0, (1 - fraction) * t_rev, np.inf)
        # A point at an end node is at that node, whichever way the street runs.
        to_u = np.where(fraction <= 0, 0.0, to_u)
        from_v = np.where(fraction >= 1, 0.0, from_v)
        return Snapped(
            edge=edge,
            reverse_edge=rev,
            node_u=self.edges["u"].to_numpy(np.int64)[edge],
            node_v=self.edges["v"].to_numpy(np.int64)[edge],
            fraction=fraction,
            distance=np.asarray(distance, float),
            x=shapely.get_x(on),
            y=shapely.get_y(on),
            time_to_u=to_u,
            time_to_v=(1 - fraction) * t_fwd,
            time_from_u=fraction * t_fwd,
            time_from_v=from_v,
        )

    def travel_times_from(
        self,
        lon: Any,
        lat: Any,
        *,
        limit: float = np.inf,
        max_distance: float = DEFAULT_SNAP_DISTANCE,
    ) -> np.ndarray:
        """Travel times in seconds from points, snapped onto their nearest edges, to
        every node.

        The trip starts at the point: the walk onto its street (the snapping distance at
        :attr:`access_speed`) counts, as walk+transit routing counts it; then the walk
        (ride, drive) starts mid-edge: towards ``v`` along the edge, and towards ``u``
        along the reverse edge where the street is two-way.

        Parameters
        ----------
        lon, lat
            Longitude and latitude in degrees: scalars for one origin, or 1-D arrays.
        limit
            Stop searching beyond this many seconds (``inf`` beyond it).
        max_distance
            Largest allowed snapping distance in metres.

        Returns
        -------
        times
            ``n_nodes`` seconds for one scalar origin, else ``n_points x n_nodes``;
            ``inf`` where unreachable within ``limit``.

        Raises
        ------
        CoordinateError, OutsideNetworkError
            As :meth:`snap`.
        """
        if not limit >= 0:
            raise ParameterError(f"limit must be >= 0 seconds, got {limit!r}")
        snapped = self.snap(lon, lat, max_distance=max_distance)
        onto = snapped.distance / (self.access_speed / 3.6)  # the walk onto the street
        starts = []
        for i in range(len(snapped)):
            nodes, secs = snapped.departure(i)
            starts.append((nodes, secs + onto[i]))
        times = self._times_with_offsets(starts, limit=limit)
        return times[0] if np.ndim(lon) == 0 and np.ndim(lat) == 0 else times

    @cached_property
    def access_speed(self) -> float:
        """km/h at which a point off the street walks onto it: the network's own speed
        for a walk network, else :data:`ACCESS_WALK_SPEED` (one walks to the bike or
        the car)."""
        if Mode.parse(self.mode) is Mode.WALK:
            e = self.edges
            ok = (e["time"] > 0).to_numpy() & np.isfinite(e["time"].to_numpy(float))
            if ok.any():
                return float(np.median(e["length"].to_numpy(float)[ok] /
                                       e["time"].to_numpy(float)[ok])) * 3.6  # fmt: skip
        return ACCESS_WALK_SPEED

    # -- output views ---------------------------------------------------------------

    def nodes_gdf(self, crs: str | None = "EPSG:4326") -> Any:
        """The nodes as a GeoDataFrame of points (EPSG:4326 by default; ``None`` keeps
        the projected CRS)."""
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(
            self.nodes.copy(),
            geometry=gpd.points_from_xy(self.nodes["x"], self.nodes["y"]),
            crs=self.crs,
        )
        return gdf if crs is None else gdf.to_crs(crs)

    def edge_geometries(self) -> np.ndarray:
        """Edge LineStrings in the projected CRS (straight lines where none are stored)."""
        import shapely

        if self.geometry is not None:
            return self.geometry
        u = self.edges["u"].to_numpy()
        v = self.edges["v"].to_numpy()
        xy = self.nodes[["x", "y"]].to_numpy()
        coords = np.stack([xy[u], xy[v]], axis=1)
        return shapely.linestrings(coords)

    def edges_gdf(self, crs: str | None = "EPSG:4326") -> Any:
        """The edges as a GeoDataFrame of LineStrings."""
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(self.edges.copy(), geometry=self.edge_geometries(), crs=self.crs)
        return gdf if crs is None else gdf.to_crs(crs)

    def to_networkx(self) -> Any:
        """The network as an osmnx-compatible ``networkx.MultiDiGraph``, projected.

        As osmnx's ``project_graph`` returns it: graph attribute ``crs`` (the UTM zone),
        nodes keyed by OSM node id with ``x``, ``y`` in that CRS plus ``lon``, ``lat``;
        one edge per row of :attr:`edges` with ``length`` (m), ``travel_time`` (s),
        ``osmid``, ``highway``, ``name`` (and ``speed_kph``, ``maxspeed``, ``lanes`` for
        drive) and ``geometry`` where the network stores one (osmnx draws straight
        lines for the others). ``ox.convert.graph_to_gdfs`` and
        ``ox.routing.shortest_path(G, u, v, weight="travel_time")`` accept it.

        Returns
        -------
        graph
            A new ``networkx.MultiDiGraph``.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(crs=self.crs, created_with="connectivity", simplified=False)
        nodes = self.nodes
        osmid = nodes["osmid"].to_numpy(np.int64)
        graph.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y), "lon": float(lo), "lat": float(la)})
            for i, x, y, lo, la in zip(
                osmid,
                nodes["x"].to_numpy(float),
                nodes["y"].to_numpy(float),
                nodes["lon"].to_numpy(float),
                nodes["lat"].to_numpy(float),
                strict=True,
            )
        )
        e = self.edges
        names = {"time": "travel_time", "speed": "speed_kph"}
        columns = [c for c in e.columns if c not in ("u", "v")]
        keys = [names.get(c, c) for c in columns]
        values = [e[c].tolist() for c in columns]
        u = osmid[e["u"].to_numpy(np.int64)].tolist()
        v = osmid[e["v"].to_numpy(np.int64)].tolist()
        # Missing tags (None, NaN) are left out, as osmnx does.
        records = [
            {k: val for k, val in zip(keys, row, strict=True) if val is not None and val == val}
            for row in zip(*values, strict=True)
        ]
        if self.geometry is not None:
            for d, geom in zip(records, self.geometry, strict=True):
                if geom is not None:
                    d["geometry"] = geom
        graph.add_edges_from(zip(u, v, records, strict=True))
        return graph

    def __repr__(self) -> str:
        return (
            f"StreetNetwork(mode={self.mode.value}, nodes={self.n_nodes}, "
            f"edges={self.n_edges}, crs={self.crs})"
        )


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points snapped onto their nearest edges (from :meth:`StreetNetwork.snap`).

    Every attribute is an array with one value per point. Directions matter in a
    directed network: ``time_to_*`` are the seconds to *leave* the point and reach an
    end node (for origins); ``time_from_*`` are the seconds from an end node to *reach*
    the point (for destinations). A direction the street does not allow (a one-way
    drive edge has no ``reverse_edge``) is ``inf``.

    Attributes
    ----------
    edge
        Position of the edge ``u -> v`` the point lies on.
    reverse_edge
        Position of the same street's edge ``v -> u``, or -1 where it is one-way.
    node_u, node_v
        The edge's end nodes (node positions).
    fraction
        Position along the edge from ``u`` (0) to ``v`` (1), by length.
    distance
        Straight-line distance in metres from the point to the edge.
    x, y
        The point's projection onto the edge, in the network's projected CRS.
    time_to_u, time_to_v
        Seconds from the point to ``u`` (along the reverse edge: ``fraction`` of its
        time) and to ``v`` (along the edge: ``1 - fraction`` of its time).
    time_from_u, time_from_v
        Seconds from ``u`` to the point (``fraction`` of the edge's time) and from
        ``v`` to the point (``1 - fraction`` of the reverse edge's time).
    """

    edge: np.ndarray
    reverse_edge: np.ndarray
    node_u: np.ndarray
    node_v: np.ndarray
    fraction: np.ndarray
    distance: np.ndarray
    x: np.ndarray
    y: np.ndarray
    time_to_u: np.ndarray
    time_to_v: np.ndarray
    time_from_u: np.ndarray
    time_from_v: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def departure(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes reachable straight from point ``i`` and the seconds to reach them
        (``inf`` for a forbidden direction): the ``sources``/``initial`` of
        :meth:`StreetNetwork.travel_times`."""
        return (
            np.array([self.node_u[i], self.node_v[i]], np.int64),
            np.array([self.time_to_u[i], self.time_to_v[i]], float),
        )

    def arrival_times(self, node_times: Any) -> np.ndarray:
        """Seconds to reach each snapped point, given seconds to every node.

        Parameters
        ----------
        node_times
            Travel times to every node (``n_nodes``), or ``k x n_nodes`` for k origins.

        Returns
        -------
        times
            Per point (``k x n_points`` for 2-D input): the earlier of arriving via
            ``u`` along the edge and via ``v`` along the reverse edge. A point on the
            same edge as the origin is still reached through the end nodes.
        """
        t = np.asarray(node_times, float)
        via_u = t[..., self.node_u] + self.time_from_u
        via_v = t[..., self.node_v] + self.time_from_v
        return np.minimum(via_u, via_v)


def check_max_distance(max_distance: Any, *, name: str = "max_distance") -> float:
    """A snapping distance in metres (> 0, ``inf`` allowed); :class:`ParameterError`
    otherwise."""
    try:
        value = float(max_distance)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise ParameterError(
            f"{name}={max_distance!r}: give metres > 0 within which a point is snapped "
            f"onto the streets (default {DEFAULT_SNAP_DISTANCE:g})"
        )
    return value


def check_lonlat(lon: np.ndarray, lat: np.ndarray) -> None:
    """Raise :class:`CoordinateError` for coordinates out of range."""
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise CoordinateError("coordinates must be finite numbers (got NaN or infinity)")
    bad_lat = np.abs(lat) > 90
    if bad_lat.any():
        i = int(np.flatnonzero(bad_lat)[0])
        hint = (
            " (it looks like longitude and latitude are swapped: give LAT,LON)"
            if abs(lon[i]) <= 90
            else ""
        )
        raise CoordinateError(f"latitude {lat[i]} is outside -90..90{hint}")
    if (np.abs(lon) > 180).any():
        i = int(np.flatnonzero(np.abs(lon) > 180)[0])
        raise CoordinateError(f"longitude {lon[i]} is outside -180..180")
