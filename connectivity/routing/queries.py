"""Schedule-exact routing: travel times from a point, range queries, arrive-by.

:func:`travel_times` walks from the origin over the streets (access), rides the timetable
with RAPTOR (:mod:`connectivity.routing._raptor`), and walks from every stop reached by vehicle
to the street nodes (egress, from the network's stop trees). With a ``window`` it runs
range-RAPTOR over every minute of the window and summarises each destination's
distribution of travel times over the departure minutes (minimum, percentiles), as R5
does. :func:`latest_departures` answers the arrive-by question by running the same
kernel on the time-reversed timetable.

The rules of a journey (the documented model every test checks):

- access, transfer and egress walks are each at most ``max_walk_time``; the direct walk
  (origin to destination on foot, no vehicle) is bounded by ``max_time`` only, so
  walk+transit is never worse than walking alone; walking times are
  ``metres / walk_speed``; access walks to stops are rounded up to whole seconds (in an
  arrive-by search, the walks from the origins to their first stop likewise, so a latest
  departure by transit is a whole second the forward rules accept);
- the first vehicle is boarded at any departure at or after the access arrival;
- changing vehicles at a stop needs ``transfer_slack`` seconds; walking to another stop
  (a footpath of the network, at most its ``transfer_radius``) needs the walk plus the
  slack; ``transfers.txt`` rules override both (see :mod:`connectivity.network.intermodal`);
- at most ``max_transfers + 1`` vehicles;
- a percentile over the window is the nearest-rank percentile of the travel times of
  the departure minutes (unreached minutes count as infinite).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from connectivity._errors import ParameterError
from connectivity._modes import Mode
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing.engine import (
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    TRANSIT,
    _check_walk_radius,
    _make_query,
    _Query,
    _route_point,
    _snap_walk,
    _walk_from,
    parse_departure,
)
from connectivity.routing.headways import DEFAULT_BOARDING, DEFAULT_DRAWS, Boarding, check_boarding
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE, StreetNetwork

__all__ = [
    "TravelTimes",
    "latest_departures",
    "parse_departure",
    "travel_times",
]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class TravelTimes:
    """Travel times from one origin (or to one destination, for arrive-by) to every
    street node of the walk network and every stop, per departure minute.

    Attributes
    ----------
    network
        The network routed on.
    departures
        Departure times of the window, seconds after midnight of the timetable's date
        (for arrive-by: the arrival times); one per row of ``nodes``: with ``draws``
        of random boarding, the window repeated once per draw.
    nodes
        ``(n_departures, n_nodes)`` float seconds, ``inf`` where unreached.
    stops
        ``(n_departures, n_stops)`` float seconds, ``inf`` where unreached.
    percentiles
        The percentiles :meth:`to_frame` reports by default.
    mode
        ``"transit"``, or the street mode.
    arrive_by
        Whether these are the times of :func:`latest_departures`.
    """

    network: IntermodalNetwork
    departures: np.ndarray
    nodes: np.ndarray
    stops: np.ndarray
    percentiles: tuple[float, ...] = (50,)
    mode: str = TRANSIT
    arrive_by: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def node_times(self, stat: str | float = "min") -> np.ndarray:
        """Per street node, ``"min"``, ``"median"`` or a percentile (a number) of the
        travel times over the window (seconds, ``inf`` where unreached)."""
        return summarise(self.nodes, stat)

    def stop_times(self, stat: str | float = "min") -> np.ndarray:
        """Per stop, as :meth:`node_times`."""
        return summarise(self.stops, stat)

    @cached_property
    def _frame_base(self) -> pd.DataFrame:
        sn = self.network.streets.nodes
        parts = [
            pd.DataFrame(
                {
                    "id": sn["osmid"].astype(str).to_numpy(),
                    "kind": "street",
                    "index": np.arange(len(sn)),
                    "lon": sn["lon"].to_numpy(float),
                    "lat": sn["lat"].to_numpy(float),
                }
            )
        ]
        tt = self.network.timetable
        if tt is not None and tt.n_stops:
            parts.append(
                pd.DataFrame(
                    {
                        "id": tt.stops["stop_id"].astype(str).to_numpy(),
                        "kind": "stop",
                        "index": np.arange(tt.n_stops),
                        "lon": tt.stops["lon"].to_numpy(float),
                        "lat": tt.stops["lat"].to_numpy(float),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def to_frame(self, percentiles: tuple[float, ...] | None = None) -> pd.DataFrame:
        """One row per street node and stop: ``id, kind, index, lon, lat,
        travel_time_min`` and ``travel_time_pNN`` per percentile (seconds, NaN where
        unreached); for arrive-by also ``latest_departure_min``, the latest departure
        that arrives by the end of the window, and ``latest_departure_pNN``, the end of
        the window minus ``travel_time_pNN`` (seconds after midnight).

        Parameters
        ----------
        percentiles
            Percentiles to report (default :attr:`percentiles`).

        Returns
        -------
        frame
            The tidy table.
        """
        frame = self._frame_base.copy()
        both = np.concatenate([self.nodes, self.stops], axis=1)
        cols = {"travel_time_min": summarise(both, "min")}
        for p in percentiles if percentiles is not None else self.percentiles:
            cols[f"travel_time_p{p:g}"] = summarise(both, p)
        for name, values in cols.items():
            frame[name] = np.where(np.isfinite(values), values, np.nan)
        if self.arrive_by:
            last = float(self.departures.max())
            for name in list(cols):
                frame[name.replace("travel_time", "latest_departure")] = last - frame[name]
            # The latest departure that arrives by the window's end: the best over the
            # arrival minutes of (arrival - duration), not the end minus the shortest
            # duration (which may belong to an earlier arrival minute).
            arr = self.departures.astype(float)[:, None]
            with np.errstate(invalid="ignore"):
                latest = (arr - both).max(axis=0)
            frame["latest_departure_min"] = np.where(np.isfinite(latest), latest, np.nan)
        return frame

    def __repr__(self) -> str:
        reached = int(np.isfinite(self.nodes.min(axis=0)).sum()) if self.nodes.size else 0
        return (
            f"TravelTimes(mode={self.mode}, departures={len(self.departures)}, "
            f"nodes={self.nodes.shape[1]}, reached_nodes={reached}, "
            f"arrive_by={self.arrive_by})"
        )


def summarise(times: np.ndarray, stat: str | float) -> np.ndarray:
    """The ``"min"``, ``"median"`` or nearest-rank percentile of ``times`` over axis 0."""
    times = np.asarray(times)
    if stat == "min":
        return times.min(axis=0)
    q = 50.0 if stat == "median" else float(stat)
    if not 0 < q <= 100:
        raise ParameterError(f"a percentile must be in (0, 100] (got {stat!r})")
    n = times.shape[0]
    rank = max(int(np.ceil(q / 100 * n)) - 1, 0)
    return np.partition(times, rank, axis=0)[rank]


_NODE_MAPS: weakref.WeakKeyDictionary[IntermodalNetwork, dict[Mode, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _walk_node_map(network: IntermodalNetwork, net: StreetNetwork) -> np.ndarray:
    """For every node of the walk network, a node of ``net`` that stands for it.

    Where ``net`` has the walk network's nodes (same OSM ids in the same order), that
    node itself; otherwise the nearest node of ``net`` in straight line (a drive
    network leaves out footways, so a walk node off the roads takes the time of the
    nearest road node; the few metres between them are not added).
    """
    walk = network.streets
    same = net.n_nodes == walk.n_nodes and np.array_equal(
        net.nodes["osmid"].to_numpy(), walk.nodes["osmid"].to_numpy()
    )
    if same:
        return np.arange(walk.n_nodes)
    maps = _NODE_MAPS.setdefault(network, {})
    if net.mode not in maps:
        from scipy.spatial import cKDTree

        tree = cKDTree(net.nodes[["x", "y"]].to_numpy(float))
        _, nearest = tree.query(walk.nodes[["x", "y"]].to_numpy(float))
        maps[net.mode] = np.asarray(nearest, np.int64)
    return maps[net.mode]


def _times_to_point(
    net: StreetNetwork, lon: float, lat: float, *, limit: float, max_distance: float
) -> np.ndarray:
    """Seconds from every node of ``net`` to a point snapped onto its nearest edge
    (arriving along the edge from ``u``, or from ``v`` where the street is two-way, then
    the walk off the street at ``net.access_speed``): one Dijkstra on the reversed
    graph from a virtual source at the point."""
    snapped = net.snap(lon, lat, max_distance=max_distance)
    ends = np.array([snapped.node_u[0], snapped.node_v[0]], np.int64)
    off = float(snapped.distance[0]) / (net.access_speed / 3.6)  # the walk off the street
    offsets = np.array([snapped.time_from_u[0], snapped.time_from_v[0]], float) + off
    ok = np.isfinite(offsets)
    ends, offsets = ends[ok], offsets[ok]
    n = net.n_nodes
    base = net.csr.T.tocsr()
    indptr = np.concatenate([base.indptr.astype(np.int64), [base.indptr[-1] + len(ends)]])
    indices = np.concatenate([base.indices, ends.astype(base.indices.dtype)])
    data = np.concatenate([base.data, offsets])
    graph = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    times = dijkstra(graph, indices=n, limit=limit)
    return np.asarray(times[:n], float)


def _street_mode(
    network: IntermodalNetwork,
    mode: Mode,
    lon: float,
    lat: float,
    q: _Query,
    *,
    reverse: bool,
    snap_distance: float,
) -> tuple[np.ndarray, np.ndarray]:
    if mode is Mode.WALK:
        nodes, offs, street = _snap_walk(
            network, lon, lat, towards=reverse, max_distance=snap_distance
        )
        graph = network.graph_t if reverse else network.graph
        metres = _walk_from(
            network,
            graph,
            nodes[0],
            offs[0],
            q.max_time * q.metres_per_second,
            street[0],
            towards=reverse,
        )
        secs = metres[: network.n_nodes] / q.metres_per_second
        stop_secs = metres[network.n_nodes :] / q.metres_per_second
    else:
        net = network.modes.get(mode)
        if net is None:
            raise ParameterError(
                f"the network has no {mode} streets: build it with a {mode} network "
                f"(build_network([walk, {mode}], timetable)), or use mode='walk'"
            )
        if reverse:
            own = _times_to_point(net, lon, lat, limit=q.max_time, max_distance=snap_distance)
        else:
            own = np.asarray(
                net.travel_times_from(lon, lat, limit=q.max_time, max_distance=snap_distance),
                float,
            )
        secs = own[_walk_node_map(network, net)]
        stop_secs = np.full(network.n_stops, np.inf)
        node = network.stop_node
        ok = node >= 0
        stop_secs[ok] = secs[node[ok]]
    secs = np.where(secs <= q.max_time, secs, np.inf)
    stop_secs = np.where(stop_secs <= q.max_time, stop_secs, np.inf)
    n_dep = len(q.departures)
    return (
        np.broadcast_to(secs.astype(np.float32), (n_dep, len(secs))).copy(),
        np.broadcast_to(stop_secs.astype(np.float32), (n_dep, len(stop_secs))).copy(),
    )


def travel_times(
    network: IntermodalNetwork,
    origin: tuple[float, float],
    *,
    departure: Any,
    window: float | None = None,
    percentiles: tuple[float, ...] = (50,),
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    max_time: float | None = None,
    mode: str | Mode = TRANSIT,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
    boarding: str = DEFAULT_BOARDING,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> TravelTimes:
    """Travel times from a point to every street node and stop.

    Parameters
    ----------
    network
        From :func:`connectivity.network.intermodal.build_network`.
    origin
        ``(lon, lat)`` in degrees.
    departure
        A datetime on the timetable's date, an ISO string ``YYYY-MM-DDTHH:MM``, a time,
        or seconds after midnight.
    window
        Seconds of departure window: every minute from ``departure`` on (range-RAPTOR);
        ``None`` for one departure.
    percentiles
        Percentiles over the window that :meth:`TravelTimes.to_frame` reports.
    max_transfers
        Most transfers (``max_transfers + 1`` vehicles).
    max_walk_time
        Longest access, transfer or egress walk, seconds (the direct walk is bounded by
        ``max_time`` only).
    transfer_slack
        Seconds needed to change vehicles (added to walking transfers).
    walk_speed
        km/h (default the network's).
    max_time
        Travel times beyond this many seconds count as unreached.
    mode
        ``"transit"`` (walk + transit), or a street mode ``"walk"``, ``"bike"``,
        ``"drive"`` (no timetable; the window only repeats the times).
    snap_distance
        Largest distance in metres from the origin to the street network.
    boarding
        How headway-based services (``frequencies.txt`` with ``exact_times=0``, every
        feed estimated from OSM) are boarded (:mod:`connectivity.routing.headways`):
        ``"random"`` (the default, as R5): ``draws`` Monte Carlo phases of every entry,
        each routed over the whole window; ``"best"``, ``"worst"``, ``"half_headway"``:
        every boarding waits 0, a headway or half of one; ``"scheduled"``: as if the
        vehicles left at the span's start and every headway after. Scheduled trips are
        boarded as given whatever the rule, and a timetable without headway-based
        entries gives the same times under every rule.
    draws
        Draws of ``boarding="random"`` (each a phase for every headway-based entry).
    seed
        The draws' seed: the same seed gives the same times, bit for bit.

    Returns
    -------
    times
        Per departure minute (and draw, draw-major), seconds to every street node and
        stop.

    Raises
    ------
    ParameterError
        A parameter out of range, a departure on another date, an unknown mode.
    OutsideNetworkError
        The origin is farther than ``snap_distance`` from every street.
    CoordinateError
        The origin's coordinates are out of range or swapped.
    """
    return _route(
        network,
        origin,
        departure,
        window,
        percentiles,
        max_transfers,
        max_walk_time,
        transfer_slack,
        walk_speed,
        max_time,
        mode,
        snap_distance,
        check_boarding(boarding, draws, seed),
        reverse=False,
    )


def latest_departures(
    network: IntermodalNetwork,
    destination: tuple[float, float],
    *,
    arrival: Any,
    window: float | None = None,
    percentiles: tuple[float, ...] = (50,),
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    max_time: float | None = None,
    mode: str | Mode = TRANSIT,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
    boarding: str = DEFAULT_BOARDING,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> TravelTimes:
    """Arrive-by: from every street node and stop, the latest departure that still
    reaches ``destination`` by ``arrival`` (reverse RAPTOR on the time-reversed
    timetable).

    The returned times are durations ``arrival - latest departure`` (seconds); with a
    ``window``, one per arrival minute *before* ``arrival`` (``arrival - window + 60``,
    ..., ``arrival``). :meth:`TravelTimes.to_frame` adds ``latest_departure_*`` columns.

    Parameters
    ----------
    network
        From :func:`connectivity.network.intermodal.build_network`.
    destination
        ``(lon, lat)`` in degrees.
    arrival
        As ``departure`` of :func:`travel_times`.
    window, percentiles, max_transfers, max_walk_time, transfer_slack, walk_speed, max_time, mode, snap_distance, boarding, draws, seed
        As for :func:`travel_times` (modes ``"transit"`` and ``"walk"``; a boarding
        bound's wait counts where the forward journey boards).

    Returns
    -------
    times
        Durations per arrival minute, node and stop.
    """
    return _route(
        network,
        destination,
        arrival,
        window,
        percentiles,
        max_transfers,
        max_walk_time,
        transfer_slack,
        walk_speed,
        max_time,
        mode,
        snap_distance,
        check_boarding(boarding, draws, seed),
        reverse=True,
    )


def _parse_mode(mode: str | Mode) -> str | Mode:
    if isinstance(mode, str) and mode.strip().lower() == TRANSIT:
        return TRANSIT
    try:
        return Mode.parse(mode)
    except ParameterError:
        raise ParameterError(f"unknown mode {mode!r}: use transit, walk, bike or drive") from None


def _route(
    network: IntermodalNetwork,
    point: tuple[float, float],
    departure: Any,
    window: float | None,
    percentiles: tuple[float, ...],
    max_transfers: int,
    max_walk_time: float,
    transfer_slack: float,
    walk_speed: float | None,
    max_time: float | None,
    mode: str | Mode,
    snap_distance: float,
    boarding: Boarding,
    *,
    reverse: bool,
) -> TravelTimes:
    m = _parse_mode(mode)
    for p in percentiles:
        summarise(np.zeros((1, 1)), p)  # validates
    lon, lat = _point(point)
    if reverse and window:
        # Arrival minutes ending at ``departure``: as many as a forward window holds.
        n_minutes = max(int(window // 60), 1) if np.isfinite(window) and window > 0 else 1
        start = parse_departure(network, departure) - 60 * (n_minutes - 1)
        q = _make_query(
            network,
            start,
            window,
            max_transfers,
            max_walk_time,
            transfer_slack,
            walk_speed,
            max_time,
        )
    else:
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
    if m == TRANSIT:
        if network.timetable is None:
            raise ParameterError(
                "the network has no timetable: build it with one, or use mode='walk'"
            )
        _check_walk_radius(network, q)
        nodes, offs, street = _snap_walk(
            network, lon, lat, towards=reverse, max_distance=snap_distance
        )
        node_t, stop_t = _route_point(
            network, nodes[0], offs[0], street[0], q, reverse=reverse, boarding=boarding
        )
    else:
        node_t, stop_t = _street_mode(
            network, Mode(m), lon, lat, q, reverse=reverse, snap_distance=snap_distance
        )
    n_draws = len(node_t) // max(len(q.departures), 1)
    return TravelTimes(
        network=network,
        departures=np.tile(q.departures, n_draws),
        nodes=node_t,
        stops=stop_t,
        percentiles=tuple(percentiles),
        mode=str(m),
        arrive_by=reverse,
        params={
            "origin": (lon, lat),
            "max_transfers": q.max_transfers,
            "max_walk_time": q.max_walk_time,
            "transfer_slack": q.transfer_slack,
            "walk_speed": q.walk_speed,
            "boarding": boarding.kind,
            "draws": n_draws,
            "seed": boarding.seed,
        },
    )


def _point(point: Any) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ParameterError(f"a point must be (lon, lat) in degrees (got {point!r})") from None
    return lon, lat
