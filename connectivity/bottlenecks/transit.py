"""The walk + transit network as one static graph, for the bottleneck measures.

:func:`transit_view` turns an intermodal network into a :class:`StreetNetwork` (mode
``walk``) in which boarding a pattern costs half its mean headway and rides carry a
capacity (vehicles per hour x :data:`DEFAULT_VEHICLE_CAPACITY`); on it the structure
measures and :func:`connectivity.bottlenecks.study.find_bottlenecks` rank routes and stops
(``kind="route"`` or ``kind="stop"``). :func:`usage_ranking` ranks the same lines by the
people the schedule's optimal journeys carry to the core (:func:`connectivity.route_usage`),
to write beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectivity._errors import ParameterError
from connectivity._modes import Mode
from connectivity.transit.modes import basic_route_type, route_modes

if TYPE_CHECKING:
    from connectivity.network.intermodal import IntermodalNetwork
    from connectivity.streets.graph import StreetNetwork

__all__ = ["DEFAULT_VEHICLE_CAPACITY", "transit_view", "usage_ranking"]

#: Passengers per vehicle by GTFS ``route_type`` (extended types by their hundreds:
#: 100s rail, 400s urban rail, 700s bus, 900s tram, 1000s water).
DEFAULT_VEHICLE_CAPACITY: dict[int, float] = {
    0: 200.0,
    1: 800.0,
    2: 600.0,
    3: 80.0,
    4: 250.0,
    5: 60.0,
    6: 30.0,
    7: 100.0,
    11: 80.0,
    12: 400.0,
}


def _vehicle_capacity(route_type: Any, table: Mapping[int, float]) -> float:
    try:
        t = int(route_type)
    except (TypeError, ValueError):
        return table.get(3, 80.0)
    if t in table:
        return float(table[t])
    base = basic_route_type(t)
    return float(table.get(base, 80.0)) if base is not None else float(table.get(3, 80.0))


def _view_patterns(tt: Any) -> list[list[int]]:
    """The patterns of the view: each pattern alone, except that the headway-based
    entries of one route over one stop sequence (which the Timetable keeps apart, one a
    frequency entry) make one, as they did before they were kept apart."""
    groups: dict[Any, list[int]] = {}
    out: list[list[int]] = []
    headway = tt.pattern_headway
    for p in range(tt.n_patterns):
        if headway is None or headway[p] <= 0:
            out.append([p])
            continue
        a, b = tt.pattern_stop_ptr[p], tt.pattern_stop_ptr[p + 1]
        key = (
            int(tt.pattern_route[p]),
            tt.pattern_stops[a:b].tobytes(),
            tt.pattern_board[a:b].tobytes(),
            tt.pattern_alight[a:b].tobytes(),
        )
        if key not in groups:
            groups[key] = []
            out.append(groups[key])
        groups[key].append(p)
    return out


def transit_view(
    network: IntermodalNetwork,
    *,
    vehicle_capacity: Mapping[int, float] | None = None,
) -> StreetNetwork:
    """The walk + transit network as one static graph, for the bottleneck measures.

    Nodes (column ``kind``): the walk network's nodes (``street``), one node per stop
    (``stop``), and one node per stop of each pattern (``pattern``, where a rider is on
    board). Edges (column ``kind``): the walk edges (``walk``, time at the network's
    walking speed), the stop links (``link``), the footpaths between stops
    (``transfer``), boardings (``board``, stop -> pattern stop, costing half the
    pattern's mean headway over the day), rides (``transit``, pattern stop -> next
    pattern stop, the median in-vehicle time) and alightings (``alight``, free). This is
    the averaged-headway view (as in UrbanAccess and peartree: the wait is paid once per
    boarding, per pattern; the schedule-exact answer is routing's). Rides carry
    ``route_id``, ``name`` (the route's short name) and ``capacity``: vehicles per hour
    (3600 / headway) x passengers per vehicle; transfers, boardings and alightings have
    unlimited capacity and walking none, so a minimum cut counts transit capacity only.

    Parameters
    ----------
    network
        An intermodal network with a timetable (:func:`connectivity.network.intermodal.build_network`).
    vehicle_capacity
        Passengers per vehicle by GTFS ``route_type``, over
        :data:`DEFAULT_VEHICLE_CAPACITY` (extended types map to their base type).

    Returns
    -------
    view
        A :class:`StreetNetwork` (mode ``walk``) with extra node columns ``kind``,
        ``stop`` (stop index or -1), ``stop_id``, ``name`` and edge columns ``kind``,
        ``route_id``, ``capacity``; use it with :func:`find_bottlenecks` and
        ``kind="route"`` or ``kind="stop"`` (the core and the population are put on
        street nodes only).
    """
    from connectivity.network.links import FP_MIN_TIME, FP_WALK
    from connectivity.streets.graph import StreetNetwork
    from connectivity.transit.timetable import DAY

    tt = network.timetable
    if tt is None or tt.n_patterns == 0:
        raise ParameterError(
            "the intermodal network has no transit: build it with a timetable "
            "(build_network(walk, timetable))"
        )
    table = {**DEFAULT_VEHICLE_CAPACITY, **dict(vehicle_capacity or {})}
    if any(not (c > 0) for c in table.values()):
        raise ParameterError(f"vehicle capacities must be positive passengers: got {table}")
    walk = network.streets
    speed = network.walk_speed / 3.6
    n, q = walk.n_nodes, network.n_stops
    stops = tt.stops
    sx, sy = walk.project(stops["lon"].to_numpy(float), stops["lat"].to_numpy(float))
    stop_names = stops["stop_name"].astype(str).to_numpy()
    nodes = pd.concat(
        [
            walk.nodes[["osmid", "x", "y", "lon", "lat"]].assign(
                stop=-1, stop_id=None, name=None, kind="street"
            ),
            pd.DataFrame(
                {
                    "osmid": np.full(q, -1, np.int64),
                    "x": sx,
                    "y": sy,
                    "lon": stops["lon"].to_numpy(float),
                    "lat": stops["lat"].to_numpy(float),
                    "stop": np.arange(q),
                    "stop_id": stops["stop_id"].astype(str).to_numpy(),
                    "name": stop_names,
                    "kind": "stop",
                }
            ),
        ],
        ignore_index=True,
    )

    def frame(u: Any, v: Any, length: Any, time: Any, kind: str, **cols: Any) -> pd.DataFrame:
        u = np.asarray(u, np.int64)
        out = pd.DataFrame(
            {
                "u": u,
                "v": np.asarray(v, np.int64),
                "length": np.asarray(length, float),
                "time": np.asarray(time, float),
                "osmid": cols.pop("osmid", np.full(len(u), -1, np.int64)),
                "highway": cols.pop("highway", kind),
                "name": cols.pop("name", None),
                "kind": kind,
                "route_id": cols.pop("route_id", None),
                "mode": cols.pop("mode", None),
                "capacity": cols.pop("capacity", 0.0),
            }
        )
        return out

    we = walk.edges
    parts = [
        frame(
            we["u"],
            we["v"],
            we["length"],
            we["length"].to_numpy(float) / speed,
            "walk",
            osmid=we["osmid"].to_numpy(),
            highway=we["highway"].to_numpy(),
            name=we["name"].to_numpy(),
        )
    ]
    for dist, forward in ((network.link_dist_to, True), (network.link_dist_from, False)):
        ok = np.isfinite(dist)
        st, nd = n + network.link_stop[ok], network.link_node[ok]
        parts.append(
            frame(
                st if forward else nd,
                nd if forward else st,
                dist[ok],
                dist[ok] / speed,
                "link",
                name=stop_names[network.link_stop[ok]],
            )
        )
    origin = np.repeat(np.arange(q), np.diff(network.fp_ptr))
    other = origin != network.fp_to
    fk = network.fp_kind[other]
    fd = network.fp_dist[other].astype(float)
    ft = np.where(
        fk == FP_WALK, fd / speed, np.where(fk == FP_MIN_TIME, network.fp_time[other], 0.0)
    )
    parts.append(
        frame(
            n + origin[other],
            n + network.fp_to[other],
            np.where(fk == FP_WALK, fd, 0.0),
            ft,
            "transfer",
            name=stop_names[origin[other]],
        )
    )
    routes = tt.routes.set_index(tt.routes["route_id"].astype(str))
    short = (
        routes["route_short_name"].astype(str)
        if "route_short_name" in routes.columns
        else pd.Series(routes.index, index=routes.index)
    )
    route_ids = routes.index.to_numpy()
    # One node per stop of each pattern: ride edges chain them, boarding edges (stop ->
    # pattern stop) cost the wait, half the pattern's mean headway, once per boarding;
    # alighting edges (pattern stop -> stop) cost nothing.
    ps_stop: list[int] = []
    ps_route: list[str] = []
    ride_u: list[int] = []
    ride_t: list[float] = []
    ride_cap: list[float] = []
    board_w: list[float] = []
    first_ps = n + q
    for group in _view_patterns(tt):
        p = group[0]
        times = [tt.pattern_times(g) for g in group]
        arr = np.concatenate([a for a, _ in times])
        dep = np.concatenate([d for _, d in times])
        seq = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
        n_trips = arr.shape[0]
        starts = np.sort(dep[:, 0].astype(float))
        headway = (starts[-1] - starts[0]) / (n_trips - 1) if n_trips > 1 else float(DAY)
        if headway <= 0:
            headway = float(DAY) / n_trips
        route = str(route_ids[tt.pattern_route[p]])
        per_vehicle = _vehicle_capacity(routes["route_type"].get(route), table)
        base = first_ps + len(ps_stop)
        ps_stop += [int(x) for x in seq]
        ps_route += [route] * len(seq)
        board_w += [headway / 2] * len(seq)
        ride = np.median(arr[:, 1:] - dep[:, :-1], axis=0) if len(seq) > 1 else []
        for i, t in enumerate(ride):
            ride_u.append(base + i)
            ride_t.append(float(t))
            ride_cap.append(3600.0 / headway * per_vehicle)
    ps = np.asarray(ps_stop, np.int64)
    ps_nodes = first_ps + np.arange(len(ps))
    ps_route_a = np.asarray(ps_route, object).astype(str)
    nodes = pd.concat(
        [
            nodes,
            pd.DataFrame(
                {
                    "osmid": np.full(len(ps), -1, np.int64),
                    "x": sx[ps],
                    "y": sy[ps],
                    "lon": stops["lon"].to_numpy(float)[ps],
                    "lat": stops["lat"].to_numpy(float)[ps],
                    "stop": -1,
                    "stop_id": None,
                    "name": short.reindex(ps_route_a).to_numpy(),
                    "kind": "pattern",
                }
            ),
        ],
        ignore_index=True,
    )
    ru = np.asarray(ride_u, np.int64)
    route_of = np.asarray(ps_route_a)[ru - first_ps] if len(ru) else np.array([], str)
    parts.append(
        frame(
            ru,
            ru + 1,
            np.hypot(
                sx[ps[ru - first_ps]] - sx[ps[ru + 1 - first_ps]],
                sy[ps[ru - first_ps]] - sy[ps[ru + 1 - first_ps]],
            ),
            ride_t,
            "transit",
            name=short.reindex(route_of).to_numpy(),
            route_id=route_of,
            mode=route_modes(routes["route_type"].reindex(route_of).fillna(-1).to_numpy()),
            capacity=np.asarray(ride_cap, float),
        )
    )
    for u_, v_, t_, kind in (
        (n + ps, ps_nodes, np.asarray(board_w, float), "board"),
        (ps_nodes, n + ps, np.zeros(len(ps)), "alight"),
    ):
        parts.append(
            frame(u_, v_, np.zeros(len(ps)), t_, kind, name=stop_names[ps], route_id=ps_route_a)
        )
    edges = pd.concat(parts, ignore_index=True)
    unlimited = edges["kind"].isin(["transfer", "board", "alight"]).to_numpy()
    edges.loc[unlimited, "capacity"] = float(edges["capacity"].sum()) + 1.0
    return StreetNetwork(
        mode=Mode.WALK,
        crs=walk.crs,
        nodes=nodes,
        edges=edges,
        meta={"view": "transit", "walk_speed": network.walk_speed},
    )


def usage_ranking(
    network: IntermodalNetwork,
    population: np.ndarray,
    core: Any,
    *,
    departure: Any,
    window: float | None = 600,
    cell: float = 1000.0,
    **routing: Any,
) -> Any:
    """The lines that carry the people to the core: :func:`connectivity.route_usage`
    of the schedule's optimal journeys, weighted by population, beside the static
    ranking of :func:`transit_view`.

    The walk network's population is gathered into square cells of ``cell`` metres;
    each cell's people leave from its street node nearest to their weighted centre, over
    every minute of the window, for the core's point.

    Parameters
    ----------
    network
        The intermodal network (with a timetable).
    population
        Weights per node of ``network.streets``.
    core
        The core (anything :func:`connectivity.accessibility.zones.read_core`
        accepts; its point is the destination).
    departure, window
        The first departure and the window in seconds (None or 0: the one departure).
    cell
        Metres of the origins' grid.
    **routing
        Passed to :func:`connectivity.route_usage` (``max_time``, ``boarding`` ...).

    Returns
    -------
    RouteUsage
        Its ``routes`` ranked by riders (``boardings``: people per departure minute;
        ``share`` of those who ride), ``stops`` by boardings (``transfers`` among them).

    Raises
    ------
    ParameterError
        Population of another length than the streets' nodes, or none at all.
    """
    from connectivity.accessibility.zones import read_core
    from connectivity.routing.usage import route_usage

    streets = network.streets
    weights = np.asarray(population, float)
    if weights.shape != (streets.n_nodes,):
        raise ParameterError(
            f"population has {weights.shape[0]} values for {streets.n_nodes} street nodes"
        )
    if not (weights > 0).any():
        raise ParameterError("no population on the streets: nobody to route to the core")
    x = streets.nodes["x"].to_numpy(float)
    y = streets.nodes["y"].to_numpy(float)
    has = weights > 0
    key = pd.DataFrame(
        {
            "i": np.floor(x[has] / cell).astype(np.int64),
            "j": np.floor(y[has] / cell).astype(np.int64),
            "w": weights[has],
            "wx": weights[has] * x[has],
            "wy": weights[has] * y[has],
        }
    )
    cells = key.groupby(["i", "j"], sort=True)[["w", "wx", "wy"]].sum()
    cx_, cy_ = cells["wx"] / cells["w"], cells["wy"] / cells["w"]
    from scipy.spatial import cKDTree

    nodes = np.flatnonzero(has)
    _, nearest = cKDTree(np.column_stack([x[nodes], y[nodes]])).query(
        np.column_stack([cx_.to_numpy(), cy_.to_numpy()])
    )
    at = nodes[nearest]
    origins = pd.DataFrame(
        {
            "lon": streets.nodes["lon"].to_numpy(float)[at],
            "lat": streets.nodes["lat"].to_numpy(float)[at],
            "people": cells["w"].to_numpy(),
        }
    )
    point = read_core(core)
    destination = pd.DataFrame({"lon": [point.lon], "lat": [point.lat]})
    return route_usage(
        network,
        origins,
        destination,
        departure=departure,
        window=window,
        weights="people",
        **routing,
    )
