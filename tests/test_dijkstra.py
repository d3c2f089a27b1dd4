"""The bounded many-source Dijkstra of the network build equals scipy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity.network._dijkstra import bounded_dijkstra


def _scipy_rows(graph, sources, limit):
    dist = dijkstra(graph, indices=sources, limit=limit)
    row, target = np.nonzero(np.isfinite(dist))
    return row, target, dist[row, target]


@pytest.mark.parametrize("seed", range(40))
def test_equals_scipy_on_random_directed_graphs(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    m = int(rng.integers(0, 6 * n))
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    # Lengths of every kind the streets give: fractions of metres, repeats, zeros.
    w = np.round(rng.exponential(80.0, m), int(rng.integers(0, 4)))
    w[rng.random(m) < 0.05] = 0.0
    # Duplicates summed; explicit zeros kept: scipy takes them as edges of 0 m (a stop on
    # a node), and so must the kernel.
    graph = sp.coo_matrix((w, (u, v)), shape=(n, n)).tocsr()
    sources = rng.integers(0, n, int(rng.integers(1, 20)))
    limit = float(rng.choice([0.0, 50.0, 300.0, np.inf]))
    got = bounded_dijkstra(graph, sources, limit)
    want = _scipy_rows(graph, sources, limit)
    for g, x in zip(got, want, strict=True):
        assert np.array_equal(g, x)


def test_a_grid_with_ties_and_an_unreachable_node():
    # A 3 x 3 grid of 100 m streets (many equal paths) and a node with no edge in.
    n = 10
    pairs = []
    for r in range(3):
        for c in range(3):
            i = 3 * r + c
            if c < 2:
                pairs += [(i, i + 1), (i + 1, i)]
            if r < 2:
                pairs += [(i, i + 3), (i + 3, i)]
    u, v = np.array(pairs).T
    graph = sp.csr_matrix((np.full(len(u), 100.0), (u, v)), shape=(n, n))
    row, target, distance = bounded_dijkstra(graph, np.array([0, 4]), 200.0)
    # From the corner: itself, two at 100 m, three at 200 m (the centre by two paths).
    assert target[row == 0].tolist() == [0, 1, 2, 3, 4, 6]
    assert distance[row == 0].tolist() == [0.0, 100.0, 200.0, 100.0, 200.0, 200.0]
    # From the centre every grid node is within 200 m; node 9 is never reached.
    assert target[row == 1].tolist() == list(range(9))
