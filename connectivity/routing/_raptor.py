"""Compiled RAPTOR kernels: (range-)RAPTOR over Timetable arrays, egress over stop trees.

The kernels read plain arrays only (no Python objects) and are compiled with numba
(``cache=True``; the first call of a fresh install compiles them once, a few seconds).

The journey model (the same in :mod:`connectivity.routing.queries` and in the reference of the
tests):

- A journey starts with an *access* walk from the origin to a stop (given to the kernel
  as ``access_stops`` / ``access_times``, seconds after the departure). The first vehicle
  is boarded at any departure at or after the access arrival: no slack.
- Riding: a trip of a pattern is boarded at a position whose ``pattern_board`` is true,
  and left at a later position whose ``pattern_alight`` is true.
- After leaving a vehicle at stop ``q`` at time ``t``, the next vehicle may be boarded at
  stop ``p`` at a departure ``>= t + board_cost(q, p)``, over a *footpath* ``q -> p``
  (``fp_*`` arrays, a CSR over stops). The footpath list includes ``q -> q`` itself
  (cost: the transfer slack) unless a rule forbids changing there. Footpaths are applied
  once after each round, never chained.
- Each footpath also has a ``walk`` time (the walk without the slack): ``t + walk`` is
  when the passenger *is at* ``p``, reported as that stop's arrival.
- Round ``k`` (``1 .. n_rounds``) allows ``k`` vehicles, i.e. ``k - 1`` transfers.

Two results per departure and stop: ``arrive`` (earliest time at the stop by access walk,
vehicle or footpath walk) and ``vehicle`` (earliest arrival *by vehicle*; egress walks
start from these). :data:`UNREACHED` marks stops not reached.

Range-RAPTOR (Delling, Pajor, Werneck 2012, as in R5): departures are processed latest
first and the per-round labels are kept between them. A label reached from a later
departure is valid for an earlier one (the passenger may wait at the origin), so each
departure's result equals a RAPTOR run from that departure alone, for a fraction of the
work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from connectivity.transit.timetable import Timetable

#: Arrival time of a stop that was not reached (int64 seconds).
UNREACHED = np.int64(2**31 - 1)


@njit(cache=True, nogil=True)
def range_raptor(
    pattern_stop_ptr,
    pattern_stops,
    pattern_board,
    pattern_alight,
    pattern_trip_ptr,
    time_ptr,
    arrivals,
    departures,
    stop_pattern_ptr,
    stop_patterns,
    stop_pattern_pos,
    fp_ptr,
    fp_to,
    fp_walk,
    fp_board,
    access_stops,
    access_times,
    departure_times,
    n_rounds,
    pattern_wait,
    pattern_first,
    pattern_end,
    wait_at_alight,
):  # pragma: no cover - compiled
    """Run range-RAPTOR for every departure time (any order; int64 seconds).

    ``pattern_wait[p] >= 0`` makes pattern ``p`` a *continuous* headway service: a
    passenger ready at a stop at ``r`` boards a vehicle that leaves the pattern's first
    stop at ``max(r + wait - offset, pattern_first[p])`` if that is before
    ``pattern_end[p]`` (``offset``: the stop's departure after the first stop's, in the
    pattern's first trip, whose run times every trip of a frequency entry shares).
    ``-1`` (every pattern, see :func:`scheduled_boarding`): board the trips as given.
    ``wait_at_alight`` adds the wait when leaving the vehicle instead (the time-reversed
    arrays of arrive-by, where the forward boarding is the alighting).

    Returns ``(arrive, vehicle)``: two ``(n_departures, n_stops)`` int64 arrays of
    absolute times, :data:`UNREACHED` where a stop is not reached.
    """
    n_stops = stop_pattern_ptr.shape[0] - 1
    n_patterns = pattern_stop_ptr.shape[0] - 1
    n_dep = departure_times.shape[0]
    inf = UNREACHED
    ready = np.full((n_rounds + 1, n_stops), inf, np.int64)
    vehicle = np.full((n_rounds + 1, n_stops), inf, np.int64)
    arrive = np.full((n_rounds + 1, n_stops), inf, np.int64)
    out_arrive = np.empty((n_dep, n_stops), np.int64)
    out_vehicle = np.empty((n_dep, n_stops), np.int64)

    marked = np.zeros(n_stops, np.bool_)
    marked_list = np.empty(n_stops, np.int64)
    vmarked = np.zeros(n_stops, np.bool_)
    vmarked_list = np.empty(n_stops, np.int64)
    queue_pos = np.full(n_patterns, -1, np.int64)
    queue = np.empty(n_patterns, np.int64)

    order = np.argsort(departure_times)
    for oi in range(n_dep - 1, -1, -1):
        d = departure_times[order[oi]]
        # Round 0: the access walks.
        n_marked = 0
        for i in range(access_stops.shape[0]):
            s = access_stops[i]
            t = d + access_times[i]
            if t < arrive[0, s]:
                arrive[0, s] = t
            if t < ready[0, s]:
                ready[0, s] = t
                if not marked[s]:
                    marked[s] = True
                    marked_list[n_marked] = s
                    n_marked += 1
        last_round = 0
        for k in range(1, n_rounds + 1):
            for s in range(n_stops):
                if ready[k - 1, s] < ready[k, s]:
                    ready[k, s] = ready[k - 1, s]
                if vehicle[k - 1, s] < vehicle[k, s]:
                    vehicle[k, s] = vehicle[k - 1, s]
                if arrive[k - 1, s] < arrive[k, s]:
                    arrive[k, s] = arrive[k - 1, s]
            last_round = k
            if n_marked == 0:
                continue
            # Queue the patterns through marked stops, from their earliest marked stop.
            n_queue = 0
            for i in range(n_marked):
                s = marked_list[i]
                marked[s] = False
                for e in range(stop_pattern_ptr[s], stop_pattern_ptr[s + 1]):
                    p = stop_patterns[e]
                    pos = stop_pattern_pos[e]
                    if queue_pos[p] < 0:
                        queue_pos[p] = pos
                        queue[n_queue] = p
                        n_queue += 1
                    elif pos < queue_pos[p]:
                        queue_pos[p] = pos
            n_marked = 0
            n_vmarked = 0
            # Scan each queued pattern once.
            for qi in range(n_queue):
                p = queue[qi]
                start = queue_pos[p]
                queue_pos[p] = -1
                sp = pattern_stop_ptr[p]
                n_st = pattern_stop_ptr[p + 1] - sp
                n_tr = pattern_trip_ptr[p + 1] - pattern_trip_ptr[p]
                base = time_ptr[p]
                trip = -1
                wait = pattern_wait[p]
                if wait >= 0:
                    # A continuous headway service: one virtual vehicle, leaving the
                    # first stop at ``vb``, run times of the first trip.
                    d0 = np.int64(departures[base])
                    vb = inf
                    for pos in range(start, n_st):
                        s = pattern_stops[sp + pos]
                        if vb < inf and pattern_alight[sp + pos]:
                            t = vb + np.int64(arrivals[base + pos]) - d0
                            if wait_at_alight:
                                t += wait
                            if t < vehicle[k, s]:
                                vehicle[k, s] = t
                                if t < arrive[k, s]:
                                    arrive[k, s] = t
                                if not vmarked[s]:
                                    vmarked[s] = True
                                    vmarked_list[n_vmarked] = s
                                    n_vmarked += 1
                        if pattern_board[sp + pos]:
                            r = ready[k - 1, s]
                            if r >= inf:
                                continue
                            c = r - (np.int64(departures[base + pos]) - d0)
                            if not wait_at_alight:
                                c += wait
                            if c < pattern_first[p]:
                                c = pattern_first[p]
                            if c < pattern_end[p] and c < vb:
                                vb = c
                    continue
                for pos in range(start, n_st):
                    s = pattern_stops[sp + pos]
                    if trip >= 0 and pattern_alight[sp + pos]:
                        t = np.int64(arrivals[base + trip * n_st + pos])
                        if t < vehicle[k, s]:
                            vehicle[k, s] = t
                            if t < arrive[k, s]:
                                arrive[k, s] = t
                            if not vmarked[s]:
                                vmarked[s] = True
                                vmarked_list[n_vmarked] = s
                                n_vmarked += 1
                    if pattern_board[sp + pos]:
                        r = ready[k - 1, s]
                        if r >= inf:
                            continue
                        if trip >= 0 and r > departures[base + trip * n_st + pos]:
                            continue
                        # Earliest trip departing at or after r (FIFO: sorted by trip).
                        lo = 0
                        hi = trip + 1 if trip >= 0 else n_tr
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if departures[base + mid * n_st + pos] >= r:
                                hi = mid
                            else:
                                lo = mid + 1
                        if lo < n_tr and departures[base + lo * n_st + pos] >= r:
                            trip = lo
            # Footpaths from the stops reached by vehicle in this round.
            for i in range(n_vmarked):
                q = vmarked_list[i]
                vmarked[q] = False
                t = vehicle[k, q]
                for e in range(fp_ptr[q], fp_ptr[q + 1]):
                    p = fp_to[e]
                    tw = t + fp_walk[e]
                    if tw < arrive[k, p]:
                        arrive[k, p] = tw
                    tb = t + fp_board[e]
                    if tb < ready[k, p]:
                        ready[k, p] = tb
                        if not marked[p]:
                            marked[p] = True
                            marked_list[n_marked] = p
                            n_marked += 1
        for i in range(n_marked):
            marked[marked_list[i]] = False
        out_arrive[order[oi]] = arrive[last_round]
        out_vehicle[order[oi]] = vehicle[last_round]
    return out_arrive, out_vehicle


#: Walks rounded up to whole seconds ignore remainders below this (float noise).
ROUND_TOLERANCE = 1e-3


@njit(cache=True)
def raptor_parents(
    pattern_stop_ptr,
    pattern_stops,
    pattern_board,
    pattern_alight,
    pattern_trip_ptr,
    time_ptr,
    arrivals,
    departures,
    stop_pattern_ptr,
    stop_patterns,
    stop_pattern_pos,
    fp_ptr,
    fp_to,
    fp_walk,
    fp_board,
    access_stops,
    access_times,
    departure,
    n_rounds,
):  # pragma: no cover - compiled
    """One RAPTOR run from ``departure`` (the rules of :func:`range_raptor`), keeping
    per round the pointers a journey is rebuilt from.

    Returns ``(vehicle, ready, v_round, v_pattern, v_trip, v_board, v_alight, r_round,
    r_from, r_fp)``, each ``(n_rounds + 1, n_stops)`` int64. ``vehicle[k, s]`` and
    ``ready[k, s]`` are the labels of round ``k`` (with at most ``k`` vehicles);
    ``v_round[k, s]`` is the round that set ``vehicle[k, s]`` and, at that round ``r``,
    ``v_pattern/v_trip/v_board/v_alight[r, s]`` the pattern, trip (within the pattern)
    and board and alight positions of the ride. ``r_round[k, s]`` is the round that set
    ``ready[k, s]``: 0 for the access walk (``r_fp`` is then the access entry), else at
    that round ``r`` the stop ``r_from[r, s]`` left by vehicle and the footpath
    ``r_fp[r, s]`` walked from it.
    """
    n_stops = stop_pattern_ptr.shape[0] - 1
    n_patterns = pattern_stop_ptr.shape[0] - 1
    inf = UNREACHED
    shape = (n_rounds + 1, n_stops)
    ready = np.full(shape, inf, np.int64)
    vehicle = np.full(shape, inf, np.int64)
    v_round = np.full(shape, -1, np.int64)
    v_pattern = np.full(shape, -1, np.int64)
    v_trip = np.full(shape, -1, np.int64)
    v_board = np.full(shape, -1, np.int64)
    v_alight = np.full(shape, -1, np.int64)
    r_round = np.full(shape, -1, np.int64)
    r_from = np.full(shape, -1, np.int64)
    r_fp = np.full(shape, -1, np.int64)
    marked = np.zeros(n_stops, np.bool_)
    marked_list = np.empty(n_stops, np.int64)
    vmarked = np.zeros(n_stops, np.bool_)
    vmarked_list = np.empty(n_stops, np.int64)
    queue_pos = np.full(n_patterns, -1, np.int64)
    queue = np.empty(n_patterns, np.int64)
    n_marked = 0
    for i in range(access_stops.shape[0]):
        s = access_stops[i]
        t = departure + access_times[i]
        if t < ready[0, s]:
            ready[0, s] = t
            r_round[0, s] = 0
            r_fp[0, s] = i
            if not marked[s]:
                marked[s] = True
                marked_list[n_marked] = s
                n_marked += 1
    for k in range(1, n_rounds + 1):
        for s in range(n_stops):
            ready[k, s] = ready[k - 1, s]
            r_round[k, s] = r_round[k - 1, s]
            vehicle[k, s] = vehicle[k - 1, s]
            v_round[k, s] = v_round[k - 1, s]
        if n_marked == 0:
            continue
        n_queue = 0
        for i in range(n_marked):
            s = marked_list[i]
            marked[s] = False
            for e in range(stop_pattern_ptr[s], stop_pattern_ptr[s + 1]):
                p = stop_patterns[e]
                pos = stop_pattern_pos[e]
                if queue_pos[p] < 0:
                    queue_pos[p] = pos
                    queue[n_queue] = p
                    n_queue += 1
                elif pos < queue_pos[p]:
                    queue_pos[p] = pos
        n_marked = 0
        n_vmarked = 0
        for qi in range(n_queue):
            p = queue[qi]
            start = queue_pos[p]
            queue_pos[p] = -1
            sp = pattern_stop_ptr[p]
            n_st = pattern_stop_ptr[p + 1] - sp
            n_tr = pattern_trip_ptr[p + 1] - pattern_trip_ptr[p]
            base = time_ptr[p]
            trip = -1
            board_pos = -1
            for pos in range(start, n_st):
                s = pattern_stops[sp + pos]
                if trip >= 0 and pattern_alight[sp + pos]:
                    t = np.int64(arrivals[base + trip * n_st + pos])
                    if t < vehicle[k, s]:
                        vehicle[k, s] = t
                        v_round[k, s] = k
                        v_pattern[k, s] = p
                        v_trip[k, s] = trip
                        v_board[k, s] = board_pos
                        v_alight[k, s] = pos
                        if not vmarked[s]:
                            vmarked[s] = True
                            vmarked_list[n_vmarked] = s
                            n_vmarked += 1
                if pattern_board[sp + pos]:
                    r = ready[k - 1, s]
                    if r >= inf:
                        continue
                    if trip >= 0 and r > departures[base + trip * n_st + pos]:
                        continue
                    lo = 0
                    hi = trip + 1 if trip >= 0 else n_tr
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if departures[base + mid * n_st + pos] >= r:
                            hi = mid
                        else:
                            lo = mid + 1
                    if lo < n_tr and departures[base + lo * n_st + pos] >= r and lo != trip:
                        trip = lo
                        board_pos = pos
        for i in range(n_vmarked):
            q = vmarked_list[i]
            vmarked[q] = False
            t = vehicle[k, q]
            for e in range(fp_ptr[q], fp_ptr[q + 1]):
                p = fp_to[e]
                tb = t + fp_board[e]
                if tb < ready[k, p]:
                    ready[k, p] = tb
                    r_round[k, p] = k
                    r_from[k, p] = q
                    r_fp[k, p] = e
                    if not marked[p]:
                        marked[p] = True
                        marked_list[n_marked] = p
                        n_marked += 1
    return (vehicle, ready, v_round, v_pattern, v_trip, v_board, v_alight, r_round, r_from, r_fp)


@njit(cache=True)
def _walk_tree(
    s, t, tree_ptr, tree_node, tree_dist, max_dist, seconds_per_metre, out, round_up=False
):  # pragma: no cover - compiled
    """Lower ``out[node]`` to ``t + walk(s, node)`` over stop ``s``'s tree entries within
    ``max_dist`` metres (sorted by distance, so the scan stops at the first beyond);
    ``round_up`` rounds each walk up to whole seconds (the origin-side walk of an
    arrive-by search, rounded as the forward search rounds access walks)."""
    for e in range(tree_ptr[s], tree_ptr[s + 1]):
        dist = tree_dist[e]
        if dist > max_dist:
            break
        w = dist * seconds_per_metre
        if round_up:
            w = np.ceil(w - ROUND_TOLERANCE)
        v = t + w
        n = tree_node[e]
        if v < out[n]:
            out[n] = v


@njit(cache=True)
def egress(
    vehicle, tree_ptr, tree_node, tree_dist, max_dist, seconds_per_metre, out
):  # pragma: no cover - compiled
    """Lower ``out[node]`` (float seconds) to ``vehicle[s] + walk(s, node)`` for every
    reached stop ``s`` and tree entry within ``max_dist`` metres.

    Each stop's tree entries are sorted by distance, so the scan stops at the first one
    beyond ``max_dist``.
    """
    for s in range(vehicle.shape[0]):
        t = vehicle[s]
        if t < UNREACHED:
            _walk_tree(s, t, tree_ptr, tree_node, tree_dist, max_dist, seconds_per_metre, out)


@njit(cache=True, nogil=True)
def range_egress(
    vehicle,
    departure_times,
    direct,
    tree_ptr,
    tree_node,
    tree_dist,
    max_dist,
    seconds_per_metre,
    out,
    round_up=False,
):  # pragma: no cover - compiled
    """Travel times to every node for every departure: ``out[k, node]`` (float32) is
    ``min(direct[node], vehicle[k, s] + walk(s, node) - departure_times[k])``, each
    walk rounded up to whole seconds when ``round_up`` (arrive-by).

    Departures are taken latest first and only the stops whose vehicle arrival improved
    since the previous (later) departure are walked from again: an earlier departure
    never arrives later, so the running minimum over stops stays valid (as labels do in
    range-RAPTOR). ``direct`` is the walk from the origin in seconds (``inf`` beyond it).
    """
    n_dep = departure_times.shape[0]
    n_stops = vehicle.shape[1]
    n_nodes = direct.shape[0]
    best = np.full(n_nodes, np.inf)
    last = np.full(n_stops, UNREACHED, np.int64)
    order = np.argsort(departure_times)
    for oi in range(n_dep - 1, -1, -1):
        k = order[oi]
        for s in range(n_stops):
            t = vehicle[k, s]
            if t >= last[s]:
                continue
            last[s] = t
            _walk_tree(
                s, t, tree_ptr, tree_node, tree_dist, max_dist, seconds_per_metre, best, round_up
            )
        d = departure_times[k]
        for n in range(n_nodes):
            v = best[n] - d
            w = direct[n]
            out[k, n] = v if v < w else w


def timetable_arrays(timetable: Timetable) -> tuple[np.ndarray, ...]:
    """The Timetable arrays in the order :func:`range_raptor` takes them."""
    tt = timetable
    return (
        np.ascontiguousarray(tt.pattern_stop_ptr, np.int64),
        np.ascontiguousarray(tt.pattern_stops, np.int64),
        np.ascontiguousarray(tt.pattern_board, np.bool_),
        np.ascontiguousarray(tt.pattern_alight, np.bool_),
        np.ascontiguousarray(tt.pattern_trip_ptr, np.int64),
        np.ascontiguousarray(tt.time_ptr, np.int64),
        np.ascontiguousarray(tt.arrivals, np.int32),
        np.ascontiguousarray(tt.departures, np.int32),
        np.ascontiguousarray(tt.stop_pattern_ptr, np.int64),
        np.ascontiguousarray(tt.stop_patterns, np.int64),
        np.ascontiguousarray(tt.stop_pattern_pos, np.int64),
    )


def scheduled_boarding(n_patterns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The last four arguments of :func:`range_raptor` that board every pattern's
    trips as given."""
    return (
        np.full(n_patterns, -1, np.int64),
        np.zeros(n_patterns, np.int64),
        np.zeros(n_patterns, np.int64),
        False,
    )


@njit(cache=True)
def egress_argmin(
    vehicle, entry_stop, entry_node, entry_walk, departure, n_nodes
):  # pragma: no cover - compiled
    """Per end node: the earliest ``vehicle[s] + walk - departure`` over its egress entries
    and the stop ``s`` it walks from (the first entry on a tie; -1 and ``inf`` where no
    reached stop walks to it)."""
    node_at = np.full(n_nodes, np.inf)
    node_stop = np.full(n_nodes, -1, np.int64)
    for e in range(entry_stop.shape[0]):
        t = vehicle[entry_stop[e]]
        if t < UNREACHED:
            at = t + entry_walk[e] - departure
            k = entry_node[e]
            if at < node_at[k]:
                node_at[k] = at
                node_stop[k] = entry_stop[e]
    return node_at, node_stop


@njit(cache=True)
def usage_sweep(
    vehicle,
    v_round,
    v_pattern,
    v_board,
    v_alight,
    r_round,
    r_from,
    pattern_stop_ptr,
    pattern_stops,
    stop_weight,
    segment_w,
    board_w,
    alight_w,
    transfer_w,
    pattern_w,
):  # pragma: no cover - compiled
    """Add the weight of the journeys ending by vehicle at each stop (``stop_weight``) to
    every ride, boarding, alighting and change they are made of.

    The journeys of one RAPTOR run (:func:`raptor_parents`' arrays) form a tree: each
    vehicle label of round ``r`` has one ride, boarded at a stop whose label comes from
    the access walk or from a vehicle label of an earlier round. So one sweep from the
    last round down carries each label's weight to its parent. ``segment_w`` is indexed
    like ``pattern_stops`` (the ride from position ``i`` to ``i + 1``); ``transfer_w``
    counts boardings after an earlier ride, at the boarding stop.
    """
    k = vehicle.shape[0] - 1
    n_stops = vehicle.shape[1]
    w = np.zeros((k + 1, n_stops))
    for s in range(n_stops):
        if stop_weight[s] > 0 and vehicle[k, s] < UNREACHED:
            w[v_round[k, s], s] += stop_weight[s]
    for r in range(k, 0, -1):
        for s in range(n_stops):
            x = w[r, s]
            if x == 0.0:
                continue
            p = v_pattern[r, s]
            sp = pattern_stop_ptr[p]
            b = v_board[r, s]
            board = pattern_stops[sp + b]
            for i in range(b, v_alight[r, s]):
                segment_w[sp + i] += x
            board_w[board] += x
            alight_w[s] += x
            pattern_w[p] += x
            rr = r_round[r - 1, board]
            if rr > 0:
                transfer_w[board] += x
                w[rr, r_from[rr, board]] += x
