"""Tram tracks from OpenStreetMap, joined to a street network, for proposed tram lines.

A proposed tram follows the tracks where the extract maps them (``railway=tram``) and the
streets elsewhere (issue 23: "a tram over ``railway=tram`` where mapped, else the
streets"). :func:`with_tram_tracks` returns the drive network with the tracks added:

- every ``railway=tram`` way becomes two-way edges between its consecutive nodes, of
  their projected length; a track node that is also a street node (a crossing, a shared
  end) is that node;
- each track node is also joined to its nearest street node within
  :data:`CONNECT_METRES` (tracks laid in a street run a few metres beside its centre
  line, on nodes of their own), so a line can pass between tracks and streets;
- the path weight (``time``) of a track edge is its time at :data:`TRACK_SPEED` times
  :data:`TRACK_PREFERENCE`: a tram keeps to a mapped track over a street of about the
  same length; streets and connectors keep their drive times.

The weights only choose the path: a tram's run times come from the path's length at
the line's speed (:mod:`connectivity.scenarios.line_routing`). Edges carry ``track``
(True on a track), so the path's share on tracks can be read back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from connectivity.streets.graph import StreetNetwork

__all__ = ["CONNECT_METRES", "TRACK_PREFERENCE", "TRACK_SPEED", "tram_tracks", "with_tram_tracks"]

logger = logging.getLogger(__name__)

#: km/h on a track, for the path weight.
TRACK_SPEED = 40.0
#: A track edge's weight over its time at :data:`TRACK_SPEED`.
TRACK_PREFERENCE = 0.5
#: Metres within which a track node is joined to its nearest street node.
CONNECT_METRES = 30.0


def tram_tracks(path: str | Path) -> list[tuple[list[int], list[tuple[float, float]]]]:
    """The ``railway=tram`` ways of an OSM file: per way its node ids and ``(lon, lat)``,
    read with osmium (nodes without a location are left out)."""
    import osmium

    ways: list[tuple[list[int], list[tuple[float, float]]]] = []
    # Every node's location is kept (a key filter before the ways would drop them).
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in fp:
        if not isinstance(obj, osmium.osm.Way) or obj.tags.get("railway") != "tram":
            continue
        ids, points = [], []
        for n in obj.nodes:
            if n.location.valid():
                ids.append(int(n.ref))
                points.append((n.location.lon, n.location.lat))
        if len(ids) >= 2:
            ways.append((ids, points))
    return ways


def with_tram_tracks(streets: StreetNetwork, path: str | Path) -> StreetNetwork | None:
    """``streets`` (a drive network) with the tram tracks of the OSM file ``path`` added,
    as the module docstring says; None where the file maps no tram track.

    Parameters
    ----------
    streets
        The network the rest of a line runs on (its nodes keep their positions).
    path
        The OSM file ``streets`` was read from.

    Returns
    -------
    network
        The joined network, or None.
    """
    from scipy.spatial import cKDTree

    ways = tram_tracks(path)
    if not ways:
        return None
    nodes = streets.nodes
    index = {int(o): i for i, o in enumerate(nodes["osmid"].to_numpy(np.int64))}
    x = list(nodes["x"].to_numpy(float))
    y = list(nodes["y"].to_numpy(float))
    osmid = list(nodes["osmid"].to_numpy(np.int64))
    n_street = len(x)
    tu: list[int] = []
    tv: list[int] = []
    for ids, points in ways:
        px, py = streets._to_crs.transform(*np.asarray(points, float).T)
        at = []
        for node, xx, yy in zip(ids, px, py, strict=True):
            if node not in index:
                index[node] = len(x)
                x.append(float(xx))
                y.append(float(yy))
                osmid.append(node)
            at.append(index[node])
        tu += at[:-1]
        tv += at[1:]
    xs, ys = np.asarray(x), np.asarray(y)
    a, b = np.asarray(tu, np.int64), np.asarray(tv, np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    track_len = np.hypot(xs[a] - xs[b], ys[a] - ys[b])
    # Track nodes of their own, joined to the nearest street node near them.
    own = np.arange(n_street, len(xs))
    dist, near = cKDTree(np.column_stack([xs[:n_street], ys[:n_street]])).query(
        np.column_stack([xs[own], ys[own]])
    )
    close = dist <= CONNECT_METRES
    ca, cb, c_len = own[close], near[close].astype(np.int64), dist[close]
    e = streets.edges
    with np.errstate(divide="ignore", invalid="ignore"):
        street_speed = np.where(e["time"] > 0, e["length"] / e["time"], 1.0)
    connect_speed = float(np.median(street_speed)) if len(e) else 1.0
    track_time = track_len / (TRACK_SPEED / 3.6) * TRACK_PREFERENCE
    u = np.concatenate([e["u"].to_numpy(np.int64), a, b, ca, cb])
    v = np.concatenate([e["v"].to_numpy(np.int64), b, a, cb, ca])
    length = np.concatenate([e["length"].to_numpy(float), track_len, track_len, c_len, c_len])
    time = np.concatenate(
        [e["time"].to_numpy(float), track_time, track_time, c_len / connect_speed,
         c_len / connect_speed]
    )  # fmt: skip
    track = np.concatenate(
        [np.zeros(len(e), bool), np.ones(2 * len(a), bool), np.zeros(2 * len(ca), bool)]
    )
    logger.info(
        "%s: %d tram track ways (%.1f km), %d track nodes joined to the streets",
        path,
        len(ways),
        float(track_len.sum()) / 1e3,
        int(close.sum()),
    )
    joined: Any = StreetNetwork.from_arrays(
        x=xs, y=ys, u=u, v=v, length=length, time=time, mode=streets.mode, crs=streets.crs,
        osmid=np.asarray(osmid, np.int64), track=track,
    )  # fmt: skip
    joined.meta.update(source=str(path), tram_tracks=len(ways))
    return joined
