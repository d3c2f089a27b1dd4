"""Journeys rebuilt from the RAPTOR labels: which trip was boarded where, which
footpath walked, and the waits between them.

:func:`~connectivity.routing._raptor.raptor_parents` runs the one-departure RAPTOR of
:func:`~connectivity.routing._raptor.range_raptor` (the same labels) and keeps, per
round, the pointers :func:`journey_to_stop` follows back from a stop to the access walk.
The legs' durations sum to the arrival time minus the departure, to the second.

Not yet public: the API of issue 12 (``journeys(...)``, breakdowns) builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from connectivity._errors import ParameterError
from connectivity.network.intermodal import IntermodalNetwork
from connectivity.routing._raptor import UNREACHED, raptor_parents
from connectivity.routing.engine import (
    _DIST_TOLERANCE,
    _ROUND_TOLERANCE,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_MAX_WALK_TIME,
    DEFAULT_TRANSFER_SLACK,
    _check_walk_radius,
    _engine,
    _make_query,
    _snap_walk,
    _walk_from,
    footpath_costs,
)
from connectivity.streets.graph import DEFAULT_SNAP_DISTANCE

__all__ = ["Leg", "breakdown", "journey_to_stop", "run_with_parents", "stop_labels"]


@dataclass(frozen=True)
class Leg:
    """One piece of a journey, in seconds after midnight.

    ``kind`` is ``"access"`` (walk to ``to_stop``), ``"wait"`` (at ``from_stop``),
    ``"ride"`` (``pattern`` / ``trip`` within it, from ``from_stop`` to ``to_stop``) or
    ``"transfer"`` (a footpath walk, ``footpath`` its row; from a stop to itself when
    changing vehicles in place).
    """

    kind: str
    start: int
    end: int
    from_stop: int = -1
    to_stop: int = -1
    pattern: int = -1
    trip: int = -1
    footpath: int = -1

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Labels:
    """What :func:`run_with_parents` returns: the kernel's arrays and its inputs."""

    departure: int
    n_rounds: int
    arrays: tuple[np.ndarray, ...]
    timetable: tuple[np.ndarray, ...]
    fp_walk: np.ndarray
    access_stops: np.ndarray
    access_times: np.ndarray

    @property
    def vehicle(self) -> np.ndarray:
        """Earliest arrival by vehicle per stop (all rounds), ``UNREACHED`` where none."""
        return self.arrays[0][self.n_rounds]


def run_with_parents(
    timetable: tuple[np.ndarray, ...],
    fp: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    access_stops: np.ndarray,
    access_times: np.ndarray,
    departure: int,
    n_rounds: int,
) -> Labels:
    """RAPTOR from one departure keeping the journey pointers.

    ``timetable`` is :func:`~connectivity.routing._raptor.timetable_arrays` (forward
    time), ``fp`` the footpath CSR ``(ptr, to, walk, board)``.
    """
    fp_ptr, fp_to, fp_walk, fp_board = fp
    arrays = raptor_parents(  # type: ignore[call-arg]
        *timetable,
        np.asarray(fp_ptr, np.int64),
        np.asarray(fp_to, np.int64),
        np.asarray(fp_walk, np.int64),
        np.asarray(fp_board, np.int64),
        np.asarray(access_stops, np.int64),
        np.asarray(access_times, np.int64),
        np.int64(departure),
        int(n_rounds),
    )
    return Labels(
        int(departure),
        int(n_rounds),
        arrays,
        timetable,
        np.asarray(fp_walk, np.int64),
        np.asarray(access_stops, np.int64),
        np.asarray(access_times, np.int64),
    )


def journey_to_stop(labels: Labels, stop: int) -> list[Leg]:
    """The legs of the journey that reaches ``stop`` by vehicle earliest (empty when no
    vehicle reaches it): access, then waits, rides and transfers, in order."""
    vehicle, ready, v_round, v_pat, v_trip, v_board, v_alight, r_round, r_from, r_fp = labels.arrays
    stop_ptr, stops, _, _, _, time_ptr, arrivals, departures = labels.timetable[:8]
    k = labels.n_rounds
    if vehicle[k, stop] >= UNREACHED:
        return []
    legs: list[Leg] = []
    cur = int(stop)
    r = int(v_round[k, cur])
    while True:
        p, trip = int(v_pat[r, cur]), int(v_trip[r, cur])
        b, a = int(v_board[r, cur]), int(v_alight[r, cur])
        sp, n_st, base = int(stop_ptr[p]), int(stop_ptr[p + 1] - stop_ptr[p]), int(time_ptr[p])
        board_stop = int(stops[sp + b])
        board_t = int(departures[base + trip * n_st + b])
        alight_t = int(arrivals[base + trip * n_st + a])
        legs.append(Leg("ride", board_t, alight_t, board_stop, cur, p, trip))
        rr = int(r_round[r - 1, board_stop])
        if rr == 0:
            i = int(r_fp[0, board_stop])
            at = labels.departure + int(labels.access_times[i])
            legs.append(Leg("wait", at, board_t, board_stop, board_stop))
            legs.append(Leg("access", labels.departure, at, -1, board_stop))
            break
        q, e = int(r_from[rr, board_stop]), int(r_fp[rr, board_stop])
        left = int(vehicle[rr, q])
        at = left + int(labels.fp_walk[e])
        legs.append(Leg("wait", at, board_t, board_stop, board_stop))
        legs.append(Leg("transfer", left, at, q, board_stop, footpath=e))
        cur, r = q, rr
    legs.reverse()
    return legs


def stop_labels(
    network: IntermodalNetwork,
    origin: tuple[float, float],
    *,
    departure: Any,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_walk_time: float = DEFAULT_MAX_WALK_TIME,
    transfer_slack: float = DEFAULT_TRANSFER_SLACK,
    walk_speed: float | None = None,
    snap_distance: float = DEFAULT_SNAP_DISTANCE,
) -> Labels:
    """The journey pointers of one forward departure from a point on the network, with
    the access walks, footpaths and rounds of :func:`~connectivity.travel_times`."""
    q = _make_query(
        network,
        departure,
        None,
        max_transfers,
        max_walk_time,
        transfer_slack,
        walk_speed,
        None,
    )
    if network.timetable is None:
        raise ParameterError("the network has no timetable: journeys need one")
    _check_walk_radius(network, q)
    lon, lat = (float(v) for v in origin)
    nodes, offs, street = _snap_walk(network, lon, lat, towards=False, max_distance=snap_distance)
    eng = _engine(network, False)
    walk_m = _walk_from(network, eng.graph, nodes[0], offs[0], q.max_walk_metres, street[0])
    stop_walk = walk_m[network.n_nodes :]
    reach = np.flatnonzero(stop_walk <= q.max_walk_metres + _DIST_TOLERANCE)
    access_t = np.ceil(stop_walk[reach] / q.metres_per_second - _ROUND_TOLERANCE).astype(np.int64)
    fp_walk, fp_board = footpath_costs(network, q.walk_speed, q.transfer_slack)
    fp = (eng.fp_ptr, eng.fp_to, fp_walk[eng.fp_src_order], fp_board[eng.fp_src_order])
    return run_with_parents(
        eng.timetable, fp, reach, access_t, int(q.departures[0]), q.max_transfers + 1
    )


def breakdown(legs: list[Leg], egress_s: float = 0.0) -> dict[str, float]:
    """``access_s, wait_s, ride_s, transfer_s, egress_s, vehicles`` of a journey's legs
    (the initial wait and the slack of a change count as wait; ``egress_s`` is the walk
    after the last stop, when the journey goes on to a street node). The five times sum
    to the travel time."""
    out = {"access_s": 0.0, "wait_s": 0.0, "ride_s": 0.0, "transfer_s": 0.0}
    key = {"access": "access_s", "wait": "wait_s", "ride": "ride_s", "transfer": "transfer_s"}
    for leg in legs:
        out[key[leg.kind]] += leg.duration
    out["egress_s"] = float(egress_s)
    out["vehicles"] = float(sum(leg.kind == "ride" for leg in legs))
    return out
