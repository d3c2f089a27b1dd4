"""Clipping an OpenStreetMap file to a region, streaming, before any network is built.

:func:`clip_osm` reads a ``.osm.pbf`` (or OSM XML) with osmium and writes the part of
it inside a box, a polygon or a circle (``around=(lat, lon, km)``) to a new PBF, with the
semantics of ``osmium extract``'s default ``complete_ways`` strategy, so that both give
the same file contents:

- every node inside the region;
- every way with at least one node inside, complete (with all its nodes, even those
  outside), so streets that leave the region are not cut at its edge;
- every relation with a member node inside or a member way kept.

Two passes over the file: the first streams the nodes in chunks (their coordinates
tested with numpy, chunk by chunk) and then the ways and relations, keeping only the id
sets of what is kept; the second writes the kept objects. Memory is bounded by the chunk
size and by the size of the *region* (its id sets), whatever the size of the input: no
object of the file is held beyond its chunk. (Python sets rather than osmium's
``IdTracker``: its dense bitmap allocates a block per scattered id, which on real files
cost 90 us per id and, for a country, hundreds of MB.) :func:`connectivity.load_streets` calls it
for its ``bbox=`` / ``polygon=`` / ``around=`` options.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectivity._errors import CoordinateError, InputFileError, OsmDataError
from connectivity._files import atomic_path
from connectivity._region import Region, make_region
from connectivity.streets._osm import file_kind

__all__ = ["ClipCounts", "clip_osm", "clip_region"]

log = logging.getLogger(__name__)

#: Nodes whose coordinates are tested together (bounds the memory of the first pass).
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ClipCounts:
    """What a clip read and kept."""

    nodes_read: int
    nodes_inside: int
    nodes_kept: int
    ways_read: int
    ways_kept: int
    relations_read: int
    relations_kept: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict (for ``meta`` and JSON)."""
        return asdict(self)


def clip_region(*, bbox: Any = None, polygon: Any = None, around: Any = None) -> Region | None:
    """The checked region of at most one of ``bbox``, ``polygon``, ``around`` (None for
    none): see :func:`clip_osm` for the forms each takes."""
    return make_region(bbox=bbox, polygon=polygon, around=around)


def clip_osm(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: Any = None,
    around: tuple[float, float, float] | None = None,
    region: Region | None = None,
) -> ClipCounts:
    """Write the part of an OpenStreetMap file inside a region to a PBF file.

    Streams through the file twice with osmium (bounded memory, no full load); the
    result holds the same objects as ``osmium extract`` with the same region (its
    default ``complete_ways`` strategy: ways with a node inside are kept whole).

    Parameters
    ----------
    path
        The OpenStreetMap file (``.osm.pbf``, ``.osm``, ``.osm.bz2``).
    out
        The PBF file to write (atomically: a failed clip leaves nothing behind).
    bbox
        ``(west, south, east, north)`` in degrees.
    polygon
        A shapely (multi)polygon in degrees, a GeoDataFrame, or a file holding polygons
        (GeoJSON, GeoPackage, shapefile, osmium ``.poly``).
    around
        ``(lat, lon, km)``: the nodes within ``km`` km of the point (great circle).
    region
        An already checked region (instead of the three above).

    Returns
    -------
    counts
        Nodes, ways and relations read and kept, and the seconds taken.

    Raises
    ------
    ParameterError
        Not exactly one region, or a radius <= 0.
    CoordinateError
        A malformed region, or one that holds no node of the file.
    InputFileError
        The file is missing or of an unknown type; a polygon file without a polygon.
    OsmDataError
        The file is corrupt.
    """
    import osmium

    path = Path(path)
    out = Path(out)
    file_kind(path)
    if region is None:
        region = make_region(bbox=bbox, polygon=polygon, around=around)
    if region is None:
        raise InputFileError(
            "clip_osm needs a region: give bbox=(west, south, east, north), polygon= or "
            "around=(lat, lon, km)"
        )
    if not out.name.lower().endswith(".osm.pbf"):
        raise InputFileError(f"clip output {out} must be an .osm.pbf file")
    started = time.perf_counter()
    inside: set[int] = set()  # node ids inside the region
    ways: set[int] = set()  # way ids kept
    nodes: set[int] = set()  # node ids kept (inside, or of a kept way)
    relations: set[int] = set()
    parents: dict[int, list[int]] = {}  # relation id -> the relations it is a member of
    span = [np.inf, np.inf, -np.inf, -np.inf]
    counts = {"nodes": 0, "ways": 0, "rels": 0}

    def flush(ids: list[int], lons: list[float], lats: list[float]) -> None:
        if not ids:
            return
        lon = np.fromiter(lons, np.float64, len(lons))
        lat = np.fromiter(lats, np.float64, len(lats))
        span[0] = min(span[0], float(lon.min()))
        span[1] = min(span[1], float(lat.min()))
        span[2] = max(span[2], float(lon.max()))
        span[3] = max(span[3], float(lat.max()))
        hits = np.asarray(ids, dtype=np.int64)[region.contains(lon, lat)]
        inside.update(hits.tolist())
        counts["nodes"] += len(ids)
        ids.clear()
        lons.clear()
        lats.clear()

    node: Any
    obj: Any
    try:
        ids: list[int] = []
        lons: list[float] = []
        lats: list[float] = []
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
            loc = node.location
            if not loc.valid():
                continue
            ids.append(node.id)
            lons.append(loc.lon)
            lats.append(loc.lat)
            if len(ids) >= _CHUNK:
                flush(ids, lons, lats)
        flush(ids, lons, lats)
        if not inside:
            raise _outside(path, region, span)
        nodes.update(inside)
        for obj in osmium.FileProcessor(str(path), osmium.osm.WAY | osmium.osm.RELATION):
            if obj.is_way():
                counts["ways"] += 1
                refs = [n.ref for n in obj.nodes]
                if not inside.isdisjoint(refs):
                    ways.add(obj.id)
                    nodes.update(refs)
            else:
                counts["rels"] += 1
                for m in obj.members:
                    if m.type == "r":
                        parents.setdefault(m.ref, []).append(obj.id)
                    elif (m.type == "n" and m.ref in inside) or (m.type == "w" and m.ref in ways):
                        relations.add(obj.id)
        # and the relations that hold a kept relation, up the hierarchy (as osmium does)
        todo = list(relations)
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in relations:
                    relations.add(parent)
                    todo.append(parent)
        written = 0
        kept = {"n": nodes, "w": ways, "r": relations}
        with atomic_path(out) as tmp:
            target = osmium.io.File(str(tmp), "pbf")
            with osmium.SimpleWriter(target, overwrite=True) as writer:
                for obj in osmium.FileProcessor(str(path)):
                    if obj.id in kept[obj.type_str()]:
                        written += obj.is_node()
                        writer.add(obj)
    except RuntimeError as exc:
        raise OsmDataError(
            f"cannot read {path} ({exc}); re-download the extract, or check that it is a "
            "complete OpenStreetMap file"
        ) from None
    result = ClipCounts(
        nodes_read=counts["nodes"],
        nodes_inside=len(inside),
        nodes_kept=written,
        ways_read=counts["ways"],
        ways_kept=len(ways),
        relations_read=counts["rels"],
        relations_kept=len(relations),
        seconds=time.perf_counter() - started,
    )
    log.info(
        "clipped %s to %s: %d of %d nodes inside (%d kept with the ways leaving it), "
        "%d of %d ways, %d of %d relations, in %.1f s",
        path.name,
        region.describe(),
        result.nodes_inside,
        result.nodes_read,
        result.nodes_kept,
        result.ways_kept,
        result.ways_read,
        result.relations_kept,
        result.relations_read,
        result.seconds,
    )
    return result


def _outside(path: Path, region: Region, span: list[float]) -> CoordinateError:
    if not np.isfinite(span[0]):
        where = "which holds no node"
    else:
        where = f"whose nodes span {span[0]:.4f}..{span[2]:.4f} E, {span[1]:.4f}..{span[3]:.4f} N"
    return CoordinateError(
        f"{region.describe()} holds no node of {path.name}, {where}: give a region that "
        "overlaps the file (bbox is west, south, east, north; around is lat, lon, km)"
    )
