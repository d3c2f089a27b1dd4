"""Compiled inner loops of :mod:`connectivity.bottlenecks.structure` (numba, cached on disk).

Origin-destination betweenness is Brandes' dependency accumulation (Brandes 2001,
"A faster algorithm for betweenness centrality"; Brandes 2008 for edge variants) with a
weight per target: the distances come from scipy's Dijkstra, the shortest-path DAG is
every edge ``u -> v`` with ``dist[u] + w == dist[v]`` (within a relative tolerance),
and a pair's flow is split over all its shortest paths in proportion to their number.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Relative tolerance under which two path lengths count as equal (ties).
TIE_RTOL = 1e-9


@njit(cache=True)
def od_flows(
    indptr: np.ndarray,
    head: np.ndarray,
    weight: np.ndarray,
    edge_id: np.ndarray,
    dist: np.ndarray,
    order: np.ndarray,
    source: int,
    target_weight: np.ndarray,
    source_weight: float,
    edge_flow: np.ndarray,
    node_flow: np.ndarray,
) -> None:
    """Add one source's shortest-path flows to ``edge_flow`` and ``node_flow`` in place.

    ``indptr``/``head``/``weight``/``edge_id`` are the out-edges in CSR order (all
    parallel edges kept; ``edge_id`` maps back to the caller's edge positions); ``dist``
    the source's distances; ``order`` the reachable nodes sorted by ``dist`` (a
    topological order of the shortest-path DAG because every weight is positive). The
    flow to target ``t`` is ``source_weight * target_weight[t]``, split over the
    shortest paths in proportion to their number. ``node_flow`` receives the flow that
    passes *through* a node (not the flow that starts or ends there).
    """
    n = dist.shape[0]
    sigma = np.zeros(n)
    delta = np.zeros(n)
    sigma[source] = 1.0
    for i in range(order.shape[0]):
        v = order[i]
        sv = sigma[v]
        if sv == 0.0:
            continue
        dv = dist[v]
        for e in range(indptr[v], indptr[v + 1]):
            w = head[e]
            dw = dist[w]
            if abs(dv + weight[e] - dw) <= TIE_RTOL * max(1.0, dw):
                sigma[w] += sv
    for i in range(order.shape[0] - 1, -1, -1):
        v = order[i]
        sv = sigma[v]
        if sv == 0.0:
            continue
        dv = dist[v]
        acc = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            w = head[e]
            dw = dist[w]
            if sigma[w] > 0.0 and abs(dv + weight[e] - dw) <= TIE_RTOL * max(1.0, dw):
                f = sv / sigma[w] * delta[w]
                edge_flow[edge_id[e]] += f * source_weight
                acc += f
        if v != source:
            node_flow[v] += acc * source_weight
            delta[v] = acc + target_weight[v]
        else:
            delta[v] = acc
