"""Tests of connectivity.bottlenecks on networks the tests build, where the answer is
known by hand or computed by an independent brute force here."""

from __future__ import annotations

import csv
import itertools
import json
import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import box

from connectivity import EmptyNetworkError, OutsideNetworkError, ParameterError
from connectivity.bottlenecks import criticality as crit
from connectivity.bottlenecks import structure as st
from connectivity.bottlenecks import study as bn
from connectivity.bottlenecks import transit as bt
from connectivity.outputs.bottleneck_map import write_bottlenecks
from connectivity.streets.graph import StreetNetwork

CRS = "EPSG:32632"  # UTM 32N (Mannheim)
X0, Y0 = 460_000.0, 5_480_000.0
SPACING = 100.0
GRID_TIME = 60.0
BRIDGE_TIME = 120.0
EAST = (4, 5, 6)
WEST = (0, 1, 2)
CORE = (0, 1)


def _two_way(coords, roads, *, mode="drive", **columns):
    """A network with both directions of every road ``(a, b, time)``, one OSM way each."""
    index = {key: i for i, key in enumerate(coords)}
    u, v, t, way = [], [], [], []
    for k, (a, b, time) in enumerate(roads):
        u += [index[a], index[b]]
        v += [index[b], index[a]]
        t += [time, time]
        way += [k, k]
    xy = np.array([coords[key] for key in coords])
    extra = {
        name: np.repeat(np.asarray(values, dtype=object), 2) for name, values in columns.items()
    }
    net = StreetNetwork.from_arrays(
        x=xy[:, 0],
        y=xy[:, 1],
        u=u,
        v=v,
        length=np.asarray(t) * 10.0,
        time=t,
        mode=mode,
        crs=CRS,
        **extra,
    )
    net.edges["osmid"] = np.asarray(way, np.int64)
    return net, index


def _river(bridge_rows=(1,), names=None):
    """Two 3 x 3 grids (west x = 0..2, east x = 4..6) joined by bridges at rows y."""
    coords = {
        (i, j): (X0 + i * SPACING, Y0 + j * SPACING) for i in (*WEST, *EAST) for j in range(3)
    }
    roads = []
    for side in (WEST, EAST):
        for a, b in itertools.pairwise(side):
            roads += [((a, j), (b, j), GRID_TIME) for j in range(3)]
        for i in side:
            roads += [((i, j), (i, j + 1), GRID_TIME) for j in range(2)]
    roads += [((2, j), (4, j), BRIDGE_TIME) for j in bridge_rows]
    name = ["street"] * len(roads)
    if names:
        name[-len(bridge_rows) :] = names
    return _two_way(coords, roads, name=name)


def _lonlat(x, y):
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _core_latlon():
    lon, lat = _lonlat(X0 + CORE[0] * SPACING, Y0 + CORE[1] * SPACING)
    return (lat, lon)


def _zones():
    """East bank and west bank as zones (the core node lies in the west one)."""
    half = SPACING / 2
    return gpd.GeoDataFrame(
        {"name": ["east", "west"]},
        geometry=[
            box(
                X0 + 4 * SPACING - half, Y0 - half, X0 + 6 * SPACING + half, Y0 + 2 * SPACING + half
            ),
            box(X0 - half, Y0 - half, X0 + 2 * SPACING + half, Y0 + 2 * SPACING + half),
        ],
        crs=CRS,
    )


def _population(index):
    """A different population at every node: 10 * x + y + 1."""
    pop = np.zeros(len(index))
    for (i, j), k in index.items():
        pop[k] = 10 * i + j + 1
    return pop


def _edge(net, index, a, b):
    e = net.edges
    hit = np.flatnonzero((e["u"] == index[a]).to_numpy() & (e["v"] == index[b]).to_numpy())
    assert len(hit) == 1
    return int(hit[0])


def _study(net, index, **kw):
    return bn.study_area(
        net,
        core=_core_latlon(),
        zones=_zones(),
        population=_population(index),
        core_radius=50,
        **kw,
    )


# -- a single bridge ----------------------------------------------------------------


def test_single_bridge_is_a_bridge_and_the_only_articulation_link():
    net, index = _river()
    bridge = sorted([_edge(net, index, (2, 1), (4, 1)), _edge(net, index, (4, 1), (2, 1))])
    assert st.bridges(net).tolist() == bridge
    # Edges without an OSM way id (NaN) are links all the same.
    net.edges["osmid"] = net.edges["osmid"].astype(float).where(net.edges.index > 1)
    assert st.bridges(net).tolist() == bridge
    assert sorted(st.articulation_points(net).tolist()) == sorted([index[(2, 1)], index[(4, 1)]])


def test_single_bridge_has_the_top_betweenness():
    net, index = _river()
    eb = st.edge_betweenness(net)
    fwd, rev = _edge(net, index, (2, 1), (4, 1)), _edge(net, index, (4, 1), (2, 1))
    # Every ordered pair across the river (9 x 9) crosses it in its direction, nothing else.
    assert eb[fwd] == pytest.approx(81.0) and eb[rev] == pytest.approx(81.0)
    others = eb.drop([fwd, rev])
    assert others.max() < 81.0
    # Core-periphery trips: the bridge carries the whole east bank's population, one
    # direction each way (the core's own roads carry more: the west bank's trips too).
    pop = _study(net, index).population
    east_pop = sum(pop[index[(i, j)]] for i in EAST for j in range(3))
    od = st.od_betweenness(net, [index[CORE]], pop)
    assert od[fwd] == pytest.approx(east_pop) and od[rev] == pytest.approx(east_pop)


def test_single_bridge_is_the_minimum_cut():
    net, index = _river()
    study = _study(net, index)
    cuts = st.min_cuts(net, study.core_nodes, study.zone_nodes())
    east = cuts.set_index("zone").loc["east"]
    # residential, one lane each way: 500 vehicles/h; every other separation of the core
    # from the east bank crosses at least three such edges.
    assert east["capacity"] == pytest.approx(500.0)
    assert east["edges"] == (_edge(net, index, (2, 1), (4, 1)),)
    inbound = st.min_cuts(net, study.core_nodes, study.zone_nodes(), direction="inbound")
    assert inbound.set_index("zone").loc["east", "edges"] == (_edge(net, index, (4, 1), (2, 1)),)
    west = cuts.set_index("zone").loc["west"]
    assert west["capacity"] == pytest.approx(3 * 500.0)  # the core node's three roads
    assert set(west["edges"]) == {
        _edge(net, index, CORE, (0, 0)),
        _edge(net, index, CORE, (0, 2)),
        _edge(net, index, CORE, (1, 1)),
    }


def test_removing_the_single_bridge_cuts_off_exactly_the_far_side():
    net, index = _river(names=["Rheinbrücke"])
    pop = _population(index)
    east_pop = sum(pop[index[(i, j)]] for i in EAST for j in range(3))
    result = bn.find_bottlenecks(
        net,
        core=_core_latlon(),
        zones=_zones(),
        population=pop,
        core_radius=50,
        top=5,
        betweenness_k=None,
    )
    top = result.table.iloc[0]
    assert top["rank"] == 1 and top["name"] == "Rheinbrücke" and bool(top["graph_bridge"])
    assert not top["bridge"]  # a bridge of the graph; no OSM bridge=* on hand-built edges
    assert top["cut_off"] == pytest.approx(east_pop)
    assert top["cut_off_out"] == pytest.approx(east_pop)
    assert top["cut_off_in"] == pytest.approx(east_pop)
    # ranking score: nothing slower, every cut-off trip costs the largest cutoff (1 h)
    assert top["loss_hours"] == pytest.approx(2 * east_pop * 3600 / 3600)
    assert "east (outbound)" in top["min_cut_zones"]
    assert top["betweenness"] == pytest.approx(162.0)  # both directions, 81 each
    # Nothing else cuts off more than a grid corner: a corner lies inside a road (two
    # neighbours), so closing that road strands its own people only.
    corners = [pop[index[(i, j)]] for i in (0, 2, 4, 6) for j in (0, 2)]
    assert result.table["cut_off"].iloc[1:].isin([0.0, *corners]).all()
    assert result.table.crs.to_epsg() == 4326
    # The accessibility indicators of the intact network, per zone: the east bank's
    # population-weighted median time from the core, by hand.
    times = sorted(
        (240 + GRID_TIME * ((i - 4) + abs(j - 1)), pop[index[(i, j)]])
        for i in EAST
        for j in range(3)
    )
    cumulative = np.cumsum([p for _, p in times])
    median = times[int(np.searchsorted(cumulative, east_pop / 2))][0]
    east = result.indicators.set_index("name").loc["east"]
    assert east["car_from_core_p50"] == median and east["car_to_core_p50"] == median
    assert east["population"] == pytest.approx(east_pop)
    assert result.baseline.loc["outbound", "population"] == pytest.approx(
        pop[pop > 0].sum() - pop[index[CORE]]
    )


# -- two parallel bridges --------------------------------------------------------------


def _hand_time(i, j, rows):
    """Core (0, 1) to east node (i, j) over the fastest of the bridges at ``rows``:
    west grid to (2, b), the bridge, east grid from (4, b); Manhattan walks on grids."""
    return min(
        GRID_TIME * (2 + abs(1 - b)) + BRIDGE_TIME + GRID_TIME * ((i - 4) + abs(j - b))
        for b in rows
    )


def test_second_bridge_doubles_the_cut_and_removal_costs_the_detour():
    net, index = _river(bridge_rows=(0, 2))
    pop = _population(index)
    study = _study(net, index)
    cuts = st.min_cuts(net, study.core_nodes, study.zone_nodes()).set_index("zone")
    assert cuts.loc["east", "capacity"] == pytest.approx(2 * 500.0)
    assert set(cuts.loc["east", "edges"]) == {
        _edge(net, index, (2, 0), (4, 0)),
        _edge(net, index, (2, 2), (4, 2)),
    }
    assert not set(st.bridges(net).tolist())  # no bridge any more

    sets = {
        row: [_edge(net, index, (2, row), (4, row)), _edge(net, index, (4, row), (2, row))]
        for row in (0, 2)
    }
    loss = crit.criticality(net, study.sources, study.population, sets)
    total = study.population.sum()
    for removed, kept in ((0, 2), (2, 0)):
        extra = sum(
            pop[index[(i, j)]] * (_hand_time(i, j, (kept,)) - _hand_time(i, j, (0, 2)))
            for i in EAST
            for j in range(3)
        )
        row = loss.loc[removed]
        assert row["cut_off"] == 0
        # Symmetric grid: the way back costs the same detour.
        assert row["person_hours_out"] == pytest.approx(extra / 3600)
        assert row["person_hours_in"] == pytest.approx(extra / 3600)
        assert row["person_hours"] == pytest.approx(2 * extra / 3600)
        assert row["mean_delay_out_s"] == pytest.approx(extra / total)
        assert row["loss_hours"] == pytest.approx(row["person_hours"])
    # The northern half holds more people (population grows with y), so it costs more.
    assert loss.loc[2, "person_hours"] > loss.loc[0, "person_hours"] > 0


def test_unreachable_penalty_prices_the_cut_off_trips():
    net, index = _river()
    study = _study(net, index)
    east_pop = study.population[study.zone_of_node == study.zone_names.index("east")].sum()
    sets = {0: [_edge(net, index, (2, 1), (4, 1)), _edge(net, index, (4, 1), (2, 1))]}
    loss = crit.criticality(net, study.sources, study.population, sets, unreachable_penalty=600)
    assert loss.loc[0, "loss_hours"] == pytest.approx(2 * east_pop * 600 / 3600)
    with pytest.raises(ParameterError, match="unreachable_penalty=-1"):
        crit.criticality(net, study.sources, study.population, sets, unreachable_penalty=-1)


def test_cutoffs_count_the_population_pushed_beyond_them():
    net, index = _river(bridge_rows=(0, 2))
    pop = _population(index)
    study = _study(net, index)
    sets = {2: [_edge(net, index, (2, 2), (4, 2)), _edge(net, index, (4, 2), (2, 2))]}
    cutoff = 450
    loss = crit.criticality(net, study.sources, study.population, sets, cutoffs=[cutoff])
    east = [(i, j) for i in EAST for j in range(3)]
    before = sum(pop[index[k]] for k in east if _hand_time(*k, (0, 2)) > cutoff)
    after = sum(pop[index[k]] for k in east if _hand_time(*k, (0,)) > cutoff)
    assert after > before > 0
    assert loss.loc[2, f"beyond_{cutoff}s_out"] == pytest.approx(after - before)
    assert loss.loc[2, f"beyond_{cutoff}s_in"] == pytest.approx(after - before)


def test_parallel_processes_give_the_same_losses():
    net, index = _river(bridge_rows=(0, 1))
    study = _study(net, index)
    sets = crit.removal_sets(net, "road")
    one = crit.criticality(net, study.sources, study.population, sets, n_jobs=1)
    two = crit.criticality(net, study.sources, study.population, sets, n_jobs=2)
    assert one.index.tolist() == two.index.tolist()
    np.testing.assert_allclose(one.to_numpy(), two.to_numpy())


def test_population_weighted_times_by_hand():
    net, index = _river(bridge_rows=(1,))
    pop = np.zeros(net.n_nodes)
    pop[index[(6, 2)]] = 30.0  # core -> (2,1): 120, bridge 120, (4,1) -> (6,2): 180
    pop[index[(1, 1)]] = 10.0  # 60 s
    table = crit.population_weighted_times(net, [index[CORE]], pop, cutoffs=[100, 1000])
    out = table.loc["outbound"]
    assert out["population"] == 40
    assert out["mean_time_s"] == pytest.approx((30 * 420 + 10 * 60) / 40)
    assert out["beyond_100s"] == 30 and out["beyond_1000s"] == 0 and out["unreachable"] == 0


# -- origin-destination betweenness against a brute force -----------------------------


def _brute_od(n, edges, sources, weight, reverse):
    """Enumerate every simple path (as edge lists) between each source and node, keep the
    fastest (within 1e-9), split the pair's trips evenly over them."""
    out_edges = {i: [] for i in range(n)}
    for k, (a, b, w) in enumerate(edges):
        if reverse:
            a, b = b, a
        out_edges[a].append((k, b, w))
    edge_flow = np.zeros(len(edges))
    node_flow = np.zeros(n)
    for s in sources:
        paths = {t: [] for t in range(n)}

        def walk(node, seen, used, length, s=s, paths=paths):
            paths[node].append((length, list(used)))
            for k, nxt, w in out_edges[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    used.append(k)
                    walk(nxt, seen, used, length + w)
                    used.pop()
                    seen.discard(nxt)

        walk(s, {s}, [], 0.0)
        for t in range(n):
            if t == s or weight[t] == 0 or not paths[t]:
                continue
            best = min(length for length, _ in paths[t])
            shortest = [p for length, p in paths[t] if length <= best * (1 + 1e-9)]
            share = weight[t] / len(sources) / len(shortest)
            for p in shortest:
                for k in p:
                    edge_flow[k] += share
                heads = [edges[k][0] if reverse else edges[k][1] for k in p[:-1]]
                for h in heads:
                    node_flow[h] += share
    return edge_flow, node_flow


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_od_betweenness_matches_all_paths_brute_force(seed):
    rng = np.random.default_rng(seed)
    nx_, ny_ = 4, 3
    coords = {(i, j): (X0 + i * SPACING, Y0 + j * SPACING) for i in range(nx_) for j in range(ny_)}
    key = list(coords)
    idx = {k: i for i, k in enumerate(key)}
    edges = []
    for i, j in key:
        for di, dj in ((1, 0), (0, 1)):
            if (i + di, j + dj) in coords:
                a, b = idx[(i, j)], idx[(i + di, j + dj)]
                # Times from a small set, so many paths tie; directions differ.
                edges.append((a, b, float(rng.choice([60.0, 120.0]))))
                edges.append((b, a, float(rng.choice([60.0, 120.0]))))
    edges.append((idx[(0, 0)], idx[(1, 0)], edges[0][2]))  # a parallel twin: splits trips
    xy = np.array([coords[k] for k in key])
    net = StreetNetwork.from_arrays(
        x=xy[:, 0],
        y=xy[:, 1],
        u=[e[0] for e in edges],
        v=[e[1] for e in edges],
        length=[e[2] * 10 for e in edges],
        time=[e[2] for e in edges],
        mode="drive",
        crs=CRS,
    )
    weight = rng.integers(0, 50, len(key)).astype(float)
    sources = [idx[(0, 0)], idx[(2, 1)]]
    for direction, reverses in (
        ("outbound", [False]),
        ("inbound", [True]),
        ("both", [False, True]),
    ):
        want_e = np.zeros(len(edges))
        want_n = np.zeros(len(key))
        for r in reverses:
            e_flow, n_flow = _brute_od(len(key), edges, sources, weight, r)
            want_e += e_flow
            want_n += n_flow
        got_e = st.od_betweenness(net, sources, weight, direction=direction)
        got_n = st.od_betweenness(net, sources, weight, direction=direction, nodes=True)
        np.testing.assert_allclose(got_e.to_numpy(), want_e, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got_n.to_numpy(), want_n, rtol=1e-9, atol=1e-9)
    # Trips are conserved: one source's trips all leave it along its out-edges.
    out = st.od_betweenness(net, [sources[0]], weight, direction="outbound")
    first = [k for k, e in enumerate(edges) if e[0] == sources[0]]
    assert out.iloc[first].sum() == pytest.approx(weight.sum() - weight[sources[0]])


# -- igraph betweenness against networkx ---------------------------------------------------


def _random_net(seed, n=30, m=90):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2)) + [X0, Y0]
    pairs = set()
    while len(pairs) < m:
        a, b = rng.integers(0, n, 2)
        if a != b:
            pairs.add((int(a), int(b)))
    u, v = np.array(sorted(pairs)).T
    t = rng.integers(10, 100, len(u)).astype(float)
    net = StreetNetwork.from_arrays(
        x=xy[:, 0], y=xy[:, 1], u=u, v=v, length=t * 10, time=t, mode="drive", crs=CRS
    )
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for k, (a, b, w) in enumerate(zip(u, v, t, strict=True)):
        g.add_edge(int(a), int(b), time=float(w), k=k)
    return net, g


@pytest.mark.parametrize("seed", [3, 4])
def test_betweenness_matches_networkx(seed):
    net, g = _random_net(seed)
    want = nx.edge_betweenness_centrality(g, normalized=False, weight="time")
    got = st.edge_betweenness(net)
    for (a, b), value in want.items():
        assert got[g.edges[a, b]["k"]] == pytest.approx(value)
    want_n = nx.betweenness_centrality(g, normalized=False, weight="time")
    got_n = st.node_betweenness(net)
    np.testing.assert_allclose(got_n.to_numpy(), [want_n[i] for i in range(net.n_nodes)])


def test_sampled_betweenness_is_the_scaled_subset():
    net, g = _random_net(5)
    k, seed = 7, 11
    sources = np.random.default_rng(seed).choice(net.n_nodes, size=k, replace=False)
    want = nx.edge_betweenness_centrality_subset(
        g, sources=[int(s) for s in sources], targets=list(g), normalized=False, weight="time"
    )
    got = st.edge_betweenness(net, k=k, seed=seed)
    for (a, b), value in want.items():
        assert got[g.edges[a, b]["k"]] == pytest.approx(value * net.n_nodes / k)
    exact = st.edge_betweenness(net)
    assert st.edge_betweenness(net, k=net.n_nodes).to_numpy() == pytest.approx(exact.to_numpy())


def test_cutoff_betweenness_counts_only_short_paths():
    net, g = _random_net(6)
    cutoff = 120.0
    want = np.zeros(net.n_edges)
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="time"))
    for s in g:
        for t, d in dist[s].items():
            if t == s or d > cutoff:
                continue
            paths = list(nx.all_shortest_paths(g, s, t, weight="time"))
            for p in paths:
                for a, b in itertools.pairwise(p):
                    want[g.edges[a, b]["k"]] += 1 / len(paths)
    got = st.edge_betweenness(net, cutoff=cutoff)
    np.testing.assert_allclose(got.to_numpy(), want)
    assert got.sum() < st.edge_betweenness(net).sum()


def test_bridges_and_articulation_points_match_brute_force():
    net, g = _random_net(7, n=40, m=50)
    und = nx.MultiGraph()
    und.add_nodes_from(range(net.n_nodes))
    e = net.edges
    links = {}
    for k, (a, b) in enumerate(zip(e["u"], e["v"], strict=True)):
        links.setdefault(frozenset((int(a), int(b))), []).append(k)
    # Two directions of one road are one link here: merge them by giving the same way.
    for ks in links.values():
        net.edges.loc[ks, "osmid"] = ks[0]
    for pair in links:
        und.add_edge(*tuple(pair))
    base = nx.number_connected_components(und)
    want_edges = []
    for pair, ks in links.items():
        h = und.copy()
        h.remove_edge(*tuple(pair))
        if nx.number_connected_components(h) > base:
            want_edges += ks
    assert st.bridges(net).tolist() == sorted(want_edges)
    want_nodes = []
    for node in und:
        h = und.copy()
        h.remove_node(node)
        if nx.number_connected_components(h) > base - (1 if und.degree(node) == 0 else 0):
            want_nodes.append(node)
    assert st.articulation_points(net).tolist() == sorted(want_nodes)


# -- capacities, removal units ---------------------------------------------------------


def test_capacity_from_lanes_and_class():
    coords = {k: (X0 + 100 * k, Y0) for k in range(4)}
    net, index = _two_way(
        coords,
        [(0, 1, 10.0), (1, 2, 10.0), (2, 3, 10.0)],
        highway=["primary", "motorway", "residential"],
        lanes=["4", None, "3;2"],
    )
    cap = st.edge_capacity(net)
    # two-way roads: OSM lanes count both directions -> half each way (at least one)
    np.testing.assert_allclose(cap, [2 * 1200, 2 * 1200, 2 * 2000, 2 * 2000, 2 * 500, 2 * 500])
    cap2 = st.edge_capacity(net, lane_capacity={"primary": 900})
    assert cap2[0] == 2 * 900 and cap2[2] == 2 * 2000
    walk, _ = _two_way(coords, [(0, 1, 10.0)], mode="walk")
    assert st.edge_capacity(walk).tolist() == [1.0, 1.0]
    one_way = StreetNetwork.from_arrays(
        x=[X0, X0 + 100],
        y=[Y0, Y0],
        u=[0],
        v=[1],
        length=[100],
        time=[10],
        mode="drive",
        crs=CRS,
        highway=["trunk"],
        lanes=["3"],
    )
    assert st.edge_capacity(one_way).tolist() == [3 * 1800]


def test_removal_units():
    # a street 0-1-2-3 (2 segments through degree-2 nodes) meeting a junction at 1? No:
    # 0-1-2 chain, 2 a junction with 3 and 4.
    coords = {k: (X0 + 100 * k, Y0 + (50 if k == 4 else 0)) for k in range(5)}
    net, index = _two_way(coords, [(0, 1, 5.0), (1, 2, 5.0), (2, 3, 5.0), (2, 4, 5.0), (3, 4, 5.0)])
    roads = crit.removal_sets(net, "road")
    # 0-1-2 is one road (1 has two neighbours); 2-3-4 is another (3, 4 have two neighbours
    # each): a loop from the junction 2 back to itself.
    assert sorted(len(s) for s in roads.values()) == [4, 6]
    nodes = crit.removal_sets(net, "node")
    assert sorted(nodes) == [0, 2]  # only nodes that are not inside a road
    assert nodes[2].tolist() == sorted(
        np.flatnonzero((net.edges["u"] == 2) | (net.edges["v"] == 2)).tolist()
    )
    assert len(crit.removal_sets(net, "edge")) == net.n_edges
    assert len(crit.removal_sets(net, "way")) == 5


def test_node_kind_ranks_a_bridge_end_first():
    net, index = _river()
    pop = _population(index)
    east_pop = sum(pop[index[(i, j)]] for i in EAST for j in range(3))
    result = bn.find_bottlenecks(
        net,
        core=_core_latlon(),
        zones=_zones(),
        population=pop,
        core_radius=50,
        kind="node",
        top=4,
        betweenness_k=None,
    )
    top = result.table.iloc[0]
    # Closing the west end of the bridge cuts off the east bank and the junction's own
    # people; closing the east end cuts off the east bank only (that node is in it).
    assert top["key"] == index[(2, 1)]
    assert top["cut_off"] == pytest.approx(east_pop + pop[index[(2, 1)]])
    second = result.table.iloc[1]
    assert second["key"] == index[(4, 1)] and second["cut_off"] == pytest.approx(east_pop)
    assert result.table.geometry.iloc[0].geom_type == "Point"


# -- outputs ---------------------------------------------------------------------------


def _river_study(names=None):
    """The top 3 bottlenecks of the river city, as the output tests write them."""
    net, index = _river(names=names)
    return bn.find_bottlenecks(
        net,
        core=_core_latlon(),
        zones=_zones(),
        population=_population(index),
        core_radius=50,
        top=3,
        betweenness_k=5,
    )


def test_write_outputs_with_escaped_names(tmp_path):
    evil = "<script>alert('x')</script> & Brücke"
    result = _river_study(names=[evil])
    paths = write_bottlenecks(result, tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == [
        "baseline.csv",
        "bottlenecks.csv",
        "bottlenecks.geojson",
        "bottlenecks.html",
        "bottlenecks.png",
        "cuts.csv",
        "indicators.csv",
    ]
    # The same view as a picture: the first rank drawn in its colour, the zones shaded.
    from PIL import Image

    image = np.asarray(Image.open(tmp_path / "out" / "bottlenecks.png").convert("RGB"), int)
    first = (np.abs(image - np.array([0xBD, 0x00, 0x26])).max(axis=2) <= 12).sum()
    assert first > 50, first
    with open(tmp_path / "out" / "bottlenecks.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3]
    assert rows[0]["name"] == evil
    assert float(rows[0]["cut_off"]) == pytest.approx(result.table["cut_off"].iloc[0])
    geo = json.loads((tmp_path / "out" / "bottlenecks.geojson").read_text(encoding="utf-8"))
    assert len(geo["features"]) == 3
    lon, lat = geo["features"][0]["geometry"]["coordinates"][0]
    assert 8 < lon < 9 and 49 < lat < 50
    page = (tmp_path / "out" / "bottlenecks.html").read_text(encoding="utf-8")
    assert "alert(&#x27;x&#x27;)" in page or "alert(&#39;x&#39;)" in page
    assert "<script>alert(" not in page
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_deprecated_map_shims_warn_and_give_what_they_gave(tmp_path):
    result = _river_study()
    with pytest.warns(FutureWarning, match=r"use connectivity\.bottleneck_map"):
        fmap = result.to_map(top=2)
    assert type(fmap).__name__ == "Map"
    with pytest.warns(FutureWarning, match=r"connectivity\.write_bottlenecks"):
        old = result.write(tmp_path / "old", top=2)
    assert sorted(p.name for p in old) == sorted(
        p.name for p in write_bottlenecks(result, tmp_path / "new", top=2)
    )
    for name in ("bottlenecks.csv", "bottlenecks.geojson", "cuts.csv", "baseline.csv"):
        assert (tmp_path / "old" / name).read_bytes() == (tmp_path / "new" / name).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tables = result.write(tmp_path / "tables", html=False)
    assert "bottlenecks.html" not in {p.name for p in tables}
    assert not (tmp_path / "tables" / "bottlenecks.html").exists()


# -- error paths -----------------------------------------------------------------------


def test_errors_of_parameters():
    net, index = _river()
    pop = _population(index)
    core = [index[CORE]]
    with pytest.raises(ParameterError, match="kind='bus'"):
        crit.removal_sets(net, "bus")
    with pytest.raises(ParameterError, match="k=0 sampled sources"):
        st.edge_betweenness(net, k=0)
    with pytest.raises(ParameterError, match="cutoff=-5"):
        st.node_betweenness(net, cutoff=-5)
    with pytest.raises(ParameterError, match="direction='up'"):
        st.od_betweenness(net, core, pop, direction="up")
    with pytest.raises(ParameterError, match="direction='sideways'"):
        st.min_cuts(net, core, {"a": [1]}, direction="sideways")
    with pytest.raises(ParameterError, match="destinations has shape"):
        st.od_betweenness(net, core, pop[:-1])
    with pytest.raises(ParameterError, match="finite and non-negative"):
        st.od_betweenness(net, core, -pop)
    with pytest.raises(ParameterError, match="not OSM ids"):
        st.od_betweenness(net, [10**9], pop)
    with pytest.raises(ParameterError, match="sources is empty"):
        crit.population_weighted_times(net, [], pop)
    with pytest.raises(ParameterError, match="capacity has shape"):
        st.min_cuts(net, core, {"a": [1]}, capacity=[1.0, 2.0])
    with pytest.raises(ParameterError, match="lane capacities must be positive"):
        st.edge_capacity(net, lane_capacity={"primary": -1})
    with pytest.raises(ParameterError, match="cutoffs"):
        crit.criticality(net, core, pop, {0: [0]}, cutoffs=[0])
    for bad in ([1800, math.inf], [math.nan], ["soon"], 1800):
        with pytest.raises(ParameterError, match="must be positive times in seconds"):
            crit.population_weighted_times(net, core, pop, cutoffs=bad)
    with pytest.raises(ParameterError, match="removes no edge"):
        crit.criticality(net, core, pop, {0: []})
    with pytest.raises(ParameterError, match="edge positions outside"):
        crit.criticality(net, core, pop, {0: [net.n_edges]})
    with pytest.raises(ParameterError, match="n_jobs=0"):
        crit.criticality(net, core, pop, {0: [0]}, n_jobs=0)
    kw = {"core": _core_latlon(), "zones": _zones(), "population": pop, "core_radius": 50}
    with pytest.raises(ParameterError, match="top=0"):
        bn.find_bottlenecks(net, top=0, **kw)
    with pytest.raises(ParameterError, match="kind='lane'"):
        bn.find_bottlenecks(net, kind="lane", **kw)
    with pytest.raises(ParameterError, match="core_radius=-1"):
        bn.study_area(net, core=_core_latlon(), zones=_zones(), core_radius=-1)


def test_errors_of_the_study_area():
    net, index = _river()
    with pytest.raises(OutsideNetworkError, match="core"):
        bn.study_area(net, core=(48.0, 8.0), zones=_zones())
    far = gpd.GeoDataFrame({"name": ["moon"]}, geometry=[box(0, 0, 1, 1)], crs=CRS)
    with pytest.raises(ParameterError, match="no population lies in the periphery"):
        bn.study_area(net, core=_core_latlon(), zones=far)
    twice = gpd.GeoDataFrame({"name": ["a", "a"]}, geometry=list(_zones().geometry), crs=CRS)
    with pytest.raises(ParameterError, match="'a' appears twice"):
        bn.study_area(net, core=_core_latlon(), zones=twice)
    empty = StreetNetwork.from_arrays(x=[X0], y=[Y0], u=[], v=[], length=[], time=[], crs=CRS)
    with pytest.raises(EmptyNetworkError, match="0 edges"):
        st.bridges(empty)


def test_error_when_no_trip_uses_the_network():
    # The east bank without any bridge: no trip from the core reaches it.
    net, index = _river(bridge_rows=())
    pop = np.zeros(net.n_nodes)
    for i in EAST:
        pop[index[(i, 0)]] = 5.0
    with pytest.raises(EmptyNetworkError, match="no trip between the core and the zones"):
        bn.find_bottlenecks(
            net, core=_core_latlon(), zones=_zones(), population=pop, core_radius=50
        )


def test_population_points_go_to_their_nearest_node(tmp_path):
    net, index = _river()
    rng = np.random.default_rng(8)
    x = rng.uniform(X0 - 40, X0 + 640, 60)
    y = rng.uniform(Y0 - 40, Y0 + 240, 60)
    people = rng.integers(1, 100, 60).astype(float)
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    path = tmp_path / "people.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["lon", "lat", "residents"])
        w.writerows(zip(lon, lat, people, strict=True))
    study = bn.study_area(
        net, core=_core_latlon(), zones=_zones(), population=f"{path}:residents", core_radius=50
    )
    # brute force: each point to its nearest node, then the core node's share dropped
    xy = net.nodes[["x", "y"]].to_numpy()
    want = np.zeros(net.n_nodes)
    for px, py, p in zip(x, y, people, strict=True):
        want[int(np.argmin(np.hypot(xy[:, 0] - px, xy[:, 1] - py)))] += p
    want[index[CORE]] = 0
    np.testing.assert_allclose(study.population, want)
    zones = study.zones.set_index("name")
    east = [index[(i, j)] for i in EAST for j in range(3)]
    assert zones.loc["east", "population"] == pytest.approx(want[east].sum())


def test_a_street_through_junctions_counts_once():
    # Hauptstraße 0-1-2-3-4 with side lanes at each node (so it is four roads between
    # junctions, all carrying the same trips to the village at 4), and a second way to
    # the village: Feldweg 0-5-4, slower.
    coords = {k: (X0 + 100 * k, Y0) for k in range(5)}
    coords.update({10 + k: (X0 + 100 * k, Y0 + 50) for k in range(5)})
    coords[5] = (X0 + 200, Y0 - 300)
    roads = [(k, k + 1, 10.0) for k in range(4)] + [(k, 10 + k, 5.0) for k in range(5)]
    roads += [(0, 5, 200.0), (5, 4, 200.0)]
    names = ["Hauptstraße"] * 4 + ["Gasse"] * 5 + ["Feldweg"] * 2
    net, index = _two_way(coords, roads, name=names)
    pop = np.zeros(net.n_nodes)
    pop[index[4]] = 100.0
    lon, lat = _lonlat(*coords[0])
    zones = gpd.GeoDataFrame(
        {"name": ["village"]}, geometry=[box(X0 + 350, Y0 - 50, X0 + 450, Y0 + 50)], crs=CRS
    )
    kw = {"core": (lat, lon), "zones": zones, "population": pop, "core_radius": 10}
    merged = bn.find_bottlenecks(net, top=np.int64(10), betweenness_k=0, **kw)
    assert merged.table["name"].tolist() == ["Hauptstraße"]
    assert merged.table["merged_roads"].tolist() == [4]
    separate = bn.find_bottlenecks(net, top=10, betweenness_k=0, merge_streets=False, **kw)
    assert separate.table["name"].tolist() == ["Hauptstraße"] * 4
    # every segment costs the detour over the Feldweg: 400 s instead of 40 s
    assert separate.table["person_hours"].tolist() == pytest.approx([2 * 100 * 360 / 3600] * 4)


def test_rings_as_zones_leave_out_the_core():
    net, index = _river()
    study = bn.study_area(net, core=_core_latlon(), zones=0.3, core_radius=np.int64(120))
    # rings every 300 m around the core; nodes within 120 m form the core area
    assert set(study.core_nodes.tolist()) == {index[k] for k in [(0, 0), (0, 1), (0, 2), (1, 1)]}
    assert (study.zone_of_node[study.core_nodes] == -1).all()
    assert study.population.sum() == net.n_nodes - 4  # one per node outside the core
    assert math.isclose(study.zones["population"].sum(), net.n_nodes - 4)


# -- the command line --------------------------------------------------------------------


def _river_pbf(path):
    """The single-bridge river as an OSM file: residential grids, a primary bridge."""
    import osmium

    ids = {}
    writer = osmium.SimpleWriter(str(path))
    meta = {"version": 1, "changeset": 1, "uid": 1, "timestamp": "2020-01-01T00:00:00Z"}
    for n, (i, j) in enumerate(((i, j) for i in (*WEST, *EAST) for j in range(3)), start=1):
        lon, lat = _lonlat(X0 + i * SPACING, Y0 + j * SPACING)
        ids[(i, j)] = n
        writer.add_node(osmium.osm.mutable.Node(id=n, location=(lon, lat), **meta))
    ways = []
    for side in (WEST, EAST):
        for a, b in itertools.pairwise(side):
            ways += [
                ((a, j), (b, j), {"highway": "residential", "name": "Gasse"}) for j in range(3)
            ]
        for i in side:
            ways += [
                ((i, j), (i, j + 1), {"highway": "residential", "name": "Weg"}) for j in range(2)
            ]
    ways.append(((2, 1), (4, 1), {"highway": "primary", "name": "Rheinbrücke", "bridge": "yes"}))
    for w, (a, b, tags) in enumerate(ways, start=1):
        writer.add_way(osmium.osm.mutable.Way(id=w, nodes=[ids[a], ids[b]], tags=tags, **meta))
    writer.close()
    return path


def _zones_file(path):
    _zones().to_crs("EPSG:4326").to_file(path)
    return path


def _river_cli(tmp_path, out, *population):
    from connectivity.cli import main

    pbf = _river_pbf(tmp_path / "river.osm.pbf")
    zones = _zones_file(tmp_path / "zones.geojson")
    lat, lon = _core_latlon()
    return main(
        [
            "-q",
            "bottlenecks",
            "--osm",
            str(pbf),
            "--core",
            f"{lat},{lon}",
            "--zones",
            str(zones),
            *population,
            "--top",
            "3",
            "--core-radius",
            "50",
            "--betweenness-sources",
            "5",
            "--cutoffs",
            "1,2",
            "--no-merge",
            "--out",
            str(out),
        ]
    )


def test_cli_ranks_the_bridge_first(tmp_path, capsys):
    out = tmp_path / "out"
    assert _river_cli(tmp_path, out, "--population", "nodes") == 0
    printed = capsys.readouterr().out
    assert "1. Rheinbrücke, primary bridge: cut off 9" in printed
    note = "Population: not estimated; every drive network node counts 1."
    assert note in printed and note in (out / "bottlenecks.html").read_text(encoding="utf-8")
    with open(out / "bottlenecks.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    # no population given: every node of a zone counts 1; the east bank has 9 nodes
    assert rows[0]["name"] == "Rheinbrücke" and float(rows[0]["cut_off"]) == 9
    assert rows[0]["highway"] == "primary" and rows[0]["bridge"] == "True"  # OSM's tag
    assert rows[0]["graph_bridge"] == "True" and rows[0]["road_kind"] == "primary bridge"
    assert rows[0]["road"] == "Rheinbrücke"
    assert [r["bridge"] for r in rows[1:]] == ["False", "False"]  # streets without the tag
    page = (out / "bottlenecks.html").read_text(encoding="utf-8")
    assert "#1 Rheinbrücke, primary bridge" in page
    assert "beyond_60s_out" in rows[0] and "beyond_120s_in" in rows[0]
    with open(out / "cuts.csv", newline="", encoding="utf-8") as f:
        cuts = {(r["zone"], r["direction"]): r for r in csv.DictReader(f)}
    # a primary bridge (one lane each way, 1200/h) is cheaper than the core's three
    # residential roads (3 x 500/h)
    assert float(cuts[("east", "outbound")]["capacity"]) == 1200


def test_cli_says_the_estimated_population_is_relative(tmp_path, capsys):
    # no buildings and no population tags: residential street length, relative weights,
    # and the map's title says so (the person-hours are not people's hours)
    out = tmp_path / "out"
    assert _river_cli(tmp_path, out) == 0
    printed = capsys.readouterr().out
    assert "residential street" in printed and "relative: no population data" in printed
    page = (out / "bottlenecks.html").read_text(encoding="utf-8")
    assert "relative: no population data" in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "transit"], "--mode transit needs the feeds: add --gtfs"),
        (["--gtfs", "feed.zip"], "--gtfs is read only with --mode transit"),
        (["--mode", "boat"], "unknown street mode 'boat'"),
        (["--cutoffs", "30,-5"], "--cutoffs '30,-5'"),
        (["--top", "0"], "--top 0"),
        (["--kind", "route"], "--kind route ranks transit routes: add --mode transit"),
        (["--mode", "walk", "--kind", "stop"], "--kind stop ranks transit stops"),
    ],
)
def test_cli_errors_of_options(tmp_path, capsys, extra, message):
    from connectivity.cli import main

    args = ["bottlenecks", "--osm", str(tmp_path / "x.osm.pbf"), "--core", "49.47,8.45"]
    code = main([*args, "--rings", "5", "--out", str(tmp_path / "out"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("connectivity bottlenecks: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cli_errors_of_inputs(tmp_path, capsys):
    from connectivity.cli import main

    pbf = _river_pbf(tmp_path / "river.osm.pbf")
    base = ["bottlenecks", "--rings", "5", "--out", str(tmp_path / "out")]
    assert main([*base, "--osm", str(tmp_path / "missing.osm.pbf"), "--core", "49.47,8.45"]) == 2
    assert "missing.osm.pbf" in capsys.readouterr().err
    assert main([*base, "--osm", str(pbf), "--core", "49.47,abc"]) == 2
    assert "--core '49.47,abc' is not LAT,LON" in capsys.readouterr().err
    assert main([*base, "--osm", str(pbf), "--core", "8.45,49.47"]) == 2
    assert "from the nearest node" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- real data ---------------------------------------------------------------------------


@pytest.mark.integration
def test_rhine_neckar_cuts_and_trips_are_consistent():
    from conftest import shared_data
    from scipy.sparse.csgraph import dijkstra

    from connectivity.streets.load import load_streets

    pbf = shared_data("rhein-neckar/rnv.osm.pbf")
    net = load_streets(pbf, mode="drive")
    # Zones drawn by hand: Ludwigshafen (west of the Rhine) and Heidelberg.
    zones = gpd.GeoDataFrame(
        {"name": ["Ludwigshafen", "Heidelberg"]},
        geometry=[box(8.38, 49.45, 8.44, 49.51), box(8.64, 49.38, 8.73, 49.42)],
        crs="EPSG:4326",
    )
    study = bn.study_area(net, core=(49.4794, 8.4694), zones=zones)
    nodes = study.zone_nodes()
    assert all(len(v) > 1000 for v in nodes.values())
    # Every trip leaves the core node along its out-edges: the trips there add up to
    # the population (one per zone node) that the core reaches.
    od = st.od_betweenness(net, study.sources, study.population, direction="outbound")
    reach = np.isfinite(dijkstra(net.csr, indices=int(study.sources[0])))
    out_edges = np.flatnonzero(net.edges["u"].to_numpy() == study.sources[0])
    assert od.iloc[out_edges].sum() == pytest.approx(study.population[reach].sum())
    cuts = st.min_cuts(net, study.core_nodes, nodes)
    cap = st.edge_capacity(net)
    for zone, value, edges in cuts[["zone", "capacity", "edges"]].itertuples(index=False):
        # The cut's value is its edges' capacity, and without them no zone node is
        # reachable from the core area.
        assert value == pytest.approx(cap[list(edges)].sum())
        keep = np.ones(net.n_edges, bool)
        keep[list(edges)] = False
        e = net.edges[keep]
        cut_net = StreetNetwork(
            mode=net.mode, crs=net.crs, nodes=net.nodes, edges=e.reset_index(drop=True)
        )
        times = cut_net.travel_times(study.core_nodes)
        assert not np.isfinite(times[nodes[zone]]).any()
        assert np.isfinite(net.travel_times(study.core_nodes)[nodes[zone]]).all()


# -- transit ------------------------------------------------------------------------------

SAT_X = 8000.0  # the satellite town lies 8 km east of the core town


def _transit_case():
    """A core town and a satellite town (3 x 3 street grids, 200 m apart) joined by one
    long road (walkable, 7.6 km) and by bus route S (every 15 min, 10 min ride); tram U
    runs inside the core town."""
    from connectivity import Timetable
    from connectivity.network.intermodal import build_network

    coords = {}
    for town, x0 in (("c", X0), ("s", X0 + SAT_X)):
        for i in range(3):
            for j in range(3):
                coords[(town, i, j)] = (x0 + 200 * i, Y0 + 200 * j)
    roads = []
    for town in "cs":
        for i in range(3):
            for j in range(3):
                if i < 2:
                    roads.append(((town, i, j), (town, i + 1, j), 0))
                if j < 2:
                    roads.append(((town, i, j), (town, i, j + 1), 0))
    roads.append((("c", 2, 1), ("s", 0, 1), 0))
    index = {k: i for i, k in enumerate(coords)}
    xy = np.array(list(coords.values()))
    u, v, length = [], [], []
    for a, b, _ in roads:
        d = float(np.hypot(*(xy[index[a]] - xy[index[b]])))
        u += [index[a], index[b]]
        v += [index[b], index[a]]
        length += [d, d]
    walk = StreetNetwork.from_arrays(
        x=xy[:, 0], y=xy[:, 1], u=u, v=v, length=length, speed_kmh=5.0, mode="walk", crs=CRS
    )
    stop_xy = {"C1": coords[("c", 0, 1)], "C2": coords[("c", 2, 2)], "S1": coords[("s", 1, 1)]}
    lonlat = [_lonlat(*p) for p in stop_xy.values()]
    stops = pd_frame(
        stop_id=list(stop_xy),
        stop_name=["Core", "Market", "Satellite"],
        lon=[p[0] for p in lonlat],
        lat=[p[1] for p in lonlat],
    )
    routes = pd_frame(route_id=["S", "U"], route_type=[3, 0], route_short_name=["S 1", "U 7"])
    trips, times = [], []
    plan = [("S", 0, 2, 900, 600), ("S", 2, 0, 900, 600), ("U", 0, 1, 600, 120)]
    plan.append(("U", 1, 0, 600, 120))
    for r, a, b, headway, ride in plan:
        for k, start in enumerate(range(6 * 3600, 9 * 3600 + 1, headway)):
            t = len(trips)
            trips.append({"trip_id": f"{r}{a}{b}-{k}", "route": 0 if r == "S" else 1})
            times += [(t, 1, a, start, start), (t, 2, b, start + ride, start + ride)]
    tt = Timetable.from_frames(
        stops,
        routes,
        pd_frame(**{c: [row[c] for row in trips] for c in ("trip_id", "route")}),
        pd_frame(
            **{
                c: [row[i] for row in times]
                for i, c in enumerate(["trip", "stop_sequence", "stop", "arrival", "departure"])
            }
        ),
    )
    net = build_network(walk, tt, walk_speed=5.0)
    view = bt.transit_view(net)
    pop = np.zeros(view.n_nodes)
    for (town, _i, _j), k in index.items():
        pop[k] = 100.0 if town == "s" else 10.0
    zones = gpd.GeoDataFrame(
        {"name": ["satellite", "town"]},
        geometry=[
            box(X0 + SAT_X - 50, Y0 - 50, X0 + SAT_X + 450, Y0 + 450),
            box(X0 - 50, Y0 - 50, X0 + 450, Y0 + 450),
        ],
        crs=CRS,
    )
    lon, lat = _lonlat(*coords[("c", 0, 1)])
    return view, pop, zones, (lat, lon), index


def pd_frame(**columns):
    import pandas as pd

    return pd.DataFrame(columns)


def test_the_route_serving_a_satellite_is_the_top_transit_bottleneck():
    view, pop, zones, core, index = _transit_case()
    kinds = view.edges["kind"].value_counts()
    assert kinds["transit"] == 4 and kinds["walk"] == 2 * (2 * 12 + 1)
    assert kinds["board"] == kinds["alight"] == 8  # 4 patterns of 2 stops
    # Core node (at stop C1) to the satellite's centre (at stop S1): wait half the
    # 15-minute headway once, ride 10 minutes.
    times = view.travel_times([index[("c", 0, 1)]])
    assert times[index[("s", 1, 1)]] == pytest.approx(450 + 600, abs=0.01)
    # ... and to the market stop's street corner by tram: wait 300 s, ride 120 s.
    assert times[index[("c", 2, 2)]] == pytest.approx(300 + 120, abs=0.01)
    result = bn.find_bottlenecks(
        view,
        core=core,
        zones=zones,
        population=pop,
        kind="route",
        top=2,
        core_radius=50,
        betweenness_k=None,
    )
    top = result.table.iloc[0]
    assert top["key"] == "S" and top["name"] == "S 1"
    assert top["cut_off"] == 0  # the long road is still walkable
    # Without the bus the satellite's 900 people walk instead: core node -> (c,2,1)
    # (400 m + 200 m), the road (7,600 m), then the satellite grid.
    walk_speed = 5 / 3.6
    assert top["person_hours_out"] > 900 * (8000 / walk_speed - 2000) / 3600
    assert result.table.iloc[1]["key"] == "U"
    assert top["loss_hours"] > 10 * result.table.iloc[1]["loss_hours"]
    cuts = result.cuts.set_index(["zone", "direction"])
    # 4 buses an hour x 80 passengers, on the one outbound bus edge
    assert cuts.loc[("satellite", "outbound"), "capacity"] == pytest.approx(4 * 80)
    (edge,) = cuts.loc[("satellite", "outbound"), "edges"]
    assert view.edges["route_id"].iloc[edge] == "S"
    assert view.edges["kind"].iloc[edge] == "transit"


def test_closing_the_satellite_stop_is_the_top_stop():
    view, pop, zones, core, index = _transit_case()
    result = bn.find_bottlenecks(
        view,
        core=core,
        zones=zones,
        population=pop,
        kind="stop",
        top=3,
        core_radius=50,
        betweenness_k=0,
    )
    top = result.table.iloc[0]
    assert top["stop_id"] == "S1" and top["name"] == "Satellite"
    assert top["geometry"].geom_type == "Point"


def test_transit_view_puts_core_and_people_on_streets():
    view, _, zones, core, index = _transit_case()
    study = bn.study_area(view, core=core, zones=zones, core_radius=50)
    street = (view.nodes["kind"] == "street").to_numpy()
    assert study.sources.tolist() == [index[("c", 0, 1)]]  # not the stop C1 beside it
    assert study.population[~street].sum() == 0
    assert study.population.sum() == 18 - 1  # every street node but the core's own


def test_transit_errors():
    net, _ = _river()
    with pytest.raises(ParameterError, match="needs a transit network"):
        crit.removal_sets(net, "route")


def test_cli_transit_ranks_the_satellite_route_first(tmp_path, capsys):
    import osmium
    from _gtfs_feed import hms, write_feed

    from connectivity.cli import main

    meta = {"version": 1, "changeset": 1, "uid": 1, "timestamp": "2020-01-01T00:00:00Z"}
    writer = osmium.SimpleWriter(str(tmp_path / "towns.osm.pbf"))
    ids = {}
    for town, x0 in (("c", X0), ("s", X0 + SAT_X)):
        for i in range(3):
            for j in range(3):
                ids[(town, i, j)] = len(ids) + 1
                lon, lat = _lonlat(x0 + 200 * i, Y0 + 200 * j)
                writer.add_node(osmium.osm.mutable.Node(id=len(ids), location=(lon, lat), **meta))
    pairs = [
        ((t, i, j), (t, i + di, j + dj))
        for t in "cs"
        for i in range(3)
        for j in range(3)
        for di, dj in ((1, 0), (0, 1))
        if i + di < 3 and j + dj < 3
    ]
    pairs.append((("c", 2, 1), ("s", 0, 1)))
    for w, (a, b) in enumerate(pairs, start=1):
        tags = {"highway": "residential", "name": f"Weg {w}"}
        writer.add_way(osmium.osm.mutable.Way(id=w, nodes=[ids[a], ids[b]], tags=tags, **meta))
    writer.close()
    stops = []
    for sid, name, (x, y) in (
        ("C1", "Core", (X0, Y0 + 200)),
        ("C2", "Market", (X0 + 400, Y0 + 400)),
        ("S1", "Satellite", (X0 + SAT_X + 200, Y0 + 200)),
    ):
        lon, lat = _lonlat(x, y)
        stops.append({"stop_id": sid, "stop_name": name, "stop_lat": lat, "stop_lon": lon})
    trips, stop_times = [], []
    for r, a, b, headway, ride in [
        ("S", "C1", "S1", 900, 600),
        ("S", "S1", "C1", 900, 600),
        ("U", "C1", "C2", 600, 120),
        ("U", "C2", "C1", 600, 120),
    ]:
        for k, start in enumerate(range(6 * 3600, 9 * 3600 + 1, headway)):
            trip = f"{r}{a}{b}-{k}"
            trips.append({"route_id": r, "service_id": "ALL", "trip_id": trip})
            for seq, (stop, t) in enumerate(((a, start), (b, start + ride)), start=1):
                stop_times.append(
                    {
                        "trip_id": trip,
                        "arrival_time": hms(t),
                        "departure_time": hms(t),
                        "stop_id": stop,
                        "stop_sequence": seq,
                    }
                )
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    feed = write_feed(
        tmp_path / "feed",
        {
            "agency.txt": [
                {
                    "agency_id": "A",
                    "agency_name": "A",
                    "agency_url": "https://a.example",
                    "agency_timezone": "Europe/Berlin",
                }
            ],
            "stops.txt": stops,
            "routes.txt": [
                {"route_id": "S", "route_short_name": "S 1", "route_type": 3, "agency_id": "A"},
                {"route_id": "U", "route_short_name": "U 7", "route_type": 0, "agency_id": "A"},
            ],
            "trips.txt": trips,
            "stop_times.txt": stop_times,
            "calendar.txt": [
                {
                    "service_id": "ALL",
                    **dict.fromkeys(days, 1),
                    "start_date": "20240101",
                    "end_date": "20240131",
                }
            ],
        },
    )
    lon, lat = _lonlat(X0, Y0 + 200)
    zones = gpd.GeoDataFrame(
        {"name": ["satellite"]},
        geometry=[box(X0 + SAT_X - 50, Y0 - 50, X0 + SAT_X + 450, Y0 + 450)],
        crs=CRS,
    )
    zones.to_crs("EPSG:4326").to_file(tmp_path / "zones.geojson")
    out = tmp_path / "out"
    args = ["-q", "bottlenecks", "--osm", str(tmp_path / "towns.osm.pbf"), "--mode", "transit"]
    args += ["--gtfs", str(feed), "--date", "2024-01-10", "--core", f"{lat},{lon}"]
    args += ["--zones", str(tmp_path / "zones.geojson"), "--core-radius", "50", "--top", "2"]
    assert main([*args, "--out", str(out)]) == 0
    assert "1. S 1, bus:" in capsys.readouterr().out
    with open(out / "bottlenecks.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # only the satellite is a zone, so the tram carries none of its trips: no candidate
    assert [r["key"] for r in rows] == ["S"]
    assert float(rows[0]["cut_off"]) == 0 and float(rows[0]["person_hours"]) > 0
    # Beside it, the lines by riders to the core (08:00 + 10 min): the core town walks,
    # every person of the satellite rides the S 1, the only line they can take.
    from connectivity import estimate_population, load_streets

    with open(out / "usage_routes.csv", newline="", encoding="utf-8") as f:
        usage = list(csv.DictReader(f))
    assert [r["route"] for r in usage] == ["S 1"] and float(usage[0]["share"]) == 1.0
    walk = load_streets(tmp_path / "towns.osm.pbf", mode="walk")
    people, _ = estimate_population(tmp_path / "towns.osm.pbf", walk)
    satellite = walk.nodes["x"].to_numpy() > X0 + SAT_X - 100
    assert float(usage[0]["boardings"]) == pytest.approx(people[satellite].sum(), rel=1e-3)
    with open(out / "usage_stops.csv", newline="", encoding="utf-8") as f:
        stops_used = {r["stop_name"]: r for r in csv.DictReader(f)}
    assert float(stops_used["Satellite"]["boardings"]) == pytest.approx(
        float(usage[0]["boardings"]), rel=1e-3
    )
    # Per segment, and drawn: every segment the S 1 rides carries the satellite's people,
    # as wide as the busiest (one line, all riders), in the bus colour.
    with open(out / "usage_segments.csv", newline="", encoding="utf-8") as f:
        segments = list(csv.DictReader(f))
    assert segments and {r["route"] for r in segments} == {"S 1"}
    assert max(float(r["journeys"]) for r in segments) == pytest.approx(
        float(usage[0]["boardings"]), rel=1e-3
    )
    from connectivity.outputs.journey_map import MODE_COLOURS
    from connectivity.outputs.usage_map import MAX_WIDTH

    page = (out / "usage.html").read_text(encoding="utf-8")
    assert f'"weight": {MAX_WIDTH}' in page and MODE_COLOURS["bus"] in page
    assert "Journeys to the core per segment, leaving 08:00 + 10 min" in page
    assert (out / "usage.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("route_type", "expected"),
    [
        (3, 80.0),
        (11, 100.0),
        (800, 100.0),
        (500, 1000.0),
        (1100, 80.0),
        (1200, 300.0),
        (9999, 80.0),
    ],
)
def test_vehicle_capacity_of_extended_route_types_follows_their_basic_type(route_type, expected):
    from connectivity.bottlenecks.transit import _vehicle_capacity

    # Air (1100) has no basic type: the bus default, not the trolleybus (11).
    table = {1: 1000.0, 3: 80.0, 4: 300.0, 11: 100.0}
    assert _vehicle_capacity(route_type, table) == expected
