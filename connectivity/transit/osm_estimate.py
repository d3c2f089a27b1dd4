"""The estimation of a GTFS feed from OSM route relations, as rows of its tables.

:func:`_estimate` turns each route relation into route, trips, stop times, shape and
frequencies (run times from the length between stops and a speed, headways and service
span from the tags or the defaults given) and the stops they use, with one report row per
relation saying what was tagged, what was estimated and which problems were found.
:func:`connectivity.transit.osm_feed.gtfs_from_osm` checks the parameters and writes the
rows as a zip.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pandas as pd

from connectivity._geo import utm_crs
from connectivity.transit.osm_geometry import (
    _coordinates,
    _group_stops,
    _join_ways,
    _project_stops,
    _stop_objects,
    _StopObject,
)
from connectivity.transit.osm_relations import RouteRelations, _stop_kind_by_tags, _stop_role
from connectivity.transit.osm_tags import (
    _conditional_intervals,
    _frequencies,
    _hex_colour,
    _parse_duration,
    _span_for,
)

__all__ = ["ROUTE_TYPES"]

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

#: Day types of the estimated feed, each read from a representative day of the week in
#: ``opening_hours`` and ``interval:conditional`` (Wednesday for weekdays).
DAY_TYPES: dict[str, int] = {"weekday": 2, "saturday": 5, "sunday": 6}


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
