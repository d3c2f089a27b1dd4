"""Bottleneck benchmarks on the Rhine-Neckar drive network.

Prints medians over repeated runs of:

1. conversion of the StreetNetwork to igraph (``to_igraph``);
2. edge betweenness weighted by travel time from ``k`` sampled sources, igraph
   (``Graph.edge_betweenness(sources=...)``) against networkx
   (``edge_betweenness_centrality_subset``) on the same simple directed graph, with the
   largest difference between their values and the ratio networkx / igraph;
3. igraph's run over every source with a travel-time cutoff (the exact all-sources run
   without cutoff is extrapolated from the sampled one: it takes hours here);
4. a full ``find_bottlenecks`` run (core Mannheim Hbf, 5 km rings) for the top ``--top``
   road candidates on ``--jobs`` processes (goal: <= 5 minutes for 50 on 2 cores), and
   its top 10.

Population: the data set has none, so each node weighs the length of the residential
streets that meet it (half of each incident ``residential`` / ``living_street`` edge),
a proxy for where people live that does not count motorway nodes as inhabitants.

Run: ``python benchmarks/bottlenecks.py [--k 20] [--repeat 3] [--top 50] [--jobs 2]``;
``--compare-population`` prints only the top 10 ranked with every node counted 1 next to
the top 10 with the OSM estimate (issue 14).
Exits 0 with a message where the data is absent (``CONNECTIVITY_DATA`` overrides
``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
PBF = DATA / "rhein-neckar" / "rnv.osm.pbf"
CORE = (49.4794, 8.4694)  # Mannheim Hbf


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def residential_proxy(net):  # type: ignore[no-untyped-def]
    """Metres of residential street at each node (half of every incident edge)."""
    import numpy as np

    e = net.edges
    res = e["highway"].isin(["residential", "living_street"]).to_numpy()
    half = np.where(res, e["length"].to_numpy(float) / 2, 0.0)
    n = net.n_nodes
    return np.bincount(e["u"].to_numpy(), weights=half, minlength=n) + np.bincount(
        e["v"].to_numpy(), weights=half, minlength=n
    )


def compare_population(top: int, jobs: int) -> int:
    """The top 10 road bottlenecks with every node counted 1 (the old default) next to
    the OSM estimate (:func:`connectivity.estimate_population`, the commands' default)."""
    from connectivity import estimate_population
    from connectivity.bottlenecks.study import find_bottlenecks
    from connectivity.streets.load import load_streets

    net = load_streets(PBF, mode="drive")
    weights, report = estimate_population(PBF, net)
    print(report.summary())
    tables = {}
    for label, population in (("node counts", None), ("OSM estimate", weights)):
        start = time.perf_counter()
        result = find_bottlenecks(
            net,
            core=CORE,
            zones=5,
            population=population,
            top=top,
            n_jobs=jobs,
            betweenness_k=100,
            progress=False,
        )
        print(f"{label}: find_bottlenecks top {top} in {time.perf_counter() - start:.1f} s")
        tables[label] = result.table.head(10).copy()
    print(f"{'rank':<5}{'node counts (before)':<46}{'OSM estimate (now)':<46}")
    for i in range(10):
        cells = []
        for label in tables:
            t = tables[label]
            if i >= len(t):
                cells.append("")
                continue
            r = t.iloc[i]
            bridge = " bridge" if bool(r["bridge"]) else ""
            cells.append(f"{r['road']}{bridge} ({r['loss_hours']:,.0f} h)"[:44])
        print(f"{i + 1:<5}{cells[0]:<46}{cells[1]:<46}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=20, help="sampled sources of betweenness")
    parser.add_argument("--repeat", type=int, default=3, help="runs per igraph measurement")
    parser.add_argument("--nx-repeat", type=int, default=1, help="runs of networkx")
    parser.add_argument("--cutoff", type=float, default=120.0, help="seconds, all-sources run")
    parser.add_argument("--top", type=int, default=50, help="candidates of the criticality run")
    parser.add_argument("--jobs", type=int, default=2, help="processes of the criticality run")
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument(
        "--compare-population",
        action="store_true",
        help="only the top 10 ranked with node counts next to the OSM estimate (issue 14)",
    )
    args = parser.parse_args(argv)
    if not PBF.exists():
        print(f"skipped: {PBF} is absent (set CONNECTIVITY_DATA to the shared data folder)")
        return 0

    import igraph
    import networkx as nx
    import numpy as np
    import pandas as pd

    if args.compare_population:
        return compare_population(args.top, args.jobs)

    import connectivity.bottlenecks.structure as bn
    from connectivity import load_streets, settings
    from connectivity.bottlenecks.study import find_bottlenecks

    if "CONNECTIVITY_CACHE" not in os.environ:
        settings.cache_folder = Path(tempfile.mkdtemp(prefix="connectivity-bench-"))
    print(f"data: {PBF}; cache: {settings.cache_folder}")
    print(f"machine: {os.cpu_count()} cores (shared with other work, possibly loaded)\n")
    net = load_streets(PBF, mode="drive")
    print(f"{net}\n")

    t_conv, _ = timed(lambda: bn.to_igraph(net), args.repeat)
    print(f"to_igraph                              {t_conv:8.2f} s")

    # One simple directed graph for both libraries: the fastest of parallel edges.
    m = net.csr.tocoo()
    u, v = m.row.astype(np.int64), m.col.astype(np.int64)
    w = np.maximum(m.data.astype(float), bn.MIN_TIME)
    g = igraph.Graph(n=net.n_nodes, edges=np.column_stack([u, v]).tolist(), directed=True)
    g.es["time"] = w.tolist()
    sources = np.random.default_rng(0).choice(net.n_nodes, size=args.k, replace=False).tolist()
    t_ig, ig_values = timed(
        lambda: g.edge_betweenness(directed=True, weights="time", sources=sources),
        args.repeat,
    )
    per_source = t_ig / args.k
    print(
        f"igraph edge betweenness, k={args.k:<4}       {t_ig:8.2f} s  ({per_source:.3f} s/source)"
    )
    print(
        f"igraph exact (all {net.n_nodes} sources), extrapolated "
        f"{per_source * net.n_nodes / 3600:6.1f} h"
    )
    if not args.skip_networkx:
        dg = nx.DiGraph()
        dg.add_nodes_from(range(net.n_nodes))
        dg.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True), "time")
        t_nx, nx_values = timed(
            lambda: nx.edge_betweenness_centrality_subset(
                dg, sources=sources, targets=list(dg), normalized=False, weight="time"
            ),
            args.nx_repeat,
        )
        ig = np.asarray(ig_values)
        ref = np.array([nx_values[(a, b)] for a, b in zip(u.tolist(), v.tolist(), strict=True)])
        gap = np.abs(ig - ref)
        differ = int((gap > 1e-6 * np.maximum(1.0, ref)).sum())
        print(
            f"networkx edge betweenness, k={args.k:<4}     {t_nx:8.2f} s  "
            f"(networkx / igraph = {t_nx / t_ig:.1f}x)"
        )
        print(
            f"  igraph vs networkx: {differ} of {len(ref)} edges differ, by at most "
            f"{gap.max():.3g} (largest value {ref.max():.3g}); igraph compares path lengths "
            "with a tolerance, networkx exactly, so float near-ties split differently"
        )
    t_cut, _ = timed(
        lambda: g.edge_betweenness(directed=True, weights="time", cutoff=args.cutoff), 1
    )
    print(f"igraph all sources, cutoff {args.cutoff:.0f} s         {t_cut:8.2f} s")

    pop = residential_proxy(net)
    start = time.perf_counter()
    result = find_bottlenecks(
        net,
        core=CORE,
        zones=5,
        population=pop,
        top=args.top,
        n_jobs=args.jobs,
        betweenness_k=100,
        progress=False,
    )
    t_full = time.perf_counter() - start
    goal = "met" if t_full <= 300 else "NOT met"
    print(
        f"find_bottlenecks, top {args.top}, {args.jobs} jobs      {t_full:8.2f} s  "
        f"(goal <= 300 s for 50 on 2 cores: {goal})\n"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        cols = ["rank", "road", "road_kind", "loss_hours", "cut_off", "person_hours"]
        cols += ["mean_delay_out_s", "mean_delay_in_s", "od_trips", "graph_bridge"]
        cols += ["min_cut_zones"]
        top = result.table[cols].head(10).copy()
        top["road"] = top["road"].str.slice(0, 40)
        print(top.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))
        print()
        print(result.baseline.to_string(float_format=lambda x: f"{x:,.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
