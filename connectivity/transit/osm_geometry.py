"""The geometry of OSM route relations, in metres of a local projection.

The ways of a relation joined end to end into a line (pieces that do not join up are
kept apart as gaps, nodes absent from the extract cut the line), its stops projected in
order onto that line, and the stop positions and platforms of the relations grouped into
the stops of the feed (by ``stop_area``, by name within a distance, and by the pairing of
a stop position with the platform listed next to it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connectivity.transit.osm_relations import RouteRelations, _stop_kind_by_tags, _stop_role


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
