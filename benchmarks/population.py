"""Benchmark of reading population products (issue 14).

Measured here: a GHS-POP-sized raster (a sparse 40,000 x 20,000 float32 GeoTIFF in World
Mollweide, 1 km cells, tiled and compressed, people only around the study area) clipped
to a 20 x 20 km street network by :func:`connectivity.assign_population`. Each run is a
fresh process; its peak resident memory (``ru_maxrss``) is printed next to what a
whole-file read would need (40,000 x 20,000 x 4 bytes = 3.2 GB), with the median time.

Also measured: the OpenStreetMap estimate (:func:`connectivity.estimate_population`) on
the embedded Helsinki extract against the HSY 250 m population grid of
``../shared/data/helsinki``: the per-cell correlation over the cells lying wholly within
the streets' extent, for the estimate and for the node counts it replaces, and the total
error of the estimate's weights (relative there: the city's tag counts the whole city).

Run: ``python benchmarks/population.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, CELL = 40_000, 20_000, 1000.0
LEFT, TOP = -20_000_000.0, 10_000_000.0

CHILD = r"""
import json, resource, sys, time
import numpy as np
from connectivity import StreetNetwork, assign_population
rng = np.random.default_rng(0)
n = 20_000
x = 470_000 + rng.uniform(0, 20_000, n)
y = 5_470_000 + rng.uniform(0, 20_000, n)
u = np.arange(n - 1); v = u + 1; d = np.hypot(x[u] - x[v], y[u] - y[v])
net = StreetNetwork.from_arrays(x=x, y=y, u=np.r_[u, v], v=np.r_[v, u], length=np.r_[d, d],
                                speed_kmh=5, crs="EPSG:32632")
t = time.perf_counter()
w, rep = assign_population(net, sys.argv[1], max_distance=500)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": dt, "peak": peak, "total": rep.total, "assigned": rep.assigned,
                  "unassigned": rep.unassigned, "sum": float(w.sum())}))
"""


def write_sparse(path: Path) -> float:
    """The sparse global raster; returns the people written (all near the network)."""
    import rasterio
    from affine import Affine
    from pyproj import Transformer
    from rasterio.windows import Window

    x, y = Transformer.from_crs("EPSG:32632", "ESRI:54009", always_xy=True).transform(
        480_000, 5_480_000
    )
    col, row = int((x - LEFT) // CELL), int((TOP - y) // CELL)
    data = np.random.default_rng(1).uniform(0, 3000, (60, 60)).astype(np.float32)
    profile = dict(
        driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype="float32",
        crs="ESRI:54009", transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), nodata=-200,
        tiled=True, blockxsize=512, blockysize=512, compress="deflate", sparse_ok=True,
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1, window=Window(col - 30, row - 30, 60, 60))
    return float(data.astype(float).sum())


def helsinki() -> None:
    """The OSM estimate against the HSY grid, per 250 m cell."""
    import os

    import geopandas as gpd
    import pyrosm
    import shapely

    import connectivity as cx
    from connectivity.accessibility.zones import zone_of_nodes

    root = Path(__file__).resolve().parents[1]
    data = Path(os.environ.get("CONNECTIVITY_DATA", root.parent / "shared" / "data"))
    grid_path = data / "helsinki" / "population_grid_2020.gpkg"
    if not grid_path.exists():
        print(f"Helsinki: {grid_path} is absent, skipped")
        return
    pbf = pyrosm.get_data("helsinki_pbf")
    walk = cx.load_streets(pbf, mode="walk")
    grid = gpd.read_file(grid_path)
    cells = grid.to_crs(walk.crs)
    hull = shapely.convex_hull(
        shapely.multipoints(np.column_stack([walk.nodes["x"], walk.nodes["y"]]))
    )
    inside = (cells.intersection(hull).area / cells.area).to_numpy() >= 0.99
    grid = grid[inside].reset_index(drop=True)
    zone = zone_of_nodes(walk, grid)
    on = zone >= 0
    weights, report = cx.estimate_population(pbf, walk)
    observed = grid["population"].to_numpy(float)
    estimated = np.bincount(zone[on], weights=weights[on], minlength=len(grid))
    nodes = np.bincount(zone[on], minlength=len(grid)).astype(float)
    scaled = estimated * observed.sum() / estimated.sum()
    print(
        f"Helsinki (embedded extract, {report.n_buildings} buildings, {report.n_homes} homes) "
        f"vs HSY grid: {len(grid)} cells of 250 m wholly within the streets, "
        f"{observed.sum():,.0f} people"
    )
    print(f"{'weights':34}{'corr':>8}{'total':>12}{'total error':>14}")
    rows = [
        ("estimate (relative, as returned)", estimated),
        ("node counts (before)", nodes),
    ]
    for label, values in rows:
        total = values.sum()
        print(
            f"{label:34}{np.corrcoef(values, observed)[0, 1]:>8.3f}{total:>12,.0f}"
            f"{(total - observed.sum()) / observed.sum():>+14.1%}"
        )
    mae = np.abs(scaled - observed).sum() / observed.sum()
    print(f"estimate scaled to the HSY total: cell error (sum |est - obs| / total) {mae:.1%}")
    print(report.summary())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-raster", action="store_true", help="only the OSM estimate")
    args = parser.parse_args(argv)
    helsinki()
    if args.skip_raster:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "GHS_POP_sparse_40000x20000.tif"
        written = write_sparse(path)
        size = path.stat().st_size
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    whole = WIDTH * HEIGHT * 4
    peak = max(r["peak"] for r in runs)
    last = runs[-1]
    print(f"sparse GeoTIFF {WIDTH} x {HEIGHT} float32, {size / 1e6:.1f} MB on disk")
    print(f"{'':32}{'median s':>10}{'peak MB':>10}{'whole read MB':>15}{'ratio':>8}")
    print(
        f"{'assign_population (window)':32}{statistics.median(r['seconds'] for r in runs):>10.2f}"
        f"{peak / 1e6:>10.0f}{whole / 1e6:>15.0f}{peak / whole:>8.3f}"
    )
    print(
        f"people written {written:,.1f}; read in window {last['total']:,.1f}; "
        f"assigned {last['assigned']:,.1f} + off the network {last['unassigned']:,.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
