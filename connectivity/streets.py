"""Street networks for walking, cycling and driving, held as arrays.

A :class:`StreetNetwork` is one mode's directed street graph: nodes with projected
coordinates (the data's local UTM zone, metres) and lon/lat, and edges with length in
metres and travel time in seconds for that mode. The engines read its CSR matrix; output
code reads :meth:`StreetNetwork.nodes_gdf` / :meth:`StreetNetwork.edges_gdf`.

Loaders (:func:`load_streets`, from a PBF, OSM XML or Overpass) live below the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import CoordinateError, OutsideNetworkError
from connectivity._modes import Mode

__all__ = ["StreetNetwork"]

#: Default distance (m) within which a point is snapped onto the network.
DEFAULT_SNAP_DISTANCE = 500.0


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
                raise ValueError("give either time or speed_kmh")
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
        from pyproj import Transformer

        lon = np.atleast_1d(np.asarray(lon, float))
        lat = np.atleast_1d(np.asarray(lat, float))
        check_lonlat(lon, lat)
        x, y = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True).transform(lon, lat)
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
        """
        x, y = self.project(lon, lat)
        dist, idx = self._kdtree.query(np.column_stack([x, y]))
        far = dist > max_distance
        if far.any():
            i = int(np.flatnonzero(far)[0])
            lon_a = np.atleast_1d(lon)
            lat_a = np.atleast_1d(lat)
            raise OutsideNetworkError(
                f"point (lat {float(lat_a[i]):.6f}, lon {float(lon_a[i]):.6f}) is "
                f"{dist[i]:,.0f} m from the nearest node of the {self.mode} network, more than "
                f"max_distance={max_distance:,.0f} m: give a point inside the network's "
                f"extent {self.extent_text()}, or raise max_distance"
            )
        return idx.astype(np.int64), dist

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

        ``sources`` are node positions; ``initial`` optional start times (seconds) per
        source, so a point snapped mid-edge can start from both ends. Returns a float
        array over all nodes, ``inf`` where unreachable within ``limit``.
        """
        sources = np.atleast_1d(np.asarray(sources, np.int64))
        if initial is None:
            return np.asarray(
                dijkstra(self.csr, indices=sources, min_only=True, limit=limit), float
            )
        initial = np.atleast_1d(np.asarray(initial, float))
        # Multi-source with start offsets: one virtual source joined to every source.
        n = self.n_nodes
        extra = sp.csr_matrix(
            (initial, (np.zeros(len(sources), np.int64), sources)), shape=(1, n + 1)
        )
        base = sp.hstack([self.csr, sp.csr_matrix((n, 1))], format="csr")
        graph = sp.vstack([base, extra], format="csr")
        times = dijkstra(graph, indices=n, limit=limit)
        return np.asarray(times[:n], float)

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

    def __repr__(self) -> str:
        return (
            f"StreetNetwork(mode={self.mode.value}, nodes={self.n_nodes}, "
            f"edges={self.n_edges}, crs={self.crs})"
        )


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
