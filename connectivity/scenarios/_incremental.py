"""The network arrays of a scenario, built from the baseline's without rebuilding it.

The baseline's stop links, stop trees and footpaths are kept (those of removed stops
dropped); only the new stops are linked to the walk network and walked from, in both
directions, and their trees, footpaths and same-street walks are added. ``_Applied`` is
what applying the modifications to the timetable gives these functions:
:func:`connectivity.scenarios.apply.apply_scenario` builds the network from both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from connectivity._arrays import csr_from_pairs
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.network.links import (
    FP_WALK,
    add_same_street_walks,
    augmented_graph,
    link_stops,
    trees_and_walks,
)
from connectivity.transit.timetable import Timetable


@dataclass
class _Applied:
    timetable: Timetable
    new_stops: list[int] = field(default_factory=list)
    removed_stops: set[int] = field(default_factory=set)
    lines: list[dict[str, Any]] = field(default_factory=list)


# -- incremental links, trees and footpaths ------------------------------------------------


def _expand(ptr: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    src = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    return (src, *cols)


def _extend_tree(
    ptr: np.ndarray,
    node: np.ndarray,
    dist: np.ndarray,
    removed: np.ndarray,
    n_total: int,
    new_src: np.ndarray,
    new_node: np.ndarray,
    new_dist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baseline's stop trees, removed stops emptied, new stops' trees appended."""
    counts = np.diff(ptr).astype(np.int64)
    if len(removed):
        keep = np.repeat(~np.isin(np.arange(len(counts)), removed), counts)
        node, dist = node[keep], dist[keep]
        counts[removed] = 0
    n_old = len(counts)
    order = np.lexsort((new_dist, new_src))
    new_counts = np.bincount(new_src - n_old, minlength=n_total - n_old).astype(np.int64)
    all_counts = np.concatenate([counts, new_counts])
    out_ptr = np.concatenate([[0], np.cumsum(all_counts)]).astype(np.int64)
    out_node = np.concatenate([node, new_node[order].astype(node.dtype)])
    out_dist = np.concatenate([dist, new_dist[order].astype(dist.dtype)])
    return out_ptr, out_node, out_dist


def _incremental_arrays(network: IntermodalNetwork, applied: _Applied) -> dict[str, np.ndarray]:
    walk = network.streets
    n = walk.n_nodes
    n_old = network.n_stops
    tt = applied.timetable
    n_total = tt.n_stops
    new = np.arange(n_old, n_total, dtype=np.int64)
    removed = np.asarray(sorted(applied.removed_stops), np.int64)
    params = network.params

    # Links: the baseline's, without removed stops, plus the new stops'.
    keep = ~np.isin(network.link_stop, removed)
    ls, ln, ld_to, ld_from, s_edge, s_frac, s_off = link_stops(
        walk, tt.stops.iloc[n_old:], float(params["max_link_distance"])
    )
    link_stop = np.concatenate([network.link_stop[keep], ls + n_old])
    link_node = np.concatenate([network.link_node[keep], ln])
    dist_to = np.concatenate([network.link_dist_to[keep], ld_to])
    dist_from = np.concatenate([network.link_dist_from[keep], ld_from])
    stop_edge = np.concatenate([network.stop_edge, s_edge])
    stop_edge[removed] = -1
    stop_fraction = np.concatenate([network.stop_fraction, s_frac])
    stop_offset = np.concatenate([network.stop_offset, s_off])
    new_linked = np.unique(ls + n_old)

    empty = [np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, float)]
    walk_r, transfer_r = float(params["walk_radius"]), float(params["transfer_radius"])
    if len(new_linked):
        graph = augmented_graph(walk, n_total, link_stop, link_node, dist_to, dist_from)
        trees, walks = trees_and_walks(graph, n, new_linked, walk_r, transfer_r)
        if _symmetric(walk):
            rtrees, rwalks = trees, walks
        else:
            gt = graph.T.tocsr()
            rtrees, rwalks = trees_and_walks(gt, n, new_linked, walk_r, transfer_r)
        # Walks along a street shared with a new stop (not round an end node).
        streets_of_new = _street_ids(walk, stop_edge[new_linked])
        on_same = np.isin(_street_ids(walk, stop_edge), streets_of_new) & (stop_edge >= 0)
        same = add_same_street_walks(
            walk, empty, np.where(on_same, stop_edge, -1), stop_fraction, stop_offset, transfer_r
        )
    else:
        trees = rtrees = walks = rwalks = same = empty
    tree = _extend_tree(
        network.tree_ptr, network.tree_node, network.tree_dist, removed, n_total, *trees
    )
    rtree = _extend_tree(
        network.rtree_ptr, network.rtree_node, network.rtree_dist, removed, n_total, *rtrees
    )

    # Footpaths: the baseline's without removed stops; new -> any, any -> new, self.
    q, p, kind, d, t = _expand(
        network.fp_ptr, network.fp_to, network.fp_kind, network.fp_dist, network.fp_time
    )
    ok = ~(np.isin(q, removed) | np.isin(p, removed))
    w_src, w_dst, w_d = walks
    r_src, r_dst, r_d = rwalks  # walks to the new stop r_src from r_dst
    m_src, m_dst, m_d = same
    fwd = (w_src != w_dst) & ~np.isin(w_dst, removed)
    back = (r_src != r_dst) & ~np.isin(r_dst, removed) & (r_dst < n_old)
    along = (m_src >= n_old) | (m_dst >= n_old)
    q = np.concatenate([q[ok], w_src[fwd], r_dst[back], m_src[along], new])
    p = np.concatenate([p[ok], w_dst[fwd], r_src[back], m_dst[along], new])
    n_add = int(fwd.sum() + back.sum() + along.sum() + len(new))
    kind = np.concatenate([kind[ok], np.full(n_add, FP_WALK, kind.dtype)])
    d = np.concatenate([d[ok], w_d[fwd], r_d[back], m_d[along], np.zeros(len(new))])
    t = np.concatenate([t[ok], np.zeros(n_add, t.dtype)])
    # One footpath a pair: the shortest walk (baseline pairs are never repeated).
    order = np.lexsort((d, p, q))
    q, p, kind, d, t = q[order], p[order], kind[order], d[order], t[order]
    first = np.ones(len(q), bool)
    first[1:] = (q[1:] != q[:-1]) | (p[1:] != p[:-1])
    fp_ptr, fp_to, fp_kind, fp_dist, fp_time = csr_from_pairs(
        n_total, q[first], p[first], kind[first], d[first], t[first]
    )
    return {
        "link_stop": link_stop,
        "link_node": link_node,
        "link_dist_to": dist_to,
        "link_dist_from": dist_from,
        "stop_edge": stop_edge,
        "stop_fraction": stop_fraction,
        "stop_offset": stop_offset,
        "fp_ptr": fp_ptr,
        "fp_to": fp_to,
        "fp_kind": fp_kind,
        "fp_dist": fp_dist,
        "fp_time": fp_time,
        "tree_ptr": tree[0],
        "tree_node": tree[1],
        "tree_dist": tree[2],
        "rtree_ptr": rtree[0],
        "rtree_node": rtree[1],
        "rtree_dist": rtree[2],
    }


def _street_ids(walk: Any, edges: np.ndarray) -> np.ndarray:
    """A street's id: the smaller of an edge and its reverse (-1 for no edge)."""
    rev = walk.reverse_edge
    e = np.maximum(edges, 0)
    ids = np.where(rev[e] >= 0, np.minimum(e, rev[e]), e)
    return np.where(edges >= 0, ids, -1)


def _symmetric(walk: Any) -> bool:
    g = walk.csr_length
    return (
        bool((abs(g - g.T) > 1e-6).nnz == 0) if isinstance(g, sp.spmatrix | sp.sparray) else False
    )
