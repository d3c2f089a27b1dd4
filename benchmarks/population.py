"""Benchmark of reading population products (issue 14).

Measured here: a GHS-POP-sized raster (a sparse 40,000 x 20,000 float32 GeoTIFF in World
Mollweide, 1 km cells, tiled and compressed, people only around the study area) clipped
to a 20 x 20 km street network by :func:`connectivity.assign_population`. Each run is a
fresh process; its peak resident memory (``ru_maxrss``) is printed next to what a
whole-file read would need (40,000 x 20,000 x 4 bytes = 3.2 GB), with the median time.

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
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
