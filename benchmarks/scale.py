"""Scale benchmark (issue 15): Rhine-Neckar tiled into larger agglomerations.

For each size (1x, 2x, 4x, 8x by default) the Rhine-Neckar OSM extract and GTFS feed are
tiled with osmium (pyosmium): tile ``k`` is a copy shifted east/north by whole extents
(plus 0.01 degree), with OSM ids offset by ``k * 10**10`` and every GTFS id prefixed
``k:`` (stops, trips, routes, shapes; the calendar is shared). Neighbouring tiles are
joined by 40 residential "connector" ways each (a street node near one tile's side to
the nearest of the other's), so the walk network stays one strongly connected whole
(the largest component is what ``load_streets`` keeps). Then, per size, the wall time and the peak
resident memory (sampled every 20 ms, the process's RSS above what it held before the
step) of:

clip       ``clip_osm`` of the tiled file to its own extent minus 1 km on each side
streets    ``load_streets`` (walk) of the clipped file, no cache
timetable  ``load_timetable`` of the tiled feed, no cache
network    ``build_network``, no cache
one-to-all ``travel_times`` from the middle of tile 0, one departure
range-60   the same over a 60-minute window (60 departures)
surface    ``accessibility_surface`` on a 250 m grid: a fixed sample of grid origins
           (``--surface-origins``, seeded), timed and extrapolated to the whole grid
           (origins are independent); the count of grid cells is printed beside it

and the growth exponent of each step (the slope of log time against log size, least
squares over the sizes). The CPU of the machine is shared with other work: times are
wall clock under that load.

Run: ``python benchmarks/scale.py [--sizes 1 2 4 8] [--surface-origins 40]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import os
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CONNECTIVITY_DATA", ROOT.parent / "shared" / "data"))
PBF = DATA / "rhein-neckar" / "rnv.osm.pbf"
GTFS = DATA / "rhein-neckar" / "rnv_gtfs.zip"
DATE = "2016-11-22"
ID_OFFSET = 10**10


def tile_layout(k: int) -> tuple[int, int]:
    """Columns and rows of a k-tile layout (2 -> 2x1, 4 -> 2x2, 8 -> 4x2)."""
    cols = 2 ** math.ceil(math.log2(k) / 2) if k > 1 else 1
    return cols, max(1, k // cols)


def extent(path: Path) -> tuple[float, float, float, float]:
    import osmium

    lon, lat = [], []
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.location.valid():
            lon.append(node.location.lon)
            lat.append(node.location.lat)
    return min(lon), min(lat), max(lon), max(lat)


_CONNECT = {"residential", "unclassified", "tertiary", "secondary", "primary", "living_street"}


def edge_nodes(src: Path, box) -> dict[str, list[tuple[int, float, float]]]:
    """Street nodes within about 1 km of each side of the streets' own extent (west,
    east, south, north): where the tiles are joined.

    The sides are those of the street nodes, not of the file's extent (``box``): an
    extract's outermost nodes may belong to no street (Rhine-Neckar has no street node
    within 1 km of its northernmost node), and a side with no street node would leave a
    row of tiles unjoined, so that the walk network (its largest component) stays the
    size of one row.
    """
    import osmium

    refs = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if way.tags.get("highway") in _CONNECT:
            refs.update(n.ref for n in way.nodes)
    found = [
        (node.id, node.location.lon, node.location.lat)
        for node in osmium.FileProcessor(str(src), osmium.osm.NODE)
        if node.id in refs and node.location.valid()
    ]
    xy = np.array([(lon, lat) for _, lon, lat in found])
    west, south = xy.min(axis=0)
    east, north = xy.max(axis=0)
    sides: dict[str, list[tuple[int, float, float]]] = {"w": [], "e": [], "s": [], "n": []}
    m = 0.0135
    for node_id, lon, lat in found:
        for side, near in (("w", lon < west + m), ("e", lon > east - m),
                           ("s", lat < south + m), ("n", lat > north - m)):  # fmt: skip
            if near:
                sides[side].append((node_id, lon, lat))
    empty = [side for side, nodes in sides.items() if not nodes]
    if empty:
        raise SystemExit(f"{src.name}: no street node near side(s) {empty}: tiles cannot be joined")
    return sides


def connectors(k: int, box, sides, per_pair: int = 40) -> list[tuple[int, int]]:
    """Node pairs joining neighbouring tiles: ``per_pair`` nodes spread along the shared
    side of one tile, each to the nearest node of the other tile's facing side."""
    cols, _ = tile_layout(k)
    dx, dy = box[2] - box[0] + 0.01, box[3] - box[1] + 0.01
    pairs = []
    for t in range(k):
        for other, a_side, b_side, axis in ((t + 1, "e", "w", 2), (t + cols, "n", "s", 1)):
            if other >= k or (axis == 2 and other % cols == 0):
                continue
            a = np.array(sides[a_side])
            b = np.array(sides[b_side])
            shift = np.array([dx, 0.0]) if axis == 2 else np.array([0.0, dy])
            pick = a[np.argsort(a[:, axis])][:: max(1, len(a) // per_pair)]
            for node_id, lon, lat in pick:
                d = np.hypot(b[:, 1] + shift[0] - lon, b[:, 2] + shift[1] - lat)
                j = int(np.argmin(d))
                pairs.append((int(node_id) + t * ID_OFFSET, int(b[j, 0]) + other * ID_OFFSET))
    return pairs


def tile_osm(src: Path, out: Path, k: int, box: tuple[float, float, float, float]) -> int:
    """Write the k-tile file; returns the number of connector ways."""
    import osmium

    cols, _ = tile_layout(k)
    dx, dy = box[2] - box[0] + 0.01, box[3] - box[1] + 0.01
    shifts = [((t % cols) * dx, (t // cols) * dy) for t in range(k)]
    joins = connectors(k, box, edge_nodes(src, box)) if k > 1 else []
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for kind in (osmium.osm.NODE, osmium.osm.WAY, osmium.osm.RELATION):
            for t, (sx, sy) in enumerate(shifts):
                off = t * ID_OFFSET
                for obj in osmium.FileProcessor(str(src), kind):
                    tags = dict(obj.tags)
                    if obj.is_node():
                        loc = obj.location
                        writer.add_node(
                            obj.replace(
                                id=obj.id + off, location=(loc.lon + sx, loc.lat + sy), tags=tags
                            )
                        )
                    elif obj.is_way():
                        writer.add_way(
                            obj.replace(
                                id=obj.id + off, nodes=[n.ref + off for n in obj.nodes], tags=tags
                            )
                        )
                    else:
                        members = [(m.type, m.ref + off, m.role) for m in obj.members]
                        writer.add_relation(
                            obj.replace(id=obj.id + off, members=members, tags=tags)
                        )
            if kind == osmium.osm.WAY:
                for i, (a, b) in enumerate(joins):
                    writer.add_way(
                        osmium.osm.mutable.Way(
                            id=(k + 1) * ID_OFFSET + i,
                            nodes=[a, b],
                            tags={"highway": "residential", "name": "tile connector"},
                        )
                    )
    return len(joins)


def tile_gtfs(src: Path, out: Path, k: int, box: tuple[float, float, float, float]) -> None:
    cols, _ = tile_layout(k)
    dx, dy = box[2] - box[0] + 0.01, box[3] - box[1] + 0.01
    with zipfile.ZipFile(src) as zf:
        tables = {
            name: pd.read_csv(io.BytesIO(zf.read(name)), dtype=str, keep_default_na=False)
            for name in zf.namelist()
            if name.endswith(".txt")
        }
    id_columns = {
        "stop_id",
        "parent_station",
        "trip_id",
        "route_id",
        "shape_id",
        "from_stop_id",
        "to_stop_id",
        "block_id",
    }
    shared = {"agency.txt", "calendar.txt", "calendar_dates.txt", "feed_info.txt"}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, table in tables.items():
            if name in shared:
                zf.writestr(name, table.to_csv(index=False))
                continue
            parts = []
            for t in range(k):
                part = table.copy()
                for col in id_columns & set(part.columns):
                    part[col] = np.where(part[col] != "", f"{t}:" + part[col], "")
                sx, sy = (t % cols) * dx, (t // cols) * dy
                for col, shift in (
                    ("stop_lon", sx),
                    ("stop_lat", sy),
                    ("shape_pt_lon", sx),
                    ("shape_pt_lat", sy),
                ):
                    if col in part.columns:
                        part[col] = (pd.to_numeric(part[col]) + shift).map("{:.7f}".format)
                parts.append(part)
            zf.writestr(name, pd.concat(parts).to_csv(index=False))


class Peak:
    """Peak RSS (bytes) of this process while the block runs, above its start."""

    def __enter__(self):
        import psutil

        gc.collect()
        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.stop = False
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        self.t0 = time.perf_counter()
        return self

    def _watch(self):
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.stop = True
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.rss = self.peak
        self.above = self.peak - self.base


def measure(k: int, work: Path, box, surface_origins: int) -> dict[str, tuple[float, float]]:
    import geopandas as gpd

    from connectivity import (
        accessibility_surface,
        build_network,
        clip_osm,
        load_streets,
        load_timetable,
        travel_times,
    )
    from connectivity.accessibility.surface import _grid

    pbf, feed = work / f"rn_x{k}.osm.pbf", work / f"rn_x{k}_gtfs.zip"
    if not pbf.exists():
        joins = tile_osm(PBF, pbf, k, box)
        print(f"tiled {k}x with {joins} connector ways between neighbouring tiles")
    if not feed.exists():
        tile_gtfs(GTFS, feed, k, box)
    cols, rows = tile_layout(k)
    dx, dy = box[2] - box[0] + 0.01, box[3] - box[1] + 0.01
    margin = 0.0135  # about 1 km
    region = (box[0] + margin, box[1] + margin, box[0] + (cols - 1) * dx + box[2] - box[0] - margin,
              box[1] + (rows - 1) * dy + box[3] - box[1] - margin)  # fmt: skip
    out: dict[str, tuple[float, float]] = {}
    clipped = work / f"rn_x{k}_clip.osm.pbf"
    with Peak() as p:
        clip_osm(pbf, clipped, bbox=region)
    out["clip"] = (p.seconds, p.above)
    with Peak() as p:
        walk = load_streets(clipped, mode="walk", use_cache=False)
    out["streets"] = (p.seconds, p.above)
    with Peak() as p:
        tt = load_timetable(feed, date=DATE, use_cache=False)
    out["timetable"] = (p.seconds, p.above)
    with Peak() as p:
        net = build_network(walk, tt, use_cache=False)
    out["network"] = (p.seconds, p.above)
    lon0, lat0 = 8.4694, 49.4794  # Mannheim Hbf, in tile 0
    travel_times(net, (lon0, lat0), departure=8 * 3600)
    with Peak() as p:
        travel_times(net, (lon0, lat0), departure=8 * 3600)
    out["one-to-all"] = (p.seconds, p.above)
    with Peak() as p:
        travel_times(net, (lon0, lat0), departure=8 * 3600, window=3600)
    out["range-60"] = (p.seconds, p.above)
    ids, glon, glat = _grid(net, 250.0)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(ids), min(surface_origins, len(ids)), replace=False))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(glon[pick], glat[pick]), crs="EPSG:4326")
    with Peak() as p:
        accessibility_surface(net, np.ones(walk.n_nodes), origins=points, departure=8 * 3600,
                              window=3600, cutoffs=(1800, 2700, 3600), n_jobs=2)  # fmt: skip
    out["surface"] = (p.seconds / len(pick) * len(ids), p.above)
    out["_grid_cells"] = (float(len(ids)), 0.0)
    out["_walk_nodes"] = (float(walk.n_nodes), 0.0)
    import resource

    out["_max_rss"] = (0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--surface-origins", type=int, default=40)
    parser.add_argument("--work", type=Path, default=None, help="folder for the tiled files")
    args = parser.parse_args(argv)
    if not (PBF.exists() and GTFS.exists()):
        print(f"not measured: {PBF} or {GTFS} is absent")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="connectivity-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    box = extent(PBF)
    print(f"Rhine-Neckar extent {box}; tiles in {work}")
    print(f"cores: {os.cpu_count()}; the CPU is shared with other work today: times are wall clock")
    results = {}
    for k in args.sizes:
        results[k] = measure(k, work, box, args.surface_origins)
        r = results[k]
        print(
            f"\n== {k}x: {int(r['_walk_nodes'][0])} walk nodes, {int(r['_grid_cells'][0])} "
            f"cells of 250 m; process max RSS {r['_max_rss'][1] / 2**20:.0f} MB"
        )
        for step, (seconds, mem) in r.items():
            if not step.startswith("_"):
                note = " (extrapolated from a sample)" if step == "surface" else ""
                print(f"  {step:<11}{seconds:>10.2f} s  peak +{mem / 2**20:>7.0f} MB{note}")
    sizes = sorted(results)
    if len(sizes) > 1:
        print("\ngrowth exponent (time ~ size^e, least squares over the sizes)")
        for step in results[sizes[0]]:
            if step.startswith("_"):
                continue
            t = [max(results[k][step][0], 1e-6) for k in sizes]
            slope = np.polyfit(np.log(sizes), np.log(t), 1)[0]
            print(f"  {step:<11} e = {slope:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
