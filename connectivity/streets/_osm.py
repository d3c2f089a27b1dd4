"""Reading OpenStreetMap streets into a :class:`~connectivity.streets.graph.StreetNetwork`.

Two steps, shared by every source:

1. *Read* the ways of one mode as node-to-node segments with their tags: a ``.osm.pbf``
   through pyrosm (its ``walking`` / ``cycling`` / ``driving`` filters, which follow
   osmnx's ``walk`` / ``bike`` / ``drive``), OSM XML (``.osm``, ``.osm.bz2``) by first
   converting it to a temporary PBF with osmium, so both formats go through the same
   filters. Overpass downloads come as an osmnx graph (see ``connectivity.streets._overpass``).
2. *Assemble* directed edges: direction rules per mode, travel times, the local UTM
   projection and the largest strongly connected component.

Sidepaths: many OSM roads carry ``foot=no`` / ``bicycle=no`` (or ``use_sidepath``, or
``sidewalk=separate``) because their sidewalks and cycle tracks are mapped as separate
ways. An extract that left those ways out (roads only) loses the roads as well under the
literal filters, and the walk network falls apart. With *sidepaths* on, such roads are
kept as stand-ins for their sidepaths: the mode's filter applies otherwise, except that
``foot`` (walk) or ``bicycle`` (bike) values ``no`` / ``use_sidepath`` count as absent
(``access=no|private`` then still closes the road, as ``foot=private`` does) and walk
ignores ``sidewalk[:both|:left|:right]=separate``. Motorways, bus guideways and cycleways
(walk), footways and steps (bike) stay excluded. :func:`roads_only` tells whether an
extract holds none of a mode's off-road ways, which ``sidepaths="auto"`` turns on.

Direction rules: walk ignores one-way tags. Drive follows ``oneway=yes|true|1`` (forwards
only), ``oneway=-1|reverse`` (backwards only) and roundabouts (``junction=roundabout`` or
``circular``, forwards unless ``oneway=no``). Bike follows the drive rules, except where
``oneway:bicycle=no`` lets cyclists ride against the one-way direction (contraflow).
"""

from __future__ import annotations

import logging
import math
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity._errors import CoordinateError, EmptyNetworkError, InputFileError, OsmDataError
from connectivity._geo import utm_crs
from connectivity._modes import Mode
from connectivity.streets.graph import StreetNetwork

log = logging.getLogger(__name__)

#: Default driving speeds (km/h) per OSM ``highway`` class, used where a way has no
#: usable ``maxspeed``; ``"default"`` covers classes not listed.
DEFAULT_DRIVE_SPEEDS: dict[str, float] = {
    "motorway": 120.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
    "default": 30.0,
}

#: Implicit speed limits (km/h) named by ``maxspeed`` values such as ``DE:urban``:
#: by zone type, with country-specific rural limits where they differ from 90.
_ZONE_SPEEDS: dict[str, float] = {
    "urban": 50.0,
    "rural": 90.0,
    "trunk": 100.0,
    "motorway": 130.0,
    "living_street": 7.0,
    "walk": 7.0,
    "bicycle_road": 30.0,
    "cyclestreet": 30.0,
}
_COUNTRY_RURAL: dict[str, float] = {
    "DE": 100.0,
    "AT": 100.0,
    "FI": 80.0,
    "CH": 80.0,
    "GB": 96.6,
    "UK": 96.6,
    "US": 88.5,
    "RU": 90.0,
    "NL": 80.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")
_ZONE = re.compile(r"^(?:([A-Za-z]{2}):)?([a-z_]+?)(\d+)?$")

#: Tag columns read from OSM (besides way id, geometry and node ids).
_TAGS = [
    "highway", "name", "ref", "bridge", "tunnel", "maxspeed", "lanes", "oneway", "junction",
    "oneway:bicycle",
]  # fmt: skip
#: The tags every mode's edges keep as columns, to name and describe a road.
ROAD_TAGS = ("ref", "bridge", "tunnel", "maxspeed", "lanes")
_PYROSM_NETWORK = {Mode.WALK: "walking", Mode.BIKE: "cycling", Mode.DRIVE: "driving"}

#: Per mode: the highway classes of off-road ways; an extract holding none of them is
#: roads-only, and ``sidepaths="auto"`` keeps roads closed to the mode by ``no`` /
#: ``use_sidepath`` there.
SIDEPATH_CLASSES: dict[Mode, tuple[str, ...]] = {
    Mode.WALK: ("footway", "path", "pedestrian", "steps"),
    Mode.BIKE: ("cycleway", "path"),
}
#: Values of the mode's own access tag that point to a separately mapped sidepath.
_SIDEPATH_VALUES = frozenset({"no", "use_sidepath"})
#: Filter keys of pyrosm's filters that only say "the sidepath is a separate way".
_SIDEPATH_KEYS = frozenset({"sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"})

#: File names read as PBF and as OSM XML.
PBF_SUFFIXES = (".osm.pbf", ".pbf")
XML_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".xml", ".osm.xml")
FORMATS_TEXT = ".osm.pbf / .pbf (PBF) and .osm / .osm.bz2 / .osm.gz (OSM XML)"


def parse_maxspeed(value: Any) -> float:
    """One ``maxspeed`` tag value in km/h, or NaN where it gives no number.

    Reads ``"50"``, ``"50 km/h"``, ``"30 mph"``, ``"10 knots"``, zone values such as
    ``"DE:urban"``, ``"RU:rural"``, ``"DE:zone30"`` or ``"walk"``, and several values
    separated by ``;`` (the lowest). ``"none"``, ``"signals"`` and the like give NaN, so
    that the highway class default applies.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = str(value).strip()
    if ";" in text or "|" in text:
        parts = [parse_maxspeed(p) for p in re.split(r"[;|]", text)]
        found = [p for p in parts if not math.isnan(p)]
        return min(found) if found else math.nan
    m = _NUMBER.match(text)
    if m:
        speed = float(m.group(1))
        unit = m.group(2)
        if unit == "mph":
            speed *= 1.609344
        elif unit == "knots":
            speed *= 1.852
        return speed if speed > 0 else math.nan
    m = _ZONE.match(text)
    if m:
        country, zone, number = m.group(1), m.group(2), m.group(3)
        if number is not None and zone in {"zone", "zone:maxspeed"}:
            return float(number)
        if zone == "rural" and country and country.upper() in _COUNTRY_RURAL:
            return _COUNTRY_RURAL[country.upper()]
        if zone in _ZONE_SPEEDS:
            return _ZONE_SPEEDS[zone]
    return math.nan


def drive_speeds_kmh(
    highway: pd.Series, maxspeed: pd.Series, table: Mapping[str, float]
) -> np.ndarray:
    """Per edge: the parsed ``maxspeed``, else the class speed from ``table``."""
    uniq = pd.unique(maxspeed.astype(object).to_numpy())
    parsed = {v: parse_maxspeed(v) for v in uniq}
    speed = maxspeed.astype(object).map(parsed).to_numpy(float)
    default = float(table.get("default", DEFAULT_DRIVE_SPEEDS["default"]))
    hw = highway.astype(object).map(lambda h: _first(h)).to_numpy(object)
    fallback = np.array([float(table.get(h, default)) for h in hw], float)
    return np.where(np.isnan(speed), fallback, speed)


def _first(value: Any) -> Any:
    """The first value of a list-valued tag (osmnx merges ways into lists)."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def check_bbox(bbox: Any) -> tuple[float, float, float, float]:
    """Validate a ``(west, south, east, north)`` box in degrees."""
    try:
        west, south, east, north = (float(b) for b in bbox)
    except (TypeError, ValueError):
        raise CoordinateError(
            f"bbox must be four numbers (west, south, east, north) in degrees, got {bbox!r}"
        ) from None
    if not all(math.isfinite(b) for b in (west, south, east, north)):
        raise CoordinateError(f"bbox {bbox!r} holds a NaN or infinity")
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        hint = (
            " (it looks like (south, west, north, east): give west, south, east, north)"
            if -180 <= south < north <= 180 and -90 <= west < east <= 90
            else ""
        )
        raise CoordinateError(
            f"bbox {bbox!r} is not (west, south, east, north) with west < east in -180..180 "
            f"and south < north in -90..90{hint}"
        )
    return west, south, east, north


# -- reading files ------------------------------------------------------------------------


def file_kind(path: Path) -> str:
    """``"pbf"`` or ``"xml"`` from the file name; :class:`InputFileError` otherwise."""
    name = path.name.lower()
    if not path.exists():
        raise InputFileError(
            f"OSM file {path} does not exist: give the path of an OpenStreetMap extract "
            f"({FORMATS_TEXT}), or download streets with download_streets()"
        )
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not an OpenStreetMap file ({FORMATS_TEXT})")
    if name.endswith(PBF_SUFFIXES):
        return "pbf"
    if name.endswith(XML_SUFFIXES):
        return "xml"
    raise InputFileError(
        f"cannot read {path}: unknown type of file (by its name); connectivity reads "
        f"{FORMATS_TEXT}: rename the file if it is one of these"
    )


def roads_only(path: Path, mode: Mode) -> bool:
    """Whether an OSM file holds no way of the mode's :data:`SIDEPATH_CLASSES`.

    One osmium pass over the ways (nodes are skipped), stopping at the first match.
    """
    import osmium

    classes = SIDEPATH_CLASSES[mode]
    tag_filter = osmium.filter.TagFilter(*(("highway", c) for c in classes))
    try:
        for _ in osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(tag_filter):
            return False
    except RuntimeError as exc:
        if file_kind(path) == "pbf":
            raise OsmDataError(
                f"{path} is not a readable OpenStreetMap PBF file ({exc}); re-download the "
                "extract, or give an OSM XML file with the .osm suffix"
            ) from None
        raise OsmDataError(
            f"cannot read OSM XML file {path}: {exc}. Check that it is a complete, "
            "uncorrupted OpenStreetMap XML file (re-download or re-export it)"
        ) from None
    return True


def read_segments(
    path: Path,
    mode: Mode,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    sidepaths: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one mode's ways from an OSM file as undirected node-to-node segments.

    With ``sidepaths`` (walk and bike), roads closed to the mode only because their
    sidepath is mapped separately are kept (see the module docstring); otherwise pyrosm's
    filter of the mode applies literally.

    Returns
    -------
    nodes
        ``id`` (OSM node id), ``lon``, ``lat``.
    segments
        ``osmid`` (way id), ``u``, ``v`` (OSM node ids, in the way's node order),
        ``length`` (metres, great-circle) and the tag columns of ``_TAGS``.
    """
    kind = file_kind(path)
    if kind == "xml":
        with tempfile.TemporaryDirectory(prefix="connectivity-osm-") as tmp:
            pbf = Path(tmp) / "converted.osm.pbf"
            _xml_to_pbf(path, pbf)
            return _read_pbf(pbf, mode, bbox=bbox, shown=path, sidepaths=sidepaths)
    return _read_pbf(path, mode, bbox=bbox, shown=path, sidepaths=sidepaths)


def _xml_to_pbf(path: Path, target: Path) -> None:
    import osmium

    try:
        with osmium.SimpleWriter(str(target)) as writer:
            for obj in osmium.FileProcessor(str(path)):
                writer.add(obj)
    except RuntimeError as exc:
        raise OsmDataError(
            f"cannot read OSM XML file {path}: {exc}. Check that it is a complete, "
            "uncorrupted OpenStreetMap XML file (re-download or re-export it)"
        ) from None


def _read_pbf(
    path: Path,
    mode: Mode,
    *,
    bbox: tuple[float, float, float, float] | None,
    shown: Path,
    sidepaths: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pyrosm
    from pyrosm.config.osm_filters import get_osm_filter
    from pyrosm.exceptions import PBFException

    sidepaths = sidepaths and mode in SIDEPATH_CLASSES
    keep = ["highway", "name", "maxspeed", "lanes", "oneway"]
    extra = [tag for tag in _TAGS if tag not in keep]  # ref, bridge, tunnel, junction...
    mode_filter: dict[str, Any] = {}
    if sidepaths:
        # Read every way ("all": no areas, no always-excluded classes) with the tags of
        # the mode's filter, and apply that filter here without its sidepath clauses.
        mode_filter = get_osm_filter(_PYROSM_NETWORK[mode])
        keys = set(mode_filter) | set(mode_filter["access"].keys)
        extra += sorted(keys - {"access", *_TAGS, *extra}) + ["access"]

    try:
        with warnings.catch_warnings():
            # pyrosm warns (rather than raising) when no way matches; handled below.
            warnings.filterwarnings("ignore", message="Could not find any edges")
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            osm = pyrosm.OSM(
                str(path),
                bounding_box=list(bbox) if bbox is not None else None,
                keep_metadata=False,
                # pyrosm's own bar on a terminal; elsewhere silent (we log instead).
                progress=sys.stderr.isatty(),
            )
            nodes, edges = osm.get_network(
                network_type="all" if sidepaths else _PYROSM_NETWORK[mode],
                nodes=True,
                tags_to_keep=keep,
                extra_attributes=extra,
            )
    except PBFException as exc:
        raise OsmDataError(
            f"{shown} is not a readable OpenStreetMap PBF file ({exc}); re-download the "
            "extract, or give an OSM XML file with the .osm suffix"
        ) from None
    if edges is None or len(edges) == 0:
        where = f" inside bbox {bbox}" if bbox is not None else ""
        raise EmptyNetworkError(
            f"{shown} holds no streets usable for mode {mode.value}{where}: use another "
            "mode, a larger area, or an extract that includes highways"
        )
    if sidepaths:
        edges = _filter_sidepaths(edges, mode, mode_filter, shown=shown, bbox=bbox)
    segments = pd.DataFrame(
        {
            "osmid": edges["id"].to_numpy(np.int64),
            "u": edges["u"].to_numpy(np.int64),
            "v": edges["v"].to_numpy(np.int64),
            "length": edges["length"].to_numpy(float),
        }
    )
    for tag in _TAGS:
        segments[tag] = (
            edges[tag].astype(object).where(edges[tag].notna(), None).to_numpy(object)
            if tag in edges.columns
            else np.full(len(edges), None, object)
        )
    node_table = pd.DataFrame(
        {
            "id": nodes["id"].to_numpy(np.int64),
            "lon": nodes["lon"].to_numpy(float),
            "lat": nodes["lat"].to_numpy(float),
        }
    )
    return node_table, segments


def _filter_sidepaths(
    edges: pd.DataFrame,
    mode: Mode,
    mode_filter: dict[str, Any],
    *,
    shown: Path,
    bbox: tuple[float, float, float, float] | None,
) -> pd.DataFrame:
    """Keep the segments whose way passes ``mode_filter`` (a pyrosm exclude filter) with
    the sidepath clauses left out; log how many ways only the sidepath rule kept."""
    rule = mode_filter["access"]
    own_key = rule.keys[0]  # "foot" or "bicycle"
    ways = edges.drop_duplicates("id")
    columns = [c for c in set(mode_filter) | set(rule.keys) if c in ways.columns]
    records = ways[columns].astype(object).where(ways[columns].notna(), None)
    keep_ids = []
    sidepath_only = 0
    for way_id, *values in zip(ways["id"].to_numpy(np.int64), *records.T.to_numpy(), strict=True):
        tags = {k: v for k, v in zip(columns, values, strict=True) if v is not None}
        excluded = any(
            key in tags and tags[key] in allowed
            for key, allowed in mode_filter.items()
            if key != "access" and key not in _SIDEPATH_KEYS
        )
        if excluded:
            continue
        literal_ok = not rule.closes(tags) and not any(
            key in tags and tags[key] in mode_filter[key]
            for key in _SIDEPATH_KEYS
            if key in mode_filter
        )
        own = tags.get(own_key)
        if own is not None and {p.strip() for p in str(own).split(";")} <= _SIDEPATH_VALUES:
            tags.pop(own_key)  # the sidepath's "no" / "use_sidepath" counts as absent
        if rule.closes(tags):
            continue
        keep_ids.append(way_id)
        sidepath_only += not literal_ok
    log.info(
        "%s: kept %d %s ways as stand-ins for their separately mapped sidepaths "
        "(%s=no|use_sidepath%s)",
        shown,
        sidepath_only,
        mode.value,
        own_key,
        ", sidewalk=separate" if mode is Mode.WALK else "",
    )
    kept = edges[edges["id"].isin(keep_ids)]
    if len(kept) == 0:
        where = f" inside bbox {bbox}" if bbox is not None else ""
        raise EmptyNetworkError(
            f"{shown} holds no streets usable for mode {mode.value}{where}: use another "
            "mode, a larger area, or an extract that includes highways"
        )
    return kept


# -- assembling ---------------------------------------------------------------------------

_YES = {"yes", "true", "1"}
_REVERSE = {"-1", "reverse"}


def _norm(values: pd.Series) -> np.ndarray:
    return values.map(lambda x: str(x).strip().lower() if x is not None else "").to_numpy(object)


def directed_segments(segments: pd.DataFrame, mode: Mode) -> pd.DataFrame:
    """Turn undirected segments into directed edges by the mode's one-way rules."""
    n = len(segments)
    forward = np.ones(n, bool)
    backward = np.ones(n, bool)
    if mode is not Mode.WALK:
        oneway = _norm(segments["oneway"])
        junction = _norm(segments["junction"])
        ow_yes = np.isin(oneway, list(_YES))
        ow_rev = np.isin(oneway, list(_REVERSE))
        roundabout = np.isin(junction, ["roundabout", "circular"]) & (oneway != "no")
        one_forward = ow_yes | (roundabout & ~ow_rev)
        if mode is Mode.BIKE:
            contraflow = _norm(segments["oneway:bicycle"]) == "no"
            one_forward &= ~contraflow
            ow_rev &= ~contraflow
        backward = ~one_forward
        forward = ~ow_rev
    fwd = segments[forward]
    bwd = segments[backward].rename(columns={"u": "v", "v": "u"})
    out = pd.concat([fwd, bwd[fwd.columns]], ignore_index=True)
    return out


def assemble(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    mode: Mode,
    walk_speed: float,
    bike_speed: float,
    drive_speeds: Mapping[str, float],
    source: str,
) -> StreetNetwork:
    """Build the :class:`StreetNetwork` from nodes (``id``, ``lon``, ``lat``) and directed
    edges (``u``, ``v`` OSM node ids, ``osmid``, ``length`` and tags).

    Computes travel times, keeps the largest strongly connected component (logging what
    was dropped) and projects to the UTM zone of the nodes' centroid.
    """
    from pyproj import Transformer
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    node_index = pd.Index(nodes["id"].to_numpy(np.int64))
    u = node_index.get_indexer(edges["u"].to_numpy(np.int64))
    v = node_index.get_indexer(edges["v"].to_numpy(np.int64))
    ok = (u >= 0) & (v >= 0) & (u != v)
    if not ok.all():
        log.info("dropped %d edges without both end nodes or looping on one node", (~ok).sum())
    edges = edges[ok].reset_index(drop=True)
    u, v = u[ok], v[ok]
    if len(edges) == 0:
        raise EmptyNetworkError(f"{source} holds no streets usable for mode {mode.value}")

    length = edges["length"].to_numpy(float)
    if mode is Mode.WALK:
        speed = np.full(len(edges), float(walk_speed))
    elif mode is Mode.BIKE:
        speed = np.full(len(edges), float(bike_speed))
    else:
        speed = drive_speeds_kmh(edges["highway"], edges["maxspeed"], drive_speeds)
    time = length / (speed / 3.6)

    n_all = len(nodes)
    graph = csr_matrix((np.ones(len(u)), (u, v)), shape=(n_all, n_all))
    n_comp, labels = connected_components(graph, directed=True, connection="strong")
    used = np.zeros(n_all, bool)
    used[u] = used[v] = True
    sizes = np.bincount(labels[used], minlength=n_comp)
    keep_label = int(np.argmax(sizes))
    keep_node = (labels == keep_label) & used
    keep_edge = keep_node[u] & keep_node[v]
    dropped_nodes = int(used.sum() - keep_node.sum())
    dropped_edges = int((~keep_edge).sum())
    log.info(
        "%s %s network: kept the largest strongly connected component, %d nodes and %d "
        "edges; dropped %d nodes and %d edges in %d smaller components",
        source,
        mode.value,
        int(keep_node.sum()),
        int(keep_edge.sum()),
        dropped_nodes,
        dropped_edges,
        int((sizes > 0).sum()) - 1,
    )
    new_pos = np.cumsum(keep_node) - 1
    kept_nodes = nodes[keep_node].reset_index(drop=True)
    lon = kept_nodes["lon"].to_numpy(float)
    lat = kept_nodes["lat"].to_numpy(float)
    crs = utm_crs(float(lon.mean()), float(lat.mean()))
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)

    e = edges[keep_edge].reset_index(drop=True)
    table = pd.DataFrame(
        {
            "u": new_pos[u[keep_edge]].astype(np.int64),
            "v": new_pos[v[keep_edge]].astype(np.int64),
            "length": length[keep_edge],
            "time": time[keep_edge],
            "osmid": e["osmid"].to_numpy(np.int64),
            "highway": e["highway"].map(_first).astype(object).to_numpy(object),
            "name": e["name"].map(_first).astype(object).to_numpy(object),
        }
    )
    if mode is Mode.DRIVE:
        table["speed"] = speed[keep_edge]
    for tag in ROAD_TAGS:
        table[tag] = (
            e[tag].map(_first).astype(object).to_numpy(object)
            if tag in e.columns
            else np.full(len(e), None, object)
        )
    node_table = pd.DataFrame(
        {
            "osmid": kept_nodes["id"].to_numpy(np.int64),
            "x": np.asarray(x, float),
            "y": np.asarray(y, float),
            "lon": lon,
            "lat": lat,
        }
    )
    meta = {
        "source": source,
        "dropped_nodes": dropped_nodes,
        "dropped_edges": dropped_edges,
        "components": int((sizes > 0).sum()),
    }
    return StreetNetwork(mode=mode, crs=crs, nodes=node_table, edges=table, meta=meta)
