"""Journeys from a point to a point, leg by leg: :func:`journeys`.

For every departure minute of the window, the RAPTOR labels of that minute with their
journey pointers (:func:`~connectivity.routing.journeys.run_with_parents`) and the
egress walks to the destination give the earliest arrival by the rules of
:func:`~connectivity.travel_time_matrix` (the same access and egress walks, the same
direct walk, the same rounding); the journey behind it is rebuilt from the pointers and
given its egress walk. Minutes that take the same vehicles the same way are one journey,
counted. Walks are drawn along the street path, rides along their stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from connectivity._errors import NoJourneyError, ParameterError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing._raptor import UNREACHED, egress_argmin
from connectivity.routing.engine import (
    _DIST_TOLERANCE,
    _ROUND_TOLERANCE,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    _check_walk_radius,
    _engine,
    _make_query,
    _restrict_trees,
    _snap_walk,
    _walk_from,
    drawn_engines,
    footpath_costs,
)
from connectivity.routing.headways import (
    DEFAULT_BOARDING,
    DEFAULT_DRAWS,
    Boarding,
    check_boarding,
    check_journey_boarding,
)
from connectivity.routing.journeys import Leg, breakdown, journey_to_stop, run_with_parents
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

__all__ = [
    "BREAKDOWN_COLUMNS",
    "LEG_COLUMNS",
    "EgressEntries",
    "egress_entries",
    "journeys",
    "origin_breakdown",
]

#: The columns of :func:`journeys`, in order (and ``geometry``).
LEG_COLUMNS = (
    "journey",
    "departures",
    "first_departure",
    "last_departure",
    "travel_time_s",
    "leg",
    "kind",
    "start",
    "end",
    "start_s",
    "end_s",
    "duration_s",
    "from_name",
    "to_name",
    "from_stop_id",
    "to_stop_id",
    "route_id",
    "route",
    "mode",
    "trip_id",
    "path",
)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def journeys(
    network: IntermodalNetwork,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    departure: Any,
    window: float | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    max_time: float | None = None,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
    origin_name: str = "origin",
    destination_name: str = "destination",
    boarding: str = DEFAULT_BOARDING,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    shapes: Any = "auto",
) -> Any:
    """The journeys by walk+transit from ``origin`` to ``destination``, leg by leg.

    Parameters
    ----------
    network
        From :func:`~connectivity.build_network`, with a timetable.
    origin, destination
        ``(lon, lat)`` in degrees.
    departure
        As :func:`~connectivity.travel_times`: a datetime on the timetable's date, an
        ISO string, a time, or seconds after midnight.
    window
        Seconds of departure window: every minute from ``departure`` on; ``None`` or 0
        for the one departure.
    max_transfers, max_walk_time, transfer_slack, walk_speed, max_time, snap_distance
        As :func:`~connectivity.travel_time_matrix`.
    origin_name, destination_name
        How the two points are named in the legs.
    boarding, draws, seed
        As :func:`~connectivity.travel_times` (``"random"`` or ``"scheduled"``: a bound
        has no trips to name). With random boarding on headway-based services every
        draw's minutes are routed on that draw's phases, and a journey is a sequence of
        routes and stops: ``departures`` counts the (minute, draw) samples that take it,
        its times are those of its first sample; ``attrs["draws"]`` and
        ``attrs["samples"]`` say how many there were.
    shapes
        Where rides are drawn: ``"auto"`` (default) along the ``shapes.txt`` of the
        timetable's feed zips where a trip has a shape, cut between its board and alight
        stops, else through its pattern's stops; None: always through the stops; or a
        GeoDataFrame of shapes in EPSG:4326 (``shape_id``, optional ``feed_id``), e.g.
        :func:`connectivity.route_lines` of a feed.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per leg (:data:`LEG_COLUMNS`, EPSG:4326 lines): ``journey`` numbers the
        distinct journeys by their first departure; ``departures`` counts the minutes of
        the window that take it, ``first_departure`` / ``last_departure`` (``HH:MM:SS``)
        the first and last of them; ``travel_time_s`` is the travel time at the first
        (equal to :func:`~connectivity.travel_time_matrix` for that minute). ``kind``
        is ``walk`` (the whole way on foot), ``access``, ``wait``, ``ride``,
        ``transfer`` (a walk between stops, or a change at the same stop) or
        ``egress``; ``start`` / ``end`` are clock times (``HH:MM:SS``) of that first
        departure, ``start_s`` / ``end_s`` the same in seconds after midnight, and the
        legs' ``duration_s`` sum to ``travel_time_s``. Rides name the stops, the route
        (feed-namespaced ``route_id``, the short name as ``route``), the mode and the
        trip (``trip_id`` as in trips.txt). ``path`` says what a leg's line follows:
        ``"shape"`` (the trip's shape), ``"stops"`` (its stops in order), ``"streets"``
        (a walk) or ``"point"`` (a wait).

    Raises
    ------
    NoJourneyError
        No departure of the window reaches the destination within ``max_time``.
    OutsideNetworkError
        A point too far from the walk network.
    ParameterError
        A network without a timetable; a negative window; other bad parameters.
    """
    q = _make_query(
        network,
        departure,
        window,
        max_transfers,
        max_walk_time,
        transfer_slack,
        walk_speed,
        max_time,
    )
    if network.timetable is None:
        raise ParameterError("the network has no timetable: journeys need one (give --gtfs)")
    _check_walk_radius(network, q)
    rule = check_boarding(boarding, draws, seed)
    check_journey_boarding(rule, network.timetable, "journeys")
    tt = network.timetable
    n = network.n_nodes
    mps = q.metres_per_second
    o_lon, o_lat = (float(v) for v in origin)
    d_lon, d_lat = (float(v) for v in destination)
    o_nodes, o_cost, o_street = _snap_walk(
        network, o_lon, o_lat, towards=False, max_distance=snap_distance
    )
    d_nodes, d_cost, _ = _snap_walk(network, d_lon, d_lat, towards=True, max_distance=snap_distance)
    eng = _engine(network, False)
    walk_m = _walk_from(
        network, network.graph, o_nodes[0], o_cost[0], q.direct_walk_metres, o_street[0]
    )
    ends = d_nodes[0]
    end_cost = d_cost[0] / mps
    direct_end = walk_m[ends] / mps + end_cost
    w_end = int(np.argmin(direct_end))
    direct = float(direct_end[w_end])
    # Stop trees restricted to the destination's two end nodes: the egress walks.
    uniq = np.unique(ends)
    sub_ptr, sub_node, sub_dist = _restrict_trees(
        network.tree_ptr, network.tree_node, network.tree_dist, uniq, n
    )
    stop_walk = walk_m[n:]
    reach = np.flatnonzero(stop_walk <= q.max_walk_metres + _DIST_TOLERANCE)
    access_t = np.ceil(stop_walk[reach] / mps - _ROUND_TOLERANCE).astype(np.int64)
    fp_walk, fp_board = footpath_costs(network, q.walk_speed, q.transfer_slack)
    fp = (eng.fp_ptr, eng.fp_to, fp_walk[eng.fp_src_order], fp_board[eng.fp_src_order])
    limit = q.max_walk_metres + _DIST_TOLERANCE

    found: dict[tuple, dict[str, Any]] = {}
    engines = drawn_engines(network, False, rule)
    samples = [(e.timetable, int(x)) for e in engines for x in q.departures]
    for timetable, d in samples:
        labels = run_with_parents(timetable, fp, reach, access_t, d, q.max_transfers + 1)
        vehicle = labels.vehicle
        # As the matrix: per end node the earliest egress (the first stop on a tie),
        # then the better end (the first on a tie), then transit if it beats walking.
        end_at = [np.inf, np.inf]
        end_via: list[tuple[int, int, float] | None] = [None, None]
        for stop in np.flatnonzero(vehicle < UNREACHED):
            for e in range(int(sub_ptr[stop]), int(sub_ptr[stop + 1])):
                metres = float(sub_dist[e])
                if metres > limit:
                    break
                node = int(uniq[sub_node[e]])
                at = float(vehicle[stop]) + metres * (1.0 / mps) - d
                for j in (0, 1):
                    if int(ends[j]) == node and at < end_at[j]:
                        end_at[j], end_via[j] = at, (int(stop), j, metres)
        j = 0 if end_at[0] + end_cost[0] <= end_at[1] + end_cost[1] else 1
        best, via = direct, None
        if end_at[j] + end_cost[j] < direct:
            best, via = end_at[j] + end_cost[j], end_via[j]
        if not (best <= q.max_time) or not np.isfinite(best):
            continue
        if via is None:
            legs: list[Leg] = []
            key: tuple = ("walk", w_end)
        else:
            s, j, metres = via
            legs = journey_to_stop(labels, s)
            # one draw: the vehicles; many: the routes and stops (trips move with phases)
            key = (
                j,
                *(
                    (x.kind, x.pattern, x.trip if len(engines) == 1 else -1, x.from_stop, x.to_stop)
                    for x in legs
                ),
            )
        if key in found:
            found[key]["departures"].append(d)
            continue
        found[key] = {"departures": [d], "legs": legs, "via": via, "time": best, "dep": d}
    if not found:
        span = f"from {_clock(q.departures[0])}" + (
            f" to {_clock(q.departures[-1])}" if len(q.departures) > 1 else ""
        )
        limit_text = "" if not np.isfinite(q.max_time) else f" within {q.max_time / 60:g} min"
        raise NoJourneyError(
            f"no journey from {origin_name} (lat {o_lat:.6f}, lon {o_lon:.6f}) to "
            f"{destination_name} (lat {d_lat:.6f}, lon {d_lon:.6f}) departing {span}"
            f"{limit_text}: widen the window, raise max_time or max_walk_time"
        )
    drawer = _Drawer(network, o_nodes[0], o_cost[0], (o_lon, o_lat), (d_lon, d_lat), limit)
    drawer.shapes = _shape_lines(tt, shapes, network.streets)
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for number, item in enumerate(sorted(found.values(), key=lambda i: i["dep"]), start=1):
        d = item["dep"]
        head = {
            "journey": number,
            "departures": len(item["departures"]),
            "first_departure": _clock(min(item["departures"])),
            "last_departure": _clock(max(item["departures"])),
            "travel_time_s": float(item["time"]),
        }
        pieces = _pieces(tt, item, d, ends, end_cost, mps, w_end, origin_name, destination_name)
        for i, (piece, geom, path) in enumerate(drawer.draw(pieces), start=1):
            rows.append({**head, "leg": i, **piece, "path": path})
            geoms.append(geom)
    import geopandas as gpd
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(LEG_COLUMNS))
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
    out.attrs.update(draws=len(engines), samples=len(samples))
    return out


def _pieces(
    tt: Any,
    item: dict[str, Any],
    d: int,
    ends: np.ndarray,
    end_cost: np.ndarray,
    mps: float,
    w_end: int,
    origin_name: str,
    destination_name: str,
) -> list[dict[str, Any]]:
    """The legs of one journey as rows (with what the drawer needs under ``_draw``)."""
    names = tt.stops["stop_name"].astype(str).to_numpy()
    ids = tt.stops["stop_id"].astype(str).to_numpy()

    def row(kind: str, start: float, end: float, a: int, b: int, **more: Any) -> dict:
        return {
            "kind": kind,
            "start": _clock(start),
            "end": _clock(end),
            "start_s": float(start),
            "end_s": float(end),
            "duration_s": float(end - start),
            "from_name": origin_name if a < 0 else names[a],
            "to_name": destination_name if b < 0 else names[b],
            "from_stop_id": None if a < 0 else ids[a],
            "to_stop_id": None if b < 0 else ids[b],
            "route_id": None,
            "route": None,
            "mode": "walk" if kind in ("walk", "access", "transfer", "egress") else None,
            "trip_id": None,
            **more,
        }

    if item["via"] is None:
        t = float(item["time"])
        return [row("walk", d, d + t, -1, -1, _draw=("walk", int(ends[w_end])))]
    s, j, metres = item["via"]
    out = []
    for leg in item["legs"]:
        a, b = int(leg.from_stop), int(leg.to_stop)
        if leg.kind == "access":
            out.append(row("access", leg.start, leg.end, -1, b, _draw=("access", b)))
        elif leg.kind == "wait":
            out.append(row("wait", leg.start, leg.end, a, a, mode=None, _draw=("stop", a)))
        elif leg.kind == "transfer":
            out.append(row("transfer", leg.start, leg.end, a, b, _draw=("between", a, b)))
        else:
            k = int(tt.pattern_trip_ptr[leg.pattern] + leg.trip)
            trip = tt.trips.iloc[int(tt.pattern_trips[k])]
            route = tt.routes.iloc[int(trip["route"])]
            short = route.get("route_short_name")
            if short is None or short != short:  # absent or NaN: the long name
                short = route.get("route_long_name")
            out.append(
                row(
                    "ride",
                    leg.start,
                    leg.end,
                    a,
                    b,
                    route_id=str(route["route_id"]),
                    route=None if short is None or short != short else str(short),
                    mode=str(route.get("mode", "transit")),
                    trip_id=str(trip.get("gtfs_trip_id", trip["trip_id"])),
                    _draw=("ride", int(leg.pattern), a, b, _shape_key(trip)),
                )
            )
    arrive = float(item["legs"][-1].end)
    # The egress walk (metres * (1 / mps) + the end node's cost) ends at the travel time.
    out.append(
        row("egress", arrive, d + float(item["time"]), s, -1, _draw=("egress", s, int(ends[j])))
    )
    # The legs sum to the travel time: the last one absorbs the float rounding of the sum.
    total = sum(p["duration_s"] for p in out)
    out[-1]["duration_s"] += float(item["time"]) - total
    return out


def _shape_key(trip: Any) -> tuple[Any, ...]:
    """The keys a trip's shape may be found under: (feed id, the feed's own shape id),
    then the shape id alone, without and with the feed's prefix."""
    sid = trip.get("shape_id")
    if sid is None or sid != sid or not str(sid):
        return ()
    sid = str(sid)
    fid = trip.get("feed_id")
    fid = None if fid is None or fid != fid else str(fid)
    raw = sid[len(fid) + 1 :] if fid and sid.startswith(f"{fid}:") else sid
    return ((fid, raw), (None, raw), (None, sid))


def _to_lonlat(streets: Any) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(streets.crs, "EPSG:4326", always_xy=True)


def _shape_lines(tt: Any, shapes: Any, streets: Any) -> dict[tuple[Any, str], Any]:
    """Shapes by the keys of :func:`_shape_key`, as LineStrings in the walk network's
    CRS; ``"auto"``: those of the timetable's feed zips with a ``shapes.txt`` (read once
    per timetable)."""
    if shapes is None:
        return {}
    if isinstance(shapes, str):
        if shapes != "auto":
            raise ParameterError(f"shapes={shapes!r}: give 'auto', None or a GeoDataFrame")
        frame = tt.__dict__.get("_ride_shapes", False)
        if frame is False:
            frame = _feed_shapes(tt)
            tt.__dict__["_ride_shapes"] = frame
    else:
        frame = shapes
        if "shape_id" not in getattr(frame, "columns", ()) or not hasattr(frame, "geometry"):
            raise ParameterError("shapes must be a GeoDataFrame with a shape_id column")
    if frame is None or len(frame) == 0:
        return {}
    projected = (frame if frame.crs is not None else frame.set_crs("EPSG:4326")).to_crs(streets.crs)
    fids = projected["feed_id"] if "feed_id" in projected.columns else [None] * len(projected)
    out: dict[tuple[Any, str], Any] = {}
    for sid, fid, geom in zip(projected["shape_id"], fids, projected.geometry, strict=True):
        out[(None if fid is None or fid != fid else str(fid), str(sid))] = geom
        out.setdefault((None, str(sid)), geom)
    return out


def _feed_shapes(tt: Any) -> Any:
    """The shapes of the timetable's feed zips (``shape_id``, ``feed_id``), EPSG:4326;
    None where no feed has any."""
    import geopandas as gpd
    import pandas as pd

    from connectivity._errors import InputFileError
    from connectivity.transit.osm_feed import route_lines

    frames = []
    feeds = tt.meta.get("feeds", [])
    ids = tt.meta.get("feed_ids", [None] * len(feeds))
    for path, fid in zip(feeds, ids, strict=False):
        try:
            lines = route_lines(path)
        except (InputFileError, OSError):
            continue  # no shapes.txt, a feed folder, or gone: rides follow their stops
        frames.append(lines.assign(feed_id=fid)[["shape_id", "feed_id", "geometry"]])
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


class _Drawer:
    """Lines of the legs: walks along the street path (Dijkstra predecessors on the walk
    graph with the stops), rides through their pattern's stops."""

    def __init__(self, network, o_nodes, o_cost, origin, destination, limit) -> None:
        self.network = network
        self.n = network.n_nodes
        self.origin = origin
        self.destination = destination
        self.o_nodes = o_nodes
        self.o_cost = o_cost
        self.limit = limit
        nodes = network.streets.nodes
        stops = network.timetable.stops
        self.lon = np.concatenate([nodes["lon"].to_numpy(float), stops["lon"].to_numpy(float)])
        self.lat = np.concatenate([nodes["lat"].to_numpy(float), stops["lat"].to_numpy(float)])
        self.shapes: dict[tuple[Any, str], Any] = {}  # see _shape_lines
        self._to_lonlat: Any = None  # metres -> degrees, made at the first shaped ride

    def _path(self, source: int, target: int, limit: float) -> tuple[float, list[int]]:
        """Metres and nodes of the shortest walk ``source -> target`` (a straight line
        when the street path is longer than ``limit``)."""
        from scipy.sparse.csgraph import dijkstra

        dist, pred = dijkstra(
            self.network.graph, indices=source, limit=limit, return_predecessors=True
        )
        if not np.isfinite(dist[target]):
            return np.inf, [source, target]
        path, cur = [target], target
        while cur != source:
            cur = int(pred[cur])
            path.append(cur)
        return float(dist[target]), path[::-1]

    def _from_origin(self, target: int) -> list[tuple[float, float]]:
        """The walk from the origin point through the end node that makes it shortest."""
        best, path = np.inf, None
        for node, cost in zip(self.o_nodes, self.o_cost, strict=True):
            if not np.isfinite(cost):
                continue
            metres, p = self._path(int(node), target, np.inf)
            if cost + metres < best:
                best, path = cost + metres, p
        return [self.origin] + ([] if path is None else self._xy(path))

    def _xy(self, path: list[int]) -> list[tuple[float, float]]:
        return [(float(self.lon[k]), float(self.lat[k])) for k in path]

    def draw(self, pieces: list[dict[str, Any]]):
        from shapely.geometry import LineString, Point

        tt = self.network.timetable
        n = self.n
        for piece in pieces:
            how = piece.pop("_draw")
            path = "streets"
            if how[0] == "walk":
                coords = self._from_origin(how[1]) + [self.destination]
            elif how[0] == "access":
                coords = self._from_origin(n + how[1])
            elif how[0] == "stop":
                yield piece, Point(self.lon[n + how[1]], self.lat[n + how[1]]), "point"
                continue
            elif how[0] == "between":
                a, b = how[1], how[2]
                if a == b:
                    yield piece, Point(self.lon[n + a], self.lat[n + a]), "point"
                    continue
                coords = self._xy(self._path(n + a, n + b, self.limit * 4)[1])
            elif how[0] == "egress":
                coords = self._xy(self._path(n + how[1], how[2], self.limit * 4)[1])
                coords.append(self.destination)
            else:
                _, p, a, b, key = how
                along = self._along_shape(key, a, b)
                path = "shape"
                if along is None:
                    stops = tt.pattern_stops[tt.pattern_stop_ptr[p] : tt.pattern_stop_ptr[p + 1]]
                    i = int(np.flatnonzero(stops == a)[0])
                    k = i + int(np.flatnonzero(stops[i:] == b)[0])
                    along = self._xy([n + int(x) for x in stops[i : k + 1]])
                    path = "stops"
                coords = along
            if len(coords) < 2:
                coords = coords * 2
            yield piece, LineString(coords), path

    def _along_shape(self, key: Any, a: int, b: int) -> list[tuple[float, float]] | None:
        """The ride from stop ``a`` to stop ``b`` along its trip's shape (in metres, the
        walk network's CRS): from the stop's projection onto the shape to the next one's,
        the stops at both ends; None without a shape, or where the shape does not run
        from ``a`` towards ``b`` (a loop passing ``b`` first, another direction's)."""
        import shapely
        import shapely.ops

        line = None
        for k in key or ():
            line = self.shapes.get(k)
            if line is not None:
                break
        if line is None:
            return None
        streets = self.network.streets
        n = self.n
        ax, ay = streets._to_crs.transform(self.lon[n + a], self.lat[n + a])
        bx, by = streets._to_crs.transform(self.lon[n + b], self.lat[n + b])
        da = line.project(shapely.Point(ax, ay))
        db = line.project(shapely.Point(bx, by))
        if not db > da:
            return None
        part = shapely.ops.substring(line, da, db)
        xy = np.asarray([(ax, ay), *part.coords, (bx, by)], float)
        if self._to_lonlat is None:
            self._to_lonlat = _to_lonlat(streets)
        lon, lat = self._to_lonlat.transform(xy[:, 0], xy[:, 1])
        return [(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]


#: The breakdown columns :func:`~connectivity.travel_time_matrix` adds with
#: ``breakdown=True``.
BREAKDOWN_COLUMNS = ("access_s", "wait_s", "ride_s", "transfer_s", "egress_s", "vehicles", "routes")


@dataclass(frozen=True)
class EgressEntries:
    """The stop-tree entries that end at a destination's end node within the walk limit:
    for each, the stop, the end node (its position among the distinct end nodes) and the
    walk in seconds (as the egress kernel computes it)."""

    stop: np.ndarray
    node: np.ndarray
    walk_s: np.ndarray
    n_nodes: int
    #: Per pattern: the name of its route (short, else long, else the id).
    route_names: np.ndarray


def egress_entries(
    tt: Any, q: Any, sub_ptr: np.ndarray, sub_node: np.ndarray, sub_dist: np.ndarray
) -> EgressEntries:
    """:class:`EgressEntries` of stop trees restricted to the destinations' end nodes,
    for timetable ``tt``."""
    limit = q.max_walk_metres + _DIST_TOLERANCE
    stop_of = np.repeat(np.arange(len(sub_ptr) - 1), np.diff(sub_ptr))
    ok = sub_dist <= limit
    walk_s = sub_dist[ok].astype(np.float64) * (1.0 / q.metres_per_second)
    node = sub_node[ok].astype(np.int64)
    n_nodes = int(node.max(initial=-1)) + 1
    return EgressEntries(stop_of[ok], node, walk_s, n_nodes, _route_names(tt))


def origin_breakdown(
    network: IntermodalNetwork,
    q: Any,
    entries: EgressEntries,
    uniq: np.ndarray,
    where: np.ndarray,
    cost: np.ndarray,
    walk_m: np.ndarray,
    times: np.ndarray,
    value: np.ndarray,
    boarding: Boarding | None = None,
) -> dict[str, np.ndarray]:
    """The breakdown of the journey behind each of one origin's travel times.

    ``times`` are the origin's ``(departure minutes, destinations)`` seconds (with
    random ``boarding``, ``(draws x minutes, destinations)``, draw-major) as
    :func:`~connectivity.travel_time_matrix` computes them (``inf`` beyond
    ``max_time``), ``value`` the reported statistic of each column; ``walk_m`` the
    origin's walk (metres to every node and stop), ``cost`` the destinations' seconds
    from their two end nodes (positions ``where`` in ``uniq``). The journey of a
    destination is that of the first minute whose time is ``value`` (as r5r reports
    it): RAPTOR with journey pointers runs once for each minute some destination
    needs. A journey on foot all the way counts as ``access_s``.

    Returns
    -------
    columns
        :data:`BREAKDOWN_COLUMNS`, one value per destination (NaN / empty where
        unreached).
    """
    n = network.n_nodes
    mps = q.metres_per_second
    engines = drawn_engines(network, False, boarding if boarding is not None else Boarding())
    eng = engines[0]
    fp_walk, fp_board = footpath_costs(network, q.walk_speed, q.transfer_slack)
    fp = (eng.fp_ptr, eng.fp_to, fp_walk[eng.fp_src_order], fp_board[eng.fp_src_order])
    n_d = times.shape[1]
    out = {c: np.full(n_d, np.nan) for c in BREAKDOWN_COLUMNS[:-1]}
    routes = np.full(n_d, "", dtype=object)
    names = entries.route_names
    deps = [int(x) for x in q.departures]
    stop_walk = walk_m[n:]
    reach = np.flatnonzero(stop_walk <= q.max_walk_metres + _DIST_TOLERANCE)
    access_t = np.ceil(stop_walk[reach] / mps - _ROUND_TOLERANCE).astype(np.int64)
    direct = walk_m[uniq] / mps
    direct_dest = np.minimum(direct[where[:, 0]] + cost[:, 0], direct[where[:, 1]] + cost[:, 1])
    done = np.isfinite(value)
    minute = np.full(n_d, -1, np.int64)
    minute[done] = np.argmax(times[:, done] == value[done], axis=0)
    memo: dict[tuple[int, int], tuple[dict[str, float], str]] = {}
    for k in np.unique(minute[done]):
        cols = np.flatnonzero(minute == k)
        # rows are draw-major: draw k // minutes, its minute k % minutes
        d = deps[int(k) % len(deps)]
        timetable = engines[int(k) // len(deps)].timetable
        lab = run_with_parents(timetable, fp, reach, access_t, d, q.max_transfers + 1)
        node_at, node_stop = egress_argmin(
            lab.vehicle, entries.stop, entries.node, entries.walk_s, float(d), len(uniq)
        )
        w = where[cols]
        a0 = node_at[w[:, 0]] + cost[cols, 0]
        a1 = node_at[w[:, 1]] + cost[cols, 1]
        stop = np.where(a0 <= a1, node_stop[w[:, 0]], node_stop[w[:, 1]])
        by_transit = np.minimum(a0, a1) < direct_dest[cols]
        for j, s, ride in zip(cols, stop, by_transit, strict=True):
            total = float(times[k, j])
            if not ride:
                parts = {"access_s": total, "wait_s": 0.0, "ride_s": 0.0, "transfer_s": 0.0}
                parts.update(egress_s=0.0, vehicles=0.0)
                line = ""
            else:
                key = (int(k), int(s))
                if key not in memo:
                    legs = journey_to_stop(lab, int(s))
                    memo[key] = (
                        breakdown(legs, 0.0),
                        " > ".join(names[leg.pattern] for leg in legs if leg.kind == "ride"),
                    )
                base, line = memo[key]
                parts = dict(base)
                parts["egress_s"] = total - (float(lab.vehicle[s]) - d)
            for c, v in parts.items():
                out[c][j] = v
            routes[j] = line
    return {**out, "routes": routes}


def _route_names(tt: Any) -> np.ndarray:
    """Per pattern: the route's short name (else its long name, else its id)."""
    routes = tt.routes
    name = routes["route_id"].astype(str).to_numpy(object)
    for col in ("route_long_name", "route_short_name"):
        if col in routes.columns:
            v = routes[col]
            ok = v.notna().to_numpy() & (v.astype(str).str.len() > 0).to_numpy()
            name = np.where(ok, v.astype(str).to_numpy(object), name)
    return name[np.asarray(tt.pattern_route, np.int64)]
