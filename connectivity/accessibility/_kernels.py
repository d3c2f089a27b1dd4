"""Compiled kernels of :mod:`connectivity.accessibility.opportunities` (numba, cached on disk)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _push(heap_d, heap_v, size, d, v):
    i = size
    heap_d[i] = d
    heap_v[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if heap_d[parent] <= heap_d[i]:
            break
        heap_d[i], heap_d[parent] = heap_d[parent], heap_d[i]
        heap_v[i], heap_v[parent] = heap_v[parent], heap_v[i]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _pop(heap_d, heap_v, size):
    d = heap_d[0]
    v = heap_v[0]
    size -= 1
    heap_d[0] = heap_d[size]
    heap_v[0] = heap_v[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and heap_d[left + 1] < heap_d[left]:
            child = left + 1
        if heap_d[i] <= heap_d[child]:
            break
        heap_d[i], heap_d[child] = heap_d[child], heap_d[i]
        heap_v[i], heap_v[child] = heap_v[child], heap_v[i]
        i = child
    return d, v, size


@njit(cache=True, parallel=True)
def reverse_cumulative(indptr, indices, data, sources, source_weight, cutoffs, n, n_threads):
    """For each source ``s`` (a node holding weight), a Dijkstra bounded by the last of
    the ascending ``cutoffs`` over the graph given in CSR form (the *reversed* street
    graph, so distances are from every node *to* ``s``). Node ``v`` reached at ``d``
    gets ``source_weight[s]`` in column ``k``, the first cutoff with ``d <= cutoffs[k]``.
    Sources are dealt to ``n_threads`` threads. Returns ``n x len(cutoffs)`` increments: their cumulative sum along the columns is
    the weight reachable within each cutoff."""
    n_cut = len(cutoffs)
    horizon = cutoffs[n_cut - 1]
    n_threads = max(1, min(n_threads, len(sources)))
    acc = np.zeros((n_threads, n, n_cut))
    for t in prange(n_threads):
        dist = np.full(n, np.inf)
        done = np.zeros(n, np.bool_)
        touched = np.empty(n, np.int64)
        heap_d = np.empty(len(data) + 1)
        heap_v = np.empty(len(data) + 1, np.int64)
        local = acc[t]
        for i in range(t, len(sources), n_threads):
            s = sources[i]
            w = source_weight[i]
            n_touched = 0
            dist[s] = 0.0
            touched[n_touched] = s
            n_touched += 1
            size = _push(heap_d, heap_v, 0, 0.0, s)
            while size > 0:
                d, v, size = _pop(heap_d, heap_v, size)
                if done[v]:
                    continue
                done[v] = True
                k = 0
                while cutoffs[k] < d:
                    k += 1
                local[v, k] += w
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    nd = d + data[e]
                    if nd <= horizon and nd < dist[u]:
                        if dist[u] == np.inf:
                            touched[n_touched] = u
                            n_touched += 1
                        dist[u] = nd
                        size = _push(heap_d, heap_v, size, nd, u)
            for j in range(n_touched):
                dist[touched[j]] = np.inf
                done[touched[j]] = False
    out = np.zeros((n, n_cut))
    for t in range(n_threads):
        out += acc[t]
    return out
