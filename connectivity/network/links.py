"""Links between stops and streets: stops snapped onto the walk network, the per-stop
walk trees routing reads, stop-to-stop footpaths (street walks, same-street walks,
``transfers.txt`` rules).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from connectivity._arrays import csr_from_pairs
from connectivity.network._dijkstra import bounded_dijkstra
from connectivity.streets.geometry import along, at_ends, same_street_distance, signed_offsets
from connectivity.streets.graph import StreetNetwork
from connectivity.transit.timetable import Timetable

logger = logging.getLogger(__name__)

#: Footpath kinds: a walk (``dist`` metres, plus the slack when boarding), a
#: ``transfers.txt`` minimum time (``time`` seconds, no slack), a timed transfer (0 s).
FP_WALK, FP_MIN_TIME, FP_TIMED = 0, 1, 2

#: Metres of float noise (projections, snapping) tolerated at distance limits.
_DIST_TOLERANCE = 1e-6


def augmented_graph(
    streets: StreetNetwork,
    n_stops: int,
    link_stop: np.ndarray,
    link_node: np.ndarray,
    link_dist_to: np.ndarray,
    link_dist_from: np.ndarray,
) -> sp.csr_matrix:
    base = streets.csr_length.tocoo()
    n = streets.n_nodes
    to_ok = np.isfinite(link_dist_to)
    from_ok = np.isfinite(link_dist_from)
    rows = np.concatenate([base.row, n + link_stop[to_ok], link_node[from_ok]])
    cols = np.concatenate([base.col, link_node[to_ok], n + link_stop[from_ok]])
    data = np.concatenate([base.data, link_dist_to[to_ok], link_dist_from[from_ok]])
    # Keep the shortest of parallel entries (COO -> CSR would sum them).
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, data = rows[first], cols[first], data[first]
    size = n + n_stops
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=size))]).astype(np.int64)
    g = sp.csr_matrix((data.astype(float), cols.astype(np.int32), indptr), shape=(size, size))
    g.has_sorted_indices = True
    return g


def link_stops(
    walk: StreetNetwork, stops: pd.DataFrame, max_link_distance: float
) -> tuple[np.ndarray, ...]:
    """Project each stop onto its nearest walk edge: rows (stop, node, to, from), and per
    stop its edge, fraction and offset."""
    n_stops = len(stops)
    stop_edge = np.full(n_stops, -1, np.int64)
    stop_fraction = np.zeros(n_stops)
    stop_offset = np.zeros(n_stops)
    if len(stops) == 0:
        z = np.zeros(0)
        return z.astype(np.int64), z.astype(np.int64), z, z, stop_edge, stop_fraction, stop_offset
    lon = stops["lon"].to_numpy(float)
    lat = stops["lat"].to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    idx = np.flatnonzero(ok)
    snapped = walk.snap(lon[idx], lat[idx], max_distance=max_link_distance * 4 + 1e6)
    near = snapped.distance <= max_link_distance
    idx = idx[near]
    length = walk.edges["length"].to_numpy(float)
    e = snapped.edge[near]
    rev = snapped.reverse_edge[near]
    len_fwd = length[e]
    f = at_ends(snapped.fraction[near], len_fwd)
    d = snapped.distance[near]
    len_rev = np.where(rev >= 0, length[np.maximum(rev, 0)], np.inf)
    u = snapped.node_u[near]
    v = snapped.node_v[near]
    # stop -> u along the reverse edge, stop -> v along the edge; and back.
    to_u = d + along(f, len_rev)
    to_v = d + along(1 - f, len_fwd)
    from_u = d + along(f, len_fwd)
    from_v = d + along(1 - f, len_rev)
    link_stop = np.concatenate([idx, idx]).astype(np.int64)
    link_node = np.concatenate([u, v]).astype(np.int64)
    dist_to = np.concatenate([to_u, to_v])
    dist_from = np.concatenate([from_u, from_v])
    sx, sy = walk._to_crs.transform(lon[idx], lat[idx])
    stop_edge[idx] = e
    stop_fraction[idx] = f
    stop_offset[idx] = signed_offsets(walk, e, np.asarray(sx), np.asarray(sy), d)
    return link_stop, link_node, dist_to, dist_from, stop_edge, stop_fraction, stop_offset


def trees_and_walks(
    graph: sp.csr_matrix,
    n: int,
    sources: np.ndarray,
    walk_radius: float,
    transfer_radius: float,
    *,
    chunk: int = 64,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Limited Dijkstra from the stop nodes ``n + sources``: the stop trees (street
    nodes within ``walk_radius``) and the stop-to-stop walks within ``transfer_radius``,
    each as rows ``(source, target, metres)``."""
    limit = max(walk_radius, transfer_radius) + _DIST_TOLERANCE
    empty = [np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, float)]
    trees: list[np.ndarray] = empty
    walks: list[np.ndarray] = empty
    t_src: list[np.ndarray] = []
    t_dst: list[np.ndarray] = []
    t_d: list[np.ndarray] = []
    w_src: list[np.ndarray] = []
    w_dst: list[np.ndarray] = []
    w_d: list[np.ndarray] = []
    import sys

    from tqdm.auto import tqdm

    starts = range(0, len(sources), chunk)
    for lo in tqdm(
        starts,
        desc="walks from stops",
        unit="chunk",
        disable=not sys.stderr.isatty() or len(starts) < 4,
    ):
        block = sources[lo : lo + chunk]
        row, target, d = bounded_dijkstra(graph, n + block, limit)
        keep = (target < n) & (d <= walk_radius + _DIST_TOLERANCE)
        t_src.append(block[row[keep]])
        t_dst.append(target[keep])
        t_d.append(d[keep])
        keep = (target >= n) & (d <= transfer_radius + _DIST_TOLERANCE)
        w_src.append(block[row[keep]])
        w_dst.append(target[keep] - n)
        w_d.append(d[keep])
    if t_src:
        trees = [np.concatenate(t_src), np.concatenate(t_dst), np.concatenate(t_d)]
        walks = [np.concatenate(w_src), np.concatenate(w_dst), np.concatenate(w_d)]
    return trees, walks


def _tree_csr(
    n_stops: int, src: np.ndarray, node: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((dist, src))
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_stops))]).astype(np.int64)
    return ptr, node[order].astype(np.int32), dist[order].astype(np.float32)


def _compute_arrays(
    walk: StreetNetwork,
    timetable: Timetable | None,
    *,
    max_link_distance: float,
    transfer_radius: float,
    walk_radius: float,
) -> dict[str, np.ndarray]:
    n_stops = 0 if timetable is None else timetable.n_stops
    stops = timetable.stops if timetable is not None else pd.DataFrame({"lon": [], "lat": []})
    (link_stop, link_node, dist_to, dist_from, stop_edge, stop_fraction, stop_offset) = link_stops(
        walk, stops, max_link_distance
    )
    graph = augmented_graph(walk, n_stops, link_stop, link_node, dist_to, dist_from)
    n = walk.n_nodes
    linked = np.unique(link_stop)
    trees, walks = trees_and_walks(graph, n, linked, walk_radius, transfer_radius)
    gt = graph.T.tocsr()
    symmetric = (abs(graph - gt) > 1e-6).nnz == 0
    if symmetric:
        rtrees = trees
    else:
        rtrees, _ = trees_and_walks(gt, n, linked, walk_radius, 0.0)
    tree_ptr, tree_node, tree_dist = _tree_csr(n_stops, *trees)
    rtree_ptr, rtree_node, rtree_dist = _tree_csr(n_stops, *rtrees)
    walks = add_same_street_walks(
        walk, walks, stop_edge, stop_fraction, stop_offset, transfer_radius
    )
    fp = _footpaths(timetable, walk, walks)
    return {
        "link_stop": link_stop,
        "link_node": link_node,
        "link_dist_to": dist_to,
        "link_dist_from": dist_from,
        "stop_edge": stop_edge,
        "stop_fraction": stop_fraction,
        "stop_offset": stop_offset,
        **fp,
        "tree_ptr": tree_ptr,
        "tree_node": tree_node,
        "tree_dist": tree_dist,
        "rtree_ptr": rtree_ptr,
        "rtree_node": rtree_node,
        "rtree_dist": rtree_dist,
    }


def add_same_street_walks(
    walk: StreetNetwork,
    walks: list[np.ndarray],
    stop_edge: np.ndarray,
    stop_fraction: np.ndarray,
    stop_offset: np.ndarray,
    transfer_radius: float,
) -> list[np.ndarray]:
    """Add the walks between stops projected onto the same street (along it, not round
    an end node); the shorter of both is kept later by :func:`_footpaths`."""
    linked = np.flatnonzero(stop_edge >= 0)
    if len(linked) < 2:
        return walks
    rev = walk.reverse_edge
    length = walk.edges["length"].to_numpy(float)
    e = stop_edge[linked]
    street = np.where(rev[e] >= 0, np.minimum(e, rev[e]), e)
    order = np.argsort(street, kind="stable")
    src, dst, dist = [walks[0]], [walks[1]], [walks[2]]
    bounds = np.flatnonzero(np.diff(street[order])) + 1
    for group in np.split(linked[order], bounds):
        if len(group) < 2:
            continue
        for q in group:
            d = same_street_distance(
                length,
                int(stop_edge[q]),
                int(rev[stop_edge[q]]),
                float(stop_fraction[q]),
                float(stop_offset[q]),
                stop_edge[group],
                stop_fraction[group],
                stop_offset[group],
            )
            keep = (d <= transfer_radius + _DIST_TOLERANCE) & (group != q)
            src.append(np.full(int(keep.sum()), q, np.int64))
            dst.append(group[keep])
            dist.append(d[keep])
    return [np.concatenate(src), np.concatenate(dst), np.concatenate(dist)]


def _footpaths(
    timetable: Timetable | None, walk: StreetNetwork, walks: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Footpaths ``(q, p) -> (kind, metres, seconds)``: walks, stations, self, rules."""
    n_stops = 0 if timetable is None else timetable.n_stops
    fp: dict[tuple[int, int], tuple[int, float, int]] = {}
    src, dst, dist = walks
    for q, p, d in zip(src.tolist(), dst.tolist(), dist.tolist(), strict=True):
        if q != p and ((q, p) not in fp or fp[(q, p)][1] > d):
            fp[(q, p)] = (FP_WALK, float(d), 0)
    for q in range(n_stops):
        fp[(q, q)] = (FP_WALK, 0.0, 0)
    if timetable is not None:
        stops = timetable.stops
        x, y = _stop_xy(walk, stops)
        if "parent_station" in stops.columns:
            parent = stops["parent_station"].astype("string").fillna("").to_numpy(object)
            ids = stops["stop_id"].astype(str).to_numpy(object)
            pos_of = {sid: i for i, sid in enumerate(ids)}
            groups: dict[str, list[int]] = {}
            for i, par in enumerate(parent):
                if par:
                    groups.setdefault(par, []).append(i)
            for par, members in groups.items():
                if par in pos_of:
                    members = [*members, pos_of[par]]
                for q in members:
                    for p in members:
                        if q == p:
                            continue
                        d = float(np.hypot(x[q] - x[p], y[q] - y[p]))
                        if not np.isfinite(d):
                            continue
                        old = fp.get((q, p))
                        if old is None or old[1] > d:
                            fp[(q, p)] = (FP_WALK, d, 0)
        _apply_rules(timetable, fp, x, y)
    if fp:
        keys = np.asarray(list(fp.keys()), np.int64)
        vals = list(fp.values())
        kind = np.asarray([v[0] for v in vals], np.int8)
        d = np.asarray([v[1] for v in vals], float)
        t = np.asarray([v[2] for v in vals], np.int64)
        order = np.lexsort((keys[:, 1], keys[:, 0]))
        keys, kind, d, t = keys[order], kind[order], d[order], t[order]
        ptr, to, kind, d, t = csr_from_pairs(n_stops, keys[:, 0], keys[:, 1], kind, d, t)
    else:
        ptr = np.zeros(n_stops + 1, np.int64)
        to, kind, d, t = (
            np.zeros(0, np.int64),
            np.zeros(0, np.int8),
            np.zeros(0),
            np.zeros(0, np.int64),
        )
    return {"fp_ptr": ptr, "fp_to": to, "fp_kind": kind, "fp_dist": d, "fp_time": t}


def _stop_xy(walk: StreetNetwork, stops: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lon = stops["lon"].to_numpy(float)
    lat = stops["lat"].to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    x = np.full(len(stops), np.nan)
    y = np.full(len(stops), np.nan)
    if ok.any():
        x[ok], y[ok] = walk._to_crs.transform(lon[ok], lat[ok])
    return x, y


def _apply_rules(
    timetable: Timetable,
    fp: dict[tuple[int, int], tuple[int, float, int]],
    x: np.ndarray,
    y: np.ndarray,
) -> None:
    tr = timetable.transfers
    if tr is None or len(tr) == 0:
        return
    bound = np.zeros(len(tr), bool)
    for col in (
        "from_trip_id",
        "to_trip_id",
        "from_route_id",
        "to_route_id",
        "from_trip",
        "to_trip",
        "from_route",
        "to_route",
    ):
        if col in tr.columns:
            bound |= tr[col].notna().to_numpy() & (tr[col].astype(str).to_numpy() != "")
    q_all = pd.to_numeric(tr["from_stop"], errors="coerce").to_numpy()
    p_all = pd.to_numeric(tr["to_stop"], errors="coerce").to_numpy()
    kind_all = pd.to_numeric(tr["transfer_type"], errors="coerce").fillna(0).to_numpy()
    if "min_transfer_time" in tr.columns:
        time_all = pd.to_numeric(tr["min_transfer_time"], errors="coerce").to_numpy(float)
    else:
        time_all = np.full(len(tr), np.nan)
    skipped = int(bound.sum())
    for i in np.flatnonzero(~bound):
        q, p, kind = q_all[i], p_all[i], int(kind_all[i])
        if not (np.isfinite(q) and np.isfinite(p)):
            skipped += 1
            continue
        q, p = int(q), int(p)
        if kind == 3:
            fp.pop((q, p), None)
        elif kind == 2 and np.isfinite(time_all[i]):
            fp[(q, p)] = (FP_MIN_TIME, 0.0, int(time_all[i]))
        elif kind == 1:
            fp[(q, p)] = (FP_TIMED, 0.0, 0)
        elif kind in (0, 2):
            if (q, p) not in fp:
                d = float(np.hypot(x[q] - x[p], y[q] - y[p]))
                fp[(q, p)] = (FP_WALK, d if np.isfinite(d) else 0.0, 0)
        else:
            skipped += 1
    if skipped:
        logger.info(
            "skipped %d transfers.txt rules bound to trips or routes, of in-seat types "
            "4/5 or with unknown stops",
            skipped,
        )
