"""Street network benchmarks on the Rhine-Neckar extract (walk network).

Prints medians over repeated runs of: building the walk network cold (cache off), loading
it from the cache, one-to-all walk travel times with this package's API
(``StreetNetwork.travel_times`` from a node, ``travel_times_from`` a point), the same with
networkx ``single_source_dijkstra_path_length`` on ``to_networkx()`` (the osmnx recipe),
and plain ``scipy.sparse.csgraph.dijkstra`` on the same CSR (the floor); then the ratios
against the goals: one-to-all within 1.5x of the floor, at least 20x faster than
networkx, cached load under 2 s.

Run: ``python benchmarks/streets.py [--repeat N]``. Exits 0 with a message where the data
is absent (``CONNECTIVITY_DATA`` overrides ``../shared/data``).
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


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per query measurement")
    parser.add_argument("--build-repeat", type=int, default=3, help="runs of the cold build")
    args = parser.parse_args(argv)
    if not PBF.exists():
        print(f"skipped: {PBF} is absent (set CONNECTIVITY_DATA to the shared data folder)")
        return 0

    import networkx as nx
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    from connectivity import load_streets, settings

    settings.cache_folder = Path(tempfile.mkdtemp(prefix="connectivity-bench-"))
    print(f"data: {PBF} ({PBF.stat().st_size / 1e6:.1f} MB); cache: {settings.cache_folder}")
    print(f"machine: {os.cpu_count()} cores (shared, possibly loaded)\n")

    cold = median_time(lambda: load_streets(PBF, mode="walk", use_cache=False), args.build_repeat)
    net = load_streets(PBF, mode="walk")  # fills the cache
    cached = median_time(lambda: load_streets(PBF, mode="walk"), args.repeat)
    print(f"walk network: {net.n_nodes:,} nodes, {net.n_edges:,} edges")

    rng = np.random.default_rng(0)
    sources = rng.integers(0, net.n_nodes, args.repeat)
    points = sources  # points beside the same nodes, so both searches cover alike
    lon = net.nodes["lon"].to_numpy()[points] + 0.0003
    lat = net.nodes["lat"].to_numpy()[points] + 0.0002
    csr = net.csr
    start = time.perf_counter()
    net.snap(lon[0], lat[0])  # builds the edge index (STRtree) once
    first_snap = time.perf_counter() - start
    snap_many = median_time(lambda: net.snap(lon, lat), args.repeat)

    # The searches run interleaved on the same sources, so that the load of a shared
    # machine affects them alike (networkx on the first few only: it is slow).
    start = time.perf_counter()
    graph = net.to_networkx()
    to_nx = time.perf_counter() - start
    ids = net.nodes["osmid"].to_numpy()
    nx_repeat = max(1, min(args.repeat, 5))
    runs: dict[str, list[float]] = {"floor": [], "node": [], "point": [], "nx": []}
    for i in range(args.repeat):
        src = int(sources[i])
        steps = [
            ("floor", lambda src=src: dijkstra(csr, indices=src)),
            ("node", lambda src=src: net.travel_times(src)),
            ("point", lambda i=i: net.travel_times_from(float(lon[i]), float(lat[i]))),
        ]
        if i < nx_repeat:
            steps.append(
                (
                    "nx",
                    lambda src=src: nx.single_source_dijkstra_path_length(
                        graph, int(ids[src]), weight="travel_time"
                    ),
                )
            )
        for name, fn in steps:
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
    floor = statistics.median(runs["floor"])
    ours_node = statistics.median(runs["node"])
    ours_point = statistics.median(runs["point"])
    nx_time = statistics.median(runs["nx"])

    rows = [
        ("build walk network, cold (cache off)", cold, args.build_repeat),
        ("load walk network from the cache", cached, args.repeat),
        ("to_networkx() (once)", to_nx, 1),
        ("first snap (builds the edge index)", first_snap, 1),
        (f"snap {len(lon)} points", snap_many, args.repeat),
        ("one-to-all: scipy dijkstra on the CSR (floor)", floor, args.repeat),
        ("one-to-all: StreetNetwork.travel_times(node)", ours_node, args.repeat),
        ("one-to-all: StreetNetwork.travel_times_from(lon, lat)", ours_point, args.repeat),
        ("one-to-all: networkx single_source_dijkstra", nx_time, nx_repeat),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measurement':<{width}}  median s  runs")
    for name, seconds, runs in rows:
        print(f"{name:<{width}}  {seconds:8.4f}  {runs:4d}")

    print("\nratios and goals")
    goals = [
        ("travel_times(node) / floor", ours_node / floor, "<= 1.5", ours_node / floor <= 1.5),
        ("travel_times_from / floor", ours_point / floor, "<= 1.5", ours_point / floor <= 1.5),
        ("networkx / travel_times(node)", nx_time / ours_node, ">= 20", nx_time / ours_node >= 20),
        ("networkx / travel_times_from", nx_time / ours_point, ">= 20", nx_time / ours_point >= 20),
        ("cached load (s)", cached, "< 2", cached < 2),
        ("cold build / cached load", cold / cached, "(info)", True),
    ]
    for name, value, goal, met in goals:
        verdict = "met" if met else "NOT met"
        print(f"{name:<{width}}  {value:8.2f}  goal {goal:>6}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
